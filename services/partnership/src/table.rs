//! The `Table` aggregate (stream `table:<id>`): a concertation table of a plan, its
//! members and its meetings, with the pure decisions taken against it.
//!
//! The choice: a member is an organisation and, optionally, the person representing
//! it; the pair is the member's identity, so one organisation may sit with several
//! people, and a person who left may join again. Ids of tables and meetings are chosen
//! by the service and passed in, so the decisions stay pure and a retried decision
//! produces the same ids; a decision's id is `<meeting_id>/<n>`.
//!
//! Rules:
//! - a table is created for a plan that exists, with a name and a kind from
//!   [`TABLE_KINDS`];
//! - commands on a table that was never created answer [`ApiError::NotFound`];
//! - a member cannot join twice (same organisation and person), and only a member can
//!   leave; roles come from [`MEMBER_ROLES`];
//! - a meeting has a date and a title; each decision has a text, and the actions it
//!   touches are action codes of the table's plan that exist and are not retired.

use std::collections::BTreeMap;

use metroplan_api::ApiError;
use metroplan_api::partnership::{AddTableMember, CreateTable, RecordMeeting, RemoveTableMember};
use metroplan_api::values::{Date, ItemCode, Level, PlanCode, parse_date};
use metroplan_events::{Aggregate, RecordedEvent, pb};

use crate::fields::{MAX_NAME_CHARS, MAX_TEXT_CHARS, one_of, optional, required};
use crate::plan_facts::{ActionStanding, KnownActions};

/// The kinds of table, after the plan's concertation tools: the permanent table on
/// mountains, and coordination tables with institutions, social partners, civil
/// society, and universities and training institutes.
pub const TABLE_KINDS: [&str; 5] = [
    "permanent_mountain",
    "coordination",
    "social_partners",
    "civil_society",
    "universities",
];

/// The roles of a member: the chair, members by right (e.g. the spokespersons of the
/// Zone omogenee on the mountain table), other members, technical partners (e.g. a
/// university department) and observers.
pub const MEMBER_ROLES: [&str; 5] = [
    "chair",
    "member_by_right",
    "member",
    "technical_partner",
    "observer",
];

/// A member's identity: organisation and person (empty when none is named).
pub type MemberKey = (String, String);

/// A meeting as the table remembers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Meeting {
    pub meeting_id: String,
    pub held_on: String,
    pub title: String,
    pub decisions: Vec<pb::Decision>,
}

/// A concertation table as its events add up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// False until `TableCreated`.
    pub created: bool,
    pub id: String,
    pub plan: String,
    pub name: String,
    pub kind: String,
    pub purpose: String,
    /// Current members and their roles.
    pub members: BTreeMap<MemberKey, String>,
    /// Meetings in the order recorded.
    pub meetings: Vec<Meeting>,
}

impl Aggregate for Table {
    type Event = pb::TableEvent;

    fn evolve(&mut self, event: &pb::TableEvent, _recorded: &RecordedEvent) {
        use pb::table_event::Event;
        match &event.event {
            Some(Event::TableCreated(e)) => {
                self.created = true;
                self.id.clone_from(&e.id);
                self.plan.clone_from(&e.plan);
                self.name.clone_from(&e.name);
                self.kind.clone_from(&e.kind);
                self.purpose.clone_from(&e.purpose);
            }
            Some(Event::TableMemberJoined(e)) => {
                self.members
                    .insert((e.organisation.clone(), e.person.clone()), e.role.clone());
            }
            Some(Event::TableMemberLeft(e)) => {
                self.members
                    .remove(&(e.organisation.clone(), e.person.clone()));
            }
            Some(Event::MeetingHeld(e)) => self.meetings.push(Meeting {
                meeting_id: e.meeting_id.clone(),
                held_on: e.held_on.clone(),
                title: e.title.clone(),
                decisions: e.decisions.clone(),
            }),
            None => {}
        }
    }
}

impl Table {
    fn require(&self) -> Result<(), ApiError> {
        if self.created {
            Ok(())
        } else {
            Err(ApiError::not_found("table"))
        }
    }
}

/// Creates table `id` for `plan`.
///
/// # Errors
/// [`ApiError::NotFound`] when the plan does not exist, [`ApiError::Validation`] for a
/// blank name or an unknown kind, [`ApiError::Rejected`] when the table exists.
pub fn decide_create_table(
    state: &Table,
    id: &str,
    plan: &PlanCode,
    plan_exists: bool,
    body: &CreateTable,
) -> Result<Vec<pb::TableEvent>, ApiError> {
    if !plan_exists {
        return Err(ApiError::not_found(format!("plan {plan}")));
    }
    if state.created {
        return Err(ApiError::rejected(
            None,
            format!("table {id} exists already"),
        ));
    }
    Ok(vec![
        pb::TableCreated {
            id: id.to_owned(),
            plan: plan.to_string(),
            name: required("name", &body.name, MAX_NAME_CHARS)?,
            kind: one_of("kind", &body.kind, &TABLE_KINDS)?.to_owned(),
            purpose: optional("purpose", &body.purpose, MAX_TEXT_CHARS)?,
        }
        .into(),
    ])
}

/// An organisation (or a person for it) joins the table.
///
/// # Errors
/// [`ApiError::NotFound`] for a table never created, [`ApiError::Validation`] for a
/// blank organisation or an unknown role, [`ApiError::Rejected`] when the member sits
/// at the table already.
pub fn decide_add_member(
    state: &Table,
    body: &AddTableMember,
) -> Result<Vec<pb::TableEvent>, ApiError> {
    state.require()?;
    let organisation = required("organisation", &body.organisation, MAX_NAME_CHARS)?;
    let person = optional(
        "person",
        body.person.as_deref().unwrap_or_default(),
        MAX_NAME_CHARS,
    )?;
    let role = one_of("role", &body.role, &MEMBER_ROLES)?;
    let key = (organisation, person);
    if let Some(current) = state.members.get(&key) {
        return Err(ApiError::rejected(
            Some("organisation"),
            format!(
                "{} already sits at the table as {current}",
                member_name(&key)
            ),
        ));
    }
    let (organisation, person) = key;
    Ok(vec![
        pb::TableMemberJoined {
            id: state.id.clone(),
            plan: state.plan.clone(),
            organisation,
            person,
            role: role.to_owned(),
        }
        .into(),
    ])
}

/// A member leaves the table.
///
/// # Errors
/// [`ApiError::NotFound`] for a table never created, [`ApiError::Validation`] for a
/// blank organisation, [`ApiError::Rejected`] when no such member sits at the table.
pub fn decide_remove_member(
    state: &Table,
    body: &RemoveTableMember,
) -> Result<Vec<pb::TableEvent>, ApiError> {
    state.require()?;
    let organisation = required("organisation", &body.organisation, MAX_NAME_CHARS)?;
    let person = optional(
        "person",
        body.person.as_deref().unwrap_or_default(),
        MAX_NAME_CHARS,
    )?;
    let key = (organisation, person);
    if !state.members.contains_key(&key) {
        return Err(ApiError::rejected(
            Some("organisation"),
            format!("{} is not a member of the table", member_name(&key)),
        ));
    }
    let (organisation, person) = key;
    Ok(vec![
        pb::TableMemberLeft {
            id: state.id.clone(),
            plan: state.plan.clone(),
            organisation,
            person,
        }
        .into(),
    ])
}

/// The table met: records meeting `meeting_id` and its decisions.
///
/// # Errors
/// [`ApiError::NotFound`] for a table never created, [`ApiError::Validation`] for a
/// malformed date, a blank title or decision text, a malformed action code or one the
/// plan does not have (naming the JSON path, `decisions[0].actions[1]`),
/// [`ApiError::Rejected`] for a retired action.
pub fn decide_record_meeting(
    state: &Table,
    meeting_id: &str,
    body: &RecordMeeting,
    actions: &KnownActions,
) -> Result<Vec<pb::TableEvent>, ApiError> {
    state.require()?;
    let held_on: Date = parse_date("held_on", &body.held_on)?;
    let title = required("title", &body.title, MAX_NAME_CHARS)?;
    let mut decisions = Vec::with_capacity(body.decisions.len());
    for (i, input) in body.decisions.iter().enumerate() {
        let text = required(&format!("decisions[{i}].text"), &input.text, MAX_TEXT_CHARS)?;
        let mut codes: Vec<String> = Vec::with_capacity(input.actions.len());
        for (j, code) in input.actions.iter().enumerate() {
            let field = format!("decisions[{i}].actions[{j}]");
            let code = live_action(&field, code, &state.plan, actions)?;
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        decisions.push(pb::Decision {
            decision_id: format!("{meeting_id}/{}", i + 1),
            text,
            actions: codes,
        });
    }
    Ok(vec![
        pb::MeetingHeld {
            id: state.id.clone(),
            plan: state.plan.clone(),
            meeting_id: meeting_id.to_owned(),
            held_on: held_on.to_string(),
            title,
            decisions,
        }
        .into(),
    ])
}

/// An action code of `plan` that exists and is live, for `field`.
///
/// # Errors
/// [`ApiError::Validation`] for a malformed or unknown code, [`ApiError::Rejected`] for
/// a retired action.
pub fn live_action(
    field: &str,
    code: &str,
    plan: &str,
    actions: &KnownActions,
) -> Result<String, ApiError> {
    let code = ItemCode::parse_level(code.trim(), Level::Action)
        .map_err(|m| ApiError::validation(field, m))?;
    match actions.standing(code.as_str()) {
        ActionStanding::Live => Ok(code.to_string()),
        ActionStanding::Missing => Err(ApiError::validation(
            field,
            format!("action {code} does not exist in plan {plan}"),
        )),
        ActionStanding::Retired => Err(ApiError::rejected(
            Some(field),
            format!("action {code} of plan {plan} is retired"),
        )),
    }
}

fn member_name((organisation, person): &MemberKey) -> String {
    if person.is_empty() {
        organisation.clone()
    } else {
        format!("{person} ({organisation})")
    }
}
