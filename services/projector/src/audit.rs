//! The audit trail: the log's events filtered by stream, actor, organisation, event type
//! and time, a page at a time, with everything the envelope holds.
//!
//! Pages are cut by position: a page answers `next_after`, the position to pass as
//! `after` for the next one, so a reader that pages while events arrive neither skips
//! nor repeats one. The filter scans the projector's in-memory timeline (a million
//! events in a few milliseconds); the stream filter alone could use the store's index,
//! but one path for every filter keeps the answers the same on both deployments.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Timeline;
use crate::model::payload_json;

/// The most events one page holds.
pub const MAX_PAGE: usize = 500;

/// Which events an audit page holds. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Exact stream id (`action:PSM-2021-2023/1.1.1`), or a prefix ending in `:` or `/`
    /// (`action:PSM-2021-2023/` for every action of a plan).
    pub stream: Option<String>,
    pub actor: Option<String>,
    /// The organisation or table the actor acted for.
    pub organisation: Option<String>,
    pub event_type: Option<String>,
    /// Recorded at or after.
    pub from: Option<DateTime<Utc>>,
    /// Recorded at or before.
    pub to: Option<DateTime<Utc>>,
    /// Only events after this global position.
    pub after: u64,
    /// At most this many events (capped at [`MAX_PAGE`]).
    pub limit: usize,
}

impl AuditFilter {
    fn matches(&self, e: &metroplan_events::RecordedEvent) -> bool {
        let stream_ok = self.stream.as_deref().is_none_or(|s| {
            if s.ends_with(':') || s.ends_with('/') {
                e.stream_id.starts_with(s)
            } else {
                e.stream_id == s
            }
        });
        stream_ok
            && self.actor.as_deref().is_none_or(|a| e.metadata.actor == a)
            && self
                .organisation
                .as_deref()
                .is_none_or(|o| e.metadata.on_behalf_of == o)
            && self.event_type.as_deref().is_none_or(|t| e.event_type == t)
            && self.from.is_none_or(|t| e.recorded_at >= t)
            && self.to.is_none_or(|t| e.recorded_at <= t)
    }
}

/// One event with its whole envelope, as auditors read and export it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub position: u64,
    pub event_id: String,
    pub stream: String,
    pub stream_version: u64,
    pub event_type: String,
    pub schema_version: u32,
    /// RFC 3339, UTC, nanoseconds.
    pub recorded_at: String,
    pub actor: String,
    pub on_behalf_of: String,
    pub reason: Option<String>,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    /// The event's hash-chain link, lower-case hex.
    pub hash: String,
    /// The payload decoded as JSON (the inner message of its family).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

impl AuditEntry {
    pub fn of(e: &metroplan_events::RecordedEvent) -> Self {
        Self {
            position: e.position,
            event_id: e.event_id.to_string(),
            stream: e.stream_id.clone(),
            stream_version: e.stream_version,
            event_type: e.event_type.clone(),
            schema_version: e.schema_version,
            recorded_at: e
                .recorded_at
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            actor: e.metadata.actor.clone(),
            on_behalf_of: e.metadata.on_behalf_of.clone(),
            reason: e.metadata.reason.clone(),
            correlation_id: e.metadata.correlation_id.map(|u| u.to_string()),
            causation_id: e.metadata.causation_id.map(|u| u.to_string()),
            hash: metroplan_events::hex_encode(&e.hash),
            payload: payload_json(e),
        }
    }
}

/// One page of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEntry>,
    /// Pass as `after` to read the next page; absent when this page reached the end.
    pub next_after: Option<u64>,
    /// The last position the read side holds: the trail is complete up to it.
    pub head: u64,
}

/// The events after `filter.after` that match `filter`, at most `filter.limit`.
pub fn page(timeline: &Timeline, filter: &AuditFilter) -> AuditPage {
    let limit = filter.limit.clamp(1, MAX_PAGE);
    let events = timeline.events();
    let head = events.last().map_or(0, |e| e.position);
    let mut out = Vec::new();
    let mut next_after = None;
    for e in &events[timeline.index_after(filter.after)..] {
        if !filter.matches(e) {
            continue;
        }
        if out.len() == limit {
            next_after = out.last().map(|l: &AuditEntry| l.position);
            break;
        }
        out.push(AuditEntry::of(e));
    }
    AuditPage {
        events: out,
        next_after,
        head,
    }
}
