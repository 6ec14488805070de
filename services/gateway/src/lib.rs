//! The gateway: the JSON API under `/api/v1`, its OpenAPI document, health checks, the
//! live websocket, and the web front end at `/` (its files built into the binary). It
//! holds no state of its own: commands go to the services over a [`CommandBus`], queries
//! ask the read side ([`ReadSide`]: the projector, in process or over NATS), and the
//! websocket follows its feed (and the log, for a client that resumes from an old position).
//!
//! [`run`] takes a bound listener and a shutdown future, so tests start the real thing
//! on port 0.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use metroplan_api::{ApiError, Caller};
use metroplan_auth::Tokens;
use metroplan_bus::CommandBus;
use metroplan_eventstore::EventStore;
use metroplan_projector::ReadSide;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub mod error;
pub mod extract;
mod live;
pub mod presence;
mod routes;
mod web;

pub use error::{BODY_LIMIT, HttpError};

/// How long a query with `min_position` waits for the read models at most.
pub const MAX_CONSISTENCY_WAIT: Duration = Duration::from_secs(5);

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub bus: Arc<dyn CommandBus>,
    /// The read models: the projector in process, or over NATS.
    pub read: Arc<dyn ReadSide>,
    pub store: Arc<dyn EventStore>,
    pub tokens: Arc<dyn Tokens>,
    /// The Merkle tree and checkpoints of the log, for the `/api/v1/audit` proof routes
    /// (they answer 503 without it).
    pub audit: Option<Arc<metroplan_audit::AuditLog>>,
    /// Who is present where, for the live sessions: in process, or shared over NATS.
    pub presence: Arc<presence::Presence>,
    /// Tokens already resolved, by secret; tokens are never deleted, so the cache never lies.
    known: Arc<RwLock<HashMap<String, Caller>>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(
        bus: Arc<dyn CommandBus>,
        read: Arc<dyn ReadSide>,
        store: Arc<dyn EventStore>,
        tokens: Arc<dyn Tokens>,
    ) -> Self {
        Self {
            bus,
            read,
            store,
            tokens,
            audit: None,
            presence: Arc::new(presence::Presence::in_process()),
            known: Arc::default(),
        }
    }

    /// Serves checkpoints and proofs from `audit`.
    #[must_use]
    pub fn with_audit(mut self, audit: Arc<metroplan_audit::AuditLog>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// Shares presence through `presence` (another gateway's registry, one over NATS).
    #[must_use]
    pub fn with_presence(mut self, presence: Arc<presence::Presence>) -> Self {
        self.presence = presence;
        self
    }

    /// The caller a token stands for.
    ///
    /// # Errors
    /// [`ApiError::Internal`] when the token store fails.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Caller>, ApiError> {
        if let Some(c) = self
            .known
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(token)
        {
            return Ok(Some(c.clone()));
        }
        let found = self
            .tokens
            .resolve(token)
            .await
            .map_err(ApiError::internal)?;
        if let Some(c) = &found {
            self.known
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(token.to_owned(), c.clone());
        }
        Ok(found)
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "metroplan", description = "Event-sourced collaboration platform for a metropolitan strategic plan"),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "plans", description = "The plan: axes, strategies, actions, revisions"),
        (name = "monitoring", description = "Implementation status of actions"),
        (name = "indicators", description = "Context indicators per strategy: measurements, corrections, CSV import, trend and on-track under a versioned rule"),
        (name = "effects and funding", description = "Monitoring level 2: the plan's effects on the planning instruments (PTGM, PUMS, DUP) with their state and the DUP objectives actions became; funding per axis, strategy and source with agreements' commitments counted once"),
        (name = "partnership", description = "Concertation tables and agreements"),
        (name = "questionnaires", description = "Questionnaire campaigns: questions, invitations through personal links, answers, results per action and strategy"),
        (name = "audit", description = "For auditors: the audit trail, exports, the read models whole, checkpoints and proofs"),
        (name = "reports", description = "The monitoring report for a period (HTML, PDF, JSON) and the exports of actions, indicators and open data (CSV, XLSX)"),
        (name = "public", description = "Read by anyone: adopted revisions"),
        (name = "system", description = "Health and API description"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::router())
        .merge(live::router())
        .split_for_parts();
    let api = Arc::new(api);
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let api = Arc::clone(&api);
                async move { axum::Json(api.as_ref().clone()) }
            }),
        )
        .merge(web::router())
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Spans name the path only: a query string may hold an `access_token`.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    // A personal link's secret in a path is logged as `<secret>`.
                    let path = routes::loggable_path(req.uri().path());
                    tracing::info_span!("http", method = %req.method(), path = %path)
                })
                // A 5xx is logged once where it is handled (the problem mapping), not again here.
                .on_failure(
                    tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG),
                ),
        )
        .with_state(state)
}

/// The OpenAPI document, for tests and tooling.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .merge(routes::router())
        .merge(live::router())
        .split_for_parts();
    api
}

/// Serves `app(state)` on `listener` until `shutdown` resolves, then drains connections.
///
/// # Errors
/// When the server fails.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Live frames are small and latency matters more than packing: no Nagle delay.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The gateway process of the distributed deployment: commands over the NATS bus,
/// queries and deltas from a projector over NATS, tokens in the JetStream bucket, the
/// log (for resuming websocket clients) in JetStream, presence shared with the other
/// gateways on `metroplan.presence`. Serves until `shutdown`.
///
/// # Errors
/// When NATS refuses a subscription or the server fails.
pub async fn run_nats(
    client: async_nats::Client,
    store: Arc<dyn EventStore>,
    replicas: usize,
    listener: TcpListener,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    run_nats_with(client, store, replicas, listener, shutdown, None).await
}

/// [`run_nats`] serving checkpoints and proofs from `audit` (which the caller keeps
/// following the log).
///
/// # Errors
/// As [`run_nats`].
pub async fn run_nats_with(
    client: async_nats::Client,
    store: Arc<dyn EventStore>,
    replicas: usize,
    listener: TcpListener,
    shutdown: tokio_util::sync::CancellationToken,
    audit: Option<Arc<metroplan_audit::AuditLog>>,
) -> anyhow::Result<()> {
    let read = metroplan_projector::nats::RemoteReadSide::connect(client.clone(), shutdown.clone())
        .await?;
    let tokens = metroplan_auth::KvTokens::open(client.clone(), replicas).await?;
    let presence = presence::nats::connect(client.clone(), shutdown.clone()).await?;
    let state = AppState::new(
        Arc::new(metroplan_bus::nats::NatsBus::new(client)),
        read,
        store,
        Arc::new(tokens),
    )
    .with_presence(presence);
    let state = match audit {
        Some(audit) => state.with_audit(audit),
        None => state,
    };
    run(listener, state, async move { shutdown.cancelled().await }).await?;
    Ok(())
}
