//! The `Indicator` aggregate (stream `indicator:<plan>/<code>`): a context indicator's
//! definition and its measurements, and the pure decisions taken against it:
//! [`decide_define`], [`decide_edit`], [`decide_retire`], [`decide_record`],
//! [`decide_correct`] and [`decide_import`].
//!
//! The choices: a measurement is named by its number in the indicator (1, 2, ... in
//! the order recorded), stable forever; a correction is a new event that keeps the
//! original and carries the value it replaces, the new one and the reason, so the read
//! model shows both. A definition is edited field by field (`IndicatorEdited` holds
//! only the fields that change) and co-edits merge three ways like an action's: the
//! aggregate keeps, per version that touched the definition, the fields changed and
//! the definition left, so a stale edit is applied when the fields it changes (against
//! the version it was based on) were not changed since, and is an
//! [`ApiError::EditConflict`] with base, theirs and yours otherwise. A retired
//! indicator keeps its history and reads, but takes nothing more.
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
//! - **edit**: the indicator is defined ([`ApiError::NotFound`]) and not retired
//!   ([`ApiError::Rejected`]); every sent field reads as in a definition
//!   ([`ApiError::Validation`] naming it); at least one is sent and one changes the
//!   definition ([`ApiError::Validation`] on `body`); the base version is not ahead of
//!   the stream ([`ApiError::PreconditionFailed`]); no field it changes was changed
//!   since its base to another value ([`ApiError::EditConflict`]); the definition it
//!   leaves keeps the rules of a definition ([`ApiError::Validation`] naming the field
//!   the edit sets that breaks it).
//! - **retire**: the indicator is defined ([`ApiError::NotFound`]) and not retired
//!   ([`ApiError::Rejected`]); the reason is not blank.
//! - **record**: the indicator is defined ([`ApiError::NotFound`]) and not retired
//!   ([`ApiError::Rejected`]); the period is a [`Period`], the territory is not blank,
//!   the value a [`Decimal`]; no measurement of the same period and territory
//!   ([`same_territory`]: case and spacing ignored) exists ([`ApiError::Rejected`] on
//!   `period`: send a correction instead).
//! - **correct**: the indicator is defined ([`ApiError::NotFound`]) and not retired
//!   ([`ApiError::Rejected`]); the measurement exists ([`ApiError::NotFound`]); the value is a [`Decimal`] other than the current one ([`ApiError::Rejected`]
//!   when equal); the reason is not blank.
//! - **import**: each row is a **record** decided on the state the rows before it left,
//!   so a duplicate inside the file is caught like one against the log; every bad row
//!   is reported with its line, and no event is returned unless every row is valid.

use std::collections::{BTreeMap, BTreeSet};

use metroplan_api::ApiError;
use metroplan_api::indicators::{
    CorrectMeasurement, Decimal, DefineIndicator, Direction, EditIndicator, IndicatorCode, Period,
    RecordMeasurement, RetireIndicator, RowError, same_territory,
};
use metroplan_api::values::{ItemCode, Level, PlanCode};
use metroplan_events::{Aggregate, RecordedEvent, pb};
use serde_json::{Map, Value, json};

/// Longest name, unit, source, territory or note accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 500;

/// The fields an edit may change, by their JSON name.
pub const EDITABLE_FIELDS: [&str; 9] = [
    "name",
    "unit",
    "source",
    "direction",
    "baseline_value",
    "baseline_year",
    "target_value",
    "target_year",
    "territory",
];

/// One measurement at its current value.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub number: u32,
    pub period: String,
    pub territory: String,
    pub value: String,
}

/// What one event that touched the definition did.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    version: u64,
    /// The definition fields the event changed (every one for the definition itself).
    changed: BTreeSet<&'static str>,
    /// The definition it left.
    after: pb::IndicatorDefined,
}

/// A context indicator as its stream adds up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Indicator {
    /// The definition as it stands, edits applied; `None` until `IndicatorDefined`.
    pub definition: Option<pb::IndicatorDefined>,
    pub measurements: Vec<Measurement>,
    /// The reason, once retired.
    pub retired: Option<String>,
    /// The stream version of the last event applied (0: none).
    pub version: u64,
    history: Vec<Step>,
}

impl Indicator {
    /// Applies one event as the stream's next version (what [`Aggregate::evolve`]
    /// does, without an envelope).
    pub fn apply(&mut self, event: &pb::IndicatorEvent) {
        self.apply_at(event, self.version + 1);
    }

    /// Applies the event recorded at stream `version`.
    fn apply_at(&mut self, event: &pb::IndicatorEvent, version: u64) {
        use pb::indicator_event::Event;
        self.version = version;
        let changed = match &event.event {
            Some(Event::IndicatorDefined(d)) => {
                self.definition = Some(d.clone());
                EDITABLE_FIELDS.iter().copied().collect()
            }
            Some(Event::IndicatorEdited(e)) => {
                if let Some(def) = self.definition.as_mut() {
                    apply_edit(def, e);
                }
                edit_values(e).into_iter().map(|(f, _)| f).collect()
            }
            Some(Event::IndicatorRetired(r)) => {
                self.retired = Some(r.reason.clone());
                BTreeSet::new()
            }
            Some(Event::MeasurementRecorded(m)) => {
                self.measurements.push(Measurement {
                    number: m.measurement,
                    period: m.period.clone(),
                    territory: m.territory.clone(),
                    value: m.value.clone(),
                });
                return;
            }
            Some(Event::MeasurementCorrected(c)) => {
                if let Some(m) = self
                    .measurements
                    .iter_mut()
                    .find(|m| m.number == c.measurement)
                {
                    m.value.clone_from(&c.value);
                }
                return;
            }
            None => return,
        };
        if let Some(after) = &self.definition {
            self.history.push(Step {
                version: self.version,
                changed,
                after: after.clone(),
            });
        }
    }

    /// The definition as it stood at stream `version` (`None` before it was defined).
    pub fn definition_at(&self, version: u64) -> Option<&pb::IndicatorDefined> {
        self.history
            .iter()
            .rev()
            .find(|s| s.version <= version)
            .map(|s| &s.after)
    }

    /// The definition fields changed by the events after `version`.
    pub fn changed_since(&self, version: u64) -> BTreeSet<&'static str> {
        self.history
            .iter()
            .filter(|s| s.version > version)
            .flat_map(|s| s.changed.iter().copied())
            .collect()
    }

    fn measurement_of(&self, period: &Period, territory: &str) -> Option<&Measurement> {
        self.measurements.iter().find(|m| {
            same_territory(&m.territory, territory)
                && m.period.parse::<Period>().is_ok_and(|p| p == *period)
        })
    }

    /// The definition of a live indicator: not found before it is defined, rejected
    /// once retired (`doing` says what was refused).
    fn live(
        &self,
        plan: &PlanCode,
        code: &IndicatorCode,
        doing: &str,
    ) -> Result<&pb::IndicatorDefined, ApiError> {
        let Some(def) = self.definition.as_ref() else {
            return Err(ApiError::not_found(format!(
                "indicator {code} of plan {plan}"
            )));
        };
        if let Some(reason) = &self.retired {
            return Err(ApiError::rejected(
                None,
                format!("indicator {code} is retired ({reason}): it takes no more {doing}"),
            ));
        }
        Ok(def)
    }
}

impl Aggregate for Indicator {
    type Event = pb::IndicatorEvent;

    fn evolve(&mut self, event: &pb::IndicatorEvent, recorded: &RecordedEvent) {
        self.apply_at(event, recorded.stream_version);
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
    check_goal(
        direction,
        (baseline, baseline_year),
        (target, target_year),
        &|field| field,
    )?;
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

/// An accepted edit: its event and whether it was merged with changes made since its
/// base version.
#[derive(Debug, Clone, PartialEq)]
pub struct EditDecision {
    pub events: Vec<pb::IndicatorEvent>,
    pub merged: bool,
}

/// Edits the definition of an indicator whose stream is at `version`, seen by the
/// editor at `base_version` (`None`: whatever is current).
///
/// The merge rule: the fields this edit changes are those it sends with a value other
/// than the base version's (decimals compared by value). The fields others changed
/// are those of the `IndicatorEdited` events after the base (measurements change no
/// field of the definition). When no field is in both with two different new values,
/// the edit is applied to the current definition, `merged` when the base was stale;
/// otherwise it is a conflict with base, theirs and yours for those fields. Only the
/// fields whose value differs from the current definition are recorded.
///
/// # Errors
/// See the module's rules.
pub fn decide_edit(
    state: &Indicator,
    plan: &PlanCode,
    code: &IndicatorCode,
    version: u64,
    base_version: Option<u64>,
    body: &EditIndicator,
) -> Result<EditDecision, ApiError> {
    let current = state.live(plan, code, "edits")?;
    let sent = parse_edit(plan, code, body)?;
    let yours = edit_values(&sent);
    if yours.is_empty() {
        return Err(ApiError::validation(
            "body",
            format!(
                "an edit must set at least one of {}",
                EDITABLE_FIELDS.join(", ")
            ),
        ));
    }
    let base = base_version.unwrap_or(version);
    if base > version {
        return Err(ApiError::PreconditionFailed {
            message: format!(
                "base version {base} is ahead of indicator {code}, which is at version {version}"
            ),
        });
    }
    let base_def = state.definition_at(base);
    let mine: Vec<(&'static str, Value)> = yours
        .into_iter()
        .filter(|(f, v)| !same_value(f, &field_value(base_def, f), v))
        .collect();
    let theirs = state.changed_since(base);
    let overlap: Vec<&(&'static str, Value)> = mine
        .iter()
        .filter(|(f, v)| theirs.contains(f) && !same_value(f, &field_value(Some(current), f), v))
        .collect();
    if !overlap.is_empty() {
        let (mut fields, mut b, mut t, mut y) = (Vec::new(), Map::new(), Map::new(), Map::new());
        for (f, v) in overlap {
            fields.push((*f).to_owned());
            b.insert((*f).to_owned(), field_value(base_def, f));
            t.insert((*f).to_owned(), field_value(Some(current), f));
            y.insert((*f).to_owned(), v.clone());
        }
        return Err(ApiError::EditConflict {
            fields,
            base_version: base,
            current_version: version,
            base: Value::Object(b),
            theirs: Value::Object(t),
            yours: Value::Object(y),
        });
    }
    let record: BTreeSet<&str> = mine
        .iter()
        .filter(|(f, v)| !same_value(f, &field_value(Some(current), f), v))
        .map(|(f, _)| *f)
        .collect();
    if record.is_empty() {
        return Err(ApiError::validation(
            "body",
            format!("the edit changes nothing: indicator {code} already reads so"),
        ));
    }
    let mut edit = sent;
    retain_fields(&mut edit, &record);
    let mut after = current.clone();
    apply_edit(&mut after, &edit);
    check_edited(&after, &record)?;
    Ok(EditDecision {
        events: vec![edit.into()],
        merged: base < version,
    })
}

/// Decides the retirement of an indicator.
///
/// # Errors
/// See the module's rules.
pub fn decide_retire(
    state: &Indicator,
    plan: &PlanCode,
    code: &IndicatorCode,
    body: &RetireIndicator,
) -> Result<Vec<pb::IndicatorEvent>, ApiError> {
    if state.definition.is_none() {
        return Err(ApiError::not_found(format!(
            "indicator {code} of plan {plan}"
        )));
    }
    if let Some(reason) = &state.retired {
        return Err(ApiError::rejected(
            None,
            format!("indicator {code} is already retired ({reason})"),
        ));
    }
    let reason = text("reason", &body.reason)?;
    Ok(vec![
        pb::IndicatorRetired {
            plan: plan.to_string(),
            code: code.to_string(),
            reason,
        }
        .into(),
    ])
}

/// The edit a body asks for, every sent field parsed as in a definition.
fn parse_edit(
    plan: &PlanCode,
    code: &IndicatorCode,
    body: &EditIndicator,
) -> Result<pb::IndicatorEdited, ApiError> {
    let text_of =
        |field: &str, v: &Option<String>| v.as_deref().map(|s| text(field, s)).transpose();
    let decimal_of = |field: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| decimal(field, s).map(|d| d.to_string()))
            .transpose()
    };
    let year_of =
        |field: &str, v: Option<i64>| v.map(|y| year(field, y).map(u32::from)).transpose();
    Ok(pb::IndicatorEdited {
        plan: plan.to_string(),
        code: code.to_string(),
        name: text_of("name", &body.name)?,
        unit: text_of("unit", &body.unit)?,
        source: text_of("source", &body.source)?,
        direction: body
            .direction
            .as_deref()
            .map(|d| {
                d.trim()
                    .parse::<Direction>()
                    .map(|d| d.as_str().to_owned())
                    .map_err(|m| ApiError::validation("direction", m))
            })
            .transpose()?,
        baseline_value: decimal_of("baseline_value", &body.baseline_value)?,
        baseline_year: year_of("baseline_year", body.baseline_year)?,
        target_value: decimal_of("target_value", &body.target_value)?,
        target_year: year_of("target_year", body.target_year)?,
        territory: text_of("territory", &body.territory)?,
    })
}

/// The fields present in an edit event, with their values in the JSON shape of the
/// definition.
fn edit_values(e: &pb::IndicatorEdited) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    for (field, v) in [
        ("name", &e.name),
        ("unit", &e.unit),
        ("source", &e.source),
        ("direction", &e.direction),
        ("baseline_value", &e.baseline_value),
        ("target_value", &e.target_value),
        ("territory", &e.territory),
    ] {
        if let Some(v) = v {
            out.push((field, json!(v)));
        }
    }
    for (field, v) in [
        ("baseline_year", e.baseline_year),
        ("target_year", e.target_year),
    ] {
        if let Some(v) = v {
            out.push((field, json!(v)));
        }
    }
    out
}

/// Sets the fields an edit carries.
fn apply_edit(def: &mut pb::IndicatorDefined, e: &pb::IndicatorEdited) {
    fn set<T: Clone>(field: &mut T, value: Option<&T>) {
        if let Some(v) = value {
            v.clone_into(field);
        }
    }
    set(&mut def.name, e.name.as_ref());
    set(&mut def.unit, e.unit.as_ref());
    set(&mut def.source, e.source.as_ref());
    set(&mut def.direction, e.direction.as_ref());
    set(&mut def.baseline_value, e.baseline_value.as_ref());
    set(&mut def.baseline_year, e.baseline_year.as_ref());
    set(&mut def.target_value, e.target_value.as_ref());
    set(&mut def.target_year, e.target_year.as_ref());
    set(&mut def.territory, e.territory.as_ref());
}

/// Keeps, of an edit event, only the fields in `keep`.
fn retain_fields(e: &mut pb::IndicatorEdited, keep: &BTreeSet<&str>) {
    fn opt<T>(field: &mut Option<T>, name: &str, keep: &BTreeSet<&str>) {
        if !keep.contains(name) {
            *field = None;
        }
    }
    opt(&mut e.name, "name", keep);
    opt(&mut e.unit, "unit", keep);
    opt(&mut e.source, "source", keep);
    opt(&mut e.direction, "direction", keep);
    opt(&mut e.baseline_value, "baseline_value", keep);
    opt(&mut e.baseline_year, "baseline_year", keep);
    opt(&mut e.target_value, "target_value", keep);
    opt(&mut e.target_year, "target_year", keep);
    opt(&mut e.territory, "territory", keep);
}

/// The value of `field` in a definition, `null` when there is none.
fn field_value(def: Option<&pb::IndicatorDefined>, field: &str) -> Value {
    let Some(d) = def else { return Value::Null };
    match field {
        "name" => json!(d.name),
        "unit" => json!(d.unit),
        "source" => json!(d.source),
        "direction" => json!(d.direction),
        "baseline_value" => json!(d.baseline_value),
        "baseline_year" => json!(d.baseline_year),
        "target_value" => json!(d.target_value),
        "target_year" => json!(d.target_year),
        "territory" => json!(d.territory),
        _ => Value::Null,
    }
}

/// Whether two values of `field` are the same: decimals by value (`1400` is
/// `1400.0`), everything else as written.
fn same_value(field: &str, a: &Value, b: &Value) -> bool {
    if matches!(field, "baseline_value" | "target_value") {
        let d = |v: &Value| v.as_str().and_then(|s| s.parse::<Decimal>().ok());
        if let (Some(a), Some(b)) = (d(a), d(b)) {
            return a == b;
        }
    }
    a == b
}

/// Checks the rules of a definition on an edited one; the field named is one the edit
/// sets (`edited`), the one at fault.
fn check_edited(def: &pb::IndicatorDefined, edited: &BTreeSet<&str>) -> Result<(), ApiError> {
    let stored = |field: &str, m: String| ApiError::internal(format!("stored {field}: {m}"));
    let direction: Direction = def.direction.parse().map_err(|m| stored("direction", m))?;
    let baseline: Decimal = def
        .baseline_value
        .parse()
        .map_err(|m| stored("baseline_value", m))?;
    let target: Decimal = def
        .target_value
        .parse()
        .map_err(|m| stored("target_value", m))?;
    let at_fault = |field: &'static str| -> &'static str {
        let prefer: &[&'static str] = match field {
            "target_year" => &["target_year", "baseline_year"],
            _ => &["target_value", "baseline_value", "direction"],
        };
        prefer
            .iter()
            .copied()
            .find(|f| edited.contains(f))
            .unwrap_or(field)
    };
    check_goal(
        direction,
        (baseline, u16::try_from(def.baseline_year).unwrap_or(0)),
        (target, u16::try_from(def.target_year).unwrap_or(0)),
        &at_fault,
    )
}

/// The rules that tie a definition's goal together: the target year after the
/// baseline's, the target above the baseline for `increase` and below for `decrease`.
/// `name` says which field to name for a broken rule (`target_year` for the years,
/// `target_value` for the direction).
fn check_goal(
    direction: Direction,
    (baseline, baseline_year): (Decimal, u16),
    (target, target_year): (Decimal, u16),
    name: &dyn Fn(&'static str) -> &'static str,
) -> Result<(), ApiError> {
    if target_year <= baseline_year {
        return Err(ApiError::validation(
            name("target_year"),
            format!("{target_year} is not after the baseline year {baseline_year}"),
        ));
    }
    match direction {
        Direction::Increase if target <= baseline => Err(ApiError::validation(
            name("target_value"),
            format!(
                "an indicator that should increase needs a target above its baseline {baseline}, not {target}"
            ),
        )),
        Direction::Decrease if target >= baseline => Err(ApiError::validation(
            name("target_value"),
            format!(
                "an indicator that should decrease needs a target below its baseline {baseline}, not {target}"
            ),
        )),
        _ => Ok(()),
    }
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
    state.live(plan, code, "measurements")?;
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
    state.live(plan, code, "corrections")?;
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
