//! The partnership service on the NATS bus: its commands arrive by request-reply on
//! `metroplan.cmd.partnership`, in the queue group `metroplan-partnership`, so instances share the work.

use std::sync::Arc;

use metroplan_eventstore::EventStore;
use tokio_util::sync::CancellationToken;

use crate::PartnershipService;

/// Serves the partnership service's commands over NATS until `shutdown`.
///
/// # Errors
/// When the subscription cannot be made.
pub async fn serve_nats(
    client: async_nats::Client,
    store: Arc<dyn EventStore>,
    shutdown: CancellationToken,
) -> Result<(), async_nats::SubscribeError> {
    let service = PartnershipService::new(store);
    metroplan_bus::nats::serve(
        client,
        "partnership",
        move |ctx, command| {
            let service = service.clone();
            async move { service.handle(&ctx, command).await }
        },
        shutdown,
    )
    .await
}
