//! The per-event checks of a walk over the log in position order: positions contiguous
//! from 1, each stream's versions contiguous from 1, and each stored hash equal to the
//! one recomputed from the event and the previous event of its stream
//! ([`metroplan_eventstore::sqlite::event_hash`], the layout every backend stores).

use std::collections::HashMap;

use metroplan_events::RecordedEvent;
use metroplan_eventstore::sqlite::{GENESIS_HASH, event_hash};

/// The first thing found wrong, at `position`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("first bad position: {position} ({reason})")]
pub struct Tampered {
    pub position: u64,
    pub reason: String,
}

/// Follows the log event by event; keeps each stream's last version and hash.
#[derive(Debug, Default)]
pub struct ChainChecker {
    last_position: u64,
    streams: HashMap<String, StreamHead>,
}

/// The last event of a stream seen so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamHead {
    pub version: u64,
    pub hash: Vec<u8>,
    pub position: u64,
}

impl ChainChecker {
    pub fn new() -> Self {
        Self::default()
    }

    /// The position of the last event checked.
    pub fn position(&self) -> u64 {
        self.last_position
    }

    /// Streams seen.
    pub fn streams(&self) -> usize {
        self.streams.len()
    }

    /// The last event of each stream.
    pub fn heads(&self) -> &HashMap<String, StreamHead> {
        &self.streams
    }

    /// Compares the heads seen with a store's own record of each stream's last version
    /// and hash (the embedded store's `streams` table): events removed from the end of
    /// the log, past its last checkpoint, show there.
    ///
    /// # Errors
    /// [`Tampered`] for the first stream that differs.
    pub fn check_recorded_heads(
        &self,
        recorded: &[(String, u64, Vec<u8>)],
    ) -> Result<(), Tampered> {
        let end = self.last_position + 1;
        let mut found = Vec::new();
        for (stream, version, hash) in recorded {
            match self.streams.get(stream) {
                Some(head) if head.version == *version && head.hash == *hash => {}
                Some(head) if head.version == *version => found.push(Tampered {
                    position: head.position,
                    reason: format!(
                        "stream {stream} ends with another event than the store recorded"
                    ),
                }),
                Some(head) if head.version > *version => found.push(Tampered {
                    position: head.position,
                    reason: format!(
                        "stream {stream} goes past version {version}, its recorded end"
                    ),
                }),
                seen => found.push(Tampered {
                    position: end,
                    reason: format!(
                        "log truncated: the store records stream {stream} at version {version}, the log ends at version {}",
                        seen.map_or(0, |h| h.version)
                    ),
                }),
            }
        }
        for (stream, head) in &self.streams {
            if !recorded.iter().any(|(r, _, _)| r == stream) {
                found.push(Tampered {
                    position: head.position,
                    reason: format!("stream {stream} is not recorded by the store"),
                });
            }
        }
        match found.into_iter().min_by_key(|t| t.position) {
            Some(first) => Err(first),
            None => Ok(()),
        }
    }

    /// Checks the next event of the log.
    ///
    /// # Errors
    /// [`Tampered`] naming the position that is wrong and why.
    pub fn check(&mut self, e: &RecordedEvent) -> Result<(), Tampered> {
        let expected = self.last_position + 1;
        let bad = |reason: String| Tampered {
            position: expected,
            reason,
        };
        if e.position != expected {
            return Err(bad(if e.position > expected {
                format!(
                    "event missing: the log goes from position {} to {}",
                    self.last_position, e.position
                )
            } else {
                format!(
                    "out of order: position {} comes after {}",
                    e.position, self.last_position
                )
            }));
        }
        let (last_version, prev) = match self.streams.get(&e.stream_id) {
            Some(head) => (head.version, head.hash.as_slice()),
            None => (0, GENESIS_HASH.as_slice()),
        };
        if e.stream_version != last_version + 1 {
            return Err(bad(format!(
                "stream {} goes from version {last_version} to {}",
                e.stream_id, e.stream_version
            )));
        }
        let recomputed = event_hash(prev, e);
        if recomputed != e.hash {
            return Err(bad(format!(
                "hash mismatch in stream {} version {}: stored {}, recomputed {}",
                e.stream_id,
                e.stream_version,
                hex(&e.hash),
                hex(&recomputed)
            )));
        }
        let head = StreamHead {
            version: e.stream_version,
            hash: recomputed,
            position: e.position,
        };
        match self.streams.get_mut(&e.stream_id) {
            Some(entry) => *entry = head,
            None => {
                self.streams.insert(e.stream_id.clone(), head);
            }
        }
        self.last_position = e.position;
        Ok(())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
