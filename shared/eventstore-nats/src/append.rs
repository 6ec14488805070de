//! The write path: predicted positions, the expectation headers, atomic batches, and
//! what to do with every answer the server can give (see the crate documentation for
//! the design).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::{ErrorCode, publish::PublishAck};
use chrono::{DateTime, Utc};
use metroplan_events::{NewEvent, RecordedEvent};
use metroplan_eventstore::{AppendResult, ExpectedVersion, Result, StoreError};
use tokio::time::Instant;
use uuid::Uuid;

use crate::envelope::StoredEvent;
use crate::sender::{Job, Sent};
use crate::subject::stream_subject;
use crate::{APPEND_TIMEOUT, DUPLICATE_WINDOW, Inner, MAX_EVENTS_PER_APPEND, backend};

/// Multi-event appends of one store in flight at once (JetStream allows 50 open
/// batches per stream).
pub(crate) const MAX_BATCHES_IN_FLIGHT: usize = 32;

/// Streams whose last event the store remembers from its own appends.
pub(crate) const MAX_CACHED_TIPS: usize = 4096;

/// How far the clock of whoever made an event id may be ahead of the servers' clocks:
/// stored events are looked for from this long before the time in their id.
pub(crate) const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// The pause before an append tries again (doubling from the first to the most, with
/// jitter): short, since the usual cause (a write of another process, an election that
/// just ended) is over quickly; retries are bounded overall by [`APPEND_TIMEOUT`].
const FIRST_PAUSE: Duration = Duration::from_millis(2);
const MAX_PAUSE: Duration = Duration::from_millis(100);

/// JetStream error codes the write path tells apart.
const WRONG_LAST_SEQUENCE: ErrorCode = ErrorCode(10071);
/// "wrong last sequence" without a number: another write to the subject is in flight.
const SUBJECT_IN_FLIGHT: ErrorCode = ErrorCode(10164);
const BATCH_HOLDS_A_DUPLICATE: ErrorCode = ErrorCode(10201);

/// The last event of a stream, as far as the writer knows.
#[derive(Debug, Clone)]
pub(crate) struct Tip {
    /// Its stream sequence (global position).
    pub subject_seq: u64,
    pub version: u64,
    pub hash: Vec<u8>,
    pub recorded_at: DateTime<Utc>,
    /// When the server stored it (by the server's clock), when known.
    pub stored_at: Option<DateTime<Utc>>,
}

impl Tip {
    pub(crate) fn of(event: &RecordedEvent, stored_at: Option<DateTime<Utc>>) -> Self {
        Self {
            subject_seq: event.position,
            version: event.stream_version,
            hash: event.hash.clone(),
            recorded_at: event.recorded_at,
            stored_at,
        }
    }
}

/// One async mutex per key, created on demand and dropped when nobody holds or awaits it.
#[derive(Default)]
pub(crate) struct KeyedLocks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

pub(crate) struct KeyedGuard<'a> {
    locks: &'a KeyedLocks,
    key: String,
    mutex: Arc<tokio::sync::Mutex<()>>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl KeyedLocks {
    pub(crate) async fn lock(&self, key: &str) -> KeyedGuard<'_> {
        let mutex = Arc::clone(
            self.map
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key.to_owned())
                .or_default(),
        );
        let guard = Arc::clone(&mutex).lock_owned().await;
        KeyedGuard {
            locks: self,
            key: key.to_owned(),
            mutex,
            guard: Some(guard),
        }
    }
}

impl Drop for KeyedGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self
            .locks
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // The map's and ours: nobody else holds or awaits this key.
        if Arc::strong_count(&self.mutex) == 2 {
            map.remove(&self.key);
        }
    }
}

/// What became of one publish.
enum Outcome {
    /// Stored at the predicted positions.
    Stored(AppendResult, Tip),
    /// Refused because an event id is already stored (or being stored).
    Duplicate,
    /// Refused because the log or the stream moved: the number is a sequence the server
    /// reported (the log's or the stream's last), when it gave one.
    Conflict(Option<u64>),
    /// No answer, or one that says nothing about what is stored.
    Unknown(String),
    /// Not stored, for a passing reason (no stream leader during an election).
    NotStored(String),
    /// Refused for good (too large, malformed).
    Refused(String),
}

impl Inner {
    pub(crate) async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        if events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        let mut ids = HashSet::with_capacity(events.len());
        if let Some(twice) = events.iter().find(|e| !ids.insert(e.event_id)) {
            return Err(StoreError::IdempotencyMismatch {
                event_id: twice.event_id,
            });
        }
        if events.len() > MAX_EVENTS_PER_APPEND {
            return Err(StoreError::Backend(format!(
                "an append holds at most {MAX_EVENTS_PER_APPEND} events, not {}",
                events.len()
            )));
        }
        let events: Arc<[NewEvent]> = events.into();
        let subject = stream_subject(stream);
        let _stream_lock = self.stream_locks.lock(stream).await;
        let deadline = Instant::now() + APPEND_TIMEOUT;

        // The server forgets ids after its window: look for older ones here.
        if let Some(oldest) = events.iter().filter_map(|e| id_time(&e.event_id)).min()
            && oldest < Utc::now() - chrono_duration(DUPLICATE_WINDOW - CLOCK_SKEW)
            && let Some(original) = self
                .already_in_stream(stream, &subject, &events, None)
                .await?
        {
            return Ok(original);
        }

        // The tip is a hint (cached, or from a replica) until `confirmed` by the leader:
        // the server checks the expectation anyway, but a refusal is only reported
        // from the leader's word.
        let mut tip = match self.cached_tip(stream) {
            Some(tip) => Some(tip),
            None => self.hint_tip(&subject).await?,
        };
        let mut confirmed = false;
        let mut pause = FIRST_PAUSE;
        loop {
            if Instant::now() > deadline {
                tracing::warn!(%stream, "append gave up after {APPEND_TIMEOUT:?}");
                return Err(StoreError::Backend(format!(
                    "append to {stream} did not complete within {APPEND_TIMEOUT:?}"
                )));
            }
            let actual = tip.as_ref().map(|t| t.version);
            if !holds(expected, actual) {
                if !confirmed {
                    match self.leader_tip(&subject).await {
                        Ok(leaders) => {
                            tip = leaders;
                            confirmed = true;
                        }
                        Err(e) => {
                            // No leader right now (an election): ask again shortly.
                            tracing::debug!(%stream, error = %e, "cannot confirm the stream's version yet");
                            tokio::time::sleep(jitter(pause)).await;
                            pause = (pause * 2).min(MAX_PAUSE);
                        }
                    }
                    continue;
                }
                // A late retry of an append that was stored looks like a conflict.
                if let Some(original) = self
                    .already_in_stream(stream, &subject, &events, tip.as_ref())
                    .await?
                {
                    return Ok(original);
                }
                return Err(StoreError::WrongExpectedVersion {
                    stream: stream.to_owned(),
                    expected,
                    actual,
                });
            }
            match self.publish(stream, &subject, tip.as_ref(), &events).await {
                Outcome::Stored(result, new_tip) => {
                    self.counters.appended();
                    self.observe(result.last_position);
                    self.cache_tip(stream, Some(new_tip));
                    tracing::debug!(
                        %stream,
                        first = result.first_position,
                        last = result.last_position,
                        version = result.stream_version,
                        "events appended"
                    );
                    return Ok(result);
                }
                Outcome::Duplicate => {
                    self.counters.duplicate();
                    if let Some(original) =
                        self.resolve_duplicates(stream, &subject, &events).await?
                    {
                        return Ok(original);
                    }
                    // Being stored by another attempt: look again shortly.
                    tracing::debug!(%stream, "duplicate ids not found yet");
                }
                Outcome::Conflict(sequence) => {
                    self.counters.refused_by_server();
                    if let Some(sequence) = sequence {
                        self.sender.report_head(sequence);
                    }
                    tracing::debug!(%stream, ?sequence, "append raced another write");
                }
                Outcome::NotStored(error) => {
                    self.counters.unanswered();
                    tracing::debug!(%stream, %error, "append not taken, retrying");
                }
                Outcome::Unknown(error) => {
                    self.counters.unanswered();
                    tracing::warn!(%stream, %error, "append unanswered, looking for its events");
                    tokio::time::sleep(pause).await;
                    if let Some(original) = self
                        .already_in_stream(stream, &subject, &events, None)
                        .await
                        .unwrap_or_else(|e| {
                            tracing::debug!(error = %e, "look-up failed");
                            None
                        })
                    {
                        return Ok(original);
                    }
                }
                Outcome::Refused(error) => {
                    tracing::warn!(%stream, %error, "append refused");
                    return Err(backend(format!("append to {stream}"), error));
                }
            }
            self.cache_tip(stream, None);
            tokio::time::sleep(jitter(pause)).await;
            pause = (pause * 2).min(MAX_PAUSE);
            tip = match self.hint_tip(&subject).await {
                Ok(tip) => tip,
                Err(e) => {
                    tracing::debug!(error = %e, "reading the stream's tip failed");
                    continue;
                }
            };
            confirmed = false;
        }
    }

    /// Publishes `events` after `tip` at the predicted positions (through the
    /// [`crate::sender`]), as one atomic batch when there are several, and waits for
    /// the acknowledgement.
    async fn publish(
        &self,
        stream: &str,
        subject: &str,
        tip: Option<&Tip>,
        events: &Arc<[NewEvent]>,
    ) -> Outcome {
        let n = events.len();
        let _slot = if n > 1 {
            match self.batch_slots.acquire().await {
                Ok(slot) => Some(slot),
                Err(e) => return Outcome::Unknown(e.to_string()),
            }
        } else {
            None
        };
        let sent = self
            .sender
            .send(Job {
                stream: stream.to_owned(),
                subject: subject.to_owned(),
                tip: tip.cloned(),
                events: Arc::clone(events),
            })
            .await;
        let (ack, epoch, recorded) = match sent {
            Sent::InFlight {
                ack,
                epoch,
                recorded,
            } => (ack, epoch, recorded),
            Sent::Unknown(e) => return Outcome::Unknown(e),
            Sent::Refused(e) => return Outcome::Refused(e),
        };
        let first = recorded[0].position;
        let last = first + n as u64 - 1;
        let outcome = match ack.await {
            Ok(PublishAck {
                sequence,
                duplicate: false,
                ..
            }) if sequence == last => {
                let last_event = &recorded[n - 1];
                return Outcome::Stored(
                    AppendResult {
                        first_position: first,
                        last_position: last,
                        stream_version: last_event.stream_version,
                    },
                    Tip::of(last_event, None),
                );
            }
            Ok(PublishAck {
                duplicate: true, ..
            }) => Outcome::Duplicate,
            Ok(PublishAck { sequence, .. }) => {
                // The expectation headers make this impossible; a stored hash would not
                // match its position.
                tracing::error!(%stream, sequence, expected = last, "events stored at an unexpected position");
                Outcome::Refused(format!(
                    "the server stored the events at {sequence}, not {last}"
                ))
            }
            Err(e) => classify(&e),
        };
        self.sender.invalidate(epoch);
        outcome
    }

    /// The log's last sequence, from the stream leader.
    pub(crate) async fn fetch_head(&self) -> Result<u64> {
        let info = self
            .stream
            .get_info()
            .await
            .map_err(|e| backend("reading the stream's state", e))?;
        let head = info.state.last_sequence;
        self.observe(head);
        Ok(head)
    }

    /// `Some(original result)` when every event of `events` is stored in `stream` as
    /// one run, in order, with the same content; `None` when none is stored there.
    /// Looks from the time in the first event id (less [`CLOCK_SKEW`]); `tip`, when
    /// given, is the stream's last event and spares the look-up when it is older.
    ///
    /// # Errors
    /// [`StoreError::IdempotencyMismatch`] when only some are, or differently.
    async fn already_in_stream(
        &self,
        stream: &str,
        subject: &str,
        events: &[NewEvent],
        tip: Option<&Tip>,
    ) -> Result<Option<AppendResult>> {
        let since = events
            .iter()
            .filter_map(|e| id_time(&e.event_id))
            .min()
            .map(|t| t - chrono_duration(CLOCK_SKEW));
        if let (Some(since), Some(tip)) = (since, tip)
            && tip.recorded_at < since
        {
            return Ok(None);
        }
        let ids: HashSet<Uuid> = events.iter().map(|e| e.event_id).collect();
        let found = self.find_in_subject(subject, since, &ids).await?;
        compare(stream, events, &found)
    }

    /// After the server refused a batch for a stored id: the original result when the
    /// whole batch is stored in `stream`, a mismatch when any id is stored otherwise,
    /// `None` when none can be found yet (the original is still being stored).
    async fn resolve_duplicates(
        &self,
        stream: &str,
        subject: &str,
        events: &[NewEvent],
    ) -> Result<Option<AppendResult>> {
        if let Some(original) = self
            .already_in_stream(stream, subject, events, None)
            .await?
        {
            return Ok(Some(original));
        }
        // Not in this stream: in another one?
        let since = events
            .iter()
            .filter_map(|e| id_time(&e.event_id))
            .min()
            .map(|t| t - chrono_duration(CLOCK_SKEW));
        let ids: HashSet<Uuid> = events.iter().map(|e| e.event_id).collect();
        let found = self.find_in_log(since, &ids).await?;
        match found.first() {
            Some(elsewhere) => Err(StoreError::IdempotencyMismatch {
                event_id: elsewhere.event.event_id,
            }),
            None => Ok(None),
        }
    }
}

/// Whether `expected` holds for a stream at `actual` (`None`: missing, version 0).
fn holds(expected: ExpectedVersion, actual: Option<u64>) -> bool {
    match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream | ExpectedVersion::Exact(0) => actual.is_none(),
        ExpectedVersion::Exact(n) => actual == Some(n),
    }
}

/// Compares the stored events `found` (in log order) with the batch `events`, as the
/// SQLite backend does.
fn compare(
    stream: &str,
    events: &[NewEvent],
    found: &[StoredEvent],
) -> Result<Option<AppendResult>> {
    let Some(first) = found.first() else {
        return Ok(None);
    };
    let mismatch = |event_id| Err(StoreError::IdempotencyMismatch { event_id });
    if found.len() < events.len() {
        return mismatch(first.event.event_id);
    }
    let base = &first.event;
    for (i, (new, stored)) in (0_u64..).zip(events.iter().zip(found)) {
        let stored = &stored.event;
        let same = stored.event_id == new.event_id
            && stored.stream_id == stream
            && stored.stream_version == base.stream_version + i
            && stored.position == base.position + i
            && stored.event_type == new.event_type
            && stored.schema_version == new.schema_version
            && stored.payload == new.payload;
        if !same {
            return mismatch(new.event_id);
        }
    }
    let last = &found[events.len() - 1].event;
    Ok(Some(AppendResult {
        first_position: base.position,
        last_position: last.position,
        stream_version: last.stream_version,
    }))
}

/// What a publish error says about the append.
fn classify(error: &async_nats::jetstream::context::PublishError) -> Outcome {
    use std::error::Error as _;
    let api = error
        .source()
        .and_then(|s| s.downcast_ref::<async_nats::jetstream::Error>());
    match (
        error.kind(),
        api.map(async_nats::jetstream::Error::error_code),
    ) {
        (_, Some(WRONG_LAST_SEQUENCE)) | (PublishErrorKind::WrongLastSequence, _) => {
            Outcome::Conflict(reported_sequence(&error.to_string()))
        }
        (_, Some(SUBJECT_IN_FLIGHT)) => Outcome::Conflict(None),
        (_, Some(BATCH_HOLDS_A_DUPLICATE)) => Outcome::Duplicate,
        (PublishErrorKind::MaxPayloadExceeded, _) => Outcome::Refused(error.to_string()),
        // No responders: no stream leader right now (an election); nothing was stored.
        (PublishErrorKind::StreamNotFound, _) => Outcome::NotStored(error.to_string()),
        // Other refusals (a batch cut by a leader change, JetStream busy) stored nothing;
        // timeouts and lost connections may have: both are looked up and retried.
        _ => Outcome::Unknown(error.to_string()),
    }
}

/// The number in "wrong last sequence: 42".
fn reported_sequence(message: &str) -> Option<u64> {
    let rest = &message[message.find("wrong last sequence: ")? + "wrong last sequence: ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The creation time in a UUIDv7 event id.
pub(crate) fn id_time(id: &Uuid) -> Option<DateTime<Utc>> {
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)
}

pub(crate) fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// `pause` give or take a quarter, so that racing writers do not retry in step.
fn jitter(pause: Duration) -> Duration {
    let nanos = u64::try_from(pause.as_nanos()).unwrap_or(u64::MAX);
    let spread = nanos / 2;
    let noise = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let offset = if spread == 0 { 0 } else { noise % spread };
    Duration::from_nanos(nanos - nanos / 4 + offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_sequences_are_read_from_the_error() {
        assert_eq!(
            reported_sequence(
                "publish failed: wrong last sequence: 42 (code 400, error code 10071)"
            ),
            Some(42)
        );
        assert_eq!(
            reported_sequence("publish failed: wrong last sequence (code 400, error code 10164)"),
            None
        );
    }

    #[test]
    fn expectations_follow_the_sqlite_backend() {
        assert!(holds(ExpectedVersion::Any, None));
        assert!(holds(ExpectedVersion::NoStream, None));
        assert!(holds(ExpectedVersion::Exact(0), None));
        assert!(!holds(ExpectedVersion::Exact(0), Some(1)));
        assert!(holds(ExpectedVersion::Exact(3), Some(3)));
        assert!(!holds(ExpectedVersion::Exact(3), None));
    }

    #[test]
    fn uuid_v7_ids_carry_their_time() {
        let before = Utc::now() - chrono::Duration::milliseconds(2);
        let t = id_time(&Uuid::now_v7()).expect("v7 has a time");
        assert!(t >= before && t <= Utc::now() + chrono::Duration::milliseconds(2));
        assert_eq!(id_time(&Uuid::nil()), None);
    }

    #[test]
    fn jitter_stays_near_the_pause() {
        for _ in 0..100 {
            let j = jitter(Duration::from_millis(100));
            assert!(j >= Duration::from_millis(75) && j <= Duration::from_millis(125));
        }
    }
}
