//! The JetStream event store backend (in progress).
