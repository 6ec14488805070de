//! Signed checkpoints and the deployment's Ed25519 key.
//!
//! A checkpoint is a C2SP tlog-checkpoint (`origin`, tree size, base64 root, each on its
//! own line) wrapped in a C2SP signed note (a blank line, then `— <key name>
//! base64(key id || Ed25519 signature)`), built with `tlog_tiles::Checkpoint` and
//! `signed_note`. The key name is the log's origin.
//!
//! # Choices
//!
//! - **Key formats** are signed_note's: the private key is
//!   `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>`, the public verifier key is
//!   `<name>+<key id>+<base64(0x01 || public key)>` (the same text Go's `note` package,
//!   sigsum and the Go checksum database use), so auditors can check a note with tools
//!   that are not ours.
//! - **A key directory** ([`KeyDir`]) holds `checkpoint.key` (mode 0600),
//!   `checkpoint.pub` (its verifier key) and `retired.pub` (every earlier verifier key,
//!   one a line). Rotation moves the current verifier key to `retired.pub` and writes a
//!   new pair with the same name, so the new key has another key id and checkpoints
//!   signed before the rotation still verify against the retired key.
//! - Signatures are deterministic (Ed25519), so two writers signing the same tree size
//!   with the same key produce byte-identical notes: a duplicate is harmless.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use signed_note::{Note, Signer, StandardSigner, StandardVerifier, VerifierList};
use tlog_tiles::{Checkpoint, Hash};

/// The origin (and key name) of a deployment that did not choose one.
pub const DEFAULT_ORIGIN: &str = "metroplan.local/events";

/// The private key's file name in a [`KeyDir`].
pub const PRIVATE_KEY_FILE: &str = "checkpoint.key";
/// The current verifier key's file name in a [`KeyDir`].
pub const PUBLIC_KEY_FILE: &str = "checkpoint.pub";
/// Retired verifier keys, one a line, in a [`KeyDir`].
pub const RETIRED_KEYS_FILE: &str = "retired.pub";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not a signed-note Ed25519 private key")]
    BadPrivateKey(String),
    #[error("{0:?} is not a signed-note verifier key")]
    BadVerifierKey(String),
    #[error("origin {0:?} is not a valid key name (no spaces, no '+')")]
    BadOrigin(String),
    #[error("signing the checkpoint: {0}")]
    Sign(String),
}

/// Why a checkpoint note was refused.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed signed note: {0}")]
    MalformedNote(String),
    #[error("malformed checkpoint text")]
    MalformedCheckpoint,
    #[error("signature does not verify: {0}")]
    BadSignature(String),
    #[error("signed by no known key ({0})")]
    UnknownKey(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Generates a new key pair named `origin`: (private key, verifier key).
///
/// # Errors
/// [`KeyError::BadOrigin`] when `origin` is not a valid key name.
pub fn generate_key(origin: &str) -> Result<(String, String), KeyError> {
    if !signed_note::is_key_name_valid(origin) {
        return Err(KeyError::BadOrigin(origin.to_owned()));
    }
    Ok(signed_note::generate_key(&mut rand_core::OsRng, origin))
}

/// The deployment's signing key.
pub struct CheckpointSigner {
    signer: StandardSigner,
    verifier_key: String,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        f.debug_struct("CheckpointSigner")
            .field("verifier_key", &self.verifier_key)
            .finish_non_exhaustive()
    }
}

impl CheckpointSigner {
    /// A signer from signed_note's private key text.
    ///
    /// # Errors
    /// [`KeyError::BadPrivateKey`] when it does not parse.
    pub fn from_private_key(skey: &str, source: &str) -> Result<Self, KeyError> {
        let skey = skey.trim();
        let bad = || KeyError::BadPrivateKey(source.to_owned());
        let signer = StandardSigner::new(skey).map_err(|_| bad())?;
        // The verifier key is derived from the seed, the fifth field (0x01 || seed),
        // whose base64 may itself hold a '+'.
        let encoded = skey.splitn(5, '+').nth(4).ok_or_else(bad)?;
        let bytes = BASE64.decode(encoded).map_err(|_| bad())?;
        let seed: [u8; 32] = bytes
            .get(1..)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(bad)?;
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        let verifier_key = signed_note::new_ed25519_verifier_key(signer.name(), &public);
        Ok(Self {
            signer,
            verifier_key,
        })
    }

    /// Reads a private key file.
    ///
    /// # Errors
    /// When the file cannot be read or does not hold a private key.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let text = fs::read_to_string(path).map_err(io(path))?;
        Self::from_private_key(&text, &path.display().to_string())
    }

    /// The log's origin: the key's name.
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// The public verifier key, for auditors.
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// The signed note of the checkpoint of the tree of `size` leaves and root `root`.
    ///
    /// # Errors
    /// [`KeyError::Sign`] when signing fails.
    pub fn sign(&self, size: u64, root: Hash) -> Result<String, KeyError> {
        let checkpoint = Checkpoint::new(self.origin(), size, root, "")
            .map_err(|e| KeyError::Sign(e.to_string()))?;
        let mut note =
            Note::new(&checkpoint.to_bytes(), &[]).map_err(|e| KeyError::Sign(e.to_string()))?;
        note.add_sigs(&[&self.signer as &dyn Signer])
            .map_err(|e| KeyError::Sign(e.to_string()))?;
        String::from_utf8(note.to_bytes()).map_err(|e| KeyError::Sign(e.to_string()))
    }
}

/// The verifier keys an auditor trusts: the current one and the retired ones.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: Vec<String>,
}

impl Keyring {
    /// A keyring of verifier keys.
    ///
    /// # Errors
    /// [`KeyError::BadVerifierKey`] when one does not parse.
    pub fn new(keys: impl IntoIterator<Item = String>) -> Result<Self, KeyError> {
        let keys: Vec<String> = keys
            .into_iter()
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty() && !k.starts_with('#'))
            .collect();
        for k in &keys {
            StandardVerifier::new(k).map_err(|_| KeyError::BadVerifierKey(k.clone()))?;
        }
        Ok(Self { keys })
    }

    /// Keys from `text`: one verifier key a line (`#` starts a comment line).
    ///
    /// # Errors
    /// As [`Keyring::new`].
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        Self::new(text.lines().map(str::to_owned))
    }

    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds the keys of `other` that are not in this ring.
    pub fn extend(&mut self, other: &Keyring) {
        for k in &other.keys {
            if !self.keys.contains(k) {
                self.keys.push(k.clone());
            }
        }
    }

    fn verifiers(&self) -> VerifierList {
        VerifierList::new(
            self.keys
                .iter()
                .filter_map(|k| StandardVerifier::new(k).ok())
                .map(|v| Box::new(v) as Box<dyn signed_note::Verifier>)
                .collect(),
        )
    }

    /// Parses a signed checkpoint and checks that a key of this ring signed it.
    ///
    /// # Errors
    /// [`CheckpointError`] when the note is malformed, a known key's signature does not
    /// verify, or no known key signed it.
    pub fn open(&self, note: &str) -> Result<SignedCheckpoint, CheckpointError> {
        let parsed = Note::from_bytes(note.as_bytes())
            .map_err(|e| CheckpointError::MalformedNote(e.to_string()))?;
        let (verified, _unknown) = parsed.verify(&self.verifiers()).map_err(|e| match e {
            signed_note::NoteError::UnverifiedNote => {
                CheckpointError::UnknownKey(format!("{} key(s) tried", self.keys.len()))
            }
            other => CheckpointError::BadSignature(other.to_string()),
        })?;
        let checkpoint = Checkpoint::from_bytes(parsed.text())
            .map_err(|_| CheckpointError::MalformedCheckpoint)?;
        Ok(SignedCheckpoint {
            origin: checkpoint.origin().to_owned(),
            size: checkpoint.size(),
            root: *checkpoint.hash(),
            signed_by: verified
                .iter()
                .map(|s| format!("{}+{:08x}", s.name(), s.id()))
                .collect(),
            note: note.to_owned(),
        })
    }
}

/// Reads a checkpoint's fields without checking its signature (for a writer comparing
/// its own last checkpoint with the log).
///
/// # Errors
/// [`CheckpointError`] when the note or the checkpoint is malformed.
pub fn parse_unverified(note: &str) -> Result<(u64, Hash), CheckpointError> {
    let parsed = Note::from_bytes(note.as_bytes())
        .map_err(|e| CheckpointError::MalformedNote(e.to_string()))?;
    let checkpoint =
        Checkpoint::from_bytes(parsed.text()).map_err(|_| CheckpointError::MalformedCheckpoint)?;
    Ok((checkpoint.size(), *checkpoint.hash()))
}

/// A checkpoint whose signature was verified.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedCheckpoint {
    pub origin: String,
    /// Leaves covered: the events at positions `1..=size`.
    pub size: u64,
    pub root: Hash,
    /// The keys (`name+id`) whose signatures verified.
    pub signed_by: Vec<String>,
    /// The signed note as stored.
    pub note: String,
}

/// The key files of one deployment (`DATA/keys` for the embedded one).
#[derive(Debug, Clone)]
pub struct KeyDir {
    dir: PathBuf,
}

impl KeyDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `data/keys`.
    pub fn in_data_dir(data: &Path) -> Self {
        Self::new(data.join("keys"))
    }

    pub fn private_key_path(&self) -> PathBuf {
        self.dir.join(PRIVATE_KEY_FILE)
    }

    pub fn public_key_path(&self) -> PathBuf {
        self.dir.join(PUBLIC_KEY_FILE)
    }

    pub fn retired_keys_path(&self) -> PathBuf {
        self.dir.join(RETIRED_KEYS_FILE)
    }

    /// Whether a private key is there.
    pub fn exists(&self) -> bool {
        self.private_key_path().exists()
    }

    /// The signer, creating a key pair named `origin` when there is none.
    ///
    /// # Errors
    /// When the directory or a file cannot be written or read.
    pub fn load_or_create(&self, origin: &str) -> Result<CheckpointSigner, KeyError> {
        if !self.exists() {
            let (skey, vkey) = generate_key(origin)?;
            self.write_pair(&skey, &vkey)?;
            tracing::info!(key = %vkey, dir = %self.dir.display(), "checkpoint signing key created");
        }
        self.load()
    }

    /// The signer.
    ///
    /// # Errors
    /// When the private key cannot be read or parsed.
    pub fn load(&self) -> Result<CheckpointSigner, KeyError> {
        CheckpointSigner::from_file(&self.private_key_path())
    }

    /// The current verifier key, then the retired ones.
    ///
    /// # Errors
    /// When a file cannot be read or holds something else than verifier keys.
    pub fn keyring(&self) -> Result<Keyring, KeyError> {
        let mut text = String::new();
        for path in [self.public_key_path(), self.retired_keys_path()] {
            match fs::read_to_string(&path) {
                Ok(t) => {
                    text.push_str(&t);
                    text.push('\n');
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path)(e)),
            }
        }
        Keyring::parse(&text)
    }

    /// Replaces the key with a new one of the same name; the old verifier key is kept
    /// in `retired.pub`. Returns the new signer. A running process keeps signing with the
    /// key it loaded until it restarts.
    ///
    /// # Errors
    /// When there is no key to rotate or a file cannot be written.
    pub fn rotate(&self) -> Result<CheckpointSigner, KeyError> {
        let old = self.load()?;
        let (skey, vkey) = generate_key(old.origin())?;
        let retired = self.retired_keys_path();
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&retired)
            .map_err(io(&retired))?;
        writeln!(file, "{}", old.verifier_key()).map_err(io(&retired))?;
        file.sync_all().map_err(io(&retired))?;
        self.write_pair(&skey, &vkey)?;
        tracing::info!(old = %old.verifier_key(), new = %vkey, "checkpoint signing key rotated");
        self.load()
    }

    fn write_pair(&self, skey: &str, vkey: &str) -> Result<(), KeyError> {
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        write_private(&self.private_key_path(), skey)?;
        write_atomically(&self.public_key_path(), &format!("{vkey}\n"), 0o644)
    }
}

/// Writes a private key file readable by its owner only (0600), replacing it atomically.
///
/// # Errors
/// When the file cannot be written.
pub fn write_private(path: &Path, skey: &str) -> Result<(), KeyError> {
    write_atomically(path, &format!("{skey}\n"), 0o600)
}

fn write_atomically(path: &Path, text: &str, mode: u32) -> Result<(), KeyError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&tmp).map_err(io(&tmp))?;
    file.write_all(text.as_bytes()).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::MerkleTree;

    fn tree(n: u64) -> MerkleTree {
        let mut t = MerkleTree::new();
        for i in 0..n {
            t.push(&i.to_be_bytes()).unwrap();
        }
        t
    }

    #[test]
    fn a_signed_checkpoint_is_a_c2sp_note_that_opens_with_the_verifier_key() {
        let (skey, vkey) = generate_key("example.org/log").unwrap();
        let signer = CheckpointSigner::from_private_key(&skey, "test").unwrap();
        assert_eq!(signer.verifier_key(), vkey);
        let t = tree(10);
        let note = signer.sign(10, t.root()).unwrap();
        let lines: Vec<&str> = note.lines().collect();
        assert_eq!(lines[0], "example.org/log");
        assert_eq!(lines[1], "10");
        assert_eq!(lines[2], t.root().to_string());
        assert_eq!(lines[3], "");
        assert!(lines[4].starts_with("— example.org/log "));
        // Deterministic: a second writer produces the same bytes.
        assert_eq!(note, signer.sign(10, t.root()).unwrap());

        let ring = Keyring::parse(&vkey).unwrap();
        let opened = ring.open(&note).unwrap();
        assert_eq!(opened.size, 10);
        assert_eq!(opened.root, t.root());
        assert_eq!(opened.origin, "example.org/log");
        assert_eq!(parse_unverified(&note).unwrap(), (10, t.root()));

        // Another key, a changed size, a changed signature: refused.
        let (_, other) = generate_key("example.org/log").unwrap();
        assert!(matches!(
            Keyring::parse(&other).unwrap().open(&note),
            Err(CheckpointError::UnknownKey(_))
        ));
        let forged = note.replacen("\n10\n", "\n11\n", 1);
        assert!(matches!(
            ring.open(&forged),
            Err(CheckpointError::BadSignature(_))
        ));
        assert!(ring.open("not a note").is_err());
    }

    #[test]
    fn the_key_directory_creates_a_private_key_readable_by_its_owner_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyDir::in_data_dir(dir.path());
        let first = keys.load_or_create("metroplan.test/events").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(keys.private_key_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Loading again gives the same key.
        assert_eq!(
            keys.load_or_create("ignored").unwrap().verifier_key(),
            first.verifier_key()
        );
        let old_note = first.sign(3, tree(3).root()).unwrap();

        let second = keys.rotate().unwrap();
        assert_ne!(second.verifier_key(), first.verifier_key());
        assert_eq!(second.origin(), "metroplan.test/events");
        let ring = keys.keyring().unwrap();
        assert_eq!(ring.keys(), [second.verifier_key(), first.verifier_key()]);
        // Old checkpoints still verify, new ones too.
        assert_eq!(ring.open(&old_note).unwrap().size, 3);
        let new_note = second.sign(5, tree(5).root()).unwrap();
        assert_eq!(ring.open(&new_note).unwrap().size, 5);
        // The new key alone does not open the old checkpoint.
        let only_new = Keyring::parse(second.verifier_key()).unwrap();
        assert!(only_new.open(&old_note).is_err());
    }
}
