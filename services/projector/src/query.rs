//! The read side as a service: one [`Query`] type for every question the read models
//! answer, and the [`ReadSide`] contract the gateway asks them through. The projector
//! answers in process; in the distributed deployment the same queries travel by NATS
//! request-reply, so answers are JSON values of the shapes in [`crate::views`].

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::{Applied, Projector, ReadModels};

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
        }
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
        Ok(self.read(|m| m.answer(&query)).await)
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
