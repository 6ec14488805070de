//! `metroplan-projector`: the read models as their own process of the distributed
//! deployment, following the JetStream log, answering queries and publishing deltas
//! over NATS.

use clap::Parser;
use metroplan_config::{NatsOptions, init_telemetry, open_jetstream, shutdown_on_signals};

/// The metroplan projector over NATS (queries on `metroplan.query`, deltas on `metroplan.live`).
#[derive(Debug, Parser)]
#[command(name = "metroplan-projector", version, about)]
struct Cli {
    #[command(flatten)]
    nats: NatsOptions,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_telemetry("info");
    let cli = Cli::parse();
    let (client, store) = open_jetstream(&cli.nats, "metroplan-projector").await?;
    metroplan_projector::nats::run(client, store, shutdown_on_signals()).await
}
