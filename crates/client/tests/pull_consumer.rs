//! Pull consumer stories: read a queue, commit the offset, and a new instance of the group
//! resumes exactly there; offset queries and long polling behave as RocketMQ's.

mod common;

use std::time::{Duration, Instant};

use ferrocket_client::{
    Message, MessageQueue, Producer, ProducerConfig, PullConsumer, PullConsumerConfig, PullStatus,
};

async fn consumer(ns: &str, group: &str) -> PullConsumer {
    let c = PullConsumer::new(PullConsumerConfig {
        namesrv_addr: ns.into(),
        group: group.into(),
        ..Default::default()
    })
    .unwrap();
    c.start().await.unwrap();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_then_resume_from_the_committed_offset() {
    let c = common::cluster(1).await;
    c.create_topic("PullTopic", 2).await;
    let p = Producer::new(ProducerConfig {
        namesrv_addr: c.ns_addr.clone(),
        group: "pg_pull".into(),
        ..Default::default()
    })
    .unwrap();
    p.start().await.unwrap();
    let t0 = ferrocket_protocol_now_ms() - 1000;
    let q0 = MessageQueue::new("PullTopic", "broker-a", 0);
    for i in 0..20 {
        p.send_to_queue(Message::new("PullTopic", format!("m{i}")), &q0)
            .await
            .unwrap();
    }

    let a = consumer(&c.ns_addr, "cg_pull").await;
    let queues = a.queues("PullTopic").await.unwrap();
    assert_eq!(
        queues,
        vec![q0.clone(), MessageQueue::new("PullTopic", "broker-a", 1)]
    );
    assert_eq!(a.committed(&q0).await.unwrap(), None);
    // Wait for all 20 to be visible, then read the first 10.
    for _ in 0..200 {
        if a.max_offset(&q0).await.unwrap() == 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(a.max_offset(&q0).await.unwrap(), 20);
    assert_eq!(a.min_offset(&q0).await.unwrap(), 0);
    let r = a.pull(&q0, 0, 10, Duration::ZERO).await.unwrap();
    assert_eq!(r.status, PullStatus::Found);
    assert_eq!(r.messages.len(), 10);
    assert_eq!(r.next_begin_offset, 10);
    assert_eq!(r.max_offset, 20);
    a.commit(&q0, r.next_begin_offset).await.unwrap();
    assert_eq!(a.committed(&q0).await.unwrap(), Some(10));
    a.shutdown().await;

    // A new member of the group continues where the first one committed.
    let b = consumer(&c.ns_addr, "cg_pull").await;
    let from = b.committed(&q0).await.unwrap().unwrap();
    assert_eq!(from, 10);
    let r = b.pull(&q0, from, 32, Duration::ZERO).await.unwrap();
    let bodies: Vec<String> = r
        .messages
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    assert_eq!(
        bodies,
        (10..20).map(|i| format!("m{i}")).collect::<Vec<_>>()
    );
    assert_eq!(b.search_offset(&q0, t0).await.unwrap(), 0);

    // Caught up: NO_NEW_MSG at once without suspend.
    let r = b.pull(&q0, 20, 32, Duration::ZERO).await.unwrap();
    assert_eq!(r.status, PullStatus::NoNewMsg);
    assert_eq!(r.next_begin_offset, 20);
    // Beyond the end: OFFSET_ILLEGAL with the offset to continue from.
    let r = b.pull(&q0, 1000, 32, Duration::ZERO).await.unwrap();
    assert_eq!(r.status, PullStatus::OffsetIllegal);
    assert_eq!(r.next_begin_offset, 20);

    // Long polling: a held pull is answered as soon as a message arrives.
    let started = Instant::now();
    let sender = {
        let p = p.clone();
        let q0 = q0.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            p.send_to_queue(Message::new("PullTopic", "late"), &q0)
                .await
                .unwrap();
        })
    };
    let r = b.pull(&q0, 20, 32, Duration::from_secs(10)).await.unwrap();
    sender.await.unwrap();
    assert_eq!(r.status, PullStatus::Found);
    assert_eq!(r.messages[0].body.as_ref(), b"late");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    b.shutdown().await;
    p.shutdown().await;
    c.stop().await;
}

fn ferrocket_protocol_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
