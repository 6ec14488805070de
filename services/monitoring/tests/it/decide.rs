//! Given the reports already on an action's stream, when a new report is decided,
//! then these events, or this error. No I/O.

use metroplan_api::ApiError;
use metroplan_api::monitoring::ReportProgress;
use metroplan_api::values::Date;
use metroplan_events::{Aggregate, EventMetadata, RecordedEvent, pb};
use metroplan_monitoring::{
    ActionProgress, ActionStanding, PlanPeriod, ReportTarget, decide_report,
};

fn day(s: &str) -> Date {
    s.parse().expect("test date")
}

fn target() -> ReportTarget {
    ReportTarget {
        plan: "PSM-2021-2023".parse().expect("plan code"),
        action: "2.1.3".parse().expect("action code"),
        period: Some(PlanPeriod {
            from: day("2021-01-01"),
            to: day("2023-12-31"),
        }),
        standing: ActionStanding::Live,
        caller_organisation: "Città metropolitana di Torino".into(),
    }
}

fn report(status: &str, progress: i64, as_of: &str) -> ReportProgress {
    ReportProgress {
        status: status.into(),
        progress,
        note: String::new(),
        as_of: as_of.into(),
        evidence_url: None,
        reporting_organisation: None,
    }
}

fn recorded(version: u64) -> RecordedEvent {
    RecordedEvent {
        event_id: uuid::Uuid::now_v7(),
        stream_id: "progress:PSM-2021-2023/2.1.3".into(),
        stream_version: version,
        position: version,
        event_type: "ActionProgressReported".into(),
        schema_version: 1,
        recorded_at: chrono::Utc::now(),
        metadata: EventMetadata::default(),
        payload: Vec::new(),
        hash: Vec::new(),
    }
}

/// The state after `reports` (status, progress, as_of), each decided in turn.
fn given(reports: &[(&str, i64, &str)]) -> ActionProgress {
    let mut state = ActionProgress::default();
    for (i, (status, progress, as_of)) in reports.iter().enumerate() {
        let events = decide_report(&state, &report(status, *progress, as_of), &target())
            .expect("given report is valid");
        for e in &events {
            state.evolve(e, &recorded(i as u64 + 1));
        }
    }
    state
}

fn reported(events: &[pb::ProgressEvent]) -> &pb::ActionProgressReported {
    assert_eq!(events.len(), 1, "one event per report");
    match &events[0].event {
        Some(pb::progress_event::Event::ActionProgressReported(r)) => r,
        other => panic!("unexpected event {other:?}"),
    }
}

fn assert_validation(result: Result<Vec<pb::ProgressEvent>, ApiError>, expected_field: &str) {
    match result {
        Err(ApiError::Validation { field, .. }) => assert_eq!(field, expected_field),
        other => panic!("expected a validation error on {expected_field}, got {other:?}"),
    }
}

fn assert_rejected(result: Result<Vec<pb::ProgressEvent>, ApiError>, expected_field: Option<&str>) {
    match result {
        Err(ApiError::Rejected { field, .. }) => assert_eq!(field.as_deref(), expected_field),
        other => panic!("expected a rejection on {expected_field:?}, got {other:?}"),
    }
}

#[test]
fn a_first_report_starts_from_not_started_and_carries_everything() {
    let state = given(&[]);
    let mut body = report("in_progress", 40, "2022-06-30");
    body.note = "gara aggiudicata".into();
    body.evidence_url = Some("https://www.cittametropolitana.torino.it/atto/123".into());

    let events = decide_report(&state, &body, &target()).unwrap();

    let r = reported(&events);
    assert_eq!(r.plan, "PSM-2021-2023");
    assert_eq!(r.action, "2.1.3");
    assert_eq!(r.status, "in_progress");
    assert_eq!(r.previous_status, "not_started");
    assert_eq!(r.progress, 40);
    assert_eq!(r.note, "gara aggiudicata");
    assert_eq!(
        r.evidence_url,
        "https://www.cittametropolitana.torino.it/atto/123"
    );
    assert_eq!(r.reporting_organisation, "Città metropolitana di Torino");
    assert_eq!(r.as_of, "2022-06-30");
}

#[test]
fn a_named_reporting_organisation_is_kept_and_a_blank_one_refused() {
    let mut body = report("started", 5, "2021-03-01");
    body.reporting_organisation = Some("  Unione montana Valli di Lanzo ".into());
    let events = decide_report(&given(&[]), &body, &target()).unwrap();
    assert_eq!(
        reported(&events).reporting_organisation,
        "Unione montana Valli di Lanzo"
    );

    body.reporting_organisation = Some("   ".into());
    assert_validation(
        decide_report(&given(&[]), &body, &target()),
        "reporting_organisation",
    );
}

#[test]
fn the_forward_path_holds_and_previous_status_follows_the_stream() {
    let state = given(&[
        ("started", 10, "2021-05-01"),
        ("in_progress", 50, "2022-01-15"),
    ]);
    assert_eq!(state.current_status().as_str(), "in_progress");
    assert_eq!(state.reports, 2);

    let events = decide_report(&state, &report("completed", 100, "2023-06-30"), &target()).unwrap();

    let r = reported(&events);
    assert_eq!(r.previous_status, "in_progress");
    assert_eq!(r.status, "completed");
}

#[test]
fn a_step_may_be_skipped_forward() {
    let events = decide_report(
        &given(&[]),
        &report("completed", 100, "2021-12-31"),
        &target(),
    )
    .unwrap();
    assert_eq!(reported(&events).previous_status, "not_started");
}

#[test]
fn the_same_status_may_be_reported_again_with_new_progress_even_lower() {
    let state = given(&[("in_progress", 60, "2022-01-01")]);
    let events =
        decide_report(&state, &report("in_progress", 45, "2022-02-01"), &target()).unwrap();
    assert_eq!(reported(&events).progress, 45);
}

#[test]
fn a_completed_action_does_not_go_back_to_in_progress() {
    let state = given(&[("completed", 100, "2022-01-01")]);
    assert_rejected(
        decide_report(&state, &report("in_progress", 90, "2022-02-01"), &target()),
        Some("status"),
    );
}

#[test]
fn a_cancelled_action_is_final() {
    let state = given(&[("cancelled", 0, "2022-01-01")]);
    assert_rejected(
        decide_report(&state, &report("started", 0, "2022-02-01"), &target()),
        Some("status"),
    );
}

#[test]
fn nothing_returns_to_not_started() {
    let state = given(&[("started", 10, "2022-01-01")]);
    assert_rejected(
        decide_report(&state, &report("not_started", 0, "2022-02-01"), &target()),
        Some("status"),
    );
}

#[test]
fn a_suspended_action_may_resume() {
    let state = given(&[
        ("in_progress", 30, "2021-06-01"),
        ("suspended", 30, "2021-09-01"),
    ]);
    let events =
        decide_report(&state, &report("in_progress", 35, "2022-03-01"), &target()).unwrap();
    assert_eq!(reported(&events).previous_status, "suspended");
}

#[test]
fn completed_means_one_hundred_percent() {
    assert_validation(
        decide_report(
            &given(&[]),
            &report("completed", 80, "2022-01-01"),
            &target(),
        ),
        "progress",
    );
}

#[test]
fn not_started_means_zero_percent() {
    assert_validation(
        decide_report(
            &given(&[]),
            &report("not_started", 10, "2022-01-01"),
            &target(),
        ),
        "progress",
    );
}

#[test]
fn progress_is_a_percentage() {
    assert_validation(
        decide_report(
            &given(&[]),
            &report("started", 101, "2022-01-01"),
            &target(),
        ),
        "progress",
    );
    assert_validation(
        decide_report(&given(&[]), &report("started", -1, "2022-01-01"), &target()),
        "progress",
    );
}

#[test]
fn an_unknown_status_is_named() {
    assert_validation(
        decide_report(&given(&[]), &report("done", 100, "2022-01-01"), &target()),
        "status",
    );
}

#[test]
fn as_of_is_a_date_inside_the_plan_period() {
    assert_validation(
        decide_report(&given(&[]), &report("started", 1, "30/06/2022"), &target()),
        "as_of",
    );
    assert_validation(
        decide_report(&given(&[]), &report("started", 1, "2020-12-31"), &target()),
        "as_of",
    );
    assert_validation(
        decide_report(&given(&[]), &report("started", 1, "2024-01-01"), &target()),
        "as_of",
    );
    assert!(decide_report(&given(&[]), &report("started", 1, "2023-12-31"), &target()).is_ok());
}

#[test]
fn a_report_is_not_dated_before_the_previous_one_but_may_share_its_day() {
    let state = given(&[("in_progress", 40, "2022-06-30")]);
    assert_rejected(
        decide_report(&state, &report("in_progress", 50, "2022-06-29"), &target()),
        Some("as_of"),
    );
    assert!(decide_report(&state, &report("in_progress", 45, "2022-06-30"), &target()).is_ok());
}

#[test]
fn evidence_is_an_http_link_and_an_empty_one_means_none() {
    let mut body = report("started", 5, "2022-01-01");
    for bad in [
        "ftp://example.org/a",
        "www.example.org",
        "https://",
        "https://exa mple.org",
    ] {
        body.evidence_url = Some(bad.into());
        assert_validation(decide_report(&given(&[]), &body, &target()), "evidence_url");
    }
    body.evidence_url = Some(String::new());
    let events = decide_report(&given(&[]), &body, &target()).unwrap();
    assert_eq!(reported(&events).evidence_url, "");
    body.evidence_url = Some("http://example.org".into());
    assert!(decide_report(&given(&[]), &body, &target()).is_ok());
}

#[test]
fn a_missing_plan_or_action_is_not_found_and_a_retired_action_rejected() {
    let body = report("started", 5, "2022-01-01");
    let no_plan = ReportTarget {
        period: None,
        ..target()
    };
    assert!(matches!(
        decide_report(&given(&[]), &body, &no_plan),
        Err(ApiError::NotFound { .. })
    ));
    let no_action = ReportTarget {
        standing: ActionStanding::Missing,
        ..target()
    };
    assert!(matches!(
        decide_report(&given(&[]), &body, &no_action),
        Err(ApiError::NotFound { .. })
    ));
    let retired = ReportTarget {
        standing: ActionStanding::Retired,
        ..target()
    };
    assert_rejected(decide_report(&given(&[]), &body, &retired), None);
}
