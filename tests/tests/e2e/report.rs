//! The monitoring report and the exports, end to end on both deployments: with the
//! demo plan and some recorded example data (an example indicator measured in 2021,
//! 2022 and 2023, a progress report, example funding lines), the HTML page, the PDF
//! (read back with lopdf), the CSV and XLSX exports (read back with csv and calamine)
//! and the open-data export in the national columns. The figures are examples for the
//! tests, not official data.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::harness::{ORG, PLAN, Server};

const INDICATOR: &str = "ESEMPIO-REP-01";
const PERIOD: &str = "from=2022-01-01&to=2022-12-31";

/// Records the example data; answers the position of the last event and the one
/// before the progress report.
async fn example_data(s: &Server) -> (u64, u64) {
    let base = format!("/api/v1/plans/{PLAN}/indicators");
    let (status, body) = s
        .post(
            &s.editor,
            &base,
            json!({
                "code": INDICATOR,
                "strategy": "2.1",
                "name": "ESEMPIO - Indicatore per il rapporto (dati illustrativi, non ufficiali)",
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
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for (period, value) in [("2021", "1100"), ("2022", "1210"), ("2023", "900")] {
        let (status, body) = s
            .post(
                &s.reporter,
                &format!("{base}/{INDICATOR}/measurements"),
                json!({"period": period, "territory": ORG, "value": value, "source_note": "Esempio, non ufficiale"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = s
        .post(
            &s.reporter,
            &format!("/api/v1/plans/{PLAN}/actions/2.1.1/progress"),
            json!({"status": "in_progress", "progress": 40, "note": "esempio", "as_of": "2022-09-30"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before_progress = body["position"].as_u64().unwrap() - 1;
    let action = format!("/api/v1/plans/{PLAN}/actions/2.1.3");
    let (_, headers, _) = s.get(&s.viewer, &action).await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    // Example amounts, not the action's real funding.
    let (status, _, body) = s
        .patch(
            &s.editor,
            &action,
            Some(&etag),
            json!({"funding_lines": [
                {"source": "PNRR", "programme": "M2C4", "measure": "M2C4I3.1",
                 "planned_cents": 123_456_789, "committed_cents": 50_000_000, "spent_cents": 1_234_501},
                {"source": "OWN", "planned_cents": 1_000_000}
            ],
            "instrument_links": [
                {"instrument": "PTGM", "section": "Esempio di sezione",
                 "effect": "Effetto d'esempio sul piano territoriale", "state": "in_progress"},
                {"instrument": "DUP", "section": "Esempio", "effect": "Effetto d'esempio sul DUP",
                 "state": "achieved",
                 "dup_objective": {"level": "operational", "code": "ESEMPIO-OB-1", "title": "Obiettivo d'esempio"}}
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (example_campaign(s).await, before_progress)
}

/// An example questionnaire campaign, open in the autumn of 2022, answered by one
/// organisation; answers the position of the answers.
async fn example_campaign(s: &Server) -> u64 {
    let campaigns = format!("/api/v1/plans/{PLAN}/campaigns");
    let (status, body) = s
        .post(
            &s.editor,
            &campaigns,
            json!({"id": "esempio-rapporto", "title": "Questionario d'esempio per il rapporto",
                   "description": "Esempio per i test, non un questionario ufficiale",
                   "opens": "2022-10-01", "closes": "2022-11-30"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let campaign = format!("{campaigns}/esempio-rapporto");
    let r = s
        .http
        .put(format!("{}{campaign}/questions", s.base))
        .bearer_auth(&s.editor)
        .json(&json!({"questions": [
            {"id": "attuazione", "kind": "scale", "text": "Quanto è avanzata l'azione? (esempio)",
             "about": "actions", "subjects": ["2.1.1", "2.1.3"],
             "scale_min": 1, "scale_max": 5, "required": true},
            {"id": "riorientare", "kind": "choice", "text": "La strategia 2.1 va riorientata? (esempio)",
             "about": "strategy", "subjects": ["2.1"], "choices": ["sì", "no"], "required": true}
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (status, invited) = s
        .post(
            &s.editor,
            &format!("{campaign}/invitations"),
            json!({"organisation": "Organizzazione d'esempio"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    let (status, body) = s
        .post(&s.editor, &format!("{campaign}/open"), json!({}))
        .await;
    assert!(status.is_success(), "{body}");
    let r = s
        .http
        .put(format!(
            "{}/api/v1/questionnaire/{}/answers",
            s.base,
            invited["secret"].as_str().unwrap()
        ))
        .json(&json!({"answers": [
            {"question": "attuazione", "action": "2.1.1", "value": 4},
            {"question": "attuazione", "action": "2.1.3", "value": 3},
            {"question": "riorientare", "value": "no"}
        ]}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let body: Value = r.json().await.unwrap();
    body["position"].as_u64().unwrap()
}

async fn fetch(s: &Server, token: &str, path: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let r = s
        .http
        .get(format!("{}{path}", s.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, headers, r.bytes().await.unwrap().to_vec())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map_or("", |v| v.to_str().unwrap_or(""))
}

fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_reader(bytes);
    let header = r.headers().unwrap().iter().map(str::to_owned).collect();
    (header, r.records().map(Result::unwrap).collect())
}

fn xlsx_rows(bytes: Vec<u8>) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("the XLSX opens");
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    range
        .rows()
        .map(|r| r.iter().map(ToString::to_string).collect())
        .collect()
}

pub async fn the_report_and_its_exports_hold_the_plan_the_period_and_the_recorded_data(s: Server) {
    let (position, before_progress) = example_data(&s).await;
    let report = format!("/api/v1/plans/{PLAN}/report?{PERIOD}&min_position={position}");

    // The page: standalone HTML with the title, the period and the action codes.
    let (status, headers, body) = fetch(&s, &s.viewer, &report).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    let page = String::from_utf8(body).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    for needle in [
        "Torino Metropoli aumentata",
        "dal 2022-01-01 al 2022-12-31",
        "Città metropolitana di Torino",
        "2.1.1",
        "2.1.3",
        "Gran Bosco Torino",
        INDICATOR,
        "1.234.567,89 €",
        "Effetto d'esempio sul piano territoriale",
        "ESEMPIO-OB-1",
        "Questionario d'esempio per il rapporto",
    ] {
        assert!(page.contains(needle), "{needle} missing from the page");
    }

    // The PDF: it opens, and its text holds the title and the period.
    let (status, headers, pdf) = fetch(&s, &s.viewer, &format!("{report}&format=pdf")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "application/pdf");
    assert_eq!(
        header(&headers, "content-disposition"),
        format!("inline; filename=\"{PLAN}-report-2022-01-01-2022-12-31.pdf\"")
    );
    assert!(pdf.starts_with(b"%PDF-"));
    let doc = lopdf::Document::load_mem(&pdf).expect("the file opens as a PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    assert!(!pages.is_empty());
    let text = doc.extract_text(&pages).unwrap();
    for needle in [
        "Torino Metropoli aumentata",
        "dal 2022-01-01 al 2022-12-31",
        "Città metropolitana di Torino",
        "Gran Bosco Torino",
        INDICATOR,
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from the PDF's text"
        );
    }

    // The data: the period bounds the indicator's series, the report is in it.
    let (status, _, data) = s.get(&s.viewer, &format!("{report}&format=json")).await;
    assert_eq!(status, StatusCode::OK, "{data}");
    assert_eq!(
        data["period"],
        json!({"from": "2022-01-01", "to": "2022-12-31"})
    );
    let indicator = data["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["code"] == INDICATOR)
        .unwrap();
    assert_eq!(
        indicator["latest"],
        json!({"period": "2022", "value": "1210"})
    );
    assert_eq!(
        indicator["series"].as_array().unwrap().len(),
        2,
        "2023 is after the period"
    );
    assert_eq!(
        (indicator["trend"].as_str(), indicator["on_track"].as_str()),
        (Some("improving"), Some("on_track"))
    );
    let action = |code: &str| -> Value {
        data["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["code"] == code)
            .cloned()
            .unwrap()
    };
    assert_eq!(action("2.1.1")["status"], "in_progress");
    assert_eq!(action("2.1.1")["reported_in_period"], true);
    assert_eq!(action("2.1.3")["planned_cents"], 124_456_789);
    assert_eq!(data["funding"]["totals"]["planned_cents"], 124_456_789);
    assert_eq!(data["funding"]["rule_version"], "counted-once-v1");
    let campaign = &data["questionnaires"][0];
    assert_eq!(
        (campaign["campaign"].as_str(), campaign["answered"].as_u64()),
        (Some("esempio-rapporto"), Some(1))
    );
    let scale = &campaign["questions"][0]["aggregates"];
    assert_eq!(scale[0]["subject"], "", "the whole plan first: {scale}");
    assert_eq!(scale[0]["answers"], 2);
    assert_eq!(scale[0]["mean"], "3.50");
    assert!(
        scale
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["subject"] == "2.1.1" && a["mean"] == "4.00"),
        "{scale}"
    );
    let choice = &campaign["questions"][1]["aggregates"][0]["choices"];
    assert_eq!(
        choice,
        &json!([{"option": "sì", "count": 0}, {"option": "no", "count": 1}])
    );
    let effects = data["instruments"]["effects"].as_array().unwrap();
    assert!(
        effects.iter().any(|e| e["instrument"] == "PTGM"
            && e["action"] == "2.1.3"
            && e["state"] == "in_progress"),
        "{effects:?}"
    );
    assert_eq!(
        data["instruments"]["dup_objectives"],
        json!([{"action": "2.1.3", "level": "operational", "code": "ESEMPIO-OB-1", "title": "Obiettivo d'esempio"}])
    );
    let axis2 = data["status_by_axis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["axis"] == "2")
        .unwrap();
    assert!(
        axis2["counts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["status"] == "in_progress" && c["actions"] == 1)
    );
    // The plan as it stood before the progress report.
    let (status, _, past) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/report?{PERIOD}&format=json&at={before_progress}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{past}");
    assert_eq!(past["position"], before_progress);
    let past_action = past["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "2.1.1")
        .unwrap();
    assert_eq!(past_action["status"], "not_started");
    // Without a period, the plan's own.
    let (_, _, whole) = s
        .get(
            &s.viewer,
            &format!("/api/v1/plans/{PLAN}/report?format=json"),
        )
        .await;
    assert_eq!(
        whole["period"],
        json!({"from": "2021-01-01", "to": "2023-12-31"})
    );

    // CSV and XLSX exports of actions and indicators.
    let exports = format!("/api/v1/plans/{PLAN}/exports");
    let (status, headers, body) =
        fetch(&s, &s.viewer, &format!("{exports}/actions.csv?{PERIOD}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        header(&headers, "content-disposition"),
        format!("attachment; filename=\"{PLAN}-actions-2022-01-01-2022-12-31.csv\"")
    );
    let (columns, rows) = csv_rows(&body);
    assert_eq!(columns[..3], ["code", "title", "strategy"]);
    let gran_bosco = rows.iter().find(|r| &r[0] == "2.1.3").unwrap();
    assert_eq!(&gran_bosco[1], "Gran Bosco Torino");
    assert_eq!(
        &gran_bosco[columns.iter().position(|c| c == "planned_eur").unwrap()],
        "1244567.89"
    );
    let (status, headers, body) =
        fetch(&s, &s.viewer, &format!("{exports}/actions.xlsx?{PERIOD}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header(&headers, "content-type"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let sheet = xlsx_rows(body);
    assert_eq!(sheet[0], columns);
    assert_eq!(sheet.len(), rows.len() + 1);
    assert!(
        sheet
            .iter()
            .any(|r| r[0] == "2.1.3" && r[1] == "Gran Bosco Torino")
    );
    let (status, _, body) =
        fetch(&s, &s.viewer, &format!("{exports}/indicators.csv?{PERIOD}")).await;
    assert_eq!(status, StatusCode::OK);
    let (columns, rows) = csv_rows(&body);
    assert_eq!(columns[0], "code");
    let row = rows.iter().find(|r| &r[0] == INDICATOR).unwrap();
    assert_eq!(
        &row[columns.iter().position(|c| c == "latest_value").unwrap()],
        "1210"
    );
    let (status, _, body) = fetch(
        &s,
        &s.viewer,
        &format!("{exports}/indicators.xlsx?{PERIOD}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let sheet = xlsx_rows(body);
    assert_eq!(sheet[0], columns);
    assert!(sheet.iter().any(|r| r[0] == INDICATOR));

    // Open data in the national columns, exactly.
    let (status, headers, body) =
        fetch(&s, &s.viewer, &format!("{exports}/open-data.csv?{PERIOD}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header(&headers, "content-disposition"),
        format!("attachment; filename=\"{PLAN}-open-data-pnrr-2022-01-01-2022-12-31.csv\"")
    );
    let (columns, rows) = csv_rows(&body);
    assert_eq!(
        columns,
        [
            "Missione",
            "Componente",
            "Codice Univoco Misura",
            "Amministrazione Titolare",
            "CUP",
            "Codice Locale Progetto",
            "Stato CUP",
            "Stato Avanzamento Progetto",
            "Titolo Progetto",
            "Finanziamento PNRR",
            "Finanziamento Totale",
            "Soggetto Attuatore",
            "Data Inizio Progetto Prevista",
            "Data Inizio Progetto Effettiva",
            "Data Fine Progetto Prevista",
            "Data Fine Progetto Effettiva",
            "Descrizione Fase Iter di Progetto",
            "Stato Fase Iter di Progetto",
        ]
    );
    let g = rows
        .iter()
        .find(|r| &r[5] == format!("{PLAN}/2.1.3").as_str())
        .unwrap();
    assert_eq!((&g[0], &g[1], &g[2]), ("M2", "M2C4", "M2C4I3.1"));
    assert_eq!((&g[9], &g[10]), ("1234567.89", "1244567.89"));
    assert_eq!(&g[4], "", "no CUP is recorded, none is invented");
    let (status, _, body) = fetch(
        &s,
        &s.viewer,
        &format!("{exports}/open-data.csv?{PERIOD}&format=opencoesione"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (columns, rows) = csv_rows(&body);
    assert_eq!(
        columns,
        [
            "COD_LOCALE_PROGETTO",
            "CUP",
            "OC_TITOLO_PROGETTO",
            "OC_STATO_PROGETTO",
            "OC_STATO_PROCEDURALE",
            "FINANZ_UE",
            "FINANZ_TOTALE_PUBBLICO",
            "IMPEGNI",
            "TOT_PAGAMENTI",
            "OC_DATA_INIZIO_PROGETTO",
            "OC_DATA_FINE_PROGETTO_PREVISTA",
            "OC_DATA_FINE_PROGETTO_EFFETTIVA",
            "OC_DENOM_ATTUATORE",
            "OC_DENOM_BENEFICIARIO",
            "COD_INDICATORE_1",
            "UNITA_MISURA_INDICATORE_1",
            "PROGRAMMATO_INDICATORE_1",
            "REALIZZATO_INDICATORE_1",
        ]
    );
    let g = rows
        .iter()
        .find(|r| &r[0] == format!("{PLAN}/2.1.3").as_str())
        .unwrap();
    assert_eq!(
        (&g[6], &g[7], &g[8]),
        ("1244567.89", "500000.00", "12345.01")
    );
    let started = rows
        .iter()
        .find(|r| &r[0] == format!("{PLAN}/2.1.1").as_str())
        .unwrap();
    assert_eq!(&started[3], "In corso");

    // A link opened in a browser carries its token in the query.
    let r = s
        .http
        .get(format!(
            "{}{report}&format=pdf&access_token={}",
            s.base, s.viewer
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

pub async fn a_bad_period_or_format_is_refused_naming_the_parameter(s: Server) {
    let report = format!("/api/v1/plans/{PLAN}/report");
    for (query, status, field) in [
        (
            "from=2022-13-01&to=2022-12-31",
            StatusCode::BAD_REQUEST,
            "from",
        ),
        (
            "from=2022-01-01&to=31/12/2022",
            StatusCode::BAD_REQUEST,
            "to",
        ),
        (
            "from=2023-01-01&to=2022-12-31",
            StatusCode::UNPROCESSABLE_ENTITY,
            "to",
        ),
        ("format=docx", StatusCode::BAD_REQUEST, "format"),
        ("period=2022", StatusCode::BAD_REQUEST, "period"),
        ("at=abc", StatusCode::BAD_REQUEST, "at"),
        ("at=999999999", StatusCode::UNPROCESSABLE_ENTITY, "at"),
        (
            "as_of=2999-01-01T00:00:00Z",
            StatusCode::UNPROCESSABLE_ENTITY,
            "as_of",
        ),
        ("as_of=yesterday", StatusCode::BAD_REQUEST, "as_of"),
    ] {
        let (got, _, problem) = s.get(&s.viewer, &format!("{report}?{query}")).await;
        assert_eq!(got, status, "{query}: {problem}");
        assert_eq!(problem["field"], field, "{query}: {problem}");
    }
    let exports = format!("/api/v1/plans/{PLAN}/exports");
    let (got, _, problem) = s
        .get(&s.viewer, &format!("{exports}/open-data.csv?format=xls"))
        .await;
    assert_eq!(
        (got, problem["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("format"))
    );
    let (got, _, problem) = s
        .get(&s.viewer, &format!("{exports}/actions.csv?format=pnrr"))
        .await;
    assert_eq!(
        (got, problem["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("format"))
    );
    let (got, _, _) = s.get(&s.viewer, &format!("{exports}/everything.zip")).await;
    assert_eq!(got, StatusCode::NOT_FOUND);
    let (got, _, _) = s
        .get(
            &s.viewer,
            "/api/v1/plans/NO-SUCH-PLAN/report?from=2022-01-01&to=2022-12-31",
        )
        .await;
    assert_eq!(got, StatusCode::NOT_FOUND);
    let r = s
        .http
        .get(format!("{}{report}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "not public");
}
