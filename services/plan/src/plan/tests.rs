//! Given / when / then on the plan decisions: no I/O, events in, events or errors out.

use metroplan_api::plan::{
    AddAction, AddAxis, AddStrategy, AdoptRevision, CreatePlan, EditAxis, MoveAxis, MoveStrategy,
    RetireAxis, RetireStrategy,
};
use metroplan_events::pb::{self, plan_event::Event};
use metroplan_events::{Aggregate, RecordedEvent};

use super::*;
use crate::action::{Action, decide_add_action};

const P: &str = "PSM-2021-2023";

fn recorded(version: u64) -> RecordedEvent {
    RecordedEvent {
        event_id: uuid_nil(),
        stream_id: format!("plan:{P}"),
        stream_version: version,
        position: version,
        event_type: String::new(),
        schema_version: 1,
        recorded_at: chrono::Utc::now(),
        metadata: Default::default(),
        payload: Vec::new(),
        hash: Vec::new(),
    }
}

fn uuid_nil() -> uuid::Uuid {
    uuid::Uuid::nil()
}

/// A plan built from the events of decisions taken one after the other.
struct Given(Plan, u64);

impl Given {
    fn new() -> Self {
        Given(Plan::default(), 0)
    }

    fn and(mut self, events: Result<Vec<pb::PlanEvent>, DomainError>) -> Self {
        for e in events.expect("a given decision succeeds") {
            self.1 += 1;
            self.0.evolve(&e, &recorded(self.1));
        }
        self
    }
}

fn create() -> CreatePlan {
    CreatePlan {
        code: P.into(),
        title: "Torino Metropoli aumentata".into(),
        short_title: Some("tM+".into()),
        owner: "Città metropolitana di Torino".into(),
        period_from: "2021-01-01".into(),
        period_to: "2023-12-31".into(),
    }
}

fn axis(code: &str) -> AddAxis {
    AddAxis {
        code: code.into(),
        name: format!("axis {code}"),
        slogan: None,
        description: None,
        pnrr_mission: None,
        position: None,
    }
}

fn strategy(code: &str) -> AddStrategy {
    AddStrategy {
        code: code.into(),
        axis: None,
        name: format!("strategy {code}"),
        description: None,
        position: None,
    }
}

/// Plan with axes 1 and 2, strategies 1.1 and 2.1.
fn torino() -> Plan {
    let g = Given::new().and(decide_create_plan(&Plan::default(), &create()));
    let g = Given(g.0.clone(), g.1).and(decide_add_axis(&g.0, P, &axis("2")));
    let g = Given(g.0.clone(), g.1).and(decide_add_axis(&g.0, P, &axis("1")));
    let g = Given(g.0.clone(), g.1).and(decide_add_strategy(&g.0, P, &strategy("1.1")));
    let g = Given(g.0.clone(), g.1).and(decide_add_strategy(&g.0, P, &strategy("2.1")));
    g.0
}

fn then(plan: &Plan, events: Result<Vec<pb::PlanEvent>, DomainError>) -> Plan {
    let mut p = plan.clone();
    for e in events.expect("the decision succeeds") {
        p.apply(&e);
    }
    p
}

fn invalid_field(e: Result<Vec<pb::PlanEvent>, DomainError>) -> String {
    match e {
        Err(DomainError::Invalid { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

fn single(events: Vec<pb::PlanEvent>) -> Event {
    assert_eq!(events.len(), 1, "{events:?}");
    events
        .into_iter()
        .next()
        .and_then(|e| e.event)
        .expect("an event")
}

#[test]
fn creating_a_plan_records_its_header_once() {
    let events = decide_create_plan(&Plan::default(), &create()).unwrap();
    let Event::PlanCreated(c) = single(events.clone()) else {
        panic!()
    };
    assert_eq!((c.code.as_str(), c.period_to.as_str()), (P, "2023-12-31"));
    let plan = then(&Plan::default(), Ok(events));
    assert!(matches!(
        decide_create_plan(&plan, &create()),
        Err(DomainError::Rejected { .. })
    ));
}

#[test]
fn a_plan_needs_a_code_a_title_and_a_period_in_order() {
    let bad = |f: fn(&mut CreatePlan)| {
        let mut b = create();
        f(&mut b);
        invalid_field(decide_create_plan(&Plan::default(), &b))
    };
    assert_eq!(bad(|b| b.code = "PSM 2021".into()), "code");
    assert_eq!(bad(|b| b.title = "  ".into()), "title");
    assert_eq!(bad(|b| b.period_from = "2021-13-01".into()), "period_from");
    assert_eq!(bad(|b| b.period_to = "2020-12-31".into()), "period_to");
}

#[test]
fn commands_on_a_plan_that_does_not_exist_are_not_found() {
    let r = decide_add_axis(&Plan::default(), P, &axis("1"));
    assert!(matches!(r, Err(DomainError::NotFound { what }) if what == format!("plan {P}")));
}

#[test]
fn axes_without_a_place_go_where_their_code_sorts() {
    let plan = torino();
    assert_eq!(plan.axis_order, ["1", "2"]);
    let plan = then(&plan, decide_add_axis(&plan, P, &axis("10")));
    let plan = then(&plan, decide_add_axis(&plan, P, &axis("3")));
    assert_eq!(plan.axis_order, ["1", "2", "3", "10"]);
    let plan = then(
        &plan,
        decide_add_axis(
            &plan,
            P,
            &AddAxis {
                position: Some(1),
                ..axis("4")
            },
        ),
    );
    assert_eq!(plan.axis_order, ["4", "1", "2", "3", "10"]);
}

#[test]
fn an_axis_code_is_one_part_and_never_reused() {
    let plan = torino();
    assert_eq!(
        invalid_field(decide_add_axis(&plan, P, &axis("1.1"))),
        "code"
    );
    assert_eq!(
        invalid_field(decide_add_axis(&plan, P, &axis("01"))),
        "code"
    );
    assert!(matches!(
        decide_add_axis(&plan, P, &axis("1")),
        Err(DomainError::Rejected { field: Some(f), .. }) if f == "code"
    ));
    let plan = then(&plan, decide_add_axis(&plan, P, &axis("3")));
    let plan = then(
        &plan,
        decide_retire_axis(&plan, P, "3", &RetireAxis::default()),
    );
    let err = decide_add_axis(&plan, P, &axis("3")).unwrap_err();
    assert!(err.to_string().contains("never reused"), "{err}");
}

#[test]
fn a_strategy_starts_with_its_axis_code_and_needs_a_live_axis() {
    let plan = torino();
    let wrong_axis = AddStrategy {
        axis: Some("2".into()),
        ..strategy("1.2")
    };
    assert_eq!(
        invalid_field(decide_add_strategy(&plan, P, &wrong_axis)),
        "axis"
    );
    assert_eq!(
        invalid_field(decide_add_strategy(&plan, P, &strategy("1"))),
        "code"
    );
    assert!(matches!(
        decide_add_strategy(&plan, P, &strategy("7.1")),
        Err(DomainError::NotFound { what }) if what.starts_with("axis 7")
    ));
    let plan = then(&plan, decide_add_axis(&plan, P, &axis("3")));
    let plan = then(
        &plan,
        decide_retire_axis(&plan, P, "3", &RetireAxis::default()),
    );
    assert!(matches!(
        decide_add_strategy(&plan, P, &strategy("3.1")),
        Err(DomainError::Rejected { field: Some(f), .. }) if f == "axis"
    ));
}

#[test]
fn an_edit_that_changes_nothing_records_nothing() {
    let plan = torino();
    let same = EditAxis {
        name: Some(" axis 1 ".into()),
        ..EditAxis::default()
    };
    assert_eq!(decide_edit_axis(&plan, P, "1", &same).unwrap(), Vec::new());
    let slogan = EditAxis {
        slogan: Some("Torino Metropoli più verde".into()),
        ..same
    };
    let Event::AxisEdited(e) = single(decide_edit_axis(&plan, P, "1", &slogan).unwrap()) else {
        panic!()
    };
    assert_eq!(
        (e.name, e.slogan.as_deref()),
        (None, Some("Torino Metropoli più verde"))
    );
    assert_eq!(
        invalid_field(decide_edit_axis(&plan, P, "1", &EditAxis::default())),
        "body"
    );
}

#[test]
fn moving_an_axis_reorders_the_live_axes() {
    let plan = torino();
    let plan = then(
        &plan,
        decide_move_axis(&plan, P, "2", &MoveAxis { position: 1 }),
    );
    assert_eq!(plan.axis_order, ["2", "1"]);
    assert_eq!(
        decide_move_axis(&plan, P, "2", &MoveAxis { position: 1 }).unwrap(),
        Vec::new()
    );
    assert_eq!(
        invalid_field(decide_move_axis(&plan, P, "2", &MoveAxis { position: 0 })),
        "position"
    );
}

#[test]
fn moving_a_strategy_to_another_axis_keeps_its_code() {
    let plan = torino();
    let to_2 = MoveStrategy {
        to_axis: Some("2".into()),
        position: Some(1),
    };
    let Event::StrategyMoved(m) = single(decide_move_strategy(&plan, P, "1.1", &to_2).unwrap())
    else {
        panic!()
    };
    assert_eq!(
        (
            m.code.as_str(),
            m.from_axis.as_str(),
            m.to_axis.as_str(),
            m.position
        ),
        ("1.1", "1", "2", 1)
    );
    let plan = then(&plan, decide_move_strategy(&plan, P, "1.1", &to_2));
    assert_eq!(plan.axes["2"].strategies, ["1.1", "2.1"]);
    assert!(plan.axes["1"].strategies.is_empty());
    assert_eq!(plan.strategies["1.1"].axis, "2");
}

#[test]
fn an_axis_with_live_strategies_stays() {
    let plan = torino();
    let err = decide_retire_axis(&plan, P, "1", &RetireAxis::default()).unwrap_err();
    assert!(matches!(err, DomainError::Rejected { .. }));
    assert!(err.to_string().contains("1.1"), "{err}");
    let plan = then(
        &plan,
        decide_retire_strategy(&plan, P, "1.1", &RetireStrategy::default(), &[]),
    );
    let plan = then(
        &plan,
        decide_retire_axis(
            &plan,
            P,
            "1",
            &RetireAxis {
                reason: Some("merged".into()),
            },
        ),
    );
    assert_eq!(plan.axis_order, ["2"]);
    assert!(plan.axes["1"].retired);
}

#[test]
fn a_strategy_with_live_actions_stays() {
    let plan = torino();
    let live = vec!["2.1.1".to_owned()];
    let err =
        decide_retire_strategy(&plan, P, "2.1", &RetireStrategy::default(), &live).unwrap_err();
    assert!(err.to_string().contains("2.1.1"), "{err}");
}

#[test]
fn a_revision_needs_a_live_axis() {
    let plan = Given::new()
        .and(decide_create_plan(&Plan::default(), &create()))
        .0;
    let body = AdoptRevision {
        name: "Approvazione".into(),
        act: "DCM 2021".into(),
        adopted_on: "2021-02-10".into(),
    };
    assert!(matches!(
        decide_adopt_revision(&plan, P, &[], 1, &body),
        Err(DomainError::Rejected { .. })
    ));
}

fn action(plan: &Plan, code: &str) -> Action {
    let body = AddAction {
        code: code.into(),
        strategy: None,
        title: format!("action {code}"),
        description: None,
        competence: "direct".into(),
        responsible_organisations: None,
        partner_organisations: None,
        territorial_scope: None,
        planned_start: None,
        planned_end: None,
        funding_lines: None,
        instrument_links: None,
    };
    let mut a = Action::default();
    for e in decide_add_action(plan, &a.clone(), P, &body).unwrap() {
        a.apply(&e, 1);
    }
    a
}

#[test]
fn a_revision_freezes_the_live_plan_in_order_and_numbers_itself() {
    let plan = torino();
    let actions = vec![
        action(&plan, "2.1.2"),
        action(&plan, "2.1.1"),
        action(&plan, "1.1.10"),
        action(&plan, "1.1.9"),
    ];
    let body = AdoptRevision {
        name: " Aggiornamento 2022 ".into(),
        act: "Deliberazione del Consiglio metropolitano n.71/2022".into(),
        adopted_on: "2022-12-22".into(),
    };
    let events = decide_adopt_revision(&plan, P, &actions, 42, &body).unwrap();
    let Event::RevisionAdopted(r) = single(events.clone()) else {
        panic!()
    };
    assert_eq!(
        (r.number, r.name.as_str(), r.at_position),
        (1, "Aggiornamento 2022", 42)
    );
    let snap = r.snapshot.unwrap();
    assert_eq!(snap.header.unwrap().code, P);
    type Tree = Vec<(String, Vec<(String, Vec<String>)>)>;
    let tree: Tree = snap
        .axes
        .iter()
        .map(|a| {
            (
                a.code.clone(),
                a.strategies
                    .iter()
                    .map(|s| {
                        (
                            s.code.clone(),
                            s.actions.iter().map(|x| x.code.clone()).collect(),
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        tree,
        vec![
            (
                "1".to_owned(),
                vec![(
                    "1.1".to_owned(),
                    vec!["1.1.9".to_owned(), "1.1.10".to_owned()]
                )]
            ),
            (
                "2".to_owned(),
                vec![(
                    "2.1".to_owned(),
                    vec!["2.1.1".to_owned(), "2.1.2".to_owned()]
                )]
            ),
        ]
    );

    let plan = then(&plan, Ok(events));
    let next = decide_adopt_revision(
        &plan,
        P,
        &actions,
        50,
        &AdoptRevision {
            adopted_on: "2023-06-30".into(),
            ..body.clone()
        },
    );
    let Event::RevisionAdopted(r) = single(next.unwrap()) else {
        panic!()
    };
    assert_eq!(r.number, 2);
    let earlier = AdoptRevision {
        adopted_on: "2022-01-01".into(),
        ..body
    };
    assert!(matches!(
        decide_adopt_revision(&plan, P, &actions, 50, &earlier),
        Err(DomainError::Rejected { field: Some(f), .. }) if f == "adopted_on"
    ));
}

#[test]
fn a_revision_leaves_out_retired_items_and_refuses_orphan_actions() {
    let plan = torino();
    let mut retired = action(&plan, "2.1.2");
    retired.apply(
        &pb::ActionEvent {
            event: Some(pb::action_event::Event::ActionRetired(pb::ActionRetired {
                plan: P.into(),
                code: "2.1.2".into(),
                reason: String::new(),
            })),
        },
        2,
    );
    let orphan = action(&plan, "1.1.1");
    let body = AdoptRevision {
        name: "r".into(),
        act: "a".into(),
        adopted_on: "2022-12-22".into(),
    };
    let ok = decide_adopt_revision(
        &plan,
        P,
        &[retired.clone(), action(&plan, "2.1.1")],
        9,
        &body,
    )
    .unwrap();
    let Event::RevisionAdopted(r) = single(ok) else {
        panic!()
    };
    let snap = r.snapshot.unwrap();
    assert_eq!(snap.axes[1].strategies[0].actions.len(), 1);

    let plan = then(
        &plan,
        decide_retire_strategy(&plan, P, "1.1", &RetireStrategy::default(), &[]),
    );
    let err = decide_adopt_revision(&plan, P, &[retired, orphan], 9, &body).unwrap_err();
    assert!(err.to_string().contains("1.1.1"), "{err}");
}
