//! Commands of the partnership service: concertation tables (members, meetings,
//! decisions) and agreements (parties, linked actions, commitments, signing,
//! amendments, termination).
//!
//! Request bodies keep raw JSON types (strings for codes, kinds and dates, `i64` for
//! amounts) and refuse unknown fields, so that the service judges the values and
//! answers [`ApiError::Validation`](crate::ApiError) naming the offending JSON field
//! (`decisions[1].actions[0]`). Ids of tables, agreements, meetings and commitments are
//! chosen by the service and returned in
//! [`CommandOutcome::id`](crate::CommandOutcome); ids of existing resources travel
//! beside the body in [`PartnershipCommand`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Sets up a concertation table for a plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTable {
    #[schema(example = "Tavolo permanente sulla montagna")]
    pub name: String,
    /// `permanent_mountain` | `coordination` (with institutions) | `social_partners` |
    /// `civil_society` | `universities`.
    #[schema(example = "permanent_mountain")]
    pub kind: String,
    /// What the table is for; may be empty.
    #[serde(default)]
    pub purpose: String,
}

/// An organisation, or one person for it, joins a table.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTableMember {
    #[schema(example = "UNCEM Piemonte")]
    pub organisation: String,
    /// The person representing the organisation; absent when it sits as such.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// `chair` | `member_by_right` | `member` | `technical_partner` | `observer`.
    #[schema(example = "member_by_right")]
    pub role: String,
}

/// A member (organisation and person, as when it joined) leaves a table.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveTableMember {
    pub organisation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
}

/// One decision taken in a meeting.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub text: String,
    /// Codes of actions of the table's plan the decision touches (`2.1.3`).
    #[serde(default)]
    pub actions: Vec<String>,
}

/// A table met; its decisions are recorded in order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordMeeting {
    /// `YYYY-MM-DD`.
    #[schema(example = "2022-05-12")]
    pub held_on: String,
    pub title: String,
    #[serde(default)]
    pub decisions: Vec<DecisionInput>,
}

/// Opens the draft of an agreement for a plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftAgreement {
    /// `intesa` | `accordo` | `partnership`.
    #[schema(example = "accordo")]
    pub kind: String,
    pub title: String,
    /// What the agreement is about.
    pub subject: String,
    /// Last day in force, `YYYY-MM-DD`, after the drafting date; absent when the
    /// agreement has no expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<String>,
    /// `YYYY-MM-DD`; today (UTC) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drafted_on: Option<String>,
}

/// An organisation becomes a party to an agreement.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddParty {
    #[schema(example = "Città metropolitana di Torino")]
    pub organisation: String,
    /// `promoter` | `party` | `funder` | `implementer`.
    #[schema(example = "promoter")]
    pub role: String,
}

/// An organisation stops being a party; it must have no live commitment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveParty {
    pub organisation: String,
}

/// Links an action of the agreement's plan to the agreement.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkAction {
    #[schema(example = "3.1.1")]
    pub action: String,
}

/// Unlinks an action from the agreement.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnlinkAction {
    pub action: String,
}

/// A party commits to fund or provide something.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MakeCommitment {
    /// The committing organisation; must be a party.
    pub party: String,
    pub description: String,
    /// Euro cents, 0 or more (0 for a commitment in kind).
    #[schema(example = 150_000_000)]
    pub amount_cents: i64,
    /// `PNRR` | `EU-2021-2027` | `OWN` | `REGIONAL` | `PRIVATE` | `OTHER`.
    #[schema(example = "PNRR")]
    pub funding_source: String,
    /// Programme, measure or budget line; required for `OTHER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding_detail: Option<String>,
}

/// Withdraws a live commitment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawCommitment {
    pub commitment_id: String,
}

/// Records the signing of the agreement.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignAgreement {
    /// `YYYY-MM-DD`, not before drafting and before expiry.
    pub signed_on: String,
    /// The organisations that signed, each a party; every party when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatories: Option<Vec<String>>,
}

/// Records an amendment of a signed agreement.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendAgreement {
    pub description: String,
    /// `YYYY-MM-DD`, not before signing nor the previous amendment.
    pub amended_on: String,
    /// The new last day in force, after `amended_on`; absent to keep the expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_expires_on: Option<String>,
}

/// Ends the agreement; it accepts nothing more afterwards.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerminateAgreement {
    /// `YYYY-MM-DD`, not before drafting, signing or the last amendment.
    pub terminated_on: String,
    pub reason: String,
}

/// Every command of the partnership service, with the ids the route carries: the plan
/// for what creates, the table or agreement id for the rest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum PartnershipCommand {
    CreateTable {
        plan: String,
        body: CreateTable,
    },
    AddTableMember {
        table_id: String,
        body: AddTableMember,
    },
    RemoveTableMember {
        table_id: String,
        body: RemoveTableMember,
    },
    RecordMeeting {
        table_id: String,
        body: RecordMeeting,
    },
    DraftAgreement {
        plan: String,
        body: DraftAgreement,
    },
    AddParty {
        agreement_id: String,
        body: AddParty,
    },
    RemoveParty {
        agreement_id: String,
        body: RemoveParty,
    },
    LinkAction {
        agreement_id: String,
        body: LinkAction,
    },
    UnlinkAction {
        agreement_id: String,
        body: UnlinkAction,
    },
    MakeCommitment {
        agreement_id: String,
        body: MakeCommitment,
    },
    WithdrawCommitment {
        agreement_id: String,
        body: WithdrawCommitment,
    },
    SignAgreement {
        agreement_id: String,
        body: SignAgreement,
    },
    AmendAgreement {
        agreement_id: String,
        body: AmendAgreement,
    },
    TerminateAgreement {
        agreement_id: String,
        body: TerminateAgreement,
    },
}
