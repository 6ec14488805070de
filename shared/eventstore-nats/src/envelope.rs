//! The event envelope in NATS message headers; the message payload is the event's
//! protobuf bytes exactly as given.
//!
//! # Headers of every stored event
//!
//! | header | value |
//! | --- | --- |
//! | `Nats-Msg-Id` | event id (UUID, hyphenated): JetStream's de-duplication key |
//! | `Metroplan-Stream` | stream id, e.g. `action:PSM-2021-2023/2.1.1` |
//! | `Metroplan-Stream-Version` | version of the event in its stream, from 1 |
//! | `Metroplan-Event-Type` | e.g. `ActionProgressReported` |
//! | `Metroplan-Schema-Version` | schema version of the payload type |
//! | `Metroplan-Recorded-At` | RFC 3339, UTC, 9 fraction digits: chosen by the writer before publishing |
//! | `Metroplan-Actor` | who |
//! | `Metroplan-On-Behalf-Of` | for which organisation or table (may be empty) |
//! | `Metroplan-Reason` | why; absent when none was given (present and empty means an empty reason) |
//! | `Metroplan-Correlation-Id` | UUID; absent when none |
//! | `Metroplan-Causation-Id` | UUID; absent when none |
//! | `Metroplan-Hash` | hex SHA-256 link of the hash chain (see `metroplan_eventstore::sqlite`) |
//! | `Metroplan-Batch` | `i/n`: the event is the i-th of the n events appended together |
//!
//! The global position is the message's stream sequence (`Nats-Sequence` in a direct
//! get). Text values (stream, type, actor, on behalf of, reason) are written as they
//! are except that `%`, control characters (line breaks included) and whitespace at
//! either end are percent-encoded (`%25`, `%0A`, `%20`, …), since a header value cannot
//! hold a line break and NATS trims the ends; a reader decodes `%XX`.
//!
//! Messages of an atomic batch also keep the server's own headers (`Nats-Batch-Id`,
//! `Nats-Batch-Sequence`, `Nats-Batch-Commit`) and the first one the expectation
//! headers it was published with (`Nats-Expected-Last-Sequence`,
//! `Nats-Expected-Last-Subject-Sequence`); readers ignore them.

use std::fmt::Write as _;

use async_nats::HeaderMap;
use chrono::{DateTime, Utc};
use metroplan_events::{EventMetadata, NewEvent, RecordedEvent};
use metroplan_eventstore::sqlite::canonical_time;
use uuid::Uuid;

use crate::subject::percent_decode;

pub const MSG_ID: &str = "Nats-Msg-Id";
pub const STREAM: &str = "Metroplan-Stream";
pub const STREAM_VERSION: &str = "Metroplan-Stream-Version";
pub const EVENT_TYPE: &str = "Metroplan-Event-Type";
pub const SCHEMA_VERSION: &str = "Metroplan-Schema-Version";
pub const RECORDED_AT: &str = "Metroplan-Recorded-At";
pub const ACTOR: &str = "Metroplan-Actor";
pub const ON_BEHALF_OF: &str = "Metroplan-On-Behalf-Of";
pub const REASON: &str = "Metroplan-Reason";
pub const CORRELATION_ID: &str = "Metroplan-Correlation-Id";
pub const CAUSATION_ID: &str = "Metroplan-Causation-Id";
pub const HASH: &str = "Metroplan-Hash";
pub const BATCH: &str = "Metroplan-Batch";

/// Where an event sits in the append that wrote it: the `index`-th (from 1) of `size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchPart {
    pub index: u32,
    pub size: u32,
}

impl BatchPart {
    pub fn is_last(self) -> bool {
        self.index >= self.size
    }
}

/// A stored event and its place in its append.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub event: RecordedEvent,
    pub part: BatchPart,
}

/// Why a stored message is not an event of this store.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("message {position} has no {header} header")]
    Missing { position: u64, header: &'static str },
    #[error("message {position} has an invalid {header} header: {value:?}")]
    Invalid {
        position: u64,
        header: &'static str,
        value: String,
    },
}

/// The headers of `event`, already numbered and hashed, the `part` of its append.
pub fn headers(event: &RecordedEvent, part: BatchPart) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(MSG_ID, event.event_id.hyphenated().to_string());
    h.insert(STREAM, escape_text(&event.stream_id));
    h.insert(STREAM_VERSION, event.stream_version.to_string());
    h.insert(EVENT_TYPE, escape_text(&event.event_type));
    h.insert(SCHEMA_VERSION, event.schema_version.to_string());
    h.insert(RECORDED_AT, canonical_time(&event.recorded_at));
    let m = &event.metadata;
    h.insert(ACTOR, escape_text(&m.actor));
    h.insert(ON_BEHALF_OF, escape_text(&m.on_behalf_of));
    if let Some(reason) = &m.reason {
        h.insert(REASON, escape_text(reason));
    }
    if let Some(id) = m.correlation_id {
        h.insert(CORRELATION_ID, id.hyphenated().to_string());
    }
    if let Some(id) = m.causation_id {
        h.insert(CAUSATION_ID, id.hyphenated().to_string());
    }
    h.insert(HASH, hex::encode(&event.hash));
    h.insert(BATCH, format!("{}/{}", part.index, part.size));
    h
}

/// The event as it will be stored: `new` at `position` and `version` of `stream`,
/// recorded at `recorded_at`, its hash chained to `prev`.
pub fn record(
    new: &NewEvent,
    stream: &str,
    version: u64,
    position: u64,
    recorded_at: DateTime<Utc>,
    prev: &[u8],
) -> RecordedEvent {
    let mut event = RecordedEvent {
        event_id: new.event_id,
        stream_id: stream.to_owned(),
        stream_version: version,
        position,
        event_type: new.event_type.clone(),
        schema_version: new.schema_version,
        recorded_at,
        metadata: new.metadata.clone(),
        payload: new.payload.clone(),
        hash: Vec::new(),
    };
    event.hash = metroplan_eventstore::sqlite::event_hash(prev, &event);
    event
}

/// The event stored at `position` with these headers and payload.
///
/// # Errors
/// [`DecodeError`] when a header is missing or malformed: the message was not written
/// by this store.
pub fn decode(
    position: u64,
    headers: Option<&HeaderMap>,
    payload: &[u8],
) -> Result<StoredEvent, DecodeError> {
    let empty = HeaderMap::new();
    let h = headers.unwrap_or(&empty);
    let get = |header: &'static str| -> Result<&str, DecodeError> {
        h.get(header)
            .map(|v| v.as_str())
            .ok_or(DecodeError::Missing { position, header })
    };
    let invalid = |header: &'static str, value: &str| DecodeError::Invalid {
        position,
        header,
        value: value.to_owned(),
    };
    let text = |header: &'static str| -> Result<String, DecodeError> {
        let raw = get(header)?;
        percent_decode(raw).ok_or_else(|| invalid(header, raw))
    };
    let optional_text = |header: &'static str| -> Result<Option<String>, DecodeError> {
        match h.get(header) {
            None => Ok(None),
            Some(v) => percent_decode(v.as_str())
                .map(Some)
                .ok_or_else(|| invalid(header, v.as_str())),
        }
    };
    let optional_uuid = |header: &'static str| -> Result<Option<Uuid>, DecodeError> {
        match h.get(header) {
            None => Ok(None),
            Some(v) => Uuid::parse_str(v.as_str())
                .map(Some)
                .map_err(|_| invalid(header, v.as_str())),
        }
    };
    fn number<T: std::str::FromStr>(raw: &str) -> Option<T> {
        raw.parse().ok()
    }

    let raw_id = get(MSG_ID)?;
    let event_id = Uuid::parse_str(raw_id).map_err(|_| invalid(MSG_ID, raw_id))?;
    let raw_version = get(STREAM_VERSION)?;
    let stream_version = number(raw_version).ok_or_else(|| invalid(STREAM_VERSION, raw_version))?;
    let raw_schema = get(SCHEMA_VERSION)?;
    let schema_version = number(raw_schema).ok_or_else(|| invalid(SCHEMA_VERSION, raw_schema))?;
    let raw_time = get(RECORDED_AT)?;
    let recorded_at = DateTime::parse_from_rfc3339(raw_time)
        .map_err(|_| invalid(RECORDED_AT, raw_time))?
        .with_timezone(&Utc);
    let raw_hash = get(HASH)?;
    let hash = hex::decode(raw_hash).map_err(|_| invalid(HASH, raw_hash))?;
    let raw_batch = get(BATCH)?;
    let part = raw_batch
        .split_once('/')
        .and_then(|(i, n)| {
            Some(BatchPart {
                index: number(i)?,
                size: number(n)?,
            })
        })
        .filter(|p| p.index >= 1 && p.index <= p.size)
        .ok_or_else(|| invalid(BATCH, raw_batch))?;

    let event = RecordedEvent {
        event_id,
        stream_id: text(STREAM)?,
        stream_version,
        position,
        event_type: text(EVENT_TYPE)?,
        schema_version,
        recorded_at,
        metadata: EventMetadata {
            actor: text(ACTOR)?,
            on_behalf_of: text(ON_BEHALF_OF)?,
            reason: optional_text(REASON)?,
            correlation_id: optional_uuid(CORRELATION_ID)?,
            causation_id: optional_uuid(CAUSATION_ID)?,
        },
        payload: payload.to_vec(),
        hash,
    };
    Ok(StoredEvent { event, part })
}

/// A text as a header value: see the module documentation.
fn escape_text(text: &str) -> String {
    let last = text.chars().count().saturating_sub(1);
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        let at_an_end = (i == 0 || i == last) && c.is_whitespace();
        if c == '%' || c.is_control() || at_an_end {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                // Infallible: writing to a String.
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RecordedEvent {
        let new = NewEvent {
            event_id: Uuid::now_v7(),
            event_type: "ActionProgressReported".into(),
            schema_version: 3,
            payload: vec![0, 1, 2, 255],
            metadata: EventMetadata {
                actor: " tavolo@città\r\n".into(),
                on_behalf_of: String::new(),
                reason: Some("100% — fatto\tbene ".into()),
                correlation_id: Some(Uuid::now_v7()),
                causation_id: None,
            },
        };
        record(&new, "action:psm/1.1.1", 7, 42, Utc::now(), &[0; 32])
    }

    #[test]
    fn headers_round_trip_every_field() {
        let event = sample();
        let part = BatchPart { index: 2, size: 3 };
        let h = headers(&event, part);
        for (_, values) in h.iter() {
            for v in values {
                let v = v.as_str();
                assert!(!v.contains(['\r', '\n']), "{v:?}");
                assert_eq!(v.trim(), v, "NATS trims header values");
            }
        }
        let back = decode(42, Some(&h), &event.payload).expect("decode");
        assert_eq!(back.event, event);
        assert_eq!(back.part, part);
    }

    #[test]
    fn an_absent_reason_differs_from_an_empty_one() {
        let mut event = sample();
        event.metadata.reason = None;
        let h = headers(&event, BatchPart { index: 1, size: 1 });
        assert!(h.get(REASON).is_none());
        assert_eq!(
            decode(42, Some(&h), &[])
                .expect("decode")
                .event
                .metadata
                .reason,
            None
        );
        event.metadata.reason = Some(String::new());
        let h = headers(&event, BatchPart { index: 1, size: 1 });
        assert_eq!(
            decode(42, Some(&h), &[])
                .expect("decode")
                .event
                .metadata
                .reason,
            Some(String::new())
        );
    }

    #[test]
    fn foreign_messages_are_refused() {
        assert!(matches!(
            decode(1, None, b"x"),
            Err(DecodeError::Missing { header: MSG_ID, .. })
        ));
        let mut h = headers(&sample(), BatchPart { index: 1, size: 1 });
        h.insert(BATCH, "3/2");
        assert!(matches!(
            decode(1, Some(&h), b"x"),
            Err(DecodeError::Invalid { header: BATCH, .. })
        ));
    }

    #[test]
    fn hashes_chain_like_the_sqlite_backend() {
        let event = sample();
        assert_eq!(
            event.hash,
            metroplan_eventstore::sqlite::event_hash(&[0; 32], &event)
        );
    }
}
