//! Commands over NATS request-reply, for the distributed deployment.
//!
//! | subject | request | reply |
//! | --- | --- | --- |
//! | `metroplan.cmd.plan` | [`Envelope`] of a `PlanCommand` | [`Reply`] |
//! | `metroplan.cmd.monitoring` | [`Envelope`] of a `MonitoringCommand` | [`Reply`] |
//! | `metroplan.cmd.partnership` | [`Envelope`] of a `PartnershipCommand` | [`Reply`] |
//!
//! Bodies are JSON (the same wire types as the HTTP API). Each service subscribes in
//! the queue group `metroplan-<service>`, so several instances share the work and each
//! command is handled once. A command nobody answers is [`ApiError::Unavailable`]; a
//! timed-out request may still have been carried out, so clients retry with the same
//! event ids only through the store's idempotency, never blindly.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use metroplan_api::{ApiError, CommandContext, CommandOutcome};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::{Command, CommandBus};

/// Subject prefix of commands.
pub const COMMAND_SUBJECT: &str = "metroplan.cmd";
/// How long a command may take, service and durable append included.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// A command with who sent it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope<C> {
    pub ctx: CommandContext,
    pub command: C,
}

/// A service's answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Ok(CommandOutcome),
    Err(ApiError),
}

/// The subject a service listens on (`metroplan.cmd.plan`).
pub fn subject(service: &str) -> String {
    format!("{COMMAND_SUBJECT}.{service}")
}

/// The client side: sends each command to its service and waits for the answer.
#[derive(Debug, Clone)]
pub struct NatsBus {
    client: async_nats::Client,
}

impl NatsBus {
    pub fn new(client: async_nats::Client) -> Self {
        Self { client }
    }

    async fn call<C: Serialize>(
        &self,
        service: &str,
        ctx: CommandContext,
        command: C,
    ) -> Result<CommandOutcome, ApiError> {
        let body = serde_json::to_vec(&Envelope { ctx, command }).map_err(ApiError::internal)?;
        let request = async_nats::Request::new()
            .payload(body.into())
            .timeout(Some(COMMAND_TIMEOUT));
        let answer = self
            .client
            .send_request(subject(service), request)
            .await
            .map_err(|e| {
                use async_nats::RequestErrorKind;
                match e.kind() {
                    RequestErrorKind::NoResponders => ApiError::Unavailable {
                        message: format!("no {service} service is running"),
                    },
                    RequestErrorKind::TimedOut => ApiError::Unavailable {
                        message: format!("the {service} service did not answer in time"),
                    },
                    _ => ApiError::Unavailable {
                        message: format!("{service} request failed: {e}"),
                    },
                }
            })?;
        match serde_json::from_slice::<Reply>(&answer.payload) {
            Ok(Reply::Ok(outcome)) => Ok(outcome),
            Ok(Reply::Err(e)) => Err(e),
            Err(e) => Err(ApiError::internal(format!(
                "unreadable reply from {service}: {e}"
            ))),
        }
    }
}

#[async_trait]
impl CommandBus for NatsBus {
    async fn dispatch(
        &self,
        ctx: CommandContext,
        command: Command,
    ) -> Result<CommandOutcome, ApiError> {
        match command {
            Command::Plan(c) => self.call("plan", ctx, c).await,
            Command::Monitoring(c) => self.call("monitoring", ctx, c).await,
            Command::Partnership(c) => self.call("partnership", ctx, c).await,
        }
    }
}

/// Serves one service's commands until `shutdown`: subscribes to its subject in its
/// queue group and answers each request with `handle`'s outcome, handling requests
/// concurrently.
///
/// # Errors
/// When the subscription cannot be made.
pub async fn serve<C, F, Fut>(
    client: async_nats::Client,
    service: &str,
    handle: F,
    shutdown: CancellationToken,
) -> Result<(), async_nats::SubscribeError>
where
    C: DeserializeOwned + Send + 'static,
    F: Fn(CommandContext, C) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<CommandOutcome, ApiError>> + Send + 'static,
{
    let mut requests = client
        .queue_subscribe(subject(service), format!("metroplan-{service}"))
        .await?;
    let handle = Arc::new(handle);
    tracing::info!(service, subject = %subject(service), "serving commands");
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => break,
            m = requests.next() => match m { Some(m) => m, None => break },
        };
        let Some(reply_to) = message.reply.clone() else {
            tracing::warn!(service, "command without a reply subject ignored");
            continue;
        };
        let (client, handle) = (client.clone(), Arc::clone(&handle));
        tokio::spawn(async move {
            let reply = match serde_json::from_slice::<Envelope<C>>(&message.payload) {
                Ok(Envelope { ctx, command }) => match handle(ctx, command).await {
                    Ok(outcome) => Reply::Ok(outcome),
                    Err(e) => Reply::Err(e),
                },
                Err(e) => Reply::Err(ApiError::internal(format!("unreadable command: {e}"))),
            };
            match serde_json::to_vec(&reply) {
                Ok(body) => {
                    if let Err(e) = client.publish(reply_to, body.into()).await {
                        tracing::warn!(error = %e, "could not send a command's reply");
                    }
                }
                Err(e) => tracing::error!(error = %e, "could not encode a command's reply"),
            }
        });
    }
    let _ = requests.unsubscribe().await;
    Ok(())
}
