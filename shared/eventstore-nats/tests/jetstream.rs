//! The JetStream backend against real nats-server processes started by
//! `metroplan-nats-testkit` on free ports: the conformance suite unchanged on a single
//! node and on a 3-node cluster (R3), then what only this backend must show.

use std::sync::Arc;

use metroplan_eventstore::conformance::Fixture;
use metroplan_eventstore_nats::JetStreamStore;
use metroplan_nats_testkit::{NatsCluster, NatsServer};

mod conformance_single_node {
    use super::*;

    metroplan_eventstore::conformance_tests!(|| async {
        let server = NatsServer::start().await.expect("start nats-server");
        let store = JetStreamStore::connect(&server.client_url(), 1)
            .await
            .expect("open the event store");
        Fixture::with_guard(Arc::new(store), server)
    });
}

mod conformance_cluster_r3 {
    use super::*;

    metroplan_eventstore::conformance_tests!(|| async {
        let cluster = NatsCluster::start(3).await.expect("start a 3-node cluster");
        let store = JetStreamStore::connect(&cluster.client_urls(), 3)
            .await
            .expect("open the event store");
        Fixture::with_guard(Arc::new(store), cluster)
    });
}

// ---------------------------------------------------------------------------------------
// What only this backend must show.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use metroplan_events::{EventMetadata, NewEvent, RecordedEvent};
use metroplan_eventstore::sqlite::{GENESIS_HASH, event_hash};
use metroplan_eventstore::{EventStore, ExpectedVersion, StoreError};
use metroplan_eventstore_nats::STREAM_NAME;
use uuid::Uuid;

fn event(payload: String) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "ActionProgressReported".into(),
        schema_version: 1,
        payload: payload.into_bytes(),
        metadata: EventMetadata {
            actor: "tester".into(),
            on_behalf_of: "Città metropolitana di Torino".into(),
            reason: None,
            correlation_id: Some(Uuid::now_v7()),
            causation_id: None,
        },
    }
}

/// A batch of `n` events whose payloads say `<tag> <i>/<n>`.
fn batch(tag: &str, n: usize) -> Vec<NewEvent> {
    (0..n).map(|i| event(format!("{tag} {i}/{n}"))).collect()
}

/// `(tag, i, n)` from a payload written by [`batch`].
fn batch_part(e: &RecordedEvent) -> (String, usize, usize) {
    let text = String::from_utf8_lossy(&e.payload).into_owned();
    let (tag, part) = text.rsplit_once(' ').expect("tag i/n");
    let (i, n) = part.split_once('/').expect("i/n");
    (tag.to_owned(), i.parse().expect("i"), n.parse().expect("n"))
}

/// Panics unless `events` (consecutive in the log, starting at an append's first
/// event) are whole appends: each batch's parts in order, none cut.
fn assert_whole_batches(events: &[RecordedEvent], what: &str) {
    let mut open: Option<(String, usize, usize)> = None;
    for e in events {
        let (tag, i, n) = batch_part(e);
        match &open {
            None => assert_eq!(i, 0, "{what}: {tag} starts at part {i}"),
            Some((open_tag, next, _)) => {
                assert_eq!((&tag, i), (open_tag, *next), "{what}: a batch is cut")
            }
        }
        open = (i + 1 < n).then(|| (tag, i + 1, n));
    }
    assert!(open.is_none(), "{what}: ends inside batch {open:?}");
}

async fn read_everything(store: &dyn EventStore) -> Vec<RecordedEvent> {
    let mut out: Vec<RecordedEvent> = Vec::new();
    loop {
        let after = out.last().map_or(0, |e| e.position);
        let page = store.read_all(after, 10_000).await.expect("read_all");
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// Positions 1..=n, every stream's versions from 1 and its hash chain unbroken.
fn assert_log_intact(log: &[RecordedEvent]) {
    let mut last_of_stream: HashMap<&str, (u64, Vec<u8>)> = HashMap::new();
    for (i, e) in log.iter().enumerate() {
        assert_eq!(e.position, i as u64 + 1, "positions are contiguous from 1");
        let (version, prev) = last_of_stream
            .get(e.stream_id.as_str())
            .cloned()
            .unwrap_or((0, GENESIS_HASH.to_vec()));
        assert_eq!(e.stream_version, version + 1, "versions of {}", e.stream_id);
        assert_eq!(
            e.hash,
            event_hash(&prev, e),
            "hash of {} at {}",
            e.stream_id,
            e.position
        );
        last_of_stream.insert(&e.stream_id, (e.stream_version, e.hash.clone()));
    }
}

/// Two stores (two processes' worth of connections) race multi-event appends on shared
/// streams of an R3 cluster, so that many batches are refused by the server's
/// expected-sequence check after passing the writer's own; meanwhile a third store
/// subscribes and reads. Nothing anyone sees ever holds part of an append, and the log
/// ends up holding exactly the acknowledged batches, whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_multi_event_append_is_never_half_visible() {
    const STREAMS: usize = 3;
    const ROUNDS: usize = 40;
    let cluster = NatsCluster::start(3).await.expect("start a 3-node cluster");
    let open = || async {
        Arc::new(
            JetStreamStore::connect(&cluster.client_urls(), 3)
                .await
                .expect("open the event store"),
        )
    };
    let writers = [open().await, open().await];
    let observer = open().await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let subscriber = {
        let mut sub = observer.subscribe_all(0);
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut seen: Vec<RecordedEvent> = Vec::new();
            let mut boundary_checks = 0;
            loop {
                // Whenever nothing more is ready, what was delivered is whole appends.
                let next = match sub.next().now_or_never() {
                    Some(next) => next,
                    None => {
                        assert_whole_batches(&seen, "subscriber between deliveries");
                        boundary_checks += 1;
                        if stop.load(std::sync::atomic::Ordering::Acquire) {
                            return (seen, boundary_checks);
                        }
                        match tokio::time::timeout(Duration::from_millis(200), sub.next()).await {
                            Ok(next) => next,
                            Err(_) => continue,
                        }
                    }
                };
                seen.push(next.expect("subscription goes on").expect("event"));
            }
        })
    };
    let reader = {
        let store = Arc::clone(&observer);
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                let all = store.read_all(0, 100_000).await.expect("read_all");
                assert_whole_batches(&all, "read_all");
                for s in 0..STREAMS {
                    let one = store
                        .read_stream(&format!("plan:shared-{s}"), 1, 100_000)
                        .await
                        .expect("read_stream");
                    assert_whole_batches(&one, "read_stream");
                }
                reads += 1;
            }
            reads
        })
    };

    let mut tasks = Vec::new();
    for (w, store) in writers.iter().enumerate() {
        for s in 0..STREAMS {
            let store = Arc::clone(store);
            tasks.push(tokio::spawn(async move {
                let stream = format!("plan:shared-{s}");
                let mut version = store.stream_version(&stream).await.expect("version");
                let (mut acked, mut refused) = (Vec::new(), Vec::new());
                for round in 0..ROUNDS {
                    let events = batch(&format!("w{w}s{s}r{round}"), 2 + round % 4);
                    let expected =
                        version.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
                    match store.append(&stream, expected, events.clone()).await {
                        Ok(r) => {
                            version = Some(r.stream_version);
                            acked.push(events);
                        }
                        Err(StoreError::WrongExpectedVersion { actual, .. }) => {
                            version = actual;
                            refused.push(events);
                        }
                        Err(e) => panic!("append failed: {e}"),
                    }
                }
                (acked, refused)
            }));
        }
    }
    let (mut acked, mut refused) = (Vec::new(), Vec::new());
    for task in tasks {
        let (a, r) = task.await.expect("writer");
        acked.extend(a);
        refused.extend(r);
    }
    stop.store(true, std::sync::atomic::Ordering::Release);
    let reads = reader.await.expect("reader");
    let (seen, boundary_checks) = subscriber.await.expect("subscriber");
    println!(
        "half-visibility: {} batches acknowledged, {} refused, {reads} full reads, {boundary_checks} subscriber boundary checks",
        acked.len(),
        refused.len()
    );
    assert!(!refused.is_empty(), "the writers raced");
    let refused_by_server: u64 = writers.iter().map(|w| w.stats().refused_by_server).sum();
    println!(
        "half-visibility: {refused_by_server} publishes refused by the server's expected-sequence checks"
    );
    assert!(
        refused_by_server > 0,
        "some batches passed the writer's own check and were refused by the server"
    );

    let log = read_everything(&*observer).await;
    assert_log_intact(&log);
    assert_whole_batches(&log, "the log");
    let stored: HashSet<Uuid> = log.iter().map(|e| e.event_id).collect();
    let acked_ids: HashSet<Uuid> = acked.iter().flatten().map(|e| e.event_id).collect();
    assert_eq!(
        stored, acked_ids,
        "the log holds exactly the acknowledged batches"
    );
    for e in refused.iter().flatten() {
        assert!(
            !stored.contains(&e.event_id),
            "a refused batch left event {}",
            e.event_id
        );
    }
    // The subscriber got the whole log, in order, once.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = seen;
    let mut sub = observer.subscribe_all(seen.last().map_or(0, |e| e.position));
    while seen.len() < log.len() && Instant::now() < deadline {
        if let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(5), sub.next()).await {
            seen.push(e.expect("event"));
        }
    }
    assert_eq!(seen, log, "the subscriber saw the log");
}

/// One acknowledged append of the leader-kill load.
#[derive(Debug)]
struct Ack {
    at: Instant,
    took: Duration,
    first_position: u64,
    ids: Vec<Uuid>,
}

/// The failure test: a 3-node cluster under a write load of concurrent
/// appenders; the stream leader is killed with SIGKILL mid-load. Writes resume within
/// 10 seconds (the longest pause between two acknowledgements around the kill is under
/// 10 s), and after the node is restarted every acknowledged event is in the log at its
/// acknowledged position, every append is whole and the hash chain holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_stream_leader_mid_load_loses_no_acknowledged_event() {
    const WRITERS: usize = 8;
    const BEFORE_KILL: Duration = Duration::from_secs(2);
    const AFTER_KILL: Duration = Duration::from_secs(12);
    const RESUME_BOUND: Duration = Duration::from_secs(10);
    init_tracing();
    let mut cluster = NatsCluster::start(3).await.expect("start a 3-node cluster");
    let store = Arc::new(
        JetStreamStore::connect(&cluster.client_urls(), 3)
            .await
            .expect("open the event store"),
    );

    // A subscriber from the start, through the kill and the restart.
    let subscriber = {
        let mut sub = store.subscribe_all(0);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Some(next) = sub.next().await {
                if tx.send(next.expect("subscription event")).is_err() {
                    return;
                }
            }
        });
        (task, rx)
    };

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = Arc::clone(&store);
        let stop = Arc::clone(&stop);
        writers.push(tokio::spawn(async move {
            let mut acks = Vec::new();
            let mut errors = Vec::new();
            let mut versions = [None::<u64>; 3];
            let mut b = 0_usize;
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                b += 1;
                let own = b % versions.len();
                let events = batch(&format!("w{w}b{b}"), 1 + b % 3);
                let ids = events.iter().map(|e| e.event_id).collect();
                let expected =
                    versions[own].map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
                let started = Instant::now();
                match store
                    .append(&format!("load:w{w}-s{own}"), expected, events)
                    .await
                {
                    Ok(r) => {
                        versions[own] = Some(r.stream_version);
                        acks.push(Ack {
                            at: Instant::now(),
                            took: started.elapsed(),
                            first_position: r.first_position,
                            ids,
                        });
                    }
                    Err(e) => {
                        // Its version is unknown now: read it again.
                        errors.push(e.to_string());
                        versions[own] = store
                            .stream_version(&format!("load:w{w}-s{own}"))
                            .await
                            .ok()
                            .flatten();
                    }
                }
            }
            (acks, errors)
        }));
    }

    tokio::time::sleep(BEFORE_KILL).await;
    let js = async_nats::jetstream::new(store.client().clone());
    let leader = js
        .get_stream(STREAM_NAME)
        .await
        .expect("stream info")
        .cached_info()
        .cluster
        .as_ref()
        .and_then(|c| c.leader.clone())
        .expect("the stream has a leader");
    let victim = cluster
        .index_of(&leader)
        .expect("the leader is one of ours");
    let killed_at = Instant::now();
    cluster.kill(victim);
    tokio::time::sleep(AFTER_KILL).await;
    stop.store(true, std::sync::atomic::Ordering::Release);
    let stopped_at = Instant::now();

    let mut acks = Vec::new();
    let mut errors = Vec::new();
    for w in writers {
        let (a, e) = w.await.expect("writer");
        acks.extend(a);
        errors.extend(e);
    }
    acks.sort_by_key(|a| a.at);
    let before = acks.iter().filter(|a| a.at < killed_at).count();
    let after = acks.len() - before;
    // The longest silence from a second before the kill to the end of the load (appends
    // still finishing after it are not a measure of the cluster).
    let watched: Vec<Instant> = acks
        .iter()
        .map(|a| a.at)
        .filter(|t| *t + Duration::from_secs(1) >= killed_at && *t <= stopped_at)
        .collect();
    let longest_gap = watched
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    let first_after_gap = watched
        .windows(2)
        .find(|w| w[1] - w[0] == longest_gap)
        .map(|w| w[1] - killed_at);
    let stats = store.stats();
    let slowest = acks.iter().map(|a| a.took).max().unwrap_or_default();
    println!("leader kill: write path {stats:?}; slowest append {slowest:?}");
    println!(
        "leader kill: killed {leader}; {before} appends acknowledged before the kill, {after} after; \
         longest pause between acknowledgements {longest_gap:?}, writes flowing again {first_after_gap:?} after the kill; \
         {} appends failed",
        errors.len()
    );
    assert!(
        before > 0 && after > 0,
        "load ran on both sides of the kill"
    );
    assert!(
        longest_gap < RESUME_BOUND,
        "writes resumed only after {longest_gap:?}"
    );
    assert!(errors.is_empty(), "appends failed: {errors:?}");

    cluster
        .restart(victim)
        .await
        .expect("restart the killed node");
    let log = read_everything(&*store).await;
    assert_log_intact(&log);
    assert_whole_appends_by_tag(&log);
    let by_id: HashMap<Uuid, &RecordedEvent> = log.iter().map(|e| (e.event_id, e)).collect();
    for ack in &acks {
        for (i, id) in ack.ids.iter().enumerate() {
            let stored = by_id
                .get(id)
                .unwrap_or_else(|| panic!("acknowledged event {id} is lost"));
            assert_eq!(
                stored.position,
                ack.first_position + i as u64,
                "acknowledged event {id} moved"
            );
        }
    }
    println!(
        "leader kill: log of {} events intact after restarting {leader}",
        log.len()
    );

    // The subscriber delivered the whole log, in order, once, across the failover.
    let (task, mut rx) = subscriber;
    let mut seen: Vec<RecordedEvent> = Vec::with_capacity(log.len());
    let deadline = Instant::now() + Duration::from_secs(90);
    while seen.len() < log.len() && Instant::now() < deadline {
        if let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            seen.push(e);
        }
    }
    task.abort();
    assert_eq!(seen.len(), log.len(), "the subscriber caught up");
    assert!(seen == log, "the subscriber saw the log as it is");
}

/// Every batch tag's parts are all there, in order (batches of one stream may
/// interleave with others in the log).
fn assert_whole_appends_by_tag(log: &[RecordedEvent]) {
    let mut parts: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    for e in log {
        let (tag, i, n) = batch_part(e);
        parts.entry(tag).or_default().push((i, n));
    }
    for (tag, got) in parts {
        let n = got[0].1;
        let want: Vec<(usize, usize)> = (0..n).map(|i| (i, n)).collect();
        assert_eq!(got, want, "append {tag} is not whole");
    }
}

/// Logs to the test's output, filtered by `RUST_LOG` (nothing unless it is set).
fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Issue point 7: the events are open to standard tooling. A plain JetStream client
/// (what the `nats` CLI does) finds a stream's events under its documented subject,
/// with the envelope in `Metroplan-*` headers and the payload bytes as appended.
#[tokio::test]
async fn an_auditor_reads_events_with_plain_jetstream_tools() {
    let server = NatsServer::start().await.expect("start nats-server");
    let store = JetStreamStore::connect(&server.client_url(), 1)
        .await
        .expect("open the event store");
    let mut first = event("progress 40%".into());
    first.metadata.reason = Some("aggiornamento 2022\nseconda riga".into());
    let events = vec![first, event("progress 60%".into())];
    let result = store
        .append(
            "action:PSM-2021-2023/2.1.1",
            ExpectedVersion::NoStream,
            events.clone(),
        )
        .await
        .expect("append");

    let js = async_nats::jetstream::new(store.client().clone());
    let stream = js.get_stream(STREAM_NAME).await.expect("the stream");
    let config = &stream.cached_info().config;
    assert_eq!(config.subjects, ["metroplan.events.>"]);
    assert!(config.deny_delete && config.deny_purge && config.allow_direct);
    assert!(config.allow_atomic_publish);
    assert_eq!(
        config.storage,
        async_nats::jetstream::stream::StorageType::File
    );

    let raw = stream
        .get_last_raw_message_by_subject("metroplan.events.action.PSM-2021-2023/2%2E1%2E1")
        .await
        .expect("the stream's subject");
    assert_eq!(raw.sequence, result.last_position);
    assert_eq!(
        &raw.payload[..],
        &events[1].payload[..],
        "the payload as appended"
    );
    let header = |name: &str| raw.headers.get(name).map(|v| v.as_str().to_owned());
    assert_eq!(header("Nats-Msg-Id"), Some(events[1].event_id.to_string()));
    assert_eq!(
        header("Metroplan-Stream").as_deref(),
        Some("action:PSM-2021-2023/2.1.1")
    );
    assert_eq!(header("Metroplan-Stream-Version").as_deref(), Some("2"));
    assert_eq!(
        header("Metroplan-Event-Type").as_deref(),
        Some("ActionProgressReported")
    );
    assert_eq!(header("Metroplan-Batch").as_deref(), Some("2/2"));
    assert_eq!(header("Metroplan-Actor").as_deref(), Some("tester"));
    assert_eq!(
        header("Metroplan-On-Behalf-Of").as_deref(),
        Some("Città metropolitana di Torino")
    );
    let stored = store
        .read_stream("action:PSM-2021-2023/2.1.1", 1, 10)
        .await
        .expect("read_stream");
    assert_eq!(header("Metroplan-Hash"), Some(hex::encode(&stored[1].hash)));
    assert_eq!(
        stored[0].metadata.reason.as_deref(),
        Some("aggiornamento 2022\nseconda riga"),
        "a line break survives its header"
    );
    let first_raw = stream
        .get_raw_message(result.first_position)
        .await
        .expect("by position");
    assert_eq!(
        first_raw
            .headers
            .get("Metroplan-Reason")
            .map(|v| v.as_str()),
        Some("aggiornamento 2022%0Aseconda riga")
    );
}

/// A stream that would not keep the log (here: messages expire) is refused, not used.
#[tokio::test]
async fn a_stream_that_is_not_a_system_of_record_is_refused() {
    let server = NatsServer::start().await.expect("start nats-server");
    let js = async_nats::jetstream::new(
        async_nats::connect(server.client_url())
            .await
            .expect("connect"),
    );
    js.create_stream(async_nats::jetstream::stream::Config {
        max_age: Duration::from_secs(3600),
        ..metroplan_eventstore_nats::stream_config(1)
    })
    .await
    .expect("create a stream with a max age");
    let err = JetStreamStore::connect(&server.client_url(), 1)
        .await
        .expect_err("an expiring stream is refused");
    assert!(
        matches!(
            err,
            metroplan_eventstore_nats::ConnectError::Config {
                property: "limits",
                ..
            }
        ),
        "{err}"
    );
    let err = JetStreamStore::connect(&server.client_url(), 3)
        .await
        .expect_err("a different replica count is refused");
    assert!(err.to_string().contains("METROPLAN_EVENTS"), "{err}");
}
