//! Checkpoints on the distributed deployment: the JetStream stream
//! [`STREAM_NAME`], one message per checkpoint on subject [`SUBJECT`], the signed note
//! as the body and the tree size in the `Metroplan-Tree-Size` header.
//!
//! # Choices
//!
//! - Same guarantees as the events stream: file storage, the deployment's replicas,
//!   `deny_delete` and `deny_purge`, so a checkpoint cannot be removed through the API.
//! - **Duplicates are harmless**: a writer publishes with `Nats-Msg-Id:
//!   checkpoint-<size>` (deduplicated by the server within the duplicate window) and
//!   only a size larger than the latest stored one; two writers with the same key sign
//!   byte-identical notes anyway, and readers keep the first message of each size.
//! - Checkpoints are few (one per thousand events or so), so a reader reads the stream
//!   message by message by sequence.

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
    /// Opens the checkpoint stream, creating it with `replicas` when missing.
    ///
    /// # Errors
    /// When JetStream refuses.
    pub async fn open(
        client: async_nats::Client,
        replicas: usize,
    ) -> Result<Self, CheckpointStoreError> {
        let js = jetstream::new(client);
        let stream = js
            .get_or_create_stream(stream_config(replicas))
            .await
            .map_err(|e| backend("opening the checkpoint stream")(e.to_string()))?;
        Ok(Self { js, stream })
    }

    async fn last_sequence(&self) -> Result<u64, CheckpointStoreError> {
        let mut stream = self.stream.clone();
        let info = stream
            .info()
            .await
            .map_err(|e| backend("reading the checkpoint stream")(e.to_string()))?;
        Ok(info.state.last_sequence)
    }

    async fn message(
        &self,
        sequence: u64,
    ) -> Result<Option<StoredCheckpoint>, CheckpointStoreError> {
        let message = match self.stream.get_raw_message(sequence).await {
            Ok(m) => m,
            Err(e) if e.kind() == stream::RawMessageErrorKind::NoMessageFound => return Ok(None),
            Err(e) => return Err(backend("reading a checkpoint")(e.to_string())),
        };
        let tree_size = message
            .headers
            .get(TREE_SIZE_HEADER)
            .and_then(|v| v.as_str().parse::<u64>().ok())
            .ok_or_else(|| {
                backend("reading a checkpoint")(format!("message {sequence} has no tree size"))
            })?;
        let note = String::from_utf8(message.payload.to_vec())
            .map_err(|e| backend("reading a checkpoint")(e.to_string()))?;
        let recorded_at = DateTime::<Utc>::from_timestamp(
            message.time.unix_timestamp(),
            message.time.nanosecond(),
        )
        .unwrap_or_default();
        Ok(Some(StoredCheckpoint {
            tree_size,
            note,
            recorded_at,
        }))
    }
}

#[async_trait]
impl CheckpointStore for NatsCheckpoints {
    async fn put(&self, tree_size: u64, note: &str) -> Result<bool, CheckpointStoreError> {
        if self
            .latest()
            .await?
            .is_some_and(|c| c.tree_size >= tree_size)
        {
            return Ok(false);
        }
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("checkpoint-{tree_size}").as_str());
        headers.insert(TREE_SIZE_HEADER, tree_size.to_string().as_str());
        let ack = self
            .js
            .publish_with_headers(SUBJECT, headers, note.to_owned().into())
            .await
            .map_err(|e| backend("publishing a checkpoint")(e.to_string()))?
            .await
            .map_err(|e| backend("publishing a checkpoint")(e.to_string()))?;
        Ok(!ack.duplicate)
    }

    async fn list(
        &self,
        after_size: u64,
        limit: usize,
    ) -> Result<Vec<StoredCheckpoint>, CheckpointStoreError> {
        let last = self.last_sequence().await?;
        let mut found: Vec<StoredCheckpoint> = Vec::new();
        // Sizes grow with sequences: walk back to the first one not after `after_size`.
        let mut seq = last;
        let mut newer = Vec::new();
        while seq > 0 {
            if let Some(c) = self.message(seq).await? {
                if c.tree_size <= after_size {
                    break;
                }
                newer.push(c);
            }
            seq -= 1;
        }
        newer.reverse();
        for c in newer {
            if found.last().is_none_or(|l| c.tree_size > l.tree_size) {
                found.push(c);
            }
            if found.len() == limit {
                break;
            }
        }
        Ok(found)
    }

    async fn latest(&self) -> Result<Option<StoredCheckpoint>, CheckpointStoreError> {
        let mut seq = self.last_sequence().await?;
        while seq > 0 {
            if let Some(c) = self.message(seq).await? {
                return Ok(Some(c));
            }
            seq -= 1;
        }
        Ok(None)
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
