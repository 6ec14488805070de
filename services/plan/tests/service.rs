//! The plan service through its public API, on the real embedded event store (SQLite in
//! a temporary directory): commands, answers, the co-editing merge, revisions, import.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use metroplan_api::plan::{
    AddAction, AddAxis, AddStrategy, AdoptRevision, CreatePlan, EditAction, MoveAction,
    PlanCommand, PlanImport, RetireAction, RetireStrategy,
};
use metroplan_api::{ApiError, Caller, CommandContext, Role};
use metroplan_events::pb::{self, plan_event};
use metroplan_events::{EventPayload, streams};
use metroplan_eventstore::EventStore;
use metroplan_eventstore::sqlite::SqliteStore;
use metroplan_plan::PlanService;
use serde_json::json;

const P: &str = "PSM-2021-2023";

struct Harness {
    service: PlanService,
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Arc::new(SqliteStore::open_in(dir.path()).expect("the store opens"));
    Harness {
        service: PlanService::new(store.clone()),
        store,
        _dir: dir,
    }
}

fn ctx(actor: &str) -> CommandContext {
    CommandContext {
        caller: Caller {
            actor: actor.into(),
            organisation: "Città metropolitana di Torino".into(),
            role: Role::Editor,
        },
        reason: Some("tavolo di coordinamento".into()),
        correlation_id: uuid::Uuid::now_v7(),
    }
}

fn torino_import() -> PlanImport {
    serde_json::from_str(include_str!("../../../data/psm-torino-2021-2023.json"))
        .expect("the plan file parses")
}

fn edit(action: &str, base_version: Option<u64>, body: EditAction) -> PlanCommand {
    PlanCommand::EditAction {
        plan: P.into(),
        action: action.into(),
        base_version,
        body,
    }
}

#[tokio::test]
async fn the_torino_plan_imports_once_and_a_second_run_records_nothing() {
    let h = harness();
    let calls = AtomicU64::new(0);
    let last = AtomicU64::new(0);
    let progress = |done: u64, total: u64| {
        calls.fetch_add(1, Ordering::Relaxed);
        last.store(done * 1000 + total, Ordering::Relaxed);
    };
    let first = h
        .service
        .import(&ctx("importer"), torino_import(), Some(&progress))
        .await
        .unwrap();
    assert!(first.plan_created);
    assert_eq!(
        (
            first.axes_added,
            first.strategies_added,
            first.actions_added
        ),
        (6, 10, 10)
    );
    assert_eq!(first.already_present, 0);
    assert_eq!(first.position, h.store.head_position().await.unwrap());
    // 1 plan + 6 axes + 10 strategies + 10 actions, all done.
    assert_eq!(last.load(Ordering::Relaxed), 27 * 1000 + 27);
    assert!(calls.load(Ordering::Relaxed) >= 2);
    // One batch on the plan stream: the header, 6 axes, 10 strategies.
    assert_eq!(
        h.store.stream_version(&streams::plan(P)).await.unwrap(),
        Some(17)
    );
    assert_eq!(
        h.store
            .list_streams(&streams::action_prefix(P))
            .await
            .unwrap()
            .len(),
        10
    );

    let head = h.store.head_position().await.unwrap();
    let second = h
        .service
        .import(&ctx("importer"), torino_import(), None)
        .await
        .unwrap();
    assert!(!second.plan_created);
    assert_eq!(
        (
            second.axes_added,
            second.strategies_added,
            second.actions_added
        ),
        (0, 0, 0)
    );
    assert_eq!(second.already_present, 26);
    assert_eq!(h.store.head_position().await.unwrap(), head);
}

#[tokio::test]
async fn a_bad_import_changes_nothing_and_names_the_document_field() {
    let h = harness();
    let mut import = torino_import();
    import.actions[3].planned_end = Some("2030-01-01".into());
    let err = h
        .service
        .import(&ctx("importer"), import, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Validation { field, .. } if field == "actions[3].planned_end"),
        "{err:?}"
    );
    assert_eq!(h.store.head_position().await.unwrap(), 0);
}

#[tokio::test]
async fn commands_answer_with_stream_version_and_position() {
    let h = harness();
    let c = ctx("anna");
    let created = h
        .service
        .handle(
            &c,
            PlanCommand::CreatePlan {
                body: CreatePlan {
                    code: P.into(),
                    title: "Torino Metropoli aumentata".into(),
                    short_title: Some("tM+".into()),
                    owner: "Città metropolitana di Torino".into(),
                    period_from: "2021-01-01".into(),
                    period_to: "2023-12-31".into(),
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            created.stream.as_str(),
            created.version,
            created.position,
            created.events.as_slice()
        ),
        (
            "plan:PSM-2021-2023",
            1,
            1,
            ["PlanCreated".to_owned()].as_slice()
        )
    );
    let axis = h
        .service
        .handle(
            &c,
            PlanCommand::AddAxis {
                plan: P.into(),
                body: AddAxis {
                    code: "2".into(),
                    name: "Rivoluzione verde e transizione ecologica".into(),
                    slogan: None,
                    description: None,
                    pnrr_mission: Some("M2".into()),
                    position: None,
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (axis.version, axis.position, axis.id.as_deref()),
        (2, 2, Some("2"))
    );
    h.service
        .handle(
            &c,
            PlanCommand::AddStrategy {
                plan: P.into(),
                body: AddStrategy {
                    code: "2.1".into(),
                    axis: None,
                    name: "Costruire e infrastrutturare la metropoli verde".into(),
                    description: None,
                    position: None,
                },
            },
        )
        .await
        .unwrap();
    let added = h
        .service
        .handle(
            &c,
            PlanCommand::AddAction {
                plan: P.into(),
                body: AddAction {
                    code: "2.1.3".into(),
                    strategy: None,
                    title: "Gran Bosco Torino".into(),
                    description: None,
                    competence: "direct".into(),
                    responsible_organisations: None,
                    partner_organisations: None,
                    territorial_scope: None,
                    planned_start: None,
                    planned_end: None,
                    funding_lines: None,
                    instrument_links: None,
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (added.stream.as_str(), added.version, added.position),
        ("action:PSM-2021-2023/2.1.3", 1, 4)
    );
    let stored = h.store.read_stream(&added.stream, 1, 10).await.unwrap();
    assert_eq!(stored[0].event_type, "ActionAdded");
    assert_eq!(stored[0].metadata.actor, "anna");
    let decoded = pb::ActionEvent::decode_recorded(&stored[0]).unwrap();
    assert_eq!(decoded.event_type(), "ActionAdded");

    let unknown = h
        .service
        .handle(
            &c,
            edit(
                "9.9.9",
                None,
                EditAction {
                    title: Some("x".into()),
                    ..EditAction::default()
                },
            ),
        )
        .await;
    assert!(
        matches!(unknown, Err(ApiError::NotFound { .. })),
        "{unknown:?}"
    );
    let bad = h
        .service
        .handle(
            &c,
            edit(
                "2.1.3",
                None,
                EditAction {
                    competence: Some("both".into()),
                    ..EditAction::default()
                },
            ),
        )
        .await;
    assert!(
        matches!(bad, Err(ApiError::Validation { ref field, .. }) if field == "competence"),
        "{bad:?}"
    );
    // An edit that changes nothing records nothing and answers the current version.
    let same = h
        .service
        .handle(
            &c,
            edit(
                "2.1.3",
                Some(1),
                EditAction {
                    title: Some("Gran Bosco Torino".into()),
                    ..EditAction::default()
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!((same.version, same.position, same.events.len()), (1, 4, 0));
}

#[tokio::test]
async fn co_editors_merge_disjoint_edits_and_see_overlapping_ones() {
    let h = harness();
    h.service
        .import(&ctx("importer"), torino_import(), None)
        .await
        .unwrap();
    let anna = ctx("anna");
    let marco = ctx("marco");
    // Both opened action 2.1.3 at version 1.
    let first = h
        .service
        .handle(
            &anna,
            edit(
                "2.1.3",
                Some(1),
                EditAction {
                    competence: Some("direct".into()),
                    ..EditAction::default()
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!((first.version, first.merged), (2, false));
    let second = h
        .service
        .handle(
            &marco,
            edit(
                "2.1.3",
                Some(1),
                EditAction {
                    territorial_scope: Some("Zone omogenee montane".into()),
                    ..EditAction::default()
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!((second.version, second.merged), (3, true));
    assert_eq!(second.events, ["ActionEdited"]);

    let conflict = h
        .service
        .handle(
            &marco,
            edit(
                "2.1.3",
                Some(1),
                EditAction {
                    competence: Some("steering".into()),
                    ..EditAction::default()
                },
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(
        conflict,
        ApiError::EditConflict {
            fields: vec!["competence".into()],
            base_version: 1,
            current_version: 3,
            base: json!({ "competence": "" }),
            theirs: json!({ "competence": "direct" }),
            yours: json!({ "competence": "steering" }),
        }
    );
    let ahead = h
        .service
        .handle(
            &marco,
            edit(
                "2.1.3",
                Some(7),
                EditAction {
                    title: Some("x".into()),
                    ..EditAction::default()
                },
            ),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(ahead, ApiError::PreconditionFailed { .. }),
        "{ahead:?}"
    );
    assert_eq!(
        h.store
            .stream_version("action:PSM-2021-2023/2.1.3")
            .await
            .unwrap(),
        Some(3)
    );
}

#[tokio::test]
async fn a_revision_freezes_the_plan_as_of_the_head_position() {
    let h = harness();
    let c = ctx("segreteria");
    h.service.import(&c, torino_import(), None).await.unwrap();
    h.service
        .handle(
            &c,
            PlanCommand::RetireAction {
                plan: P.into(),
                action: "6.1.3".into(),
                body: RetireAction::default(),
            },
        )
        .await
        .unwrap();
    h.service
        .handle(
            &c,
            PlanCommand::MoveAction {
                plan: P.into(),
                action: "3.1.1".into(),
                body: MoveAction {
                    to_strategy: "2.1".into(),
                    position: None,
                },
            },
        )
        .await
        .unwrap();
    let strategy_in_use = h
        .service
        .handle(
            &c,
            PlanCommand::RetireStrategy {
                plan: P.into(),
                strategy: "2.1".into(),
                body: RetireStrategy::default(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(strategy_in_use, ApiError::Rejected { .. }),
        "{strategy_in_use:?}"
    );

    let head = h.store.head_position().await.unwrap();
    let adopted = h
        .service
        .handle(
            &c,
            PlanCommand::AdoptRevision {
                plan: P.into(),
                body: AdoptRevision {
                    name: "Aggiornamento 2022".into(),
                    act: "Deliberazione del Consiglio metropolitano n.71/2022".into(),
                    adopted_on: "2022-12-22".into(),
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (adopted.events.as_slice(), adopted.id.as_deref()),
        (["RevisionAdopted".to_owned()].as_slice(), Some("1"))
    );
    assert_eq!(adopted.position, head + 1);

    let stored = h
        .store
        .read_stream(&streams::plan(P), adopted.version, 1)
        .await
        .unwrap();
    let event = pb::PlanEvent::decode_recorded(&stored[0]).unwrap();
    let Some(plan_event::Event::RevisionAdopted(r)) = event.event else {
        panic!("{event:?}")
    };
    assert_eq!((r.number, r.at_position), (1, head));
    let snap = r.snapshot.unwrap();
    assert_eq!(snap.axes.len(), 6);
    let actions: Vec<(String, String)> = snap
        .axes
        .iter()
        .flat_map(|a| a.strategies.iter())
        .flat_map(|s| {
            s.actions
                .iter()
                .map(move |x| (s.code.clone(), x.code.clone()))
        })
        .collect();
    assert_eq!(
        actions.len(),
        9,
        "the retired action is left out: {actions:?}"
    );
    assert!(
        actions.contains(&("2.1".to_owned(), "3.1.1".to_owned())),
        "moved, same code: {actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .rfind(|(s, _)| s == "2.1")
            .map(|(_, a)| a.as_str()),
        Some("3.1.1")
    );
}

#[test]
fn the_binary_needs_to_know_where_nats_is() {
    let bin = env!("CARGO_BIN_EXE_metroplan-plan");
    let run = std::process::Command::new(bin)
        .env_remove("METROPLAN_NATS_URL")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("--nats"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_plan_commands_over_nats_into_jetstream() {
    use metroplan_bus::CommandBus;

    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let server = metroplan_nats_testkit::NatsServer::start().await.unwrap();
    let _service = Kill(
        std::process::Command::new(env!("CARGO_BIN_EXE_metroplan-plan"))
            .env("METROPLAN_NATS_URL", server.client_url())
            .env("RUST_LOG", "warn")
            .spawn()
            .unwrap(),
    );
    let client = async_nats::connect(server.client_url()).await.unwrap();
    let bus = metroplan_bus::nats::NatsBus::new(client.clone());
    let command = || {
        metroplan_bus::Command::Plan(PlanCommand::CreatePlan {
            body: serde_json::from_value(serde_json::json!({
                "code": "PSM-2021-2023", "title": "Torino Metropoli aumentata",
                "owner": "Città metropolitana di Torino", "period_from": "2021-01-01", "period_to": "2023-12-31"
            }))
            .unwrap(),
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let outcome = loop {
        match bus.dispatch(ctx("anna"), command()).await {
            Err(ApiError::Unavailable { .. }) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => break other.unwrap(),
        }
    };
    assert_eq!(outcome.events, vec!["PlanCreated"]);
    let store = metroplan_eventstore_nats::JetStreamStore::with_client(client, 1)
        .await
        .unwrap();
    let stored = store
        .read_stream("plan:PSM-2021-2023", 1, 10)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].event_type, "PlanCreated");
    assert_eq!(stored[0].position, outcome.position);
}

#[test]
fn commands_and_imports_run_on_any_tokio_worker() {
    fn send<T: Send>(_: &T) {}
    let h = harness();
    let c = ctx("gateway");
    let progress = |_: u64, _: u64| {};
    let cmd = edit("2.1.3", None, EditAction::default());
    send(&h.service.handle(&c, cmd));
    send(&h.service.import(&c, torino_import(), Some(&progress)));
}
