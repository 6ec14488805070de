//! The monitoring service: the implementation status of every action of a plan, one
//! stream per action (`progress:<plan>/<action>`), reported by the offices and partners
//! that carry the action out.
//!
//! - [`progress`]: the `ActionProgress` aggregate and the pure [`decide_report`] with
//!   the rules of a report;
//! - [`indicator`]: the `Indicator` aggregate (stream `indicator:<plan>/<code>`), a
//!   context indicator and its measurements, with the pure decisions that define, edit
//!   and retire it and record, correct and import measurements;
//! - [`campaign`]: the `Campaign` aggregate (stream `campaign:<plan>/<campaign>`), a
//!   questionnaire campaign with its questions, invitations and answer sets, and the
//!   pure decisions that draft, open, invite, answer and close it;
//! - [`import`]: reading a CSV file of measurements (separator, Italian decimals);
//! - [`plan_facts`]: what the service reads from the plan service's streams (the
//!   plan's period, whether an action is live);
//! - [`MonitoringService`]: the I/O around the decision, called by the gateway in
//!   `metroplan serve` (and, later, by this crate's binary over NATS).

pub mod campaign;
mod campaign_service;
pub mod import;
pub mod indicator;
pub mod nats;
pub mod plan_facts;
pub mod progress;
mod service;

pub use campaign::{
    Campaign, PlanSubjects, decide_close, decide_draft, decide_invite, decide_open,
    decide_questions, decide_replace_link, decide_submit,
};
pub use indicator::{
    EditDecision, ImportRow, Indicator, PlanStrategies, decide_correct, decide_define, decide_edit,
    decide_import, decide_record, decide_retire,
};
pub use nats::serve_nats;
pub use plan_facts::{ActionStanding, PlanPeriod};
pub use progress::{ActionProgress, ReportTarget, decide_report};
pub use service::MonitoringService;
