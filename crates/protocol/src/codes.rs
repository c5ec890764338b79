//! Request and response codes, named as in RocketMQ's `RequestCode` / `ResponseCode`.

/// Request codes (`org.apache.rocketmq.remoting.protocol.RequestCode`).
pub mod request {
    pub const SEND_MESSAGE: i32 = 10;
    pub const PULL_MESSAGE: i32 = 11;
    pub const QUERY_MESSAGE: i32 = 12;
    pub const QUERY_BROKER_OFFSET: i32 = 13;
    pub const QUERY_CONSUMER_OFFSET: i32 = 14;
    pub const UPDATE_CONSUMER_OFFSET: i32 = 15;
    pub const UPDATE_AND_CREATE_TOPIC: i32 = 17;
    pub const UPDATE_AND_CREATE_TOPIC_LIST: i32 = 18;
    pub const GET_ALL_TOPIC_CONFIG: i32 = 21;
    pub const GET_TOPIC_CONFIG_LIST: i32 = 22;
    pub const GET_TOPIC_NAME_LIST: i32 = 23;
    pub const UPDATE_BROKER_CONFIG: i32 = 25;
    pub const GET_BROKER_CONFIG: i32 = 26;
    pub const TRIGGER_DELETE_FILES: i32 = 27;
    pub const GET_BROKER_RUNTIME_INFO: i32 = 28;
    pub const SEARCH_OFFSET_BY_TIMESTAMP: i32 = 29;
    pub const GET_MAX_OFFSET: i32 = 30;
    pub const GET_MIN_OFFSET: i32 = 31;
    pub const GET_EARLIEST_MSG_STORETIME: i32 = 32;
    pub const VIEW_MESSAGE_BY_ID: i32 = 33;
    pub const HEART_BEAT: i32 = 34;
    pub const UNREGISTER_CLIENT: i32 = 35;
    pub const CONSUMER_SEND_MSG_BACK: i32 = 36;
    pub const END_TRANSACTION: i32 = 37;
    pub const GET_CONSUMER_LIST_BY_GROUP: i32 = 38;
    pub const CHECK_TRANSACTION_STATE: i32 = 39;
    pub const NOTIFY_CONSUMER_IDS_CHANGED: i32 = 40;
    pub const LOCK_BATCH_MQ: i32 = 41;
    pub const UNLOCK_BATCH_MQ: i32 = 42;
    pub const GET_ALL_CONSUMER_OFFSET: i32 = 43;
    pub const GET_ALL_DELAY_OFFSET: i32 = 45;
    pub const CHECK_CLIENT_CONFIG: i32 = 46;
    pub const GET_CLIENT_CONFIG: i32 = 47;
    pub const UPDATE_AND_CREATE_ACL_CONFIG: i32 = 50;
    pub const DELETE_ACL_CONFIG: i32 = 51;
    pub const GET_BROKER_CLUSTER_ACL_INFO: i32 = 52;
    pub const UPDATE_GLOBAL_WHITE_ADDRS_CONFIG: i32 = 53;
    pub const GET_BROKER_CLUSTER_ACL_CONFIG: i32 = 54;
    pub const GET_TIMER_CHECK_POINT: i32 = 60;
    pub const GET_TIMER_METRICS: i32 = 61;
    pub const PUT_KV_CONFIG: i32 = 100;
    pub const GET_KV_CONFIG: i32 = 101;
    pub const DELETE_KV_CONFIG: i32 = 102;
    pub const REGISTER_BROKER: i32 = 103;
    pub const UNREGISTER_BROKER: i32 = 104;
    pub const GET_ROUTEINFO_BY_TOPIC: i32 = 105;
    pub const GET_BROKER_CLUSTER_INFO: i32 = 106;
    pub const UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: i32 = 200;
    pub const GET_ALL_SUBSCRIPTIONGROUP_CONFIG: i32 = 201;
    pub const GET_TOPIC_STATS_INFO: i32 = 202;
    pub const GET_CONSUMER_CONNECTION_LIST: i32 = 203;
    pub const GET_PRODUCER_CONNECTION_LIST: i32 = 204;
    pub const WIPE_WRITE_PERM_OF_BROKER: i32 = 205;
    pub const GET_ALL_TOPIC_LIST_FROM_NAMESERVER: i32 = 206;
    pub const DELETE_SUBSCRIPTIONGROUP: i32 = 207;
    pub const GET_CONSUME_STATS: i32 = 208;
    pub const SUSPEND_CONSUMER: i32 = 209;
    pub const RESUME_CONSUMER: i32 = 210;
    pub const RESET_CONSUMER_OFFSET_IN_CONSUMER: i32 = 211;
    pub const RESET_CONSUMER_OFFSET_IN_BROKER: i32 = 212;
    pub const ADJUST_CONSUMER_THREAD_POOL: i32 = 213;
    pub const WHO_CONSUME_THE_MESSAGE: i32 = 214;
    pub const DELETE_TOPIC_IN_BROKER: i32 = 215;
    pub const DELETE_TOPIC_IN_NAMESRV: i32 = 216;
    pub const REGISTER_TOPIC_IN_NAMESRV: i32 = 217;
    pub const GET_KVLIST_BY_NAMESPACE: i32 = 219;
    pub const RESET_CONSUMER_CLIENT_OFFSET: i32 = 220;
    pub const GET_CONSUMER_STATUS_FROM_CLIENT: i32 = 221;
    pub const INVOKE_BROKER_TO_RESET_OFFSET: i32 = 222;
    pub const INVOKE_BROKER_TO_GET_CONSUMER_STATUS: i32 = 223;
    pub const GET_TOPICS_BY_CLUSTER: i32 = 224;
    pub const UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST: i32 = 225;
    pub const QUERY_TOPIC_CONSUME_BY_WHO: i32 = 300;
    pub const REGISTER_FILTER_SERVER: i32 = 301;
    pub const REGISTER_MESSAGE_FILTER_CLASS: i32 = 302;
    pub const QUERY_CONSUME_TIME_SPAN: i32 = 303;
    pub const GET_SYSTEM_TOPIC_LIST_FROM_NS: i32 = 304;
    pub const GET_SYSTEM_TOPIC_LIST_FROM_BROKER: i32 = 305;
    pub const CLEAN_EXPIRED_CONSUMEQUEUE: i32 = 306;
    pub const GET_CONSUMER_RUNNING_INFO: i32 = 307;
    pub const QUERY_CORRECTION_OFFSET: i32 = 308;
    pub const CONSUME_MESSAGE_DIRECTLY: i32 = 309;
    pub const SEND_MESSAGE_V2: i32 = 310;
    pub const GET_UNIT_TOPIC_LIST: i32 = 311;
    pub const GET_HAS_UNIT_SUB_TOPIC_LIST: i32 = 312;
    pub const GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST: i32 = 313;
    pub const CLONE_GROUP_OFFSET: i32 = 314;
    pub const VIEW_BROKER_STATS_DATA: i32 = 315;
    pub const CLEAN_UNUSED_TOPIC: i32 = 316;
    pub const GET_BROKER_CONSUME_STATS: i32 = 317;
    pub const UPDATE_NAMESRV_CONFIG: i32 = 318;
    pub const GET_NAMESRV_CONFIG: i32 = 319;
    pub const SEND_BATCH_MESSAGE: i32 = 320;
    pub const QUERY_CONSUME_QUEUE: i32 = 321;
    pub const QUERY_DATA_VERSION: i32 = 322;
    pub const RESUME_CHECK_HALF_MESSAGE: i32 = 323;
    pub const SEND_REPLY_MESSAGE: i32 = 324;
    pub const SEND_REPLY_MESSAGE_V2: i32 = 325;
    pub const PUSH_REPLY_MESSAGE_TO_CLIENT: i32 = 326;
    pub const ADD_WRITE_PERM_OF_BROKER: i32 = 327;
    pub const GET_TOPIC_CONFIG: i32 = 351;
    pub const LITE_PULL_MESSAGE: i32 = 361;
    pub const RECALL_MESSAGE: i32 = 370;
    pub const QUERY_ASSIGNMENT: i32 = 400;
    pub const SET_MESSAGE_REQUEST_MODE: i32 = 401;
    pub const GET_ALL_MESSAGE_REQUEST_MODE: i32 = 402;
    pub const GET_BROKER_MEMBER_GROUP: i32 = 901;
    pub const ADD_BROKER: i32 = 902;
    pub const REMOVE_BROKER: i32 = 903;
    pub const BROKER_HEARTBEAT: i32 = 904;
    pub const NOTIFY_MIN_BROKER_ID_CHANGE: i32 = 905;
    pub const EXCHANGE_BROKER_HA_INFO: i32 = 906;
    pub const GET_BROKER_HA_STATUS: i32 = 907;
    pub const RESET_MASTER_FLUSH_OFFSET: i32 = 908;
    pub const POP_MESSAGE: i32 = 200050;
    pub const ACK_MESSAGE: i32 = 200051;
    pub const PEEK_MESSAGE: i32 = 200052;
    pub const CHANGE_MESSAGE_INVISIBLETIME: i32 = 200053;
    pub const NOTIFICATION: i32 = 200054;
    pub const POLLING_INFO: i32 = 200055;
    pub const POP_ROLLBACK: i32 = 200056;
    pub const BATCH_ACK_MESSAGE: i32 = 200151;

    /// Java name of a request code, for logs and the compatibility table.
    pub fn name(code: i32) -> Option<&'static str> {
        ALL.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
    }

    macro_rules! table {
        ($($n:ident),* $(,)?) => { pub const ALL: &[(i32, &str)] = &[$(($n, stringify!($n))),*]; };
    }
    table!(
        SEND_MESSAGE,
        PULL_MESSAGE,
        QUERY_MESSAGE,
        QUERY_BROKER_OFFSET,
        QUERY_CONSUMER_OFFSET,
        UPDATE_CONSUMER_OFFSET,
        UPDATE_AND_CREATE_TOPIC,
        UPDATE_AND_CREATE_TOPIC_LIST,
        GET_ALL_TOPIC_CONFIG,
        GET_TOPIC_CONFIG_LIST,
        GET_TOPIC_NAME_LIST,
        UPDATE_BROKER_CONFIG,
        GET_BROKER_CONFIG,
        TRIGGER_DELETE_FILES,
        GET_BROKER_RUNTIME_INFO,
        SEARCH_OFFSET_BY_TIMESTAMP,
        GET_MAX_OFFSET,
        GET_MIN_OFFSET,
        GET_EARLIEST_MSG_STORETIME,
        VIEW_MESSAGE_BY_ID,
        HEART_BEAT,
        UNREGISTER_CLIENT,
        CONSUMER_SEND_MSG_BACK,
        END_TRANSACTION,
        GET_CONSUMER_LIST_BY_GROUP,
        CHECK_TRANSACTION_STATE,
        NOTIFY_CONSUMER_IDS_CHANGED,
        LOCK_BATCH_MQ,
        UNLOCK_BATCH_MQ,
        GET_ALL_CONSUMER_OFFSET,
        GET_ALL_DELAY_OFFSET,
        CHECK_CLIENT_CONFIG,
        GET_CLIENT_CONFIG,
        UPDATE_AND_CREATE_ACL_CONFIG,
        DELETE_ACL_CONFIG,
        GET_BROKER_CLUSTER_ACL_INFO,
        UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
        GET_BROKER_CLUSTER_ACL_CONFIG,
        GET_TIMER_CHECK_POINT,
        GET_TIMER_METRICS,
        PUT_KV_CONFIG,
        GET_KV_CONFIG,
        DELETE_KV_CONFIG,
        REGISTER_BROKER,
        UNREGISTER_BROKER,
        GET_ROUTEINFO_BY_TOPIC,
        GET_BROKER_CLUSTER_INFO,
        UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
        GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
        GET_TOPIC_STATS_INFO,
        GET_CONSUMER_CONNECTION_LIST,
        GET_PRODUCER_CONNECTION_LIST,
        WIPE_WRITE_PERM_OF_BROKER,
        GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
        DELETE_SUBSCRIPTIONGROUP,
        GET_CONSUME_STATS,
        SUSPEND_CONSUMER,
        RESUME_CONSUMER,
        RESET_CONSUMER_OFFSET_IN_CONSUMER,
        RESET_CONSUMER_OFFSET_IN_BROKER,
        ADJUST_CONSUMER_THREAD_POOL,
        WHO_CONSUME_THE_MESSAGE,
        DELETE_TOPIC_IN_BROKER,
        DELETE_TOPIC_IN_NAMESRV,
        REGISTER_TOPIC_IN_NAMESRV,
        GET_KVLIST_BY_NAMESPACE,
        RESET_CONSUMER_CLIENT_OFFSET,
        GET_CONSUMER_STATUS_FROM_CLIENT,
        INVOKE_BROKER_TO_RESET_OFFSET,
        INVOKE_BROKER_TO_GET_CONSUMER_STATUS,
        GET_TOPICS_BY_CLUSTER,
        UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST,
        QUERY_TOPIC_CONSUME_BY_WHO,
        REGISTER_FILTER_SERVER,
        REGISTER_MESSAGE_FILTER_CLASS,
        QUERY_CONSUME_TIME_SPAN,
        GET_SYSTEM_TOPIC_LIST_FROM_NS,
        GET_SYSTEM_TOPIC_LIST_FROM_BROKER,
        CLEAN_EXPIRED_CONSUMEQUEUE,
        GET_CONSUMER_RUNNING_INFO,
        QUERY_CORRECTION_OFFSET,
        CONSUME_MESSAGE_DIRECTLY,
        SEND_MESSAGE_V2,
        GET_UNIT_TOPIC_LIST,
        GET_HAS_UNIT_SUB_TOPIC_LIST,
        GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST,
        CLONE_GROUP_OFFSET,
        VIEW_BROKER_STATS_DATA,
        CLEAN_UNUSED_TOPIC,
        GET_BROKER_CONSUME_STATS,
        UPDATE_NAMESRV_CONFIG,
        GET_NAMESRV_CONFIG,
        SEND_BATCH_MESSAGE,
        QUERY_CONSUME_QUEUE,
        QUERY_DATA_VERSION,
        RESUME_CHECK_HALF_MESSAGE,
        SEND_REPLY_MESSAGE,
        SEND_REPLY_MESSAGE_V2,
        PUSH_REPLY_MESSAGE_TO_CLIENT,
        ADD_WRITE_PERM_OF_BROKER,
        GET_TOPIC_CONFIG,
        LITE_PULL_MESSAGE,
        RECALL_MESSAGE,
        QUERY_ASSIGNMENT,
        SET_MESSAGE_REQUEST_MODE,
        GET_ALL_MESSAGE_REQUEST_MODE,
        GET_BROKER_MEMBER_GROUP,
        ADD_BROKER,
        REMOVE_BROKER,
        BROKER_HEARTBEAT,
        NOTIFY_MIN_BROKER_ID_CHANGE,
        EXCHANGE_BROKER_HA_INFO,
        GET_BROKER_HA_STATUS,
        RESET_MASTER_FLUSH_OFFSET,
        POP_MESSAGE,
        ACK_MESSAGE,
        PEEK_MESSAGE,
        CHANGE_MESSAGE_INVISIBLETIME,
        NOTIFICATION,
        POLLING_INFO,
        POP_ROLLBACK,
        BATCH_ACK_MESSAGE,
    );
}

/// Response codes (`RemotingSysResponseCode` 0–4 and `ResponseCode`).
pub mod response {
    pub const SUCCESS: i32 = 0;
    pub const SYSTEM_ERROR: i32 = 1;
    pub const SYSTEM_BUSY: i32 = 2;
    pub const REQUEST_CODE_NOT_SUPPORTED: i32 = 3;
    pub const TRANSACTION_FAILED: i32 = 4;
    pub const FLUSH_DISK_TIMEOUT: i32 = 10;
    pub const SLAVE_NOT_AVAILABLE: i32 = 11;
    pub const FLUSH_SLAVE_TIMEOUT: i32 = 12;
    pub const MESSAGE_ILLEGAL: i32 = 13;
    pub const SERVICE_NOT_AVAILABLE: i32 = 14;
    pub const VERSION_NOT_SUPPORTED: i32 = 15;
    pub const NO_PERMISSION: i32 = 16;
    pub const TOPIC_NOT_EXIST: i32 = 17;
    pub const TOPIC_EXIST_ALREADY: i32 = 18;
    pub const PULL_NOT_FOUND: i32 = 19;
    pub const PULL_RETRY_IMMEDIATELY: i32 = 20;
    pub const PULL_OFFSET_MOVED: i32 = 21;
    pub const QUERY_NOT_FOUND: i32 = 22;
    pub const SUBSCRIPTION_PARSE_FAILED: i32 = 23;
    pub const SUBSCRIPTION_NOT_EXIST: i32 = 24;
    pub const SUBSCRIPTION_NOT_LATEST: i32 = 25;
    pub const SUBSCRIPTION_GROUP_NOT_EXIST: i32 = 26;
    pub const FILTER_DATA_NOT_EXIST: i32 = 27;
    pub const FILTER_DATA_NOT_LATEST: i32 = 28;
    pub const INVALID_PARAMETER: i32 = 29;
    pub const TRANSACTION_SHOULD_COMMIT: i32 = 200;
    pub const TRANSACTION_SHOULD_ROLLBACK: i32 = 201;
    pub const TRANSACTION_STATE_UNKNOW: i32 = 202;
    pub const TRANSACTION_STATE_GROUP_WRONG: i32 = 203;
    pub const NO_BUYER_ID: i32 = 204;
    pub const NOT_IN_CURRENT_UNIT: i32 = 205;
    pub const CONSUMER_NOT_ONLINE: i32 = 206;
    pub const CONSUME_MSG_TIMEOUT: i32 = 207;
    pub const NO_MESSAGE: i32 = 208;
    pub const POLLING_FULL: i32 = 209;
    pub const POLLING_TIMEOUT: i32 = 210;
    pub const BROKER_NOT_EXIST: i32 = 211;
    pub const BROKER_DISPATCH_NOT_COMPLETE: i32 = 212;
    pub const BROADCAST_CONSUMPTION: i32 = 213;
    pub const FLOW_CONTROL: i32 = 215;
    pub const NOT_LEADER_FOR_QUEUE: i32 = 501;
    pub const ILLEGAL_OPERATION: i32 = 604;
    pub const GO_AWAY: i32 = 1500;
}

/// `LanguageCode`: sender's language, a name in JSON headers and a byte in binary headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LanguageCode {
    #[default]
    Java,
    Cpp,
    Dotnet,
    Python,
    Delphi,
    Erlang,
    Ruby,
    Other,
    Http,
    Go,
    Php,
    Oms,
    Rust,
    NodeJs,
}

impl LanguageCode {
    const NAMES: [(LanguageCode, &'static str); 14] = [
        (LanguageCode::Java, "JAVA"),
        (LanguageCode::Cpp, "CPP"),
        (LanguageCode::Dotnet, "DOTNET"),
        (LanguageCode::Python, "PYTHON"),
        (LanguageCode::Delphi, "DELPHI"),
        (LanguageCode::Erlang, "ERLANG"),
        (LanguageCode::Ruby, "RUBY"),
        (LanguageCode::Other, "OTHER"),
        (LanguageCode::Http, "HTTP"),
        (LanguageCode::Go, "GO"),
        (LanguageCode::Php, "PHP"),
        (LanguageCode::Oms, "OMS"),
        (LanguageCode::Rust, "RUST"),
        (LanguageCode::NodeJs, "NODE_JS"),
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES[self.code() as usize].1
    }
    pub fn code(self) -> u8 {
        self as u8
    }
    /// Unknown values become `OTHER`, as a tolerant receiver should.
    pub fn from_code(code: u8) -> Self {
        Self::NAMES
            .get(code as usize)
            .map(|(l, _)| *l)
            .unwrap_or(LanguageCode::Other)
    }
    pub fn from_name(name: &str) -> Self {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(l, _)| *l)
            .unwrap_or(LanguageCode::Other)
    }
}

/// `MQVersion.Version` ordinals that matter on the wire (spec §2, appendix A).
pub mod version {
    /// V5_3_3, what this implementation announces in every command it sends.
    pub const CURRENT: i32 = 479;
    /// V4_9_4: route replies use standard JSON for requests at or above it.
    pub const V4_9_4: i32 = 401;
    /// V3_0_11: REGISTER_BROKER bodies are `RegisterBrokerBody` at or above it.
    pub const V3_0_11: i32 = 37;
    /// V5_0_0.
    pub const V5_0_0: i32 = 413;

    /// `V5_3_3`-style name of an ordinal for 4.x and 5.x versions.
    pub fn desc(ordinal: i32) -> String {
        if ordinal < 213 {
            return format!("V3_{ordinal}");
        }
        let snapshot = (ordinal - 213) % 2 == 1;
        let n = (ordinal - 213 + i32::from(snapshot)) / 2;
        let (major, minor, patch) = (4 + n / 100, (n % 100) / 10, n % 10);
        if snapshot {
            format!("V{major}_{minor}_{patch}_SNAPSHOT")
        } else {
            format!("V{major}_{minor}_{patch}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names() {
        assert_eq!(version::desc(479), "V5_3_3");
        assert_eq!(version::desc(409), "V4_9_8");
        assert_eq!(version::desc(317), "V4_5_2");
        assert_eq!(version::desc(412), "V5_0_0_SNAPSHOT");
    }

    #[test]
    fn language_round_trip() {
        for code in 0..14u8 {
            let l = LanguageCode::from_code(code);
            assert_eq!(l.code(), code);
            assert_eq!(LanguageCode::from_name(l.name()), l);
        }
        assert_eq!(LanguageCode::from_code(200), LanguageCode::Other);
        assert_eq!(LanguageCode::from_name("COBOL"), LanguageCode::Other);
    }

    #[test]
    fn request_names() {
        assert_eq!(request::name(310), Some("SEND_MESSAGE_V2"));
        assert_eq!(request::name(9999), None);
    }
}
