//! [`MonitoringService`]: turns a [`MonitoringCommand`] into events on the store:
//! progress reports on `progress:<plan>/<action>`, indicators and their measurements on
//! `indicator:<plan>/<code>`.
//!
//! The choice: the service does the I/O around a pure decision. It parses the path
//! ids, reads the plan's period and the action's standing from the plan service's
//! streams, then runs [`decide_report`] through
//! [`execute`](metroplan_eventstore::aggregate::execute), which appends with
//! optimistic concurrency and decides again on fresh state after a lost race.

use std::sync::Arc;

use metroplan_api::indicators::{ImportSummary, ImportedIndicator, IndicatorCode, RowError};
use metroplan_api::monitoring::{MonitoringCommand, ReportProgress};
use metroplan_api::values::{ItemCode, Level, PlanCode};
use metroplan_api::{ApiError, CommandContext, CommandOutcome};
use metroplan_events::{pb, streams};
use metroplan_eventstore::aggregate::{ExecuteError, execute, load};
use metroplan_eventstore::{AppendResult, EventStore, StoreError};

use crate::import::read_csv;
use crate::indicator::{
    ImportRow, Indicator, decide_correct, decide_define, decide_edit, decide_import, decide_record,
    decide_retire,
};
use crate::plan_facts::{action_standing, plan_period, plan_strategies};
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
            MonitoringCommand::DefineIndicator { plan, body } => {
                let plan = parse_plan(&plan)?;
                let code = parse_indicator("code", body.code.trim())?;
                let strategies = plan_strategies(self.store.as_ref(), &plan)
                    .await
                    .map_err(store_failure)?;
                self.indicator_command(ctx, &plan, &code, |state, _| {
                    decide_define(state, &plan, strategies.as_ref(), &body)
                })
                .await
            }
            MonitoringCommand::EditIndicator {
                plan,
                indicator,
                base_version,
                body,
            } => {
                let plan = parse_plan(&plan)?;
                let code = parse_indicator("indicator", &indicator)?;
                let mut merged = false;
                let outcome = self
                    .indicator_command(ctx, &plan, &code, |state, version| {
                        let d = decide_edit(state, &plan, &code, version, base_version, &body)?;
                        merged = d.merged;
                        Ok(d.events)
                    })
                    .await?;
                Ok(CommandOutcome { merged, ..outcome })
            }
            MonitoringCommand::RetireIndicator {
                plan,
                indicator,
                body,
            } => {
                let plan = parse_plan(&plan)?;
                let code = parse_indicator("indicator", &indicator)?;
                self.indicator_command(ctx, &plan, &code, |state, _| {
                    decide_retire(state, &plan, &code, &body)
                })
                .await
            }
            MonitoringCommand::RecordMeasurement {
                plan,
                indicator,
                body,
            } => {
                let plan = parse_plan(&plan)?;
                let code = parse_indicator("indicator", &indicator)?;
                self.indicator_command(ctx, &plan, &code, |state, _| {
                    decide_record(state, &plan, &code, &body)
                })
                .await
            }
            MonitoringCommand::CorrectMeasurement {
                plan,
                indicator,
                measurement,
                body,
            } => {
                let plan = parse_plan(&plan)?;
                let code = parse_indicator("indicator", &indicator)?;
                self.indicator_command(ctx, &plan, &code, |state, _| {
                    decide_correct(state, &plan, &code, &measurement, &body)
                })
                .await
            }
            MonitoringCommand::ImportMeasurements { plan, csv, dry_run } => {
                self.import(ctx, &plan, &csv, dry_run).await
            }
            MonitoringCommand::DraftCampaign { .. }
            | MonitoringCommand::SetQuestions { .. }
            | MonitoringCommand::OpenCampaign { .. }
            | MonitoringCommand::InviteOrganisation { .. }
            | MonitoringCommand::ReplaceLink { .. }
            | MonitoringCommand::SubmitAnswers { .. }
            | MonitoringCommand::CloseCampaign { .. } => {
                crate::campaign_service::handle(self.store.as_ref(), ctx, cmd).await
            }
        }
    }

    /// Runs one decision, given the state and its version, on an indicator's stream.
    async fn indicator_command(
        &self,
        ctx: &CommandContext,
        plan: &PlanCode,
        code: &IndicatorCode,
        decide: impl FnMut(&Indicator, u64) -> Result<Vec<pb::IndicatorEvent>, ApiError>,
    ) -> Result<CommandOutcome, ApiError> {
        let stream = streams::indicator(plan.as_str(), code.as_str());
        let executed = execute::<Indicator, ApiError, _>(
            self.store.as_ref(),
            &stream,
            &ctx.metadata(),
            decide,
        )
        .await
        .map_err(execute_failure)?;
        let append = executed
            .append
            .ok_or_else(|| ApiError::internal("an indicator command appended no event"))?;
        tracing::info!(%stream, version = append.stream_version, position = append.last_position, "indicator command recorded");
        Ok(outcome(stream, append, &executed.event_types))
    }

    /// Imports a CSV file of measurements: reads it whole, decides every row of every
    /// indicator against its stream, and reports every bad row; only when all are valid
    /// (and not on a dry run) appends each indicator's rows in one append, indicator
    /// after indicator in the order they first appear in the file.
    ///
    /// The appends of several indicators are not one transaction (the store appends to
    /// one stream at a time): each is decided again on its stream's state at the time of
    /// its append, so a measurement recorded meanwhile by someone else cannot be
    /// duplicated; if an indicator's append then fails, the indicators before it stay
    /// stored and the error names them and the one that failed, so the sender re-sends
    /// only the rows of the indicators not stored.
    async fn import(
        &self,
        ctx: &CommandContext,
        plan: &str,
        csv: &str,
        dry_run: bool,
    ) -> Result<CommandOutcome, ApiError> {
        let plan = parse_plan(plan)?;
        let store = self.store.as_ref();
        if plan_strategies(store, &plan)
            .await
            .map_err(store_failure)?
            .is_none()
        {
            return Err(ApiError::not_found(format!("plan {plan}")));
        }
        let (rows, mut errors) = read_csv(csv);
        let mut groups: Vec<(String, Vec<ImportRow>)> = Vec::new();
        for row in rows {
            let row_of = ImportRow {
                line: row.line,
                measurement: row.measurement,
            };
            match groups.iter_mut().find(|(code, _)| *code == row.indicator) {
                Some((_, rows)) => rows.push(row_of),
                None => groups.push((row.indicator, vec![row_of])),
            }
        }
        let mut checked = Vec::new();
        let mut retired = Vec::new();
        for (raw, rows) in &groups {
            let code: IndicatorCode = match raw.parse() {
                Ok(code) => code,
                Err(m) => {
                    errors.extend(rows.iter().map(|r| RowError {
                        line: r.line,
                        column: Some("indicator".to_owned()),
                        reason: m.clone(),
                    }));
                    continue;
                }
            };
            let stream = streams::indicator(plan.as_str(), code.as_str());
            let state = load::<Indicator>(store, &stream)
                .await
                .map_err(store_failure)?
                .state;
            if let Some(reason) = &state.retired {
                retired.push(format!(
                    "{code} ({reason}; lines {})",
                    rows.iter()
                        .map(|r| r.line.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                continue;
            }
            match decide_import(&state, &plan, &code, rows) {
                Ok(_) => checked.push((code, rows)),
                Err(bad) => errors.extend(bad),
            }
        }
        if !retired.is_empty() {
            return Err(ApiError::rejected(
                Some("indicator"),
                format!(
                    "the file names retired indicators, which take no more measurements: {}; nothing imported",
                    retired.join("; ")
                ),
            ));
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.line);
            return Err(ApiError::InvalidRows { rows: errors });
        }
        let total = checked.iter().map(|(_, rows)| rows.len() as u64).sum();
        if dry_run {
            return Ok(CommandOutcome {
                stream: String::new(),
                version: 0,
                position: 0,
                events: Vec::new(),
                merged: false,
                id: None,
                import: Some(ImportSummary {
                    dry_run: true,
                    rows: total,
                    indicators: checked
                        .iter()
                        .map(|(code, rows)| ImportedIndicator {
                            indicator: code.to_string(),
                            rows: rows.len() as u64,
                            version: 0,
                            position: 0,
                        })
                        .collect(),
                }),
            });
        }
        let mut done: Vec<ImportedIndicator> = Vec::new();
        let mut last = None;
        let mut events = Vec::new();
        for (code, rows) in checked {
            let stream = streams::indicator(plan.as_str(), code.as_str());
            let executed = execute::<Indicator, Vec<RowError>, _>(
                store,
                &stream,
                &ctx.metadata(),
                |state, _| decide_import(state, &plan, &code, rows),
            )
            .await;
            let failed = |why: String, done: &[ImportedIndicator]| {
                if done.is_empty() {
                    return None;
                }
                let stored: Vec<String> = done
                    .iter()
                    .map(|d| {
                        format!(
                            "{} ({} rows, up to position {})",
                            d.indicator, d.rows, d.position
                        )
                    })
                    .collect();
                Some(ApiError::rejected(
                    None,
                    format!(
                        "import stopped at indicator {code}: {why}; stored before it: {}; re-send only the rows of {code} and the indicators after it",
                        stored.join(", ")
                    ),
                ))
            };
            let append = match executed {
                Ok(e) => {
                    events.extend(e.event_types.iter().map(|t| (*t).to_owned()));
                    e.append
                        .ok_or_else(|| ApiError::internal("an import appended no event"))?
                }
                Err(ExecuteError::Decision(rows)) => {
                    let why = format!("{} rows became invalid meanwhile", rows.len());
                    return Err(failed(why, &done).unwrap_or(ApiError::InvalidRows { rows }));
                }
                Err(ExecuteError::Store(e)) => {
                    let e = store_failure(e);
                    return Err(failed(e.to_string(), &done).unwrap_or(e));
                }
            };
            tracing::info!(%stream, rows = rows.len(), position = append.last_position, "measurements imported");
            done.push(ImportedIndicator {
                indicator: code.to_string(),
                rows: rows.len() as u64,
                version: append.stream_version,
                position: append.last_position,
            });
            last = Some((stream, append));
        }
        let (stream, append) =
            last.ok_or_else(|| ApiError::internal("an import with no indicator"))?;
        Ok(CommandOutcome {
            import: Some(ImportSummary {
                dry_run: false,
                rows: total,
                indicators: done,
            }),
            events,
            ..outcome(stream, append, &[])
        })
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
        Ok(outcome(stream, append, &executed.event_types))
    }
}

/// The answer of a command that appended once to `stream`.
pub(crate) fn outcome(
    stream: String,
    append: AppendResult,
    event_types: &[&str],
) -> CommandOutcome {
    CommandOutcome {
        stream,
        version: append.stream_version,
        position: append.last_position,
        events: event_types.iter().map(|t| (*t).to_owned()).collect(),
        merged: false,
        id: None,
        import: None,
    }
}

pub(crate) fn parse_plan(plan: &str) -> Result<PlanCode, ApiError> {
    plan.parse().map_err(|m| ApiError::validation("plan", m))
}

fn parse_indicator(field: &str, code: &str) -> Result<IndicatorCode, ApiError> {
    code.parse().map_err(|m| ApiError::validation(field, m))
}

/// A decision's own error, or the store's turned into an [`ApiError`].
pub(crate) fn execute_failure(e: ExecuteError<ApiError>) -> ApiError {
    match e {
        ExecuteError::Decision(e) => e,
        ExecuteError::Store(e) => store_failure(e),
    }
}

/// A store failure as the client sees it: a lost race after every retry or a closed
/// store is worth retrying; anything else is internal.
pub(crate) fn store_failure(e: StoreError) -> ApiError {
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
