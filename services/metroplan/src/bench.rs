//! `metroplan bench`: the design targets measured on this machine, each beside a raw
//! baseline run in the same process, printed as a table for BENCHMARKS.md.
//!
//! 1. Durable appends at 1, 16 and 256 concurrent writers through the SQLite store
//!    (group commit), against a raw rusqlite batched insert of the same rows with the
//!    same durability (WAL, `synchronous=FULL`).
//! 2. Read-model rebuild over 1 million events: the projector reading the log from
//!    SQLite and applying every event, against the raw read of the same log.
//! 3. Live delivery: 1,000 websocket clients subscribed to a plan; the time from a
//!    progress report being accepted (the service answered through the in-process bus,
//!    the event durable) to each client receiving its frame; the command's own latency
//!    is printed beside it.
//! 4. `jetstream`, the distributed deployment, on real `nats-server`s started for the
//!    run (`metroplan-nats-testkit`: file storage, `sync_interval: always`), a single
//!    node (R1) and a 3-node cluster (R3):
//!    - appends through [`JetStreamStore`] at 1, 16 and 256 concurrent writers, each
//!      waiting for its own single-event append (200-byte payloads, 16 events a stream,
//!      as in 1.), beside raw async-nats publishes of the same payloads and envelope
//!      headers to a plain stream with the same configuration on the same servers, each
//!      publish awaiting its PubAck (stored and fsynced on the replicas). The raw
//!      messages are made before the clock starts; the store adds, per append, the
//!      expected-sequence headers and the server's checks of them, the hash chain, the
//!      predicted position (one sender task numbers every append), a per-stream lock,
//!      and a direct get for each new stream. Both paths run in rounds of four legs
//!      (raw, store, store, raw; two rounds in a full run) so that a drift of the shared
//!      machine falls on both, and each path's client connects to its own stream's
//!      leader, so both have the same topology (client, leader, two followers). The CPU
//!      time of this process and of the servers per event is printed beside each line
//!      (from `/proc`): on two cores, the client's CPU is taken from the servers';
//!    - the end-to-end latency of a progress report over HTTP (gateway, NATS
//!      request-reply, monitoring service, JetStream append, reply), sent one after the
//!      other, with every service in this process as `metroplan serve --nats` runs
//!      them, beside the same request to the embedded deployment (SQLite, in-process
//!      bus) in the same run. Every report goes to the same action, whose history grows
//!      by one event a report and is read whole by every command (no snapshots), so the
//!      medians of the first and the last tenth of the reports are printed too.
//! 5. `verify`: over a log of 1 million events (as in 2.), signing a checkpoint of the
//!    whole log from a cold start (reading it, checking every chain link, building the
//!    Merkle tree) and `metroplan verify`'s walk (every hash, link, position, version,
//!    and the checkpoint's root and signature), against the raw read of the same log.
//! 6. `timetravel`: a plan of 6 axes, 24 strategies and 111 actions (synthetic codes,
//!    benchmark data only) followed by progress reports round-robin over its actions,
//!    1 million events in all, applied in memory to the projector's state (read models
//!    and timeline). Then plan trees, dashboards and action pages asked `at` random
//!    past positions (time travel: the last snapshot plus a short replay), against the
//!    same questions asked of the current read models; and the naive way (replaying
//!    the log from the start up to the position) for a few positions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::jetstream;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use metroplan_api::Role;
use metroplan_api::monitoring::{MonitoringCommand, ReportProgress};
use metroplan_bus::{Command, CommandBus};
use metroplan_events::{EventMetadata, EventPayload, NewEvent, RecordedEvent, pb};
use metroplan_eventstore::sqlite::SqliteStore;
use metroplan_eventstore::{EventStore, ExpectedVersion, bench as store_bench};
use metroplan_eventstore_nats::envelope::{self, BatchPart};
use metroplan_eventstore_nats::{
    JetStreamStore, REQUEST_TIMEOUT, STREAM_NAME, stream_config, subject,
};
use metroplan_nats_testkit::{NatsCluster, NatsServer};
use metroplan_projector::Projector;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::Platform;

struct Row {
    name: String,
    measured: String,
    baseline: String,
    ratio: String,
    target: String,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Runs every benchmark and prints the table.
///
/// # Errors
/// When a benchmark cannot run (disk, sockets).
pub async fn run(quick: bool, only: &[String]) -> anyhow::Result<()> {
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let mut rows = Vec::new();
    let scale = if quick { 8 } else { 1 };
    if wanted("appends") {
        appends(&mut rows, scale).await?;
    }
    if wanted("rebuild") {
        rebuild(&mut rows, if quick { 100_000 } else { 1_000_000 }).await?;
    }
    if wanted("delivery") {
        delivery(
            &mut rows,
            if quick { 100 } else { 1000 },
            if quick { 20 } else { 100 },
        )
        .await?;
    }
    if wanted("jetstream") {
        jetstream(&mut rows, quick).await?;
    }
    if wanted("verify") {
        verify(&mut rows, if quick { 100_000 } else { 1_000_000 }).await?;
    }
    if wanted("timetravel") {
        timetravel(&mut rows, if quick { 100_000 } else { 1_000_000 });
    }
    if wanted("report") {
        report(&mut rows, if quick { 5 } else { 30 })?;
    }
    println!();
    println!("| benchmark | measured | raw baseline (same run) | ratio | target |");
    println!("| --- | --- | --- | --- | --- |");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.name, r.measured, r.baseline, r.ratio, r.target
        );
    }
    Ok(())
}

async fn appends(rows: &mut Vec<Row>, scale: usize) -> anyhow::Result<()> {
    for writers in [1usize, 16, 256] {
        let total = match writers {
            1 => 2_000,
            16 => 16_000,
            _ => 51_200,
        } / scale;
        let dir = tempfile::tempdir()?;
        let store: Arc<dyn EventStore> = Arc::new(SqliteStore::open_in(dir.path())?);
        let r = store_bench::append_throughput(Arc::clone(&store), writers, total / writers, 200)
            .await?;
        let raw_dir = tempfile::tempdir()?;
        let raw =
            store_bench::raw_sqlite_batched_insert(&raw_dir.path().join("raw.db"), total, 200)?;
        eprintln!("appends, {writers} writers: {r}; raw: {raw}");
        rows.push(Row {
            name: format!("durable appends, {writers} writer(s), 200-byte events"),
            measured: format!("{:.0} events/s", r.events_per_sec),
            baseline: format!(
                "{:.0} rows/s (batches of {})",
                raw.events_per_sec,
                store_bench::RAW_BATCH_ROWS
            ),
            ratio: format!("{:.2}", r.events_per_sec / raw.events_per_sec),
            target: if writers == 256 {
                "≥ 0.5 of raw".into()
            } else {
                "-".into()
            },
        });
    }
    Ok(())
}

/// Fills a log with `n` realistic events: progress reports on 111 actions.
async fn fill(store: &dyn EventStore, n: usize) -> anyhow::Result<()> {
    let metadata = EventMetadata {
        actor: "bench".into(),
        on_behalf_of: "Città metropolitana di Torino".into(),
        ..Default::default()
    };
    let actions: Vec<String> = (0..111)
        .map(|i| format!("{}.{}.{}", i / 20 + 1, (i / 5) % 4 + 1, i % 5 + 1))
        .collect();
    let mut versions = vec![0u64; actions.len()];
    let mut written = 0;
    let batch = 1000;
    while written < n {
        let a = (written / batch) % actions.len();
        let stream = metroplan_events::streams::progress("PSM-2021-2023", &actions[a]);
        let events: Vec<NewEvent> = (0..batch.min(n - written))
            .map(|i| {
                let e = pb::ProgressEvent {
                    event: Some(pb::progress_event::Event::ActionProgressReported(
                        pb::ActionProgressReported {
                            plan: "PSM-2021-2023".into(),
                            action: actions[a].clone(),
                            status: "in_progress".into(),
                            previous_status: "in_progress".into(),
                            progress: u32::try_from(i % 100).unwrap_or(0),
                            note: "avanzamento lavori secondo cronoprogramma".into(),
                            evidence_url: String::new(),
                            reporting_organisation: "Città metropolitana di Torino".into(),
                            as_of: "2022-06-30".into(),
                        },
                    )),
                };
                NewEvent::new(&e, metadata.clone())
            })
            .collect();
        let expected = if versions[a] == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(versions[a])
        };
        let k = events.len();
        let r = store.append(&stream, expected, events).await?;
        versions[a] = r.stream_version;
        written += k;
    }
    let _ = pb::ProgressEvent::default().event_type();
    Ok(())
}

async fn rebuild(rows: &mut Vec<Row>, n: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open_in(dir.path())?;
    eprintln!("filling a log with {n} events...");
    fill(&store, n).await?;
    // Raw: read the whole log, no projection.
    let started = Instant::now();
    let mut after = 0;
    let mut count = 0usize;
    loop {
        let page = store.read_all(after, 4096).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        count += page.len();
    }
    let raw = started.elapsed();
    // Apply alone: the same events already in memory, into fresh read models.
    let mut events = Vec::with_capacity(count);
    let mut after = 0;
    loop {
        let page = store.read_all(after, 8192).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        events.extend(page.into_iter().map(Arc::new));
    }
    let mut models = metroplan_projector::ReadModels::default();
    let started = Instant::now();
    for e in events {
        models.apply_shared(e);
    }
    let apply_only = started.elapsed();
    drop(models);
    let projector = Projector::new();
    let started = Instant::now();
    projector.rebuild(&store, &|_, _| {}).await?;
    let full = started.elapsed();
    anyhow::ensure!(
        projector.position() == u64::try_from(count)?,
        "rebuild stopped early"
    );
    #[allow(clippy::cast_precision_loss)]
    let rate = |d: Duration| count as f64 / d.as_secs_f64();
    eprintln!("rebuild of {count} events: {full:?}; raw read {raw:?}");
    rows.push(Row {
        name: format!("read-model rebuild from the SQLite log, {count} events"),
        measured: format!("{:.0} events/s", rate(full)),
        baseline: format!("{:.0} events/s (read only)", rate(raw)),
        ratio: format!("{:.2}", rate(full) / rate(raw)),
        target: "≥ 1,000,000 events/s".into(),
    });
    rows.push(Row {
        name: format!("read-model apply alone (events already in memory), {count} events"),
        measured: format!("{:.0} events/s", rate(apply_only)),
        baseline: "-".into(),
        ratio: "-".into(),
        target: "(where the rebuild's time goes)".into(),
    });
    Ok(())
}

async fn delivery(rows: &mut Vec<Row>, clients: usize, reports: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let platform = Arc::new(Platform::open(dir.path(), &|_, _| {}).await?);
    let summary = platform.load_demo(&|_, _| {}).await?;
    platform
        .projector
        .wait_for(summary.position, Duration::from_secs(30))
        .await;
    let token = platform
        .tokens
        .create(Role::Admin, "Città metropolitana di Torino", "bench")?
        .secret;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let server = {
        let p = Arc::clone(&platform);
        let s = shutdown.clone();
        tokio::spawn(async move { p.serve(listener, s).await })
    };
    let (lat_tx, mut lat_rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let mut sessions = Vec::new();
    for _ in 0..clients {
        let mut req = format!("ws://{addr}/api/v1/live").into_client_request()?;
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(
            req,
            // Small frames: a small read buffer (the default 128 KiB is zeroed on every
            // read, and a thousand clients would measure memset).
            Some(
                tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                    .read_buffer_size(8 * 1024),
            ),
            true,
        )
        .await
        .context("websocket connect")?;
        ws.send(Message::text(
            r#"{"type":"subscribe","topics":["plan:PSM-2021-2023"]}"#,
        ))
        .await?;
        // wait for the acknowledgement so every client is subscribed before the clock starts
        while let Some(m) = ws.next().await {
            if m?.to_text().unwrap_or("").contains("\"subscribed\"") {
                break;
            }
        }
        let tx = lat_tx.clone();
        sessions.push(tokio::spawn(async move {
            while let Some(Ok(m)) = ws.next().await {
                let now = Instant::now();
                // The frame's position, read without parsing the whole frame: with a
                // thousand clients on two cores, client-side parsing would be measured too.
                let position = m
                    .to_text()
                    .ok()
                    .and_then(|t| t.split_once("\"position\":"))
                    .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|n| n.parse::<u64>().ok());
                if let Some(p) = position
                    && tx.send((p, now)).is_err()
                {
                    break;
                }
            }
        }));
    }
    drop(lat_tx);
    // Commands go through the same in-process bus the gateway uses, so "accepted" is
    // the instant the service answered: the event is durable and has its position.
    let bus = platform.bus();
    let mut latencies = Vec::with_capacity(clients * reports);
    let mut commands = Vec::with_capacity(reports);
    for i in 0..reports {
        let body = ReportProgress {
            status: if i == 0 { "started" } else { "in_progress" }.into(),
            progress: i64::try_from(i % 100)?,
            note: "bench".into(),
            as_of: "2023-01-01".into(),
            evidence_url: None,
            reporting_organisation: None,
        };
        let command = Command::Monitoring(MonitoringCommand::ReportProgress {
            plan: "PSM-2021-2023".into(),
            action: "2.1.1".into(),
            body,
        });
        let sent = Instant::now();
        let outcome = bus
            .dispatch(
                crate::system_context("Città metropolitana di Torino", "bench"),
                command,
            )
            .await
            .map_err(|e| anyhow::anyhow!("report failed: {e}"))?;
        let accepted = Instant::now();
        commands.push(accepted.duration_since(sent));
        let mut got = 0;
        while got < clients {
            let Some((p, at)) = tokio::time::timeout(Duration::from_secs(10), lat_rx.recv())
                .await
                .ok()
                .flatten()
            else {
                anyhow::bail!(
                    "only {got} of {clients} clients received position {}",
                    outcome.position
                );
            };
            if p == outcome.position {
                // A frame may beat the answer by a hair: it was delivered by the time the
                // command was accepted, so it counts as zero.
                latencies.push(at.saturating_duration_since(accepted));
                got += 1;
            }
        }
    }
    shutdown.cancel();
    for s in sessions {
        s.abort();
    }
    let _ = server.await;
    latencies.sort();
    commands.sort();
    let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
    let (c50, c99) = (percentile(&commands, 0.5), percentile(&commands, 0.99));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    eprintln!(
        "delivery to {clients} clients over {reports} reports: p50 {p50:?}, p99 {p99:?}; command p50 {c50:?}, p99 {c99:?}"
    );
    rows.push(Row {
        name: format!(
            "live delivery, command accepted → frame received, {clients} websocket clients, {reports} reports"
        ),
        measured: format!("p50 {:.2} ms, p99 {:.2} ms", ms(p50), ms(p99)),
        baseline: format!("the command itself (durable append): p50 {:.2} ms, p99 {:.2} ms", ms(c50), ms(c99)),
        ratio: "-".into(),
        target: "p99 < 10 ms".into(),
    });
    Ok(())
}

// --- jetstream: the distributed deployment ---------------------------------------------

/// Payload bytes of every benchmark event, as in the SQLite benchmark.
const PAYLOAD_LEN: usize = 200;

/// Events per aggregate stream, as in `metroplan_eventstore::bench`.
const EVENTS_PER_STREAM: usize = 16;

/// The plain stream of the raw baseline: the event store's configuration under another
/// name and subjects (`metroplan.rawlog` is as long as `metroplan.events`, so the
/// subjects are as long as the store's).
const RAW_STREAM: &str = "BENCH_RAW_PUBLISH";
const RAW_SUBJECT_PREFIX: &str = "metroplan.rawlog";

/// The servers of one deployment, killed when dropped.
enum Servers {
    Single(NatsServer),
    Cluster(NatsCluster),
}

impl Servers {
    async fn start(replicas: usize) -> anyhow::Result<Self> {
        eprintln!("starting nats-server ({replicas} node(s))...");
        Ok(if replicas == 1 {
            Self::Single(NatsServer::start().await?)
        } else {
            Self::Cluster(NatsCluster::start(replicas).await?)
        })
    }

    fn replicas(&self) -> usize {
        match self {
            Self::Single(_) => 1,
            Self::Cluster(c) => c.len(),
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Self::Single(_) => "single node (R1)",
            Self::Cluster(_) => "3-node cluster (R3)",
        }
    }

    fn urls(&self) -> String {
        match self {
            Self::Single(s) => s.client_url(),
            Self::Cluster(c) => c.client_urls(),
        }
    }

    /// The client URL of the node leading `stream` (waiting for an election if need be).
    async fn leader_url(&self, js: &jetstream::Context, stream: &str) -> anyhow::Result<String> {
        let cluster = match self {
            Self::Single(s) => return Ok(s.client_url()),
            Self::Cluster(c) => c,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let leader = js
                .get_stream(stream)
                .await
                .ok()
                .and_then(|s| s.cached_info().cluster.clone())
                .and_then(|c| c.leader)
                .and_then(|name| cluster.index_of(&name));
            if let Some(i) = leader {
                return Ok(cluster.client_url(i));
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "stream {stream} has no leader after 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// CPU time used so far by this process and by its children (the nats-servers), from
/// `/proc` (Linux; zero elsewhere): where the time goes on a small machine.
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    client: f64,
    servers: f64,
}

impl Cpu {
    fn now() -> Self {
        let me = std::process::id();
        let mut cpu = Self {
            client: proc_cpu("self").map_or(0.0, |(_, secs)| secs),
            servers: 0.0,
        };
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(pid) = name
                    .to_str()
                    .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
                else {
                    continue;
                };
                if let Some((ppid, secs)) = proc_cpu(pid)
                    && ppid == me
                {
                    cpu.servers += secs;
                }
            }
        }
        cpu
    }

    fn since(self, start: Self) -> Self {
        Self {
            client: self.client - start.client,
            servers: self.servers - start.servers,
        }
    }
}

/// The parent and the user + system CPU seconds of `/proc/<pid>/stat`.
fn proc_cpu(pid: &str) -> Option<(u32, f64)> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn parse_stat(stat: &str) -> Option<(u32, f64)> {
    // After the command's closing parenthesis: state, ppid, ... utime (14th), stime.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    let ppid = fields.get(1)?.parse().ok()?;
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // /proc counts in USER_HZ, 100 on Linux.
    #[allow(clippy::cast_precision_loss)]
    Some((ppid, ticks as f64 / 100.0))
}

/// When a measurement started.
struct Clock {
    at: Instant,
    cpu: Cpu,
}

impl Clock {
    fn start() -> Self {
        let cpu = Cpu::now();
        Self {
            at: Instant::now(),
            cpu,
        }
    }
}

/// Appends or publishes measured one by one.
#[derive(Default)]
struct Timed {
    events: usize,
    elapsed: Duration,
    /// Sorted.
    latencies: Vec<Duration>,
    cpu: Cpu,
    /// Medians of the first and the last `n` in the order sent, and `n`.
    trend: Option<(Duration, Duration, usize)>,
}

impl Timed {
    fn new(clock: &Clock, mut latencies: Vec<Duration>) -> Self {
        let elapsed = clock.at.elapsed();
        latencies.sort();
        Self {
            events: latencies.len(),
            elapsed,
            latencies,
            cpu: Cpu::now().since(clock.cpu),
            trend: None,
        }
    }

    fn add(&mut self, other: Self) {
        self.events += other.events;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.latencies.sort();
        self.cpu.client += other.cpu.client;
        self.cpu.servers += other.cpu.servers;
    }

    fn rate(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let events = self.events as f64;
        events / self.elapsed.as_secs_f64()
    }

    fn latency(&self) -> String {
        let ms = |p| percentile(&self.latencies, p).as_secs_f64() * 1e3;
        format!("p50 {:.2} ms, p99 {:.2} ms", ms(0.5), ms(0.99))
    }

    /// [`Timed::latency`] and the medians of the first and last reports.
    fn latency_trend(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        match self.trend {
            Some((first, last, n)) => format!(
                "{} (p50 of the first {n}: {:.2} ms, of the last {n}: {:.2} ms)",
                self.latency(),
                ms(first),
                ms(last)
            ),
            None => self.latency(),
        }
    }

    /// CPU microseconds per event, in this process and in the servers.
    fn cpu_per_event(&self) -> String {
        #[allow(clippy::cast_precision_loss)]
        let per = |secs: f64| secs * 1e6 / self.events as f64;
        format!(
            "cpu/event: client {:.0} µs, servers {:.0} µs",
            per(self.cpu.client),
            per(self.cpu.servers)
        )
    }
}

async fn jetstream(rows: &mut Vec<Row>, quick: bool) -> anyhow::Result<()> {
    // (writers, events of each path); a round is four legs: raw, store, store, raw
    let (loads, rounds): (&[(usize, usize)], usize) = if quick {
        (&[(1, 200), (16, 1_600), (256, 5_120)], 1)
    } else {
        (&[(1, 2_000), (16, 16_000), (256, 51_200)], 2)
    };
    let reports = if quick { 50 } else { 500 };
    for replicas in [1, 3] {
        let servers = Servers::start(replicas).await?;
        jetstream_appends(rows, &servers, loads, rounds).await?;
    }
    eprintln!("end-to-end command latency, embedded deployment...");
    let embedded = embedded_command_latency(reports).await?;
    eprintln!(
        "embedded: {} reports, {}",
        embedded.events,
        embedded.latency_trend()
    );
    for replicas in [1, 3] {
        // Fresh servers: the log holds the demo plan only, as after `serve --nats --demo`.
        let servers = Servers::start(replicas).await?;
        eprintln!(
            "end-to-end command latency, distributed deployment, {}...",
            servers.label()
        );
        let nats = nats_command_latency(&servers, reports).await?;
        eprintln!(
            "{}: {} reports, {}",
            servers.label(),
            nats.events,
            nats.latency_trend()
        );
        rows.push(Row {
            name: format!(
                "progress report over HTTP, distributed deployment, {}: gateway → NATS → monitoring → JetStream, {reports} sequential reports on one action",
                servers.label()
            ),
            measured: nats.latency_trend(),
            baseline: format!("embedded deployment (SQLite, in-process bus): {}", embedded.latency_trend()),
            ratio: format!(
                "{:.1} (p50)",
                percentile(&nats.latencies, 0.5).as_secs_f64()
                    / percentile(&embedded.latencies, 0.5).as_secs_f64()
            ),
            target: "-".into(),
        });
    }
    Ok(())
}

async fn connect(urls: &str) -> anyhow::Result<async_nats::Client> {
    let addrs = metroplan_config::split_urls(urls);
    async_nats::ConnectOptions::new()
        .name("metroplan-bench")
        .request_timeout(Some(REQUEST_TIMEOUT))
        .connect(addrs.as_slice())
        .await
        .with_context(|| format!("connecting to nats at {urls}"))
}

fn js_context(client: async_nats::Client) -> jetstream::Context {
    jetstream::ContextBuilder::new()
        .timeout(REQUEST_TIMEOUT)
        .build(client)
}

/// The event store's stream configuration, under the raw baseline's name and subjects.
fn raw_stream_config(replicas: usize) -> async_nats::jetstream::stream::Config {
    let mut config = stream_config(replicas);
    config.name = RAW_STREAM.to_owned();
    config.subjects = vec![format!("{RAW_SUBJECT_PREFIX}.>")];
    config.description = Some("metroplan bench: raw publish baseline".to_owned());
    config
}

async fn jetstream_appends(
    rows: &mut Vec<Row>,
    servers: &Servers,
    loads: &[(usize, usize)],
    rounds: usize,
) -> anyhow::Result<()> {
    let replicas = servers.replicas();
    let label = servers.label();
    // Both streams exist (the store creates its own) before the measuring clients
    // connect to their leaders.
    let setup = connect(&servers.urls()).await?;
    drop(JetStreamStore::with_client(setup.clone(), replicas).await?);
    let setup_js = js_context(setup.clone());
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Err(e) = setup_js
        .get_or_create_stream(raw_stream_config(replicas))
        .await
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "creating stream {RAW_STREAM}: {e}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let store_client = connect(&servers.leader_url(&setup_js, STREAM_NAME).await?).await?;
    let raw_client = connect(&servers.leader_url(&setup_js, RAW_STREAM).await?).await?;
    drop(setup_js);
    setup.drain().await.ok();
    let store = JetStreamStore::with_client(store_client.clone(), replicas).await?;
    let shared: Arc<dyn EventStore> = Arc::new(store.clone());
    let raw_js = js_context(raw_client.clone());
    let payload = payload_bytes(PAYLOAD_LEN);
    // Untimed warm-up of both paths.
    store_appends(&shared, 16, 8, &payload).await?;
    raw_publishes(&raw_js, 16, 8, &payload).await?;
    for &(writers, events) in loads {
        let per_leg = (events / writers / (2 * rounds)).max(1);
        let before = store.stats();
        let (mut ours, mut raw) = (Timed::default(), Timed::default());
        for _ in 0..rounds {
            raw.add(raw_publishes(&raw_js, writers, per_leg, &payload).await?);
            ours.add(store_appends(&shared, writers, per_leg, &payload).await?);
            ours.add(store_appends(&shared, writers, per_leg, &payload).await?);
            raw.add(raw_publishes(&raw_js, writers, per_leg, &payload).await?);
        }
        let after = store.stats();
        let refused = after.refused_by_server - before.refused_by_server;
        let unanswered = after.unanswered - before.unanswered;
        eprintln!(
            "jetstream appends, {label}, {writers} writers: store {} events, {:.0} events/s, {}, {}; raw {} messages, {:.0} msgs/s, {}, {}; refused by the server {refused}, unanswered {unanswered}",
            ours.events,
            ours.rate(),
            ours.latency(),
            ours.cpu_per_event(),
            raw.events,
            raw.rate(),
            raw.latency(),
            raw.cpu_per_event(),
        );
        let retried = if refused + unanswered > 0 {
            format!(" ({refused} refused, {unanswered} unanswered, retried)")
        } else {
            String::new()
        };
        rows.push(Row {
            name: format!(
                "JetStream appends, {label}, {writers} writer(s), {PAYLOAD_LEN}-byte events"
            ),
            measured: format!("{:.0} events/s; {}{retried}", ours.rate(), ours.latency()),
            baseline: format!(
                "{:.0} msgs/s; {} (async-nats publish, PubAck awaited)",
                raw.rate(),
                raw.latency()
            ),
            ratio: format!("{:.2}", ours.rate() / raw.rate()),
            target: "≥ 0.8 of raw".into(),
        });
    }
    drop(shared);
    drop(store);
    store_client.drain().await.ok();
    raw_client.drain().await.ok();
    Ok(())
}

fn bench_metadata() -> EventMetadata {
    EventMetadata {
        actor: "bench".into(),
        on_behalf_of: "metroplan".into(),
        reason: None,
        correlation_id: Some(Uuid::now_v7()),
        causation_id: None,
    }
}

/// Deterministic, not compressible by a run of one byte (as the SQLite benchmark's).
fn payload_bytes(len: usize) -> Vec<u8> {
    #[allow(clippy::cast_possible_truncation)]
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect()
}

fn bench_stream(run: &str, writer: usize, i: usize) -> String {
    format!("bench:{run}/w{writer}-s{}", i / EVENTS_PER_STREAM)
}

/// Waits for every task and gathers their latencies.
async fn gather(
    mut tasks: tokio::task::JoinSet<anyhow::Result<Vec<Duration>>>,
    clock: &Clock,
) -> anyhow::Result<Timed> {
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.context("bench writer task failed")??);
    }
    Ok(Timed::new(clock, latencies))
}

/// `writers` tasks, each appending `per_writer` single-event batches to its own streams
/// through `store` (as `metroplan_eventstore::bench::append_throughput`, with each
/// append timed).
async fn store_appends(
    store: &Arc<dyn EventStore>,
    writers: usize,
    per_writer: usize,
    payload: &[u8],
) -> anyhow::Result<Timed> {
    let run = Uuid::now_v7().simple().to_string();
    let clock = Clock::start();
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..writers {
        let (store, payload, run) = (Arc::clone(store), payload.to_vec(), run.clone());
        tasks.spawn(async move {
            let metadata = bench_metadata();
            let mut latencies = Vec::with_capacity(per_writer);
            for i in 0..per_writer {
                let stream = bench_stream(&run, writer, i);
                let version = (i % EVENTS_PER_STREAM) as u64;
                let expected = if version == 0 {
                    ExpectedVersion::NoStream
                } else {
                    ExpectedVersion::Exact(version)
                };
                let event = NewEvent {
                    event_id: Uuid::now_v7(),
                    event_type: "BenchEventAppended".into(),
                    schema_version: 1,
                    payload: payload.clone(),
                    metadata: metadata.clone(),
                };
                let sent = Instant::now();
                store
                    .append(&stream, expected, vec![event])
                    .await
                    .with_context(|| format!("appending to {stream}"))?;
                latencies.push(sent.elapsed());
            }
            Ok(latencies)
        });
    }
    gather(tasks, &clock).await
}

/// The raw baseline: `writers` tasks, each publishing `per_writer` messages to its own
/// subjects (one per stream of [`store_appends`]) with the envelope headers the store
/// would write (made before the clock starts), awaiting each PubAck before the next.
async fn raw_publishes(
    js: &jetstream::Context,
    writers: usize,
    per_writer: usize,
    payload: &[u8],
) -> anyhow::Result<Timed> {
    let run = Uuid::now_v7().simple().to_string();
    let payload = Bytes::copy_from_slice(payload);
    let metadata = bench_metadata();
    let messages: Vec<Vec<(String, async_nats::HeaderMap)>> = (0..writers)
        .map(|writer| {
            (0..per_writer)
                .map(|i| {
                    let stream = bench_stream(&run, writer, i);
                    let subject = subject::stream_subject(&stream).replacen(
                        subject::SUBJECT_PREFIX,
                        RAW_SUBJECT_PREFIX,
                        1,
                    );
                    let event_id = Uuid::now_v7();
                    let event = RecordedEvent {
                        event_id,
                        stream_id: stream,
                        stream_version: (i % EVENTS_PER_STREAM) as u64 + 1,
                        position: 0,
                        event_type: "BenchEventAppended".into(),
                        schema_version: 1,
                        recorded_at: chrono::Utc::now(),
                        metadata: metadata.clone(),
                        payload: Vec::new(),
                        hash: [event_id.as_bytes().as_slice(); 2].concat(),
                    };
                    let headers = envelope::headers(&event, BatchPart { index: 1, size: 1 });
                    (subject, headers)
                })
                .collect()
        })
        .collect();
    let clock = Clock::start();
    let mut tasks = tokio::task::JoinSet::new();
    for messages in messages {
        let (js, payload) = (js.clone(), payload.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(messages.len());
            for (subject, headers) in messages {
                let sent = Instant::now();
                let ack = js
                    .publish_with_headers(subject, headers, payload.clone())
                    .await
                    .context("raw publish")?;
                ack.await.context("raw publish acknowledgement")?;
                latencies.push(sent.elapsed());
            }
            Ok(latencies)
        });
    }
    gather(tasks, &clock).await
}

/// The progress reports of the end-to-end benchmark, against a gateway at `base`: the
/// first one starts the action (retried while the services come up), ten more warm up,
/// then `reports` are timed one after the other, each until its answer is read.
async fn time_reports(base: &str, token: &str, reports: usize) -> anyhow::Result<Timed> {
    let http = reqwest::Client::new();
    let url = format!("{base}/api/v1/plans/PSM-2021-2023/actions/2.1.1/progress");
    let report = |status: &'static str, progress: usize| {
        http.post(&url)
            .bearer_auth(token)
            .json(&serde_json::json!({
                "status": status,
                "progress": progress,
                "note": "bench",
                "as_of": "2023-01-01",
            }))
            .send()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match report("started", 0).await {
            Ok(r) if r.status().is_success() => break,
            Ok(r) if r.status().is_server_error() && Instant::now() < deadline => {}
            Ok(r) => {
                let status = r.status();
                anyhow::bail!(
                    "the first progress report was refused: {status} {}",
                    r.text().await.unwrap_or_default()
                );
            }
            Err(_) if Instant::now() < deadline => {}
            Err(e) => return Err(e).context("the first progress report"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut latencies = Vec::with_capacity(reports);
    let clock = Clock::start();
    for i in 0..10 + reports {
        let sent = Instant::now();
        let r = report("in_progress", i % 100)
            .await
            .context("progress report")?;
        let status = r.status();
        let body = r.bytes().await.context("progress report answer")?;
        anyhow::ensure!(
            status.is_success(),
            "progress report refused: {status} {}",
            String::from_utf8_lossy(&body)
        );
        if i >= 10 {
            latencies.push(sent.elapsed());
        }
    }
    // The action's history grows by one event a report and every command reads it
    // whole: the medians of the first and the last tenth show what that costs.
    let tenth = (latencies.len() / 10).max(1);
    let median = |part: &[Duration]| {
        let mut part = part.to_vec();
        part.sort();
        percentile(&part, 0.5)
    };
    let trend = (
        median(&latencies[..tenth]),
        median(&latencies[latencies.len() - tenth..]),
        tenth,
    );
    Ok(Timed {
        trend: Some(trend),
        ..Timed::new(&clock, latencies)
    })
}

async fn embedded_command_latency(reports: usize) -> anyhow::Result<Timed> {
    let dir = tempfile::tempdir()?;
    let platform = Arc::new(Platform::open(dir.path(), &|_, _| {}).await?);
    platform.load_demo(&|_, _| {}).await?;
    let token = platform
        .tokens
        .create(Role::Admin, "Città metropolitana di Torino", "bench")?
        .secret;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let shutdown = CancellationToken::new();
    let server = {
        let (p, s) = (Arc::clone(&platform), shutdown.clone());
        tokio::spawn(async move { p.serve(listener, s).await })
    };
    let timed = time_reports(&base, &token, reports).await;
    shutdown.cancel();
    let _ = server.await;
    timed
}

/// The distributed deployment in this process, wired as `distributed::serve` wires it.
async fn nats_command_latency(servers: &Servers, reports: usize) -> anyhow::Result<Timed> {
    let nats = metroplan_config::NatsOptions {
        urls: servers.urls(),
        replicas: servers.replicas(),
    };
    let (client, store) = metroplan_config::open_jetstream(&nats, "metroplan-bench").await?;
    let shutdown = CancellationToken::new();
    let mut tasks: tokio::task::JoinSet<(&'static str, anyhow::Result<()>)> =
        tokio::task::JoinSet::new();
    let (c, s, x) = (client.clone(), Arc::clone(&store), shutdown.clone());
    tasks.spawn(async move {
        (
            "plan",
            metroplan_plan::serve_nats(c, s, x)
                .await
                .map_err(Into::into),
        )
    });
    let (c, s, x) = (client.clone(), Arc::clone(&store), shutdown.clone());
    tasks.spawn(async move {
        (
            "monitoring",
            metroplan_monitoring::serve_nats(c, s, x)
                .await
                .map_err(Into::into),
        )
    });
    let (c, s, x) = (client.clone(), Arc::clone(&store), shutdown.clone());
    tasks.spawn(async move {
        (
            "partnership",
            metroplan_partnership::serve_nats(c, s, x)
                .await
                .map_err(Into::into),
        )
    });
    let (c, s, x) = (client.clone(), Arc::clone(&store), shutdown.clone());
    tasks.spawn(async move { ("projector", metroplan_projector::nats::run(c, s, x).await) });
    let demo =
        crate::distributed::load_demo(client.clone(), Arc::clone(&store), nats.replicas).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (c, s, x, r) = (
        client.clone(),
        Arc::clone(&store),
        shutdown.clone(),
        nats.replicas,
    );
    tasks.spawn(async move {
        (
            "gateway",
            metroplan_gateway::run_nats(c, s, r, listener, x).await,
        )
    });
    let timed = time_reports(&base, &demo.admin_token, reports).await;
    shutdown.cancel();
    let mut failures = Vec::new();
    while let Ok(Some(done)) =
        tokio::time::timeout(Duration::from_secs(10), tasks.join_next()).await
    {
        match done {
            Ok((_, Ok(()))) => {}
            Ok((name, Err(e))) => failures.push(format!("{name} failed: {e}")),
            Err(e) => failures.push(format!("a task panicked: {e}")),
        }
    }
    tasks.abort_all();
    drop(store);
    client.drain().await.ok();
    match timed {
        Err(e) if !failures.is_empty() => Err(e.context(failures.join("; "))),
        other => other,
    }
}

/// A plan of 6 axes, 24 strategies and 111 actions (synthetic, benchmark data only),
/// then progress reports round-robin over its actions up to `n` events, as recorded
/// events.
/// Appends `e` to an in-memory log at the next position, as version `version` of
/// `stream`, recorded `at`.
fn push_recorded(
    log: &mut Vec<Arc<RecordedEvent>>,
    stream: String,
    version: u64,
    at: chrono::DateTime<chrono::Utc>,
    e: NewEvent,
) {
    let position = log.len() as u64 + 1;
    log.push(Arc::new(RecordedEvent {
        event_id: e.event_id,
        stream_id: stream,
        stream_version: version,
        position,
        event_type: e.event_type,
        schema_version: e.schema_version,
        recorded_at: at,
        metadata: e.metadata,
        payload: e.payload,
        hash: Vec::new(),
    }));
}

fn synthetic_plan_log(n: usize) -> Vec<Arc<RecordedEvent>> {
    use pb::plan_event::Event as P;
    let plan = "PSM-BENCH";
    let metadata = EventMetadata {
        actor: "bench".into(),
        on_behalf_of: "bench".into(),
        ..Default::default()
    };
    let mut log: Vec<Arc<RecordedEvent>> = Vec::with_capacity(n);
    let mut versions = std::collections::HashMap::<String, u64>::new();
    let start =
        chrono::DateTime::<chrono::Utc>::from_timestamp(1_640_995_200, 0).unwrap_or_default();
    let mut push = |log: &mut Vec<Arc<RecordedEvent>>, stream: String, e: NewEvent| {
        let v = versions.entry(stream.clone()).or_default();
        *v += 1;
        let at = start + chrono::Duration::seconds(i64::try_from(log.len() + 1).unwrap_or(0));
        push_recorded(log, stream, *v, at, e);
    };
    let plan_stream = metroplan_events::streams::plan(plan);
    let plan_event = |e: P| pb::PlanEvent { event: Some(e) };
    push(
        &mut log,
        plan_stream.clone(),
        NewEvent::new(
            &plan_event(P::PlanCreated(pb::PlanCreated {
                code: plan.into(),
                title: "Benchmark plan".into(),
                ..Default::default()
            })),
            metadata.clone(),
        ),
    );
    let mut actions = Vec::new();
    for axis in 1..=6u32 {
        push(
            &mut log,
            plan_stream.clone(),
            NewEvent::new(
                &plan_event(P::AxisAdded(pb::AxisAdded {
                    plan: plan.into(),
                    code: axis.to_string(),
                    name: format!("Axis {axis}"),
                    position: axis,
                    ..Default::default()
                })),
                metadata.clone(),
            ),
        );
        for strategy in 1..=4u32 {
            let code = format!("{axis}.{strategy}");
            push(
                &mut log,
                plan_stream.clone(),
                NewEvent::new(
                    &plan_event(P::StrategyAdded(pb::StrategyAdded {
                        plan: plan.into(),
                        code: code.clone(),
                        axis: axis.to_string(),
                        name: format!("Strategy {code}"),
                        position: strategy,
                        ..Default::default()
                    })),
                    metadata.clone(),
                ),
            );
            let count = if (axis - 1) * 4 + strategy <= 15 {
                5
            } else {
                4
            };
            for a in 1..=count {
                actions.push(format!("{code}.{a}"));
            }
        }
    }
    for code in &actions {
        let strategy = code.rsplit_once('.').map_or("", |(s, _)| s).to_owned();
        let e = pb::ActionEvent {
            event: Some(pb::action_event::Event::ActionAdded(pb::ActionAdded {
                plan: plan.into(),
                code: code.clone(),
                strategy,
                title: format!("Action {code}"),
                competence: "direct".into(),
                funding_lines: vec![pb::FundingLine {
                    source: "PNRR".into(),
                    planned_cents: 100_000_000,
                    committed_cents: 40_000_000,
                    ..Default::default()
                }],
                ..Default::default()
            })),
        };
        push(
            &mut log,
            metroplan_events::streams::action(plan, code),
            NewEvent::new(&e, metadata.clone()),
        );
    }
    let mut i = 0usize;
    while log.len() < n {
        let code = &actions[i % actions.len()];
        let e = pb::ProgressEvent {
            event: Some(pb::progress_event::Event::ActionProgressReported(
                pb::ActionProgressReported {
                    plan: plan.into(),
                    action: code.clone(),
                    status: "in_progress".into(),
                    previous_status: "in_progress".into(),
                    progress: u32::try_from(i / actions.len() % 100).unwrap_or(0),
                    note: "avanzamento lavori secondo cronoprogramma".into(),
                    reporting_organisation: "bench".into(),
                    as_of: "2022-06-30".into(),
                    ..Default::default()
                },
            )),
        };
        push(
            &mut log,
            metroplan_events::streams::progress(plan, code),
            NewEvent::new(&e, metadata.clone()),
        );
        i += 1;
    }
    log
}

fn timetravel(rows: &mut Vec<Row>, n: usize) {
    use metroplan_projector::{Query, State};
    eprintln!("building a plan log of {n} events in memory...");
    let log = synthetic_plan_log(n);
    let head = log.len() as u64;
    let mut state = State::default();
    let started = Instant::now();
    for e in &log {
        state.apply(Arc::clone(e));
    }
    let applied = started.elapsed();
    eprintln!(
        "applied {n} events with the timeline in {applied:.2?} ({} snapshots)",
        state.timeline.snapshots()
    );
    let plan = "PSM-BENCH".to_owned();
    let questions = [
        Query::PlanTree { plan: plan.clone() },
        Query::Dashboard { plan: plan.clone() },
        Query::Action {
            plan: plan.clone(),
            action: "3.2.1".into(),
        },
    ];
    // Positions spread over the log, in a fixed pseudo-random order.
    let samples = 300usize;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let positions: Vec<u64> = (0..samples)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % head + 1
        })
        .collect();
    let mut past = Vec::with_capacity(samples);
    let mut now = Vec::with_capacity(samples);
    for (i, p) in positions.iter().enumerate() {
        let q = &questions[i % questions.len()];
        let started = Instant::now();
        let answer = state.answer(&Query::At {
            at: *p,
            of: Box::new(q.clone()),
        });
        past.push(started.elapsed());
        assert!(
            answer.is_some(),
            "the plan exists at every sampled position"
        );
        let started = Instant::now();
        let answer = state.answer(q);
        now.push(started.elapsed());
        assert!(answer.is_some());
    }
    past.sort();
    now.sort();
    let (p50, p99, max) = (
        percentile(&past, 0.5),
        percentile(&past, 0.99),
        past[past.len() - 1],
    );
    let (n50, n99) = (percentile(&now, 0.5), percentile(&now, 0.99));
    eprintln!(
        "time travel: p50 {p50:.2?} p99 {p99:.2?} max {max:.2?}; current: p50 {n50:.2?} p99 {n99:.2?}"
    );
    // The naive way: replay the log from the start up to the position.
    let mut naive = Vec::new();
    for p in positions.iter().take(5) {
        let started = Instant::now();
        let mut models = metroplan_projector::ReadModels::default();
        for e in &log[..usize::try_from(*p).unwrap_or(0)] {
            models.apply_shared(Arc::clone(e));
        }
        let _ = models.answer(&questions[0]);
        naive.push(started.elapsed());
    }
    naive.sort();
    let naive50 = percentile(&naive, 0.5);
    eprintln!(
        "naive replay to the position: median {naive50:.2?} over {} positions",
        naive.len()
    );
    rows.push(Row {
        name: format!("time travel over {n} events: plan tree, dashboard or action page `at` a random past position ({samples} asks)"),
        measured: format!("p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms", ms(p50), ms(p99), ms(max)),
        baseline: format!("same questions on the current models: p50 {:.2} ms, p99 {:.2} ms", ms(n50), ms(n99)),
        ratio: format!("{:.1}× at p99", p99.as_secs_f64() / n99.as_secs_f64().max(1e-9)),
        target: "< 50 ms".into(),
    });
    rows.push(Row {
        name: format!("time travel over {n} events, against replaying from the start"),
        measured: format!("p50 {:.2} ms", ms(p50)),
        baseline: format!("replay from position 0: median {:.0} ms", ms(naive50)),
        ratio: format!("{:.4}", p50.as_secs_f64() / naive50.as_secs_f64().max(1e-9)),
        target: "-".into(),
    });
    rows.push(Row {
        name: format!(
            "applying {n} events with the timeline (snapshots every {})",
            metroplan_projector::timeline::SNAPSHOT_EVERY
        ),
        measured: format!("{:.2} M events/s", n as f64 / applied.as_secs_f64() / 1e6),
        baseline: "-".into(),
        ratio: "-".into(),
        target: "-".into(),
    });
}

/// The monitoring report of a plan the size of Torino's (6 axes, 24 strategies, 111
/// actions with funding and 50,000 progress reports, 74 indicators measured over three
/// years), assembled from the read models and written as JSON (`format=json`, the raw
/// baseline: the same data with no layout), then as PDF, HTML and XLSX, `runs` times
/// each.
fn report(rows: &mut Vec<Row>, runs: usize) -> anyhow::Result<()> {
    use metroplan_projector::{Query, State};
    let mut log = synthetic_plan_log(50_000);
    let metadata = bench_metadata();
    let plan = "PSM-BENCH";
    let strategies: Vec<String> = (1..=6)
        .flat_map(|a| (1..=4).map(move |s| format!("{a}.{s}")))
        .collect();
    let mut push = |stream: String, version: u64, e: NewEvent| {
        push_recorded(&mut log, stream, version, chrono::Utc::now(), e)
    };
    for i in 0..74usize {
        let code = format!("BENCH-{i:02}");
        let stream = metroplan_events::streams::indicator(plan, &code);
        let event = |e: pb::indicator_event::Event| pb::IndicatorEvent { event: Some(e) };
        push(
            stream.clone(),
            1,
            NewEvent::new(
                &event(pb::indicator_event::Event::IndicatorDefined(
                    pb::IndicatorDefined {
                        plan: plan.into(),
                        code: code.clone(),
                        strategy: strategies[i % strategies.len()].clone(),
                        name: format!("Indicatore di prova {i}"),
                        unit: "%".into(),
                        source: "bench".into(),
                        direction: "increase".into(),
                        baseline_value: "20".into(),
                        baseline_year: 2020,
                        target_value: "30".into(),
                        target_year: 2023,
                        territory: "Città metropolitana di Torino".into(),
                    },
                )),
                metadata.clone(),
            ),
        );
        for (k, year) in (2021..=2023).enumerate() {
            push(
                stream.clone(),
                2 + k as u64,
                NewEvent::new(
                    &event(pb::indicator_event::Event::MeasurementRecorded(
                        pb::MeasurementRecorded {
                            plan: plan.into(),
                            indicator: code.clone(),
                            measurement: 1 + k as u32,
                            period: year.to_string(),
                            territory: "Città metropolitana di Torino".into(),
                            value: format!("{}.{}", 20 + k * 2, i % 10),
                            source_note: String::new(),
                        },
                    )),
                    metadata.clone(),
                ),
            );
        }
    }
    let mut state = State::default();
    for e in &log {
        state.apply(Arc::clone(e));
    }
    let period = metroplan_report::Period::new(
        chrono::NaiveDate::from_ymd_opt(2021, 1, 1).context("date")?,
        chrono::NaiveDate::from_ymd_opt(2023, 12, 31).context("date")?,
    )?;
    let query = Query::Report {
        plan: plan.into(),
        period,
    };
    let assemble = || -> anyhow::Result<metroplan_report::Report> {
        let value = state
            .answer(&query)
            .context("the report of the bench plan")?;
        Ok(serde_json::from_value(value)?)
    };
    let report = assemble()?;
    anyhow::ensure!(
        report.actions.len() == 111 && report.indicators.len() == 74,
        "the bench report has {} actions and {} indicators",
        report.actions.len(),
        report.indicators.len()
    );
    let median = |mut d: Vec<Duration>| {
        d.sort();
        d[d.len() / 2]
    };
    let time = |f: &dyn Fn() -> anyhow::Result<usize>| -> anyhow::Result<(Duration, usize)> {
        let mut d = Vec::with_capacity(runs);
        let mut size = 0;
        for _ in 0..runs {
            let started = Instant::now();
            size = f()?;
            d.push(started.elapsed());
        }
        Ok((median(d), size))
    };
    let (base, json) = time(&|| Ok(serde_json::to_vec(&assemble()?)?.len()))?;
    let (pdf, pdf_bytes) = time(&|| Ok(metroplan_report::render_pdf(&assemble()?).len()))?;
    let (html, html_bytes) = time(&|| Ok(metroplan_report::render_html(&assemble()?).len()))?;
    let (xlsx, xlsx_bytes) = time(&|| Ok(metroplan_report::actions_xlsx(&assemble()?)?.len()))?;
    eprintln!(
        "report: assemble {base:.2?} ({json} B of JSON), pdf {pdf:.2?} ({pdf_bytes} B), html {html:.2?} ({html_bytes} B), xlsx {xlsx:.2?} ({xlsx_bytes} B)"
    );
    for (what, took, bytes) in [
        ("PDF with its charts", pdf, pdf_bytes),
        ("HTML page", html, html_bytes),
        ("actions XLSX", xlsx, xlsx_bytes),
    ] {
        rows.push(Row {
            name: format!(
                "monitoring report, 111 actions and 74 indicators over a log of {} events: assembled and rendered as {what} ({} KiB), median of {runs}",
                log.len(),
                bytes / 1024
            ),
            measured: format!("{:.1} ms", ms(took)),
            baseline: format!("the same report assembled and written as JSON: {:.1} ms", ms(base)),
            ratio: format!("{:.1}×", took.as_secs_f64() / base.as_secs_f64().max(1e-9)),
            target: "-".into(),
        });
    }
    Ok(())
}

async fn verify(rows: &mut Vec<Row>, n: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open_in(dir.path())?;
    eprintln!("filling a log with {n} events...");
    fill(&store, n).await?;
    let started = Instant::now();
    let mut after = 0;
    loop {
        let page = store.read_all(after, 4096).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
    }
    let raw = started.elapsed();
    let checkpoints = Arc::new(metroplan_audit::SqliteCheckpoints::open_in(dir.path())?);
    let keys = metroplan_audit::KeyDir::in_data_dir(dir.path());
    let signer = keys.load_or_create("metroplan.bench/events")?;
    let keyring = keys.keyring()?;
    let audit = metroplan_audit::AuditLog::new(
        Arc::clone(&checkpoints) as Arc<dyn metroplan_audit::CheckpointStore>,
        Some(signer),
        keyring.clone(),
    );
    let started = Instant::now();
    let signed = audit.checkpoint_now(&store).await?;
    let sign = started.elapsed();
    anyhow::ensure!(signed.is_some(), "no checkpoint was signed");
    let stored = metroplan_audit::all_checkpoints(checkpoints.as_ref()).await?;
    let started = Instant::now();
    let report = metroplan_audit::verify_log(&store, stored, &[], &keyring, &|_, _| {}).await?;
    let walk = started.elapsed();
    anyhow::ensure!(
        report.events == n as u64,
        "verify saw {} events",
        report.events
    );
    eprintln!(
        "verify of {n} events: {walk:.2?}; checkpoint from cold: {sign:.2?}; raw read {raw:.2?}"
    );
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    rows.push(Row {
        name: format!("`metroplan verify` walk, {n} events, 1 checkpoint"),
        measured: format!("{:.0} events/s", rate(walk)),
        baseline: format!("{:.0} events/s (read only)", rate(raw)),
        ratio: format!("{:.2}", raw.as_secs_f64() / walk.as_secs_f64()),
        target: "-".into(),
    });
    rows.push(Row {
        name: format!(
            "signing a checkpoint of {n} events from a cold start (read, chain check, Merkle tree)"
        ),
        measured: format!("{:.0} events/s", rate(sign)),
        baseline: format!("{:.0} events/s (read only)", rate(raw)),
        ratio: format!("{:.2}", raw.as_secs_f64() / sign.as_secs_f64()),
        target: "-".into(),
    });
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proc_stat_line_gives_the_parent_and_the_cpu_seconds() {
        // The command may hold spaces and parentheses; utime 150 and stime 50 ticks.
        let line =
            "4242 (nats (x) server) S 17 4242 4242 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 9 0";
        assert_eq!(parse_stat(line), Some((17, 2.0)));
        assert_eq!(parse_stat("4242 (cut"), None);
    }

    #[test]
    fn percentiles_pick_from_the_sorted_latencies() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&ms, 0.5), Duration::from_millis(51));
        assert_eq!(percentile(&ms, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.99), Duration::ZERO);
    }
}
