//! The broker over real sockets: send and pull as the Java client does, long polling, and every
//! class of bad input answered with RocketMQ's code (or the connection closed where RocketMQ
//! closes it), never a panic or a hang.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use ferrocket_broker::{Broker, BrokerConfig};
use ferrocket_protocol::body::{encode_json, ConsumerData, HeartbeatData, SubscriptionData};
use ferrocket_protocol::header::{
    OffsetResponseHeader, PullMessageRequestHeader, PullMessageResponseHeader,
    QueryConsumerOffsetRequestHeader, SendMessageRequestHeader, SendMessageResponseHeader,
    TopicQueueRequestHeader,
};
use ferrocket_protocol::message::{decode_offset_msg_id, decode_records};
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use ferrocket_remoting::{RemotingClient, Router};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct TestBroker {
    broker: Option<Broker>,
    addr: String,
    _dir: tempfile::TempDir,
}

async fn start_with(f: impl FnOnce(&mut BrokerConfig)) -> TestBroker {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = BrokerConfig::local(dir.path());
    f(&mut cfg);
    let broker = Broker::start(cfg).await.unwrap();
    let addr = broker.addr().to_string();
    TestBroker {
        broker: Some(broker),
        addr,
        _dir: dir,
    }
}

async fn start() -> TestBroker {
    start_with(|_| {}).await
}

impl TestBroker {
    async fn stop(mut self) {
        if let Some(b) = self.broker.take() {
            b.shutdown().await;
        }
    }
}

const T: Duration = Duration::from_secs(5);

fn send_request(topic: &str, queue_id: i32, body: &[u8], props: &str) -> RemotingCommand {
    let h = SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: topic.into(),
        default_topic: Some("TBW102".into()),
        default_topic_queue_nums: Some(4),
        queue_id: Some(queue_id),
        sys_flag: Some(0),
        born_timestamp: Some(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64,
        ),
        flag: Some(7),
        properties: Some(props.into()),
        reconsume_times: Some(0),
        ..Default::default()
    };
    let mut req = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2)
        .with_body(Bytes::copy_from_slice(body));
    h.encode_v2(&mut req.ext_fields);
    req
}

fn pull_request(
    topic: &str,
    group: &str,
    queue_id: i32,
    offset: i64,
    suspend_ms: i64,
) -> RemotingCommand {
    let h = PullMessageRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: 0x2 | 0x4,
        commit_offset: Some(0),
        suspend_timeout_millis: Some(suspend_ms),
        subscription: Some("*".into()),
        sub_version: Some(0),
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
        bname: None,
    };
    RemotingCommand::request(RequestCode::PULL_MESSAGE).with_header(&h)
}

/// Wait until `n` messages of the queue are dispatched (visible to pulls).
async fn wait_visible(c: &RemotingClient, addr: &str, topic: &str, queue_id: i32, n: i64) {
    for _ in 0..500 {
        let req = RemotingCommand::request(RequestCode::GET_MAX_OFFSET).with_header(
            &TopicQueueRequestHeader {
                topic: topic.into(),
                queue_id,
            },
        );
        let resp = c.invoke(addr, req, T).await.unwrap();
        if resp.decode_header::<OffsetResponseHeader>().unwrap().offset >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{topic}:{queue_id} never reached {n} messages");
}

#[tokio::test]
async fn send_then_pull_returns_the_exact_message() {
    let b = start().await;
    let c = RemotingClient::new(Router::new());
    let props = "TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}UNIQ_KEY\u{1}0A0000010000000000000000000000AB\u{2}WAIT\u{1}true\u{2}color\u{1}red\u{2}";
    let resp = c
        .invoke(
            &b.addr,
            send_request("WireTopic", 1, b"hello wire", props),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::SUCCESS, "{:?}", resp.remark);
    let sh: SendMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(sh.queue_id, 1);
    assert_eq!(sh.queue_offset, 0);
    assert_eq!(
        sh.transaction_id.as_deref(),
        Some("0A0000010000000000000000000000AB")
    );
    assert_eq!(resp.ext("MSG_REGION"), Some("DefaultRegion"));
    let (host, phy) = decode_offset_msg_id(&sh.msg_id).unwrap();
    assert_eq!(host.to_string(), b.addr);

    // A long-polling pull gets it as soon as it is dispatched.
    let resp = c
        .invoke(&b.addr, pull_request("WireTopic", "cg", 1, 0, 3000), T)
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::SUCCESS, "{:?}", resp.remark);
    let ph: PullMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(
        (ph.next_begin_offset, ph.min_offset, ph.max_offset),
        (1, 0, 1)
    );
    let msgs: Vec<_> = decode_records(&resp.body)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.topic, "WireTopic");
    assert_eq!(&m.body[..], b"hello wire");
    assert_eq!(m.flag, 7);
    assert_eq!(m.commitlog_offset, phy);
    assert_eq!(m.tags(), Some("TagA"));
    assert_eq!(m.keys(), Some("k1 k2"));
    assert_eq!(m.properties.get("color").map(String::as_str), Some("red"));
    assert_eq!(
        m.properties.get("CLUSTER").map(String::as_str),
        Some("DefaultCluster")
    );

    // Caught up: PULL_NOT_FOUND with nextBeginOffset unchanged.
    let resp = c
        .invoke(&b.addr, pull_request("WireTopic", "cg", 1, 1, 0), T)
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::PULL_NOT_FOUND);
    let ph: PullMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(ph.next_begin_offset, 1);
    // Beyond the end: OFFSET_MOVED to max.
    let resp = c
        .invoke(&b.addr, pull_request("WireTopic", "cg", 1, 50, 0), T)
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::PULL_OFFSET_MOVED);

    // Offsets API.
    let mut req = RemotingCommand::request(RequestCode::GET_MAX_OFFSET).with_header(
        &TopicQueueRequestHeader {
            topic: "WireTopic".into(),
            queue_id: 1,
        },
    );
    req.serialize_type = SerializeType::RocketMq;
    let resp = c.invoke(&b.addr, req, T).await.unwrap();
    assert_eq!(
        resp.serialize_type,
        SerializeType::RocketMq,
        "answered in the request's encoding"
    );
    assert_eq!(
        resp.decode_header::<OffsetResponseHeader>().unwrap().offset,
        1
    );
    b.stop().await;
}

#[tokio::test]
async fn long_poll_answers_as_soon_as_a_message_arrives() {
    let b = start().await;
    let c = RemotingClient::new(Router::new());
    let resp = c
        .invoke(&b.addr, send_request("PollTopic", 0, b"first", ""), T)
        .await
        .unwrap();
    assert_eq!(resp.code, 0);
    wait_visible(&c, &b.addr, "PollTopic", 0, 1).await;
    let started = std::time::Instant::now();
    let pull = c.invoke(
        &b.addr,
        pull_request("PollTopic", "cg", 0, 1, 15_000),
        Duration::from_secs(20),
    );
    let send = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let c2 = RemotingClient::new(Router::new());
        c2.invoke(&b.addr, send_request("PollTopic", 0, b"second", ""), T)
            .await
            .unwrap()
    };
    let (pulled, sent) = tokio::join!(pull, send);
    assert_eq!(sent.code, 0);
    let pulled = pulled.unwrap();
    assert_eq!(pulled.code, ResponseCode::SUCCESS);
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "held pull answered after {elapsed:?}"
    );
    let msgs: Vec<_> = decode_records(&pulled.body)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(&msgs[0].body[..], b"second");
    b.stop().await;
}

#[tokio::test]
async fn long_poll_times_out_with_not_found() {
    let b = start().await;
    let c = RemotingClient::new(Router::new());
    assert_eq!(
        c.invoke(&b.addr, send_request("IdleTopic", 0, b"x", ""), T)
            .await
            .unwrap()
            .code,
        0
    );
    wait_visible(&c, &b.addr, "IdleTopic", 0, 1).await;
    let started = std::time::Instant::now();
    let resp = c
        .invoke(&b.addr, pull_request("IdleTopic", "cg", 0, 1, 500), T)
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::PULL_NOT_FOUND);
    assert!(started.elapsed() >= Duration::from_millis(450));
    b.stop().await;
}

#[tokio::test]
async fn heartbeat_creates_retry_topic_and_consumer_list() {
    let b = start().await;
    let c = RemotingClient::new(Router::new());
    let hb = HeartbeatData {
        client_id: "127.0.0.1@test".into(),
        consumer_data_set: vec![ConsumerData {
            group_name: "cg1".into(),
            consume_type: "CONSUME_PASSIVELY".into(),
            message_model: "CLUSTERING".into(),
            consume_from_where: "CONSUME_FROM_FIRST_OFFSET".into(),
            subscription_data_set: vec![SubscriptionData {
                topic: "HbTopic".into(),
                ..Default::default()
            }],
            unit_mode: false,
        }],
        ..Default::default()
    };
    let resp = c
        .invoke(
            &b.addr,
            RemotingCommand::request(RequestCode::HEART_BEAT).with_body(encode_json(&hb)),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, 0);
    assert_eq!(resp.version, 479);
    assert_eq!(resp.ext("IS_SUPPORT_HEART_BEAT_V2"), Some("true"));
    let b2 = b.broker.as_ref().unwrap().handle();
    assert!(b2.topics.get("%RETRY%cg1").is_some());
    let mut req = RemotingCommand::request(RequestCode::GET_CONSUMER_LIST_BY_GROUP);
    req.put_ext("consumerGroup", "cg1");
    let resp = c.invoke(&b.addr, req, T).await.unwrap();
    assert_eq!(resp.code, 0);
    assert_eq!(&resp.body[..], br#"{"consumerIdList":["127.0.0.1@test"]}"#);
    let mut req = RemotingCommand::request(RequestCode::GET_CONSUMER_LIST_BY_GROUP);
    req.put_ext("consumerGroup", "nobody");
    assert_eq!(
        c.invoke(&b.addr, req, T).await.unwrap().code,
        ResponseCode::SYSTEM_ERROR
    );
    // New group, young queue: offset query says 0 (not "not found") so nothing is skipped.
    assert_eq!(
        c.invoke(&b.addr, send_request("HbTopic", 0, b"x", ""), T)
            .await
            .unwrap()
            .code,
        0
    );
    wait_visible(&c, &b.addr, "HbTopic", 0, 1).await;
    let q = QueryConsumerOffsetRequestHeader {
        consumer_group: "cg1".into(),
        topic: "HbTopic".into(),
        queue_id: 0,
        set_zero_if_not_found: None,
    };
    let resp = c
        .invoke(
            &b.addr,
            RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET).with_header(&q),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, 0);
    assert_eq!(
        resp.decode_header::<OffsetResponseHeader>().unwrap().offset,
        0
    );
    b.stop().await;
}

// ---- bad input --------------------------------------------------------------------------------

async fn raw(addr: &str) -> TcpStream {
    TcpStream::connect(addr).await.unwrap()
}

async fn read_response(s: &mut TcpStream) -> RemotingCommand {
    let len = tokio::time::timeout(T, s.read_i32())
        .await
        .expect("response in time")
        .unwrap();
    let mut buf = vec![0u8; len as usize];
    s.read_exact(&mut buf).await.unwrap();
    RemotingCommand::decode_frame_body(buf.into()).unwrap()
}

async fn assert_closed(s: &mut TcpStream) {
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(T, s.read(&mut buf))
        .await
        .expect("closed in time")
        .unwrap_or(0);
    assert_eq!(n, 0, "connection must be closed");
}

async fn still_serves(addr: &str) {
    let c = RemotingClient::new(Router::new());
    let resp = c
        .invoke(
            addr,
            RemotingCommand::request(RequestCode::GET_MAX_OFFSET).with_header(
                &TopicQueueRequestHeader {
                    topic: "TBW102".into(),
                    queue_id: 0,
                },
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, 0);
}

#[tokio::test]
async fn oversized_frame_closes_the_connection_only() {
    let b = start().await;
    let mut s = raw(&b.addr).await;
    let mut f = BytesMut::new();
    f.put_i32(16 * 1024 * 1024 + 10);
    f.put_i32(20);
    s.write_all(&f).await.unwrap();
    assert_closed(&mut s).await;
    still_serves(&b.addr).await;
    b.stop().await;
}

#[tokio::test]
async fn garbage_header_closes_the_connection() {
    let b = start().await;
    for header in [&b"{not json"[..], &b"[1,2,3]"[..]] {
        let mut s = raw(&b.addr).await;
        let mut f = BytesMut::new();
        f.put_i32(4 + header.len() as i32);
        f.put_i32(header.len() as i32);
        f.extend_from_slice(header);
        s.write_all(&f).await.unwrap();
        assert_closed(&mut s).await;
    }
    // binary header whose extFields length lies
    let mut s = raw(&b.addr).await;
    let h = [
        0u8, 30, 0, 1, 223, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0,
    ];
    let mut f = BytesMut::new();
    f.put_i32(4 + h.len() as i32);
    f.put_u32((1 << 24) | h.len() as u32);
    f.extend_from_slice(&h);
    s.write_all(&f).await.unwrap();
    assert_closed(&mut s).await;
    still_serves(&b.addr).await;
    b.stop().await;
}

#[tokio::test]
async fn truncated_frame_then_disconnect_leaves_broker_healthy() {
    let b = start().await;
    {
        let mut s = raw(&b.addr).await;
        let mut f = BytesMut::new();
        send_request("TruncTopic", 0, b"abcdef", "").encode_frame(&mut f);
        s.write_all(&f[..f.len() - 3]).await.unwrap();
        // drop: the client goes away mid-frame
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    still_serves(&b.addr).await;
    // The partial message was never stored.
    let h = b.broker.as_ref().unwrap().handle();
    assert!(h.topics.get("TruncTopic").is_none());
    b.stop().await;
}

#[tokio::test]
async fn unknown_code_is_not_supported_and_connection_stays() {
    let b = start().await;
    let mut s = raw(&b.addr).await;
    let mut f = BytesMut::new();
    let mut req = RemotingCommand::request(7777);
    req.opaque = 5;
    req.encode_frame(&mut f);
    s.write_all(&f).await.unwrap();
    let resp = read_response(&mut s).await;
    assert_eq!(resp.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(resp.opaque, 5);
    assert_eq!(
        resp.remark.as_deref(),
        Some(" request type 7777 not supported")
    );
    // same connection, a real request
    let mut f = BytesMut::new();
    let mut req = send_request("AfterUnknown", 0, b"ok", "");
    req.opaque = 6;
    req.encode_frame(&mut f);
    s.write_all(&f).await.unwrap();
    let resp = read_response(&mut s).await;
    assert_eq!((resp.code, resp.opaque), (0, 6));
    b.stop().await;
}

#[tokio::test]
async fn illegal_topic_and_oversized_body_are_refused() {
    let b = start_with(|c| c.store.max_message_size = 1024).await;
    let c = RemotingClient::new(Router::new());
    for bad in ["bad topic", "a/b", "", &"x".repeat(128)] {
        let resp = c
            .invoke(&b.addr, send_request(bad, 0, b"x", ""), T)
            .await
            .unwrap();
        assert_eq!(
            resp.code,
            ResponseCode::INVALID_PARAMETER,
            "topic {bad:?}: {:?}",
            resp.remark
        );
    }
    let resp = c
        .invoke(&b.addr, send_request("SCHEDULE_TOPIC_XXXX", 0, b"x", ""), T)
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::NO_PERMISSION);
    let resp = c
        .invoke(
            &b.addr,
            send_request("BigTopic", 0, &vec![b'z'; 1025], ""),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::MESSAGE_ILLEGAL);
    let resp = c
        .invoke(
            &b.addr,
            send_request("BigTopic", 0, &vec![b'z'; 1024], ""),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::SUCCESS);
    // queue id out of range
    let resp = c
        .invoke(&b.addr, send_request("BigTopic", 99, b"x", ""), T)
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::INVALID_PARAMETER);
    // missing required header field: SYSTEM_ERROR naming it, no panic
    let mut req = RemotingCommand::request(RequestCode::PULL_MESSAGE);
    req.put_ext("topic", "BigTopic");
    let resp = c.invoke(&b.addr, req, T).await.unwrap();
    assert_eq!(resp.code, ResponseCode::SYSTEM_ERROR);
    assert!(resp.remark.unwrap().contains("consumerGroup"));
    b.stop().await;
}

#[tokio::test]
async fn client_leaving_during_long_poll_frees_the_request() {
    let b = start().await;
    let c = RemotingClient::new(Router::new());
    assert_eq!(
        c.invoke(&b.addr, send_request("LeaveTopic", 0, b"x", ""), T)
            .await
            .unwrap()
            .code,
        0
    );
    wait_visible(&c, &b.addr, "LeaveTopic", 0, 1).await;
    {
        let mut s = raw(&b.addr).await;
        let mut f = BytesMut::new();
        pull_request("LeaveTopic", "cg", 0, 1, 30_000).encode_frame(&mut f);
        s.write_all(&f).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The broker keeps serving; a new message is still delivered to a fresh pull.
    assert_eq!(
        c.invoke(&b.addr, send_request("LeaveTopic", 0, b"y", ""), T)
            .await
            .unwrap()
            .code,
        0
    );
    let resp = c
        .invoke(&b.addr, pull_request("LeaveTopic", "cg", 0, 1, 3000), T)
        .await
        .unwrap();
    assert_eq!(resp.code, 0);
    b.stop().await;
}

#[tokio::test]
async fn oneway_send_is_stored_and_unanswered() {
    let b = start().await;
    let mut s = raw(&b.addr).await;
    let mut f = BytesMut::new();
    send_request("OnewayTopic", 0, b"fire", "")
        .mark_oneway()
        .encode_frame(&mut f);
    let mut probe = RemotingCommand::request(RequestCode::GET_MAX_OFFSET).with_header(
        &TopicQueueRequestHeader {
            topic: "OnewayTopic".into(),
            queue_id: 0,
        },
    );
    probe.opaque = 99;
    s.write_all(&f).await.unwrap();
    let c = RemotingClient::new(Router::new());
    wait_visible(&c, &b.addr, "OnewayTopic", 0, 1).await;
    let mut f = BytesMut::new();
    probe.encode_frame(&mut f);
    s.write_all(&f).await.unwrap();
    let resp = read_response(&mut s).await;
    assert_eq!(resp.opaque, 99, "the oneway send got no answer");
    assert_eq!(
        resp.decode_header::<OffsetResponseHeader>().unwrap().offset,
        1
    );
    b.stop().await;
}

#[tokio::test]
async fn query_by_key_and_view_by_offset() {
    let b = start().await;
    let c = RemotingClient::new(Router::new());
    let props = "KEYS\u{1}order-1 order-2\u{2}UNIQ_KEY\u{1}AC11000100002A9F0000000000000001\u{2}";
    let resp = c
        .invoke(&b.addr, send_request("QTopic", 0, b"q", props), T)
        .await
        .unwrap();
    assert_eq!(resp.code, 0);
    let sh: SendMessageResponseHeader = resp.decode_header().unwrap();
    wait_visible(&c, &b.addr, "QTopic", 0, 1).await;
    let query = |key: &str, unique: bool| {
        let mut req = RemotingCommand::request(RequestCode::QUERY_MESSAGE).with_header(
            &ferrocket_protocol::header::QueryMessageRequestHeader {
                topic: "QTopic".into(),
                key: key.into(),
                max_num: 32,
                begin_timestamp: 0,
                end_timestamp: i64::MAX,
            },
        );
        req.put_ext("_UNIQUE_KEY_QUERY", unique.to_string());
        req
    };
    // The index is built by the dispatcher just after the consume queue: allow it a moment.
    let mut resp = c.invoke(&b.addr, query("order-2", false), T).await.unwrap();
    for _ in 0..100 {
        if resp.code == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        resp = c.invoke(&b.addr, query("order-2", false), T).await.unwrap();
    }
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
    let msgs: Vec<_> = decode_records(&resp.body)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(&msgs[0].body[..], b"q");
    let resp = c
        .invoke(&b.addr, query("AC11000100002A9F0000000000000001", true), T)
        .await
        .unwrap();
    assert_eq!(resp.code, 0);
    let resp = c
        .invoke(&b.addr, query("no-such-key", false), T)
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::QUERY_NOT_FOUND);

    let (_, phy) = decode_offset_msg_id(&sh.msg_id).unwrap();
    let view = |offset: i64| {
        RemotingCommand::request(RequestCode::VIEW_MESSAGE_BY_ID).with_header(
            &ferrocket_protocol::header::ViewMessageRequestHeader {
                offset,
                topic: None,
            },
        )
    };
    let resp = c.invoke(&b.addr, view(phy), T).await.unwrap();
    assert_eq!(resp.code, 0);
    let msgs: Vec<_> = decode_records(&resp.body)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(msgs[0].commitlog_offset, phy);
    let resp = c.invoke(&b.addr, view(phy + 1_000_000), T).await.unwrap();
    assert_eq!(resp.code, ResponseCode::SYSTEM_ERROR);
    b.stop().await;
}

// ---- transactions -----------------------------------------------------------------------------

fn half_request(topic: &str, body: &[u8], uniq: &str) -> RemotingCommand {
    let props = format!("TRAN_MSG\u{1}true\u{2}PGROUP\u{1}tx-pg\u{2}UNIQ_KEY\u{1}{uniq}\u{2}");
    let mut req = send_request(topic, 0, body, &props);
    req.ext_fields.insert("f", "4"); // TRANSACTION_PREPARED_TYPE
    req
}

fn end_request(resp: &RemotingCommand, kind: i32, from_check: bool) -> RemotingCommand {
    let sh: SendMessageResponseHeader = resp.decode_header().unwrap();
    let (_, phy) = decode_offset_msg_id(&sh.msg_id).unwrap();
    end_request_at(sh.queue_offset, phy, kind, from_check)
}

fn end_request_at(queue_offset: i64, phy: i64, kind: i32, from_check: bool) -> RemotingCommand {
    RemotingCommand::request(RequestCode::END_TRANSACTION).with_header(
        &ferrocket_protocol::header::EndTransactionRequestHeader {
            producer_group: "tx-pg".into(),
            tran_state_table_offset: queue_offset,
            commit_log_offset: phy,
            commit_or_rollback: kind,
            from_transaction_check: from_check,
            msg_id: None,
            transaction_id: None,
            topic: None,
        },
    )
}

async fn max_offset(c: &RemotingClient, addr: &str, topic: &str) -> i64 {
    let req = RemotingCommand::request(RequestCode::GET_MAX_OFFSET).with_header(
        &TopicQueueRequestHeader {
            topic: topic.into(),
            queue_id: 0,
        },
    );
    c.invoke(addr, req, T)
        .await
        .unwrap()
        .decode_header::<OffsetResponseHeader>()
        .unwrap()
        .offset
}

#[tokio::test]
async fn transaction_commit_and_rollback() {
    let b = start().await;
    let c = RemotingClient::new(Router::new());
    // make the topic exist
    assert_eq!(
        c.invoke(&b.addr, send_request("TxTopic", 0, b"plain", ""), T)
            .await
            .unwrap()
            .code,
        0
    );
    wait_visible(&c, &b.addr, "TxTopic", 0, 1).await;

    let commit = c
        .invoke(&b.addr, half_request("TxTopic", b"commit-me", "AA01"), T)
        .await
        .unwrap();
    assert_eq!(commit.code, 0, "{:?}", commit.remark);
    assert_eq!(
        commit
            .decode_header::<SendMessageResponseHeader>()
            .unwrap()
            .transaction_id
            .as_deref(),
        Some("AA01")
    );
    let rollback = c
        .invoke(&b.addr, half_request("TxTopic", b"roll-me", "AA02"), T)
        .await
        .unwrap();
    assert_eq!(rollback.code, 0);
    wait_visible(&c, &b.addr, "RMQ_SYS_TRANS_HALF_TOPIC", 0, 2).await;
    assert_eq!(
        max_offset(&c, &b.addr, "TxTopic").await,
        1,
        "half messages are invisible"
    );

    let resp = c
        .invoke(&b.addr, end_request(&commit, 8, false), T)
        .await
        .unwrap();
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
    let resp = c
        .invoke(&b.addr, end_request(&rollback, 12, false), T)
        .await
        .unwrap();
    assert_eq!(resp.code, 0);
    // wrong producer group / offsets are refused
    let mut bad = end_request(&commit, 8, false);
    bad.put_ext("producerGroup", "other");
    assert_eq!(
        c.invoke(&b.addr, bad, T).await.unwrap().code,
        ResponseCode::SYSTEM_ERROR
    );

    wait_visible(&c, &b.addr, "TxTopic", 0, 2).await;
    let resp = c
        .invoke(&b.addr, pull_request("TxTopic", "cg", 0, 1, 1000), T)
        .await
        .unwrap();
    let msgs: Vec<_> = decode_records(&resp.body)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(msgs.len(), 1, "only the committed one");
    assert_eq!(&msgs[0].body[..], b"commit-me");
    assert_eq!(msgs[0].sys_flag & 0xC, 0x8, "transaction type COMMIT");
    assert!(msgs[0].prepared_transaction_offset > 0);
    assert!(!msgs[0].properties.contains_key("TRAN_MSG"));
    assert_eq!(
        msgs[0].properties.get("UNIQ_KEY").map(String::as_str),
        Some("AA01")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        max_offset(&c, &b.addr, "TxTopic").await,
        2,
        "rollback delivered nothing"
    );
    b.stop().await;
}

#[tokio::test]
async fn undecided_transaction_is_checked_with_the_producer() {
    let b = start_with(|c| {
        c.transaction_time_out = 100;
        c.transaction_check_interval = 200;
    })
    .await;
    // A producer that answers every check with "commit".
    let pool = ferrocket_remoting::Pool::new("cb", 16);
    let router = Router::new().route(
        RequestCode::CHECK_TRANSACTION_STATE,
        &pool,
        |ch: ferrocket_remoting::Channel, req: RemotingCommand| async move {
            let h: ferrocket_protocol::header::CheckTransactionStateRequestHeader =
                req.decode_header().unwrap();
            let msgs: Vec<_> = decode_records(&req.body).collect::<Result<_, _>>().unwrap();
            assert_eq!(
                msgs[0].topic, "CheckTopic",
                "the check carries the real topic"
            );
            let _ = ch
                .oneway(end_request_at(
                    h.tran_state_table_offset,
                    h.commit_log_offset,
                    8,
                    true,
                ))
                .await;
            None
        },
    );
    let c = RemotingClient::new(router);
    assert_eq!(
        c.invoke(&b.addr, send_request("CheckTopic", 0, b"plain", ""), T)
            .await
            .unwrap()
            .code,
        0
    );
    let hb = HeartbeatData {
        client_id: "127.0.0.1@tx".into(),
        producer_data_set: vec![ferrocket_protocol::body::ProducerData {
            group_name: "tx-pg".into(),
        }],
        ..Default::default()
    };
    let resp = c
        .invoke(
            &b.addr,
            RemotingCommand::request(RequestCode::HEART_BEAT).with_body(encode_json(&hb)),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, 0);
    assert_eq!(
        c.invoke(
            &b.addr,
            half_request("CheckTopic", b"decide-later", "BB01"),
            T
        )
        .await
        .unwrap()
        .code,
        0
    );
    // The broker asks, the producer commits, the message appears.
    wait_visible(&c, &b.addr, "CheckTopic", 0, 2).await;
    let resp = c
        .invoke(&b.addr, pull_request("CheckTopic", "cg", 0, 1, 1000), T)
        .await
        .unwrap();
    let msgs: Vec<_> = decode_records(&resp.body)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(&msgs[0].body[..], b"decide-later");
    // and only once, even after more check rounds
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(max_offset(&c, &b.addr, "CheckTopic").await, 2);
    b.stop().await;
}

// ---- SQL92 ------------------------------------------------------------------------------------

fn sql_pull(topic: &str, expr: &str) -> RemotingCommand {
    let mut req = pull_request(topic, "sqlg", 0, 0, 1000);
    req.put_ext("subscription", expr);
    req.put_ext("expressionType", "SQL92");
    req
}

#[tokio::test]
async fn sql92_filters_by_properties_when_enabled() {
    let b = start_with(|c| c.enable_property_filter = true).await;
    let c = RemotingClient::new(Router::new());
    for a in 1..=5 {
        let props = format!("TAGS\u{1}T{a}\u{2}a\u{1}{a}\u{2}");
        assert_eq!(
            c.invoke(
                &b.addr,
                send_request("SqlTopic", 0, format!("m{a}").as_bytes(), &props),
                T
            )
            .await
            .unwrap()
            .code,
            0
        );
    }
    wait_visible(&c, &b.addr, "SqlTopic", 0, 5).await;
    let resp = c
        .invoke(
            &b.addr,
            sql_pull("SqlTopic", "a BETWEEN 2 AND 3 OR TAGS = 'T5'"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
    let bodies: Vec<_> = decode_records(&resp.body)
        .map(|m| m.unwrap().body)
        .collect();
    assert_eq!(
        bodies,
        vec![Bytes::from("m2"), Bytes::from("m3"), Bytes::from("m5")]
    );
    let ph: PullMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(
        ph.next_begin_offset, 5,
        "non-matching messages are skipped, not re-read"
    );
    // A selector that does not compile
    let resp = c
        .invoke(&b.addr, sql_pull("SqlTopic", "a = NULL"), T)
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::SUBSCRIPTION_PARSE_FAILED);
    // CHECK_CLIENT_CONFIG answers the same way
    let check = |expr: &str| {
        let body = serde_json::json!({"clientId": "c", "group": "sqlg",
            "subscriptionData": {"topic": "SqlTopic", "subString": expr, "expressionType": "SQL92"}});
        RemotingCommand::request(RequestCode::CHECK_CLIENT_CONFIG)
            .with_body(serde_json::to_vec(&body).unwrap())
    };
    assert_eq!(c.invoke(&b.addr, check("a > 1"), T).await.unwrap().code, 0);
    assert_eq!(
        c.invoke(&b.addr, check("a >"), T).await.unwrap().code,
        ResponseCode::SUBSCRIPTION_PARSE_FAILED
    );
    b.stop().await;
}

#[tokio::test]
async fn sql92_needs_enable_property_filter() {
    let b = start().await;
    let c = RemotingClient::new(Router::new());
    assert_eq!(
        c.invoke(&b.addr, send_request("SqlOff", 0, b"x", "a\u{1}1\u{2}"), T)
            .await
            .unwrap()
            .code,
        0
    );
    let resp = c
        .invoke(&b.addr, sql_pull("SqlOff", "a = 1"), T)
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::SYSTEM_ERROR);
    assert!(resp.remark.unwrap().contains("SQL92"));
    b.stop().await;
}

// ---- timer messages ---------------------------------------------------------------------------

#[tokio::test]
async fn timer_message_is_delivered_when_due() {
    let b = start().await;
    let c = RemotingClient::new(Router::new());
    assert_eq!(
        c.invoke(&b.addr, send_request("TimerTopic", 0, b"now", ""), T)
            .await
            .unwrap()
            .code,
        0
    );
    let sent = std::time::Instant::now();
    let resp = c
        .invoke(
            &b.addr,
            send_request("TimerTopic", 0, b"later", "TIMER_DELAY_MS\u{1}1500\u{2}"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
    // Already due: stored as a normal message at once.
    let resp = c
        .invoke(
            &b.addr,
            send_request("TimerTopic", 1, b"past", "TIMER_DELIVER_MS\u{1}1000\u{2}"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, 0);
    wait_visible(&c, &b.addr, "TimerTopic", 1, 1).await;
    assert_eq!(
        max_offset(&c, &b.addr, "TimerTopic").await,
        1,
        "not delivered before its time"
    );
    // Three days is the limit.
    let far = "TIMER_DELAY_SEC\u{1}400000\u{2}";
    assert_eq!(
        c.invoke(&b.addr, send_request("TimerTopic", 0, b"x", far), T)
            .await
            .unwrap()
            .code,
        ResponseCode::MESSAGE_ILLEGAL
    );
    let bad = "TIMER_DELAY_MS\u{1}soon\u{2}";
    assert_eq!(
        c.invoke(&b.addr, send_request("TimerTopic", 0, b"x", bad), T)
            .await
            .unwrap()
            .code,
        ResponseCode::MESSAGE_ILLEGAL
    );

    let resp = c
        .invoke(
            &b.addr,
            pull_request("TimerTopic", "cg", 0, 1, 8000),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
    let waited = sent.elapsed();
    assert!(
        waited >= Duration::from_millis(1000),
        "delivered after only {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "delivered after {waited:?}"
    );
    let msgs: Vec<_> = decode_records(&resp.body)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(&msgs[0].body[..], b"later");
    assert_eq!(msgs[0].topic, "TimerTopic");
    assert!(msgs[0].properties.contains_key("TIMER_ENQUEUE_MS"));
    assert!(msgs[0].properties.contains_key("TIMER_DEQUEUE_MS"));
    assert!(!msgs[0].properties.contains_key("REAL_TOPIC"));
    // exactly once
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(max_offset(&c, &b.addr, "TimerTopic").await, 2);
    b.stop().await;
}

#[tokio::test]
async fn pending_timer_survives_a_restart_and_fires_once() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(BrokerConfig::local(dir.path()))
        .await
        .unwrap();
    let addr = broker.addr().to_string();
    let c = RemotingClient::new(Router::new());
    assert_eq!(
        c.invoke(
            &addr,
            send_request("TimerRestart", 0, b"early", "TIMER_DELAY_MS\u{1}200\u{2}"),
            T
        )
        .await
        .unwrap()
        .code,
        0
    );
    assert_eq!(
        c.invoke(
            &addr,
            send_request("TimerRestart", 0, b"late", "TIMER_DELAY_MS\u{1}2500\u{2}"),
            T
        )
        .await
        .unwrap()
        .code,
        0
    );
    wait_visible(&c, &addr, "TimerRestart", 0, 1).await; // "early" fired
    broker.shutdown().await;
    c.shutdown().await;

    let broker = Broker::start(BrokerConfig::local(dir.path()))
        .await
        .unwrap();
    let addr = broker.addr().to_string();
    let c = RemotingClient::new(Router::new());
    wait_visible(&c, &addr, "TimerRestart", 0, 2).await; // "late" fired after the restart
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        max_offset(&c, &addr, "TimerRestart").await,
        2,
        "each timer message delivered once"
    );
    broker.shutdown().await;
}
