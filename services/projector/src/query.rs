//! The read side as a service: one [`Query`] type for every question the read models
//! answer, and the [`ReadSide`] contract the gateway asks them through. The projector
//! answers in process; in the distributed deployment the same queries travel by NATS
//! request-reply, so answers are JSON values of the shapes in [`crate::views`].

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::audit::AuditFilter;
use crate::{Applied, Projector, ReadModels, State};

/// Every question the read models answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "query", rename_all = "snake_case")]
pub enum Query {
    /// The global position the read models reached.
    Position,
    Plans,
    PlanTree {
        plan: String,
    },
    Dashboard {
        plan: String,
    },
    Action {
        plan: String,
        action: String,
    },
    ActionHistory {
        plan: String,
        action: String,
    },
    Tables {
        plan: String,
    },
    Table {
        id: String,
    },
    Agreements {
        plan: String,
    },
    Agreement {
        id: String,
    },
    AgreementsByParty {
        plan: String,
    },
    AgreementsOfAction {
        plan: String,
        action: String,
    },
    /// Every context indicator of a plan, per strategy, classified.
    Indicators {
        plan: String,
    },
    /// One indicator with its measurement series and corrections.
    Indicator {
        plan: String,
        indicator: String,
    },
    /// The questionnaire campaigns of a plan.
    Campaigns {
        plan: String,
    },
    /// One campaign with its questions and invitations (never a link).
    Campaign {
        plan: String,
        campaign: String,
    },
    /// A campaign's results per question, strategy and action.
    CampaignResults {
        plan: String,
        campaign: String,
    },
    /// What the holder of a personal link sees, found by the link's SHA-256 (hex).
    CampaignLink {
        link: String,
    },
    /// A plan's funding rolled up per axis, strategy and source, agreements counted
    /// once.
    Funding {
        plan: String,
    },
    /// A plan's effects on every planning instrument.
    Instruments {
        plan: String,
    },
    /// A plan's effects on one planning instrument.
    Instrument {
        plan: String,
        instrument: String,
    },
    /// `of` answered on the read models as they stood at global position `at`.
    At {
        at: u64,
        of: Box<Query>,
    },
    /// `of` answered on the read models as they stood at the moment `as_of`: after
    /// every event recorded at or before it.
    AsOf {
        as_of: DateTime<Utc>,
        of: Box<Query>,
    },
    /// The global position of the last event recorded at or before `as_of` (0: none).
    PositionAt {
        as_of: DateTime<Utc>,
    },
    /// What changed in a plan's structure and fields between two points.
    Diff {
        plan: String,
        from: Point,
        to: Point,
    },
    /// A page of the log's events that match a filter.
    AuditEvents {
        filter: AuditFilter,
    },
    /// Every read model in one canonical document (replays are compared with it).
    Dump,
    /// Every plan's adopted revisions, newest first.
    AdoptedRevisions,
    /// The monitoring report of a plan for a period (see [`crate::report`]).
    Report {
        plan: String,
        period: metroplan_report::Period,
    },
}

/// A point in a plan's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Point {
    /// As the plan stood when its revision `number` was adopted.
    Revision(u32),
    /// At a global position.
    At(u64),
    /// At a moment.
    AsOf(DateTime<Utc>),
    /// Now.
    Now,
}

/// Why a query got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("read side unavailable: {0}")]
    Unavailable(String),
}

impl ReadModels {
    /// Answers `query` as JSON; `None` when what it names does not exist.
    pub fn answer(&self, query: &Query) -> Option<Value> {
        fn json<T: Serialize>(v: T) -> Option<Value> {
            serde_json::to_value(v).ok()
        }
        match query {
            Query::Position => json(self.position()),
            Query::Plans => json(self.plans()),
            Query::PlanTree { plan } => self.plan_tree(plan).and_then(json),
            Query::Dashboard { plan } => self.dashboard(plan).and_then(json),
            Query::Action { plan, action } => self.action(plan, action).and_then(json),
            Query::ActionHistory { plan, action } => {
                self.action_history(plan, action).and_then(json)
            }
            Query::Tables { plan } => json(self.tables(Some(plan))),
            Query::Table { id } => self.table(id).and_then(json),
            Query::Agreements { plan } => json(self.agreements(Some(plan))),
            Query::Agreement { id } => self.agreement(id).and_then(json),
            Query::AgreementsByParty { plan } => json(self.agreements_by_party(Some(plan))),
            Query::AgreementsOfAction { plan, action } => {
                json(self.agreements_by_action(plan, action))
            }
            Query::Indicators { plan } => self.plan_indicators(plan).and_then(json),
            Query::Indicator { plan, indicator } => self.indicator(plan, indicator).and_then(json),
            Query::Campaigns { plan } => json(self.campaigns().list(plan)),
            Query::Campaign { plan, campaign } => self
                .campaigns()
                .view(plan, campaign, self.position())
                .and_then(json),
            Query::CampaignResults { plan, campaign } => self
                .campaigns()
                .results(plan, campaign, self.position())
                .and_then(json),
            Query::CampaignLink { link } => self
                .campaigns()
                .by_link(link, self.position())
                .and_then(json),
            Query::Funding { plan } => self.plan_funding(plan).and_then(json),
            Query::Instruments { plan } => self.plan_instruments(plan).and_then(json),
            Query::Instrument { plan, instrument } => {
                self.instrument(plan, instrument).and_then(json)
            }
            Query::Dump => json(self.dump()),
            Query::AdoptedRevisions => json(self.adopted_revisions()),
            Query::Report { plan, period } => self.report(plan, *period).and_then(json),
            // Questions about the past need the timeline: see [`State::answer`].
            Query::At { .. }
            | Query::AsOf { .. }
            | Query::PositionAt { .. }
            | Query::Diff { .. }
            | Query::AuditEvents { .. } => None,
        }
    }
}

impl State {
    /// Answers `query` as JSON, questions about the past included; `None` when what it
    /// names does not exist (or did not exist yet at the point it names).
    pub fn answer(&self, query: &Query) -> Option<Value> {
        match query {
            Query::At { at, of } => self.timeline.models_at(&self.current, *at).answer(of),
            Query::AsOf { as_of, of } => {
                let at = self.timeline.position_at(as_of);
                self.timeline.models_at(&self.current, at).answer(of)
            }
            Query::PositionAt { as_of } => {
                serde_json::to_value(self.timeline.position_at(as_of)).ok()
            }
            Query::Diff { plan, from, to } => {
                let from = self.resolve(plan, from)?;
                let to = self.resolve(plan, to)?;
                let before = self.timeline.models_at(&self.current, from.position);
                let after = self.timeline.models_at(&self.current, to.position);
                crate::diff::plan_diff(plan, &before, from, &after, to)
                    .and_then(|d| serde_json::to_value(d).ok())
            }
            Query::AuditEvents { filter } => {
                serde_json::to_value(crate::audit::page(&self.timeline, filter)).ok()
            }
            plain => self.current.answer(plain),
        }
    }

    /// The position a [`Point`] of `plan` stands for; `None` for an unknown revision.
    fn resolve(&self, plan: &str, point: &Point) -> Option<crate::diff::DiffPoint> {
        let position = match point {
            Point::Revision(n) => self.current.revision_position(plan, *n)?,
            Point::At(p) => (*p).min(self.current.position()),
            Point::AsOf(t) => self.timeline.position_at(t),
            Point::Now => self.current.position(),
        };
        Some(crate::diff::DiffPoint {
            position,
            revision: match point {
                Point::Revision(n) => Some(*n),
                _ => None,
            },
        })
    }
}

/// What the gateway needs of the read side: answers, the position they reflect, and
/// the feed of applied events.
#[async_trait]
pub trait ReadSide: Send + Sync + 'static {
    /// Answers a query; `Ok(None)` when what it names does not exist.
    ///
    /// # Errors
    /// [`ReadError::Unavailable`] when the read side cannot be reached.
    async fn query(&self, query: Query) -> Result<Option<Value>, ReadError>;

    /// The last global position the answers include (as far as this side knows).
    fn position(&self) -> u64;

    /// Waits until answers include `position`, at most `timeout`; whether they do.
    async fn wait_for(&self, position: u64, timeout: Duration) -> bool;

    /// Events as they are applied, in order (a lagging receiver resumes from the log).
    fn subscribe(&self) -> broadcast::Receiver<Applied>;

    /// Whether the start-up rebuild finished.
    fn ready(&self) -> bool;
}

#[async_trait]
impl ReadSide for Projector {
    async fn query(&self, query: Query) -> Result<Option<Value>, ReadError> {
        Ok(self.read_state(|s| s.answer(&query)).await)
    }

    fn position(&self) -> u64 {
        Projector::position(self)
    }

    async fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        Projector::wait_for(self, position, timeout).await
    }

    fn subscribe(&self) -> broadcast::Receiver<Applied> {
        Projector::subscribe(self)
    }

    fn ready(&self) -> bool {
        Projector::ready(self)
    }
}
