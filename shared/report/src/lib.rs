//! The monitoring report of a plan for a period, and its renderings.
//!
//! This crate owns rendering only: the projector assembles a [`Report`] (plain serde
//! data, the same in process and over NATS) from its read models, and the gateway turns
//! it into what a reader asked for. With the default `render` feature:
//!
//! - [`render_html`]: a standalone printable page, inline CSS and SVG charts, every text
//!   escaped by `maud`;
//! - [`render_pdf`]: a PDF written by `pdf-writer` with the standard Type1 fonts in
//!   WinAnsiEncoding (no font files, accents of Italian text included), text wrapped
//!   and paginated, charts drawn as vector paths;
//! - [`actions_csv`], [`indicators_csv`], [`actions_xlsx`], [`indicators_xlsx`];
//! - [`open_data_csv`]: one row per action in the columns of the national PNRR
//!   (Italia Domani) or cohesion (OpenCoesione) project data sets.
//!
//! Amounts are euro cents (`i64`) everywhere and are written from them with integer
//! arithmetic ([`money`]); floats only place chart shapes on a page.
//!
//! Sections are filled by whatever the read models hold; a section left empty renders
//! a "no data for this period" line. Fields that the read side does not know yet
//! (instrument effect states, DUP objectives, questionnaire results, a PNRR mission or
//! an EU fund on a funding line) default to empty, so older producers still deserialize.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub mod money;

#[cfg(feature = "render")]
mod html;
#[cfg(feature = "render")]
pub mod open_data;
#[cfg(feature = "render")]
mod pdf;
#[cfg(feature = "render")]
mod tables;
#[cfg(feature = "render")]
mod text;

#[cfg(feature = "render")]
pub use html::render_html;
#[cfg(feature = "render")]
pub use open_data::{OpenDataFormat, open_data_csv};
#[cfg(feature = "render")]
pub use pdf::render_pdf;
#[cfg(feature = "render")]
pub use tables::{
    ACTION_COLUMNS, INDICATOR_COLUMNS, actions_csv, actions_xlsx, indicators_csv, indicators_xlsx,
};

/// Why a report or an export could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the period starts on {from}, after its end on {to}")]
    PeriodReversed { from: NaiveDate, to: NaiveDate },
    #[error("writing the spreadsheet failed: {0}")]
    Spreadsheet(String),
    #[error("writing the CSV failed: {0}")]
    Csv(String),
}

/// A closed period of days, `from` to `to` inclusive, `from` not after `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "RawPeriod")]
pub struct Period {
    #[schema(value_type = String, format = Date)]
    from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    to: NaiveDate,
}

#[derive(Deserialize)]
struct RawPeriod {
    from: NaiveDate,
    to: NaiveDate,
}

impl TryFrom<RawPeriod> for Period {
    type Error = ReportError;
    fn try_from(raw: RawPeriod) -> Result<Self, ReportError> {
        Self::new(raw.from, raw.to)
    }
}

impl Period {
    /// # Errors
    /// [`ReportError::PeriodReversed`] when `from` is after `to`.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, ReportError> {
        if from > to {
            return Err(ReportError::PeriodReversed { from, to });
        }
        Ok(Self { from, to })
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// Whether `day` (`YYYY-MM-DD`, or a longer RFC 3339 moment) falls in the period;
    /// an unreadable or empty day does not.
    pub fn contains(&self, day: &str) -> bool {
        day.get(..10)
            .and_then(|d| d.parse::<NaiveDate>().ok())
            .is_some_and(|d| self.from <= d && d <= self.to)
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} – {}", self.from, self.to)
    }
}

/// The plan a report describes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanInfo {
    pub code: String,
    pub title: String,
    pub owner: String,
}

/// The monitoring report of one plan for one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Report {
    pub plan: PlanInfo,
    pub period: Period,
    /// When the report was assembled (RFC 3339).
    pub generated_at: String,
    /// The global position of the log the read models had reached.
    pub position: u64,
    /// Context indicators (first level), in strategy then code order.
    #[serde(default)]
    pub indicators: Vec<IndicatorLine>,
    /// Live actions in code order, with their status and funding.
    #[serde(default)]
    pub actions: Vec<ActionLine>,
    /// How many actions of each axis are in each status.
    #[serde(default)]
    pub status_by_axis: Vec<AxisStatus>,
    /// Effects on planning instruments (second level) and DUP objectives.
    #[serde(default)]
    pub instruments: InstrumentSection,
    /// Questionnaire campaigns and their aggregated answers.
    #[serde(default)]
    pub questionnaires: Vec<CampaignResult>,
    /// Funding totals, per axis and per source.
    #[serde(default)]
    pub funding: FundingSection,
}

/// One value of an indicator's series.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeriesPoint {
    /// `2022`, `2022-Q3` or `2022-06`.
    pub period: String,
    /// A decimal number as text (`1302.25`), the current value after corrections.
    pub value: String,
}

/// A context indicator with its classification.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct IndicatorLine {
    pub code: String,
    pub name: String,
    pub unit: String,
    pub strategy: String,
    /// `increase` or `decrease`.
    pub direction: String,
    pub territory: String,
    pub source: String,
    pub baseline_value: String,
    pub baseline_year: u32,
    pub target_value: String,
    pub target_year: u32,
    /// The latest value of its own territory whose period starts by the period's end.
    pub latest: Option<SeriesPoint>,
    pub trend: String,
    pub on_track: String,
    /// The version of the rule that classified it.
    pub rule_version: String,
    /// Its own territory's values up to the period's end, oldest first (for the chart).
    pub series: Vec<SeriesPoint>,
    /// Withdrawn from monitoring (still reported, marked so), and why.
    pub retired: bool,
    pub retired_reason: String,
}

/// One funding line of an action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct FundingLine {
    /// `PNRR`, `EU-2021-2027`, `REGIONAL`, `OWN`, `PRIVATE`, `OTHER` or an older code.
    pub source: String,
    /// For `PNRR` the component (`M2C4`); for `EU-2021-2027` the programme.
    pub programme: String,
    /// For `PNRR` the measure code (`M2C4I3.1`).
    pub measure: String,
    /// For `PNRR` the mission (`M2`); empty when not known.
    pub mission: String,
    /// For `EU-2021-2027` the fund (`FESR`, `FSE+`, ...); empty when not known.
    pub fund: String,
    pub planned_cents: i64,
    pub committed_cents: i64,
    pub spent_cents: i64,
}

/// An action with its status and funding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ActionLine {
    pub code: String,
    pub title: String,
    pub strategy: String,
    pub axis: String,
    /// `direct` or `steering`.
    pub competence: String,
    /// `not_started`, `started`, `in_progress`, `completed`, `suspended`, `cancelled`.
    pub status: String,
    pub progress: u32,
    /// The date the latest progress report speaks for (`YYYY-MM-DD`), empty when none.
    pub status_as_of: String,
    /// Whether the latest progress report speaks for a day in the period.
    pub reported_in_period: bool,
    pub responsible_organisations: Vec<String>,
    pub partner_organisations: Vec<String>,
    pub territorial_scope: String,
    pub planned_start: String,
    pub planned_end: String,
    pub actual_start: String,
    pub actual_end: String,
    pub funding: Vec<FundingLine>,
    pub planned_cents: i64,
    pub committed_cents: i64,
    pub spent_cents: i64,
}

/// How many actions of an axis are in each status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct AxisStatus {
    pub axis: String,
    pub name: String,
    /// Counts per status, in the order of [`STATUSES`].
    pub counts: Vec<StatusCount>,
}

/// A number of actions in one status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusCount {
    pub status: String,
    pub actions: u64,
}

/// Every action status, in the order reports show them.
pub const STATUSES: [&str; 6] = [
    "not_started",
    "started",
    "in_progress",
    "completed",
    "suspended",
    "cancelled",
];

/// The Italian label of an action status (the status itself when unknown).
pub fn status_label(status: &str) -> &str {
    match status {
        "not_started" => "Non avviata",
        "started" => "Avviata",
        "in_progress" => "In corso",
        "completed" => "Completata",
        "suspended" => "Sospesa",
        "cancelled" => "Annullata",
        other => other,
    }
}

/// Effects on planning instruments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct InstrumentSection {
    pub effects: Vec<InstrumentEffect>,
    pub dup_objectives: Vec<DupObjective>,
}

/// What an action does to a section of a planning instrument.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct InstrumentEffect {
    /// `PTGM`, `PUMS`, `DUP` or another instrument's code.
    pub instrument: String,
    pub section: String,
    pub action: String,
    pub effect: String,
    /// `planned`, `in_progress`, `achieved`, `not_pursued`; empty when not stated.
    pub state: String,
}

/// A DUP objective an action became.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct DupObjective {
    pub action: String,
    /// `strategic`, `operational` or `management`.
    pub level: String,
    pub code: String,
    pub title: String,
}

/// A questionnaire campaign and its aggregated answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CampaignResult {
    pub campaign: String,
    pub title: String,
    /// `open` or `closed`.
    pub status: String,
    pub invited: u64,
    pub answered: u64,
    pub questions: Vec<QuestionResult>,
}

/// The aggregated answers to one question, per action or strategy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct QuestionResult {
    pub question: String,
    pub text: String,
    /// `scale`, `choice` or `text`.
    pub kind: String,
    pub aggregates: Vec<AnswerAggregate>,
}

/// Answers to one question about one action or strategy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct AnswerAggregate {
    /// An action or strategy code; empty for the plan as a whole.
    pub subject: String,
    pub answers: u64,
    /// For a scale question, the mean as a decimal text (`3.5`); empty otherwise.
    pub mean: String,
    /// For a choice question, how many chose each option.
    pub choices: Vec<ChoiceCount>,
}

/// How many chose one option.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChoiceCount {
    pub option: String,
    pub count: u64,
}

/// Planned, committed and spent amounts in cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Amounts {
    pub planned_cents: i64,
    pub committed_cents: i64,
    pub spent_cents: i64,
}

impl Amounts {
    pub fn add(&mut self, line: &FundingLine) {
        self.planned_cents += line.planned_cents;
        self.committed_cents += line.committed_cents;
        self.spent_cents += line.spent_cents;
    }

    pub fn is_zero(&self) -> bool {
        self.planned_cents == 0 && self.committed_cents == 0 && self.spent_cents == 0
    }
}

/// Amounts of one axis or source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct FundingRow {
    /// The axis or source code.
    pub key: String,
    pub name: String,
    pub amounts: Amounts,
}

/// Funding roll-ups.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct FundingSection {
    /// The rule that counted agreements' commitments (`counted-once-v1`); empty when
    /// the lines alone were summed.
    pub rule_version: String,
    pub totals: Amounts,
    /// The part of the committed amounts that comes from agreements' commitments no
    /// funding line records.
    pub agreements_committed_cents: i64,
    pub by_axis: Vec<FundingRow>,
    pub by_source: Vec<FundingRow>,
}

impl FundingSection {
    /// Rolls up the funding lines of `actions` per axis (named by `axes`) and source.
    pub fn of(actions: &[ActionLine], axes: &[(String, String)]) -> Self {
        let mut totals = Amounts::default();
        let mut by_axis: Vec<FundingRow> = axes
            .iter()
            .map(|(code, name)| FundingRow {
                key: code.clone(),
                name: name.clone(),
                amounts: Amounts::default(),
            })
            .collect();
        let mut by_source: std::collections::BTreeMap<String, Amounts> = Default::default();
        for a in actions {
            for line in &a.funding {
                totals.add(line);
                by_source.entry(line.source.clone()).or_default().add(line);
                if let Some(row) = by_axis.iter_mut().find(|r| r.key == a.axis) {
                    row.amounts.add(line);
                }
            }
        }
        Self {
            rule_version: String::new(),
            totals,
            agreements_committed_cents: 0,
            by_axis,
            by_source: by_source
                .into_iter()
                .map(|(key, amounts)| FundingRow {
                    name: source_name(&key).to_owned(),
                    key,
                    amounts,
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.totals.is_zero() && self.agreements_committed_cents == 0
    }
}

/// The name of a funding source code (the code itself when unknown).
pub fn source_name(code: &str) -> &str {
    match code {
        "PNRR" => "Piano Nazionale di Ripresa e Resilienza",
        "EU-2021-2027" => "Fondi europei 2021-2027",
        "REGIONAL" => "Regione",
        "OWN" => "Bilancio della Città metropolitana",
        "PRIVATE" => "Privati",
        "OTHER" => "Altro",
        other => other,
    }
}

#[cfg(test)]
pub(crate) mod sample {
    //! A report with example figures (not official), for the renderers' tests.
    use super::*;

    pub fn period() -> Period {
        Period::new(
            NaiveDate::from_ymd_opt(2022, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2022, 12, 31).unwrap(),
        )
        .unwrap()
    }

    pub fn empty() -> Report {
        Report {
            plan: PlanInfo {
                code: "PSM-2021-2023".into(),
                title: "Torino Metropoli aumentata".into(),
                owner: "Città metropolitana di Torino".into(),
            },
            period: period(),
            generated_at: "2023-02-01T10:00:00+00:00".into(),
            position: 42,
            indicators: Vec::new(),
            actions: Vec::new(),
            status_by_axis: Vec::new(),
            instruments: InstrumentSection::default(),
            questionnaires: Vec::new(),
            funding: FundingSection::default(),
        }
    }

    pub fn full() -> Report {
        let mut r = empty();
        r.indicators = vec![IndicatorLine {
            code: "ESEMPIO-2.1-01".into(),
            name: "ESEMPIO - Superficie forestale (dati illustrativi, non ufficiali)".into(),
            unit: "ha".into(),
            strategy: "2.1".into(),
            direction: "increase".into(),
            territory: "Città metropolitana di Torino".into(),
            baseline_value: "1000".into(),
            baseline_year: 2020,
            target_value: "1300".into(),
            target_year: 2023,
            latest: Some(SeriesPoint {
                period: "2022".into(),
                value: "1210.5".into(),
            }),
            trend: "improving".into(),
            on_track: "on_track".into(),
            rule_version: "trend-v1".into(),
            series: vec![
                SeriesPoint {
                    period: "2021".into(),
                    value: "1100".into(),
                },
                SeriesPoint {
                    period: "2022".into(),
                    value: "1210.5".into(),
                },
            ],
            ..Default::default()
        }];
        let line = |source: &str, programme: &str, measure: &str, p, c, s| FundingLine {
            source: source.into(),
            programme: programme.into(),
            measure: measure.into(),
            planned_cents: p,
            committed_cents: c,
            spent_cents: s,
            ..Default::default()
        };
        let mut gran_bosco = ActionLine {
            code: "2.1.3".into(),
            title: "Gran Bosco Torino".into(),
            strategy: "2.1".into(),
            axis: "2".into(),
            competence: "direct".into(),
            status: "in_progress".into(),
            progress: 40,
            status_as_of: "2022-06-30".into(),
            reported_in_period: true,
            responsible_organisations: vec!["Città metropolitana di Torino".into()],
            planned_start: "2021-03-01".into(),
            planned_end: "2023-12-31".into(),
            funding: vec![
                line(
                    "PNRR",
                    "M2C4",
                    "M2C4I3.1",
                    123_456_789,
                    50_000_000,
                    1_234_501,
                ),
                line("OWN", "", "", 1_000_000, 0, 0),
            ],
            ..Default::default()
        };
        for l in &gran_bosco.funding.clone() {
            gran_bosco.planned_cents += l.planned_cents;
            gran_bosco.committed_cents += l.committed_cents;
            gran_bosco.spent_cents += l.spent_cents;
        }
        r.actions = vec![
            ActionLine {
                code: "1.1.1".into(),
                title: "Azione d'esempio: <script>alert(\"x\")</script> & più".into(),
                strategy: "1.1".into(),
                axis: "1".into(),
                competence: "steering".into(),
                status: "not_started".into(),
                ..Default::default()
            },
            gran_bosco,
        ];
        r.status_by_axis = vec![
            AxisStatus {
                axis: "1".into(),
                name: "Digitalizzazione, innovazione, competitività e cultura".into(),
                counts: vec![StatusCount {
                    status: "not_started".into(),
                    actions: 1,
                }],
            },
            AxisStatus {
                axis: "2".into(),
                name: "Rivoluzione verde e transizione ecologica".into(),
                counts: vec![StatusCount {
                    status: "in_progress".into(),
                    actions: 1,
                }],
            },
        ];
        r.instruments.effects = vec![InstrumentEffect {
            instrument: "PTGM".into(),
            section: "Infrastrutture verdi".into(),
            action: "2.1.3".into(),
            effect: "Recepimento delle aree del Gran Bosco (esempio)".into(),
            state: String::new(),
        }];
        let axes = vec![
            ("1".to_owned(), "Digitalizzazione".to_owned()),
            ("2".to_owned(), "Rivoluzione verde".to_owned()),
        ];
        r.funding = FundingSection::of(&r.actions, &axes);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_never_reversed_not_even_when_deserialized() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert!(Period::new(d("2022-12-31"), d("2022-01-01")).is_err());
        let p = Period::new(d("2022-01-01"), d("2022-12-31")).unwrap();
        assert!(p.contains("2022-06-30") && p.contains("2022-12-31T23:00:00Z"));
        assert!(!p.contains("2023-01-01") && !p.contains(""));
        let json = r#"{"from":"2022-12-31","to":"2022-01-01"}"#;
        assert!(serde_json::from_str::<Period>(json).is_err());
        let back: Period = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn funding_rolls_up_per_axis_and_source_exactly() {
        let r = sample::full();
        assert_eq!(r.funding.totals.planned_cents, 124_456_789);
        assert_eq!(r.funding.by_axis[1].amounts.spent_cents, 1_234_501);
        assert_eq!(r.funding.by_axis[0].amounts, Amounts::default());
        let sources: Vec<&str> = r.funding.by_source.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(sources, ["OWN", "PNRR"]);
    }

    #[test]
    fn a_report_without_the_newer_sections_still_reads() {
        let mut v = serde_json::to_value(sample::full()).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("questionnaires");
        o.remove("instruments");
        let r: Report = serde_json::from_value(v).unwrap();
        assert!(r.questionnaires.is_empty() && r.instruments.effects.is_empty());
    }
}
