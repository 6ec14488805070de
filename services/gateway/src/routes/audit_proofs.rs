//! Tamper evidence for auditors: the log's verifier keys, its signed checkpoints, and
//! Merkle proofs (inclusion of an event in a checkpoint's tree, consistency of an older
//! checkpoint with a newer one), as `metroplan_audit` computes and checks them.
//!
//! Encoding: Merkle hashes (roots and proof hashes) are standard base64, as in a C2SP
//! checkpoint; an event's chain hash (the leaf's data, the `hash` of `metroplan events`)
//! is hex. The verifier key is public and served to anyone; checkpoints and proofs to
//! any authenticated caller (auditors included).

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use metroplan_api::ApiError;
use metroplan_audit::{AuditLog, StoredCheckpoint, TreeError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{json, query_field};
use crate::extract::Auth;
use crate::{AppState, HttpError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public_key))
        .routes(routes!(checkpoints))
        .routes(routes!(latest_checkpoint))
        .routes(routes!(inclusion_proof))
        .routes(routes!(consistency_proof))
}

type Answer = Result<Response, HttpError>;

/// Most checkpoints in one page.
const MAX_CHECKPOINTS: usize = 1000;

fn audit(state: &AppState) -> Result<&Arc<AuditLog>, HttpError> {
    state.audit.as_ref().ok_or_else(|| {
        ApiError::Unavailable {
            message: "this gateway does not serve checkpoints and proofs".into(),
        }
        .into()
    })
}

fn params<T: serde::de::DeserializeOwned>(
    uri: &axum::http::Uri,
    names: &[&str],
) -> Result<T, HttpError> {
    axum::extract::Query::<T>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| HttpError::BadQuery {
            field: query_field(&e.body_text(), names),
            message: e.body_text(),
        })
}

fn out_of_range(field: &str, e: TreeError) -> HttpError {
    match e {
        TreeError::OutOfRange(message) => ApiError::validation(field, message).into(),
        other => ApiError::internal(other).into(),
    }
}

fn to_json<T: Serialize>(value: &T) -> Answer {
    Ok(json(
        serde_json::to_value(value).map_err(ApiError::internal)?,
    ))
}

/// The verifier keys checkpoints are signed with.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicKeys {
    /// The log's origin (the first line of every checkpoint), when this process signs.
    pub origin: Option<String>,
    /// C2SP signed-note verifier keys (`name+keyid+base64`): the current one first, then
    /// retired ones, which still verify older checkpoints.
    pub keys: Vec<String>,
}

/// The verifier keys of the log's checkpoints (public).
#[utoipa::path(get, path = "/api/v1/audit/public-key", tag = "audit", security(()),
    responses((status = 200, body = PublicKeys), (status = 503, description = "no audit log here")))]
async fn public_key(State(state): State<AppState>) -> Answer {
    let audit = audit(&state)?;
    to_json(&PublicKeys {
        origin: audit.origin().map(str::to_owned),
        keys: audit.public_keys().keys().to_vec(),
    })
}

/// A signed checkpoint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Checkpoint {
    /// Events covered: positions `1..=tree_size`.
    pub tree_size: u64,
    /// The Merkle root, base64 (as in the note), when the note parses.
    pub root: Option<String>,
    /// The C2SP signed note, verbatim: keep it to check later logs against it.
    pub note: String,
    pub recorded_at: DateTime<Utc>,
}

impl From<StoredCheckpoint> for Checkpoint {
    fn from(c: StoredCheckpoint) -> Self {
        Self {
            root: metroplan_audit::signing::parse_unverified(&c.note)
                .ok()
                .map(|(_, root)| root.to_string()),
            tree_size: c.tree_size,
            note: c.note,
            recorded_at: c.recorded_at,
        }
    }
}

/// Which checkpoints to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CheckpointPage {
    /// Checkpoints of a tree size larger than this (the last one of the previous page).
    pub after: Option<u64>,
    /// At most this many (default and maximum 1000).
    pub limit: Option<usize>,
}

/// A page of checkpoints.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Checkpoints {
    pub checkpoints: Vec<Checkpoint>,
    /// The `after` of the next page, when there may be one.
    pub next_after: Option<u64>,
}

/// Signed checkpoints, by tree size.
#[utoipa::path(get, path = "/api/v1/audit/checkpoints", tag = "audit", params(CheckpointPage),
    responses((status = 200, body = Checkpoints), (status = 401, description = "no token")))]
async fn checkpoints(
    State(state): State<AppState>,
    Auth(_caller): Auth,
    uri: axum::http::Uri,
) -> Answer {
    let page: CheckpointPage = params(&uri, &["after", "limit"])?;
    let limit = page
        .limit
        .unwrap_or(MAX_CHECKPOINTS)
        .clamp(1, MAX_CHECKPOINTS);
    let found = audit(&state)?
        .checkpoints()
        .list(page.after.unwrap_or(0), limit)
        .await
        .map_err(ApiError::internal)?;
    let next_after = (found.len() == limit)
        .then(|| found.last().map(|c| c.tree_size))
        .flatten();
    to_json(&Checkpoints {
        checkpoints: found.into_iter().map(Checkpoint::from).collect(),
        next_after,
    })
}

/// The latest signed checkpoint.
#[utoipa::path(get, path = "/api/v1/audit/checkpoints/latest", tag = "audit",
    responses((status = 200, body = Checkpoint), (status = 404, description = "no checkpoint yet")))]
async fn latest_checkpoint(State(state): State<AppState>, Auth(_caller): Auth) -> Answer {
    let latest = audit(&state)?
        .checkpoints()
        .latest()
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("checkpoint"))?;
    to_json(&Checkpoint::from(latest))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionParams {
    /// The event's global position.
    pub position: u64,
    /// The size of the checkpoint's tree.
    pub tree_size: u64,
}

/// That an event is in the tree of a checkpoint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InclusionProof {
    pub position: u64,
    pub tree_size: u64,
    /// The event's chain hash, hex: the leaf's data (the leaf hash is
    /// `SHA-256(0x00 || chain hash)`).
    pub event_hash: String,
    /// The root of the tree of `tree_size` events, base64.
    pub root: String,
    /// The audit path (RFC 6962 section 2.1.1), base64, leaf to root.
    pub proof: Vec<String>,
}

/// An inclusion proof of the event at `position` in the tree of `tree_size` events.
#[utoipa::path(get, path = "/api/v1/audit/proofs/inclusion", tag = "audit", params(InclusionParams),
    responses((status = 200, body = InclusionProof), (status = 422, description = "outside the tree")))]
async fn inclusion_proof(
    State(state): State<AppState>,
    Auth(_caller): Auth,
    uri: axum::http::Uri,
) -> Answer {
    let p: InclusionParams = params(&uri, &["position", "tree_size"])?;
    let proof = audit(&state)?
        .inclusion_proof(p.position, p.tree_size)
        .map_err(|e| out_of_range("tree_size", e))?;
    to_json(&InclusionProof {
        position: proof.position,
        tree_size: proof.tree_size,
        event_hash: proof
            .chain_hash
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        root: proof.root.to_string(),
        proof: proof.proof.iter().map(ToString::to_string).collect(),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyParams {
    /// The older tree size (a checkpoint the auditor holds).
    pub from: u64,
    /// The newer tree size.
    pub to: u64,
}

/// That the tree of `to` events extends the tree of `from` events.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    /// Roots of both trees, base64.
    pub from_root: String,
    pub to_root: String,
    /// The consistency proof (RFC 6962 section 2.1.2), base64.
    pub proof: Vec<String>,
}

/// A consistency proof between the trees of `from` and `to` events.
#[utoipa::path(get, path = "/api/v1/audit/proofs/consistency", tag = "audit", params(ConsistencyParams),
    responses((status = 200, body = ConsistencyProof), (status = 422, description = "outside the tree")))]
async fn consistency_proof(
    State(state): State<AppState>,
    Auth(_caller): Auth,
    uri: axum::http::Uri,
) -> Answer {
    let p: ConsistencyParams = params(&uri, &["from", "to"])?;
    let proof = audit(&state)?
        .consistency_proof(p.from, p.to)
        .map_err(|e| out_of_range("to", e))?;
    to_json(&ConsistencyProof {
        from: proof.from,
        to: proof.to,
        from_root: proof.from_root.to_string(),
        to_root: proof.to_root.to_string(),
        proof: proof.proof.iter().map(ToString::to_string).collect(),
    })
}
