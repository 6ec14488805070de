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
