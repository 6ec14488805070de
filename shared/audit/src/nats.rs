//! Checkpoints on the distributed deployment: the JetStream stream
//! [`STREAM_NAME`], one message per checkpoint on subject [`SUBJECT`], the signed note
//! as the body and the tree size in the `Metroplan-Tree-Size` header.
//!
//! # Choices
//!
//! - Same guarantees as the events stream: file storage, the deployment's replicas,
//!   `deny_delete` and `deny_purge`, so a checkpoint cannot be removed through the API.
//! - **Sizes grow with sequences.** A writer publishes with
//!   `Nats-Expected-Last-Sequence` set to the last checkpoint it read and only a size
//!   larger than that one's; a writer that lost the race re-reads and gives up when the
//!   winner's size covers its own. So the stream's sequences `1..=last` hold strictly
//!   growing sizes: the latest is the last message, and a page after a size is a binary
//!   search plus a forward read.
//! - **Duplicates are harmless**: `Nats-Msg-Id: checkpoint-<size>` as well, and two
//!   writers with one key sign byte-identical notes anyway.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::store::{CheckpointStore, CheckpointStoreError, StoredCheckpoint};

/// The stream holding signed checkpoints.
pub const STREAM_NAME: &str = "METROPLAN_CHECKPOINTS";
/// The subject every checkpoint is published on.
pub const SUBJECT: &str = "metroplan.checkpoints";
/// How long [`NatsCheckpoints::open`] keeps trying.
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// The header carrying the tree size.
pub const TREE_SIZE_HEADER: &str = "Metroplan-Tree-Size";

fn backend(context: &'static str) -> impl FnOnce(String) -> CheckpointStoreError {
    move |e| CheckpointStoreError::Backend(format!("{context}: {e}"))
}

/// The stream configuration the store creates.
pub fn stream_config(replicas: usize) -> stream::Config {
    stream::Config {
        name: STREAM_NAME.to_owned(),
        description: Some(
            "metroplan signed checkpoints: C2SP signed notes over the Merkle root of METROPLAN_EVENTS".to_owned(),
        ),
        subjects: vec![SUBJECT.to_owned()],
        storage: stream::StorageType::File,
        num_replicas: replicas,
        duplicate_window: Duration::from_secs(60 * 60),
        deny_delete: true,
        deny_purge: true,
        allow_direct: true,
        ..Default::default()
    }
}

/// Checkpoints in JetStream.
#[derive(Clone)]
pub struct NatsCheckpoints {
    js: jetstream::Context,
    stream: stream::Stream,
}

impl std::fmt::Debug for NatsCheckpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsCheckpoints").finish_non_exhaustive()
    }
}

impl NatsCheckpoints {
    /// Opens the checkpoint stream, creating it with `replicas` when missing, trying
    /// again for up to [`OPEN_TIMEOUT`] while JetStream is not ready (no meta leader
    /// yet, peers still joining, a busy cluster).
    ///
    /// # Errors
    /// When JetStream still refuses after that.
    pub async fn open(
        client: async_nats::Client,
        replicas: usize,
    ) -> Result<Self, CheckpointStoreError> {
        let js = jetstream::new(client);
        let deadline = tokio::time::Instant::now() + OPEN_TIMEOUT;
        let mut pause = Duration::from_millis(50);
        loop {
            match js.get_or_create_stream(stream_config(replicas)).await {
                Ok(stream) => return Ok(Self { js, stream }),
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::debug!(error = %e, "checkpoint stream not ready yet");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(backend("opening the checkpoint stream")(e.to_string())),
            }
        }
    }

    /// The last message: its sequence and checkpoint (0 and `None` when empty).
    async fn last(&self) -> Result<(u64, Option<StoredCheckpoint>), CheckpointStoreError> {
        match self.stream.get_last_raw_message_by_subject(SUBJECT).await {
            Ok(m) => Ok((m.sequence, Some(decode(m)?))),
            Err(e) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => Ok((0, None)),
            Err(e) => Err(backend("reading the latest checkpoint")(e.to_string())),
        }
    }

    async fn message(&self, sequence: u64) -> Result<StoredCheckpoint, CheckpointStoreError> {
        let message = self
            .stream
            .get_raw_message(sequence)
            .await
            .map_err(|e| backend("reading a checkpoint")(e.to_string()))?;
        decode(message)
    }
}

fn decode(
    message: async_nats::jetstream::message::StreamMessage,
) -> Result<StoredCheckpoint, CheckpointStoreError> {
    let sequence = message.sequence;
    let tree_size = message
        .headers
        .get(TREE_SIZE_HEADER)
        .and_then(|v| v.as_str().parse::<u64>().ok())
        .ok_or_else(|| {
            backend("reading a checkpoint")(format!("message {sequence} has no tree size"))
        })?;
    let note = String::from_utf8(message.payload.to_vec())
        .map_err(|e| backend("reading a checkpoint")(e.to_string()))?;
    let recorded_at =
        DateTime::<Utc>::from_timestamp(message.time.unix_timestamp(), message.time.nanosecond())
            .unwrap_or_default();
    Ok(StoredCheckpoint {
        tree_size,
        note,
        recorded_at,
    })
}

/// Tries a writer makes before giving up on a race it keeps losing.
const PUBLISH_TRIES: usize = 8;

#[async_trait]
impl CheckpointStore for NatsCheckpoints {
    async fn put(&self, tree_size: u64, note: &str) -> Result<bool, CheckpointStoreError> {
        let mut failure = String::new();
        for _ in 0..PUBLISH_TRIES {
            let (last_sequence, last) = self.last().await?;
            if last.is_some_and(|c| c.tree_size >= tree_size) {
                return Ok(false);
            }
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", format!("checkpoint-{tree_size}").as_str());
            headers.insert(
                "Nats-Expected-Last-Sequence",
                last_sequence.to_string().as_str(),
            );
            headers.insert(TREE_SIZE_HEADER, tree_size.to_string().as_str());
            let published = async {
                self.js
                    .publish_with_headers(SUBJECT, headers, note.to_owned().into())
                    .await
                    .map_err(|e| e.to_string())?
                    .await
                    .map_err(|e| e.to_string())
            };
            match published.await {
                Ok(ack) => return Ok(!ack.duplicate),
                // Another writer got there first: look again.
                Err(e) => failure = e,
            }
        }
        Err(backend("publishing a checkpoint")(failure))
    }

    async fn list(
        &self,
        after_size: u64,
        limit: usize,
    ) -> Result<Vec<StoredCheckpoint>, CheckpointStoreError> {
        let (last, _) = self.last().await?;
        // The first sequence whose size is past `after_size` (sizes grow with sequences).
        let (mut lo, mut hi) = (1, last + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.message(mid).await?.tree_size > after_size {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let mut found = Vec::new();
        let mut sequence = lo;
        while sequence <= last && found.len() < limit {
            found.push(self.message(sequence).await?);
            sequence += 1;
        }
        Ok(found)
    }

    async fn latest(&self) -> Result<Option<StoredCheckpoint>, CheckpointStoreError> {
        Ok(self.last().await?.1)
    }
}

/// The audit log of a NATS deployment: the checkpoint stream, signing with `signer`
/// when this process writes checkpoints (else only following the log for proofs), and
/// trusting `public_keys`.
///
/// # Errors
/// When the checkpoint stream cannot be opened.
pub async fn audit_log(
    client: async_nats::Client,
    replicas: usize,
    signer: Option<crate::CheckpointSigner>,
    public_keys: crate::Keyring,
) -> Result<std::sync::Arc<crate::AuditLog>, CheckpointStoreError> {
    let checkpoints = NatsCheckpoints::open(client, replicas).await?;
    Ok(crate::AuditLog::new(
        std::sync::Arc::new(checkpoints),
        signer,
        public_keys,
    ))
}
