//! The monitoring service's one integration-test binary: given / when / then tests of
//! the pure decision ([`decide`]) and tests through [`MonitoringService`] on a real
//! SQLite event store in a temporary directory ([`service`]); given / when / then tests
//! of the indicator decisions ([`indicators`]) and of the questionnaire campaign's
//! ([`campaigns`]).
//!
//! [`MonitoringService`]: metroplan_monitoring::MonitoringService

mod campaigns;
mod decide;
mod indicators;
mod service;
