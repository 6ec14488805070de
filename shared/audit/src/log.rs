//! [`AuditLog`]: the Merkle tree of the log kept as a read model, the proofs it serves,
//! and the checkpointer that signs its root.
//!
//! # Choices
//!
//! - **It checks before it signs.** Every event it takes in goes through the
//!   [`ChainChecker`] (positions, versions, recomputed hashes), and at start its root
//!   at the latest stored checkpoint's size must equal that checkpoint's root. A log
//!   that fails either is never signed: the follower stops with the error.
//! - **When it signs**: after `every_events` uncovered events, after `max_delay` when
//!   some events are uncovered, on [`AuditLog::checkpoint_now`] (the `metroplan
//!   checkpoint` command, tests) and once at graceful shutdown.
//! - Taking in the log is idempotent by position: the follower and a catch-up may both
//!   read the same events; a position already in the tree is skipped.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;
use metroplan_events::RecordedEvent;
use metroplan_eventstore::EventStore;
use tlog_tiles::Hash;
use tokio_util::sync::CancellationToken;

use crate::chain::{ChainChecker, Tampered};
use crate::signing::{CheckpointSigner, Keyring, parse_unverified};
use crate::store::{CheckpointStore, StoredCheckpoint};
use crate::tree::{MerkleTree, TreeError};

/// Events read from the store at a time.
pub const PAGE: usize = 10_000;

/// When the checkpointer signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// Sign once this many events are not covered by a checkpoint.
    pub every_events: u64,
    /// Sign when some events have waited this long uncovered.
    pub max_delay: Duration,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            every_events: 1000,
            max_delay: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Tampered(#[from] Tampered),
    #[error("event store: {0}")]
    Store(#[from] metroplan_eventstore::StoreError),
    #[error(transparent)]
    Checkpoints(#[from] crate::store::CheckpointStoreError),
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error(transparent)]
    Key(#[from] crate::signing::KeyError),
    #[error("no signing key: this process does not write checkpoints")]
    NoSigner,
}

impl AuditError {
    /// Whether trying again later may succeed: a store that did not answer, as
    /// opposed to a broken log, a bad key or a missing signer.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AuditError::Checkpoints(_)
                | AuditError::Store(
                    metroplan_eventstore::StoreError::Backend(_)
                        | metroplan_eventstore::StoreError::Closed
                )
        )
    }
}

struct State {
    tree: MerkleTree,
    chain: ChainChecker,
    /// The chain hash of every event, by position - 1, for inclusion proofs by position.
    leaves: Vec<[u8; 32]>,
}

/// The Merkle tree of one log, its checkpoints, and (in the process that writes them)
/// the signing key.
pub struct AuditLog {
    state: Mutex<State>,
    checkpoints: Arc<dyn CheckpointStore>,
    signer: Option<CheckpointSigner>,
    public_keys: Keyring,
    /// Serialises catch-ups and signing.
    writing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("size", &self.size())
            .finish_non_exhaustive()
    }
}

/// An inclusion proof, as served to auditors.
#[derive(Debug, Clone, PartialEq)]
pub struct InclusionProof {
    pub position: u64,
    pub tree_size: u64,
    /// The event's chain hash: the leaf's data.
    pub chain_hash: Vec<u8>,
    pub root: Hash,
    pub proof: Vec<Hash>,
}

/// A consistency proof, as served to auditors.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub from_root: Hash,
    pub to_root: Hash,
    pub proof: Vec<Hash>,
}

impl AuditLog {
    /// An audit log over `checkpoints`; `signer` when this process writes checkpoints;
    /// `public_keys` are the verifier keys it publishes (the signer's is added).
    pub fn new(
        checkpoints: Arc<dyn CheckpointStore>,
        signer: Option<CheckpointSigner>,
        mut public_keys: Keyring,
    ) -> Arc<Self> {
        if let Some(s) = &signer
            && let Ok(own) = Keyring::parse(s.verifier_key())
        {
            let mut ring = own;
            ring.extend(&public_keys);
            public_keys = ring;
        }
        Arc::new(Self {
            state: Mutex::new(State {
                tree: MerkleTree::new(),
                chain: ChainChecker::new(),
                leaves: Vec::new(),
            }),
            checkpoints,
            signer,
            public_keys,
            writing: tokio::sync::Mutex::new(()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Events in the tree.
    pub fn size(&self) -> u64 {
        self.state().tree.size()
    }

    /// The root over the first `n` events.
    ///
    /// # Errors
    /// When `n` is beyond the events seen.
    pub fn root_at(&self, n: u64) -> Result<Hash, TreeError> {
        self.state().tree.root_at(n)
    }

    /// The verifier keys of this log: current first.
    pub fn public_keys(&self) -> &Keyring {
        &self.public_keys
    }

    /// The log's origin, when this process signs.
    pub fn origin(&self) -> Option<&str> {
        self.signer.as_ref().map(CheckpointSigner::origin)
    }

    pub fn checkpoints(&self) -> &Arc<dyn CheckpointStore> {
        &self.checkpoints
    }

    /// Takes in the next event of the log (skipped when already in).
    ///
    /// # Errors
    /// [`AuditError::Tampered`] when the event does not follow the chain.
    pub fn ingest(&self, e: &RecordedEvent) -> Result<(), AuditError> {
        let mut s = self.state();
        if e.position <= s.tree.size() {
            return Ok(());
        }
        s.chain.check(e)?;
        s.tree.push(&e.hash)?;
        let mut leaf = [0; 32];
        if e.hash.len() == 32 {
            leaf.copy_from_slice(&e.hash);
        }
        s.leaves.push(leaf);
        Ok(())
    }

    /// Reads the events the tree lacks, up to the store's head.
    ///
    /// # Errors
    /// When the store fails or an event does not follow the chain.
    pub async fn catch_up(&self, store: &dyn EventStore) -> Result<u64, AuditError> {
        loop {
            let after = self.size();
            let page = store.read_all(after, PAGE).await?;
            if page.is_empty() {
                return Ok(after);
            }
            for e in &page {
                self.ingest(e)?;
            }
        }
    }

    /// An inclusion proof of the event at `position` in the tree of `tree_size` events.
    ///
    /// # Errors
    /// [`TreeError::OutOfRange`] unless `1 <= position <= tree_size <= size`.
    pub fn inclusion_proof(
        &self,
        position: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, TreeError> {
        let s = self.state();
        let proof = s.tree.inclusion_proof(position, tree_size)?;
        let index = usize::try_from(position - 1)
            .map_err(|_| TreeError::OutOfRange(format!("position {position}")))?;
        Ok(InclusionProof {
            position,
            tree_size,
            chain_hash: s.leaves[index].to_vec(),
            root: s.tree.root_at(tree_size)?,
            proof,
        })
    }

    /// A consistency proof between the trees of `from` and `to` events.
    ///
    /// # Errors
    /// [`TreeError::OutOfRange`] unless `from <= to <= size`.
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<ConsistencyProof, TreeError> {
        let s = self.state();
        Ok(ConsistencyProof {
            from,
            to,
            proof: s.tree.consistency_proof(from, to)?,
            from_root: s.tree.root_at(from)?,
            to_root: s.tree.root_at(to)?,
        })
    }

    /// Catches up with the store and signs a checkpoint of the whole tree unless one of
    /// that size is stored. Returns the checkpoint written, if any.
    ///
    /// # Errors
    /// [`AuditError::NoSigner`] without a key; otherwise when the log is broken or a
    /// store fails.
    pub async fn checkpoint_now(
        &self,
        store: &dyn EventStore,
    ) -> Result<Option<StoredCheckpoint>, AuditError> {
        let _writing = self.writing.lock().await;
        self.catch_up(store).await?;
        self.sign_current().await
    }

    async fn sign_current(&self) -> Result<Option<StoredCheckpoint>, AuditError> {
        let signer = self.signer.as_ref().ok_or(AuditError::NoSigner)?;
        let (size, root) = {
            let s = self.state();
            (s.tree.size(), s.tree.root())
        };
        if size == 0 {
            return Ok(None);
        }
        if let Some(latest) = self.checkpoints.latest().await?
            && latest.tree_size >= size
        {
            return Ok(None);
        }
        let note = signer.sign(size, root)?;
        let written = self.checkpoints.put(size, &note).await?;
        tracing::info!(tree_size = size, root = %root, written, "checkpoint signed");
        Ok(Some(StoredCheckpoint {
            tree_size: size,
            note,
            recorded_at: chrono::Utc::now(),
        }))
    }

    /// Checks the tree against the latest stored checkpoint, reading on when a writer
    /// signed events appended since this tree caught up.
    async fn check_latest(&self, store: &dyn EventStore) -> Result<(), AuditError> {
        let Some(latest) = self.checkpoints.latest().await? else {
            return Ok(());
        };
        let Ok((size, root)) = parse_unverified(&latest.note) else {
            tracing::warn!(
                tree_size = latest.tree_size,
                "latest checkpoint does not parse"
            );
            return Ok(());
        };
        let mut have = self.size();
        if size > have {
            let _writing = self.writing.lock().await;
            have = self.catch_up(store).await?;
        }
        if size > have {
            return Err(Tampered {
                position: have + 1,
                reason: format!(
                    "log truncated: checkpoint of size {size} is stored, the log holds {have} events"
                ),
            }
            .into());
        }
        if self.root_at(size)? != root {
            return Err(Tampered {
                position: size,
                reason: format!("the log does not match the root of the checkpoint of size {size}"),
            }
            .into());
        }
        Ok(())
    }

    /// Builds the tree from the log, then follows it; with a signer, signs checkpoints
    /// by `policy` and once more when `stop` is cancelled. Without one it only keeps the
    /// tree for proofs. A store that does not answer (a busy or electing cluster) is
    /// tried again, from where the tree stands, after a pause of up to 10 s.
    ///
    /// # Errors
    /// When the log is found broken (nothing is signed then) or the key fails.
    pub async fn run(
        self: Arc<Self>,
        store: Arc<dyn EventStore>,
        policy: CheckpointPolicy,
        stop: CancellationToken,
    ) -> Result<(), AuditError> {
        let mut pause = Duration::from_millis(200);
        loop {
            match Arc::clone(&self)
                .run_once(Arc::clone(&store), policy, stop.clone())
                .await
            {
                Err(e) if e.is_transient() && !stop.is_cancelled() => {
                    tracing::warn!(error = %e, retry_in = ?pause, "audit log: store not answering, trying again");
                    tokio::select! {
                        () = stop.cancelled() => {}
                        () = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(Duration::from_secs(10));
                }
                other => return other,
            }
        }
    }

    async fn run_once(
        self: Arc<Self>,
        store: Arc<dyn EventStore>,
        policy: CheckpointPolicy,
        stop: CancellationToken,
    ) -> Result<(), AuditError> {
        let started = Instant::now();
        {
            let _writing = self.writing.lock().await;
            self.catch_up(store.as_ref()).await?;
        }
        self.check_latest(store.as_ref()).await?;
        tracing::info!(size = self.size(), took = ?started.elapsed(), "audit tree built");
        let signing = self.signer.is_some();
        let mut signed = self.checkpoints.latest().await?.map_or(0, |c| c.tree_size);
        // Events found at start wait like new ones (a long backlog is signed at once).
        let mut oldest_uncovered = (self.size() > signed).then(Instant::now);
        if signing && self.size().saturating_sub(signed) >= policy.every_events {
            let _writing = self.writing.lock().await;
            if let Some(c) = self.sign_current().await? {
                signed = c.tree_size;
                oldest_uncovered = None;
            }
        }
        let mut events = store.subscribe_all(self.size());
        let period = policy
            .max_delay
            .clamp(Duration::from_millis(10), Duration::from_secs(1));
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let due = tokio::select! {
                () = stop.cancelled() => break,
                next = events.next() => match next {
                    Some(Ok(e)) => {
                        self.ingest(&e)?;
                        oldest_uncovered.get_or_insert_with(Instant::now);
                        self.size().saturating_sub(signed) >= policy.every_events
                    }
                    Some(Err(e)) => return Err(e.into()),
                    None => break,
                },
                _ = tick.tick() => oldest_uncovered.is_some_and(|t| t.elapsed() >= policy.max_delay),
            };
            if due && signing {
                let _writing = self.writing.lock().await;
                if let Some(c) = self.sign_current().await? {
                    signed = c.tree_size;
                } else {
                    signed = signed.max(self.size());
                }
                oldest_uncovered = None;
            }
        }
        if signing {
            let _writing = self.writing.lock().await;
            self.catch_up(store.as_ref()).await?;
            self.sign_current().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use metroplan_events::{EventMetadata, NewEvent};
    use metroplan_eventstore::ExpectedVersion;
    use metroplan_eventstore::sqlite::SqliteStore;

    use super::*;
    use crate::SqliteCheckpoints;
    use crate::signing::generate_key;

    async fn append(store: &SqliteStore, n: u64) {
        for i in 0..n {
            let event = NewEvent {
                event_id: uuid::Uuid::now_v7(),
                event_type: "AuditTestNoted".into(),
                schema_version: 1,
                payload: format!("note {i}").into_bytes(),
                metadata: EventMetadata {
                    actor: "tester".into(),
                    on_behalf_of: "auditors".into(),
                    reason: None,
                    correlation_id: None,
                    causation_id: None,
                },
            };
            store
                .append("audit-test:log", ExpectedVersion::Any, vec![event])
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn a_checkpoint_signed_after_a_follower_caught_up_is_read_up_to_not_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_in(dir.path()).unwrap();
        let checkpoints: Arc<dyn CheckpointStore> =
            Arc::new(SqliteCheckpoints::open_in(dir.path()).unwrap());
        let (skey, _) = generate_key("metroplan.test/events").unwrap();
        let signer = || CheckpointSigner::from_private_key(&skey, "test").unwrap();
        let writer = AuditLog::new(Arc::clone(&checkpoints), Some(signer()), Keyring::default());
        let follower = AuditLog::new(Arc::clone(&checkpoints), None, Keyring::default());

        append(&store, 10).await;
        follower.catch_up(&store).await.unwrap();
        // Another process appends and signs after the follower caught up.
        append(&store, 5).await;
        assert_eq!(
            writer
                .checkpoint_now(&store)
                .await
                .unwrap()
                .unwrap()
                .tree_size,
            15
        );
        follower.check_latest(&store).await.unwrap();
        assert_eq!(follower.size(), 15);

        // A checkpoint beyond what the log holds is a truncation.
        let beyond = signer().sign(20, writer.root_at(15).unwrap()).unwrap();
        assert!(checkpoints.put(20, &beyond).await.unwrap());
        match follower.check_latest(&store).await {
            Err(AuditError::Tampered(t)) => assert_eq!(t.position, 16, "{t}"),
            other => panic!("a truncated log passed: {other:?}"),
        }
        // And a follower never signs.
        assert!(matches!(
            follower.checkpoint_now(&store).await,
            Err(AuditError::NoSigner)
        ));
    }
}
