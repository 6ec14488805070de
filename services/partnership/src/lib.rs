//! The partnership service: the plan's concertation tools. Tables (tavoli) with their
//! members, meetings and decisions, one stream per table (`table:<id>`); agreements
//! (intese, accordi, partnership) with their parties, linked actions, commitments,
//! signing, amendments and termination, one stream per agreement (`agreement:<id>`).
//!
//! - [`table`] and [`agreement`]: the aggregates and their pure `decide_*` functions,
//!   with the rules each enforces;
//! - [`plan_facts`]: what the service reads from the plan service's streams (does a
//!   plan exist, which actions are live);
//! - [`PartnershipService`]: the I/O around the decisions, called by the gateway in
//!   `metroplan serve` (and, later, by this crate's binary over NATS).

pub mod agreement;
mod fields;
pub mod nats;
pub mod plan_facts;
mod service;
pub mod table;

pub use agreement::Agreement;
pub use nats::serve_nats;
pub use plan_facts::{ActionStanding, KnownActions};
pub use service::PartnershipService;
pub use table::Table;
