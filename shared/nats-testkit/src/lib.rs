//! Real `nats-server` processes for tests: [`NatsServer`] (one JetStream node) and
//! [`NatsCluster`] (three nodes joined by routes). Every server listens on free ports of
//! 127.0.0.1 only (never the default 4222), keeps its JetStream files in its own
//! temporary directory, and is killed when its owner is dropped. The binary is found,
//! or installed, as [`binary`] explains.
//!
//! ```no_run
//! # async fn demo() -> Result<(), metroplan_nats_testkit::TestkitError> {
//! let mut cluster = metroplan_nats_testkit::NatsCluster::start(3).await?;
//! let client = async_nats::connect(cluster.client_url_list()).await.expect("connect");
//! cluster.kill(0);          // SIGKILL
//! cluster.restart(0).await?; // same ports, same store
//! # drop(client); Ok(()) }
//! ```
//!
//! # The configuration (the same shape as the compose deployment's)
//!
//! Each node gets one file, `node-<n>.conf`, in the server's configuration language:
//!
//! ```text
//! server_name: "metroplan-1"           # unique, stable across restarts (Raft peer identity)
//! listen: "127.0.0.1:41001"            # client connections
//! jetstream {
//!   store_dir: "/tmp/.tmpXXXX/node-1"  # this node's file store
//!   sync_interval: always              # fsync every write before it is acknowledged
//! }
//! cluster {                            # only for a cluster
//!   name: "metroplan"                  # the same on every node
//!   listen: "127.0.0.1:41011"          # routes between nodes
//!   routes: ["nats-route://127.0.0.1:41011", "nats-route://127.0.0.1:41012", "nats-route://127.0.0.1:41013"]
//! }
//! ```
//!
//! - **`sync_interval: always`** is what makes an acknowledged JetStream write durable
//!   on each replica's disk (the default syncs every two minutes and relies on
//!   replication alone), at the price of an fsync per write.
//! - **No JetStream `domain`**: clients use the default `$JS.API` prefix.
//! - **File storage** is the store's default; streams choose it in their own config
//!   (the event store's stream does).
//! - Every node lists every route, itself included (the server skips its own), so the
//!   same list can be given to all nodes, and a restarted node finds the others.
//! - Nothing else is set: default limits (1 MiB max payload), no authentication, no
//!   TLS, no monitoring port. A compose file adds its own host names instead of
//!   127.0.0.1 and, for health checks, `http: 8222` (`/healthz?js-enabled-only=true`).
//!
//! # Readiness
//!
//! `start` returns once every node accepts connections and JetStream answers: for a
//! single node, account info succeeds; for a cluster, an R3 probe stream can be created
//! (which needs a JetStream meta leader and all peers) and is deleted again.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod binary;
pub mod config;

pub use binary::{BINARY_ENV, nats_server_binary};
pub use config::{CLUSTER_NAME, NodeConfig};

/// How long a node (or the cluster's JetStream) may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The default NATS port, which the kit never uses.
const DEFAULT_NATS_PORT: u16 = 4222;

#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    #[error("no usable nats-server: {0}")]
    NoBinary(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{what} did not become ready within {timeout:?}; server log ends with:\n{log}")]
    NotReady {
        what: String,
        timeout: Duration,
        log: String,
    },
    #[error("node {0} does not exist")]
    NoSuchNode(usize),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> TestkitError {
    let context = context.into();
    move |source| TestkitError::Io { context, source }
}

/// One `nats-server` process with JetStream, on a free port of 127.0.0.1.
#[derive(Debug)]
pub struct NatsServer {
    nodes: Nodes,
}

impl NatsServer {
    /// Starts a single node and waits until JetStream answers.
    ///
    /// # Errors
    /// No binary, a failed spawn, or a server that is not ready within a minute.
    pub async fn start() -> Result<Self, TestkitError> {
        let nodes = Nodes::create(1)?;
        let mut server = Self { nodes };
        server.nodes.wait_for_jetstream(None).await?;
        Ok(server)
    }

    /// The client URL, `nats://127.0.0.1:<port>`.
    pub fn client_url(&self) -> String {
        self.nodes.nodes[0].client_url()
    }

    /// The directory of the node's JetStream files.
    pub fn store_dir(&self) -> &Path {
        &self.nodes.nodes[0].store_dir
    }

    /// Kills the server with SIGKILL.
    pub fn kill(&mut self) {
        self.nodes.nodes[0].kill();
    }

    /// Starts the server again on the same port with the same store.
    ///
    /// # Errors
    /// As [`NatsServer::start`].
    pub async fn restart(&mut self) -> Result<(), TestkitError> {
        self.nodes.restart(0).await
    }
}

/// Nodes joined by routes into one JetStream cluster (no domain), each on free ports of
/// 127.0.0.1 with its own store.
#[derive(Debug)]
pub struct NatsCluster {
    nodes: Nodes,
}

impl NatsCluster {
    /// Starts `size` nodes (3 for R3 streams) and waits until JetStream has a meta
    /// leader and all peers.
    ///
    /// # Errors
    /// No binary, a failed spawn, or a cluster that is not ready within a minute.
    pub async fn start(size: usize) -> Result<Self, TestkitError> {
        let nodes = Nodes::create(size)?;
        let mut cluster = Self { nodes };
        cluster.nodes.wait_for_jetstream(Some(size)).await?;
        Ok(cluster)
    }

    pub fn len(&self) -> usize {
        self.nodes.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.nodes.is_empty()
    }

    /// Every node's client URL, comma-joined, as clients take a cluster.
    pub fn client_urls(&self) -> String {
        self.nodes
            .nodes
            .iter()
            .map(Node::client_url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Every node's client URL, as `async_nats::connect` takes several.
    pub fn client_url_list(&self) -> Vec<String> {
        self.nodes.nodes.iter().map(Node::client_url).collect()
    }

    /// Node `i`'s client URL.
    ///
    /// # Panics
    /// When there is no node `i`.
    pub fn client_url(&self, i: usize) -> String {
        self.nodes.nodes[i].client_url()
    }

    /// Node `i`'s `server_name`, as stream info names its leader and replicas.
    ///
    /// # Panics
    /// When there is no node `i`.
    pub fn server_name(&self, i: usize) -> &str {
        &self.nodes.nodes[i].name
    }

    /// The node called `server_name`.
    pub fn index_of(&self, server_name: &str) -> Option<usize> {
        self.nodes.nodes.iter().position(|n| n.name == server_name)
    }

    /// Whether node `i` is running (not killed).
    pub fn is_running(&self, i: usize) -> bool {
        self.nodes.nodes.get(i).is_some_and(|n| n.child.is_some())
    }

    /// Kills node `i` with SIGKILL and reaps it; a killed node stays down until
    /// [`NatsCluster::restart`].
    ///
    /// # Panics
    /// When there is no node `i`.
    pub fn kill(&mut self, i: usize) {
        self.nodes.nodes[i].kill();
    }

    /// Starts node `i` again with the same name, ports and store, and waits until it
    /// accepts clients and its JetStream answers.
    ///
    /// # Errors
    /// [`TestkitError::NoSuchNode`], or as [`NatsCluster::start`].
    pub async fn restart(&mut self, i: usize) -> Result<(), TestkitError> {
        self.nodes.restart(i).await
    }
}

/// The processes of a server or cluster, and the temporary directory of their files.
#[derive(Debug)]
struct Nodes {
    binary: PathBuf,
    nodes: Vec<Node>,
    // Last, so that it is removed after the processes are killed.
    _dir: tempfile::TempDir,
}

#[derive(Debug)]
struct Node {
    name: String,
    client_port: u16,
    config_path: PathBuf,
    store_dir: PathBuf,
    log_path: PathBuf,
    child: Option<Child>,
}

impl Nodes {
    /// Writes the configuration files and spawns every node.
    fn create(size: usize) -> Result<Self, TestkitError> {
        let binary = nats_server_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("metroplan-nats-")
            .tempdir()
            .map_err(io("create a temporary directory"))?;
        let clustered = size > 1;
        let ports = free_ports(if clustered { size * 2 } else { 1 })?;
        let (client_ports, route_ports) = ports.split_at(size);
        let mut nodes = Vec::with_capacity(size);
        for i in 0..size {
            let name = format!("metroplan-{}", i + 1);
            let store_dir = dir.path().join(format!("node-{}", i + 1));
            std::fs::create_dir_all(&store_dir).map_err(io("create a store directory"))?;
            let text = NodeConfig {
                server_name: &name,
                client_port: client_ports[i],
                store_dir: &store_dir,
                cluster: clustered.then(|| (route_ports[i], route_ports)),
            }
            .render();
            let config_path = dir.path().join(format!("node-{}.conf", i + 1));
            std::fs::write(&config_path, text).map_err(io("write a server config"))?;
            nodes.push(Node {
                log_path: dir.path().join(format!("node-{}.log", i + 1)),
                name,
                client_port: client_ports[i],
                config_path,
                store_dir,
                child: None,
            });
        }
        let mut out = Self {
            binary,
            nodes,
            _dir: dir,
        };
        for i in 0..size {
            out.spawn(i)?;
        }
        Ok(out)
    }

    fn spawn(&mut self, i: usize) -> Result<(), TestkitError> {
        let node = self.nodes.get_mut(i).ok_or(TestkitError::NoSuchNode(i))?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log_path)
            .map_err(io("open a server log"))?;
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(&node.config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io("share a server log"))?)
            .stderr(log)
            .spawn()
            .map_err(io(format!("start {}", self.binary.display())))?;
        tracing::debug!(node = %node.name, port = node.client_port, pid = child.id(), "nats-server started");
        node.child = Some(child);
        Ok(())
    }

    async fn restart(&mut self, i: usize) -> Result<(), TestkitError> {
        let node = self.nodes.get_mut(i).ok_or(TestkitError::NoSuchNode(i))?;
        node.kill();
        self.spawn(i)?;
        let node = &mut self.nodes[i];
        node.wait_accepting().await?;
        // JetStream answers on this node (it may still be catching up its streams).
        let url = node.client_url();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(client) = async_nats::connect(url.as_str()).await {
                let js = async_nats::jetstream::new(client);
                if js.query_account().await.is_ok() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(node.not_ready(format!("JetStream of restarted {}", node.name)));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until every node accepts connections, then until JetStream answers: account
    /// info for a single node, an R`replicas` probe stream for a cluster.
    async fn wait_for_jetstream(&mut self, replicas: Option<usize>) -> Result<(), TestkitError> {
        for node in &mut self.nodes {
            node.wait_accepting().await?;
        }
        let urls: Vec<String> = self.nodes.iter().map(Node::client_url).collect();
        let deadline = Instant::now() + READY_TIMEOUT;
        let client = loop {
            match async_nats::connect(urls.as_slice()).await {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(error = %e, "waiting to connect");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(_) => return Err(self.nodes[0].not_ready("client connection".into())),
            }
        };
        let js = async_nats::jetstream::new(client);
        loop {
            let ready = match replicas {
                None => js
                    .query_account()
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string()),
                Some(replicas) => probe_stream(&js, replicas).await,
            };
            match ready {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(error = %e, "waiting for JetStream");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "JetStream not ready");
                    return Err(self.nodes[0].not_ready("JetStream".into()));
                }
            }
        }
    }
}

/// Creates and deletes a replicated in-memory stream: it succeeds once the cluster has a
/// meta leader and enough peers.
async fn probe_stream(js: &async_nats::jetstream::Context, replicas: usize) -> Result<(), String> {
    const PROBE: &str = "METROPLAN_TESTKIT_READY";
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: PROBE.into(),
        subjects: vec!["metroplan-testkit.ready".into()],
        storage: async_nats::jetstream::stream::StorageType::Memory,
        num_replicas: replicas,
        ..Default::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    js.delete_stream(PROBE).await.map_err(|e| e.to_string())?;
    Ok(())
}

impl Node {
    fn client_url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.client_port)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Child::kill sends SIGKILL.
            let _ = child.kill();
            let _ = child.wait();
            tracing::debug!(node = %self.name, "nats-server killed");
        }
    }

    /// Waits until the client port accepts a TCP connection, failing early if the
    /// process exits.
    async fn wait_accepting(&mut self) -> Result<(), TestkitError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if TcpStream::connect(("127.0.0.1", self.client_port)).is_ok() {
                return Ok(());
            }
            let exited = match self.child.as_mut() {
                Some(child) => child.try_wait().ok().flatten().is_some(),
                None => true,
            };
            if exited || Instant::now() > deadline {
                return Err(self.not_ready(format!("{} on port {}", self.name, self.client_port)));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn not_ready(&self, what: String) -> TestkitError {
        TestkitError::NotReady {
            what,
            timeout: READY_TIMEOUT,
            log: log_tail(&self.log_path, 4000),
        }
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
    }
}

/// The last `max` bytes of a log file.
fn log_tail(path: &Path, max: u64) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(max)));
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    text
}

/// `n` distinct free TCP ports of 127.0.0.1, none of them 4222.
fn free_ports(n: usize) -> Result<Vec<u16>, TestkitError> {
    let mut listeners = Vec::with_capacity(n);
    let mut ports = Vec::with_capacity(n);
    while ports.len() < n {
        let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(io("find a free port"))?;
        let port = listener
            .local_addr()
            .map_err(io("read a bound port"))?
            .port();
        if port != DEFAULT_NATS_PORT {
            ports.push(port);
        }
        // Held until all are chosen, so that the same port is not handed out twice.
        listeners.push(listener);
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_and_never_the_default() {
        let ports = free_ports(6).expect("ports");
        let mut sorted = ports.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 6);
        assert!(!ports.contains(&DEFAULT_NATS_PORT));
    }
}
