//! Push consumer stories: two members of a group split the queues and every message is
//! consumed exactly once, tag subscriptions only deliver their tags, offsets are committed at
//! shutdown, and a failed message comes back through the retry topic.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrocket_client::{
    Admin, ConsumeStatus, Message, MessageExt, Producer, ProducerConfig, PushConsumer,
    PushConsumerConfig,
};

fn push_consumer(ns: &str, group: &str, topic: &str, expr: &str) -> PushConsumer {
    let c = PushConsumer::new(PushConsumerConfig {
        namesrv_addr: ns.into(),
        group: group.into(),
        rebalance_interval: Duration::from_millis(500),
        poll_name_server_interval: Duration::from_millis(500),
        persist_consumer_offset_interval: Duration::from_millis(500),
        ..Default::default()
    })
    .unwrap();
    c.subscribe(topic, expr).unwrap();
    c
}

fn producer(ns: &str) -> Producer {
    Producer::new(ProducerConfig {
        namesrv_addr: ns.into(),
        group: "pg_push".into(),
        ..Default::default()
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_split_the_queues_and_consume_each_message_once() {
    let c = common::cluster(1).await;
    c.create_topic("PushTopic", 4).await;
    let seen: Arc<Mutex<HashMap<String, u32>>> = Default::default();
    let wrong_tag = Arc::new(Mutex::new(0u32));
    let mut members = Vec::new();
    let mut per_member = Vec::new();
    for _ in 0..2 {
        let consumer = push_consumer(&c.ns_addr, "cg_push", "PushTopic", "TagA");
        let count = Arc::new(Mutex::new(0u32));
        let (seen, wrong_tag, mine) = (seen.clone(), wrong_tag.clone(), count.clone());
        consumer.register_listener(move |msgs: &[MessageExt]| {
            for m in msgs {
                if m.tags() != Some("TagA") {
                    *wrong_tag.lock().unwrap() += 1;
                }
                *seen
                    .lock()
                    .unwrap()
                    .entry(m.uniq_key().unwrap_or_default().to_string())
                    .or_default() += 1;
                *mine.lock().unwrap() += 1;
            }
            ConsumeStatus::Success
        });
        consumer.start().await.unwrap();
        members.push(consumer);
        per_member.push(count);
    }

    // Wait for a stable split: 2 + 2 distinct queues of the topic.
    let topic_queues = |m: &PushConsumer| -> Vec<_> {
        m.assigned_queues()
            .into_iter()
            .filter(|q| q.topic == "PushTopic")
            .collect()
    };
    let split = common::eventually(30, || {
        let (a, b) = (topic_queues(&members[0]), topic_queues(&members[1]));
        a.len() == 2 && b.len() == 2 && a.iter().all(|q| !b.contains(q))
    })
    .await;
    assert!(
        split,
        "queues not split: {:?} / {:?}",
        members[0].assigned_queues(),
        members[1].assigned_queues()
    );

    let p = producer(&c.ns_addr);
    p.start().await.unwrap();
    for i in 0..100 {
        p.send(Message::new("PushTopic", format!("a{i}")).with_tags("TagA"))
            .await
            .unwrap();
        if i % 5 == 0 {
            p.send(Message::new("PushTopic", format!("b{i}")).with_tags("TagB"))
                .await
                .unwrap();
        }
    }
    let all = common::eventually(30, || seen.lock().unwrap().len() == 100).await;
    assert!(all, "consumed {} of 100", seen.lock().unwrap().len());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        seen.lock().unwrap().values().all(|n| *n == 1),
        "a message was consumed twice"
    );
    assert_eq!(*wrong_tag.lock().unwrap(), 0);
    for (i, n) in per_member.iter().enumerate() {
        assert!(*n.lock().unwrap() > 0, "member {i} consumed nothing");
    }

    for m in &members {
        m.shutdown().await;
    }
    // Offsets were committed: nothing left to consume on the topic's queues.
    let admin = Admin::new(&c.ns_addr).unwrap();
    let stats = admin.consume_stats("cg_push", None).await.unwrap();
    let topic_rows: Vec<_> = stats
        .offset_table
        .iter()
        .filter(|(q, _)| q.topic == "PushTopic")
        .collect();
    assert_eq!(topic_rows.len(), 4, "{stats:?}");
    for (q, o) in topic_rows {
        assert_eq!(o.consumer_offset, o.broker_offset, "{q:?}");
    }
    assert_eq!(
        stats
            .offset_table
            .iter()
            .filter(|(q, _)| q.topic == "PushTopic")
            .map(|(_, o)| o.broker_offset)
            .sum::<i64>(),
        120
    );
    admin.shutdown().await;
    p.shutdown().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_message_comes_back_through_the_retry_topic() {
    let c = common::cluster_with(1, |b| {
        b.message_delay_level = ["1s"; 18].join(" ");
    })
    .await;
    c.create_topic("RetryTopic", 2).await;
    let deliveries: Arc<Mutex<Vec<(String, String, i32)>>> = Default::default();
    let consumer = push_consumer(&c.ns_addr, "cg_retry", "RetryTopic", "*");
    let log = deliveries.clone();
    consumer.register_listener(move |msgs: &[MessageExt]| {
        let mut log = log.lock().unwrap();
        for m in msgs {
            log.push((
                m.uniq_key().unwrap_or_default().to_string(),
                m.topic.clone(),
                m.reconsume_times,
            ));
        }
        // Fail the first delivery of every message.
        if msgs.iter().all(|m| m.reconsume_times == 0) {
            ConsumeStatus::ReconsumeLater
        } else {
            ConsumeStatus::Success
        }
    });
    consumer.start().await.unwrap();
    let ready = common::eventually(30, || {
        consumer
            .assigned_queues()
            .iter()
            .filter(|q| q.topic == "RetryTopic")
            .count()
            == 2
    })
    .await;
    assert!(ready);

    let p = producer(&c.ns_addr);
    p.start().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            p.send(Message::new("RetryTopic", format!("r{i}")))
                .await
                .unwrap()
                .msg_id,
        );
    }
    let twice = common::eventually(40, || {
        let log = deliveries.lock().unwrap();
        ids.iter()
            .all(|id| log.iter().filter(|(u, _, _)| u == id).count() >= 2)
    })
    .await;
    let log = deliveries.lock().unwrap().clone();
    assert!(twice, "not redelivered: {log:?}");
    for id in &ids {
        let mine: Vec<_> = log.iter().filter(|(u, _, _)| u == id).collect();
        assert_eq!(mine[0].2, 0);
        assert_eq!(mine[1].2, 1, "second delivery is the first retry");
        assert_eq!(mine[1].1, "RetryTopic", "topic restored from RETRY_TOPIC");
    }
    consumer.shutdown().await;
    p.shutdown().await;
    c.stop().await;
}
