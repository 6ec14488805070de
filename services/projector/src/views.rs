//! The read models' public shapes: what queries answer as JSON. Amounts are euro cents,
//! dates `YYYY-MM-DD`, times RFC 3339.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod funding;
mod instruments;
pub use funding::*;
pub use instruments::*;

/// One item of `GET /api/v1/plans`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanSummary {
    pub code: String,
    pub title: String,
    pub short_title: String,
    pub owner: String,
    pub period_from: String,
    pub period_to: String,
    /// Number of the latest adopted revision (0: none yet).
    pub revision: u32,
    pub version: u64,
}

/// Counts of actions per implementation status, with every status present.
pub type StatusCounts = BTreeMap<String, u64>;

/// Status and progress rolled up over a set of actions.
///
/// Rule: retired actions are left out; `progress` is the mean progress of the remaining
/// actions that are not cancelled (an action without a report counts 0); `status` is
/// `completed` when every counted action is completed, `not_started` when none has
/// started, `in_progress` otherwise; `cancelled`/`suspended` actions show in the counts.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Rollup {
    pub actions: u64,
    pub status: String,
    pub progress: f64,
    #[schema(value_type = Object)]
    pub by_status: StatusCounts,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanTree {
    pub code: String,
    pub title: String,
    pub short_title: String,
    pub owner: String,
    pub period_from: String,
    pub period_to: String,
    pub version: u64,
    pub revisions: Vec<RevisionView>,
    pub rollup: Rollup,
    pub axes: Vec<AxisNode>,
    /// Global position the read models had reached when this was answered.
    pub position: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RevisionView {
    pub number: u32,
    pub name: String,
    pub act: String,
    pub adopted_on: String,
    pub at_position: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AxisNode {
    pub code: String,
    pub name: String,
    pub slogan: String,
    pub description: String,
    pub pnrr_mission: String,
    pub rollup: Rollup,
    pub strategies: Vec<StrategyNode>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StrategyNode {
    pub code: String,
    pub axis: String,
    pub name: String,
    pub description: String,
    pub rollup: Rollup,
    pub actions: Vec<ActionNode>,
}

/// An action as it appears in the tree.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionNode {
    pub code: String,
    pub title: String,
    pub competence: String,
    pub status: String,
    pub progress: u32,
    pub version: u64,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct FundingLineView {
    pub source: String,
    pub programme: String,
    pub measure: String,
    pub planned_cents: i64,
    pub committed_cents: i64,
    pub spent_cents: i64,
    /// `PNRR` lines: `M1`..`M6`.
    pub mission: String,
    /// `EU-2021-2027` lines: the fund.
    pub fund: String,
    /// The agreement and commitment the line records, when it records one.
    pub agreement: String,
    pub commitment_id: String,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct InstrumentLinkView {
    pub instrument: String,
    pub section: String,
    pub effect: String,
    /// `planned` | `in_progress` | `achieved` | `not_pursued`; `""`: not stated.
    pub state: String,
    /// `DUP` links: the objective the action became.
    pub dup_objective: Option<DupObjectiveView>,
}

/// Latest implementation report of an action.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProgressView {
    pub status: String,
    pub progress: u32,
    pub note: String,
    pub evidence_url: String,
    pub reporting_organisation: String,
    pub as_of: String,
    pub reported_by: String,
    pub reported_at: String,
    pub version: u64,
}

/// `GET /api/v1/plans/{plan}/actions/{action}`: every field, its progress and agreements.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionView {
    pub plan: String,
    pub code: String,
    pub strategy: String,
    pub axis: String,
    pub title: String,
    pub description: String,
    pub competence: String,
    pub responsible_organisations: Vec<String>,
    pub partner_organisations: Vec<String>,
    pub territorial_scope: String,
    pub planned_start: String,
    pub planned_end: String,
    pub actual_start: String,
    pub actual_end: String,
    pub funding_lines: Vec<FundingLineView>,
    pub instrument_links: Vec<InstrumentLinkView>,
    pub retired: bool,
    /// The action stream's version: the `ETag` an edit sends back in `If-Match`.
    pub version: u64,
    pub status: String,
    pub progress: u32,
    pub latest_report: Option<ProgressView>,
    /// Agreements that link this action, with what they commit.
    pub agreements: Vec<AgreementRef>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgreementRef {
    pub id: String,
    pub title: String,
    pub status: String,
    pub committed_cents: i64,
}

/// One event in an action's or a plan's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub position: u64,
    pub stream: String,
    pub stream_version: u64,
    pub event_type: String,
    pub recorded_at: String,
    pub actor: String,
    pub on_behalf_of: String,
    pub reason: Option<String>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartyView {
    pub organisation: String,
    pub role: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommitmentView {
    pub commitment_id: String,
    pub party: String,
    pub description: String,
    pub amount_cents: i64,
    pub funding_source: String,
    pub funding_detail: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AmendmentView {
    pub amendment_number: u32,
    pub description: String,
    pub amended_on: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgreementView {
    pub id: String,
    pub plan: String,
    pub kind: String,
    pub title: String,
    pub subject: String,
    /// `draft`, `signed` or `terminated`.
    pub status: String,
    pub drafted_on: String,
    pub expires_on: String,
    pub signed_on: String,
    pub terminated_on: String,
    pub parties: Vec<PartyView>,
    pub actions: Vec<String>,
    pub commitments: Vec<CommitmentView>,
    pub committed_cents: i64,
    pub amendments: Vec<AmendmentView>,
    pub version: u64,
}

/// Agreements of one party, with the total it committed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartyAgreements {
    pub organisation: String,
    pub committed_cents: i64,
    pub agreements: Vec<AgreementView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub organisation: String,
    pub person: String,
    pub role: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionView {
    pub decision_id: String,
    pub text: String,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeetingView {
    pub meeting_id: String,
    pub held_on: String,
    pub title: String,
    pub decisions: Vec<DecisionView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TableView {
    pub id: String,
    pub plan: String,
    pub name: String,
    pub kind: String,
    pub purpose: String,
    pub members: Vec<MemberView>,
    pub meetings: Vec<MeetingView>,
    pub version: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AxisDashboard {
    pub code: String,
    pub name: String,
    pub rollup: Rollup,
    pub planned_cents: i64,
    pub committed_cents: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FundingSummary {
    /// Sum of the actions' funding lines.
    pub planned_cents: i64,
    pub committed_cents: i64,
    pub spent_cents: i64,
    /// Committed in agreements (counted apart, never added to the lines' figures).
    pub agreements_committed_cents: i64,
    /// Planned per funding source.
    #[schema(value_type = Object)]
    pub planned_by_source: BTreeMap<String, i64>,
}

/// `GET /api/v1/plans/{plan}/dashboard`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Dashboard {
    pub plan: String,
    pub title: String,
    pub rollup: Rollup,
    pub axes: Vec<AxisDashboard>,
    pub funding: FundingSummary,
    /// The latest changes, newest first.
    pub latest: Vec<HistoryEntry>,
    pub position: u64,
}

/// A revision with the plan it belongs to (the public feed).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdoptedRevision {
    pub plan: String,
    pub plan_title: String,
    pub revision: RevisionView,
}

/// One action in a [`ReadModelsDump`].
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionDump {
    pub view: ActionView,
    pub history: Vec<HistoryEntry>,
}

/// One plan in a [`ReadModelsDump`].
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanDump {
    pub summary: PlanSummary,
    pub tree: Option<PlanTree>,
    pub dashboard: Option<Dashboard>,
}

/// Every read model at one position, in a canonical order: `metroplan replay` writes
/// it, `GET /api/v1/audit/read-models` answers it, and the two must be equal.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadModelsDump {
    pub position: u64,
    pub plans: Vec<PlanDump>,
    pub actions: Vec<ActionDump>,
    pub tables: Vec<TableView>,
    pub agreements: Vec<AgreementView>,
    /// Every indicator, by plan then code.
    pub indicators: Vec<IndicatorView>,
    /// Every questionnaire campaign with its results, by plan then id.
    pub campaigns: Vec<crate::campaigns::CampaignDump>,
}

/// The latest measurement of an indicator's own territory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct LatestValue {
    pub period: String,
    /// Its current value (the last correction's, if any), a decimal as a string.
    pub value: String,
}

/// One indicator in `GET /api/v1/plans/{plan}/indicators`, with its classification
/// under the rule named by `rule_version` (see `metroplan_api::trend`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct IndicatorSummary {
    pub code: String,
    pub strategy: String,
    pub name: String,
    pub unit: String,
    pub source: String,
    /// `increase` | `decrease` | `stable`.
    pub direction: String,
    /// The territory of the baseline and target, whose measurements the trend reads.
    pub territory: String,
    pub baseline_value: String,
    pub baseline_year: u32,
    pub target_value: String,
    pub target_year: u32,
    pub latest: Option<LatestValue>,
    /// `improving` | `worsening` | `steady` | `insufficient_data`.
    pub trend: String,
    /// `achieved` | `on_track` | `off_track` | `not_assessable`.
    pub on_track: String,
    /// The version of the rule that classified `trend` and `on_track` (`trend-v1`).
    pub rule_version: String,
    /// Measurements recorded, every territory.
    pub measurements: u64,
    /// A retired indicator keeps its definition and series but takes no more
    /// measurements, corrections or edits.
    pub retired: bool,
    /// Why it was retired; `null` while it is live.
    pub retired_reason: Option<String>,
    /// The indicator stream's version: the `ETag` an edit sends back in `If-Match`.
    pub version: u64,
}

/// A strategy's indicators.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct StrategyIndicators {
    pub strategy: String,
    /// The strategy's name in the plan (empty when the plan does not know it).
    pub name: String,
    pub indicators: Vec<IndicatorSummary>,
}

/// `GET /api/v1/plans/{plan}/indicators`: every indicator, per strategy in plan order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct PlanIndicators {
    pub plan: String,
    pub rule_version: String,
    pub strategies: Vec<StrategyIndicators>,
    /// Global position the read models had reached when this was answered.
    pub position: u64,
}

/// A correction of a measurement: what it replaced, the new value, why, who and when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct CorrectionView {
    pub previous_value: String,
    pub value: String,
    pub reason: String,
    pub actor: String,
    pub on_behalf_of: String,
    pub recorded_at: String,
    pub position: u64,
}

/// A measurement with its original value, its current one and every correction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct MeasurementView {
    /// Its number in the indicator: the `{measurement}` of the corrections route.
    pub measurement: u32,
    pub period: String,
    pub territory: String,
    /// The current value: the last correction's, or the original.
    pub value: String,
    /// The value as first recorded.
    pub original_value: String,
    pub source_note: String,
    pub actor: String,
    pub on_behalf_of: String,
    pub recorded_at: String,
    pub position: u64,
    pub corrections: Vec<CorrectionView>,
}

/// `GET /api/v1/plans/{plan}/indicators/{code}`: the definition, the classification
/// and the measurement series (by territory, then period).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct IndicatorView {
    pub plan: String,
    #[serde(flatten)]
    pub summary: IndicatorSummary,
    pub series: Vec<MeasurementView>,
    /// Global position the read models had reached when this was answered.
    pub position: u64,
}
