//! Concertation tables and agreements.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use metroplan_api::partnership::*;
use metroplan_bus::Command;
use metroplan_projector::Query;
use metroplan_projector::views::*;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Consistency, found_at, json, json_etag, send};
use crate::extract::{Auth, Body};
use crate::{AppState, HttpError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tables, create_table))
        .routes(routes!(get_table))
        .routes(routes!(add_member))
        .routes(routes!(remove_member))
        .routes(routes!(record_meeting))
        .routes(routes!(list_agreements, draft_agreement))
        .routes(routes!(agreements_by_party))
        .routes(routes!(agreements_of_action))
        .routes(routes!(get_agreement))
        .routes(routes!(add_party))
        .routes(routes!(remove_party))
        .routes(routes!(link_action))
        .routes(routes!(unlink_action))
        .routes(routes!(make_commitment))
        .routes(routes!(withdraw_commitment))
        .routes(routes!(sign_agreement))
        .routes(routes!(amend_agreement))
        .routes(routes!(terminate_agreement))
}

type Answer = Result<Response, HttpError>;

fn cmd(c: PartnershipCommand) -> Command {
    Command::Partnership(c)
}

#[utoipa::path(get, path = "/api/v1/plans/{plan}/tables", tag = "partnership", params(("plan" = String, Path), Consistency),
    responses((status = 200, body = [TableView])))]
async fn list_tables(
    State(s): State<AppState>,
    _a: Auth,
    c: Consistency,
    Path(plan): Path<String>,
) -> Answer {
    Ok(json(
        found_at(&s, &c, Query::Tables { plan: plan.clone() }, String::new).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/tables", tag = "partnership", params(("plan" = String, Path)), request_body = CreateTable,
    responses((status = 201, body = metroplan_api::CommandOutcome, description = "`id` names the new table")))]
async fn create_table(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path(plan): Path<String>,
    Body(body): Body<CreateTable>,
) -> Answer {
    send(
        &s,
        a,
        &h,
        cmd(PartnershipCommand::CreateTable { plan, body }),
        true,
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/tables/{table}", tag = "partnership", params(("table" = String, Path), Consistency),
    responses((status = 200, body = TableView), (status = 404)))]
async fn get_table(
    State(s): State<AppState>,
    _a: Auth,
    c: Consistency,
    Path(table): Path<String>,
) -> Answer {
    let t = found_at(&s, &c, Query::Table { id: table.clone() }, || {
        format!("table {table}")
    })
    .await?;
    Ok(json_etag(t))
}

#[utoipa::path(post, path = "/api/v1/tables/{table}/members", tag = "partnership", params(("table" = String, Path)), request_body = AddTableMember,
    responses((status = 200, body = metroplan_api::CommandOutcome)))]
async fn add_member(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path(table_id): Path<String>,
    Body(body): Body<AddTableMember>,
) -> Answer {
    send(
        &s,
        a,
        &h,
        cmd(PartnershipCommand::AddTableMember { table_id, body }),
        false,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/tables/{table}/members/remove", tag = "partnership", params(("table" = String, Path)), request_body = RemoveTableMember,
    responses((status = 200, body = metroplan_api::CommandOutcome)))]
async fn remove_member(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path(table_id): Path<String>,
    Body(body): Body<RemoveTableMember>,
) -> Answer {
    send(
        &s,
        a,
        &h,
        cmd(PartnershipCommand::RemoveTableMember { table_id, body }),
        false,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/tables/{table}/meetings", tag = "partnership", params(("table" = String, Path)), request_body = RecordMeeting,
    responses((status = 200, body = metroplan_api::CommandOutcome)))]
async fn record_meeting(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path(table_id): Path<String>,
    Body(body): Body<RecordMeeting>,
) -> Answer {
    send(
        &s,
        a,
        &h,
        cmd(PartnershipCommand::RecordMeeting { table_id, body }),
        false,
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/plans/{plan}/agreements", tag = "partnership", params(("plan" = String, Path), Consistency),
    responses((status = 200, body = [AgreementView])))]
async fn list_agreements(
    State(s): State<AppState>,
    _a: Auth,
    c: Consistency,
    Path(plan): Path<String>,
) -> Answer {
    Ok(json(
        found_at(&s, &c, Query::Agreements { plan: plan.clone() }, || {
            String::new()
        })
        .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/agreements", tag = "partnership", params(("plan" = String, Path)), request_body = DraftAgreement,
    responses((status = 201, body = metroplan_api::CommandOutcome, description = "`id` names the new agreement")))]
async fn draft_agreement(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path(plan): Path<String>,
    Body(body): Body<DraftAgreement>,
) -> Answer {
    send(
        &s,
        a,
        &h,
        cmd(PartnershipCommand::DraftAgreement { plan, body }),
        true,
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/plans/{plan}/agreements/by-party", tag = "partnership", params(("plan" = String, Path), Consistency),
    responses((status = 200, body = [PartyAgreements])))]
async fn agreements_by_party(
    State(s): State<AppState>,
    _a: Auth,
    c: Consistency,
    Path(plan): Path<String>,
) -> Answer {
    Ok(json(
        found_at(
            &s,
            &c,
            Query::AgreementsByParty { plan: plan.clone() },
            String::new,
        )
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/plans/{plan}/actions/{action}/agreements", tag = "partnership", params(("plan" = String, Path), ("action" = String, Path), Consistency),
    responses((status = 200, body = [AgreementView])))]
async fn agreements_of_action(
    State(s): State<AppState>,
    _a: Auth,
    c: Consistency,
    Path((plan, action)): Path<(String, String)>,
) -> Answer {
    Ok(json(
        found_at(
            &s,
            &c,
            Query::AgreementsOfAction {
                plan: plan.clone(),
                action: action.clone(),
            },
            String::new,
        )
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/agreements/{agreement}", tag = "partnership", params(("agreement" = String, Path), Consistency),
    responses((status = 200, body = AgreementView), (status = 404)))]
async fn get_agreement(
    State(s): State<AppState>,
    _a: Auth,
    c: Consistency,
    Path(id): Path<String>,
) -> Answer {
    let g = found_at(&s, &c, Query::Agreement { id: id.clone() }, || {
        format!("agreement {id}")
    })
    .await?;
    Ok(json_etag(g))
}

macro_rules! agreement_command {
    ($name:ident, $path:literal, $body:ty, $variant:ident) => {
        #[utoipa::path(post, path = $path, tag = "partnership", params(("agreement" = String, Path)), request_body = $body,
            responses((status = 200, body = metroplan_api::CommandOutcome)))]
        async fn $name(State(s): State<AppState>, a: Auth, h: HeaderMap, Path(agreement_id): Path<String>, Body(body): Body<$body>) -> Answer {
            send(&s, a, &h, cmd(PartnershipCommand::$variant { agreement_id, body }), false).await
        }
    };
}

agreement_command!(
    add_party,
    "/api/v1/agreements/{agreement}/parties",
    AddParty,
    AddParty
);
agreement_command!(
    remove_party,
    "/api/v1/agreements/{agreement}/parties/remove",
    RemoveParty,
    RemoveParty
);
agreement_command!(
    link_action,
    "/api/v1/agreements/{agreement}/actions",
    LinkAction,
    LinkAction
);
agreement_command!(
    unlink_action,
    "/api/v1/agreements/{agreement}/actions/unlink",
    UnlinkAction,
    UnlinkAction
);
agreement_command!(
    make_commitment,
    "/api/v1/agreements/{agreement}/commitments",
    MakeCommitment,
    MakeCommitment
);
agreement_command!(
    withdraw_commitment,
    "/api/v1/agreements/{agreement}/commitments/withdraw",
    WithdrawCommitment,
    WithdrawCommitment
);
agreement_command!(
    sign_agreement,
    "/api/v1/agreements/{agreement}/sign",
    SignAgreement,
    SignAgreement
);
agreement_command!(
    amend_agreement,
    "/api/v1/agreements/{agreement}/amend",
    AmendAgreement,
    AmendAgreement
);
agreement_command!(
    terminate_agreement,
    "/api/v1/agreements/{agreement}/terminate",
    TerminateAgreement,
    TerminateAgreement
);
