//! Checkpoints on the JetStream backend, against a real nats-server started by
//! `metroplan-nats-testkit` on free ports: two writers with one key, the checkpointer's
//! policy, and the verifier over the events and checkpoint streams.

use std::sync::Arc;
use std::time::Duration;

use metroplan_audit::nats::{NatsCheckpoints, audit_log};
use metroplan_audit::signing::generate_key;
use metroplan_audit::{
    AuditError, CheckpointPolicy, CheckpointSigner, CheckpointStore, Keyring, all_checkpoints,
    verify_log,
};
use metroplan_events::{EventMetadata, NewEvent};
use metroplan_eventstore::{EventStore, ExpectedVersion};
use metroplan_eventstore_nats::JetStreamStore;
use metroplan_nats_testkit::NatsServer;
use tokio_util::sync::CancellationToken;

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
            .append(
                &format!("audittest.s{}", i % 4),
                ExpectedVersion::Any,
                vec![event],
            )
            .await
            .unwrap();
    }
}

async fn wait_for_size(checkpoints: &dyn CheckpointStore, size: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if checkpoints
            .latest()
            .await
            .unwrap()
            .is_some_and(|c| c.tree_size >= size)
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no checkpoint of size {size}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn checkpoints_are_written_once_per_size_and_verified_on_jetstream() {
    let server = NatsServer::start().await.expect("start nats-server");
    let url = server.client_url();
    let store: Arc<dyn EventStore> = Arc::new(JetStreamStore::connect(&url, 1).await.unwrap());
    append(store.as_ref(), 25).await;

    let (skey, vkey) = generate_key("metroplan.test/events").unwrap();
    let ring = Keyring::parse(&vkey).unwrap();
    let signer = || CheckpointSigner::from_private_key(&skey, "test").unwrap();

    // Two writers on two connections with one key: one checkpoint of size 25.
    let first = audit_log(
        async_nats::connect(&url).await.unwrap(),
        1,
        Some(signer()),
        Keyring::default(),
    )
    .await
    .unwrap();
    let second = audit_log(
        async_nats::connect(&url).await.unwrap(),
        1,
        Some(signer()),
        Keyring::default(),
    )
    .await
    .unwrap();
    let (a, b) = tokio::join!(
        first.checkpoint_now(store.as_ref()),
        second.checkpoint_now(store.as_ref())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.is_some() || b.is_some());
    let reader = NatsCheckpoints::open(async_nats::connect(&url).await.unwrap(), 1)
        .await
        .unwrap();
    let stored = all_checkpoints(&reader).await.unwrap();
    assert_eq!(stored.iter().map(|c| c.tree_size).collect::<Vec<_>>(), [25]);
    let kept = stored[0].note.clone();
    assert_eq!(ring.open(&kept).unwrap().size, 25);
    // Publishing the same size again is refused as a duplicate.
    assert!(!reader.put(25, &kept).await.unwrap());

    // The checkpointer signs every 10 events, and once more when stopped.
    let stop = CancellationToken::new();
    let task = tokio::spawn(Arc::clone(&first).run(
        Arc::clone(&store),
        CheckpointPolicy {
            every_events: 10,
            max_delay: Duration::from_secs(3600),
        },
        stop.clone(),
    ));
    append(store.as_ref(), 20).await;
    wait_for_size(&reader, 45).await;
    append(store.as_ref(), 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.cancel();
    task.await.unwrap().unwrap();
    let sizes: Vec<u64> = all_checkpoints(&reader)
        .await
        .unwrap()
        .iter()
        .map(|c| c.tree_size)
        .collect();
    assert_eq!(sizes, [25, 35, 45, 48]);

    // The whole log verifies, with the kept checkpoint consistent with the latest.
    let report = verify_log(
        store.as_ref(),
        all_checkpoints(&reader).await.unwrap(),
        &[kept],
        &ring,
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(report.events, 48);
    assert_eq!(report.streams, 4);
    assert_eq!(report.checkpoints, 4);
    assert_eq!(report.kept_checkpoints, 1);
    assert_eq!(report.root, first.root_at(48).unwrap().to_string());

    // A checkpoint of a longer log than the stream holds: truncation.
    let longer = signer().sign(60, first.root_at(48).unwrap()).unwrap();
    assert!(reader.put(60, &longer).await.unwrap());
    let found = verify_log(
        store.as_ref(),
        all_checkpoints(&reader).await.unwrap(),
        &[],
        &ring,
        &|_, _| {},
    )
    .await;
    match found {
        Err(AuditError::Tampered(t)) => {
            assert_eq!(t.position, 49, "{t}");
            assert!(t.reason.contains("truncated"), "{t}");
        }
        other => panic!("a truncated log verified: {other:?}"),
    }
    // And a checkpointer refuses to sign over it.
    let third = audit_log(
        async_nats::connect(&url).await.unwrap(),
        1,
        Some(signer()),
        Keyring::default(),
    )
    .await
    .unwrap();
    let refused = Arc::clone(&third)
        .run(
            Arc::clone(&store),
            CheckpointPolicy::default(),
            CancellationToken::new(),
        )
        .await;
    assert!(
        matches!(refused, Err(AuditError::Tampered(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn racing_writers_leave_sizes_growing_with_sequences_and_pages_read_them_in_order() {
    let server = NatsServer::start().await.expect("start nats-server");
    let url = server.client_url();
    let mut writers = Vec::new();
    for _ in 0..4 {
        writers.push(
            NatsCheckpoints::open(async_nats::connect(&url).await.unwrap(), 1)
                .await
                .unwrap(),
        );
    }
    // Four writers put sizes 1..=40 in different orders at once.
    let mut tasks = Vec::new();
    for (w, writer) in writers.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut written = 0;
            for i in 0..40u64 {
                let size = if w % 2 == 0 { i + 1 } else { 40 - i };
                if writer
                    .put(size, &format!("note of {size}\n"))
                    .await
                    .unwrap()
                {
                    written += 1;
                }
            }
            written
        }));
    }
    let mut written = 0;
    for t in tasks {
        written += t.await.unwrap();
    }
    let reader = NatsCheckpoints::open(async_nats::connect(&url).await.unwrap(), 1)
        .await
        .unwrap();
    let all = all_checkpoints(&reader).await.unwrap();
    let sizes: Vec<u64> = all.iter().map(|c| c.tree_size).collect();
    assert_eq!(sizes.len(), written, "{sizes:?}");
    assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?}");
    assert_eq!(*sizes.last().unwrap(), 40);
    assert_eq!(reader.latest().await.unwrap().unwrap().tree_size, 40);
    for c in &all {
        assert_eq!(c.note, format!("note of {}\n", c.tree_size));
    }
    // Pages after any size start right after it.
    for after in [0, sizes[0], sizes[sizes.len() / 2], 39, 40] {
        let page = reader.list(after, 3).await.unwrap();
        let expected: Vec<u64> = sizes
            .iter()
            .copied()
            .filter(|s| *s > after)
            .take(3)
            .collect();
        assert_eq!(
            page.iter().map(|c| c.tree_size).collect::<Vec<_>>(),
            expected
        );
    }
}
