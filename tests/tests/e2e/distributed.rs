//! What only the distributed deployment has to prove: two gateways deliver the same
//! live deltas in the same order; a projector killed and restarted serves read models
//! equal to a fresh rebuild, with no event applied twice.

use std::time::Duration;

use futures::future::join_all;
use metroplan_projector::{Projector, Query};
use serde_json::{Value, json};

use crate::harness::{PLAN, Server, ws_to};
use crate::suite::{next_json, subscribe};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_deliver_the_same_deltas_in_the_same_order() {
    let _one = crate::one_at_a_time().await;
    let s = Server::distributed().await;
    let gateways = s.deployment.as_ref().unwrap().gateways.clone();
    let topic = format!("plan:{PLAN}");
    let mut sockets = Vec::new();
    for addr in &gateways {
        let mut ws = ws_to(*addr, &s.viewer).await;
        subscribe(&mut ws, &[&topic], None).await;
        sockets.push(ws);
    }
    // Commands through both gateways at once, on several actions.
    let actions = ["2.1.1", "2.1.2", "3.1.1", "3.1.2", "6.1.1", "6.1.2"];
    let sends = actions.iter().enumerate().map(|(i, action)| {
        let http = s.http.clone();
        let base = format!("http://{}", gateways[i % 2]);
        let token = s.reporter.clone();
        async move {
            let mut positions = Vec::new();
            for (n, status) in ["started", "in_progress", "in_progress"].iter().enumerate() {
                let body = json!({"status": status, "progress": 10 * (n + 1), "note": "", "as_of": "2022-06-30"});
                let r = http.post(format!("{base}/api/v1/plans/{PLAN}/actions/{action}/progress")).bearer_auth(&token).json(&body).send().await.unwrap();
                assert!(r.status().is_success(), "{}", r.text().await.unwrap());
                positions.push(r.json::<Value>().await.unwrap()["position"].as_u64().unwrap());
            }
            positions
        }
    });
    let mut expected: Vec<u64> = join_all(sends).await.into_iter().flatten().collect();
    expected.sort_unstable();
    let mut seen = Vec::new();
    for ws in &mut sockets {
        let mut got = Vec::new();
        while got.len() < expected.len() {
            got.push(next_json(ws).await["position"].as_u64().unwrap());
        }
        seen.push(got);
    }
    assert_eq!(
        seen[0], expected,
        "the first gateway delivers every change in log order"
    );
    assert_eq!(
        seen[0], seen[1],
        "both gateways deliver the same deltas in the same order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_projector_equals_a_fresh_rebuild_and_applies_nothing_twice() {
    let _one = crate::one_at_a_time().await;
    let mut s = Server::distributed().await;
    let report = |status: &str, progress: u32| json!({"status": status, "progress": progress, "note": "", "as_of": "2022-06-30"});
    let path = format!("/api/v1/plans/{PLAN}/actions/2.1.1/progress");
    assert!(
        s.post(&s.reporter, &path, report("started", 5))
            .await
            .0
            .is_success()
    );
    s.deployment
        .as_mut()
        .unwrap()
        .process("metroplan-projector")
        .kill();
    // Commands go on while the projector is down: they do not need it.
    let (status, last) = s.post(&s.reporter, &path, report("in_progress", 50)).await;
    assert!(status.is_success(), "{last}");
    let (status, _) = s
        .post(&s.editor, &format!("/api/v1/plans/{PLAN}/agreements"), json!({"kind": "intesa", "title": "Intesa per la rete verde", "subject": "co-progettazione"}))
        .await;
    assert!(status.is_success());
    s.deployment
        .as_mut()
        .unwrap()
        .process("metroplan-projector")
        .start();
    let head = s.head().await;
    let tree_path = format!("/api/v1/plans/{PLAN}?min_position={head}");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let tree = loop {
        let (status, _, tree) = s.get(&s.viewer, &tree_path).await;
        if status.is_success() {
            break tree;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the restarted projector did not catch up: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // A fresh rebuild from the same log, in this process.
    let fresh = Projector::new();
    fresh.rebuild(s.store.as_ref(), &|_, _| {}).await.unwrap();
    let queries = [
        (
            Query::PlanTree { plan: PLAN.into() },
            format!("/api/v1/plans/{PLAN}"),
        ),
        (
            Query::Action {
                plan: PLAN.into(),
                action: "2.1.1".into(),
            },
            format!("/api/v1/plans/{PLAN}/actions/2.1.1"),
        ),
        (
            Query::ActionHistory {
                plan: PLAN.into(),
                action: "2.1.1".into(),
            },
            format!("/api/v1/plans/{PLAN}/actions/2.1.1/history"),
        ),
        (
            Query::Agreements { plan: PLAN.into() },
            format!("/api/v1/plans/{PLAN}/agreements"),
        ),
    ];
    for (query, path) in queries {
        let expected = fresh.read(|m| m.answer(&query)).await.unwrap();
        let (_, _, served) = s
            .get(&s.viewer, &format!("{path}?min_position={head}"))
            .await;
        assert_eq!(strip_position(served), strip_position(expected), "{path}");
    }
    assert_eq!(tree["axes"].as_array().unwrap().len(), 6);
    // Applied once each: the history holds exactly the stream's events.
    let (_, _, history) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/actions/2.1.1/history"),
        )
        .await;
    let action_events = s
        .store
        .read_stream(&metroplan_events::streams::action(PLAN, "2.1.1"), 1, 1000)
        .await
        .unwrap()
        .len();
    let progress_events = s
        .store
        .read_stream(&metroplan_events::streams::progress(PLAN, "2.1.1"), 1, 1000)
        .await
        .unwrap()
        .len();
    assert_eq!(
        history.as_array().unwrap().len(),
        action_events + progress_events
    );
    let positions: Vec<u64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["position"].as_u64().unwrap())
        .collect();
    let mut unique = positions.clone();
    unique.dedup();
    assert_eq!(positions, unique, "no event twice");
}

/// Answers carry the position they were read at; compare everything else.
fn strip_position(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("position");
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_resume_after_the_stream_leader_is_killed_and_none_acknowledged_is_lost() {
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    let _one = crate::one_at_a_time().await;
    let mut s = Server::distributed().await;
    let client = async_nats::connect(s.deployment.as_ref().unwrap().cluster.client_url_list())
        .await
        .unwrap();
    let js = async_nats::jetstream::new(client);
    let leader = js
        .get_stream("METROPLAN_EVENTS")
        .await
        .unwrap()
        .info()
        .await
        .unwrap()
        .cluster
        .clone()
        .and_then(|c| c.leader)
        .expect("the stream has a leader");
    let leader = s
        .deployment
        .as_ref()
        .unwrap()
        .cluster
        .index_of(&leader)
        .expect("the leader is one of ours");

    // A write load: one reporter per action, each reporting again and again; every
    // acknowledged report is (time, action, position).
    let acked: Arc<Mutex<Vec<(Instant, String, u64)>>> = Arc::default();
    let stop = tokio_util::sync::CancellationToken::new();
    let mut load = Vec::new();
    for (i, action) in ["2.1.1", "2.1.2", "2.1.3", "3.1.1", "3.1.2", "6.1.1"]
        .into_iter()
        .enumerate()
    {
        let (http, acked, stop) = (s.http.clone(), Arc::clone(&acked), stop.clone());
        let base = format!("http://{}", s.deployment.as_ref().unwrap().gateways[i % 2]);
        let token = s.reporter.clone();
        load.push(tokio::spawn(async move {
            let mut n = 0u32;
            // Bounded: at most 400 reports per writer, and it stops when told.
            while n < 400 && !stop.is_cancelled() {
                let status = if n == 0 { "started" } else { "in_progress" };
                let body = json!({"status": status, "progress": n % 100, "note": "", "as_of": "2022-06-30"});
                let sent = http.post(format!("{base}/api/v1/plans/{PLAN}/actions/{action}/progress")).bearer_auth(&token).json(&body).timeout(Duration::from_secs(20)).send().await;
                if let Ok(r) = sent
                    && r.status().is_success() {
                        let p = r.json::<Value>().await.unwrap()["position"].as_u64().unwrap();
                        acked.lock().unwrap().push((Instant::now(), action.to_owned(), p));
                        n += 1;
                        continue;
                    }
                // Refused while the cluster elects a leader: try the same report again.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    let count = || acked.lock().unwrap().len();
    while count() < 30 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed_at = Instant::now();
    s.deployment.as_mut().unwrap().cluster.kill(leader);
    let before = count();
    let deadline = killed_at + Duration::from_secs(60);
    while count() < before + 30 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    for l in load {
        l.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    // The outage: the longest stretch without an acknowledgement from the kill on (a
    // reply already in flight at the kill does not hide it).
    let mut times: Vec<Instant> = acked
        .iter()
        .map(|(t, _, _)| *t)
        .filter(|t| *t > killed_at)
        .collect();
    times.sort();
    assert!(times.len() >= 30, "writes resumed after the kill");
    let gap = std::iter::once(killed_at)
        .chain(times.iter().copied())
        .zip(times.iter().copied())
        .map(|(a, b)| b.duration_since(a))
        .max()
        .unwrap();
    eprintln!(
        "longest stretch without an acknowledged write after the leader was killed: {gap:?}; {} reports acknowledged",
        acked.len()
    );
    assert!(gap < Duration::from_secs(10), "writes stopped for {gap:?}");

    // Recovery: the node comes back; every acknowledged report is in the log, where the
    // command said, on the right action's stream.
    s.deployment
        .as_mut()
        .unwrap()
        .cluster
        .restart(leader)
        .await
        .unwrap();
    let mut log = std::collections::HashMap::new();
    let mut after = 0;
    loop {
        let page = s.store.read_all(after, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        for e in page {
            log.insert(e.position, e.stream_id);
        }
    }
    for (_, action, position) in &acked {
        assert_eq!(
            log.get(position),
            Some(&metroplan_events::streams::progress(PLAN, action)),
            "acknowledged report at {position} is in the log"
        );
    }
}
