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
    // Who a token stands for, and what its role may do (what a page offers).
    let (status, _, me) = s.get(&s.reporter, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me,
        json!({"actor": "carla", "organisation": ORG, "role": "reporter",
               "may": {"edit": false, "report": true, "administer": false, "audit": false}})
    );
    let (_, _, me) = s.get(&s.editor, "/api/v1/me").await;
    assert_eq!(
        me["may"],
        json!({"edit": true, "report": true, "administer": false, "audit": false})
    );
    let (_, _, me) = s.get(&s.auditor().await, "/api/v1/me").await;
    assert_eq!(
        me["may"],
        json!({"edit": false, "report": false, "administer": false, "audit": true})
    );
    let (status, _, _) = s.get("mp_not-a-real-token", "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A browser's websocket carries its token as a protocol, out of the URL; the server
    // answers with `metroplan`, never the token.
    let open = |token: String| {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = format!("ws://{}/api/v1/live", s.addr)
            .into_client_request()
            .unwrap();
        req.headers_mut().insert(
            "sec-websocket-protocol",
            format!("metroplan, bearer.{token}").parse().unwrap(),
        );
        tokio_tungstenite::connect_async(req)
    };
    let (mut ws, response) = open(s.viewer.clone()).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "metroplan");
    assert_eq!(next_json(&mut ws).await["type"], "hello");
    match open("mp_not-a-real-token".to_owned()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
        other => panic!("a bad token opened a websocket: {other:?}"),
    }
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
        "/api/v1/plans/{plan}/indicators",
        "/api/v1/plans/{plan}/indicators/{indicator}",
        "/api/v1/plans/{plan}/indicators/{indicator}/retire",
        "/api/v1/plans/{plan}/indicators/{indicator}/measurements",
        "/api/v1/plans/{plan}/indicators/{indicator}/measurements/{measurement}/corrections",
        "/api/v1/plans/{plan}/indicators/measurements/import",
        "/api/v1/plans/{plan}/instruments",
        "/api/v1/plans/{plan}/instruments/{instrument}",
        "/api/v1/plans/{plan}/funding",
        "/api/v1/plans/{plan}/campaigns",
        "/api/v1/plans/{plan}/campaigns/{campaign}/results",
        "/api/v1/questionnaire/{secret}/answers",
        "/api/v1/live",
        "/api/v1/plans/{plan}/diff",
        "/api/v1/audit/events",
        "/api/v1/audit/events.jsonl",
        "/api/v1/audit/events.csv",
        "/api/v1/audit/read-models",
        "/feeds/revisions.json",
        "/api/v1/public/plans/{plan}/revisions/{number}",
        "/api/v1/plans/{plan}/report",
        "/api/v1/plans/{plan}/exports/{file}",
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
    let indicator = &paths["/api/v1/plans/{plan}/indicators/{indicator}"];
    assert!(indicator.get("get").is_some() && indicator.get("patch").is_some());
    assert!(
        paths["/api/v1/plans/{plan}/indicators/{indicator}/retire"]
            .get("post")
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

/// Reports progress on `action` and answers the position.
async fn report(s: &Server, action: &str, status: &str, progress: u32) -> u64 {
    let body = json!({"status": status, "progress": progress, "note": format!("{progress}%"), "as_of": "2023-01-01"});
    let (st, outcome) = s
        .post(
            &s.reporter,
            &format!("/api/v1/plans/{PLAN}/actions/{action}/progress"),
            body,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{outcome}");
    outcome["position"].as_u64().unwrap()
}

async fn adopt(s: &Server, name: &str, act: &str, on: &str) -> u64 {
    let (st, outcome) = s
        .post(
            &s.admin,
            &format!("/api/v1/plans/{PLAN}/revisions"),
            json!({"name": name, "act": act, "adopted_on": on}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{outcome}");
    outcome["position"].as_u64().unwrap()
}

fn node<'a>(tree: &'a Value, action: &str) -> &'a Value {
    tree["axes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["strategies"].as_array().unwrap())
        .flat_map(|st| st["actions"].as_array().unwrap())
        .find(|a| a["code"] == action)
        .unwrap_or_else(|| panic!("action {action} not in the tree"))
}

pub async fn auditors_see_the_plan_as_it_stood_at_any_point_and_what_changed_between_two(
    s: Server,
) {
    let action = "2.1.1";
    let path = format!("/api/v1/plans/{PLAN}/actions/{action}");
    let start = s.head().await;
    let first = report(&s, action, "started", 30).await;
    let r1 = adopt(
        &s,
        "Prima revisione",
        "Deliberazione n.1/2022",
        "2022-06-30",
    )
    .await;
    let (_, headers, _) = s.get(&s.editor, &format!("{path}?min_position={r1}")).await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (st, _, edited) = s
        .patch(
            &s.editor,
            &path,
            Some(&etag),
            json!({"title": "Titolo rivisto nel 2022"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{edited}");
    let second = report(&s, action, "in_progress", 60).await;
    let r2 = adopt(
        &s,
        "Aggiornamento 2022",
        "Deliberazione n.71/2022",
        "2022-12-22",
    )
    .await;

    // The plan and the action as they stood at each point: status, progress, history.
    let (st, _, before) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}?at={start}&min_position={r2}"),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{before}");
    assert_eq!(before["position"], start);
    assert_eq!(node(&before, action)["status"], "not_started");
    assert_eq!(before["revisions"], json!([]));
    let (_, _, then) = s.get(&s.viewer, &format!("{path}?at={first}")).await;
    assert_eq!(
        (then["status"].as_str(), then["progress"].as_u64()),
        (Some("started"), Some(30))
    );
    let (_, _, now) = s.get(&s.viewer, &path).await;
    assert_eq!(
        (now["status"].as_str(), now["progress"].as_u64()),
        (Some("in_progress"), Some(60))
    );
    assert_eq!(now["title"], "Titolo rivisto nel 2022");
    let (_, _, history) = s
        .get(&s.viewer, &format!("{path}/history?at={first}"))
        .await;
    let positions: Vec<u64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["position"].as_u64().unwrap())
        .collect();
    assert_eq!(
        positions.last(),
        Some(&first),
        "history ends at the point asked"
    );
    let (_, _, full) = s.get(&s.viewer, &format!("{path}/history")).await;
    assert!(full.as_array().unwrap().len() > positions.len());

    // `as_of` is the moment an event was recorded: the plan after it, before the next.
    let auditor = s.auditor().await;
    let (st, _, trail) = s
        .get(
            &auditor,
            &format!("/api/v1/audit/events?after={}&limit=1", second - 1),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{trail}");
    let recorded_at = trail["events"][0]["recorded_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(trail["events"][0]["position"], second);
    let as_of: String = recorded_at.replace('+', "%2B");
    let (st, _, tree) = s
        .get(&s.viewer, &format!("/api/v1/plans/{PLAN}?as_of={as_of}"))
        .await;
    assert_eq!(st, StatusCode::OK, "{tree}");
    assert_eq!(tree["position"], second);
    assert_eq!(node(&tree, action)["progress"], 60);
    assert_eq!(tree["revisions"].as_array().unwrap().len(), 1);

    // Bad points are refused, naming the parameter, and store nothing.
    let head = s.head().await;
    for (query, status, field) in [
        (
            format!("at={}", head + 1000),
            StatusCode::UNPROCESSABLE_ENTITY,
            "at",
        ),
        ("as_of=ieri".to_owned(), StatusCode::BAD_REQUEST, "as_of"),
        (
            "as_of=2999-01-01T00:00:00Z".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "as_of",
        ),
        (
            format!("at=1&as_of={as_of}"),
            StatusCode::BAD_REQUEST,
            "as_of",
        ),
        ("at=minus".to_owned(), StatusCode::BAD_REQUEST, "at"),
    ] {
        let (st, _, problem) = s
            .get(&s.viewer, &format!("/api/v1/plans/{PLAN}?{query}"))
            .await;
        assert_eq!(st, status, "{query}: {problem}");
        assert_eq!(problem["field"], field, "{query}: {problem}");
    }
    assert_eq!(s.head().await, head);

    // Between the two adopted revisions: the title and the progress changed.
    let (st, _, diff) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/diff?from_revision=1&to_revision=2"),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{diff}");
    assert_eq!(diff["from"]["revision"], 1);
    assert_eq!(diff["to"]["revision"], 2);
    let changed = diff["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "only action {action} changed: {diff}");
    assert_eq!(changed[0]["code"], action);
    let fields: Vec<(&str, &Value, &Value)> = changed[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["field"].as_str().unwrap(), &c["old"], &c["new"]))
        .collect();
    let title_before = before_title(&s, action, r1).await;
    assert!(
        fields.contains(&(
            "title",
            &json!(title_before),
            &json!("Titolo rivisto nel 2022")
        )),
        "{diff}"
    );
    assert!(
        fields.contains(&("progress", &json!(30), &json!(60))),
        "{diff}"
    );
    assert!(
        fields.contains(&("status", &json!("started"), &json!("in_progress"))),
        "{diff}"
    );
    assert_eq!(diff["added"], json!([]));
    assert_eq!(diff["removed"], json!([]));
    // From before anything was reported to now, by position.
    let (_, _, since) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/diff?from_at={start}"),
        )
        .await;
    assert_eq!(since["to"]["position"].as_u64(), Some(s.head().await));
    assert_eq!(since["changed"][0]["code"], action);
    let (st, _, problem) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/diff?from_revision=9"),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{problem}");
    let (st, _, problem) = s
        .get(&s.viewer, &format!("/api/v1/plans/{PLAN}/diff"))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (st, _, problem) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/diff?from_revision=1&from_at=3"),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    // The public reads adopted revisions without a token.
    let r = s
        .http
        .get(format!("{}/feeds/revisions.json", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/feed+json");
    let feed: Value = r.json().await.unwrap();
    assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
    let items = feed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0]["_metroplan"]["revision"]["number"], 2,
        "newest first"
    );
    assert_eq!(items[0]["date_published"], "2022-12-22T00:00:00Z");
    let url = items[1]["url"].as_str().unwrap();
    assert!(
        url.ends_with(&format!("/api/v1/public/plans/{PLAN}/revisions/1")),
        "{url}"
    );
    let first_revision: Value = s.http.get(url).send().await.unwrap().json().await.unwrap();
    let at_position = items[1]["_metroplan"]["revision"]["at_position"]
        .as_u64()
        .unwrap();
    assert_eq!(first_revision["position"], at_position);
    assert_eq!(node(&first_revision, action)["title"], json!(title_before));
    let r = s
        .http
        .get(format!("{}/api/v1/public/plans/{PLAN}/revisions/7", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn before_title(s: &Server, action: &str, at: u64) -> String {
    let (_, _, a) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/actions/{action}?at={at}"),
        )
        .await;
    a["title"].as_str().unwrap().to_owned()
}

pub async fn the_audit_trail_filters_pages_and_exports_and_auditors_write_nothing(s: Server) {
    let auditor = s.auditor().await;
    for a in ["2.1.1", "5.1.1"] {
        for p in [10, 20, 30] {
            report(&s, a, if p == 10 { "started" } else { "in_progress" }, p).await;
        }
    }
    let head = s.head().await;
    // Only auditors (and admins) read the trail.
    for token in [&s.viewer, &s.editor, &s.reporter] {
        let (st, _, _) = s.get(token, "/api/v1/audit/events").await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
    let stream = format!("progress:{PLAN}/2.1.1");
    let (st, _, page) = s
        .get(
            &auditor,
            &format!("/api/v1/audit/events?stream={stream}&limit=2&min_position={head}"),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{page}");
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    let e = &page["events"][0];
    assert_eq!(e["stream"], stream);
    assert_eq!(e["event_type"], "ActionProgressReported");
    assert_eq!(e["actor"], "carla");
    assert_eq!(e["on_behalf_of"], ORG);
    assert_eq!(e["payload"]["progress"], 10);
    assert_eq!(e["hash"].as_str().unwrap().len(), 64);
    let next = page["next_after"].as_u64().unwrap();
    let (_, _, rest) = s
        .get(
            &auditor,
            &format!("/api/v1/audit/events?stream={stream}&limit=2&after={next}"),
        )
        .await;
    assert_eq!(rest["events"].as_array().unwrap().len(), 1);
    assert_eq!(rest["events"][0]["payload"]["progress"], 30);
    assert!(rest["next_after"].is_null());
    // By actor, organisation, type and time.
    let (_, _, by_carla) = s
        .get(
            &auditor,
            "/api/v1/audit/events?actor=carla&event_type=ActionProgressReported&limit=500",
        )
        .await;
    assert_eq!(by_carla["events"].as_array().unwrap().len(), 6);
    let (_, _, by_nobody) = s
        .get(&auditor, "/api/v1/audit/events?organisation=Nessuno")
        .await;
    assert_eq!(by_nobody["events"], json!([]));
    let (_, _, all) = s.get(&auditor, "/api/v1/audit/events?limit=500").await;
    let events = all["events"].as_array().unwrap();
    let t = events[events.len() - 3]["recorded_at"]
        .as_str()
        .unwrap()
        .replace('+', "%2B");
    let (_, _, late) = s
        .get(
            &auditor,
            &format!("/api/v1/audit/events?from={t}&limit=500"),
        )
        .await;
    assert!(late["events"].as_array().unwrap().len() >= 3);
    let (_, _, early) = s
        .get(&auditor, &format!("/api/v1/audit/events?to={t}&limit=500"))
        .await;
    assert!(early["events"].as_array().unwrap().len() <= events.len() - 2);
    // Bad filters name the parameter.
    for (query, status, field) in [
        ("limit=0", StatusCode::UNPROCESSABLE_ENTITY, "limit"),
        ("limit=501", StatusCode::UNPROCESSABLE_ENTITY, "limit"),
        (
            "from=2023-01-02T00:00:00Z&to=2023-01-01T00:00:00Z",
            StatusCode::UNPROCESSABLE_ENTITY,
            "to",
        ),
        ("after=x", StatusCode::BAD_REQUEST, "after"),
        ("colour=red", StatusCode::BAD_REQUEST, ""),
    ] {
        let (st, _, problem) = s
            .get(&auditor, &format!("/api/v1/audit/events?{query}"))
            .await;
        assert_eq!(st, status, "{query}: {problem}");
        if !field.is_empty() {
            assert_eq!(problem["field"], field, "{query}: {problem}");
        }
    }
    // Exports hold every matching event, whatever the page size.
    let export = |fmt: &str| {
        s.http
            .get(format!(
                "{}/api/v1/audit/events.{fmt}?event_type=ActionProgressReported",
                s.base
            ))
            .bearer_auth(&auditor)
            .send()
    };
    let r = export("jsonl").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/jsonl");
    let text = r.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert!(
        lines
            .windows(2)
            .all(|w| w[0]["position"].as_u64() < w[1]["position"].as_u64())
    );
    let r = export("csv").await.unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = r.text().await.unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rows.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header[0], "position");
    assert_eq!(header.last().unwrap(), "payload");
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 6);
    for (record, line) in records.iter().zip(&lines) {
        assert_eq!(record[0], line["position"].to_string());
        let payload: Value = serde_json::from_str(&record[13]).unwrap();
        assert_eq!(payload, line["payload"]);
    }
    let (st, _, _) = s.get(&s.viewer, "/api/v1/audit/events.csv").await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // The auditor reads everything and writes nothing.
    let before = s.head().await;
    let attempts = [
        (
            format!("/api/v1/plans/{PLAN}/actions/2.1.1/progress"),
            json!({"status": "in_progress", "progress": 50, "note": "x", "as_of": "2023-01-01"}),
        ),
        (
            format!("/api/v1/plans/{PLAN}/axes"),
            json!({"code": "7", "name": "Asse"}),
        ),
        (
            format!("/api/v1/plans/{PLAN}/revisions"),
            json!({"name": "x", "act": "y", "adopted_on": "2023-01-01"}),
        ),
        (
            format!("/api/v1/plans/{PLAN}/tables"),
            json!({"name": "Tavolo", "kind": "coordination", "purpose": "x"}),
        ),
        (
            "/api/v1/plans".to_owned(),
            json!({"code": "X", "title": "x", "owner": "x", "period_from": "2024-01-01", "period_to": "2026-12-31"}),
        ),
    ];
    for (path, body) in attempts {
        let (st, problem) = s.post(&auditor, &path, body).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}: {problem}");
    }
    let (_, headers, _) = s
        .get(&auditor, &format!("/api/v1/plans/{PLAN}/actions/2.1.1"))
        .await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (st, _, _) = s
        .patch(
            &auditor,
            &format!("/api/v1/plans/{PLAN}/actions/2.1.1"),
            Some(&etag),
            json!({"title": "x"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(
        s.head().await,
        before,
        "nothing the auditor sent was stored"
    );
}

pub async fn a_full_replay_equals_the_live_read_models_and_a_partial_one_the_past(s: Server) {
    let auditor = s.auditor().await;
    report(&s, "2.1.1", "started", 15).await;
    let middle = report(&s, "5.1.1", "started", 40).await;
    report(&s, "2.1.1", "in_progress", 45).await;
    adopt(
        &s,
        "Aggiornamento 2022",
        "Deliberazione n.71/2022",
        "2022-12-22",
    )
    .await;
    let head = s.head().await;
    let (st, _, live) = s
        .get(
            &auditor,
            &format!("/api/v1/audit/read-models?min_position={head}"),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{live}");
    assert_eq!(live["position"], head);
    let (st, _, _) = s.get(&s.viewer, "/api/v1/audit/read-models").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let replay = |to: Option<u64>| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("replay.json");
        let mut args: Vec<String> =
            vec!["replay".into(), "--out".into(), out.display().to_string()];
        if let Some(to) = to {
            args.extend(["--to".into(), to.to_string()]);
        }
        args.extend(s.log_args.iter().cloned());
        let run = std::process::Command::new(crate::harness::bin("metroplan"))
            .args(&args)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "replay: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        serde_json::from_slice::<Value>(&std::fs::read(out).unwrap()).unwrap()
    };
    let full = replay(None);
    assert_eq!(full, live, "a full replay equals the live read models");
    let past = replay(Some(middle));
    let (_, _, then) = s
        .get(&auditor, &format!("/api/v1/audit/read-models?at={middle}"))
        .await;
    assert_eq!(past["position"], middle);
    assert_eq!(
        past, then,
        "a replay up to a position equals time travel to it"
    );
    assert_ne!(past, full);
    let run = std::process::Command::new(crate::harness::bin("metroplan"))
        .args(["replay", "--to", &(head + 10).to_string()])
        .args(&s.log_args)
        .output()
        .unwrap();
    assert!(!run.status.success(), "a replay past the head is refused");
}

/// Posts a CSV file to the import route.
async fn import_csv(s: &Server, token: &str, csv: &str, dry_run: bool) -> (StatusCode, Value) {
    let r = s
        .http
        .post(format!(
            "{}/api/v1/plans/{PLAN}/indicators/measurements/import?dry_run={dry_run}",
            s.base
        ))
        .bearer_auth(token)
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// Context indicators on strategy 2.1 of the demo plan. The figures are examples,
/// labelled so, never official data.
pub async fn context_indicators_are_measured_corrected_imported_and_classified_with_the_rule_version(
    s: Server,
) {
    const CODE: &str = "ESEMPIO-2.1-01";
    let base = format!("/api/v1/plans/{PLAN}/indicators");
    let mut ws = s.ws(&s.viewer).await;
    subscribe(&mut ws, &[&format!("indicator:{PLAN}/{CODE}")], None).await;

    let definition = json!({
        "code": CODE,
        "strategy": "2.1",
        "name": "ESEMPIO - Superficie forestale metropolitana (dati illustrativi, non ufficiali)",
        "unit": "ha",
        "source": "Esempio per i test: dati non ufficiali",
        "direction": "increase",
        "baseline_value": "1000",
        "baseline_year": 2020,
        "target_value": "1300",
        "target_year": 2023,
        "territory": ORG,
    });
    let (status, body) = s.post(&s.reporter, &base, definition.clone()).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a reporter does not define: {body}"
    );
    let mut wrong = definition.clone();
    wrong["strategy"] = json!("9.9");
    let (status, body) = s.post(&s.editor, &base, wrong).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "strategy");
    let (status, body) = s.post(&s.editor, &base, definition).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["stream"], format!("indicator:{PLAN}/{CODE}"));

    // A measurement by a reporter, live on the indicator's topic.
    let measurements = format!("{base}/{CODE}/measurements");
    let m2021 = json!({"period": "2021", "territory": ORG, "value": "1080", "source_note": "Esempio, non ufficiale"});
    let (status, recorded) = s.post(&s.reporter, &measurements, m2021.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{recorded}");
    let recorded_at = recorded["position"].as_u64().unwrap();
    loop {
        let frame = next_json(&mut ws).await;
        if frame["delta"]["event_type"] == "MeasurementRecorded" {
            assert_eq!(frame["topic"], format!("indicator:{PLAN}/{CODE}"));
            assert_eq!(frame["position"], recorded_at);
            assert_eq!(frame["delta"]["payload"]["value"], "1080");
            break;
        }
    }
    let (status, body) = s.post(&s.reporter, &measurements, m2021).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "the same period and territory twice: {body}"
    );
    assert_eq!(body["field"], "period");

    // A correction keeps the original.
    let (status, corrected) = s
        .post(
            &s.reporter,
            &format!("{measurements}/1/corrections"),
            json!({"value": "1100", "reason": "Rettifica della fonte (esempio)"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{corrected}");
    let position = corrected["position"].as_u64().unwrap();
    let (_, _, view) = s
        .get(&s.viewer, &format!("{base}/{CODE}?min_position={position}"))
        .await;
    let first = &view["series"][0];
    assert_eq!(
        (first["value"].as_str(), first["original_value"].as_str()),
        (Some("1100"), Some("1080"))
    );
    assert_eq!(first["corrections"][0]["previous_value"], "1080");
    assert_eq!(
        first["corrections"][0]["reason"],
        "Rettifica della fonte (esempio)"
    );
    assert_eq!(view["trend"], "insufficient_data");
    assert_eq!(view["rule_version"], "trend-v1");
    // As it stood before the correction.
    let (_, _, before) = s
        .get(&s.viewer, &format!("{base}/{CODE}?at={recorded_at}"))
        .await;
    assert_eq!(before["series"][0]["value"], "1080");
    assert_eq!(before["series"][0]["corrections"], json!([]));

    // A dry run with bad rows reports each with its line and stores nothing.
    let head = s.head().await;
    let header_only = "indicator;period;territory;value\n";
    let (status, problem) = import_csv(&s, &s.viewer, header_only, true).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a viewer imports nothing: {problem}"
    );
    let r = s
        .http
        .post(format!(
            "{}{base}/measurements/import?dry_run=perhaps",
            s.base
        ))
        .bearer_auth(&s.reporter)
        .body(header_only)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["field"], "dry_run", "{problem}");
    let r = s
        .http
        .post(format!("{}{base}/measurements/import", s.base))
        .bearer_auth(&s.reporter)
        .body(vec![0xff_u8, 0xfe, b';'])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "not UTF-8");
    let bad = format!(
        "indicator;period;territory;value;source_note\n\
         {CODE};2022;{ORG};1.210,5;Esempio\n\
         NON-ESISTE;2022;{ORG};3;Esempio\n\
         {CODE};2023;{ORG};12.5;Esempio\n\
         {CODE};2021;{ORG};1.000;Esempio\n\
         {CODE};2023;{ORG}\n"
    );
    for dry_run in [true, false] {
        let (status, problem) = import_csv(&s, &s.reporter, &bad, dry_run).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        let lines: Vec<u64> = problem["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["line"].as_u64().unwrap())
            .collect();
        assert_eq!(lines, vec![3, 4, 5, 6], "{problem}");
        assert!(
            problem["rows"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("NON-ESISTE"),
            "{problem}"
        );
    }
    assert_eq!(s.head().await, head, "nothing stored");

    // A valid file: the dry run stores nothing, the import stores it.
    let good = format!(
        "indicator;period;territory;value;source_note\n\
         {CODE};2022;{ORG};1.210,5;Esempio, non ufficiale\n\
         {CODE};2022;Ivrea;12,5;Esempio, non ufficiale\n"
    );
    let (status, dry) = import_csv(&s, &s.reporter, &good, true).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["import"]["dry_run"], true);
    assert_eq!(dry["import"]["rows"], 2);
    assert_eq!(s.head().await, head, "a dry run stores nothing");
    let (status, done) = import_csv(&s, &s.reporter, &good, false).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["import"]["indicators"][0]["rows"], 2);
    let position = done["position"].as_u64().unwrap();
    assert_eq!(s.head().await, head + 2);

    // Read with trend and rule version: 210.5 of 300 ha after two of three years.
    let (status, _, list) = s
        .get(&s.viewer, &format!("{base}?min_position={position}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["rule_version"], "trend-v1");
    let strategy = list["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["strategy"] == "2.1")
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(
        strategy["name"],
        "Costruire e infrastrutturare la metropoli verde"
    );
    let indicator = strategy["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["code"] == CODE)
        .unwrap();
    assert_eq!(
        indicator["latest"],
        json!({"period": "2022", "value": "1210.5"})
    );
    assert_eq!(indicator["trend"], "improving");
    assert_eq!(indicator["on_track"], "on_track");
    assert_eq!(indicator["rule_version"], "trend-v1");
    assert_eq!(indicator["measurements"], 3);
    let (_, _, view) = s.get(&s.viewer, &format!("{base}/{CODE}")).await;
    let territories: Vec<&str> = view["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["territory"].as_str().unwrap())
        .collect();
    assert_eq!(
        territories,
        vec![ORG, ORG, "Ivrea"],
        "its own territory first"
    );
}

/// An indicator's definition is edited with `If-Match` (428 without), a stale edit
/// merges when its fields were not changed since and is a 409 with base, theirs and
/// yours when they were; bad values name the field and store nothing; a retired
/// indicator still reads, with the reason, and takes no more measurements, edits or
/// imports. Example figures, not official data.
pub async fn a_context_indicator_is_edited_with_if_match_merged_or_in_conflict_and_retired(
    s: Server,
) {
    const CODE: &str = "ESEMPIO-2.1-02";
    let base = format!("/api/v1/plans/{PLAN}/indicators");
    let one = format!("{base}/{CODE}");
    let mut ws = s.ws(&s.viewer).await;
    subscribe(
        &mut ws,
        &[&format!("indicator:{PLAN}/{CODE}"), &format!("plan:{PLAN}")],
        None,
    )
    .await;
    let (status, defined) = s
        .post(
            &s.editor,
            &base,
            json!({
                "code": CODE,
                "strategy": "2.1",
                "name": "ESEMPIO - Aree verdi fruibili (dati illustrativi, non ufficiali)",
                "unit": "ha",
                "source": "Esempio per i test: dati non ufficiali",
                "direction": "increase",
                "baseline_value": "1000",
                "baseline_year": 2020,
                "target_value": "1300",
                "target_year": 2023,
                "territory": ORG,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{defined}");
    let defined_at = defined["position"].as_u64().unwrap();
    let (status, headers, view) = s
        .get(&s.viewer, &format!("{one}?min_position={defined_at}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(headers["etag"], "\"1\"", "the ETag is the stream's version");
    assert_eq!(
        (view["version"].as_u64(), &view["retired"]),
        (Some(1), &json!(false))
    );

    // No If-Match: 428 and nothing stored; a reporter may not edit.
    let head = s.head().await;
    let rename = json!({"name": "ESEMPIO - Aree verdi fruibili per abitante (non ufficiale)", "target_value": "1400"});
    let (status, _, problem) = s.patch(&s.editor, &one, None, rename.clone()).await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED, "{problem}");
    assert_eq!(problem["field"], "If-Match");
    let (status, _, problem) = s
        .patch(&s.reporter, &one, Some("\"1\""), rename.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(s.head().await, head);

    // With If-Match: edited, live on both topics.
    let (status, headers, edited) = s.patch(&s.editor, &one, Some("\"1\""), rename).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(
        (
            edited["version"].as_u64(),
            edited["merged"].as_bool().unwrap_or(false),
            &edited["events"]
        ),
        (Some(2), false, &json!(["IndicatorEdited"]))
    );
    assert_eq!(headers["etag"], "\"2\"");
    let mut topics = Vec::new();
    while topics.len() < 2 {
        let frame = next_json(&mut ws).await;
        if frame["delta"]["event_type"] == "IndicatorEdited" {
            assert_eq!(frame["delta"]["payload"]["target_value"], "1400", "{frame}");
            topics.push(frame["topic"].as_str().unwrap().to_owned());
        }
    }
    topics.sort();
    assert_eq!(
        topics,
        vec![format!("indicator:{PLAN}/{CODE}"), format!("plan:{PLAN}")]
    );

    // A measurement moves the version on; an edit based on version 1 of a field not
    // changed since merges.
    let (status, recorded) = s
        .post(
            &s.reporter,
            &format!("{one}/measurements"),
            json!({"period": "2022", "territory": ORG, "value": "1250", "source_note": "Esempio"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{recorded}");
    let (status, _, merged) = s
        .patch(&s.editor, &one, Some("\"1\""), json!({"unit": "ettari"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(
        (merged["version"].as_u64(), &merged["merged"]),
        (Some(4), &json!(true))
    );

    // Based on version 1 too, but the target changed since: base, theirs and yours.
    let head = s.head().await;
    let (status, _, conflict) = s
        .patch(
            &s.editor,
            &one,
            Some("\"1\""),
            json!({"target_value": "1500"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(conflict["fields"], json!(["target_value"]));
    assert_eq!(
        (&conflict["base"], &conflict["theirs"], &conflict["yours"]),
        (
            &json!({"target_value": "1300"}),
            &json!({"target_value": "1400"}),
            &json!({"target_value": "1500"})
        )
    );
    assert_eq!(
        (
            conflict["base_version"].as_u64(),
            conflict["current_version"].as_u64()
        ),
        (Some(1), Some(4))
    );

    // Bad values name the field; nothing stored.
    for (body, status, field) in [
        (
            json!({"target_year": 2019}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "target_year",
        ),
        (
            json!({"target_value": "900"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "target_value",
        ),
        (
            json!({"baseline_value": "1.000,5"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "baseline_value",
        ),
        (
            json!({"direction": "up"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "direction",
        ),
        (
            json!({"name": " "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY, "body"),
        (
            json!({"unit": "ettari"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body",
        ),
        (
            json!({"baseline_year": "2020"}),
            StatusCode::BAD_REQUEST,
            "baseline_year",
        ),
        (
            json!({"strategy": "3.1"}),
            StatusCode::BAD_REQUEST,
            "strategy",
        ),
        (json!({"code": "ALTRO"}), StatusCode::BAD_REQUEST, "code"),
    ] {
        let (got, _, problem) = s.patch(&s.editor, &one, Some("\"4\""), body.clone()).await;
        assert_eq!(got, status, "{body}: {problem}");
        assert_eq!(problem["field"], field, "{body}: {problem}");
    }
    assert_eq!(s.head().await, head, "nothing stored");

    // The definition reads edited; as it stood before, with `at`.
    let (_, headers, view) = s
        .get(&s.viewer, &format!("{one}?min_position={head}"))
        .await;
    assert_eq!(headers["etag"], "\"4\"");
    assert_eq!(
        (
            &view["name"],
            &view["unit"],
            &view["target_value"],
            &view["strategy"]
        ),
        (
            &json!("ESEMPIO - Aree verdi fruibili per abitante (non ufficiale)"),
            &json!("ettari"),
            &json!("1400"),
            &json!("2.1")
        )
    );
    let (_, _, before) = s.get(&s.viewer, &format!("{one}?at={defined_at}")).await;
    assert_eq!(
        (&before["unit"], &before["target_value"]),
        (&json!("ha"), &json!("1300"))
    );

    // Retired: editors and admins, with a reason, once.
    let retire = format!("{one}/retire");
    let reason =
        json!({"reason": "Sostituito da un indicatore con fonte più aggiornata (esempio)"});
    let (status, problem) = s.post(&s.reporter, &retire, reason.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, problem) = s.post(&s.editor, &retire, json!({"reason": "  "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "reason");
    let (status, problem) = s.post(&s.editor, &retire, json!({})).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a reason is required: {problem}"
    );
    let (status, retired) = s.post(&s.editor, &retire, reason.clone()).await;
    assert_eq!(status, StatusCode::OK, "{retired}");
    assert_eq!(retired["events"], json!(["IndicatorRetired"]));
    let retired_at = retired["position"].as_u64().unwrap();
    let (status, problem) = s.post(&s.admin, &retire, reason).await;
    assert_eq!(status, StatusCode::CONFLICT, "retired twice: {problem}");

    // Nothing more: measurements, corrections, edits, imports.
    let head = s.head().await;
    let (status, problem) = s
        .post(
            &s.reporter,
            &format!("{one}/measurements"),
            json!({"period": "2023", "territory": ORG, "value": "1290"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("retired"),
        "{problem}"
    );
    let (status, problem) = s
        .post(
            &s.reporter,
            &format!("{one}/measurements/1/corrections"),
            json!({"value": "1251", "reason": "Esempio"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (status, _, problem) = s
        .patch(&s.editor, &one, Some("\"5\""), json!({"unit": "ha"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let csv = format!("indicator;period;territory;value\n{CODE};2023;{ORG};1.290\n");
    let (status, problem) = import_csv(&s, &s.reporter, &csv, false).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains(CODE),
        "{problem}"
    );
    assert_eq!(s.head().await, head, "nothing stored");

    // It still reads, with the reason, in the list and alone.
    let (status, _, view) = s
        .get(&s.viewer, &format!("{one}?min_position={retired_at}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(
        (&view["retired"], &view["retired_reason"]),
        (
            &json!(true),
            &json!("Sostituito da un indicatore con fonte più aggiornata (esempio)")
        )
    );
    assert_eq!(view["series"].as_array().unwrap().len(), 1);
    let (_, _, list) = s.get(&s.viewer, &base).await;
    let listed = list["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|st| st["indicators"].as_array().unwrap())
        .find(|i| i["code"] == CODE)
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(listed["retired"], true);
    assert!(listed["retired_reason"].is_string());
}
