//! Questionnaire campaigns end to end, on both deployments: an example campaign (not the
//! plan's real 2022 questionnaire) about actions 2.1.1-2.1.3 and strategy 2.1 of the
//! demo plan, sent to organisations named among the plan's concertation partners;
//! answers through personal links with no token, an edit of an answer set, bad answers
//! refused with the log unchanged, the close, and the results per action and strategy,
//! watched live on the websocket.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{PLAN, Server};
use crate::suite::{next_json, subscribe};

const ID: &str = "monitoraggio-2022-esempio";

/// A request with no token (a personal link's route).
async fn anonymous(
    s: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = s.http.request(method, format!("{}{path}", s.base));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn put_with_token(s: &Server, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let r = s
        .http
        .put(format!("{}{path}", s.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn answer(s: &Server, secret: &str, answers: Value) -> (StatusCode, Value) {
    anonymous(
        s,
        reqwest::Method::PUT,
        &format!("/api/v1/questionnaire/{secret}/answers"),
        Some(json!({ "answers": answers })),
    )
    .await
}

/// Reads the live socket until an event of `event_type` on `topic`; returns its frame.
async fn until_event<S>(ws: &mut S, topic: &str, event_type: &str) -> Value
where
    S: futures::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    loop {
        let frame = next_json(ws).await;
        if frame["type"] == "delta"
            && frame["topic"] == topic
            && frame["delta"]["event_type"] == event_type
        {
            return frame;
        }
    }
}

fn question<'a>(results: &'a Value, id: &str) -> &'a Value {
    results["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["question"] == id)
        .unwrap_or_else(|| panic!("no results for {id}: {results}"))
}

fn scope<'a>(results: &'a Value, list: &str, key: &str, code: &str) -> &'a Value {
    results[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x[key] == code)
        .unwrap_or_else(|| panic!("no {list} entry {code}: {results}"))
}

pub async fn a_campaign_collects_one_editable_answer_set_per_organisation_and_aggregates_per_action_and_strategy(
    s: Server,
) {
    let base = format!("/api/v1/plans/{PLAN}/campaigns");
    let campaign = format!("{base}/{ID}");
    let topic = format!("campaign:{PLAN}/{ID}");
    let mut ws = s.ws(&s.viewer).await;
    subscribe(&mut ws, &[&topic, &format!("plan:{PLAN}")], None).await;

    // Draft: editors and admins only.
    let draft = json!({
        "id": ID,
        "title": "Questionario di monitoraggio 2022 — esempio",
        "description": "Esempio per i test, non il questionario ufficiale: stato di attuazione sul territorio, opinioni e suggerimenti",
        "opens": "2022-03-01",
        "closes": "2022-04-30",
    });
    let (status, body) = s.post(&s.reporter, &base, draft.clone()).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a reporter does not draft: {body}"
    );
    let (status, body) = s.post(&s.editor, &base, draft.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["id"], ID);
    assert_eq!(body["stream"], topic);
    let (status, body) = s.post(&s.editor, &base, draft).await;
    assert_eq!(status, StatusCode::CONFLICT, "the same id twice: {body}");
    until_event(&mut ws, &topic, "CampaignDrafted").await;

    // Questions: per action, about the strategy, about one action, about the plan.
    let mut questions = json!([
        {"id": "attuazione", "kind": "scale", "text": "Quanto è avanzata l'azione nel vostro territorio?",
         "about": "actions", "subjects": ["2.1.1", "2.1.2", "2.1.3"],
         "scale_min": 1, "scale_max": 5, "min_label": "per nulla", "max_label": "del tutto", "required": true},
        {"id": "riorientare", "kind": "choice", "text": "La strategia 2.1 va riorientata?",
         "about": "strategy", "subjects": ["2.1"], "choices": ["sì", "no", "non so"], "required": true},
        {"id": "gran-bosco", "kind": "text", "text": "Che cosa serve al Gran Bosco Torino nel vostro territorio?",
         "about": "action", "subjects": ["2.1.3"]},
        {"id": "suggerimenti", "kind": "text", "text": "Suggerimenti per riorientare il piano"},
    ]);
    let path = format!("{campaign}/questions");
    let mut wrong = questions.clone();
    wrong[0]["subjects"][1] = json!("2.1.9");
    let (status, body) = put_with_token(&s, &s.editor, &path, json!({"questions": wrong})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "questions[0].subjects[1]");
    let (status, body) = put_with_token(
        &s,
        &s.editor,
        &path,
        json!({"questions": questions.clone()}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Invitations: the secret once, in the answer; never in the campaign's view.
    let invitations = format!("{campaign}/invitations");
    let (status, body) = s
        .post(
            &s.viewer,
            &invitations,
            json!({"organisation": "Ires Piemonte"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let mut secrets = Vec::new();
    let mut last = 0;
    for org in [
        "Ires Piemonte",
        "Associazione Dislivelli",
        "Politecnico di Torino (DIST)",
    ] {
        let (status, body) = s
            .post(&s.editor, &invitations, json!({"organisation": org}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let secret = body["secret"].as_str().unwrap().to_owned();
        assert_eq!(body["link"], format!("/#/questionnaire/{secret}"));
        assert_eq!(body["api"], format!("/api/v1/questionnaire/{secret}"));
        assert_eq!(body["organisation"], org);
        last = body["position"].as_u64().unwrap();
        secrets.push(secret);
    }
    let (ires, dislivelli, polito) = (secrets[0].clone(), secrets[1].clone(), secrets[2].clone());
    let (ires, dislivelli, polito) = (&ires, &dislivelli, &polito);
    let (status, body) = s
        .post(
            &s.editor,
            &invitations,
            json!({"organisation": "  IRES piemonte "}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "invited once: {body}");
    assert_eq!(body["field"], "organisation");
    let (status, _, view) = s
        .get(&s.viewer, &format!("{campaign}?min_position={last}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["state"], "drafted");
    assert_eq!(view["invited"], 3);
    assert_eq!(
        view["invitations"][1]["organisation"],
        "Associazione Dislivelli"
    );
    assert_eq!(view["invitations"][1]["answered"], false);
    let text = view.to_string();
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a campaign's view shows no link"
        );
    }
    assert!(!text.contains("link_sha256"));

    // The link shows the questions; answers wait for the opening.
    let (status, mine) = anonymous(
        &s,
        reqwest::Method::GET,
        &format!("/api/v1/questionnaire/{ires}?min_position={last}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["organisation"], "Ires Piemonte");
    assert_eq!(mine["accepting_answers"], false);
    assert_eq!(mine["questions"].as_array().unwrap().len(), 4);
    assert_eq!(mine["answers"], json!([]));
    let ires_answers = json!([
        {"question": "attuazione", "action": "2.1.1", "value": 4},
        {"question": "attuazione", "action": "2.1.3", "value": 3},
        {"question": "riorientare", "value": "no"},
        {"question": "suggerimenti", "value": "Coordinare le Unioni montane sulla rete verde"},
    ]);
    let (status, body) = answer(&s, ires, ires_answers.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "not open yet: {body}");
    let (status, body) = put_with_token(
        &s,
        &s.editor,
        &path,
        json!({"questions": questions.clone()}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "questions change while drafted: {body}"
    );

    let (status, body) = s
        .post(&s.editor, &format!("{campaign}/open"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    until_event(&mut ws, &topic, "CampaignOpened").await;
    questions[3]["required"] = json!(true);
    let (status, body) =
        put_with_token(&s, &s.editor, &path, json!({"questions": questions})).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "questions are fixed once open: {body}"
    );

    // Answers through the links, live on the campaign's topic and the plan's.
    let (status, body) = answer(&s, ires, ires_answers).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Each event's frames come in the order of its topics: the plan's, then the campaign's.
    until_event(&mut ws, &format!("plan:{PLAN}"), "AnswersSubmitted").await;
    let frame = until_event(&mut ws, &topic, "AnswersSubmitted").await;
    assert_eq!(frame["delta"]["payload"]["organisation"], "Ires Piemonte");
    assert_eq!(frame["delta"]["on_behalf_of"], "Ires Piemonte");
    assert_eq!(frame["delta"]["payload"]["answers"][0]["value"], "4");
    let (status, body) = answer(
        &s,
        dislivelli,
        json!([
            {"question": "attuazione", "action": "2.1.1", "value": 2},
            {"question": "attuazione", "action": "2.1.2", "value": 5},
            {"question": "riorientare", "value": "sì"},
            {"question": "gran-bosco", "value": "Vivai forestali e manutenzione dei boschi di versante"},
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first_set = body["position"].as_u64().unwrap();

    // An edit replaces the organisation's whole set.
    let (status, body) = answer(
        &s,
        dislivelli,
        json!([
            {"question": "attuazione", "action": "2.1.1", "value": 3},
            {"question": "attuazione", "action": "2.1.2", "value": 5},
            {"question": "riorientare", "value": "sì"},
            {"question": "gran-bosco", "value": "Vivai forestali e manutenzione dei boschi di versante"},
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let edited = body["position"].as_u64().unwrap();
    let (status, mine) = anonymous(
        &s,
        reqwest::Method::GET,
        &format!("/api/v1/questionnaire/{dislivelli}?min_position={edited}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["submissions"], 2);
    assert_eq!(
        mine["answers"][0],
        json!({"question": "attuazione", "action": "2.1.1", "value": 3})
    );

    // Bad answers: 400 for a body of the wrong shape, 422 for one that breaks a rule,
    // 404 for a link nobody issued; the log does not move.
    let head = s.head().await;
    let cases = [
        (
            json!([{"question": "attuazione", "action": "2.1.1", "value": 3.5}]),
            StatusCode::BAD_REQUEST,
            "answers[0].value",
        ),
        (
            json!([{"question": "attuazione", "action": "2.1.1", "valore": 3}]),
            StatusCode::BAD_REQUEST,
            "answers[0].valore",
        ),
        (
            json!([{"question": "attuazione", "action": "2.1.1", "value": 7}, {"question": "riorientare", "value": "no"}]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "answers[0].value",
        ),
        (
            json!([{"question": "attuazione", "action": "2.1.1", "value": 4}, {"question": "riorientare", "value": "forse"}]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "answers[1].value",
        ),
        (
            json!([{"question": "attuazione", "action": "3.1.1", "value": 4}, {"question": "riorientare", "value": "no"}]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "answers[0].action",
        ),
        (
            json!([{"question": "attuazione", "action": "2.1.1", "value": 4}, {"question": "gran-bosco", "value": "x".repeat(2001)}, {"question": "riorientare", "value": "no"}]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "answers[1].value",
        ),
        (
            json!([{"question": "attuazione", "action": "2.1.1", "value": 4}]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "answers",
        ),
    ];
    for (answers, expected, field) in cases {
        let (status, body) = answer(&s, polito, answers.clone()).await;
        assert_eq!(status, expected, "{answers}: {body}");
        assert_eq!(body["field"], field, "{answers}: {body}");
        assert_eq!(body["status"], expected.as_u16());
    }
    let (status, body) = answer(&s, &"0".repeat(64), json!([])).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = anonymous(
        &s,
        reqwest::Method::GET,
        "/api/v1/questionnaire/not-a-link",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(s.head().await, head, "refused answers store nothing");

    // A lost link is replaced: the old one answers nothing, the new one stands for the
    // same organisation.
    let (status, body) = s
        .post(
            &s.editor,
            &format!("{campaign}/links"),
            json!({"organisation": "Fondazione Santagata"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not invited: {body}");
    let (status, body) = s
        .post(
            &s.editor,
            &format!("{campaign}/links"),
            json!({"organisation": "Politecnico di Torino (DIST)"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let new_polito = body["secret"].as_str().unwrap().to_owned();
    assert_ne!(&new_polito, polito);
    let replaced = body["position"].as_u64().unwrap();
    let (status, _) = anonymous(
        &s,
        reqwest::Method::GET,
        &format!("/api/v1/questionnaire/{polito}?min_position={replaced}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the old link stops working");
    let (status, mine) = anonymous(
        &s,
        reqwest::Method::GET,
        &format!("/api/v1/questionnaire/{new_polito}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["organisation"], "Politecnico di Torino (DIST)");
    secrets.push(new_polito.clone());
    let polito = &new_polito;

    // Results while open are provisional; the past is readable with `at`.
    let results_path = format!("{campaign}/results");
    let (status, _, early) = s
        .get(&s.viewer, &format!("{results_path}?min_position={edited}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{early}");
    assert_eq!(early["final"], false);
    assert_eq!(early["answered"], 2);
    let (_, _, before_edit) = s
        .get(&s.viewer, &format!("{results_path}?at={first_set}"))
        .await;
    let a211 = scope(&before_edit, "by_action", "action", "2.1.1");
    assert_eq!(
        a211["questions"][0]["scale"]["mean"], "3.00",
        "4 and 2 before the edit: {before_edit}"
    );

    // Close: no answer after it, and nobody more invited.
    let (status, body) = s
        .post(&s.reporter, &format!("{campaign}/close"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = s
        .post(&s.editor, &format!("{campaign}/close"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let closed_at = body["position"].as_u64().unwrap();
    let frame = until_event(&mut ws, &topic, "CampaignClosed").await;
    assert_eq!(frame["delta"]["payload"]["invited"], 3);
    assert_eq!(frame["delta"]["payload"]["answered"], 2);
    let head = s.head().await;
    let (status, body) = answer(
        &s,
        polito,
        json!([
            {"question": "attuazione", "action": "2.1.2", "value": 4},
            {"question": "riorientare", "value": "non so"},
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "closed: {body}");
    let (status, body) = s
        .post(
            &s.editor,
            &invitations,
            json!({"organisation": "Fondazione Santagata"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "closed: {body}");
    assert_eq!(s.head().await, head);

    // The results: the last set of each organisation, per question, strategy and action.
    let (status, _, r) = s
        .get(
            &s.viewer,
            &format!("{results_path}?min_position={closed_at}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["final"], true);
    assert_eq!(r["rule"], "campaign-results-v1");
    assert_eq!(
        (r["invited"].as_u64(), r["answered"].as_u64()),
        (Some(3), Some(2))
    );
    let overall = question(&r, "attuazione");
    assert_eq!(
        overall["scale"]["count"], 4,
        "Ires 4 and 3, Dislivelli 3 and 5: {overall}"
    );
    assert_eq!(overall["scale"]["mean_fraction"], "15/4");
    assert_eq!(overall["scale"]["mean"], "3.75");
    assert_eq!(
        overall["scale"]["distribution"],
        json!([{"value": 1, "count": 0}, {"value": 2, "count": 0}, {"value": 3, "count": 2}, {"value": 4, "count": 1}, {"value": 5, "count": 1}])
    );
    assert_eq!(
        question(&r, "riorientare")["choices"],
        json!([{"option": "sì", "count": 1}, {"option": "no", "count": 1}, {"option": "non so", "count": 0}])
    );
    assert_eq!(
        question(&r, "suggerimenti")["texts"],
        json!([{"organisation": "Ires Piemonte", "text": "Coordinare le Unioni montane sulla rete verde"}])
    );
    let a211 = scope(&r, "by_action", "action", "2.1.1");
    assert_eq!(a211["strategy"], "2.1");
    assert_eq!(a211["questions"][0]["scale"]["mean_fraction"], "7/2");
    assert_eq!(a211["questions"][0]["scale"]["mean"], "3.50");
    let a212 = scope(&r, "by_action", "action", "2.1.2");
    assert_eq!(a212["questions"][0]["scale"]["mean"], "5.00");
    let a213 = scope(&r, "by_action", "action", "2.1.3");
    assert_eq!(a213["questions"][0]["scale"]["count"], 1);
    assert_eq!(
        a213["questions"][1]["texts"][0]["organisation"],
        "Associazione Dislivelli"
    );
    let actions: Vec<&str> = r["by_action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["2.1.1", "2.1.2", "2.1.3"]);
    let s21 = scope(&r, "by_strategy", "strategy", "2.1");
    let kinds: Vec<&str> = s21["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["question"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["attuazione", "riorientare", "gran-bosco"],
        "the strategy's own question and its actions'"
    );
    assert_eq!(s21["questions"][0]["scale"]["mean"], "3.75");
    assert_eq!(r["by_strategy"].as_array().unwrap().len(), 1);

    // The list, and the campaign as it stands.
    let (_, _, list) = s
        .get(&s.viewer, &format!("{base}?min_position={closed_at}"))
        .await;
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == ID)
        .unwrap();
    assert_eq!(
        (mine["state"].as_str(), mine["answered"].as_u64()),
        (Some("closed"), Some(2))
    );
    let (_, _, view) = s.get(&s.viewer, &campaign).await;
    assert_eq!(view["invitations"][1]["submissions"], 2);
    assert_eq!(view["invitations"][2]["answered"], false);

    // Auditors get the campaign and its results in the read models' dump (what a replay
    // is compared with); no dump, view or result holds a link.
    let auditor = s.auditor().await;
    let (status, _, dump) = s.get(&auditor, "/api/v1/audit/read-models").await;
    assert_eq!(status, StatusCode::OK, "{dump}");
    let dumped = dump["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["campaign"]["id"] == ID)
        .unwrap();
    assert_eq!(dumped["results"]["final"], true);
    assert_eq!(dumped["results"]["questions"], r["questions"]);
    for text in [dump.to_string(), r.to_string(), list.to_string()] {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()));
        }
    }

    // The routes are described.
    let (_, _, doc) = s.get(&s.viewer, "/openapi.json").await;
    for p in [
        "/api/v1/plans/{plan}/campaigns",
        "/api/v1/plans/{plan}/campaigns/{campaign}",
        "/api/v1/plans/{plan}/campaigns/{campaign}/questions",
        "/api/v1/plans/{plan}/campaigns/{campaign}/invitations",
        "/api/v1/plans/{plan}/campaigns/{campaign}/links",
        "/api/v1/plans/{plan}/campaigns/{campaign}/open",
        "/api/v1/plans/{plan}/campaigns/{campaign}/close",
        "/api/v1/plans/{plan}/campaigns/{campaign}/results",
        "/api/v1/questionnaire/{secret}",
        "/api/v1/questionnaire/{secret}/answers",
    ] {
        assert!(
            doc["paths"].get(p).is_some(),
            "{p} missing from openapi.json"
        );
    }
}
