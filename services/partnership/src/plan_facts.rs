//! The few facts the partnership service reads from the plan service's streams:
//! whether a plan exists (`plan:<plan>`) and whether an action exists and is still live
//! (`action:<plan>/<action>`).
//!
//! The choice: read the plan service's own streams (a version look-up for a plan, a
//! tiny aggregate that only looks at `ActionAdded` and `ActionRetired` for an action)
//! instead of asking the plan service or a read model, so this service depends on the
//! plan service's event contract only, never on its code.

use std::collections::BTreeMap;

use metroplan_events::{Aggregate, RecordedEvent, pb, streams};
use metroplan_eventstore::aggregate::load;
use metroplan_eventstore::{EventStore, StoreError};

/// Where an action stands in its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionStanding {
    /// No `ActionAdded` for this code in this plan.
    Missing,
    /// Added and not retired.
    Live,
    /// Withdrawn from the plan: nothing new may point at it.
    Retired,
}

/// An action's life as far as partnership cares: added, retired.
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

/// The standing of some actions of one plan, looked up before a decision; a code not
/// looked up counts as missing.
#[derive(Debug, Clone, Default)]
pub struct KnownActions(BTreeMap<String, ActionStanding>);

impl KnownActions {
    /// Every named action is live: for tests and for callers that checked already.
    pub fn live<'a>(codes: impl IntoIterator<Item = &'a str>) -> Self {
        Self(
            codes
                .into_iter()
                .map(|c| (c.to_owned(), ActionStanding::Live))
                .collect(),
        )
    }

    pub fn insert(&mut self, code: &str, standing: ActionStanding) {
        self.0.insert(code.to_owned(), standing);
    }

    pub fn standing(&self, code: &str) -> ActionStanding {
        self.0.get(code).copied().unwrap_or(ActionStanding::Missing)
    }
}

/// Whether `plan` has a stream.
///
/// # Errors
/// A store failure.
pub async fn plan_exists(store: &dyn EventStore, plan: &str) -> Result<bool, StoreError> {
    Ok(store.stream_version(&streams::plan(plan)).await?.is_some())
}

/// The standing of each of `codes` in `plan`.
///
/// # Errors
/// A store failure, or an action event that does not decode.
pub async fn known_actions<'a>(
    store: &dyn EventStore,
    plan: &str,
    codes: impl IntoIterator<Item = &'a str>,
) -> Result<KnownActions, StoreError> {
    let mut known = KnownActions::default();
    for code in codes {
        let stream = streams::action(plan, code);
        let standing = if store.stream_version(&stream).await?.is_none() {
            ActionStanding::Missing
        } else {
            load::<ActionLife>(store, &stream).await?.state.standing()
        };
        known.insert(code, standing);
    }
    Ok(known)
}
