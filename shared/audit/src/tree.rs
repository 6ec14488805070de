//! The Merkle tree over the log, in the manner of Certificate Transparency (RFC 6962 /
//! RFC 9162, section 2.1): one leaf per event in position order, the leaf data being the
//! event's chain hash (which already covers its envelope, its payload and the previous
//! event of its stream), so the root commits to every byte of the log and to its order.
//!
//! # Choices
//!
//! - The hashing and the proofs are `tlog_tiles` (Cloudflare's port of Go's
//!   `golang.org/x/mod/sumdb/tlog`): leaf `SHA-256(0x00 || data)`, node
//!   `SHA-256(0x01 || left || right)`, proofs as in RFC 6962 section 2.1.1 and 2.1.2.
//!   Nothing here hashes by hand.
//! - The tree keeps every stored hash (tlog's dense "stored hash" layout, about two
//!   hashes, 64 bytes, per event) in memory, so that a root or a proof at any earlier
//!   size is a few look-ups. It is a read model: rebuilt from the log at start.
//! - Positions are 1-based like the log's; leaf indexes are `position - 1`.

use tlog_tiles::{Hash, HashReader};

/// Why a tree operation or a proof failed.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// A size or position outside the tree.
    #[error("{0}")]
    OutOfRange(String),
    /// The proof does not lead to the claimed root.
    #[error("the proof does not match the root")]
    InvalidProof,
    #[error("merkle tree: {0}")]
    Tlog(#[from] tlog_tiles::Error),
}

/// A 32-byte hash of a leaf or a tree; printed and parsed as standard base64 (as in a
/// C2SP checkpoint).
pub use tlog_tiles::Hash as TreeHash;

/// The leaf hash of an event: `SHA-256(0x00 || chain hash)`.
pub fn leaf_hash(chain_hash: &[u8]) -> Hash {
    tlog_tiles::record_hash(chain_hash)
}

/// The root of an empty tree: `SHA-256("")`.
pub const EMPTY_ROOT: Hash = tlog_tiles::EMPTY_HASH;

struct Stored<'a>(&'a [Hash]);

impl HashReader for Stored<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.0.get(i).copied())
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// An append-only Merkle tree held in memory.
#[derive(Default, Clone)]
pub struct MerkleTree {
    stored: Vec<Hash>,
    size: u64,
}

impl std::fmt::Debug for MerkleTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerkleTree")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl MerkleTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Leaves in the tree: the position of the last event added.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds the next leaf, whose data is `chain_hash`.
    ///
    /// # Errors
    /// Never for a tree built by this type (the stored hashes are always complete).
    pub fn push(&mut self, chain_hash: &[u8]) -> Result<(), TreeError> {
        let new = tlog_tiles::stored_hashes(self.size, chain_hash, &Stored(&self.stored))?;
        self.stored.extend(new);
        self.size += 1;
        Ok(())
    }

    /// The root over all leaves.
    pub fn root(&self) -> Hash {
        // The whole tree is always readable.
        self.root_at(self.size).unwrap_or(EMPTY_ROOT)
    }

    /// The root over the first `n` leaves.
    ///
    /// # Errors
    /// [`TreeError::OutOfRange`] when `n` exceeds the size.
    pub fn root_at(&self, n: u64) -> Result<Hash, TreeError> {
        self.check_size(n)?;
        Ok(tlog_tiles::tree_hash(n, &Stored(&self.stored))?)
    }

    /// The audit path proving that the event at `position` is in the tree of size `n`.
    ///
    /// # Errors
    /// [`TreeError::OutOfRange`] unless `1 <= position <= n <= size`.
    pub fn inclusion_proof(&self, position: u64, n: u64) -> Result<Vec<Hash>, TreeError> {
        self.check_size(n)?;
        if position == 0 || position > n {
            return Err(TreeError::OutOfRange(format!(
                "position {position} is not in a tree of size {n}"
            )));
        }
        Ok(tlog_tiles::prove_record(
            n,
            position - 1,
            &Stored(&self.stored),
        )?)
    }

    /// The proof that the tree of size `n` extends the tree of size `m`.
    ///
    /// # Errors
    /// [`TreeError::OutOfRange`] unless `m <= n <= size`.
    pub fn consistency_proof(&self, m: u64, n: u64) -> Result<Vec<Hash>, TreeError> {
        self.check_size(n)?;
        if m > n {
            return Err(TreeError::OutOfRange(format!(
                "size {m} is larger than size {n}"
            )));
        }
        if m == 0 {
            return Ok(Vec::new());
        }
        Ok(tlog_tiles::prove_tree(n, m, &Stored(&self.stored))?)
    }

    fn check_size(&self, n: u64) -> Result<(), TreeError> {
        if n > self.size {
            return Err(TreeError::OutOfRange(format!(
                "tree size {n} is beyond the {} events seen",
                self.size
            )));
        }
        Ok(())
    }
}

/// Checks that the event whose chain hash is `chain_hash`, at `position`, is in the tree
/// of size `n` and root `root`, given the audit path `proof`.
///
/// # Errors
/// [`TreeError::InvalidProof`] when it is not; [`TreeError::OutOfRange`] unless
/// `1 <= position <= n`.
pub fn verify_inclusion(
    proof: &[Hash],
    position: u64,
    chain_hash: &[u8],
    n: u64,
    root: Hash,
) -> Result<(), TreeError> {
    if position == 0 || position > n {
        return Err(TreeError::OutOfRange(format!(
            "position {position} is not in a tree of size {n}"
        )));
    }
    tlog_tiles::check_record(
        &proof.to_vec(),
        n,
        root,
        position - 1,
        leaf_hash(chain_hash),
    )
    .map_err(|_| TreeError::InvalidProof)
}

/// Checks that the tree of size `n` and root `new_root` extends the tree of size `m` and
/// root `old_root`, given the consistency proof `proof`.
///
/// # Errors
/// [`TreeError::InvalidProof`] when it does not; [`TreeError::OutOfRange`] when `m > n`.
pub fn verify_consistency(
    proof: &[Hash],
    m: u64,
    old_root: Hash,
    n: u64,
    new_root: Hash,
) -> Result<(), TreeError> {
    if m > n {
        return Err(TreeError::OutOfRange(format!(
            "size {m} is larger than size {n}"
        )));
    }
    if m == 0 {
        // Every tree extends the empty one.
        return if proof.is_empty() && old_root == EMPTY_ROOT {
            Ok(())
        } else {
            Err(TreeError::InvalidProof)
        };
    }
    tlog_tiles::check_tree(&proof.to_vec(), n, new_root, m, old_root)
        .map_err(|_| TreeError::InvalidProof)
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    /// RFC 6962's Merkle Tree Hash written out from section 2.1, independently of
    /// tlog_tiles, over leaf data.
    fn mth(leaves: &[Vec<u8>]) -> [u8; 32] {
        match leaves.len() {
            0 => Sha256::digest(b"").into(),
            1 => {
                let mut h = Sha256::new();
                h.update([0]);
                h.update(&leaves[0]);
                h.finalize().into()
            }
            n => {
                let k = largest_power_of_two_below(n);
                let mut h = Sha256::new();
                h.update([1]);
                h.update(mth(&leaves[..k]));
                h.update(mth(&leaves[k..]));
                h.finalize().into()
            }
        }
    }

    fn largest_power_of_two_below(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// RFC 6962 section 2.1.1 PATH(m, D[n]).
    fn path(m: usize, leaves: &[Vec<u8>]) -> Vec<[u8; 32]> {
        let n = leaves.len();
        if n <= 1 {
            return vec![];
        }
        let k = largest_power_of_two_below(n);
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    /// RFC 6962 section 2.1.2 SUBPROOF(m, D[n], b).
    fn subproof(m: usize, leaves: &[Vec<u8>], b: bool) -> Vec<[u8; 32]> {
        let n = leaves.len();
        if m == n {
            return if b { vec![] } else { vec![mth(leaves)] };
        }
        let k = largest_power_of_two_below(n);
        if m <= k {
            let mut p = subproof(m, &leaves[..k], b);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = subproof(m - k, &leaves[k..], false);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The eight leaves of the RFC 6962 test data (certificate-transparency's
    /// merkle tree tests) and the roots of their prefixes.
    const RFC6962_LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const RFC6962_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn roots_match_the_rfc6962_test_vectors() {
        let mut tree = MerkleTree::new();
        for (i, leaf) in RFC6962_LEAVES.iter().enumerate() {
            tree.push(&hex(leaf)).unwrap();
            assert_eq!(
                tree.root().0.to_vec(),
                hex(RFC6962_ROOTS[i]),
                "size {}",
                i + 1
            );
        }
        for (i, root) in RFC6962_ROOTS.iter().enumerate() {
            assert_eq!(tree.root_at(i as u64 + 1).unwrap().0.to_vec(), hex(root));
        }
        assert_eq!(tree.root_at(0).unwrap(), EMPTY_ROOT);
    }

    fn leaves(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| Sha256::digest(format!("event {i}")).to_vec())
            .collect()
    }

    #[test]
    fn roots_and_proofs_match_an_independent_rfc6962_recomputation() {
        let data = leaves(37);
        let mut tree = MerkleTree::new();
        for d in &data {
            tree.push(d).unwrap();
        }
        for n in 1..=data.len() {
            let root = tree.root_at(n as u64).unwrap();
            assert_eq!(root.0, mth(&data[..n]), "root at {n}");
            for m in 0..n {
                let proof = tree.inclusion_proof(m as u64 + 1, n as u64).unwrap();
                let expected = path(m, &data[..n]);
                assert_eq!(proof.iter().map(|h| h.0).collect::<Vec<_>>(), expected);
                verify_inclusion(&proof, m as u64 + 1, &data[m], n as u64, root).unwrap();
            }
            for m in 1..=n {
                let proof = tree.consistency_proof(m as u64, n as u64).unwrap();
                let expected = subproof(m, &data[..n], true);
                assert_eq!(proof.iter().map(|h| h.0).collect::<Vec<_>>(), expected);
                let old = tree.root_at(m as u64).unwrap();
                verify_consistency(&proof, m as u64, old, n as u64, root).unwrap();
            }
        }
    }

    #[test]
    fn a_proof_for_other_data_or_another_root_is_refused() {
        let data = leaves(20);
        let mut tree = MerkleTree::new();
        for d in &data {
            tree.push(d).unwrap();
        }
        let root = tree.root();
        let proof = tree.inclusion_proof(7, 20).unwrap();
        assert!(verify_inclusion(&proof, 7, &data[6], 20, root).is_ok());
        // Another event's data, another position, a stale root.
        assert!(matches!(
            verify_inclusion(&proof, 7, &data[7], 20, root),
            Err(TreeError::InvalidProof)
        ));
        assert!(verify_inclusion(&proof, 8, &data[6], 20, root).is_err());
        assert!(verify_inclusion(&proof, 7, &data[6], 20, tree.root_at(19).unwrap()).is_err());
        // A history that was rewritten below size 5 is not consistent.
        let mut forged = MerkleTree::new();
        for (i, d) in data.iter().enumerate() {
            forged.push(if i == 3 { b"forged" } else { d }).unwrap();
        }
        let proof = tree.consistency_proof(5, 20).unwrap();
        assert!(verify_consistency(&proof, 5, tree.root_at(5).unwrap(), 20, root).is_ok());
        assert!(matches!(
            verify_consistency(&proof, 5, forged.root_at(5).unwrap(), 20, root),
            Err(TreeError::InvalidProof)
        ));
        assert!(
            verify_consistency(&proof, 5, tree.root_at(5).unwrap(), 20, forged.root()).is_err()
        );
        // Out of range asks are errors, not panics.
        assert!(tree.inclusion_proof(0, 20).is_err());
        assert!(tree.inclusion_proof(21, 20).is_err());
        assert!(tree.consistency_proof(21, 20).is_err());
        assert!(tree.root_at(21).is_err());
        assert!(verify_inclusion(&proof, 0, &data[0], 20, root).is_err());
        assert!(verify_consistency(&proof, 21, root, 20, root).is_err());
    }
}
