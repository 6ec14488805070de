//! The vocabulary every service shares: the protobuf event payloads generated from
//! `proto/`, the envelope a stored event carries, and the [`Aggregate`] contract that
//! the plan, monitoring and partnership services implement.
//!
//! Payloads are prost messages that also derive serde, so one type is the stored bytes,
//! the JSON of the API and the body of a live delta. Each aggregate family has one
//! wrapper message with a `oneof`; the wrapper is what is stored, and the variant name
//! is the event type (`ActionProgressReported`).

pub mod envelope;
pub mod payloads_monitoring;
pub mod payloads_partnership;
pub mod payloads_plan;
pub mod streams;

pub use envelope::{EventMetadata, NewEvent, RecordedEvent};

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

    /// Decodes a stored event of this family.
    ///
    /// # Errors
    /// [`DecodeError`] when the bytes are not this family or the schema is unknown.
    fn decode_recorded(event: &RecordedEvent) -> Result<Self, DecodeError> {
        if event.schema_version > Self::SCHEMA_VERSION {
            return Err(DecodeError::UnknownSchema {
                position: event.position,
                event_type: event.event_type.clone(),
                schema_version: event.schema_version,
            });
        }
        Self::decode(event.payload.as_slice()).map_err(|source| DecodeError::Malformed {
            position: event.position,
            event_type: event.event_type.clone(),
            source,
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
