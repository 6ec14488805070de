//! The few facts the monitoring service reads from the plan service's streams: whether
//! a plan exists, which period it covers and which strategies it has (`plan:<plan>`),
//! and whether an action
//! exists and is still live (`action:<plan>/<action>`).
//!
//! The choice: read the plan service's own streams through two tiny aggregates that
//! only look at `PlanCreated`, `StrategyAdded`, `StrategyRetired`, `ActionAdded` and
//! `ActionRetired`, instead of asking the
//! plan service or a read model. The event store is the source of truth both services
//! share, a read is one short stream, and the monitoring service depends on the plan
//! service's event contract only, never on its code.

use metroplan_api::values::{Date, PlanCode, parse_date};
use metroplan_events::{Aggregate, RecordedEvent, pb, streams};
use metroplan_eventstore::aggregate::load;
use metroplan_eventstore::{EventStore, StoreError};

/// The first and last day a plan covers, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanPeriod {
    pub from: Date,
    pub to: Date,
}

impl PlanPeriod {
    /// Whether `day` lies in the period, ends included.
    pub fn contains(&self, day: Date) -> bool {
        self.from <= day && day <= self.to
    }
}

/// Where an action stands in its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionStanding {
    /// No `ActionAdded` for this code in this plan.
    Missing,
    /// Added and not retired.
    Live,
    /// Withdrawn from the plan; its history stays, no new report is accepted.
    Retired,
}

/// A plan's header as far as monitoring cares: its period.
#[derive(Debug, Clone, Default)]
pub struct PlanHeader {
    pub created: bool,
    /// Strategy code -> retired.
    pub strategies: std::collections::BTreeMap<String, bool>,
    pub period_from: Option<Date>,
    pub period_to: Option<Date>,
}

impl Aggregate for PlanHeader {
    type Event = pb::PlanEvent;

    fn evolve(&mut self, event: &pb::PlanEvent, _recorded: &RecordedEvent) {
        use pb::plan_event::Event;
        match &event.event {
            Some(Event::PlanCreated(created)) => {
                self.created = true;
                self.period_from = parse_date("period_from", &created.period_from).ok();
                self.period_to = parse_date("period_to", &created.period_to).ok();
            }
            Some(Event::StrategyAdded(s)) => {
                self.strategies.insert(s.code.clone(), false);
            }
            Some(Event::StrategyRetired(s)) => {
                self.strategies.insert(s.code.clone(), true);
            }
            _ => {}
        }
    }
}

impl PlanHeader {
    /// The plan's period; a bound the plan did not state leaves that side open.
    pub fn period(&self) -> PlanPeriod {
        PlanPeriod {
            from: self.period_from.unwrap_or(Date::MIN),
            to: self.period_to.unwrap_or(Date::MAX),
        }
    }
}

/// An action's life as far as monitoring cares: added, retired.
#[derive(Debug, Clone, Default)]
pub struct ActionLife {
    pub added: bool,
    pub retired: bool,
}

impl Aggregate for ActionLife {
    type Event = pb::ActionEvent;

    fn evolve(&mut self, event: &pb::ActionEvent, _recorded: &RecordedEvent) {
        match &event.event {
            Some(pb::action_event::Event::ActionAdded(_)) => self.added = true,
            Some(pb::action_event::Event::ActionRetired(_)) => self.retired = true,
            _ => {}
        }
    }
}

impl ActionLife {
    pub fn standing(&self) -> ActionStanding {
        match (self.added, self.retired) {
            (false, _) => ActionStanding::Missing,
            (true, false) => ActionStanding::Live,
            (true, true) => ActionStanding::Retired,
        }
    }
}

/// The period of `plan`, `None` when the plan has no stream.
///
/// # Errors
/// A store failure, or a plan event that does not decode.
pub async fn plan_period(
    store: &dyn EventStore,
    plan: &PlanCode,
) -> Result<Option<PlanPeriod>, StoreError> {
    let stream = streams::plan(plan.as_str());
    if store.stream_version(&stream).await?.is_none() {
        return Ok(None);
    }
    let header = load::<PlanHeader>(store, &stream).await?.state;
    Ok(header.created.then(|| header.period()))
}

/// The strategies of `plan` and whether each is retired, `None` when the plan has no
/// stream.
///
/// # Errors
/// A store failure, or a plan event that does not decode.
pub async fn plan_strategies(
    store: &dyn EventStore,
    plan: &PlanCode,
) -> Result<Option<crate::indicator::PlanStrategies>, StoreError> {
    let stream = streams::plan(plan.as_str());
    if store.stream_version(&stream).await?.is_none() {
        return Ok(None);
    }
    let header = load::<PlanHeader>(store, &stream).await?.state;
    Ok(header.created.then_some(crate::indicator::PlanStrategies {
        strategies: header.strategies,
    }))
}

/// Where action `action` of `plan` stands.
///
/// # Errors
/// A store failure, or an action event that does not decode.
pub async fn action_standing(
    store: &dyn EventStore,
    plan: &str,
    action: &str,
) -> Result<ActionStanding, StoreError> {
    let stream = streams::action(plan, action);
    if store.stream_version(&stream).await?.is_none() {
        return Ok(ActionStanding::Missing);
    }
    Ok(load::<ActionLife>(store, &stream).await?.state.standing())
}
