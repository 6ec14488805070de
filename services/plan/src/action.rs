//! The `Action` aggregate (stream `action:<plan>/<action>`): one action's definition
//! and history; and the pure decisions about it, including the co-editing merge.
//!
//! Choices made:
//! - An action's code is its identity for good. Moving it changes its strategy and its
//!   order key, never its code; a retired action's code is never reused.
//! - The aggregate keeps, per stream version, which fields the event changed and the
//!   definition it left, so a stale edit can be merged three ways: the fields the edit
//!   changes (its values against the base version's) are compared with the fields
//!   changed by the events after the base. Disjoint: merged. Overlapping: a conflict
//!   carrying base, theirs and yours — unless both sides set the same value, which is
//!   agreement, not conflict.
//! - Planned dates must fall inside the plan's period; actual dates are facts and may
//!   fall outside it (an action may really end after the triennium), but still in order.
//! - An imported action may have no competence when its sources do not state one; a
//!   command never clears it.

use std::collections::BTreeSet;

use metroplan_api::plan::{
    AddAction, EditAction, FundingLineInput, ImportedAction, InstrumentLinkInput, MoveAction,
    RetireAction,
};
use metroplan_api::values::Level;
use metroplan_events::pb::{self, action_event::Event};
use metroplan_events::{Aggregate, RecordedEvent};
use serde_json::{Map, Value, json};

use crate::error::{DomainError, EditConflict};
use crate::input::{self, optional_date, optional_text, required_text};
use crate::plan::Plan;

/// The fields an edit may change, by their JSON name.
pub const EDITABLE_FIELDS: [&str; 12] = [
    "title",
    "description",
    "competence",
    "responsible_organisations",
    "partner_organisations",
    "territorial_scope",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "funding_lines",
    "instrument_links",
];

/// The pseudo-field a conflict names when the action was retired since the base.
pub const RETIRED: &str = "retired";

/// What one event did to the action.
#[derive(Debug, Clone)]
struct Step {
    version: u64,
    /// Fields the event changed (`strategy` for a move; everything for an add or retire).
    changed: BTreeSet<&'static str>,
    retired: bool,
    /// The definition the event left.
    after: Option<pb::ActionDefinition>,
}

/// One action, rebuilt from its stream.
#[derive(Debug, Clone, Default)]
pub struct Action {
    /// `None` until `ActionAdded`.
    pub definition: Option<pb::ActionDefinition>,
    pub plan: String,
    /// The reason, once retired.
    pub retired: Option<String>,
    /// Global position of the last event applied (0: none).
    pub last_position: u64,
    history: Vec<Step>,
}

impl Aggregate for Action {
    type Event = pb::ActionEvent;

    fn evolve(&mut self, event: &pb::ActionEvent, recorded: &RecordedEvent) {
        self.apply(event, recorded.stream_version);
        self.last_position = self.last_position.max(recorded.position);
    }
}

fn everything() -> BTreeSet<&'static str> {
    EDITABLE_FIELDS
        .iter()
        .copied()
        .chain(["strategy"])
        .collect()
}

impl Action {
    /// Applies the event recorded at stream `version`; the state change of
    /// [`Aggregate::evolve`].
    pub fn apply(&mut self, event: &pb::ActionEvent, version: u64) {
        let Some(event) = &event.event else { return };
        let mut retired = false;
        let changed = match event {
            Event::ActionAdded(e) => {
                e.plan.clone_into(&mut self.plan);
                self.definition = Some(pb::ActionDefinition {
                    code: e.code.clone(),
                    strategy: e.strategy.clone(),
                    position: input::last_part(&e.code),
                    title: e.title.clone(),
                    description: e.description.clone(),
                    competence: e.competence.clone(),
                    responsible_organisations: e.responsible_organisations.clone(),
                    partner_organisations: e.partner_organisations.clone(),
                    territorial_scope: e.territorial_scope.clone(),
                    planned_start: e.planned_start.clone(),
                    planned_end: e.planned_end.clone(),
                    actual_start: e.actual_start.clone(),
                    actual_end: e.actual_end.clone(),
                    funding_lines: e.funding_lines.clone(),
                    instrument_links: e.instrument_links.clone(),
                    stream_version: version,
                });
                everything()
            }
            Event::ActionEdited(e) => {
                if let Some(def) = self.definition.as_mut() {
                    apply_edit(def, e);
                }
                edited_fields(e)
            }
            Event::ActionMoved(e) => {
                if let Some(def) = self.definition.as_mut() {
                    e.to_strategy.clone_into(&mut def.strategy);
                    def.position = e.position;
                }
                BTreeSet::from(["strategy"])
            }
            Event::ActionRetired(e) => {
                self.retired = Some(e.reason.clone());
                retired = true;
                everything()
            }
        };
        if let Some(def) = self.definition.as_mut() {
            def.stream_version = version;
        }
        self.history.push(Step {
            version,
            changed,
            retired,
            after: self.definition.clone(),
        });
    }

    pub fn exists(&self) -> bool {
        self.definition.is_some()
    }

    pub fn is_retired(&self) -> bool {
        self.retired.is_some()
    }

    /// The stream version of the last event applied (0: none).
    pub fn version(&self) -> u64 {
        self.history.last().map_or(0, |s| s.version)
    }

    /// The definition as it stood at stream `version` (`None` before it was added).
    pub fn definition_at(&self, version: u64) -> Option<&pb::ActionDefinition> {
        self.history
            .iter()
            .rev()
            .find(|s| s.version <= version)
            .and_then(|s| s.after.as_ref())
    }

    /// The fields changed by the events after `version`, `retired` included when one
    /// of them retired the action.
    pub fn changed_since(&self, version: u64) -> BTreeSet<&'static str> {
        let mut fields = BTreeSet::new();
        for step in self.history.iter().filter(|s| s.version > version) {
            fields.extend(step.changed.iter().copied());
            if step.retired {
                fields.insert(RETIRED);
            }
        }
        fields
    }
}

fn apply_edit(def: &mut pb::ActionDefinition, e: &pb::ActionEdited) {
    fn set(field: &mut String, value: &Option<String>) {
        if let Some(v) = value {
            v.clone_into(field);
        }
    }
    set(&mut def.title, &e.title);
    set(&mut def.description, &e.description);
    set(&mut def.competence, &e.competence);
    if let Some(l) = &e.responsible_organisations {
        def.responsible_organisations.clone_from(&l.values);
    }
    if let Some(l) = &e.partner_organisations {
        def.partner_organisations.clone_from(&l.values);
    }
    set(&mut def.territorial_scope, &e.territorial_scope);
    set(&mut def.planned_start, &e.planned_start);
    set(&mut def.planned_end, &e.planned_end);
    set(&mut def.actual_start, &e.actual_start);
    set(&mut def.actual_end, &e.actual_end);
    if let Some(l) = &e.funding_lines {
        def.funding_lines.clone_from(&l.values);
    }
    if let Some(l) = &e.instrument_links {
        def.instrument_links.clone_from(&l.values);
    }
}

/// The fields present in an edit event, with their values in the JSON shape of the
/// definition (lists as arrays).
fn edit_values(e: &pb::ActionEdited) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    let mut text = |name: &'static str, v: &Option<String>| {
        if let Some(v) = v {
            out.push((name, Value::String(v.clone())));
        }
    };
    text("title", &e.title);
    text("description", &e.description);
    text("competence", &e.competence);
    text("territorial_scope", &e.territorial_scope);
    text("planned_start", &e.planned_start);
    text("planned_end", &e.planned_end);
    text("actual_start", &e.actual_start);
    text("actual_end", &e.actual_end);
    if let Some(l) = &e.responsible_organisations {
        out.push(("responsible_organisations", json!(l.values)));
    }
    if let Some(l) = &e.partner_organisations {
        out.push(("partner_organisations", json!(l.values)));
    }
    if let Some(l) = &e.funding_lines {
        out.push(("funding_lines", json!(l.values)));
    }
    if let Some(l) = &e.instrument_links {
        out.push(("instrument_links", json!(l.values)));
    }
    out
}

fn edited_fields(e: &pb::ActionEdited) -> BTreeSet<&'static str> {
    edit_values(e).into_iter().map(|(f, _)| f).collect()
}

/// A definition as JSON, `null` when there is none.
fn as_json(def: Option<&pb::ActionDefinition>) -> Value {
    def.and_then(|d| serde_json::to_value(d).ok())
        .unwrap_or(Value::Null)
}

/// The value of `field` in a definition's JSON, `null` when absent.
fn field_value(def: &Value, field: &str) -> Value {
    def.get(field).cloned().unwrap_or(Value::Null)
}

/// Keeps, of an edit event, only the fields in `keep`.
fn retain_fields(e: &mut pb::ActionEdited, keep: &BTreeSet<&str>) {
    fn opt<T>(field: &mut Option<T>, name: &str, keep: &BTreeSet<&str>) {
        if !keep.contains(name) {
            *field = None;
        }
    }
    opt(&mut e.title, "title", keep);
    opt(&mut e.description, "description", keep);
    opt(&mut e.competence, "competence", keep);
    opt(
        &mut e.responsible_organisations,
        "responsible_organisations",
        keep,
    );
    opt(&mut e.partner_organisations, "partner_organisations", keep);
    opt(&mut e.territorial_scope, "territorial_scope", keep);
    opt(&mut e.planned_start, "planned_start", keep);
    opt(&mut e.planned_end, "planned_end", keep);
    opt(&mut e.actual_start, "actual_start", keep);
    opt(&mut e.actual_end, "actual_end", keep);
    opt(&mut e.funding_lines, "funding_lines", keep);
    opt(&mut e.instrument_links, "instrument_links", keep);
}

fn action_event(event: Event) -> Vec<pb::ActionEvent> {
    vec![pb::ActionEvent { event: Some(event) }]
}

/// Checks the rules that tie an action's dates together and to the plan's period.
fn check_dates(
    def: &pb::ActionDefinition,
    plan: &Plan,
    touched: &BTreeSet<&str>,
) -> Result<(), DomainError> {
    if let Some(period) = plan.period() {
        for (field, value) in [
            ("planned_start", &def.planned_start),
            ("planned_end", &def.planned_end),
        ] {
            if let Some(day) = input::stored_date(value)
                && touched.contains(field)
                && !period.contains(day)
            {
                return Err(DomainError::invalid(
                    field,
                    format!("{day} is outside the plan's period, {period}"),
                ));
            }
        }
    }
    if touched.contains("planned_start") || touched.contains("planned_end") {
        let field = if touched.contains("planned_start") {
            "planned_start"
        } else {
            "planned_end"
        };
        input::ordered_dates(
            "planned_start",
            &def.planned_start,
            "planned_end",
            &def.planned_end,
        )
        .map_err(|e| e.renamed(field))?;
    }
    if touched.contains("actual_start") || touched.contains("actual_end") {
        let field = if touched.contains("actual_start") {
            "actual_start"
        } else {
            "actual_end"
        };
        input::ordered_dates(
            "actual_start",
            &def.actual_start,
            "actual_end",
            &def.actual_end,
        )
        .map_err(|e| e.renamed(field))?;
    }
    Ok(())
}

impl DomainError {
    /// Names `field` as the one at fault, keeping the message.
    fn renamed(self, field: &str) -> Self {
        match self {
            Self::Invalid { message, .. } => Self::invalid(field, message),
            other => other,
        }
    }
}

/// The fields of a new action, from a command or an import.
struct NewAction<'a> {
    code: &'a str,
    strategy: Option<&'a str>,
    title: &'a str,
    description: Option<&'a str>,
    /// `None` only from an import whose source does not state it.
    competence: Option<&'a str>,
    responsible_organisations: Option<&'a [String]>,
    partner_organisations: Option<&'a [String]>,
    territorial_scope: Option<&'a str>,
    planned_start: Option<&'a str>,
    planned_end: Option<&'a str>,
    actual_start: Option<&'a str>,
    actual_end: Option<&'a str>,
    funding_lines: Option<&'a [FundingLineInput]>,
    instrument_links: Option<&'a [InstrumentLinkInput]>,
}

/// Adds an action under the live strategy its code starts with.
///
/// # Errors
/// `Invalid` for a code that is not an action code, a `strategy` that disagrees with the
/// code, an empty title, an unknown competence, a malformed or out-of-period date,
/// a start after an end, a negative amount; `NotFound` for an unknown plan or strategy;
/// `Rejected` for a retired strategy or a code already used.
pub fn decide_add_action(
    plan: &Plan,
    action: &Action,
    plan_code: &str,
    body: &AddAction,
) -> Result<Vec<pb::ActionEvent>, DomainError> {
    decide_new_action(
        plan,
        action,
        plan_code,
        &NewAction {
            code: &body.code,
            strategy: body.strategy.as_deref(),
            title: &body.title,
            description: body.description.as_deref(),
            competence: Some(&body.competence),
            responsible_organisations: body.responsible_organisations.as_deref(),
            partner_organisations: body.partner_organisations.as_deref(),
            territorial_scope: body.territorial_scope.as_deref(),
            planned_start: body.planned_start.as_deref(),
            planned_end: body.planned_end.as_deref(),
            actual_start: None,
            actual_end: None,
            funding_lines: body.funding_lines.as_deref(),
            instrument_links: body.instrument_links.as_deref(),
        },
    )
}

/// Adds an imported action: the rules of [`decide_add_action`], except that a
/// competence the source does not state is recorded as empty, and actual dates may be
/// given.
///
/// # Errors
/// As [`decide_add_action`].
pub fn decide_import_action(
    plan: &Plan,
    action: &Action,
    plan_code: &str,
    item: &ImportedAction,
) -> Result<Vec<pb::ActionEvent>, DomainError> {
    decide_new_action(
        plan,
        action,
        plan_code,
        &NewAction {
            code: &item.code,
            strategy: item.strategy.as_deref(),
            title: &item.title,
            description: item.description.as_deref(),
            competence: item.competence.as_deref(),
            responsible_organisations: item.responsible_organisations.as_deref(),
            partner_organisations: item.partner_organisations.as_deref(),
            territorial_scope: item.territorial_scope.as_deref(),
            planned_start: item.planned_start.as_deref(),
            planned_end: item.planned_end.as_deref(),
            actual_start: item.actual_start.as_deref(),
            actual_end: item.actual_end.as_deref(),
            funding_lines: item.funding_lines.as_deref(),
            instrument_links: item.instrument_links.as_deref(),
        },
    )
}

fn decide_new_action(
    plan: &Plan,
    action: &Action,
    plan_code: &str,
    new: &NewAction<'_>,
) -> Result<Vec<pb::ActionEvent>, DomainError> {
    let code = input::item_code("code", new.code, Level::Action)?;
    let prefix = code.parent().unwrap_or_default().to_owned();
    let strategy = match new.strategy {
        None => prefix,
        Some(given) => {
            let given = input::item_code("strategy", given, Level::Strategy)?.to_string();
            if given != prefix {
                return Err(DomainError::invalid(
                    "strategy",
                    format!("action {code} must start with its strategy code {given}"),
                ));
            }
            given
        }
    };
    let added = pb::ActionAdded {
        plan: plan_code.to_owned(),
        code: code.to_string(),
        strategy,
        title: required_text("title", new.title)?,
        description: optional_text(new.description),
        competence: new
            .competence
            .map(|c| input::competence("competence", c))
            .transpose()?
            .unwrap_or_default(),
        responsible_organisations: input::organisations(
            "responsible_organisations",
            new.responsible_organisations.unwrap_or_default(),
        )?,
        partner_organisations: input::organisations(
            "partner_organisations",
            new.partner_organisations.unwrap_or_default(),
        )?,
        territorial_scope: optional_text(new.territorial_scope),
        planned_start: optional_date("planned_start", new.planned_start)?,
        planned_end: optional_date("planned_end", new.planned_end)?,
        actual_start: optional_date("actual_start", new.actual_start)?,
        actual_end: optional_date("actual_end", new.actual_end)?,
        funding_lines: input::funding_lines(
            "funding_lines",
            new.funding_lines.unwrap_or_default(),
        )?,
        instrument_links: input::instrument_links(
            "instrument_links",
            new.instrument_links.unwrap_or_default(),
        )?,
    };
    if !plan.exists() {
        return Err(DomainError::not_found(format!("plan {plan_code}")));
    }
    plan.live_strategy(plan_code, &added.strategy, Some("strategy"))?;
    if action.exists() {
        let message = if action.is_retired() {
            format!("action {code} was retired: codes are never reused")
        } else {
            format!("action {code} already exists")
        };
        return Err(DomainError::rejected(Some("code"), message));
    }
    let mut state = Action::default();
    let event = action_event(Event::ActionAdded(added));
    state.apply(&event[0], 1);
    if let Some(def) = &state.definition {
        check_dates(def, plan, &everything())?;
    }
    Ok(event)
}

/// An accepted edit: its events (none when it changes nothing) and whether it was
/// merged with edits made since its base version.
#[derive(Debug, Clone, PartialEq)]
pub struct EditDecision {
    pub events: Vec<pb::ActionEvent>,
    pub merged: bool,
}

/// The edit a body asks for, every sent field parsed; `None` fields were not sent.
fn parse_edit(
    plan_code: &str,
    code: &str,
    body: &EditAction,
) -> Result<pb::ActionEdited, DomainError> {
    let text = |v: &Option<String>| v.as_deref().map(|s| s.trim().to_owned());
    let dated = |field: &str, v: &Option<String>| -> Result<Option<String>, DomainError> {
        v.as_deref()
            .map(|s| optional_date(field, Some(s)))
            .transpose()
    };
    let e = pb::ActionEdited {
        plan: plan_code.to_owned(),
        code: code.to_owned(),
        title: body
            .title
            .as_deref()
            .map(|t| required_text("title", t))
            .transpose()?,
        description: text(&body.description),
        competence: body
            .competence
            .as_deref()
            .map(|c| input::competence("competence", c))
            .transpose()?,
        responsible_organisations: body
            .responsible_organisations
            .as_deref()
            .map(|l| input::organisations("responsible_organisations", l))
            .transpose()?
            .map(|values| pb::StringList { values }),
        partner_organisations: body
            .partner_organisations
            .as_deref()
            .map(|l| input::organisations("partner_organisations", l))
            .transpose()?
            .map(|values| pb::StringList { values }),
        territorial_scope: text(&body.territorial_scope),
        planned_start: dated("planned_start", &body.planned_start)?,
        planned_end: dated("planned_end", &body.planned_end)?,
        actual_start: dated("actual_start", &body.actual_start)?,
        actual_end: dated("actual_end", &body.actual_end)?,
        funding_lines: body
            .funding_lines
            .as_deref()
            .map(|l| input::funding_lines("funding_lines", l))
            .transpose()?
            .map(|values| pb::FundingLines { values }),
        instrument_links: body
            .instrument_links
            .as_deref()
            .map(|l| input::instrument_links("instrument_links", l))
            .transpose()?
            .map(|values| pb::InstrumentLinks { values }),
    };
    Ok(e)
}

/// Edits an action whose stream is at `version`, seen by the editor at `base_version`
/// (`None`: whatever is current).
///
/// The merge rule: the fields this edit changes are those it sends with a value other
/// than the base version's. The fields others changed are those of the events after
/// the base (`ActionEdited`: its present fields; `ActionMoved`: `strategy`;
/// `ActionAdded` and `ActionRetired`: everything, and a retirement adds `retired`).
/// When they share no field whose two new values differ, the edit is applied to the
/// current state and reported `merged`; otherwise it is a conflict with base, theirs and
/// yours for the shared fields. Only fields whose value differs from the current state
/// are recorded; an edit that changes nothing records nothing.
///
/// # Errors
/// `Invalid` for an empty edit or a field that breaks a rule (also when the merged
/// result does, e.g. a start after their new end); `NotFound` for an unknown action;
/// `BaseAhead` when `base_version > version`; `EditConflict` as above; `Rejected`
/// for a retired action.
pub fn decide_edit_action(
    plan: &Plan,
    action: &Action,
    version: u64,
    plan_code: &str,
    action_code: &str,
    base_version: Option<u64>,
    body: &EditAction,
) -> Result<EditDecision, DomainError> {
    let sent = parse_edit(plan_code, action_code, body)?;
    let yours = edit_values(&sent);
    if yours.is_empty() {
        return Err(DomainError::invalid(
            "body",
            format!(
                "an edit must name at least one of {}",
                EDITABLE_FIELDS.join(", ")
            ),
        ));
    }
    let Some(current) = action.definition.as_ref() else {
        return Err(DomainError::not_found(format!(
            "action {action_code} of plan {plan_code}"
        )));
    };
    let base = base_version.unwrap_or(version);
    if base > version {
        return Err(DomainError::BaseAhead {
            base_version: base,
            current_version: version,
        });
    }
    let base_def = as_json(action.definition_at(base));
    let now = as_json(Some(current));
    let mine: Vec<(&'static str, Value)> = yours
        .into_iter()
        .filter(|(f, v)| field_value(&base_def, f) != *v)
        .collect();
    let theirs = action.changed_since(base);
    let retired_since = theirs.contains(RETIRED);
    let overlap: Vec<&(&'static str, Value)> = mine
        .iter()
        .filter(|(f, v)| retired_since || (theirs.contains(f) && field_value(&now, f) != *v))
        .collect();
    if !overlap.is_empty() || retired_since {
        let (mut fields, mut b, mut t, mut y) = (Vec::new(), Map::new(), Map::new(), Map::new());
        for (f, v) in overlap {
            fields.push((*f).to_owned());
            b.insert((*f).to_owned(), field_value(&base_def, f));
            t.insert((*f).to_owned(), field_value(&now, f));
            y.insert((*f).to_owned(), v.clone());
        }
        if retired_since {
            fields.push(RETIRED.to_owned());
            b.insert(RETIRED.to_owned(), Value::Bool(false));
            t.insert(RETIRED.to_owned(), Value::Bool(true));
            y.insert(RETIRED.to_owned(), Value::Bool(false));
        }
        return Err(DomainError::EditConflict(Box::new(EditConflict {
            fields,
            base_version: base,
            current_version: version,
            base: Value::Object(b),
            theirs: Value::Object(t),
            yours: Value::Object(y),
        })));
    }
    if action.is_retired() {
        return Err(DomainError::rejected(
            None,
            format!("action {action_code} is retired: it can no longer be edited"),
        ));
    }
    let record: BTreeSet<&str> = mine
        .iter()
        .filter(|(f, v)| field_value(&now, f) != *v)
        .map(|(f, _)| *f)
        .collect();
    let merged = base < version;
    if record.is_empty() {
        return Ok(EditDecision {
            events: Vec::new(),
            merged,
        });
    }
    let mut edit = sent;
    retain_fields(&mut edit, &record);
    let mut after = current.clone();
    apply_edit(&mut after, &edit);
    check_dates(&after, plan, &record)?;
    Ok(EditDecision {
        events: action_event(Event::ActionEdited(edit)),
        merged,
    })
}

/// Moves an action to a live strategy of the plan; its code does not change. Without a
/// `position` it lists after the target strategy's actions: `next_position` is one more
/// than their largest order key (gathered by the service).
///
/// # Errors
/// `Invalid` for a malformed strategy code or a place below 1; `NotFound` for an
/// unknown action or strategy; `Rejected` for a retired action or strategy.
pub fn decide_move_action(
    plan: &Plan,
    action: &Action,
    plan_code: &str,
    action_code: &str,
    body: &MoveAction,
    next_position: u32,
) -> Result<Vec<pb::ActionEvent>, DomainError> {
    let to = input::item_code("to_strategy", &body.to_strategy, Level::Strategy)?.to_string();
    let wanted = body
        .position
        .map(|p| input::position("position", p))
        .transpose()?;
    let Some(def) = action.definition.as_ref() else {
        return Err(DomainError::not_found(format!(
            "action {action_code} of plan {plan_code}"
        )));
    };
    if action.is_retired() {
        return Err(DomainError::rejected(
            None,
            format!("action {action_code} is retired"),
        ));
    }
    plan.live_strategy(plan_code, &to, Some("to_strategy"))?;
    let position = match wanted {
        Some(p) => p,
        None if to == def.strategy => def.position,
        None => next_position.max(1),
    };
    if to == def.strategy && position == def.position {
        return Ok(Vec::new());
    }
    Ok(action_event(Event::ActionMoved(pb::ActionMoved {
        plan: plan_code.to_owned(),
        code: def.code.clone(),
        from_strategy: def.strategy.clone(),
        to_strategy: to,
        position,
    })))
}

/// Retires an action.
///
/// # Errors
/// `NotFound` for an unknown action; `Rejected` when it is already retired.
pub fn decide_retire_action(
    action: &Action,
    plan_code: &str,
    action_code: &str,
    body: &RetireAction,
) -> Result<Vec<pb::ActionEvent>, DomainError> {
    let Some(def) = action.definition.as_ref() else {
        return Err(DomainError::not_found(format!(
            "action {action_code} of plan {plan_code}"
        )));
    };
    if action.is_retired() {
        return Err(DomainError::rejected(
            None,
            format!("action {action_code} is already retired"),
        ));
    }
    Ok(action_event(Event::ActionRetired(pb::ActionRetired {
        plan: plan_code.to_owned(),
        code: def.code.clone(),
        reason: optional_text(body.reason.as_deref()),
    })))
}

#[cfg(test)]
mod tests;
