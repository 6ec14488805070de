//! Presence shared between gateways over NATS: each gateway publishes its changes and,
//! every [`ANNOUNCE_EVERY`], all its entries as JSON [`Batch`]es on [`SUBJECT`] (plain
//! pub/sub: presence is ephemeral, nothing is stored), applies the others', and drops
//! what another gateway stopped announcing. On shutdown it says it is `gone`.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{ANNOUNCE_EVERY, Batch, Presence, PresenceLink};

/// The subject every gateway publishes its presence on and listens to.
pub const SUBJECT: &str = "metroplan.presence";

/// The link's outgoing side: a queue the publishing task empties, so that
/// [`PresenceLink::send`] never blocks.
struct Outbox(mpsc::UnboundedSender<Batch>);

impl PresenceLink for Outbox {
    fn send(&self, batch: Batch) {
        // Closed only once the task stopped, at shutdown.
        let _ = self.0.send(batch);
    }
}

/// This gateway's presence, shared with the other gateways on `client` until `shutdown`.
///
/// # Errors
/// When NATS refuses the subscription.
pub async fn connect(
    client: async_nats::Client,
    shutdown: CancellationToken,
) -> Result<Arc<Presence>, async_nats::SubscribeError> {
    let inbox = client.subscribe(SUBJECT).await?;
    let (tx, outbox) = mpsc::unbounded_channel();
    let presence = Arc::new(Presence::linked(Arc::new(Outbox(tx))));
    tokio::spawn(run(client, inbox, outbox, Arc::clone(&presence), shutdown));
    Ok(presence)
}

async fn publish(client: &async_nats::Client, batch: &Batch) {
    let payload = match serde_json::to_vec(batch) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "presence batch not serializable");
            return;
        }
    };
    if let Err(e) = client.publish(SUBJECT, payload.into()).await {
        tracing::debug!(error = %e, "presence not published");
    }
}

async fn run(
    client: async_nats::Client,
    mut inbox: async_nats::Subscriber,
    mut outbox: mpsc::UnboundedReceiver<Batch>,
    presence: Arc<Presence>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(ANNOUNCE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(batch) = outbox.recv() => publish(&client, &batch).await,
            message = inbox.next() => match message {
                Some(m) => match serde_json::from_slice::<Batch>(&m.payload) {
                    Ok(batch) => presence.receive(batch, Instant::now()),
                    Err(e) => tracing::debug!(error = %e, "unreadable presence message ignored"),
                },
                None => {
                    tracing::warn!("presence subscription ended: other gateways' users are no longer shown");
                    break;
                }
            },
            _ = tick.tick() => {
                presence.announce();
                presence.expire(Instant::now());
            }
        }
    }
    presence.depart();
    while let Ok(batch) = outbox.try_recv() {
        publish(&client, &batch).await;
    }
    if let Err(e) = client.flush().await {
        tracing::debug!(error = %e, "presence not flushed at shutdown");
    }
}
