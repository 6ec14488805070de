//! The distributed deployment in one process: `metroplan serve --nats URL` runs every
//! service (plan, monitoring, partnership, projector, gateway) as its own task, talking
//! over NATS exactly as the separate processes of `compose.yaml` do, with the log in
//! JetStream instead of SQLite.
//!
//! Checkpoints: with a key ([`Checkpointing::key`]) this process signs them into the
//! `METROPLAN_CHECKPOINTS` stream, as the projector process does in `compose.yaml`; the
//! gateway serves them and the proofs from the same tree.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use metroplan_api::Role;
use metroplan_auth::{KvTokens, Tokens};
use metroplan_config::{NatsOptions, open_jetstream};
use metroplan_eventstore::EventStore;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{DEMO_PLAN, system_context};

/// What `--demo` printed: the plan loaded and an admin token.
#[derive(Debug)]
pub struct Demo {
    pub plan: String,
    pub admin_token: String,
}

/// Loads the demo plan into a JetStream log and issues an admin token in the bucket.
///
/// # Errors
/// When the import or the token fails.
pub async fn load_demo(
    client: async_nats::Client,
    store: Arc<dyn EventStore>,
    replicas: usize,
) -> anyhow::Result<Demo> {
    let import: metroplan_api::plan::PlanImport =
        serde_json::from_str(DEMO_PLAN).context("parsing the demo plan")?;
    let ctx = system_context(
        &import.plan.owner.clone(),
        "demo data: the Torino plan's confirmed structure",
    );
    let summary = metroplan_plan::PlanService::new(store)
        .import(&ctx, import, None)
        .await
        .map_err(|e| anyhow::anyhow!("importing the demo plan: {e}"))?;
    let tokens = KvTokens::open(client, replicas).await?;
    let token = tokens
        .issue(Role::Admin, "Città metropolitana di Torino", "demo-admin")
        .await?;
    Ok(Demo {
        plan: summary.plan,
        admin_token: token.secret,
    })
}

/// Who signs the log's checkpoints, and when.
#[derive(Debug, Clone, Default)]
pub struct Checkpointing {
    /// The private key file; without one no checkpoint is signed (the proofs are still
    /// served, over the checkpoints another process signs).
    pub key: Option<PathBuf>,
    pub policy: metroplan_audit::CheckpointPolicy,
}

/// Runs every service over NATS until `shutdown`; the first task to fail stops them
/// all and is reported by name. Signs no checkpoint ([`serve_with`] does).
///
/// # Errors
/// When NATS cannot be reached or a service fails.
pub async fn serve(
    nats: &NatsOptions,
    listener: TcpListener,
    demo: bool,
    shutdown: CancellationToken,
) -> anyhow::Result<Option<Demo>> {
    serve_with(nats, listener, demo, shutdown, Checkpointing::default()).await
}

/// [`serve`] with checkpoints signed as `checkpointing` says.
///
/// # Errors
/// As [`serve`], and when the key cannot be read.
pub async fn serve_with(
    nats: &NatsOptions,
    listener: TcpListener,
    demo: bool,
    shutdown: CancellationToken,
    checkpointing: Checkpointing,
) -> anyhow::Result<Option<Demo>> {
    let (client, store) = open_jetstream(nats, "metroplan").await?;
    let signer = checkpointing
        .key
        .as_deref()
        .map(metroplan_audit::CheckpointSigner::from_file)
        .transpose()
        .context("reading the checkpoint key")?;
    let audit = metroplan_audit::nats::audit_log(
        client.clone(),
        nats.replicas,
        signer,
        metroplan_audit::Keyring::default(),
    )
    .await?;
    let mut tasks: JoinSet<(&'static str, anyhow::Result<()>)> = JoinSet::new();
    {
        let (a, s, x, policy) = (
            Arc::clone(&audit),
            Arc::clone(&store),
            shutdown.clone(),
            checkpointing.policy,
        );
        // A broken log stops the signing, not the platform: logged where it is found.
        tasks.spawn(async move {
            if let Err(e) = a.run(s, policy, x).await {
                tracing::error!(error = %e, "checkpointer stopped: no checkpoint is signed");
            }
            ("checkpointer", Ok(()))
        });
    }
    {
        let (c, s, x) = (client.clone(), Arc::clone(&store), shutdown.clone());
        tasks.spawn(async move {
            (
                "plan",
                metroplan_plan::serve_nats(c, s, x)
                    .await
                    .map_err(Into::into),
            )
        });
        let (c, s, x) = (client.clone(), Arc::clone(&store), shutdown.clone());
        tasks.spawn(async move {
            (
                "monitoring",
                metroplan_monitoring::serve_nats(c, s, x)
                    .await
                    .map_err(Into::into),
            )
        });
        let (c, s, x) = (client.clone(), Arc::clone(&store), shutdown.clone());
        tasks.spawn(async move {
            (
                "partnership",
                metroplan_partnership::serve_nats(c, s, x)
                    .await
                    .map_err(Into::into),
            )
        });
        let (c, s, x) = (client.clone(), Arc::clone(&store), shutdown.clone());
        tasks.spawn(async move { ("projector", metroplan_projector::nats::run(c, s, x).await) });
    }
    let demo = if demo {
        Some(load_demo(client.clone(), Arc::clone(&store), nats.replicas).await?)
    } else {
        None
    };
    if let Some(d) = &demo {
        let addr = listener.local_addr()?;
        println!(
            "metroplan (on NATS {}) is serving the demo plan {} at http://{addr}/",
            nats.urls, d.plan
        );
        println!("admin token:");
        println!("{}", d.admin_token);
    } else {
        println!(
            "metroplan (on NATS {}) is serving at http://{}/",
            nats.urls,
            listener.local_addr()?
        );
    }
    {
        let (c, s, x, r) = (
            client.clone(),
            Arc::clone(&store),
            shutdown.clone(),
            nats.replicas,
        );
        tasks.spawn(async move {
            (
                "gateway",
                metroplan_gateway::run_nats_with(c, s, r, listener, x, Some(audit)).await,
            )
        });
    }
    let mut failure = None;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((name, Ok(()))) => tracing::info!(task = name, "stopped"),
            Ok((name, Err(e))) => {
                tracing::error!(task = name, error = %e, "task failed");
                failure.get_or_insert_with(|| anyhow::anyhow!("{name} failed: {e}"));
                shutdown.cancel();
            }
            Err(e) => {
                tracing::error!(error = %e, "task panicked");
                failure.get_or_insert_with(|| anyhow::anyhow!("a task panicked: {e}"));
                shutdown.cancel();
            }
        }
    }
    // Give replies in flight a moment before the connection drops.
    let _ = tokio::time::timeout(Duration::from_secs(2), client.flush()).await;
    match failure {
        Some(e) => Err(e),
        None => Ok(demo),
    }
}
