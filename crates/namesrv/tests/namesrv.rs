//! The nameserver over real sockets, spoken to the way a Java broker, a Java/Go client and
//! mqadmin speak to it.

use std::time::{Duration, Instant};

use ferrocket_namesrv::{body_crc32, NameServer, NamesrvConfig, RegisterBrokerBody};
use ferrocket_protocol::body::{
    decode_json, ClusterInfo, DataVersion, KVTable, TopicConfig, TopicList, TopicRouteData,
};
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use ferrocket_remoting::{RemotingClient, Router};

const TIMEOUT: Duration = Duration::from_secs(5);
const BROKER_ADDR: &str = "127.0.0.1:10911";

/// A body exactly as a 5.3 Java broker with two topics sends it.
const JAVA_REGISTER_BODY: &str = r#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":12,"stateVersion":0,"timestamp":1700000000000},"mappingDataVersion":{"counter":0,"stateVersion":0,"timestamp":1700000000000},"topicConfigTable":{"TopicTest":{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4},"TBW102":{"attributes":{},"order":false,"perm":7,"readQueueNums":8,"topicFilterType":"SINGLE_TAG","topicName":"TBW102","topicSysFlag":0,"writeQueueNums":8}},"topicQueueMappingDetailMap":{},"topicQueueMappingInfoMap":{}}}"#;

const STANDARD_ROUTE: &str = r#"{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;
const LEGACY_ROUTE: &str = r#"{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;

struct Fixture {
    ns: NameServer,
    addr: String,
    dir: tempfile::TempDir,
}

async fn start_with(tweak: impl FnOnce(&mut NamesrvConfig)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut config = NamesrvConfig {
        bind_address: "127.0.0.1".into(),
        listen_port: 0,
        kv_config_path: dir.path().join("namesrv").join("kvConfig.json"),
        config_store_path: dir.path().join("namesrv").join("namesrv.properties"),
        ..Default::default()
    };
    tweak(&mut config);
    let ns = NameServer::start(config).await.unwrap();
    let addr = ns.local_addr().to_string();
    Fixture { ns, addr, dir }
}

async fn start() -> Fixture {
    start_with(|_| {}).await
}

fn client() -> RemotingClient {
    RemotingClient::new(Router::new())
}

fn request(code: i32, version: i32, ext: &[(&str, &str)]) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(code);
    cmd.version = version;
    for (k, v) in ext {
        cmd.put_ext(*k, *v);
    }
    cmd
}

/// REGISTER_BROKER with the header fields a Java broker always sends.
fn register_request(body: &[u8], compressed: bool, extra: &[(&str, &str)]) -> RemotingCommand {
    let crc = body_crc32(body).to_string();
    let mut ext = vec![
        ("brokerAddr", BROKER_ADDR),
        ("brokerId", "0"),
        ("brokerName", "broker-a"),
        ("clusterName", "DefaultCluster"),
        ("haServerAddr", "127.0.0.1:10912"),
        ("enableActingMaster", "false"),
        ("heartbeatTimeoutMillis", "120000"),
        ("compressed", if compressed { "true" } else { "false" }),
        ("bodyCrc32", crc.as_str()),
    ];
    ext.retain(|(k, _)| !extra.iter().any(|(ek, _)| ek == k));
    ext.extend_from_slice(extra);
    request(RequestCode::REGISTER_BROKER, 479, &ext).with_body(body.to_vec())
}

async fn call(c: &RemotingClient, addr: &str, cmd: RemotingCommand) -> RemotingCommand {
    c.invoke(addr, cmd, TIMEOUT).await.unwrap()
}

async fn route(c: &RemotingClient, addr: &str, topic: &str, version: i32) -> RemotingCommand {
    call(
        c,
        addr,
        request(
            RequestCode::GET_ROUTEINFO_BY_TOPIC,
            version,
            &[("topic", topic)],
        ),
    )
    .await
}

fn text(cmd: &RemotingCommand) -> &str {
    std::str::from_utf8(&cmd.body).unwrap()
}

/// Poll until the route of `topic` answers `code`, or fail after `within`.
async fn wait_for_route_code(
    c: &RemotingClient,
    addr: &str,
    topic: &str,
    code: i32,
    within: Duration,
) {
    let deadline = Instant::now() + within;
    loop {
        let r = route(c, addr, topic, 479).await;
        if r.code == code {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "route of {topic} still answers {}",
            r.code
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn java_broker_registers_and_clients_get_exact_routes() {
    let f = start().await;
    let broker = client();
    let resp = call(
        &broker,
        &f.addr,
        register_request(JAVA_REGISTER_BODY.as_bytes(), false, &[]),
    )
    .await;
    assert_eq!(resp.code, ResponseCode::SUCCESS, "{:?}", resp.remark);
    assert!(resp.body.is_empty(), "no ORDER_TOPIC_CONFIG yet");
    assert_eq!(resp.ext("masterAddr"), None);

    let c = client();
    // A 5.x Java client (≥ V4_9_4): standard JSON.
    let r = route(&c, &f.addr, "TopicTest", 479).await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    assert_eq!(text(&r), STANDARD_ROUTE);
    // The Go client (V4_5_2): legacy fastjson with bare numeric keys.
    let r = route(&c, &f.addr, "TopicTest", 317).await;
    assert_eq!(text(&r), LEGACY_ROUTE);
    // An old client that asks for standard JSON.
    let r = call(
        &c,
        &f.addr,
        request(
            RequestCode::GET_ROUTEINFO_BY_TOPIC,
            317,
            &[("topic", "TopicTest"), ("acceptStandardJsonOnly", "true")],
        ),
    )
    .await;
    assert_eq!(text(&r), STANDARD_ROUTE);
    // A binary (ROCKETMQ) header gets the same answer.
    let mut binary = request(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        479,
        &[("topic", "TopicTest")],
    );
    binary.serialize_type = SerializeType::RocketMq;
    let r = call(&c, &f.addr, binary).await;
    assert_eq!(r.serialize_type, SerializeType::RocketMq);
    assert_eq!(text(&r), STANDARD_ROUTE);
    // Both forms parse back to the same route.
    let parsed: TopicRouteData = decode_json(LEGACY_ROUTE.as_bytes()).unwrap();
    assert_eq!(
        parsed,
        decode_json::<TopicRouteData>(STANDARD_ROUTE.as_bytes()).unwrap()
    );

    let tbw = route(&c, &f.addr, "TBW102", 479).await;
    let tbw: TopicRouteData = decode_json(&tbw.body).unwrap();
    assert_eq!(
        (tbw.queue_datas[0].perm, tbw.queue_datas[0].read_queue_nums),
        (7, 8)
    );

    let missing = route(&c, &f.addr, "NoSuchTopic", 479).await;
    assert_eq!(missing.code, ResponseCode::TOPIC_NOT_EXIST);
    assert!(missing
        .remark
        .unwrap()
        .starts_with("No topic route info in name server for the topic: NoSuchTopic"));
    assert!(missing.body.is_empty());
}

#[tokio::test]
async fn compressed_registration_and_crc_check() {
    let f = start().await;
    let body = RegisterBrokerBody {
        data_version: DataVersion {
            counter: 1,
            state_version: 0,
            timestamp: 1,
        },
        topic_config_table: [
            ("Zipped".to_string(), TopicConfig::new("Zipped", 2, 6)),
            ("TBW102".to_string(), TopicConfig::new("TBW102", 8, 7)),
        ]
        .into(),
        filter_server_list: Some(vec![]),
        static_topic_mappings: 0,
    }
    .encode_compressed(479);
    let broker = client();
    let mut bad = register_request(&body, true, &[]);
    bad.put_ext("bodyCrc32", (body_crc32(&body) ^ 1).to_string());
    let resp = call(&broker, &f.addr, bad).await;
    assert_eq!(resp.code, ResponseCode::SYSTEM_ERROR);
    assert_eq!(resp.remark.as_deref(), Some("crc32 not match"));
    assert_eq!(
        route(&broker, &f.addr, "Zipped", 479).await.code,
        ResponseCode::TOPIC_NOT_EXIST
    );

    let resp = call(&broker, &f.addr, register_request(&body, true, &[])).await;
    assert_eq!(resp.code, ResponseCode::SUCCESS, "{:?}", resp.remark);
    let r = route(&broker, &f.addr, "Zipped", 479).await;
    let r: TopicRouteData = decode_json(&r.body).unwrap();
    assert_eq!(r.queue_datas[0].read_queue_nums, 2);

    // What a Java 5.x broker with compressedRegister=true sends: zlib body, compressed=false.
    let resp = call(&broker, &f.addr, register_request(&body, false, &[])).await;
    assert_eq!(resp.code, ResponseCode::SUCCESS, "{:?}", resp.remark);

    // Garbage flagged as compressed is refused, not a crash.
    let resp = call(&broker, &f.addr, register_request(b"garbage", true, &[])).await;
    assert_eq!(resp.code, ResponseCode::SYSTEM_ERROR);
    // A register header without brokerName gets Java's remark.
    let mut no_name = register_request(JAVA_REGISTER_BODY.as_bytes(), false, &[]);
    no_name.ext_fields.remove("brokerName");
    let resp = call(&broker, &f.addr, no_name).await;
    assert_eq!(resp.code, ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        resp.remark.as_deref(),
        Some("the custom field <brokerName> is null")
    );
}

#[tokio::test]
async fn cluster_info_and_topic_lists() {
    let f = start().await;
    let broker = client();
    call(
        &broker,
        &f.addr,
        register_request(JAVA_REGISTER_BODY.as_bytes(), false, &[]),
    )
    .await;
    let admin = client();

    let ci = call(
        &admin,
        &f.addr,
        request(RequestCode::GET_BROKER_CLUSTER_INFO, 479, &[]),
    )
    .await;
    assert_eq!(
        text(&ci),
        r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#
    );
    let parsed: ClusterInfo = decode_json(&ci.body).unwrap();
    assert_eq!(
        parsed.broker_addr_table["broker-a"].master_addr(),
        Some(BROKER_ADDR)
    );

    let all = call(
        &admin,
        &f.addr,
        request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER, 479, &[]),
    )
    .await;
    assert_eq!(text(&all), r#"{"topicList":["TBW102","TopicTest"]}"#);

    let by_cluster = call(
        &admin,
        &f.addr,
        request(
            RequestCode::GET_TOPICS_BY_CLUSTER,
            479,
            &[("cluster", "DefaultCluster")],
        ),
    )
    .await;
    let list: TopicList = decode_json(&by_cluster.body).unwrap();
    assert_eq!(list.topic_list.len(), 2);

    let sys = call(
        &admin,
        &f.addr,
        request(RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS, 479, &[]),
    )
    .await;
    assert_eq!(
        text(&sys),
        r#"{"brokerAddr":"127.0.0.1:10911","topicList":["DefaultCluster","broker-a"]}"#
    );

    let unit = call(
        &admin,
        &f.addr,
        request(RequestCode::GET_UNIT_TOPIC_LIST, 479, &[]),
    )
    .await;
    assert_eq!(text(&unit), r#"{"topicList":[]}"#);

    let group = call(
        &admin,
        &f.addr,
        request(
            RequestCode::GET_BROKER_MEMBER_GROUP,
            479,
            &[
                ("clusterName", "DefaultCluster"),
                ("brokerName", "broker-a"),
            ],
        ),
    )
    .await;
    assert_eq!(
        text(&group),
        r#"{"brokerMemberGroup":{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}}"#
    );

    // Unknown request codes are refused politely.
    let unknown = call(&admin, &f.addr, request(4242, 479, &[])).await;
    assert_eq!(unknown.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
}

#[tokio::test]
async fn all_topic_list_can_be_disabled() {
    let f = start_with(|c| c.enable_all_topic_list = false).await;
    let admin = client();
    let r = call(
        &admin,
        &f.addr,
        request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER, 479, &[]),
    )
    .await;
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR);
    assert_eq!(r.remark.as_deref(), Some("disable"));
}

#[tokio::test]
async fn kv_config_put_get_delete_and_order_topics() {
    let f = start_with(|c| c.order_message_enable = true).await;
    let admin = client();
    let ns = "ORDER_TOPIC_CONFIG";

    let get = request(
        RequestCode::GET_KV_CONFIG,
        479,
        &[("namespace", ns), ("key", "TopicTest")],
    );
    let missing = call(&admin, &f.addr, get.clone()).await;
    assert_eq!(missing.code, ResponseCode::QUERY_NOT_FOUND);
    assert_eq!(
        missing.remark.as_deref(),
        Some("No config item, Namespace: ORDER_TOPIC_CONFIG Key: TopicTest")
    );
    let list = request(
        RequestCode::GET_KVLIST_BY_NAMESPACE,
        479,
        &[("namespace", ns)],
    );
    assert_eq!(
        call(&admin, &f.addr, list.clone()).await.code,
        ResponseCode::QUERY_NOT_FOUND
    );

    let put = request(
        RequestCode::PUT_KV_CONFIG,
        479,
        &[
            ("namespace", ns),
            ("key", "TopicTest"),
            ("value", "broker-a:4"),
        ],
    );
    assert_eq!(call(&admin, &f.addr, put).await.code, ResponseCode::SUCCESS);
    let got = call(&admin, &f.addr, get.clone()).await;
    assert_eq!(got.code, ResponseCode::SUCCESS);
    assert_eq!(got.ext("value"), Some("broker-a:4"));
    let table = call(&admin, &f.addr, list.clone()).await;
    assert_eq!(text(&table), r#"{"table":{"TopicTest":"broker-a:4"}}"#);

    // Persisted where Java keeps it, in Java's format.
    let file = f.dir.path().join("namesrv").join("kvConfig.json");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        r#"{"configTable":{"ORDER_TOPIC_CONFIG":{"TopicTest":"broker-a:4"}}}"#
    );

    // A registering broker gets the order config back; routes carry orderTopicConf.
    let broker = client();
    let reg = call(
        &broker,
        &f.addr,
        register_request(JAVA_REGISTER_BODY.as_bytes(), false, &[]),
    )
    .await;
    let kv: KVTable = decode_json(&reg.body).unwrap();
    assert_eq!(kv.table["TopicTest"], "broker-a:4");
    let r = route(&admin, &f.addr, "TopicTest", 479).await;
    let r: TopicRouteData = decode_json(&r.body).unwrap();
    assert_eq!(r.order_topic_conf.as_deref(), Some("broker-a:4"));

    let del = request(
        RequestCode::DELETE_KV_CONFIG,
        479,
        &[("namespace", ns), ("key", "TopicTest")],
    );
    assert_eq!(call(&admin, &f.addr, del).await.code, ResponseCode::SUCCESS);
    assert_eq!(
        call(&admin, &f.addr, get).await.code,
        ResponseCode::QUERY_NOT_FOUND
    );
    assert_eq!(text(&call(&admin, &f.addr, list).await), r#"{"table":{}}"#);

    // Missing header fields: Java's remark.
    let bad = request(RequestCode::PUT_KV_CONFIG, 479, &[("namespace", ns)]);
    let r = call(&admin, &f.addr, bad).await;
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR);
    assert_eq!(r.remark.as_deref(), Some("the custom field <key> is null"));
}

#[tokio::test]
async fn kv_config_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let kv_path = dir.path().join("kv.json");
    let config = NamesrvConfig {
        bind_address: "127.0.0.1".into(),
        listen_port: 0,
        kv_config_path: kv_path.clone(),
        ..Default::default()
    };
    let first = NameServer::start(config.clone()).await.unwrap();
    let c = client();
    let put = request(
        RequestCode::PUT_KV_CONFIG,
        479,
        &[("namespace", "n"), ("key", "k"), ("value", "v")],
    );
    call(&c, &first.local_addr().to_string(), put).await;
    first.shutdown().await;
    drop(first);
    let second = NameServer::start(config).await.unwrap();
    let got = call(
        &client(),
        &second.local_addr().to_string(),
        request(
            RequestCode::GET_KV_CONFIG,
            479,
            &[("namespace", "n"), ("key", "k")],
        ),
    )
    .await;
    assert_eq!(got.ext("value"), Some("v"));
}

#[tokio::test]
async fn silent_broker_expires() {
    let f = start_with(|c| c.scan_not_active_broker_interval = 50).await;
    let broker = client();
    let resp = call(
        &broker,
        &f.addr,
        register_request(
            JAVA_REGISTER_BODY.as_bytes(),
            false,
            &[("heartbeatTimeoutMillis", "300")],
        ),
    )
    .await;
    assert_eq!(resp.code, ResponseCode::SUCCESS);
    let c = client();
    assert_eq!(
        route(&c, &f.addr, "TopicTest", 479).await.code,
        ResponseCode::SUCCESS
    );

    // BROKER_HEARTBEAT keeps it alive for a while...
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(600) {
        let hb = request(
            RequestCode::BROKER_HEARTBEAT,
            479,
            &[
                ("clusterName", "DefaultCluster"),
                ("brokerAddr", BROKER_ADDR),
                ("brokerName", "broker-a"),
            ],
        );
        assert_eq!(call(&broker, &f.addr, hb).await.code, ResponseCode::SUCCESS);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        route(&c, &f.addr, "TopicTest", 479).await.code,
        ResponseCode::SUCCESS
    );
    // ...then silence: the broker is dropped and its connection closed.
    let registered_on = broker.channel(&f.addr).await.unwrap();
    wait_for_route_code(
        &c,
        &f.addr,
        "TopicTest",
        ResponseCode::TOPIC_NOT_EXIST,
        Duration::from_secs(3),
    )
    .await;
    let ci = call(
        &c,
        &f.addr,
        request(RequestCode::GET_BROKER_CLUSTER_INFO, 479, &[]),
    )
    .await;
    assert_eq!(text(&ci), r#"{"brokerAddrTable":{},"clusterAddrTable":{}}"#);
    let deadline = Instant::now() + Duration::from_secs(2);
    while registered_on.is_active() {
        assert!(
            Instant::now() < deadline,
            "expired broker's connection still open"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn closing_the_broker_connection_unregisters_it() {
    let f = start().await;
    let broker = client();
    call(
        &broker,
        &f.addr,
        register_request(JAVA_REGISTER_BODY.as_bytes(), false, &[]),
    )
    .await;
    let c = client();
    assert_eq!(
        route(&c, &f.addr, "TopicTest", 479).await.code,
        ResponseCode::SUCCESS
    );
    broker.shutdown().await;
    wait_for_route_code(
        &c,
        &f.addr,
        "TopicTest",
        ResponseCode::TOPIC_NOT_EXIST,
        Duration::from_secs(3),
    )
    .await;
    // A client connection closing does not touch brokers registered elsewhere.
    let broker2 = client();
    call(
        &broker2,
        &f.addr,
        register_request(JAVA_REGISTER_BODY.as_bytes(), false, &[]),
    )
    .await;
    c.shutdown().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        route(&broker2, &f.addr, "TopicTest", 479).await.code,
        ResponseCode::SUCCESS
    );
}

#[tokio::test]
async fn unregister_broker_request() {
    let f = start().await;
    let broker = client();
    call(
        &broker,
        &f.addr,
        register_request(JAVA_REGISTER_BODY.as_bytes(), false, &[]),
    )
    .await;
    let unreg = request(
        RequestCode::UNREGISTER_BROKER,
        479,
        &[
            ("brokerName", "broker-a"),
            ("brokerAddr", BROKER_ADDR),
            ("clusterName", "DefaultCluster"),
            ("brokerId", "0"),
        ],
    );
    assert_eq!(
        call(&broker, &f.addr, unreg).await.code,
        ResponseCode::SUCCESS
    );
    assert_eq!(
        route(&broker, &f.addr, "TopicTest", 479).await.code,
        ResponseCode::TOPIC_NOT_EXIST
    );
    assert_eq!(
        route(&broker, &f.addr, "TBW102", 479).await.code,
        ResponseCode::TOPIC_NOT_EXIST
    );
}

#[tokio::test]
async fn unchanged_data_version_does_not_replace_queue_data() {
    let f = start().await;
    let broker = client();
    call(
        &broker,
        &f.addr,
        register_request(JAVA_REGISTER_BODY.as_bytes(), false, &[]),
    )
    .await;
    // Same DataVersion (counter 12), but TopicTest now claims 16 queues: a Java NS ignores it.
    let same_version = JAVA_REGISTER_BODY.replace(r#""readQueueNums":4"#, r#""readQueueNums":16"#);
    call(
        &broker,
        &f.addr,
        register_request(same_version.as_bytes(), false, &[]),
    )
    .await;
    let r: TopicRouteData =
        decode_json(&route(&broker, &f.addr, "TopicTest", 479).await.body).unwrap();
    assert_eq!(r.queue_datas[0].read_queue_nums, 4);

    // QUERY_DATA_VERSION tells the broker its version is current.
    let q = request(
        RequestCode::QUERY_DATA_VERSION,
        479,
        &[
            ("brokerName", "broker-a"),
            ("brokerAddr", BROKER_ADDR),
            ("clusterName", "DefaultCluster"),
            ("brokerId", "0"),
        ],
    )
    .with_body(&br#"{"counter":12,"stateVersion":0,"timestamp":1700000000000}"#[..]);
    let resp = call(&broker, &f.addr, q).await;
    assert_eq!(resp.ext("changed"), Some("false"));
    assert_eq!(
        text(&resp),
        r#"{"counter":12,"stateVersion":0,"timestamp":1700000000000}"#
    );

    // Bumped DataVersion: replaced.
    let bumped = same_version.replace(r#""counter":12"#, r#""counter":13"#);
    call(
        &broker,
        &f.addr,
        register_request(bumped.as_bytes(), false, &[]),
    )
    .await;
    let r: TopicRouteData =
        decode_json(&route(&broker, &f.addr, "TopicTest", 479).await.body).unwrap();
    assert_eq!(r.queue_datas[0].read_queue_nums, 16);
}

#[tokio::test]
async fn topic_maintenance_and_write_perm() {
    let f = start().await;
    let broker = client();
    call(
        &broker,
        &f.addr,
        register_request(JAVA_REGISTER_BODY.as_bytes(), false, &[]),
    )
    .await;
    let admin = client();

    let wipe = call(
        &admin,
        &f.addr,
        request(
            RequestCode::WIPE_WRITE_PERM_OF_BROKER,
            479,
            &[("brokerName", "broker-a")],
        ),
    )
    .await;
    assert_eq!(wipe.ext("wipeTopicCount"), Some("2"));
    let r: TopicRouteData =
        decode_json(&route(&admin, &f.addr, "TopicTest", 479).await.body).unwrap();
    assert_eq!(r.queue_datas[0].perm, 4);
    let add = call(
        &admin,
        &f.addr,
        request(
            RequestCode::ADD_WRITE_PERM_OF_BROKER,
            479,
            &[("brokerName", "broker-a")],
        ),
    )
    .await;
    assert_eq!(add.ext("addTopicCount"), Some("2"));

    let reg_topic = request(RequestCode::REGISTER_TOPIC_IN_NAMESRV, 479, &[("topic", "Extra")]).with_body(
        &br#"{"brokerDatas":[],"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":3,"topicSysFlag":0,"writeQueueNums":3}]}"#[..],
    );
    assert_eq!(
        call(&admin, &f.addr, reg_topic).await.code,
        ResponseCode::SUCCESS
    );
    let r: TopicRouteData = decode_json(&route(&admin, &f.addr, "Extra", 479).await.body).unwrap();
    assert_eq!(r.queue_datas[0].read_queue_nums, 3);

    let del = request(
        RequestCode::DELETE_TOPIC_IN_NAMESRV,
        479,
        &[("topic", "Extra"), ("clusterName", "DefaultCluster")],
    );
    assert_eq!(call(&admin, &f.addr, del).await.code, ResponseCode::SUCCESS);
    assert_eq!(
        route(&admin, &f.addr, "Extra", 479).await.code,
        ResponseCode::TOPIC_NOT_EXIST
    );
    let del = request(
        RequestCode::DELETE_TOPIC_IN_NAMESRV,
        479,
        &[("topic", "TopicTest")],
    );
    call(&admin, &f.addr, del).await;
    assert_eq!(
        route(&admin, &f.addr, "TopicTest", 479).await.code,
        ResponseCode::TOPIC_NOT_EXIST
    );
}

#[tokio::test]
async fn namesrv_config_get_and_update() {
    let f = start().await;
    let admin = client();
    let got = call(
        &admin,
        &f.addr,
        request(RequestCode::GET_NAMESRV_CONFIG, 479, &[]),
    )
    .await;
    assert!(text(&got).contains("enableAllTopicList=true\n"));
    assert!(text(&got).contains("orderMessageEnable=false\n"));

    let update = request(RequestCode::UPDATE_NAMESRV_CONFIG, 479, &[])
        .with_body(&b"enableAllTopicList=false\norderMessageEnable=true\n"[..]);
    assert_eq!(
        call(&admin, &f.addr, update).await.code,
        ResponseCode::SUCCESS
    );
    assert!(!f.ns.config().enable_all_topic_list);
    let all = call(
        &admin,
        &f.addr,
        request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER, 479, &[]),
    )
    .await;
    assert_eq!(all.remark.as_deref(), Some("disable"));
    let stored =
        std::fs::read_to_string(f.dir.path().join("namesrv").join("namesrv.properties")).unwrap();
    assert!(stored.contains("orderMessageEnable=true\n"));

    let black = request(RequestCode::UPDATE_NAMESRV_CONFIG, 479, &[])
        .with_body(&b"kvConfigPath=/etc/x\n"[..]);
    let r = call(&admin, &f.addr, black).await;
    assert_eq!(r.code, ResponseCode::NO_PERMISSION);
    assert_eq!(
        r.remark.as_deref(),
        Some("Can not update config in black list.")
    );

    let bad = request(RequestCode::UPDATE_NAMESRV_CONFIG, 479, &[])
        .with_body(&b"waitSecondsForService=soon\n"[..]);
    let r = call(&admin, &f.addr, bad).await;
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("waitSecondsForService"));
}

#[tokio::test]
async fn slave_registration_learns_master() {
    let f = start().await;
    let master = client();
    call(
        &master,
        &f.addr,
        register_request(JAVA_REGISTER_BODY.as_bytes(), false, &[]),
    )
    .await;
    let slave = client();
    let resp = call(
        &slave,
        &f.addr,
        register_request(
            JAVA_REGISTER_BODY.as_bytes(),
            false,
            &[
                ("brokerId", "1"),
                ("brokerAddr", "127.0.0.1:10921"),
                ("haServerAddr", "127.0.0.1:10922"),
            ],
        ),
    )
    .await;
    assert_eq!(resp.code, ResponseCode::SUCCESS);
    assert_eq!(resp.ext("masterAddr"), Some(BROKER_ADDR));
    assert_eq!(resp.ext("haServerAddr"), Some("127.0.0.1:10912"));
    let r = route(&master, &f.addr, "TopicTest", 479).await;
    assert!(text(&r).contains(r#""brokerAddrs":{"0":"127.0.0.1:10911","1":"127.0.0.1:10921"}"#));
}
