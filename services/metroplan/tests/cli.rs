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

/// Reads `serve`'s banner up to its admin token: the first URL it printed (without the
/// final `/`) and the token on the line after `admin token:`.
fn url_and_admin_token(child: &mut Child) -> (String, String) {
    let lines = lines_of(child);
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
    (base, admin)
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
    let (base, admin) = url_and_admin_token(&mut server.child);
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

/// `serve --demo --examples` adds example indicators, every one labelled ESEMPIO and
/// not official, with their measurements; a second start adds nothing.
#[tokio::test]
async fn serve_demo_examples_adds_labelled_example_indicators_once() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut heads = Vec::new();
    for _ in 0..2 {
        let child = metroplan()
            .args([
                "serve",
                "--demo",
                "--examples",
                "--listen",
                "127.0.0.1:0",
                "--data",
            ])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning metroplan serve");
        let mut server = Server { child };
        let (base, admin) = url_and_admin_token(&mut server.child);
        let list: Value = client
            .get(format!("{base}/api/v1/plans/PSM-2021-2023/indicators"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let indicators: Vec<&Value> = list["strategies"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["indicators"].as_array().unwrap())
            .collect();
        assert_eq!(indicators.len(), 3, "{list}");
        for i in &indicators {
            assert!(i["code"].as_str().unwrap().starts_with("ESEMPIO"), "{i}");
            assert!(i["name"].as_str().unwrap().contains("non ufficiali"), "{i}");
            assert!(
                i["source"].as_str().unwrap().contains("non ufficiali"),
                "{i}"
            );
            assert!(i["latest"].is_object(), "measured: {i}");
        }
        let one: Value = client
            .get(format!(
                "{base}/api/v1/plans/PSM-2021-2023/indicators/ESEMPIO-3.1-01"
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            one["series"][0]["value"], "19.8",
            "the Italian decimal comma read: {one}"
        );
        assert_eq!(one["trend"], "improving", "{one}");
        heads.push(list["position"].as_u64().unwrap());
        drop(server);
    }
    assert_eq!(heads[0], heads[1], "a second start adds nothing");
    // Without --demo the flag is refused.
    let out = run(&["serve", "--examples"], dir.path());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--demo"), "{}", stderr(&out));
}

// ---------------------------------------------------------------------------------------
// Tamper evidence: `metroplan verify` on a log changed behind the store's back.

mod tamper {
    use std::path::{Path, PathBuf};

    use metroplan_audit::{CheckpointSigner, TreeHash};
    use metroplan_events::{EventMetadata, NewEvent, RecordedEvent};
    use metroplan_eventstore::sqlite::{SqliteStore, event_hash};
    use metroplan_eventstore::{EventStore, ExpectedVersion};
    use rusqlite::{Connection, params};

    use super::{assert_success, import, run, stderr, stdout};

    /// Events appended after the import, round-robin over three streams.
    const EXTRA: u64 = 30;

    /// A data directory holding the imported plan (`first` events) under a checkpoint
    /// signed by a key that was then rotated, and `EXTRA` more events under a
    /// checkpoint signed by the new key.
    struct Template {
        _dir: tempfile::TempDir,
        data: PathBuf,
        first: u64,
        head: u64,
        first_note: String,
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn checkpoint(data: &Path) -> String {
        let output = run(&["checkpoint"], data);
        assert_success(&output, "checkpoint");
        stdout(&output)
    }

    /// Appends `n` events round-robin over three streams, through the store.
    fn append_notes(data: &Path, n: u64) {
        runtime().block_on(async {
            let store = SqliteStore::open_in(data).unwrap();
            for i in 0..n {
                let event = NewEvent {
                    event_id: uuid::Uuid::now_v7(),
                    event_type: "AuditTestNoted".into(),
                    schema_version: 1,
                    payload: format!("note {i}").into_bytes(),
                    metadata: EventMetadata {
                        actor: "tester".into(),
                        on_behalf_of: "auditors".into(),
                        reason: Some("tamper test".into()),
                        correlation_id: None,
                        causation_id: None,
                    },
                };
                store
                    .append(
                        &format!("audit-test:{}", i % 3),
                        ExpectedVersion::Any,
                        vec![event],
                    )
                    .await
                    .unwrap();
            }
        });
    }

    fn template() -> Template {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = import(&data)["position"].as_u64().unwrap();
        let first_note = checkpoint(&data);
        assert!(
            first_note.starts_with(&format!("metroplan.local/events\n{first}\n")),
            "checkpoint printed {first_note:?}"
        );
        let rotated = run(&["key", "rotate"], &data);
        assert_success(&rotated, "key rotate");
        append_notes(&data, EXTRA);
        let head = first + EXTRA;
        let second = checkpoint(&data);
        assert!(second.starts_with(&format!("metroplan.local/events\n{head}\n")));
        Template {
            _dir: dir,
            data,
            first,
            head,
            first_note,
        }
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    /// A copy of the template's data directory, changed by `tamper` through rusqlite.
    fn tampered(t: &Template, tamper: impl FnOnce(&Connection)) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&t.data, dir.path());
        let conn = Connection::open(dir.path().join("events.db")).unwrap();
        tamper(&conn);
        drop(conn);
        dir
    }

    fn verify(data: &Path, extra: &[&str]) -> std::process::Output {
        let mut args = vec!["verify"];
        args.extend_from_slice(extra);
        run(&args, data)
    }

    #[track_caller]
    fn assert_bad(output: &std::process::Output, position: u64, why: &str) {
        assert!(
            !output.status.success(),
            "verify passed a tampered log:\n{}",
            stdout(output)
        );
        let err = stderr(output);
        let expected = format!("first bad position: {position} (");
        assert!(
            err.contains(&expected),
            "expected {expected:?} in stderr:\n{err}"
        );
        assert!(err.contains(why), "expected {why:?} in stderr:\n{err}");
    }

    /// Every event, read through the store.
    fn read_all(data: &Path) -> Vec<RecordedEvent> {
        runtime().block_on(async {
            let store = SqliteStore::open_in(data).unwrap();
            store.read_all(0, 100_000).await.unwrap()
        })
    }

    /// Changes the payload of the event at `position` and rewrites its hash and those
    /// of the later events of its stream, as an attacker who knows the hash layout would.
    fn rewrite_with_recomputed_hashes(data: &Path, position: u64) {
        let events = read_all(data);
        let target = &events[usize::try_from(position - 1).unwrap()];
        let stream = target.stream_id.clone();
        let mut prev = events
            .iter()
            .filter(|e| e.stream_id == stream && e.stream_version + 1 == target.stream_version)
            .map(|e| e.hash.clone())
            .next()
            .unwrap_or_else(|| vec![0; 32]);
        let conn = Connection::open(data.join("events.db")).unwrap();
        for e in events
            .iter()
            .filter(|e| e.stream_id == stream && e.position >= position)
        {
            let mut e = e.clone();
            if e.position == position {
                e.payload[0] ^= 0x01;
            }
            e.hash = event_hash(&prev, &e);
            conn.execute(
                "UPDATE events SET payload = ?1, hash = ?2 WHERE position = ?3",
                params![e.payload, e.hash, e.position as i64],
            )
            .unwrap();
            prev = e.hash;
        }
        conn.execute(
            "UPDATE streams SET last_hash = ?1 WHERE stream_id = ?2",
            params![prev, stream],
        )
        .unwrap();
    }

    #[test]
    fn verify_passes_an_intact_log_with_checkpoints_signed_before_and_after_a_key_rotation() {
        let t = template();
        let output = verify(&t.data, &[]);
        assert_success(&output, "verify of an intact log");
        let out = stdout(&output);
        assert!(
            out.contains(&format!("log intact: {} events", t.head))
                && out.contains("2 checkpoints verified"),
            "summary: {out}"
        );

        // The retired key is what verifies the first checkpoint: the new key alone fails.
        let keys = t.data.join("keys");
        let current = keys.join("checkpoint.pub");
        let output = verify(&t.data, &["--public-key", current.to_str().unwrap()]);
        assert_bad(&output, t.first, "signed by no known key");
        let retired = keys.join("retired.pub");
        let output = verify(
            &t.data,
            &[
                "--public-key",
                current.to_str().unwrap(),
                "--public-key",
                retired.to_str().unwrap(),
            ],
        );
        assert_success(&output, "verify with both keys given");

        // `key show` prints the current key first, then the retired one.
        let shown = run(&["key", "show"], &t.data);
        assert_success(&shown, "key show");
        let shown = stdout(&shown);
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 2, "{shown}");
        assert_eq!(std::fs::read_to_string(&current).unwrap().trim(), lines[0]);
    }

    #[test]
    fn verify_checks_a_kept_checkpoint_against_the_newer_log() {
        let t = template();
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("kept.note");
        std::fs::write(&kept, &t.first_note).unwrap();
        let output = verify(&t.data, &["--checkpoint", kept.to_str().unwrap()]);
        assert_success(&output, "verify with a kept checkpoint");
        assert!(stdout(&output).contains("1 kept checkpoints consistent"));

        // A validly signed checkpoint of another history of the same size.
        let signer = CheckpointSigner::from_file(&t.data.join("keys/checkpoint.key")).unwrap();
        let forged = dir.path().join("forged.note");
        let other_root = metroplan_audit::tree::leaf_hash(b"another history");
        std::fs::write(&forged, signer.sign(t.first, other_root).unwrap()).unwrap();
        let output = verify(&t.data, &["--checkpoint", forged.to_str().unwrap()]);
        assert_bad(&output, 1, "do not match the signed root");

        // One of a longer log: this one was truncated since.
        let longer = dir.path().join("longer.note");
        std::fs::write(
            &longer,
            signer.sign(t.head + 5, TreeHash::default()).unwrap(),
        )
        .unwrap();
        let output = verify(&t.data, &["--checkpoint", longer.to_str().unwrap()]);
        assert_bad(&output, t.head + 1, "log truncated");

        // An attacker holding the server rewrites history, recomputes every hash and
        // deletes the stored checkpoints: only the checkpoint the auditor kept sees it.
        let rewritten = tampered(&t, |c| {
            c.execute("DELETE FROM checkpoints", []).unwrap();
        });
        rewrite_with_recomputed_hashes(rewritten.path(), 3);
        let output = verify(rewritten.path(), &["--checkpoint", kept.to_str().unwrap()]);
        assert_bad(&output, 1, "do not match the signed root");
    }

    #[test]
    fn verify_names_the_first_bad_position_of_each_tampering_of_the_sqlite_file() {
        let t = template();
        assert!(t.first > 14, "the import should give more than 14 events");

        // One byte of one stored payload.
        let dir = tampered(&t, |c| {
            let mut payload: Vec<u8> = c
                .query_row("SELECT payload FROM events WHERE position = 5", [], |r| {
                    r.get(0)
                })
                .unwrap();
            let middle = payload.len() / 2;
            payload[middle] ^= 0x20;
            c.execute(
                "UPDATE events SET payload = ?1 WHERE position = 5",
                params![payload],
            )
            .unwrap();
        });
        assert_bad(&verify(dir.path(), &[]), 5, "hash mismatch");

        // One event deleted.
        let dir = tampered(&t, |c| {
            c.execute("DELETE FROM events WHERE position = 10", [])
                .unwrap();
        });
        assert_bad(&verify(dir.path(), &[]), 10, "event missing");

        // Two events swapped.
        let dir = tampered(&t, |c| {
            c.execute_batch(
                "UPDATE events SET position = -1 WHERE position = 12;
                 UPDATE events SET position = 12 WHERE position = 13;
                 UPDATE events SET position = 13 WHERE position = -1;",
            )
            .unwrap();
        });
        assert_bad(&verify(dir.path(), &[]), 12, "");

        // The last events cut off, below the latest checkpoint.
        let keep = t.head - 4;
        let dir = tampered(&t, |c| {
            c.execute(
                "DELETE FROM events WHERE position > ?1",
                params![keep as i64],
            )
            .unwrap();
        });
        assert_bad(&verify(dir.path(), &[]), keep + 1, "log truncated");

        // A payload changed and every hash after it recomputed: the signed root of the
        // checkpoint covering it no longer matches.
        let dir = tampered(&t, |_| {});
        rewrite_with_recomputed_hashes(dir.path(), t.first + 7);
        assert_bad(
            &verify(dir.path(), &[]),
            t.first + 1,
            "do not match the signed root",
        );

        // Events past the last checkpoint removed from the end: the store's own record
        // of each stream's end (its `streams` table) still names them.
        let dir = tampered(&t, |_| {});
        append_notes(dir.path(), 3);
        let output = verify(dir.path(), &[]);
        assert_success(&output, "verify with events past the last checkpoint");
        assert!(stdout(&output).contains("not under a checkpoint yet"));
        let dir = tampered(&t, |_| {});
        append_notes(dir.path(), 3);
        Connection::open(dir.path().join("events.db"))
            .unwrap()
            .execute(
                "DELETE FROM events WHERE position > ?1",
                params![(t.head + 1) as i64],
            )
            .unwrap();
        assert_bad(&verify(dir.path(), &[]), t.head + 2, "log truncated");

        // A signature changed in a stored checkpoint.
        let dir = tampered(&t, |c| {
            let note: String = c
                .query_row(
                    "SELECT note FROM checkpoints WHERE tree_size = ?1",
                    params![t.head as i64],
                    |r| r.get(0),
                )
                .unwrap();
            let forged = note.replacen(
                &format!("\n{}\n", t.head),
                &format!("\n{}\n", t.head - 1),
                1,
            );
            c.execute(
                "UPDATE checkpoints SET note = ?1 WHERE tree_size = ?2",
                params![forged, t.head as i64],
            )
            .unwrap();
        });
        assert_bad(
            &verify(dir.path(), &[]),
            t.head,
            "signature does not verify",
        );

        // And the untouched template still verifies.
        assert_success(&verify(&t.data, &[]), "verify of the untouched log");
    }
}

// ---------------------------------------------------------------------------------------
// The proof endpoints of a running platform, checked the way an auditor checks them.

mod proofs {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use metroplan::Platform;
    use metroplan_api::Role;
    use metroplan_audit::{
        CheckpointPolicy, Keyring, TreeHash, verify_consistency, verify_inclusion,
    };
    use serde_json::Value;
    use tokio_util::sync::CancellationToken;

    use super::ORG;

    fn hashes(v: &Value) -> Vec<TreeHash> {
        v.as_array()
            .expect("a list of hashes")
            .iter()
            .map(|h| TreeHash::parse_hash(h.as_str().unwrap()).expect("base64 hash"))
            .collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn proofs_served_over_http_check_against_the_signed_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let policy = CheckpointPolicy {
            every_events: 10,
            max_delay: Duration::from_millis(300),
        };
        let platform = Arc::new(
            Platform::open_with_policy(
                dir.path(),
                &|_, _| {},
                metroplan_projector::LIVE_CAPACITY,
                policy,
            )
            .await
            .unwrap(),
        );
        let head = platform.load_demo(&|_, _| {}).await.unwrap().position;
        assert!(head > 20, "the demo plan gives {head} events");
        let auditor = platform
            .tokens
            .create(Role::Auditor, ORG, "an auditor")
            .unwrap()
            .secret;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/api/v1/audit", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let server = tokio::spawn({
            let (p, s) = (Arc::clone(&platform), stop.clone());
            async move { p.serve(listener, s).await }
        });
        let client = reqwest::Client::new();
        let get = |path: String, token: Option<&str>| {
            let mut request = client.get(format!("{base}{path}"));
            if let Some(t) = token {
                request = request.bearer_auth(t);
            }
            async move { request.send().await.expect("request") }
        };

        // The public key, for anyone; it is the one in DATA/keys.
        let response = get("/public-key".into(), None).await;
        assert_eq!(response.status(), 200);
        let keys: Value = response.json().await.unwrap();
        let served: Vec<String> = keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect();
        let on_disk = std::fs::read_to_string(dir.path().join("keys/checkpoint.pub")).unwrap();
        assert_eq!(served, vec![on_disk.trim().to_owned()]);
        let ring = Keyring::new(served).unwrap();

        // Checkpoints every 10 events, then one of the whole log after 300 ms.
        let deadline = Instant::now() + Duration::from_secs(20);
        let latest = loop {
            let response = get("/checkpoints/latest".into(), Some(&auditor)).await;
            if response.status() == 200 {
                let latest: Value = response.json().await.unwrap();
                if latest["tree_size"] == head {
                    break latest;
                }
            }
            assert!(Instant::now() < deadline, "no checkpoint of the whole log");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let latest = ring.open(latest["note"].as_str().unwrap()).unwrap();
        assert_eq!(latest.size, head);

        // Listed in pages, each signed by the served key.
        let mut listed = Vec::new();
        let mut after = 0;
        loop {
            let response = get(
                format!("/checkpoints?after={after}&limit=2"),
                Some(&auditor),
            )
            .await;
            assert_eq!(response.status(), 200);
            let page: Value = response.json().await.unwrap();
            for c in page["checkpoints"].as_array().unwrap() {
                let opened = ring.open(c["note"].as_str().unwrap()).unwrap();
                assert_eq!(c["root"], opened.root.to_string());
                listed.push(opened);
            }
            match page["next_after"].as_u64() {
                Some(next) => after = next,
                None => break,
            }
        }
        let sizes: Vec<u64> = listed.iter().map(|c| c.size).collect();
        assert_eq!(sizes[..2], [10, 20], "sizes: {sizes:?}");
        assert_eq!(*sizes.last().unwrap(), head);

        // The oldest checkpoint an auditor kept is extended by the latest.
        let kept = &listed[0];
        let response = get(
            format!("/proofs/consistency?from={}&to={head}", kept.size),
            Some(&auditor),
        )
        .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        let mut proof = hashes(&body["proof"]);
        verify_consistency(&proof, kept.size, kept.root, head, latest.root).unwrap();
        proof[0].0[0] ^= 1;
        assert!(verify_consistency(&proof, kept.size, kept.root, head, latest.root).is_err());

        // Each event is in the latest checkpoint, under its own chain hash.
        let events = platform.store.read_all(0, 1000).await.unwrap();
        for p in [1, 7, head] {
            let response = get(
                format!("/proofs/inclusion?position={p}&tree_size={head}"),
                Some(&auditor),
            )
            .await;
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            let event_hash = unhex(body["event_hash"].as_str().unwrap());
            let stored = &events[usize::try_from(p - 1).unwrap()].hash;
            assert_eq!(&event_hash, stored, "position {p}");
            let proof = hashes(&body["proof"]);
            verify_inclusion(&proof, p, stored, head, latest.root).unwrap();
            let other = &events[usize::try_from(p % head).unwrap()].hash;
            assert!(verify_inclusion(&proof, p, other, head, latest.root).is_err());
        }

        // Outside the tree, or without a token.
        let beyond = get(
            format!("/proofs/inclusion?position=1&tree_size={}", head + 100),
            Some(&auditor),
        )
        .await;
        assert_eq!(beyond.status(), 422);
        let anonymous = get(
            format!("/proofs/inclusion?position=1&tree_size={head}"),
            None,
        )
        .await;
        assert_eq!(anonymous.status(), 401);

        // A graceful stop signs the events not yet covered.
        let more = platform.load_demo(&|_, _| {}).await.unwrap();
        assert_eq!(more.position, head, "the demo is imported once");
        let event = metroplan_events::NewEvent {
            event_id: uuid::Uuid::now_v7(),
            event_type: "AuditTestNoted".into(),
            schema_version: 1,
            payload: b"after the last checkpoint".to_vec(),
            metadata: metroplan_events::EventMetadata {
                actor: "tester".into(),
                on_behalf_of: ORG.into(),
                reason: None,
                correlation_id: None,
                causation_id: None,
            },
        };
        platform
            .store
            .append(
                "audit-test:late",
                metroplan_eventstore::ExpectedVersion::Any,
                vec![event],
            )
            .await
            .unwrap();
        stop.cancel();
        server.await.unwrap().unwrap();
        let last = platform
            .audit
            .checkpoints()
            .latest()
            .await
            .unwrap()
            .unwrap();
        assert_eq!(last.tree_size, head + 1);
    }
}

// ---------------------------------------------------------------------------------------
// `checkpoint` and `verify` on the JetStream backend.

mod on_nats {
    use std::process::Output;

    use super::{PLAN_FILE, assert_success, metroplan, stderr, stdout};

    fn nats(args: &[&str], url: &str) -> Output {
        metroplan()
            .env_remove("METROPLAN_NATS_URL")
            .env_remove("METROPLAN_CHECKPOINT_KEY")
            .args(args)
            .args(["--nats", url])
            .output()
            .expect("running metroplan")
    }

    #[tokio::test]
    async fn checkpoint_and_verify_read_the_events_and_checkpoint_streams() {
        let server = metroplan_nats_testkit::NatsServer::start()
            .await
            .expect("start nats-server");
        let url = server.client_url();
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("checkpoint.key");
        let key = key.to_str().unwrap();
        let public = dir.path().join("checkpoint.pub");
        let public = public.to_str().unwrap();

        let imported = nats(&["import", PLAN_FILE], &url);
        assert_success(&imported, "import --nats");
        let generated = metroplan()
            .args([
                "key",
                "generate",
                "--out",
                key,
                "--origin",
                "torino.example/events",
            ])
            .output()
            .unwrap();
        assert_success(&generated, "key generate");
        assert_eq!(
            stdout(&generated).trim(),
            std::fs::read_to_string(public).unwrap().trim()
        );

        let signed = nats(&["checkpoint", "--key", key], &url);
        assert_success(&signed, "checkpoint --nats");
        let note = stdout(&signed);
        assert!(note.starts_with("torino.example/events\n"), "{note}");
        let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
        assert!(size >= 27, "{note}");

        let verified = nats(&["verify", "--public-key", public], &url);
        assert_success(&verified, "verify --nats");
        assert!(
            stdout(&verified).contains(&format!("log intact: {size} events")),
            "{}",
            stdout(&verified)
        );

        // Another key does not verify the checkpoint; no key at all is an error.
        let other = dir.path().join("other.key");
        let other_generated = metroplan()
            .args(["key", "generate", "--out", other.to_str().unwrap()])
            .output()
            .unwrap();
        assert_success(&other_generated, "key generate");
        let other_key = stdout(&other_generated).trim().to_owned();
        let refused = nats(&["verify", "--public-key", &other_key], &url);
        assert!(!refused.status.success());
        assert!(
            stderr(&refused).contains(&format!("first bad position: {size} (")),
            "{}",
            stderr(&refused)
        );
        let keyless = nats(&["verify"], &url);
        assert!(!keyless.status.success());
        assert!(
            stderr(&keyless).contains("--public-key"),
            "{}",
            stderr(&keyless)
        );
    }

    /// `serve --nats` with a key signs checkpoints into the JetStream stream and its
    /// gateway serves them with proofs that check against the signed roots.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serve_on_nats_signs_checkpoints_and_serves_their_proofs() {
        use std::process::Stdio;
        use std::time::{Duration, Instant};

        use metroplan_audit::{Keyring, TreeHash, verify_inclusion};
        use serde_json::Value;

        let server = metroplan_nats_testkit::NatsServer::start()
            .await
            .expect("start nats-server");
        let url = server.client_url();
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("checkpoint.key");
        let generated = metroplan()
            .args(["key", "generate", "--out", key.to_str().unwrap()])
            .output()
            .unwrap();
        assert_success(&generated, "key generate");
        let vkey = stdout(&generated).trim().to_owned();

        let child = metroplan()
            .env_remove("METROPLAN_NATS_URL")
            .env_remove("METROPLAN_CHECKPOINT_KEY")
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--nats", &url])
            .args(["--checkpoint-every", "5", "--checkpoint-after-secs", "1"])
            .arg("--checkpoint-key")
            .arg(&key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning metroplan serve --nats");
        let mut serving = super::Server { child };
        let (root, admin) = super::url_and_admin_token(&mut serving.child);
        let base = format!("{root}/api/v1/audit");
        let client = reqwest::Client::new();
        let ready: Value = client
            .get(format!("{root}/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let head = ready["head"].as_u64().unwrap();
        assert!(head >= 27, "{ready}");

        let keys: Value = client
            .get(format!("{base}/public-key"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(keys["keys"][0], vkey.as_str(), "{keys}");
        let ring = Keyring::parse(&vkey).unwrap();

        // The demo's events are all signed within a second or so.
        let deadline = Instant::now() + Duration::from_secs(30);
        let latest = loop {
            let response = client
                .get(format!("{base}/checkpoints/latest"))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            if response.status() == 200 {
                let body: Value = response.json().await.unwrap();
                let opened = ring.open(body["note"].as_str().unwrap()).unwrap();
                if opened.size == head {
                    break opened;
                }
            }
            assert!(Instant::now() < deadline, "no checkpoint of the demo log");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let n = latest.size;
        let body: Value = client
            .get(format!("{base}/proofs/inclusion?position=3&tree_size={n}"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let proof: Vec<TreeHash> = body["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| TreeHash::parse_hash(h.as_str().unwrap()).unwrap())
            .collect();
        let event_hash = body["event_hash"].as_str().unwrap();
        let leaf: Vec<u8> = (0..event_hash.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&event_hash[i..i + 2], 16).unwrap())
            .collect();
        verify_inclusion(&proof, 3, &leaf, n, latest.root).unwrap();

        // The same log verifies from the command line.
        let verified = nats(&["verify", "--public-key", &vkey], &url);
        assert_success(&verified, "verify --nats of the served log");
    }
}
