//! Given a table's events, when a command is decided, then these events or this error.

use metroplan_api::partnership::{
    AddTableMember, CreateTable, DecisionInput, RecordMeeting, RemoveTableMember,
};
use metroplan_api::values::PlanCode;
use metroplan_events::pb;
use metroplan_partnership::plan_facts::{ActionStanding, KnownActions};
use metroplan_partnership::table::{
    Table, decide_add_member, decide_create_table, decide_record_meeting, decide_remove_member,
};

use crate::support::{apply, assert_not_found, assert_rejected, assert_validation};

const ID: &str = "0190f5d2-7a7e-7000-8000-000000000001";

fn plan() -> PlanCode {
    "PSM-2021-2023".parse().unwrap()
}

fn mountain_table() -> CreateTable {
    CreateTable {
        name: "Tavolo permanente sulla montagna".into(),
        kind: "permanent_mountain".into(),
        purpose: "Monitoraggio in itinere e aggiornamento del piano".into(),
    }
}

fn member(organisation: &str, person: Option<&str>, role: &str) -> AddTableMember {
    AddTableMember {
        organisation: organisation.into(),
        person: person.map(Into::into),
        role: role.into(),
    }
}

/// A created table with `members` joined.
fn given(members: &[AddTableMember]) -> Table {
    let mut state = apply(
        Table::default(),
        &decide_create_table(&Table::default(), ID, &plan(), true, &mountain_table()).unwrap(),
    );
    for m in members {
        let events = decide_add_member(&state, m).unwrap();
        state = apply(state, &events);
    }
    state
}

#[test]
fn a_table_is_created_for_an_existing_plan() {
    let events =
        decide_create_table(&Table::default(), ID, &plan(), true, &mountain_table()).unwrap();
    let Some(pb::table_event::Event::TableCreated(created)) = &events[0].event else {
        panic!("{events:?}")
    };
    assert_eq!(created.id, ID);
    assert_eq!(created.plan, "PSM-2021-2023");
    assert_eq!(created.kind, "permanent_mountain");
    let state = apply(Table::default(), &events);
    assert!(state.created);
    assert_eq!(state.name, "Tavolo permanente sulla montagna");
}

#[test]
fn a_table_needs_an_existing_plan_a_name_and_a_known_kind() {
    assert_not_found(decide_create_table(
        &Table::default(),
        ID,
        &plan(),
        false,
        &mountain_table(),
    ));
    let blank = CreateTable {
        name: "  ".into(),
        ..mountain_table()
    };
    assert_validation(
        decide_create_table(&Table::default(), ID, &plan(), true, &blank),
        "name",
    );
    let odd = CreateTable {
        kind: "mountain".into(),
        ..mountain_table()
    };
    assert_validation(
        decide_create_table(&Table::default(), ID, &plan(), true, &odd),
        "kind",
    );
}

#[test]
fn a_table_is_created_once() {
    assert_rejected(
        decide_create_table(&given(&[]), ID, &plan(), true, &mountain_table()),
        None,
    );
}

#[test]
fn commands_on_a_table_never_created_are_not_found() {
    assert_not_found(decide_add_member(
        &Table::default(),
        &member("UNCEM Piemonte", None, "member_by_right"),
    ));
}

#[test]
fn a_member_joins_with_a_role_and_carries_the_table_and_plan() {
    let events = decide_add_member(
        &given(&[]),
        &member("UNCEM Piemonte", Some("Presidente"), "member_by_right"),
    )
    .unwrap();
    let Some(pb::table_event::Event::TableMemberJoined(joined)) = &events[0].event else {
        panic!("{events:?}")
    };
    assert_eq!(
        (joined.id.as_str(), joined.plan.as_str()),
        (ID, "PSM-2021-2023")
    );
    assert_eq!(
        (
            joined.organisation.as_str(),
            joined.person.as_str(),
            joined.role.as_str()
        ),
        ("UNCEM Piemonte", "Presidente", "member_by_right")
    );
}

#[test]
fn a_member_cannot_join_twice() {
    let state = given(&[member(
        "Politecnico di Torino (DIST)",
        None,
        "technical_partner",
    )]);
    assert_rejected(
        decide_add_member(
            &state,
            &member("Politecnico di Torino (DIST)", None, "observer"),
        ),
        Some("organisation"),
    );
    // Another person for the same organisation is another member.
    assert!(
        decide_add_member(
            &state,
            &member("Politecnico di Torino (DIST)", Some("A. Bianchi"), "member")
        )
        .is_ok()
    );
}

#[test]
fn an_unknown_role_is_named() {
    assert_validation(
        decide_add_member(&given(&[]), &member("Ires Piemonte", None, "boss")),
        "role",
    );
}

#[test]
fn only_a_member_leaves_and_may_then_join_again() {
    let state = given(&[member("Fondazione Santagata", None, "technical_partner")]);
    let leave = RemoveTableMember {
        organisation: "Fondazione Santagata".into(),
        person: None,
    };
    let state = apply(
        state.clone(),
        &decide_remove_member(&state, &leave).unwrap(),
    );
    assert!(state.members.is_empty());
    assert_rejected(decide_remove_member(&state, &leave), Some("organisation"));
    assert!(
        decide_add_member(
            &state,
            &member("Fondazione Santagata", None, "technical_partner")
        )
        .is_ok()
    );
}

fn meeting(decisions: Vec<DecisionInput>) -> RecordMeeting {
    RecordMeeting {
        held_on: "2022-05-12".into(),
        title: "Riunione plenaria".into(),
        decisions,
    }
}

fn decision(text: &str, actions: &[&str]) -> DecisionInput {
    DecisionInput {
        text: text.into(),
        actions: actions.iter().map(|a| (*a).to_owned()).collect(),
    }
}

#[test]
fn a_meeting_records_its_decisions_with_ids_and_actions() {
    let known = KnownActions::live(["2.1.1", "2.1.3"]);
    let body = meeting(vec![
        decision(
            "Priorità alla rete delle infrastrutture verdi",
            &["2.1.1", "2.1.3", "2.1.1"],
        ),
        decision("Prossima riunione in autunno", &[]),
    ]);

    let events = decide_record_meeting(&given(&[]), "m-1", &body, &known).unwrap();

    let Some(pb::table_event::Event::MeetingHeld(held)) = &events[0].event else {
        panic!("{events:?}")
    };
    assert_eq!(
        (
            held.id.as_str(),
            held.plan.as_str(),
            held.meeting_id.as_str()
        ),
        (ID, "PSM-2021-2023", "m-1")
    );
    assert_eq!(held.held_on, "2022-05-12");
    assert_eq!(held.decisions.len(), 2);
    assert_eq!(held.decisions[0].decision_id, "m-1/1");
    assert_eq!(
        held.decisions[0].actions,
        vec!["2.1.1".to_owned(), "2.1.3".to_owned()],
        "listed once each"
    );
    assert_eq!(held.decisions[1].decision_id, "m-1/2");
    let state = apply(given(&[]), &events);
    assert_eq!(state.meetings.len(), 1);
}

#[test]
fn a_decision_names_only_live_actions_of_the_plan() {
    let mut known = KnownActions::live(["2.1.1"]);
    known.insert("2.1.2", ActionStanding::Retired);
    let state = given(&[]);
    assert_validation(
        decide_record_meeting(
            &state,
            "m",
            &meeting(vec![
                decision("ok", &[]),
                decision("x", &["2.1.1", "9.9.9"]),
            ]),
            &known,
        ),
        "decisions[1].actions[1]",
    );
    assert_validation(
        decide_record_meeting(&state, "m", &meeting(vec![decision("x", &["2.1"])]), &known),
        "decisions[0].actions[0]",
    );
    assert_rejected(
        decide_record_meeting(
            &state,
            "m",
            &meeting(vec![decision("x", &["2.1.2"])]),
            &known,
        ),
        Some("decisions[0].actions[0]"),
    );
}

#[test]
fn a_meeting_has_a_date_a_title_and_decision_texts() {
    let known = KnownActions::default();
    let state = given(&[]);
    let bad_date = RecordMeeting {
        held_on: "12/05/2022".into(),
        ..meeting(vec![])
    };
    assert_validation(
        decide_record_meeting(&state, "m", &bad_date, &known),
        "held_on",
    );
    let no_title = RecordMeeting {
        title: String::new(),
        ..meeting(vec![])
    };
    assert_validation(
        decide_record_meeting(&state, "m", &no_title, &known),
        "title",
    );
    assert_validation(
        decide_record_meeting(&state, "m", &meeting(vec![decision(" ", &[])]), &known),
        "decisions[0].text",
    );
}
