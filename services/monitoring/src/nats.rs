//! The monitoring service on the NATS bus: its commands arrive by request-reply on
//! `metroplan.cmd.monitoring`, in the queue group `metroplan-monitoring`, so instances share the work.

use std::sync::Arc;

use metroplan_eventstore::EventStore;
use tokio_util::sync::CancellationToken;

use crate::MonitoringService;

/// Serves the monitoring service's commands over NATS until `shutdown`.
///
/// # Errors
/// When the subscription cannot be made.
pub async fn serve_nats(
    client: async_nats::Client,
    store: Arc<dyn EventStore>,
    shutdown: CancellationToken,
) -> Result<(), async_nats::SubscribeError> {
    let service = MonitoringService::new(store);
    metroplan_bus::nats::serve(
        client,
        "monitoring",
        move |ctx, command| {
            let service = service.clone();
            async move { service.handle(&ctx, command).await }
        },
        shutdown,
    )
    .await
}
