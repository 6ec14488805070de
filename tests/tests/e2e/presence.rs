//! Presence and the web front end's serving, end to end: two people on one action see
//! each other view, edit a field and leave; bad presence messages change nothing; the
//! page and its assets are served with their types and headers (on both deployments).
//! On the distributed one a user on one gateway sees a user on another, and the users
//! of a crashed gateway vanish. A token link's token appears in no log line of the
//! real binaries, run with every log level on.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{ORG, PLAN, Server, bin, ws_to};
use crate::suite::{next_json, subscribe};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn topic() -> String {
    format!("action:{PLAN}/2.1.1")
}

/// The session id of the `hello` a new session starts with.
async fn hello(ws: &mut Ws) -> String {
    let v = next_json(ws).await;
    assert_eq!(v["type"], "hello", "{v}");
    let id = v["session"].as_str().unwrap().to_owned();
    assert!(!id.is_empty());
    id
}

async fn say(ws: &mut Ws, message: Value) {
    ws.send(Message::text(message.to_string())).await.unwrap();
}

async fn present(ws: &mut Ws, topic: &str, state: &str, field: Option<&str>) {
    let mut m = json!({"type": "presence", "topic": topic, "state": state});
    if let Some(f) = field {
        m["field"] = json!(f);
    }
    say(ws, m).await;
}

/// The next presence list of `topic` that satisfies `want`, skipping other frames and
/// earlier lists; fails after `within`.
async fn presence_until(
    ws: &mut Ws,
    topic: &str,
    within: Duration,
    want: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + within;
    let mut last = Value::Null;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = tokio::time::timeout(left, ws.next())
            .await
            .unwrap_or_else(|_| {
                panic!("no presence list as expected on {topic} within {within:?}; last: {last}")
            })
            .expect("socket open")
            .unwrap();
        let Message::Text(t) = m else { continue };
        let v: Value = serde_json::from_str(&t).unwrap();
        if v["type"] == "presence" && v["topic"] == topic {
            let list = v["present"].as_array().unwrap().clone();
            if want(&list) {
                return list;
            }
            last = v;
        }
    }
}

/// The very next presence frame (any other kind of frame is a failure).
async fn next_presence(ws: &mut Ws, topic: &str) -> Vec<Value> {
    let v = next_json(ws).await;
    assert_eq!(v["type"], "presence", "{v}");
    assert_eq!(v["topic"], topic, "{v}");
    v["present"].as_array().unwrap().clone()
}

fn entry<'a>(list: &'a [Value], session: &str) -> Option<&'a Value> {
    list.iter().find(|e| e["session"] == session)
}

fn has(list: &[Value], session: &str, state: &str, field: Option<&str>) -> bool {
    entry(list, session).is_some_and(|e| e["state"] == state && e["field"] == json!(field))
}

pub async fn two_people_on_one_action_see_each_other_view_edit_and_leave(s: Server) {
    let topic = topic();
    let mut anna = ws_to(s.addr, &s.editor).await;
    let anna_id = hello(&mut anna).await;
    let mut bruno = ws_to(s.addr, &s.editor2).await;
    let bruno_id = hello(&mut bruno).await;
    assert_ne!(anna_id, bruno_id);

    subscribe(&mut anna, &[&topic], None).await;
    present(&mut anna, &topic, "viewing", None).await;
    let list = next_presence(&mut anna, &topic).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        list[0],
        json!({"session": anna_id, "actor": "anna", "organisation": ORG, "state": "viewing", "field": null})
    );

    // Bruno subscribes: who is there comes right after the acknowledgement.
    subscribe(&mut bruno, &[&topic], None).await;
    let list = next_presence(&mut bruno, &topic).await;
    assert!(has(&list, &anna_id, "viewing", None), "{list:?}");
    present(&mut bruno, &topic, "viewing", None).await;
    for ws in [&mut anna, &mut bruno] {
        let list = presence_until(ws, &topic, Duration::from_secs(5), |l| l.len() == 2).await;
        assert!(has(&list, &anna_id, "viewing", None), "{list:?}");
        assert!(has(&list, &bruno_id, "viewing", None), "{list:?}");
        let b = entry(&list, &bruno_id).unwrap();
        assert_eq!(b["actor"], "bruno", "the actor comes from the token");
        assert_eq!(b["organisation"], ORG);
    }

    present(&mut bruno, &topic, "editing", Some("title")).await;
    let list = presence_until(&mut anna, &topic, Duration::from_secs(5), |l| {
        has(l, &bruno_id, "editing", Some("title"))
    })
    .await;
    assert!(has(&list, &anna_id, "viewing", None), "{list:?}");

    // Bruno's socket closes: he is gone for Anna.
    bruno.close(None).await.unwrap();
    drop(bruno);
    let list = presence_until(&mut anna, &topic, Duration::from_secs(5), |l| {
        entry(l, &bruno_id).is_none()
    })
    .await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert!(has(&list, &anna_id, "viewing", None));

    // Anna leaves: the list is empty, and a newcomer is told nothing.
    present(&mut anna, &topic, "left", None).await;
    assert_eq!(next_presence(&mut anna, &topic).await, Vec::<Value>::new());
    let mut carla = ws_to(s.addr, &s.reporter).await;
    hello(&mut carla).await;
    subscribe(&mut carla, &[&topic], None).await;
    present(&mut carla, &topic, "viewing", None).await;
    let list = next_presence(&mut carla, &topic).await;
    assert_eq!(list.len(), 1, "only the newcomer: {list:?}");
    assert_eq!(list[0]["actor"], "carla");
}

pub async fn bad_presence_messages_get_an_error_and_change_nothing(s: Server) {
    let topic = topic();
    let mut anna = ws_to(s.addr, &s.editor).await;
    let anna_id = hello(&mut anna).await;
    present(&mut anna, &topic, "viewing", None).await;
    assert!(has(
        &next_presence(&mut anna, &topic).await,
        &anna_id,
        "viewing",
        None
    ));
    let mut watcher = ws_to(s.addr, &s.viewer).await;
    hello(&mut watcher).await;
    subscribe(&mut watcher, &[&topic], None).await;
    assert_eq!(next_presence(&mut watcher, &topic).await.len(), 1);

    for (bad, field) in [
        (
            json!({"type": "presence", "topic": "nonsense", "state": "viewing"}),
            Some("topic"),
        ),
        (
            json!({"type": "presence", "topic": format!("action:{PLAN}"), "state": "viewing"}),
            Some("topic"),
        ),
        (
            json!({"type": "presence", "topic": topic, "state": "editing"}),
            Some("field"),
        ),
        (
            json!({"type": "presence", "topic": topic, "state": "editing", "field": "a title"}),
            Some("field"),
        ),
        (
            json!({"type": "presence", "topic": topic, "state": "viewing", "field": "title"}),
            Some("field"),
        ),
        (
            json!({"type": "presence", "topic": topic, "state": "dancing"}),
            None,
        ),
        (
            json!({"type": "presence", "topic": topic, "state": "viewing", "actor": "mallory"}),
            None,
        ),
        (json!({"type": "presence", "state": "viewing"}), None),
    ] {
        say(&mut anna, bad.clone()).await;
        let e = next_json(&mut anna).await;
        assert_eq!(e["type"], "error", "{bad} -> {e}");
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
        match field {
            Some(f) => assert_eq!(e["field"], f, "{bad} -> {e}"),
            None => assert!(
                e["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("unreadable message"),
                "{bad} -> {e}"
            ),
        }
    }
    // Nothing changed: the watcher's next list is the one after a good message.
    present(&mut anna, &topic, "editing", Some("title")).await;
    let list = next_presence(&mut watcher, &topic).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        list[0],
        json!({"session": anna_id, "actor": "anna", "organisation": ORG, "state": "editing", "field": "title"})
    );
}

fn expected_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, e)| e) {
        Some("js" | "mjs") => "text/javascript",
        Some("css") => "text/css",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("webmanifest") => "application/manifest+json",
        Some("html") => "text/html",
        other => panic!("no expected content type for {other:?} ({path})"),
    }
}

/// Every `/assets/...` path the page names in `src=` or `href=`.
fn assets_named_in(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            if let Some(path) = part.split('"').next()
                && path.starts_with("/assets/")
            {
                found.push(path.to_owned());
            }
        }
    }
    found
}

pub async fn the_page_and_its_assets_are_served_with_their_types(s: Server) {
    let r = s
        .http
        .get(format!("{}/?access_token={}", s.base, s.viewer))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    let header = |n: &str| {
        h.get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert!(header("content-type").starts_with("text/html"));
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("x-content-type-options"), "nosniff");
    let csp = header("content-security-policy");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(
        csp.contains(&format!("ws://{}", s.addr)),
        "the page may open its websocket: {csp}"
    );
    let html = r.text().await.unwrap();
    assert!(!html.contains(&s.viewer), "the token is not in the page");
    let assets = assets_named_in(&html);
    assert!(
        assets.iter().any(|a| a.ends_with(".js")),
        "the page loads a script: {assets:?}"
    );
    for path in &assets {
        let r = s
            .http
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with(expected_type(path)), "{path}: {ct}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let etag = r.headers()["etag"].to_str().unwrap().to_owned();
        let again = s
            .http
            .get(format!("{}{path}", s.base))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    let r = s
        .http
        .get(format!("{}/assets/no/such/file.js", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["status"], 404, "{problem}");
    // The page is not part of the API's description.
    let doc: Value = s
        .http
        .get(format!("{}/openapi.json", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"].get("/").is_none());
}

fn free_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A binary run with every log line it writes kept in a file; killed when dropped.
struct Logged {
    child: Child,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Logged {
    fn spawn(name: &str, args: &[String], env: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join(format!("{name}.log"));
        let child = Command::new(bin(name))
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            // Every level of every crate: nothing may log a token.
            .env("RUST_LOG", "trace")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self {
            child,
            log,
            _dir: dir,
        }
    }

    fn stop(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_ready(addr: std::net::SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reqwest::get(format!("http://{addr}/readyz"))
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "{addr} did not get ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens a token link, the websocket and an API read with the token in the query, as a
/// browser does, plus a request with a token that is wrong; then reads the log.
async fn use_a_token_link(addr: std::net::SocketAddr, token: &str, server: &mut Logged) {
    let wrong = "wrong0token0that0must0not0be0logged";
    let base = format!("http://{addr}");
    let r = reqwest::get(format!("{base}/?access_token={token}"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!r.text().await.unwrap().contains(token));
    // API reads take the token from the header: in their query it is an unknown
    // parameter, refused with a problem that names it without echoing it.
    let r = reqwest::get(format!("{base}/api/v1/plans?access_token={token}"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(!r.text().await.unwrap().contains(token));
    let r = reqwest::get(format!("{base}/api/v1/plans?access_token={wrong}"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = reqwest::get(format!("{base}/nowhere?access_token={token}"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/live?access_token={token}"))
            .await
            .unwrap();
    let id = hello(&mut ws).await;
    present(&mut ws, &topic(), "viewing", None).await;
    assert!(has(
        &next_presence(&mut ws, &topic()).await,
        &id,
        "viewing",
        None
    ));
    ws.close(None).await.unwrap();
    assert!(
        tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/live?access_token={wrong}"))
            .await
            .is_err()
    );
    // Let the server write what it logs about the closed session.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = server.stop();
    assert!(
        log.contains("live session opened"),
        "the log was captured at every level: {}",
        &log[..log.len().min(2000)]
    );
    for (n, line) in log.lines().enumerate() {
        assert!(
            !line.contains(token) && !line.contains(wrong),
            "log line {n} holds a token: {line}"
        );
    }
}

/// Embedded: `metroplan serve` as its own process.
#[tokio::test]
async fn a_token_link_is_served_and_its_token_is_logged_nowhere_embedded() {
    let data = tempfile::tempdir().unwrap();
    let data_arg = data.path().display().to_string();
    let out = Command::new(bin("metroplan"))
        .args([
            "import",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../data/psm-torino-2021-2023.json"
            ),
            "--data",
            &data_arg,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(bin("metroplan"))
        .args([
            "token", "create", "--role", "viewer", "--org", ORG, "--actor", "daria", "--data",
            &data_arg,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned();
    let addr = free_addr();
    let mut server = Logged::spawn(
        "metroplan",
        &[
            "serve".into(),
            "--data".into(),
            data_arg.clone(),
            "--listen".into(),
            addr.to_string(),
        ],
        &[],
    );
    wait_ready(addr).await;
    use_a_token_link(addr, &token, &mut server).await;
}

/// Distributed: a third gateway process on the deployment's cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_link_is_served_and_its_token_is_logged_nowhere_on_nats() {
    let _one = crate::one_at_a_time().await;
    let s = Server::distributed().await;
    let urls = s.deployment.as_ref().unwrap().cluster.client_urls();
    let addr = free_addr();
    let mut gateway = Logged::spawn(
        "metroplan-gateway",
        &["--listen".into(), addr.to_string()],
        &[
            ("METROPLAN_NATS_URL", urls),
            ("METROPLAN_REPLICAS", "3".into()),
        ],
    );
    wait_ready(addr).await;
    use_a_token_link(addr, &s.viewer, &mut gateway).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_on_one_gateway_sees_a_user_on_another_and_a_crashed_gateways_users_vanish() {
    let _one = crate::one_at_a_time().await;
    let mut s = Server::distributed().await;
    let gateways = s.deployment.as_ref().unwrap().gateways.clone();
    let topic = topic();
    let mut anna = ws_to(gateways[0], &s.editor).await;
    let anna_id = hello(&mut anna).await;
    subscribe(&mut anna, &[&topic], None).await;
    present(&mut anna, &topic, "viewing", None).await;
    let mut bruno = ws_to(gateways[1], &s.editor2).await;
    let bruno_id = hello(&mut bruno).await;
    subscribe(&mut bruno, &[&topic], None).await;
    present(&mut bruno, &topic, "viewing", None).await;
    let wait = Duration::from_secs(10);
    let list = presence_until(&mut anna, &topic, wait, |l| {
        has(l, &bruno_id, "viewing", None)
    })
    .await;
    assert_eq!(entry(&list, &bruno_id).unwrap()["actor"], "bruno");
    let list = presence_until(&mut bruno, &topic, wait, |l| {
        has(l, &anna_id, "viewing", None)
    })
    .await;
    assert_eq!(entry(&list, &anna_id).unwrap()["actor"], "anna");

    present(&mut bruno, &topic, "editing", Some("title")).await;
    presence_until(&mut anna, &topic, wait, |l| {
        has(l, &bruno_id, "editing", Some("title"))
    })
    .await;
    bruno.close(None).await.unwrap();
    drop(bruno);
    presence_until(&mut anna, &topic, wait, |l| entry(l, &bruno_id).is_none()).await;

    // Bruno again on gateway 2, which then crashes: it cannot say he left, yet he vanishes.
    let mut again = ws_to(gateways[1], &s.editor2).await;
    let again_id = hello(&mut again).await;
    present(&mut again, &topic, "viewing", None).await;
    presence_until(&mut anna, &topic, wait, |l| {
        has(l, &again_id, "viewing", None)
    })
    .await;
    let crashed = Instant::now();
    s.deployment
        .as_mut()
        .unwrap()
        .processes
        .iter_mut()
        .filter(|p| p.name == "metroplan-gateway")
        .nth(1)
        .unwrap()
        .kill();
    let list = presence_until(&mut anna, &topic, Duration::from_secs(20), |l| {
        entry(l, &again_id).is_none()
    })
    .await;
    assert!(has(&list, &anna_id, "viewing", None), "{list:?}");
    assert!(
        crashed.elapsed() >= Duration::from_secs(5),
        "gone by expiry, not by a message: {:?}",
        crashed.elapsed()
    );
}
