//! The read side over NATS, for the distributed deployment.
//!
//! | subject | who publishes | payload |
//! | --- | --- | --- |
//! | `metroplan.query` (request-reply, queue group `metroplan-projector`) | gateways | a [`Query`] as JSON; the reply is [`Answer`] |
//! | `metroplan.live` | the projector, after applying an event | the [`RecordedEvent`] as JSON |
//!
//! [`serve`] runs beside a [`Projector`]; [`RemoteReadSide`] is what a gateway holds
//! instead of a projector. Deltas travel on core NATS (at most once): a gateway that
//! misses one sees a jump in positions, and its websocket sessions fill the gap from
//! the event log, so no client misses anything. Every gateway receives the deltas of
//! the one subject in the order the projector published them, so all gateways deliver
//! the same deltas in the same order; duplicates (several projector instances) are
//! dropped by position.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use metroplan_events::RecordedEvent;
use metroplan_eventstore::EventStore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::{Applied, Projector, Query, ReadError, ReadSide, live_frames};

pub const QUERY_SUBJECT: &str = "metroplan.query";
pub const LIVE_SUBJECT: &str = "metroplan.live";
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The reply to a query: the answer and the position it reflects.
#[derive(Debug, Serialize, Deserialize)]
pub struct Answer {
    pub position: u64,
    pub answer: Option<Value>,
}

/// Answers queries and publishes applied events until `shutdown`.
///
/// # Errors
/// When the subscriptions cannot be made.
pub async fn serve(
    client: async_nats::Client,
    projector: Arc<Projector>,
    store: Arc<dyn EventStore>,
    shutdown: CancellationToken,
) -> Result<(), async_nats::SubscribeError> {
    let mut queries = client
        .queue_subscribe(QUERY_SUBJECT, "metroplan-projector".into())
        .await?;
    let mut feed = projector.subscribe();
    let mut published = projector.position();
    tracing::info!(
        subject = QUERY_SUBJECT,
        live = LIVE_SUBJECT,
        "projector serving queries and deltas"
    );
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            m = queries.next() => {
                let Some(m) = m else { break };
                let Some(reply) = m.reply.clone() else { continue };
                let (client, projector) = (client.clone(), Arc::clone(&projector));
                tokio::spawn(async move {
                    let answer = match serde_json::from_slice::<Query>(&m.payload) {
                        Ok(q) => projector.read_state(|state| Answer { position: state.current.position(), answer: state.answer(&q) }).await,
                        Err(e) => {
                            tracing::warn!(error = %e, "unreadable query");
                            Answer { position: projector.position(), answer: None }
                        }
                    };
                    if let Ok(body) = serde_json::to_vec(&answer) {
                        let _ = client.publish(reply, body.into()).await;
                    }
                });
            }
            applied = feed.recv() => match applied {
                Ok(a) if a.event.position > published => {
                    publish(&client, &a.event).await;
                    published = a.event.position;
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Publish what the feed dropped, from the log, in order.
                    let target = projector.position();
                    while published < target {
                        match store.read_all(published, 1000).await {
                            Ok(page) if !page.is_empty() => {
                                for e in page.iter().take_while(|e| e.position <= target) {
                                    publish(&client, e).await;
                                    published = e.position;
                                }
                            }
                            Ok(_) => break,
                            Err(e) => {
                                tracing::warn!(error = %e, "could not read missed deltas; gateways will fill the gap");
                                published = target;
                            }
                        }
                    }
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    Ok(())
}

async fn publish(client: &async_nats::Client, event: &RecordedEvent) {
    match serde_json::to_vec(event) {
        Ok(body) => {
            if let Err(e) = client.publish(LIVE_SUBJECT, body.into()).await {
                tracing::warn!(error = %e, position = event.position, "could not publish a delta");
            }
        }
        Err(e) => tracing::error!(error = %e, "could not encode a delta"),
    }
}

/// A gateway's view of a projector reached over NATS.
pub struct RemoteReadSide {
    client: async_nats::Client,
    position: watch::Sender<u64>,
    live: broadcast::Sender<Applied>,
    seen: AtomicU64,
    connected: AtomicBool,
}

impl std::fmt::Debug for RemoteReadSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteReadSide")
            .field("position", &*self.position.borrow())
            .finish_non_exhaustive()
    }
}

impl RemoteReadSide {
    /// Subscribes to the deltas and learns the projector's position.
    ///
    /// # Errors
    /// When the subscription cannot be made.
    pub async fn connect(
        client: async_nats::Client,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, async_nats::SubscribeError> {
        let mut deltas = client.subscribe(LIVE_SUBJECT).await?;
        let (position, _) = watch::channel(0);
        let (live, _) = broadcast::channel(crate::LIVE_CAPACITY);
        let side = Arc::new(Self {
            client,
            position,
            live,
            seen: AtomicU64::new(0),
            connected: AtomicBool::new(false),
        });
        let me = Arc::clone(&side);
        tokio::spawn(async move {
            loop {
                let m = tokio::select! {
                    () = shutdown.cancelled() => break,
                    m = deltas.next() => match m { Some(m) => m, None => break },
                };
                match serde_json::from_slice::<RecordedEvent>(&m.payload) {
                    Ok(event) => me.receive(event),
                    Err(e) => tracing::warn!(error = %e, "unreadable delta"),
                }
            }
        });
        // Learn where the projector is, so reads wait for the right thing.
        if let Ok(answer) = side.request(&Query::Position).await {
            side.advance(answer.position);
        }
        Ok(side)
    }

    fn advance(&self, position: u64) {
        self.connected.store(true, Ordering::Release);
        self.position.send_if_modified(|p| {
            if position > *p {
                *p = position;
                true
            } else {
                false
            }
        });
    }

    fn receive(&self, event: RecordedEvent) {
        let position = event.position;
        // Several projectors may publish the same event: keep the first.
        if self.seen.fetch_max(position, Ordering::AcqRel) >= position {
            return;
        }
        let frames = live_frames(&event);
        self.advance(position);
        let _ = self.live.send(Applied {
            event: Arc::new(event),
            frames,
        });
    }

    async fn request(&self, query: &Query) -> Result<Answer, ReadError> {
        let body = serde_json::to_vec(query).map_err(|e| ReadError::Unavailable(e.to_string()))?;
        let request = async_nats::Request::new()
            .payload(body.into())
            .timeout(Some(QUERY_TIMEOUT));
        let reply = self
            .client
            .send_request(QUERY_SUBJECT, request)
            .await
            .map_err(|e| ReadError::Unavailable(format!("projector: {e}")))?;
        let answer: Answer = serde_json::from_slice(&reply.payload)
            .map_err(|e| ReadError::Unavailable(format!("unreadable answer: {e}")))?;
        self.advance(answer.position);
        Ok(answer)
    }
}

#[async_trait]
impl ReadSide for RemoteReadSide {
    async fn query(&self, query: Query) -> Result<Option<Value>, ReadError> {
        Ok(self.request(&query).await?.answer)
    }

    fn position(&self) -> u64 {
        *self.position.borrow()
    }

    async fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.position.subscribe();
        loop {
            if *rx.borrow_and_update() >= position {
                return true;
            }
            // A delta may have been missed: ask the projector now and then.
            let step = tokio::time::sleep(Duration::from_millis(100));
            tokio::select! {
                _ = rx.changed() => {}
                () = step => {
                    if let Ok(a) = self.request(&Query::Position).await
                        && a.position >= position {
                            return true;
                        }
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return *self.position.borrow() >= position;
            }
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<Applied> {
        self.live.subscribe()
    }

    fn ready(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }
}

/// The projector process of the distributed deployment: rebuilds from the log, follows
/// it, answers queries and publishes deltas until `shutdown`.
///
/// # Errors
/// When the log cannot be read or the subscriptions cannot be made.
pub async fn run(
    client: async_nats::Client,
    store: Arc<dyn EventStore>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let projector = Projector::new();
    let rebuilt = projector.rebuild(store.as_ref(), &|_, _| {}).await?;
    projector.mark_ready();
    tracing::info!(position = rebuilt, "read models rebuilt");
    let follower = tokio::spawn(Arc::clone(&projector).run(Arc::clone(&store), shutdown.clone()));
    let served = serve(client, Arc::clone(&projector), store, shutdown.clone()).await;
    shutdown.cancel();
    follower.await??;
    served?;
    Ok(())
}
