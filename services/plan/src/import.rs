//! Importing a plan's structure from a document ([`PlanImport`]): the plan's header,
//! axes, strategies and actions.
//!
//! Choices made:
//! - Additive and idempotent: what exists (live or retired) is left as it is and
//!   counted as already present; only the missing items are added, so a second run
//!   records nothing. Existing items are never updated from the document.
//! - Check everything, then write: the whole document is decided against the current
//!   state before the first append, so a bad document changes nothing. Errors name
//!   the document path (`strategies[2].axis`).
//! - The header, axes and strategies go to the plan stream in one atomic batch; each
//!   action goes to its own stream. An interrupted import is finished by running it
//!   again.

use std::collections::BTreeSet;

use metroplan_api::plan::{AddAxis, AddStrategy, CreatePlan, ImportSummary, PlanImport};
use metroplan_api::values::{ItemCode, Level, PlanCode};
use metroplan_api::{ApiError, CommandContext};
use metroplan_events::pb;
use metroplan_events::streams;
use metroplan_eventstore::aggregate::{execute, load};

use crate::action::{self, Action};
use crate::error::DomainError;
use crate::plan::{self, Plan};
use crate::service::{PlanService, execute_error, store_error};

/// What [`decide_import_structure`] adds to the plan stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StructureImport {
    pub events: Vec<pb::PlanEvent>,
    pub plan_created: bool,
    pub axes_added: u64,
    pub strategies_added: u64,
    pub already_present: u64,
}

/// Renames a `CreatePlan` field to its place in the import document.
fn header_field(e: DomainError) -> DomainError {
    match e {
        DomainError::Invalid { field, message } => {
            let field = match field.as_str() {
                "period_from" => "plan.period.from".to_owned(),
                "period_to" => "plan.period.to".to_owned(),
                other => format!("plan.{other}"),
            };
            DomainError::Invalid { field, message }
        }
        other => other.within("plan."),
    }
}

fn listed_twice(field: String, code: &str) -> DomainError {
    DomainError::invalid(field, format!("{code} is listed twice"))
}

/// Decides the plan-stream part of an import: `PlanCreated` when the plan is missing,
/// then `AxisAdded` and `StrategyAdded` for the axes and strategies it lacks, each
/// decided by the same rules as the commands, on the state the previous ones left.
///
/// # Errors
/// The first broken rule, its field named by its path in the document.
pub fn decide_import_structure(
    plan: &Plan,
    import: &PlanImport,
) -> Result<StructureImport, DomainError> {
    let code: PlanCode = import
        .plan
        .code
        .trim()
        .parse()
        .map_err(|m: String| DomainError::invalid("plan.code", m))?;
    let code = code.to_string();
    let mut work = plan.clone();
    let mut out = StructureImport::default();
    fn take(work: &mut Plan, out: &mut StructureImport, events: Vec<pb::PlanEvent>) {
        for e in &events {
            work.apply(e);
        }
        out.events.extend(events);
    }
    if !work.exists() {
        let h = &import.plan;
        let events = plan::decide_create_plan(
            &work,
            &CreatePlan {
                code: code.clone(),
                title: h.title.clone(),
                short_title: h.short_title.clone(),
                owner: h.owner.clone(),
                period_from: h.period.from.clone(),
                period_to: h.period.to.clone(),
            },
        )
        .map_err(header_field)?;
        take(&mut work, &mut out, events);
        out.plan_created = true;
    }
    let mut seen = BTreeSet::new();
    for (i, a) in import.axes.iter().enumerate() {
        let at = format!("axes[{i}].");
        let key = a.code.trim();
        if !seen.insert(key.to_owned()) {
            return Err(listed_twice(format!("{at}code"), key));
        }
        if plan.axes.contains_key(key) {
            out.already_present += 1;
            continue;
        }
        let body = AddAxis {
            code: a.code.clone(),
            name: a.name.clone(),
            slogan: a.slogan.clone(),
            description: a.description.clone(),
            pnrr_mission: a.pnrr_mission.clone(),
            position: None,
        };
        let events = plan::decide_add_axis(&work, &code, &body).map_err(|e| e.within(&at))?;
        take(&mut work, &mut out, events);
        out.axes_added += 1;
    }
    for (i, s) in import.strategies.iter().enumerate() {
        let at = format!("strategies[{i}].");
        let key = s.code.trim();
        if !seen.insert(key.to_owned()) {
            return Err(listed_twice(format!("{at}code"), key));
        }
        if plan.strategies.contains_key(key) {
            out.already_present += 1;
            continue;
        }
        let body = AddStrategy {
            code: s.code.clone(),
            axis: s.axis.clone(),
            name: s.name.clone(),
            description: s.description.clone(),
            position: None,
        };
        let events = plan::decide_add_strategy(&work, &code, &body).map_err(|e| e.within(&at))?;
        take(&mut work, &mut out, events);
        out.strategies_added += 1;
    }
    Ok(out)
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

pub(crate) async fn run(
    service: &PlanService,
    ctx: &CommandContext,
    import: PlanImport,
    progress: Option<&(dyn Fn(u64, u64) + Send + Sync)>,
) -> Result<ImportSummary, ApiError> {
    let store = service.store();
    let report = |done: u64, total: u64| {
        if let Some(p) = progress {
            p(done, total);
        }
    };
    let code = import
        .plan
        .code
        .trim()
        .parse::<PlanCode>()
        .map_err(|m| ApiError::validation("plan.code", m))?
        .to_string();
    let plan_stream = streams::plan(&code);
    let structure_items = 1 + count(import.axes.len()) + count(import.strategies.len());
    let total = structure_items + count(import.actions.len());

    // Check the whole document against the current state before writing anything.
    let current = load::<Plan>(store, &plan_stream)
        .await
        .map_err(store_error)?
        .state;
    let dry = decide_import_structure(&current, &import)?;
    let mut planned = current.clone();
    for e in &dry.events {
        planned.apply(e);
    }
    let mut seen = BTreeSet::new();
    let mut missing = Vec::new();
    for (i, a) in import.actions.iter().enumerate() {
        let at = format!("actions[{i}].");
        let action_code = ItemCode::parse_level(a.code.trim(), Level::Action)
            .map_err(|m| ApiError::validation(format!("{at}code"), m))?
            .to_string();
        if !seen.insert(action_code.clone()) {
            return Err(listed_twice(format!("{at}code"), &action_code).into());
        }
        let stream = streams::action(&code, &action_code);
        if store
            .stream_version(&stream)
            .await
            .map_err(store_error)?
            .is_none()
        {
            action::decide_import_action(&planned, &Action::default(), &code, a)
                .map_err(|e| ApiError::from(e.within(&at)))?;
            missing.push((i, stream));
        }
    }

    // Write: the structure in one batch, then each missing action.
    let mut summary = ImportSummary {
        plan: code.clone(),
        ..ImportSummary::default()
    };
    let mut last_position = None;
    let mut decided = StructureImport::default();
    let executed = execute::<Plan, DomainError, _>(store, &plan_stream, &ctx.metadata(), |p, _| {
        decided = decide_import_structure(p, &import)?;
        Ok(decided.events.clone())
    })
    .await
    .map_err(execute_error)?;
    if let Some(a) = executed.append {
        last_position = Some(a.last_position);
    }
    summary.plan_created = decided.plan_created;
    summary.axes_added = decided.axes_added;
    summary.strategies_added = decided.strategies_added;
    summary.already_present = decided.already_present;
    let plan_now = executed.state;
    let mut done = structure_items;
    report(done, total);

    summary.already_present += count(import.actions.len() - missing.len());
    done += count(import.actions.len() - missing.len());
    report(done, total);
    for (i, stream) in missing {
        let item = &import.actions[i];
        let mut present = false;
        let executed =
            execute::<Action, DomainError, _>(store, &stream, &ctx.metadata(), |a, _| {
                // Added by someone else since the check: leave it.
                present = a.exists();
                if present {
                    return Ok(Vec::new());
                }
                action::decide_import_action(&plan_now, a, &code, item)
            })
            .await
            .map_err(|e| match e {
                metroplan_eventstore::aggregate::ExecuteError::Decision(d) => {
                    ApiError::from(d.within(&format!("actions[{i}].")))
                }
                other => execute_error(other),
            })?;
        if let Some(a) = executed.append {
            last_position = Some(a.last_position);
            summary.actions_added += 1;
        } else if present {
            summary.already_present += 1;
        }
        done += 1;
        report(done, total);
    }
    summary.position = match last_position {
        Some(p) => p,
        None => store.head_position().await.map_err(store_error)?,
    };
    tracing::info!(
        plan = %summary.plan,
        plan_created = summary.plan_created,
        axes = summary.axes_added,
        strategies = summary.strategies_added,
        actions = summary.actions_added,
        already_present = summary.already_present,
        "plan imported"
    );
    Ok(summary)
}
