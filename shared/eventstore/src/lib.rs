//! The event store: the only source of truth. [`EventStore`] is the contract; the
//! embedded backend ([`sqlite::SqliteStore`]) keeps the log in one SQLite file, and the
//! distributed backend (NATS JetStream) implements the same trait. The
//! [`conformance`] suite is written once against the trait and run on every backend.

use async_trait::async_trait;
use futures::stream::BoxStream;
use metroplan_events::{NewEvent, RecordedEvent};

pub mod aggregate;
pub mod bench;
pub mod sqlite;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

/// What the writer believes the stream's version is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExpectedVersion {
    /// Append whatever the stream holds.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event must have this version (1 for the first event).
    Exact(u64),
}

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppendResult {
    /// Global position of the first appended event.
    pub first_position: u64,
    /// Global position of the last appended event.
    pub last_position: u64,
    /// Stream version of the last appended event.
    pub stream_version: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Optimistic concurrency: another writer got there first.
    #[error("stream {stream} is at version {actual:?}, expected {expected:?}")]
    WrongExpectedVersion {
        stream: String,
        expected: ExpectedVersion,
        /// The stream's actual last version; `None` when it does not exist.
        actual: Option<u64>,
    },
    /// Some, not all, of a batch's event ids are already stored, or a stored id belongs to
    /// another stream: the retry is not the same append.
    #[error("event {event_id} is already stored with different content or stream")]
    IdempotencyMismatch { event_id: uuid::Uuid },
    #[error("an append needs at least one event")]
    EmptyAppend,
    #[error("event store is closed")]
    Closed,
    #[error("event store backend failed: {0}")]
    Backend(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An append-only log of streams with a global order.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends `events` to `stream`, all or nothing, durably before returning.
    ///
    /// Idempotent by event id: when every id is already stored in this stream, nothing
    /// is written and the original positions are returned.
    ///
    /// # Errors
    /// [`StoreError::WrongExpectedVersion`] when `expected` does not hold.
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult>;

    /// Events of one stream with version `>= from_version`, at most `limit`.
    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>>;

    /// Events of all streams with position `> after_position`, in global order, at most `limit`.
    async fn read_all(&self, after_position: u64, limit: usize) -> Result<Vec<RecordedEvent>>;

    /// The position of the last stored event (0 when empty).
    async fn head_position(&self) -> Result<u64>;

    /// The last version of `stream`, `None` when it does not exist.
    async fn stream_version(&self, stream: &str) -> Result<Option<u64>>;

    /// Ids of the streams that start with `prefix`, sorted.
    async fn list_streams(&self, prefix: &str) -> Result<Vec<String>>;

    /// Every event with position `> after_position`: first the stored ones, then new
    /// ones as they are appended; in order, with no gap and no duplicate.
    fn subscribe_all(&self, after_position: u64) -> BoxStream<'static, Result<RecordedEvent>>;
}
