//! The verifier behind `metroplan verify`: walks the whole log in position order and
//! checks everything an auditor can check.
//!
//! 1. Positions are contiguous from 1; each stream's versions are contiguous from 1;
//!    each event's stored hash equals the hash recomputed from its envelope, its payload
//!    and the previous event of its stream ([`ChainChecker`]).
//! 2. Every stored checkpoint is signed by a trusted key, and the Merkle root of the
//!    first `size` events equals its root. A checkpoint larger than the log means the
//!    log was truncated.
//! 3. Every checkpoint the auditor kept from earlier passes the same checks, and the
//!    latest stored checkpoint is proved consistent with it (a consistency proof, as an
//!    auditor holding only the two checkpoints would check it).
//!
//! The first failure is reported with the first position it proves bad. A recomputed
//! hash that differs names its event. A root that differs (the events were rewritten
//! and their hashes recomputed) proves only that some event after the previous good
//! checkpoint was changed: that first uncovered position is named.

use metroplan_eventstore::EventStore;
use tlog_tiles::Hash;

use crate::chain::{ChainChecker, Tampered};
use crate::log::{AuditError, PAGE};
use crate::signing::{Keyring, SignedCheckpoint};
use crate::store::StoredCheckpoint;
use crate::tree::{MerkleTree, verify_consistency};

/// What a successful verification checked.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    pub events: u64,
    pub streams: usize,
    pub checkpoints: usize,
    pub kept_checkpoints: usize,
    /// The size of the latest checkpoint (0 when none).
    pub latest_checkpoint: u64,
    /// The root over every event, base64.
    pub root: String,
}

/// Verifies the log of `store` against `checkpoints` (as stored) and `kept` (signed
/// notes an auditor kept), trusting the keys of `keys`. Reports `(done, total)` to
/// `progress`.
///
/// # Errors
/// [`AuditError::Tampered`] with the first bad position; other variants when a store
/// cannot be read.
pub async fn verify_log(
    store: &dyn EventStore,
    checkpoints: Vec<StoredCheckpoint>,
    kept: &[String],
    keys: &Keyring,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<Report, AuditError> {
    verify_log_with_heads(store, checkpoints, kept, keys, None, progress).await
}

/// [`verify_log`], also comparing the end of each stream with `recorded_heads` (stream,
/// last version, last hash) when the store keeps such a record (the embedded store's
/// `streams` table: [`crate::SqliteCheckpoints::recorded_stream_heads`]). That catches
/// events removed from the end of the log that no checkpoint covers yet, unless the
/// record was rewritten too.
///
/// # Errors
/// As [`verify_log`].
pub async fn verify_log_with_heads(
    store: &dyn EventStore,
    mut checkpoints: Vec<StoredCheckpoint>,
    kept: &[String],
    keys: &Keyring,
    recorded_heads: Option<Vec<(String, u64, Vec<u8>)>>,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<Report, AuditError> {
    checkpoints.sort_by_key(|c| c.tree_size);
    // Open every checkpoint first: a bad signature is found before the walk.
    let mut opened: Vec<SignedCheckpoint> = Vec::with_capacity(checkpoints.len());
    for c in &checkpoints {
        let signed = keys.open(&c.note).map_err(|e| Tampered {
            position: c.tree_size,
            reason: format!("checkpoint of size {}: {e}", c.tree_size),
        })?;
        if signed.size != c.tree_size {
            return Err(Tampered {
                position: c.tree_size.min(signed.size),
                reason: format!(
                    "checkpoint stored as size {} signs size {}",
                    c.tree_size, signed.size
                ),
            }
            .into());
        }
        opened.push(signed);
    }
    let mut kept_opened = Vec::with_capacity(kept.len());
    for note in kept {
        let signed = keys.open(note).map_err(|e| Tampered {
            position: 0,
            reason: format!("the kept checkpoint does not verify: {e}"),
        })?;
        kept_opened.push(signed);
    }
    let mut all: Vec<&SignedCheckpoint> = opened.iter().chain(kept_opened.iter()).collect();
    all.sort_by_key(|c| c.size);

    let mut chain = ChainChecker::new();
    let mut tree = MerkleTree::new();
    let mut next_checkpoint = 0;
    // The size of the last checkpoint found good below the current one.
    let mut good_below = 0;
    let mut good_at = 0;
    let mut total = store.head_position().await?;
    progress(0, total);
    loop {
        let page = store.read_all(chain.position(), PAGE).await?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            chain.check(e)?;
            tree.push(&e.hash)?;
            while let Some(c) = all.get(next_checkpoint)
                && c.size == tree.size()
            {
                if c.size > good_at {
                    good_below = good_at;
                }
                check_root(c, tree.root(), good_below)?;
                good_at = c.size;
                next_checkpoint += 1;
            }
        }
        total = total.max(chain.position());
        progress(chain.position(), total);
    }
    let events = chain.position();
    progress(events, events);
    // Checkpoints of size 0 (none are written, but a kept one may be) cover nothing.
    while let Some(c) = all.get(next_checkpoint)
        && c.size == 0
    {
        next_checkpoint += 1;
    }
    if let Some(c) = all.get(next_checkpoint) {
        return Err(Tampered {
            position: events + 1,
            reason: format!(
                "log truncated: a checkpoint signed {} events, the log holds {events}",
                c.size
            ),
        }
        .into());
    }
    if let Some(recorded) = &recorded_heads {
        chain.check_recorded_heads(recorded)?;
    }
    // An auditor holding only checkpoints checks a newer one extends the one kept.
    if let Some(latest) = opened.last() {
        for k in &kept_opened {
            if k.size <= latest.size {
                let proof = tree.consistency_proof(k.size, latest.size)?;
                verify_consistency(&proof, k.size, k.root, latest.size, latest.root).map_err(
                    |e| Tampered {
                        position: k.size,
                        reason: format!(
                            "the latest checkpoint ({}) is not consistent with the kept one ({}): {e}",
                            latest.size, k.size
                        ),
                    },
                )?;
            }
        }
    }
    Ok(Report {
        events,
        streams: chain.streams(),
        checkpoints: opened.len(),
        kept_checkpoints: kept_opened.len(),
        latest_checkpoint: opened.last().map_or(0, |c| c.size),
        root: tree.root().to_string(),
    })
}

fn check_root(c: &SignedCheckpoint, root: Hash, good_until: u64) -> Result<(), Tampered> {
    if c.root == root {
        return Ok(());
    }
    Err(Tampered {
        position: good_until + 1,
        reason: format!(
            "events {}..={} do not match the signed root of the checkpoint of size {} (the hashes were rewritten)",
            good_until + 1,
            c.size,
            c.size
        ),
    })
}
