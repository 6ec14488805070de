//! `metroplan-gateway`: the gateway as its own process, for the distributed deployment.
//! The NATS transport it will use is not written yet, so for now this binary only
//! explains itself: the gateway runs inside `metroplan serve`.

use clap::Parser;

/// The metroplan gateway (HTTP API and live websocket).
///
/// In the distributed deployment this process will talk to the other services over
/// NATS and read the log from NATS JetStream. That transport has not landed yet: until
/// it does, the gateway runs inside the all-in-one program, `metroplan serve`, which wires
/// the same library in process.
#[derive(Debug, Parser)]
#[command(name = "metroplan-gateway", version, about, long_about)]
struct Cli {}

fn main() -> std::process::ExitCode {
    let _cli = Cli::parse();
    eprintln!(
        "metroplan-gateway: the NATS transport is not available yet; run the gateway inside `metroplan serve` instead"
    );
    std::process::ExitCode::from(2)
}
