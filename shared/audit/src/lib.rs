//! Tamper evidence over the event log.
//!
//! Every event already carries a hash chained to the previous event of its stream
//! (`metroplan_eventstore::sqlite`, "Hash chain"). This crate adds, in the manner of
//! Certificate Transparency (RFC 9162):
//!
//! - a **Merkle tree** over the whole log, one leaf per event in position order, whose
//!   leaf data is the event's chain hash ([`tree`]);
//! - **signed checkpoints**: C2SP tlog-checkpoints in C2SP signed notes, signed with the
//!   deployment's Ed25519 key ([`signing`]), kept in a [`store::CheckpointStore`]
//!   (SQLite table beside the log, or the JetStream stream [`nats::STREAM_NAME`]);
//! - **proofs**: inclusion of an event in a checkpoint, consistency of an older
//!   checkpoint with a newer one, with the functions that check them;
//! - the **checkpointer** and proof server ([`log::AuditLog`]) and the **verifier**
//!   ([`verify::verify_log`]) behind `metroplan verify`.
//!
//! Removing, inserting, changing or reordering events changes a recomputed chain hash,
//! breaks position or version contiguity, or changes the Merkle root under a signed
//! checkpoint; truncating the log leaves a checkpoint larger than the log.

pub mod chain;
pub mod log;
pub mod nats;
pub mod signing;
pub mod store;
pub mod tree;
pub mod verify;

pub use chain::{ChainChecker, Tampered};
pub use log::{AuditError, AuditLog, CheckpointPolicy, ConsistencyProof, InclusionProof};
pub use signing::{CheckpointSigner, KeyDir, Keyring, SignedCheckpoint};
pub use store::{CheckpointStore, SqliteCheckpoints, StoredCheckpoint, all_checkpoints};
pub use tree::{MerkleTree, TreeError, TreeHash, verify_consistency, verify_inclusion};
pub use verify::{Report, verify_log, verify_log_with_heads};
