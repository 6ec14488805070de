//! The platform under test, in either deployment, behind one [`Server`]:
//!
//! - [`Server::embedded`]: the `metroplan` library in this process (SQLite log,
//!   in-process bus), on a free port;
//! - [`Server::distributed`]: a real 3-node NATS JetStream cluster on loopback and every
//!   service as its own OS process (`metroplan-plan`, `-monitoring`, `-partnership`,
//!   `-projector`, two `metroplan-gateway`s), the demo plan imported with
//!   `metroplan import --nats`: the topology of `compose.yaml`.
//!
//! Tests talk HTTP and websocket to `base`; they read the log and make tokens through
//! the same contracts the services use.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use metroplan_api::Role;
use metroplan_auth::Tokens;
use metroplan_eventstore::EventStore;
use reqwest::StatusCode;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub const PLAN: &str = "PSM-2021-2023";
pub const ORG: &str = "Città metropolitana di Torino";

pub struct Server {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub http: reqwest::Client,
    pub admin: String,
    pub editor: String,
    pub editor2: String,
    pub reporter: String,
    pub viewer: String,
    pub store: Arc<dyn EventStore>,
    pub tokens: Arc<dyn Tokens>,
    /// The distributed deployment's processes (None when embedded).
    pub deployment: Option<Deployment>,
    /// What tells the `metroplan` tools where the log is: `--data DIR` or `--nats URLS`.
    pub log_args: Vec<String>,
    _keep: Box<dyn std::any::Any + Send>,
}

struct Embedded {
    shutdown: CancellationToken,
    _platform: Arc<metroplan::Platform>,
    _dir: tempfile::TempDir,
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A directory of the workspace's built binaries (`target/debug`), found from this
/// test binary's own path (`target/debug/deps/e2e-…`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace` (tests/run does)",
        path.display()
    );
    path
}

async fn issue(tokens: &dyn Tokens, role: Role, actor: &str) -> String {
    tokens.issue(role, ORG, actor).await.unwrap().secret
}

impl Server {
    pub async fn embedded() -> Self {
        Self::embedded_with(metroplan_projector::LIVE_CAPACITY).await
    }

    pub async fn embedded_with(live_capacity: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let platform = Arc::new(
            metroplan::Platform::open_with(dir.path(), &|_, _| {}, live_capacity)
                .await
                .unwrap(),
        );
        let summary = platform.load_demo(&|_, _| {}).await.unwrap();
        assert!(
            platform
                .projector
                .wait_for(summary.position, Duration::from_secs(10))
                .await
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let (p, x) = (Arc::clone(&platform), shutdown.clone());
        tokio::spawn(async move { p.serve(listener, x).await });
        let tokens: Arc<dyn Tokens> = Arc::clone(&platform.tokens) as Arc<dyn Tokens>;
        let store = Arc::clone(&platform.store);
        let log_args = vec!["--data".to_owned(), dir.path().display().to_string()];
        let mut server = Self::with(
            addr,
            store,
            tokens,
            None,
            Box::new(Embedded {
                shutdown,
                _platform: platform,
                _dir: dir,
            }),
        )
        .await;
        server.log_args = log_args;
        server
    }

    pub async fn distributed() -> Self {
        let deployment = Deployment::start().await;
        let addr = deployment.gateways[0];
        let client = async_nats::connect(deployment.cluster.client_url_list())
            .await
            .unwrap();
        let tokens: Arc<dyn Tokens> = Arc::new(
            metroplan_auth::KvTokens::open(client.clone(), 3)
                .await
                .unwrap(),
        );
        let store: Arc<dyn EventStore> = Arc::new(
            metroplan_eventstore_nats::JetStreamStore::with_client(client, 3)
                .await
                .unwrap(),
        );
        let mut server = Self::with(addr, store, tokens, Some(deployment), Box::new(())).await;
        server.log_args = vec![
            "--nats".to_owned(),
            server.deployment.as_ref().unwrap().cluster.client_urls(),
            "--replicas".to_owned(),
            "3".to_owned(),
        ];
        // The viewer's token comes from the command line, as an operator would make it.
        let out = Command::new(bin("metroplan"))
            .args([
                "token",
                "create",
                "--role",
                "viewer",
                "--org",
                ORG,
                "--actor",
                "public",
                "--replicas",
                "3",
            ])
            .env(
                "METROPLAN_NATS_URL",
                server.deployment.as_ref().unwrap().cluster.client_urls(),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "token create --nats: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        server.viewer = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .trim()
            .to_owned();
        server
    }

    async fn with(
        addr: std::net::SocketAddr,
        store: Arc<dyn EventStore>,
        tokens: Arc<dyn Tokens>,
        deployment: Option<Deployment>,
        keep: Box<dyn std::any::Any + Send>,
    ) -> Self {
        let (admin, editor, editor2, reporter, viewer) = (
            issue(tokens.as_ref(), Role::Admin, "admin").await,
            issue(tokens.as_ref(), Role::Editor, "anna").await,
            issue(tokens.as_ref(), Role::Editor, "bruno").await,
            issue(tokens.as_ref(), Role::Reporter, "carla").await,
            issue(tokens.as_ref(), Role::Viewer, "public").await,
        );
        Self {
            base: format!("http://{addr}"),
            addr,
            http: reqwest::Client::new(),
            admin,
            editor,
            editor2,
            reporter,
            viewer,
            store,
            tokens,
            deployment,
            log_args: Vec::new(),
            _keep: keep,
        }
    }

    pub async fn get(
        &self,
        token: &str,
        path: &str,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        get(&self.http, &self.base, token, path).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn patch(
        &self,
        token: &str,
        path: &str,
        etag: Option<&str>,
        body: Value,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .http
            .patch(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body);
        if let Some(e) = etag {
            req = req.header("if-match", e);
        }
        let r = req.send().await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        (status, headers, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn auditor(&self) -> String {
        self.tokens
            .issue(Role::Auditor, "Collegio dei revisori", "auditor")
            .await
            .unwrap()
            .secret
    }

    pub async fn head(&self) -> u64 {
        self.store.head_position().await.unwrap()
    }

    pub async fn ws(
        &self,
        token: &str,
    ) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>
    {
        ws_to(self.addr, token).await
    }
}

pub async fn get(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let r = http
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

pub async fn ws_to(
    addr: std::net::SocketAddr,
    token: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{addr}/api/v1/live")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// One OS process of the deployment, killed (SIGKILL) when dropped.
pub struct Process {
    pub name: &'static str,
    child: Option<Child>,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Process {
    fn spawn(name: &'static str, args: &[String], env: &[(String, String)]) -> Self {
        let mut p = Self {
            name,
            child: None,
            args: args.to_vec(),
            env: env.to_vec(),
        };
        p.start();
        p
    }

    /// Starts (again) with the same arguments.
    pub fn start(&mut self) {
        let child = Command::new(bin(self.name))
            .args(&self.args)
            .envs(self.env.iter().cloned())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.name));
        self.child = Some(child);
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The distributed deployment as processes: the topology of `compose.yaml`.
pub struct Deployment {
    pub cluster: metroplan_nats_testkit::NatsCluster,
    pub processes: Vec<Process>,
    pub gateways: Vec<std::net::SocketAddr>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Deployment {
    pub async fn start() -> Self {
        let cluster = metroplan_nats_testkit::NatsCluster::start(3).await.unwrap();
        let env = vec![
            ("METROPLAN_NATS_URL".to_owned(), cluster.client_urls()),
            ("METROPLAN_REPLICAS".to_owned(), "3".to_owned()),
        ];
        // The log first, with the demo plan: the CLI creates the R3 stream.
        let demo = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../data/psm-torino-2021-2023.json"
        );
        let out = Command::new(bin("metroplan"))
            .args(["import", demo])
            .envs(env.iter().cloned())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
        let position = summary["position"].as_u64().unwrap();
        let mut processes = Vec::new();
        for name in [
            "metroplan-plan",
            "metroplan-monitoring",
            "metroplan-partnership",
            "metroplan-projector",
        ] {
            processes.push(Process::spawn(name, &[], &env));
        }
        let mut gateways = Vec::new();
        for _ in 0..2 {
            let port = free_port();
            let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            processes.push(Process::spawn(
                "metroplan-gateway",
                &["--listen".into(), addr.to_string()],
                &env,
            ));
            gateways.push(addr);
        }
        let deployment = Self {
            cluster,
            processes,
            gateways,
        };
        deployment.wait_until_serving(position).await;
        deployment
    }

    /// Waits until every gateway answers and reads include `position`.
    pub async fn wait_until_serving(&self, position: u64) {
        let http = reqwest::Client::new();
        for addr in &self.gateways {
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            loop {
                let ok = http
                    .get(format!("http://{addr}/readyz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "gateway {addr} did not get ready"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let _ = position;
    }

    pub fn process(&mut self, name: &str) -> &mut Process {
        self.processes
            .iter_mut()
            .find(|p| p.name == name)
            .expect("a process of that name")
    }
}
