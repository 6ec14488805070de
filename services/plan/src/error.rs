//! The plan service's domain errors: what a decision refuses, as one closed enum that
//! maps once to the wire's [`ApiError`]. Fields are named by their JSON path in the
//! request (`funding_lines[0].planned_cents`), so the gateway can point at them.

use metroplan_api::ApiError;

/// Why a decision refuses a command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// Input that breaks a rule by itself: a malformed code, a negative amount, a date
    /// outside the plan's period.
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    /// The command names a plan, axis, strategy or action that does not exist.
    #[error("{what} not found")]
    NotFound { what: String },
    /// The current state does not allow the command: a duplicate code, a retired
    /// parent, an edit of a retired action.
    #[error("{message}")]
    Rejected {
        field: Option<String>,
        message: String,
    },
    /// A stale edit changes fields that others changed since its base version.
    #[error("edit conflicts on {}", .0.fields.join(", "))]
    EditConflict(Box<EditConflict>),
    /// The edit's base version is newer than the stream.
    #[error(
        "base version {base_version} is ahead of the stream, which is at version {current_version}"
    )]
    BaseAhead {
        base_version: u64,
        current_version: u64,
    },
}

/// The three sides of an edit conflict, keyed by field name, for a person to resolve.
#[derive(Debug, Clone, PartialEq)]
pub struct EditConflict {
    pub fields: Vec<String>,
    pub base_version: u64,
    pub current_version: u64,
    /// The fields' values at the base version.
    pub base: serde_json::Value,
    /// Their values now.
    pub theirs: serde_json::Value,
    /// The values the edit sends.
    pub yours: serde_json::Value,
}

impl DomainError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    pub(crate) fn rejected(field: Option<&str>, message: impl Into<String>) -> Self {
        Self::Rejected {
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    /// Places the error's field under `prefix` (`actions[3].` + `code`), for a command
    /// that is one part of a larger document such as an import.
    #[must_use]
    pub fn within(self, prefix: &str) -> Self {
        match self {
            Self::Invalid { field, message } => Self::Invalid {
                field: format!("{prefix}{field}"),
                message,
            },
            Self::Rejected {
                field: Some(field),
                message,
            } => Self::Rejected {
                field: Some(format!("{prefix}{field}")),
                message,
            },
            other => other,
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid { field, message } => ApiError::Validation { field, message },
            DomainError::NotFound { what } => ApiError::NotFound { what },
            DomainError::Rejected { field, message } => ApiError::Rejected { field, message },
            DomainError::EditConflict(c) => ApiError::EditConflict {
                fields: c.fields,
                base_version: c.base_version,
                current_version: c.current_version,
                base: c.base,
                theirs: c.theirs,
                yours: c.yours,
            },
            e @ DomainError::BaseAhead { .. } => ApiError::PreconditionFailed {
                message: e.to_string(),
            },
        }
    }
}
