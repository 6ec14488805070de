//! The distributed event store: the whole log in ONE replicated NATS JetStream stream,
//! behind the same [`EventStore`] contract (and conformance suite) as the embedded
//! SQLite backend.
//!
//! ```no_run
//! # async fn demo() -> Result<(), metroplan_eventstore_nats::ConnectError> {
//! // Three comma-separated URLs of a cluster, three replicas.
//! let store = metroplan_eventstore_nats::JetStreamStore::connect(
//!     "nats://n1:4222,nats://n2:4222,nats://n3:4222",
//!     3,
//! )
//! .await?;
//! # drop(store); Ok(()) }
//! ```
//!
//! # Layout, for an auditor with the `nats` CLI
//!
//! - **Stream** `METROPLAN_EVENTS` ([`STREAM_NAME`]), subjects `metroplan.events.>`.
//! - **One subject per aggregate stream**: `<kind>:<rest>` is stored under
//!   `metroplan.events.<kind>.<rest>`, each part escaped into one subject token
//!   ([`subject`] documents the escaping: `.` → `%2E`, `*` → `%2A`, `>` → `%3E`,
//!   `%` → `%25`, whitespace → `%20`…; `/` and letters stay readable).
//! - **Global position = stream sequence**; the stream version is the message's rank
//!   in its subject and is also written in a header.
//! - **The envelope is in headers** ([`envelope`] lists them: `Nats-Msg-Id` = event
//!   id, `Metroplan-Stream`, `Metroplan-Stream-Version`, `Metroplan-Event-Type`,
//!   `Metroplan-Schema-Version`, `Metroplan-Recorded-At`, `Metroplan-Actor`,
//!   `Metroplan-On-Behalf-Of`, `Metroplan-Reason`, `Metroplan-Correlation-Id`,
//!   `Metroplan-Causation-Id`, `Metroplan-Hash`, `Metroplan-Batch`); the **payload**
//!   is the event's protobuf message as given (its type is the event type, decoded
//!   with the files in `proto/`).
//!
//! For example `nats stream get METROPLAN_EVENTS 42` shows event 42 with its
//! envelope, and `nats stream view METROPLAN_EVENTS --subject 'metroplan.events.action.>'`
//! walks the history of every action.
//!
//! # The stream is a system of record ([`stream_config`])
//!
//! File storage; 1 replica on a single node, 3 in a cluster; no limits (no max age,
//! messages or bytes), so nothing is ever discarded; `deny_delete` and `deny_purge`, so
//! no message can be removed through the API; `allow_direct` (any replica answers
//! reads); `allow_atomic` (atomic batch publish, server 2.12+); a duplicate window of
//! one hour ([`DUPLICATE_WINDOW`]) for `Nats-Msg-Id` de-duplication. Durability of each
//! write comes from the servers' `sync_interval: always` (see `metroplan-nats-testkit`).
//! [`JetStreamStore::connect`] creates the stream, or checks that an existing one has
//! these properties (and its replica count) and refuses to work on one that does not.
//!
//! # Appends
//!
//! - **Position, hash and time are decided by the writer.** The hash chain is the
//!   SQLite backend's ([`metroplan_eventstore::sqlite::event_hash`]), which covers the
//!   global position; so the writer predicts the positions and publishes with
//!   `Nats-Expected-Last-Sequence` (the log's last sequence) and
//!   `Nats-Expected-Last-Subject-Sequence` (the stream's last message, 0 for a new
//!   stream) on the first message: the server stores the events at exactly the
//!   predicted positions after exactly the expected previous event, or refuses them.
//!   `recorded_at` is taken just before publishing and carried in a header.
//! - **Several events are one atomic batch** (`Nats-Batch-Id`, `Nats-Batch-Sequence`,
//!   `Nats-Batch-Commit`): all stored or none. A single event is a plain publish.
//!   JetStream takes at most 1000 messages in a batch, so an append holds at most
//!   [`MAX_EVENTS_PER_APPEND`] events.
//! - **Optimistic concurrency.** The stream's last message (what the store remembers
//!   of its own last append there, or a direct get of its subject) gives its sequence,
//!   version and hash; `expected` is checked against it, and the server checks it again
//!   atomically through the expectation headers. An expectation that fails is checked
//!   once more against the stream leader's last message before the store answers
//!   [`StoreError::WrongExpectedVersion`] with the actual version, so a replica that is
//!   behind never causes a refusal.
//! - **Pipelining.** One task per store (its `sender` module) numbers and sends the
//!   appends of every caller, one after the other, without waiting for
//!   acknowledgements (the predicted position moves on at each send); appends to one
//!   stream wait for each other in the process. When a prediction fails (another
//!   process wrote, or an append was refused), the next send reads where the log ends
//!   again and the refused appends are retried. Several processes writing at once stay
//!   correct but retry more.
//! - **Idempotency.** Every event carries `Nats-Msg-Id` = its id. Within the duplicate
//!   window the server refuses a batch holding a stored id; the store then finds the
//!   stored events (from the time in their UUIDv7 ids) and returns the original
//!   positions when the whole batch is stored in this stream as it was given, or
//!   [`StoreError::IdempotencyMismatch`]. An append whose expected version fails is
//!   first looked up in its stream the same way, so a late retry gets its original
//!   result. Ids older than the window are looked up in their stream before
//!   publishing. Limit: an id older than the window that was stored in ANOTHER stream
//!   is not detected (it would be stored a second time).
//! - **Failures.** An append whose acknowledgement is lost (timeout, leader change,
//!   lost connection) is looked up by its ids, then published again if it is not
//!   stored (de-duplication keeps a late original from landing twice), until it
//!   succeeds or [`APPEND_TIMEOUT`] passes.
//!
//! # Reads
//!
//! Reads use batched direct gets, answered by any replica. A replica can be a few
//! writes behind; every answer says how far its replica had got, and a read that ends
//! before the highest position this store has seen (acknowledged or read) is retried,
//! so a process reads its own writes. `head_position` and `list_streams` ask the stream
//! leader (stream info). Reads and subscriptions never deliver part of a multi-event
//! append that has not been completely stored: a read that reaches the end of the log
//! in the middle of an append leaves that append out (`Metroplan-Batch` tells where an
//! append ends), unless the caller's `limit` cut it. `subscribe_all` is an ordered pull
//! consumer started at the next position (catch-up then live, recreated after a
//! failure from where it stopped).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use async_trait::async_trait;
use futures::stream::BoxStream;
use metroplan_events::{NewEvent, RecordedEvent};
use metroplan_eventstore::{AppendResult, EventStore, ExpectedVersion, Result, StoreError};

mod append;
pub mod direct;
pub mod envelope;
mod read;
mod sender;
pub mod subject;
mod subscription;

use append::{KeyedLocks, Tip};
use direct::Direct;

/// The JetStream stream that holds every event.
pub const STREAM_NAME: &str = "METROPLAN_EVENTS";

/// How long the server remembers event ids to refuse duplicates: a retry within this
/// window is recognised by the server itself; an older one is looked up by the store.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(60 * 60);

/// The most events one append may hold (JetStream's atomic batch limit).
pub const MAX_EVENTS_PER_APPEND: usize = 1000;

/// How long one append keeps retrying (leader elections, lost acknowledgements) before
/// it gives up with [`StoreError::Backend`].
pub const APPEND_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one JetStream request or publish acknowledgement may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(4);

/// How long `connect` waits for JetStream to accept the stream (a cluster that is
/// still electing its leaders).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no nats url given")]
    NoUrl,
    #[error("cannot connect to nats at {urls}: {source}")]
    Connect {
        urls: String,
        source: async_nats::ConnectError,
    },
    #[error("stream {STREAM_NAME} cannot be created or read: {0}")]
    Stream(String),
    #[error(
        "stream {STREAM_NAME} exists with {property} = {actual}, but the event store needs {expected}"
    )]
    Config {
        property: &'static str,
        expected: String,
        actual: String,
    },
}

/// The stream configuration the store creates and expects: a system of record (see the
/// crate documentation).
pub fn stream_config(replicas: usize) -> stream::Config {
    stream::Config {
        name: STREAM_NAME.to_owned(),
        description: Some(
            "metroplan event log: one subject per aggregate stream, envelope in Metroplan-* headers, protobuf payloads".to_owned(),
        ),
        subjects: vec![subject::ALL_EVENTS.to_owned()],
        retention: stream::RetentionPolicy::Limits,
        discard: stream::DiscardPolicy::Old,
        max_messages: -1,
        max_bytes: -1,
        max_age: Duration::ZERO,
        max_messages_per_subject: -1,
        max_consumers: -1,
        max_message_size: -1,
        storage: stream::StorageType::File,
        num_replicas: replicas,
        duplicate_window: DUPLICATE_WINDOW,
        deny_delete: true,
        deny_purge: true,
        allow_rollup: false,
        allow_direct: true,
        allow_atomic_publish: true,
        ..Default::default()
    }
}

/// What the write path has met since the store was opened: to watch contention and
/// failovers, and for tests to see which paths ran.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StoreStats {
    /// Appends stored by this store.
    pub appends: u64,
    /// Publishes the server refused because the log or the stream had moved on (its
    /// expected-sequence checks), each followed by a new look at the stream.
    pub refused_by_server: u64,
    /// Publishes refused because an event id was already stored (or being stored).
    pub duplicates: u64,
    /// Publishes left unanswered (timeout, lost connection) or not taken (no stream
    /// leader during an election), each retried.
    pub unanswered: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    appends: AtomicU64,
    refused_by_server: AtomicU64,
    duplicates: AtomicU64,
    unanswered: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> StoreStats {
        StoreStats {
            appends: self.appends.load(Ordering::Relaxed),
            refused_by_server: self.refused_by_server.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            unanswered: self.unanswered.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn appended(&self) {
        self.appends.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn refused_by_server(&self) {
        self.refused_by_server.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn duplicate(&self) {
        self.duplicates.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn unanswered(&self) {
        self.unanswered.fetch_add(1, Ordering::Relaxed);
    }
}

/// The JetStream event store. Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct JetStreamStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for JetStreamStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamStore")
            .field("seen", &self.inner.seen())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    client: async_nats::Client,
    stream: stream::Stream<()>,
    direct: Direct,
    /// The highest position this store knows to be stored (acknowledged or read).
    seen: Arc<AtomicU64>,
    sender: sender::Sender,
    stream_locks: KeyedLocks,
    tips: Mutex<HashMap<String, Tip>>,
    batch_slots: tokio::sync::Semaphore,
    pub(crate) counters: Counters,
}

impl JetStreamStore {
    /// Connects to NATS at `urls` (several comma-separated URLs for a cluster) and opens
    /// the event stream with `replicas` replicas (1 for a single server, 3 for a
    /// cluster), creating it if it does not exist.
    ///
    /// # Errors
    /// [`ConnectError`] when NATS cannot be reached, JetStream refuses the stream within
    /// [`CONNECT_TIMEOUT`], or an existing stream is not configured as the store needs.
    pub async fn connect(urls: &str, replicas: usize) -> Result<Self, ConnectError> {
        let addrs: Vec<String> = urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        if addrs.is_empty() {
            return Err(ConnectError::NoUrl);
        }
        let client = async_nats::ConnectOptions::new()
            .name("metroplan-eventstore")
            .request_timeout(Some(REQUEST_TIMEOUT))
            .connect(addrs.as_slice())
            .await
            .map_err(|source| ConnectError::Connect {
                urls: urls.to_owned(),
                source,
            })?;
        Self::with_client(client, replicas).await
    }

    /// Opens the event stream over an existing connection; see [`JetStreamStore::connect`].
    ///
    /// # Errors
    /// As [`JetStreamStore::connect`], except connecting.
    pub async fn with_client(
        client: async_nats::Client,
        replicas: usize,
    ) -> Result<Self, ConnectError> {
        let js = jetstream::ContextBuilder::new()
            .timeout(REQUEST_TIMEOUT)
            .build(client.clone());
        let info = ensure_stream(&js, replicas).await?;
        let stream = js
            .get_stream_no_info(STREAM_NAME)
            .await
            .map_err(|e| ConnectError::Stream(e.to_string()))?;
        let head = info.state.last_sequence;
        tracing::info!(stream = STREAM_NAME, replicas, head, "event store opened");
        let direct = Direct::new(client.clone(), STREAM_NAME, REQUEST_TIMEOUT);
        let seen = Arc::new(AtomicU64::new(head));
        let sender = sender::Sender::start(
            client.clone(),
            js.clone(),
            direct.clone(),
            Arc::clone(&seen),
            head,
        );
        Ok(Self {
            inner: Arc::new(Inner {
                direct,
                client,
                stream,
                seen,
                sender,
                stream_locks: KeyedLocks::default(),
                tips: Mutex::new(HashMap::new()),
                batch_slots: tokio::sync::Semaphore::new(append::MAX_BATCHES_IN_FLIGHT),
                counters: Counters::default(),
            }),
        })
    }

    /// What the write path has met so far.
    pub fn stats(&self) -> StoreStats {
        self.inner.counters.snapshot()
    }

    /// The connection the store uses.
    pub fn client(&self) -> &async_nats::Client {
        &self.inner.client
    }
}

/// Creates the stream, or checks the existing one, retrying while JetStream is not
/// ready (no meta leader yet, peers still joining).
async fn ensure_stream(
    js: &jetstream::Context,
    replicas: usize,
) -> Result<stream::Info, ConnectError> {
    let wanted = stream_config(replicas);
    let deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
    let mut pause = Duration::from_millis(50);
    let info = loop {
        let attempt = match js.get_stream(STREAM_NAME).await {
            Ok(existing) => Ok(existing.cached_info().clone()),
            Err(e) if is_stream_not_found(&e) => match js.create_stream(wanted.clone()).await {
                Ok(created) => {
                    tracing::info!(stream = STREAM_NAME, replicas, "event stream created");
                    Ok(created.cached_info().clone())
                }
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        match attempt {
            Ok(info) => break info,
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(error = %e, "event stream not ready yet");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            Err(e) => return Err(ConnectError::Stream(e)),
        }
    };
    check_config(&info.config, &wanted)?;
    Ok(info)
}

fn is_stream_not_found(e: &jetstream::context::GetStreamError) -> bool {
    matches!(
        e.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(api)
            if api.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

/// Refuses a stream that would not keep the log as a system of record.
fn check_config(actual: &stream::Config, wanted: &stream::Config) -> Result<(), ConnectError> {
    fn differ(
        property: &'static str,
        expected: impl std::fmt::Debug,
        actual: impl std::fmt::Debug,
    ) -> ConnectError {
        ConnectError::Config {
            property,
            expected: format!("{expected:?}"),
            actual: format!("{actual:?}"),
        }
    }
    if actual.subjects != wanted.subjects {
        return Err(differ("subjects", &wanted.subjects, &actual.subjects));
    }
    if actual.storage != wanted.storage {
        return Err(differ("storage", wanted.storage, actual.storage));
    }
    if actual.num_replicas != wanted.num_replicas {
        return Err(differ("replicas", wanted.num_replicas, actual.num_replicas));
    }
    if actual.retention != wanted.retention {
        return Err(differ("retention", wanted.retention, actual.retention));
    }
    let unlimited = |n: i64| n <= 0;
    if !unlimited(actual.max_messages)
        || !unlimited(actual.max_bytes)
        || !actual.max_age.is_zero()
        || !unlimited(actual.max_messages_per_subject)
    {
        return Err(differ(
            "limits",
            "none",
            format!(
                "max_msgs {}, max_bytes {}, max_age {:?}, max_msgs_per_subject {}",
                actual.max_messages,
                actual.max_bytes,
                actual.max_age,
                actual.max_messages_per_subject
            ),
        ));
    }
    for (property, wanted, actual) in [
        ("deny_delete", wanted.deny_delete, actual.deny_delete),
        ("deny_purge", wanted.deny_purge, actual.deny_purge),
        ("allow_direct", wanted.allow_direct, actual.allow_direct),
        (
            "allow_atomic",
            wanted.allow_atomic_publish,
            actual.allow_atomic_publish,
        ),
        (
            "allow_rollup_hdrs",
            wanted.allow_rollup,
            actual.allow_rollup,
        ),
    ] {
        if wanted != actual {
            return Err(differ(property, wanted, actual));
        }
    }
    if actual.duplicate_window < Duration::from_secs(60) {
        return Err(differ(
            "duplicate_window",
            wanted.duplicate_window,
            actual.duplicate_window,
        ));
    }
    Ok(())
}

impl Inner {
    pub(crate) fn seen(&self) -> u64 {
        self.seen.load(Ordering::Acquire)
    }

    /// Records that position `position` is known to be stored.
    pub(crate) fn observe(&self, position: u64) {
        self.seen.fetch_max(position, Ordering::AcqRel);
    }

    pub(crate) fn cached_tip(&self, stream: &str) -> Option<Tip> {
        self.tips
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(stream)
            .cloned()
    }

    pub(crate) fn cache_tip(&self, stream: &str, tip: Option<Tip>) {
        let mut tips = self.tips.lock().unwrap_or_else(PoisonError::into_inner);
        match tip {
            Some(tip) => {
                if tips.len() >= append::MAX_CACHED_TIPS && !tips.contains_key(stream) {
                    tips.clear();
                }
                tips.insert(stream.to_owned(), tip);
            }
            None => {
                tips.remove(stream);
            }
        }
    }
}

#[async_trait]
impl EventStore for JetStreamStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        self.inner.append(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        self.inner.read_stream(stream, from_version, limit).await
    }

    async fn read_all(&self, after_position: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        self.inner.read_all(after_position, limit).await
    }

    async fn head_position(&self) -> Result<u64> {
        self.inner.head_position().await
    }

    async fn stream_version(&self, stream: &str) -> Result<Option<u64>> {
        let subject = subject::stream_subject(stream);
        Ok(self.inner.fetch_tip(&subject).await?.map(|tip| tip.version))
    }

    async fn list_streams(&self, prefix: &str) -> Result<Vec<String>> {
        self.inner.list_streams(prefix).await
    }

    fn subscribe_all(&self, after_position: u64) -> BoxStream<'static, Result<RecordedEvent>> {
        subscription::subscribe(Arc::clone(&self.inner), after_position)
    }
}

/// A backend failure with its context, logged where it is made.
pub(crate) fn backend(
    context: impl std::fmt::Display,
    error: impl std::fmt::Display,
) -> StoreError {
    StoreError::Backend(format!("{context}: {error}"))
}
