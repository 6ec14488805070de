//! `compose.yaml` describes the topology the distributed tests start as processes, with
//! the server configuration the test kit writes: no Docker engine runs here, so this is
//! how the file is kept honest.

use std::collections::BTreeSet;
use std::path::Path;

use metroplan_nats_testkit::{CLUSTER_NAME, NodeConfig};
use serde_yaml_ng::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn compose() -> Value {
    let text = std::fs::read_to_string(Path::new(ROOT).join("compose.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

/// The option names of a nats-server configuration, as `section.key`.
fn option_names(conf: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut section = String::new();
    for line in conf
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
    {
        if let Some(name) = line.strip_suffix('{').map(str::trim) {
            section = format!("{name}.");
        } else if line == "}" {
            section.clear();
        } else if let Some((key, _)) = line.split_once(':') {
            names.insert(format!("{section}{}", key.trim()));
        }
    }
    names
}

#[test]
fn compose_runs_every_service_over_a_three_node_jetstream_cluster() {
    let c = compose();
    let services = c["services"].as_mapping().unwrap();
    for node in ["nats-1", "nats-2", "nats-3"] {
        let volumes = services[node]["volumes"].as_sequence().unwrap();
        assert!(
            volumes.iter().any(|v| v
                .as_str()
                .unwrap()
                .starts_with(&format!("./deploy/nats/node-{}.conf", &node[5..]))),
            "{node}"
        );
    }
    let commands: Vec<(String, String)> = services
        .iter()
        .filter_map(|(name, s)| {
            let command = s
                .get("command")?
                .as_sequence()?
                .first()?
                .as_str()?
                .to_owned();
            command
                .starts_with("metroplan")
                .then(|| (name.as_str().unwrap().to_owned(), command))
        })
        .collect();
    for binary in [
        "metroplan-plan",
        "metroplan-monitoring",
        "metroplan-partnership",
        "metroplan-projector",
    ] {
        assert_eq!(
            commands.iter().filter(|(_, c)| c == binary).count(),
            1,
            "one {binary}"
        );
    }
    assert_eq!(
        commands
            .iter()
            .filter(|(_, c)| c == "metroplan-gateway")
            .count(),
        2,
        "two gateways"
    );
    for (_, binary) in &commands {
        // Every command is a binary this workspace builds (and the tests run).
        crate::harness::bin(binary);
    }
    let env = &c["x-metroplan"]["environment"];
    let urls = env["METROPLAN_NATS_URL"].as_str().unwrap();
    assert_eq!(
        metroplan_config_urls(urls),
        vec![
            "nats://nats-1:4222",
            "nats://nats-2:4222",
            "nats://nats-3:4222"
        ]
    );
    assert_eq!(
        env["METROPLAN_REPLICAS"].as_str(),
        Some("3"),
        "the log is replicated on all three nodes"
    );
    // The projector signs checkpoints with the key the one-shot service makes, and the
    // gateways publish its verifier key: the flags the binaries read (by env).
    let keygen = services["checkpoint-key"]["command"][2].as_str().unwrap();
    assert!(keygen.contains("metroplan key generate --out /keys/checkpoint.key"));
    let projector = &services["projector"]["environment"];
    assert_eq!(
        projector["METROPLAN_CHECKPOINT_KEY"].as_str(),
        Some("/keys/checkpoint.key")
    );
    for gateway in ["gateway-1", "gateway-2"] {
        let e = &services[gateway]["environment"];
        assert_eq!(
            e["METROPLAN_CHECKPOINT_PUBLIC_KEY"].as_str(),
            Some("/keys/checkpoint.pub"),
            "{gateway}"
        );
        assert_eq!(
            e["METROPLAN_NATS_URL"], env["METROPLAN_NATS_URL"],
            "{gateway}"
        );
    }
    assert_eq!(projector["METROPLAN_NATS_URL"], env["METROPLAN_NATS_URL"]);
    for (binary, var) in [
        ("metroplan-projector", "METROPLAN_CHECKPOINT_KEY"),
        ("metroplan-gateway", "METROPLAN_CHECKPOINT_PUBLIC_KEY"),
    ] {
        let help = std::process::Command::new(crate::harness::bin(binary))
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&help.stdout).contains(var),
            "{binary} reads {var}"
        );
    }
}

fn metroplan_config_urls(urls: &str) -> Vec<&str> {
    urls.split(',').map(str::trim).collect()
}

#[test]
fn the_compose_servers_use_the_configuration_the_tests_use() {
    let routes = [6001, 6002, 6003];
    let tested = NodeConfig {
        server_name: "metroplan-1",
        client_port: 4222,
        store_dir: Path::new("/data"),
        cluster: Some((6001, &routes)),
    }
    .render();
    let tested_options = option_names(&tested);
    for i in 1..=3 {
        let conf =
            std::fs::read_to_string(Path::new(ROOT).join(format!("deploy/nats/node-{i}.conf")))
                .unwrap();
        let options = option_names(&conf);
        for option in &tested_options {
            assert!(
                options.contains(option),
                "node-{i}.conf lacks {option}, which the tests set"
            );
        }
        assert!(
            conf.contains("sync_interval: always"),
            "node-{i}: fsync on every write"
        );
        assert!(
            conf.contains(&format!("name: \"{CLUSTER_NAME}\"")),
            "node-{i}: the cluster name the tests use"
        );
        assert_eq!(
            conf.matches("nats-route://").count(),
            3,
            "node-{i} routes to all three nodes"
        );
    }
}
