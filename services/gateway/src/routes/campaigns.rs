//! Questionnaire campaigns: editors and admins draft a campaign, set its questions,
//! invite organisations, open and close it; every signed-in role reads campaigns and
//! their results; an invited organisation answers through its personal link, with no
//! account.
//!
//! The choice for personal links: the gateway makes the secret (32 random bytes, hex),
//! sends the monitoring service only its SHA-256 and answers the secret once, in the
//! invitation's answer; the log, the bus and the read models never hold it. A link's
//! routes hash the secret from the URL and find the campaign and organisation by that
//! hash in the read models; the service then checks the hash against the campaign's
//! invitations before accepting an answer set. An unknown or malformed secret is a
//! 404, like a campaign that does not exist.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use metroplan_api::monitoring::MonitoringCommand;
use metroplan_api::questionnaire::*;
use metroplan_api::{ApiError, Caller, CommandContext, Role};
use metroplan_bus::Command;
use metroplan_projector::Query;
use metroplan_projector::campaigns::*;
use rand::RngCore;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Consistency, dispatch, found_at, json, json_etag, send};
use crate::extract::{Auth, Body};
use crate::{AppState, HttpError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_campaigns, draft_campaign))
        .routes(routes!(get_campaign))
        .routes(routes!(set_questions))
        .routes(routes!(invite_organisation))
        .routes(routes!(replace_link))
        .routes(routes!(open_campaign))
        .routes(routes!(close_campaign))
        .routes(routes!(campaign_results))
        .routes(routes!(get_questionnaire))
        .routes(routes!(submit_answers))
}

type Answer = Result<Response, HttpError>;

fn cmd(c: MonitoringCommand) -> Command {
    Command::Monitoring(c)
}

/// The hash of a link's secret, or `None` for what no invitation can have made.
fn link_hash(secret: &str) -> Option<LinkHash> {
    let ok = secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| LinkHash::try_from(hex::encode(Sha256::digest(secret.as_bytes()))).ok())
        .flatten()
}

/// `path` as logs may show it: a personal link's secret replaced by `<secret>`.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    const PREFIX: &str = "/api/v1/questionnaire/";
    match path.strip_prefix(PREFIX) {
        Some(rest) => {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            format!("{PREFIX}<secret>{tail}").into()
        }
        None => path.into(),
    }
}

fn unknown_link() -> HttpError {
    ApiError::not_found("questionnaire link").into()
}

#[utoipa::path(get, path = "/api/v1/plans/{plan}/campaigns", tag = "questionnaires",
    params(("plan" = String, Path), Consistency),
    responses((status = 200, body = Vec<CampaignSummary>, description = "Every campaign of the plan, with its state and how many were invited and answered")))]
async fn list_campaigns(
    State(s): State<AppState>,
    _a: Auth,
    c: Consistency,
    Path(plan): Path<String>,
) -> Answer {
    let list = found_at(&s, &c, Query::Campaigns { plan }, String::new).await?;
    Ok(json(list))
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/campaigns", tag = "questionnaires",
    params(("plan" = String, Path)), request_body = DraftCampaign,
    responses((status = 201, body = metroplan_api::CommandOutcome, description = "Editors and admins; `id` is the campaign's"),
        (status = 409, description = "A campaign with that id exists")))]
async fn draft_campaign(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path(plan): Path<String>,
    Body(body): Body<DraftCampaign>,
) -> Answer {
    send(
        &s,
        a,
        &h,
        cmd(MonitoringCommand::DraftCampaign { plan, body }),
        true,
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/plans/{plan}/campaigns/{campaign}", tag = "questionnaires",
    params(("plan" = String, Path), ("campaign" = String, Path), Consistency),
    responses((status = 200, body = CampaignView,
        description = "The campaign, its questions, and every invited organisation with whether and when it answered (never its link)"),
        (status = 404)))]
async fn get_campaign(
    State(s): State<AppState>,
    _a: Auth,
    c: Consistency,
    Path((plan, campaign)): Path<(String, String)>,
) -> Answer {
    let view = found_at(
        &s,
        &c,
        Query::Campaign {
            plan: plan.clone(),
            campaign: campaign.clone(),
        },
        || format!("campaign {campaign} of plan {plan}"),
    )
    .await?;
    Ok(json_etag(view))
}

#[utoipa::path(put, path = "/api/v1/plans/{plan}/campaigns/{campaign}/questions", tag = "questionnaires",
    params(("plan" = String, Path), ("campaign" = String, Path)), request_body = SetQuestions,
    responses((status = 200, body = metroplan_api::CommandOutcome, description = "Editors and admins: the whole list, while the campaign is drafted"),
        (status = 409, description = "The campaign is open or closed"),
        (status = 422, description = "A question breaks a rule; `field` names it (`questions[1].choices`)")))]
async fn set_questions(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path((plan, campaign)): Path<(String, String)>,
    Body(body): Body<SetQuestions>,
) -> Answer {
    send(
        &s,
        a,
        &h,
        cmd(MonitoringCommand::SetQuestions {
            plan,
            campaign,
            body,
        }),
        false,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/campaigns/{campaign}/invitations", tag = "questionnaires",
    params(("plan" = String, Path), ("campaign" = String, Path)), request_body = InviteOrganisation,
    responses((status = 201, body = InvitationOutcome,
        description = "Editors and admins. The personal link's secret is in this answer only: the platform keeps its SHA-256"),
        (status = 409, description = "The organisation is invited already, or the campaign is closed")))]
async fn invite_organisation(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path((plan, campaign)): Path<(String, String)>,
    Body(body): Body<InviteOrganisation>,
) -> Answer {
    with_new_link(&s, a, &h, &body.organisation, |organisation, link| {
        MonitoringCommand::InviteOrganisation {
            plan,
            campaign,
            organisation,
            link,
        }
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/campaigns/{campaign}/links", tag = "questionnaires",
    params(("plan" = String, Path), ("campaign" = String, Path)), request_body = InviteOrganisation,
    responses((status = 201, body = InvitationOutcome,
        description = "Editors and admins: a new personal link for an invited organisation that lost its own; the previous link stops working, the answers stay"),
        (status = 404, description = "The organisation is not invited"),
        (status = 409, description = "The campaign is closed")))]
async fn replace_link(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path((plan, campaign)): Path<(String, String)>,
    Body(body): Body<InviteOrganisation>,
) -> Answer {
    with_new_link(&s, a, &h, &body.organisation, |organisation, link| {
        MonitoringCommand::ReplaceLink {
            plan,
            campaign,
            organisation,
            link,
        }
    })
    .await
}

/// Makes a link's secret, sends `command` with its hash, and answers the secret once.
async fn with_new_link(
    s: &AppState,
    a: Auth,
    h: &HeaderMap,
    organisation: &str,
    command: impl FnOnce(String, LinkHash) -> MonitoringCommand,
) -> Answer {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let link = link_hash(&secret).ok_or_else(|| ApiError::internal("a fresh link is malformed"))?;
    let organisation = organisation.trim().to_owned();
    let outcome = dispatch(s, a, h, cmd(command(organisation.clone(), link))).await?;
    let answer = InvitationOutcome {
        link: format!("/#/questionnaire/{secret}"),
        api: format!("/api/v1/questionnaire/{secret}"),
        secret,
        organisation,
        outcome,
    };
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/campaigns/{campaign}/open", tag = "questionnaires",
    params(("plan" = String, Path), ("campaign" = String, Path)),
    responses((status = 200, body = metroplan_api::CommandOutcome, description = "Editors and admins: invited organisations may answer from now"),
        (status = 409, description = "Not drafted, or no questions yet")))]
async fn open_campaign(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path((plan, campaign)): Path<(String, String)>,
) -> Answer {
    send(
        &s,
        a,
        &h,
        cmd(MonitoringCommand::OpenCampaign { plan, campaign }),
        false,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/campaigns/{campaign}/close", tag = "questionnaires",
    params(("plan" = String, Path), ("campaign" = String, Path)),
    responses((status = 200, body = metroplan_api::CommandOutcome, description = "Editors and admins: no answer set is accepted or changed any more; the results are final"),
        (status = 409, description = "The campaign is not open")))]
async fn close_campaign(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path((plan, campaign)): Path<(String, String)>,
) -> Answer {
    send(
        &s,
        a,
        &h,
        cmd(MonitoringCommand::CloseCampaign { plan, campaign }),
        false,
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/plans/{plan}/campaigns/{campaign}/results", tag = "questionnaires",
    params(("plan" = String, Path), ("campaign" = String, Path), Consistency),
    responses((status = 200, body = CampaignResults,
        description = "Every organisation's last answer set aggregated per question, per strategy and per action (rule `campaign-results-v1`); `final` once closed"),
        (status = 404)))]
async fn campaign_results(
    State(s): State<AppState>,
    _a: Auth,
    c: Consistency,
    Path((plan, campaign)): Path<(String, String)>,
) -> Answer {
    let results = found_at(
        &s,
        &c,
        Query::CampaignResults {
            plan: plan.clone(),
            campaign: campaign.clone(),
        },
        || format!("campaign {campaign} of plan {plan}"),
    )
    .await?;
    Ok(json_etag(results))
}

#[utoipa::path(get, path = "/api/v1/questionnaire/{secret}", tag = "questionnaires", security(()),
    params(("secret" = String, Path, description = "The personal link's secret: the credential, no token needed"), Consistency),
    responses((status = 200, body = QuestionnaireView,
        description = "The campaign's questions and this organisation's current answers"),
        (status = 404, description = "No campaign issued this link")))]
async fn get_questionnaire(
    State(s): State<AppState>,
    c: Consistency,
    Path(secret): Path<String>,
) -> Answer {
    let link = link_hash(&secret).ok_or_else(unknown_link)?;
    let view = found_at(
        &s,
        &c,
        Query::CampaignLink {
            link: link.as_str().to_owned(),
        },
        || "questionnaire link".to_owned(),
    )
    .await?;
    Ok(json(view))
}

#[utoipa::path(put, path = "/api/v1/questionnaire/{secret}/answers", tag = "questionnaires", security(()),
    params(("secret" = String, Path, description = "The personal link's secret: the credential, no token needed")),
    request_body = SubmitAnswers,
    responses((status = 200, body = metroplan_api::CommandOutcome,
        description = "The organisation's whole answer set, replacing the previous one"),
        (status = 400, description = "Not an answer set: `field` names the JSON path (`answers[2].value`)"),
        (status = 404, description = "No campaign issued this link"),
        (status = 409, description = "The campaign is not open (not yet, or closed)"),
        (status = 422, description = "An answer does not fit its question (`answers[2].value`), or a required one is missing (`answers`)")))]
async fn submit_answers(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(secret): Path<String>,
    Body(body): Body<SubmitAnswers>,
) -> Answer {
    let link = link_hash(&secret).ok_or_else(unknown_link)?;
    let found = found_at(
        &s,
        &Consistency::default(),
        Query::CampaignLink {
            link: link.as_str().to_owned(),
        },
        || "questionnaire link".to_owned(),
    )
    .await?;
    let field = |name: &str| {
        found
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ApiError::internal(format!("a questionnaire view without {name}")))
    };
    let (plan, campaign, organisation) =
        (field("plan")?, field("campaign")?, field("organisation")?);
    // The link stands for its organisation; it may only answer (see `Command::permits`).
    let caller = Caller {
        actor: format!("questionnaire link of {organisation}"),
        organisation,
        role: Role::Viewer,
    };
    let reason = h
        .get("x-reason")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
        .filter(|r| !r.is_empty());
    let ctx = CommandContext {
        caller,
        reason,
        correlation_id: uuid::Uuid::now_v7(),
    };
    let outcome = s
        .bus
        .dispatch(
            ctx,
            cmd(MonitoringCommand::SubmitAnswers {
                plan,
                campaign,
                link,
                body,
            }),
        )
        .await?;
    Ok(super::with_etag(&outcome, outcome.version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_never_show_a_links_secret() {
        let secret = "ab".repeat(32);
        assert_eq!(
            loggable_path(&format!("/api/v1/questionnaire/{secret}/answers")),
            "/api/v1/questionnaire/<secret>/answers"
        );
        assert_eq!(
            loggable_path(&format!("/api/v1/questionnaire/{secret}")),
            "/api/v1/questionnaire/<secret>"
        );
        assert_eq!(loggable_path("/api/v1/plans"), "/api/v1/plans");
    }

    #[test]
    fn a_link_is_64_hex_digits_hashed_with_sha256() {
        let h = link_hash(&"0".repeat(64)).unwrap();
        assert_eq!(h.as_str().len(), 64);
        assert!(link_hash("0").is_none());
        assert!(link_hash(&"z".repeat(64)).is_none());
    }
}
