//! `metroplan-gateway`: the HTTP API and live websocket as their own process of the
//! distributed deployment; stateless, so any number run side by side.

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_telemetry("info,tower_http=warn");
    let cli = Cli::parse();
    let (client, store) = open_jetstream(&cli.nats, "metroplan-gateway").await?;
    let listener = tokio::net::TcpListener::bind(&cli.listen).await?;
    println!(
        "metroplan-gateway listening on http://{}/",
        listener.local_addr()?
    );
    metroplan_gateway::run_nats(
        client,
        store,
        cli.nats.replicas,
        listener,
        shutdown_on_signals(),
    )
    .await
}
