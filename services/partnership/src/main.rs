//! `metroplan-partnership`: the partnership service as its own process of the distributed
//! deployment, serving its commands over NATS with events in JetStream.

use clap::Parser;
use metroplan_config::{NatsOptions, init_telemetry, open_jetstream, shutdown_on_signals};

/// The metroplan partnership service over NATS (request-reply on `metroplan.cmd.partnership`).
#[derive(Debug, Parser)]
#[command(name = "metroplan-partnership", version, about)]
struct Cli {
    #[command(flatten)]
    nats: NatsOptions,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_telemetry("info");
    let cli = Cli::parse();
    let (client, store) = open_jetstream(&cli.nats, "metroplan-partnership").await?;
    metroplan_partnership::serve_nats(client, store, shutdown_on_signals()).await?;
    Ok(())
}
