//! The closed set of errors a command or query can end in. The gateway maps each kind
//! to one HTTP status and an RFC 9457 problem document, in one place.

use serde::{Deserialize, Serialize};

/// One invalid field of a request, named by its JSON path (`funding_lines[0].planned`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ApiError {
    /// Input that breaks a rule: a malformed code, a negative amount, a date outside the period.
    #[error("invalid {field}: {message}")]
    Validation { field: String, message: String },
    /// A request naming something that does not exist.
    #[error("{what} not found")]
    NotFound { what: String },
    /// A command that the current state does not allow (a status transition, signing a
    /// draft with one party, adding what exists).
    #[error("{message}")]
    Rejected {
        field: Option<String>,
        message: String,
    },
    /// A file of rows (a CSV import) with bad rows: each with its line and why. Nothing
    /// was stored.
    #[error("bad rows: {}, nothing imported", rows.len())]
    InvalidRows {
        rows: Vec<crate::indicators::RowError>,
    },
    /// A stale edit overlapping edits made since its base: base, theirs and yours.
    #[error("edit conflicts on {fields:?}")]
    EditConflict {
        fields: Vec<String>,
        base_version: u64,
        current_version: u64,
        base: serde_json::Value,
        theirs: serde_json::Value,
        yours: serde_json::Value,
    },
    /// `If-Match` names a version the stream never had.
    #[error("precondition failed: {message}")]
    PreconditionFailed { message: String },
    #[error("authentication required")]
    Unauthorized,
    #[error("role {role} may not {action}")]
    Forbidden { role: String, action: String },
    #[error("service unavailable: {message}")]
    Unavailable { message: String },
    /// Unexpected: logged by whoever handles it, never sent in detail.
    #[error("internal error: {message}")]
    Internal { message: String },
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    pub fn rejected(field: Option<&str>, message: impl Into<String>) -> Self {
        Self::Rejected {
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::Internal {
            message: message.to_string(),
        }
    }
}
