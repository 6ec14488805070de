//! The SQLite backend: the conformance suite, then what only this backend promises
//! (group commit, reopening, surviving `kill -9`), and a smoke run of the benchmarks.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use metroplan_events::{EventMetadata, NewEvent, RecordedEvent};
use metroplan_eventstore::conformance::Fixture;
use metroplan_eventstore::sqlite::{GENESIS_HASH, SqliteStore, event_hash};
use metroplan_eventstore::{EventStore, ExpectedVersion, StoreError, bench};
use uuid::Uuid;

mod conformance {
    use super::*;

    metroplan_eventstore::conformance_tests!(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open_in(dir.path()).expect("open store");
        Fixture::with_guard(Arc::new(store), dir)
    });
}

fn event(payload: impl Into<Vec<u8>>) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "ActionProgressReported".into(),
        schema_version: 1,
        payload: payload.into(),
        metadata: EventMetadata {
            actor: "tester".into(),
            on_behalf_of: "Città metropolitana di Torino".into(),
            reason: None,
            correlation_id: Some(Uuid::now_v7()),
            causation_id: None,
        },
    }
}

async fn read_everything(store: &dyn EventStore) -> Vec<RecordedEvent> {
    let mut out: Vec<RecordedEvent> = Vec::new();
    loop {
        let after = out.last().map_or(0, |e| e.position);
        let page = store.read_all(after, 500).await.expect("read_all");
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// Panics unless positions are `1..=n` and every stream's versions and hash links hold.
fn assert_log_intact(events: &[RecordedEvent]) {
    let mut last_of_stream: HashMap<&str, (u64, Vec<u8>)> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.position, i as u64 + 1, "positions are contiguous from 1");
        let (version, prev) = last_of_stream
            .get(e.stream_id.as_str())
            .cloned()
            .unwrap_or((0, GENESIS_HASH.to_vec()));
        assert_eq!(
            e.stream_version,
            version + 1,
            "versions of {} are contiguous",
            e.stream_id
        );
        assert_eq!(
            e.hash,
            event_hash(&prev, e),
            "hash link of {} at position {}",
            e.stream_id,
            e.position
        );
        last_of_stream.insert(&e.stream_id, (e.stream_version, e.hash.clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_shares_one_transaction_among_concurrent_appends() {
    const APPENDS: usize = 64;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open_in(dir.path()).expect("open store"));
    let barrier = Arc::new(tokio::sync::Barrier::new(APPENDS));
    let mut tasks = Vec::new();
    for i in 0..APPENDS {
        let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .append(
                    &format!("plan:p{i}"),
                    ExpectedVersion::NoStream,
                    vec![event("x")],
                )
                .await
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("append");
    }
    let stats = store.stats();
    assert_eq!(stats.appends, APPENDS as u64);
    assert_eq!(stats.events, APPENDS as u64);
    assert!(
        stats.transactions < APPENDS as u64,
        "{APPENDS} concurrent appends took {} transactions: no group commit",
        stats.transactions
    );
    assert_log_intact(&read_everything(&*store).await);
}

/// Refused requests inside a group roll back alone; the others of the group commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_append_rolls_back_alone_inside_a_group() {
    const APPENDS: usize = 48;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open_in(dir.path()).expect("open store"));
    for i in 0..APPENDS {
        store
            .append(
                &format!("plan:p{i}"),
                ExpectedVersion::NoStream,
                vec![event("first")],
            )
            .await
            .expect("seed");
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(APPENDS));
    let mut tasks = Vec::new();
    for i in 0..APPENDS {
        let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
        // Every third request expects a stale version; every other one is a 3-event batch.
        let expected = if i % 3 == 0 {
            ExpectedVersion::Exact(7)
        } else {
            ExpectedVersion::Exact(1)
        };
        let batch: Vec<NewEvent> = (0..1 + 2 * (i % 2)).map(|_| event("second")).collect();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let r = store
                .append(&format!("plan:p{i}"), expected, batch.clone())
                .await;
            (i, batch, r)
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    let stored: HashMap<Uuid, RecordedEvent> = read_everything(&*store)
        .await
        .into_iter()
        .map(|e| (e.event_id, e))
        .collect();
    for (i, batch, r) in results {
        if i % 3 == 0 {
            assert!(
                matches!(
                    r,
                    Err(StoreError::WrongExpectedVersion {
                        actual: Some(1),
                        ..
                    })
                ),
                "request {i}: {r:?}"
            );
            assert!(
                batch.iter().all(|e| !stored.contains_key(&e.event_id)),
                "refused request {i} left events"
            );
        } else {
            let r = r.expect("good request");
            assert_eq!(r.stream_version, batch.len() as u64 + 1);
            assert!(
                batch.iter().all(|e| stored.contains_key(&e.event_id)),
                "request {i} lost events"
            );
        }
    }
    assert_log_intact(&read_everything(&*store).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_keeps_every_event_and_continues_the_chain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let before = {
        let store = SqliteStore::open_in(dir.path()).expect("open store");
        for i in 0..20 {
            let stream = format!("action:psm/{}", i % 3);
            store
                .append(
                    &stream,
                    ExpectedVersion::Any,
                    vec![event(format!("e{i}")), event("more")],
                )
                .await
                .expect("append");
        }
        read_everything(&store).await
    };
    let store = SqliteStore::open_in(dir.path()).expect("reopen store");
    assert_eq!(
        read_everything(&store).await,
        before,
        "every field survives reopening"
    );
    assert_eq!(store.head_position().await.expect("head"), 40);
    assert_eq!(
        store.stream_version("action:psm/0").await.expect("version"),
        Some(14)
    );
    assert_eq!(
        store.list_streams("action:").await.expect("list"),
        ["action:psm/0", "action:psm/1", "action:psm/2"]
    );

    let r = store
        .append(
            "action:psm/0",
            ExpectedVersion::Exact(14),
            vec![event("after")],
        )
        .await
        .expect("append");
    assert_eq!((r.first_position, r.stream_version), (41, 15));
    let mut sub = store.subscribe_all(39);
    for position in 40..=41 {
        let e = tokio::time::timeout(Duration::from_secs(30), sub.next())
            .await
            .expect("subscription")
            .expect("event");
        assert_eq!(e.expect("event").position, position);
    }
    assert_log_intact(&read_everything(&store).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_ends_after_the_last_event_when_the_store_closes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("log.db")).expect("open store");
    store
        .append(
            "plan:a",
            ExpectedVersion::NoStream,
            vec![event("1"), event("2")],
        )
        .await
        .expect("append");
    let sub = store.subscribe_all(0);
    drop(store);
    let got: Vec<u64> = tokio::time::timeout(
        Duration::from_secs(30),
        sub.map(|e| e.expect("event").position).collect(),
    )
    .await
    .expect("the subscription ends");
    assert_eq!(got, [1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn benchmarks_run_and_count_their_events() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn EventStore> =
        Arc::new(SqliteStore::open_in(dir.path().join("store")).expect("open store"));
    let r = bench::append_throughput(Arc::clone(&store), 8, 20, 256)
        .await
        .expect("append throughput");
    assert_eq!(r.events, 160);
    assert!(r.events_per_sec > 0.0);
    assert_eq!(store.head_position().await.expect("head"), 160);
    assert_log_intact(&read_everything(&*store).await);

    let raw_path = dir.path().join("raw.db");
    let raw = bench::raw_sqlite_batched_insert(&raw_path, 600, 256).expect("raw baseline");
    assert_eq!(raw.events, 600);
    let raw_store = SqliteStore::open(&raw_path).expect("the baseline file is a store file");
    assert_eq!(raw_store.head_position().await.expect("head"), 600);
    assert_eq!(
        raw_store.read_all(0, 1).await.expect("read")[0]
            .payload
            .len(),
        256
    );
}

/// Two stores on one file, as two processes would have them: a subscriber of the first
/// sees what the second appends, in order, although no commit of its own process wakes
/// it up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_sees_events_appended_by_another_store_on_the_same_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shared.db");
    let ours = SqliteStore::open(&path).expect("open store");
    let theirs = SqliteStore::open(&path).expect("open a second store on the same file");
    ours.append(
        "plan:ours",
        ExpectedVersion::NoStream,
        vec![event("ours 1")],
    )
    .await
    .expect("append");
    let mut sub = ours.subscribe_all(0);
    let mut seen = next_events(&mut sub, 1..=1).await;

    // Only the other store commits: nothing in our process moves.
    for round in 0..3 {
        theirs
            .append(
                "plan:theirs",
                ExpectedVersion::Any,
                vec![
                    event(format!("theirs {round} a")),
                    event(format!("theirs {round} b")),
                ],
            )
            .await
            .expect("append through the other store");
    }
    seen.extend(next_events(&mut sub, 2..=7).await);
    // Both again, one after the other.
    theirs
        .append(
            "plan:theirs",
            ExpectedVersion::Exact(6),
            vec![event("theirs 4")],
        )
        .await
        .expect("append through the other store");
    ours.append(
        "plan:ours",
        ExpectedVersion::Exact(1),
        vec![event("ours 2")],
    )
    .await
    .expect("append");
    seen.extend(next_events(&mut sub, 8..=9).await);

    assert_eq!(seen, read_everything(&theirs).await, "the same events");
    assert_log_intact(&seen);
}

/// The next events of `sub`, which must be at `positions`, each within 10 seconds.
async fn next_events(
    sub: &mut futures::stream::BoxStream<'static, Result<RecordedEvent, StoreError>>,
    positions: std::ops::RangeInclusive<u64>,
) -> Vec<RecordedEvent> {
    let mut out = Vec::new();
    for position in positions {
        let e = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .unwrap_or_else(|_| panic!("event {position} was not delivered in time"))
            .expect("the subscription goes on")
            .expect("event");
        assert_eq!(e.position, position, "delivered in order");
        out.push(e);
    }
    out
}

/// Long reads are cut into slices read in parallel: they return exactly what short pages
/// return, from any position, up to the end of the log and past it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_reads_return_what_short_pages_return() {
    const STREAMS: usize = 3;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open_in(dir.path()).expect("open store");
    for batch in 0..30 {
        let batch_events = (0..170).map(|i| event(format!("{batch}/{i}"))).collect();
        store
            .append(
                &format!("plan:s{}", batch % STREAMS),
                ExpectedVersion::Any,
                batch_events,
            )
            .await
            .expect("append");
    }
    let log = read_everything(&store).await;
    assert_eq!(log.len(), 5100);
    assert_log_intact(&log);
    for (after, limit) in [
        (0, 100_000),
        (0, 4096),
        (0, 5100),
        (17, 3333),
        (1000, 2048),
        (2049, 2047),
        (3000, 4096),
        (5099, 4096),
        (5100, 4096),
        (9000, 4096),
    ] {
        let got = store.read_all(after, limit).await.expect("read_all");
        let end = (after as usize + limit).min(log.len());
        let want = log.get(after as usize..end).unwrap_or_default();
        assert!(
            got == want,
            "read_all({after}, {limit}) returned {} events, {} expected",
            got.len(),
            want.len()
        );
    }
    let stream: Vec<RecordedEvent> = log
        .iter()
        .filter(|e| e.stream_id == "plan:s0")
        .cloned()
        .collect();
    assert_eq!(stream.len(), 1700);
    for (from, limit) in [
        (0, 4096),
        (1, 4096),
        (1, 1700),
        (0, 2500),
        (10, 2500),
        (1650, 4096),
        (1701, 4096),
    ] {
        let got = store
            .read_stream("plan:s0", from, limit)
            .await
            .expect("read_stream");
        let start = (from.max(1) - 1) as usize;
        let want = stream
            .get(start..(start + limit).min(stream.len()))
            .unwrap_or_default();
        assert!(
            got == want,
            "read_stream(plan:s0, {from}, {limit}) returned {} events, {} expected",
            got.len(),
            want.len()
        );
    }
}

/// A log of an older layout is refused with a message, not misread.
#[test]
fn a_file_of_an_older_schema_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("old.db");
    let conn = rusqlite::Connection::open(&path).expect("create file");
    conn.execute_batch("CREATE TABLE events (position INTEGER PRIMARY KEY, recorded_at TEXT); PRAGMA user_version = 1;")
        .expect("old layout");
    drop(conn);
    let err = SqliteStore::open(&path).expect_err("an old layout is refused");
    assert!(
        err.to_string().contains("schema version 1 is older"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------
// kill -9 under load.

/// The child's data directory; the child does nothing without it.
const CRASH_DIR_ENV: &str = "METROPLAN_EVENTSTORE_CRASH_DIR";
const CRASH_CHILD: &str = "crash_child_appends_under_load";
const CRASH_WRITERS: usize = 8;

/// Kills the child when the parent test ends for any reason.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One acknowledged append, as the child printed it.
#[derive(Debug)]
struct Ack {
    first_position: u64,
    ids: Vec<Uuid>,
}

fn parse_ack(line: &str) -> Option<Ack> {
    let mut parts = line.strip_prefix("ack ")?.split(' ');
    let first_position = parts.next()?.parse().ok()?;
    let ids = parts
        .next()?
        .split(',')
        .map(Uuid::parse_str)
        .collect::<Result<_, _>>()
        .ok()?;
    Some(Ack {
        first_position,
        ids,
    })
}

/// Runs this test binary's own [`crash_child_appends_under_load`], lets it append with
/// several writers while printing each acknowledged append, kills it with SIGKILL
/// mid-load, reopens the file and checks that nothing acknowledged is missing, nothing
/// is half-written and the hash chain holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_acknowledged_event() {
    const ENOUGH_ACKS: usize = 400;
    const LOAD_TIME: Duration = Duration::from_millis(1500);
    let dir = tempfile::tempdir().expect("temp dir");
    let stderr = std::fs::File::create(dir.path().join("child.stderr")).expect("stderr file");
    let mut child = KillOnDrop(
        Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", CRASH_CHILD, "--nocapture", "--ignored"])
            .env(CRASH_DIR_ENV, dir.path().join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start the child"),
    );
    let stdout = child.0.stdout.take().expect("child stdout");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        // A line cut by the kill has no newline: that append was not seen acknowledged.
        while stdout.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            if line.ends_with('\n') && lines_tx.send(line.trim_end().to_owned()).is_err() {
                break;
            }
            line.clear();
        }
    });

    // Read for a while (at least a second of load and ENOUGH_ACKS appends), then kill.
    let mut acks = Vec::new();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(120);
    while (acks.len() < ENOUGH_ACKS || started.elapsed() < LOAD_TIME) && Instant::now() < deadline {
        if let Ok(line) = lines_rx.recv_timeout(Duration::from_millis(100)) {
            acks.extend(parse_ack(&line));
        }
    }
    // SIGKILL while the writers are still going.
    child.0.kill().expect("kill the child");
    let status = child.0.wait().expect("wait for the child");
    reader.join().expect("stdout reader");
    acks.extend(lines_rx.try_iter().filter_map(|l| parse_ack(&l)));
    let child_stderr = std::fs::read_to_string(dir.path().join("child.stderr")).unwrap_or_default();
    assert!(
        !status.success(),
        "the child was killed, not finished: {child_stderr}"
    );
    assert!(
        acks.len() >= ENOUGH_ACKS,
        "the child acknowledged only {} appends: {child_stderr}",
        acks.len()
    );

    let store = SqliteStore::open_in(dir.path().join("data")).expect("reopen after kill -9");
    let log = read_everything(&store).await;
    assert_log_intact(&log);
    assert_eq!(store.head_position().await.expect("head"), log.len() as u64);

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
    // Every batch, acknowledged or not, is whole: payloads say "w<w> b<b> <i>/<n>".
    let mut batches: BTreeMap<(String, String), Vec<(usize, usize)>> = BTreeMap::new();
    for e in &log {
        let text = String::from_utf8_lossy(&e.payload);
        let mut words = text.split(' ');
        let (Some(w), Some(b), Some(part)) = (words.next(), words.next(), words.next()) else {
            panic!("unexpected payload {text}");
        };
        let (i, n) = part.split_once('/').expect("i/n");
        batches
            .entry((w.to_owned(), b.to_owned()))
            .or_default()
            .push((i.parse().expect("i"), n.parse().expect("n")));
    }
    for ((w, b), parts) in &batches {
        let n = parts[0].1;
        let expected: Vec<(usize, usize)> = (0..n).map(|i| (i, n)).collect();
        assert_eq!(parts, &expected, "batch {w} {b} is half-written");
    }
    // The reopened store goes on where the log stopped.
    let r = store
        .append(
            "plan:after-crash",
            ExpectedVersion::NoStream,
            vec![event("x")],
        )
        .await
        .expect("append");
    assert_eq!(r.first_position, log.len() as u64 + 1);
}

/// The child of [`kill_9_under_load_loses_no_acknowledged_event`]: appends batches of
/// 1 to 3 events with several writers until it is killed, printing
/// `ack <first position> <id>,<id>,...` as soon as each append returns.
#[test]
#[ignore = "run by kill_9_under_load_loses_no_acknowledged_event as its child"]
fn crash_child_appends_under_load() {
    let Some(dir) = std::env::var_os(CRASH_DIR_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let store = Arc::new(SqliteStore::open_in(&dir).expect("open store"));
        let mut writers = Vec::new();
        for w in 0..CRASH_WRITERS {
            let store = Arc::clone(&store);
            writers.push(tokio::spawn(async move {
                let mut versions = [0_u64; 4];
                // A safety net in case the parent died without killing us.
                let give_up = Instant::now() + Duration::from_secs(300);
                let mut b = 0_usize;
                while Instant::now() < give_up {
                    b += 1;
                    let own = b % versions.len();
                    let n = 1 + b % 3;
                    let batch: Vec<NewEvent> = (0..n)
                        .map(|i| event(format!("w{w} b{b} {i}/{n} {}", "x".repeat(200))))
                        .collect();
                    let expected = match versions[own] {
                        0 => ExpectedVersion::NoStream,
                        v => ExpectedVersion::Exact(v),
                    };
                    let ids: Vec<String> = batch.iter().map(|e| e.event_id.to_string()).collect();
                    let r = store
                        .append(&format!("crash:w{w}-s{own}"), expected, batch)
                        .await
                        .expect("append");
                    versions[own] = r.stream_version;
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ack {} {}", r.first_position, ids.join(",")).expect("stdout");
                    out.flush().expect("stdout");
                }
            }));
        }
        for w in writers {
            w.await.expect("writer");
        }
    });
}
