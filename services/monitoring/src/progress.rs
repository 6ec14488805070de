//! The `ActionProgress` aggregate (stream `progress:<plan>/<action>`) and the one
//! decision taken against it, [`decide_report`].
//!
//! The choice: a report is a whole statement of where the action stands as of a date,
//! not a patch. The rules live in [`decide_report`], which is pure (the plan's period
//! and the action's standing are read by the service beforehand and passed in), so it
//! is tested given / when / then with no I/O; `evolve` only applies what was decided.
//!
//! Rules of a report, in the order they are checked:
//! 1. the plan exists ([`ApiError::NotFound`]) and the action exists in it
//!    ([`ApiError::NotFound`]) and is not retired ([`ApiError::Rejected`]);
//! 2. `status` is one of the six statuses, `progress` is 0-100, `as_of` is a date,
//!    `evidence_url` (when given and not empty) is an `http://` or `https://` link,
//!    `reporting_organisation` (when given) is not blank ([`ApiError::Validation`]);
//! 3. `completed` means 100 percent and `not_started` means 0: a report that says an
//!    action is complete at 80% is contradictory, and the dashboards sum progress;
//! 4. `as_of` lies inside the plan's period;
//! 5. the move from the current status (`not_started` before any report) is allowed
//!    by [`Status::may_become`] ([`ApiError::Rejected`] on `status`);
//! 6. `as_of` is not before the previous report's `as_of`: the stream reads as a time
//!    line, so the latest report is always the current state (a report for the same
//!    day is allowed: it corrects that day's). Progress itself may go down, since a
//!    re-estimate is a legitimate report.

use metroplan_api::ApiError;
use metroplan_api::monitoring::ReportProgress;
use metroplan_api::values::{Date, ItemCode, PlanCode, Progress, Status, parse_date};
use metroplan_events::{Aggregate, RecordedEvent, pb};

use crate::plan_facts::{ActionStanding, PlanPeriod};

/// Longest note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;
/// Longest evidence link accepted, in characters.
pub const MAX_URL_CHARS: usize = 2_000;

/// An action's implementation status as its reports add up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionProgress {
    pub plan: String,
    pub action: String,
    /// `None` until the first report: the action counts as `not_started`.
    pub status: Option<Status>,
    pub progress: u8,
    /// The date the latest report describes.
    pub as_of: Option<Date>,
    pub note: String,
    pub evidence_url: String,
    pub reporting_organisation: String,
    /// How many reports the stream holds.
    pub reports: u64,
}

impl ActionProgress {
    /// The current status, `not_started` before any report.
    pub fn current_status(&self) -> Status {
        self.status.unwrap_or(Status::NotStarted)
    }
}

impl Aggregate for ActionProgress {
    type Event = pb::ProgressEvent;

    fn evolve(&mut self, event: &pb::ProgressEvent, _recorded: &RecordedEvent) {
        let Some(pb::progress_event::Event::ActionProgressReported(r)) = &event.event else {
            return;
        };
        self.plan.clone_from(&r.plan);
        self.action.clone_from(&r.action);
        // Stored reports were validated when decided; a value that no longer parses
        // leaves the previous one rather than invent a new one.
        if let Ok(status) = r.status.parse() {
            self.status = Some(status);
        }
        self.progress = u8::try_from(r.progress).unwrap_or(self.progress);
        if let Ok(day) = parse_date("as_of", &r.as_of) {
            self.as_of = Some(day);
        }
        self.note.clone_from(&r.note);
        self.evidence_url.clone_from(&r.evidence_url);
        self.reporting_organisation
            .clone_from(&r.reporting_organisation);
        self.reports += 1;
    }
}

/// What a report is about, as the service found it before deciding.
#[derive(Debug, Clone)]
pub struct ReportTarget {
    pub plan: PlanCode,
    pub action: ItemCode,
    /// The plan's period; `None` when the plan does not exist.
    pub period: Option<PlanPeriod>,
    pub standing: ActionStanding,
    /// The caller's organisation: the reporting organisation when the body names none.
    pub caller_organisation: String,
}

/// Decides a progress report against the action's current progress.
///
/// # Errors
/// [`ApiError::NotFound`] for a missing plan or action, [`ApiError::Validation`]
/// naming the JSON field of a malformed value, [`ApiError::Rejected`] for a retired
/// action, a status move [`Status::may_become`] refuses, or a report dated before the
/// previous one (see the module's rules).
pub fn decide_report(
    state: &ActionProgress,
    report: &ReportProgress,
    target: &ReportTarget,
) -> Result<Vec<pb::ProgressEvent>, ApiError> {
    let Some(period) = target.period else {
        return Err(ApiError::not_found(format!("plan {}", target.plan)));
    };
    match target.standing {
        ActionStanding::Live => {}
        ActionStanding::Missing => {
            return Err(ApiError::not_found(format!(
                "action {} of plan {}",
                target.action, target.plan
            )));
        }
        ActionStanding::Retired => {
            return Err(ApiError::rejected(
                None,
                format!(
                    "action {} of plan {} is retired and takes no more reports",
                    target.action, target.plan
                ),
            ));
        }
    }

    let status: Status = report
        .status
        .parse()
        .map_err(|m| ApiError::validation("status", m))?;
    let progress =
        Progress::try_from(report.progress).map_err(|m| ApiError::validation("progress", m))?;
    let as_of = parse_date("as_of", &report.as_of)?;
    if report.note.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::validation(
            "note",
            format!("is longer than {MAX_NOTE_CHARS} characters"),
        ));
    }
    let evidence_url = evidence_url(report.evidence_url.as_deref())?;
    let reporting_organisation = match report.reporting_organisation.as_deref().map(str::trim) {
        None => target.caller_organisation.trim().to_owned(),
        Some("") => return Err(ApiError::validation("reporting_organisation", "is blank")),
        Some(org) => org.to_owned(),
    };
    if reporting_organisation.is_empty() {
        return Err(ApiError::validation(
            "reporting_organisation",
            "is needed: the caller has no organisation to report for",
        ));
    }

    match status {
        Status::Completed if progress.get() != 100 => {
            return Err(ApiError::validation(
                "progress",
                format!(
                    "a completed action is at 100 percent, not {}",
                    progress.get()
                ),
            ));
        }
        Status::NotStarted if progress.get() != 0 => {
            return Err(ApiError::validation(
                "progress",
                format!(
                    "an action not started is at 0 percent, not {}",
                    progress.get()
                ),
            ));
        }
        _ => {}
    }
    if !period.contains(as_of) {
        return Err(ApiError::validation(
            "as_of",
            format!(
                "{as_of} is outside the plan's period {} to {}",
                period.from, period.to
            ),
        ));
    }

    let previous = state.current_status();
    if !previous.may_become(status) {
        return Err(ApiError::rejected(
            Some("status"),
            format!("an action {previous} cannot become {status}"),
        ));
    }
    if let Some(last) = state.as_of
        && as_of < last
    {
        return Err(ApiError::rejected(
            Some("as_of"),
            format!(
                "{as_of} is before the previous report's date {last}: reports follow one another in time"
            ),
        ));
    }

    Ok(vec![
        pb::ActionProgressReported {
            plan: target.plan.to_string(),
            action: target.action.to_string(),
            status: status.as_str().to_owned(),
            previous_status: previous.as_str().to_owned(),
            progress: u32::from(progress.get()),
            note: report.note.clone(),
            evidence_url,
            reporting_organisation,
            as_of: as_of.to_string(),
        }
        .into(),
    ])
}

/// An evidence link: absent or empty means none; otherwise `http(s)://host...` with no
/// white space.
fn evidence_url(url: Option<&str>) -> Result<String, ApiError> {
    let url = url.map(str::trim).unwrap_or_default();
    if url.is_empty() {
        return Ok(String::new());
    }
    let invalid = |why: &str| ApiError::validation("evidence_url", format!("{url:?} {why}"));
    if url.chars().count() > MAX_URL_CHARS {
        return Err(invalid(&format!(
            "is longer than {MAX_URL_CHARS} characters"
        )));
    }
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| invalid("is not an http:// or https:// link"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(invalid("is not a valid link"));
    }
    Ok(url.to_owned())
}
