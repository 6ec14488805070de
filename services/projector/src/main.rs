//! `metroplan-projector`: the projector as its own process, for the distributed deployment.
//! The NATS transport it will use is not written yet, so for now this binary only
//! explains itself: the projector runs inside `metroplan serve`.

use clap::Parser;

/// The metroplan projector (read models and live deltas).
///
/// In the distributed deployment this process will talk to the other services over
/// NATS and read the log from NATS JetStream. That transport has not landed yet: until
/// it does, the projector runs inside the all-in-one program, `metroplan serve`, which wires
/// the same library in process.
#[derive(Debug, Parser)]
#[command(name = "metroplan-projector", version, about, long_about)]
struct Cli {}

fn main() -> std::process::ExitCode {
    let _cli = Cli::parse();
    eprintln!(
        "metroplan-projector: the NATS transport is not available yet; run the projector inside `metroplan serve` instead"
    );
    std::process::ExitCode::from(2)
}
