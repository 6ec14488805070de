//! The end-to-end suite: each case drives a [`Server`] (either deployment) over HTTP
//! and the websocket as a client would.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{ORG, PLAN, Server};

pub async fn next_json<S>(ws: &mut S) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = m {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

pub async fn subscribe<S>(ws: &mut S, topics: &[&str], from: Option<u64>) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
        + futures::Sink<Message>
        + Unpin,
    <S as futures::Sink<Message>>::Error: std::fmt::Debug,
{
    let mut msg = json!({"type": "subscribe", "topics": topics});
    if let Some(f) = from {
        msg["from"] = json!(f);
    }
    ws.send(Message::text(msg.to_string())).await.unwrap();
    loop {
        let v = next_json(ws).await;
        if v["type"] == "subscribed" {
            return v;
        }
    }
}

pub async fn the_demo_plan_is_served_with_its_confirmed_structure(s: Server) {
    let (status, _, plans) = s.get(&s.viewer, "/api/v1/plans").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        plans.as_array().unwrap().iter().any(|p| p["code"] == PLAN),
        "{plans}"
    );
    let (status, headers, tree) = s.get(&s.viewer, &format!("/api/v1/plans/{PLAN}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("etag").is_some());
    assert_eq!(tree["title"], "Torino Metropoli aumentata");
    let axes = tree["axes"].as_array().unwrap();
    assert_eq!(axes.len(), 6, "the six axes the sources confirm");
    let strategies: usize = axes
        .iter()
        .map(|a| a["strategies"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        strategies, 10,
        "only the confirmed strategies, nothing invented"
    );
    let actions: usize = axes
        .iter()
        .flat_map(|a| a["strategies"].as_array().unwrap())
        .map(|s| s["actions"].as_array().unwrap().len())
        .sum();
    assert_eq!(actions, 10, "only the confirmed actions");
    assert_eq!(tree["rollup"]["status"], "not_started");
}

pub async fn tokens_and_roles_guard_every_route(s: Server) {
    let r = s
        .http
        .get(format!("{}/api/v1/plans", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let (status, _, _) = s.get("mp_not-a-real-token", "/api/v1/plans").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let before = s.head().await;
    let body = json!({"status": "started", "progress": 5, "note": "avvio", "as_of": "2022-03-01"});
    let (status, problem) = s
        .post(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/actions/2.1.1/progress"),
            body.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, _) = s
        .post(
            &s.reporter,
            &format!("/api/v1/plans/{PLAN}/axes"),
            json!({"code": "7", "name": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(s.head().await, before, "refused requests store nothing");
    let (status, outcome) = s
        .post(
            &s.reporter,
            &format!("/api/v1/plans/{PLAN}/actions/2.1.1/progress"),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    let position = outcome["position"].as_u64().unwrap();
    let (_, _, history) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/actions/2.1.1/history?min_position={position}"),
        )
        .await;
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event_type"], "ActionProgressReported");
    assert_eq!(last["actor"], "carla");
    assert_eq!(last["on_behalf_of"], ORG);
}

pub async fn progress_reaches_live_subscribers_and_reads_see_it(s: Server) {
    let mut ws = s.ws(&s.viewer).await;
    subscribe(
        &mut ws,
        &[&format!("plan:{PLAN}"), &format!("action:{PLAN}/2.1.1")],
        None,
    )
    .await;
    let body = json!({"status": "in_progress", "progress": 40, "note": "cantieri aperti", "as_of": "2022-09-30"});
    let (status, outcome) = s
        .post(
            &s.reporter,
            &format!("/api/v1/plans/{PLAN}/actions/2.1.1/progress"),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    let position = outcome["position"].as_u64().unwrap();
    let mut topics = Vec::new();
    for _ in 0..2 {
        let frame = next_json(&mut ws).await;
        assert_eq!(frame["position"], position);
        assert_eq!(frame["delta"]["event_type"], "ActionProgressReported");
        assert_eq!(frame["delta"]["payload"]["progress"], 40);
        topics.push(frame["topic"].as_str().unwrap().to_owned());
    }
    topics.sort();
    assert_eq!(
        topics,
        vec![format!("action:{PLAN}/2.1.1"), format!("plan:{PLAN}")]
    );
    let (_, headers, action) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/actions/2.1.1?min_position={position}"),
        )
        .await;
    assert_eq!(action["status"], "in_progress");
    assert_eq!(action["progress"], 40);
    assert!(headers.get("etag").is_some());
    let (_, _, tree) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}?min_position={position}"),
        )
        .await;
    let axis2 = tree["axes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "2")
        .unwrap()
        .clone();
    assert_eq!(axis2["rollup"]["status"], "in_progress");
    assert!(axis2["rollup"]["progress"].as_f64().unwrap() > 0.0);
}

pub async fn a_client_that_reconnects_with_from_misses_nothing(s: Server) {
    let mut ws = s.ws(&s.viewer).await;
    let ack = subscribe(&mut ws, &[&format!("dashboard:{PLAN}")], None).await;
    let seen = ack["position"].as_u64().unwrap();
    drop(ws);
    let mut positions = Vec::new();
    for (status, progress) in [("started", 10), ("in_progress", 20), ("in_progress", 30)] {
        let body =
            json!({"status": status, "progress": progress, "note": "", "as_of": "2022-10-01"});
        let (st, outcome) = s
            .post(
                &s.reporter,
                &format!("/api/v1/plans/{PLAN}/actions/3.1.1/progress"),
                body,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{outcome}");
        positions.push(outcome["position"].as_u64().unwrap());
    }
    let mut ws = s.ws(&s.viewer).await;
    subscribe(&mut ws, &[&format!("dashboard:{PLAN}")], Some(seen)).await;
    // the browser way: the token as a query parameter
    let url = format!("ws://{}/api/v1/live?access_token={}", s.addr, s.viewer);
    let (mut ws2, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    subscribe(&mut ws2, &[&format!("dashboard:{PLAN}")], Some(seen)).await;
    for ws in [&mut ws, &mut ws2] {
        let mut got = Vec::new();
        for _ in 0..positions.len() {
            got.push(next_json(ws).await["position"].as_u64().unwrap());
        }
        assert_eq!(got, positions, "the missed changes, in order");
    }
}

pub async fn concurrent_edits_merge_or_conflict_never_overwrite(s: Server) {
    let path = format!("/api/v1/plans/{PLAN}/actions/6.1.3");
    let (_, headers, _) = s.get(&s.viewer, &path).await;
    let base = headers["etag"].to_str().unwrap().to_owned();
    let (status, _, _) = s
        .patch(&s.editor, &path, None, json!({"title": "no if-match"}))
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED);
    let (status, _, a) = s
        .patch(
            &s.editor,
            &path,
            Some(&base),
            json!({"territorial_scope": "Zone omogenee montane"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert!(a.get("merged").is_none_or(|m| m == false));
    let (status, _, b) = s
        .patch(
            &s.editor2,
            &path,
            Some(&base),
            json!({"description": "Micro-équipe con assistenti sociali di comunità"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["merged"], true, "a stale edit of another field is merged");
    let before = s.head().await;
    let (status, _, c) = s
        .patch(
            &s.editor2,
            &path,
            Some(&base),
            json!({"territorial_scope": "Tutta la Città metropolitana"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{c}");
    assert_eq!(c["fields"], json!(["territorial_scope"]));
    assert_eq!(c["theirs"]["territorial_scope"], "Zone omogenee montane");
    assert_eq!(
        c["yours"]["territorial_scope"],
        "Tutta la Città metropolitana"
    );
    assert!(c["base"].get("territorial_scope").is_some());
    assert_eq!(s.head().await, before, "a conflict stores nothing");
    let position = b["position"].as_u64().unwrap();
    let (_, _, action) = s
        .get(&s.viewer, &format!("{path}?min_position={position}"))
        .await;
    assert_eq!(action["territorial_scope"], "Zone omogenee montane");
    assert_eq!(
        action["description"],
        "Micro-équipe con assistenti sociali di comunità"
    );
}

pub async fn bad_input_gets_problem_details_naming_the_field_and_stores_nothing(s: Server) {
    let before = s.head().await;
    let progress = format!("/api/v1/plans/{PLAN}/actions/2.1.2/progress");
    let cases = [
        (
            progress.clone(),
            json!({"status": "started", "progress": 1, "note": "", "as_of": "2022-01-01", "colour": "red"}),
            "colour",
        ),
        (
            progress.clone(),
            json!({"status": "started", "progress": "lots", "note": "", "as_of": "2022-01-01"}),
            "progress",
        ),
        (
            progress.clone(),
            json!({"status": "done", "progress": 1, "note": "", "as_of": "2022-01-01"}),
            "status",
        ),
        (
            progress.clone(),
            json!({"status": "started", "progress": 101, "note": "", "as_of": "2022-01-01"}),
            "progress",
        ),
        (
            progress.clone(),
            json!({"status": "started", "progress": 1, "note": "", "as_of": "2031-01-01"}),
            "as_of",
        ),
        (
            format!("/api/v1/plans/{PLAN}/axes"),
            json!({"code": "1.x", "name": "bad"}),
            "code",
        ),
    ];
    for (path, body, field) in cases {
        let r = s
            .http
            .post(format!("{}{path}", s.base))
            .bearer_auth(&s.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert!(status.is_client_error(), "{body} → {status}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["status"], status.as_u16());
        assert!(problem["title"].is_string() && problem["type"].is_string());
        assert_eq!(problem["field"], field, "{body} → {problem}");
    }
    let funding = json!({"funding_lines": [{"source": "PNRR", "planned_cents": -5}]});
    let (_, headers, _) = s
        .get(&s.viewer, &format!("/api/v1/plans/{PLAN}/actions/2.1.3"))
        .await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (status, _, problem) = s
        .patch(
            &s.editor,
            &format!("/api/v1/plans/{PLAN}/actions/2.1.3"),
            Some(&etag),
            funding,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["field"].as_str().unwrap().contains("planned_cents"),
        "{problem}"
    );
    let (status, _, _) = s
        .get(&s.viewer, &format!("/api/v1/plans/{PLAN}/actions/9.9.9"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, problem) = s
        .post(
            &s.reporter,
            "/api/v1/plans/NOPE/actions/1.1.1/progress",
            json!({"status": "started", "progress": 1, "note": "", "as_of": "2022-01-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    let huge = json!({"status": "started", "progress": 1, "note": "x".repeat(300 * 1024), "as_of": "2022-01-01"});
    let (status, problem) = s.post(&s.reporter, &progress, huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
    assert_eq!(s.head().await, before, "no bad request stored anything");
    // an impossible transition: nothing returns to not_started
    let ok = json!({"status": "started", "progress": 5, "note": "", "as_of": "2022-01-01"});
    let (status, _) = s.post(&s.reporter, &progress, ok).await;
    assert_eq!(status, StatusCode::OK);
    let head = s.head().await;
    let back = json!({"status": "not_started", "progress": 0, "note": "", "as_of": "2022-02-01"});
    let (status, problem) = s.post(&s.reporter, &progress, back).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["field"], "status");
    assert_eq!(s.head().await, head);
}

pub async fn agreements_need_two_parties_to_be_signed_and_show_on_their_actions(s: Server) {
    let (status, drafted) = s
        .post(&s.editor, &format!("/api/v1/plans/{PLAN}/agreements"), json!({"kind": "accordo", "title": "Accordo per il Gran Bosco", "subject": "Co-progettazione del programma di forestazione", "drafted_on": "2022-04-01"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{drafted}");
    let id = drafted["id"].as_str().unwrap().to_owned();
    let a = format!("/api/v1/agreements/{id}");
    assert_eq!(
        s.post(
            &s.editor,
            &format!("{a}/parties"),
            json!({"organisation": ORG, "role": "promoter"})
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        s.post(
            &s.editor,
            &format!("{a}/actions"),
            json!({"action": "2.1.3"})
        )
        .await
        .0,
        StatusCode::OK
    );
    let (status, problem) = s
        .post(
            &s.editor,
            &format!("{a}/sign"),
            json!({"signed_on": "2022-05-01"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "signing with one party: {problem}"
    );
    assert_eq!(
        s.post(
            &s.editor,
            &format!("{a}/parties"),
            json!({"organisation": "Unione montana Valli di Lanzo", "role": "party"})
        )
        .await
        .0,
        StatusCode::OK
    );
    let (status, c) = s.post(&s.editor, &format!("{a}/commitments"), json!({"party": ORG, "description": "progettazione", "amount_cents": 5_000_000, "funding_source": "OWN"})).await;
    assert_eq!(status, StatusCode::OK, "{c}");
    let (status, signed) = s
        .post(
            &s.editor,
            &format!("{a}/sign"),
            json!({"signed_on": "2022-05-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    let position = signed["position"].as_u64().unwrap();
    let (_, _, action) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/actions/2.1.3?min_position={position}"),
        )
        .await;
    assert_eq!(action["agreements"][0]["id"], id.as_str());
    assert_eq!(action["agreements"][0]["committed_cents"], 5_000_000);
    let (_, _, by_party) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/agreements/by-party"),
        )
        .await;
    let cm = by_party
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["organisation"] == ORG)
        .unwrap()
        .clone();
    assert_eq!(cm["committed_cents"], 5_000_000);
    let (_, _, dash) = s
        .get(&s.viewer, &format!("/api/v1/plans/{PLAN}/dashboard"))
        .await;
    assert_eq!(dash["funding"]["agreements_committed_cents"], 5_000_000);
    assert!(!dash["latest"].as_array().unwrap().is_empty());
}

pub async fn health_and_openapi_describe_every_route(s: Server) {
    let r = s
        .http
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = s
        .http
        .get(format!("{}/readyz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = s
        .http
        .get(format!("{}/openapi.json", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/plans",
        "/api/v1/plans/{plan}",
        "/api/v1/plans/{plan}/actions/{action}",
        "/api/v1/plans/{plan}/actions/{action}/progress",
        "/api/v1/plans/{plan}/dashboard",
        "/api/v1/plans/{plan}/agreements",
        "/api/v1/live",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(p), "{p} missing from openapi.json");
    }
    assert!(
        paths["/api/v1/plans/{plan}/actions/{action}"]
            .get("patch")
            .is_some()
    );
    let _ = &s.admin;
}

pub async fn a_table_meeting_decides_on_actions_and_their_history_says_who_and_why(s: Server) {
    let (status, created) = s
        .post(&s.editor, &format!("/api/v1/plans/{PLAN}/tables"), json!({"name": "Tavolo permanente sulla montagna", "kind": "permanent_mountain", "purpose": "Monitoraggio in itinere"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let table = created["id"].as_str().unwrap().to_owned();
    let (status, _) = s
        .post(
            &s.editor,
            &format!("/api/v1/tables/{table}/members"),
            json!({"organisation": "UNCEM Piemonte", "role": "member_by_right"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let r = s
        .http
        .post(format!("{}/api/v1/tables/{table}/meetings", s.base))
        .bearer_auth(&s.editor)
        .header("x-reason", "verbale della seduta")
        .json(&json!({"held_on": "2022-11-15", "title": "Seconda seduta", "decisions": [{"text": "Priorità alla rete dei parchi", "actions": ["2.1.2"]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let position = r.json::<Value>().await.unwrap()["position"]
        .as_u64()
        .unwrap();
    let (_, _, history) = s
        .get(
            &s.auditor().await,
            &format!("/api/v1/plans/{PLAN}/actions/2.1.2/history?min_position={position}"),
        )
        .await;
    let meeting = history
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "MeetingHeld")
        .expect("the decision is in the action's history")
        .clone();
    assert_eq!(meeting["actor"], "anna");
    assert_eq!(meeting["on_behalf_of"], ORG);
    assert_eq!(meeting["reason"], "verbale della seduta");
    assert!(meeting["recorded_at"].as_str().unwrap().contains('T'));
    let (_, _, t) = s.get(&s.viewer, &format!("/api/v1/tables/{table}")).await;
    assert_eq!(t["members"][0]["organisation"], "UNCEM Piemonte");
    assert_eq!(t["meetings"][0]["decisions"][0]["actions"][0], "2.1.2");
}

pub async fn only_an_admin_adopts_a_revision_which_freezes_a_numbered_version(s: Server) {
    let body = json!({"name": "Aggiornamento 2022", "act": "Deliberazione del Consiglio metropolitano n.71/2022", "adopted_on": "2022-12-22"});
    let (status, _) = s
        .post(
            &s.editor,
            &format!("/api/v1/plans/{PLAN}/revisions"),
            body.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, outcome) = s
        .post(&s.admin, &format!("/api/v1/plans/{PLAN}/revisions"), body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{outcome}");
    let position = outcome["position"].as_u64().unwrap();
    let (_, _, tree) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}?min_position={position}"),
        )
        .await;
    assert_eq!(tree["revisions"][0]["number"], 1);
    assert_eq!(
        tree["revisions"][0]["act"],
        "Deliberazione del Consiglio metropolitano n.71/2022"
    );
    let (_, _, plans) = s.get(&s.viewer, "/api/v1/plans").await;
    assert_eq!(plans[0]["revision"], 1);
}

/// Run with a live channel of 8 events: with 11 MB of frames the slow client's socket
/// fills up, its session falls off the live channel and must resume from the log.
pub async fn a_slow_client_does_not_hold_back_the_others_and_still_gets_everything_in_order(
    s: Server,
) {
    let topic = format!("action:{PLAN}/5.1.1");
    let mut slow = s.ws(&s.viewer).await;
    subscribe(&mut slow, &[&topic], None).await;
    let mut fast = s.ws(&s.viewer).await;
    subscribe(&mut fast, &[&topic], None).await;
    // The slow client reads nothing while the reports go out; the fast one keeps up.
    let mut positions = Vec::new();
    let note = "n".repeat(9_000);
    for i in 0..1200u32 {
        let status = if i == 0 { "started" } else { "in_progress" };
        let body =
            json!({"status": status, "progress": i % 100, "note": note, "as_of": "2023-01-01"});
        let (st, outcome) = s
            .post(
                &s.reporter,
                &format!("/api/v1/plans/{PLAN}/actions/5.1.1/progress"),
                body,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{outcome}");
        let p = outcome["position"].as_u64().unwrap();
        positions.push(p);
        assert_eq!(
            next_json(&mut fast).await["position"],
            p,
            "the fast client keeps up"
        );
    }
    // The slow client now reads what its session sent before giving up on it (after
    // SEND_TIMEOUT of a blocked socket), then resumes from the last position it saw.
    let mut got: Vec<u64> = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), slow.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                got.push(v["position"].as_u64().unwrap());
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) | Err(_) => break,
        }
        if got.len() == positions.len() {
            break;
        }
    }
    if got.len() < positions.len() {
        let mut again = s.ws(&s.viewer).await;
        subscribe(
            &mut again,
            &[&topic],
            got.last().copied().or(Some(positions[0] - 1)),
        )
        .await;
        while got.len() < positions.len() {
            got.push(next_json(&mut again).await["position"].as_u64().unwrap());
        }
    }
    assert_eq!(
        got, positions,
        "the slow client gets every change, in order, resuming by position"
    );
}
