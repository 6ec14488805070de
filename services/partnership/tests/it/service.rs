//! Through [`PartnershipService`] on a real SQLite store: the plan and its actions are
//! seeded by appending the plan service's events directly.

use std::sync::Arc;

use metroplan_api::partnership::{
    AddParty, AddTableMember, AmendAgreement, CreateTable, DecisionInput, DraftAgreement,
    LinkAction, MakeCommitment, PartnershipCommand, RecordMeeting, SignAgreement,
    TerminateAgreement,
};
use metroplan_api::{ApiError, Caller, CommandContext, CommandOutcome, Role};
use metroplan_events::{EventMetadata, EventPayload, NewEvent, pb, streams};
use metroplan_eventstore::aggregate::load;
use metroplan_eventstore::sqlite::SqliteStore;
use metroplan_eventstore::{EventStore, ExpectedVersion};
use metroplan_partnership::{Agreement, PartnershipService, Table};

const PLAN: &str = "PSM-2021-2023";
const CMTO: &str = "Città metropolitana di Torino";

struct World {
    _dir: tempfile::TempDir,
    store: Arc<dyn EventStore>,
    service: PartnershipService,
}

impl World {
    async fn run(&self, cmd: PartnershipCommand) -> Result<CommandOutcome, ApiError> {
        self.service.handle(&ctx(Role::Editor), cmd).await
    }
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store: Arc<dyn EventStore> =
        Arc::new(SqliteStore::open_in(dir.path()).expect("store opens"));
    append(
        &store,
        &streams::plan(PLAN),
        pb::PlanEvent {
            event: Some(pb::plan_event::Event::PlanCreated(pb::PlanCreated {
                code: PLAN.into(),
                title: "Torino Metropoli aumentata".into(),
                short_title: "tM+".into(),
                owner: CMTO.into(),
                period_from: "2021-01-01".into(),
                period_to: "2023-12-31".into(),
            })),
        },
    )
    .await;
    for code in ["2.1.1", "2.1.3", "3.1.1"] {
        append(
            &store,
            &streams::action(PLAN, code),
            pb::ActionEvent {
                event: Some(pb::action_event::Event::ActionAdded(pb::ActionAdded {
                    plan: PLAN.into(),
                    code: code.into(),
                    strategy: code[..3].into(),
                    ..Default::default()
                })),
            },
        )
        .await;
    }
    let service = PartnershipService::new(Arc::clone(&store));
    World {
        _dir: dir,
        store,
        service,
    }
}

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

fn ctx(role: Role) -> CommandContext {
    CommandContext {
        caller: Caller {
            actor: "l.verdi".into(),
            organisation: CMTO.into(),
            role,
        },
        reason: None,
        correlation_id: uuid::Uuid::now_v7(),
    }
}

fn create_table(plan: &str) -> PartnershipCommand {
    PartnershipCommand::CreateTable {
        plan: plan.into(),
        body: CreateTable {
            name: "Tavolo permanente sulla montagna".into(),
            kind: "permanent_mountain".into(),
            purpose: String::new(),
        },
    }
}

fn draft(plan: &str) -> PartnershipCommand {
    PartnershipCommand::DraftAgreement {
        plan: plan.into(),
        body: DraftAgreement {
            kind: "intesa".into(),
            title: "Intesa per la mobilità come servizio".into(),
            subject: "Centro di competenza MAAS".into(),
            expires_on: Some("2030-12-31".into()),
            drafted_on: Some("2022-01-10".into()),
        },
    }
}

#[tokio::test]
async fn a_table_is_created_joined_and_meets_on_live_actions() {
    let w = world().await;
    let created = w.run(create_table(PLAN)).await.unwrap();
    let table_id = created.id.clone().expect("the new table's id");
    assert_eq!(created.stream, format!("table:{table_id}"));
    assert_eq!(
        (created.version, created.events.as_slice()),
        (1, ["TableCreated".to_owned()].as_slice())
    );

    let join = |organisation: &str| PartnershipCommand::AddTableMember {
        table_id: table_id.clone(),
        body: AddTableMember {
            organisation: organisation.into(),
            person: None,
            role: "member_by_right".into(),
        },
    };
    w.run(join("UNCEM Piemonte")).await.unwrap();
    let twice = w.run(join("UNCEM Piemonte")).await;
    assert!(matches!(twice, Err(ApiError::Rejected { .. })), "{twice:?}");

    let meeting = |actions: &[&str]| PartnershipCommand::RecordMeeting {
        table_id: table_id.clone(),
        body: RecordMeeting {
            held_on: "2022-05-12".into(),
            title: "Agenda delle priorità".into(),
            decisions: vec![DecisionInput {
                text: "Sostenere la rete delle infrastrutture verdi".into(),
                actions: actions.iter().map(|a| (*a).to_owned()).collect(),
            }],
        },
    };
    let missing = w.run(meeting(&["2.1.2"])).await;
    assert!(
        matches!(missing, Err(ApiError::Validation { ref field, .. }) if field == "decisions[0].actions[0]"),
        "{missing:?}"
    );
    let held = w.run(meeting(&["2.1.1", "2.1.3"])).await.unwrap();
    let meeting_id = held.id.clone().expect("the meeting's id");
    assert_eq!(held.version, 3);

    let table = load::<Table>(w.store.as_ref(), &created.stream)
        .await
        .unwrap()
        .state;
    assert_eq!(table.plan, PLAN);
    assert_eq!(table.members.len(), 1);
    assert_eq!(table.meetings[0].meeting_id, meeting_id);
    assert_eq!(
        table.meetings[0].decisions[0].decision_id,
        format!("{meeting_id}/1")
    );
}

#[tokio::test]
async fn an_agreement_lives_from_draft_to_termination() {
    let w = world().await;
    let drafted = w.run(draft(PLAN)).await.unwrap();
    let id = drafted.id.clone().expect("the new agreement's id");
    assert_eq!(drafted.stream, streams::agreement(&id));

    let on = |cmd: fn(String) -> PartnershipCommand| cmd(id.clone());
    for organisation in [CMTO, "Comune di Pinerolo"] {
        w.run(PartnershipCommand::AddParty {
            agreement_id: id.clone(),
            body: AddParty {
                organisation: organisation.into(),
                role: "party".into(),
            },
        })
        .await
        .unwrap();
    }
    w.run(PartnershipCommand::LinkAction {
        agreement_id: id.clone(),
        body: LinkAction {
            action: "3.1.1".into(),
        },
    })
    .await
    .unwrap();
    let unknown = w
        .run(PartnershipCommand::LinkAction {
            agreement_id: id.clone(),
            body: LinkAction {
                action: "3.1.9".into(),
            },
        })
        .await;
    assert!(
        matches!(unknown, Err(ApiError::Validation { ref field, .. }) if field == "action"),
        "{unknown:?}"
    );

    let committed = w
        .run(PartnershipCommand::MakeCommitment {
            agreement_id: id.clone(),
            body: MakeCommitment {
                party: CMTO.into(),
                description: "Personale del centro di competenza".into(),
                amount_cents: 25_000_000,
                funding_source: "OWN".into(),
                funding_detail: None,
            },
        })
        .await
        .unwrap();
    let commitment_id = committed.id.clone().expect("the commitment's id");

    let early_amend = on(|id| PartnershipCommand::AmendAgreement {
        agreement_id: id,
        body: AmendAgreement {
            description: "Proroga".into(),
            amended_on: "2022-09-01".into(),
            new_expires_on: None,
        },
    });
    assert!(matches!(
        w.run(early_amend).await,
        Err(ApiError::Rejected { .. })
    ));

    w.run(on(|id| PartnershipCommand::SignAgreement {
        agreement_id: id,
        body: SignAgreement {
            signed_on: "2022-03-15".into(),
            signatories: None,
        },
    }))
    .await
    .unwrap();
    let amended = w
        .run(on(|id| PartnershipCommand::AmendAgreement {
            agreement_id: id,
            body: AmendAgreement {
                description: "Estensione ai comuni della zona omogenea".into(),
                amended_on: "2023-02-01".into(),
                new_expires_on: Some("2031-12-31".into()),
            },
        }))
        .await
        .unwrap();
    assert_eq!(amended.id.as_deref(), Some("1"), "the amendment's number");
    let terminated = w
        .run(on(|id| PartnershipCommand::TerminateAgreement {
            agreement_id: id,
            body: TerminateAgreement {
                terminated_on: "2023-12-31".into(),
                reason: "Fine del piano".into(),
            },
        }))
        .await
        .unwrap();
    assert_eq!(terminated.events, vec!["AgreementTerminated".to_owned()]);
    let head = w.store.head_position().await.unwrap();
    assert_eq!(terminated.position, head);

    let after = w
        .run(PartnershipCommand::AddParty {
            agreement_id: id.clone(),
            body: AddParty {
                organisation: "Regione Piemonte".into(),
                role: "funder".into(),
            },
        })
        .await;
    assert!(matches!(after, Err(ApiError::Rejected { .. })), "{after:?}");
    assert_eq!(
        w.store.head_position().await.unwrap(),
        head,
        "a refused command writes nothing"
    );

    let agreement = load::<Agreement>(w.store.as_ref(), &drafted.stream)
        .await
        .unwrap()
        .state;
    assert_eq!(agreement.parties.len(), 2);
    assert!(agreement.actions.contains("3.1.1"));
    assert_eq!(
        agreement.commitments[&commitment_id].amount_cents,
        25_000_000
    );
    assert_eq!(
        agreement.signed.as_ref().map(|s| s.signatories.len()),
        Some(2)
    );
    assert_eq!(agreement.expires_on, Some("2031-12-31".parse().unwrap()));
    assert_eq!(agreement.terminated_on, Some("2023-12-31".parse().unwrap()));
}

#[tokio::test]
async fn an_unknown_plan_table_or_agreement_is_not_found() {
    let w = world().await;
    assert!(matches!(
        w.run(create_table("PSM-2024-2026")).await,
        Err(ApiError::NotFound { .. })
    ));
    assert!(matches!(
        w.run(draft("PSM-2024-2026")).await,
        Err(ApiError::NotFound { .. })
    ));
    let nobody = uuid::Uuid::now_v7().to_string();
    let join = PartnershipCommand::AddTableMember {
        table_id: nobody.clone(),
        body: AddTableMember {
            organisation: "Ires Piemonte".into(),
            person: None,
            role: "technical_partner".into(),
        },
    };
    assert!(matches!(w.run(join).await, Err(ApiError::NotFound { .. })));
    let sign = PartnershipCommand::SignAgreement {
        agreement_id: nobody,
        body: SignAgreement {
            signed_on: "2022-01-01".into(),
            signatories: None,
        },
    };
    assert!(matches!(w.run(sign).await, Err(ApiError::NotFound { .. })));
    assert_eq!(
        w.store.list_streams("agreement:").await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        w.store.list_streams("table:").await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_malformed_id_is_named_and_a_reporter_may_not_edit() {
    let w = world().await;
    let bad = PartnershipCommand::LinkAction {
        agreement_id: "42".into(),
        body: LinkAction {
            action: "3.1.1".into(),
        },
    };
    let result = w.run(bad).await;
    assert!(
        matches!(result, Err(ApiError::Validation { ref field, .. }) if field == "agreement_id"),
        "{result:?}"
    );
    let result = w
        .service
        .handle(&ctx(Role::Reporter), create_table(PLAN))
        .await;
    assert!(
        matches!(result, Err(ApiError::Forbidden { .. })),
        "{result:?}"
    );
}

#[test]
fn commands_travel_as_tagged_json_and_bodies_refuse_unknown_fields() {
    let json = serde_json::json!({
        "command": "make_commitment",
        "agreement_id": "0190f5d2-7a7e-7000-8000-0000000000a1",
        "body": {"party": CMTO, "description": "x", "amount_cents": 100, "funding_source": "PNRR"}
    });
    let cmd: PartnershipCommand = serde_json::from_value(json.clone()).unwrap();
    assert!(matches!(cmd, PartnershipCommand::MakeCommitment { .. }));
    assert_eq!(serde_json::to_value(&cmd).unwrap(), json);

    let extra = serde_json::json!({"party": CMTO, "description": "x", "amount_cents": 1, "funding_source": "PNRR", "amount": 1});
    assert!(serde_json::from_value::<MakeCommitment>(extra).is_err());
}
