//! [`MonitoringService`]: turns a [`MonitoringCommand`] into events on the store.
//!
//! The choice: the service does the I/O around a pure decision. It parses the path
//! ids, reads the plan's period and the action's standing from the plan service's
//! streams, then runs [`decide_report`] through
//! [`execute`](metroplan_eventstore::aggregate::execute), which appends with
//! optimistic concurrency and decides again on fresh state after a lost race.

use std::sync::Arc;

use metroplan_api::monitoring::{MonitoringCommand, ReportProgress};
use metroplan_api::values::{ItemCode, Level, PlanCode};
use metroplan_api::{ApiError, CommandContext, CommandOutcome};
use metroplan_events::streams;
use metroplan_eventstore::aggregate::{ExecuteError, execute};
use metroplan_eventstore::{EventStore, StoreError};

use crate::plan_facts::{action_standing, plan_period};
use crate::progress::{ActionProgress, ReportTarget, decide_report};

/// The monitoring service over one event store.
#[derive(Clone)]
pub struct MonitoringService {
    store: Arc<dyn EventStore>,
}

impl std::fmt::Debug for MonitoringService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitoringService").finish_non_exhaustive()
    }
}

impl MonitoringService {
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Self { store }
    }

    /// Runs one command.
    ///
    /// # Errors
    /// [`ApiError::Forbidden`] when the caller's role may not report,
    /// [`ApiError::Validation`] for malformed path ids or body fields,
    /// [`ApiError::NotFound`] / [`ApiError::Rejected`] from the decision (see
    /// [`crate::progress`]), [`ApiError::Unavailable`] / [`ApiError::Internal`] when
    /// the store fails.
    pub async fn handle(
        &self,
        ctx: &CommandContext,
        cmd: MonitoringCommand,
    ) -> Result<CommandOutcome, ApiError> {
        match cmd {
            MonitoringCommand::ReportProgress { plan, action, body } => {
                self.report_progress(ctx, &plan, &action, &body).await
            }
        }
    }

    async fn report_progress(
        &self,
        ctx: &CommandContext,
        plan: &str,
        action: &str,
        body: &ReportProgress,
    ) -> Result<CommandOutcome, ApiError> {
        if !ctx.caller.role.can_report() {
            return Err(ApiError::Forbidden {
                role: ctx.caller.role.as_str().to_owned(),
                action: "report progress".to_owned(),
            });
        }
        let plan: PlanCode = plan.parse().map_err(|m| ApiError::validation("plan", m))?;
        let action = ItemCode::parse_level(action, Level::Action)
            .map_err(|m| ApiError::validation("action", m))?;
        let store = self.store.as_ref();
        let target = ReportTarget {
            period: plan_period(store, &plan).await.map_err(store_failure)?,
            standing: action_standing(store, plan.as_str(), action.as_str())
                .await
                .map_err(store_failure)?,
            caller_organisation: ctx.caller.organisation.clone(),
            plan,
            action,
        };
        let stream = streams::progress(target.plan.as_str(), target.action.as_str());
        let executed =
            execute::<ActionProgress, ApiError, _>(store, &stream, &ctx.metadata(), |state, _| {
                decide_report(state, body, &target)
            })
            .await
            .map_err(execute_failure)?;
        let append = executed
            .append
            .ok_or_else(|| ApiError::internal("a progress report appended no event"))?;
        tracing::info!(%stream, version = append.stream_version, position = append.last_position, "progress reported");
        Ok(CommandOutcome {
            stream,
            version: append.stream_version,
            position: append.last_position,
            events: executed
                .event_types
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
            merged: false,
            id: None,
        })
    }
}

/// A decision's own error, or the store's turned into an [`ApiError`].
fn execute_failure(e: ExecuteError<ApiError>) -> ApiError {
    match e {
        ExecuteError::Decision(e) => e,
        ExecuteError::Store(e) => store_failure(e),
    }
}

/// A store failure as the client sees it: a lost race after every retry or a closed
/// store is worth retrying; anything else is internal.
fn store_failure(e: StoreError) -> ApiError {
    match e {
        StoreError::WrongExpectedVersion { stream, .. } => ApiError::Unavailable {
            message: format!("stream {stream} is busy with concurrent writers, retry"),
        },
        StoreError::Closed => ApiError::Unavailable {
            message: "event store is closed".to_owned(),
        },
        other => ApiError::internal(other),
    }
}
