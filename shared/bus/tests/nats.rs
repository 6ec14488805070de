//! The NATS command transport against a real nats-server: two instances of a service
//! share the work through their queue group, each command is handled exactly once,
//! errors come back as the same `ApiError`, and a service nobody runs is `Unavailable`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use metroplan_api::plan::{CreatePlan, PlanCommand};
use metroplan_api::{ApiError, Caller, CommandContext, Role};
use metroplan_bus::nats::{NatsBus, serve};
use metroplan_bus::{Command, CommandBus};
use metroplan_eventstore::EventStore;
use metroplan_eventstore::sqlite::SqliteStore;
use metroplan_plan::PlanService;
use tokio_util::sync::CancellationToken;

fn ctx() -> CommandContext {
    CommandContext {
        caller: Caller {
            actor: "anna".into(),
            organisation: "Città metropolitana di Torino".into(),
            role: Role::Admin,
        },
        reason: None,
        correlation_id: uuid::Uuid::now_v7(),
    }
}

fn create(code: &str) -> Command {
    Command::Plan(PlanCommand::CreatePlan {
        body: CreatePlan {
            code: code.into(),
            title: "Piano di prova".into(),
            short_title: None,
            owner: "Città metropolitana di Torino".into(),
            period_from: "2021-01-01".into(),
            period_to: "2023-12-31".into(),
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_of_a_service_share_commands_and_each_is_handled_once() {
    let server = metroplan_nats_testkit::NatsServer::start().await.unwrap();
    let client = async_nats::connect(server.client_url()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn EventStore> = Arc::new(SqliteStore::open_in(dir.path()).unwrap());
    let shutdown = CancellationToken::new();
    let counts: Vec<Arc<AtomicUsize>> = (0..2).map(|_| Arc::default()).collect();
    for count in &counts {
        let (service, count) = (PlanService::new(Arc::clone(&store)), Arc::clone(count));
        let (client, shutdown) = (client.clone(), shutdown.clone());
        tokio::spawn(serve(
            client,
            "plan",
            move |ctx: CommandContext, cmd: PlanCommand| {
                let (service, count) = (service.clone(), Arc::clone(&count));
                async move {
                    count.fetch_add(1, Ordering::SeqCst);
                    service.handle(&ctx, cmd).await
                }
            },
            shutdown,
        ));
    }
    // Both instances subscribed before the first request.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let bus = NatsBus::new(client.clone());
    for i in 0..60 {
        let outcome = bus
            .dispatch(ctx(), create(&format!("P-{i}")))
            .await
            .unwrap();
        assert_eq!(outcome.events, vec!["PlanCreated"]);
    }
    let handled: Vec<usize> = counts.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(
        handled.iter().sum::<usize>(),
        60,
        "each command handled exactly once: {handled:?}"
    );
    assert!(
        handled.iter().all(|n| *n > 0),
        "both instances took work: {handled:?}"
    );
    assert_eq!(store.head_position().await.unwrap(), 60);

    // A refusal travels back as the same error.
    let again = bus.dispatch(ctx(), create("P-0")).await.unwrap_err();
    assert!(matches!(again, ApiError::Rejected { .. }), "{again:?}");
    assert_eq!(
        store.head_position().await.unwrap(),
        60,
        "a refused command stores nothing"
    );

    // Nobody serves monitoring here.
    shutdown.cancel();
    let err = bus
        .dispatch(
            ctx(),
            Command::Monitoring(metroplan_api::monitoring::MonitoringCommand::ReportProgress {
                plan: "P-1".into(),
                action: "1.1.1".into(),
                body: serde_json::from_value(serde_json::json!({"status": "started", "progress": 1, "note": "", "as_of": "2022-01-01"})).unwrap(),
            }),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Unavailable { .. }), "{err:?}");
}
