//! `metroplan-partnership`: the partnership service as a process of its own, for the
//! distributed deployment. Until the NATS transport lands the service runs inside
//! `metroplan serve`; this binary only explains that and exits.

use clap::Parser;

/// The partnership service of metroplan: concertation tables (members, meetings,
/// decisions) and agreements (parties, commitments, signing, amendments).
///
/// For now the service runs inside the all-in-one `metroplan serve`, which wires it
/// to the embedded event store and the HTTP gateway. Running it as a separate process
/// needs the NATS transport of the distributed deployment, which is not there yet.
#[derive(Debug, Parser)]
#[command(name = "metroplan-partnership", version)]
struct Cli {}

fn main() -> std::process::ExitCode {
    let _cli = Cli::parse();
    eprintln!(
        "metroplan-partnership: the standalone service needs the NATS transport, which is not available yet; \
         run `metroplan serve`, which includes the partnership service"
    );
    std::process::ExitCode::from(2)
}
