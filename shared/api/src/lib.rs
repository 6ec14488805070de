//! Wire types shared by the gateway and the services, so that no service depends on
//! another's internals: who is asking ([`Caller`]), what a command returns
//! ([`CommandOutcome`]) and the closed set of errors ([`ApiError`]) that the gateway
//! maps once to RFC 9457 problem details.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub mod error;
pub mod indicators;
pub mod monitoring;
pub mod partnership;
pub mod plan;
pub mod questionnaire;
pub mod trend;
pub mod values;

pub use error::{ApiError, FieldError};

/// A role decides which commands a token may issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including token and plan administration.
    Admin,
    /// Edits the plan structure, tables and agreements; reports progress.
    Editor,
    /// Reports action progress.
    Reporter,
    /// Reads everything, including the audit views; writes nothing.
    Auditor,
    /// Reads.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Editor,
        Role::Reporter,
        Role::Auditor,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Reporter => "reporter",
            Role::Auditor => "auditor",
            Role::Viewer => "viewer",
        }
    }

    /// May edit the plan's structure, tables and agreements.
    pub fn can_edit(self) -> bool {
        matches!(self, Role::Admin | Role::Editor)
    }

    /// May report implementation progress.
    pub fn can_report(self) -> bool {
        matches!(self, Role::Admin | Role::Editor | Role::Reporter)
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role {s:?}: expected admin, editor, reporter, auditor or viewer")
            })
    }
}

/// Who issues a command: resolved from the bearer token by the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    pub actor: String,
    pub organisation: String,
    pub role: Role,
}

/// Everything a service needs besides the command itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommandContext {
    pub caller: Caller,
    /// Why, when the client says (`X-Reason` header or a `reason` field).
    pub reason: Option<String>,
    pub correlation_id: uuid::Uuid,
}

impl CommandContext {
    pub fn metadata(&self) -> metroplan_events::EventMetadata {
        metroplan_events::EventMetadata {
            actor: self.caller.actor.clone(),
            on_behalf_of: self.caller.organisation.clone(),
            reason: self.reason.clone(),
            correlation_id: Some(self.correlation_id),
            causation_id: None,
        }
    }
}

/// What every accepted command answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CommandOutcome {
    /// The stream the command wrote to.
    pub stream: String,
    /// The stream's version after the command (the new `ETag`).
    pub version: u64,
    /// Global position of the command's last event: pass it as `min_position` to read
    /// your own write.
    pub position: u64,
    /// Types of the events recorded, in order (empty when nothing changed).
    pub events: Vec<String>,
    /// True when a stale edit was merged with edits made since its base version.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub merged: bool,
    /// The id of a created resource (table, agreement, ...), when the command made one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What a CSV import of measurements stored, or would store on a dry run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<indicators::ImportSummary>,
}
