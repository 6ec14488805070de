//! Reading a CSV file of measurements: [`parse_csv`] turns the text into rows, one per
//! data line, each with its line number, or reports every line it cannot read. The
//! rules of a measurement itself (an indicator that exists, a period, no duplicate)
//! are [`decide_import`](crate::indicator::decide_import)'s.
//!
//! The format (`text/csv`, UTF-8, an optional byte-order mark):
//! - a header line naming the columns, in any order, case and surrounding spaces
//!   ignored: `indicator`, `period`, `territory`, `value` (all required) and
//!   `source_note` (optional); any other column is an error;
//! - the separator is `;` when the header line contains one, `,` otherwise;
//! - with `;` numbers are written the Italian way: `,` before the decimals and `.`
//!   only between groups of three digits (`12,5`, `1.234,5`, `1234`; `12.5` is an
//!   error, not silently 125); with `,` the canonical form (`12.5`, no grouping);
//! - fields may be quoted (RFC 4180); blank lines are skipped; line numbers count the
//!   header as line 1.

use metroplan_api::indicators::{Decimal, RecordMeasurement, RowError};

/// The columns a file must have.
pub const REQUIRED: [&str; 4] = ["indicator", "period", "territory", "value"];
/// The column a file may have.
pub const OPTIONAL: &str = "source_note";

/// One data row, read but not yet judged.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvRow {
    pub line: u64,
    pub indicator: String,
    /// The value already in canonical form.
    pub measurement: RecordMeasurement,
}

/// Reads `text` as a CSV file of measurements.
///
/// # Errors
/// Every line that cannot be read, with why: a missing or unknown column in the
/// header (line 1), a row with too few or too many fields, an empty required field, a
/// number not in the file's convention.
pub fn parse_csv(text: &str) -> Result<Vec<CsvRow>, Vec<RowError>> {
    let (rows, errors) = read_csv(text);
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// Reads `text` as [`parse_csv`] does, but returns the rows it could read beside the
/// errors of those it could not (none when the header is bad), so that the rules of a
/// measurement can judge the readable rows too and every bad row is reported at once.
pub fn read_csv(text: &str) -> (Vec<CsvRow>, Vec<RowError>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let header_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let separator = if header_line.contains(';') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut errors = Vec::new();
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => {
            return (
                Vec::new(),
                vec![bad(1, None, format!("the header does not read: {e}"))],
            );
        }
        None => {
            return (
                Vec::new(),
                vec![bad(
                    1,
                    None,
                    format!(
                        "the file is empty: it needs a header line naming {}",
                        REQUIRED.join(", ")
                    ),
                )],
            );
        }
    };
    let header_at = header.position().map_or(1, |p| line_at(text, p));
    let names: Vec<String> = header.iter().map(str::to_lowercase).collect();
    for (i, name) in names.iter().enumerate() {
        if !REQUIRED.contains(&name.as_str()) && name != OPTIONAL {
            errors.push(bad(
                header_at,
                Some(name),
                format!(
                    "unknown column {name:?} (column {}): the columns are {} and optionally {OPTIONAL}",
                    i + 1,
                    REQUIRED.join(", ")
                ),
            ));
        } else if names[..i].contains(name) {
            errors.push(bad(
                header_at,
                Some(name),
                format!("column {name:?} appears twice"),
            ));
        }
    }
    for required in REQUIRED {
        if !names.iter().any(|n| n == required) {
            errors.push(bad(
                header_at,
                Some(required),
                format!("missing column {required:?}"),
            ));
        }
    }
    if !errors.is_empty() {
        return (Vec::new(), errors);
    }
    let column = |name: &str| names.iter().position(|n| n == name);
    let (i_ind, i_per, i_ter, i_val) = (
        column("indicator").unwrap_or(0),
        column("period").unwrap_or(0),
        column("territory").unwrap_or(0),
        column("value").unwrap_or(0),
    );
    let i_note = column(OPTIONAL);
    let mut rows = Vec::new();
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                errors.push(bad(line, None, format!("the row does not read: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| line_at(text, p));
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != names.len() {
            errors.push(bad(
                line,
                None,
                format!(
                    "{} fields where the header has {} (separator {:?})",
                    record.len(),
                    names.len(),
                    char::from(separator)
                ),
            ));
            continue;
        }
        let mut row_errors = Vec::new();
        for (i, name) in [
            (i_ind, "indicator"),
            (i_per, "period"),
            (i_ter, "territory"),
            (i_val, "value"),
        ] {
            if record[i].is_empty() {
                row_errors.push(bad(line, Some(name), format!("missing {name}")));
            }
        }
        let value = if record[i_val].is_empty() {
            None
        } else {
            match number(&record[i_val], separator) {
                Ok(v) => Some(v),
                Err(m) => {
                    row_errors.push(bad(line, Some("value"), m));
                    None
                }
            }
        };
        match value {
            Some(value) if row_errors.is_empty() => rows.push(CsvRow {
                line,
                indicator: record[i_ind].to_owned(),
                measurement: RecordMeasurement {
                    period: record[i_per].to_owned(),
                    territory: record[i_ter].to_owned(),
                    value: value.to_string(),
                    source_note: i_note.map_or_else(String::new, |i| record[i].to_owned()),
                },
            }),
            _ => errors.extend(row_errors),
        }
    }
    if rows.is_empty() && errors.is_empty() {
        errors.push(bad(
            header_at,
            None,
            "the file has a header but no data rows".to_owned(),
        ));
    }
    (rows, errors)
}

/// A number in the convention of the file's separator (see the module header).
///
/// # Errors
/// A message saying which convention the file uses.
pub fn number(raw: &str, separator: u8) -> Result<Decimal, String> {
    if separator == b',' {
        return raw.parse::<Decimal>().map_err(|m| {
            if raw.contains(',') {
                format!("{raw:?}: a file separated by ',' writes decimals with '.' (12.5)")
            } else {
                m
            }
        });
    }
    let italian = || {
        format!(
            "{raw:?} is not a number as written with ';': decimals after ',' (12,5), '.' only between groups of three digits (1.234,5)"
        )
    };
    let (int, frac) = match raw.split_once(',') {
        Some((i, f)) => (i, Some(f)),
        None => (raw, None),
    };
    let (sign, int) = int.strip_prefix('-').map_or(("", int), |rest| ("-", rest));
    let groups: Vec<&str> = int.split('.').collect();
    let grouped_ok = groups.len() == 1
        || (!groups[0].is_empty()
            && groups[0].len() <= 3
            && groups[1..].iter().all(|g| g.len() == 3));
    if !grouped_ok || frac.is_some_and(|f| f.contains('.')) {
        return Err(italian());
    }
    let canonical = match frac {
        Some(f) => format!("{sign}{}.{f}", groups.concat()),
        None => format!("{sign}{}", groups.concat()),
    };
    canonical.parse::<Decimal>().map_err(|_| italian())
}

/// The line a record starts on. The reader's own line count does not include the
/// blank lines it skipped just before the record, so count from its byte offset, past
/// those blank lines.
fn line_at(text: &str, position: &csv::Position) -> u64 {
    let start = usize::try_from(position.byte())
        .unwrap_or(usize::MAX)
        .min(text.len());
    let before = text.as_bytes()[..start]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    let skipped = text.as_bytes()[start..]
        .iter()
        .take_while(|b| matches!(b, b'\n' | b'\r'))
        .filter(|b| **b == b'\n')
        .count();
    (before + skipped + 1) as u64
}

fn bad(line: u64, column: Option<&str>, reason: String) -> RowError {
    RowError {
        line,
        column: column.map(str::to_owned),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(errors: &[RowError]) -> Vec<(u64, Option<&str>)> {
        errors
            .iter()
            .map(|e| (e.line, e.column.as_deref()))
            .collect()
    }

    #[test]
    fn a_comma_separated_file_reads_canonical_decimals_in_any_column_order() {
        let rows = parse_csv(
            "value,indicator,period,territory\n1302.25,IC-2.1-01,2022,Città metropolitana di Torino\n-0.5,IC-2.1-01,2022-Q3,\"Lanzo Torinese\"\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].indicator, "IC-2.1-01");
        assert_eq!(rows[0].measurement.value, "1302.25");
        assert_eq!(rows[1].measurement.territory, "Lanzo Torinese");
        assert_eq!(rows[1].measurement.value, "-0.5");
        assert_eq!(rows[1].measurement.source_note, "");
    }

    #[test]
    fn a_semicolon_separated_file_reads_the_italian_decimal_comma() {
        let rows = parse_csv(
            "\u{feff}Indicator; Period; Territory; Value; Source_note\nIC-2.1-01;2021;Città metropolitana di Torino;1.234,5;Esempio, non ufficiale\n\nIC-2.1-01;2022;Città metropolitana di Torino;12,5;\nIC-2.1-01;2023;Città metropolitana di Torino;1.234;\n",
        )
        .unwrap();
        let values: Vec<(&str, u64)> = rows
            .iter()
            .map(|r| (r.measurement.value.as_str(), r.line))
            .collect();
        assert_eq!(values, vec![("1234.5", 2), ("12.5", 4), ("1234", 5)]);
        assert_eq!(rows[0].measurement.source_note, "Esempio, non ufficiale");
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line_and_column() {
        let errors = parse_csv(
            "indicator;period;territory;value\n\
             IC-2.1-01;2022;Torino;12.5\n\
             IC-2.1-01;2022;Torino\n\
             IC-2.1-01;2022;;3\n\
             IC-2.1-01;2022;Torino;abc\n\
             IC-2.1-01;2023;Torino;1.23,4\n\
             IC-2.1-01;2024;Torino;7\n\
             ;2022;Torino;\n",
        )
        .unwrap_err();
        assert_eq!(
            lines_of(&errors),
            vec![
                (2, Some("value")),
                (3, None),
                (4, Some("territory")),
                (5, Some("value")),
                (6, Some("value")),
                (8, Some("indicator")),
                (8, Some("value")),
            ]
        );
        assert!(errors[0].reason.contains("12,5"), "{}", errors[0].reason);
        assert!(
            errors[1].reason.contains("3 fields"),
            "{}",
            errors[1].reason
        );
    }

    #[test]
    fn a_bad_header_names_the_missing_or_unknown_column_at_line_one() {
        let errors = parse_csv("indicator,period,value,comune\nIC-1,2022,3,Torino\n").unwrap_err();
        assert_eq!(
            lines_of(&errors),
            vec![(1, Some("comune")), (1, Some("territory"))]
        );
        assert_eq!(lines_of(&parse_csv("").unwrap_err()), vec![(1, None)]);
        assert_eq!(
            lines_of(&parse_csv("indicator,period,territory,value\n").unwrap_err()),
            vec![(1, None)]
        );
        let errors =
            parse_csv("indicator,period,territory,value\nIC-1,2022,Torino,\"12,5\"\n").unwrap_err();
        assert!(errors[0].reason.contains("'.'"), "{}", errors[0].reason);
    }
}
