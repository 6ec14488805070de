//! Given the events already on an indicator's stream, when a definition, an edit, a
//! retirement, a measurement, a correction or an import is decided, then these events,
//! or this error. No I/O.
//! Figures are examples, not official data.

use metroplan_api::ApiError;
use metroplan_api::indicators::IndicatorCode;
use metroplan_api::indicators::{
    CorrectMeasurement, DefineIndicator, EditIndicator, RecordMeasurement, RetireIndicator,
};
use metroplan_api::values::PlanCode;
use metroplan_events::pb;
use metroplan_monitoring::{
    ImportRow, Indicator, PlanStrategies, decide_correct, decide_define, decide_edit,
    decide_import, decide_record, decide_retire,
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

fn edited(events: &[pb::IndicatorEvent]) -> &pb::IndicatorEdited {
    match &events[0].event {
        Some(pb::indicator_event::Event::IndicatorEdited(e)) => e,
        other => panic!("{other:?}"),
    }
}

/// `decide_edit` at the state's own version, not stale.
fn edit_now(state: &Indicator, body: &EditIndicator) -> Result<Vec<pb::IndicatorEvent>, ApiError> {
    decide_edit(state, &plan(), &code(), state.version, None, body).map(|d| {
        assert!(!d.merged);
        d.events
    })
}

#[test]
fn an_edit_records_only_the_fields_that_change_and_the_definition_reads_edited() {
    let state = given(&[("2021", "1100")]);
    let body = EditIndicator {
        name: Some("  Superficie forestale (esempio, rinominato)  ".into()),
        // Sent as it stands: not recorded.
        unit: Some("ha".into()),
        // 1300 by value: not recorded either.
        target_value: Some("1300.00".into()),
        target_year: Some(2026),
        ..Default::default()
    };
    let events = edit_now(&state, &body).unwrap();
    let e = edited(&events);
    assert_eq!(
        (e.plan.as_str(), e.code.as_str()),
        ("PSM-2021-2023", "IC-2.1-01")
    );
    assert_eq!(
        e.name.as_deref(),
        Some("Superficie forestale (esempio, rinominato)")
    );
    assert_eq!(e.target_year, Some(2026));
    assert_eq!(
        (&e.unit, &e.target_value, &e.direction, &e.territory),
        (&None, &None, &None, &None)
    );
    let mut after = state.clone();
    after.apply(&events[0]);
    let def = after.definition.as_ref().unwrap();
    assert_eq!(
        (def.name.as_str(), def.target_year, def.strategy.as_str()),
        ("Superficie forestale (esempio, rinominato)", 2026, "2.1")
    );
    assert_eq!(after.measurements.len(), 1, "measurements are untouched");
    // What the definition was is still known.
    assert_eq!(after.definition_at(1).unwrap().target_year, 2023);
    assert_eq!(
        after.changed_since(2).into_iter().collect::<Vec<_>>(),
        vec!["name", "target_year"]
    );

    // Every field may change, each parsed as in a definition.
    let all = EditIndicator {
        name: Some("Emissioni (esempio)".into()),
        unit: Some("t CO2e per abitante".into()),
        source: Some("Esempio: fonte illustrativa".into()),
        direction: Some("decrease".into()),
        baseline_value: Some("7.5".into()),
        baseline_year: Some(2019),
        target_value: Some("5.25".into()),
        target_year: Some(2030),
        territory: Some("Ivrea".into()),
    };
    let events = edit_now(&state, &all).unwrap();
    let e = edited(&events);
    assert_eq!(
        (
            e.direction.as_deref(),
            e.baseline_value.as_deref(),
            e.baseline_year,
            e.target_value.as_deref(),
            e.territory.as_deref()
        ),
        (
            Some("decrease"),
            Some("7.5"),
            Some(2019),
            Some("5.25"),
            Some("Ivrea")
        )
    );
}

#[test]
fn an_edit_is_refused_naming_the_field_when_it_changes_nothing_or_breaks_a_rule() {
    let state = given(&[]);
    let with = |body: EditIndicator| field_of(edit_now(&state, &body).unwrap_err());
    // Nothing sent, or nothing that changes: 422 on the body.
    assert_eq!(with(EditIndicator::default()), err("validation", "body"));
    assert_eq!(
        with(EditIndicator {
            unit: Some(" ha ".into()),
            baseline_value: Some("1000.0".into()),
            baseline_year: Some(2020),
            ..Default::default()
        }),
        err("validation", "body")
    );
    // Each value as in a definition.
    for (body, field) in [
        (
            EditIndicator {
                name: Some("  ".into()),
                ..Default::default()
            },
            "name",
        ),
        (
            EditIndicator {
                direction: Some("up".into()),
                ..Default::default()
            },
            "direction",
        ),
        (
            EditIndicator {
                baseline_value: Some("1.000,5".into()),
                ..Default::default()
            },
            "baseline_value",
        ),
        (
            EditIndicator {
                target_year: Some(2200),
                ..Default::default()
            },
            "target_year",
        ),
    ] {
        assert_eq!(with(body), err("validation", field));
    }
    // The merged definition keeps the rules, naming the field the edit sets.
    assert_eq!(
        with(EditIndicator {
            target_year: Some(2020),
            ..Default::default()
        }),
        err("validation", "target_year")
    );
    assert_eq!(
        with(EditIndicator {
            baseline_year: Some(2024),
            ..Default::default()
        }),
        err("validation", "baseline_year")
    );
    assert_eq!(
        with(EditIndicator {
            target_value: Some("900".into()),
            ..Default::default()
        }),
        err("validation", "target_value")
    );
    assert_eq!(
        with(EditIndicator {
            baseline_value: Some("1300".into()),
            ..Default::default()
        }),
        err("validation", "baseline_value")
    );
    assert_eq!(
        with(EditIndicator {
            direction: Some("decrease".into()),
            ..Default::default()
        }),
        err("validation", "direction"),
        "a target above the baseline cannot decrease"
    );
    // Turned round whole, it may.
    assert!(
        edit_now(
            &state,
            &EditIndicator {
                direction: Some("decrease".into()),
                target_value: Some("800".into()),
                ..Default::default()
            }
        )
        .is_ok()
    );
    assert_eq!(
        field_of(edit_now(&Indicator::default(), &EditIndicator::default()).unwrap_err()).0,
        "not_found"
    );
}

#[test]
fn a_stale_edit_merges_when_its_fields_were_not_changed_since_and_conflicts_otherwise() {
    // Version 1 defined, 2 a measurement, 3 their edit of the target year.
    let mut state = given(&[("2021", "1100")]);
    let theirs = edit_now(
        &state,
        &EditIndicator {
            target_year: Some(2025),
            name: Some("Superficie forestale (esempio, loro)".into()),
            ..Default::default()
        },
    )
    .unwrap();
    state.apply(&theirs[0]);
    assert_eq!(state.version, 3);

    // Mine, based on version 2, sets other fields: merged.
    let mine = EditIndicator {
        unit: Some("km²".into()),
        target_value: Some("1350".into()),
        ..Default::default()
    };
    let d = decide_edit(&state, &plan(), &code(), 3, Some(2), &mine);
    let d = d.unwrap();
    assert!(d.merged);
    assert_eq!(edited(&d.events).unit.as_deref(), Some("km²"));

    // Based on version 1, a measurement since is no change of the definition either.
    let d = decide_edit(&state, &plan(), &code(), 3, Some(1), &mine).unwrap();
    assert!(d.merged);

    // Mine sets a field they changed, to another value: base, theirs and yours.
    let clash = EditIndicator {
        target_year: Some(2030),
        unit: Some("km²".into()),
        ..Default::default()
    };
    match decide_edit(&state, &plan(), &code(), 3, Some(2), &clash).unwrap_err() {
        ApiError::EditConflict {
            fields,
            base_version,
            current_version,
            base,
            theirs,
            yours,
        } => {
            assert_eq!(fields, vec!["target_year"]);
            assert_eq!((base_version, current_version), (2, 3));
            assert_eq!(base, serde_json::json!({ "target_year": 2023 }));
            assert_eq!(theirs, serde_json::json!({ "target_year": 2025 }));
            assert_eq!(yours, serde_json::json!({ "target_year": 2030 }));
        }
        other => panic!("{other:?}"),
    }

    // The same value as theirs is agreement, not conflict: only the rest is recorded.
    let agree = EditIndicator {
        target_year: Some(2025),
        unit: Some("km²".into()),
        ..Default::default()
    };
    let d = decide_edit(&state, &plan(), &code(), 3, Some(2), &agree).unwrap();
    assert_eq!(
        (
            edited(&d.events).target_year,
            edited(&d.events).unit.as_deref()
        ),
        (None, Some("km²"))
    );
    // Sending their field back at its base value is no change of mine: theirs stays.
    let back = EditIndicator {
        target_year: Some(2023),
        ..Default::default()
    };
    assert_eq!(
        field_of(decide_edit(&state, &plan(), &code(), 3, Some(2), &back).unwrap_err()),
        err("validation", "body")
    );
    // A base the stream never reached.
    assert!(matches!(
        decide_edit(&state, &plan(), &code(), 3, Some(9), &mine).unwrap_err(),
        ApiError::PreconditionFailed { .. }
    ));
}

#[test]
fn a_retired_indicator_keeps_its_history_and_takes_nothing_more() {
    let state = given(&[("2021", "1100")]);
    let reason = RetireIndicator {
        reason: "  Sostituito da IC-2.1-02 (esempio)  ".into(),
    };
    let events = decide_retire(&state, &plan(), &code(), &reason).unwrap();
    let Some(pb::indicator_event::Event::IndicatorRetired(r)) = &events[0].event else {
        panic!("{events:?}")
    };
    assert_eq!(
        (r.plan.as_str(), r.code.as_str(), r.reason.as_str()),
        (
            "PSM-2021-2023",
            "IC-2.1-01",
            "Sostituito da IC-2.1-02 (esempio)"
        )
    );
    assert_eq!(
        field_of(
            decide_retire(
                &state,
                &plan(),
                &code(),
                &RetireIndicator { reason: " ".into() }
            )
            .unwrap_err()
        ),
        err("validation", "reason")
    );
    assert_eq!(
        field_of(decide_retire(&Indicator::default(), &plan(), &code(), &reason).unwrap_err()).0,
        "not_found"
    );

    let mut retired = state.clone();
    retired.apply(&events[0]);
    assert_eq!(retired.measurements.len(), 1);
    assert!(retired.definition.is_some());
    let refused = |e: ApiError| match e {
        ApiError::Rejected { message, .. } => message,
        other => panic!("{other:?}"),
    };
    let why = refused(decide_retire(&retired, &plan(), &code(), &reason).unwrap_err());
    assert!(why.contains("already retired"), "{why}");
    let why = refused(
        decide_record(
            &retired,
            &plan(),
            &code(),
            &measurement("2022", CMTO, "1150"),
        )
        .unwrap_err(),
    );
    assert!(
        why.contains("retired (Sostituito da IC-2.1-02 (esempio))"),
        "{why}"
    );
    let fix = CorrectMeasurement {
        value: "1101".into(),
        reason: "Esempio".into(),
    };
    refused(decide_correct(&retired, &plan(), &code(), "1", &fix).unwrap_err());
    refused(
        edit_now(
            &retired,
            &EditIndicator {
                unit: Some("km²".into()),
                ..Default::default()
            },
        )
        .unwrap_err(),
    );
    let rows = [ImportRow {
        line: 2,
        measurement: measurement("2022", CMTO, "1150"),
    }];
    let errors = decide_import(&retired, &plan(), &code(), &rows).unwrap_err();
    assert!(errors[0].reason.contains("retired"), "{errors:?}");
}
