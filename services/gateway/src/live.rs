//! The live websocket, `/api/v1/live`.
//!
//! A client sends `{"type":"subscribe","topics":["plan:PSM-2021-2023"],"from":N}` (topics
//! `plan:<plan>`, `action:<plan>/<action>`, `dashboard:<plan>`; `from` is the last
//! position it saw, optional) and receives text frames
//! `{"type":"delta","topic":..,"position":..,"delta":{..}}` in position order. The
//! session keeps a cursor, the last global position it considered: events from the
//! projector's feed at or below it are skipped, a jump above it is filled from the log,
//! and a lagging session (a slow client) drops nothing: it reads what it missed from
//! the log, at its own pace, without holding anyone else back. A client whose socket
//! stays blocked for [`SEND_TIMEOUT`] is disconnected and resumes with `from`.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use metroplan_events::RecordedEvent;
use metroplan_projector::{delta_json, topics};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::Auth;

/// How long one frame may wait on a client's socket before the client is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
const PAGE: usize = 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(live))
}

/// Opens the live websocket. Authenticate with `Authorization: Bearer` or, from a
/// browser, `?access_token=`.
#[utoipa::path(get, path = "/api/v1/live", tag = "system",
    params(("access_token" = Option<String>, Query, description = "bearer token, for browsers (RFC 6750)")),
    responses((status = 101, description = "switching to the websocket protocol"), (status = 401)))]
async fn live(ws: WebSocketUpgrade, State(state): State<AppState>, Auth(caller): Auth) -> Response {
    ws.on_upgrade(move |socket| async move {
        tracing::debug!(actor = %caller.actor, "live session opened");
        if let Err(e) = session(socket, state).await {
            tracing::debug!(error = %e, "live session ended");
        }
    })
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientMessage {
    Subscribe {
        topics: Vec<String>,
        from: Option<u64>,
    },
    Unsubscribe {
        topics: Vec<String>,
    },
}

#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("client closed")]
    Closed,
    #[error("client too slow")]
    Slow,
    #[error("websocket: {0}")]
    Socket(#[from] axum::Error),
    #[error("store: {0}")]
    Store(#[from] metroplan_eventstore::StoreError),
}

type Sink = SplitSink<WebSocket, Message>;

async fn send(tx: &mut Sink, text: String) -> Result<(), SessionError> {
    match tokio::time::timeout(SEND_TIMEOUT, tx.send(Message::Text(Utf8Bytes::from(text)))).await {
        Ok(r) => r.map_err(SessionError::from),
        Err(_) => Err(SessionError::Slow),
    }
}

fn frame(topic: &str, position: u64, delta: &str) -> String {
    let topic = serde_json::to_string(topic).unwrap_or_default();
    format!(r#"{{"type":"delta","topic":{topic},"position":{position},"delta":{delta}}}"#)
}

fn valid_topic(t: &str) -> bool {
    match t.split_once(':') {
        Some(("plan" | "dashboard", rest)) => !rest.is_empty() && !rest.contains('/'),
        Some(("action", rest)) => rest
            .split_once('/')
            .is_some_and(|(p, a)| !p.is_empty() && !a.is_empty()),
        _ => false,
    }
}

/// Sends, for `topics`, every event with position in `(after, to]` from the log.
async fn replay(
    state: &AppState,
    tx: &mut Sink,
    topics: &HashSet<String>,
    after: u64,
    to: u64,
) -> Result<(), SessionError> {
    let mut at = after;
    while at < to {
        let page: Vec<RecordedEvent> = state.store.read_all(at, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for event in page.into_iter().take_while(|e| e.position <= to) {
            at = event.position;
            let mut delta = None;
            for t in topics::for_event(&event)
                .iter()
                .filter(|t| topics.contains(*t))
            {
                let d = delta.get_or_insert_with(|| delta_json(&event));
                send(tx, frame(t, event.position, d)).await?;
            }
        }
    }
    Ok(())
}

async fn session(socket: WebSocket, state: AppState) -> Result<(), SessionError> {
    let (mut tx, mut rx) = socket.split();
    let mut feed = state.projector.subscribe();
    let mut cursor = state.projector.position();
    let mut topics: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            incoming = rx.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Err(SessionError::Closed),
                    Some(Ok(_)) => continue,
                };
                match serde_json::from_str::<ClientMessage>(&text) {
                    Ok(ClientMessage::Subscribe { topics: wanted, from }) => {
                        if let Some(bad) = wanted.iter().find(|t| !valid_topic(t)) {
                            let msg = serde_json::json!({"type": "error", "field": "topics", "message": format!("{bad:?} is not a topic: plan:<plan>, action:<plan>/<action> or dashboard:<plan>")});
                            send(&mut tx, msg.to_string()).await?;
                            continue;
                        }
                        let new: HashSet<String> = wanted.iter().filter(|t| !topics.contains(*t)).cloned().collect();
                        // The acknowledgement comes first; what was missed since `from` follows it.
                        let ack = serde_json::json!({"type": "subscribed", "topics": wanted, "position": cursor});
                        send(&mut tx, ack.to_string()).await?;
                        if let Some(from) = from.filter(|f| *f < cursor) {
                            replay(&state, &mut tx, &new, from, cursor).await?;
                        }
                        topics.extend(new);
                    }
                    Ok(ClientMessage::Unsubscribe { topics: gone }) => {
                        for t in &gone {
                            topics.remove(t);
                        }
                        send(&mut tx, serde_json::json!({"type": "unsubscribed", "topics": gone}).to_string()).await?;
                    }
                    Err(e) => {
                        let msg = serde_json::json!({"type": "error", "message": format!("unreadable message: {e}")});
                        send(&mut tx, msg.to_string()).await?;
                    }
                }
            }
            applied = feed.recv() => match applied {
                Ok(a) => {
                    let p = a.event.position;
                    if p <= cursor {
                        continue;
                    }
                    if p > cursor + 1 {
                        replay(&state, &mut tx, &topics, cursor, p - 1).await?;
                    }
                    for t in a.topics.iter().filter(|t| topics.contains(*t)) {
                        send(&mut tx, frame(t, p, &a.delta_json)).await?;
                    }
                    cursor = p;
                }
                Err(RecvError::Lagged(missed)) => {
                    let target = state.projector.position();
                    tracing::debug!(missed, cursor, target, "live session lagged, resuming from the log");
                    replay(&state, &mut tx, &topics, cursor, target).await?;
                    cursor = target;
                }
                Err(RecvError::Closed) => return Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_checked() {
        assert!(valid_topic("plan:PSM-2021-2023"));
        assert!(valid_topic("dashboard:PSM-2021-2023"));
        assert!(valid_topic("action:PSM-2021-2023/2.1.1"));
        assert!(!valid_topic("action:PSM-2021-2023"));
        assert!(!valid_topic("plans:x"));
        assert!(!valid_topic("plan:"));
    }
}
