//! The read path: pages of batched direct gets from any replica, retried while the
//! answering replica is behind what this store has already seen, and cut at the end of
//! the last complete append.

use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream::stream::LastRawMessageErrorKind;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt;
use metroplan_events::RecordedEvent;
use metroplan_eventstore::Result;
use tokio::time::Instant;
use uuid::Uuid;

use crate::append::Tip;
use crate::direct::{Answer, DirectError, Request};
use crate::envelope::{self, StoredEvent};
use crate::subject::{prefix_filter, stream_id, stream_subject};
use crate::{Inner, backend};

/// Messages asked for in one direct get.
const PAGE: usize = 1024;

/// How long a read waits for a replica that is behind (or for one to answer at all)
/// before it fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// Where a walk through the log starts.
#[derive(Debug, Clone, Copy)]
enum Start {
    Sequence(u64),
    Time(DateTime<Utc>),
}

/// Why a walk stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// It reached the end of the log (or of the subject).
    End,
    /// It returned as many events as asked.
    Limit,
    /// The visitor had what it wanted.
    Visitor,
}

impl Inner {
    /// The last event of `subject`'s stream, from a replica at least as far as this store
    /// has seen, or from the stream leader.
    pub(crate) async fn fetch_tip(&self, subject: &str) -> Result<Option<Tip>> {
        let deadline = Instant::now() + PATIENCE;
        let mut pause = Duration::from_millis(1);
        loop {
            let answer = self
                .direct_get(&Request {
                    multi_last: Some([subject]),
                    ..Request::default()
                })
                .await?;
            let seen = self.seen();
            if answer.not_found {
                // "No message" carries no horizon: only the leader can say so for sure.
                if seen == 0 {
                    return Ok(None);
                }
                return self.leader_tip(subject).await;
            }
            let horizon = answer.up_to.unwrap_or(u64::MAX);
            if horizon >= seen {
                if horizon != u64::MAX {
                    self.observe(horizon);
                }
                let Some(last) = answer.messages.last() else {
                    return Ok(None);
                };
                let event = envelope::decode(last.sequence, Some(&last.headers), &last.payload)
                    .map_err(|e| backend("reading a stream's last event", e))?;
                let stored_at = last
                    .headers
                    .get("Nats-Time-Stamp")
                    .and_then(|t| DateTime::parse_from_rfc3339(t.as_str()).ok())
                    .map(|t| t.with_timezone(&Utc));
                return Ok(Some(Tip::of(&event.event, stored_at)));
            }
            if Instant::now() > deadline {
                return self.leader_tip(subject).await;
            }
            tracing::trace!(horizon, seen, "replica behind, asking again");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// A hint of the last event of `subject`'s stream for the write path: whatever one
    /// replica has (the server checks the expectation built on it).
    pub(crate) async fn hint_tip(&self, subject: &str) -> Result<Option<Tip>> {
        let answer = self
            .direct_get(&Request {
                last_by_subj: Some(subject),
                ..Request::default()
            })
            .await?;
        let Some(last) = answer.messages.first() else {
            return Ok(None);
        };
        self.observe(last.sequence);
        let event = envelope::decode(last.sequence, Some(&last.headers), &last.payload)
            .map_err(|e| backend("reading a stream's last event", e))?;
        Ok(Some(Tip::of(&event.event, None)))
    }

    /// The last event of `subject` as the stream leader has it.
    pub(crate) async fn leader_tip(&self, subject: &str) -> Result<Option<Tip>> {
        match self.stream.get_last_raw_message_by_subject(subject).await {
            Ok(m) => {
                self.observe(m.sequence);
                let event = envelope::decode(m.sequence, Some(&m.headers), &m.payload)
                    .map_err(|e| backend("reading a stream's last event", e))?;
                let stored_at = i64::try_from(m.time.unix_timestamp_nanos())
                    .ok()
                    .map(DateTime::from_timestamp_nanos);
                Ok(Some(Tip::of(&event.event, stored_at)))
            }
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(backend("reading a stream's last event from the leader", e)),
        }
    }

    pub(crate) async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(limit.min(PAGE));
        let stop = self
            .walk(
                Start::Sequence(after + 1),
                None,
                self.seen(),
                limit,
                &mut |e| {
                    out.push(e);
                    true
                },
            )
            .await?;
        Ok(finish(out, stop))
    }

    pub(crate) async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let subject = stream_subject(stream);
        let Some(tip) = self.fetch_tip(&subject).await? else {
            return Ok(Vec::new());
        };
        let from = from_version.max(1);
        if from > tip.version {
            return Ok(Vec::new());
        }
        let start = if from == 1 {
            1
        } else if from == tip.version {
            tip.subject_seq
        } else {
            self.sequence_of_version(&subject, from, &tip).await?
        };
        let mut out = Vec::with_capacity(limit.min(PAGE));
        let stop = self
            .walk(
                Start::Sequence(start),
                Some(&subject),
                tip.subject_seq,
                limit,
                &mut |e| {
                    if e.event.stream_version >= from {
                        out.push(e);
                    }
                    true
                },
            )
            .await?;
        Ok(finish(out, stop))
    }

    /// The position of version `version` of `subject`'s stream, by bisection over
    /// positions (`tip` is its last event, of a higher version).
    async fn sequence_of_version(&self, subject: &str, version: u64, tip: &Tip) -> Result<u64> {
        let (mut lo, mut hi) = (1, tip.subject_seq);
        let deadline = Instant::now() + PATIENCE;
        while lo <= hi {
            let mid = lo + (hi - lo) / 2;
            let answer = self
                .direct_get(&Request {
                    seq: Some(mid),
                    next_by_subj: Some(subject),
                    ..Request::default()
                })
                .await?;
            let Some(m) = answer.messages.first() else {
                // This replica has not got the tip yet.
                if Instant::now() > deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            };
            let found = envelope::decode(m.sequence, Some(&m.headers), &m.payload)
                .map_err(|e| backend("locating a stream version", e))?
                .event
                .stream_version;
            match found.cmp(&version) {
                std::cmp::Ordering::Equal => return Ok(m.sequence),
                std::cmp::Ordering::Less => lo = m.sequence + 1,
                std::cmp::Ordering::Greater => hi = mid - 1,
            }
        }
        // Not found by bisection (replicas kept disagreeing): read from the start.
        Ok(1)
    }

    pub(crate) async fn head_position(&self) -> Result<u64> {
        self.fetch_head().await
    }

    pub(crate) async fn list_streams(&self, prefix: &str) -> Result<Vec<String>> {
        let mut subjects = self
            .stream
            .info_with_subjects(prefix_filter(prefix))
            .await
            .map_err(|e| backend("listing streams", e))?;
        let mut out = Vec::new();
        while let Some(entry) = subjects.next().await {
            let (subject, _) = entry.map_err(|e| backend("listing streams", e))?;
            if let Some(id) = stream_id(&subject)
                && id.starts_with(prefix)
            {
                out.push(id);
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// The stored events of `subject` whose id is in `ids`, in log order, looking from
    /// `since` (or the start).
    pub(crate) async fn find_in_subject(
        &self,
        subject: &str,
        since: Option<DateTime<Utc>>,
        ids: &HashSet<Uuid>,
    ) -> Result<Vec<StoredEvent>> {
        let Some(tip) = self.fetch_tip(subject).await? else {
            return Ok(Vec::new());
        };
        if let (Some(since), Some(stored_at)) = (since, tip.stored_at)
            && stored_at < since
        {
            // Nothing of the stream was stored since then.
            return Ok(Vec::new());
        }
        let start = since.map_or(Start::Sequence(1), Start::Time);
        let mut found = Vec::new();
        self.walk(
            start,
            Some(subject),
            tip.subject_seq,
            usize::MAX,
            &mut |e| {
                if ids.contains(&e.event.event_id) {
                    found.push(e);
                }
                found.len() < ids.len()
            },
        )
        .await?;
        Ok(found)
    }

    /// The stored events of any stream whose id is in `ids`, in log order, looking from
    /// `since` (or the start).
    pub(crate) async fn find_in_log(
        &self,
        since: Option<DateTime<Utc>>,
        ids: &HashSet<Uuid>,
    ) -> Result<Vec<StoredEvent>> {
        let start = since.map_or(Start::Sequence(1), Start::Time);
        let mut found = Vec::new();
        // Whatever the answering replica has: a caller that finds nothing asks again.
        self.walk(start, None, 0, usize::MAX, &mut |e| {
            if ids.contains(&e.event.event_id) {
                found.push(e);
            }
            found.len() < ids.len()
        })
        .await?;
        Ok(found)
    }

    /// Visits stored events from `start` in log order (of `subject` only, when given),
    /// page by page, until `visit` returns false, `limit` events were visited, or the
    /// end: an end before position `must_reach` means the replica was behind, and the
    /// page is asked again.
    async fn walk(
        &self,
        start: Start,
        subject: Option<&str>,
        must_reach: u64,
        limit: usize,
        visit: &mut (dyn FnMut(StoredEvent) -> bool + Send),
    ) -> Result<Stop> {
        let mut next = start;
        let mut reached = match start {
            Start::Sequence(s) => s.saturating_sub(1),
            Start::Time(_) => 0,
        };
        let mut visited = 0;
        let mut deadline = Instant::now() + PATIENCE;
        let mut pause = Duration::from_millis(1);
        loop {
            let want = (limit - visited).min(PAGE);
            let (seq, start_time) = match next {
                Start::Sequence(s) => (Some(s), None),
                Start::Time(t) => (None, Some(t.to_rfc3339_opts(SecondsFormat::Nanos, true))),
            };
            let answer = self
                .direct_get(&Request {
                    seq,
                    start_time,
                    next_by_subj: subject,
                    batch: Some(want),
                    ..Request::default()
                })
                .await?;
            let got = answer.messages.len();
            for m in answer.messages {
                let event = envelope::decode(m.sequence, Some(&m.headers), &m.payload)
                    .map_err(|e| backend("reading events", e))?;
                next = Start::Sequence(m.sequence + 1);
                reached = reached.max(m.sequence);
                visited += 1;
                if !visit(event) {
                    self.observe(reached);
                    return Ok(Stop::Visitor);
                }
                if visited >= limit {
                    self.observe(reached);
                    return Ok(Stop::Limit);
                }
            }
            let at_end = answer.not_found || got == 0 || answer.num_pending == Some(0);
            if !at_end {
                deadline = Instant::now() + PATIENCE;
                continue;
            }
            if reached >= must_reach {
                self.observe(reached);
                return Ok(Stop::End);
            }
            if Instant::now() > deadline {
                tracing::warn!(reached, must_reach, "replicas stay behind");
                return Err(backend(
                    "reading events",
                    format!("no replica has reached position {must_reach} (got to {reached})"),
                ));
            }
            tracing::trace!(reached, must_reach, "replica behind, asking again");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// A direct get, retried while no replica answers.
    pub(crate) async fn direct_get(&self, request: &Request<'_>) -> Result<Answer> {
        let deadline = Instant::now() + PATIENCE;
        let mut pause = Duration::from_millis(5);
        loop {
            match self.direct.get(request).await {
                Ok(answer) => return Ok(answer),
                Err(e @ (DirectError::NoResponders | DirectError::TimedOut))
                    if Instant::now() < deadline =>
                {
                    tracing::debug!(error = %e, "direct get unanswered, retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
                Err(e) => return Err(backend("direct get", e)),
            }
        }
    }
}

/// The events of a read, without a trailing append that is not completely stored yet
/// (only possible when the read reached the end of the log, not its limit).
fn finish(mut events: Vec<StoredEvent>, stop: Stop) -> Vec<RecordedEvent> {
    if stop == Stop::End
        && let Some(last) = events.last()
        && !last.part.is_last()
    {
        let first_of_append = last.event.position + 1 - u64::from(last.part.index);
        let incomplete = last.event.position;
        tracing::debug!(
            position = incomplete,
            "read ends inside an append that is being stored; leaving it out"
        );
        events.retain(|e| e.event.position < first_of_append);
    }
    events.into_iter().map(|e| e.event).collect()
}
