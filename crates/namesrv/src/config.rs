//! `NamesrvConfig`: the nameserver's settings, read from RocketMQ's `namesrv.conf` key names.
//!
//! Owns the key names, their defaults and their parsing; knows nothing about sockets or routes.
//! Keys are Java bean property names (`listenPort`, `kvConfigPath`, ...), exactly as
//! `MixAll.properties2Object` derives them from the setters of `NamesrvConfig`,
//! `NettyServerConfig` and `NettyClientConfig`. Unlike Java, a value that does not parse is an
//! error naming the key (Java silently keeps the default), and keys nobody knows are handed back
//! so the caller can log them once.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// A setting with a value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid value '{value}' for {key}: expected {expected}")]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub expected: &'static str,
}

/// A type a setting can have.
trait ConfigValue: Sized {
    fn parse(key: &str, raw: &str) -> Result<Self, ConfigError>;
    fn render(&self) -> Option<String>;
}

fn invalid(key: &str, raw: &str, expected: &'static str) -> ConfigError {
    ConfigError {
        key: key.to_owned(),
        value: raw.to_owned(),
        expected,
    }
}

impl ConfigValue for bool {
    fn parse(key: &str, raw: &str) -> Result<Self, ConfigError> {
        match raw.trim() {
            t if t.eq_ignore_ascii_case("true") => Ok(true),
            f if f.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(invalid(key, raw, "true or false")),
        }
    }
    fn render(&self) -> Option<String> {
        Some(self.to_string())
    }
}

macro_rules! numeric_value {
    ($t:ty, $what:literal) => {
        impl ConfigValue for $t {
            fn parse(key: &str, raw: &str) -> Result<Self, ConfigError> {
                raw.trim().parse().map_err(|_| invalid(key, raw, $what))
            }
            fn render(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    };
}
numeric_value!(u16, "a port number (0..=65535)");
numeric_value!(u32, "a non-negative integer");
numeric_value!(u64, "a non-negative integer");

impl ConfigValue for String {
    fn parse(_: &str, raw: &str) -> Result<Self, ConfigError> {
        Ok(raw.trim().to_owned())
    }
    fn render(&self) -> Option<String> {
        Some(self.clone())
    }
}

impl ConfigValue for Option<String> {
    fn parse(_: &str, raw: &str) -> Result<Self, ConfigError> {
        Ok(Some(raw.trim().to_owned()).filter(|s| !s.is_empty()))
    }
    fn render(&self) -> Option<String> {
        self.clone()
    }
}

impl ConfigValue for PathBuf {
    fn parse(key: &str, raw: &str) -> Result<Self, ConfigError> {
        let t = raw.trim();
        if t.is_empty() {
            return Err(invalid(key, raw, "a file path"));
        }
        Ok(PathBuf::from(t))
    }
    fn render(&self) -> Option<String> {
        Some(self.display().to_string())
    }
}

/// `System.getProperty("user.home")`: where Java keeps `namesrv/kvConfig.json` by default.
fn user_home() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

macro_rules! namesrv_config {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty = $default:expr => $key:literal, )*) => {
        /// Settings of the nameserver. Field docs give the `namesrv.conf` key and Java default.
        #[derive(Debug, Clone, PartialEq)]
        pub struct NamesrvConfig {
            $( $(#[$doc])* pub $field: $ty, )*
            /// Keys Java accepts (Netty tuning) that have no effect here; kept so
            /// GET_NAMESRV_CONFIG shows what the operator configured.
            pub passthrough: BTreeMap<String, String>,
        }

        impl Default for NamesrvConfig {
            fn default() -> Self {
                NamesrvConfig { $( $field: $default, )* passthrough: BTreeMap::new() }
            }
        }

        impl NamesrvConfig {
            /// Every key this config understands (its own fields), in declaration order.
            pub const KEYS: &'static [&'static str] = &[$($key),*];

            /// Set one key; `Ok(false)` if the key is not one of ours.
            fn set(&mut self, key: &str, raw: &str) -> Result<bool, ConfigError> {
                match key {
                    $( $key => { self.$field = <$ty as ConfigValue>::parse($key, raw)?; Ok(true) } )*
                    _ => Ok(false),
                }
            }

            /// The settings as `key → value`, sorted; unset optional values are left out.
            pub fn to_properties(&self) -> BTreeMap<String, String> {
                let mut out = self.passthrough.clone();
                $( if let Some(v) = ConfigValue::render(&self.$field) { out.insert($key.to_owned(), v); } )*
                out
            }
        }
    };
}

namesrv_config! {
    /// `rocketmqHome` (env `ROCKETMQ_HOME`).
    rocketmq_home: Option<String> = std::env::var("ROCKETMQ_HOME").ok().filter(|s| !s.is_empty()) => "rocketmqHome",
    /// `kvConfigPath`: where KV config is persisted (`~/namesrv/kvConfig.json`).
    kv_config_path: PathBuf = user_home().join("namesrv").join("kvConfig.json") => "kvConfigPath",
    /// `configStorePath`: where UPDATE_NAMESRV_CONFIG persists the settings
    /// (`~/namesrv/namesrv.properties`; Java sets it to the `-c` file when one is given).
    config_store_path: PathBuf = user_home().join("namesrv").join("namesrv.properties") => "configStorePath",
    /// `productEnvName` ("center"); only used by Java's cluster-test mode.
    product_env_name: String = "center".to_owned() => "productEnvName",
    /// `clusterTest` (false); Java's cluster-test mode is not implemented.
    cluster_test: bool = false => "clusterTest",
    /// `orderMessageEnable` (false): put `orderTopicConf` from KV namespace
    /// `ORDER_TOPIC_CONFIG` into routes.
    order_message_enable: bool = false => "orderMessageEnable",
    /// `returnOrderTopicConfigToBroker` (true): answer REGISTER_BROKER with the
    /// `ORDER_TOPIC_CONFIG` KV table.
    return_order_topic_config_to_broker: bool = true => "returnOrderTopicConfigToBroker",
    /// `clientRequestThreadPoolNums` (8); accepted, no effect (tokio schedules handlers).
    client_request_thread_pool_nums: u32 = 8 => "clientRequestThreadPoolNums",
    /// `defaultThreadPoolNums` (16); accepted, no effect.
    default_thread_pool_nums: u32 = 16 => "defaultThreadPoolNums",
    /// `clientRequestThreadPoolQueueCapacity` (50000): GET_ROUTEINFO_BY_TOPIC requests queued or
    /// running before SYSTEM_BUSY.
    client_request_thread_pool_queue_capacity: u32 = 50_000 => "clientRequestThreadPoolQueueCapacity",
    /// `defaultThreadPoolQueueCapacity` (10000): same, for every other request.
    default_thread_pool_queue_capacity: u32 = 10_000 => "defaultThreadPoolQueueCapacity",
    /// `scanNotActiveBrokerInterval` in ms (5000): period of the broker expiry scan.
    scan_not_active_broker_interval: u64 = 5_000 => "scanNotActiveBrokerInterval",
    /// `unRegisterBrokerQueueCapacity` (3000); accepted, no effect (unregistering is synchronous).
    un_register_broker_queue_capacity: u32 = 3_000 => "unRegisterBrokerQueueCapacity",
    /// `supportActingMaster` (false): routes of a broker without master show its smallest slave
    /// as id 0 when that slave registered in acting-master mode.
    support_acting_master: bool = false => "supportActingMaster",
    /// `enableAllTopicList` (true): allow GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
    enable_all_topic_list: bool = true => "enableAllTopicList",
    /// `enableTopicList` (true): allow GET_TOPICS_BY_CLUSTER and the unit topic lists.
    enable_topic_list: bool = true => "enableTopicList",
    /// `notifyMinBrokerIdChanged` (false); accepted, not implemented.
    notify_min_broker_id_changed: bool = false => "notifyMinBrokerIdChanged",
    /// `enableControllerInNamesrv` (false); accepted, not implemented.
    enable_controller_in_namesrv: bool = false => "enableControllerInNamesrv",
    /// `needWaitForService` (false): answer routes with 1 "name server not ready" for the first
    /// `waitSecondsForService` seconds.
    need_wait_for_service: bool = false => "needWaitForService",
    /// `waitSecondsForService` (45).
    wait_seconds_for_service: u32 = 45 => "waitSecondsForService",
    /// `deleteTopicWithBrokerRegistration` (false): a full registration removes the broker's
    /// queue data of topics it no longer lists.
    delete_topic_with_broker_registration: bool = false => "deleteTopicWithBrokerRegistration",
    /// `configBlackList`: `;`-separated keys UPDATE_NAMESRV_CONFIG refuses to change.
    config_black_list: String = "configBlackList;configStorePath;kvConfigPath".to_owned() => "configBlackList",
    /// `bindAddress` (NettyServerConfig, "0.0.0.0").
    bind_address: String = "0.0.0.0".to_owned() => "bindAddress",
    /// `listenPort` (9876; 0 picks a free port).
    listen_port: u16 = 9876 => "listenPort",
    /// `serverChannelMaxIdleTimeSeconds` (120): close connections idle this long.
    server_channel_max_idle_time_seconds: u32 = 120 => "serverChannelMaxIdleTimeSeconds",
    /// Ferrocket extension `defaultBrokerHeartbeatTimeoutMillis` (120000): how long a broker
    /// that did not send `heartbeatTimeoutMillis` stays registered without refreshing
    /// (Java: the constant `DEFAULT_BROKER_CHANNEL_EXPIRED_TIME`).
    default_broker_heartbeat_timeout_millis: u64 = 120_000 => "defaultBrokerHeartbeatTimeoutMillis",
}

/// Keys of Java's `NettyServerConfig` / `NettyClientConfig` that a `namesrv.conf` may carry.
/// They are accepted (and shown by GET_NAMESRV_CONFIG) but change nothing here.
const PASSTHROUGH_KEYS: &[&str] = &[
    "serverWorkerThreads",
    "serverCallbackExecutorThreads",
    "serverSelectorThreads",
    "serverOnewaySemaphoreValue",
    "serverAsyncSemaphoreValue",
    "serverSocketSndBufSize",
    "serverSocketRcvBufSize",
    "writeBufferHighWaterMark",
    "writeBufferLowWaterMark",
    "serverSocketBacklog",
    "serverNettyWorkerGroupEnable",
    "serverPooledByteBufAllocatorEnable",
    "enableShutdownGracefully",
    "shutdownWaitTimeSeconds",
    "useEpollNativeSelector",
    "clientWorkerThreads",
    "clientCallbackExecutorThreads",
    "clientOnewaySemaphoreValue",
    "clientAsyncSemaphoreValue",
    "connectTimeoutMillis",
    "channelNotActiveInterval",
    "scanAvailableNameSrv",
    "clientChannelMaxIdleTimeSeconds",
    "clientSocketSndBufSize",
    "clientSocketRcvBufSize",
    "clientPooledByteBufAllocatorEnable",
    "clientCloseSocketIfTimeout",
    "useTLS",
    "socksProxyConfig",
    "disableCallbackExecutor",
    "disableNettyWorkerGroup",
    "maxReconnectIntervalTimeSeconds",
    "enableReconnectForGoAway",
];

/// Keys UPDATE_NAMESRV_CONFIG never changes, whatever `configBlackList` says (Java's built-ins).
const ALWAYS_BLACKLISTED: &[&str] = &[
    "configBlackList",
    "configStorePath",
    "kvConfigPath",
    "rocketmqHome",
];

impl NamesrvConfig {
    /// Build a config from `namesrv.conf` properties. Returns the config and the keys nobody
    /// knows (sorted), for the caller to log once; a value that does not parse is an error.
    pub fn from_properties(
        props: &HashMap<String, String>,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let mut config = NamesrvConfig::default();
        let unknown = config.apply(props)?;
        Ok((config, unknown))
    }

    /// Apply properties over the current values; all or nothing. Returns the unknown keys.
    pub fn apply(&mut self, props: &HashMap<String, String>) -> Result<Vec<String>, ConfigError> {
        let mut next = self.clone();
        let mut unknown = Vec::new();
        for (key, value) in props {
            if next.set(key, value)? {
                continue;
            }
            if PASSTHROUGH_KEYS.contains(&key.as_str()) {
                next.passthrough
                    .insert(key.clone(), value.trim().to_owned());
            } else {
                unknown.push(key.clone());
            }
        }
        unknown.sort();
        *self = next;
        Ok(unknown)
    }

    /// Keys UPDATE_NAMESRV_CONFIG must refuse: the built-in ones plus `configBlackList`.
    pub fn is_blacklisted(&self, key: &str) -> bool {
        ALWAYS_BLACKLISTED.contains(&key)
            || self
                .config_black_list
                .split(';')
                .map(str::trim)
                .any(|k| !k.is_empty() && k == key)
    }

    /// The settings as Java's `properties2String`: sorted `key=value` lines.
    pub fn to_properties_text(&self) -> String {
        let mut out = String::new();
        for (k, v) in self.to_properties() {
            out.push_str(&k);
            out.push('=');
            out.push_str(&v);
            out.push('\n');
        }
        out
    }

    /// Where KV config lives.
    pub fn kv_config_path(&self) -> &Path {
        &self.kv_config_path
    }
}

/// Parse Java `.properties` text (`namesrv.conf`, the UPDATE_NAMESRV_CONFIG body): `#`/`!`
/// comments, `key=value`, `key: value` or `key value`, backslash line continuations and the
/// escapes `\t \n \r \f \uXXXX`. Later keys win.
pub fn parse_properties(text: &str) -> HashMap<String, String> {
    ferrocket_protocol::properties_text::parse(text)
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_java() {
        let c = NamesrvConfig::default();
        assert_eq!(c.listen_port, 9876);
        assert_eq!(c.scan_not_active_broker_interval, 5000);
        assert!(!c.order_message_enable);
        assert!(c.enable_all_topic_list);
        assert!(!c.delete_topic_with_broker_registration);
        assert!(c.return_order_topic_config_to_broker);
        assert!(c.kv_config_path.ends_with("namesrv/kvConfig.json"));
        assert_eq!(c.default_broker_heartbeat_timeout_millis, 120_000);
    }

    #[test]
    fn known_unknown_and_passthrough_keys() {
        let p = props(&[
            ("listenPort", " 9877 "),
            ("orderMessageEnable", "TRUE"),
            ("kvConfigPath", "/tmp/x/kv.json"),
            ("serverWorkerThreads", "4"),
            ("brokerName", "broker-a"),
            ("zzz", "1"),
        ]);
        let (c, unknown) = NamesrvConfig::from_properties(&p).unwrap();
        assert_eq!(c.listen_port, 9877);
        assert!(c.order_message_enable);
        assert_eq!(c.kv_config_path, PathBuf::from("/tmp/x/kv.json"));
        assert_eq!(unknown, vec!["brokerName".to_string(), "zzz".to_string()]);
        assert_eq!(c.passthrough.get("serverWorkerThreads").unwrap(), "4");
        let text = c.to_properties_text();
        assert!(text.contains("listenPort=9877\n"));
        assert!(text.contains("serverWorkerThreads=4\n"));
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = NamesrvConfig::from_properties(&props(&[("listenPort", "98765")])).unwrap_err();
        assert_eq!(err.key, "listenPort");
        let err =
            NamesrvConfig::from_properties(&props(&[("enableAllTopicList", "yes")])).unwrap_err();
        assert_eq!(err.key, "enableAllTopicList");
        assert!(err.to_string().contains("enableAllTopicList"));
        // all or nothing
        let mut c = NamesrvConfig::default();
        assert!(c
            .apply(&props(&[
                ("listenPort", "1"),
                ("scanNotActiveBrokerInterval", "-5")
            ]))
            .is_err());
        assert_eq!(c.listen_port, 9876);
    }

    #[test]
    fn blacklist() {
        let c = NamesrvConfig {
            config_black_list: "listenPort; configBlackList".into(),
            ..Default::default()
        };
        assert!(c.is_blacklisted("listenPort"));
        assert!(c.is_blacklisted("kvConfigPath"));
        assert!(c.is_blacklisted("rocketmqHome"));
        assert!(!c.is_blacklisted("orderMessageEnable"));
    }

    #[test]
    fn properties_text() {
        let p = parse_properties(
            "# comment\n  ! also\n\nlistenPort = 9876\nkvConfigPath:/a/b\\\n   /c.json\n\
             bare value with spaces\nesc=a\\tb\\u0041\\\\\nempty=\n",
        );
        assert_eq!(p["listenPort"], "9876");
        assert_eq!(p["kvConfigPath"], "/a/b/c.json");
        assert_eq!(p["bare"], "value with spaces");
        assert_eq!(p["esc"], "a\tbA\\");
        assert_eq!(p["empty"], "");
        assert_eq!(p.len(), 5);
        // garbage never panics
        let _ = parse_properties("\\u12\n=\n:\\\n\\");
    }
}
