//! Append throughput, measured two ways for the `metroplan bench` command: through any
//! [`EventStore`] with many concurrent writers (like real commands), and as a raw
//! rusqlite baseline that inserts the same rows with the same durability.
//!
//! # The baseline's choice
//!
//! [`raw_sqlite_batched_insert`] inserts rows into the very `events` table the store
//! uses (same columns, same payload size, a 32-byte hash per row), WAL and
//! `synchronous=FULL`, in transactions of [`RAW_BATCH_ROWS`] rows: 256, the most a group
//! commit can gather from 256 writers that each wait for their own append, which is the
//! design target ("throughput at 256 writers at least half of a raw batched insert").
//! The rows are those 256 writers' rows in the same shape: row `i` is the
//! `i / 256`-th event of writer `i % 256`, in that writer's own streams of 16 events, so
//! each batch touches 256 streams as a group commit does (inserting stream after stream
//! instead would flatter the baseline: far fewer index pages change per commit).
//! Rows, ids and hashes are made before the clock starts. What the store adds on top is
//! exactly the overhead under measure: the channel to the writer thread, the
//! idempotency look-ups, the expected-version check, the hash chain, the savepoints and
//! the `streams` row. [`raw_sqlite_batched_insert_with`] takes another batch size.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use metroplan_events::{EventMetadata, NewEvent};
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::sqlite::{INSERT_EVENT, SCHEMA, stored_time};
use crate::{EventStore, ExpectedVersion, StoreError};

/// Rows per transaction of the raw baseline.
pub const RAW_BATCH_ROWS: usize = 256;

/// Events per stream in both measurements, as a long-lived aggregate would have.
const EVENTS_PER_STREAM: usize = 16;

/// What a run achieved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchResult {
    pub events: u64,
    pub elapsed: Duration,
    pub events_per_sec: f64,
}

impl BenchResult {
    fn new(events: u64, elapsed: Duration) -> Self {
        let secs = elapsed.as_secs_f64();
        let events_per_sec = if secs > 0.0 {
            events as f64 / secs
        } else {
            f64::INFINITY
        };
        Self {
            events,
            elapsed,
            events_per_sec,
        }
    }
}

impl std::fmt::Display for BenchResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} events in {:.3} s: {:.0} events/s",
            self.events,
            self.elapsed.as_secs_f64(),
            self.events_per_sec
        )
    }
}

/// `writers` concurrent tasks, each appending `events_per_writer` single-event batches
/// of `payload_len` bytes to its own streams (16 events a stream, expected version
/// `Exact`, like commands on distinct aggregates). Each run uses fresh stream ids, so a
/// store that already holds events can be measured.
///
/// # Errors
/// The first append that fails.
pub async fn append_throughput(
    store: Arc<dyn EventStore>,
    writers: usize,
    events_per_writer: usize,
    payload_len: usize,
) -> Result<BenchResult, StoreError> {
    let run = Uuid::now_v7().simple().to_string();
    let payload = payload_bytes(payload_len);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..writers {
        let store = Arc::clone(&store);
        let payload = payload.clone();
        let run = run.clone();
        tasks.spawn(async move {
            let metadata = metadata();
            for i in 0..events_per_writer {
                let stream = format!("bench:{run}/w{writer}-s{}", i / EVENTS_PER_STREAM);
                let version = (i % EVENTS_PER_STREAM) as u64;
                let expected = if version == 0 {
                    ExpectedVersion::NoStream
                } else {
                    ExpectedVersion::Exact(version)
                };
                let event = NewEvent {
                    event_id: Uuid::now_v7(),
                    event_type: "BenchEventAppended".into(),
                    schema_version: 1,
                    payload: payload.clone(),
                    metadata: metadata.clone(),
                };
                store.append(&stream, expected, vec![event]).await?;
            }
            Ok::<_, StoreError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| StoreError::Backend(format!("bench writer task failed: {e}")))??;
    }
    Ok(BenchResult::new(
        (writers * events_per_writer) as u64,
        started.elapsed(),
    ))
}

/// The raw baseline with [`RAW_BATCH_ROWS`] rows per transaction; `path` is a new
/// SQLite file (an existing one gets the rows added).
///
/// # Errors
/// [`StoreError::Backend`] when the file cannot be set up or written.
pub fn raw_sqlite_batched_insert(
    path: &Path,
    rows: usize,
    payload_len: usize,
) -> Result<BenchResult, StoreError> {
    raw_sqlite_batched_insert_with(path, rows, payload_len, RAW_BATCH_ROWS)
}

/// The raw baseline with `batch_rows` rows per transaction (one fsync each).
///
/// # Errors
/// [`StoreError::Backend`] when the file cannot be set up or written.
pub fn raw_sqlite_batched_insert_with(
    path: &Path,
    rows: usize,
    payload_len: usize,
    batch_rows: usize,
) -> Result<BenchResult, StoreError> {
    let fail = |context: &'static str| {
        move |e: rusqlite::Error| StoreError::Backend(format!("raw baseline, {context}: {e}"))
    };
    let mut conn = Connection::open(path).map_err(fail("opening"))?;
    let _mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(fail("enabling wal"))?;
    conn.execute_batch("PRAGMA synchronous=FULL;")
        .map_err(fail("setting synchronous"))?;
    conn.execute_batch(SCHEMA)
        .map_err(fail("creating tables"))?;
    let base: i64 = conn
        .query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |r| {
            r.get(0)
        })
        .map_err(fail("reading head"))?;

    let run = Uuid::now_v7().simple().to_string();
    let payload = payload_bytes(payload_len);
    let metadata = metadata();
    let recorded_at = stored_time(&chrono::Utc::now()).map_err(fail("reading the clock"))?;
    let prepared: Vec<(Uuid, String, i64, Vec<u8>)> = (0..rows)
        .map(|i| {
            // Row i is what writer i % RAW_BATCH_ROWS appends as its (i / RAW_BATCH_ROWS)-th event.
            let (writer, nth) = (i % RAW_BATCH_ROWS, i / RAW_BATCH_ROWS);
            let stream = format!("bench:{run}/w{writer}-s{}", nth / EVENTS_PER_STREAM);
            let version = (nth % EVENTS_PER_STREAM) as i64 + 1;
            let hash = Sha256::digest(i.to_be_bytes()).to_vec();
            (Uuid::now_v7(), stream, version, hash)
        })
        .collect();

    let started = Instant::now();
    let mut position = base;
    for chunk in prepared.chunks(batch_rows.max(1)) {
        let tx = conn.transaction().map_err(fail("beginning"))?;
        {
            let mut insert = tx.prepare_cached(INSERT_EVENT).map_err(fail("preparing"))?;
            for (event_id, stream, version, hash) in chunk {
                position += 1;
                insert
                    .execute(params![
                        position,
                        event_id.as_bytes(),
                        stream,
                        version,
                        "BenchEventAppended",
                        1,
                        recorded_at,
                        metadata.actor,
                        metadata.on_behalf_of,
                        metadata.reason,
                        metadata.correlation_id.as_ref().map(Uuid::as_bytes),
                        metadata.causation_id.as_ref().map(Uuid::as_bytes),
                        payload,
                        hash,
                    ])
                    .map_err(fail("inserting"))?;
            }
        }
        tx.commit().map_err(fail("committing"))?;
    }
    Ok(BenchResult::new(rows as u64, started.elapsed()))
}

fn metadata() -> EventMetadata {
    EventMetadata {
        actor: "bench".into(),
        on_behalf_of: "metroplan".into(),
        reason: None,
        correlation_id: Some(Uuid::now_v7()),
        causation_id: None,
    }
}

/// Deterministic, not compressible by a run of one byte.
fn payload_bytes(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect()
}
