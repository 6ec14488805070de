//! [`EventPayload`](crate::EventPayload) for the plan service's two event families,
//! `PlanEvent` (stream `plan:<plan>`) and `ActionEvent` (stream `action:<plan>/<action>`)
//! from `proto/metroplan/events/v1/plan.proto`. The impls live here, beside the
//! generated types, because the orphan rule keeps them out of the service crate.
//!
//! The event type is the `oneof` variant's name; a wrapper with no variant set (which a
//! service never writes) reports `PlanEventEmpty` / `ActionEventEmpty` rather than panic.
//!
//! Each impl is where its family's schema evolves: a version bump sets `SCHEMA_VERSION`
//! and registers the reader of the old version in `UPCASTERS` (see
//! [`upcast`](crate::upcast)); both are at their defaults (version 1, none) today.

use crate::EventPayload;
use crate::pb::{ActionEvent, PlanEvent, action_event, plan_event};

impl EventPayload for PlanEvent {
    fn event_type(&self) -> &'static str {
        use plan_event::Event;
        match &self.event {
            Some(Event::PlanCreated(_)) => "PlanCreated",
            Some(Event::AxisAdded(_)) => "AxisAdded",
            Some(Event::AxisEdited(_)) => "AxisEdited",
            Some(Event::AxisMoved(_)) => "AxisMoved",
            Some(Event::AxisRetired(_)) => "AxisRetired",
            Some(Event::StrategyAdded(_)) => "StrategyAdded",
            Some(Event::StrategyEdited(_)) => "StrategyEdited",
            Some(Event::StrategyMoved(_)) => "StrategyMoved",
            Some(Event::StrategyRetired(_)) => "StrategyRetired",
            Some(Event::RevisionAdopted(_)) => "RevisionAdopted",
            None => "PlanEventEmpty",
        }
    }
}

impl EventPayload for ActionEvent {
    fn event_type(&self) -> &'static str {
        use action_event::Event;
        match &self.event {
            Some(Event::ActionAdded(_)) => "ActionAdded",
            Some(Event::ActionEdited(_)) => "ActionEdited",
            Some(Event::ActionMoved(_)) => "ActionMoved",
            Some(Event::ActionRetired(_)) => "ActionRetired",
            None => "ActionEventEmpty",
        }
    }
}
