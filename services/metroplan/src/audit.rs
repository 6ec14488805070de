//! The auditor's commands (`metroplan verify`, `checkpoint`, `key`) as library functions,
//! over either deployment's log: the SQLite file of a data directory, or the JetStream
//! streams of a NATS deployment.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use metroplan_audit::nats::NatsCheckpoints;
use metroplan_audit::{
    AuditError, AuditLog, CheckpointSigner, CheckpointStore, KeyDir, Keyring, Report,
    SqliteCheckpoints, StoredCheckpoint, all_checkpoints, verify_log_with_heads,
};
use metroplan_eventstore::EventStore;
use metroplan_eventstore::sqlite::{FILE_NAME, SqliteStore};

/// Which log: a data directory or a NATS deployment.
#[derive(Debug, Clone)]
pub enum LogLocation {
    DataDir(PathBuf),
    Nats { urls: String, replicas: usize },
}

/// An opened log and its checkpoints.
pub struct OpenedLog {
    pub store: Arc<dyn EventStore>,
    pub checkpoints: Arc<dyn CheckpointStore>,
    /// The embedded store's checkpoint table, which also reads its `streams` table.
    pub sqlite: Option<SqliteCheckpoints>,
}

impl std::fmt::Debug for OpenedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedLog").finish_non_exhaustive()
    }
}

/// Opens the log and its checkpoints (never creates an embedded log: an auditor
/// pointing at the wrong directory must hear so).
///
/// # Errors
/// When the log is missing or cannot be opened.
pub async fn open_log(at: &LogLocation, client_name: &str) -> anyhow::Result<OpenedLog> {
    match at {
        LogLocation::DataDir(data) => {
            anyhow::ensure!(
                data.join(FILE_NAME).exists(),
                "no event log in {}",
                data.display()
            );
            let store = SqliteStore::open_in(data).context("opening the event log")?;
            let checkpoints =
                SqliteCheckpoints::open_in(data).context("opening the checkpoint table")?;
            Ok(OpenedLog {
                store: Arc::new(store),
                checkpoints: Arc::new(checkpoints.clone()),
                sqlite: Some(checkpoints),
            })
        }
        LogLocation::Nats { urls, replicas } => {
            let nats = metroplan_config::NatsOptions {
                urls: urls.clone(),
                replicas: *replicas,
            };
            let (client, store) = metroplan_config::open_jetstream(&nats, client_name).await?;
            let checkpoints = NatsCheckpoints::open(client, *replicas).await?;
            Ok(OpenedLog {
                store,
                checkpoints: Arc::new(checkpoints),
                sqlite: None,
            })
        }
    }
}

/// Verifier keys from `--public-key` values: each a file of keys (one a line) or a key.
///
/// # Errors
/// When a file cannot be read or a value is not a verifier key.
pub fn keyring_from_args(values: &[String]) -> anyhow::Result<Keyring> {
    let mut ring = Keyring::default();
    for v in values {
        let path = Path::new(v);
        let text = if path.is_file() {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        } else {
            v.clone()
        };
        ring.extend(&Keyring::parse(&text)?);
    }
    Ok(ring)
}

/// What `metroplan verify` found.
#[derive(Debug)]
pub enum Verdict {
    Intact(Report),
    /// The first bad position and why.
    Tampered {
        position: u64,
        reason: String,
    },
}

/// Verifies a log; `keys` empty means the keys of the data directory (embedded only).
///
/// # Errors
/// When the log or the kept checkpoints cannot be read (not when they are bad).
pub async fn verify(
    at: &LogLocation,
    keys: Keyring,
    kept: &[PathBuf],
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> anyhow::Result<(Keyring, Verdict)> {
    let keys = if keys.is_empty() {
        match at {
            LogLocation::DataDir(data) => KeyDir::in_data_dir(data).keyring()?,
            LogLocation::Nats { .. } => {
                anyhow::bail!("--public-key is required with --nats (the log's verifier key)")
            }
        }
    } else {
        keys
    };
    // No key at all still checks every event; any stored checkpoint then fails as
    // signed by no known key.
    let mut notes = Vec::with_capacity(kept.len());
    for path in kept {
        notes.push(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the checkpoint {}", path.display()))?,
        );
    }
    let log = open_log(at, "metroplan-verify").await?;
    let checkpoints = all_checkpoints(log.checkpoints.as_ref()).await?;
    let heads = match &log.sqlite {
        Some(table) => Some(table.recorded_stream_heads().await?),
        None => None,
    };
    let verified = verify_log_with_heads(
        log.store.as_ref(),
        checkpoints,
        &notes,
        &keys,
        heads,
        progress,
    );
    let verdict = match verified.await {
        Ok(report) => Verdict::Intact(report),
        Err(AuditError::Tampered(t)) => Verdict::Tampered {
            position: t.position,
            reason: t.reason,
        },
        Err(e) => return Err(e.into()),
    };
    Ok((keys, verdict))
}

/// The signer of a log: the data directory's key (created at first use), or a key file.
///
/// # Errors
/// When the key cannot be read or created.
pub fn signer_for(at: &LogLocation, key: Option<&Path>) -> anyhow::Result<CheckpointSigner> {
    Ok(match (key, at) {
        (Some(path), _) => CheckpointSigner::from_file(path)?,
        (None, LogLocation::DataDir(data)) => {
            KeyDir::in_data_dir(data).load_or_create(metroplan_audit::signing::DEFAULT_ORIGIN)?
        }
        (None, LogLocation::Nats { .. }) => {
            anyhow::bail!("--key is required with --nats (the deployment's private key file)")
        }
    })
}

/// Signs a checkpoint of the whole log now (unless the latest one covers it) and
/// returns the latest checkpoint.
///
/// # Errors
/// When the log is broken, or a store or the key fails.
pub async fn checkpoint(
    at: &LogLocation,
    key: Option<&Path>,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> anyhow::Result<Option<StoredCheckpoint>> {
    let signer = signer_for(at, key)?;
    let log = open_log(at, "metroplan-checkpoint").await?;
    let audit = AuditLog::new(
        Arc::clone(&log.checkpoints),
        Some(signer),
        Keyring::default(),
    );
    let head = log.store.head_position().await?;
    progress(0, head);
    audit.checkpoint_now(log.store.as_ref()).await?;
    progress(head, head);
    Ok(log.checkpoints.latest().await?)
}
