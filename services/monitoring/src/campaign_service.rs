//! The I/O around the [`crate::campaign`] decisions: parse the path ids, read what the
//! decision needs from the plan service's streams (whether the plan exists, its
//! strategies, the standing of the actions the questions name), then decide and append
//! on `campaign:<plan>/<campaign>` through
//! [`execute`](metroplan_eventstore::aggregate::execute), which decides again on fresh
//! state after a lost race.

use metroplan_api::monitoring::MonitoringCommand;
use metroplan_api::questionnaire::{CampaignId, SetQuestions};
use metroplan_api::values::PlanCode;
use metroplan_api::{ApiError, CommandContext, CommandOutcome};
use metroplan_events::{pb, streams};
use metroplan_eventstore::EventStore;
use metroplan_eventstore::aggregate::execute;

use crate::campaign::{
    Campaign, PlanSubjects, Target, decide_close, decide_draft, decide_invite, decide_open,
    decide_questions, decide_replace_link, decide_submit,
};
use crate::plan_facts::{ActionStanding, action_standing, plan_strategies};
use crate::service::{execute_failure, outcome, parse_plan, store_failure};

fn parse_campaign(raw: &str) -> Result<CampaignId, ApiError> {
    raw.parse().map_err(|m| ApiError::validation("campaign", m))
}

/// Runs one campaign command.
///
/// # Errors
/// As [`crate::MonitoringService::handle`].
pub(crate) async fn handle(
    store: &dyn EventStore,
    ctx: &CommandContext,
    cmd: MonitoringCommand,
) -> Result<CommandOutcome, ApiError> {
    match cmd {
        MonitoringCommand::DraftCampaign { plan, body } => {
            let plan = parse_plan(&plan)?;
            let id = parse_campaign(body.id.trim()).map_err(|e| match e {
                ApiError::Validation { message, .. } => ApiError::validation("id", message),
                other => other,
            })?;
            let plan_exists = plan_strategies(store, &plan)
                .await
                .map_err(store_failure)?
                .is_some();
            let mut done = run(store, ctx, &plan, &id, |state| {
                decide_draft(state, &plan, plan_exists, &body)
            })
            .await?;
            done.id = Some(id.to_string());
            Ok(done)
        }
        MonitoringCommand::SetQuestions {
            plan,
            campaign,
            body,
        } => {
            let plan = parse_plan(&plan)?;
            let id = parse_campaign(&campaign)?;
            let subjects = subjects(store, &plan, &body).await?;
            run(store, ctx, &plan, &id, |state| {
                decide_questions(state, target(&plan, &id), &subjects, &body)
            })
            .await
        }
        MonitoringCommand::OpenCampaign { plan, campaign } => {
            let plan = parse_plan(&plan)?;
            let id = parse_campaign(&campaign)?;
            run(store, ctx, &plan, &id, |state| {
                decide_open(state, target(&plan, &id))
            })
            .await
        }
        MonitoringCommand::InviteOrganisation {
            plan,
            campaign,
            organisation,
            link,
        } => {
            let plan = parse_plan(&plan)?;
            let id = parse_campaign(&campaign)?;
            run(store, ctx, &plan, &id, |state| {
                decide_invite(state, target(&plan, &id), &organisation, &link)
            })
            .await
        }
        MonitoringCommand::ReplaceLink {
            plan,
            campaign,
            organisation,
            link,
        } => {
            let plan = parse_plan(&plan)?;
            let id = parse_campaign(&campaign)?;
            run(store, ctx, &plan, &id, |state| {
                decide_replace_link(state, target(&plan, &id), &organisation, &link)
            })
            .await
        }
        MonitoringCommand::SubmitAnswers {
            plan,
            campaign,
            link,
            body,
        } => {
            let plan = parse_plan(&plan)?;
            let id = parse_campaign(&campaign)?;
            run(store, ctx, &plan, &id, |state| {
                decide_submit(state, target(&plan, &id), &link, &body)
            })
            .await
        }
        MonitoringCommand::CloseCampaign { plan, campaign } => {
            let plan = parse_plan(&plan)?;
            let id = parse_campaign(&campaign)?;
            run(store, ctx, &plan, &id, |state| {
                decide_close(state, target(&plan, &id))
            })
            .await
        }
        other => Err(ApiError::internal(format!(
            "not a campaign command: {other:?}"
        ))),
    }
}

fn target<'a>(plan: &'a PlanCode, campaign: &'a CampaignId) -> Target<'a> {
    Target { plan, campaign }
}

/// The plan's strategies, and the standing of every action the questions name.
async fn subjects(
    store: &dyn EventStore,
    plan: &PlanCode,
    body: &SetQuestions,
) -> Result<PlanSubjects, ApiError> {
    let Some(strategies) = plan_strategies(store, plan).await.map_err(store_failure)? else {
        return Err(ApiError::not_found(format!("plan {plan}")));
    };
    let mut subjects = PlanSubjects {
        strategies: strategies.strategies,
        actions: Default::default(),
    };
    for q in &body.questions {
        if !matches!(q.about.trim(), "action" | "actions") {
            continue;
        }
        for code in &q.subjects {
            let code = code.trim();
            if subjects.actions.contains_key(code) || code.is_empty() {
                continue;
            }
            let standing = action_standing(store, plan.as_str(), code)
                .await
                .map_err(store_failure)?;
            subjects
                .actions
                .insert(code.to_owned(), standing == ActionStanding::Live);
        }
    }
    Ok(subjects)
}

/// Decides on the campaign's stream and appends.
async fn run(
    store: &dyn EventStore,
    ctx: &CommandContext,
    plan: &PlanCode,
    id: &CampaignId,
    mut decide: impl FnMut(&Campaign) -> Result<Vec<pb::CampaignEvent>, ApiError>,
) -> Result<CommandOutcome, ApiError> {
    let stream = streams::campaign(plan.as_str(), id.as_str());
    let executed =
        execute::<Campaign, ApiError, _>(store, &stream, &ctx.metadata(), |state, _| decide(state))
            .await
            .map_err(execute_failure)?;
    let append = executed
        .append
        .ok_or_else(|| ApiError::internal("a campaign command appended no event"))?;
    tracing::info!(%stream, version = append.stream_version, position = append.last_position, events = ?executed.event_types, "campaign command recorded");
    Ok(outcome(stream, append, &executed.event_types))
}
