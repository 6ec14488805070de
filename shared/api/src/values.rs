//! Parse, don't validate: the values every service checks, as newtypes whose
//! constructors are the only way in. Once one exists it is valid.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ApiError;

/// A plan code: 1-40 characters of `A-Z a-z 0-9 - _` starting with a letter or digit
/// (`PSM-2021-2023`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PlanCode(String);

impl PlanCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PlanCode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 40
            && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "{s:?} is not a plan code (1-40 letters, digits, '-' or '_')"
            ))
        }
    }
}

/// The level of an item in the plan tree, told by how many parts its code has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Axis,
    Strategy,
    Action,
}

/// A dotted item code: `1` (axis), `1.2` (strategy), `1.2.3` (action); each part 1-999
/// without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ItemCode(String);

impl ItemCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> Level {
        match self.0.matches('.').count() {
            0 => Level::Axis,
            1 => Level::Strategy,
            _ => Level::Action,
        }
    }

    /// The code of the containing item (`1.2` for `1.2.3`), `None` for an axis.
    pub fn parent(&self) -> Option<&str> {
        self.0.rsplit_once('.').map(|(p, _)| p)
    }

    /// Parses a code and demands its level.
    ///
    /// # Errors
    /// A message naming what was expected.
    pub fn parse_level(s: &str, level: Level) -> Result<Self, String> {
        let code: Self = s.parse()?;
        if code.level() == level {
            Ok(code)
        } else {
            let want = match level {
                Level::Axis => "an axis code like 1",
                Level::Strategy => "a strategy code like 1.2",
                Level::Action => "an action code like 1.2.3",
            };
            Err(format!("{s:?} is not {want}"))
        }
    }
}

impl FromStr for ItemCode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('.').collect();
        let ok = (1..=3).contains(&parts.len())
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.len() <= 3
                    && !p.starts_with('0')
                    && p.chars().all(|c| c.is_ascii_digit())
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "{s:?} is not a plan item code like 1, 1.2 or 1.2.3"
            ))
        }
    }
}

impl fmt::Display for ItemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for PlanCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A calendar date, `YYYY-MM-DD`.
pub type Date = chrono::NaiveDate;

/// Parses a `YYYY-MM-DD` date for `field`.
///
/// # Errors
/// [`ApiError::Validation`] naming the field.
pub fn parse_date(field: &str, s: &str) -> Result<Date, ApiError> {
    Date::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| ApiError::validation(field, format!("{s:?} is not a date YYYY-MM-DD")))
}

/// An amount in euro cents, never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Cents(i64);

impl Cents {
    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for Cents {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        if v < 0 {
            Err(format!(
                "{v} is negative: amounts are euro cents, 0 or more"
            ))
        } else {
            Ok(Self(v))
        }
    }
}

/// Progress of an action, 0-100 percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Progress(u8);

impl Progress {
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Progress {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        u8::try_from(v)
            .ok()
            .filter(|p| *p <= 100)
            .map(Self)
            .ok_or_else(|| format!("{v} is not a percentage 0-100"))
    }
}

/// An action's implementation status.
///
/// Transitions (checked by the monitoring service):
/// - `not_started` → `started` → `in_progress` → `completed` always holds, and a step
///   may be skipped forward (`not_started` → `in_progress`, `started` → `completed`);
/// - the current status may be reported again with new progress;
/// - any open status (`not_started`, `started`, `in_progress`) may become `suspended`
///   or `cancelled`; `suspended` may resume to `started` or `in_progress`, or end in
///   `completed` or `cancelled`;
/// - `completed` and `cancelled` are final; nothing returns to `not_started`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    NotStarted,
    Started,
    InProgress,
    Completed,
    Suspended,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::NotStarted,
        Status::Started,
        Status::InProgress,
        Status::Completed,
        Status::Suspended,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotStarted => "not_started",
            Status::Started => "started",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Suspended => "suspended",
            Status::Cancelled => "cancelled",
        }
    }

    /// Whether a report may move an action from `self` to `next` (see the type's docs).
    pub fn may_become(self, next: Status) -> bool {
        use Status::*;
        if self == next {
            return true;
        }
        match (self, next) {
            (_, NotStarted) => false,
            (Completed | Cancelled, _) => false,
            (NotStarted, Started | InProgress | Completed | Suspended | Cancelled) => true,
            (Started, InProgress | Completed | Suspended | Cancelled) => true,
            (InProgress, Completed | Suspended | Cancelled) => true,
            (Suspended, Started | InProgress | Completed | Cancelled) => true,
            _ => false,
        }
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Status::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            format!("{s:?} is not a status: not_started, started, in_progress, completed, suspended or cancelled")
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_codes_tell_their_level_and_parent() {
        let c: ItemCode = "2.1.3".parse().unwrap();
        assert_eq!(c.level(), Level::Action);
        assert_eq!(c.parent(), Some("2.1"));
        assert!("2.01".parse::<ItemCode>().is_err());
        assert!("1.2.3.4".parse::<ItemCode>().is_err());
        assert!("a".parse::<ItemCode>().is_err());
        assert!(ItemCode::parse_level("1.2", Level::Action).is_err());
    }

    #[test]
    fn the_forward_path_always_holds_and_nothing_returns_to_not_started() {
        use Status::*;
        assert!(NotStarted.may_become(Started));
        assert!(Started.may_become(InProgress));
        assert!(InProgress.may_become(Completed));
        assert!(InProgress.may_become(InProgress));
        for s in Status::ALL {
            assert!(
                !s.may_become(NotStarted) || s == NotStarted,
                "{s} -> not_started"
            );
        }
        assert!(!Completed.may_become(InProgress));
        assert!(!Cancelled.may_become(Started));
        assert!(Suspended.may_become(InProgress));
    }

    #[test]
    fn amounts_and_progress_refuse_out_of_range() {
        assert!(Cents::try_from(-1).is_err());
        assert_eq!(Cents::try_from(0).unwrap().get(), 0);
        assert!(Progress::try_from(101).is_err());
        assert!(Progress::try_from(-3).is_err());
        assert_eq!(Progress::try_from(100).unwrap().get(), 100);
    }
}
