//! The partnership service's one integration-test binary: given / when / then tests of
//! the pure table and agreement decisions ([`tables`], [`agreements`]) and tests
//! through [`PartnershipService`] on a real SQLite event store ([`service`]).
//!
//! [`PartnershipService`]: metroplan_partnership::PartnershipService

mod agreements;
mod service;
mod support;
mod tables;
