//! Given the events already on a campaign's stream, when a draft, questions, an
//! opening, an invitation, an answer set or a closing is decided, then these events, or
//! this error. No I/O. The campaign is an example, not the plan's real questionnaire.

use metroplan_api::ApiError;
use metroplan_api::questionnaire::{
    AnswerInput, AnswerValue, CampaignId, DraftCampaign, LinkHash, QuestionInput, SetQuestions,
    SubmitAnswers,
};
use metroplan_api::values::PlanCode;
use metroplan_events::pb::{self, campaign_event::Event};
use metroplan_monitoring::campaign::Target;
use metroplan_monitoring::{
    Campaign, PlanSubjects, decide_close, decide_draft, decide_invite, decide_open,
    decide_questions, decide_replace_link, decide_submit,
};

fn plan() -> PlanCode {
    "PSM-2021-2023".parse().unwrap()
}

fn id() -> CampaignId {
    "monitoraggio-2022".parse().unwrap()
}

fn at<'a>(plan: &'a PlanCode, id: &'a CampaignId) -> Target<'a> {
    Target { plan, campaign: id }
}

fn subjects() -> PlanSubjects {
    PlanSubjects {
        strategies: [("2.1".to_owned(), false), ("1.5".to_owned(), true)].into(),
        actions: [
            ("2.1.1".to_owned(), true),
            ("2.1.2".to_owned(), true),
            ("2.1.3".to_owned(), true),
            ("2.1.4".to_owned(), false),
        ]
        .into(),
    }
}

fn draft() -> DraftCampaign {
    DraftCampaign {
        id: "monitoraggio-2022".into(),
        title: "Questionario di monitoraggio 2022 — esempio".into(),
        description: "Stato di attuazione sul territorio, opinioni e suggerimenti".into(),
        opens: "2022-03-01".into(),
        closes: "2022-04-30".into(),
    }
}

fn question(id: &str, kind: &str, about: &str, subjects: &[&str]) -> QuestionInput {
    QuestionInput {
        id: id.into(),
        kind: kind.into(),
        text: format!("Domanda {id}"),
        about: about.into(),
        subjects: subjects.iter().map(|s| (*s).to_owned()).collect(),
        scale_min: None,
        scale_max: None,
        min_label: String::new(),
        max_label: String::new(),
        choices: Vec::new(),
        required: false,
    }
}

fn questions() -> SetQuestions {
    SetQuestions {
        questions: vec![
            QuestionInput {
                scale_min: Some(1),
                scale_max: Some(5),
                min_label: "per nulla".into(),
                max_label: "del tutto".into(),
                required: true,
                ..question(
                    "attuazione",
                    "scale",
                    "actions",
                    &["2.1.1", "2.1.2", "2.1.3"],
                )
            },
            QuestionInput {
                choices: vec!["sì".into(), "no".into(), "non so".into()],
                ..question("riorientare", "choice", "strategy", &["2.1"])
            },
            question("suggerimenti", "text", "plan", &[]),
        ],
    }
}

fn link(n: u8) -> LinkHash {
    LinkHash::try_from(format!("{n:02x}").repeat(32)).unwrap()
}

fn apply(
    state: &mut Campaign,
    decide: impl FnOnce(&Campaign) -> Result<Vec<pb::CampaignEvent>, ApiError>,
) {
    for e in &decide(state).expect("given events are valid") {
        state.apply(e);
    }
}

/// Drafted with the example questions; opened when `open`; two organisations invited
/// (links 1 and 2).
fn given(open: bool) -> Campaign {
    let (p, i) = (plan(), id());
    let mut s = Campaign::default();
    apply(&mut s, |s| decide_draft(s, &p, true, &draft()));
    apply(&mut s, |s| {
        decide_questions(s, at(&p, &i), &subjects(), &questions())
    });
    apply(&mut s, |s| {
        decide_invite(s, at(&p, &i), "Ires Piemonte", &link(1))
    });
    apply(&mut s, |s| {
        decide_invite(s, at(&p, &i), "Unione Montana Valli di Lanzo", &link(2))
    });
    if open {
        apply(&mut s, |s| decide_open(s, at(&p, &i)));
    }
    s
}

fn answer(question: &str, action: Option<&str>, value: AnswerValue) -> AnswerInput {
    AnswerInput {
        question: question.into(),
        action: action.map(str::to_owned),
        value,
    }
}

fn good_answers() -> SubmitAnswers {
    SubmitAnswers {
        answers: vec![
            answer("attuazione", Some("2.1.1"), AnswerValue::Number(4)),
            answer("attuazione", Some("2.1.3"), AnswerValue::Number(2)),
            answer("riorientare", None, AnswerValue::Text("no".into())),
            answer(
                "suggerimenti",
                None,
                AnswerValue::Text("  Più risorse per la montagna ".into()),
            ),
        ],
    }
}

fn submit(
    state: &Campaign,
    link_n: u8,
    body: &SubmitAnswers,
) -> Result<Vec<pb::CampaignEvent>, ApiError> {
    let (p, i) = (plan(), id());
    decide_submit(state, at(&p, &i), &link(link_n), body)
}

fn field_of(e: Result<Vec<pb::CampaignEvent>, ApiError>) -> String {
    match e {
        Err(ApiError::Validation { field, .. }) => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn a_draft_is_recorded_once_with_its_window() {
    let p = plan();
    let events = decide_draft(&Campaign::default(), &p, true, &draft()).unwrap();
    match &events[0].event {
        Some(Event::CampaignDrafted(d)) => {
            assert_eq!(d.campaign, "monitoraggio-2022");
            assert_eq!(
                (d.opens.as_str(), d.closes.as_str()),
                ("2022-03-01", "2022-04-30")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decide_draft(&given(false), &p, true, &draft()),
        Err(ApiError::Rejected { .. })
    ));
    assert!(matches!(
        decide_draft(&Campaign::default(), &p, false, &draft()),
        Err(ApiError::NotFound { .. })
    ));
    let backwards = DraftCampaign {
        closes: "2022-02-01".into(),
        ..draft()
    };
    assert_eq!(
        field_of(decide_draft(&Campaign::default(), &p, true, &backwards)),
        "closes"
    );
    let bad_id = DraftCampaign {
        id: "Monitoraggio 2022".into(),
        ..draft()
    };
    assert_eq!(
        field_of(decide_draft(&Campaign::default(), &p, true, &bad_id)),
        "id"
    );
}

#[test]
fn questions_must_fit_their_kind_and_name_live_subjects_of_the_plan() {
    let (p, i) = (plan(), id());
    let mut s = Campaign::default();
    apply(&mut s, |s| decide_draft(s, &p, true, &draft()));
    let with = |q: QuestionInput| SetQuestions { questions: vec![q] };
    let cases = [
        (question("x", "stars", "plan", &[]), "questions[0].kind"),
        (
            question("x", "scale", "plan", &[]),
            "questions[0].scale_max",
        ),
        (
            QuestionInput {
                scale_min: Some(1),
                scale_max: Some(20),
                ..question("x", "scale", "plan", &[])
            },
            "questions[0].scale_max",
        ),
        (
            QuestionInput {
                choices: vec!["sì".into()],
                ..question("x", "choice", "plan", &[])
            },
            "questions[0].choices",
        ),
        (
            QuestionInput {
                choices: vec!["sì".into(), "sì".into()],
                ..question("x", "choice", "plan", &[])
            },
            "questions[0].choices[1]",
        ),
        (
            question("x", "text", "strategy", &["9.9"]),
            "questions[0].subjects[0]",
        ),
        (
            question("x", "text", "strategy", &["1.5"]),
            "questions[0].subjects[0]",
        ),
        (
            question("x", "text", "actions", &["2.1.1", "2.1.4"]),
            "questions[0].subjects[1]",
        ),
        (
            question("x", "text", "action", &["2.1.1", "2.1.2"]),
            "questions[0].subjects",
        ),
        (
            question("x", "text", "plan", &["2.1"]),
            "questions[0].subjects",
        ),
        (question("x y", "text", "plan", &[]), "questions[0].id"),
        (question("x", "text", "axis", &[]), "questions[0].about"),
    ];
    for (q, field) in cases {
        assert_eq!(
            field_of(decide_questions(
                &s,
                at(&p, &i),
                &subjects(),
                &with(q.clone())
            )),
            field,
            "{q:?}"
        );
    }
    let twice = SetQuestions {
        questions: vec![
            question("x", "text", "plan", &[]),
            question("x", "text", "plan", &[]),
        ],
    };
    assert_eq!(
        field_of(decide_questions(&s, at(&p, &i), &subjects(), &twice)),
        "questions[1].id"
    );
    // Once open, the questions stay as they are.
    assert!(matches!(
        decide_questions(&given(true), at(&p, &i), &subjects(), &questions()),
        Err(ApiError::Rejected { .. })
    ));
}

#[test]
fn a_campaign_opens_once_with_questions_and_closes_once_open() {
    let (p, i) = (plan(), id());
    let mut s = Campaign::default();
    apply(&mut s, |s| decide_draft(s, &p, true, &draft()));
    assert!(matches!(
        decide_open(&s, at(&p, &i)),
        Err(ApiError::Rejected { .. })
    ));
    assert!(matches!(
        decide_close(&s, at(&p, &i)),
        Err(ApiError::Rejected { .. })
    ));
    let mut s = given(true);
    assert!(matches!(
        decide_open(&s, at(&p, &i)),
        Err(ApiError::Rejected { .. })
    ));
    apply(&mut s, |s| submit(s, 1, &good_answers()));
    let closed = decide_close(&s, at(&p, &i)).unwrap();
    match &closed[0].event {
        Some(Event::CampaignClosed(c)) => assert_eq!((c.invited, c.answered), (2, 1)),
        other => panic!("{other:?}"),
    }
    apply(&mut s, |_| Ok(closed));
    assert!(matches!(
        decide_close(&s, at(&p, &i)),
        Err(ApiError::Rejected { .. })
    ));
    assert!(matches!(
        decide_open(&Campaign::default(), at(&p, &i)),
        Err(ApiError::NotFound { .. })
    ));
}

#[test]
fn an_invitation_keeps_only_the_hash_and_an_organisation_is_invited_once() {
    let (p, i) = (plan(), id());
    let s = given(false);
    let events = decide_invite(&s, at(&p, &i), "Politecnico di Torino (DIST)", &link(3)).unwrap();
    match &events[0].event {
        Some(Event::OrganisationInvited(e)) => assert_eq!(e.link_sha256, "03".repeat(32)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decide_invite(&s, at(&p, &i), "  ires   PIEMONTE ", &link(3)),
        Err(ApiError::Rejected { field: Some(f), .. }) if f == "organisation"
    ));
    assert!(matches!(
        decide_invite(&s, at(&p, &i), "Fondazione Santagata", &link(1)),
        Err(ApiError::Rejected { .. })
    ));
    assert_eq!(
        field_of(decide_invite(&s, at(&p, &i), "  ", &link(4))),
        "organisation"
    );
}

#[test]
fn an_answer_set_is_the_organisations_and_replaces_the_previous_one() {
    let mut s = given(true);
    let first = submit(&s, 2, &good_answers()).unwrap();
    match &first[0].event {
        Some(Event::AnswersSubmitted(a)) => {
            assert_eq!(a.organisation, "Unione Montana Valli di Lanzo");
            assert_eq!(a.submission, 1);
            assert_eq!(a.answers.len(), 4);
            assert_eq!(a.answers[0].action, "2.1.1");
            assert_eq!(a.answers[0].value, "4");
            assert_eq!(a.answers[3].value, "Più risorse per la montagna");
        }
        other => panic!("{other:?}"),
    }
    apply(&mut s, |_| Ok(first));
    let edit = SubmitAnswers {
        answers: vec![answer("attuazione", Some("2.1.2"), AnswerValue::Number(5))],
    };
    match &submit(&s, 2, &edit).unwrap()[0].event {
        Some(Event::AnswersSubmitted(a)) => assert_eq!((a.submission, a.answers.len()), (2, 1)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        submit(&s, 9, &edit),
        Err(ApiError::NotFound { .. })
    ));
}

#[test]
fn answers_must_fit_their_questions() {
    let s = given(true);
    let with = |a: AnswerInput| SubmitAnswers {
        answers: vec![
            answer("attuazione", Some("2.1.1"), AnswerValue::Number(3)),
            a,
        ],
    };
    let cases = [
        (
            answer("attuazione", Some("2.1.2"), AnswerValue::Number(6)),
            "answers[1].value",
        ),
        (
            answer("attuazione", Some("2.1.2"), AnswerValue::Number(0)),
            "answers[1].value",
        ),
        (
            answer("attuazione", Some("2.1.2"), AnswerValue::Text("4".into())),
            "answers[1].value",
        ),
        (
            answer("attuazione", Some("2.1.4"), AnswerValue::Number(3)),
            "answers[1].action",
        ),
        (
            answer("attuazione", None, AnswerValue::Number(3)),
            "answers[1].action",
        ),
        (
            answer("attuazione", Some("2.1.1"), AnswerValue::Number(3)),
            "answers[1].question",
        ),
        (
            answer("riorientare", None, AnswerValue::Text("forse".into())),
            "answers[1].value",
        ),
        (
            answer("riorientare", Some("2.1.1"), AnswerValue::Text("sì".into())),
            "answers[1].action",
        ),
        (
            answer("suggerimenti", None, AnswerValue::Text("   ".into())),
            "answers[1].value",
        ),
        (
            answer("suggerimenti", None, AnswerValue::Text("x".repeat(2001))),
            "answers[1].value",
        ),
        (
            answer("suggerimenti", None, AnswerValue::Number(1)),
            "answers[1].value",
        ),
        (
            answer("chi", None, AnswerValue::Text("?".into())),
            "answers[1].question",
        ),
    ];
    for (a, field) in cases {
        assert_eq!(field_of(submit(&s, 1, &with(a.clone()))), field, "{a:?}");
    }
    let missing = SubmitAnswers {
        answers: vec![answer("riorientare", None, AnswerValue::Text("sì".into()))],
    };
    assert_eq!(field_of(submit(&s, 1, &missing)), "answers");
}

#[test]
fn answers_are_refused_before_opening_and_after_closing() {
    let (p, i) = (plan(), id());
    let drafted = given(false);
    assert!(matches!(
        submit(&drafted, 1, &good_answers()),
        Err(ApiError::Rejected { .. })
    ));
    let mut s = given(true);
    apply(&mut s, |s| decide_close(s, at(&p, &i)));
    assert!(matches!(
        submit(&s, 1, &good_answers()),
        Err(ApiError::Rejected { .. })
    ));
    assert!(matches!(
        decide_invite(&s, at(&p, &i), "Fondazione Santagata", &link(5)),
        Err(ApiError::Rejected { .. })
    ));
}

#[test]
fn a_lost_link_is_replaced_and_the_old_one_answers_nothing() {
    let (p, i) = (plan(), id());
    let mut s = given(true);
    apply(&mut s, |s| submit(s, 1, &good_answers()));
    let replaced = decide_replace_link(&s, at(&p, &i), " ires  piemonte", &link(7)).unwrap();
    match &replaced[0].event {
        Some(Event::InvitationLinkReplaced(r)) => {
            assert_eq!(r.organisation, "Ires Piemonte");
            assert_eq!(r.link_sha256, "07".repeat(32));
        }
        other => panic!("{other:?}"),
    }
    apply(&mut s, |_| Ok(replaced));
    assert!(matches!(
        submit(&s, 1, &good_answers()),
        Err(ApiError::NotFound { .. })
    ));
    match &submit(&s, 7, &good_answers()).unwrap()[0].event {
        Some(Event::AnswersSubmitted(a)) => {
            assert_eq!(
                (a.organisation.as_str(), a.submission),
                ("Ires Piemonte", 2)
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decide_replace_link(&s, at(&p, &i), "Fondazione Santagata", &link(8)),
        Err(ApiError::NotFound { .. })
    ));
    assert!(matches!(
        decide_replace_link(&s, at(&p, &i), "Ires Piemonte", &link(2)),
        Err(ApiError::Rejected { .. })
    ));
    apply(&mut s, |s| decide_close(s, at(&p, &i)));
    assert!(matches!(
        decide_replace_link(&s, at(&p, &i), "Ires Piemonte", &link(9)),
        Err(ApiError::Rejected { .. })
    ));
}
