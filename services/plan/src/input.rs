//! Turning the raw strings and numbers of a request body into the values an event
//! records, each check naming the JSON field it is about. The decisions call these;
//! the parsed value is what gets stored (texts trimmed, dates canonical), so two
//! sends of the same meaning compare equal.

use std::cmp::Ordering;

use metroplan_api::plan::{FundingLineInput, InstrumentLinkInput};
use metroplan_api::values::{Cents, Date, ItemCode, Level};
use metroplan_events::pb;

use crate::error::DomainError;

/// The competences an action may have.
pub const COMPETENCES: [&str; 2] = ["direct", "steering"];

/// A plan's period, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

impl Period {
    pub fn contains(&self, day: Date) -> bool {
        self.from <= day && day <= self.to
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} to {}", self.from, self.to)
    }
}

/// A trimmed, non-empty text.
pub(crate) fn required_text(field: &str, s: &str) -> Result<String, DomainError> {
    let t = s.trim();
    if t.is_empty() {
        Err(DomainError::invalid(field, "must not be empty"))
    } else {
        Ok(t.to_owned())
    }
}

/// A trimmed text, empty when absent.
pub(crate) fn optional_text(s: Option<&str>) -> String {
    s.map(str::trim).unwrap_or_default().to_owned()
}

/// A dotted code at `level`.
pub(crate) fn item_code(field: &str, s: &str, level: Level) -> Result<ItemCode, DomainError> {
    ItemCode::parse_level(s.trim(), level).map_err(|m| DomainError::invalid(field, m))
}

/// A `YYYY-MM-DD` date.
pub(crate) fn date(field: &str, s: &str) -> Result<Date, DomainError> {
    Date::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| DomainError::invalid(field, format!("{s:?} is not a date YYYY-MM-DD")))
}

/// A date that may be cleared: `""` (or absent) is no date. Canonical `YYYY-MM-DD` text.
pub(crate) fn optional_date(field: &str, s: Option<&str>) -> Result<String, DomainError> {
    match s.map(str::trim) {
        None | Some("") => Ok(String::new()),
        Some(s) => Ok(date(field, s)?.to_string()),
    }
}

/// A stored date string, `None` when empty or unreadable.
pub(crate) fn stored_date(s: &str) -> Option<Date> {
    Date::parse_from_str(s, "%Y-%m-%d").ok()
}

/// `direct` or `steering`.
pub(crate) fn competence(field: &str, s: &str) -> Result<String, DomainError> {
    let t = s.trim();
    if COMPETENCES.contains(&t) {
        Ok(t.to_owned())
    } else {
        Err(DomainError::invalid(
            field,
            format!("{s:?} is not a competence: direct or steering"),
        ))
    }
}

/// A list of organisation names: each trimmed and non-empty, no repeats.
pub(crate) fn organisations(field: &str, names: &[String]) -> Result<Vec<String>, DomainError> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let name = required_text(&format!("{field}[{i}]"), name)?;
        if out.contains(&name) {
            return Err(DomainError::invalid(
                format!("{field}[{i}]"),
                format!("{name:?} is listed twice"),
            ));
        }
        out.push(name);
    }
    Ok(out)
}

fn cents(field: &str, v: i64) -> Result<i64, DomainError> {
    Cents::try_from(v)
        .map(Cents::get)
        .map_err(|m| DomainError::invalid(field, m))
}

/// A short code of letters, digits, `-`, `_` or `.` (a funding source, an instrument).
fn short_code(field: &str, s: &str) -> Result<String, DomainError> {
    let t = s.trim();
    let ok = !t.is_empty()
        && t.len() <= 40
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(t.to_owned())
    } else {
        Err(DomainError::invalid(
            field,
            format!("{s:?} is not a code (1-40 letters, digits, '-', '_' or '.')"),
        ))
    }
}

/// Funding lines: a source code and amounts that are never negative. Committed may
/// exceed planned (money found beyond the plan is a fact worth recording).
pub(crate) fn funding_lines(
    field: &str,
    lines: &[FundingLineInput],
) -> Result<Vec<pb::FundingLine>, DomainError> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let at = |f: &str| format!("{field}[{i}].{f}");
            Ok(pb::FundingLine {
                source: short_code(&at("source"), &l.source)?,
                programme: optional_text(l.programme.as_deref()),
                measure: optional_text(l.measure.as_deref()),
                planned_cents: cents(&at("planned_cents"), l.planned_cents)?,
                committed_cents: cents(&at("committed_cents"), l.committed_cents)?,
                spent_cents: cents(&at("spent_cents"), l.spent_cents)?,
            })
        })
        .collect()
}

/// Links to planning instruments: an instrument code each (`PTGM`, `PUMS`, `DUP`, ...).
pub(crate) fn instrument_links(
    field: &str,
    links: &[InstrumentLinkInput],
) -> Result<Vec<pb::InstrumentLink>, DomainError> {
    links
        .iter()
        .enumerate()
        .map(|(i, l)| {
            Ok(pb::InstrumentLink {
                instrument: short_code(&format!("{field}[{i}].instrument"), &l.instrument)?,
                section: optional_text(l.section.as_deref()),
                effect: optional_text(l.effect.as_deref()),
            })
        })
        .collect()
}

/// A 1-based place.
pub(crate) fn position(field: &str, v: i64) -> Result<u32, DomainError> {
    u32::try_from(v)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| DomainError::invalid(field, format!("{v} is not a place: 1 or more")))
}

/// The numeric parts of a dotted code, for ordering `1.10` after `1.9`.
pub(crate) fn code_key(code: &str) -> Vec<u32> {
    code.split('.')
        .map(|p| p.parse().unwrap_or(u32::MAX))
        .collect()
}

/// Orders dotted codes by their numeric parts.
pub(crate) fn cmp_codes(a: &str, b: &str) -> Ordering {
    code_key(a).cmp(&code_key(b))
}

/// The last part of a dotted code as a number (`2.1.3` → 3).
pub(crate) fn last_part(code: &str) -> u32 {
    code_key(code).last().copied().unwrap_or(0)
}

/// Checks that `start` is not after `end` (both stored date strings, either empty).
pub(crate) fn ordered_dates(
    start_field: &str,
    start: &str,
    end_field: &str,
    end: &str,
) -> Result<(), DomainError> {
    if let (Some(s), Some(e)) = (stored_date(start), stored_date(end))
        && s > e
    {
        return Err(DomainError::invalid(
            start_field,
            format!("{start_field} {s} is after {end_field} {e}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_must_not_be_negative_and_name_their_field() {
        let lines = vec![FundingLineInput {
            source: "PNRR".into(),
            planned_cents: 100,
            committed_cents: 500,
            spent_cents: -1,
            ..Default::default()
        }];
        let err = funding_lines("funding_lines", &lines).unwrap_err();
        assert!(
            matches!(err, DomainError::Invalid { ref field, .. } if field == "funding_lines[0].spent_cents")
        );
    }

    #[test]
    fn codes_order_by_number() {
        assert_eq!(cmp_codes("1.10", "1.9"), Ordering::Greater);
        assert_eq!(last_part("2.1.3"), 3);
    }

    #[test]
    fn dates_are_canonical_and_empty_clears() {
        assert_eq!(
            optional_date("d", Some(" 2022-03-01 ")).unwrap(),
            "2022-03-01"
        );
        assert_eq!(optional_date("d", Some("")).unwrap(), "");
        assert!(optional_date("d", Some("2022-3-1x")).is_err());
    }
}
