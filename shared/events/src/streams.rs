//! Stream ids: one stream per aggregate, named `<kind>:<id>`.
//!
//! | stream | aggregate | service |
//! | --- | --- | --- |
//! | `plan:<plan>` | a plan's header, axes, strategies and revisions | plan |
//! | `action:<plan>/<action>` | one action's definition | plan |
//! | `progress:<plan>/<action>` | one action's implementation status | monitoring |
//! | `indicator:<plan>/<code>` | one context indicator and its measurements | monitoring |
//! | `campaign:<plan>/<campaign>` | one questionnaire campaign and its answer sets | monitoring |
//! | `table:<id>` | one concertation table | partnership |
//! | `agreement:<id>` | one agreement | partnership |

pub fn plan(plan: &str) -> String {
    format!("plan:{plan}")
}

pub fn action(plan: &str, action: &str) -> String {
    format!("action:{plan}/{action}")
}

/// Prefix shared by every action stream of a plan, for [`list`](crate) look-ups.
pub fn action_prefix(plan: &str) -> String {
    format!("action:{plan}/")
}

pub fn progress(plan: &str, action: &str) -> String {
    format!("progress:{plan}/{action}")
}

/// The stream of a context indicator, `indicator:<plan>/<code>`.
pub fn indicator(plan: &str, code: &str) -> String {
    format!("indicator:{plan}/{code}")
}

/// The stream of a questionnaire campaign, `campaign:<plan>/<campaign>`.
pub fn campaign(plan: &str, campaign: &str) -> String {
    format!("campaign:{plan}/{campaign}")
}

pub fn table(id: &str) -> String {
    format!("table:{id}")
}

pub fn agreement(id: &str) -> String {
    format!("agreement:{id}")
}

/// The kind of a stream id (`plan`, `action`, ...).
pub fn kind(stream: &str) -> &str {
    stream.split_once(':').map_or(stream, |(k, _)| k)
}
