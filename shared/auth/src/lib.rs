//! Bearer tokens. A token is 32 random bytes, shown once as `mp_<base64url>`; only its
//! SHA-256 is stored (tokens are random, so a fast hash is enough), with the actor,
//! organisation and role it stands for. Tokens are credentials, not plan history, so
//! they live outside the event store: in `auth.db` beside the SQLite log
//! ([`TokenStore`]), or in the JetStream key-value bucket `METROPLAN_TOKENS`
//! ([`KvTokens`], key = the hash in hex) in the distributed deployment. [`Tokens`] is
//! what the gateway asks.

use std::path::Path;
use std::sync::Mutex;

use base64::Engine;
use metroplan_api::{Caller, Role};
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

const PREFIX: &str = "mp_";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("token store failed: {0}")]
    Store(#[from] rusqlite::Error),
    #[error("actor and organisation must be non-empty")]
    EmptyName,
    #[error("token bucket failed: {0}")]
    Nats(String),
}

/// Tokens of one deployment.
pub struct TokenStore {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenStore").finish_non_exhaustive()
    }
}

/// A token just created: `secret` is shown once and never stored.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub secret: String,
    pub caller: Caller,
}

impl TokenStore {
    /// Opens (creating when missing) `auth.db` in `data_dir`.
    ///
    /// # Errors
    /// When the file cannot be opened or set up.
    pub fn open_in(data_dir: &Path) -> Result<Self, AuthError> {
        let conn = Connection::open(data_dir.join("auth.db"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS tokens (
                 hash BLOB PRIMARY KEY,
                 actor TEXT NOT NULL,
                 organisation TEXT NOT NULL,
                 role TEXT NOT NULL,
                 created_at TEXT NOT NULL,
                 revoked INTEGER NOT NULL DEFAULT 0
             );",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Creates a token for `actor` of `organisation` with `role`.
    ///
    /// # Errors
    /// Empty names, or a store failure.
    pub fn create(
        &self,
        role: Role,
        organisation: &str,
        actor: &str,
    ) -> Result<IssuedToken, AuthError> {
        if organisation.trim().is_empty() || actor.trim().is_empty() {
            return Err(AuthError::EmptyName);
        }
        let secret = new_secret();
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        conn.execute(
            "INSERT INTO tokens (hash, actor, organisation, role, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![hash(&secret), actor, organisation, role.as_str(), chrono::Utc::now().to_rfc3339()],
        )?;
        Ok(IssuedToken {
            secret,
            caller: Caller {
                actor: actor.to_owned(),
                organisation: organisation.to_owned(),
                role,
            },
        })
    }

    /// The caller a presented token stands for; `None` for an unknown or revoked token.
    ///
    /// # Errors
    /// A store failure.
    pub fn lookup(&self, secret: &str) -> Result<Option<Caller>, AuthError> {
        if !secret.starts_with(PREFIX) {
            return Ok(None);
        }
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let row = conn
            .query_row(
                "SELECT actor, organisation, role FROM tokens WHERE hash = ?1 AND revoked = 0",
                params![hash(secret)],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        Ok(row.and_then(|(actor, organisation, role)| {
            role.parse().ok().map(|role| Caller {
                actor,
                organisation,
                role,
            })
        }))
    }
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Where tokens live, as the gateway and the command line see it.
#[async_trait::async_trait]
pub trait Tokens: Send + Sync + 'static {
    /// Creates a token for `actor` of `organisation` with `role`.
    ///
    /// # Errors
    /// Empty names, or a store failure.
    async fn issue(
        &self,
        role: Role,
        organisation: &str,
        actor: &str,
    ) -> Result<IssuedToken, AuthError>;

    /// The caller a presented token stands for; `None` for an unknown token.
    ///
    /// # Errors
    /// A store failure.
    async fn resolve(&self, secret: &str) -> Result<Option<Caller>, AuthError>;
}

#[async_trait::async_trait]
impl Tokens for TokenStore {
    async fn issue(
        &self,
        role: Role,
        organisation: &str,
        actor: &str,
    ) -> Result<IssuedToken, AuthError> {
        self.create(role, organisation, actor)
    }

    async fn resolve(&self, secret: &str) -> Result<Option<Caller>, AuthError> {
        self.lookup(secret)
    }
}

/// The bucket that holds tokens in the distributed deployment.
pub const TOKEN_BUCKET: &str = "METROPLAN_TOKENS";

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct StoredToken {
    actor: String,
    organisation: String,
    role: Role,
    created_at: String,
}

/// Tokens in a JetStream key-value bucket (file storage, replicated like the log).
#[derive(Debug, Clone)]
pub struct KvTokens {
    kv: async_nats::jetstream::kv::Store,
}

impl KvTokens {
    /// Opens the bucket, creating it with `replicas` copies when missing.
    ///
    /// # Errors
    /// When JetStream refuses.
    pub async fn open(client: async_nats::Client, replicas: usize) -> Result<Self, AuthError> {
        let js = async_nats::jetstream::new(client);
        let kv = match js.get_key_value(TOKEN_BUCKET).await {
            Ok(kv) => kv,
            Err(_) => js
                .create_key_value(async_nats::jetstream::kv::Config {
                    bucket: TOKEN_BUCKET.into(),
                    description:
                        "metroplan bearer tokens: sha-256 of the token -> actor, organisation, role"
                            .into(),
                    history: 1,
                    storage: async_nats::jetstream::stream::StorageType::File,
                    num_replicas: replicas,
                    ..Default::default()
                })
                .await
                .map_err(|e| AuthError::Nats(e.to_string()))?,
        };
        Ok(Self { kv })
    }
}

#[async_trait::async_trait]
impl Tokens for KvTokens {
    async fn issue(
        &self,
        role: Role,
        organisation: &str,
        actor: &str,
    ) -> Result<IssuedToken, AuthError> {
        if organisation.trim().is_empty() || actor.trim().is_empty() {
            return Err(AuthError::EmptyName);
        }
        let secret = new_secret();
        let stored = StoredToken {
            actor: actor.to_owned(),
            organisation: organisation.to_owned(),
            role,
            created_at: chrono::Utc::now().to_rfc3339(),
        };
        let body = serde_json::to_vec(&stored).map_err(|e| AuthError::Nats(e.to_string()))?;
        self.kv
            .create(hex::encode(hash(&secret)), body.into())
            .await
            .map_err(|e| AuthError::Nats(e.to_string()))?;
        Ok(IssuedToken {
            secret,
            caller: Caller {
                actor: stored.actor,
                organisation: stored.organisation,
                role,
            },
        })
    }

    async fn resolve(&self, secret: &str) -> Result<Option<Caller>, AuthError> {
        if !secret.starts_with(PREFIX) {
            return Ok(None);
        }
        let entry = self
            .kv
            .get(hex::encode(hash(secret)))
            .await
            .map_err(|e| AuthError::Nats(e.to_string()))?;
        Ok(entry
            .and_then(|bytes| serde_json::from_slice::<StoredToken>(&bytes).ok())
            .map(|t| Caller {
                actor: t.actor,
                organisation: t.organisation,
                role: t.role,
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_token_resolves_and_only_its_hash_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open_in(dir.path()).unwrap();
        let issued = store
            .create(Role::Editor, "Città metropolitana di Torino", "anna")
            .unwrap();
        let caller = store.lookup(&issued.secret).unwrap().unwrap();
        assert_eq!(caller.role, Role::Editor);
        assert_eq!(caller.organisation, "Città metropolitana di Torino");
        assert_eq!(store.lookup("mp_wrong").unwrap(), None);
        assert_eq!(store.lookup("").unwrap(), None);
        let raw = std::fs::read(dir.path().join("auth.db")).unwrap();
        let wal = std::fs::read(dir.path().join("auth.db-wal")).unwrap_or_default();
        let needle = issued.secret.as_bytes();
        for bytes in [raw, wal] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "plaintext token stored"
            );
        }
    }

    #[test]
    fn empty_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open_in(dir.path()).unwrap();
        assert!(matches!(
            store.create(Role::Viewer, " ", "x"),
            Err(AuthError::EmptyName)
        ));
    }
}
