//! The live websocket, `/api/v1/live`.
//!
//! A client sends `{"type":"subscribe","topics":["plan:PSM-2021-2023"],"from":N}` (topics
//! `plan:<plan>`, `action:<plan>/<action>`, `indicator:<plan>/<code>`,
//! `campaign:<plan>/<campaign>`, `dashboard:<plan>`; `from` is the last
//! position it saw, optional) and receives text frames
//! `{"type":"delta","topic":..,"position":..,"delta":{..}}` in position order. The
//! session keeps a cursor, the last global position it considered: events from the
//! projector's feed at or below it are skipped, a jump above it is filled from the log,
//! and a lagging session (a slow client) drops nothing: it reads what it missed from
//! the log, at its own pace, without holding anyone else back. A client whose socket
//! stays blocked for [`SEND_TIMEOUT`] is disconnected and resumes with `from`.
//!
//! Presence ([`crate::presence`]): the session's first frame is
//! `{"type":"hello","session":"<id>"}`. A client says what it does on a topic with
//! `{"type":"presence","topic":..,"state":"viewing"|"editing"|"left","field":..}` (a
//! field with `editing` only), and receives `{"type":"presence","topic":..,"present":[..]}`,
//! the full list, whenever it changes on a topic it is subscribed to or present on, once
//! when it subscribes to a topic where someone is present, and after each of its own
//! presence messages. Its entries go when it says `left` or its socket closes.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use metroplan_api::Caller;
use metroplan_events::RecordedEvent;
use metroplan_projector::{live_frames, topics};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::Auth;
use crate::presence::{Activity, Field, Presence, PresenceSession, PresenceState};

/// How long one frame may wait on a client's socket before the client is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
const PAGE: usize = 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(live))
}

/// Opens the live websocket: deltas of the topics subscribed to, and who is present
/// on them (viewing, or editing which field). Authenticate with `Authorization: Bearer`
/// or, from a browser, `?access_token=`.
#[utoipa::path(get, path = "/api/v1/live", tag = "system",
    params(("access_token" = Option<String>, Query, description = "bearer token, for browsers (RFC 6750)")),
    responses((status = 101, description = "switching to the websocket protocol"), (status = 401)))]
async fn live(ws: WebSocketUpgrade, State(state): State<AppState>, Auth(caller): Auth) -> Response {
    // Clients send a few small control messages: a small read buffer, since the default
    // 128 KiB one is zeroed on each read attempt, once per frame sent.
    // A browser that sends its token as a protocol (`metroplan`, `bearer.<token>`) must
    // get one of its protocols back: `metroplan`, never the token.
    ws.read_buffer_size(4 * 1024)
        .protocols(["metroplan"])
        .on_upgrade(move |socket| async move {
            tracing::debug!(actor = %caller.actor, "live session opened");
            if let Err(e) = session(socket, state, &caller).await {
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
    Presence {
        topic: String,
        state: PresenceState,
        field: Option<String>,
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
    #[error("a live frame is not utf-8")]
    NotUtf8,
    #[error("store: {0}")]
    Store(#[from] metroplan_eventstore::StoreError),
}

type Sink = SplitSink<WebSocket, Message>;

async fn send(tx: &mut Sink, text: impl Into<Utf8Bytes>) -> Result<(), SessionError> {
    send_message(tx, Message::Text(text.into())).await
}

async fn send_frame(tx: &mut Sink, frame: &bytes::Bytes) -> Result<(), SessionError> {
    // Frames are rendered from JSON, so always UTF-8; a failure here would be a bug upstream.
    let text = Utf8Bytes::try_from(frame.clone()).map_err(|_| SessionError::NotUtf8)?;
    send_message(tx, Message::Text(text)).await
}

async fn send_message(tx: &mut Sink, message: Message) -> Result<(), SessionError> {
    let mut sending = tx.send(message);
    // Most sends complete at once; only a blocked one needs a timer.
    if let std::task::Poll::Ready(r) = futures::poll!(&mut sending) {
        return r.map_err(SessionError::from);
    }
    match tokio::time::timeout(SEND_TIMEOUT, sending).await {
        Ok(r) => r.map_err(SessionError::from),
        Err(_) => Err(SessionError::Slow),
    }
}

/// Stops the reader task when the session ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(crate) fn valid_topic(t: &str) -> bool {
    match t.split_once(':') {
        Some(("plan" | "dashboard", rest)) => !rest.is_empty() && !rest.contains('/'),
        Some(("action" | "indicator" | "campaign", rest)) => rest
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
            if !topics::for_event(&event).iter().any(|t| topics.contains(t)) {
                continue;
            }
            for (t, frame) in live_frames(&event).iter() {
                if topics.contains(t) {
                    send_frame(tx, frame).await?;
                }
            }
        }
    }
    Ok(())
}

/// What the session says about itself, or why it cannot.
fn activity(state: PresenceState, field: Option<String>) -> Result<Option<Activity>, String> {
    match (state, field) {
        (PresenceState::Viewing, None) => Ok(Some(Activity::Viewing)),
        (PresenceState::Left, None) => Ok(None),
        (PresenceState::Editing, Some(f)) => f
            .parse::<Field>()
            .map(|f| Some(Activity::Editing(f)))
            .map_err(|e| e.to_string()),
        (PresenceState::Editing, None) => Err("`editing` names the field being edited".into()),
        (_, Some(_)) => Err("only `editing` names a field".into()),
    }
}

/// Sends the current presence list of `topic` unless the client already has it (or a
/// newer one); an empty list once when the last one present left. `shown` holds the
/// version of the last non-empty list sent, by topic.
async fn show(
    presence: &Presence,
    tx: &mut Sink,
    shown: &mut HashMap<String, u64>,
    topic: &str,
) -> Result<(), SessionError> {
    match (presence.current(topic), shown.get(topic).copied()) {
        (Some((version, frame)), last) if last.is_none_or(|l| l < version) => {
            send(tx, frame).await?;
            shown.insert(topic.to_owned(), version);
        }
        (None, Some(_)) => {
            send(tx, Presence::empty_frame(topic)).await?;
            shown.remove(topic);
        }
        _ => {}
    }
    Ok(())
}

async fn session(socket: WebSocket, state: AppState, caller: &Caller) -> Result<(), SessionError> {
    let (mut tx, mut socket_rx) = socket.split();
    // A reader task forwards the client's messages, so the send loop below never
    // re-polls the socket's read half for each frame it sends.
    let (incoming_tx, mut rx) = tokio::sync::mpsc::channel(16);
    let reader = tokio::spawn(async move {
        while let Some(m) = socket_rx.next().await {
            let end = !matches!(
                m,
                Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_) | Message::Binary(_))
            );
            if incoming_tx.send(m).await.is_err() || end {
                break;
            }
        }
    });
    let _reader = AbortOnDrop(reader);
    let mut feed = state.read.subscribe();
    let mut cursor = state.read.position();
    let mut topics: HashSet<String> = HashSet::new();
    let me: PresenceSession = state.presence.join(caller);
    let mut presence_changes = state.presence.changes();
    let mut shown: HashMap<String, u64> = HashMap::new();
    send(
        &mut tx,
        serde_json::json!({"type": "hello", "session": me.id()}).to_string(),
    )
    .await?;
    loop {
        tokio::select! {
            incoming = rx.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Err(SessionError::Closed),
                    Some(Ok(_)) => continue,
                };
                match serde_json::from_str::<ClientMessage>(&text) {
                    Ok(ClientMessage::Subscribe { topics: wanted, from }) => {
                        if let Some(bad) = wanted.iter().find(|t| !valid_topic(t)) {
                            let msg = serde_json::json!({"type": "error", "field": "topics", "message": format!("{bad:?} is not a topic: plan:<plan>, action:<plan>/<action>, indicator:<plan>/<code>, campaign:<plan>/<campaign> or dashboard:<plan>")});
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
                        // Then who is present there now.
                        for t in &new {
                            show(&state.presence, &mut tx, &mut shown, t).await?;
                        }
                        topics.extend(new);
                    }
                    Ok(ClientMessage::Unsubscribe { topics: gone }) => {
                        for t in &gone {
                            topics.remove(t);
                            if !me.is_present(t) {
                                shown.remove(t);
                            }
                        }
                        send(&mut tx, serde_json::json!({"type": "unsubscribed", "topics": gone}).to_string()).await?;
                    }
                    Ok(ClientMessage::Presence { topic, state: said, field }) => {
                        if !valid_topic(&topic) {
                            let msg = serde_json::json!({"type": "error", "field": "topic", "message": format!("{topic:?} is not a topic: plan:<plan>, action:<plan>/<action>, indicator:<plan>/<code>, campaign:<plan>/<campaign> or dashboard:<plan>")});
                            send(&mut tx, msg.to_string()).await?;
                            continue;
                        }
                        let changed = match activity(said, field) {
                            Ok(a) => me.set(&topic, a).map_err(|e| ("topic", e.to_string())),
                            Err(message) => Err(("field", message)),
                        };
                        if let Err((field, message)) = changed {
                            let msg = serde_json::json!({"type": "error", "field": field, "message": message});
                            send(&mut tx, msg.to_string()).await?;
                            continue;
                        }
                        show(&state.presence, &mut tx, &mut shown, &topic).await?;
                        if !topics.contains(&topic) && !me.is_present(&topic) {
                            shown.remove(&topic);
                        }
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
                    for (t, frame) in a.frames.iter() {
                        if topics.contains(t) {
                            send_frame(&mut tx, frame).await?;
                        }
                    }
                    cursor = p;
                }
                Err(RecvError::Lagged(missed)) => {
                    let target = state.read.position();
                    tracing::debug!(missed, cursor, target, "live session lagged, resuming from the log");
                    replay(&state, &mut tx, &topics, cursor, target).await?;
                    cursor = target;
                }
                Err(RecvError::Closed) => return Ok(()),
            },
            changed = presence_changes.recv() => match changed {
                Ok(topic) => {
                    if topics.contains(&*topic) || me.is_present(&topic) {
                        show(&state.presence, &mut tx, &mut shown, &topic).await?;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    // Lists are whole: re-reading every topic of interest catches up.
                    let mut all: HashSet<String> = topics.iter().cloned().collect();
                    all.extend(me.topics());
                    all.extend(shown.keys().cloned());
                    for t in &all {
                        show(&state.presence, &mut tx, &mut shown, t).await?;
                    }
                }
                // The registry outlives every session: its sender never closes first.
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
