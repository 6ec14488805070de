//! The monitoring service's one integration-test binary: given / when / then tests of
//! the pure decision ([`decide`]) and tests through [`MonitoringService`] on a real
//! SQLite event store in a temporary directory ([`service`]); given / when / then tests
//! of the indicator decisions, edits and retirements included ([`indicators`]), and of
//! the questionnaire campaign's ([`campaigns`]), and campaign commands through the
//! service on SQLite ([`campaign_service`]).
//!
//! [`MonitoringService`]: metroplan_monitoring::MonitoringService

mod campaign_service;
mod campaigns;
mod decide;
mod indicators;
mod service;
