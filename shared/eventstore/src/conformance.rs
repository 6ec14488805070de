//! The conformance suite: what every [`EventStore`] backend must do, written once against
//! `Arc<dyn EventStore>` and run unchanged on the SQLite backend, the JetStream backend
//! and any later one.
//!
//! Each case is a `pub async fn` that takes a fresh, empty store and panics on the first
//! broken promise. A backend's integration test runs them all with one line (it needs
//! `tokio` with the `macros` and `rt-multi-thread` features among its dev-dependencies):
//!
//! ```text
//! mod conformance {
//!     metroplan_eventstore::conformance_tests!(|| async {
//!         let dir = tempfile::tempdir().unwrap();
//!         let store = metroplan_eventstore::sqlite::SqliteStore::open_in(dir.path()).unwrap();
//!         metroplan_eventstore::conformance::Fixture::with_guard(std::sync::Arc::new(store), dir)
//!     });
//! }
//! ```
//!
//! The factory returns a [`Fixture`] (or an `Arc<dyn EventStore>`): the store and whatever
//! must outlive it, such as a temporary directory or a server process. Cases assume the
//! store is empty, so positions start at 1. Concurrency cases use real tasks; the macro
//! runs every case on a multi-threaded runtime. Nothing here is timed: long waits are
//! bounded only to turn a hang into a failure.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use metroplan_events::{EventMetadata, NewEvent, RecordedEvent};
use uuid::Uuid;

use crate::sqlite::{GENESIS_HASH, event_hash};
use crate::{AppendResult, EventStore, ExpectedVersion, StoreError};

/// How long a case waits for something that should happen before it calls it a hang.
const PATIENCE: Duration = Duration::from_secs(60);

/// A store under test and what must live as long as it.
pub struct Fixture {
    store: Arc<dyn EventStore>,
    _guard: Box<dyn Send>,
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture").finish_non_exhaustive()
    }
}

impl Fixture {
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Self::with_guard(store, ())
    }

    /// Keeps `guard` (a temporary directory, a server process) alive until the store is dropped.
    pub fn with_guard(store: Arc<dyn EventStore>, guard: impl Send + 'static) -> Self {
        Self {
            store,
            _guard: Box::new(guard),
        }
    }

    pub fn store(&self) -> Arc<dyn EventStore> {
        Arc::clone(&self.store)
    }
}

impl From<Arc<dyn EventStore>> for Fixture {
    fn from(store: Arc<dyn EventStore>) -> Self {
        Self::new(store)
    }
}

/// Defines one `#[tokio::test]` per conformance case, each on a fresh store made by
/// `$make`, a closure returning a future of a [`Fixture`] or an `Arc<dyn EventStore>`.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr $(,)?) => {
        $crate::conformance_tests!(@cases ($make)
            append_and_read_round_trip,
            expected_version_any,
            expected_version_no_stream,
            expected_version_exact,
            empty_append_is_refused,
            failed_batch_stores_nothing,
            idempotent_retry_returns_original_result,
            idempotency_mismatch_is_refused,
            read_stream_from_version,
            read_all_in_global_order,
            head_position_follows_appends,
            list_streams_by_prefix,
            hash_chain_links_each_stream,
            racing_writers_on_one_stream,
            subscriber_sees_every_event_once_while_writers_append,
            subscription_from_a_middle_position,
        );
    };
    (@cases ($make:expr) $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let fixture: $crate::conformance::Fixture = ($make)().await.into();
                $crate::conformance::$case(fixture.store()).await;
            }
        )+
    };
}

/// Runs every case in turn, each on a fresh store from `make`. The macro
/// [`conformance_tests!`](crate::conformance_tests) is better: one test per case.
pub async fn run_all<F, Fut, X>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = X>,
    X: Into<Fixture>,
{
    // Keep in step with the list in `conformance_tests!`.
    macro_rules! run {
        ($($case:ident),+) => {$(
            tracing::info!(case = stringify!($case), "conformance case");
            let fixture: Fixture = make().await.into();
            $case(fixture.store()).await;
            drop(fixture);
        )+};
    }
    run!(
        append_and_read_round_trip,
        expected_version_any,
        expected_version_no_stream,
        expected_version_exact,
        empty_append_is_refused,
        failed_batch_stores_nothing,
        idempotent_retry_returns_original_result,
        idempotency_mismatch_is_refused,
        read_stream_from_version,
        read_all_in_global_order,
        head_position_follows_appends,
        list_streams_by_prefix,
        hash_chain_links_each_stream,
        racing_writers_on_one_stream,
        subscriber_sees_every_event_once_while_writers_append,
        subscription_from_a_middle_position
    );
}

// ---------------------------------------------------------------------------------------
// Helpers.

fn metadata() -> EventMetadata {
    EventMetadata {
        actor: "tavolo.montagna@cittametropolitana.torino.it".into(),
        on_behalf_of: "Tavolo permanente della montagna".into(),
        reason: Some("aggiornamento 2022 — città più vicina".into()),
        correlation_id: Some(Uuid::now_v7()),
        causation_id: Some(Uuid::now_v7()),
    }
}

fn event(event_type: &str, payload: impl Into<Vec<u8>>) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: event_type.into(),
        schema_version: 1,
        payload: payload.into(),
        metadata: metadata(),
    }
}

fn events(n: usize, tag: &str) -> Vec<NewEvent> {
    (0..n)
        .map(|i| event("ActionProgressReported", format!("{tag}#{i}")))
        .collect()
}

fn ids(events: &[NewEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

async fn append_ok(
    store: &dyn EventStore,
    stream: &str,
    expected: ExpectedVersion,
    batch: Vec<NewEvent>,
) -> AppendResult {
    match store.append(stream, expected, batch).await {
        Ok(r) => r,
        Err(e) => panic!("append to {stream} with {expected:?} failed: {e}"),
    }
}

/// Every stored event, paging through `read_all`.
async fn read_everything(store: &dyn EventStore) -> Vec<RecordedEvent> {
    let mut out: Vec<RecordedEvent> = Vec::new();
    loop {
        let after = out.last().map_or(0, |e| e.position);
        let page = store.read_all(after, 100).await.expect("read_all");
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

async fn assert_empty_store(store: &dyn EventStore) {
    assert_eq!(
        store.head_position().await.expect("head_position"),
        0,
        "a conformance case needs an empty store"
    );
}

/// The next `n` events of a subscription, failing on an error, an end or a hang.
async fn take(
    sub: &mut BoxStream<'static, crate::Result<RecordedEvent>>,
    n: usize,
) -> Vec<RecordedEvent> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        match tokio::time::timeout(PATIENCE, sub.next()).await {
            Ok(Some(Ok(e))) => out.push(e),
            Ok(Some(Err(e))) => panic!("subscription failed after {} events: {e}", out.len()),
            Ok(None) => panic!("subscription ended after {} of {n} events", out.len()),
            Err(_) => panic!("subscription stalled after {} of {n} events", out.len()),
        }
    }
    out
}

/// Asserts that nothing more arrives for a little while.
async fn assert_quiet(sub: &mut BoxStream<'static, crate::Result<RecordedEvent>>) {
    if let Ok(Some(extra)) = tokio::time::timeout(Duration::from_millis(200), sub.next()).await {
        panic!("subscription delivered more than was appended: {extra:?}");
    }
}

fn assert_contiguous_from(events: &[RecordedEvent], first: u64) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e.position,
            first + i as u64,
            "positions must be contiguous and ordered"
        );
    }
}

fn wrong_version(result: crate::Result<AppendResult>) -> Option<u64> {
    match result {
        Err(StoreError::WrongExpectedVersion { actual, .. }) => actual,
        other => panic!("expected a wrong expected version error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Cases.

/// Appended events come back with every envelope field as given, numbered by the store.
pub async fn append_and_read_round_trip(store: Arc<dyn EventStore>) {
    assert_empty_store(&*store).await;
    let mut batch = events(3, "round-trip");
    batch[1].schema_version = 3;
    batch[1].payload = Vec::new();
    batch[2].metadata = EventMetadata {
        actor: "a".into(),
        on_behalf_of: String::new(),
        ..EventMetadata::default()
    };
    batch[2].payload = (0..=255).collect();
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    let result = append_ok(
        &*store,
        "action:psm/1.1.1",
        ExpectedVersion::NoStream,
        batch.clone(),
    )
    .await;
    let after = chrono::Utc::now() + chrono::Duration::seconds(5);
    assert_eq!(
        result,
        AppendResult {
            first_position: 1,
            last_position: 3,
            stream_version: 3
        }
    );

    let read = store
        .read_stream("action:psm/1.1.1", 1, 100)
        .await
        .expect("read_stream");
    assert_eq!(read.len(), 3);
    for (i, (new, got)) in batch.iter().zip(&read).enumerate() {
        let i = i as u64;
        assert_eq!(got.event_id, new.event_id);
        assert_eq!(got.stream_id, "action:psm/1.1.1");
        assert_eq!(got.stream_version, i + 1);
        assert_eq!(got.position, i + 1);
        assert_eq!(got.event_type, new.event_type);
        assert_eq!(got.schema_version, new.schema_version);
        assert_eq!(got.payload, new.payload);
        assert_eq!(got.metadata, new.metadata);
        assert!(
            got.recorded_at >= before && got.recorded_at <= after,
            "recorded_at is the append time"
        );
        assert_eq!(got.hash.len(), 32, "hash is a sha-256");
    }
    let all = store.read_all(0, 100).await.expect("read_all");
    assert_eq!(all, read, "read_all and read_stream agree on every field");
}

pub async fn expected_version_any(store: Arc<dyn EventStore>) {
    assert_empty_store(&*store).await;
    let r = append_ok(&*store, "plan:psm", ExpectedVersion::Any, events(2, "a")).await;
    assert_eq!(r.stream_version, 2);
    let r = append_ok(&*store, "plan:psm", ExpectedVersion::Any, events(1, "b")).await;
    assert_eq!(
        r,
        AppendResult {
            first_position: 3,
            last_position: 3,
            stream_version: 3
        }
    );
}

pub async fn expected_version_no_stream(store: Arc<dyn EventStore>) {
    assert_empty_store(&*store).await;
    let r = append_ok(
        &*store,
        "table:montagna",
        ExpectedVersion::NoStream,
        events(2, "a"),
    )
    .await;
    assert_eq!(r.stream_version, 2);
    let actual = wrong_version(
        store
            .append("table:montagna", ExpectedVersion::NoStream, events(1, "b"))
            .await,
    );
    assert_eq!(actual, Some(2), "the conflict carries the actual version");
    assert_eq!(
        store
            .stream_version("table:montagna")
            .await
            .expect("stream_version"),
        Some(2)
    );
}

pub async fn expected_version_exact(store: Arc<dyn EventStore>) {
    assert_empty_store(&*store).await;
    let stream = "agreement:intesa-1";
    let actual = wrong_version(
        store
            .append(stream, ExpectedVersion::Exact(1), events(1, "a"))
            .await,
    );
    assert_eq!(actual, None, "a missing stream has no version");
    // A missing stream is at version 0.
    append_ok(&*store, stream, ExpectedVersion::Exact(0), events(1, "a")).await;
    let r = append_ok(&*store, stream, ExpectedVersion::Exact(1), events(2, "b")).await;
    assert_eq!(r.stream_version, 3);
    for stale in [0, 1, 2, 4] {
        let actual = wrong_version(
            store
                .append(stream, ExpectedVersion::Exact(stale), events(1, "c"))
                .await,
        );
        assert_eq!(actual, Some(3), "expected {stale}");
    }
    let r = append_ok(&*store, stream, ExpectedVersion::Exact(3), events(1, "d")).await;
    assert_eq!(
        r,
        AppendResult {
            first_position: 4,
            last_position: 4,
            stream_version: 4
        }
    );
}

pub async fn empty_append_is_refused(store: Arc<dyn EventStore>) {
    assert_empty_store(&*store).await;
    for expected in [ExpectedVersion::Any, ExpectedVersion::NoStream] {
        let r = store.append("plan:psm", expected, Vec::new()).await;
        assert!(matches!(r, Err(StoreError::EmptyAppend)), "got {r:?}");
    }
    assert_eq!(
        store
            .stream_version("plan:psm")
            .await
            .expect("stream_version"),
        None
    );
    assert_eq!(store.head_position().await.expect("head_position"), 0);
}

/// A batch that fails for any reason stores none of its events.
pub async fn failed_batch_stores_nothing(store: Arc<dyn EventStore>) {
    assert_empty_store(&*store).await;
    append_ok(
        &*store,
        "plan:psm",
        ExpectedVersion::NoStream,
        events(2, "base"),
    )
    .await;
    let other = events(1, "other");
    append_ok(
        &*store,
        "plan:other",
        ExpectedVersion::NoStream,
        other.clone(),
    )
    .await;

    let stale = events(3, "stale");
    let actual = wrong_version(
        store
            .append("plan:psm", ExpectedVersion::Exact(1), stale.clone())
            .await,
    );
    assert_eq!(actual, Some(2));

    // The third event reuses an id stored in another stream.
    let mut tainted = events(3, "tainted");
    tainted[2].event_id = other[0].event_id;
    let r = store
        .append("plan:psm", ExpectedVersion::Exact(2), tainted.clone())
        .await;
    assert!(
        matches!(r, Err(StoreError::IdempotencyMismatch { .. })),
        "got {r:?}"
    );

    assert_eq!(store.head_position().await.expect("head_position"), 3);
    assert_eq!(
        store
            .stream_version("plan:psm")
            .await
            .expect("stream_version"),
        Some(2)
    );
    let stored: HashSet<Uuid> = read_everything(&*store)
        .await
        .iter()
        .map(|e| e.event_id)
        .collect();
    for id in ids(&stale).iter().chain(&ids(&tainted[..2])) {
        assert!(
            !stored.contains(id),
            "event {id} of a failed batch was stored"
        );
    }
    // The store still takes the next good batch at the next position.
    let r = append_ok(
        &*store,
        "plan:psm",
        ExpectedVersion::Exact(2),
        events(2, "good"),
    )
    .await;
    assert_eq!(
        r,
        AppendResult {
            first_position: 4,
            last_position: 5,
            stream_version: 4
        }
    );
}

/// Retrying an acknowledged append returns where it landed and stores nothing, even
/// when the stream has moved on since (the idempotency check comes first).
pub async fn idempotent_retry_returns_original_result(store: Arc<dyn EventStore>) {
    assert_empty_store(&*store).await;
    let batch = events(3, "once");
    let original = append_ok(
        &*store,
        "progress:psm/1.1.1",
        ExpectedVersion::NoStream,
        batch.clone(),
    )
    .await;
    append_ok(
        &*store,
        "progress:psm/1.1.1",
        ExpectedVersion::Exact(3),
        events(2, "later"),
    )
    .await;
    append_ok(
        &*store,
        "progress:psm/2.1.1",
        ExpectedVersion::Any,
        events(1, "elsewhere"),
    )
    .await;

    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Any,
        ExpectedVersion::Exact(0),
        ExpectedVersion::Exact(5),
    ] {
        let again = append_ok(&*store, "progress:psm/1.1.1", expected, batch.clone()).await;
        assert_eq!(
            again, original,
            "a retry with {expected:?} returns the original result"
        );
    }
    let single = events(1, "single");
    let first = append_ok(
        &*store,
        "progress:psm/2.1.1",
        ExpectedVersion::Exact(1),
        single.clone(),
    )
    .await;
    let again = append_ok(
        &*store,
        "progress:psm/2.1.1",
        ExpectedVersion::Exact(1),
        single,
    )
    .await;
    assert_eq!(again, first);

    assert_eq!(store.head_position().await.expect("head_position"), 7);
    assert_eq!(
        store
            .stream_version("progress:psm/1.1.1")
            .await
            .expect("stream_version"),
        Some(5)
    );
    let all = read_everything(&*store).await;
    assert_eq!(all.len(), 7);
    let unique: HashSet<Uuid> = all.iter().map(|e| e.event_id).collect();
    assert_eq!(unique.len(), 7, "no event is stored twice");
}

/// A batch that overlaps stored events only in part, or reuses ids of another stream,
/// is not a retry.
pub async fn idempotency_mismatch_is_refused(store: Arc<dyn EventStore>) {
    assert_empty_store(&*store).await;
    let batch = events(2, "stored");
    append_ok(
        &*store,
        "table:montagna",
        ExpectedVersion::NoStream,
        batch.clone(),
    )
    .await;

    let mut partial = events(2, "partial");
    partial[0].event_id = batch[0].event_id;
    let r = store
        .append("table:montagna", ExpectedVersion::Any, partial)
        .await;
    assert!(
        matches!(r, Err(StoreError::IdempotencyMismatch { event_id }) if event_id == batch[0].event_id),
        "some but not all ids stored: got {r:?}"
    );
    let r = store
        .append("table:sociali", ExpectedVersion::Any, batch.clone())
        .await;
    assert!(
        matches!(r, Err(StoreError::IdempotencyMismatch { .. })),
        "ids stored in another stream: got {r:?}"
    );
    let r = store
        .append(
            "table:sociali",
            ExpectedVersion::NoStream,
            batch[1..].to_vec(),
        )
        .await;
    assert!(
        matches!(r, Err(StoreError::IdempotencyMismatch { .. })),
        "one id of another stream: got {r:?}"
    );

    assert_eq!(store.head_position().await.expect("head_position"), 2);
    assert_eq!(
        store
            .stream_version("table:sociali")
            .await
            .expect("stream_version"),
        None
    );
    assert_eq!(
        store
            .stream_version("table:montagna")
            .await
            .expect("stream_version"),
        Some(2)
    );
}

pub async fn read_stream_from_version(store: Arc<dyn EventStore>) {
    assert_empty_store(&*store).await;
    let stream = "indicator:psm/ctx-1";
    for i in 0..5 {
        append_ok(
            &*store,
            stream,
            ExpectedVersion::Any,
            events(2, &format!("m{i}")),
        )
        .await;
        append_ok(
            &*store,
            "plan:noise",
            ExpectedVersion::Any,
            events(1, "noise"),
        )
        .await;
    }
    let page = store.read_stream(stream, 4, 3).await.expect("read_stream");
    let versions: Vec<u64> = page.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, [4, 5, 6]);
    assert!(page.iter().all(|e| e.stream_id == stream));
    let rest = store
        .read_stream(stream, 7, 100)
        .await
        .expect("read_stream");
    assert_eq!(
        rest.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
        [7, 8, 9, 10]
    );
    let whole = store
        .read_stream(stream, 0, 100)
        .await
        .expect("read_stream");
    assert_eq!(whole.len(), 10, "version 0 reads from the start");
    assert!(whole.windows(2).all(|w| w[0].position < w[1].position));
    assert!(
        store
            .read_stream(stream, 11, 100)
            .await
            .expect("read_stream")
            .is_empty()
    );
    assert!(
        store
            .read_stream(stream, 1, 0)
            .await
            .expect("read_stream")
            .is_empty()
    );
    assert!(
        store
            .read_stream("plan:missing", 1, 10)
            .await
            .expect("read_stream")
            .is_empty()
    );
}

pub async fn read_all_in_global_order(store: Arc<dyn EventStore>) {
    assert_empty_store(&*store).await;
    let mut appended = Vec::new();
    for (stream, n) in [
        ("plan:a", 2),
        ("plan:b", 1),
        ("plan:a", 1),
        ("plan:c", 3),
        ("plan:b", 2),
    ] {
        let batch = events(n, stream);
        appended.extend(batch.iter().map(|e| (stream, e.event_id)));
        append_ok(&*store, stream, ExpectedVersion::Any, batch).await;
    }
    let all = store.read_all(0, 100).await.expect("read_all");
    assert_contiguous_from(&all, 1);
    let got: Vec<(&str, Uuid)> = all
        .iter()
        .map(|e| (e.stream_id.as_str(), e.event_id))
        .collect();
    assert_eq!(got, appended, "global order is append order");

    let page = store.read_all(3, 2).await.expect("read_all");
    assert_eq!(page.iter().map(|e| e.position).collect::<Vec<_>>(), [4, 5]);
    assert_eq!(page, all[3..5]);
    assert!(store.read_all(9, 10).await.expect("read_all").is_empty());
    assert!(store.read_all(0, 0).await.expect("read_all").is_empty());
    assert_eq!(
        read_everything(&*store).await,
        all,
        "paging reads the same log"
    );
}

pub async fn head_position_follows_appends(store: Arc<dyn EventStore>) {
    assert_empty_store(&*store).await;
    let r = append_ok(&*store, "plan:a", ExpectedVersion::Any, events(3, "a")).await;
    assert_eq!(
        store.head_position().await.expect("head_position"),
        r.last_position
    );
    let r = append_ok(&*store, "plan:b", ExpectedVersion::Any, events(1, "b")).await;
    assert_eq!(r.last_position, 4);
    assert_eq!(store.head_position().await.expect("head_position"), 4);
    let _ = store
        .append("plan:b", ExpectedVersion::NoStream, events(2, "c"))
        .await;
    assert_eq!(
        store.head_position().await.expect("head_position"),
        4,
        "a refused append moves nothing"
    );
    assert_eq!(
        store
            .stream_version("plan:a")
            .await
            .expect("stream_version"),
        Some(3)
    );
    assert_eq!(
        store
            .stream_version("plan:c")
            .await
            .expect("stream_version"),
        None
    );
}

pub async fn list_streams_by_prefix(store: Arc<dyn EventStore>) {
    assert_empty_store(&*store).await;
    let streams = [
        "plan:b",
        "action:p/2",
        "plan:a",
        "plan:b/x",
        "action:p/1",
        "action:q/1",
        "pl_n:x",
        "plan%:y",
    ];
    for s in streams {
        append_ok(&*store, s, ExpectedVersion::NoStream, events(1, s)).await;
    }
    let list = |prefix: &'static str| {
        let store = Arc::clone(&store);
        async move { store.list_streams(prefix).await.expect("list_streams") }
    };
    assert_eq!(list("plan:").await, ["plan:a", "plan:b", "plan:b/x"]);
    assert_eq!(list("action:p/").await, ["action:p/1", "action:p/2"]);
    assert_eq!(
        list("plan").await,
        ["plan%:y", "plan:a", "plan:b", "plan:b/x"],
        "sorted bytewise"
    );
    assert_eq!(list("pl_n").await, ["pl_n:x"], "no wildcard in a prefix");
    assert_eq!(list("plan%").await, ["plan%:y"], "no wildcard in a prefix");
    assert_eq!(list("plan:b/x").await, ["plan:b/x"]);
    assert!(list("zzz").await.is_empty());
    let mut all = streams.map(str::to_owned).to_vec();
    all.sort();
    assert_eq!(list("").await, all);
}

/// Every event's hash links it to the previous event of its stream (see
/// [`event_hash`]), so an auditor can prove that no one rewrote history.
pub async fn hash_chain_links_each_stream(store: Arc<dyn EventStore>) {
    assert_empty_store(&*store).await;
    for i in 0..4 {
        append_ok(
            &*store,
            "plan:a",
            ExpectedVersion::Any,
            events(1 + i % 2, "a"),
        )
        .await;
        append_ok(&*store, "plan:b", ExpectedVersion::Any, events(2, "b")).await;
    }
    let mut hashes = HashSet::new();
    for stream in ["plan:a", "plan:b"] {
        let mut prev = GENESIS_HASH.to_vec();
        for e in store
            .read_stream(stream, 1, 100)
            .await
            .expect("read_stream")
        {
            assert_eq!(
                e.hash,
                event_hash(&prev, &e),
                "hash of {stream} version {}",
                e.stream_version
            );
            assert!(hashes.insert(e.hash.clone()), "hashes are unique");
            prev = e.hash;
        }
    }
    assert_eq!(hashes.len(), 14);
}

/// 16 writers race for each version of one stream with `Exact`: exactly one wins each
/// version, the losers learn the actual version, and the stream has no gap.
pub async fn racing_writers_on_one_stream(store: Arc<dyn EventStore>) {
    const WRITERS: usize = 16;
    const ROUNDS: u64 = 12;
    assert_empty_store(&*store).await;
    let stream = "action:psm/race";
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut wins = Vec::new();
            for v in 0..ROUNDS {
                loop {
                    let expected = if v == 0 {
                        ExpectedVersion::NoStream
                    } else {
                        ExpectedVersion::Exact(v)
                    };
                    let batch = vec![event("ActionUpdated", format!("{writer}@{v}"))];
                    match store.append(stream, expected, batch).await {
                        Ok(r) => {
                            assert_eq!(r.stream_version, v + 1);
                            wins.push(v + 1);
                            break;
                        }
                        Err(StoreError::WrongExpectedVersion { actual, .. }) => {
                            let actual = actual.unwrap_or(0);
                            assert_ne!(
                                actual, v,
                                "refused although the stream was at the expected version"
                            );
                            if actual > v {
                                break; // someone else took v + 1
                            }
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                        Err(e) => panic!("writer {writer} failed: {e}"),
                    }
                }
            }
            (writer, wins)
        }));
    }
    let mut winner_of = HashMap::new();
    for task in tasks {
        let (writer, wins) = tokio::time::timeout(PATIENCE, task)
            .await
            .expect("racing writers hang")
            .expect("writer task");
        for version in wins {
            assert!(
                winner_of.insert(version, writer).is_none(),
                "version {version} was won twice"
            );
        }
    }
    assert_eq!(
        winner_of.len() as u64,
        ROUNDS,
        "every version won exactly once"
    );
    assert_eq!(
        store.stream_version(stream).await.expect("stream_version"),
        Some(ROUNDS)
    );
    let stored = store
        .read_stream(stream, 1, 1000)
        .await
        .expect("read_stream");
    assert_eq!(stored.len() as u64, ROUNDS);
    for (i, e) in stored.iter().enumerate() {
        let version = i as u64 + 1;
        assert_eq!(e.stream_version, version);
        let expected_payload = format!("{}@{}", winner_of[&version], version - 1);
        assert_eq!(
            e.payload,
            expected_payload.as_bytes(),
            "version {version} holds the winner's event"
        );
    }
    assert_contiguous_from(&stored, 1);
}

/// A subscriber from 0 sees every event exactly once, in order, while 8 writers append;
/// so does one that joins while they are at it.
pub async fn subscriber_sees_every_event_once_while_writers_append(store: Arc<dyn EventStore>) {
    const WRITERS: usize = 8;
    const BATCHES: usize = 24;
    assert_empty_store(&*store).await;
    // Batches of 1, 2 and 3 events in turn.
    let total = WRITERS * (1..=BATCHES).map(|b| 1 + b % 3).sum::<usize>();

    let collect = |sub: BoxStream<'static, crate::Result<RecordedEvent>>| {
        tokio::spawn(async move {
            let mut sub = sub;
            let seen = take(&mut sub, total).await;
            assert_quiet(&mut sub).await;
            seen
        })
    };
    let early = collect(store.subscribe_all(0));

    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let mut started_tx = Some(started_tx);
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let store = Arc::clone(&store);
        let started = if writer == 0 { started_tx.take() } else { None };
        writers.push(tokio::spawn(async move {
            let mut started = started;
            let mut acknowledged = Vec::new();
            let mut versions = [0_u64; 2];
            for b in 1..=BATCHES {
                let own = b % 2;
                let stream = format!("progress:psm/w{writer}-{own}");
                let batch = events(1 + b % 3, &format!("w{writer}b{b}"));
                let expected = match versions[own] {
                    0 => ExpectedVersion::NoStream,
                    v => ExpectedVersion::Exact(v),
                };
                let r = append_ok(&*store, &stream, expected, batch.clone()).await;
                versions[own] = r.stream_version;
                acknowledged.extend(ids(&batch));
                if b == BATCHES / 3
                    && let Some(tx) = started.take()
                {
                    let _ = tx.send(());
                }
            }
            acknowledged
        }));
    }
    // A second subscriber joins mid-load.
    tokio::time::timeout(PATIENCE, started_rx)
        .await
        .expect("writers hang")
        .expect("writer 0 started");
    let late = collect(store.subscribe_all(0));

    let mut acknowledged = HashSet::new();
    for w in writers {
        let ids = tokio::time::timeout(PATIENCE, w)
            .await
            .expect("writers hang")
            .expect("writer task");
        acknowledged.extend(ids);
    }
    assert_eq!(acknowledged.len(), total);
    assert_eq!(
        store.head_position().await.expect("head_position"),
        total as u64
    );

    for (name, subscriber) in [("early", early), ("late", late)] {
        let seen = subscriber.await.expect("subscriber task");
        assert_contiguous_from(&seen, 1);
        let unique: HashSet<Uuid> = seen.iter().map(|e| e.event_id).collect();
        assert_eq!(unique.len(), total, "{name} subscriber saw an event twice");
        assert_eq!(
            unique, acknowledged,
            "{name} subscriber saw exactly the acknowledged events"
        );
    }
}

/// A subscription from a middle position catches up from the log, then goes live.
pub async fn subscription_from_a_middle_position(store: Arc<dyn EventStore>) {
    assert_empty_store(&*store).await;
    for i in 0..5 {
        append_ok(
            &*store,
            &format!("plan:s{}", i % 2),
            ExpectedVersion::Any,
            events(2, "old"),
        )
        .await;
    }
    let mut sub = store.subscribe_all(5);
    let caught_up = take(&mut sub, 5).await;
    assert_contiguous_from(&caught_up, 6);
    assert_eq!(caught_up, store.read_all(5, 100).await.expect("read_all"));

    let mut at_head = store.subscribe_all(10);
    let live = events(3, "live");
    append_ok(
        &*store,
        "plan:s9",
        ExpectedVersion::NoStream,
        live[..1].to_vec(),
    )
    .await;
    append_ok(
        &*store,
        "plan:s9",
        ExpectedVersion::Exact(1),
        live[1..].to_vec(),
    )
    .await;
    for sub in [&mut sub, &mut at_head] {
        let got = take(sub, 3).await;
        assert_contiguous_from(&got, 11);
        assert_eq!(
            got.iter().map(|e| e.event_id).collect::<Vec<_>>(),
            ids(&live)
        );
        assert_quiet(sub).await;
    }
    let mut past_head = store.subscribe_all(13);
    assert_quiet(&mut past_head).await;
}
