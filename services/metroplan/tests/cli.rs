//! The `metroplan` program as an operator runs it: each test drives the real binary in a
//! temporary data directory and checks what it prints, what it stores and, for `serve`,
//! what the running server answers over HTTP and how it stops on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const ORG: &str = "Città metropolitana di Torino";
const PLAN_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/psm-torino-2021-2023.json"
);
/// Startup of `serve --demo` imports the plan and waits for the projector: generous for debug builds.
const STARTUP: Duration = Duration::from_secs(120);
const SHUTDOWN: Duration = Duration::from_secs(10);

/// The binary with a clean environment for the variables it reads itself, so that an
/// operator's `METROPLAN_*` settings cannot leak into a test.
fn metroplan() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_metroplan"));
    cmd.env_remove("METROPLAN_DATA")
        .env_remove("METROPLAN_LISTEN");
    cmd
}

fn run(args: &[&str], data: &Path) -> Output {
    metroplan()
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("running metroplan")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

/// Runs `token create` and returns the token printed as the last stdout line.
fn create_token(data: &Path, role: &str) -> String {
    let output = run(&["token", "create", "--role", role, "--org", ORG], data);
    assert_success(&output, "token create");
    stdout(&output)
        .lines()
        .last()
        .expect("token create printed nothing on stdout")
        .trim()
        .to_owned()
}

fn import(data: &Path) -> Value {
    let output = run(&["import", PLAN_FILE], data);
    assert_success(&output, "import");
    serde_json::from_str(&stdout(&output)).expect("import prints its summary as JSON")
}

fn events(data: &Path, from: Option<u64>) -> Vec<Value> {
    let mut args = vec!["events".to_owned()];
    if let Some(from) = from {
        args.extend(["--from".to_owned(), from.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(&args, data);
    assert_success(&output, "events");
    stdout(&output)
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?} is not JSON: {e}"))
        })
        .collect()
}

fn positions(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| {
            e["position"]
                .as_u64()
                .expect("every event has a numeric position")
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn token_create_prints_a_token_once_and_stores_only_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    // A directory that does not exist yet: `token create` makes it.
    let data = dir.path().join("data");

    let output = run(
        &["token", "create", "--role", "editor", "--org", ORG],
        &data,
    );
    assert_success(&output, "token create");
    let out = stdout(&output);
    let token = out.lines().last().expect("a token line").trim();
    assert!(
        token.starts_with("mp_"),
        "last stdout line is not a token: {out:?}"
    );
    assert!(
        token.len() > "mp_".len() + 32,
        "token too short to hold 32 random bytes: {token:?}"
    );

    let mut stored = std::fs::read(data.join("auth.db")).expect("auth.db exists");
    stored.extend(std::fs::read(data.join("auth.db-wal")).unwrap_or_default());
    assert!(
        contains(&stored, ORG.as_bytes()),
        "the token's organisation is not in auth.db or its WAL, so the files read are not where tokens live"
    );
    assert!(
        !contains(&stored, token.as_bytes()),
        "the plaintext token is stored in auth.db"
    );
    let secret_part = token.trim_start_matches("mp_");
    assert!(
        !contains(&stored, secret_part.as_bytes()),
        "the token's random part is stored in auth.db"
    );

    let second = create_token(&data, "viewer");
    assert!(second.starts_with("mp_"));
    assert_ne!(
        second, token,
        "two token creations returned the same secret"
    );

    let bad = run(&["token", "create", "--role", "boss", "--org", ORG], &data);
    assert!(
        !bad.status.success(),
        "an unknown role was accepted: {}",
        stdout(&bad)
    );
    let err = stderr(&bad);
    assert!(
        err.contains("boss"),
        "the error does not name the rejected role: {err}"
    );
    for role in ["admin", "editor", "reporter", "auditor", "viewer"] {
        assert!(
            err.contains(role),
            "the error does not list the valid role {role}: {err}"
        );
    }
    assert!(
        !stdout(&bad).contains("mp_"),
        "a token was printed for an invalid role"
    );
}

#[test]
fn import_is_idempotent_and_events_prints_the_hash_chained_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();

    let first = import(data);
    assert_eq!(first["plan"], "PSM-2021-2023", "summary: {first}");
    assert_eq!(first["plan_created"], true, "summary: {first}");
    assert_eq!(first["axes_added"], 6, "summary: {first}");
    assert_eq!(first["strategies_added"], 10, "summary: {first}");
    assert_eq!(first["actions_added"], 10, "summary: {first}");
    assert_eq!(first["already_present"], 0, "summary: {first}");
    let head = first["position"]
        .as_u64()
        .expect("summary has a numeric position");
    assert!(
        head >= 27,
        "one PlanCreated plus 26 additions need at least 27 events, head is {head}"
    );

    let second = import(data);
    assert_eq!(second["plan"], "PSM-2021-2023", "summary: {second}");
    assert_eq!(second["plan_created"], false, "summary: {second}");
    assert_eq!(second["axes_added"], 0, "summary: {second}");
    assert_eq!(second["strategies_added"], 0, "summary: {second}");
    assert_eq!(second["actions_added"], 0, "summary: {second}");
    assert_eq!(second["already_present"], 6 + 10 + 10, "summary: {second}");
    assert_eq!(
        second["position"], head,
        "a second import moved the log's head: {second}"
    );

    let log = events(data, None);
    let n = u64::try_from(log.len()).unwrap();
    assert_eq!(
        n, head,
        "the log holds more or fewer events than the import reported"
    );
    assert_eq!(
        positions(&log),
        (1..=n).collect::<Vec<_>>(),
        "positions are not 1..=N contiguous"
    );
    assert_eq!(
        log[0]["event_type"], "PlanCreated",
        "first event: {}",
        log[0]
    );
    let mut hashes = std::collections::HashSet::new();
    for event in &log {
        let hash = event["hash"]
            .as_str()
            .unwrap_or_else(|| panic!("event without a hash: {event}"));
        assert!(
            hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "hash is not 64 hex characters: {event}"
        );
        assert!(
            hashes.insert(hash.to_owned()),
            "two events share the hash {hash}"
        );
        for field in ["stream", "event_type", "actor", "event_id"] {
            assert!(event[field].is_string(), "event without a {field}: {event}");
        }
        assert!(
            event.get("payload").is_some_and(|p| !p.is_null()),
            "event without a payload: {event}"
        );
    }

    let count = |event_type: &str| log.iter().filter(|e| e["event_type"] == event_type).count();
    assert_eq!(
        [
            count("PlanCreated"),
            count("AxisAdded"),
            count("StrategyAdded"),
            count("ActionAdded")
        ],
        [1, 6, 10, 10],
        "the log does not record what the import summary reports"
    );

    let k = n / 2;
    let tail = events(data, Some(k));
    assert_eq!(
        positions(&tail),
        (k + 1..=n).collect::<Vec<_>>(),
        "events --from {k} printed the wrong positions"
    );
    assert_eq!(
        tail,
        log[usize::try_from(k).unwrap()..],
        "events --from {k} differs from the same part of the full log"
    );
    assert!(
        events(data, Some(n)).is_empty(),
        "events --from the head printed something"
    );
}

/// A spawned `metroplan serve`, killed if the test ends before it stops by itself.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads stdout lines on a thread so that the test can wait for them with a deadline.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn next_line(lines: &mpsc::Receiver<String>, deadline: Instant, seen: &[String]) -> String {
    let left = deadline.saturating_duration_since(Instant::now());
    lines.recv_timeout(left).unwrap_or_else(|e| {
        panic!("serve did not print the expected lines ({e}); stdout so far: {seen:#?}")
    })
}

#[tokio::test]
async fn serve_demo_answers_with_its_admin_token_and_a_later_token_then_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    let child = metroplan()
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning metroplan serve");
    let mut server = Server { child };
    let lines = lines_of(&mut server.child);

    let deadline = Instant::now() + STARTUP;
    let mut seen = Vec::new();
    let mut base = None;
    let admin = loop {
        let line = next_line(&lines, deadline, &seen);
        if base.is_none()
            && let Some(start) = line.find("http://")
        {
            let url = line[start..].split_whitespace().next().unwrap_or_default();
            base = Some(url.trim_end_matches('/').to_owned());
        }
        let is_header = line.trim() == "admin token:";
        seen.push(line);
        if is_header {
            break next_line(&lines, deadline, &seen).trim().to_owned();
        }
    };
    let base =
        base.unwrap_or_else(|| panic!("serve printed no URL before the admin token: {seen:#?}"));
    assert!(
        !base.ends_with(":0"),
        "serve printed the requested port 0 instead of the bound one: {base}"
    );
    assert!(
        admin.starts_with("mp_"),
        "the line after `admin token:` is not a token: {admin:?}"
    );

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let plans = format!("{base}/api/v1/plans");

    let anonymous = client.get(&plans).send().await.expect("GET /api/v1/plans");
    assert_eq!(anonymous.status(), 401, "plans are served without a token");

    let response = client
        .get(&plans)
        .bearer_auth(&admin)
        .send()
        .await
        .expect("GET /api/v1/plans");
    assert_eq!(response.status(), 200, "admin token rejected");
    let body = response.text().await.unwrap();
    assert!(
        body.contains("PSM-2021-2023"),
        "the demo plan is not listed: {body}"
    );

    let viewer_data = data.clone();
    let viewer = tokio::task::spawn_blocking(move || create_token(&viewer_data, "viewer"))
        .await
        .unwrap();
    assert!(viewer.starts_with("mp_"), "not a token: {viewer:?}");
    assert_ne!(viewer, admin);
    let response = client
        .get(&plans)
        .bearer_auth(&viewer)
        .send()
        .await
        .expect("GET /api/v1/plans");
    assert_eq!(
        response.status(),
        200,
        "a token created by another process while serving is rejected"
    );
    let body = response.text().await.unwrap();
    assert!(
        body.contains("PSM-2021-2023"),
        "the demo plan is not listed for the viewer: {body}"
    );

    let unknown = client
        .get(&plans)
        .bearer_auth("mp_not-a-real-token")
        .send()
        .await
        .expect("GET /api/v1/plans");
    assert_eq!(unknown.status(), 401, "an unknown token is accepted");

    let pid = server.child.id().to_string();
    let kill = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("running kill");
    assert!(kill.success(), "kill -TERM {pid} failed");
    let stopped = Instant::now() + SHUTDOWN;
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("waiting for serve") {
            break status;
        }
        assert!(
            Instant::now() < stopped,
            "serve still running {SHUTDOWN:?} after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        status.success(),
        "serve exited with {status} after SIGTERM instead of shutting down gracefully"
    );
}
