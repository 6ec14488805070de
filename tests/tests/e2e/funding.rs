//! Monitoring level 2 and funding, end to end on both deployments: actions of the
//! Torino plan (2.1.1-2.1.3, axis 2 ↔ PNRR M2) get funding lines and links to the
//! PTGM, PUMS and DUP through the ordinary action edit; the instruments' and the
//! funding roll-ups answer them, with agreements' commitments counted once, live on
//! the plan's topic and as they stood at any point. Every amount here is an example,
//! not an official figure; the DUP objective codes and titles are examples too.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ORG, PLAN, Server};
use crate::suite::{next_json, subscribe};

fn action_path(code: &str) -> String {
    format!("/api/v1/plans/{PLAN}/actions/{code}")
}

/// Edits an action at its current version; the command's outcome.
async fn edit(s: &Server, code: &str, body: Value) -> (StatusCode, Value) {
    let (_, headers, _) = s.get(&s.viewer, &action_path(code)).await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (status, _, outcome) = s
        .patch(&s.editor, &action_path(code), Some(&etag), body)
        .await;
    (status, outcome)
}

/// An agreement of the plan linking `actions`, with one commitment; (id, commitment).
async fn agreement(
    s: &Server,
    title: &str,
    actions: &[&str],
    commitment: Value,
) -> (String, String) {
    let (status, drafted) = s
        .post(
            &s.editor,
            &format!("/api/v1/plans/{PLAN}/agreements"),
            json!({"kind": "accordo", "title": title, "subject": "Esempio per i test", "drafted_on": "2022-04-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{drafted}");
    let id = drafted["id"].as_str().unwrap().to_owned();
    let a = format!("/api/v1/agreements/{id}");
    for (org, role) in [(ORG, "promoter"), ("Regione Piemonte", "party")] {
        let (status, body) = s
            .post(
                &s.editor,
                &format!("{a}/parties"),
                json!({"organisation": org, "role": role}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    for action in actions {
        let (status, body) = s
            .post(
                &s.editor,
                &format!("{a}/actions"),
                json!({"action": action}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, made) = s
        .post(&s.editor, &format!("{a}/commitments"), commitment)
        .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    (id, made["id"].as_str().unwrap().to_owned())
}

fn by<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|x| x[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {list}"))
}

fn cents(v: &Value, field: &str) -> i64 {
    v[field]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

/// The sum of `field` over `list` plus `extra`'s.
fn sum(list: &Value, extra: &Value, field: &str) -> i64 {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| cents(x, field))
        .sum::<i64>()
        + cents(extra, field)
}

pub async fn effects_on_instruments_and_funding_roll_up_with_agreements_counted_once(s: Server) {
    let before = s.head().await;
    let mut ws = s.ws(&s.viewer).await;
    subscribe(&mut ws, &[&format!("plan:{PLAN}")], None).await;

    // Two agreements no line records: one within strategy 2.1, one across axes 2 and 3.
    let (_, _) = agreement(
        &s,
        "Esempio: intesa per la rete verde",
        &["2.1.2", "2.1.3"],
        json!({"party": "Regione Piemonte", "description": "cofinanziamento (esempio)", "amount_cents": 7_000_000, "funding_source": "REGIONAL"}),
    )
    .await;
    let (_, _) = agreement(
        &s,
        "Esempio: intesa tra assi",
        &["2.1.1", "3.1.1"],
        json!({"party": ORG, "description": "progettazione (esempio)", "amount_cents": 900_000, "funding_source": "OWN"}),
    )
    .await;
    // One whose commitment 2.1.3's funding line records.
    let (recorded_g, recorded_c) = agreement(
        &s,
        "Esempio: accordo per il Gran Bosco",
        &["2.1.3"],
        json!({"party": "Regione Piemonte", "description": "forestazione (esempio)", "amount_cents": 30_000_000, "funding_source": "REGIONAL", "funding_detail": "Esempio"}),
    )
    .await;

    // 2.1.1: a PNRR line (M2C4, Investimento 3.1) and links to the PTGM and the DUP.
    let (status, outcome) = edit(
        &s,
        "2.1.1",
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
    assert_eq!(status, StatusCode::OK, "{outcome}");
    let edited = outcome["position"].as_u64().unwrap();
    // The change is pushed on the plan's topic.
    let frame = loop {
        let f = next_json(&mut ws).await;
        if f["position"] == edited {
            break f;
        }
    };
    assert_eq!(frame["topic"], format!("plan:{PLAN}"));
    assert_eq!(frame["delta"]["event_type"], "ActionEdited");
    assert_eq!(
        frame["delta"]["payload"]["funding_lines"]["values"][0]["measure"], "M2C4I3.1",
        "{frame}"
    );

    // 2.1.3: an EU line and the line that records the agreement's commitment; a PUMS
    // link with no state stated.
    let (status, outcome) = edit(
        &s,
        "2.1.3",
        json!({
            "funding_lines": [
                {"source": "EU-2021-2027", "fund": "FESR", "programme": "PR FESR Piemonte 2021-2027",
                 "planned_cents": 20_000_000, "committed_cents": 5_000_000},
                {"source": "REGIONAL", "programme": "Esempio", "agreement": recorded_g, "commitment_id": recorded_c,
                 "planned_cents": 30_000_000, "committed_cents": 30_000_000, "spent_cents": 1_000_000}
            ],
            "instrument_links": [
                {"instrument": "PTGM", "section": "Rete ecologica metropolitana", "effect": "Esempio", "state": "planned"},
                {"instrument": "pums", "effect": "Esempio: nessun effetto diretto dichiarato"}
            ]
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    let position = outcome["position"].as_u64().unwrap();

    let (status, _, f) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/funding?min_position={position}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{f}");
    assert_eq!(f["rule_version"], "counted-once-v1");
    let t = &f["total"];
    assert_eq!(cents(t, "planned_cents"), 150_000_000);
    // Lines 60 + 5 + 30 (the recorded commitment, once) and the two unrecorded
    // commitments 7 + 0.9 million cents.
    assert_eq!(cents(t, "committed_cents"), 95_000_000 + 7_900_000);
    assert_eq!(cents(t, "agreements_committed_cents"), 7_900_000);
    assert_eq!(cents(t, "spent_cents"), 11_000_000);
    let s21 = by(&f["strategies"], "strategy", "2.1");
    assert_eq!(cents(s21, "committed_cents"), 95_000_000 + 7_000_000);
    assert_eq!(cents(&f["unattributed"], "committed_cents"), 900_000);
    assert_eq!(cents(&f["axes_unattributed"], "committed_cents"), 900_000);
    for field in [
        "planned_cents",
        "committed_cents",
        "spent_cents",
        "agreements_committed_cents",
    ] {
        assert_eq!(
            sum(&f["strategies"], &f["unattributed"], field),
            cents(t, field),
            "{field}"
        );
        assert_eq!(
            sum(&f["axes"], &f["axes_unattributed"], field),
            cents(t, field),
            "{field}"
        );
    }
    assert_eq!(by(&f["axes"], "axis", "2")["pnrr_mission"], "M2");
    assert_eq!(
        cents(by(&f["sources"], "key", "PNRR"), "planned_cents"),
        100_000_000
    );
    assert_eq!(
        cents(by(&f["sources"], "key", "REGIONAL"), "committed_cents"),
        30_000_000 + 7_000_000
    );
    assert_eq!(
        cents(by(&f["pnrr_missions"], "key", "M2"), "spent_cents"),
        10_000_000
    );
    assert_eq!(
        cents(by(&f["eu_funds"], "key", "FESR"), "planned_cents"),
        20_000_000
    );
    assert_eq!(f["unmatched_commitments"], json!([]), "{f}");
    let recorded = by(&f["agreements"], "id", &recorded_g);
    assert_eq!(recorded["commitments"][0]["counted"], "through_lines");
    assert_eq!(recorded["commitments"][0]["recorded_by"], json!(["2.1.3"]));
    let line = &by(&f["actions"], "action", "2.1.1")["lines"][0];
    assert_eq!(
        (&line["mission"], &line["measure"]),
        (&json!("M2"), &json!("M2C4I3.1"))
    );

    let (status, _, all) = s
        .get(&s.viewer, &format!("/api/v1/plans/{PLAN}/instruments"))
        .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let codes: Vec<&str> = all["instruments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["instrument"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["PTGM", "PUMS", "DUP"]);
    let ptgm = by(&all["instruments"], "instrument", "PTGM");
    assert_eq!(ptgm["name"], "Piano Territoriale Generale Metropolitano");
    assert_eq!(
        (ptgm["links"].as_u64(), ptgm["actions"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(ptgm["by_state"]["in_progress"], 1);
    assert_eq!(ptgm["by_state"]["planned"], 1);
    let section = by(&ptgm["sections"], "section", "Rete ecologica metropolitana");
    assert_eq!(section["links"][0]["action"], "2.1.1");
    assert_eq!(section["links"][0]["state"], "in_progress");
    let pums = by(&all["instruments"], "instrument", "PUMS");
    assert_eq!(pums["by_state"]["not_stated"], 1);
    let (status, _, dup) = s
        .get(&s.viewer, &format!("/api/v1/plans/{PLAN}/instruments/dup"))
        .await;
    assert_eq!(status, StatusCode::OK, "{dup}");
    assert_eq!(dup["dup_objectives"][0]["code"], "ESEMPIO-OO-1");
    assert_eq!(dup["dup_objectives"][0]["level"], "operational");
    assert_eq!(dup["dup_objectives"][0]["actions"][0]["action"], "2.1.1");
    assert_eq!(dup["by_state"]["achieved"], 1);
    let (status, _, _) = s
        .get(&s.viewer, &format!("/api/v1/plans/{PLAN}/instruments/PRG"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = s.get(&s.viewer, "/api/v1/plans/NOPE/funding").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Time travel: before the edits there was no money and no effect.
    let (status, _, then) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/funding?at={before}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{then}");
    assert_eq!(then["total"]["planned_cents"], 0);
    assert_eq!(then["total"]["committed_cents"], 0);
    let (_, _, then) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/instruments/PTGM?at={before}"),
        )
        .await;
    assert_eq!(then["links"], 0, "{then}");
    // Between the two edits: 2.1.1's line only, and all three agreements.
    let (_, _, mid) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/funding?at={edited}"),
        )
        .await;
    assert_eq!(mid["total"]["planned_cents"], 100_000_000);
    assert_eq!(
        mid["total"]["agreements_committed_cents"],
        7_000_000 + 900_000 + 30_000_000
    );
}

pub async fn bad_funding_lines_and_instrument_links_name_the_field_and_store_nothing(s: Server) {
    let head = s.head().await;
    let g = "01937a4e-2c00-7d1a-9b3e-5f6a7b8c9d03";
    let cases = [
        (
            json!({"funding_lines": [{"source": "PNRR", "programme": "M2C4", "planned_cents": 1}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "funding_lines[0].measure",
        ),
        (
            json!({"funding_lines": [{"source": "PNRR", "programme": "M9C1", "measure": "I1.1"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "funding_lines[0].programme",
        ),
        (
            json!({"funding_lines": [{"source": "EU-2021-2027", "programme": "PR FESR Piemonte 2021-2027"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "funding_lines[0].fund",
        ),
        (
            json!({"funding_lines": [{"source": "BANCA", "planned_cents": 1}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "funding_lines[0].source",
        ),
        (
            json!({"funding_lines": [{"source": "OWN", "agreement": g}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "funding_lines[0].commitment_id",
        ),
        (
            json!({"funding_lines": [{"source": "OWN", "committed_cents": 5, "spent_cents": 6}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "funding_lines[0].spent_cents",
        ),
        (
            json!({"funding_lines": [{"source": "PNRR", "mission": "M3", "programme": "M2C4", "measure": "M2C4I3.1"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "funding_lines[0].mission",
        ),
        (
            json!({"instrument_links": [{"instrument": "PTGM", "state": "done"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "instrument_links[0].state",
        ),
        (
            json!({"instrument_links": [{"instrument": "DUP", "dup_objective": {"level": "tactical", "code": "X", "title": "Esempio"}}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "instrument_links[0].dup_objective.level",
        ),
        (
            json!({"instrument_links": [{"instrument": "PTGM", "dup_objective": {"level": "strategic", "code": "X", "title": "Esempio"}}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "instrument_links[0].dup_objective",
        ),
        (
            json!({"instrument_links": [{"instrument": "PUMS"}, {"instrument": "pums"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "instrument_links[1]",
        ),
        (
            json!({"instrument_links": [{"instrument": "PUMS", "stato": "planned"}]}),
            StatusCode::BAD_REQUEST,
            "instrument_links[0].stato",
        ),
    ];
    // A body that is not the command's shape is 400; a value that breaks a rule, on
    // its own or against another, is 422 (the project's mapping of `validation`).
    for (body, want, field) in cases {
        let (status, problem) = edit(&s, "2.1.2", body.clone()).await;
        assert_eq!(status, want, "{body}: {problem}");
        assert_eq!(problem["field"], field, "{body}: {problem}");
        assert!(
            problem["type"].is_string() && problem["title"].is_string(),
            "{problem}"
        );
    }
    assert_eq!(s.head().await, head, "no bad edit stored anything");
}

pub async fn links_and_lines_are_co_edited_per_field_merged_or_in_conflict(s: Server) {
    let path = action_path("2.1.2");
    let (_, headers, _) = s.get(&s.viewer, &path).await;
    let base = headers["etag"].to_str().unwrap().to_owned();
    // Anna states the PTGM effect; Bruno, from the same version, sets a funding line:
    // different fields, so his stale edit is merged.
    let links = json!({"instrument_links": [{"instrument": "PTGM", "section": "Rete ecologica metropolitana",
        "effect": "Esempio", "state": "planned"}]});
    let (status, _, anna) = s.patch(&s.editor, &path, Some(&base), links).await;
    assert_eq!(status, StatusCode::OK, "{anna}");
    let line = json!({"funding_lines": [{"source": "OWN", "programme": "Esempio", "planned_cents": 1_000_000}]});
    let (status, _, bruno) = s.patch(&s.editor2, &path, Some(&base), line).await;
    assert_eq!(status, StatusCode::OK, "{bruno}");
    assert_eq!(bruno["merged"], true, "{bruno}");
    // Bruno, still from the base version, changes the links too: a conflict showing
    // base, theirs (Anna's state) and yours, and nothing stored.
    let head = s.head().await;
    let mine = json!({"instrument_links": [{"instrument": "PTGM", "section": "Rete ecologica metropolitana",
        "effect": "Esempio", "state": "achieved"}]});
    let (status, _, conflict) = s.patch(&s.editor2, &path, Some(&base), mine).await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(
        conflict["fields"],
        json!(["instrument_links"]),
        "{conflict}"
    );
    assert_eq!(
        conflict["theirs"]["instrument_links"][0]["state"],
        "planned"
    );
    assert_eq!(
        conflict["yours"]["instrument_links"][0]["state"],
        "achieved"
    );
    assert_eq!(s.head().await, head);
    let position = bruno["position"].as_u64().unwrap();
    let (_, _, f) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/funding?min_position={position}"),
        )
        .await;
    assert_eq!(
        by(&f["actions"], "action", "2.1.2")["planned_cents"],
        1_000_000
    );
    let (_, _, ptgm) = s
        .get(&s.viewer, &format!("/api/v1/plans/{PLAN}/instruments/PTGM"))
        .await;
    assert_eq!(ptgm["by_state"]["planned"], 1, "{ptgm}");
}
