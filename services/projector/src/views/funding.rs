//! `GET /api/v1/plans/{plan}/funding`: the plan's money rolled up per axis, strategy,
//! source, PNRR mission and EU fund, with the agreements' commitments counted once
//! (the rule is documented on [`PlanFunding`]).

use serde::Serialize;
use utoipa::ToSchema;

use super::FundingLineView;

/// The version of the rule that counts agreements' commitments once.
pub const FUNDING_RULE: &str = "counted-once-v1";

/// Planned, committed and spent euro cents, with the part of `committed_cents` that
/// comes from agreements' commitments that no funding line records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Amounts {
    pub planned_cents: i64,
    /// The lines' committed amounts plus `agreements_committed_cents`.
    pub committed_cents: i64,
    pub spent_cents: i64,
    /// Commitments of live agreements that no funding line records (already inside
    /// `committed_cents`).
    pub agreements_committed_cents: i64,
}

impl Amounts {
    pub(crate) fn add_line(&mut self, l: &FundingLineView) {
        self.planned_cents = self.planned_cents.saturating_add(l.planned_cents);
        self.committed_cents = self.committed_cents.saturating_add(l.committed_cents);
        self.spent_cents = self.spent_cents.saturating_add(l.spent_cents);
    }

    pub(crate) fn add_commitment(&mut self, cents: i64) {
        self.committed_cents = self.committed_cents.saturating_add(cents);
        self.agreements_committed_cents = self.agreements_committed_cents.saturating_add(cents);
    }

    pub(crate) fn add(&mut self, o: &Amounts) {
        self.planned_cents = self.planned_cents.saturating_add(o.planned_cents);
        self.committed_cents = self.committed_cents.saturating_add(o.committed_cents);
        self.spent_cents = self.spent_cents.saturating_add(o.spent_cents);
        self.agreements_committed_cents = self
            .agreements_committed_cents
            .saturating_add(o.agreements_committed_cents);
    }
}

/// One axis's money.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AxisFunding {
    pub axis: String,
    pub name: String,
    pub pnrr_mission: String,
    #[serde(flatten)]
    pub amounts: Amounts,
}

/// One strategy's money.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StrategyFunding {
    pub strategy: String,
    pub axis: String,
    pub name: String,
    #[serde(flatten)]
    pub amounts: Amounts,
}

/// The money of one key: a source, a PNRR mission, an EU fund (`unstated` when a
/// line or commitment does not say).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyFunding {
    pub key: String,
    #[serde(flatten)]
    pub amounts: Amounts,
}

/// One action's funding lines and their sum.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionFunding {
    pub action: String,
    pub strategy: String,
    pub axis: String,
    pub title: String,
    pub lines: Vec<FundingLineView>,
    #[serde(flatten)]
    pub amounts: Amounts,
}

/// How a commitment of an agreement is counted.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommitmentFunding {
    pub commitment_id: String,
    pub party: String,
    pub description: String,
    pub amount_cents: i64,
    pub funding_source: String,
    pub funding_detail: String,
    /// `through_lines`: funding lines record it and it counts through them only;
    /// `agreement`: no line records it, it counts once as the agreement's;
    /// `not_counted`: its agreement was terminated and no line records it.
    pub counted: String,
    /// The actions whose funding lines record it.
    pub recorded_by: Vec<String>,
    /// Where an `agreement` commitment counts: the strategy (or axis) every linked
    /// live action of its agreement lies in, `unattributed` otherwise; empty for the
    /// other kinds.
    pub strategy: String,
    pub axis: String,
}

/// An agreement of the plan with how each commitment counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgreementFunding {
    pub id: String,
    pub title: String,
    pub status: String,
    /// Its linked actions.
    pub actions: Vec<String>,
    pub commitments: Vec<CommitmentFunding>,
}

/// A funding line that records a commitment the plan's agreements do not hold (an
/// unknown agreement or commitment, or one withdrawn since): the line still counts,
/// as the action's own figure; the plan office should check it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnmatchedCommitment {
    pub action: String,
    pub agreement: String,
    pub commitment_id: String,
}

/// `GET /api/v1/plans/{plan}/funding`.
///
/// **The counted-once rule (`counted-once-v1`).** The plan's money is its live
/// actions' funding lines (retired actions are left out). An agreement's commitment
/// is counted once:
///
/// 1. A funding line may record a commitment (`agreement` + `commitment_id`): then the
///    commitment counts through that line only, where the line counts (its action's
///    strategy and axis, its source), never a second time as the agreement's.
/// 2. A live commitment (made, not withdrawn, in an agreement not terminated) that no
///    line of a live action records counts once as committed money
///    (`agreements_committed_cents`, also inside `committed_cents`): in the plan's
///    total and under its own funding source; in a strategy (an axis) only when every
///    live action its agreement links lies in that strategy (axis); otherwise in the
///    `unattributed` (`axes_unattributed`) bucket. So the strategies plus
///    `unattributed`, and the axes plus `axes_unattributed`, equal `total`.
/// 3. A commitment of a terminated agreement that no line records does not count.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanFunding {
    pub plan: String,
    /// The counting rule's version: `counted-once-v1`.
    pub rule_version: String,
    pub total: Amounts,
    pub axes: Vec<AxisFunding>,
    /// Agreements' commitments whose linked actions span several axes (or none).
    pub axes_unattributed: Amounts,
    pub strategies: Vec<StrategyFunding>,
    /// Agreements' commitments whose linked actions span several strategies (or none).
    pub unattributed: Amounts,
    /// Per funding source, as recorded (lines recorded before the vocabulary was
    /// closed keep their own code).
    pub sources: Vec<KeyFunding>,
    /// The `PNRR` source per mission (`M1`..`M6`, or `unstated`).
    pub pnrr_missions: Vec<KeyFunding>,
    /// The `EU-2021-2027` source per fund (`FESR`, `FSE+`, ..., or `unstated`).
    pub eu_funds: Vec<KeyFunding>,
    pub actions: Vec<ActionFunding>,
    pub agreements: Vec<AgreementFunding>,
    /// Lines that record a commitment no agreement of the plan holds.
    pub unmatched_commitments: Vec<UnmatchedCommitment>,
    /// Global position the read models had reached when this was answered.
    pub position: u64,
}
