//! The `Indicator` aggregate (stream `indicator:<plan>/<code>`): a context indicator's
//! definition and its measurements, and the pure decisions taken against it:
//! [`decide_define`], [`decide_record`], [`decide_correct`] and [`decide_import`].
//!
//! The choices: a measurement is named by its number in the indicator (1, 2, ... in
//! the order recorded), stable forever; a correction is a new event that keeps the
//! original and carries the value it replaces, the new one and the reason, so the read
//! model shows both. There is no edit of a definition yet (no `IndicatorEdited`).
//!
//! Rules, checked in this order:
//! - **define**: the plan exists ([`ApiError::NotFound`]); the code is an
//!   [`IndicatorCode`] not defined yet ([`ApiError::Rejected`]); the strategy is a
//!   strategy code of the plan ([`ApiError::Validation`] on `strategy` when the plan has
//!   none such) and not retired ([`ApiError::Rejected`]); name, unit, source and
//!   territory are not blank; the direction is `increase`, `decrease` or `stable`;
//!   baseline and target are [`Decimal`]s; the years are 1900-2100 and the target's is
//!   after the baseline's; for `increase` the target is above the baseline, for
//!   `decrease` below ([`ApiError::Validation`]).
//! - **record**: the indicator is defined ([`ApiError::NotFound`]); the period is a
//!   [`Period`], the territory is not blank, the value a [`Decimal`]; no measurement
//!   of the same period and territory ([`same_territory`]: case and spacing ignored)
//!   exists ([`ApiError::Rejected`] on `period`: send
//!   a correction instead).
//! - **correct**: the indicator is defined and the measurement exists
//!   ([`ApiError::NotFound`]); the value is a [`Decimal`] other than the current one
//!   ([`ApiError::Rejected`] when equal); the reason is not blank.
//! - **import**: each row is a **record** decided on the state the rows before it left,
//!   so a duplicate inside the file is caught like one against the log; every bad row
//!   is reported with its line, and no event is returned unless every row is valid.

use std::collections::BTreeMap;

use metroplan_api::ApiError;
use metroplan_api::indicators::{
    CorrectMeasurement, Decimal, DefineIndicator, Direction, IndicatorCode, Period,
    RecordMeasurement, RowError, same_territory,
};
use metroplan_api::values::{ItemCode, Level, PlanCode};
use metroplan_events::{Aggregate, RecordedEvent, pb};

/// Longest name, unit, source, territory or note accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 500;

/// An indicator's definition, as defined.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub code: String,
    pub strategy: String,
    pub territory: String,
}

/// One measurement at its current value.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub number: u32,
    pub period: String,
    pub territory: String,
    pub value: String,
}

/// A context indicator as its stream adds up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Indicator {
    /// `None` until `IndicatorDefined`.
    pub definition: Option<Definition>,
    pub measurements: Vec<Measurement>,
}

impl Indicator {
    /// Applies one event (what [`Aggregate::evolve`] does, without an envelope).
    pub fn apply(&mut self, event: &pb::IndicatorEvent) {
        use pb::indicator_event::Event;
        match &event.event {
            Some(Event::IndicatorDefined(d)) => {
                self.definition = Some(Definition {
                    code: d.code.clone(),
                    strategy: d.strategy.clone(),
                    territory: d.territory.clone(),
                });
            }
            Some(Event::MeasurementRecorded(m)) => self.measurements.push(Measurement {
                number: m.measurement,
                period: m.period.clone(),
                territory: m.territory.clone(),
                value: m.value.clone(),
            }),
            Some(Event::MeasurementCorrected(c)) => {
                if let Some(m) = self
                    .measurements
                    .iter_mut()
                    .find(|m| m.number == c.measurement)
                {
                    m.value.clone_from(&c.value);
                }
            }
            None => {}
        }
    }

    fn measurement_of(&self, period: &Period, territory: &str) -> Option<&Measurement> {
        self.measurements.iter().find(|m| {
            same_territory(&m.territory, territory)
                && m.period.parse::<Period>().is_ok_and(|p| p == *period)
        })
    }
}

impl Aggregate for Indicator {
    type Event = pb::IndicatorEvent;

    fn evolve(&mut self, event: &pb::IndicatorEvent, _recorded: &RecordedEvent) {
        self.apply(event);
    }
}

/// Where the strategies of a plan stand, read by the service before deciding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanStrategies {
    /// Strategy code -> retired.
    pub strategies: BTreeMap<String, bool>,
}

/// Decides the definition of an indicator on a stream that should be empty.
///
/// # Errors
/// See the module's rules.
pub fn decide_define(
    state: &Indicator,
    plan: &PlanCode,
    strategies: Option<&PlanStrategies>,
    body: &DefineIndicator,
) -> Result<Vec<pb::IndicatorEvent>, ApiError> {
    let Some(strategies) = strategies else {
        return Err(ApiError::not_found(format!("plan {plan}")));
    };
    let code: IndicatorCode = body
        .code
        .trim()
        .parse()
        .map_err(|m| ApiError::validation("code", m))?;
    if state.definition.is_some() {
        return Err(ApiError::rejected(
            Some("code"),
            format!("indicator {code} of plan {plan} is already defined"),
        ));
    }
    let strategy = ItemCode::parse_level(body.strategy.trim(), Level::Strategy)
        .map_err(|m| ApiError::validation("strategy", m))?;
    match strategies.strategies.get(strategy.as_str()) {
        None => {
            return Err(ApiError::validation(
                "strategy",
                format!("plan {plan} has no strategy {strategy}"),
            ));
        }
        Some(true) => {
            return Err(ApiError::rejected(
                Some("strategy"),
                format!("strategy {strategy} of plan {plan} is retired"),
            ));
        }
        Some(false) => {}
    }
    let name = text("name", &body.name)?;
    let unit = text("unit", &body.unit)?;
    let source = text("source", &body.source)?;
    let territory = text("territory", &body.territory)?;
    let direction: Direction = body
        .direction
        .trim()
        .parse()
        .map_err(|m| ApiError::validation("direction", m))?;
    let baseline = decimal("baseline_value", &body.baseline_value)?;
    let target = decimal("target_value", &body.target_value)?;
    let baseline_year = year("baseline_year", body.baseline_year)?;
    let target_year = year("target_year", body.target_year)?;
    if target_year <= baseline_year {
        return Err(ApiError::validation(
            "target_year",
            format!("{target_year} is not after the baseline year {baseline_year}"),
        ));
    }
    match direction {
        Direction::Increase if target <= baseline => {
            return Err(ApiError::validation(
                "target_value",
                format!(
                    "an indicator that should increase needs a target above its baseline {baseline}, not {target}"
                ),
            ));
        }
        Direction::Decrease if target >= baseline => {
            return Err(ApiError::validation(
                "target_value",
                format!(
                    "an indicator that should decrease needs a target below its baseline {baseline}, not {target}"
                ),
            ));
        }
        _ => {}
    }
    Ok(vec![
        pb::IndicatorDefined {
            plan: plan.to_string(),
            code: code.to_string(),
            strategy: strategy.to_string(),
            name,
            unit,
            source,
            direction: direction.as_str().to_owned(),
            baseline_value: baseline.to_string(),
            baseline_year: u32::from(baseline_year),
            target_value: target.to_string(),
            target_year: u32::from(target_year),
            territory,
        }
        .into(),
    ])
}

/// Decides one measurement.
///
/// # Errors
/// See the module's rules.
pub fn decide_record(
    state: &Indicator,
    plan: &PlanCode,
    code: &IndicatorCode,
    body: &RecordMeasurement,
) -> Result<Vec<pb::IndicatorEvent>, ApiError> {
    if state.definition.is_none() {
        return Err(ApiError::not_found(format!(
            "indicator {code} of plan {plan}"
        )));
    }
    let period: Period = body
        .period
        .trim()
        .parse()
        .map_err(|m| ApiError::validation("period", m))?;
    let territory = text("territory", &body.territory)?;
    let value = decimal("value", &body.value)?;
    let source_note = body.source_note.trim().to_owned();
    if source_note.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::validation(
            "source_note",
            format!("is longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    if let Some(m) = state.measurement_of(&period, &territory) {
        return Err(ApiError::rejected(
            Some("period"),
            format!(
                "indicator {code} already has measurement {} for {period} in {territory} (value {}): send a correction instead",
                m.number, m.value
            ),
        ));
    }
    let number = u32::try_from(state.measurements.len() + 1)
        .map_err(|_| ApiError::internal("too many measurements"))?;
    Ok(vec![
        pb::MeasurementRecorded {
            plan: plan.to_string(),
            indicator: code.to_string(),
            measurement: number,
            period: period.to_string(),
            territory,
            value: value.to_string(),
            source_note,
        }
        .into(),
    ])
}

/// Decides a correction of measurement `measurement` (its number, from the path).
///
/// # Errors
/// See the module's rules.
pub fn decide_correct(
    state: &Indicator,
    plan: &PlanCode,
    code: &IndicatorCode,
    measurement: &str,
    body: &CorrectMeasurement,
) -> Result<Vec<pb::IndicatorEvent>, ApiError> {
    if state.definition.is_none() {
        return Err(ApiError::not_found(format!(
            "indicator {code} of plan {plan}"
        )));
    }
    let number: u32 = measurement.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        ApiError::validation(
            "measurement",
            format!("{measurement:?} is not a measurement number (1, 2, ...)"),
        )
    })?;
    let Some(m) = state.measurements.iter().find(|m| m.number == number) else {
        return Err(ApiError::not_found(format!(
            "measurement {number} of indicator {code}"
        )));
    };
    let value = decimal("value", &body.value)?;
    let reason = text("reason", &body.reason)?;
    if m.value.parse::<Decimal>().is_ok_and(|v| v == value) {
        return Err(ApiError::rejected(
            Some("value"),
            format!("measurement {number} is already {}", m.value),
        ));
    }
    Ok(vec![
        pb::MeasurementCorrected {
            plan: plan.to_string(),
            indicator: code.to_string(),
            measurement: number,
            period: m.period.clone(),
            territory: m.territory.clone(),
            previous_value: m.value.clone(),
            value: value.to_string(),
            reason,
        }
        .into(),
    ])
}

/// One data row of an import for one indicator, with its line in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    pub line: u64,
    pub measurement: RecordMeasurement,
}

/// Decides every row of one indicator in turn; every bad row is reported.
///
/// # Errors
/// The bad rows, each with its line, the column at fault and why.
pub fn decide_import(
    state: &Indicator,
    plan: &PlanCode,
    code: &IndicatorCode,
    rows: &[ImportRow],
) -> Result<Vec<pb::IndicatorEvent>, Vec<RowError>> {
    let mut state = state.clone();
    let (mut events, mut errors) = (Vec::new(), Vec::new());
    for row in rows {
        match decide_record(&state, plan, code, &row.measurement) {
            Ok(new) => {
                for e in &new {
                    state.apply(e);
                }
                events.extend(new);
            }
            Err(e) => errors.push(row_error(row.line, e)),
        }
    }
    if errors.is_empty() {
        Ok(events)
    } else {
        Err(errors)
    }
}

/// A decision's error as a bad row of line `line`.
pub fn row_error(line: u64, e: ApiError) -> RowError {
    let (column, reason) = match e {
        ApiError::Validation { field, message } => (Some(field), message),
        ApiError::Rejected { field, message } => (field, message),
        ApiError::NotFound { what } => (Some("indicator".to_owned()), format!("{what} not found")),
        other => (None, other.to_string()),
    };
    RowError {
        line,
        column,
        reason,
    }
}

fn text(field: &str, s: &str) -> Result<String, ApiError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ApiError::validation(field, "is blank"));
    }
    if s.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::validation(
            field,
            format!("is longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(s.to_owned())
}

fn decimal(field: &str, s: &str) -> Result<Decimal, ApiError> {
    s.trim().parse().map_err(|m| ApiError::validation(field, m))
}

fn year(field: &str, y: i64) -> Result<u16, ApiError> {
    u16::try_from(y)
        .ok()
        .filter(|y| (1900..=2100).contains(y))
        .ok_or_else(|| ApiError::validation(field, format!("{y} is not a year 1900-2100")))
}
