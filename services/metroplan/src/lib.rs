//! The embedded deployment: every service in one process, wired with in-process
//! transports over one SQLite event log. [`Platform::open`] builds it from a data
//! directory; [`Platform::serve`] runs the gateway on a bound listener until shutdown.
//! The `metroplan` binary and the end-to-end tests both use this.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use futures::FutureExt;
use metroplan_api::{Caller, CommandContext, Role};
use metroplan_audit::{AuditLog, CheckpointPolicy, KeyDir, SqliteCheckpoints};
use metroplan_auth::TokenStore;
use metroplan_bus::LocalBus;
use metroplan_eventstore::EventStore;
use metroplan_eventstore::sqlite::SqliteStore;
use metroplan_monitoring::MonitoringService;
use metroplan_partnership::PartnershipService;
use metroplan_plan::PlanService;
use metroplan_projector::Projector;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub mod audit;
pub mod bench;
pub mod distributed;
pub mod examples;

/// The Torino plan facts shipped with the repository (`data/psm-torino-2021-2023.json`).
pub const DEMO_PLAN: &str = include_str!("../../../data/psm-torino-2021-2023.json");

/// One embedded deployment.
pub struct Platform {
    pub data: PathBuf,
    pub store: Arc<dyn EventStore>,
    pub tokens: Arc<TokenStore>,
    pub projector: Arc<Projector>,
    pub plan: Arc<PlanService>,
    pub monitoring: Arc<MonitoringService>,
    pub partnership: Arc<PartnershipService>,
    /// The Merkle tree of the log, its signed checkpoints and the signing key
    /// (`data/keys/checkpoint.key`, created at first start).
    pub audit: Arc<AuditLog>,
    /// Stops the projector's follower task when the platform is dropped.
    stop: CancellationToken,
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

/// The command context of work the program does itself (imports, demo set-up).
pub fn system_context(organisation: &str, reason: &str) -> CommandContext {
    CommandContext {
        caller: Caller {
            actor: "metroplan".into(),
            organisation: organisation.into(),
            role: Role::Admin,
        },
        reason: Some(reason.into()),
        correlation_id: uuid::Uuid::now_v7(),
    }
}

impl Platform {
    /// Opens (creating when missing) the data directory and rebuilds the read models
    /// from the log, reporting (done, total) to `progress`.
    ///
    /// # Errors
    /// When the directory, the event log or the token store cannot be opened.
    pub async fn open(
        data: &Path,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> anyhow::Result<Self> {
        Self::open_with(data, progress, metroplan_projector::LIVE_CAPACITY).await
    }

    /// [`Platform::open`] with a live channel of `live_capacity` events (tests use a
    /// small one to make slow websocket clients fall behind on purpose).
    ///
    /// # Errors
    /// As [`Platform::open`].
    pub async fn open_with(
        data: &Path,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
        live_capacity: usize,
    ) -> anyhow::Result<Self> {
        Self::open_with_policy(data, progress, live_capacity, CheckpointPolicy::default()).await
    }

    /// [`Platform::open_with`] signing checkpoints by `policy`.
    ///
    /// # Errors
    /// As [`Platform::open`], and when the signing key cannot be read or created.
    pub async fn open_with_policy(
        data: &Path,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
        live_capacity: usize,
        policy: CheckpointPolicy,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data)
            .with_context(|| format!("creating data directory {}", data.display()))?;
        let store: Arc<dyn EventStore> =
            Arc::new(SqliteStore::open_in(data).context("opening the event log")?);
        let tokens = Arc::new(TokenStore::open_in(data).context("opening the token store")?);
        let projector = Projector::with_live_capacity(live_capacity);
        projector
            .rebuild(store.as_ref(), progress)
            .await
            .context("rebuilding the read models")?;
        projector.mark_ready();
        let stop = CancellationToken::new();
        let keys = KeyDir::in_data_dir(data);
        let signer = keys
            .load_or_create(metroplan_audit::signing::DEFAULT_ORIGIN)
            .context("opening the checkpoint signing key")?;
        let audit = AuditLog::new(
            Arc::new(SqliteCheckpoints::open_in(data).context("opening the checkpoint table")?),
            Some(signer),
            keys.keyring().context("reading the verifier keys")?,
        );
        let checkpointer =
            tokio::spawn(Arc::clone(&audit).run(Arc::clone(&store), policy, stop.clone()));
        tokio::spawn(async move {
            match checkpointer.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "checkpointer stopped: no checkpoint is signed")
                }
                Err(e) => tracing::error!(error = %e, "checkpointer task died"),
            }
        });
        let follower = tokio::spawn(Arc::clone(&projector).run(Arc::clone(&store), stop.clone()));
        tokio::spawn(async move {
            match follower.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "projector stopped following the log"),
                Err(e) => tracing::error!(error = %e, "projector task died"),
            }
        });
        Ok(Self {
            stop,
            data: data.to_owned(),
            plan: Arc::new(PlanService::new(Arc::clone(&store))),
            monitoring: Arc::new(MonitoringService::new(Arc::clone(&store))),
            partnership: Arc::new(PartnershipService::new(Arc::clone(&store))),
            store,
            tokens,
            projector,
            audit,
        })
    }

    /// The in-process command bus over this platform's services.
    pub fn bus(&self) -> LocalBus {
        let (plan, monitoring, partnership) = (
            Arc::clone(&self.plan),
            Arc::clone(&self.monitoring),
            Arc::clone(&self.partnership),
        );
        LocalBus::new(
            move |ctx, cmd| {
                let s = Arc::clone(&plan);
                async move { s.handle(&ctx, cmd).await }.boxed()
            },
            move |ctx, cmd| {
                let s = Arc::clone(&monitoring);
                async move { s.handle(&ctx, cmd).await }.boxed()
            },
            move |ctx, cmd| {
                let s = Arc::clone(&partnership);
                async move { s.handle(&ctx, cmd).await }.boxed()
            },
        )
    }

    /// Imports the demo plan (the Torino plan's confirmed structure) unless it is there.
    ///
    /// # Errors
    /// When the demo data does not parse or the import fails.
    pub async fn load_demo(
        &self,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> anyhow::Result<metroplan_api::plan::ImportSummary> {
        let import: metroplan_api::plan::PlanImport =
            serde_json::from_str(DEMO_PLAN).context("parsing the demo plan")?;
        let ctx = system_context(
            &import.plan.owner.clone(),
            "demo data: the Torino plan's confirmed structure",
        );
        self.plan
            .import(&ctx, import, Some(progress))
            .await
            .map_err(|e| anyhow::anyhow!("importing the demo plan: {e}"))
    }

    /// Serves the gateway on `listener` until `shutdown` is cancelled (the projector
    /// follows the log from [`Platform::open`] on).
    ///
    /// # Errors
    /// When the server fails.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let state = metroplan_gateway::AppState::new(
            Arc::new(self.bus()),
            Arc::clone(&self.projector) as Arc<dyn metroplan_projector::ReadSide>,
            Arc::clone(&self.store),
            Arc::clone(&self.tokens) as Arc<dyn metroplan_auth::Tokens>,
        )
        .with_audit(Arc::clone(&self.audit));
        metroplan_gateway::run(listener, state, async move { shutdown.cancelled().await })
            .await
            .context("http server")?;
        // A graceful stop leaves every event under a signed checkpoint.
        if let Err(e) = self.audit.checkpoint_now(self.store.as_ref()).await {
            tracing::error!(error = %e, "final checkpoint failed");
        }
        Ok(())
    }
}
