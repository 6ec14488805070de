//! The open-data export: one row per action, in the columns of a national project
//! data set, so that the plan office can cross-check with national data.
//!
//! Two shapes, whose column names are those listed in the plan's facts file
//! (`open_data_fields_elsewhere`), in that order:
//!
//! - [`OpenDataFormat::Pnrr`]: Italia Domani's PNRR projects (`PNRR_Progetti`);
//! - [`OpenDataFormat::OpenCoesione`]: OpenCoesione's projects.
//!
//! Each column is filled from the action's own data, or left empty when the platform
//! does not record it (a CUP, the owning administration, the procedural phase, a
//! beneficiary, output indicators): nothing is guessed. Amounts are euro with a dot and
//! two decimals, summed from cents with integer arithmetic (`1234567.89`); dates are
//! as recorded (`YYYY-MM-DD`). The file is RFC 4180 CSV in UTF-8. The mapping, column by
//! column, is in [`PNRR_COLUMNS`] and [`OPENCOESIONE_COLUMNS`] and in the README.

use std::collections::BTreeSet;

use crate::money::plain;
use crate::{ActionLine, FundingLine, Report, ReportError, status_label};

/// Which national data set's columns to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenDataFormat {
    /// Italia Domani, PNRR projects.
    #[default]
    Pnrr,
    /// OpenCoesione, cohesion policy projects.
    OpenCoesione,
}

impl std::str::FromStr for OpenDataFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pnrr" => Ok(Self::Pnrr),
            "opencoesione" => Ok(Self::OpenCoesione),
            other => Err(format!(
                "{other:?} is not an open-data format: pnrr or opencoesione"
            )),
        }
    }
}

impl OpenDataFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pnrr => "pnrr",
            Self::OpenCoesione => "opencoesione",
        }
    }

    /// The column names, exactly as the national data set writes them.
    pub fn columns(self) -> Vec<&'static str> {
        match self {
            Self::Pnrr => PNRR_COLUMNS.iter().map(|(c, _)| *c).collect(),
            Self::OpenCoesione => OPENCOESIONE_COLUMNS.iter().map(|(c, _)| *c).collect(),
        }
    }
}

/// How a column is filled from an action.
type Fill = fn(&Report, &ActionLine) -> String;

fn empty(_: &Report, _: &ActionLine) -> String {
    String::new()
}

fn local_code(r: &Report, a: &ActionLine) -> String {
    format!("{}/{}", r.plan.code, a.code)
}

fn title(_: &Report, a: &ActionLine) -> String {
    a.title.clone()
}

fn implementers(_: &Report, a: &ActionLine) -> String {
    a.responsible_organisations.join("; ")
}

fn planned_start(_: &Report, a: &ActionLine) -> String {
    a.planned_start.clone()
}

fn actual_start(_: &Report, a: &ActionLine) -> String {
    a.actual_start.clone()
}

fn planned_end(_: &Report, a: &ActionLine) -> String {
    a.planned_end.clone()
}

fn actual_end(_: &Report, a: &ActionLine) -> String {
    a.actual_end.clone()
}

fn pnrr(a: &ActionLine) -> impl Iterator<Item = &FundingLine> {
    a.funding.iter().filter(|f| f.source == "PNRR")
}

/// Distinct non-empty values, joined with ` | ` when an action has several.
fn distinct<'a>(values: impl Iterator<Item = String> + 'a) -> String {
    let set: BTreeSet<String> = values.filter(|v| !v.is_empty()).collect();
    set.into_iter().collect::<Vec<_>>().join(" | ")
}

/// A PNRR component code, `M2C4`: `M`, a mission digit, `C`, a number.
fn component(programme: &str) -> Option<&str> {
    let b = programme.as_bytes();
    let ok = b.len() >= 4
        && b[0] == b'M'
        && b[1].is_ascii_digit()
        && b[2] == b'C'
        && b[3..].iter().all(u8::is_ascii_digit);
    ok.then_some(programme)
}

fn mission(_: &Report, a: &ActionLine) -> String {
    distinct(pnrr(a).map(|f| {
        if f.mission.is_empty() {
            component(&f.programme).map_or_else(String::new, |c| c[..2].to_owned())
        } else {
            f.mission.clone()
        }
    }))
}

fn pnrr_component(_: &Report, a: &ActionLine) -> String {
    distinct(pnrr(a).filter_map(|f| component(&f.programme).map(str::to_owned)))
}

fn measure(_: &Report, a: &ActionLine) -> String {
    distinct(pnrr(a).map(|f| f.measure.clone()))
}

fn pnrr_funding(_: &Report, a: &ActionLine) -> String {
    plain(pnrr(a).map(|f| f.planned_cents).sum())
}

fn total_funding(_: &Report, a: &ActionLine) -> String {
    plain(a.funding.iter().map(|f| f.planned_cents).sum())
}

fn platform_status(_: &Report, a: &ActionLine) -> String {
    status_label(&a.status).to_owned()
}

/// OpenCoesione's project states (as public code reading the data set writes them):
/// only the statuses that say one of them unambiguously.
fn oc_status(_: &Report, a: &ActionLine) -> String {
    match a.status.as_str() {
        "not_started" => "Non avviato",
        "started" | "in_progress" => "In corso",
        "completed" => "Concluso",
        _ => "",
    }
    .to_owned()
}

const PUBLIC_SOURCES: [&str; 4] = ["PNRR", "EU-2021-2027", "REGIONAL", "OWN"];

/// The sum of `amount` over the public lines; empty when a line's source cannot be
/// told public or private (`OTHER` or an older code).
fn public(a: &ActionLine, amount: fn(&FundingLine) -> i64) -> String {
    if a.funding
        .iter()
        .any(|f| f.source != "PRIVATE" && !PUBLIC_SOURCES.contains(&f.source.as_str()))
    {
        return String::new();
    }
    plain(
        a.funding
            .iter()
            .filter(|f| PUBLIC_SOURCES.contains(&f.source.as_str()))
            .map(amount)
            .sum(),
    )
}

fn eu_funding(_: &Report, a: &ActionLine) -> String {
    plain(
        a.funding
            .iter()
            .filter(|f| f.source == "EU-2021-2027")
            .map(|f| f.planned_cents)
            .sum(),
    )
}

fn public_planned(_: &Report, a: &ActionLine) -> String {
    public(a, |f| f.planned_cents)
}

fn public_committed(_: &Report, a: &ActionLine) -> String {
    public(a, |f| f.committed_cents)
}

fn public_spent(_: &Report, a: &ActionLine) -> String {
    public(a, |f| f.spent_cents)
}

/// Italia Domani's PNRR project columns and how each is filled.
///
/// | column | from |
/// | --- | --- |
/// | Missione | the PNRR lines' mission (or the `M2` of a component `M2C4`) |
/// | Componente | the PNRR lines' component (`programme`, when `M<n>C<n>`) |
/// | Codice Univoco Misura | the PNRR lines' measure code |
/// | Codice Locale Progetto | `<plan>/<action>` |
/// | Stato Avanzamento Progetto | the action's status in the platform's words |
/// | Titolo Progetto | the action's title |
/// | Finanziamento PNRR | the PNRR lines' planned amounts |
/// | Finanziamento Totale | every line's planned amount |
/// | Soggetto Attuatore | the responsible organisations |
/// | Data Inizio/Fine Progetto Prevista/Effettiva | planned and actual start and end |
/// | Amministrazione Titolare, CUP, Stato CUP, Descrizione/Stato Fase Iter di Progetto | empty: not recorded |
pub const PNRR_COLUMNS: [(&str, Fill); 18] = [
    ("Missione", mission),
    ("Componente", pnrr_component),
    ("Codice Univoco Misura", measure),
    ("Amministrazione Titolare", empty),
    ("CUP", empty),
    ("Codice Locale Progetto", local_code),
    ("Stato CUP", empty),
    ("Stato Avanzamento Progetto", platform_status),
    ("Titolo Progetto", title),
    ("Finanziamento PNRR", pnrr_funding),
    ("Finanziamento Totale", total_funding),
    ("Soggetto Attuatore", implementers),
    ("Data Inizio Progetto Prevista", planned_start),
    ("Data Inizio Progetto Effettiva", actual_start),
    ("Data Fine Progetto Prevista", planned_end),
    ("Data Fine Progetto Effettiva", actual_end),
    ("Descrizione Fase Iter di Progetto", empty),
    ("Stato Fase Iter di Progetto", empty),
];

/// OpenCoesione's project columns and how each is filled.
///
/// | column | from |
/// | --- | --- |
/// | COD_LOCALE_PROGETTO | `<plan>/<action>` |
/// | OC_TITOLO_PROGETTO | the action's title |
/// | OC_STATO_PROGETTO | `Non avviato` (not started), `In corso` (started, in progress), `Concluso` (completed); empty when suspended or cancelled |
/// | FINANZ_UE | the `EU-2021-2027` lines' planned amounts |
/// | FINANZ_TOTALE_PUBBLICO, IMPEGNI, TOT_PAGAMENTI | planned, committed, spent of the public lines (PNRR, EU, regional, own); empty when a line's source is `OTHER` or unknown |
/// | OC_DATA_INIZIO_PROGETTO | the actual start |
/// | OC_DATA_FINE_PROGETTO_PREVISTA / _EFFETTIVA | the planned and actual end |
/// | OC_DENOM_ATTUATORE | the responsible organisations |
/// | CUP, OC_STATO_PROCEDURALE, OC_DENOM_BENEFICIARIO, *_INDICATORE_1 | empty: not recorded |
pub const OPENCOESIONE_COLUMNS: [(&str, Fill); 18] = [
    ("COD_LOCALE_PROGETTO", local_code),
    ("CUP", empty),
    ("OC_TITOLO_PROGETTO", title),
    ("OC_STATO_PROGETTO", oc_status),
    ("OC_STATO_PROCEDURALE", empty),
    ("FINANZ_UE", eu_funding),
    ("FINANZ_TOTALE_PUBBLICO", public_planned),
    ("IMPEGNI", public_committed),
    ("TOT_PAGAMENTI", public_spent),
    ("OC_DATA_INIZIO_PROGETTO", actual_start),
    ("OC_DATA_FINE_PROGETTO_PREVISTA", planned_end),
    ("OC_DATA_FINE_PROGETTO_EFFETTIVA", actual_end),
    ("OC_DENOM_ATTUATORE", implementers),
    ("OC_DENOM_BENEFICIARIO", empty),
    ("COD_INDICATORE_1", empty),
    ("UNITA_MISURA_INDICATORE_1", empty),
    ("PROGRAMMATO_INDICATORE_1", empty),
    ("REALIZZATO_INDICATORE_1", empty),
];

/// One row per action of `report` in the columns of `format`'s data set.
///
/// # Errors
/// [`ReportError::Csv`] when writing fails (it does not in memory).
pub fn open_data_csv(report: &Report, format: OpenDataFormat) -> Result<Vec<u8>, ReportError> {
    let columns: &[(&str, Fill)] = match format {
        OpenDataFormat::Pnrr => &PNRR_COLUMNS,
        OpenDataFormat::OpenCoesione => &OPENCOESIONE_COLUMNS,
    };
    let err = |e: csv::Error| ReportError::Csv(e.to_string());
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(columns.iter().map(|(c, _)| *c))
        .map_err(err)?;
    for a in &report.actions {
        w.write_record(columns.iter().map(|(_, fill)| fill(report, a)))
            .map_err(err)?;
    }
    w.into_inner().map_err(|e| ReportError::Csv(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    fn rows(
        format: OpenDataFormat,
        report: &Report,
    ) -> Vec<std::collections::HashMap<String, String>> {
        let bytes = open_data_csv(report, format).unwrap();
        let mut r = csv::Reader::from_reader(bytes.as_slice());
        let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(header, format.columns());
        r.records()
            .map(|rec| {
                header
                    .iter()
                    .cloned()
                    .zip(rec.unwrap().iter().map(str::to_owned))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_columns_are_the_national_names_of_the_facts_file() {
        assert_eq!(
            OpenDataFormat::Pnrr.columns(),
            [
                "Missione",
                "Componente",
                "Codice Univoco Misura",
                "Amministrazione Titolare",
                "CUP",
                "Codice Locale Progetto",
                "Stato CUP",
                "Stato Avanzamento Progetto",
                "Titolo Progetto",
                "Finanziamento PNRR",
                "Finanziamento Totale",
                "Soggetto Attuatore",
                "Data Inizio Progetto Prevista",
                "Data Inizio Progetto Effettiva",
                "Data Fine Progetto Prevista",
                "Data Fine Progetto Effettiva",
                "Descrizione Fase Iter di Progetto",
                "Stato Fase Iter di Progetto",
            ]
        );
        assert_eq!(
            OpenDataFormat::OpenCoesione.columns()[0],
            "COD_LOCALE_PROGETTO"
        );
        assert_eq!(
            OpenDataFormat::OpenCoesione.columns()[17],
            "REALIZZATO_INDICATORE_1"
        );
        assert_eq!(
            "opencoesione".parse::<OpenDataFormat>(),
            Ok(OpenDataFormat::OpenCoesione)
        );
        assert!("xls".parse::<OpenDataFormat>().is_err());
    }

    #[test]
    fn each_action_maps_from_its_own_data_and_unknowns_stay_empty() {
        let report = sample::full();
        let pnrr = rows(OpenDataFormat::Pnrr, &report);
        assert_eq!(pnrr.len(), 2);
        let g = &pnrr[1];
        assert_eq!(g["Missione"], "M2");
        assert_eq!(g["Componente"], "M2C4");
        assert_eq!(g["Codice Univoco Misura"], "M2C4I3.1");
        assert_eq!(g["Codice Locale Progetto"], "PSM-2021-2023/2.1.3");
        assert_eq!(g["Finanziamento PNRR"], "1234567.89");
        assert_eq!(g["Finanziamento Totale"], "1244567.89");
        assert_eq!(g["Soggetto Attuatore"], "Città metropolitana di Torino");
        assert_eq!(g["Data Inizio Progetto Prevista"], "2021-03-01");
        assert_eq!(g["Stato Avanzamento Progetto"], "In corso");
        for unknown in [
            "CUP",
            "Amministrazione Titolare",
            "Stato CUP",
            "Data Inizio Progetto Effettiva",
        ] {
            assert_eq!(g[unknown], "", "{unknown}");
        }
        assert_eq!(pnrr[0]["Missione"], "", "no PNRR line, no mission");
        assert_eq!(pnrr[0]["Finanziamento PNRR"], "0.00");

        let oc = rows(OpenDataFormat::OpenCoesione, &report);
        assert_eq!(oc[1]["OC_STATO_PROGETTO"], "In corso");
        assert_eq!(oc[0]["OC_STATO_PROGETTO"], "Non avviato");
        assert_eq!(oc[1]["FINANZ_TOTALE_PUBBLICO"], "1244567.89");
        assert_eq!(oc[1]["IMPEGNI"], "500000.00");
        assert_eq!(oc[1]["TOT_PAGAMENTI"], "12345.01");
        assert_eq!(oc[1]["FINANZ_UE"], "0.00");

        let mut other = report.clone();
        other.actions[1].funding.push(FundingLine {
            source: "OTHER".into(),
            planned_cents: 1,
            ..Default::default()
        });
        let oc = rows(OpenDataFormat::OpenCoesione, &other);
        assert_eq!(
            oc[1]["FINANZ_TOTALE_PUBBLICO"], "",
            "public or not cannot be told"
        );
    }
}
