//! Through [`MonitoringService`] on a real SQLite store: the plan and its actions are
//! seeded by appending the plan service's events directly.

use std::sync::Arc;

use metroplan_api::monitoring::{MonitoringCommand, ReportProgress};
use metroplan_api::{ApiError, Caller, CommandContext, Role};
use metroplan_events::{EventMetadata, EventPayload, NewEvent, pb, streams};
use metroplan_eventstore::sqlite::SqliteStore;
use metroplan_eventstore::{EventStore, ExpectedVersion};
use metroplan_monitoring::MonitoringService;

const PLAN: &str = "PSM-2021-2023";

struct World {
    _dir: tempfile::TempDir,
    store: Arc<dyn EventStore>,
    service: MonitoringService,
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
                owner: "Città metropolitana di Torino".into(),
                period_from: "2021-01-01".into(),
                period_to: "2023-12-31".into(),
            })),
        },
    )
    .await;
    for (code, axis, name) in [
        (
            "2.1",
            "2",
            "Costruire e infrastrutturare la metropoli verde",
        ),
        (
            "3.1",
            "3",
            "Progettare la mobilità metropolitana come servizio multimodale agli utenti e ai territori",
        ),
    ] {
        append(
            &store,
            &streams::plan(PLAN),
            pb::PlanEvent {
                event: Some(pb::plan_event::Event::StrategyAdded(pb::StrategyAdded {
                    plan: PLAN.into(),
                    code: code.into(),
                    axis: axis.into(),
                    name: name.into(),
                    ..Default::default()
                })),
            },
        )
        .await;
    }
    for (code, title) in [
        ("2.1.3", "Gran Bosco Torino"),
        (
            "3.1.1",
            "Centro di competenza per la mobilità come servizio (MAAS)",
        ),
    ] {
        append(
            &store,
            &streams::action(PLAN, code),
            pb::ActionEvent {
                event: Some(pb::action_event::Event::ActionAdded(pb::ActionAdded {
                    plan: PLAN.into(),
                    code: code.into(),
                    strategy: code[..3].into(),
                    title: title.into(),
                    competence: "direct".into(),
                    ..Default::default()
                })),
            },
        )
        .await;
    }
    let service = MonitoringService::new(Arc::clone(&store));
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
            actor: "m.rossi".into(),
            organisation: "Città metropolitana di Torino".into(),
            role,
        },
        reason: Some("monitoraggio semestrale".into()),
        correlation_id: uuid::Uuid::now_v7(),
    }
}

fn report(action: &str, status: &str, progress: i64, as_of: &str) -> MonitoringCommand {
    report_in(PLAN, action, status, progress, as_of)
}

fn report_in(
    plan: &str,
    action: &str,
    status: &str,
    progress: i64,
    as_of: &str,
) -> MonitoringCommand {
    MonitoringCommand::ReportProgress {
        plan: plan.into(),
        action: action.into(),
        body: ReportProgress {
            status: status.into(),
            progress,
            note: "stato al semestre".into(),
            as_of: as_of.into(),
            evidence_url: None,
            reporting_organisation: None,
        },
    }
}

#[tokio::test]
async fn a_report_lands_on_the_progress_stream_with_who_and_why() {
    let w = world().await;
    let outcome = w
        .service
        .handle(
            &ctx(Role::Reporter),
            report("2.1.3", "in_progress", 40, "2022-06-30"),
        )
        .await
        .unwrap();

    assert_eq!(outcome.stream, "progress:PSM-2021-2023/2.1.3");
    assert_eq!(outcome.version, 1);
    assert_eq!(outcome.events, vec!["ActionProgressReported".to_owned()]);
    assert_eq!(outcome.position, w.store.head_position().await.unwrap());
    assert_eq!(outcome.id, None);

    let stored = w.store.read_stream(&outcome.stream, 1, 10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].event_type, "ActionProgressReported");
    assert_eq!(stored[0].metadata.actor, "m.rossi");
    assert_eq!(
        stored[0].metadata.reason.as_deref(),
        Some("monitoraggio semestrale")
    );
    let event = pb::ProgressEvent::decode_recorded(&stored[0]).unwrap();
    let Some(pb::progress_event::Event::ActionProgressReported(r)) = event.event else {
        panic!("unexpected event {event:?}");
    };
    assert_eq!(
        (r.status.as_str(), r.previous_status.as_str(), r.progress),
        ("in_progress", "not_started", 40)
    );
    assert_eq!(r.reporting_organisation, "Città metropolitana di Torino");
}

#[tokio::test]
async fn reports_follow_one_another_and_a_refused_one_writes_nothing() {
    let w = world().await;
    let c = ctx(Role::Editor);
    w.service
        .handle(&c, report("3.1.1", "started", 10, "2021-09-30"))
        .await
        .unwrap();
    let second = w
        .service
        .handle(&c, report("3.1.1", "completed", 100, "2023-03-31"))
        .await
        .unwrap();
    assert_eq!(second.version, 2);
    let head = w.store.head_position().await.unwrap();

    let refused = w
        .service
        .handle(&c, report("3.1.1", "in_progress", 90, "2023-06-30"))
        .await;
    assert!(
        matches!(refused, Err(ApiError::Rejected { ref field, .. }) if field.as_deref() == Some("status")),
        "{refused:?}"
    );
    assert_eq!(
        w.store.head_position().await.unwrap(),
        head,
        "a refused report changes nothing"
    );
}

#[tokio::test]
async fn an_unknown_plan_or_action_is_not_found() {
    let w = world().await;
    let c = ctx(Role::Reporter);
    let unknown_plan = report_in("PSM-2024-2026", "2.1.3", "started", 5, "2022-01-01");
    assert!(matches!(
        w.service.handle(&c, unknown_plan).await,
        Err(ApiError::NotFound { .. })
    ));
    assert!(matches!(
        w.service
            .handle(&c, report("2.1.2", "started", 5, "2022-01-01"))
            .await,
        Err(ApiError::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_retired_action_takes_no_report() {
    let w = world().await;
    append(
        &w.store,
        &streams::action(PLAN, "2.1.3"),
        pb::ActionEvent {
            event: Some(pb::action_event::Event::ActionRetired(pb::ActionRetired {
                plan: PLAN.into(),
                code: "2.1.3".into(),
                reason: "merged into 2.1.1".into(),
            })),
        },
    )
    .await;
    let result = w
        .service
        .handle(
            &ctx(Role::Reporter),
            report("2.1.3", "started", 5, "2022-01-01"),
        )
        .await;
    assert!(
        matches!(result, Err(ApiError::Rejected { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn malformed_path_ids_are_named() {
    let w = world().await;
    let result = w
        .service
        .handle(
            &ctx(Role::Reporter),
            report("2.1", "started", 5, "2022-01-01"),
        )
        .await;
    assert!(
        matches!(result, Err(ApiError::Validation { ref field, .. }) if field == "action"),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_viewer_may_not_report() {
    let w = world().await;
    let result = w
        .service
        .handle(
            &ctx(Role::Viewer),
            report("2.1.3", "started", 5, "2022-01-01"),
        )
        .await;
    assert!(
        matches!(result, Err(ApiError::Forbidden { .. })),
        "{result:?}"
    );
    assert_eq!(
        w.store
            .stream_version(&streams::progress(PLAN, "2.1.3"))
            .await
            .unwrap(),
        None
    );
}

#[test]
fn the_command_travels_as_tagged_json_and_the_body_refuses_unknown_fields() {
    let json = serde_json::json!({
        "command": "report_progress",
        "plan": PLAN,
        "action": "2.1.3",
        "body": {"status": "started", "progress": 5, "note": "", "as_of": "2022-01-01"}
    });
    let cmd: MonitoringCommand = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(serde_json::to_value(&cmd).unwrap(), json);

    let extra = serde_json::json!({"status": "started", "progress": 5, "note": "", "as_of": "2022-01-01", "percent": 5});
    assert!(serde_json::from_value::<ReportProgress>(extra).is_err());
}

/// Defines an example indicator (not official data) on `strategy`.
fn define(code: &str, strategy: &str) -> MonitoringCommand {
    MonitoringCommand::DefineIndicator {
        plan: PLAN.into(),
        body: metroplan_api::indicators::DefineIndicator {
            code: code.into(),
            strategy: strategy.into(),
            name: format!("ESEMPIO {code} (dati non ufficiali)"),
            unit: "%".into(),
            source: "Esempio".into(),
            direction: "decrease".into(),
            baseline_value: "40".into(),
            baseline_year: 2020,
            target_value: "30".into(),
            target_year: 2023,
            territory: "Città metropolitana di Torino".into(),
        },
    }
}

fn import(csv: &str, dry_run: bool) -> MonitoringCommand {
    MonitoringCommand::ImportMeasurements {
        plan: PLAN.into(),
        csv: csv.into(),
        dry_run,
    }
}

#[tokio::test]
async fn an_import_of_several_indicators_stores_nothing_until_every_row_is_valid_then_one_append_each()
 {
    let w = world().await;
    for (code, strategy) in [("ES-2.1-A", "2.1"), ("ES-3.1-A", "3.1")] {
        w.service
            .handle(&ctx(Role::Editor), define(code, strategy))
            .await
            .unwrap();
    }
    let head = w.store.head_position().await.unwrap();
    let bad = "indicator,period,territory,value\n\
               ES-2.1-A,2021,Città metropolitana di Torino,38.5\n\
               ES-3.1-A,2021,Città metropolitana di Torino,39\n\
               ES-3.1-A,2021,Città metropolitana di Torino,37\n";
    for dry_run in [true, false] {
        match w
            .service
            .handle(&ctx(Role::Reporter), import(bad, dry_run))
            .await
        {
            Err(ApiError::InvalidRows { rows }) => {
                assert_eq!(rows.len(), 1, "{rows:?}");
                assert_eq!(
                    (rows[0].line, rows[0].column.as_deref()),
                    (4, Some("period"))
                );
            }
            other => panic!("expected the duplicate row, got {other:?}"),
        }
    }
    assert_eq!(
        w.store.head_position().await.unwrap(),
        head,
        "nothing stored"
    );

    let good = "indicator,period,territory,value\n\
                ES-3.1-A,2021,Città metropolitana di Torino,39\n\
                ES-2.1-A,2021,Città metropolitana di Torino,38.5\n\
                ES-3.1-A,2022,Città metropolitana di Torino,36.25\n";
    let dry = w
        .service
        .handle(&ctx(Role::Reporter), import(good, true))
        .await
        .unwrap();
    assert_eq!(
        w.store.head_position().await.unwrap(),
        head,
        "a dry run stores nothing"
    );
    assert!(
        dry.import
            .as_ref()
            .is_some_and(|i| i.dry_run && i.rows == 3)
    );
    let done = w
        .service
        .handle(&ctx(Role::Reporter), import(good, false))
        .await
        .unwrap();
    let summary = done.import.unwrap();
    let per: Vec<(&str, u64, u64)> = summary
        .indicators
        .iter()
        .map(|i| (i.indicator.as_str(), i.rows, i.version))
        .collect();
    assert_eq!(
        per,
        vec![("ES-3.1-A", 2, 3), ("ES-2.1-A", 1, 2)],
        "in the file's order"
    );
    assert_eq!(done.position, head + 3);
    assert_eq!(done.events.len(), 3);
    let stream = w
        .store
        .read_stream(&streams::indicator(PLAN, "ES-3.1-A"), 1, 10)
        .await
        .unwrap();
    let appended: Vec<u64> = stream.iter().skip(1).map(|e| e.position).collect();
    assert_eq!(
        appended,
        vec![head + 1, head + 2],
        "one append: adjacent positions"
    );
    assert_eq!(stream[1].metadata.actor, "m.rossi");
}

#[tokio::test]
async fn an_indicator_is_edited_on_its_stream_version_and_a_retired_one_refuses_an_import() {
    use metroplan_api::indicators::{EditIndicator, RetireIndicator};
    let w = world().await;
    w.service
        .handle(&ctx(Role::Editor), define("ES-2.1-B", "2.1"))
        .await
        .unwrap();
    let edit = |base_version, body| MonitoringCommand::EditIndicator {
        plan: PLAN.into(),
        indicator: "ES-2.1-B".into(),
        base_version,
        body,
    };
    let first = w
        .service
        .handle(
            &ctx(Role::Editor),
            edit(
                Some(1),
                EditIndicator {
                    target_value: Some("25".into()),
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        (first.version, first.merged, first.events.as_slice()),
        (2, false, ["IndicatorEdited".to_owned()].as_slice())
    );
    // Still based on version 1: the unit was not changed since, so it merges.
    let merged = w
        .service
        .handle(
            &ctx(Role::Editor),
            edit(
                Some(1),
                EditIndicator {
                    unit: Some("punti percentuali".into()),
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!((merged.version, merged.merged), (3, true));
    let conflict = w
        .service
        .handle(
            &ctx(Role::Editor),
            edit(
                Some(1),
                EditIndicator {
                    target_value: Some("20".into()),
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&conflict, ApiError::EditConflict { fields, .. } if fields == &["target_value"]),
        "{conflict:?}"
    );

    let retire = MonitoringCommand::RetireIndicator {
        plan: PLAN.into(),
        indicator: "ES-2.1-B".into(),
        body: RetireIndicator {
            reason: "Esempio: sostituito".into(),
        },
    };
    let retired = w
        .service
        .handle(&ctx(Role::Editor), retire.clone())
        .await
        .unwrap();
    assert_eq!(retired.events, ["IndicatorRetired"]);
    assert!(matches!(
        w.service.handle(&ctx(Role::Editor), retire).await,
        Err(ApiError::Rejected { .. })
    ));
    let head = w.store.head_position().await.unwrap();
    let csv = "indicator,period,territory,value\n\
               ES-2.1-B,2021,Città metropolitana di Torino,38.5\n";
    match w
        .service
        .handle(&ctx(Role::Reporter), import(csv, false))
        .await
    {
        Err(ApiError::Rejected { field, message }) => {
            assert_eq!(field.as_deref(), Some("indicator"));
            assert!(
                message.contains("ES-2.1-B (Esempio: sostituito; lines 2)"),
                "{message}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(w.store.head_position().await.unwrap(), head);
}
