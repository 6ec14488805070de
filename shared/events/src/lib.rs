//! The vocabulary every service shares: the protobuf event payloads generated from
//! `proto/`, the envelope a stored event carries, and the [`Aggregate`] contract that
//! the plan, monitoring and partnership services implement.
//!
//! Payloads are prost messages that also derive serde, so one type is the stored bytes,
//! the JSON of the API and the body of a live delta. Each aggregate family has one
//! wrapper message with a `oneof`; the wrapper is what is stored, and the variant name
//! is the event type (`ActionProgressReported`).
//!
//! A stored event is read through [`EventPayload::upcast`], which turns a payload of any
//! schema version this program knows into today's types (see [`upcast`] for how a
//! schema version is bumped); golden samples of every event type and version in
//! `tests/golden/` keep old events decoding.

pub mod envelope;
pub mod payloads_monitoring;
pub mod payloads_partnership;
pub mod payloads_plan;
pub mod payloads_questionnaire;
pub mod streams;
pub mod upcast;

pub use envelope::{EventMetadata, NewEvent, RecordedEvent};
pub use upcast::{UpcastError, Upcaster};

/// The encoded `FileDescriptorSet` of every file under `proto/`, as compiled by the build
/// script: the event families and their event types, read by the golden tests.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/metroplan.fds.bin"));

/// Types generated from `proto/metroplan/events/v1`.
#[allow(clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/metroplan.events.v1.rs"));
}

/// Types generated from `proto/metroplan/live/v1`.
#[allow(clippy::all, missing_docs)]
pub mod live {
    include!(concat!(env!("OUT_DIR"), "/metroplan.live.v1.rs"));
}

/// Lower-case hex of `bytes` (hashes in logs and exports).
pub fn hex_encode(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A stored payload could not be decoded as the type its envelope names.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("event {position} of type {event_type} does not decode: {source}")]
    Malformed {
        position: u64,
        event_type: String,
        #[source]
        source: prost::DecodeError,
    },
    #[error("event {position} has unknown schema version {schema_version} of {event_type}")]
    UnknownSchema {
        position: u64,
        event_type: String,
        schema_version: u32,
    },
    #[error("event {position} is stored as {event_type} but its payload is a {decoded}")]
    TypeMismatch {
        position: u64,
        event_type: String,
        decoded: &'static str,
    },
}

/// The wrapper message of an aggregate family (`PlanEvent`, `ActionEvent`, ...).
pub trait EventPayload:
    prost::Message + Default + Clone + serde::Serialize + Send + Sync + 'static
{
    /// Current schema version written with new events of this family.
    const SCHEMA_VERSION: u32 = 1;

    /// The past-tense name of the event, the `oneof` variant (`AgreementSigned`).
    fn event_type(&self) -> &'static str;

    /// Encodes the payload for storage.
    fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    /// Readers of the older schema versions of this family, one per version from 1 to
    /// `SCHEMA_VERSION - 1`: the place where a version bump registers its conversion
    /// (see the [`upcast`] module). Empty while every family is at version 1.
    const UPCASTERS: &'static [Upcaster<Self>] = &[];

    /// Decodes a stored payload of any known schema version into the current payload:
    /// the current version with the generated types, an older one through its
    /// [`Upcaster`]. The decoded variant must be `event_type`.
    ///
    /// # Errors
    /// [`UpcastError`] when the version is unknown (newer, 0, or without upcaster), the
    /// bytes do not decode, or they decode to another event type.
    fn upcast(event_type: &str, schema_version: u32, bytes: &[u8]) -> Result<Self, UpcastError> {
        upcast::upcast(event_type, schema_version, bytes)
    }

    /// Decodes a stored event of this family through [`upcast`](Self::upcast).
    ///
    /// # Errors
    /// [`DecodeError`] when the bytes are not this family, the schema is unknown or the
    /// payload is not the event type of the envelope.
    fn decode_recorded(event: &RecordedEvent) -> Result<Self, DecodeError> {
        let (position, event_type) = (event.position, event.event_type.clone());
        Self::upcast(&event.event_type, event.schema_version, &event.payload).map_err(|e| match e {
            UpcastError::UnknownSchema { schema_version, .. } => DecodeError::UnknownSchema {
                position,
                event_type,
                schema_version,
            },
            UpcastError::Malformed(source) => DecodeError::Malformed {
                position,
                event_type,
                source,
            },
            UpcastError::TypeMismatch { decoded, .. } => DecodeError::TypeMismatch {
                position,
                event_type,
                decoded,
            },
        })
    }
}

/// State rebuilt from one stream's events. `evolve` only applies facts; the rules live in
/// each service's `decide` functions.
pub trait Aggregate: Default + Clone + Send + Sync + 'static {
    type Event: EventPayload;

    /// Applies one event that happened.
    fn evolve(&mut self, event: &Self::Event, recorded: &RecordedEvent);
}
