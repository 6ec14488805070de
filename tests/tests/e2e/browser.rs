//! The web front end in a real headless Chromium: Debian's `chromium` driven over
//! WebDriver (fantoccini) through a `chromedriver` each test starts on a free port,
//! against the embedded platform on its own free port. `tests/install-chromium`
//! installs both when missing (`tests/run` calls it).
//!
//! Each test leaves screenshots of the views it opened in
//! `$METROPLAN_TEST_OUTPUT/screenshots/` (`tests/run` sets it to `test-output/`; else
//! `target/test-output/`), and prints their paths.
//!
//! Tests wait by polling the DOM, never by sleeping a fixed time; the one timed check
//! (a change sent through the API shows on an open meeting dashboard within one
//! second) is a behaviour check, not a benchmark. Browser tests hold the suite's
//! one-at-a-time lock so that no 3-node cluster competes with Chromium for the cores.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::harness::{PLAN, Server};

/// A chromedriver on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Self {
        let path = std::env::var("METROPLAN_CHROMEDRIVER")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/usr/bin/chromedriver".to_owned());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&path)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting {path}: {e} (tests/install-chromium installs it)")
            });
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let http = reqwest::Client::new();
        loop {
            let ready = http
                .get(format!("{url}/status"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, url }
    }

    /// A new browser: its own profile, so its own session storage and token.
    async fn browser(&self, width: u32, height: u32) -> Client {
        let mut options = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--disable-gpu",
                "--lang=it-IT",
                format!("--window-size={width},{height}"),
            ],
        });
        if std::path::Path::new("/usr/bin/chromium").exists() {
            options["binary"] = json!("/usr/bin/chromium");
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".to_owned(), options);
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where screenshots go: what CI keeps.
fn screenshot_dir() -> PathBuf {
    let base = std::env::var("METROPLAN_TEST_OUTPUT")
        .ok()
        .filter(|p| !p.is_empty())
        .map_or_else(
            || {
                PathBuf::from(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../target/test-output"
                ))
            },
            PathBuf::from,
        );
    let dir = base.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(client: &Client, view: &str) {
    let png = client.screenshot().await.unwrap();
    let path = screenshot_dir().join(format!("{view}.png"));
    std::fs::write(&path, png).unwrap();
    println!("screenshot: {}", path.display());
}

/// The text of the first element matching `css`, or None.
async fn text(client: &Client, css: &str) -> Option<String> {
    let v = client
        .execute(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
            vec![json!(css)],
        )
        .await
        .unwrap();
    v.as_str().map(str::to_owned)
}

/// How many elements match `css`.
async fn count(client: &Client, css: &str) -> usize {
    let v = client
        .execute(
            "return document.querySelectorAll(arguments[0]).length;",
            vec![json!(css)],
        )
        .await
        .unwrap();
    usize::try_from(v.as_u64().unwrap()).unwrap()
}

/// The value of the form control matching `css`.
async fn value(client: &Client, css: &str) -> String {
    client
        .execute(
            "return document.querySelector(arguments[0]).value;",
            vec![json!(css)],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// Polls `probe` until it answers true; panics with `what` after `within`.
async fn until<F, Fut>(within: Duration, what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if probe().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Form controls, buttons and links without an accessible name (a label, an
/// `aria-label` or text), among those shown.
async fn unnamed_controls(client: &Client) -> Vec<String> {
    let v = client
        .execute(
            r"const bad = [];
            for (const el of document.querySelectorAll('input, select, textarea, button, a[href]')) {
              if (el.closest('[hidden]') || el.getClientRects().length === 0) continue;
              const labelled = el.getAttribute('aria-labelledby');
              const name = (el.labels && [...el.labels].map((l) => l.textContent).join(' ').trim())
                || (el.getAttribute('aria-label') || '').trim()
                || (labelled ? labelled.split(' ').map((id) => (document.getElementById(id) || {}).textContent || '').join(' ').trim() : '')
                || ((el.tagName === 'BUTTON' || el.tagName === 'A') ? el.textContent.trim() : '');
              if (!name) bad.push(el.outerHTML.slice(0, 120));
            }
            return bad;",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

/// Text shown with less contrast against its background than WCAG 2.1 AA asks (4.5:1,
/// 3:1 for large text), as `element "text" ratio`.
async fn low_contrast(client: &Client) -> Vec<String> {
    let v = client
        .execute(
            r"const rgb = (s) => { const m = s.match(/[\d.]+/g); return m ? m.map(Number) : [0, 0, 0]; };
            const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
            const lum = (c) => 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
            const background = (el) => {
              for (let e = el; e; e = e.parentElement) {
                const c = rgb(getComputedStyle(e).backgroundColor);
                if (c.length < 4 || c[3] > 0.5) return c;
              }
              return [255, 255, 255];
            };
            const bad = [];
            const seen = new Set();
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            while (walker.nextNode()) {
              const node = walker.currentNode;
              const el = node.parentElement;
              if (!node.textContent.trim() || seen.has(el)) continue;
              seen.add(el);
              if (el.closest('svg, .visually-hidden, [hidden], noscript, script, option')) continue;
              if (el.getClientRects().length === 0) continue;
              const cs = getComputedStyle(el);
              const a = lum(rgb(cs.color));
              const b = lum(background(el));
              const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
              const size = parseFloat(cs.fontSize);
              const large = size >= 24 || (Number(cs.fontWeight) >= 700 && size >= 18.66);
              if (ratio < (large ? 3 : 4.5)) bad.push(`${el.tagName}.${el.className} ${JSON.stringify(node.textContent.trim().slice(0, 30))} ${ratio.toFixed(2)}`);
            }
            return bad;",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

/// Every control named, every text readable: the checks a view must pass.
async fn accessible(client: &Client, view: &str) {
    let unnamed = unnamed_controls(client).await;
    assert!(
        unnamed.is_empty(),
        "{view}: controls without a name: {unnamed:#?}"
    );
    let low = low_contrast(client).await;
    assert!(low.is_empty(), "{view}: text below AA contrast: {low:#?}");
}

const WAIT: Duration = Duration::from_secs(10);

async fn until_text(client: &Client, css: &str, wanted: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let seen = text(client, css).await;
        if seen.as_deref().is_some_and(|t| t.contains(wanted)) {
            return;
        }
        if Instant::now() >= deadline {
            let url = client.current_url().await.map(|u| u.to_string());
            panic!(
                "timed out waiting for {css} to contain {wanted:?}: it holds {seen:?} at {url:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn until_count(client: &Client, css: &str, n: usize) {
    until(WAIT, &format!("{n} of {css}"), || async {
        count(client, css).await == n
    })
    .await;
}

async fn replace_text(client: &Client, css: &str, new: &str) {
    let field = client.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(new).await.unwrap();
}

/// Waits until the action page's last save ended with `outcome` (`saved`, `merged`,
/// `conflict` or `error`).
async fn until_saved(client: &Client, outcome: &str) {
    until(WAIT, &format!("a save ending {outcome}"), || async {
        client
            .execute(
                "return document.querySelector('#save-status').dataset.outcome || null;",
                vec![],
            )
            .await
            .unwrap()
            == json!(outcome)
    })
    .await;
}

fn token_link(s: &Server, token: &str, route: &str) -> String {
    format!("{}/?access_token={token}#{route}", s.base)
}

async fn report(s: &Server, action: &str, body: Value) -> u64 {
    let (status, out) = s
        .post(
            &s.reporter,
            &format!("/api/v1/plans/{PLAN}/actions/{action}/progress"),
            body,
        )
        .await;
    assert!(status.is_success(), "{status}: {out}");
    out["position"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_explorer_signs_in_by_token_link_searches_filters_and_follows_live_changes() {
    let _one = crate::one_at_a_time().await;
    let s = Server::embedded().await;
    let driver = Driver::start().await;
    let c = driver.browser(1400, 1100).await;

    // A token link signs in; the token leaves the address bar and never shows.
    c.goto(&token_link(&s, &s.viewer, &format!("/plans/{PLAN}")))
        .await
        .unwrap();
    until_count(&c, "#plan-tree .action-row", 10).await;
    let url = c.current_url().await.unwrap();
    assert!(!url.as_str().contains("access_token"), "{url}");
    assert!(url.as_str().ends_with(&format!("#/plans/{PLAN}")), "{url}");
    assert!(!c.source().await.unwrap().contains(&s.viewer));
    assert_eq!(
        text(&c, "html")
            .await
            .map(|t| t.contains("Torino Metropoli aumentata")),
        Some(true)
    );
    // Italian by default.
    assert_eq!(
        c.execute("return document.documentElement.lang;", vec![])
            .await
            .unwrap(),
        json!("it")
    );
    until_text(&c, "#result-count", "10 azioni mostrate su 10").await;

    // Search by code, then by words (accents and case folded).
    replace_text(&c, "#filter-q", "2.1").await;
    until_count(&c, "#plan-tree .action-row", 3).await;
    replace_text(&c, "#filter-q", "comunita").await;
    until_count(&c, "#plan-tree .action-row", 1).await;
    until_text(&c, "#plan-tree .action-row", "Infermieri di comunità").await;
    c.find(Locator::Css("#filter-reset"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_count(&c, "#plan-tree .action-row", 10).await;

    // Progress reported through the API shows without a reload, and a keyboard user
    // on that action's link stays there.
    c.execute(
        "document.querySelector(\"[data-action='2.1.3'] a\").focus();",
        vec![],
    )
    .await
    .unwrap();
    report(
        &s,
        "2.1.3",
        json!({"status": "started", "progress": 10, "note": "avvio dei lavori", "as_of": "2022-03-31"}),
    )
    .await;
    until_text(&c, "[data-action='2.1.3'] .status", "Avviata").await;
    until_text(&c, "[data-action='2.1.3'] .bar-value", "10%").await;
    assert_eq!(
        c.execute(
            "const row = document.activeElement.closest('[data-action]'); return row ? row.dataset.action : null;",
            vec![],
        )
        .await
        .unwrap(),
        json!("2.1.3")
    );
    c.set_window_size(1400, 1700).await.unwrap();
    c.execute(
        "document.activeElement.blur(); window.scrollTo(0, 0);",
        vec![],
    )
    .await
    .unwrap();
    screenshot(&c, "explorer").await;
    accessible(&c, "explorer").await;
    // The charts: progress per axis, actions by status over time, funding by source,
    // each an image with a title, its numbers also as a table.
    assert_eq!(count(&c, "figure.chart").await, 3);
    assert_eq!(count(&c, "figure.chart svg[role='img'] > title").await, 2);
    until_text(&c, ".overview", "Avanzamento per asse").await;
    until_text(&c, ".overview", "Azioni per stato nel tempo").await;
    until_text(&c, ".overview", "31 mar 2022").await;

    // Filter by status.
    c.find(Locator::Css("#filter-status"))
        .await
        .unwrap()
        .select_by_value("started")
        .await
        .unwrap();
    until_count(&c, "#plan-tree .action-row", 1).await;
    until_text(&c, "#plan-tree .action-row", "Gran Bosco Torino").await;
    c.find(Locator::Css("#filter-reset"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // Filter by organisation and by funding source: an editor gives 2.1.1 a
    // responsible organisation and a funding line, and the filters offer them live.
    let path = format!("/api/v1/plans/{PLAN}/actions/2.1.1");
    let (_, headers, _) = s.get(&s.editor, &path).await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (status, _, out) = s
        .patch(
            &s.editor,
            &path,
            Some(&etag),
            json!({
                "responsible_organisations": ["Città metropolitana di Torino"],
                "funding_lines": [{"source": "OWN"}],
            }),
        )
        .await;
    assert!(status.is_success(), "{status}: {out}");
    until(
        WAIT,
        "the organisation filter to offer the owner",
        || async {
            count(
                &c,
                "#filter-organisation option[value='Città metropolitana di Torino']",
            )
            .await
                == 1
        },
    )
    .await;
    c.find(Locator::Css("#filter-organisation"))
        .await
        .unwrap()
        .select_by_value("Città metropolitana di Torino")
        .await
        .unwrap();
    until_count(&c, "#plan-tree .action-row", 1).await;
    until_text(&c, "#plan-tree .action-row", "2.1.1").await;
    c.find(Locator::Css("#filter-organisation"))
        .await
        .unwrap()
        .select_by_value("")
        .await
        .unwrap();
    c.find(Locator::Css("#filter-source"))
        .await
        .unwrap()
        .select_by_value("OWN")
        .await
        .unwrap();
    until_count(&c, "#plan-tree .action-row", 1).await;
    until_text(&c, "#plan-tree .action-row", "2.1.1").await;
    c.find(Locator::Css("#filter-reset"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_count(&c, "#plan-tree .action-row", 10).await;

    // The keyboard alone: Enter on an action's link opens its page, focus on its title.
    let active = c
        .execute(
            "const a = document.querySelector(\"[data-action='2.1.3'] a\"); a.focus(); return document.activeElement === a;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(active, json!(true));
    c.find(Locator::Css("[data-action='2.1.3'] a"))
        .await
        .unwrap()
        .send_keys(&fantoccini::key::Key::Enter)
        .await
        .unwrap();
    until_text(&c, "h1", "Gran Bosco Torino").await;
    until(WAIT, "focus on the action's title", || async {
        c.execute("return document.activeElement.tagName;", vec![])
            .await
            .unwrap()
            == json!("H1")
    })
    .await;
    accessible(&c, "action").await;
    c.back().await.unwrap();
    until_count(&c, "#plan-tree .action-row", 10).await;

    // English on request; the choice holds across views.
    c.find(Locator::Css("#lang-toggle"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_text(&c, "#nav", "Agreements").await;
    assert_eq!(
        c.execute("return document.documentElement.lang;", vec![])
            .await
            .unwrap(),
        json!("en")
    );
    until_text(&c, "#filter-reset", "Clear filters").await;

    // The other main views, for the screenshots.
    c.goto(&format!("{}/#/plans/{PLAN}/agreements", s.base))
        .await
        .unwrap();
    until_text(&c, "h1", "Agreements").await;
    // An agreement drafted and linked to 2.1.3 through the API shows up live.
    let (status, out) = s
        .post(
            &s.editor,
            &format!("/api/v1/plans/{PLAN}/agreements"),
            json!({"kind": "intesa", "title": "Intesa Gran Bosco Torino", "subject": "test: a draft linked to 2.1.3"}),
        )
        .await;
    assert!(status.is_success(), "{status}: {out}");
    let agreement = out["id"].as_str().unwrap().to_owned();
    let (status, out) = s
        .post(
            &s.editor,
            &format!("/api/v1/agreements/{agreement}/actions"),
            json!({"action": "2.1.3"}),
        )
        .await;
    assert!(status.is_success(), "{status}: {out}");
    until_text(&c, "#agreements", "Intesa Gran Bosco Torino").await;
    until_text(&c, "#agreements", "2.1.3").await;
    accessible(&c, "agreements").await;
    screenshot(&c, "agreements").await;
    c.goto(&format!("{}/#/plans/{PLAN}/tables", s.base))
        .await
        .unwrap();
    until_text(&c, "h1", "Concertation tables").await;
    accessible(&c, "tables").await;
    screenshot(&c, "tables").await;
    c.goto(&format!("{}/#/plans/{PLAN}/actions/2.1.3", s.base))
        .await
        .unwrap();
    until_text(&c, "#history", "avvio dei lavori").await;
    until_text(&c, "#history", "carla").await;
    until_text(&c, ".action-agreements", "Intesa Gran Bosco Torino").await;
    screenshot(&c, "action").await;

    // A phone-sized window still shows the explorer without sideways scrolling.
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{}/#/plans/{PLAN}", s.base)).await.unwrap();
    until_count(&c, "#plan-tree .action-row", 10).await;
    let overflow = c
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "sideways scroll: {overflow}"
    );
    screenshot(&c, "explorer-phone").await;
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_sent_through_the_api_shows_on_an_open_meeting_dashboard_within_a_second() {
    let _one = crate::one_at_a_time().await;
    let s = Server::embedded().await;
    let driver = Driver::start().await;
    let c = driver.browser(1920, 1080).await;

    c.goto(&token_link(
        &s,
        &s.viewer,
        &format!("/plans/{PLAN}/meeting"),
    ))
    .await
    .unwrap();
    until_text(&c, "#meeting-progress", "0%").await;
    until_text(&c, ".live-state", "In diretta").await;
    until_text(&c, "[data-status='started'] .count", "0").await;
    assert_eq!(
        c.execute(
            "return document.body.classList.contains('meeting-mode');",
            vec![]
        )
        .await
        .unwrap(),
        json!(true)
    );

    let sent = Instant::now();
    report(
        &s,
        "2.1.3",
        json!({"status": "started", "progress": 10, "note": "avvio dei lavori", "as_of": "2022-03-31"}),
    )
    .await;
    until(
        Duration::from_secs(1),
        "the report on the dashboard within 1 s",
        || async {
            text(&c, "[data-status='started'] .count").await.as_deref() == Some("1")
                && text(&c, "[data-axis='2'] .value").await.as_deref() == Some("3,3%")
                && text(&c, "#latest li:first-child")
                    .await
                    .is_some_and(|t| t.contains("avvio dei lavori"))
        },
    )
    .await;
    println!(
        "meeting dashboard updated {:?} after the API call",
        sent.elapsed()
    );
    // The new decision is highlighted for a few seconds, then not.
    assert_eq!(count(&c, "#latest li.fresh").await, 1);
    screenshot(&c, "meeting").await;
    accessible(&c, "meeting").await;
    // `f` asks for full screen (a headless browser may refuse; the request is what counts).
    c.execute(
        "window.__fullscreenAsked = 0; document.documentElement.requestFullscreen = () => { window.__fullscreenAsked++; return Promise.resolve(); };",
        vec![],
    )
    .await
    .unwrap();
    c.active_element()
        .await
        .unwrap()
        .send_keys("f")
        .await
        .unwrap();
    assert_eq!(
        c.execute("return window.__fullscreenAsked;", vec![])
            .await
            .unwrap(),
        json!(1)
    );
    until(Duration::from_secs(10), "the highlight to fade", || async {
        count(&c, "#latest li.fresh").await == 0
    })
    .await;

    // A table meets and decides on an action: the decision shows as it happens, and on
    // the tables page.
    let (status, out) = s
        .post(
            &s.editor,
            &format!("/api/v1/plans/{PLAN}/tables"),
            json!({"name": "Tavolo permanente sulla montagna", "kind": "permanent_mountain"}),
        )
        .await;
    assert!(status.is_success(), "{status}: {out}");
    let table = out["id"].as_str().unwrap().to_owned();
    let (status, out) = s
        .post(
            &s.editor,
            &format!("/api/v1/tables/{table}/meetings"),
            json!({"held_on": "2022-05-12", "title": "test meeting", "decisions": [
                {"text": "test decision on 2.1.3", "actions": ["2.1.3"]}
            ]}),
        )
        .await;
    assert!(status.is_success(), "{status}: {out}");
    until(
        Duration::from_secs(2),
        "the decision on the dashboard",
        || async {
            text(&c, "#latest li.fresh")
                .await
                .is_some_and(|t| t.contains("test decision on 2.1.3"))
        },
    )
    .await;
    c.goto(&format!("{}/#/plans/{PLAN}/tables", s.base))
        .await
        .unwrap();
    until_text(&c, "#tables", "Tavolo permanente sulla montagna").await;
    until_text(&c, "#tables", "test decision on 2.1.3").await;
    assert_eq!(count(&c, "#tables a[href$='/actions/2.1.3']").await, 1);
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browsers_edit_one_action_different_fields_merge_and_the_same_field_shows_the_conflict()
{
    let _one = crate::one_at_a_time().await;
    let s = Server::embedded().await;
    let driver = Driver::start().await;
    let anna = driver.browser(1400, 1400).await;
    let bruno = driver.browser(1400, 1400).await;
    let route = format!("/plans/{PLAN}/actions/6.1.3");
    for (c, token) in [(&anna, &s.editor), (&bruno, &s.editor2)] {
        c.goto(&token_link(&s, token, &route)).await.unwrap();
        until_text(c, "h1", "Infermieri di comunità").await;
        until_count(c, "#edit-form", 1).await;
    }

    // Each sees the other, and not themself, among who is looking at the action.
    until_text(&anna, "#presence", "bruno").await;
    until_text(&bruno, "#presence", "anna").await;
    assert!(!text(&anna, "#presence").await.unwrap().contains("anna"));

    // Different fields, both from version 1: the second save merges without asking.
    replace_text(&anna, "#field-territorial_scope", "Zone omogenee montane").await;
    replace_text(
        &bruno,
        "#field-description",
        "Micro-équipe con assistenti sociali di comunità",
    )
    .await;
    // Who edits which field shows beside it in the other's page.
    until_text(&anna, "#field-description-presence", "bruno").await;
    until_text(&bruno, "#field-territorial_scope-presence", "anna").await;
    screenshot(&anna, "action-co-editing").await;
    // Why, in the person's words (accents and all, through the X-Reason header).
    anna.find(Locator::Css("#edit-reason"))
        .await
        .unwrap()
        .send_keys("ambito già concordato al tavolo")
        .await
        .unwrap();
    anna.find(Locator::Css("#save"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_saved(&anna, "saved").await;
    until_text(
        &bruno,
        "#history",
        "motivo: ambito già concordato al tavolo",
    )
    .await;
    // Bruno sees anna's change live, his own edit kept.
    until(WAIT, "anna's scope in bruno's page", || async {
        value(&bruno, "#field-territorial_scope").await == "Zone omogenee montane"
    })
    .await;
    assert_eq!(
        value(&bruno, "#field-description").await,
        "Micro-équipe con assistenti sociali di comunità"
    );
    bruno
        .find(Locator::Css("#save"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_saved(&bruno, "merged").await;
    let path = format!("/api/v1/plans/{PLAN}/actions/6.1.3");
    let (_, _, stored) = s.get(&s.viewer, &path).await;
    assert_eq!(stored["territorial_scope"], "Zone omogenee montane");
    assert_eq!(
        stored["description"],
        "Micro-équipe con assistenti sociali di comunità"
    );
    assert_eq!(stored["version"], 3);
    until(WAIT, "bruno's description in anna's page", || async {
        value(&anna, "#field-description").await
            == "Micro-équipe con assistenti sociali di comunità"
    })
    .await;
    // The history says who did what.
    until_text(&anna, "#history", "bruno").await;

    // The same field: the second save shows base, theirs and yours side by side.
    replace_text(
        &anna,
        "#field-territorial_scope",
        "Tutta la Città metropolitana",
    )
    .await;
    replace_text(
        &bruno,
        "#field-territorial_scope",
        "Zone omogenee di pianura",
    )
    .await;
    anna.find(Locator::Css("#save"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_saved(&anna, "saved").await;
    until_text(
        &bruno,
        "#field-territorial_scope-remote",
        "Tutta la Città metropolitana",
    )
    .await;
    bruno
        .find(Locator::Css("#save"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(WAIT, "the conflict view", || async {
        bruno
            .execute(
                "return !document.querySelector('#conflict').hidden;",
                vec![],
            )
            .await
            .unwrap()
            == json!(true)
    })
    .await;
    let block = "#conflict [data-field='territorial_scope']";
    until_text(
        &bruno,
        &format!("{block} .base .value"),
        "Zone omogenee montane",
    )
    .await;
    until_text(
        &bruno,
        &format!("{block} .theirs .value"),
        "Tutta la Città metropolitana",
    )
    .await;
    until_text(
        &bruno,
        &format!("{block} .yours .value"),
        "Zone omogenee di pianura",
    )
    .await;
    screenshot(&bruno, "action-conflict").await;
    accessible(&bruno, "conflict").await;
    // Nothing was stored by the conflicting save.
    let (_, _, stored) = s.get(&s.viewer, &path).await;
    assert_eq!(stored["territorial_scope"], "Tutta la Città metropolitana");
    // Bruno takes theirs, then keeps his own after all, and saves his choice.
    bruno
        .find(Locator::Css(&format!("{block} .use-theirs")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        value(&bruno, "#resolve-territorial_scope").await,
        "Tutta la Città metropolitana"
    );
    bruno
        .find(Locator::Css(&format!("{block} .use-yours")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    bruno
        .find(Locator::Css("#resolve"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_saved(&bruno, "saved").await;
    let (_, _, stored) = s.get(&s.viewer, &path).await;
    assert_eq!(stored["territorial_scope"], "Zone omogenee di pianura");
    until(WAIT, "bruno's choice in anna's page", || async {
        value(&anna, "#field-territorial_scope").await == "Zone omogenee di pianura"
    })
    .await;
    screenshot(&anna, "action-after-merge").await;

    // Funding lines are edited in rows, and reach the other page live.
    anna.find(Locator::Css("#field-funding_lines .add-line"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    anna.find(Locator::Css(
        "#field-funding_lines [data-line='1'] input.source",
    ))
    .await
    .unwrap()
    .send_keys("OWN")
    .await
    .unwrap();
    anna.find(Locator::Css(
        "#field-funding_lines [data-line='1'] td:nth-child(2) input",
    ))
    .await
    .unwrap()
    .send_keys("DUP")
    .await
    .unwrap();
    anna.find(Locator::Css("#save"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_saved(&anna, "saved").await;
    let (_, _, stored) = s.get(&s.viewer, &path).await;
    assert_eq!(stored["funding_lines"][0]["source"], "OWN", "{stored}");
    assert_eq!(stored["funding_lines"][0]["programme"], "DUP", "{stored}");
    until(WAIT, "the funding line in bruno's page", || async {
        value(&bruno, "#field-funding_lines")
            .await
            .contains("\"programme\":\"DUP\"")
    })
    .await;
    accessible(&anna, "action with a funding line").await;

    // The explorer shows who is on which action now.
    anna.goto(&format!("{}/#/plans/{PLAN}", s.base))
        .await
        .unwrap();
    until_text(&anna, "[data-presence='6.1.3']", "bruno").await;
    assert_eq!(
        text(&anna, "[data-presence='6.1.1']").await.as_deref(),
        Some("")
    );
    screenshot(&anna, "explorer-presence").await;
    anna.close().await.unwrap();
    bruno.close().await.unwrap();
}

/// A TCP proxy in front of the server that the test can cut, as a network that goes
/// down and comes back: cutting drops every open connection and refuses new ones.
struct Cuttable {
    addr: std::net::SocketAddr,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cut: std::sync::Arc<std::sync::Mutex<tokio_util::sync::CancellationToken>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Cuttable {
    async fn start(target: std::net::SocketAddr) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let cut = std::sync::Arc::new(std::sync::Mutex::new(
            tokio_util::sync::CancellationToken::new(),
        ));
        let (up2, cut2) = (up.clone(), cut.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused
                }
                let stop = cut2.lock().unwrap().clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        () = stop.cancelled() => {}
                    }
                });
            }
        });
        Self {
            addr,
            up,
            cut,
            accept,
        }
    }

    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        let mut token = self.cut.lock().unwrap();
        token.cancel();
        *token = tokio_util::sync::CancellationToken::new();
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Cuttable {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut.lock().unwrap().cancel();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_connection_is_down_a_notice_shows_and_after_it_the_page_resumes_from_where_it_stopped()
 {
    let _one = crate::one_at_a_time().await;
    let s = Server::embedded().await;
    let net = Cuttable::start(s.addr).await;
    let driver = Driver::start().await;
    let c = driver.browser(1400, 1000).await;
    let base = format!("http://{}", net.addr);

    c.goto(&format!(
        "{base}/?access_token={}#/plans/{PLAN}/meeting",
        s.viewer
    ))
    .await
    .unwrap();
    until_text(&c, ".live-state", "In diretta").await;
    assert!(
        c.execute(
            "return document.getElementById('connection').hidden;",
            vec![]
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap()
    );

    net.cut();
    until(WAIT, "the connection notice", || async {
        c.execute(
            "const e = document.getElementById('connection'); return e.hidden ? null : e.textContent;",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .is_some_and(|t| t.contains("interrotta"))
    })
    .await;
    until_text(&c, ".live-state", "Non in linea").await;
    screenshot(&c, "connection-down").await;

    // What happens while the page is away reaches it once it is back.
    report(
        &s,
        "6.1.2",
        json!({"status": "in_progress", "progress": 30, "note": "", "as_of": "2022-06-30"}),
    )
    .await;
    net.restore();
    until(WAIT, "the notice to go", || async {
        c.execute(
            "return document.getElementById('connection').hidden;",
            vec![],
        )
        .await
        .unwrap()
            == json!(true)
    })
    .await;
    until_text(&c, "[data-status='in_progress'] .count", "1").await;
    until_text(&c, "#latest li:first-child", "6.1.2").await;
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_by_pasting_a_token_and_out_again() {
    let _one = crate::one_at_a_time().await;
    let s = Server::embedded().await;
    let driver = Driver::start().await;
    let c = driver.browser(1400, 1000).await;

    c.goto(&format!("{}/", s.base)).await.unwrap();
    until_count(&c, "#signin-form", 1).await;
    accessible(&c, "sign-in").await;
    screenshot(&c, "sign-in").await;

    // A token the platform does not know is refused, and not kept.
    let token = c.find(Locator::Css("#token")).await.unwrap();
    token.send_keys("mp_not-a-token").await.unwrap();
    c.find(Locator::Css("#signin-form button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_text(&c, "#signin-error", "Token non valido").await;
    assert_eq!(
        c.execute("return sessionStorage.length;", vec![])
            .await
            .unwrap(),
        json!(0)
    );

    // A good one opens the plan (the only one) and is kept for the session, unseen.
    let token = c.find(Locator::Css("#token")).await.unwrap();
    token.send_keys(&s.reporter).await.unwrap();
    token.send_keys(&fantoccini::key::Key::Enter).await.unwrap();
    until_count(&c, "#plan-tree .action-row", 10).await;
    assert!(!c.source().await.unwrap().contains(&s.reporter));
    c.refresh().await.unwrap();
    until_count(&c, "#plan-tree .action-row", 10).await;

    // On a phone the action page fits the width too.
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{}/#/plans/{PLAN}/actions/2.1.1", s.base))
        .await
        .unwrap();
    until_count(&c, "#edit-form", 1).await;
    let overflow = c
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "sideways scroll: {overflow}"
    );
    screenshot(&c, "action-phone").await;
    // A reporter is offered the progress report, not the edit form, and told why.
    let offered = "return ['edit-form', 'report-form', 'read-only'].map((id) => !document.getElementById(id).hidden).concat(document.getElementById('read-only').textContent);";
    assert_eq!(
        c.execute(offered, vec![]).await.unwrap(),
        json!([
            false,
            true,
            true,
            "Come referente puoi leggere questa azione; modifiche e rapporti spettano ad altri ruoli."
        ])
    );

    c.find(Locator::Css("#sign-out"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_count(&c, "#signin-form", 1).await;
    assert_eq!(
        c.execute("return sessionStorage.length;", vec![])
            .await
            .unwrap(),
        json!(0)
    );

    // A viewer signing in next is offered neither form.
    let token = c.find(Locator::Css("#token")).await.unwrap();
    token.send_keys(&s.viewer).await.unwrap();
    token.send_keys(&fantoccini::key::Key::Enter).await.unwrap();
    until_count(&c, "#edit-form", 1).await;
    assert_eq!(
        c.execute(offered, vec![]).await.unwrap(),
        json!([
            false,
            false,
            true,
            "Come lettore puoi leggere questa azione; modifiche e rapporti spettano ad altri ruoli."
        ])
    );
    c.close().await.unwrap();
}

/// Clicks the first element matching `css`.
async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// The indicators view and one indicator's page: live classification, the CSV import
/// with its dry run listing bad rows, recording and correcting from the page. The
/// figures are examples, labelled so, never official data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indicators_show_their_trend_live_import_csv_after_a_dry_run_and_keep_corrections() {
    let _one = crate::one_at_a_time().await;
    let s = Server::embedded().await;
    const CODE: &str = "ESEMPIO-2.1-02";
    let base = format!("/api/v1/plans/{PLAN}/indicators");
    let (status, body) = s
        .post(
            &s.editor,
            &base,
            json!({
                "code": CODE,
                "strategy": "2.1",
                "name": "ESEMPIO - Alberi piantati nel Gran Bosco (dati illustrativi, non ufficiali)",
                "unit": "migliaia",
                "source": "Esempio per i test: dati non ufficiali",
                "direction": "increase",
                "baseline_value": "1000",
                "baseline_year": 2020,
                "target_value": "1300",
                "target_year": 2023,
                "territory": crate::harness::ORG,
            }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");

    let driver = Driver::start().await;
    let c = driver.browser(1400, 1100).await;
    c.goto(&token_link(
        &s,
        &s.reporter,
        &format!("/plans/{PLAN}/indicators"),
    ))
    .await
    .unwrap();
    let row = format!("tr[data-indicator='{CODE}']");
    until_text(&c, &format!("{row} [data-trend]"), "Dati insufficienti").await;
    until_text(&c, "#indicator-rule", "trend-v1").await;

    // Measurements sent through the API reclassify the open page, live.
    for (period, value) in [("2021", "1080"), ("2022", "1150")] {
        let (status, body) = s
            .post(
                &s.reporter,
                &format!("{base}/{CODE}/measurements"),
                json!({"period": period, "territory": crate::harness::ORG, "value": value,
                    "source_note": "Esempio, non ufficiale"}),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    }
    until_text(&c, &format!("{row} [data-field='latest']"), "1.150").await;
    until_text(&c, &format!("{row} [data-trend]"), "In miglioramento").await;
    accessible(&c, "indicators").await;
    screenshot(&c, "indicators").await;

    // The dry run lists every bad row with its line and imports nothing.
    let org = crate::harness::ORG;
    let bad = format!(
        "indicator;period;territory;value;source_note\n\
         {CODE};2023;{org};1.234,5;Esempio\n\
         {CODE};20X3;{org};abc;Esempio\n"
    );
    c.execute(
        "document.querySelector('#import-csv').value = arguments[0];",
        vec![json!(bad)],
    )
    .await
    .unwrap();
    click(&c, "#import-check").await;
    until_count(&c, "#import-outcome .row-errors li[data-line='3']", 1).await;
    assert_eq!(
        count(&c, "#import-outcome .row-errors li[data-line='2']").await,
        0
    );
    let (_, _, view) = s.get(&s.viewer, &format!("{base}/{CODE}")).await;
    assert_eq!(
        view["series"].as_array().unwrap().len(),
        2,
        "nothing imported"
    );

    let good = format!(
        "indicator;period;territory;value;source_note\n{CODE};2023;{org};1.234,5;Esempio\n"
    );
    c.execute(
        "document.querySelector('#import-csv').value = arguments[0];",
        vec![json!(good)],
    )
    .await
    .unwrap();
    click(&c, "#import-check").await;
    until_text(&c, "#import-outcome", "nulla importato").await;
    click(&c, "#import-run").await;
    until_text(&c, "#import-outcome", "Importate 1 righe").await;
    until_text(&c, &format!("{row} [data-field='latest']"), "1.234,5").await;

    // One indicator's page: the chart of its own territory, record and correct.
    click(&c, &format!("{row} a")).await;
    until_count(&c, "#indicator circle.chart-point", 3).await;
    replace_text(&c, "#record-period", "2024").await;
    replace_text(&c, "#record-value", "1250,5").await;
    click(&c, "#record-form button[type='submit']").await;
    until_text(
        &c,
        "#measurements tr[data-measurement='4'] [data-field='value']",
        "1.250,5",
    )
    .await;
    until_count(&c, "#indicator circle.chart-point", 4).await;

    click(&c, "#measurements tr[data-measurement='1'] summary").await;
    replace_text(&c, "#correct-1-value", "1100").await;
    replace_text(&c, "#correct-1-reason", "Rettifica della fonte (esempio)").await;
    click(
        &c,
        "#measurements tr[data-measurement='1'] .correct-form button",
    )
    .await;
    until_text(
        &c,
        "#measurements tr[data-measurement='1'] [data-field='value']",
        "1.100",
    )
    .await;
    until_text(
        &c,
        "#measurements tr[data-measurement='1'] .corrections",
        "1.080",
    )
    .await;
    until_text(
        &c,
        "#measurements tr[data-measurement='1'] .corrections",
        "Rettifica della fonte",
    )
    .await;
    let (_, _, view) = s.get(&s.viewer, &format!("{base}/{CODE}")).await;
    assert_eq!(view["series"][0]["original_value"], "1080");
    assert_eq!(view["series"][0]["value"], "1100");
    accessible(&c, "indicator").await;
    screenshot(&c, "indicator").await;

    // A viewer reads, and is offered neither the record form nor the import.
    let v = driver.browser(1400, 1100).await;
    v.goto(&token_link(
        &s,
        &s.viewer,
        &format!("/plans/{PLAN}/indicators/{CODE}"),
    ))
    .await
    .unwrap();
    until_count(&v, "#indicator circle.chart-point", 4).await;
    assert_eq!(count(&v, "#record-form:not([hidden])").await, 0);
    assert_eq!(count(&v, "#measurements .correct-form").await, 0);
    v.goto(&format!("{}/#/plans/{PLAN}/indicators", s.base))
        .await
        .unwrap();
    until_count(&v, &row, 1).await;
    assert_eq!(count(&v, "#import-form:not([hidden])").await, 0);
    assert_eq!(count(&v, "#manage-indicator:not([hidden])").await, 0);

    // An editor edits the definition while someone else changed another field: merged.
    let e = driver.browser(1400, 1100).await;
    e.goto(&token_link(
        &s,
        &s.editor,
        &format!("/plans/{PLAN}/indicators/{CODE}"),
    ))
    .await
    .unwrap();
    until_count(&e, "#edit-indicator", 1).await;
    assert_eq!(value(&e, "#def-target_value").await, "1300");
    let one = format!("{base}/{CODE}");
    let (_, headers, _) = s.get(&s.viewer, &one).await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (status, _, out) = s
        .patch(
            &s.editor2,
            &one,
            Some(&etag),
            json!({"unit": "migliaia di alberi"}),
        )
        .await;
    assert!(status.is_success(), "{status}: {out}");
    replace_text(&e, "#def-target_value", "1350").await;
    click(&e, "#edit-indicator button[type='submit']").await;
    until_text(&e, "#edit-indicator-status", "unite").await;
    let (_, _, view) = s.get(&s.viewer, &one).await;
    assert_eq!(
        (view["target_value"].as_str(), view["unit"].as_str()),
        (Some("1350"), Some("migliaia di alberi")),
        "{view}"
    );
    accessible(&e, "indicator for an editor").await;

    // Retired: still read, marked with its reason, and offering nothing to change.
    replace_text(
        &e,
        "#retire-reason",
        "Sostituito da un indicatore migliore (esempio)",
    )
    .await;
    click(&e, "#retire-indicator button[type='submit']").await;
    until_text(
        &e,
        "#indicator-retired",
        "Sostituito da un indicatore migliore",
    )
    .await;
    until_count(&e, "#manage-indicator[hidden]", 1).await;
    assert_eq!(count(&e, "#record-form:not([hidden])").await, 0);
    assert_eq!(count(&e, "#measurements .correct-form").await, 0);
    e.goto(&format!("{}/#/plans/{PLAN}/indicators", s.base))
        .await
        .unwrap();
    until_text(&e, &format!("{row} [data-retired]"), "Ritirato").await;
    e.close().await.unwrap();
    v.close().await.unwrap();
    c.close().await.unwrap();
}

/// A questionnaire campaign from the web front end: an editor drafts it, adds
/// questions, invites an organisation and copies its personal link, opens it; the
/// organisation answers through the link with no token, then changes an answer; the
/// editor's page follows live, with results per action; after closing, the link's page
/// is read-only. An example campaign, not the official 2022 questionnaire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_is_drafted_answered_through_a_personal_link_and_closed_from_the_web() {
    let _one = crate::one_at_a_time().await;
    let s = Server::embedded().await;
    let driver = Driver::start().await;
    let c = driver.browser(1400, 1100).await;
    c.goto(&token_link(
        &s,
        &s.editor,
        &format!("/plans/{PLAN}/campaigns"),
    ))
    .await
    .unwrap();
    until_text(&c, "#campaigns", "Nessuna campagna").await;
    replace_text(&c, "#campaign-id", "monitoraggio-esempio").await;
    replace_text(
        &c,
        "#campaign-title",
        "Questionario di monitoraggio — esempio",
    )
    .await;
    for (id, day) in [
        ("#campaign-opens", "2022-03-01"),
        ("#campaign-closes", "2022-04-30"),
    ] {
        c.execute(
            "document.querySelector(arguments[0]).value = arguments[1];",
            vec![json!(id), json!(day)],
        )
        .await
        .unwrap();
    }
    click(&c, "#campaign-form button[type='submit']").await;
    until_text(&c, "h1", "Questionario di monitoraggio — esempio").await;
    until_text(&c, "[data-state]", "In preparazione").await;

    // Two questions: a scale asked per action, and a choice about the plan.
    replace_text(&c, "#question-id", "attuazione").await;
    replace_text(
        &c,
        "#question-text",
        "Quanto è avanzata l'azione nel vostro territorio?",
    )
    .await;
    c.execute(
        "document.querySelector('#question-about').value = 'actions';",
        vec![],
    )
    .await
    .unwrap();
    replace_text(&c, "#question-subjects", "2.1.1, 2.1.3").await;
    click(&c, "#question-form button[type='submit']").await;
    until_count(&c, "#questions li", 1).await;
    replace_text(&c, "#question-id", "utilita").await;
    replace_text(&c, "#question-text", "Il piano è utile al vostro ente?").await;
    c.execute(
        "document.querySelector('#question-kind').value = 'choice';",
        vec![],
    )
    .await
    .unwrap();
    c.execute(
        "document.querySelector('#question-choices').value = 'Sì\\nIn parte\\nNo';",
        vec![],
    )
    .await
    .unwrap();
    click(&c, "#question-form button[type='submit']").await;
    until_count(&c, "#questions li", 2).await;

    // An invitation shows the personal link once; the campaign page never again.
    replace_text(
        &c,
        "#invite-organisation",
        "Unione Montana Valle Susa (esempio)",
    )
    .await;
    click(&c, "#invite-form button[type='submit']").await;
    until_count(&c, "#invitation-url", 1).await;
    let link = value(&c, "#invitation-url").await;
    assert!(
        link.starts_with(&format!("{}/#/questionnaire/", s.base)),
        "{link}"
    );
    let secret = link.rsplit('/').next().unwrap().to_owned();
    until_count(&c, "#invitations tr[data-organisation]", 1).await;
    click(&c, "#campaign-open").await;
    until_text(&c, "[data-state]", "Aperta").await;
    accessible(&c, "campaign").await;
    let (_, _, view) = s
        .get(
            &s.editor,
            &format!("/api/v1/plans/{PLAN}/campaigns/monitoraggio-esempio"),
        )
        .await;
    assert!(
        !view.to_string().contains(&secret),
        "the link is never shown again"
    );

    // The organisation answers through its link, with no token.
    let o = driver.browser(1000, 1100).await;
    o.goto(&link).await.unwrap();
    until_text(&o, "#questionnaire-state", "aperto").await;
    assert_eq!(
        o.execute("return sessionStorage.length;", vec![])
            .await
            .unwrap(),
        json!(0),
        "no token"
    );
    click(&o, "[data-slot='q-attuazione-2_1_1'] input[value='4']").await;
    click(&o, "[data-slot='q-attuazione-2_1_3'] input[value='2']").await;
    click(&o, "[data-slot='q-utilita'] input[value='In parte']").await;
    accessible(&o, "questionnaire").await;
    screenshot(&o, "questionnaire").await;
    click(&o, "#questionnaire-submit").await;
    until_text(&o, "#questionnaire-status", "Risposte salvate").await;

    // The editor's page follows: who answered, and the results per action.
    until_text(&c, "#invitations [data-field='answered']", "Sì").await;
    until_text(&c, "#results details[data-action='2.1.1']", "Media 4,00").await;
    until_text(&c, "#results details[data-action='2.1.3']", "Media 2,00").await;

    // A changed answer replaces the set while the campaign is open.
    click(&o, "[data-slot='q-attuazione-2_1_1'] input[value='5']").await;
    click(&o, "#questionnaire-submit").await;
    until_text(&o, "#questionnaire-answered", "Ultimo invio").await;
    until_text(&c, "#results details[data-action='2.1.1']", "Media 5,00").await;
    until_text(
        &c,
        "#results [data-question='utilita'] [data-option='In parte']",
        "1",
    )
    .await;
    screenshot(&c, "campaign").await;

    // A lost link is replaced: the old one finds nothing, the new one keeps the answers.
    click(&c, "#invitations tr[data-organisation] .replace-link").await;
    until(WAIT, "a new link", || async {
        value(&c, "#invitation-url").await != link
    })
    .await;
    let fresh = value(&c, "#invitation-url").await;
    until_text(&c, "#invitations tr[data-organisation]", "link sostituito").await;
    o.goto(&link).await.unwrap();
    o.refresh().await.unwrap();
    until_text(&o, "main", "nessun invito").await;
    o.goto(&fresh).await.unwrap();
    o.refresh().await.unwrap();
    until_count(
        &o,
        "[data-slot='q-attuazione-2_1_1'] input[value='5']:checked",
        1,
    )
    .await;

    // Closed: the results are final, and the link's page no longer takes answers.
    click(&c, "#campaign-close").await;
    until_text(&c, "[data-state]", "Chiusa").await;
    until_text(&c, "#results", "definitivi").await;
    o.refresh().await.unwrap();
    until_text(&o, "#questionnaire-state", "chiuso").await;
    assert_eq!(count(&o, "#questionnaire-submit").await, 0);
    assert_eq!(
        count(
            &o,
            "[data-slot='q-attuazione-2_1_1'] input[value='5']:checked"
        )
        .await,
        1
    );

    // A link nobody issued finds nothing.
    o.goto(&format!("{}/#/questionnaire/{}", s.base, "0".repeat(64)))
        .await
        .unwrap();
    until_text(&o, "main", "nessun invito").await;
    o.close().await.unwrap();
    c.close().await.unwrap();
}

/// Effects on instruments, the funding roll-ups and the report page: an edit sent
/// through the API shows live on the open instruments and funding views, and the report
/// page fetches the PDF, the XLSX and the open-data file with the session's token. The
/// amounts and objectives are examples, labelled so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instruments_and_funding_follow_edits_live_and_the_report_page_fetches_every_file() {
    let _one = crate::one_at_a_time().await;
    let s = Server::embedded().await;
    let driver = Driver::start().await;
    let c = driver.browser(1400, 1100).await;
    c.goto(&token_link(
        &s,
        &s.viewer,
        &format!("/plans/{PLAN}/instruments"),
    ))
    .await
    .unwrap();
    until_count(&c, "#instruments [data-instrument='PTGM']", 1).await;
    let c2 = driver.browser(1400, 1100).await;
    c2.goto(&token_link(
        &s,
        &s.viewer,
        &format!("/plans/{PLAN}/funding"),
    ))
    .await
    .unwrap();
    until_count(&c2, "#funding-total", 1).await;

    let path = format!("/api/v1/plans/{PLAN}/actions/2.1.1");
    let (_, headers, _) = s.get(&s.viewer, &path).await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (status, _, outcome) = s
        .patch(
            &s.editor,
            &path,
            Some(&etag),
            json!({
                "funding_lines": [{"source": "PNRR", "programme": "M2C4", "measure": "Investimento 3.1",
                    "planned_cents": 100_000_000, "committed_cents": 60_000_000, "spent_cents": 10_000_000}],
                "instrument_links": [
                    {"instrument": "PTGM", "section": "Rete ecologica metropolitana",
                     "effect": "Esempio: le infrastrutture verdi entrano nella rete ecologica", "state": "in_progress"},
                    {"instrument": "DUP", "section": "Missione 9", "effect": "Esempio: diventa un obiettivo operativo",
                     "state": "achieved",
                     "dup_objective": {"level": "operational", "code": "ESEMPIO-OO-1", "title": "Esempio: rete verde metropolitana"}}
                ]
            }),
        )
        .await;
    assert!(status.is_success(), "{status}: {outcome}");

    let ptgm = "#instruments [data-instrument='PTGM'] [data-section='Rete ecologica metropolitana'] tr[data-action='2.1.1']";
    until_text(&c, ptgm, "In corso").await;
    until_text(
        &c,
        "#instruments [data-instrument='DUP'] [data-objective='ESEMPIO-OO-1']",
        "2.1.1",
    )
    .await;
    accessible(&c, "instruments").await;
    screenshot(&c, "instruments").await;

    // The link's state edited on the action page reaches the open instruments view.
    let e = driver.browser(1400, 1100).await;
    e.goto(&token_link(
        &s,
        &s.editor,
        &format!("/plans/{PLAN}/actions/2.1.1"),
    ))
    .await
    .unwrap();
    let state = "#field-instrument_links [data-line='1'] select.state";
    until_count(&e, state, 1).await;
    assert_eq!(value(&e, state).await, "in_progress");
    assert_eq!(
        value(&e, "#field-instrument_links [data-line='2'] input.dup_code").await,
        "ESEMPIO-OO-1"
    );
    e.execute(
        "const s = document.querySelector(arguments[0]); s.value = 'achieved'; s.dispatchEvent(new Event('change', {bubbles: true}));",
        vec![json!(state)],
    )
    .await
    .unwrap();
    replace_text(&e, "#edit-reason", "Esempio: effetto raggiunto").await;
    click(&e, "#save").await;
    until_saved(&e, "saved").await;
    until_text(&c, ptgm, "Raggiunto").await;
    let (_, _, stored) = s.get(&s.viewer, &path).await;
    assert_eq!(
        stored["instrument_links"][0]["state"], "achieved",
        "{stored}"
    );
    assert_eq!(
        stored["instrument_links"][1]["dup_objective"]["code"], "ESEMPIO-OO-1",
        "the other link kept its objective: {stored}"
    );
    accessible(&e, "action with instrument links").await;
    e.close().await.unwrap();

    until_text(&c2, "#funding-total [data-field='planned']", "1.000.000").await;
    until_text(
        &c2,
        "#funding-axes tr[data-key='2'] [data-field='committed']",
        "600.000",
    )
    .await;
    until_text(
        &c2,
        "#funding-missions tr[data-key='M2'] [data-field='spent']",
        "100.000",
    )
    .await;
    accessible(&c2, "funding").await;
    screenshot(&c2, "funding").await;

    // The report page: each file fetched with the token, its type and name shown.
    c2.goto(&format!("{}/#/plans/{PLAN}/report", s.base))
        .await
        .unwrap();
    until_count(&c2, "#report-pdf", 1).await;
    assert_eq!(value(&c2, "#report-from").await, "2021-01-01");
    assert_eq!(value(&c2, "#report-to").await, "2023-12-31");
    accessible(&c2, "report").await;
    for (button, kind) in [
        ("#report-pdf", "application/pdf"),
        ("#report-html", "text/html"),
        (
            "#export-actions-xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("#export-indicators-csv", "text/csv"),
        ("#export-pnrr", "text/csv"),
    ] {
        click(&c2, button).await;
        until(WAIT, &format!("{button} fetched"), || async {
            c2.execute(
                "const e = document.querySelector('#report-outcome [data-type]'); return e ? e.dataset.type : null;",
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .is_some_and(|t| t.starts_with(kind))
        })
        .await;
        c2.execute(
            "document.querySelector('#report-outcome').replaceChildren();",
            vec![],
        )
        .await
        .unwrap();
    }
    // A period that ends before it starts is refused, and said so.
    c2.execute(
        "document.querySelector('#report-from').value = '2024-01-01';",
        vec![],
    )
    .await
    .unwrap();
    click(&c2, "#report-pdf").await;
    until_count(&c2, "#report-outcome .error", 1).await;
    c.close().await.unwrap();
    c2.close().await.unwrap();
}
