//! Admin stories: create a topic on a whole cluster, see it in the cluster's routes, and read
//! its queue stats.

mod common;

use ferrocket_client::{Admin, ClientError, Message, Producer, ProducerConfig, TopicConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_topic_on_a_cluster_and_read_its_stats() {
    let c = common::cluster(2).await;
    let admin = Admin::new(&c.ns_addr).unwrap();

    let info = admin.cluster_info().await.unwrap();
    let members = &info.cluster_addr_table["DefaultCluster"];
    assert!(members.contains("broker-a") && members.contains("broker-b"));
    assert_eq!(
        info.broker_addr_table["broker-b"].master_addr(),
        Some(c.broker_addrs[1].as_str())
    );

    let updated = admin
        .create_topic("DefaultCluster", &TopicConfig::new("AdminTopic", 3, 6))
        .await
        .unwrap();
    assert_eq!(updated.len(), 2);
    c.wait_route("AdminTopic", 2).await;
    let route = admin.topic_route("AdminTopic").await.unwrap();
    assert!(route
        .queue_datas
        .iter()
        .all(|q| q.write_queue_nums == 3 && q.perm == 6));

    assert!(matches!(
        admin.topic_route("NoSuchTopic").await,
        Err(ClientError::NoRoute(_))
    ));
    assert!(matches!(
        admin
            .create_topic("NoSuchCluster", &TopicConfig::new("X", 1, 6))
            .await,
        Err(ClientError::InvalidArgument(_))
    ));
    // The broker refuses a bad name with its own code.
    let bad = admin
        .create_topic(&c.broker_addrs[0], &TopicConfig::new("TBW102", 1, 6))
        .await;
    assert!(bad.is_err());

    let p = Producer::new(ProducerConfig {
        namesrv_addr: c.ns_addr.clone(),
        group: "pg_admin".into(),
        ..Default::default()
    })
    .unwrap();
    p.start().await.unwrap();
    for i in 0..12 {
        p.send(Message::new("AdminTopic", format!("m{i}")))
            .await
            .unwrap();
    }
    let mut total = 0;
    for _ in 0..200 {
        let stats = admin.topic_stats("AdminTopic").await.unwrap();
        assert_eq!(stats.offset_table.len(), 6);
        total = stats
            .offset_table
            .values()
            .map(|o| o.max_offset)
            .sum::<i64>();
        if total == 12 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(total, 12);

    p.shutdown().await;
    admin.shutdown().await;
    c.stop().await;
}
