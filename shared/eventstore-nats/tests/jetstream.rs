//! The JetStream backend against real nats-server processes started by
//! `metroplan-nats-testkit` on free ports: the conformance suite unchanged on a single
//! node and on a 3-node cluster (R3), then what only this backend must show.

use std::sync::Arc;

use metroplan_eventstore::conformance::Fixture;
use metroplan_eventstore_nats::JetStreamStore;
use metroplan_nats_testkit::{NatsCluster, NatsServer};

mod conformance_single_node {
    use super::*;

    metroplan_eventstore::conformance_tests!(|| async {
        let server = NatsServer::start().await.expect("start nats-server");
        let store = JetStreamStore::connect(&server.client_url(), 1)
            .await
            .expect("open the event store");
        Fixture::with_guard(Arc::new(store), server)
    });
}

mod conformance_cluster_r3 {
    use super::*;

    metroplan_eventstore::conformance_tests!(|| async {
        let cluster = NatsCluster::start(3).await.expect("start a 3-node cluster");
        let store = JetStreamStore::connect(&cluster.client_urls(), 3)
            .await
            .expect("open the event store");
        Fixture::with_guard(Arc::new(store), cluster)
    });
}
