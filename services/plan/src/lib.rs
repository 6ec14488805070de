//! The plan service: a plan's structure (axes → strategies → actions), its actions'
//! definitions and its adopted revisions, as events.
//!
//! - [`plan`]: the `Plan` aggregate (stream `plan:<plan>`) and its decisions;
//! - [`action`]: the `Action` aggregate (stream `action:<plan>/<action>`), its decisions
//!   and the co-editing merge;
//! - [`import`]: importing a plan's structure from a document, idempotently;
//! - [`service`]: [`PlanService`], which runs commands against an
//!   [`EventStore`](metroplan_eventstore::EventStore) with optimistic concurrency;
//! - [`input`]: parsing raw body fields into stored values, each error naming its field.
//!
//! The choice made: every rule lives in a pure `decide_*` function that takes the state
//! and the raw command body and returns events or a [`DomainError`]; the aggregates'
//! `evolve` only applies facts; the service only loads, decides and appends. The
//! decisions are tested given / when / then without I/O.

pub mod action;
pub mod error;
pub mod import;
pub mod input;
pub mod nats;
pub mod plan;
pub mod service;

pub use action::{Action, EditDecision};
pub use error::{DomainError, EditConflict};
pub use nats::serve_nats;
pub use plan::Plan;
pub use service::PlanService;
