//! [`PlanService`]: runs plan commands against the event store. Each command loads the
//! streams it needs, asks a pure `decide_*` function, and appends under optimistic
//! concurrency (through [`metroplan_eventstore::aggregate::execute`], which decides
//! again on fresh state after a lost race).
//!
//! Choices made:
//! - A command writes one stream. Rules about other streams (the plan and strategy of
//!   a new action, the live actions of a strategy being retired) are read first and
//!   hold at decision time.
//! - Adopting a revision reads the log's head position first and freezes every stream
//!   as of that position, so `at_position` is exact; if the plan stream moves on before
//!   the append, the whole decision is taken again.
//! - Store failures become `Unavailable` (closed store, contention beyond the retries)
//!   or `Internal` (anything else, logged here where it is handled).

use std::sync::Arc;

use metroplan_api::plan::{ImportSummary, PlanCommand, PlanImport};
use metroplan_api::values::{ItemCode, Level, PlanCode};
use metroplan_api::{ApiError, CommandContext, CommandOutcome};
use metroplan_events::{Aggregate, EventPayload, NewEvent, streams};
use metroplan_eventstore::aggregate::{ExecuteError, Executed, Loaded, execute, load};
use metroplan_eventstore::{EventStore, ExpectedVersion, StoreError};

use crate::action::{self, Action};
use crate::error::DomainError;
use crate::plan::{self, Plan};

/// How many times an adoption is decided again after the plan stream moved on.
const ADOPT_ATTEMPTS: usize = 8;
const PAGE: usize = 1024;

/// The plan service: commands on plans, axes, strategies, actions and revisions.
#[derive(Clone)]
pub struct PlanService {
    store: Arc<dyn EventStore>,
}

impl std::fmt::Debug for PlanService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanService").finish_non_exhaustive()
    }
}

/// Turns a store failure into the wire error, logging what the caller will not see.
pub(crate) fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::WrongExpectedVersion { stream, .. } => ApiError::Unavailable {
            message: format!("stream {stream} is too busy right now: retry"),
        },
        StoreError::Closed => ApiError::Unavailable {
            message: "event store is closed".to_owned(),
        },
        other => {
            tracing::error!(error = %other, "event store failed");
            ApiError::internal("event store failed")
        }
    }
}

pub(crate) fn execute_error(e: ExecuteError<DomainError>) -> ApiError {
    match e {
        ExecuteError::Decision(d) => d.into(),
        ExecuteError::Store(s) => store_error(s),
    }
}

/// A path id that is not a well-formed code names nothing.
fn plan_id(plan: &str) -> Result<String, DomainError> {
    plan.parse::<PlanCode>()
        .map(|c| c.to_string())
        .map_err(|_| DomainError::not_found(format!("plan {plan}")))
}

fn item_id(kind: &str, plan: &str, code: &str) -> Result<String, DomainError> {
    code.parse::<ItemCode>()
        .map(|c| c.to_string())
        .map_err(|_| DomainError::not_found(format!("{kind} {code} of plan {plan}")))
}

/// Builds the answer to a command from what `execute` did. `seen` is the stream
/// version and last position the (last) decision saw, for a command that recorded
/// nothing.
fn outcome<A>(
    stream: &str,
    executed: &Executed<A>,
    seen: (u64, u64),
    merged: bool,
    id: Option<String>,
) -> CommandOutcome {
    let (version, position) = executed
        .append
        .map_or(seen, |a| (a.stream_version, a.last_position));
    CommandOutcome {
        stream: stream.to_owned(),
        version,
        position,
        events: executed
            .event_types
            .iter()
            .map(|t| (*t).to_owned())
            .collect(),
        merged,
        id,
        import: None,
    }
}

/// Rebuilds `A` from the events of `stream` up to global position `at` (included).
pub(crate) async fn load_until<A: Aggregate>(
    store: &dyn EventStore,
    stream: &str,
    at: u64,
) -> Result<Loaded<A>, StoreError> {
    let mut state = A::default();
    let mut version = 0;
    loop {
        let page = store.read_stream(stream, version + 1, PAGE).await?;
        let n = page.len();
        for recorded in &page {
            if recorded.position > at {
                return Ok(Loaded { state, version });
            }
            let event = A::Event::decode_recorded(recorded)
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            state.evolve(&event, recorded);
            version = recorded.stream_version;
        }
        if n < PAGE {
            return Ok(Loaded { state, version });
        }
    }
}

impl PlanService {
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Self { store }
    }

    pub(crate) fn store(&self) -> &dyn EventStore {
        self.store.as_ref()
    }

    /// Runs one command.
    ///
    /// # Errors
    /// `Validation` naming the JSON field for bad input; `NotFound` for an unknown plan,
    /// axis, strategy or action; `Rejected` when the state does not allow it;
    /// `EditConflict` / `PreconditionFailed` for stale edits that cannot be merged;
    /// `Unavailable` / `Internal` when the store fails.
    pub async fn handle(
        &self,
        ctx: &CommandContext,
        cmd: PlanCommand,
    ) -> Result<CommandOutcome, ApiError> {
        let name = cmd.name();
        let result = self.dispatch(ctx, cmd).await;
        match &result {
            Ok(o) => {
                tracing::info!(command = name, stream = %o.stream, version = o.version, position = o.position, merged = o.merged, "command handled")
            }
            Err(e) => tracing::debug!(command = name, error = %e, "command refused"),
        }
        result
    }

    async fn dispatch(
        &self,
        ctx: &CommandContext,
        cmd: PlanCommand,
    ) -> Result<CommandOutcome, ApiError> {
        match cmd {
            PlanCommand::CreatePlan { body } => {
                let code: PlanCode = body
                    .code
                    .trim()
                    .parse()
                    .map_err(|m: String| ApiError::validation("code", m))?;
                let id = code.to_string();
                self.on_plan(ctx, &id, Some(id.clone()), |p, _| {
                    plan::decide_create_plan(p, &body)
                })
                .await
            }
            PlanCommand::AddAxis { plan, body } => {
                let plan = plan_id(&plan)?;
                let id = body.code.trim().to_owned();
                self.on_plan(ctx, &plan, Some(id), |p, _| {
                    plan::decide_add_axis(p, &plan, &body)
                })
                .await
            }
            PlanCommand::EditAxis { plan, axis, body } => {
                let plan = plan_id(&plan)?;
                let axis = item_id("axis", &plan, &axis)?;
                self.on_plan(ctx, &plan, None, |p, _| {
                    plan::decide_edit_axis(p, &plan, &axis, &body)
                })
                .await
            }
            PlanCommand::MoveAxis { plan, axis, body } => {
                let plan = plan_id(&plan)?;
                let axis = item_id("axis", &plan, &axis)?;
                self.on_plan(ctx, &plan, None, |p, _| {
                    plan::decide_move_axis(p, &plan, &axis, &body)
                })
                .await
            }
            PlanCommand::RetireAxis { plan, axis, body } => {
                let plan = plan_id(&plan)?;
                let axis = item_id("axis", &plan, &axis)?;
                self.on_plan(ctx, &plan, None, |p, _| {
                    plan::decide_retire_axis(p, &plan, &axis, &body)
                })
                .await
            }
            PlanCommand::AddStrategy { plan, body } => {
                let plan = plan_id(&plan)?;
                let id = body.code.trim().to_owned();
                self.on_plan(ctx, &plan, Some(id), |p, _| {
                    plan::decide_add_strategy(p, &plan, &body)
                })
                .await
            }
            PlanCommand::EditStrategy {
                plan,
                strategy,
                body,
            } => {
                let plan = plan_id(&plan)?;
                let strategy = item_id("strategy", &plan, &strategy)?;
                self.on_plan(ctx, &plan, None, |p, _| {
                    plan::decide_edit_strategy(p, &plan, &strategy, &body)
                })
                .await
            }
            PlanCommand::MoveStrategy {
                plan,
                strategy,
                body,
            } => {
                let plan = plan_id(&plan)?;
                let strategy = item_id("strategy", &plan, &strategy)?;
                self.on_plan(ctx, &plan, None, |p, _| {
                    plan::decide_move_strategy(p, &plan, &strategy, &body)
                })
                .await
            }
            PlanCommand::RetireStrategy {
                plan,
                strategy,
                body,
            } => {
                let plan = plan_id(&plan)?;
                let strategy = item_id("strategy", &plan, &strategy)?;
                let live: Vec<String> = self
                    .live_actions(&plan)
                    .await?
                    .into_iter()
                    .filter_map(|a| a.definition)
                    .filter(|d| d.strategy == strategy)
                    .map(|d| d.code)
                    .collect();
                self.on_plan(ctx, &plan, None, |p, _| {
                    plan::decide_retire_strategy(p, &plan, &strategy, &body, &live)
                })
                .await
            }
            PlanCommand::AddAction { plan, body } => {
                let plan = plan_id(&plan)?;
                let code = ItemCode::parse_level(body.code.trim(), Level::Action)
                    .map_err(|m| ApiError::validation("code", m))?
                    .to_string();
                let state = self.plan(&plan).await?;
                self.on_action(ctx, &plan, &code, Some(code.clone()), |a, _| {
                    action::decide_add_action(&state, a, &plan, &body)
                })
                .await
            }
            PlanCommand::EditAction {
                plan,
                action,
                base_version,
                body,
            } => {
                let plan = plan_id(&plan)?;
                let code = item_id("action", &plan, &action)?;
                let state = self.plan(&plan).await?;
                let stream = streams::action(&plan, &code);
                let mut seen = (0, 0);
                let mut merged = false;
                let executed = execute::<Action, DomainError, _>(
                    self.store(),
                    &stream,
                    &ctx.metadata(),
                    |a, v| {
                        seen = (v, a.last_position);
                        let d = action::decide_edit_action(
                            &state,
                            a,
                            v,
                            &plan,
                            &code,
                            base_version,
                            &body,
                        )?;
                        merged = d.merged;
                        Ok(d.events)
                    },
                )
                .await
                .map_err(execute_error)?;
                Ok(outcome(&stream, &executed, seen, merged, None))
            }
            PlanCommand::MoveAction { plan, action, body } => {
                let plan = plan_id(&plan)?;
                let code = item_id("action", &plan, &action)?;
                let state = self.plan(&plan).await?;
                let to = body.to_strategy.trim().to_owned();
                let next = self
                    .live_actions(&plan)
                    .await?
                    .iter()
                    .filter_map(|a| a.definition.as_ref())
                    .filter(|d| d.strategy == to && d.code != code)
                    .map(|d| d.position)
                    .max()
                    .unwrap_or(0)
                    .saturating_add(1);
                self.on_action(ctx, &plan, &code, None, |a, _| {
                    action::decide_move_action(&state, a, &plan, &code, &body, next)
                })
                .await
            }
            PlanCommand::RetireAction { plan, action, body } => {
                let plan = plan_id(&plan)?;
                let code = item_id("action", &plan, &action)?;
                self.on_action(ctx, &plan, &code, None, |a, _| {
                    action::decide_retire_action(a, &plan, &code, &body)
                })
                .await
            }
            PlanCommand::AdoptRevision { plan, body } => {
                let plan = plan_id(&plan)?;
                self.adopt_revision(ctx, &plan, &body).await
            }
        }
    }

    /// The plan's current state (possibly not created yet).
    async fn plan(&self, plan: &str) -> Result<Plan, ApiError> {
        Ok(load::<Plan>(self.store(), &streams::plan(plan))
            .await
            .map_err(store_error)?
            .state)
    }

    /// The current state of every live action of the plan.
    async fn live_actions(&self, plan: &str) -> Result<Vec<Action>, ApiError> {
        let mut out = Vec::new();
        for stream in self
            .store
            .list_streams(&streams::action_prefix(plan))
            .await
            .map_err(store_error)?
        {
            let a = load::<Action>(self.store(), &stream)
                .await
                .map_err(store_error)?
                .state;
            if a.exists() && !a.is_retired() {
                out.push(a);
            }
        }
        Ok(out)
    }

    async fn on_plan<F>(
        &self,
        ctx: &CommandContext,
        plan: &str,
        id: Option<String>,
        mut decide: F,
    ) -> Result<CommandOutcome, ApiError>
    where
        F: FnMut(&Plan, u64) -> Result<Vec<metroplan_events::pb::PlanEvent>, DomainError>,
    {
        let stream = streams::plan(plan);
        let mut seen = (0, 0);
        let executed =
            execute::<Plan, DomainError, _>(self.store(), &stream, &ctx.metadata(), |p, v| {
                seen = (v, p.last_position);
                decide(p, v)
            })
            .await
            .map_err(execute_error)?;
        let id = id.filter(|_| executed.append.is_some());
        Ok(outcome(&stream, &executed, seen, false, id))
    }

    async fn on_action<F>(
        &self,
        ctx: &CommandContext,
        plan: &str,
        code: &str,
        id: Option<String>,
        mut decide: F,
    ) -> Result<CommandOutcome, ApiError>
    where
        F: FnMut(&Action, u64) -> Result<Vec<metroplan_events::pb::ActionEvent>, DomainError>,
    {
        let stream = streams::action(plan, code);
        let mut seen = (0, 0);
        let executed =
            execute::<Action, DomainError, _>(self.store(), &stream, &ctx.metadata(), |a, v| {
                seen = (v, a.last_position);
                decide(a, v)
            })
            .await
            .map_err(execute_error)?;
        let id = id.filter(|_| executed.append.is_some());
        Ok(outcome(&stream, &executed, seen, false, id))
    }

    async fn adopt_revision(
        &self,
        ctx: &CommandContext,
        plan: &str,
        body: &metroplan_api::plan::AdoptRevision,
    ) -> Result<CommandOutcome, ApiError> {
        let stream = streams::plan(plan);
        let store = self.store();
        for attempt in 1..=ADOPT_ATTEMPTS {
            let at = store.head_position().await.map_err(store_error)?;
            let loaded = load_until::<Plan>(store, &stream, at)
                .await
                .map_err(store_error)?;
            let mut actions = Vec::new();
            for s in store
                .list_streams(&streams::action_prefix(plan))
                .await
                .map_err(store_error)?
            {
                let a = load_until::<Action>(store, &s, at)
                    .await
                    .map_err(store_error)?;
                if a.version > 0 {
                    actions.push(a.state);
                }
            }
            let events = plan::decide_adopt_revision(&loaded.state, plan, &actions, at, body)?;
            let number = events.iter().find_map(|e| match &e.event {
                Some(metroplan_events::pb::plan_event::Event::RevisionAdopted(r)) => Some(r.number),
                _ => None,
            });
            let types: Vec<String> = events.iter().map(|e| e.event_type().to_owned()).collect();
            let new = events
                .iter()
                .map(|e| NewEvent::new(e, ctx.metadata()))
                .collect();
            // A plan stream that moved past `at` makes this expectation fail: decide again.
            let expected = ExpectedVersion::Exact(loaded.version);
            match store.append(&stream, expected, new).await {
                Ok(a) => {
                    return Ok(CommandOutcome {
                        stream,
                        version: a.stream_version,
                        position: a.last_position,
                        events: types,
                        merged: false,
                        id: number.map(|n| n.to_string()),
                        import: None,
                    });
                }
                Err(StoreError::WrongExpectedVersion { .. }) => {
                    tracing::debug!(%stream, attempt, "plan moved on while adopting a revision, deciding again");
                }
                Err(e) => return Err(store_error(e)),
            }
        }
        Err(ApiError::Unavailable {
            message: format!("stream {stream} is too busy right now: retry"),
        })
    }

    /// Imports a plan's structure: creates the plan if missing and adds the axes,
    /// strategies and actions that are not there yet, leaving existing ones as they are.
    /// Running it twice records nothing the second time.
    ///
    /// The whole document is checked before anything is written, so bad input changes
    /// nothing. The plan's header, axes and strategies are then appended in one batch
    /// to the plan stream, and each new action to its own stream. `progress`, when
    /// given, is called with (items done, items in all) after each step.
    ///
    /// # Errors
    /// As [`handle`](Self::handle), with fields named by their path in the document
    /// (`actions[3].planned_start`).
    pub async fn import(
        &self,
        ctx: &CommandContext,
        import: PlanImport,
        progress: Option<&(dyn Fn(u64, u64) + Send + Sync)>,
    ) -> Result<ImportSummary, ApiError> {
        crate::import::run(self, ctx, import, progress).await
    }
}
