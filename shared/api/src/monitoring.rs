//! Commands of the monitoring service: reporting an action's implementation progress,
//! and defining, editing and retiring context indicators and recording, correcting and
//! importing their measurements (bodies in [`crate::indicators`]).
//!
//! Request bodies keep raw JSON types (strings for codes, statuses and dates, `i64`
//! for the percentage) and refuse unknown fields, so that the service, not the JSON
//! decoder, judges the values and answers [`ApiError::Validation`](crate::ApiError)
//! naming the offending JSON field. The path ids travel beside the body in
//! [`MonitoringCommand`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::indicators::{
    CorrectMeasurement, DefineIndicator, EditIndicator, RecordMeasurement, RetireIndicator,
};
use crate::questionnaire::{DraftCampaign, LinkHash, SetQuestions, SubmitAnswers};

/// Body of `POST /api/v1/plans/{plan}/actions/{action}/progress`: the action's status
/// as of a date, as a whole statement (not a patch of the previous report).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportProgress {
    /// `not_started` | `started` | `in_progress` | `completed` | `suspended` |
    /// `cancelled`; the move from the current status must be allowed (see
    /// [`Status::may_become`](crate::values::Status::may_become)).
    #[schema(example = "in_progress")]
    pub status: String,
    /// Percentage 0-100: 100 when `completed`, 0 when `not_started`.
    #[schema(example = 40)]
    pub progress: i64,
    /// What was done or what blocks it; may be empty.
    pub note: String,
    /// The date the report describes, `YYYY-MM-DD`, inside the plan's period and not
    /// before the previous report's.
    #[schema(example = "2022-06-30")]
    pub as_of: String,
    /// An `http://` or `https://` link to the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_url: Option<String>,
    /// The organisation the report speaks for; the caller's organisation when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_organisation: Option<String>,
}

/// Every command of the monitoring service, with the ids the route carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum MonitoringCommand {
    /// `POST /api/v1/plans/{plan}/actions/{action}/progress`.
    ReportProgress {
        plan: String,
        action: String,
        body: ReportProgress,
    },
    /// `POST /api/v1/plans/{plan}/indicators`.
    DefineIndicator { plan: String, body: DefineIndicator },
    /// `PATCH /api/v1/plans/{plan}/indicators/{indicator}`.
    EditIndicator {
        plan: String,
        indicator: String,
        /// The indicator stream's version the editor saw (`If-Match`); `None` edits
        /// whatever the current version is.
        base_version: Option<u64>,
        body: EditIndicator,
    },
    /// `POST /api/v1/plans/{plan}/indicators/{indicator}/retire`.
    RetireIndicator {
        plan: String,
        indicator: String,
        body: RetireIndicator,
    },
    /// `POST /api/v1/plans/{plan}/indicators/{indicator}/measurements`.
    RecordMeasurement {
        plan: String,
        indicator: String,
        body: RecordMeasurement,
    },
    /// `POST /api/v1/plans/{plan}/indicators/{indicator}/measurements/{measurement}/corrections`.
    CorrectMeasurement {
        plan: String,
        indicator: String,
        measurement: String,
        body: CorrectMeasurement,
    },
    /// `POST /api/v1/plans/{plan}/indicators/measurements/import`: a CSV file of
    /// measurements, checked whole; stored only when every row is valid and `dry_run`
    /// is false.
    ImportMeasurements {
        plan: String,
        csv: String,
        dry_run: bool,
    },
    /// `POST /api/v1/plans/{plan}/campaigns`.
    DraftCampaign { plan: String, body: DraftCampaign },
    /// `PUT /api/v1/plans/{plan}/campaigns/{campaign}/questions`.
    SetQuestions {
        plan: String,
        campaign: String,
        body: SetQuestions,
    },
    /// `POST /api/v1/plans/{plan}/campaigns/{campaign}/open`.
    OpenCampaign { plan: String, campaign: String },
    /// `POST /api/v1/plans/{plan}/campaigns/{campaign}/invitations`: the gateway made
    /// the link's secret and sends only its hash.
    InviteOrganisation {
        plan: String,
        campaign: String,
        organisation: String,
        link: LinkHash,
    },
    /// `POST /api/v1/plans/{plan}/campaigns/{campaign}/links`: a new link for an invited
    /// organisation, made by the gateway like an invitation's.
    ReplaceLink {
        plan: String,
        campaign: String,
        organisation: String,
        link: LinkHash,
    },
    /// `PUT /api/v1/questionnaire/{secret}/answers`: the link's hash is the
    /// credential, checked by the service against the campaign's invitations.
    SubmitAnswers {
        plan: String,
        campaign: String,
        link: LinkHash,
        body: SubmitAnswers,
    },
    /// `POST /api/v1/plans/{plan}/campaigns/{campaign}/close`.
    CloseCampaign { plan: String, campaign: String },
}
