//! The `nats-server` configuration files the kit writes: one per node, in the server's
//! own configuration language. The layout is documented in the crate header, since the
//! compose deployment uses the same shape.

use std::fmt::Write as _;
use std::path::Path;

/// The cluster name every node of a [`crate::NatsCluster`] shares.
pub const CLUSTER_NAME: &str = "metroplan";

/// Everything one node's configuration file says.
#[derive(Debug, Clone)]
pub struct NodeConfig<'a> {
    /// Unique in the cluster and stable across restarts: JetStream's Raft groups know
    /// their peers by it.
    pub server_name: &'a str,
    /// Client connections, on 127.0.0.1 only.
    pub client_port: u16,
    /// The JetStream file store of this node.
    pub store_dir: &'a Path,
    /// The cluster (route) port of this node and the route ports of every node
    /// (itself included, which the server skips); `None` for a single node.
    pub cluster: Option<(u16, &'a [u16])>,
}

impl NodeConfig<'_> {
    /// The configuration file's text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Infallible: writing to a String.
        let _ = writeln!(out, "# written by metroplan-nats-testkit");
        let _ = writeln!(out, "server_name: {}", quoted(self.server_name));
        let _ = writeln!(
            out,
            "listen: {}",
            quoted(&format!("127.0.0.1:{}", self.client_port))
        );
        let _ = writeln!(out, "jetstream {{");
        let _ = writeln!(
            out,
            "  store_dir: {}",
            quoted(&self.store_dir.display().to_string())
        );
        let _ = writeln!(out, "  sync_interval: always");
        let _ = writeln!(out, "}}");
        if let Some((port, routes)) = self.cluster {
            let _ = writeln!(out, "cluster {{");
            let _ = writeln!(out, "  name: {}", quoted(CLUSTER_NAME));
            let _ = writeln!(out, "  listen: {}", quoted(&format!("127.0.0.1:{port}")));
            let routes: Vec<String> = routes
                .iter()
                .map(|p| quoted(&format!("nats-route://127.0.0.1:{p}")))
                .collect();
            let _ = writeln!(out, "  routes: [{}]", routes.join(", "));
            let _ = writeln!(out, "}}");
        }
        out
    }
}

/// A double-quoted string of the configuration language.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_node_config_has_every_documented_option() {
        let routes = [6001, 6002, 6003];
        let text = NodeConfig {
            server_name: "metroplan-2",
            client_port: 5002,
            store_dir: Path::new("/tmp/x/node-2"),
            cluster: Some((6002, &routes)),
        }
        .render();
        for line in [
            "server_name: \"metroplan-2\"",
            "listen: \"127.0.0.1:5002\"",
            "  store_dir: \"/tmp/x/node-2\"",
            "  sync_interval: always",
            "  name: \"metroplan\"",
            "  listen: \"127.0.0.1:6002\"",
            "  routes: [\"nats-route://127.0.0.1:6001\", \"nats-route://127.0.0.1:6002\", \"nats-route://127.0.0.1:6003\"]",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing in\n{text}"
            );
        }
        assert!(!text.contains("domain"), "JetStream is domain-less");
    }

    #[test]
    fn a_single_node_has_no_cluster_block() {
        let text = NodeConfig {
            server_name: "metroplan-1",
            client_port: 5001,
            store_dir: Path::new("/tmp/x"),
            cluster: None,
        }
        .render();
        assert!(!text.contains("cluster"));
        assert!(text.contains("sync_interval: always"));
    }
}
