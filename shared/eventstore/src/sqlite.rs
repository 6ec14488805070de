//! The embedded event store: the whole log in one SQLite file, durable before an append
//! is acknowledged, with group commit so that concurrent writers share one fsync.
//!
//! # Choices
//!
//! - **One writer thread, one transaction per batch.** A dedicated std thread owns the
//!   only write connection. Appends reach it over a channel; it takes the first waiting
//!   request and opens ONE `BEGIN IMMEDIATE` transaction in which it runs that request,
//!   every other one already queued and every one that arrives while it works, until the
//!   queue is empty (or [`MAX_GROUP`] requests); it commits once, publishes the new head
//!   on a [`watch`] channel, then answers every request. Nothing is acknowledged before
//!   its commit returned. A request is refused (wrong expected version, idempotency
//!   mismatch) after reads only, so it writes nothing; its rows are written inside a
//!   SAVEPOINT, so that a database error rolls back that request alone and the others
//!   of the group still commit.
//! - **Durability.** WAL journal and `synchronous=FULL`: a commit fsyncs the WAL, so an
//!   acknowledged append survives a power cut, and a process killed mid-batch leaves
//!   only whole committed transactions behind (SQLite discards an uncommitted WAL tail).
//! - **Readers** use a small pool of their own connections (`query_only`, the file
//!   memory-mapped so that pages are not copied into SQLite's cache), always through
//!   `spawn_blocking`, never across an await; WAL lets them read while the writer writes.
//!   A read of many events (a rebuild reads pages of thousands) is cut into slices of
//!   consecutive positions (or versions) read in parallel, one connection and one core
//!   each; since keys are contiguous, a slice that comes back short has reached the
//!   end, and the slices after it are dropped, as they may have seen a later commit.
//!   Rows are decoded by column index with no per-row allocation besides the event's own
//!   fields.
//! - **Positions** are the `INTEGER PRIMARY KEY`, assigned by the writer as
//!   `MAX(position) + 1` inside the write transaction: global, from 1, contiguous. Since
//!   transactions commit one after the other, the committed events are always exactly
//!   positions `1..=head`, which is what lets a subscriber read "everything up to the
//!   announced head" with no gap and no duplicate.
//! - **The `streams` table** keeps each stream's current version and last hash, so the
//!   expected-version check and the hash link are one primary-key look-up, and
//!   `list_streams` scans only stream ids.
//! - **Idempotency** is checked before the expected version: when every event id of a
//!   batch is already stored in this stream, as one contiguous run in batch order with
//!   the same type, schema and payload, the original [`AppendResult`] is returned and
//!   nothing is written; any other overlap is [`StoreError::IdempotencyMismatch`].
//! - `ExpectedVersion::Exact(0)` means the same as `NoStream` (a missing stream is at
//!   version 0).
//! - **Other processes.** Two stores on one file stay correct (the write lock serialises
//!   them and positions are read inside the transaction). A subscriber wakes up at once
//!   for commits of its own process (the [`watch`]); when that has not moved for 250 ms,
//!   it reads `MAX(position)` from the file (one look-up at the end of the primary key)
//!   to catch commits of another process. `head_position`
//!   and [`SqliteStore::watch_head`] count the commits of this process only.
//! - **`recorded_at`** is stored as INTEGER nanoseconds since the Unix epoch (UTC), which
//!   reads without parsing; the hash covers its canonical text (below), which the
//!   integer gives back exactly.
//!
//! # Hash chain
//!
//! Each event's `hash` is `SHA-256(prev || encoding)`, where `prev` is the `hash` of the
//! previous event of the same stream (32 zero bytes, [`GENESIS_HASH`], for version 1)
//! and `encoding` is these fields in this order, each written as its length in bytes
//! (u64, big-endian) followed by its bytes:
//!
//! | # | field | bytes |
//! | --- | --- | --- |
//! | 1 | event id | the 16 bytes of the UUID |
//! | 2 | stream id | UTF-8 |
//! | 3 | stream version | u64 big-endian (8 bytes) |
//! | 4 | position | u64 big-endian (8 bytes) |
//! | 5 | event type | UTF-8 |
//! | 6 | schema version | u32 big-endian (4 bytes) |
//! | 7 | recorded at | UTF-8 RFC 3339, UTC, `Z`, 9 fraction digits ([`canonical_time`]), whatever the stored form |
//! | 8 | actor | UTF-8 |
//! | 9 | on behalf of | UTF-8 |
//! | 10 | reason | UTF-8, or absent |
//! | 11 | correlation id | 16 bytes, or absent |
//! | 12 | causation id | 16 bytes, or absent |
//! | 13 | payload | the stored payload bytes |
//!
//! An absent optional field is written as the length `u64::MAX` with no bytes, so that
//! `None` and `Some("")` differ. [`event_hash`] computes it; a verifier recomputes it
//! stream by stream and compares.

use std::collections::{HashSet, VecDeque};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::stream::BoxStream;
use metroplan_events::{EventMetadata, NewEvent, RecordedEvent};
use rusqlite::types::{Type, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row, Rows, TransactionBehavior, params};
use sha2::{Digest, Sha256};
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use crate::{AppendResult, EventStore, ExpectedVersion, Result, StoreError};

/// The file [`SqliteStore::open_in`] keeps the log in.
pub const FILE_NAME: &str = "events.db";

/// The `prev` of the first event of every stream.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// At most this many append requests share one transaction.
pub const MAX_GROUP: usize = 1024;

/// Events a subscriber reads from the file at a time.
const SUBSCRIPTION_PAGE: usize = 512;

/// Idle reader connections kept open; also the most slices of one read run at once.
const MAX_IDLE_READERS: usize = 4;

/// A read is cut into parallel slices of at least this many events.
const MIN_SLICE: usize = 1024;

/// The most events a read allocates room for before it sees them.
const MAX_CAPACITY: usize = 8192;

/// How long a subscriber waits for a commit of its own process before it looks for
/// commits of another process in the file.
const FOREIGN_COMMIT_POLL: Duration = Duration::from_millis(250);

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Bumped when the tables change; stored in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 2;

/// The tables. Also used by the raw baseline of [`crate::bench`], so both insert the
/// same rows.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    position        INTEGER PRIMARY KEY,
    event_id        BLOB    NOT NULL UNIQUE,
    stream_id       TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL,
    event_type      TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    recorded_at     INTEGER NOT NULL,
    actor           TEXT    NOT NULL,
    on_behalf_of    TEXT    NOT NULL,
    reason          TEXT,
    correlation_id  BLOB,
    causation_id    BLOB,
    payload         BLOB    NOT NULL,
    hash            BLOB    NOT NULL,
    UNIQUE (stream_id, stream_version)
);
CREATE TABLE IF NOT EXISTS streams (
    stream_id  TEXT    PRIMARY KEY,
    version    INTEGER NOT NULL,
    last_hash  BLOB    NOT NULL
) WITHOUT ROWID;
";

pub(crate) const INSERT_EVENT: &str = "INSERT INTO events (position, event_id, stream_id, stream_version, event_type, schema_version, recorded_at, actor, on_behalf_of, reason, correlation_id, causation_id, payload, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

/// The columns [`row_to_event`] reads, in its order, and a condition.
macro_rules! select_events {
    ($condition:literal) => {
        concat!(
            "SELECT position, event_id, stream_id, stream_version, event_type, schema_version, recorded_at, actor, on_behalf_of, reason, correlation_id, causation_id, payload, hash FROM events ",
            $condition
        )
    };
}

const READ_POSITIONS: &str = select_events!("WHERE position BETWEEN ?1 AND ?2 ORDER BY position");

const READ_STREAM: &str = select_events!(
    "WHERE stream_id = ?1 AND stream_version BETWEEN ?2 AND ?3 ORDER BY stream_version"
);

/// Counters of the writer thread, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed (each one fsync).
    pub transactions: u64,
    /// Append requests that wrote events.
    pub appends: u64,
    /// Events written.
    pub events: u64,
}

#[derive(Debug, Default)]
struct Counters {
    transactions: AtomicU64,
    appends: AtomicU64,
    events: AtomicU64,
}

/// The embedded [`EventStore`]: one SQLite file. Cheap to clone; the writer thread stops
/// when the last clone is dropped.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.readers.path)
            .finish_non_exhaustive()
    }
}

struct Inner {
    requests: Option<mpsc::Sender<AppendRequest>>,
    writer: Option<JoinHandle<()>>,
    readers: Arc<Readers>,
    head: watch::Receiver<u64>,
    counters: Arc<Counters>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel ends the writer loop once the batch in hand is committed.
        self.requests.take();
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!("event store writer thread panicked");
        }
    }
}

struct AppendRequest {
    stream: String,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Result<AppendResult>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in the file at `path` and starts its writer.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the file cannot be opened or set up.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let conn = open_writer(&path)?;
        let head = committed_head(&conn).map_err(sql("reading head position"))?;
        let (head_tx, head_rx) = watch::channel(head);
        let (requests, incoming) = mpsc::channel();
        let counters = Arc::new(Counters::default());
        let writer = std::thread::Builder::new()
            .name("eventstore-writer".into())
            .spawn({
                let counters = Arc::clone(&counters);
                move || run_writer(conn, &incoming, &head_tx, &counters)
            })
            .map_err(|e| StoreError::Backend(format!("starting the writer thread: {e}")))?;
        tracing::info!(path = %path.display(), head, "event store opened");
        Ok(Self {
            inner: Arc::new(Inner {
                requests: Some(requests),
                writer: Some(writer),
                readers: Arc::new(Readers::new(path)),
                head: head_rx,
                counters,
            }),
        })
    }

    /// Opens the store in `data_dir/events.db`, creating the directory if needed.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the directory or the file cannot be created or opened.
    pub fn open_in(data_dir: impl AsRef<Path>) -> Result<Self> {
        let dir = data_dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Backend(format!("creating data directory {}: {e}", dir.display()))
        })?;
        Self::open(dir.join(FILE_NAME))
    }

    /// The file the log is kept in.
    pub fn path(&self) -> &Path {
        &self.inner.readers.path
    }

    /// What the writer has done since this store was opened.
    pub fn stats(&self) -> WriterStats {
        let c = &self.inner.counters;
        WriterStats {
            transactions: c.transactions.load(Ordering::Relaxed),
            appends: c.appends.load(Ordering::Relaxed),
            events: c.events.load(Ordering::Relaxed),
        }
    }

    /// A receiver of the committed head position, updated after every commit.
    pub fn watch_head(&self) -> watch::Receiver<u64> {
        self.inner.head.clone()
    }
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        if events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        let requests = self.inner.requests.as_ref().ok_or(StoreError::Closed)?;
        let (reply, answer) = oneshot::channel();
        requests
            .send(AppendRequest {
                stream: stream.to_owned(),
                expected,
                events,
                reply,
            })
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Versions start at 1: version 0 is not a stored event to count in the limit.
        let first = from_version.max(1);
        let stream: Arc<str> = stream.into();
        self.inner
            .readers
            .read_run(first, limit, move |conn, keys| {
                read_versions(conn, &stream, keys)
            })
            .await
    }

    async fn read_all(&self, after_position: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.inner
            .readers
            .read_run(after_position.saturating_add(1), limit, read_positions)
            .await
    }

    async fn head_position(&self) -> Result<u64> {
        Ok(*self.inner.head.borrow())
    }

    async fn stream_version(&self, stream: &str) -> Result<Option<u64>> {
        let stream = stream.to_owned();
        self.inner
            .readers
            .read(move |conn| {
                conn.prepare_cached("SELECT version FROM streams WHERE stream_id = ?1")?
                    .query_row([stream], |row| row.get::<_, i64>(0))
                    .optional()
                    .map(|v| v.map(from_sql_int))
            })
            .await
    }

    async fn list_streams(&self, prefix: &str) -> Result<Vec<String>> {
        let prefix = prefix.to_owned();
        self.inner
            .readers
            .read(move |conn| {
                // Text compares bytewise (BINARY collation), so the ids with a prefix form
                // one contiguous range starting at the prefix itself: no LIKE escaping.
                let mut stmt = conn.prepare_cached(
                    "SELECT stream_id FROM streams WHERE stream_id >= ?1 ORDER BY stream_id",
                )?;
                let mut rows = stmt.query([&prefix])?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let id: String = row.get(0)?;
                    if !id.starts_with(&prefix) {
                        break;
                    }
                    out.push(id);
                }
                Ok(out)
            })
            .await
    }

    fn subscribe_all(&self, after_position: u64) -> BoxStream<'static, Result<RecordedEvent>> {
        let state = Subscription {
            readers: Arc::clone(&self.inner.readers),
            head: self.inner.head.clone(),
            foreign_head: 0,
            last: after_position,
            buffer: VecDeque::new(),
            closed: false,
            failed: false,
        };
        Box::pin(futures::stream::unfold(state, Subscription::next))
    }
}

/// A subscriber's cursor: the last position it delivered and the events read ahead.
struct Subscription {
    readers: Arc<Readers>,
    head: watch::Receiver<u64>,
    /// The head last read from the file, which counts commits of other processes too.
    foreign_head: u64,
    last: u64,
    buffer: VecDeque<RecordedEvent>,
    /// The writer is gone: deliver what is committed, then end.
    closed: bool,
    failed: bool,
}

impl Subscription {
    async fn next(mut self) -> Option<(Result<RecordedEvent>, Self)> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(event) = self.buffer.pop_front() {
                self.last = event.position;
                return Some((Ok(event), self));
            }
            let committed = (*self.head.borrow_and_update()).max(self.foreign_head);
            if committed > self.last {
                let after = self.last;
                let keys = after + 1..=committed.min(after + SUBSCRIPTION_PAGE as u64);
                let page = self
                    .readers
                    .read(move |conn| read_positions(conn, keys))
                    .await;
                match page {
                    Ok(page) if page.first().is_some_and(|e| e.position == after + 1) => {
                        self.buffer.extend(page);
                        continue;
                    }
                    Ok(_) => {
                        self.failed = true;
                        let e = StoreError::Backend(format!(
                            "event {} is committed but not readable",
                            after + 1
                        ));
                        return Some((Err(e), self));
                    }
                    Err(e) => {
                        self.failed = true;
                        return Some((Err(e), self));
                    }
                }
            }
            if self.closed {
                return None;
            }
            let quiet = tokio::select! {
                changed = self.head.changed() => {
                    self.closed = changed.is_err();
                    false
                }
                () = tokio::time::sleep(FOREIGN_COMMIT_POLL) => true,
            };
            if quiet {
                match self.readers.read(committed_head).await {
                    Ok(head) => self.foreign_head = head,
                    Err(e) => {
                        self.failed = true;
                        return Some((Err(e), self));
                    }
                }
            }
        }
    }
}

/// Reader connections, used only inside `spawn_blocking`.
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// How many slices of one long read run at once.
    slices: usize,
}

impl Readers {
    fn new(path: PathBuf) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            path,
            idle: Mutex::new(Vec::new()),
            slices: cores.clamp(1, MAX_IDLE_READERS),
        }
    }

    /// The events whose keys (positions, or versions in one stream) are `first`,
    /// `first + 1`, ..., at most `limit`: one run of keys, since both are contiguous from
    /// 1 to the last committed one. A long run is cut into slices that `read` fetches in
    /// parallel, on connections of their own; a slice that comes back short has reached
    /// the last committed key, so the slices after it are dropped (they may have seen a
    /// later commit, which would leave a gap).
    async fn read_run<F>(
        self: &Arc<Self>,
        first: u64,
        limit: usize,
        read: F,
    ) -> Result<Vec<RecordedEvent>>
    where
        F: Fn(&Connection, RangeInclusive<u64>) -> rusqlite::Result<Vec<RecordedEvent>>
            + Clone
            + Send
            + 'static,
    {
        let slices = (limit / MIN_SLICE).clamp(1, self.slices);
        let per_slice = limit.div_ceil(slices);
        let (mut start, mut left) = (first, limit);
        let mut runs = Vec::with_capacity(slices);
        while left > 0 {
            let len = left.min(per_slice);
            let keys = start..=start.saturating_add(len as u64 - 1);
            (start, left) = (start.saturating_add(len as u64), left - len);
            let read = read.clone();
            runs.push(async move {
                Ok::<_, StoreError>((self.read(move |conn| read(conn, keys)).await?, len))
            });
        }
        Ok(join_slices(futures::future::try_join_all(runs).await?))
    }

    async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || readers.with_connection(f))
            .await
            .map_err(|e| StoreError::Backend(format!("reader task failed: {e}")))?
    }

    fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => open_reader(&self.path)?,
        };
        let out = f(&conn).map_err(sql("reading events"));
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        out
    }
}

fn open_writer(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(sql("opening the event store"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(sql("setting busy timeout"))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
        .map_err(sql("enabling wal"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "journal mode is {mode}, wal is required"
        )));
    }
    // Savepoint journals stay in memory.
    conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY;")
        .map_err(sql("setting synchronous=full"))?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(sql("reading schema version"))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "event store schema version {version} is newer than this program's {SCHEMA_VERSION}"
        )));
    }
    // Version 1 kept `recorded_at` as text; it never held deployed data, so it is not
    // migrated.
    if version != 0 && version < SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "event store schema version {version} is older than this program's {SCHEMA_VERSION} and is not migrated: move {} away to start a new log",
            path.display()
        )));
    }
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
    ))
    .map_err(sql("creating tables"))?;
    Ok(conn)
}

fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(sql("opening a reader connection"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(sql("setting busy timeout"))?;
    // Pages of the file are read in place through the map (up to 1 GiB of it); pages
    // still in the WAL are copied into the cache, which holds more than the WAL grows
    // between two automatic checkpoints (1000 pages of 4 KiB), so that a connection
    // copies each of them once.
    conn.execute_batch(
        "PRAGMA query_only=ON; PRAGMA mmap_size=1073741824; PRAGMA cache_size=-8192;",
    )
    .map_err(sql("setting up a reader connection"))?;
    Ok(conn)
}

fn committed_head(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |row| {
        row.get::<_, i64>(0)
    })
    .map(from_sql_int)
}

/// The slices of one run, each with the number of keys it asked for, joined up to and
/// including the first one that came back short.
fn join_slices(slices: Vec<(Vec<RecordedEvent>, usize)>) -> Vec<RecordedEvent> {
    let mut slices = slices.into_iter();
    let Some((mut events, asked)) = slices.next() else {
        return Vec::new();
    };
    if events.len() < asked {
        return events;
    }
    events.reserve(slices.as_slice().iter().map(|(s, _)| s.len()).sum());
    for (slice, asked) in slices {
        let short = slice.len() < asked;
        events.extend(slice);
        if short {
            break;
        }
    }
    events
}

/// The events at `positions`, in order.
fn read_positions(
    conn: &Connection,
    positions: RangeInclusive<u64>,
) -> rusqlite::Result<Vec<RecordedEvent>> {
    let mut stmt = conn.prepare_cached(READ_POSITIONS)?;
    let rows = stmt.query(params![
        to_sql_int(*positions.start()),
        to_sql_int(*positions.end())
    ])?;
    collect_events(rows, &positions)
}

/// The events of `stream` at `versions`, in order.
fn read_versions(
    conn: &Connection,
    stream: &str,
    versions: RangeInclusive<u64>,
) -> rusqlite::Result<Vec<RecordedEvent>> {
    let mut stmt = conn.prepare_cached(READ_STREAM)?;
    let rows = stmt.query(params![
        stream,
        to_sql_int(*versions.start()),
        to_sql_int(*versions.end())
    ])?;
    collect_events(rows, &versions)
}

fn collect_events(
    mut rows: Rows<'_>,
    keys: &RangeInclusive<u64>,
) -> rusqlite::Result<Vec<RecordedEvent>> {
    let len = keys.end().saturating_sub(*keys.start()).saturating_add(1);
    let mut events =
        Vec::with_capacity(usize::try_from(len).map_or(MIN_SLICE, |n| n.min(MAX_CAPACITY)));
    while let Some(row) = rows.next()? {
        let event = row_to_event(row, events.last())?;
        events.push(event);
    }
    Ok(events)
}

// ---------------------------------------------------------------------------------------
// The writer thread.

fn run_writer(
    mut conn: Connection,
    incoming: &mpsc::Receiver<AppendRequest>,
    head: &watch::Sender<u64>,
    counters: &Counters,
) {
    while let Ok(first) = incoming.recv() {
        let started = Instant::now();
        let mut group = vec![first];
        match commit_group(&mut conn, incoming, &mut group) {
            Ok(Committed {
                outcomes,
                head: new_head,
                appends,
                events,
            }) => {
                counters.transactions.fetch_add(1, Ordering::Relaxed);
                counters.appends.fetch_add(appends, Ordering::Relaxed);
                counters.events.fetch_add(events, Ordering::Relaxed);
                head.send_if_modified(|h| {
                    let moved = *h != new_head;
                    *h = new_head;
                    moved
                });
                tracing::trace!(
                    requests = group.len(),
                    appends,
                    events,
                    head = new_head,
                    elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                    "group committed"
                );
                for (request, outcome) in group.into_iter().zip(outcomes) {
                    // The caller may have gone away; the append stays committed.
                    let _ = request.reply.send(outcome);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, requests = group.len(), "event store commit failed, group rolled back");
                for request in group {
                    let _ = request
                        .reply
                        .send(Err(StoreError::Backend(format!("commit failed: {e}"))));
                }
            }
        }
    }
    tracing::debug!("event store writer stopped");
}

struct Committed {
    outcomes: Vec<Result<AppendResult>>,
    head: u64,
    appends: u64,
    events: u64,
}

/// Runs `group`, and every request that arrives while it runs (up to [`MAX_GROUP`]), in
/// one transaction and commits it. On `Err` nothing of the group is stored.
fn commit_group(
    conn: &mut Connection,
    incoming: &mpsc::Receiver<AppendRequest>,
    group: &mut Vec<AppendRequest>,
) -> rusqlite::Result<Committed> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut next_position = committed_head(&tx)? + 1;
    let recorded_at = Utc::now();
    let mut outcomes = Vec::with_capacity(group.len());
    let (mut appends, mut events) = (0, 0);
    let mut i = 0;
    loop {
        if i == group.len() {
            if group.len() >= MAX_GROUP {
                break;
            }
            // Whoever queued up meanwhile shares this commit.
            match incoming.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        let request = &group[i];
        i += 1;
        match append_one(&tx, request, next_position, recorded_at) {
            Ok(Appended::Written(result)) => {
                next_position = result.last_position + 1;
                appends += 1;
                events += request.events.len() as u64;
                outcomes.push(Ok(result));
            }
            Ok(Appended::AlreadyStored(result)) => outcomes.push(Ok(result)),
            Err(Refused::Store(e)) => outcomes.push(Err(e)),
            Err(Refused::Sql(e)) => {
                tracing::warn!(stream = %request.stream, error = %e, "append failed in the database");
                outcomes.push(Err(StoreError::Backend(format!(
                    "append to {} failed: {e}",
                    request.stream
                ))));
            }
        }
    }
    tx.commit()?;
    Ok(Committed {
        outcomes,
        head: next_position - 1,
        appends,
        events,
    })
}

enum Appended {
    Written(AppendResult),
    AlreadyStored(AppendResult),
}

enum Refused {
    Store(StoreError),
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for Refused {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(e)
    }
}

/// One append: idempotency, then the expected version (both only read), then the rows
/// inside a savepoint, so that a database error rolls back this request alone.
fn append_one(
    conn: &Connection,
    request: &AppendRequest,
    first_position: u64,
    recorded_at: DateTime<Utc>,
) -> std::result::Result<Appended, Refused> {
    let AppendRequest {
        stream,
        expected,
        events,
        ..
    } = request;
    if let Some(original) = already_stored(conn, stream, events)? {
        return Ok(Appended::AlreadyStored(original));
    }

    let current: Option<(u64, Vec<u8>)> = conn
        .prepare_cached("SELECT version, last_hash FROM streams WHERE stream_id = ?1")?
        .query_row([stream], |row| {
            Ok((
                from_sql_int(row.get::<_, i64>(0)?),
                row.get::<_, Vec<u8>>(1)?,
            ))
        })
        .optional()?;
    let actual = current.as_ref().map(|(v, _)| *v);
    let holds = match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream | ExpectedVersion::Exact(0) => actual.is_none(),
        ExpectedVersion::Exact(n) => actual == Some(*n),
    };
    if !holds {
        return Err(Refused::Store(StoreError::WrongExpectedVersion {
            stream: stream.clone(),
            expected: *expected,
            actual,
        }));
    }

    conn.prepare_cached("SAVEPOINT append")?.execute([])?;
    match write_events(conn, stream, events, current, first_position, recorded_at) {
        Ok(result) => {
            conn.prepare_cached("RELEASE append")?.execute([])?;
            Ok(Appended::Written(result))
        }
        Err(e) => {
            conn.prepare_cached("ROLLBACK TO append")?.execute([])?;
            conn.prepare_cached("RELEASE append")?.execute([])?;
            Err(Refused::Sql(e))
        }
    }
}

fn write_events(
    conn: &Connection,
    stream: &str,
    events: &[NewEvent],
    current: Option<(u64, Vec<u8>)>,
    first_position: u64,
    recorded_at: DateTime<Utc>,
) -> rusqlite::Result<AppendResult> {
    let (mut version, mut prev) = current.unwrap_or((0, GENESIS_HASH.to_vec()));
    let mut position = first_position;
    let mut insert = conn.prepare_cached(INSERT_EVENT)?;
    let stored_at = stored_time(&recorded_at)?;
    let recorded_at = canonical_time(&recorded_at);
    for new in events {
        version += 1;
        let m = &new.metadata;
        let hash = HashInput {
            event_id: &new.event_id,
            stream_id: stream,
            stream_version: version,
            position,
            event_type: &new.event_type,
            schema_version: new.schema_version,
            recorded_at: &recorded_at,
            metadata: m,
            payload: &new.payload,
        }
        .hash(&prev);
        insert.execute(params![
            to_sql_int(position),
            new.event_id.as_bytes(),
            stream,
            to_sql_int(version),
            new.event_type,
            new.schema_version,
            stored_at,
            m.actor,
            m.on_behalf_of,
            m.reason,
            m.correlation_id.as_ref().map(Uuid::as_bytes),
            m.causation_id.as_ref().map(Uuid::as_bytes),
            new.payload,
            hash,
        ])?;
        prev = hash;
        position += 1;
    }
    conn.prepare_cached(
        "INSERT INTO streams (stream_id, version, last_hash) VALUES (?1, ?2, ?3)
         ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, last_hash = excluded.last_hash",
    )?
    .execute(params![stream, to_sql_int(version), prev])?;
    Ok(AppendResult {
        first_position,
        last_position: position - 1,
        stream_version: version,
    })
}

/// `Some(original result)` when the whole batch is already stored in `stream` exactly as
/// given; `None` when none of its ids is stored.
fn already_stored(
    conn: &Connection,
    stream: &str,
    events: &[NewEvent],
) -> std::result::Result<Option<AppendResult>, Refused> {
    struct Stored {
        stream_id: String,
        version: u64,
        position: u64,
        event_type: String,
        schema_version: u32,
        payload: Vec<u8>,
    }
    let mismatch = |event_id| Err(Refused::Store(StoreError::IdempotencyMismatch { event_id }));
    let mut seen = HashSet::with_capacity(events.len());
    if let Some(twice) = events.iter().find(|e| !seen.insert(e.event_id)) {
        return mismatch(twice.event_id);
    }
    let mut lookup = conn.prepare_cached(
        "SELECT stream_id, stream_version, position, event_type, schema_version, payload FROM events WHERE event_id = ?1",
    )?;
    let mut found = Vec::new();
    for e in events {
        let stored = lookup
            .query_row([e.event_id.as_bytes()], |row| {
                Ok(Stored {
                    stream_id: row.get(0)?,
                    version: from_sql_int(row.get(1)?),
                    position: from_sql_int(row.get(2)?),
                    event_type: row.get(3)?,
                    schema_version: row.get(4)?,
                    payload: row.get(5)?,
                })
            })
            .optional()?;
        if let Some(stored) = stored {
            found.push((e, stored));
        }
    }
    let (Some((first_new, first)), Some((_, last))) = (found.first(), found.last()) else {
        return Ok(None);
    };
    if found.len() < events.len() {
        return mismatch(first_new.event_id);
    }
    // The same batch: one run of positions and versions in this stream, same content.
    for (i, (new, stored)) in (0_u64..).zip(&found) {
        let same = stored.stream_id == stream
            && stored.version == first.version + i
            && stored.position == first.position + i
            && stored.event_type == new.event_type
            && stored.schema_version == new.schema_version
            && stored.payload == new.payload;
        if !same {
            return mismatch(new.event_id);
        }
    }
    Ok(Some(AppendResult {
        first_position: first.position,
        last_position: last.position,
        stream_version: last.version,
    }))
}

/// The event in `row`; texts equal to those of `previous` are copied from it, which
/// spares checking that they are UTF-8 (runs of one stream repeat them).
fn row_to_event(
    row: &Row<'_>,
    previous: Option<&RecordedEvent>,
) -> rusqlite::Result<RecordedEvent> {
    Ok(RecordedEvent {
        position: from_sql_int(row.get_ref(0)?.as_i64()?),
        event_id: uuid_column(row, 1)?,
        stream_id: text_column(row, 2, previous.map(|e| &e.stream_id))?,
        stream_version: from_sql_int(row.get_ref(3)?.as_i64()?),
        event_type: text_column(row, 4, previous.map(|e| &e.event_type))?,
        schema_version: row.get(5)?,
        recorded_at: DateTime::from_timestamp_nanos(row.get_ref(6)?.as_i64()?),
        metadata: EventMetadata {
            actor: text_column(row, 7, previous.map(|e| &e.metadata.actor))?,
            on_behalf_of: text_column(row, 8, previous.map(|e| &e.metadata.on_behalf_of))?,
            reason: row.get_ref(9)?.as_str_or_null()?.map(str::to_owned),
            correlation_id: optional_uuid_column(row, 10)?,
            causation_id: optional_uuid_column(row, 11)?,
        },
        payload: row.get_ref(12)?.as_blob()?.to_vec(),
        hash: row.get_ref(13)?.as_blob()?.to_vec(),
    })
}

fn text_column(row: &Row<'_>, idx: usize, previous: Option<&String>) -> rusqlite::Result<String> {
    let value = row.get_ref(idx)?;
    if let (ValueRef::Text(bytes), Some(previous)) = (value, previous)
        && bytes == previous.as_bytes()
    {
        return Ok(previous.clone());
    }
    Ok(value.as_str()?.to_owned())
}

fn uuid_column(row: &Row<'_>, idx: usize) -> rusqlite::Result<Uuid> {
    Uuid::from_slice(row.get_ref(idx)?.as_blob()?)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Blob, Box::new(e)))
}

fn optional_uuid_column(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Uuid>> {
    row.get_ref(idx)?
        .as_blob_or_null()?
        .map(|b| {
            Uuid::from_slice(b).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(idx, Type::Blob, Box::new(e))
            })
        })
        .transpose()
}

/// SQLite integers are i64; versions and positions stay far below `i64::MAX`.
fn to_sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn from_sql_int(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn sql(context: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| StoreError::Backend(format!("{context}: {e}"))
}

// ---------------------------------------------------------------------------------------
// The hash chain.

/// `recorded_at` as it is stored: nanoseconds since the Unix epoch (UTC), which holds
/// every instant from 1677 to 2262 exactly.
///
/// # Errors
/// [`rusqlite::Error::ToSqlConversionFailure`] for an instant outside that range.
pub(crate) fn stored_time(t: &DateTime<Utc>) -> rusqlite::Result<i64> {
    t.timestamp_nanos_opt().ok_or_else(|| {
        rusqlite::Error::ToSqlConversionFailure(format!("{t} is out of range").into())
    })
}

/// `recorded_at` as it is hashed: RFC 3339, UTC with `Z`, nanoseconds.
pub fn canonical_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// The hash of `e` chained to `prev`, the hash of the previous event of its stream
/// ([`GENESIS_HASH`] for the first): the layout is in this module's documentation.
pub fn event_hash(prev: &[u8], e: &RecordedEvent) -> Vec<u8> {
    HashInput {
        event_id: &e.event_id,
        stream_id: &e.stream_id,
        stream_version: e.stream_version,
        position: e.position,
        event_type: &e.event_type,
        schema_version: e.schema_version,
        recorded_at: &canonical_time(&e.recorded_at),
        metadata: &e.metadata,
        payload: &e.payload,
    }
    .hash(prev)
}

/// The hashed fields, borrowed from wherever they are: a stored envelope, or a new
/// event being written.
struct HashInput<'a> {
    event_id: &'a Uuid,
    stream_id: &'a str,
    stream_version: u64,
    position: u64,
    event_type: &'a str,
    schema_version: u32,
    recorded_at: &'a str,
    metadata: &'a EventMetadata,
    payload: &'a [u8],
}

impl HashInput<'_> {
    fn hash(&self, prev: &[u8]) -> Vec<u8> {
        fn field(h: &mut Sha256, bytes: &[u8]) {
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        }
        fn optional(h: &mut Sha256, bytes: Option<&[u8]>) {
            match bytes {
                Some(b) => field(h, b),
                None => h.update(u64::MAX.to_be_bytes()),
            }
        }
        let mut h = Sha256::new();
        h.update(prev);
        field(&mut h, self.event_id.as_bytes());
        field(&mut h, self.stream_id.as_bytes());
        field(&mut h, &self.stream_version.to_be_bytes());
        field(&mut h, &self.position.to_be_bytes());
        field(&mut h, self.event_type.as_bytes());
        field(&mut h, &self.schema_version.to_be_bytes());
        field(&mut h, self.recorded_at.as_bytes());
        let m = self.metadata;
        field(&mut h, m.actor.as_bytes());
        field(&mut h, m.on_behalf_of.as_bytes());
        optional(&mut h, m.reason.as_deref().map(str::as_bytes));
        optional(
            &mut h,
            m.correlation_id.as_ref().map(|u| u.as_bytes().as_slice()),
        );
        optional(
            &mut h,
            m.causation_id.as_ref().map(|u| u.as_bytes().as_slice()),
        );
        field(&mut h, self.payload);
        h.finalize().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RecordedEvent {
        RecordedEvent {
            event_id: Uuid::from_u128(1),
            stream_id: "plan:psm".into(),
            stream_version: 1,
            position: 1,
            event_type: "PlanDrafted".into(),
            schema_version: 1,
            recorded_at: DateTime::parse_from_rfc3339("2022-03-01T10:00:00.123456789Z")
                .map(|t| t.with_timezone(&Utc))
                .unwrap(),
            metadata: EventMetadata {
                actor: "a".into(),
                on_behalf_of: "b".into(),
                ..EventMetadata::default()
            },
            payload: vec![1, 2, 3],
            hash: Vec::new(),
        }
    }

    #[test]
    fn hash_depends_on_every_field_and_the_link() {
        let base = sample();
        let h = event_hash(&GENESIS_HASH, &base);
        assert_eq!(h.len(), 32);
        assert_ne!(event_hash(&[1; 32], &base), h);
        let mut reason_empty = base.clone();
        reason_empty.metadata.reason = Some(String::new());
        assert_ne!(
            event_hash(&GENESIS_HASH, &reason_empty),
            h,
            "none and empty differ"
        );
        let mut moved = base.clone();
        moved.position = 2;
        assert_ne!(event_hash(&GENESIS_HASH, &moved), h);
        let mut later = base.clone();
        later.recorded_at += chrono::Duration::nanoseconds(1);
        assert_ne!(event_hash(&GENESIS_HASH, &later), h);
        // Shifting bytes between adjacent fields changes the hash (length prefixes).
        let mut a = base.clone();
        a.metadata.actor = "ab".into();
        a.metadata.on_behalf_of = String::new();
        let mut b = base;
        b.metadata.actor = "a".into();
        b.metadata.on_behalf_of = "b".into();
        assert_ne!(event_hash(&GENESIS_HASH, &a), event_hash(&GENESIS_HASH, &b));
    }

    /// The layout is a promise to every verifier: this value must never change.
    #[test]
    fn hash_of_a_known_event_is_pinned() {
        let hex: String = event_hash(&GENESIS_HASH, &sample())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "503c779b25887afd2066329b1b9a8978107fcf181a24b3f1a411ddf2c41e9205"
        );
    }

    #[test]
    fn stored_time_round_trips_to_the_same_hashed_text() {
        let t = sample().recorded_at;
        let back = DateTime::from_timestamp_nanos(stored_time(&t).unwrap());
        assert_eq!(back, t);
        assert_eq!(canonical_time(&back), "2022-03-01T10:00:00.123456789Z");
        let far = DateTime::parse_from_rfc3339("2300-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(
            stored_time(&far).is_err(),
            "out of range is refused, not wrapped"
        );
    }

    #[test]
    fn a_short_slice_ends_the_run() {
        let events = |positions: RangeInclusive<u64>| -> Vec<RecordedEvent> {
            positions
                .map(|position| RecordedEvent {
                    position,
                    ..sample()
                })
                .collect()
        };
        let positions = |events: Vec<RecordedEvent>| -> Vec<u64> {
            events.iter().map(|e| e.position).collect()
        };
        assert_eq!(
            positions(join_slices(vec![(events(1..=3), 3), (events(4..=6), 3)])),
            [1, 2, 3, 4, 5, 6]
        );
        // The second slice saw a commit the first did not: dropping it leaves no gap.
        assert_eq!(
            positions(join_slices(vec![(events(1..=2), 3), (events(5..=6), 3)])),
            [1, 2]
        );
        assert_eq!(
            positions(join_slices(vec![
                (events(1..=3), 3),
                (events(4..=4), 3),
                (events(7..=9), 3)
            ])),
            [1, 2, 3, 4]
        );
        assert!(join_slices(Vec::new()).is_empty());
    }

    #[test]
    fn canonical_time_keeps_nanoseconds() {
        let t = sample().recorded_at;
        assert_eq!(canonical_time(&t), "2022-03-01T10:00:00.123456789Z");
    }
}
