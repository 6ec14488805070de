//! `metroplan-plan`: the plan service as its own process, for the distributed
//! deployment. The NATS transport it will serve commands over is not written yet, so
//! for now this binary only explains itself: the plan service runs inside
//! `metroplan serve`.

use clap::Parser;

/// The metroplan plan service (plans, axes, strategies, actions, revisions).
///
/// In the distributed deployment this process will serve the plan service's commands
/// over NATS request/reply and store events in NATS JetStream. That transport has not
/// landed yet: until it does, the plan service runs inside the all-in-one program,
/// `metroplan serve`, which wires the same library in process.
#[derive(Debug, Parser)]
#[command(name = "metroplan-plan", version, about, long_about)]
struct Cli {}

fn main() -> std::process::ExitCode {
    let _cli = Cli::parse();
    eprintln!(
        "metroplan-plan: the NATS transport is not available yet; \
         run the plan service inside `metroplan serve` instead"
    );
    std::process::ExitCode::from(2)
}
