//! The `Plan` aggregate (stream `plan:<plan>`): the plan's header, its axes and
//! strategies in order, and its adopted revisions; and the pure decisions about them.
//!
//! Choices made:
//! - Codes are identities. A retired axis or strategy keeps its code reserved (adding
//!   it again is refused), and moving a strategy to another axis keeps its code, so
//!   "a strategy's code starts with its axis code" is checked when it is added, not
//!   forever after.
//! - Order is explicit: live axes, and each axis's live strategies, form ordered lists;
//!   an item added without a place goes where its code sorts among its siblings.
//! - Rules that span streams (no live action under a strategy being retired, the
//!   actions frozen in a revision) are decided here from inputs the service gathers;
//!   they hold at decision time, which is what a table's decision can promise.

use std::collections::BTreeMap;

use metroplan_api::plan::{
    AddAxis, AddStrategy, AdoptRevision, CreatePlan, EditAxis, EditStrategy, MoveAxis,
    MoveStrategy, RetireAxis, RetireStrategy,
};
use metroplan_api::values::{Level, PlanCode};
use metroplan_events::pb::{self, plan_event::Event};
use metroplan_events::{Aggregate, RecordedEvent};

use crate::action::Action;
use crate::error::DomainError;
use crate::input::{self, Period, cmp_codes, optional_text, required_text};

/// A plan's identity and period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    pub code: String,
    pub title: String,
    pub short_title: String,
    pub owner: String,
    pub period_from: String,
    pub period_to: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Axis {
    pub code: String,
    pub name: String,
    pub slogan: String,
    pub description: String,
    pub pnrr_mission: String,
    pub retired: bool,
    /// Codes of its live strategies, in order.
    pub strategies: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Strategy {
    pub code: String,
    pub axis: String,
    pub name: String,
    pub description: String,
    pub retired: bool,
}

/// An adopted revision, without its snapshot (which stays in the event).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revision {
    pub number: u32,
    pub name: String,
    pub act: String,
    pub adopted_on: String,
    pub at_position: u64,
}

/// A plan's structure, rebuilt from its stream.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// `None` until `PlanCreated`.
    pub header: Option<Header>,
    /// Every axis ever added, retired ones included, by code.
    pub axes: BTreeMap<String, Axis>,
    /// Codes of the live axes, in order.
    pub axis_order: Vec<String>,
    /// Every strategy ever added, retired ones included, by code.
    pub strategies: BTreeMap<String, Strategy>,
    pub revisions: Vec<Revision>,
    /// Global position of the last event applied (0: none).
    pub last_position: u64,
}

impl Aggregate for Plan {
    type Event = pb::PlanEvent;

    fn evolve(&mut self, event: &pb::PlanEvent, recorded: &RecordedEvent) {
        self.apply(event);
        self.last_position = self.last_position.max(recorded.position);
    }
}

/// Puts `code` at 1-based `position` of `list` (past the end: last).
fn place(list: &mut Vec<String>, code: &str, position: u32) {
    list.retain(|c| c != code);
    let at = (position.max(1) as usize - 1).min(list.len());
    list.insert(at, code.to_owned());
}

fn set(field: &mut String, value: &Option<String>) {
    if let Some(v) = value {
        v.clone_into(field);
    }
}

impl Plan {
    /// Applies one event; the state change of [`Aggregate::evolve`].
    pub fn apply(&mut self, event: &pb::PlanEvent) {
        let Some(event) = &event.event else { return };
        match event {
            Event::PlanCreated(e) => {
                self.header = Some(Header {
                    code: e.code.clone(),
                    title: e.title.clone(),
                    short_title: e.short_title.clone(),
                    owner: e.owner.clone(),
                    period_from: e.period_from.clone(),
                    period_to: e.period_to.clone(),
                });
            }
            Event::AxisAdded(e) => {
                self.axes.insert(
                    e.code.clone(),
                    Axis {
                        code: e.code.clone(),
                        name: e.name.clone(),
                        slogan: e.slogan.clone(),
                        description: e.description.clone(),
                        pnrr_mission: e.pnrr_mission.clone(),
                        retired: false,
                        strategies: Vec::new(),
                    },
                );
                place(&mut self.axis_order, &e.code, e.position);
            }
            Event::AxisEdited(e) => {
                if let Some(a) = self.axes.get_mut(&e.code) {
                    set(&mut a.name, &e.name);
                    set(&mut a.slogan, &e.slogan);
                    set(&mut a.description, &e.description);
                    set(&mut a.pnrr_mission, &e.pnrr_mission);
                }
            }
            Event::AxisMoved(e) => place(&mut self.axis_order, &e.code, e.position),
            Event::AxisRetired(e) => {
                if let Some(a) = self.axes.get_mut(&e.code) {
                    a.retired = true;
                }
                self.axis_order.retain(|c| c != &e.code);
            }
            Event::StrategyAdded(e) => {
                self.strategies.insert(
                    e.code.clone(),
                    Strategy {
                        code: e.code.clone(),
                        axis: e.axis.clone(),
                        name: e.name.clone(),
                        description: e.description.clone(),
                        retired: false,
                    },
                );
                if let Some(a) = self.axes.get_mut(&e.axis) {
                    place(&mut a.strategies, &e.code, e.position);
                }
            }
            Event::StrategyEdited(e) => {
                if let Some(s) = self.strategies.get_mut(&e.code) {
                    set(&mut s.name, &e.name);
                    set(&mut s.description, &e.description);
                }
            }
            Event::StrategyMoved(e) => {
                if let Some(a) = self.axes.get_mut(&e.from_axis) {
                    a.strategies.retain(|c| c != &e.code);
                }
                if let Some(a) = self.axes.get_mut(&e.to_axis) {
                    place(&mut a.strategies, &e.code, e.position);
                }
                if let Some(s) = self.strategies.get_mut(&e.code) {
                    e.to_axis.clone_into(&mut s.axis);
                }
            }
            Event::StrategyRetired(e) => {
                if let Some(s) = self.strategies.get_mut(&e.code) {
                    s.retired = true;
                    if let Some(a) = self.axes.get_mut(&s.axis) {
                        a.strategies.retain(|c| c != &e.code);
                    }
                }
            }
            Event::RevisionAdopted(e) => self.revisions.push(Revision {
                number: e.number,
                name: e.name.clone(),
                act: e.act.clone(),
                adopted_on: e.adopted_on.clone(),
                at_position: e.at_position,
            }),
        }
    }

    pub fn exists(&self) -> bool {
        self.header.is_some()
    }

    /// The plan's period, `None` before `PlanCreated`.
    pub fn period(&self) -> Option<Period> {
        let h = self.header.as_ref()?;
        Some(Period {
            from: input::stored_date(&h.period_from)?,
            to: input::stored_date(&h.period_to)?,
        })
    }

    /// The header, or `NotFound` naming the plan.
    fn require(&self, plan: &str) -> Result<&Header, DomainError> {
        self.header
            .as_ref()
            .ok_or_else(|| DomainError::not_found(format!("plan {plan}")))
    }

    fn live_axis(&self, plan: &str, code: &str, field: Option<&str>) -> Result<&Axis, DomainError> {
        let axis = self
            .axes
            .get(code)
            .ok_or_else(|| DomainError::not_found(format!("axis {code} of plan {plan}")))?;
        if axis.retired {
            return Err(DomainError::rejected(
                field,
                format!("axis {code} is retired"),
            ));
        }
        Ok(axis)
    }

    /// The live strategy `code`: `NotFound` when unknown, `Rejected` when retired.
    ///
    /// # Errors
    /// As above, with `field` named in the rejection.
    pub fn live_strategy(
        &self,
        plan: &str,
        code: &str,
        field: Option<&str>,
    ) -> Result<&Strategy, DomainError> {
        let s = self
            .strategies
            .get(code)
            .ok_or_else(|| DomainError::not_found(format!("strategy {code} of plan {plan}")))?;
        if s.retired {
            return Err(DomainError::rejected(
                field,
                format!("strategy {code} is retired"),
            ));
        }
        Ok(s)
    }

    /// The 1-based place where `code` sorts among `siblings`.
    fn sorted_place(siblings: &[String], code: &str) -> u32 {
        let before = siblings
            .iter()
            .filter(|c| cmp_codes(c, code).is_lt())
            .count();
        u32::try_from(before + 1).unwrap_or(u32::MAX)
    }

    fn clamp_place(siblings: usize, wanted: u32) -> u32 {
        wanted.min(u32::try_from(siblings + 1).unwrap_or(u32::MAX))
    }
}

fn plan_event(event: Event) -> Vec<pb::PlanEvent> {
    vec![pb::PlanEvent { event: Some(event) }]
}

fn not_reused(kind: &str, code: &str, retired: bool) -> DomainError {
    if retired {
        DomainError::rejected(
            Some("code"),
            format!("{kind} {code} was retired: codes are never reused"),
        )
    } else {
        DomainError::rejected(Some("code"), format!("{kind} {code} already exists"))
    }
}

/// The changed value of an optional text edit: `None` when absent or equal to `now`.
fn changed_text(
    field: &str,
    sent: Option<&str>,
    now: &str,
    required: bool,
) -> Result<Option<String>, DomainError> {
    let Some(sent) = sent else { return Ok(None) };
    let value = if required {
        required_text(field, sent)?
    } else {
        sent.trim().to_owned()
    };
    Ok((value != now).then_some(value))
}

/// Sets up a plan. Refused when the plan exists.
///
/// # Errors
/// `Invalid` for a malformed code, an empty title or owner, bad dates or a period that
/// ends before it starts; `Rejected` when the plan exists.
pub fn decide_create_plan(
    plan: &Plan,
    body: &CreatePlan,
) -> Result<Vec<pb::PlanEvent>, DomainError> {
    let code: PlanCode = body
        .code
        .trim()
        .parse()
        .map_err(|m: String| DomainError::invalid("code", m))?;
    let title = required_text("title", &body.title)?;
    let owner = required_text("owner", &body.owner)?;
    let from = input::date("period_from", &body.period_from)?;
    let to = input::date("period_to", &body.period_to)?;
    if to < from {
        return Err(DomainError::invalid(
            "period_to",
            format!("the period ends ({to}) before it starts ({from})"),
        ));
    }
    if plan.exists() {
        return Err(DomainError::rejected(
            Some("code"),
            format!("plan {code} already exists"),
        ));
    }
    Ok(plan_event(Event::PlanCreated(pb::PlanCreated {
        code: code.to_string(),
        title,
        short_title: optional_text(body.short_title.as_deref()),
        owner,
        period_from: from.to_string(),
        period_to: to.to_string(),
    })))
}

/// Adds an axis, where its code sorts unless a place is given.
///
/// # Errors
/// `NotFound` for an unknown plan; `Invalid` for a code that is not an axis code, an
/// empty name or a place below 1; `Rejected` for a code already used.
pub fn decide_add_axis(
    plan: &Plan,
    plan_code: &str,
    body: &AddAxis,
) -> Result<Vec<pb::PlanEvent>, DomainError> {
    plan.require(plan_code)?;
    let code = input::item_code("code", &body.code, Level::Axis)?.to_string();
    let name = required_text("name", &body.name)?;
    let wanted = body
        .position
        .map(|p| input::position("position", p))
        .transpose()?;
    if let Some(existing) = plan.axes.get(&code) {
        return Err(not_reused("axis", &code, existing.retired));
    }
    let position = match wanted {
        Some(p) => Plan::clamp_place(plan.axis_order.len(), p),
        None => Plan::sorted_place(&plan.axis_order, &code),
    };
    Ok(plan_event(Event::AxisAdded(pb::AxisAdded {
        plan: plan_code.to_owned(),
        code,
        name,
        slogan: optional_text(body.slogan.as_deref()),
        description: optional_text(body.description.as_deref()),
        pnrr_mission: optional_text(body.pnrr_mission.as_deref()),
        position,
    })))
}

/// Changes an axis's texts; records only what differs, nothing when nothing does.
///
/// # Errors
/// `Invalid` for an empty edit or an empty name; `NotFound` for an unknown plan or
/// axis; `Rejected` for a retired axis.
pub fn decide_edit_axis(
    plan: &Plan,
    plan_code: &str,
    axis: &str,
    body: &EditAxis,
) -> Result<Vec<pb::PlanEvent>, DomainError> {
    if body.name.is_none()
        && body.slogan.is_none()
        && body.description.is_none()
        && body.pnrr_mission.is_none()
    {
        return Err(DomainError::invalid(
            "body",
            "an edit must name at least one of name, slogan, description, pnrr_mission",
        ));
    }
    plan.require(plan_code)?;
    let a = plan.live_axis(plan_code, axis, None)?;
    let e = pb::AxisEdited {
        plan: plan_code.to_owned(),
        code: a.code.clone(),
        name: changed_text("name", body.name.as_deref(), &a.name, true)?,
        slogan: changed_text("slogan", body.slogan.as_deref(), &a.slogan, false)?,
        description: changed_text(
            "description",
            body.description.as_deref(),
            &a.description,
            false,
        )?,
        pnrr_mission: changed_text(
            "pnrr_mission",
            body.pnrr_mission.as_deref(),
            &a.pnrr_mission,
            false,
        )?,
    };
    if e.name.is_none() && e.slogan.is_none() && e.description.is_none() && e.pnrr_mission.is_none()
    {
        return Ok(Vec::new());
    }
    Ok(plan_event(Event::AxisEdited(e)))
}

/// Moves an axis to a place among the live axes (past the end: last).
///
/// # Errors
/// `Invalid` for a place below 1; `NotFound` for an unknown plan or axis; `Rejected`
/// for a retired axis.
pub fn decide_move_axis(
    plan: &Plan,
    plan_code: &str,
    axis: &str,
    body: &MoveAxis,
) -> Result<Vec<pb::PlanEvent>, DomainError> {
    let wanted = input::position("position", body.position)?;
    plan.require(plan_code)?;
    let a = plan.live_axis(plan_code, axis, None)?;
    let position = Plan::clamp_place(plan.axis_order.len() - 1, wanted);
    let now = plan
        .axis_order
        .iter()
        .position(|c| c == &a.code)
        .map(|i| i + 1);
    if now == Some(position as usize) {
        return Ok(Vec::new());
    }
    Ok(plan_event(Event::AxisMoved(pb::AxisMoved {
        plan: plan_code.to_owned(),
        code: a.code.clone(),
        position,
    })))
}

/// Retires an axis that has no live strategy left.
///
/// # Errors
/// `NotFound` for an unknown plan or axis; `Rejected` for a retired axis or one that
/// still has live strategies.
pub fn decide_retire_axis(
    plan: &Plan,
    plan_code: &str,
    axis: &str,
    body: &RetireAxis,
) -> Result<Vec<pb::PlanEvent>, DomainError> {
    plan.require(plan_code)?;
    let a = plan.live_axis(plan_code, axis, None)?;
    if !a.strategies.is_empty() {
        return Err(DomainError::rejected(
            None,
            format!(
                "axis {} still has strategies {}: move or retire them first",
                a.code,
                a.strategies.join(", ")
            ),
        ));
    }
    Ok(plan_event(Event::AxisRetired(pb::AxisRetired {
        plan: plan_code.to_owned(),
        code: a.code.clone(),
        reason: optional_text(body.reason.as_deref()),
    })))
}

/// Adds a strategy under the live axis its code starts with.
///
/// # Errors
/// `Invalid` for a code that is not a strategy code, an `axis` that disagrees with the
/// code, an empty name or a place below 1; `NotFound` for an unknown plan or axis;
/// `Rejected` for a retired axis or a code already used.
pub fn decide_add_strategy(
    plan: &Plan,
    plan_code: &str,
    body: &AddStrategy,
) -> Result<Vec<pb::PlanEvent>, DomainError> {
    plan.require(plan_code)?;
    let code = input::item_code("code", &body.code, Level::Strategy)?;
    let prefix = code.parent().unwrap_or_default().to_owned();
    let axis = match body.axis.as_deref() {
        None => prefix,
        Some(given) => {
            let given = input::item_code("axis", given, Level::Axis)?.to_string();
            if given != prefix {
                return Err(DomainError::invalid(
                    "axis",
                    format!("strategy {code} must start with its axis code {given}"),
                ));
            }
            given
        }
    };
    let name = required_text("name", &body.name)?;
    let wanted = body
        .position
        .map(|p| input::position("position", p))
        .transpose()?;
    let a = plan.live_axis(plan_code, &axis, Some("axis"))?;
    let code = code.to_string();
    if let Some(existing) = plan.strategies.get(&code) {
        return Err(not_reused("strategy", &code, existing.retired));
    }
    let position = match wanted {
        Some(p) => Plan::clamp_place(a.strategies.len(), p),
        None => Plan::sorted_place(&a.strategies, &code),
    };
    Ok(plan_event(Event::StrategyAdded(pb::StrategyAdded {
        plan: plan_code.to_owned(),
        code,
        axis,
        name,
        description: optional_text(body.description.as_deref()),
        position,
    })))
}

/// Changes a strategy's texts; records only what differs.
///
/// # Errors
/// `Invalid` for an empty edit or name; `NotFound` for an unknown plan or strategy;
/// `Rejected` for a retired strategy.
pub fn decide_edit_strategy(
    plan: &Plan,
    plan_code: &str,
    strategy: &str,
    body: &EditStrategy,
) -> Result<Vec<pb::PlanEvent>, DomainError> {
    if body.name.is_none() && body.description.is_none() {
        return Err(DomainError::invalid(
            "body",
            "an edit must name at least one of name, description",
        ));
    }
    plan.require(plan_code)?;
    let s = plan.live_strategy(plan_code, strategy, None)?;
    let e = pb::StrategyEdited {
        plan: plan_code.to_owned(),
        code: s.code.clone(),
        name: changed_text("name", body.name.as_deref(), &s.name, true)?,
        description: changed_text(
            "description",
            body.description.as_deref(),
            &s.description,
            false,
        )?,
    };
    if e.name.is_none() && e.description.is_none() {
        return Ok(Vec::new());
    }
    Ok(plan_event(Event::StrategyEdited(e)))
}

/// Moves a strategy to another live axis and/or place; its code does not change.
/// Without a place it goes last in the target axis (or stays where it is, when the axis
/// does not change).
///
/// # Errors
/// `Invalid` for an empty move, a malformed axis code or a place below 1; `NotFound`
/// for an unknown plan, strategy or axis; `Rejected` for a retired strategy or axis.
pub fn decide_move_strategy(
    plan: &Plan,
    plan_code: &str,
    strategy: &str,
    body: &MoveStrategy,
) -> Result<Vec<pb::PlanEvent>, DomainError> {
    if body.to_axis.is_none() && body.position.is_none() {
        return Err(DomainError::invalid(
            "body",
            "a move must name to_axis, position or both",
        ));
    }
    let to_axis = body
        .to_axis
        .as_deref()
        .map(|a| input::item_code("to_axis", a, Level::Axis))
        .transpose()?
        .map(|c| c.to_string());
    let wanted = body
        .position
        .map(|p| input::position("position", p))
        .transpose()?;
    plan.require(plan_code)?;
    let s = plan.live_strategy(plan_code, strategy, None)?;
    let to_axis = to_axis.unwrap_or_else(|| s.axis.clone());
    let target = plan.live_axis(plan_code, &to_axis, Some("to_axis"))?;
    let siblings: Vec<&String> = target.strategies.iter().filter(|c| **c != s.code).collect();
    let now = target
        .strategies
        .iter()
        .position(|c| c == &s.code)
        .map(|i| i + 1);
    let position = match (wanted, now) {
        (Some(p), _) => Plan::clamp_place(siblings.len(), p),
        (None, Some(here)) => u32::try_from(here).unwrap_or(u32::MAX),
        (None, None) => Plan::clamp_place(siblings.len(), u32::MAX),
    };
    if to_axis == s.axis && now == Some(position as usize) {
        return Ok(Vec::new());
    }
    Ok(plan_event(Event::StrategyMoved(pb::StrategyMoved {
        plan: plan_code.to_owned(),
        code: s.code.clone(),
        from_axis: s.axis.clone(),
        to_axis,
        position,
    })))
}

/// Retires a strategy. `live_actions` are the codes of the plan's live actions that
/// belong to it (gathered by the service from the action streams); there must be none.
///
/// # Errors
/// `NotFound` for an unknown plan or strategy; `Rejected` for a retired strategy or
/// one with live actions.
pub fn decide_retire_strategy(
    plan: &Plan,
    plan_code: &str,
    strategy: &str,
    body: &RetireStrategy,
    live_actions: &[String],
) -> Result<Vec<pb::PlanEvent>, DomainError> {
    plan.require(plan_code)?;
    let s = plan.live_strategy(plan_code, strategy, None)?;
    if !live_actions.is_empty() {
        return Err(DomainError::rejected(
            None,
            format!(
                "strategy {} still has actions {}: move or retire them first",
                s.code,
                live_actions.join(", ")
            ),
        ));
    }
    Ok(plan_event(Event::StrategyRetired(pb::StrategyRetired {
        plan: plan_code.to_owned(),
        code: s.code.clone(),
        reason: optional_text(body.reason.as_deref()),
    })))
}

/// Adopts the next revision, freezing the plan as it stood at `at_position`: the header,
/// live axes and strategies in order, and the live `actions` (their state at
/// `at_position`, gathered by the service) in full, each strategy's actions by order
/// key then code.
///
/// # Errors
/// `Invalid` for an empty name or act or a bad date; `NotFound` for an unknown plan;
/// `Rejected` for a plan without live axes, an adoption dated before the previous
/// revision, or a live action whose strategy is not live (it would fall out of the
/// snapshot).
pub fn decide_adopt_revision(
    plan: &Plan,
    plan_code: &str,
    actions: &[Action],
    at_position: u64,
    body: &AdoptRevision,
) -> Result<Vec<pb::PlanEvent>, DomainError> {
    let name = required_text("name", &body.name)?;
    let act = required_text("act", &body.act)?;
    let adopted_on = input::date("adopted_on", &body.adopted_on)?;
    let header = plan.require(plan_code)?;
    if plan.axis_order.is_empty() {
        return Err(DomainError::rejected(
            None,
            format!("plan {plan_code} has no axis: a revision needs at least one"),
        ));
    }
    if let Some(last) = plan.revisions.last()
        && input::stored_date(&last.adopted_on).is_some_and(|d| d > adopted_on)
    {
        return Err(DomainError::rejected(
            Some("adopted_on"),
            format!(
                "revision {} was adopted on {}: a new one cannot predate it",
                last.number, last.adopted_on
            ),
        ));
    }
    let mut by_strategy: BTreeMap<&str, Vec<&pb::ActionDefinition>> = BTreeMap::new();
    for action in actions.iter().filter(|a| !a.is_retired()) {
        let Some(def) = action.definition.as_ref() else {
            continue;
        };
        if plan.strategies.get(&def.strategy).is_none_or(|s| s.retired) {
            return Err(DomainError::rejected(
                None,
                format!(
                    "action {} belongs to strategy {}, which is not live: move or retire it first",
                    def.code, def.strategy
                ),
            ));
        }
        by_strategy
            .entry(def.strategy.as_str())
            .or_default()
            .push(def);
    }
    let axes = plan
        .axis_order
        .iter()
        .filter_map(|code| plan.axes.get(code))
        .map(|a| pb::AxisSnapshot {
            code: a.code.clone(),
            name: a.name.clone(),
            slogan: a.slogan.clone(),
            description: a.description.clone(),
            pnrr_mission: a.pnrr_mission.clone(),
            strategies: a
                .strategies
                .iter()
                .filter_map(|code| plan.strategies.get(code))
                .map(|s| {
                    let mut actions = by_strategy.remove(s.code.as_str()).unwrap_or_default();
                    actions.sort_by(|x, y| {
                        x.position
                            .cmp(&y.position)
                            .then_with(|| cmp_codes(&x.code, &y.code))
                    });
                    pb::StrategySnapshot {
                        code: s.code.clone(),
                        name: s.name.clone(),
                        description: s.description.clone(),
                        actions: actions.into_iter().cloned().collect(),
                    }
                })
                .collect(),
        })
        .collect();
    let number = plan
        .revisions
        .last()
        .map_or(1, |r| r.number.saturating_add(1));
    Ok(plan_event(Event::RevisionAdopted(pb::RevisionAdopted {
        plan: plan_code.to_owned(),
        number,
        name,
        act,
        adopted_on: adopted_on.to_string(),
        at_position,
        snapshot: Some(pb::PlanSnapshot {
            header: Some(pb::PlanHeader {
                code: header.code.clone(),
                title: header.title.clone(),
                short_title: header.short_title.clone(),
                owner: header.owner.clone(),
                period_from: header.period_from.clone(),
                period_to: header.period_to.clone(),
            }),
            axes,
        }),
    })))
}

#[cfg(test)]
mod tests;
