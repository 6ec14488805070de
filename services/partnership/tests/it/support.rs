//! Helpers shared by the given / when / then tests: applying events to a state and
//! checking the kind and field of an error.

use metroplan_api::ApiError;
use metroplan_events::{Aggregate, EventMetadata, RecordedEvent};

/// `state` after `events`, applied in order.
pub fn apply<A: Aggregate>(mut state: A, events: &[A::Event]) -> A {
    for (i, e) in events.iter().enumerate() {
        state.evolve(e, &recorded(i as u64 + 1));
    }
    state
}

fn recorded(version: u64) -> RecordedEvent {
    RecordedEvent {
        event_id: uuid::Uuid::now_v7(),
        stream_id: "test".into(),
        stream_version: version,
        position: version,
        event_type: String::new(),
        schema_version: 1,
        recorded_at: chrono::Utc::now(),
        metadata: EventMetadata::default(),
        payload: Vec::new(),
        hash: Vec::new(),
    }
}

#[track_caller]
pub fn assert_validation<T: std::fmt::Debug>(result: Result<T, ApiError>, expected_field: &str) {
    match result {
        Err(ApiError::Validation { field, .. }) => assert_eq!(field, expected_field),
        other => panic!("expected a validation error on {expected_field}, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_rejected<T: std::fmt::Debug>(
    result: Result<T, ApiError>,
    expected_field: Option<&str>,
) {
    match result {
        Err(ApiError::Rejected { field, .. }) => assert_eq!(field.as_deref(), expected_field),
        other => panic!("expected a rejection on {expected_field:?}, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(result: Result<T, ApiError>) {
    assert!(
        matches!(result, Err(ApiError::NotFound { .. })),
        "expected not found, got {result:?}"
    );
}
