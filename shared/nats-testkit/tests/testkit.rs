//! The kit against the real server: a single node and a 3-node cluster start, take
//! JetStream writes, survive SIGKILL and restart on the same ports and store.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use metroplan_nats_testkit::{NatsCluster, NatsServer};

#[tokio::test]
async fn a_single_node_keeps_its_stream_across_kill_and_restart() {
    let mut server = NatsServer::start().await.expect("start nats-server");
    assert!(!server.client_url().ends_with(":4222"));
    let js = jetstream::new(
        async_nats::connect(server.client_url())
            .await
            .expect("connect"),
    );
    js.create_stream(stream::Config {
        name: "KIT".into(),
        subjects: vec!["kit.>".into()],
        ..Default::default()
    })
    .await
    .expect("create stream");
    js.publish("kit.a", "one".into())
        .await
        .expect("publish")
        .await
        .expect("ack");

    server.kill();
    server.restart().await.expect("restart");
    let js = jetstream::new(
        async_nats::connect(server.client_url())
            .await
            .expect("reconnect"),
    );
    let mut stream = js.get_stream("KIT").await.expect("stream survives");
    assert_eq!(stream.info().await.expect("info").state.messages, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_holds_an_r3_stream_while_one_node_is_down() {
    let mut cluster = NatsCluster::start(3).await.expect("start cluster");
    assert_eq!(cluster.len(), 3);
    assert_eq!(cluster.client_urls().split(',').count(), 3);
    let urls: Vec<String> = cluster
        .client_urls()
        .split(',')
        .map(str::to_owned)
        .collect();
    let js = jetstream::new(async_nats::connect(urls.as_slice()).await.expect("connect"));
    let mut stream = js
        .create_stream(stream::Config {
            name: "KIT".into(),
            subjects: vec!["kit.>".into()],
            num_replicas: 3,
            ..Default::default()
        })
        .await
        .expect("create R3 stream");
    let leader = stream
        .info()
        .await
        .expect("info")
        .cluster
        .as_ref()
        .and_then(|c| c.leader.clone())
        .expect("a leader");
    let i = cluster
        .index_of(&leader)
        .expect("the leader is one of ours");
    cluster.kill(i);
    assert!(!cluster.is_running(i));

    // The two others elect a new leader and take writes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let acked = match js.publish("kit.a", "after".into()).await {
            Ok(ack) => ack.await.is_ok(),
            Err(_) => false,
        };
        match acked {
            true => break,
            false if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            _ => panic!("no write accepted after the leader was killed"),
        }
    }
    cluster.restart(i).await.expect("restart");
    assert!(cluster.is_running(i));
}
