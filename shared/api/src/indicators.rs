//! Context indicators (indicatori di contesto): the values they are made of, parsed
//! once into newtypes ([`Decimal`], [`Period`], [`IndicatorCode`], [`Direction`]), and
//! the bodies of the commands that define, edit and retire them and record, correct
//! and import their measurements.
//!
//! The choice for numbers: figures are exact decimals, never floats. [`Decimal`] is a
//! small newtype (an `i128` of units of `10^-scale`) rather than a crate: the platform
//! only parses, prints, compares and subtracts figures, and the on-track rule
//! ([`crate::trend`]) multiplies a difference by a number of years, which stays exact
//! within the limits [`Decimal`] enforces (15 digits before the point, 6 after). The
//! wire and stored form is canonical: an optional `-`, digits, optionally `.` and
//! digits (`1250.5`); the Italian form of a CSV import is converted by the importer.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most digits before the decimal point.
pub const MAX_INTEGER_DIGITS: usize = 15;
/// Most digits after the decimal point.
pub const MAX_SCALE: u32 = 6;

/// An exact decimal number: `mantissa × 10^-scale`. Equal values of different scales
/// (`1.5`, `1.50`) compare equal; the written scale is kept for display.
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

impl Decimal {
    /// A whole number.
    pub fn from_int(n: i64) -> Self {
        Self {
            mantissa: i128::from(n),
            scale: 0,
        }
    }

    /// The mantissa at `scale` (not below the value's own).
    fn at_scale(self, scale: u32) -> i128 {
        self.mantissa * 10i128.pow(scale - self.scale)
    }

    /// `self × n`, exact (the limits keep it far from overflow for year counts).
    #[must_use]
    pub fn times(self, n: i64) -> Self {
        Self {
            mantissa: self.mantissa * i128::from(n),
            scale: self.scale,
        }
    }

    /// -1, 0 or 1.
    pub fn signum(self) -> i32 {
        match self.mantissa.cmp(&0) {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        }
    }

    /// The absolute value.
    #[must_use]
    pub fn abs(self) -> Self {
        Self {
            mantissa: self.mantissa.abs(),
            scale: self.scale,
        }
    }
}

impl std::ops::Sub for Decimal {
    type Output = Self;
    /// Exact, at the larger of the two scales.
    fn sub(self, other: Self) -> Self {
        let scale = self.scale.max(other.scale);
        Self {
            mantissa: self.at_scale(scale) - other.at_scale(scale),
            scale,
        }
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let scale = self.scale.max(other.scale);
        self.at_scale(scale).cmp(&other.at_scale(scale))
    }
}

impl FromStr for Decimal {
    type Err = String;
    /// The canonical form only: `-?[0-9]+(\.[0-9]+)?`, at most
    /// [`MAX_INTEGER_DIGITS`] digits before the point and [`MAX_SCALE`] after.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{s:?} is not a decimal number like 12.5 or -0.75 (digits, an optional '-', '.' before the decimals)"
            )
        };
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty()
            || !int.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
            || (digits.contains('.') && frac.is_empty())
        {
            return Err(bad());
        }
        let int_digits = int.trim_start_matches('0').len();
        if int_digits > MAX_INTEGER_DIGITS {
            return Err(format!(
                "{s:?} has more than {MAX_INTEGER_DIGITS} digits before the decimal point"
            ));
        }
        if frac.len() > MAX_SCALE as usize {
            return Err(format!(
                "{s:?} has more than {MAX_SCALE} digits after the decimal point"
            ));
        }
        let mantissa: i128 = format!("{int}{frac}").parse().map_err(|_| bad())?;
        Ok(Self {
            mantissa: if negative { -mantissa } else { mantissa },
            scale: u32::try_from(frac.len()).map_err(|_| bad())?,
        })
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = self.scale as usize;
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        if self.mantissa < 0 {
            f.write_str("-")?;
        }
        f.write_str(int)?;
        if scale > 0 {
            write!(f, ".{frac}")?;
        }
        Ok(())
    }
}

impl Serialize for Decimal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The period a measurement describes: a year (`2022`), a quarter (`2022-Q3`) or a
/// month (`2022-06`). Periods order by their start, then the longer first (`2022`
/// before `2022-Q1` before `2022-01`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Period {
    year: u16,
    /// First month, 1-12.
    month: u8,
    /// 12 for a year, 3 for a quarter, 1 for a month.
    months: u8,
}

impl Period {
    pub fn year(&self) -> u16 {
        self.year
    }
}

impl Ord for Period {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.year, self.month, std::cmp::Reverse(self.months)).cmp(&(
            other.year,
            other.month,
            std::cmp::Reverse(other.months),
        ))
    }
}

impl PartialOrd for Period {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for Period {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a period like 2022, 2022-Q3 or 2022-06");
        let (year, rest) = s.split_once('-').map_or((s, None), |(y, r)| (y, Some(r)));
        if year.len() != 4 || !year.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let year: u16 = year.parse().map_err(|_| bad())?;
        if !(1900..=2100).contains(&year) {
            return Err(format!("{s:?}: the year is outside 1900-2100"));
        }
        let (month, months) = match rest {
            None => (1, 12),
            Some(q) if q.len() == 2 && q.starts_with('Q') => match q.as_bytes()[1] {
                b @ b'1'..=b'4' => ((b - b'1') * 3 + 1, 3),
                _ => return Err(bad()),
            },
            Some(m) if m.len() == 2 && m.chars().all(|c| c.is_ascii_digit()) => {
                let m: u8 = m.parse().map_err(|_| bad())?;
                if !(1..=12).contains(&m) {
                    return Err(bad());
                }
                (m, 1)
            }
            Some(_) => return Err(bad()),
        };
        Ok(Self {
            year,
            month,
            months,
        })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.months {
            12 => write!(f, "{}", self.year),
            3 => write!(f, "{}-Q{}", self.year, (self.month - 1) / 3 + 1),
            _ => write!(f, "{}-{:02}", self.year, self.month),
        }
    }
}

/// An indicator's code, unique in its plan: 1-30 characters of `A-Z a-z 0-9 . - _`
/// starting with a letter or digit (`IC-2.1-01`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct IndicatorCode(String);

impl IndicatorCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for IndicatorCode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 30
            && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "{s:?} is not an indicator code (1-30 letters, digits, '.', '-' or '_', e.g. IC-2.1-01)"
            ))
        }
    }
}

impl fmt::Display for IndicatorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether two territory names name the same territory: equal once trimmed, with runs
/// of white space as one space, ignoring case (`Città Metropolitana  di Torino` is
/// `Città metropolitana di Torino`; accents count). Used by the duplicate rule and by
/// the trend, which reads the measurements of the indicator's own territory.
pub fn same_territory(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    norm(a) == norm(b)
}

/// Which way an indicator should move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Increase,
    Decrease,
    /// Hold the value at the target.
    Stable,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Increase => "increase",
            Direction::Decrease => "decrease",
            Direction::Stable => "stable",
        }
    }
}

impl FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "increase" => Ok(Direction::Increase),
            "decrease" => Ok(Direction::Decrease),
            "stable" => Ok(Direction::Stable),
            _ => Err(format!(
                "{s:?} is not a direction: increase, decrease or stable"
            )),
        }
    }
}

/// Body of `POST /api/v1/plans/{plan}/indicators`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefineIndicator {
    /// Unique in the plan, e.g. `IC-2.1-01`.
    #[schema(example = "IC-2.1-01")]
    pub code: String,
    /// A live strategy of the plan, e.g. `2.1`.
    #[schema(example = "2.1")]
    pub strategy: String,
    pub name: String,
    /// Free text: `%`, `ha`, `t CO2e per abitante`.
    #[schema(example = "ha")]
    pub unit: String,
    /// Who publishes the figures.
    pub source: String,
    /// `increase` | `decrease` | `stable`.
    #[schema(example = "increase")]
    pub direction: String,
    /// Decimal as a string, `.` before the decimals: `1250.5`.
    #[schema(example = "1250.5")]
    pub baseline_value: String,
    #[schema(example = 2020)]
    pub baseline_year: i64,
    /// Decimal as a string; above the baseline for `increase`, below for `decrease`.
    #[schema(example = "1400")]
    pub target_value: String,
    /// After the baseline year.
    #[schema(example = 2023)]
    pub target_year: i64,
    /// The territory of the baseline and target, whose measurements the trend reads.
    #[schema(example = "Città metropolitana di Torino")]
    pub territory: String,
}

/// Body of `POST /api/v1/plans/{plan}/indicators/{code}/measurements`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordMeasurement {
    /// `YYYY`, `YYYY-Qn` or `YYYY-MM`.
    #[schema(example = "2022")]
    pub period: String,
    #[schema(example = "Città metropolitana di Torino")]
    pub territory: String,
    /// Decimal as a string: `1302.25`.
    #[schema(example = "1302.25")]
    pub value: String,
    /// Where the figure comes from; may be empty.
    #[serde(default)]
    pub source_note: String,
}

/// Body of `POST /api/v1/plans/{plan}/indicators/{code}/measurements/{measurement}/corrections`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectMeasurement {
    /// The corrected value, a decimal as a string.
    #[schema(example = "1310.25")]
    pub value: String,
    /// Why the figure changes; required.
    #[schema(example = "Dato rettificato dalla fonte")]
    pub reason: String,
}

/// Body of `PATCH /api/v1/plans/{plan}/indicators/{indicator}`, with `If-Match`
/// naming the indicator stream's version the editor saw. Every field is optional; a
/// present field is set, an absent one left as it is. The merged definition keeps the
/// rules of a definition. The strategy and the code never change (sending them is an
/// unknown field).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditIndicator {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    /// `increase` | `decrease` | `stable`.
    #[serde(default)]
    pub direction: Option<String>,
    /// Decimal as a string, `.` before the decimals.
    #[serde(default)]
    #[schema(example = "1200")]
    pub baseline_value: Option<String>,
    #[serde(default)]
    pub baseline_year: Option<i64>,
    /// Decimal as a string.
    #[serde(default)]
    #[schema(example = "1450")]
    pub target_value: Option<String>,
    #[serde(default)]
    #[schema(example = 2026)]
    pub target_year: Option<i64>,
    #[serde(default)]
    pub territory: Option<String>,
}

/// Body of `POST /api/v1/plans/{plan}/indicators/{indicator}/retire`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireIndicator {
    /// Why the indicator is retired; required.
    #[schema(example = "Sostituito da un indicatore con fonte più aggiornata")]
    pub reason: String,
}

/// One bad row of a CSV import: its line in the file (the header is line 1) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    pub line: u64,
    /// The column at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub reason: String,
}

/// What an import did, or would do on a dry run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportSummary {
    /// True when nothing was stored (the file was only checked).
    pub dry_run: bool,
    /// Data rows in the file, all valid.
    pub rows: u64,
    /// Per indicator, in the order appended.
    pub indicators: Vec<ImportedIndicator>,
}

/// One indicator's rows of an import: one append on its stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportedIndicator {
    pub indicator: String,
    pub rows: u64,
    /// The stream's version after the append (0 on a dry run).
    pub version: u64,
    /// Global position of the append's last event (0 on a dry run).
    pub position: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_exactly_compare_by_value_and_print_as_written() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(d("12.5"), d("12.50"));
        assert!(d("-0.75") < d("0"));
        assert_eq!((d("0.1") - d("0.3")).to_string(), "-0.2");
        assert_eq!(d("1250.50").to_string(), "1250.50");
        assert_eq!(d("-0.05").to_string(), "-0.05");
        assert_eq!(d("7").times(3).to_string(), "21");
        for bad in [
            "",
            "-",
            "1.",
            ".5",
            "1,5",
            "1e3",
            "1 000",
            "+1",
            "0.1234567",
            "1234567890123456",
        ] {
            assert!(bad.parse::<Decimal>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn territories_match_ignoring_case_and_spacing_but_not_accents() {
        assert!(same_territory(
            "Città metropolitana di Torino",
            " città  Metropolitana di torino "
        ));
        assert!(!same_territory(
            "Città metropolitana di Torino",
            "Citta metropolitana di Torino"
        ));
        assert!(!same_territory("Ivrea", "Ivrea (TO)"));
    }

    #[test]
    fn periods_are_years_quarters_or_months_ordered_by_start() {
        let p = |s: &str| s.parse::<Period>().unwrap();
        assert_eq!(p("2022-Q3").to_string(), "2022-Q3");
        assert_eq!(p("2022-06").to_string(), "2022-06");
        assert!(p("2021") < p("2022"));
        assert!(p("2022") < p("2022-Q1"));
        assert!(p("2022-Q1") < p("2022-01"));
        assert!(p("2022-06") < p("2022-Q3"));
        for bad in ["22", "2022-Q5", "2022-13", "2022-6", "2022-H1", "1800"] {
            assert!(bad.parse::<Period>().is_err(), "{bad:?} parsed");
        }
    }
}
