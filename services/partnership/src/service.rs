//! [`PartnershipService`]: turns a [`PartnershipCommand`] into events on the store.
//!
//! The choice: the service does the I/O around pure decisions. It checks the caller
//! may edit, parses path ids, chooses new ids (UUIDv7, returned in
//! [`CommandOutcome::id`]), reads from the plan service's streams what a decision needs
//! (does the plan exist, which actions are live), then runs the decision through
//! [`execute`], which appends with optimistic concurrency and decides again on fresh
//! state after a lost race. New ids are chosen before `execute`, so a retried decision
//! writes the same ids.

use std::sync::Arc;

use metroplan_api::partnership::PartnershipCommand;
use metroplan_api::values::{ItemCode, Level, PlanCode};
use metroplan_api::{ApiError, CommandContext, CommandOutcome};
use metroplan_events::{Aggregate, streams};
use metroplan_eventstore::aggregate::{ExecuteError, execute, load};
use metroplan_eventstore::{EventStore, StoreError};
use uuid::Uuid;

use crate::agreement::{
    Agreement, decide_add_party, decide_amend, decide_draft, decide_link_action,
    decide_make_commitment, decide_remove_party, decide_sign, decide_terminate,
    decide_unlink_action, decide_withdraw_commitment,
};
use crate::plan_facts::{known_actions, plan_exists};
use crate::table::{
    Table, decide_add_member, decide_create_table, decide_record_meeting, decide_remove_member,
};

/// The partnership service over one event store.
#[derive(Clone)]
pub struct PartnershipService {
    store: Arc<dyn EventStore>,
}

impl std::fmt::Debug for PartnershipService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnershipService").finish_non_exhaustive()
    }
}

impl PartnershipService {
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Self { store }
    }

    /// Runs one command. `CommandOutcome::id` carries the id of what the command
    /// created: the table, the meeting, the agreement, the commitment, or the
    /// amendment's number.
    ///
    /// # Errors
    /// [`ApiError::Forbidden`] when the caller's role may not edit,
    /// [`ApiError::Validation`] for malformed ids or body fields,
    /// [`ApiError::NotFound`] for an unknown plan, table or agreement,
    /// [`ApiError::Rejected`] when the state forbids the command (see
    /// [`crate::table`] and [`crate::agreement`]), [`ApiError::Unavailable`] /
    /// [`ApiError::Internal`] when the store fails.
    pub async fn handle(
        &self,
        ctx: &CommandContext,
        cmd: PartnershipCommand,
    ) -> Result<CommandOutcome, ApiError> {
        use PartnershipCommand as C;
        if !ctx.caller.role.can_edit() {
            return Err(ApiError::Forbidden {
                role: ctx.caller.role.as_str().to_owned(),
                action: "edit tables and agreements".to_owned(),
            });
        }
        let store = self.store.as_ref();
        match cmd {
            C::CreateTable { plan, body } => {
                let plan = parse_plan(&plan)?;
                let exists = plan_exists(store, plan.as_str())
                    .await
                    .map_err(store_failure)?;
                let id = Uuid::now_v7().to_string();
                let stream = streams::table(&id);
                let (outcome, _) = self
                    .run::<Table, _>(ctx, stream, |s, _| {
                        decide_create_table(s, &id, &plan, exists, &body)
                    })
                    .await?;
                Ok(with_id(outcome, id))
            }
            C::AddTableMember { table_id, body } => {
                let id = parse_id("table_id", &table_id)?;
                self.on_table(ctx, &id, |s| decide_add_member(s, &body))
                    .await
                    .map(|(o, _)| o)
            }
            C::RemoveTableMember { table_id, body } => {
                let id = parse_id("table_id", &table_id)?;
                self.on_table(ctx, &id, |s| decide_remove_member(s, &body))
                    .await
                    .map(|(o, _)| o)
            }
            C::RecordMeeting { table_id, body } => {
                let id = parse_id("table_id", &table_id)?;
                let table = self
                    .existing::<Table>(&streams::table(&id), "table", &id)
                    .await?;
                let codes: Vec<String> = body
                    .decisions
                    .iter()
                    .flat_map(|d| d.actions.iter())
                    .filter_map(|c| action_code(c))
                    .collect();
                let known = known_actions(store, &table.plan, codes.iter().map(String::as_str))
                    .await
                    .map_err(store_failure)?;
                let meeting_id = Uuid::now_v7().to_string();
                let (outcome, _) = self
                    .on_table(ctx, &id, |s| {
                        decide_record_meeting(s, &meeting_id, &body, &known)
                    })
                    .await?;
                Ok(with_id(outcome, meeting_id))
            }
            C::DraftAgreement { plan, body } => {
                let plan = parse_plan(&plan)?;
                let exists = plan_exists(store, plan.as_str())
                    .await
                    .map_err(store_failure)?;
                let id = Uuid::now_v7().to_string();
                let stream = streams::agreement(&id);
                let today = chrono::Utc::now().date_naive();
                let (outcome, _) = self
                    .run::<Agreement, _>(ctx, stream, |s, _| {
                        decide_draft(s, &id, &plan, exists, &body, today)
                    })
                    .await?;
                Ok(with_id(outcome, id))
            }
            C::AddParty { agreement_id, body } => {
                let id = parse_id("agreement_id", &agreement_id)?;
                self.on_agreement(ctx, &id, |s| decide_add_party(s, &body))
                    .await
                    .map(|(o, _)| o)
            }
            C::RemoveParty { agreement_id, body } => {
                let id = parse_id("agreement_id", &agreement_id)?;
                self.on_agreement(ctx, &id, |s| decide_remove_party(s, &body))
                    .await
                    .map(|(o, _)| o)
            }
            C::LinkAction { agreement_id, body } => {
                let id = parse_id("agreement_id", &agreement_id)?;
                let agreement = self
                    .existing::<Agreement>(&streams::agreement(&id), "agreement", &id)
                    .await?;
                let code = action_code(&body.action);
                let known = known_actions(store, &agreement.plan, code.as_deref())
                    .await
                    .map_err(store_failure)?;
                self.on_agreement(ctx, &id, |s| decide_link_action(s, &body, &known))
                    .await
                    .map(|(o, _)| o)
            }
            C::UnlinkAction { agreement_id, body } => {
                let id = parse_id("agreement_id", &agreement_id)?;
                self.on_agreement(ctx, &id, |s| decide_unlink_action(s, &body))
                    .await
                    .map(|(o, _)| o)
            }
            C::MakeCommitment { agreement_id, body } => {
                let id = parse_id("agreement_id", &agreement_id)?;
                let commitment_id = Uuid::now_v7().to_string();
                let (outcome, _) = self
                    .on_agreement(ctx, &id, |s| {
                        decide_make_commitment(s, &commitment_id, &body)
                    })
                    .await?;
                Ok(with_id(outcome, commitment_id))
            }
            C::WithdrawCommitment { agreement_id, body } => {
                let id = parse_id("agreement_id", &agreement_id)?;
                self.on_agreement(ctx, &id, |s| decide_withdraw_commitment(s, &body))
                    .await
                    .map(|(o, _)| o)
            }
            C::SignAgreement { agreement_id, body } => {
                let id = parse_id("agreement_id", &agreement_id)?;
                self.on_agreement(ctx, &id, |s| decide_sign(s, &body))
                    .await
                    .map(|(o, _)| o)
            }
            C::AmendAgreement { agreement_id, body } => {
                let id = parse_id("agreement_id", &agreement_id)?;
                let (outcome, state) = self
                    .on_agreement(ctx, &id, |s| decide_amend(s, &body))
                    .await?;
                Ok(with_id(outcome, state.amendments.to_string()))
            }
            C::TerminateAgreement { agreement_id, body } => {
                let id = parse_id("agreement_id", &agreement_id)?;
                self.on_agreement(ctx, &id, |s| decide_terminate(s, &body))
                    .await
                    .map(|(o, _)| o)
            }
        }
    }

    async fn on_table<F>(
        &self,
        ctx: &CommandContext,
        id: &str,
        decide: F,
    ) -> Result<(CommandOutcome, Table), ApiError>
    where
        F: FnMut(&Table) -> Result<Vec<<Table as Aggregate>::Event>, ApiError>,
    {
        self.on_existing(ctx, streams::table(id), "table", id, decide)
            .await
    }

    async fn on_agreement<F>(
        &self,
        ctx: &CommandContext,
        id: &str,
        decide: F,
    ) -> Result<(CommandOutcome, Agreement), ApiError>
    where
        F: FnMut(&Agreement) -> Result<Vec<<Agreement as Aggregate>::Event>, ApiError>,
    {
        self.on_existing(ctx, streams::agreement(id), "agreement", id, decide)
            .await
    }

    /// Runs `decide` on a stream that must exist: an empty stream is `NotFound`.
    async fn on_existing<A, F>(
        &self,
        ctx: &CommandContext,
        stream: String,
        what: &str,
        id: &str,
        mut decide: F,
    ) -> Result<(CommandOutcome, A), ApiError>
    where
        A: Aggregate,
        F: FnMut(&A) -> Result<Vec<A::Event>, ApiError>,
    {
        self.run::<A, _>(ctx, stream, |state, version| {
            if version == 0 {
                Err(ApiError::not_found(format!("{what} {id}")))
            } else {
                decide(state)
            }
        })
        .await
    }

    /// The current state of a stream that must exist.
    async fn existing<A: Aggregate>(
        &self,
        stream: &str,
        what: &str,
        id: &str,
    ) -> Result<A, ApiError> {
        let loaded = load::<A>(self.store.as_ref(), stream)
            .await
            .map_err(store_failure)?;
        if loaded.version == 0 {
            return Err(ApiError::not_found(format!("{what} {id}")));
        }
        Ok(loaded.state)
    }

    /// Decides and appends with optimistic concurrency; answers the outcome and the
    /// state after the command.
    async fn run<A, F>(
        &self,
        ctx: &CommandContext,
        stream: String,
        decide: F,
    ) -> Result<(CommandOutcome, A), ApiError>
    where
        A: Aggregate,
        F: FnMut(&A, u64) -> Result<Vec<A::Event>, ApiError>,
    {
        let executed =
            execute::<A, ApiError, F>(self.store.as_ref(), &stream, &ctx.metadata(), decide)
                .await
                .map_err(|e| match e {
                    ExecuteError::Decision(e) => e,
                    ExecuteError::Store(e) => store_failure(e),
                })?;
        let append = executed.append.ok_or_else(|| {
            ApiError::internal(format!("a command on {stream} appended no event"))
        })?;
        let events: Vec<String> = executed
            .event_types
            .iter()
            .map(|t| (*t).to_owned())
            .collect();
        tracing::info!(%stream, version = append.stream_version, position = append.last_position, ?events, "partnership command recorded");
        let outcome = CommandOutcome {
            stream,
            version: append.stream_version,
            position: append.last_position,
            events,
            merged: false,
            id: None,
            import: None,
        };
        Ok((outcome, executed.state))
    }
}

fn with_id(outcome: CommandOutcome, id: String) -> CommandOutcome {
    CommandOutcome {
        id: Some(id),
        ..outcome
    }
}

fn parse_plan(plan: &str) -> Result<PlanCode, ApiError> {
    plan.parse().map_err(|m| ApiError::validation("plan", m))
}

/// A table or agreement id: a UUID, normalised to its lower-case hyphenated form.
fn parse_id(field: &str, id: &str) -> Result<String, ApiError> {
    Uuid::parse_str(id.trim())
        .map(|u| u.to_string())
        .map_err(|_| ApiError::validation(field, format!("{id:?} is not an id (a UUID)")))
}

/// The normalised action code in `raw`, `None` when it is malformed (the decision
/// reports that, naming the field).
fn action_code(raw: &str) -> Option<String> {
    ItemCode::parse_level(raw.trim(), Level::Action)
        .ok()
        .map(|c| c.to_string())
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
