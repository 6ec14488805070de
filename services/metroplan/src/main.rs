//! `metroplan`: the platform in one process, and the tools around its data directory.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use metroplan::{Platform, system_context};
use metroplan_api::Role;
use metroplan_config::{init_telemetry, shutdown_on_signals};

#[derive(Debug, Parser)]
#[command(
    name = "metroplan",
    version,
    about = "Event-sourced collaboration platform for a metropolitan strategic plan"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, clap::Args)]
struct DataDir {
    /// Directory holding the event log (`events.db`) and the tokens (`auth.db`).
    #[arg(long, env = "METROPLAN_DATA", default_value = "./metroplan-data")]
    data: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Runs the whole platform: services, projector, HTTP API and live websocket.
    Serve {
        #[command(flatten)]
        data: DataDir,
        /// Address to listen on.
        #[arg(long, env = "METROPLAN_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Loads the Torino plan (PSM-2021-2023) and prints an admin token.
        #[arg(long)]
        demo: bool,
        /// With `--demo` on the embedded store: adds example context indicators and
        /// measurements, labelled ESEMPIO (illustrative, not official figures).
        #[arg(long, requires = "demo", conflicts_with = "nats")]
        examples: bool,
        /// Runs on NATS JetStream (URLs, comma-separated for a cluster) instead of SQLite.
        #[arg(long, env = "METROPLAN_NATS_URL")]
        nats: Option<String>,
        /// Replicas of the event stream when it is created on NATS.
        #[arg(long, env = "METROPLAN_REPLICAS", default_value_t = 1)]
        replicas: usize,
        #[command(flatten)]
        checkpoints: CheckpointArgs,
    },
    /// Imports a plan's structure (plan, axes, strategies, actions) from a JSON file.
    Import {
        file: PathBuf,
        #[command(flatten)]
        data: DataDir,
        /// Imports into the NATS deployment's log instead of the SQLite one.
        #[arg(long, env = "METROPLAN_NATS_URL")]
        nats: Option<String>,
        /// Replicas of the event stream when it is created on NATS.
        #[arg(long, env = "METROPLAN_REPLICAS", default_value_t = 1)]
        replicas: usize,
    },
    /// Prints the event log as JSON lines, each event with its whole envelope (the
    /// entries of the audit trail, `GET /api/v1/audit/events`).
    Events {
        /// Print events after this global position.
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[command(flatten)]
        data: DataDir,
    },
    /// Rebuilds the read models from the log up to a position, with a progress bar, and
    /// writes them as one JSON document (the shape of `GET /api/v1/audit/read-models`).
    Replay {
        /// The last global position to apply (default: the log's head).
        #[arg(long)]
        to: Option<u64>,
        /// Write the document here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        data: DataDir,
        /// Replays the NATS deployment's log instead of the SQLite one.
        #[arg(long, env = "METROPLAN_NATS_URL")]
        nats: Option<String>,
        /// Replicas of the deployment's event stream.
        #[arg(long, env = "METROPLAN_REPLICAS", default_value_t = 1)]
        replicas: usize,
    },
    /// Checks the whole log: every event's hash and chain link, positions and versions,
    /// and every signed checkpoint's root and signature. Exits 0 when intact; otherwise
    /// non-zero, naming the first bad position.
    Verify {
        #[command(flatten)]
        data: DataDir,
        /// Verifies the NATS deployment's log and checkpoint streams instead.
        #[arg(long, env = "METROPLAN_NATS_URL")]
        nats: Option<String>,
        /// A verifier key you trust, or a file of them (one a line); repeatable. Default
        /// (embedded only): the keys in DATA/keys.
        #[arg(long = "public-key")]
        public_key: Vec<String>,
        /// A signed checkpoint you kept earlier (a file): the log must extend it. Repeatable.
        #[arg(long)]
        checkpoint: Vec<PathBuf>,
    },
    /// Signs a checkpoint of the whole log now (unless one covers it) and prints the
    /// latest checkpoint's signed note.
    Checkpoint {
        #[command(flatten)]
        data: DataDir,
        /// Checkpoints the NATS deployment's log instead (needs --key).
        #[arg(long, env = "METROPLAN_NATS_URL")]
        nats: Option<String>,
        /// The private key file (default: DATA/keys/checkpoint.key, created when missing).
        #[arg(long, env = "METROPLAN_CHECKPOINT_KEY")]
        key: Option<PathBuf>,
        /// Replicas of the checkpoint stream when it is created on NATS.
        #[arg(long, env = "METROPLAN_REPLICAS", default_value_t = 1)]
        replicas: usize,
    },
    /// Manages the checkpoint signing key.
    Key {
        #[command(subcommand)]
        command: KeyCmd,
    },
    /// Manages bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCmd,
    },
    /// Measures appends, rebuild and live delivery, and prints a table.
    Bench {
        /// Scale down the workloads (for a quick look, not for BENCHMARKS.md).
        #[arg(long)]
        quick: bool,
        /// Run only these benchmarks: appends, rebuild, delivery, jetstream, verify, timetravel, report (all when absent).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCmd {
    /// Creates a token and prints it as the last line (only its hash is stored).
    Create {
        /// admin, editor, reporter, auditor or viewer.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The organisation the holder acts for.
        #[arg(long)]
        org: String,
        /// The holder's name, recorded as the actor of every event (defaults to the role and organisation).
        #[arg(long)]
        actor: Option<String>,
        #[command(flatten)]
        data: DataDir,
        /// Stores the token in the NATS deployment's bucket instead of `auth.db`.
        #[arg(long, env = "METROPLAN_NATS_URL")]
        nats: Option<String>,
        /// Replicas of the token bucket when it is created on NATS.
        #[arg(long, env = "METROPLAN_REPLICAS", default_value_t = 1)]
        replicas: usize,
    },
}

/// When the log's checkpoints are signed, and with which key on NATS.
#[derive(Debug, clap::Args)]
struct CheckpointArgs {
    /// Signs a checkpoint once this many events are not covered by one.
    #[arg(long, env = "METROPLAN_CHECKPOINT_EVERY", default_value_t = 1000)]
    checkpoint_every: u64,
    /// Signs a checkpoint when events have waited this many seconds uncovered.
    #[arg(long, env = "METROPLAN_CHECKPOINT_AFTER_SECS", default_value_t = 60)]
    checkpoint_after_secs: u64,
    /// With --nats: the private key file that signs checkpoints (no checkpoints are
    /// signed without one). The embedded deployment keeps its key in DATA/keys.
    #[arg(long, env = "METROPLAN_CHECKPOINT_KEY")]
    checkpoint_key: Option<PathBuf>,
}

impl CheckpointArgs {
    fn policy(&self) -> metroplan_audit::CheckpointPolicy {
        metroplan_audit::CheckpointPolicy {
            every_events: self.checkpoint_every.max(1),
            max_delay: Duration::from_secs(self.checkpoint_after_secs),
        }
    }
}

#[derive(Debug, Subcommand)]
enum KeyCmd {
    /// Prints the verifier keys of DATA/keys: the current one first, then retired ones.
    Show {
        #[command(flatten)]
        data: DataDir,
    },
    /// Replaces the signing key of DATA/keys; the old verifier key is kept as retired so
    /// that older checkpoints still verify. Restart `serve` to sign with the new key.
    Rotate {
        #[command(flatten)]
        data: DataDir,
    },
    /// Writes a new key pair to FILE (mode 0600) and FILE.pub, for the distributed
    /// deployment's checkpoint writer.
    Generate {
        /// The private key file to create.
        #[arg(long)]
        out: PathBuf,
        /// The log's origin (the key's name, first line of every checkpoint).
        #[arg(long, default_value = metroplan_audit::signing::DEFAULT_ORIGIN)]
        origin: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

fn bar(message: &'static str) -> impl Fn(u64, u64) + Send + Sync {
    let pb = ProgressBar::hidden();
    let style = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec})")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style.progress_chars("=> "));
    pb.set_message(message);
    move |done, total| {
        if pb.is_hidden() && total > 0 {
            pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        pb.set_length(total);
        pb.set_position(done);
        if done >= total {
            pb.finish();
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_telemetry("info,tower_http=warn");
    let cli = Cli::parse();
    match cli.command {
        Cmd::Serve {
            nats: Some(urls),
            listen,
            demo,
            replicas,
            checkpoints,
            ..
        } => {
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let nats = metroplan_config::NatsOptions { urls, replicas };
            let audit = metroplan::distributed::Checkpointing {
                key: checkpoints.checkpoint_key.clone(),
                policy: checkpoints.policy(),
            };
            metroplan::distributed::serve_with(&nats, listener, demo, shutdown_on_signals(), audit)
                .await?;
            Ok(())
        }
        Cmd::Serve {
            data,
            listen,
            demo,
            examples,
            checkpoints,
            ..
        } => {
            let platform = Platform::open_with_policy(
                &data.data,
                &bar("rebuilding read models"),
                metroplan_projector::LIVE_CAPACITY,
                checkpoints.policy(),
            )
            .await?;
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let addr = listener.local_addr()?;
            if demo {
                let summary = platform.load_demo(&bar("loading the demo plan")).await?;
                let mut head = summary.position;
                if examples {
                    let loaded =
                        metroplan::examples::load(&platform.monitoring, &summary.plan).await?;
                    if let Some(position) = loaded {
                        head = head.max(position);
                        println!(
                            "example indicators loaded (ESEMPIO: illustrative, not official figures)"
                        );
                    }
                }
                platform
                    .projector
                    .wait_for(head, Duration::from_secs(30))
                    .await;
                let token = platform.tokens.create(
                    Role::Admin,
                    "Città metropolitana di Torino",
                    "demo-admin",
                )?;
                println!(
                    "metroplan is serving the demo plan {} at http://{addr}/",
                    summary.plan
                );
                println!(
                    "  try: curl -H 'Authorization: Bearer {}' http://{addr}/api/v1/plans/{}",
                    token.secret, summary.plan
                );
                println!(
                    "  open in a browser (or on the meeting room's projector): http://{addr}/?access_token={}#/plans/{}",
                    token.secret, summary.plan
                );
                println!("admin token:");
                println!("{}", token.secret);
            } else {
                println!("metroplan is serving at http://{addr}/");
            }
            tracing::info!(%addr, data = %data.data.display(), "serving");
            platform.serve(listener, shutdown_on_signals()).await
        }
        Cmd::Import {
            file,
            data,
            nats,
            replicas,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let import: metroplan_api::plan::PlanImport = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a plan structure", file.display()))?;
            let ctx = system_context(
                &import.plan.owner.clone(),
                &format!("import of {}", file.display()),
            );
            let service = match nats {
                Some(urls) => {
                    let nats = metroplan_config::NatsOptions { urls, replicas };
                    let (_client, store) =
                        metroplan_config::open_jetstream(&nats, "metroplan-import").await?;
                    metroplan_plan::PlanService::new(store)
                }
                None => {
                    std::fs::create_dir_all(&data.data)?;
                    let store = metroplan_eventstore::sqlite::SqliteStore::open_in(&data.data)?;
                    metroplan_plan::PlanService::new(std::sync::Arc::new(store))
                }
            };
            let summary = service
                .import(&ctx, import, Some(&bar("importing")))
                .await
                .map_err(|e| anyhow::anyhow!("import failed: {e}"))?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
            Ok(())
        }
        Cmd::Events { from, data } => {
            let store = metroplan_eventstore::sqlite::SqliteStore::open_in(&data.data)?;
            use metroplan_eventstore::EventStore;
            let mut after = from;
            loop {
                let page = store.read_all(after, 1000).await?;
                if page.is_empty() {
                    break;
                }
                for event in page {
                    after = event.position;
                    let entry = metroplan_projector::audit::AuditEntry::of(&event);
                    println!("{}", serde_json::to_string(&entry)?);
                }
            }
            Ok(())
        }
        Cmd::Replay {
            to,
            out,
            data,
            nats,
            replicas,
        } => {
            use metroplan_eventstore::EventStore;
            let store: std::sync::Arc<dyn EventStore> = match nats {
                Some(urls) => {
                    let nats = metroplan_config::NatsOptions { urls, replicas };
                    metroplan_config::open_jetstream(&nats, "metroplan-replay")
                        .await?
                        .1
                }
                None => {
                    anyhow::ensure!(
                        data.data
                            .join(metroplan_eventstore::sqlite::FILE_NAME)
                            .exists(),
                        "no event log in {}",
                        data.data.display()
                    );
                    std::sync::Arc::new(metroplan_eventstore::sqlite::SqliteStore::open_in(
                        &data.data,
                    )?)
                }
            };
            let head = store.head_position().await?;
            let to = to.unwrap_or(head);
            anyhow::ensure!(to <= head, "position {to} is past the log's head ({head})");
            let models = metroplan_projector::replay(store.as_ref(), to, &bar("replaying")).await?;
            let dump = serde_json::to_vec_pretty(&models.dump())?;
            match out {
                Some(path) => std::fs::write(&path, dump)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => {
                    use std::io::Write;
                    let mut stdout = std::io::stdout().lock();
                    stdout.write_all(&dump)?;
                    stdout.write_all(b"\n")?;
                }
            }
            eprintln!("replayed the log up to position {to} of {head}");
            Ok(())
        }
        Cmd::Token {
            command:
                TokenCmd::Create {
                    role,
                    org,
                    actor,
                    data,
                    nats,
                    replicas,
                },
        } => {
            use metroplan_auth::Tokens;
            let actor = actor.unwrap_or_else(|| format!("{} of {org}", role.as_str()));
            let issued = if let Some(urls) = nats {
                let client = metroplan_config::connect_nats(&urls, "metroplan-token").await?;
                let tokens = metroplan_auth::KvTokens::open(client.clone(), replicas).await?;
                let issued = tokens.issue(role, &org, &actor).await?;
                client.flush().await?;
                issued
            } else {
                std::fs::create_dir_all(&data.data)?;
                metroplan_auth::TokenStore::open_in(&data.data)?.create(role, &org, &actor)?
            };
            eprintln!(
                "token for {actor} ({}, {org}); keep it secret, it is shown only once:",
                role.as_str()
            );
            println!("{}", issued.secret);
            Ok(())
        }
        Cmd::Verify {
            data,
            nats,
            public_key,
            checkpoint,
        } => {
            use metroplan::audit::{LogLocation, Verdict};
            let at = match nats {
                Some(urls) => LogLocation::Nats { urls, replicas: 1 },
                None => LogLocation::DataDir(data.data),
            };
            let keys = metroplan::audit::keyring_from_args(&public_key)?;
            let (keys, verdict) =
                metroplan::audit::verify(&at, keys, &checkpoint, &bar("verifying")).await?;
            for k in keys.keys() {
                eprintln!("trusting verifier key {k}");
            }
            match verdict {
                Verdict::Intact(r) => {
                    println!(
                        "log intact: {} events in {} streams; {} checkpoints verified (latest of size {}), {} kept checkpoints consistent",
                        r.events, r.streams, r.checkpoints, r.latest_checkpoint, r.kept_checkpoints
                    );
                    println!("root of the {} events: {}", r.events, r.root);
                    if r.latest_checkpoint < r.events {
                        println!(
                            "note: events {}..={} are not under a checkpoint yet",
                            r.latest_checkpoint + 1,
                            r.events
                        );
                    }
                    Ok(())
                }
                Verdict::Tampered { position, reason } => {
                    println!("LOG NOT INTACT");
                    eprintln!("first bad position: {position} ({reason})");
                    std::process::exit(1);
                }
            }
        }
        Cmd::Checkpoint {
            data,
            nats,
            key,
            replicas,
        } => {
            use metroplan::audit::LogLocation;
            let at = match nats {
                Some(urls) => LogLocation::Nats { urls, replicas },
                None => LogLocation::DataDir(data.data),
            };
            match metroplan::audit::checkpoint(&at, key.as_deref(), &bar("checkpointing")).await? {
                Some(c) => {
                    eprintln!("latest checkpoint: {} events", c.tree_size);
                    print!("{}", c.note);
                }
                None => eprintln!("the log is empty: nothing to sign"),
            }
            Ok(())
        }
        Cmd::Key { command } => {
            use metroplan_audit::KeyDir;
            match command {
                KeyCmd::Show { data } => {
                    let keys = KeyDir::in_data_dir(&data.data).keyring()?;
                    anyhow::ensure!(!keys.is_empty(), "no key in {}", data.data.display());
                    for k in keys.keys() {
                        println!("{k}");
                    }
                }
                KeyCmd::Rotate { data } => {
                    let dir = KeyDir::in_data_dir(&data.data);
                    let old = dir.load()?;
                    let new = dir.rotate()?;
                    eprintln!("retired {}", old.verifier_key());
                    println!("{}", new.verifier_key());
                }
                KeyCmd::Generate { out, origin } => {
                    anyhow::ensure!(
                        !out.exists(),
                        "{} exists: not overwriting a key",
                        out.display()
                    );
                    let (skey, vkey) = metroplan_audit::signing::generate_key(&origin)?;
                    metroplan_audit::signing::write_private(&out, &skey)?;
                    let public = out.with_extension("pub");
                    std::fs::write(&public, format!("{vkey}\n"))
                        .with_context(|| format!("writing {}", public.display()))?;
                    eprintln!(
                        "private key in {}, verifier key in {}",
                        out.display(),
                        public.display()
                    );
                    println!("{vkey}");
                }
            }
            Ok(())
        }
        Cmd::Bench { quick, only } => metroplan::bench::run(quick, &only).await,
    }
}
