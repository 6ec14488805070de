//! How commands travel from the gateway to the services. [`CommandBus`] is the
//! contract; [`LocalBus`] is the in-process transport of the embedded deployment (a
//! direct async call per service), and [`nats::NatsBus`], the NATS request-reply
//! transport of the distributed deployment, implements the same trait. Who may send what is decided here,
//! once, by [`Command::permits`].

pub mod nats;

use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use metroplan_api::monitoring::MonitoringCommand;
use metroplan_api::partnership::PartnershipCommand;
use metroplan_api::plan::PlanCommand;
use metroplan_api::{ApiError, CommandContext, CommandOutcome, Role};
use serde::{Deserialize, Serialize};

/// Every command of every service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "service", content = "command", rename_all = "snake_case")]
pub enum Command {
    Plan(PlanCommand),
    Monitoring(MonitoringCommand),
    Partnership(PartnershipCommand),
}

impl Command {
    /// Whether `role` may issue this command: creating a plan and adopting a revision
    /// (an act of the body) need admin; reporting progress needs reporter, editor or
    /// admin; defining, editing and retiring a context indicator needs editor or admin, recording, correcting
    /// and importing its measurements reporter, editor or admin; managing a
    /// questionnaire campaign needs editor or admin, and answering one only its
    /// personal link (checked by the service); every other change
    /// needs editor or admin; auditors and viewers write nothing.
    pub fn permits(&self, role: Role) -> bool {
        match self {
            Command::Plan(PlanCommand::CreatePlan { .. } | PlanCommand::AdoptRevision { .. }) => {
                role == Role::Admin
            }
            // The credential of an answer set is its personal link, checked by the
            // monitoring service against the campaign's invitations; the gateway sends
            // it only from the link's own route, whatever token (none) came with it.
            Command::Monitoring(MonitoringCommand::SubmitAnswers { .. }) => true,
            Command::Plan(_)
            | Command::Partnership(_)
            | Command::Monitoring(
                MonitoringCommand::DefineIndicator { .. }
                | MonitoringCommand::EditIndicator { .. }
                | MonitoringCommand::RetireIndicator { .. }
                | MonitoringCommand::DraftCampaign { .. }
                | MonitoringCommand::SetQuestions { .. }
                | MonitoringCommand::OpenCampaign { .. }
                | MonitoringCommand::InviteOrganisation { .. }
                | MonitoringCommand::ReplaceLink { .. }
                | MonitoringCommand::CloseCampaign { .. },
            ) => role.can_edit(),
            Command::Monitoring(_) => role.can_report(),
        }
    }

    /// A short name for logs and errors (`report progress`).
    pub fn describe(&self) -> &'static str {
        match self {
            Command::Plan(PlanCommand::CreatePlan { .. }) => "create a plan",
            Command::Plan(PlanCommand::AdoptRevision { .. }) => "adopt a revision",
            Command::Plan(_) => "edit the plan",
            Command::Monitoring(MonitoringCommand::ReportProgress { .. }) => "report progress",
            Command::Monitoring(MonitoringCommand::DefineIndicator { .. }) => "define an indicator",
            Command::Monitoring(MonitoringCommand::EditIndicator { .. }) => "edit an indicator",
            Command::Monitoring(MonitoringCommand::RetireIndicator { .. }) => "retire an indicator",
            Command::Monitoring(MonitoringCommand::SubmitAnswers { .. }) => {
                "answer a questionnaire"
            }
            Command::Monitoring(
                MonitoringCommand::DraftCampaign { .. }
                | MonitoringCommand::SetQuestions { .. }
                | MonitoringCommand::OpenCampaign { .. }
                | MonitoringCommand::InviteOrganisation { .. }
                | MonitoringCommand::ReplaceLink { .. }
                | MonitoringCommand::CloseCampaign { .. },
            ) => "manage questionnaire campaigns",
            Command::Monitoring(_) => "record measurements",
            Command::Partnership(_) => "edit tables and agreements",
        }
    }
}

/// Sends a command to the service that owns it and returns its outcome.
#[async_trait]
pub trait CommandBus: Send + Sync + 'static {
    /// # Errors
    /// The service's [`ApiError`], or [`ApiError::Unavailable`] when it cannot be reached.
    async fn dispatch(
        &self,
        ctx: CommandContext,
        command: Command,
    ) -> Result<CommandOutcome, ApiError>;
}

type Handler<C> = Arc<
    dyn Fn(CommandContext, C) -> BoxFuture<'static, Result<CommandOutcome, ApiError>> + Send + Sync,
>;

/// The in-process bus: each service is a function call away.
pub struct LocalBus {
    plan: Handler<PlanCommand>,
    monitoring: Handler<MonitoringCommand>,
    partnership: Handler<PartnershipCommand>,
}

impl std::fmt::Debug for LocalBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBus").finish_non_exhaustive()
    }
}

impl LocalBus {
    pub fn new(
        plan: impl Fn(
            CommandContext,
            PlanCommand,
        ) -> BoxFuture<'static, Result<CommandOutcome, ApiError>>
        + Send
        + Sync
        + 'static,
        monitoring: impl Fn(
            CommandContext,
            MonitoringCommand,
        ) -> BoxFuture<'static, Result<CommandOutcome, ApiError>>
        + Send
        + Sync
        + 'static,
        partnership: impl Fn(
            CommandContext,
            PartnershipCommand,
        ) -> BoxFuture<'static, Result<CommandOutcome, ApiError>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Self {
            plan: Arc::new(plan),
            monitoring: Arc::new(monitoring),
            partnership: Arc::new(partnership),
        }
    }
}

#[async_trait]
impl CommandBus for LocalBus {
    async fn dispatch(
        &self,
        ctx: CommandContext,
        command: Command,
    ) -> Result<CommandOutcome, ApiError> {
        match command {
            Command::Plan(c) => (self.plan)(ctx, c).await,
            Command::Monitoring(c) => (self.monitoring)(ctx, c).await,
            Command::Partnership(c) => (self.partnership)(ctx, c).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metroplan_api::indicators::{EditIndicator, RecordMeasurement, RetireIndicator};

    #[test]
    fn editing_and_retiring_an_indicator_need_editor_or_admin_recording_reporter() {
        let edit = Command::Monitoring(MonitoringCommand::EditIndicator {
            plan: "P".into(),
            indicator: "IC-1".into(),
            base_version: Some(1),
            body: EditIndicator::default(),
        });
        let retire = Command::Monitoring(MonitoringCommand::RetireIndicator {
            plan: "P".into(),
            indicator: "IC-1".into(),
            body: RetireIndicator {
                reason: "esempio".into(),
            },
        });
        let record = Command::Monitoring(MonitoringCommand::RecordMeasurement {
            plan: "P".into(),
            indicator: "IC-1".into(),
            body: RecordMeasurement {
                period: "2022".into(),
                territory: "Ivrea".into(),
                value: "1".into(),
                source_note: String::new(),
            },
        });
        let roles = [
            Role::Admin,
            Role::Editor,
            Role::Reporter,
            Role::Auditor,
            Role::Viewer,
        ];
        let who = |c: &Command| -> Vec<bool> { roles.iter().map(|r| c.permits(*r)).collect() };
        assert_eq!(who(&edit), [true, true, false, false, false]);
        assert_eq!(who(&retire), [true, true, false, false, false]);
        assert_eq!(who(&record), [true, true, true, false, false]);
        assert_eq!(edit.describe(), "edit an indicator");
        assert_eq!(retire.describe(), "retire an indicator");
    }
}
