//! `GET /api/v1/plans/{plan}/instruments` and `.../instruments/{instrument}`: the
//! plan's effects on the body's planning instruments (PTGM, PUMS, DUP, ...), per
//! instrument and section, counted by the effect's state; for the DUP, the objectives
//! the actions became.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

/// The state key of a link that does not state it.
pub const NOT_STATED: &str = "not_stated";

/// A DUP objective an action became.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct DupObjectiveView {
    /// `strategic` | `operational` | `management`.
    pub level: String,
    pub code: String,
    pub title: String,
}

/// One action's effect on an instrument.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkedAction {
    pub action: String,
    pub strategy: String,
    pub title: String,
    pub section: String,
    pub effect: String,
    /// `planned` | `in_progress` | `achieved` | `not_pursued` | `not_stated`.
    pub state: String,
    pub dup_objective: Option<DupObjectiveView>,
}

/// A section of an instrument (`""`: the instrument as a whole) and its links.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SectionEffects {
    pub section: String,
    /// Links per state, every state present.
    #[schema(value_type = Object)]
    pub by_state: BTreeMap<String, u64>,
    pub links: Vec<LinkedAction>,
}

/// A DUP objective with the actions that became it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DupObjectiveRollup {
    #[serde(flatten)]
    pub objective: DupObjectiveView,
    pub actions: Vec<LinkedAction>,
}

/// One instrument's effects.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstrumentEffects {
    /// `PTGM`, `PUMS`, `DUP` or another instrument's code.
    pub instrument: String,
    /// Its name, for the instruments the plan names (empty for others).
    pub name: String,
    /// Links to it from live actions.
    pub links: u64,
    /// Distinct live actions that link it.
    pub actions: u64,
    /// Links per state, every state present.
    #[schema(value_type = Object)]
    pub by_state: BTreeMap<String, u64>,
    /// Sections by name, the whole instrument (`""`) first.
    pub sections: Vec<SectionEffects>,
    /// DUP only: the objectives (strategic, then operational, then management, by
    /// code) with the actions that became them; empty for other instruments.
    pub dup_objectives: Vec<DupObjectiveRollup>,
}

/// `GET /api/v1/plans/{plan}/instruments`: PTGM, PUMS and DUP always, then every
/// other instrument a live action links, by code.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanInstruments {
    pub plan: String,
    pub instruments: Vec<InstrumentEffects>,
    /// Global position the read models had reached when this was answered.
    pub position: u64,
}

/// `GET /api/v1/plans/{plan}/instruments/{instrument}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstrumentView {
    pub plan: String,
    #[serde(flatten)]
    pub effects: InstrumentEffects,
    /// Global position the read models had reached when this was answered.
    pub position: u64,
}
