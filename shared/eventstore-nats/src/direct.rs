//! Raw JetStream direct gets (`$JS.API.DIRECT.GET.<stream>`): single and batched
//! look-ups that any replica answers (the stream has `allow_direct`), so reads spread
//! over the cluster and need no consumer.
//!
//! A replica may lag behind the leader by a few writes, and the server this targets has
//! no "minimum last sequence" guard on direct gets. So every answer says how far its
//! replica had got (the `Nats-UpTo-Sequence` of a `multi_last` get, or the last
//! sequence of a batch that reached the end), and the store's read path retries a
//! read whose replica is behind what it has already seen.

use std::time::Duration;

use async_nats::{Client, HeaderMap, StatusCode};
use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;

/// A direct get request; fields left `None` are omitted.
#[derive(Debug, Default, Serialize)]
pub struct Request<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_by_subj: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_by_subj: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_last: Option<[&'a str; 1]>,
    /// RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
}

/// One stored message as a direct get returns it.
#[derive(Debug, Clone)]
pub struct RawMessage {
    pub sequence: u64,
    pub headers: HeaderMap,
    pub payload: Bytes,
}

/// The answer to a (batched) direct get.
#[derive(Debug, Default)]
pub struct Answer {
    pub messages: Vec<RawMessage>,
    /// Matching messages the replica holds after the last one sent (`None` when no
    /// end-of-batch marker was sent).
    pub num_pending: Option<u64>,
    /// The replica's last stream sequence, for a `multi_last` get.
    pub up_to: Option<u64>,
    /// Nothing matched (404).
    pub not_found: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DirectError {
    #[error("no replica answered the direct get")]
    NoResponders,
    #[error("direct get timed out")]
    TimedOut,
    #[error("direct get failed: {0}")]
    Failed(String),
}

/// Direct gets on one stream.
#[derive(Debug, Clone)]
pub struct Direct {
    client: Client,
    api_subject: String,
    timeout: Duration,
}

impl Direct {
    pub fn new(client: Client, stream: &str, timeout: Duration) -> Self {
        Self {
            client,
            api_subject: format!("$JS.API.DIRECT.GET.{stream}"),
            timeout,
        }
    }

    /// Sends `request` and collects every reply up to the end-of-batch marker (for a
    /// batch or multi-subject get) or the single reply.
    pub async fn get(&self, request: &Request<'_>) -> Result<Answer, DirectError> {
        let body = serde_json::to_vec(request).map_err(|e| DirectError::Failed(e.to_string()))?;
        let multi = request.batch.is_some() || request.multi_last.is_some();
        if !multi {
            return self.single(body).await;
        }
        let inbox = self.client.new_inbox();
        let mut replies = self
            .client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| DirectError::Failed(e.to_string()))?;
        self.client
            .publish_with_reply(self.api_subject.clone(), inbox, Bytes::from(body))
            .await
            .map_err(|e| DirectError::Failed(e.to_string()))?;
        let mut answer = Answer::default();
        loop {
            let reply = match tokio::time::timeout(self.timeout, replies.next()).await {
                Ok(Some(reply)) => reply,
                Ok(None) => return Err(DirectError::Failed("reply subscription closed".into())),
                Err(_) => return Err(DirectError::TimedOut),
            };
            match reply.status {
                None | Some(StatusCode::OK) => {
                    let headers = reply.headers.unwrap_or_default();
                    let sequence = header_u64(&headers, "Nats-Sequence").ok_or_else(|| {
                        DirectError::Failed("a direct get reply has no Nats-Sequence".into())
                    })?;
                    if multi {
                        answer.num_pending = header_u64(&headers, "Nats-Num-Pending");
                    }
                    answer.messages.push(RawMessage {
                        sequence,
                        headers,
                        payload: reply.payload,
                    });
                    if !multi {
                        return Ok(answer);
                    }
                }
                Some(status) if status.as_u16() == 204 => {
                    let headers = reply.headers.unwrap_or_default();
                    answer.num_pending = header_u64(&headers, "Nats-Num-Pending");
                    answer.up_to = header_u64(&headers, "Nats-UpTo-Sequence");
                    return Ok(answer);
                }
                Some(StatusCode::NOT_FOUND) => {
                    answer.not_found = true;
                    return Ok(answer);
                }
                Some(StatusCode::NO_RESPONDERS) => return Err(DirectError::NoResponders),
                Some(status) => {
                    return Err(DirectError::Failed(format!(
                        "status {status} {}",
                        reply.description.unwrap_or_default()
                    )));
                }
            }
        }
    }
}

impl Direct {
    /// A get with one reply, through the connection's shared reply subscription.
    async fn single(&self, body: Vec<u8>) -> Result<Answer, DirectError> {
        use async_nats::client::RequestErrorKind;
        let reply = tokio::time::timeout(
            self.timeout,
            self.client
                .request(self.api_subject.clone(), Bytes::from(body)),
        )
        .await
        .map_err(|_| DirectError::TimedOut)?
        .map_err(|e| match e.kind() {
            RequestErrorKind::NoResponders => DirectError::NoResponders,
            RequestErrorKind::TimedOut => DirectError::TimedOut,
            _ => DirectError::Failed(e.to_string()),
        })?;
        let mut answer = Answer::default();
        match reply.status {
            None | Some(StatusCode::OK) => {
                let headers = reply.headers.unwrap_or_default();
                let sequence = header_u64(&headers, "Nats-Sequence").ok_or_else(|| {
                    DirectError::Failed("a direct get reply has no Nats-Sequence".into())
                })?;
                answer.messages.push(RawMessage {
                    sequence,
                    headers,
                    payload: reply.payload,
                });
            }
            Some(StatusCode::NOT_FOUND) => answer.not_found = true,
            Some(StatusCode::NO_RESPONDERS) => return Err(DirectError::NoResponders),
            Some(status) => {
                return Err(DirectError::Failed(format!(
                    "status {status} {}",
                    reply.description.unwrap_or_default()
                )));
            }
        }
        Ok(answer)
    }
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.as_str().parse().ok()
}
