//! Commands of the plan service, as they travel from the gateway: request bodies,
//! [`PlanCommand`] (one variant per command, with the ids from the path) and
//! [`PlanImport`], the JSON shape a plan's structure is imported from.
//!
//! The choice made: bodies are raw, JSON-friendly types (codes and dates as strings,
//! amounts as `i64` euro cents, places as `i64`), so that a body that parses as JSON
//! always reaches the service, and the service answers every broken rule with
//! [`ApiError::Validation`](crate::ApiError::Validation) naming the JSON field
//! (`funding_lines[0].planned_cents`). Command bodies refuse unknown fields, so a typo
//! is an error rather than a silently ignored change; [`PlanImport`] ignores unknown
//! keys instead, so that a richer document (such as `data/psm-torino-2021-2023.json`)
//! imports as is.
//!
//! Texts and dates that an edit may clear are cleared with an empty string `""`: JSON
//! `null` and an absent field both mean "leave as it is".

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Sets up a new plan: `POST /plans`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePlan {
    /// `PSM-2021-2023`: 1-40 letters, digits, `-` or `_`.
    pub code: String,
    pub title: String,
    #[serde(default)]
    pub short_title: Option<String>,
    /// The owning body, e.g. `Città metropolitana di Torino`.
    pub owner: String,
    /// `YYYY-MM-DD`.
    pub period_from: String,
    /// `YYYY-MM-DD`, not before `period_from`.
    pub period_to: String,
}

/// Adds an axis: `POST /plans/{plan}/axes`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddAxis {
    /// A one-part code, e.g. `2`.
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub slogan: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The PNRR mission it is aligned to, e.g. `M2`.
    #[serde(default)]
    pub pnrr_mission: Option<String>,
    /// 1-based place among the live axes; by default, the place its code sorts to.
    #[serde(default)]
    pub position: Option<i64>,
}

/// Changes an axis's texts: `PATCH /plans/{plan}/axes/{axis}`. At least one field.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditAxis {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub slogan: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub pnrr_mission: Option<String>,
}

/// Moves an axis in the plan's order: `POST /plans/{plan}/axes/{axis}/move`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveAxis {
    /// 1-based place among the live axes; past the end means last.
    pub position: i64,
}

/// Withdraws an axis that has no live strategy: `POST /plans/{plan}/axes/{axis}/retire`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireAxis {
    #[serde(default)]
    pub reason: Option<String>,
}

/// Adds a strategy: `POST /plans/{plan}/strategies`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddStrategy {
    /// A two-part code starting with its axis's code, e.g. `2.1`.
    pub code: String,
    /// The axis code; derived from `code` when absent, and must agree with it.
    #[serde(default)]
    pub axis: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// 1-based place among the axis's live strategies; by default, where its code sorts.
    #[serde(default)]
    pub position: Option<i64>,
}

/// Changes a strategy's texts: `PATCH /plans/{plan}/strategies/{strategy}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditStrategy {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// Moves a strategy to another axis and/or place; its code does not change.
/// `POST /plans/{plan}/strategies/{strategy}/move`. At least one field.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveStrategy {
    #[serde(default)]
    pub to_axis: Option<String>,
    /// 1-based place among the target axis's live strategies; by default, last.
    #[serde(default)]
    pub position: Option<i64>,
}

/// Withdraws a strategy that has no live action:
/// `POST /plans/{plan}/strategies/{strategy}/retire`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireStrategy {
    #[serde(default)]
    pub reason: Option<String>,
}

/// The funding sources of a funding line (and of an agreement's commitment).
pub const FUNDING_SOURCES: [&str; 6] = [
    "PNRR",
    "EU-2021-2027",
    "REGIONAL",
    "OWN",
    "PRIVATE",
    "OTHER",
];

/// The funds of an `EU-2021-2027` funding line.
pub const EU_FUNDS: [&str; 6] = ["FESR", "FSE+", "FEASR", "FEAMPA", "JTF", "INTERREG"];

/// The states of an action's effect on a planning instrument; a link may also leave
/// it unstated (`""`).
pub const EFFECT_STATES: [&str; 4] = ["planned", "in_progress", "achieved", "not_pursued"];

/// The levels of a DUP objective, from the widest.
pub const DUP_LEVELS: [&str; 3] = ["strategic", "operational", "management"];

/// One source of money for an action.
///
/// Per source: `PNRR` needs `programme`, the component (`M2C4`), and `measure`, the
/// measure code (`M2C4I3.1`, `M2C4 I3.1`, or `Investimento 3.1` / `Riforma 1.1` of the
/// component; stored as `M2C4I3.1`); `mission` (`M1`..`M6`) is derived from the
/// component when absent and must agree with it. `EU-2021-2027` needs `fund` (`FESR`,
/// `FSE+`, `FEASR`, `FEAMPA`, `JTF`, `INTERREG`) and `programme`. `OTHER` needs
/// `programme` to say what it is. `REGIONAL`, `OWN` and `PRIVATE` take any
/// `programme` and `measure`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FundingLineInput {
    /// `PNRR` | `EU-2021-2027` | `REGIONAL` | `OWN` | `PRIVATE` | `OTHER`.
    pub source: String,
    #[serde(default)]
    pub programme: Option<String>,
    #[serde(default)]
    pub measure: Option<String>,
    /// `PNRR` only: `M1`..`M6`; derived from the component when absent.
    #[serde(default)]
    pub mission: Option<String>,
    /// `EU-2021-2027` only: `FESR` | `FSE+` | `FEASR` | `FEAMPA` | `JTF` | `INTERREG`.
    #[serde(default)]
    pub fund: Option<String>,
    /// The id of the agreement whose commitment this line records (with
    /// `commitment_id`): that commitment then counts through this line only.
    #[serde(default)]
    pub agreement: Option<String>,
    /// The commitment's id in `agreement`.
    #[serde(default)]
    pub commitment_id: Option<String>,
    /// Euro cents, 0 or more.
    #[serde(default)]
    pub planned_cents: i64,
    /// Euro cents, 0 or more; may exceed `planned_cents`.
    #[serde(default)]
    pub committed_cents: i64,
    /// Euro cents, 0 or more, not above `committed_cents` (a payment follows a
    /// commitment).
    #[serde(default)]
    pub spent_cents: i64,
}

/// What an action does to one planning instrument.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstrumentLinkInput {
    /// `PTGM`, `PUMS`, `DUP` or another instrument's code.
    pub instrument: String,
    #[serde(default)]
    pub section: Option<String>,
    #[serde(default)]
    pub effect: Option<String>,
    /// `planned` | `in_progress` | `achieved` | `not_pursued`; absent or `""`: not stated.
    #[serde(default)]
    pub state: Option<String>,
    /// `DUP` links only: the DUP objective the action became.
    #[serde(default)]
    pub dup_objective: Option<DupObjectiveInput>,
}

/// An objective of the DUP (Documento Unico di Programmazione) that an action became.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DupObjectiveInput {
    /// `strategic` | `operational` | `management`.
    pub level: String,
    /// The objective's code as the DUP writes it (1-40 characters).
    pub code: String,
    pub title: String,
}

/// Adds an action: `POST /plans/{plan}/actions`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddAction {
    /// A three-part code, e.g. `2.1.3`; its identity for good.
    pub code: String,
    /// The strategy code; derived from `code` when absent, and must agree with it.
    #[serde(default)]
    pub strategy: Option<String>,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `direct` or `steering`.
    pub competence: String,
    #[serde(default)]
    pub responsible_organisations: Option<Vec<String>>,
    #[serde(default)]
    pub partner_organisations: Option<Vec<String>>,
    #[serde(default)]
    pub territorial_scope: Option<String>,
    /// `YYYY-MM-DD`, inside the plan's period.
    #[serde(default)]
    pub planned_start: Option<String>,
    /// `YYYY-MM-DD`, inside the plan's period, not before `planned_start`.
    #[serde(default)]
    pub planned_end: Option<String>,
    #[serde(default)]
    pub funding_lines: Option<Vec<FundingLineInput>>,
    #[serde(default)]
    pub instrument_links: Option<Vec<InstrumentLinkInput>>,
}

/// Changes an action's definition: `PATCH /plans/{plan}/actions/{action}`, with
/// `If-Match` naming the version the editor saw. Every field is optional and at least
/// one is needed; a present list replaces the whole list; `""` clears a text or date.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditAction {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub competence: Option<String>,
    #[serde(default)]
    pub responsible_organisations: Option<Vec<String>>,
    #[serde(default)]
    pub partner_organisations: Option<Vec<String>>,
    #[serde(default)]
    pub territorial_scope: Option<String>,
    #[serde(default)]
    pub planned_start: Option<String>,
    #[serde(default)]
    pub planned_end: Option<String>,
    #[serde(default)]
    pub actual_start: Option<String>,
    #[serde(default)]
    pub actual_end: Option<String>,
    #[serde(default)]
    pub funding_lines: Option<Vec<FundingLineInput>>,
    #[serde(default)]
    pub instrument_links: Option<Vec<InstrumentLinkInput>>,
}

/// Moves an action to another strategy or place; its code does not change.
/// `POST /plans/{plan}/actions/{action}/move`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveAction {
    pub to_strategy: String,
    /// Order key among the target strategy's actions (they list by key, then code);
    /// by default, after the last one.
    #[serde(default)]
    pub position: Option<i64>,
}

/// Withdraws an action: `POST /plans/{plan}/actions/{action}/retire`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireAction {
    #[serde(default)]
    pub reason: Option<String>,
}

/// Adopts a revision of the plan, freezing it as it stands:
/// `POST /plans/{plan}/revisions`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdoptRevision {
    /// e.g. `Aggiornamento 2022`.
    pub name: String,
    /// e.g. `Deliberazione del Consiglio metropolitano n.71/2022`.
    pub act: String,
    /// `YYYY-MM-DD`, not before the previous revision's.
    pub adopted_on: String,
}

/// A command for the plan service, with the ids the gateway took from the path.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum PlanCommand {
    CreatePlan {
        body: CreatePlan,
    },
    AddAxis {
        plan: String,
        body: AddAxis,
    },
    EditAxis {
        plan: String,
        axis: String,
        body: EditAxis,
    },
    MoveAxis {
        plan: String,
        axis: String,
        body: MoveAxis,
    },
    RetireAxis {
        plan: String,
        axis: String,
        body: RetireAxis,
    },
    AddStrategy {
        plan: String,
        body: AddStrategy,
    },
    EditStrategy {
        plan: String,
        strategy: String,
        body: EditStrategy,
    },
    MoveStrategy {
        plan: String,
        strategy: String,
        body: MoveStrategy,
    },
    RetireStrategy {
        plan: String,
        strategy: String,
        body: RetireStrategy,
    },
    AddAction {
        plan: String,
        body: AddAction,
    },
    EditAction {
        plan: String,
        action: String,
        /// The action stream version the editor saw (`If-Match`); `None` edits
        /// whatever the current version is.
        base_version: Option<u64>,
        body: EditAction,
    },
    MoveAction {
        plan: String,
        action: String,
        body: MoveAction,
    },
    RetireAction {
        plan: String,
        action: String,
        body: RetireAction,
    },
    AdoptRevision {
        plan: String,
        body: AdoptRevision,
    },
}

impl PlanCommand {
    /// The command's name, as in its serde tag (`edit_action`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::CreatePlan { .. } => "create_plan",
            Self::AddAxis { .. } => "add_axis",
            Self::EditAxis { .. } => "edit_axis",
            Self::MoveAxis { .. } => "move_axis",
            Self::RetireAxis { .. } => "retire_axis",
            Self::AddStrategy { .. } => "add_strategy",
            Self::EditStrategy { .. } => "edit_strategy",
            Self::MoveStrategy { .. } => "move_strategy",
            Self::RetireStrategy { .. } => "retire_strategy",
            Self::AddAction { .. } => "add_action",
            Self::EditAction { .. } => "edit_action",
            Self::MoveAction { .. } => "move_action",
            Self::RetireAction { .. } => "retire_action",
            Self::AdoptRevision { .. } => "adopt_revision",
        }
    }

    /// The plan the command is about (for `create_plan`, the code it creates).
    pub fn plan(&self) -> &str {
        match self {
            Self::CreatePlan { body } => &body.code,
            Self::AddAxis { plan, .. }
            | Self::EditAxis { plan, .. }
            | Self::MoveAxis { plan, .. }
            | Self::RetireAxis { plan, .. }
            | Self::AddStrategy { plan, .. }
            | Self::EditStrategy { plan, .. }
            | Self::MoveStrategy { plan, .. }
            | Self::RetireStrategy { plan, .. }
            | Self::AddAction { plan, .. }
            | Self::EditAction { plan, .. }
            | Self::MoveAction { plan, .. }
            | Self::RetireAction { plan, .. }
            | Self::AdoptRevision { plan, .. } => plan,
        }
    }
}

/// A plan's structure to import: header, axes, strategies and actions. Accepts the
/// shape of `data/psm-torino-2021-2023.json` (`strategies_confirmed` and
/// `actions_confirmed` are aliases of `strategies` and `actions`, an action's
/// `summary_en` of its `description`); unknown keys are ignored.
///
/// Importing adds what is not there yet and leaves what is: it never changes an
/// existing item, and running it twice records nothing the second time.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlanImport {
    pub plan: ImportedPlan,
    #[serde(default)]
    pub axes: Vec<ImportedAxis>,
    #[serde(default, alias = "strategies_confirmed")]
    pub strategies: Vec<ImportedStrategy>,
    #[serde(default, alias = "actions_confirmed")]
    pub actions: Vec<ImportedAction>,
}

/// The plan header of an import.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportedPlan {
    pub code: String,
    pub title: String,
    #[serde(default)]
    pub short_title: Option<String>,
    pub owner: String,
    pub period: ImportedPeriod,
}

/// First and last day of a plan, `YYYY-MM-DD`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportedPeriod {
    pub from: String,
    pub to: String,
}

/// An axis of an import.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportedAxis {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub slogan: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub pnrr_mission: Option<String>,
}

/// A strategy of an import.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportedStrategy {
    pub code: String,
    #[serde(default)]
    pub axis: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// An action of an import. `competence` may be absent: a plan's public sources do not
/// always state it, and the import records it as not stated rather than invent it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportedAction {
    pub code: String,
    #[serde(default)]
    pub strategy: Option<String>,
    pub title: String,
    #[serde(default, alias = "summary_en")]
    pub description: Option<String>,
    #[serde(default)]
    pub competence: Option<String>,
    #[serde(default)]
    pub responsible_organisations: Option<Vec<String>>,
    #[serde(default)]
    pub partner_organisations: Option<Vec<String>>,
    #[serde(default)]
    pub territorial_scope: Option<String>,
    #[serde(default)]
    pub planned_start: Option<String>,
    #[serde(default)]
    pub planned_end: Option<String>,
    #[serde(default)]
    pub actual_start: Option<String>,
    #[serde(default)]
    pub actual_end: Option<String>,
    #[serde(default)]
    pub funding_lines: Option<Vec<FundingLineInput>>,
    #[serde(default)]
    pub instrument_links: Option<Vec<InstrumentLinkInput>>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportSummary {
    pub plan: String,
    /// True when the plan did not exist and the import created it.
    pub plan_created: bool,
    pub axes_added: u64,
    pub strategies_added: u64,
    pub actions_added: u64,
    /// Axes, strategies and actions that were already there (live or retired) and
    /// were left as they are.
    pub already_present: u64,
    /// Global position of the import's last event, or of the log's head when it
    /// recorded nothing: pass it as `min_position` to read the imported plan.
    pub position: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_torino_plan_file_parses_as_an_import() {
        let text = include_str!("../../../data/psm-torino-2021-2023.json");
        let import: PlanImport = serde_json::from_str(text).unwrap();
        assert_eq!(import.plan.code, "PSM-2021-2023");
        assert_eq!(import.plan.period.from, "2021-01-01");
        assert_eq!(import.axes.len(), 6);
        assert_eq!(import.strategies.len(), 10);
        assert_eq!(import.actions.len(), 10);
        assert!(
            import.actions[0]
                .description
                .as_deref()
                .is_some_and(|d| !d.is_empty())
        );
        assert_eq!(import.actions[0].competence, None);
    }

    #[test]
    fn command_bodies_refuse_unknown_fields() {
        let err = serde_json::from_str::<EditAction>(r#"{"titel":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn commands_are_tagged_by_name() {
        let json = r#"{"command":"edit_action","plan":"P","action":"1.1.1","base_version":3,"body":{"title":"t"}}"#;
        let cmd: PlanCommand = serde_json::from_str(json).unwrap();
        assert_eq!(cmd.name(), "edit_action");
        assert_eq!(cmd.plan(), "P");
    }
}
