//! Campaign commands through [`MonitoringService`] on a real SQLite store: what the
//! service reads from the plan's streams before deciding (the plan, its strategies,
//! the standing of the actions the questions name), and what it appends. The
//! campaign is an example.
//!
//! [`MonitoringService`]: metroplan_monitoring::MonitoringService

use std::sync::Arc;

use metroplan_api::monitoring::MonitoringCommand;
use metroplan_api::questionnaire::{
    AnswerInput, AnswerValue, DraftCampaign, LinkHash, QuestionInput, SetQuestions, SubmitAnswers,
};
use metroplan_api::{ApiError, Caller, CommandContext, Role};
use metroplan_events::{EventMetadata, EventPayload, NewEvent, pb, streams};
use metroplan_eventstore::sqlite::SqliteStore;
use metroplan_eventstore::{EventStore, ExpectedVersion};
use metroplan_monitoring::MonitoringService;

const PLAN: &str = "PSM-2021-2023";
const ID: &str = "monitoraggio-2022-esempio";

async fn append<E: EventPayload>(store: &Arc<dyn EventStore>, stream: &str, event: E) {
    let metadata = EventMetadata {
        actor: "seed".into(),
        on_behalf_of: "test".into(),
        ..Default::default()
    };
    store
        .append(
            stream,
            ExpectedVersion::Any,
            vec![NewEvent::new(&event, metadata)],
        )
        .await
        .expect("seed appends");
}

/// The plan with strategy 2.1, action 2.1.1 live and 2.1.2 retired.
async fn store(dir: &tempfile::TempDir) -> Arc<dyn EventStore> {
    use pb::action_event::Event as A;
    use pb::plan_event::Event as P;
    let store: Arc<dyn EventStore> =
        Arc::new(SqliteStore::open_in(dir.path()).expect("store opens"));
    let plan = streams::plan(PLAN);
    for e in [
        P::PlanCreated(pb::PlanCreated {
            code: PLAN.into(),
            title: "Torino Metropoli aumentata".into(),
            short_title: "tM+".into(),
            owner: "Città metropolitana di Torino".into(),
            period_from: "2021-01-01".into(),
            period_to: "2023-12-31".into(),
        }),
        P::StrategyAdded(pb::StrategyAdded {
            plan: PLAN.into(),
            code: "2.1".into(),
            axis: "2".into(),
            name: "Costruire e infrastrutturare la metropoli verde".into(),
            ..Default::default()
        }),
    ] {
        append(&store, &plan, pb::PlanEvent { event: Some(e) }).await;
    }
    for (code, title) in [
        ("2.1.1", "Rete metropolitana delle infrastrutture verdi"),
        ("2.1.2", "Torino Metropoli Parco"),
    ] {
        let added = A::ActionAdded(pb::ActionAdded {
            plan: PLAN.into(),
            code: code.into(),
            strategy: "2.1".into(),
            title: title.into(),
            competence: "direct".into(),
            ..Default::default()
        });
        let stream = streams::action(PLAN, code);
        append(&store, &stream, pb::ActionEvent { event: Some(added) }).await;
    }
    let retired = A::ActionRetired(pb::ActionRetired {
        plan: PLAN.into(),
        code: "2.1.2".into(),
        ..Default::default()
    });
    append(
        &store,
        &streams::action(PLAN, "2.1.2"),
        pb::ActionEvent {
            event: Some(retired),
        },
    )
    .await;
    store
}

fn editor() -> CommandContext {
    CommandContext {
        caller: Caller {
            actor: "m.rossi".into(),
            organisation: "Città metropolitana di Torino".into(),
            role: Role::Editor,
        },
        reason: None,
        correlation_id: uuid::Uuid::now_v7(),
    }
}

fn questions(actions: &[&str]) -> MonitoringCommand {
    MonitoringCommand::SetQuestions {
        plan: PLAN.into(),
        campaign: ID.into(),
        body: SetQuestions {
            questions: vec![QuestionInput {
                id: "attuazione".into(),
                kind: "scale".into(),
                text: "Quanto è avanzata l'azione nel vostro territorio?".into(),
                about: "actions".into(),
                subjects: actions.iter().map(|a| (*a).to_owned()).collect(),
                scale_min: Some(1),
                scale_max: Some(5),
                min_label: String::new(),
                max_label: String::new(),
                choices: Vec::new(),
                required: true,
            }],
        },
    }
}

#[tokio::test]
async fn a_campaign_is_decided_on_the_plans_streams_and_answered_by_its_link() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = store(&dir).await;
    let service = MonitoringService::new(Arc::clone(&store));
    let draft = |plan: &str| MonitoringCommand::DraftCampaign {
        plan: plan.into(),
        body: DraftCampaign {
            id: ID.into(),
            title: "Questionario di monitoraggio 2022 — esempio".into(),
            description: String::new(),
            opens: "2022-03-01".into(),
            closes: "2022-04-30".into(),
        },
    };
    assert!(matches!(
        service.handle(&editor(), draft("PSM-2024-2026")).await,
        Err(ApiError::NotFound { .. })
    ));
    let drafted = service.handle(&editor(), draft(PLAN)).await.unwrap();
    assert_eq!(drafted.id.as_deref(), Some(ID));
    assert_eq!(drafted.stream, streams::campaign(PLAN, ID));

    // A retired action, or one the plan never had, is no subject.
    for (actions, field) in [
        (&["2.1.1", "2.1.2"][..], "questions[0].subjects[1]"),
        (&["2.1.9"][..], "questions[0].subjects[0]"),
    ] {
        match service.handle(&editor(), questions(actions)).await {
            Err(ApiError::Validation { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{actions:?}: {other:?}"),
        }
    }
    service
        .handle(&editor(), questions(&["2.1.1"]))
        .await
        .unwrap();
    let link = LinkHash::try_from("5e".repeat(32)).unwrap();
    service
        .handle(
            &editor(),
            MonitoringCommand::InviteOrganisation {
                plan: PLAN.into(),
                campaign: ID.into(),
                organisation: "UNCEM Piemonte".into(),
                link: link.clone(),
            },
        )
        .await
        .unwrap();
    let open = MonitoringCommand::OpenCampaign {
        plan: PLAN.into(),
        campaign: ID.into(),
    };
    service.handle(&editor(), open).await.unwrap();

    let submit = |link: LinkHash| MonitoringCommand::SubmitAnswers {
        plan: PLAN.into(),
        campaign: ID.into(),
        link,
        body: SubmitAnswers {
            answers: vec![AnswerInput {
                question: "attuazione".into(),
                action: Some("2.1.1".into()),
                value: AnswerValue::Number(4),
            }],
        },
    };
    let stranger = LinkHash::try_from("5f".repeat(32)).unwrap();
    assert!(matches!(
        service.handle(&editor(), submit(stranger)).await,
        Err(ApiError::NotFound { .. })
    ));
    let answered = service.handle(&editor(), submit(link)).await.unwrap();
    assert_eq!(answered.events, ["AnswersSubmitted"]);
    let log = store
        .read_stream(&streams::campaign(PLAN, ID), 0, 100)
        .await
        .unwrap();
    let types: Vec<&str> = log.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "CampaignDrafted",
            "QuestionsSet",
            "OrganisationInvited",
            "CampaignOpened",
            "AnswersSubmitted"
        ]
    );
    let last = pb::CampaignEvent::decode_recorded(log.last().unwrap()).unwrap();
    match last.event {
        Some(pb::campaign_event::Event::AnswersSubmitted(a)) => {
            assert_eq!(a.organisation, "UNCEM Piemonte");
            assert_eq!(a.answers[0].value, "4");
        }
        other => panic!("{other:?}"),
    }
}
