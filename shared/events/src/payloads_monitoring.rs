//! [`EventPayload`](crate::EventPayload) for the monitoring service's event families,
//! `ProgressEvent` (stream `progress:<plan>/<action>`) and `IndicatorEvent` (stream
//! `indicator:<plan>/<code>`) from
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
use crate::pb::{
    ActionProgressReported, IndicatorDefined, IndicatorEdited, IndicatorEvent, IndicatorRetired,
    MeasurementCorrected, MeasurementRecorded, ProgressEvent, indicator_event, progress_event,
};

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

impl EventPayload for IndicatorEvent {
    fn event_type(&self) -> &'static str {
        match &self.event {
            Some(indicator_event::Event::IndicatorDefined(_)) => "IndicatorDefined",
            Some(indicator_event::Event::MeasurementRecorded(_)) => "MeasurementRecorded",
            Some(indicator_event::Event::MeasurementCorrected(_)) => "MeasurementCorrected",
            Some(indicator_event::Event::IndicatorEdited(_)) => "IndicatorEdited",
            Some(indicator_event::Event::IndicatorRetired(_)) => "IndicatorRetired",
            None => "IndicatorEventEmpty",
        }
    }
}

impl From<IndicatorDefined> for IndicatorEvent {
    fn from(e: IndicatorDefined) -> Self {
        Self {
            event: Some(indicator_event::Event::IndicatorDefined(e)),
        }
    }
}

impl From<MeasurementRecorded> for IndicatorEvent {
    fn from(e: MeasurementRecorded) -> Self {
        Self {
            event: Some(indicator_event::Event::MeasurementRecorded(e)),
        }
    }
}

impl From<MeasurementCorrected> for IndicatorEvent {
    fn from(e: MeasurementCorrected) -> Self {
        Self {
            event: Some(indicator_event::Event::MeasurementCorrected(e)),
        }
    }
}

impl From<IndicatorEdited> for IndicatorEvent {
    fn from(e: IndicatorEdited) -> Self {
        Self {
            event: Some(indicator_event::Event::IndicatorEdited(e)),
        }
    }
}

impl From<IndicatorRetired> for IndicatorEvent {
    fn from(e: IndicatorRetired) -> Self {
        Self {
            event: Some(indicator_event::Event::IndicatorRetired(e)),
        }
    }
}
