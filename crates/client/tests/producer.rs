//! Producer stories: what a user sends is what a consumer reads back (body, tags, keys,
//! properties, ids), topics are auto-created through TBW102, batches and big (compressed) bodies
//! work, and a failing broker is routed around — against a real broker, and against scripted fake
//! servers for exact retry rules.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrocket_client::{
    ClientError, Message, MessageExt, MessageQueue, Producer, ProducerConfig, PullConsumer,
    PullConsumerConfig, PullStatus, SendStatus,
};
use ferrocket_protocol::body::{BrokerData, QueueData, TopicRouteData};
use ferrocket_protocol::message::decode_offset_msg_id;
use ferrocket_protocol::{ExtFields, RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{Channel, ChannelConfig, RemotingServer, Router};

fn producer(ns: &str, group: &str) -> Producer {
    Producer::new(ProducerConfig {
        namesrv_addr: ns.into(),
        group: group.into(),
        ..Default::default()
    })
    .unwrap()
}

async fn pull_consumer(ns: &str, group: &str) -> PullConsumer {
    let c = PullConsumer::new(PullConsumerConfig {
        namesrv_addr: ns.into(),
        group: group.into(),
        ..Default::default()
    })
    .unwrap();
    c.start().await.unwrap();
    c
}

/// Pull from `offset` until `n` messages arrived (dispatch to the consume queue is asynchronous).
async fn pull_n(c: &PullConsumer, mq: &MessageQueue, mut offset: i64, n: usize) -> Vec<MessageExt> {
    let mut out = Vec::new();
    for _ in 0..100 {
        let r = c
            .pull(mq, offset, 32, Duration::from_millis(500))
            .await
            .unwrap();
        offset = r.next_begin_offset;
        out.extend(r.messages);
        if out.len() >= n {
            return out;
        }
    }
    panic!("only {} of {n} messages in {mq:?}", out.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_message_reads_back_with_body_tags_keys_and_properties() {
    let c = common::cluster(1).await;
    c.create_topic("RoundTrip", 4).await;
    let p = producer(&c.ns_addr, "pg_round_trip");
    p.start().await.unwrap();
    let msg = Message::new("RoundTrip", "hello ferrocket")
        .with_tags("TagA")
        .with_keys(["order-1", "user-7"])
        .with_property("color", "blue")
        .with_flag(42);
    let r = p.send(msg).await.unwrap();
    assert_eq!(r.status, SendStatus::SendOk);
    assert_eq!(r.queue.topic, "RoundTrip");
    assert_eq!(r.queue.broker_name, "broker-a");
    assert_eq!(r.msg_id.len(), 32, "{}", r.msg_id);
    let (store_host, _) = decode_offset_msg_id(&r.offset_msg_id).unwrap();
    assert_eq!(store_host, c.broker_addrs[0].parse::<SocketAddr>().unwrap());

    let consumer = pull_consumer(&c.ns_addr, "cg_round_trip").await;
    let got = pull_n(&consumer, &r.queue, r.queue_offset, 1).await;
    let m = &got[0];
    assert_eq!(m.body.as_ref(), b"hello ferrocket");
    assert_eq!(m.tags(), Some("TagA"));
    assert_eq!(m.keys(), Some("order-1 user-7"));
    assert_eq!(m.properties["color"], "blue");
    assert_eq!(m.uniq_key(), Some(r.msg_id.as_str()));
    assert_eq!(m.offset_msg_id(), r.offset_msg_id);
    assert_eq!(m.flag, 42);
    assert_eq!(m.queue_offset, r.queue_offset);
    assert_eq!(m.queue_id, r.queue.queue_id);

    // Tag filtering: the broker filters by hash, the client by string.
    let none = consumer
        .pull_with_tags(&r.queue, "TagB", r.queue_offset, 32, Duration::ZERO)
        .await
        .unwrap();
    assert!(none.messages.is_empty());
    assert_ne!(none.status, PullStatus::Found);
    let some = consumer
        .pull_with_tags(&r.queue, "TagB || TagA", r.queue_offset, 32, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(some.messages.len(), 1);

    consumer.shutdown().await;
    p.shutdown().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_topic_is_auto_created_through_tbw102() {
    let c = common::cluster(1).await;
    let p = producer(&c.ns_addr, "pg_auto");
    p.start().await.unwrap();
    let queues = p.publish_queues("AutoCreated").await.unwrap();
    assert_eq!(
        queues.len(),
        4,
        "TBW102's route capped at defaultTopicQueueNums"
    );
    for i in 0..8 {
        let r = p
            .send(Message::new("AutoCreated", format!("m{i}")))
            .await
            .unwrap();
        assert_eq!(r.status, SendStatus::SendOk);
        assert!(r.queue.queue_id < 4);
    }
    c.wait_route("AutoCreated", 1).await;
    p.shutdown().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_and_compressed_and_oneway_and_queue_sends() {
    let c = common::cluster(1).await;
    c.create_topic("Batch", 2).await;
    let p = producer(&c.ns_addr, "pg_batch");
    p.start().await.unwrap();
    let consumer = pull_consumer(&c.ns_addr, "cg_batch").await;

    // Batch: one request, consecutive offsets, one id per message.
    let msgs: Vec<Message> = (0..10)
        .map(|i| Message::new("Batch", format!("b{i}")).with_keys([format!("k{i}")]))
        .collect();
    let r = p.send_batch(msgs).await.unwrap();
    assert_eq!(r.msg_id.split(',').count(), 10);
    assert_eq!(r.offset_msg_id.split(',').count(), 10);
    let got = pull_n(&consumer, &r.queue, r.queue_offset, 10).await;
    for (i, m) in got.iter().take(10).enumerate() {
        assert_eq!(m.body.as_ref(), format!("b{i}").as_bytes());
        assert_eq!(m.keys(), Some(format!("k{i}").as_str()));
        assert_eq!(m.queue_offset, r.queue_offset + i as i64);
        assert_eq!(Some(m.uniq_key().unwrap()), r.msg_id.split(',').nth(i));
    }
    // Batches are checked before anything is sent.
    let mixed = vec![Message::new("Batch", "x"), Message::new("Other", "y")];
    assert!(matches!(
        p.send_batch(mixed).await,
        Err(ClientError::InvalidArgument(_))
    ));

    // A body over 4 KiB travels zlib-compressed and comes back as sent.
    let big: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let r = p.send(Message::new("Batch", big.clone())).await.unwrap();
    let got = pull_n(&consumer, &r.queue, r.queue_offset, 1).await;
    assert_eq!(got[0].body.as_ref(), &big[..]);
    assert_eq!(got[0].sys_flag & 1, 1, "stored compressed");

    // To a chosen queue.
    let q1 = MessageQueue::new("Batch", "broker-a", 1);
    let r = p
        .send_to_queue(Message::new("Batch", "q1"), &q1)
        .await
        .unwrap();
    assert_eq!(r.queue, q1);

    // Oneway: no answer, but it arrives (10 + 1 + 1 messages were sent before).
    let q0 = MessageQueue::new("Batch", "broker-a", 0);
    let before = 12;
    for i in 0..5 {
        p.send_oneway(Message::new("Batch", format!("o{i}")))
            .await
            .unwrap();
    }
    let mut after = 0;
    for _ in 0..200 {
        after = consumer.max_offset(&q0).await.unwrap() + consumer.max_offset(&q1).await.unwrap();
        if after >= before + 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(after, before + 5);

    // Refused before sending.
    assert!(matches!(
        p.send(Message::new("Batch", "")).await,
        Err(ClientError::InvalidArgument(_))
    ));
    let long_property = Message::new("Batch", "x").with_property("p", "v".repeat(40_000));
    assert!(matches!(
        p.send(long_property.clone()).await,
        Err(ClientError::InvalidArgument(_))
    ));
    assert!(matches!(
        p.send_batch(vec![long_property]).await,
        Err(ClientError::InvalidArgument(_))
    ));
    let huge = vec![0u8; 4 * 1024 * 1024 + 1];
    assert!(matches!(
        p.send(Message::new("Batch", huge)).await,
        Err(ClientError::InvalidArgument(_))
    ));

    consumer.shutdown().await;
    p.shutdown().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_move_to_the_other_broker_when_one_is_down() {
    let mut c = common::cluster(2).await;
    c.create_topic("TwoBrokers", 2).await;
    let p = producer(&c.ns_addr, "pg_two");
    p.start().await.unwrap();
    let mut seen = HashMap::new();
    for i in 0..8 {
        let r = p
            .send(Message::new("TwoBrokers", format!("m{i}")))
            .await
            .unwrap();
        *seen.entry(r.queue.broker_name).or_insert(0) += 1;
    }
    assert_eq!(
        seen.len(),
        2,
        "round robin spreads over both brokers: {seen:?}"
    );

    // broker-a goes away; the producer's cached route still lists it.
    c.stop_broker(0).await;
    for i in 0..10 {
        let r = p
            .send(Message::new("TwoBrokers", format!("after{i}")))
            .await
            .unwrap();
        assert_eq!(r.queue.broker_name, "broker-b");
        assert_eq!(r.status, SendStatus::SendOk);
    }
    p.shutdown().await;
    c.stop().await;
}

// ---- scripted servers ------------------------------------------------------------------------

type Seen = Arc<Mutex<Vec<ExtFields>>>;

/// A fake broker answering every send with `code` (and a proper header when it is a success).
async fn fake_broker(code: i32, remark: &'static str, seen: Seen) -> RemotingServer {
    let handler = move |_ch: Channel, req: RemotingCommand| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(req.ext_fields.clone());
            let mut resp = RemotingCommand::response(code, Some(remark.to_string()));
            if code == ResponseCode::SUCCESS {
                resp.put_ext("msgId", "7F00000100002A9F0000000000000001");
                resp.put_ext("queueId", req.ext("e").unwrap_or("0"));
                resp.put_ext("queueOffset", "77");
            }
            Some(resp)
        }
    };
    let router = Router::new()
        .route_unbounded(RequestCode::SEND_MESSAGE_V2, handler.clone())
        .route_unbounded(
            RequestCode::HEART_BEAT,
            |_c: Channel, _r: RemotingCommand| async { Some(RemotingCommand::response(0, None)) },
        )
        .route_unbounded(
            RequestCode::UNREGISTER_CLIENT,
            |_c: Channel, _r: RemotingCommand| async { Some(RemotingCommand::response(0, None)) },
        );
    RemotingServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(router),
        ChannelConfig::default(),
    )
    .await
    .unwrap()
}

/// A fake nameserver serving fixed routes.
async fn fake_namesrv(routes: HashMap<String, TopicRouteData>) -> RemotingServer {
    let routes = Arc::new(routes);
    let router = Router::new().route_unbounded(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        move |_c: Channel, req: RemotingCommand| {
            let routes = routes.clone();
            async move {
                let topic = req.ext("topic").unwrap_or_default().to_string();
                Some(match routes.get(&topic) {
                    Some(r) => RemotingCommand::response(0, None).with_body(r.to_json(true)),
                    None => RemotingCommand::response(ResponseCode::TOPIC_NOT_EXIST, None),
                })
            }
        },
    );
    RemotingServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(router),
        ChannelConfig::default(),
    )
    .await
    .unwrap()
}

fn route_of(brokers: &[(&str, SocketAddr)]) -> TopicRouteData {
    TopicRouteData {
        broker_datas: brokers
            .iter()
            .map(|(name, addr)| BrokerData {
                broker_addrs: [(0, addr.to_string())].into(),
                broker_name: name.to_string(),
                cluster: "C".into(),
                ..Default::default()
            })
            .collect(),
        queue_datas: brokers
            .iter()
            .map(|(name, _)| QueueData {
                broker_name: name.to_string(),
                perm: 6,
                read_queue_nums: 2,
                write_queue_nums: 2,
                topic_sys_flag: 0,
            })
            .collect(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_rules_follow_the_java_producer() {
    let busy_seen: Seen = Default::default();
    let ok_seen: Seen = Default::default();
    let illegal_seen: Seen = Default::default();
    let busy = fake_broker(
        ResponseCode::SYSTEM_BUSY,
        "[REJECTREQUEST]busy",
        busy_seen.clone(),
    )
    .await;
    let ok = fake_broker(ResponseCode::SUCCESS, "", ok_seen.clone()).await;
    let illegal = fake_broker(
        ResponseCode::MESSAGE_ILLEGAL,
        "body too odd",
        illegal_seen.clone(),
    )
    .await;
    let mut routes = HashMap::new();
    routes.insert(
        "Mixed".to_string(),
        route_of(&[("a", busy.local_addr()), ("b", ok.local_addr())]),
    );
    routes.insert("Busy".to_string(), route_of(&[("a", busy.local_addr())]));
    routes.insert(
        "Illegal".to_string(),
        route_of(&[("c", illegal.local_addr())]),
    );
    let ns = fake_namesrv(routes).await;
    let p = producer(&ns.local_addr().to_string(), "pg_fake");
    p.start().await.unwrap();

    // A busy broker is retried away from: every send ends on broker b.
    for i in 0..6 {
        let r = p
            .send(Message::new("Mixed", format!("m{i}")))
            .await
            .unwrap();
        assert_eq!(r.queue.broker_name, "b");
        assert_eq!(r.queue_offset, 77);
        assert!(r.queue.queue_id < 2);
    }
    let busy_hits = busy_seen.lock().unwrap().len();
    assert!(
        busy_hits >= 1,
        "round robin reached the busy broker at least once"
    );
    assert_eq!(ok_seen.lock().unwrap().len(), 6);

    // The header uses the V2 short names.
    let h = ok_seen.lock().unwrap()[0].clone();
    assert_eq!(h.get("a"), Some("pg_fake"));
    assert_eq!(h.get("b"), Some("Mixed"));
    assert_eq!(h.get("c"), Some("TBW102"));
    assert_eq!(h.get("n"), Some("b"));
    assert!(h.get("i").unwrap().contains("UNIQ_KEY\u{1}"));
    assert!(!h.contains_key("topic"));

    // Only a busy broker: 1 + 2 attempts, then the broker's code and remark.
    busy_seen.lock().unwrap().clear();
    let e = p.send(Message::new("Busy", "x")).await.unwrap_err();
    assert_eq!(e.response_code(), Some(ResponseCode::SYSTEM_BUSY));
    assert_eq!(busy_seen.lock().unwrap().len(), 3);
    // All attempts carry the same UNIQ_KEY.
    let props: Vec<String> = busy_seen
        .lock()
        .unwrap()
        .iter()
        .map(|f| f.get("i").unwrap_or_default().to_owned())
        .collect();
    assert!(props.windows(2).all(|w| w[0] == w[1]));

    // MESSAGE_ILLEGAL is not retried.
    let e = p.send(Message::new("Illegal", "x")).await.unwrap_err();
    assert_eq!(e.response_code(), Some(ResponseCode::MESSAGE_ILLEGAL));
    assert_eq!(e.remark(), Some("body too odd"));
    assert_eq!(illegal_seen.lock().unwrap().len(), 1);

    // Unknown topic and no TBW102 route: NoRoute.
    assert!(matches!(
        p.send(Message::new("Nowhere", "x")).await,
        Err(ClientError::NoRoute(_))
    ));
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_errors() {
    let p = producer("127.0.0.1:1", "pg_life");
    assert!(matches!(
        p.send(Message::new("T", "x")).await,
        Err(ClientError::State(_))
    ));
    assert!(Producer::new(ProducerConfig {
        namesrv_addr: " ; ".into(),
        ..Default::default()
    })
    .is_err());
    p.start().await.unwrap();
    assert!(p.start().await.is_err());
    // Like Java, the placeholder group must be replaced.
    let unnamed = Producer::new(ProducerConfig {
        namesrv_addr: "127.0.0.1:1".into(),
        ..Default::default()
    })
    .unwrap();
    assert!(matches!(
        unnamed.start().await,
        Err(ClientError::InvalidArgument(_))
    ));
    // Nameserver unreachable: a transport error, not a hang or panic.
    let e = p.send(Message::new("T", "x")).await.unwrap_err();
    assert!(e.is_transport(), "{e}");
    p.shutdown().await;
    assert!(matches!(
        p.send(Message::new("T", "x")).await,
        Err(ClientError::State(_))
    ));
}
