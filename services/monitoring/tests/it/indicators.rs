//! Given the events already on an indicator's stream, when a definition, a measurement,
//! a correction or an import is decided, then these events, or this error. No I/O.
//! Figures are examples, not official data.

use metroplan_api::ApiError;
use metroplan_api::indicators::IndicatorCode;
use metroplan_api::indicators::{CorrectMeasurement, DefineIndicator, RecordMeasurement};
use metroplan_api::values::PlanCode;
use metroplan_events::pb;
use metroplan_monitoring::{
    ImportRow, Indicator, PlanStrategies, decide_correct, decide_define, decide_import,
    decide_record,
};

const CMTO: &str = "Città metropolitana di Torino";

fn plan() -> PlanCode {
    "PSM-2021-2023".parse().unwrap()
}

fn code() -> IndicatorCode {
    "IC-2.1-01".parse().unwrap()
}

fn strategies() -> PlanStrategies {
    PlanStrategies {
        strategies: [("2.1".to_owned(), false), ("1.5".to_owned(), true)].into(),
    }
}

fn definition() -> DefineIndicator {
    DefineIndicator {
        code: "IC-2.1-01".into(),
        strategy: "2.1".into(),
        name: "Superficie forestale (esempio)".into(),
        unit: "ha".into(),
        source: "Esempio: dati illustrativi, non ufficiali".into(),
        direction: "increase".into(),
        baseline_value: "1000".into(),
        baseline_year: 2020,
        target_value: "1300".into(),
        target_year: 2023,
        territory: CMTO.into(),
    }
}

fn measurement(period: &str, territory: &str, value: &str) -> RecordMeasurement {
    RecordMeasurement {
        period: period.into(),
        territory: territory.into(),
        value: value.into(),
        source_note: "Esempio".into(),
    }
}

fn apply(state: &mut Indicator, events: Result<Vec<pb::IndicatorEvent>, ApiError>) {
    for e in &events.expect("given events are valid") {
        state.apply(e);
    }
}

/// Defined, with measurements (period, value) in the indicator's territory.
fn given(measurements: &[(&str, &str)]) -> Indicator {
    let mut state = Indicator::default();
    let defined = decide_define(&state, &plan(), Some(&strategies()), &definition());
    apply(&mut state, defined);
    for (period, value) in measurements {
        let e = decide_record(&state, &plan(), &code(), &measurement(period, CMTO, value));
        apply(&mut state, e);
    }
    state
}

fn field_of(e: ApiError) -> (String, Option<String>) {
    match e {
        ApiError::Validation { field, .. } => ("validation".into(), Some(field)),
        ApiError::Rejected { field, .. } => ("rejected".into(), field),
        ApiError::NotFound { .. } => ("not_found".into(), None),
        other => panic!("unexpected {other:?}"),
    }
}

fn err(kind: &str, field: &str) -> (String, Option<String>) {
    (kind.into(), Some(field.into()))
}

#[test]
fn a_definition_names_a_live_strategy_and_a_target_in_the_desired_direction() {
    let events = decide_define(
        &Indicator::default(),
        &plan(),
        Some(&strategies()),
        &definition(),
    )
    .unwrap();
    let Some(pb::indicator_event::Event::IndicatorDefined(d)) = &events[0].event else {
        panic!("{events:?}")
    };
    assert_eq!(
        (d.strategy.as_str(), d.direction.as_str()),
        ("2.1", "increase")
    );
    assert_eq!((d.baseline_value.as_str(), d.target_year), ("1000", 2023));

    let nothing = Indicator::default();
    let with = |f: fn(&mut DefineIndicator)| {
        let mut b = definition();
        f(&mut b);
        field_of(decide_define(&nothing, &plan(), Some(&strategies()), &b).unwrap_err())
    };
    assert_eq!(
        with(|b| b.strategy = "9.9".into()),
        err("validation", "strategy")
    );
    assert_eq!(
        with(|b| b.strategy = "1.5".into()),
        err("rejected", "strategy")
    );
    assert_eq!(
        with(|b| b.strategy = "2".into()),
        err("validation", "strategy")
    );
    assert_eq!(with(|b| b.code = "IC 1".into()), err("validation", "code"));
    assert_eq!(with(|b| b.unit = " ".into()), err("validation", "unit"));
    assert_eq!(
        with(|b| b.direction = "up".into()),
        err("validation", "direction")
    );
    assert_eq!(
        with(|b| b.baseline_value = "1.000,5".into()),
        err("validation", "baseline_value")
    );
    assert_eq!(
        with(|b| b.target_year = 2020),
        err("validation", "target_year")
    );
    assert_eq!(
        with(|b| b.target_value = "900".into()),
        err("validation", "target_value")
    );
    assert_eq!(
        with(|b| b.baseline_year = 1200),
        err("validation", "baseline_year")
    );
    assert_eq!(
        field_of(decide_define(&nothing, &plan(), None, &definition()).unwrap_err()).0,
        "not_found"
    );
    assert_eq!(
        field_of(
            decide_define(&given(&[]), &plan(), Some(&strategies()), &definition()).unwrap_err()
        ),
        err("rejected", "code")
    );
}

#[test]
fn measurements_are_numbered_and_one_per_period_and_territory() {
    let state = given(&[("2021", "1100")]);
    let events = decide_record(
        &state,
        &plan(),
        &code(),
        &measurement("2022", CMTO, "1150.5"),
    )
    .unwrap();
    let Some(pb::indicator_event::Event::MeasurementRecorded(m)) = &events[0].event else {
        panic!("{events:?}")
    };
    assert_eq!((m.measurement, m.value.as_str()), (2, "1150.5"));
    // The same period elsewhere is another measurement.
    assert!(
        decide_record(
            &state,
            &plan(),
            &code(),
            &measurement("2021", "Ivrea", "12")
        )
        .is_ok()
    );
    // The same period and territory is a conflict: correct it instead.
    assert_eq!(
        field_of(
            decide_record(&state, &plan(), &code(), &measurement("2021", CMTO, "1200"))
                .unwrap_err()
        ),
        err("rejected", "period")
    );
    let respelled = measurement("2021", " città  metropolitana di torino", "1200");
    assert_eq!(
        field_of(decide_record(&state, &plan(), &code(), &respelled).unwrap_err()),
        err("rejected", "period"),
        "the same territory however spaced and cased"
    );
    assert_eq!(
        field_of(
            decide_record(&state, &plan(), &code(), &measurement("2021-13", CMTO, "1"))
                .unwrap_err()
        ),
        err("validation", "period")
    );
    assert_eq!(
        field_of(
            decide_record(&state, &plan(), &code(), &measurement("2022", CMTO, "12,5"))
                .unwrap_err()
        ),
        err("validation", "value")
    );
    assert_eq!(
        field_of(
            decide_record(
                &Indicator::default(),
                &plan(),
                &code(),
                &measurement("2022", CMTO, "1")
            )
            .unwrap_err()
        )
        .0,
        "not_found"
    );
}

#[test]
fn a_correction_keeps_the_original_and_says_what_it_replaces_and_why() {
    let state = given(&[("2021", "1100"), ("2022", "1150")]);
    let body = CorrectMeasurement {
        value: "1160".into(),
        reason: "Dato rettificato dalla fonte (esempio)".into(),
    };
    let events = decide_correct(&state, &plan(), &code(), "2", &body).unwrap();
    let Some(pb::indicator_event::Event::MeasurementCorrected(c)) = &events[0].event else {
        panic!("{events:?}")
    };
    assert_eq!(
        (
            c.measurement,
            c.previous_value.as_str(),
            c.value.as_str(),
            c.period.as_str()
        ),
        (2, "1150", "1160", "2022")
    );
    let mut after = state.clone();
    after.apply(&events[0]);
    assert_eq!(after.measurements[1].value, "1160");
    let again = CorrectMeasurement {
        value: "1160.0".into(),
        reason: "again".into(),
    };
    assert_eq!(
        field_of(decide_correct(&after, &plan(), &code(), "2", &again).unwrap_err()),
        err("rejected", "value")
    );
    let no_reason = CorrectMeasurement {
        value: "1170".into(),
        reason: "  ".into(),
    };
    assert_eq!(
        field_of(decide_correct(&state, &plan(), &code(), "2", &no_reason).unwrap_err()),
        err("validation", "reason")
    );
    assert_eq!(
        field_of(decide_correct(&state, &plan(), &code(), "3", &body).unwrap_err()).0,
        "not_found"
    );
    assert_eq!(
        field_of(decide_correct(&state, &plan(), &code(), "x", &body).unwrap_err()),
        err("validation", "measurement")
    );
}

#[test]
fn an_import_reports_every_bad_row_with_its_line_and_decides_nothing_unless_all_are_valid() {
    let state = given(&[("2021", "1100")]);
    let row = |line, period: &str, value: &str| ImportRow {
        line,
        measurement: measurement(period, CMTO, value),
    };
    let good = [row(2, "2022", "1150"), row(3, "2023", "1210")];
    let events = decide_import(&state, &plan(), &code(), &good).unwrap();
    assert_eq!(events.len(), 2);
    let bad = [
        row(2, "2022", "1150"),
        row(3, "2021", "1000"),
        row(4, "2022", "1151"),
        row(5, "2022-Q9", "1"),
    ];
    let errors = decide_import(&state, &plan(), &code(), &bad).unwrap_err();
    let lines: Vec<(u64, Option<&str>)> = errors
        .iter()
        .map(|e| (e.line, e.column.as_deref()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (3, Some("period")),
            (4, Some("period")),
            (5, Some("period"))
        ],
        "a duplicate of the log (3) and of an earlier row (4) alike"
    );
    let errors = decide_import(&Indicator::default(), &plan(), &code(), &good).unwrap_err();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].column.as_deref(), Some("indicator"));
}
