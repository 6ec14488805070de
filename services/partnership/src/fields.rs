//! Checks of body fields shared by the table and agreement decisions. Each one turns a
//! raw JSON value into a checked one or an [`ApiError::Validation`] naming the JSON
//! field, so the decisions read as their rules.

use metroplan_api::ApiError;

/// Longest name, title, organisation or person accepted, in characters.
pub const MAX_NAME_CHARS: usize = 300;
/// Longest free text (purpose, subject, description, decision) accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// `value` trimmed, not blank, at most `max` characters.
///
/// # Errors
/// [`ApiError::Validation`] on `field`.
pub fn required(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::validation(field, "is blank"));
    }
    optional(field, value, max)
}

/// `value` trimmed (possibly empty), at most `max` characters.
///
/// # Errors
/// [`ApiError::Validation`] on `field`.
pub fn optional(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(ApiError::validation(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// `value` if it is one of `allowed` (exactly, case included).
///
/// # Errors
/// [`ApiError::Validation`] on `field` listing the allowed values.
pub fn one_of(
    field: &str,
    value: &str,
    allowed: &[&'static str],
) -> Result<&'static str, ApiError> {
    allowed
        .iter()
        .copied()
        .find(|a| *a == value)
        .ok_or_else(|| {
            ApiError::validation(
                field,
                format!("{value:?} is not one of {}", allowed.join(", ")),
            )
        })
}
