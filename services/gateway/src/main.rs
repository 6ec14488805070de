//! `metroplan-gateway`: the HTTP API and live websocket as their own process of the
//! distributed deployment; stateless, so any number run side by side. Each keeps the
//! log's Merkle tree in memory to answer proof requests (`/api/v1/audit/proofs`).

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use metroplan_config::{NatsOptions, init_telemetry, open_jetstream, shutdown_on_signals};

/// The metroplan gateway over NATS.
#[derive(Debug, Parser)]
#[command(name = "metroplan-gateway", version, about)]
struct Cli {
    #[command(flatten)]
    nats: NatsOptions,
    /// Address to listen on.
    #[arg(long, env = "METROPLAN_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// The verifier key(s) of the log's checkpoints, published at
    /// `/api/v1/audit/public-key`: a key, or a file of keys one a line (current first).
    #[arg(long, env = "METROPLAN_CHECKPOINT_PUBLIC_KEY")]
    checkpoint_public_key: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_telemetry("info,tower_http=warn");
    let cli = Cli::parse();
    let (client, store) = open_jetstream(&cli.nats, "metroplan-gateway").await?;
    let keys = match &cli.checkpoint_public_key {
        Some(k) if std::path::Path::new(k).is_file() => metroplan_audit::Keyring::parse(
            &std::fs::read_to_string(k).with_context(|| format!("reading {k}"))?,
        )?,
        Some(k) => metroplan_audit::Keyring::parse(k)?,
        None => metroplan_audit::Keyring::default(),
    };
    let audit =
        metroplan_audit::nats::audit_log(client.clone(), cli.nats.replicas, None, keys).await?;
    let shutdown = shutdown_on_signals();
    {
        let (a, s, x) = (Arc::clone(&audit), Arc::clone(&store), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = a
                .run(s, metroplan_audit::CheckpointPolicy::default(), x)
                .await
            {
                tracing::error!(error = %e, "audit tree stopped following the log: proofs stop at its size");
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(&cli.listen).await?;
    println!(
        "metroplan-gateway listening on http://{}/",
        listener.local_addr()?
    );
    metroplan_gateway::run_nats_with(
        client,
        store,
        cli.nats.replicas,
        listener,
        shutdown,
        Some(audit),
    )
    .await
}
