//! `subscribe_all`: an ordered pull consumer (ephemeral, in memory, no acks) from the
//! next position, catch-up then live. async-nats recreates it after a gap or missed
//! heartbeats; if it fails for good, a new one starts where the last delivered event
//! left off. Events of one append are handed over together, once its last one arrived,
//! so a subscriber never holds part of an append.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use futures::StreamExt;
use futures::stream::BoxStream;
use metroplan_events::RecordedEvent;
use metroplan_eventstore::Result;

use crate::envelope::{self, StoredEvent};
use crate::subject::ALL_EVENTS;
use crate::{Inner, backend};

/// The longest pause between two attempts to (re)create the consumer.
const MAX_PAUSE: Duration = Duration::from_secs(2);

struct Subscription {
    inner: Arc<Inner>,
    /// The next position to deliver.
    next: u64,
    messages: Option<pull::Ordered>,
    /// Events of an append whose last event has not arrived yet.
    partial: Vec<StoredEvent>,
    ready: VecDeque<RecordedEvent>,
    pause: Duration,
}

pub(crate) fn subscribe(
    inner: Arc<Inner>,
    after_position: u64,
) -> BoxStream<'static, Result<RecordedEvent>> {
    let subscription = Subscription {
        inner,
        next: after_position + 1,
        messages: None,
        partial: Vec::new(),
        ready: VecDeque::new(),
        pause: Duration::from_millis(50),
    };
    futures::stream::unfold(subscription, |mut s| async move {
        let item = s.next_event().await;
        Some((item, s))
    })
    .boxed()
}

impl Subscription {
    async fn next_event(&mut self) -> Result<RecordedEvent> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Ok(event);
            }
            let Some(messages) = self.messages.as_mut() else {
                self.start().await;
                continue;
            };
            match messages.next().await {
                Some(Ok(message)) => {
                    let position = match message.info() {
                        Ok(info) => info.stream_sequence,
                        Err(e) => {
                            return Err(backend("reading a delivered event's position", e));
                        }
                    };
                    if position < self.next {
                        continue; // delivered again after a recreation
                    }
                    if position > self.next {
                        tracing::warn!(
                            position,
                            expected = self.next,
                            "the consumer skipped positions; reading them"
                        );
                        self.refill(position).await?;
                    }
                    let stored =
                        envelope::decode(position, message.headers.as_ref(), &message.payload)
                            .map_err(|e| backend("decoding a delivered event", e))?;
                    self.next = position + 1;
                    self.pause = Duration::from_millis(50);
                    self.accept(stored);
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, next = self.next, "subscription consumer failed; starting a new one");
                    self.messages = None;
                    tokio::time::sleep(self.pause).await;
                    self.pause = (self.pause * 2).min(MAX_PAUSE);
                }
                None => {
                    self.messages = None;
                }
            }
        }
    }

    /// Holds `stored` until its append is complete, then releases the append.
    fn accept(&mut self, stored: StoredEvent) {
        let last = stored.part.is_last();
        self.partial.push(stored);
        if last {
            self.ready.extend(self.partial.drain(..).map(|e| e.event));
        }
    }

    /// Reads the positions from `self.next` up to (not including) `until` from the log.
    async fn refill(&mut self, until: u64) -> Result<()> {
        while self.next < until {
            let want = usize::try_from(until - self.next).unwrap_or(usize::MAX);
            let events = self.inner.read_all(self.next - 1, want).await?;
            if events.is_empty() {
                return Err(backend(
                    "filling a gap in the subscription",
                    format!("positions {} to {} cannot be read", self.next, until - 1),
                ));
            }
            for event in events {
                if event.position >= until {
                    break;
                }
                self.next = event.position + 1;
                self.ready.push_back(event);
            }
        }
        Ok(())
    }

    /// Creates the ordered consumer at `self.next`, retrying until it exists.
    async fn start(&mut self) {
        loop {
            let config = pull::OrderedConfig {
                filter_subject: ALL_EVENTS.to_owned(),
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: self.next,
                },
                ..Default::default()
            };
            let created = match self.inner.stream.create_consumer(config).await {
                Ok(consumer) => consumer.messages().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match created {
                Ok(messages) => {
                    tracing::debug!(from = self.next, "subscription consumer started");
                    self.messages = Some(messages);
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, from = self.next, "cannot start the subscription consumer; retrying");
                    tokio::time::sleep(self.pause).await;
                    self.pause = (self.pause * 2).min(MAX_PAUSE);
                }
            }
        }
    }
}
