//! The projector: read models built from the event log, and the live feed.
//!
//! It owns no truth. At start it reads the whole log (a rebuild) and then follows it;
//! after applying an event it publishes that event with its topics, so a live client
//! never hears of a change the read models do not show yet. The models live in memory
//! behind one lock: a plan of a few hundred actions is rebuilt in milliseconds, and a
//! million events in about a second (see BENCHMARKS.md).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use metroplan_events::RecordedEvent;
use metroplan_eventstore::EventStore;
use tokio::sync::{RwLock, broadcast, watch};
use tokio_util::sync::CancellationToken;

pub mod audit;
pub mod campaigns;
pub mod diff;
mod model;
pub mod nats;
pub mod query;
mod report;
pub mod timeline;
pub mod topics;
pub mod views;

pub use model::{ReadModels, history_entry, payload_json};
pub use query::{Query, ReadError, ReadSide};
pub use timeline::Timeline;

/// The live frames of one event, one per topic it concerns:
/// `{"type":"delta","topic":..,"position":..,"delta":<the event as a history entry>}`.
/// Rendered once per event and shared by every subscriber (cloning `Bytes` copies nothing).
pub fn live_frames(event: &RecordedEvent) -> Arc<[(String, bytes::Bytes)]> {
    let delta = serde_json::to_string(&history_entry(event)).unwrap_or_else(|_| "null".to_owned());
    let position = event.position;
    topics::for_event(event)
        .into_iter()
        .map(|topic| {
            let quoted = serde_json::to_string(&topic).unwrap_or_default();
            let frame = format!(
                r#"{{"type":"delta","topic":{quoted},"position":{position},"delta":{delta}}}"#
            );
            (topic, bytes::Bytes::from(frame))
        })
        .collect()
}

/// An event the read models now reflect, with its live frames.
#[derive(Debug, Clone)]
pub struct Applied {
    pub event: Arc<RecordedEvent>,
    /// (topic, frame) for every topic the event concerns.
    pub frames: Arc<[(String, bytes::Bytes)]>,
}

/// The current read models and their past.
#[derive(Debug, Default)]
pub struct State {
    pub current: ReadModels,
    pub timeline: Timeline,
}

impl State {
    /// Applies one event and records it in the timeline.
    pub fn apply(&mut self, event: Arc<RecordedEvent>) {
        self.current.apply_shared(Arc::clone(&event));
        self.timeline.record(event, &self.current);
    }
}

/// Rebuilds the read models from `store`'s log up to global position `to` (every event
/// at or before it), reporting (done, target) positions: what `metroplan replay` runs.
///
/// # Errors
/// When the store fails.
pub async fn replay(
    store: &dyn EventStore,
    to: u64,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<ReadModels, metroplan_eventstore::StoreError> {
    const PAGE: usize = 8192;
    let mut models = ReadModels::default();
    let mut at = 0;
    'pages: while at < to {
        let page = store.read_all(at, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for event in page {
            if event.position > to {
                break 'pages;
            }
            at = event.position;
            models.apply_shared(Arc::new(event));
        }
        progress(at, to);
    }
    progress(to, to);
    Ok(models)
}

/// Read models plus the position they reached and the live feed.
pub struct Projector {
    models: RwLock<State>,
    position: watch::Sender<u64>,
    live: broadcast::Sender<Applied>,
    ready: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projector")
            .field("position", &*self.position.borrow())
            .finish_non_exhaustive()
    }
}

/// Capacity of the live channel; a subscriber that falls further behind resumes from the log.
pub const LIVE_CAPACITY: usize = 4096;

impl Projector {
    pub fn new() -> Arc<Self> {
        Self::with_live_capacity(LIVE_CAPACITY)
    }

    /// A projector whose live channel holds `capacity` events; a subscriber further
    /// behind reads what it missed from the log.
    pub fn with_live_capacity(capacity: usize) -> Arc<Self> {
        let (position, _) = watch::channel(0);
        let (live, _) = broadcast::channel(capacity.max(1));
        Arc::new(Self {
            models: RwLock::new(State::default()),
            position,
            live,
            ready: false.into(),
        })
    }

    /// The last global position the read models include.
    pub fn position(&self) -> u64 {
        *self.position.borrow()
    }

    /// Whether the start-up rebuild finished.
    pub fn ready(&self) -> bool {
        self.ready.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Marks the start-up rebuild finished.
    pub fn mark_ready(&self) {
        self.ready.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Applies one event (in order), then publishes it.
    pub async fn apply(&self, event: RecordedEvent) {
        let position = event.position;
        let event = Arc::new(event);
        self.models.write().await.apply(Arc::clone(&event));
        self.position.send_replace(position);
        if self.live.receiver_count() > 0 {
            let frames = live_frames(&event);
            // A send fails only when the last subscriber left meanwhile.
            let _ = self.live.send(Applied { event, frames });
        }
    }

    /// Follows the log from the current position until `shutdown`, calling `progress`
    /// with (applied position, head at start) while catching up.
    ///
    /// # Errors
    /// When the store's subscription fails.
    pub async fn run(
        self: Arc<Self>,
        store: Arc<dyn EventStore>,
        shutdown: CancellationToken,
    ) -> Result<(), metroplan_eventstore::StoreError> {
        let mut events = store.subscribe_all(self.position());
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                next = events.next() => match next {
                    Some(Ok(event)) => self.apply(event).await,
                    Some(Err(e)) => return Err(e),
                    None => return Ok(()),
                },
            }
        }
    }

    /// Reads the whole stored log into the read models, reporting (done, total) positions.
    ///
    /// Reading and applying overlap: the next page is read (on the store's threads)
    /// while the current one is applied.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn rebuild(
        &self,
        store: &dyn EventStore,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<u64, metroplan_eventstore::StoreError> {
        const PAGE: usize = 8192;
        let head = store.head_position().await?;
        let start = self.position();
        let (pages_tx, mut pages_rx) = tokio::sync::mpsc::channel::<Vec<RecordedEvent>>(2);
        let read = async move {
            let mut at = start;
            while at < head {
                let page = store.read_all(at, PAGE).await?;
                let Some(last) = page.last() else { break };
                at = last.position;
                if pages_tx.send(page).await.is_err() {
                    break;
                }
            }
            Ok::<_, metroplan_eventstore::StoreError>(())
        };
        let apply = async {
            let mut at = start;
            while let Some(page) = pages_rx.recv().await {
                let mut models = self.models.write().await;
                for event in page {
                    at = event.position;
                    models.apply(Arc::new(event));
                }
                drop(models);
                self.position.send_replace(at);
                progress(at, head);
            }
            at
        };
        let (read, at) = tokio::join!(read, apply);
        read?;
        Ok(at)
    }

    /// Waits until the read models reached `position`, at most `timeout`; answers whether they did.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        let mut rx = self.position.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|p| *p >= position))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// The live feed of applied events.
    pub fn subscribe(&self) -> broadcast::Receiver<Applied> {
        self.live.subscribe()
    }

    /// Runs `f` on the current read models under a read lock.
    pub async fn read<T>(&self, f: impl FnOnce(&ReadModels) -> T) -> T {
        let models = self.models.read().await;
        f(&models.current)
    }

    /// Runs `f` on the read models and their timeline under a read lock.
    pub async fn read_state<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        let models = self.models.read().await;
        f(&models)
    }
}
