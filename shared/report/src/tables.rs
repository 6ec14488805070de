//! The report's actions and indicators as CSV (RFC 4180, UTF-8, a header row) and as
//! XLSX (one sheet, a bold frozen header). Column names are the API's field names;
//! amounts are euro: in CSV the exact text from cents (`1234.56`), in XLSX a number
//! cell holding that same decimal text as the spreadsheet stores any typed number,
//! shown with two decimals.

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::money::plain;
use crate::{ActionLine, IndicatorLine, Report, ReportError};

/// The columns of the actions export.
pub const ACTION_COLUMNS: [&str; 18] = [
    "code",
    "title",
    "strategy",
    "axis",
    "competence",
    "status",
    "progress",
    "status_as_of",
    "responsible_organisations",
    "partner_organisations",
    "territorial_scope",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "planned_eur",
    "committed_eur",
    "spent_eur",
];

/// The columns of the indicators export.
pub const INDICATOR_COLUMNS: [&str; 18] = [
    "code",
    "name",
    "unit",
    "strategy",
    "direction",
    "territory",
    "source",
    "baseline_value",
    "baseline_year",
    "target_value",
    "target_year",
    "latest_period",
    "latest_value",
    "trend",
    "on_track",
    "rule_version",
    "retired",
    "retired_reason",
];

/// A cell: text, or a number written as text in CSV.
enum Cell {
    Text(String),
    Int(i64),
    /// Euro cents.
    Euro(i64),
}

fn action_row(a: &ActionLine) -> Vec<Cell> {
    use Cell::*;
    vec![
        Text(a.code.clone()),
        Text(a.title.clone()),
        Text(a.strategy.clone()),
        Text(a.axis.clone()),
        Text(a.competence.clone()),
        Text(a.status.clone()),
        Int(i64::from(a.progress)),
        Text(a.status_as_of.clone()),
        Text(a.responsible_organisations.join("; ")),
        Text(a.partner_organisations.join("; ")),
        Text(a.territorial_scope.clone()),
        Text(a.planned_start.clone()),
        Text(a.planned_end.clone()),
        Text(a.actual_start.clone()),
        Text(a.actual_end.clone()),
        Euro(a.planned_cents),
        Euro(a.committed_cents),
        Euro(a.spent_cents),
    ]
}

fn indicator_row(i: &IndicatorLine) -> Vec<Cell> {
    use Cell::*;
    let (period, value) = i
        .latest
        .as_ref()
        .map_or((String::new(), String::new()), |l| {
            (l.period.clone(), l.value.clone())
        });
    vec![
        Text(i.code.clone()),
        Text(i.name.clone()),
        Text(i.unit.clone()),
        Text(i.strategy.clone()),
        Text(i.direction.clone()),
        Text(i.territory.clone()),
        Text(i.source.clone()),
        Text(i.baseline_value.clone()),
        Int(i64::from(i.baseline_year)),
        Text(i.target_value.clone()),
        Int(i64::from(i.target_year)),
        Text(period),
        Text(value),
        Text(i.trend.clone()),
        Text(i.on_track.clone()),
        Text(i.rule_version.clone()),
        Text(if i.retired { "yes" } else { "no" }.to_owned()),
        Text(i.retired_reason.clone()),
    ]
}

fn csv(header: &[&str], rows: impl Iterator<Item = Vec<Cell>>) -> Result<Vec<u8>, ReportError> {
    let err = |e: csv::Error| ReportError::Csv(e.to_string());
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(err)?;
    for row in rows {
        w.write_record(row.iter().map(|c| match c {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Euro(cents) => plain(*cents),
        }))
        .map_err(err)?;
    }
    w.into_inner().map_err(|e| ReportError::Csv(e.to_string()))
}

fn xlsx(
    sheet: &str,
    header: &[&str],
    rows: impl Iterator<Item = Vec<Cell>>,
) -> Result<Vec<u8>, ReportError> {
    fn write(
        ws: &mut Worksheet,
        header: &[&str],
        rows: impl Iterator<Item = Vec<Cell>>,
    ) -> Result<(), XlsxError> {
        let bold = Format::new().set_bold();
        let euro = Format::new().set_num_format("#,##0.00");
        for (c, title) in (0u16..).zip(header) {
            ws.write_string_with_format(0, c, *title, &bold)?;
        }
        for (r, row) in (1u32..).zip(rows) {
            for (c, cell) in (0u16..).zip(row) {
                match cell {
                    Cell::Text(s) if s.is_empty() => {}
                    Cell::Text(s) => {
                        ws.write_string(r, c, s)?;
                    }
                    Cell::Int(n) => {
                        ws.write_string(r, c, n.to_string())?;
                    }
                    Cell::Euro(cents) => {
                        // The exact decimal text, stored as the spreadsheet stores a
                        // typed number.
                        let value: f64 = plain(cents).parse().unwrap_or_default();
                        ws.write_number_with_format(r, c, value, &euro)?;
                    }
                }
            }
        }
        ws.set_freeze_panes(1, 0)?;
        ws.autofit();
        Ok(())
    }
    let err = |e: XlsxError| ReportError::Spreadsheet(e.to_string());
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet).map_err(err)?;
    write(ws, header, rows).map_err(err)?;
    book.save_to_buffer().map_err(err)
}

/// The report's actions as CSV.
///
/// # Errors
/// [`ReportError::Csv`] when writing fails (it does not in memory).
pub fn actions_csv(report: &Report) -> Result<Vec<u8>, ReportError> {
    csv(&ACTION_COLUMNS, report.actions.iter().map(action_row))
}

/// The report's indicators as CSV.
///
/// # Errors
/// As [`actions_csv`].
pub fn indicators_csv(report: &Report) -> Result<Vec<u8>, ReportError> {
    csv(
        &INDICATOR_COLUMNS,
        report.indicators.iter().map(indicator_row),
    )
}

/// The report's actions as an XLSX workbook of one sheet, `Azioni`.
///
/// # Errors
/// [`ReportError::Spreadsheet`] when the workbook cannot be written.
pub fn actions_xlsx(report: &Report) -> Result<Vec<u8>, ReportError> {
    xlsx(
        "Azioni",
        &ACTION_COLUMNS,
        report.actions.iter().map(action_row),
    )
}

/// The report's indicators as an XLSX workbook of one sheet, `Indicatori`.
///
/// # Errors
/// As [`actions_xlsx`].
pub fn indicators_xlsx(report: &Report) -> Result<Vec<u8>, ReportError> {
    xlsx(
        "Indicatori",
        &INDICATOR_COLUMNS,
        report.indicators.iter().map(indicator_row),
    )
}

#[cfg(test)]
mod tests {
    use calamine::{Data, Reader, Xlsx};

    use super::*;
    use crate::sample;

    fn sheet(bytes: Vec<u8>, name: &str) -> Vec<Vec<Data>> {
        let mut book: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("the XLSX opens");
        assert_eq!(book.sheet_names(), [name]);
        let range = book.worksheet_range(name).unwrap();
        range.rows().map(<[Data]>::to_vec).collect()
    }

    #[test]
    fn the_actions_csv_has_its_header_and_exact_amounts() {
        let text = String::from_utf8(actions_csv(&sample::full()).unwrap()).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(
            r.headers().unwrap().iter().collect::<Vec<_>>(),
            ACTION_COLUMNS
        );
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[1][0], "2.1.3");
        assert_eq!(&rows[1][15], "1244567.89");
        assert_eq!(&rows[1][17], "12345.01");
        assert_eq!(
            &rows[0][1],
            "Azione d'esempio: <script>alert(\"x\")</script> & più"
        );
        let empty = String::from_utf8(actions_csv(&sample::empty()).unwrap()).unwrap();
        assert_eq!(empty.trim_end(), ACTION_COLUMNS.join(","));
    }

    #[test]
    fn the_indicators_csv_has_its_header_and_latest_value() {
        let text = String::from_utf8(indicators_csv(&sample::full()).unwrap()).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), INDICATOR_COLUMNS.join(","));
        let row = lines.next().unwrap();
        assert!(
            row.starts_with("ESEMPIO-2.1-01,")
                && row.contains(",2022,1210.5,improving,on_track,trend-v1,no,"),
            "{row}"
        );
    }

    #[test]
    fn a_retired_indicator_is_reported_and_marked_with_its_reason() {
        let mut report = sample::full();
        report.indicators[0].retired = true;
        report.indicators[0].retired_reason = "Fonte non più pubblicata (esempio)".into();
        let text = String::from_utf8(indicators_csv(&report).unwrap()).unwrap();
        let row = text.lines().nth(1).unwrap();
        assert!(
            row.ends_with(",yes,Fonte non più pubblicata (esempio)"),
            "{row}"
        );
        let html = crate::render_html(&report);
        assert!(html.contains("(ritirato: Fonte non più pubblicata (esempio))"));
        let still = String::from_utf8(indicators_csv(&sample::full()).unwrap()).unwrap();
        assert!(still.lines().nth(1).unwrap().ends_with(",no,"), "{still}");
    }

    #[test]
    fn the_workbooks_open_with_their_header_and_rows() {
        let rows = sheet(actions_xlsx(&sample::full()).unwrap(), "Azioni");
        let header: Vec<String> = rows[0].iter().map(ToString::to_string).collect();
        assert_eq!(header, ACTION_COLUMNS);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2][0], Data::String("2.1.3".into()));
        assert_eq!(rows[2][1], Data::String("Gran Bosco Torino".into()));
        assert_eq!(rows[2][15], Data::Float(1_244_567.89));
        let rows = sheet(indicators_xlsx(&sample::full()).unwrap(), "Indicatori");
        assert_eq!(rows[0][0], Data::String("code".into()));
        assert_eq!(rows[1][0], Data::String("ESEMPIO-2.1-01".into()));
        let empty = sheet(indicators_xlsx(&sample::empty()).unwrap(), "Indicatori");
        assert_eq!(empty.len(), 1, "the header alone");
    }
}
