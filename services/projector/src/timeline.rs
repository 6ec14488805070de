//! Time travel: the read models as they stood at any global position or moment, and the
//! audit trail's filtered reading of the log.
//!
//! # Choices
//!
//! - **Snapshots plus a short replay.** The timeline keeps every applied event (the same
//!   `Arc`s the histories hold, so the log costs a pointer an event) and a clone of the
//!   read models every [`SNAPSHOT_EVERY`] events. The models at position P are the last
//!   snapshot at or before P, cloned, with the events after it up to P applied: at most
//!   `SNAPSHOT_EVERY - 1` events, a few milliseconds whatever the log's length. Clones
//!   are cheap by construction ([`ReadModels`] shares unchanged items and histories), so a
//!   snapshot costs a few hundred bytes an item, not a copy of the histories.
//! - **A moment is a position.** `as_of` T means "every event recorded at or before T":
//!   the last position whose recorded time is at most T. Times are taken as their
//!   running maximum along the log, so that a clock that stepped back on the writer can
//!   never make a later moment map to an earlier position.
//! - Positions need not be contiguous (a log whose first events were pruned still
//!   works): every look-up is a binary search on positions, never an index computation.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use metroplan_events::RecordedEvent;

use crate::ReadModels;

/// A snapshot of the read models is kept every this many applied events.
pub const SNAPSHOT_EVERY: usize = 4096;

/// Every applied event, with periodic snapshots of the read models.
#[derive(Debug)]
pub struct Timeline {
    /// A snapshot is kept every this many events.
    every: usize,
    log: Vec<Arc<RecordedEvent>>,
    /// Running maximum of the recorded times (Unix nanoseconds), one per event of `log`.
    clock: Vec<i64>,
    snapshots: Vec<ReadModels>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::with_interval(SNAPSHOT_EVERY)
    }
}

impl Timeline {
    /// A timeline that keeps a snapshot every `every` events.
    pub fn with_interval(every: usize) -> Self {
        Self {
            every: every.max(1),
            log: Vec::new(),
            clock: Vec::new(),
            snapshots: Vec::new(),
        }
    }

    /// How many snapshots it keeps.
    pub fn snapshots(&self) -> usize {
        self.snapshots.len()
    }

    /// Records `event`, just applied to `models`.
    pub fn record(&mut self, event: Arc<RecordedEvent>, models: &ReadModels) {
        let t = nanos(&event.recorded_at);
        let t = self.clock.last().map_or(t, |&m| m.max(t));
        self.clock.push(t);
        self.log.push(event);
        if self.log.len().is_multiple_of(self.every) {
            self.snapshots.push(models.clone());
        }
    }

    /// The applied events, in order.
    pub fn events(&self) -> &[Arc<RecordedEvent>] {
        &self.log
    }

    /// Index in `log` of the first event after `position`.
    pub fn index_after(&self, position: u64) -> usize {
        self.log.partition_point(|e| e.position <= position)
    }

    /// The position of the last event recorded at or before `t` (0: none).
    pub fn position_at(&self, t: &DateTime<Utc>) -> u64 {
        let n = self.clock.partition_point(|&c| c <= nanos(t));
        n.checked_sub(1).map_or(0, |i| self.log[i].position)
    }

    /// The read models as they stood at `position`: `current` itself when it is not
    /// past it, else the last snapshot before it plus the events up to it.
    pub fn models_at<'a>(&self, current: &'a ReadModels, position: u64) -> Cow<'a, ReadModels> {
        if position >= current.position() {
            return Cow::Borrowed(current);
        }
        let k = self.snapshots.partition_point(|s| s.position() <= position);
        let mut models = k
            .checked_sub(1)
            .map_or_else(ReadModels::default, |i| self.snapshots[i].clone());
        let from = self.index_after(models.position());
        let to = self.index_after(position);
        for event in &self.log[from..to] {
            models.apply_shared(Arc::clone(event));
        }
        Cow::Owned(models)
    }
}

fn nanos(t: &DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}
