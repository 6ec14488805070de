//! Given / when / then on the action decisions, the co-editing merge above all: no
//! I/O, events in, events or errors out.

use metroplan_api::plan::{
    AddAction, AddAxis, AddStrategy, CreatePlan, EditAction, FundingLineInput, ImportedAction,
    InstrumentLinkInput, MoveAction, RetireAction,
};
use metroplan_events::pb::{self, action_event::Event};
use serde_json::json;

use super::*;
use crate::plan::{self, Plan};

const P: &str = "PSM-2021-2023";

fn torino() -> Plan {
    let mut p = Plan::default();
    let take = |p: &mut Plan, r: Result<Vec<pb::PlanEvent>, DomainError>| {
        for e in r.expect("a given decision succeeds") {
            p.apply(&e);
        }
    };
    let created = plan::decide_create_plan(
        &p,
        &CreatePlan {
            code: P.into(),
            title: "Torino Metropoli aumentata".into(),
            short_title: None,
            owner: "Città metropolitana di Torino".into(),
            period_from: "2021-01-01".into(),
            period_to: "2023-12-31".into(),
        },
    );
    take(&mut p, created);
    for a in ["2", "3"] {
        let r = plan::decide_add_axis(
            &p,
            P,
            &AddAxis {
                code: a.into(),
                name: format!("axis {a}"),
                slogan: None,
                description: None,
                pnrr_mission: None,
                position: None,
            },
        );
        take(&mut p, r);
    }
    for s in ["2.1", "3.1"] {
        let r = plan::decide_add_strategy(
            &p,
            P,
            &AddStrategy {
                code: s.into(),
                axis: None,
                name: format!("strategy {s}"),
                description: None,
                position: None,
            },
        );
        take(&mut p, r);
    }
    p
}

fn add(code: &str) -> AddAction {
    AddAction {
        code: code.into(),
        strategy: None,
        title: "Gran Bosco Torino".into(),
        description: Some("Metropolitan forestry programme".into()),
        competence: "direct".into(),
        responsible_organisations: Some(vec!["Città metropolitana di Torino".into()]),
        partner_organisations: None,
        territorial_scope: Some("metropolitan".into()),
        planned_start: Some("2021-06-01".into()),
        planned_end: Some("2023-06-30".into()),
        funding_lines: Some(vec![FundingLineInput {
            source: "PNRR".into(),
            programme: Some("M2C4".into()),
            measure: Some("Investimento 3.1".into()),
            planned_cents: 10_000_000,
            committed_cents: 0,
            spent_cents: 0,
            ..FundingLineInput::default()
        }]),
        instrument_links: Some(vec![InstrumentLinkInput {
            instrument: "PTGM".into(),
            section: None,
            effect: Some("green infrastructure".into()),
            ..InstrumentLinkInput::default()
        }]),
    }
}

/// An action stream: the state and its version.
struct Stream(Action, u64);

impl Stream {
    fn given(events: Vec<pb::ActionEvent>) -> Self {
        let mut s = Stream(Action::default(), 0);
        s.record(events);
        s
    }

    fn record(&mut self, events: Vec<pb::ActionEvent>) {
        for e in events {
            self.1 += 1;
            self.0.apply(&e, self.1);
        }
    }

    fn edit(
        &self,
        plan: &Plan,
        base: Option<u64>,
        body: &EditAction,
    ) -> Result<EditDecision, DomainError> {
        decide_edit_action(plan, &self.0, self.1, P, "2.1.3", base, body)
    }
}

/// Action 2.1.3, added at version 1.
fn gran_bosco(plan: &Plan) -> Stream {
    Stream::given(decide_add_action(plan, &Action::default(), P, &add("2.1.3")).unwrap())
}

fn invalid_field<T: std::fmt::Debug>(r: Result<T, DomainError>) -> String {
    match r {
        Err(DomainError::Invalid { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

fn edited(d: &EditDecision) -> &pb::ActionEdited {
    match d.events.as_slice() {
        [
            pb::ActionEvent {
                event: Some(Event::ActionEdited(e)),
            },
        ] => e,
        other => panic!("expected one ActionEdited, got {other:?}"),
    }
}

#[test]
fn adding_an_action_derives_its_strategy_from_its_code() {
    let plan = torino();
    let events = decide_add_action(&plan, &Action::default(), P, &add("2.1.3")).unwrap();
    let [
        pb::ActionEvent {
            event: Some(Event::ActionAdded(a)),
        },
    ] = events.as_slice()
    else {
        panic!()
    };
    assert_eq!(
        (a.plan.as_str(), a.code.as_str(), a.strategy.as_str()),
        (P, "2.1.3", "2.1")
    );
    assert_eq!(a.funding_lines[0].planned_cents, 10_000_000);
    let disagreeing = AddAction {
        strategy: Some("3.1".into()),
        ..add("2.1.3")
    };
    assert_eq!(
        invalid_field(decide_add_action(
            &plan,
            &Action::default(),
            P,
            &disagreeing
        )),
        "strategy"
    );
}

#[test]
fn every_broken_rule_names_its_json_field() {
    let plan = torino();
    let field = |f: fn(&mut AddAction)| {
        let mut body = add("2.1.3");
        f(&mut body);
        invalid_field(decide_add_action(&plan, &Action::default(), P, &body))
    };
    assert_eq!(field(|b| b.code = "2.1".into()), "code");
    assert_eq!(field(|b| b.title = " ".into()), "title");
    assert_eq!(field(|b| b.competence = "shared".into()), "competence");
    assert_eq!(
        field(|b| b.planned_start = Some("01/06/2021".into())),
        "planned_start"
    );
    assert_eq!(
        field(|b| b.planned_end = Some("2024-01-01".into())),
        "planned_end"
    );
    assert_eq!(
        field(|b| b.planned_start = Some("2023-07-01".into())),
        "planned_start"
    );
    assert_eq!(
        field(|b| b.funding_lines.as_mut().unwrap()[0].planned_cents = -1),
        "funding_lines[0].planned_cents"
    );
    assert_eq!(
        field(|b| b.instrument_links.as_mut().unwrap()[0].instrument = "".into()),
        "instrument_links[0].instrument"
    );
    assert_eq!(
        field(|b| b.responsible_organisations = Some(vec!["A".into(), "A".into()])),
        "responsible_organisations[1]"
    );
}

#[test]
fn committed_may_exceed_planned() {
    let plan = torino();
    let mut body = add("2.1.3");
    body.funding_lines.as_mut().unwrap()[0].committed_cents = 20_000_000;
    assert!(decide_add_action(&plan, &Action::default(), P, &body).is_ok());
}

#[test]
fn an_action_needs_a_live_strategy_and_a_fresh_code() {
    let plan = torino();
    assert!(matches!(
        decide_add_action(&plan, &Action::default(), P, &add("4.1.1")),
        Err(DomainError::NotFound { what }) if what.starts_with("strategy 4.1")
    ));
    assert!(matches!(
        decide_add_action(&Plan::default(), &Action::default(), P, &add("2.1.1")),
        Err(DomainError::NotFound { what }) if what.starts_with("plan")
    ));
    let stream = gran_bosco(&plan);
    assert!(matches!(
        decide_add_action(&plan, &stream.0, P, &add("2.1.3")),
        Err(DomainError::Rejected { field: Some(f), .. }) if f == "code"
    ));
    let mut retired_strategy = plan.clone();
    retired_strategy.apply(&pb::PlanEvent {
        event: Some(pb::plan_event::Event::StrategyRetired(
            pb::StrategyRetired {
                plan: P.into(),
                code: "2.1".into(),
                reason: String::new(),
            },
        )),
    });
    assert!(matches!(
        decide_add_action(&retired_strategy, &Action::default(), P, &add("2.1.4")),
        Err(DomainError::Rejected { field: Some(f), .. }) if f == "strategy"
    ));
}

#[test]
fn an_import_may_leave_the_competence_unstated() {
    let plan = torino();
    let item: ImportedAction = serde_json::from_value(json!({
        "code": "2.1.1", "strategy": "2.1", "title": "Rete metropolitana delle infrastrutture verdi",
        "summary_en": "Connect protected areas", "sources": ["S5"]
    }))
    .unwrap();
    let events = decide_import_action(&plan, &Action::default(), P, &item).unwrap();
    let [
        pb::ActionEvent {
            event: Some(Event::ActionAdded(a)),
        },
    ] = events.as_slice()
    else {
        panic!()
    };
    assert_eq!(
        (a.competence.as_str(), a.description.as_str()),
        ("", "Connect protected areas")
    );
}

#[test]
fn an_edit_records_only_what_changes_and_nothing_when_nothing_does() {
    let plan = torino();
    let s = gran_bosco(&plan);
    let same = EditAction {
        title: Some(" Gran Bosco Torino ".into()),
        ..EditAction::default()
    };
    assert_eq!(
        s.edit(&plan, Some(1), &same).unwrap(),
        EditDecision {
            events: vec![],
            merged: false
        }
    );
    let body = EditAction {
        title: Some("Gran Bosco Torino".into()),
        competence: Some("steering".into()),
        ..EditAction::default()
    };
    let d = s.edit(&plan, Some(1), &body).unwrap();
    let e = edited(&d);
    assert_eq!(
        (e.title.as_deref(), e.competence.as_deref()),
        (None, Some("steering"))
    );
    assert!(!d.merged);
    assert_eq!(
        invalid_field(s.edit(&plan, Some(1), &EditAction::default())),
        "body"
    );
}

#[test]
fn a_stale_edit_of_other_fields_is_merged() {
    let plan = torino();
    let mut s = gran_bosco(&plan);
    // They change the title at version 2.
    let theirs = EditAction {
        title: Some("Gran Bosco".into()),
        ..EditAction::default()
    };
    s.record(s.edit(&plan, Some(1), &theirs).unwrap().events);
    // I, still at version 1, change the description; my form resends the old title.
    let mine = EditAction {
        title: Some("Gran Bosco Torino".into()),
        description: Some("Forestry programme of the metropolis".into()),
        ..EditAction::default()
    };
    let d = s.edit(&plan, Some(1), &mine).unwrap();
    assert!(d.merged);
    let e = edited(&d);
    assert_eq!(e.title, None, "a field I did not change keeps their value");
    assert_eq!(
        e.description.as_deref(),
        Some("Forestry programme of the metropolis")
    );
    s.record(d.events);
    let def = s.0.definition.as_ref().unwrap();
    assert_eq!((def.title.as_str(), def.stream_version), ("Gran Bosco", 3));
}

#[test]
fn a_stale_edit_of_the_same_field_conflicts_with_base_theirs_and_yours() {
    let plan = torino();
    let mut s = gran_bosco(&plan);
    let theirs = EditAction {
        planned_end: Some("2023-12-31".into()),
        ..EditAction::default()
    };
    s.record(s.edit(&plan, None, &theirs).unwrap().events);
    let mine = EditAction {
        planned_end: Some("2022-12-31".into()),
        territorial_scope: Some("Zone omogenee montane".into()),
        ..EditAction::default()
    };
    let Err(DomainError::EditConflict(c)) = s.edit(&plan, Some(1), &mine) else {
        panic!("expected a conflict")
    };
    assert_eq!(c.fields, ["planned_end"]);
    assert_eq!((c.base_version, c.current_version), (1, 2));
    assert_eq!(c.base, json!({ "planned_end": "2023-06-30" }));
    assert_eq!(c.theirs, json!({ "planned_end": "2023-12-31" }));
    assert_eq!(c.yours, json!({ "planned_end": "2022-12-31" }));
}

#[test]
fn both_sides_setting_the_same_value_is_agreement_not_conflict() {
    let plan = torino();
    let mut s = gran_bosco(&plan);
    let body = EditAction {
        funding_lines: Some(vec![FundingLineInput {
            source: "OWN".into(),
            planned_cents: 5,
            ..FundingLineInput::default()
        }]),
        ..EditAction::default()
    };
    s.record(s.edit(&plan, None, &body).unwrap().events);
    let d = s.edit(&plan, Some(1), &body).unwrap();
    assert_eq!(
        d,
        EditDecision {
            events: vec![],
            merged: true
        }
    );
}

#[test]
fn a_base_version_ahead_of_the_stream_fails_the_precondition() {
    let plan = torino();
    let s = gran_bosco(&plan);
    let body = EditAction {
        title: Some("x".into()),
        ..EditAction::default()
    };
    assert_eq!(
        s.edit(&plan, Some(5), &body),
        Err(DomainError::BaseAhead {
            base_version: 5,
            current_version: 1
        })
    );
}

#[test]
fn a_merged_edit_still_obeys_the_date_rules_with_their_changes() {
    let plan = torino();
    let mut s = gran_bosco(&plan);
    let theirs = EditAction {
        planned_end: Some("2021-12-31".into()),
        ..EditAction::default()
    };
    s.record(s.edit(&plan, None, &theirs).unwrap().events);
    let mine = EditAction {
        planned_start: Some("2022-03-01".into()),
        ..EditAction::default()
    };
    assert_eq!(
        invalid_field(s.edit(&plan, Some(1), &mine)),
        "planned_start"
    );
}

#[test]
fn actual_dates_may_fall_after_the_period_but_stay_in_order() {
    let plan = torino();
    let s = gran_bosco(&plan);
    let late = EditAction {
        actual_start: Some("2022-01-10".into()),
        actual_end: Some("2024-05-31".into()),
        ..EditAction::default()
    };
    assert!(s.edit(&plan, None, &late).is_ok());
    let reversed = EditAction {
        actual_start: Some("2024-01-10".into()),
        actual_end: Some("2023-05-31".into()),
        ..EditAction::default()
    };
    assert_eq!(
        invalid_field(s.edit(&plan, None, &reversed)),
        "actual_start"
    );
}

#[test]
fn a_retired_action_is_neither_edited_nor_retired_again() {
    let plan = torino();
    let mut s = gran_bosco(&plan);
    s.record(
        decide_retire_action(
            &s.0,
            P,
            "2.1.3",
            &RetireAction {
                reason: Some("merged into 2.1.1".into()),
            },
        )
        .unwrap(),
    );
    let body = EditAction {
        title: Some("x".into()),
        ..EditAction::default()
    };
    assert!(matches!(
        s.edit(&plan, None, &body),
        Err(DomainError::Rejected { .. })
    ));
    let Err(DomainError::EditConflict(c)) = s.edit(&plan, Some(1), &body) else {
        panic!("a stale edit sees the retirement")
    };
    assert_eq!(c.fields, ["title", "retired"]);
    assert_eq!(c.theirs["retired"], json!(true));
    assert!(matches!(
        decide_retire_action(&s.0, P, "2.1.3", &RetireAction::default()),
        Err(DomainError::Rejected { .. })
    ));
}

#[test]
fn moving_an_action_changes_its_strategy_never_its_code() {
    let plan = torino();
    let mut s = gran_bosco(&plan);
    let to = MoveAction {
        to_strategy: "3.1".into(),
        position: None,
    };
    let events = decide_move_action(&plan, &s.0, P, "2.1.3", &to, 4).unwrap();
    let [
        pb::ActionEvent {
            event: Some(Event::ActionMoved(m)),
        },
    ] = events.as_slice()
    else {
        panic!()
    };
    assert_eq!(
        (
            m.code.as_str(),
            m.from_strategy.as_str(),
            m.to_strategy.as_str(),
            m.position
        ),
        ("2.1.3", "2.1", "3.1", 4)
    );
    s.record(events);
    let def = s.0.definition.as_ref().unwrap();
    assert_eq!((def.code.as_str(), def.strategy.as_str()), ("2.1.3", "3.1"));
    assert_eq!(
        decide_move_action(&plan, &s.0, P, "2.1.3", &to, 9).unwrap(),
        vec![]
    );
    // A move does not touch the fields an edit changes: a stale edit merges.
    let body = EditAction {
        title: Some("Gran Bosco".into()),
        ..EditAction::default()
    };
    assert!(s.edit(&plan, Some(1), &body).unwrap().merged);
    assert!(matches!(
        decide_move_action(
            &plan,
            &s.0,
            P,
            "2.1.3",
            &MoveAction {
                to_strategy: "9.9".into(),
                position: None
            },
            1
        ),
        Err(DomainError::NotFound { .. })
    ));
}
