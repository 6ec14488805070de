//! `metroplan-projector`: the read models as their own process of the distributed
//! deployment, following the JetStream log, answering queries and publishing deltas
//! over NATS. Given a key (`--checkpoint-key`), it is also the log's checkpoint writer:
//! the natural single follower of the whole log (a second writer only duplicates
//! identical checkpoints, which the checkpoint stream drops).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use metroplan_config::{NatsOptions, init_telemetry, open_jetstream, shutdown_on_signals};

/// The metroplan projector over NATS (queries on `metroplan.query`, deltas on `metroplan.live`).
#[derive(Debug, Parser)]
#[command(name = "metroplan-projector", version, about)]
struct Cli {
    #[command(flatten)]
    nats: NatsOptions,
    /// The private key file that signs the log's checkpoints (signed_note format, mode
    /// 0600; `metroplan key generate` writes one). Without it no checkpoint is signed.
    #[arg(long, env = "METROPLAN_CHECKPOINT_KEY")]
    checkpoint_key: Option<PathBuf>,
    /// Signs a checkpoint once this many events are not covered by one.
    #[arg(long, env = "METROPLAN_CHECKPOINT_EVERY", default_value_t = 1000)]
    checkpoint_every: u64,
    /// Signs a checkpoint when events have waited this many seconds uncovered.
    #[arg(long, env = "METROPLAN_CHECKPOINT_AFTER_SECS", default_value_t = 60)]
    checkpoint_after_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_telemetry("info");
    let cli = Cli::parse();
    let (client, store) = open_jetstream(&cli.nats, "metroplan-projector").await?;
    let shutdown = shutdown_on_signals();
    let checkpointer = match &cli.checkpoint_key {
        Some(key) => {
            let signer = metroplan_audit::CheckpointSigner::from_file(key)?;
            tracing::info!(key = %signer.verifier_key(), "signing checkpoints");
            let audit = metroplan_audit::nats::audit_log(
                client.clone(),
                cli.nats.replicas,
                Some(signer),
                metroplan_audit::Keyring::default(),
            )
            .await?;
            let policy = metroplan_audit::CheckpointPolicy {
                every_events: cli.checkpoint_every.max(1),
                max_delay: Duration::from_secs(cli.checkpoint_after_secs),
            };
            let (s, x) = (std::sync::Arc::clone(&store), shutdown.clone());
            Some(tokio::spawn(async move {
                if let Err(e) = audit.run(s, policy, x).await {
                    tracing::error!(error = %e, "checkpointer stopped: no checkpoint is signed");
                }
            }))
        }
        None => None,
    };
    let result = metroplan_projector::nats::run(client, store, shutdown.clone()).await;
    shutdown.cancel();
    if let Some(task) = checkpointer {
        // The final checkpoint at shutdown.
        let _ = task.await;
    }
    result
}
