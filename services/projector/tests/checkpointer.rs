//! The `metroplan-projector` process as the distributed deployment's checkpoint writer:
//! started with a key on a real nats-server, it signs checkpoints of the JetStream log
//! into `METROPLAN_CHECKPOINTS` by its policy and once more on SIGTERM, and they verify.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use metroplan_audit::nats::NatsCheckpoints;
use metroplan_audit::signing::{generate_key, write_private};
use metroplan_audit::{CheckpointStore, Keyring, all_checkpoints, verify_log};
use metroplan_events::{EventMetadata, NewEvent};
use metroplan_eventstore::{EventStore, ExpectedVersion};
use metroplan_eventstore_nats::JetStreamStore;
use metroplan_nats_testkit::NatsServer;

async fn append(store: &dyn EventStore, n: u64) {
    for i in 0..n {
        let event = NewEvent {
            event_id: uuid::Uuid::now_v7(),
            event_type: "AuditTestNoted".into(),
            schema_version: 1,
            payload: format!("note {i}").into_bytes(),
            metadata: EventMetadata {
                actor: "tester".into(),
                on_behalf_of: "auditors".into(),
                reason: None,
                correlation_id: None,
                causation_id: None,
            },
        };
        store
            .append("audittest.projector", ExpectedVersion::Any, vec![event])
            .await
            .unwrap();
    }
}

async fn latest_size(checkpoints: &NatsCheckpoints) -> u64 {
    checkpoints
        .latest()
        .await
        .unwrap()
        .map_or(0, |c| c.tree_size)
}

#[tokio::test]
async fn the_projector_process_signs_checkpoints_of_the_jetstream_log() {
    let server = NatsServer::start().await.expect("start nats-server");
    let url = server.client_url();
    let store: Arc<dyn EventStore> = Arc::new(JetStreamStore::connect(&url, 1).await.unwrap());
    append(store.as_ref(), 5).await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("checkpoint.key");
    let (skey, vkey) = generate_key("metroplan.test/events").unwrap();
    write_private(&key, &skey).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_metroplan-projector"))
        .args(["--nats", &url, "--checkpoint-key"])
        .arg(&key)
        .args(["--checkpoint-every", "4", "--checkpoint-after-secs", "1"])
        .env_remove("METROPLAN_REPLICAS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning metroplan-projector");
    let checkpoints = NatsCheckpoints::open(async_nats::connect(&url).await.unwrap(), 1)
        .await
        .unwrap();

    // The 5 events it finds are signed after a second; 4 more make a checkpoint at once.
    let deadline = Instant::now() + Duration::from_secs(30);
    while latest_size(&checkpoints).await < 5 {
        assert!(
            Instant::now() < deadline,
            "no checkpoint of the first events"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    append(store.as_ref(), 4).await;
    while latest_size(&checkpoints).await < 9 {
        assert!(
            Instant::now() < deadline,
            "no checkpoint after 4 more events"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Two more, then SIGTERM before the delay: the stop signs them.
    append(store.as_ref(), 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "the projector exited with {status}");

    let stored = all_checkpoints(&checkpoints).await.unwrap();
    let sizes: Vec<u64> = stored.iter().map(|c| c.tree_size).collect();
    assert_eq!(sizes, [5, 9, 11]);
    let report = verify_log(
        store.as_ref(),
        stored,
        &[],
        &Keyring::parse(&vkey).unwrap(),
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!((report.events, report.checkpoints), (11, 3));
}
