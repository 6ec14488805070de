//! [`EventPayload`](crate::EventPayload) for the monitoring service's event family,
//! `ProgressEvent` (stream `progress:<plan>/<action>`) from
//! `proto/metroplan/events/v1/monitoring.proto`. The impl lives here, beside the
//! generated types, because the orphan rule keeps it out of the service crate.
//!
//! The event type is the `oneof` variant's name; a wrapper with no variant set (which a
//! service never writes) reports `ProgressEventEmpty` rather than panic.
//!
//! Each impl is where its family's schema evolves: a version bump sets `SCHEMA_VERSION`
//! and registers the reader of the old version in `UPCASTERS` (see
//! [`upcast`](crate::upcast)); both are at their defaults (version 1, none) today.

use crate::EventPayload;
use crate::pb::{ActionProgressReported, ProgressEvent, progress_event};

impl EventPayload for ProgressEvent {
    fn event_type(&self) -> &'static str {
        match &self.event {
            Some(progress_event::Event::ActionProgressReported(_)) => "ActionProgressReported",
            None => "ProgressEventEmpty",
        }
    }
}

impl From<ActionProgressReported> for ProgressEvent {
    fn from(e: ActionProgressReported) -> Self {
        Self {
            event: Some(progress_event::Event::ActionProgressReported(e)),
        }
    }
}
