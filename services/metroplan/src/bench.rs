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

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use metroplan_api::Role;
use metroplan_api::monitoring::{MonitoringCommand, ReportProgress};
use metroplan_bus::{Command, CommandBus};
use metroplan_events::{EventMetadata, EventPayload, NewEvent, pb};
use metroplan_eventstore::sqlite::SqliteStore;
use metroplan_eventstore::{EventStore, ExpectedVersion, bench as store_bench};
use metroplan_projector::Projector;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_util::sync::CancellationToken;

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
