//! The envelope of a stored event: everything an auditor needs besides the payload.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who did it, for whom, why, and what it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// The person or system that issued the command.
    pub actor: String,
    /// The organisation or table the actor acted for.
    pub on_behalf_of: String,
    /// The reason given with the command, if any.
    pub reason: Option<String>,
    /// Shared by every event caused by one request.
    pub correlation_id: Option<Uuid>,
    /// The event or command that caused this one.
    pub causation_id: Option<Uuid>,
}

/// An event about to be appended.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// UUIDv7; the idempotency key.
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    pub payload: Vec<u8>,
    pub metadata: EventMetadata,
}

impl NewEvent {
    /// Wraps a payload with a fresh UUIDv7 id.
    pub fn new<E: crate::EventPayload>(payload: &E, metadata: EventMetadata) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: payload.event_type().to_owned(),
            schema_version: E::SCHEMA_VERSION,
            payload: payload.to_bytes(),
            metadata,
        }
    }
}

/// An event as stored: immutable once acknowledged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    pub event_id: Uuid,
    pub stream_id: String,
    /// 1 for the first event of a stream.
    pub stream_version: u64,
    /// 1 for the first event of the whole log.
    pub position: u64,
    pub event_type: String,
    pub schema_version: u32,
    pub recorded_at: DateTime<Utc>,
    pub metadata: EventMetadata,
    #[serde(with = "hex::serde")]
    pub payload: Vec<u8>,
    /// SHA-256 link: hash of the previous event of the stream, this envelope and payload.
    #[serde(with = "hex::serde")]
    pub hash: Vec<u8>,
}
