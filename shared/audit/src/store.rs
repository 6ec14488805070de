//! Where signed checkpoints are kept: [`CheckpointStore`], with the embedded backend
//! ([`SqliteCheckpoints`]: a `checkpoints` table in the log's own `events.db`) and the
//! JetStream one ([`crate::nats::NatsCheckpoints`]).
//!
//! # Choices
//!
//! - **One checkpoint per tree size**, the size being the key: a second `put` at a size
//!   already stored keeps the first (two writers with one key sign identical notes).
//! - **Same file as the log** (embedded): a copy or backup of `events.db` carries its
//!   checkpoints. The table is written through a connection of its own with a busy
//!   timeout; the event store's writer thread keeps its own, and SQLite serialises them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

/// A checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredCheckpoint {
    pub tree_size: u64,
    /// The C2SP signed note.
    pub note: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointStoreError {
    #[error("checkpoint store failed: {0}")]
    Backend(String),
}

type Result<T, E = CheckpointStoreError> = std::result::Result<T, E>;

/// Signed checkpoints, by tree size.
#[async_trait]
pub trait CheckpointStore: Send + Sync + 'static {
    /// Stores the checkpoint of `tree_size` unless one of that size is stored; returns
    /// whether it was written.
    async fn put(&self, tree_size: u64, note: &str) -> Result<bool>;

    /// Checkpoints with size `> after_size`, by size, at most `limit`.
    async fn list(&self, after_size: u64, limit: usize) -> Result<Vec<StoredCheckpoint>>;

    /// The checkpoint of the largest size.
    async fn latest(&self) -> Result<Option<StoredCheckpoint>>;
}

/// Every checkpoint, by size.
///
/// # Errors
/// When the store fails.
pub async fn all_checkpoints(store: &dyn CheckpointStore) -> Result<Vec<StoredCheckpoint>> {
    let mut all = Vec::new();
    loop {
        let after = all.last().map_or(0, |c: &StoredCheckpoint| c.tree_size);
        let page = store.list(after, 1000).await?;
        if page.is_empty() {
            return Ok(all);
        }
        all.extend(page);
    }
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS checkpoints (
    tree_size    INTEGER PRIMARY KEY,
    note         TEXT    NOT NULL,
    recorded_at  INTEGER NOT NULL
)";

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Checkpoints in a table of the embedded log's file.
#[derive(Clone)]
pub struct SqliteCheckpoints {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteCheckpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteCheckpoints")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> CheckpointStoreError {
    move |e| CheckpointStoreError::Backend(format!("{context}: {e}"))
}

impl SqliteCheckpoints {
    /// Opens the table in the SQLite file at `path` (the event log's `events.db`),
    /// creating it when missing.
    ///
    /// # Errors
    /// When the file cannot be opened or the table created.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let conn = Connection::open(&path).map_err(sql("opening the checkpoint table"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(sql("setting the busy timeout"))?;
        conn.execute_batch(SCHEMA)
            .map_err(sql("creating the checkpoint table"))?;
        Ok(Self {
            path,
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Opens the table in `data_dir/events.db`.
    ///
    /// # Errors
    /// As [`SqliteCheckpoints::open`].
    pub fn open_in(data_dir: impl AsRef<Path>) -> Result<Self> {
        Self::open(
            data_dir
                .as_ref()
                .join(metroplan_eventstore::sqlite::FILE_NAME),
        )
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
        context: &'static str,
    ) -> Result<T> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&conn)
        })
        .await
        .map_err(|e| CheckpointStoreError::Backend(format!("{context}: {e}")))?
        .map_err(sql(context))
    }
}

fn to_i64(n: u64) -> rusqlite::Result<i64> {
    i64::try_from(n).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredCheckpoint> {
    let size: i64 = r.get(0)?;
    let nanos: i64 = r.get(2)?;
    Ok(StoredCheckpoint {
        tree_size: u64::try_from(size).unwrap_or_default(),
        note: r.get(1)?,
        recorded_at: DateTime::from_timestamp_nanos(nanos),
    })
}

impl SqliteCheckpoints {
    /// The embedded store's own record of each stream's last version and hash (its
    /// `streams` table), to compare with the end of the log.
    ///
    /// # Errors
    /// When the table cannot be read.
    pub async fn recorded_stream_heads(&self) -> Result<Vec<(String, u64, Vec<u8>)>> {
        self.with(
            |c| {
                let mut stmt = c.prepare("SELECT stream_id, version, last_hash FROM streams")?;
                stmt.query_map([], |r| {
                    let version: i64 = r.get(1)?;
                    Ok((
                        r.get(0)?,
                        u64::try_from(version).unwrap_or_default(),
                        r.get(2)?,
                    ))
                })?
                .collect()
            },
            "reading the streams table",
        )
        .await
    }
}

#[async_trait]
impl CheckpointStore for SqliteCheckpoints {
    async fn put(&self, tree_size: u64, note: &str) -> Result<bool> {
        let note = note.to_owned();
        let now = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        self.with(
            move |c| {
                Ok(c.execute(
                    "INSERT OR IGNORE INTO checkpoints (tree_size, note, recorded_at) VALUES (?1, ?2, ?3)",
                    params![to_i64(tree_size)?, note, now],
                )? == 1)
            },
            "writing a checkpoint",
        )
        .await
    }

    async fn list(&self, after_size: u64, limit: usize) -> Result<Vec<StoredCheckpoint>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(
            move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT tree_size, note, recorded_at FROM checkpoints WHERE tree_size > ?1 ORDER BY tree_size LIMIT ?2",
                )?;
                stmt.query_map(params![to_i64(after_size)?, limit], row)?
                    .collect()
            },
            "reading checkpoints",
        )
        .await
    }

    async fn latest(&self) -> Result<Option<StoredCheckpoint>> {
        self.with(
            |c| {
                c.query_row(
                    "SELECT tree_size, note, recorded_at FROM checkpoints ORDER BY tree_size DESC LIMIT 1",
                    [],
                    row,
                )
                .optional()
            },
            "reading the latest checkpoint",
        )
        .await
    }
}
