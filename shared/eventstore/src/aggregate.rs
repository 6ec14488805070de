//! Loading an aggregate from its stream and running one decision against it, with
//! optimistic concurrency: the decision runs on the state it saw, the append demands
//! that nobody appended since, and a lost race is decided again on fresh state.

use metroplan_events::{Aggregate, EventMetadata, EventPayload, NewEvent};

use crate::{AppendResult, EventStore, ExpectedVersion, StoreError};

/// How many times a decision is retried after losing an append race.
const MAX_ATTEMPTS: usize = 8;
const PAGE: usize = 1024;

/// An aggregate's state and the version of the stream it was built from (0: no stream).
#[derive(Debug, Clone)]
pub struct Loaded<A> {
    pub state: A,
    pub version: u64,
}

/// Rebuilds `A` from every event of `stream`.
///
/// # Errors
/// A store failure, or an event that does not decode (reported as a backend error).
pub async fn load<A: Aggregate>(
    store: &dyn EventStore,
    stream: &str,
) -> Result<Loaded<A>, StoreError> {
    let mut state = A::default();
    let mut version = 0;
    loop {
        let page = store.read_stream(stream, version + 1, PAGE).await?;
        let n = page.len();
        for recorded in &page {
            let event = A::Event::decode_recorded(recorded)
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            state.evolve(&event, recorded);
            version = recorded.stream_version;
        }
        if n < PAGE {
            return Ok(Loaded { state, version });
        }
    }
}

/// The result of [`execute`]: what was appended, or nothing when the decision produced no event.
#[derive(Debug, Clone)]
pub struct Executed<A> {
    pub append: Option<AppendResult>,
    /// The state after the new events.
    pub state: A,
    pub event_types: Vec<&'static str>,
}

/// Errors of [`execute`]: the decision's own, or the store's.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<E> {
    #[error(transparent)]
    Decision(E),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Loads `stream`, asks `decide` for new events, appends them expecting the version it
/// saw, and retries on a lost race. `decide` gets the state and its version.
///
/// # Errors
/// The decision's error, or a store failure (after [`MAX_ATTEMPTS`] lost races, the
/// last [`StoreError::WrongExpectedVersion`]).
pub async fn execute<A, E, F>(
    store: &dyn EventStore,
    stream: &str,
    metadata: &EventMetadata,
    mut decide: F,
) -> Result<Executed<A>, ExecuteError<E>>
where
    A: Aggregate,
    F: FnMut(&A, u64) -> Result<Vec<A::Event>, E>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let Loaded { mut state, version } = load::<A>(store, stream).await?;
        let events = decide(&state, version).map_err(ExecuteError::Decision)?;
        if events.is_empty() {
            return Ok(Executed {
                append: None,
                state,
                event_types: Vec::new(),
            });
        }
        let new: Vec<NewEvent> = events
            .iter()
            .map(|e| NewEvent::new(e, metadata.clone()))
            .collect();
        let expected = if version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(version)
        };
        let new_ids: Vec<uuid::Uuid> = new.iter().map(|n| n.event_id).collect();
        match store.append(stream, expected, new).await {
            Ok(append) => {
                let event_types = events.iter().map(EventPayload::event_type).collect();
                // Apply locally so the caller sees the state its command produced.
                // Apply locally with the positions the store assigned, so the state's
                // positions are those of the log, not of the state before the append.
                for (i, (e, new)) in events.iter().zip(&new_ids).enumerate() {
                    let i = i as u64;
                    let recorded = as_recorded(
                        stream,
                        version + 1 + i,
                        append.first_position + i,
                        *new,
                        metadata,
                    );
                    state.evolve(e, &recorded);
                }
                return Ok(Executed {
                    append: Some(append),
                    state,
                    event_types,
                });
            }
            Err(StoreError::WrongExpectedVersion { .. }) if attempt < MAX_ATTEMPTS => {
                tracing::debug!(%stream, attempt, "append race lost, deciding again");
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The envelope of an event just appended, as far as the writer knows it (the stored
/// time and hash are the store's; evolve uses neither).
fn as_recorded(
    stream: &str,
    version: u64,
    position: u64,
    event_id: uuid::Uuid,
    metadata: &EventMetadata,
) -> metroplan_events::RecordedEvent {
    metroplan_events::RecordedEvent {
        event_id,
        stream_id: stream.to_owned(),
        stream_version: version,
        position,
        event_type: String::new(),
        schema_version: 0,
        recorded_at: chrono::Utc::now(),
        metadata: metadata.clone(),
        payload: Vec::new(),
        hash: Vec::new(),
    }
}
