//! The one task that numbers and sends this store's appends.
//!
//! Positions are predicted, so messages must leave in the order of their positions:
//! appenders hand their events to this task, which gives each append the next
//! positions, hashes the events, publishes them (with the expectation headers, as an
//! atomic batch when there are several) and hands back the acknowledgement to await.
//! It goes from one append to the next without waiting for acknowledgements, and
//! without a lock handed from task to task, so concurrent appends are pipelined.
//! After a publish that did not store its events, the prediction is invalid until the
//! next send reads where the log ends again ([`Sender::invalidate`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::context::{PublishAckFuture, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use chrono::Utc;
use metroplan_events::{NewEvent, RecordedEvent};
use metroplan_eventstore::sqlite::GENESIS_HASH;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use uuid::Uuid;

use crate::append::Tip;
use crate::direct::{Direct, DirectError, Request};
use crate::envelope::{self, BatchPart};
use crate::subject::ALL_EVENTS;

const EXPECTED_LAST_SEQUENCE: &str = "Nats-Expected-Last-Sequence";
const EXPECTED_LAST_SUBJECT_SEQUENCE: &str = "Nats-Expected-Last-Subject-Sequence";
const BATCH_ID: &str = "Nats-Batch-Id";
const BATCH_SEQUENCE: &str = "Nats-Batch-Sequence";
const BATCH_COMMIT: &str = "Nats-Batch-Commit";

/// Appends waiting for the sender.
const QUEUE: usize = 1024;

/// How long the sender keeps asking where the log ends when no replica answers.
const HEAD_PATIENCE: Duration = Duration::from_secs(10);

/// One append to send: `events` after `tip` in `stream`.
pub(crate) struct Job {
    pub stream: String,
    pub subject: String,
    pub tip: Option<Tip>,
    pub events: Arc<[NewEvent]>,
}

/// A job and where to say what became of it.
struct Queued {
    job: Job,
    reply: oneshot::Sender<Sent>,
}

/// What the sender did with a job.
pub(crate) enum Sent {
    /// Published: the acknowledgement to await, and the events as numbered.
    InFlight {
        ack: PublishAckFuture,
        epoch: u64,
        recorded: Vec<RecordedEvent>,
    },
    /// Not published; the events may or may not have reached the server.
    Unknown(String),
    /// Not published, for good.
    Refused(String),
}

/// The next position this store will publish at.
#[derive(Debug)]
struct Prediction {
    next: u64,
    valid: bool,
    epoch: u64,
    /// The log's end as a refusal reported it, for the next guess. Not trusted further:
    /// in a cluster it counts writes proposed but not yet committed, which a leader
    /// change can drop.
    reported_head: Option<u64>,
}

/// The handle appenders use.
pub(crate) struct Sender {
    jobs: mpsc::Sender<Queued>,
    prediction: Arc<Mutex<Prediction>>,
}

impl Sender {
    /// Starts the sending task after position `head`; it ends when the handle is dropped.
    pub(crate) fn start(
        client: async_nats::Client,
        js: async_nats::jetstream::Context,
        direct: Direct,
        seen: Arc<AtomicU64>,
        head: u64,
    ) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let prediction = Arc::new(Mutex::new(Prediction {
            next: head + 1,
            valid: true,
            epoch: 0,
            reported_head: None,
        }));
        let task = Task {
            client,
            js,
            direct,
            seen,
            prediction: Arc::clone(&prediction),
        };
        tokio::spawn(task.run(queue));
        Self { jobs, prediction }
    }

    /// Hands `job` to the sender and waits until it is published (not acknowledged).
    pub(crate) async fn send(&self, job: Job) -> Sent {
        let (reply, sent) = oneshot::channel();
        if self.jobs.send(Queued { job, reply }).await.is_err() {
            return Sent::Unknown("the event store's sender stopped".into());
        }
        sent.await
            .unwrap_or_else(|_| Sent::Unknown("the event store's sender stopped".into()))
    }

    /// The log's end as the server reported it when it refused a publish: the next
    /// guess starts there (if it is beyond what replicas show).
    pub(crate) fn report_head(&self, head: u64) {
        self.prediction
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .reported_head = Some(head);
    }

    /// After a publish of `epoch` that did not store its events: later predictions are
    /// wrong, so the next send reads where the log ends.
    pub(crate) fn invalidate(&self, epoch: u64) {
        let mut p = self
            .prediction
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if p.epoch == epoch {
            p.valid = false;
            p.epoch += 1;
        }
    }
}

struct Task {
    client: async_nats::Client,
    js: async_nats::jetstream::Context,
    direct: Direct,
    seen: Arc<AtomicU64>,
    prediction: Arc<Mutex<Prediction>>,
}

impl Task {
    async fn run(self, mut queue: mpsc::Receiver<Queued>) {
        while let Some(Queued { job, reply }) = queue.recv().await {
            let sent = self.send(&job).await;
            // The appender may have given up; nothing to do then.
            let _ = reply.send(sent);
        }
        tracing::debug!("event store sender stopped");
    }

    async fn send(&self, job: &Job) -> Sent {
        let (first, epoch) = match self.reserve().await {
            Ok(reserved) => reserved,
            Err(e) => return Sent::Unknown(e),
        };
        let n = job.events.len();
        let (mut version, mut prev) = job
            .tip
            .as_ref()
            .map_or((0, GENESIS_HASH.to_vec()), |t| (t.version, t.hash.clone()));
        let recorded_at = Utc::now();
        let mut recorded = Vec::with_capacity(n);
        for (i, new) in job.events.iter().enumerate() {
            version += 1;
            let event = envelope::record(
                new,
                &job.stream,
                version,
                first + i as u64,
                recorded_at,
                &prev,
            );
            prev.clone_from(&event.hash);
            recorded.push(event);
        }
        let batch_id = Uuid::now_v7().simple().to_string();
        let mut ack = None;
        for (i, event) in recorded.iter().enumerate() {
            let index = i + 1;
            let mut headers = envelope::headers(
                event,
                BatchPart {
                    index: index as u32,
                    size: n as u32,
                },
            );
            if index == 1 {
                headers.insert(EXPECTED_LAST_SEQUENCE, (first - 1).to_string());
                headers.insert(
                    EXPECTED_LAST_SUBJECT_SEQUENCE,
                    job.tip.as_ref().map_or(0, |t| t.subject_seq).to_string(),
                );
            }
            if n > 1 {
                headers.insert(BATCH_ID, batch_id.as_str());
                headers.insert(BATCH_SEQUENCE, index.to_string());
            }
            let payload = Bytes::from(event.payload.clone());
            if index < n {
                if let Err(e) = self
                    .client
                    .publish_with_headers(job.subject.clone(), headers, payload)
                    .await
                {
                    self.give_back(epoch);
                    return Sent::Unknown(e.to_string());
                }
                continue;
            }
            if n > 1 {
                headers.insert(BATCH_COMMIT, "1");
            }
            match self
                .js
                .send_publish(
                    job.subject.clone(),
                    PublishMessage::build().headers(headers).payload(payload),
                )
                .await
            {
                Ok(future) => ack = Some(future),
                Err(e) => {
                    self.give_back(epoch);
                    return match e.kind() {
                        PublishErrorKind::MaxPayloadExceeded => Sent::Refused(e.to_string()),
                        _ => Sent::Unknown(e.to_string()),
                    };
                }
            }
        }
        let Some(ack) = ack else {
            return Sent::Refused("nothing to publish".into());
        };
        self.advance(n as u64);
        Sent::InFlight {
            ack,
            epoch,
            recorded,
        }
    }

    /// The first position of the next append and the prediction's epoch, reading where
    /// the log ends when the prediction is invalid.
    async fn reserve(&self) -> Result<(u64, u64), String> {
        let valid = {
            let p = self
                .prediction
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            p.valid.then_some((p.next, p.epoch))
        };
        if let Some(reserved) = valid {
            return Ok(reserved);
        }
        let head = self.guess_head().await?;
        let mut p = self
            .prediction
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let head = head.max(p.reported_head.take().unwrap_or(0));
        p.next = head + 1;
        p.valid = true;
        Ok((p.next, p.epoch))
    }

    fn advance(&self, n: u64) {
        let mut p = self
            .prediction
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        p.next += n;
    }

    /// A send failed half-way: what was sent of it will not be stored as predicted.
    fn give_back(&self, epoch: u64) {
        let mut p = self
            .prediction
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if p.epoch == epoch {
            p.valid = false;
            p.epoch += 1;
        }
    }

    /// Where the log ends: any replica's last sequence, never below what this store has
    /// seen stored. It answers during a leader election too; a guess that is behind is
    /// refused by the server, whose error tells the end it expected
    /// ([`Sender::report_head`]).
    async fn guess_head(&self) -> Result<u64, String> {
        let deadline = Instant::now() + HEAD_PATIENCE;
        let mut pause = Duration::from_millis(5);
        loop {
            let request = Request {
                last_by_subj: Some(ALL_EVENTS),
                ..Request::default()
            };
            match self.direct.get(&request).await {
                Ok(answer) => {
                    let replica = answer.messages.first().map_or(0, |m| m.sequence);
                    self.seen.fetch_max(replica, Ordering::AcqRel);
                    return Ok(self.seen.load(Ordering::Acquire));
                }
                Err(DirectError::NoResponders | DirectError::TimedOut)
                    if Instant::now() < deadline =>
                {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
                Err(e) => return Err(format!("reading where the log ends: {e}")),
            }
        }
    }
}
