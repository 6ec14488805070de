//! Configuration and telemetry for every binary.
//!
//! Configuration is layered: built-in defaults, then environment variables
//! (`METROPLAN_*`), then flags, all through clap's `#[arg(long, env)]`; no secret is a
//! flag default, so `--help` never prints one. Telemetry is `tracing` with a human or
//! JSON format chosen by `METROPLAN_LOG_FORMAT=json`, filtered by `RUST_LOG`.

use std::path::PathBuf;

use tracing_subscriber::EnvFilter;

/// Options every server binary shares.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerOptions {
    /// Directory holding the event log (`events.db`) and the token store (`auth.db`).
    #[arg(long, env = "METROPLAN_DATA", default_value = "./metroplan-data")]
    pub data: PathBuf,
    /// Address the HTTP gateway listens on.
    #[arg(long, env = "METROPLAN_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
}

/// Where logs go and how they look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

impl LogFormat {
    pub fn from_env() -> Self {
        match std::env::var("METROPLAN_LOG_FORMAT").as_deref() {
            Ok("json") => Self::Json,
            _ => Self::Human,
        }
    }
}

/// Installs the global subscriber once; logs go to stderr so stdout stays for output.
pub fn init_telemetry(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match LogFormat::from_env() {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Human => builder.try_init(),
    };
}

/// How a process of the distributed deployment reaches NATS.
#[derive(Debug, Clone, clap::Args)]
pub struct NatsOptions {
    /// NATS server URL(s), comma-separated for a cluster (`nats://a:4222,nats://b:4222`).
    #[arg(long = "nats", env = "METROPLAN_NATS_URL")]
    pub urls: String,
    /// Replicas of the event stream and token bucket when this process creates them
    /// (3 on a cluster, 1 on a single node).
    #[arg(long, env = "METROPLAN_REPLICAS", default_value_t = 1)]
    pub replicas: usize,
}

/// The URLs of a comma-separated list, trimmed, empty entries dropped.
pub fn split_urls(urls: &str) -> Vec<String> {
    urls.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Connects to NATS, retrying forever in the background when a server goes away.
///
/// # Errors
/// When no URL parses or the first connection fails.
pub async fn connect_nats(urls: &str, name: &str) -> Result<async_nats::Client, ConfigError> {
    let addrs = split_urls(urls)
        .iter()
        .map(|u| {
            u.parse::<async_nats::ServerAddr>()
                .map_err(|e| ConfigError::NatsUrl(format!("{u}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if addrs.is_empty() {
        return Err(ConfigError::NatsUrl("no NATS URL given".into()));
    }
    async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(std::time::Duration::from_secs(5))
        .connect(addrs)
        .await
        .map_err(|e| ConfigError::Connect(e.to_string()))
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid NATS URL {0}")]
    NatsUrl(String),
    #[error("cannot connect to NATS: {0}")]
    Connect(String),
}

/// A token cancelled at Ctrl-C or SIGTERM, so a process drains and stops.
pub fn shutdown_on_signals() -> tokio_util::sync::CancellationToken {
    let token = tokio_util::sync::CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        cancel.cancel();
    });
    token
}

/// Connects to NATS and opens the JetStream event store (creating the stream with
/// `replicas` copies when it does not exist yet).
///
/// # Errors
/// When NATS cannot be reached or the stream cannot be set up.
pub async fn open_jetstream(
    nats: &NatsOptions,
    name: &str,
) -> anyhow::Result<(
    async_nats::Client,
    std::sync::Arc<dyn metroplan_eventstore::EventStore>,
)> {
    let client = connect_nats(&nats.urls, name).await?;
    let store =
        metroplan_eventstore_nats::JetStreamStore::with_client(client.clone(), nats.replicas)
            .await?;
    Ok((client, std::sync::Arc::new(store)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_split_on_commas() {
        assert_eq!(
            super::split_urls(" nats://a:1, ,nats://b:2 "),
            vec!["nats://a:1", "nats://b:2"]
        );
    }
}
