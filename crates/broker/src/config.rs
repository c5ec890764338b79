//! `broker.conf`: RocketMQ's Java-properties file, with RocketMQ's key names.
//!
//! Every key we act on is a field here. Keys RocketMQ knows but we do not use yet are accepted and
//! reported once as ignored; unknown keys likewise. A value that does not parse is a startup error
//! that names the key.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use ferrocket_store::{FlushDiskType, StoreConfig};

pub use ferrocket_protocol::properties_text::parse as parse_properties;

/// A configuration problem that stops startup.
#[derive(Debug, thiserror::Error)]
#[error("invalid value '{value}' for {key}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub reason: String,
}

/// Broker settings (RocketMQ `BrokerConfig` + `MessageStoreConfig` + `NettyServerConfig`).
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub broker_cluster_name: String,
    pub broker_name: String,
    pub broker_id: i64,
    pub namesrv_addr: Option<String>,
    pub listen_port: u16,
    pub broker_ip1: IpAddr,
    pub broker_ip2: IpAddr,
    pub ha_listen_port: u16,
    pub broker_permission: i32,
    pub auto_create_topic_enable: bool,
    pub auto_create_subscription_group: bool,
    pub default_topic_queue_nums: i32,
    pub cluster_topic_enable: bool,
    pub broker_topic_enable: bool,
    pub long_polling_enable: bool,
    pub short_polling_time_mills: u64,
    pub register_name_server_period: u64,
    pub send_thread_pool_queue_capacity: usize,
    pub wait_time_mills_in_send_queue: u64,
    pub pull_thread_pool_queue_capacity: usize,
    pub admin_thread_pool_queue_capacity: usize,
    pub client_channel_max_idle_time_seconds: u64,
    pub channel_expired_timeout: u64,
    pub flush_consumer_offset_interval: u64,
    pub message_delay_level: String,
    pub region_id: String,
    pub trace_on: bool,
    pub fast_port_enable: bool,
    pub enable_property_filter: bool,
    pub timer_wheel_enable: bool,
    pub timer_max_delay_sec: u64,
    pub timer_precision_ms: u64,
    pub transaction_time_out: u64,
    pub transaction_check_max: i32,
    pub transaction_check_interval: u64,
    pub store: StoreConfig,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        let store = StoreConfig {
            root_dir: PathBuf::from("ferrocket-data"),
            ..StoreConfig::default()
        };
        BrokerConfig {
            broker_cluster_name: "DefaultCluster".into(),
            broker_name: default_broker_name(),
            broker_id: 0,
            namesrv_addr: std::env::var("NAMESRV_ADDR").ok().filter(|s| !s.is_empty()),
            listen_port: 10911,
            broker_ip1: local_ip(),
            broker_ip2: local_ip(),
            ha_listen_port: 10912,
            broker_permission: 6,
            auto_create_topic_enable: true,
            auto_create_subscription_group: true,
            default_topic_queue_nums: 8,
            cluster_topic_enable: true,
            broker_topic_enable: true,
            long_polling_enable: true,
            short_polling_time_mills: 1000,
            register_name_server_period: 30_000,
            send_thread_pool_queue_capacity: 10_000,
            wait_time_mills_in_send_queue: 200,
            pull_thread_pool_queue_capacity: 100_000,
            admin_thread_pool_queue_capacity: 10_000,
            client_channel_max_idle_time_seconds: 120,
            channel_expired_timeout: 120_000,
            flush_consumer_offset_interval: 5_000,
            message_delay_level: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
                .into(),
            region_id: "DefaultRegion".into(),
            trace_on: true,
            fast_port_enable: true,
            enable_property_filter: false,
            timer_wheel_enable: true,
            timer_max_delay_sec: 3 * 24 * 3600,
            timer_precision_ms: 1000,
            transaction_time_out: 6_000,
            transaction_check_max: 15,
            transaction_check_interval: 30_000,
            store,
        }
    }
}

fn default_broker_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "broker-a".into())
}

/// First non-loopback local IPv4 address (what Java's `RemotingUtil.getLocalAddress` picks),
/// read from the kernel's routing table without sending anything; loopback if none.
pub fn local_ip() -> IpAddr {
    let fib = std::fs::read_to_string("/proc/net/fib_trie").unwrap_or_default();
    let mut last: Option<Ipv4Addr> = None;
    for line in fib.lines() {
        let t = line.trim_start_matches([' ', '|', '-', '+']);
        if let Ok(ip) = t.trim().parse::<Ipv4Addr>() {
            last = Some(ip);
        } else if line.contains("/32 host LOCAL") {
            if let Some(ip) = last {
                if !ip.is_loopback() && !ip.is_unspecified() {
                    return IpAddr::V4(ip);
                }
            }
        }
    }
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

/// Keys RocketMQ defines that we accept without acting on them (yet).
const KNOWN_IGNORED: &[&str] = &[
    "brokerRole",
    "rocketmqHome",
    "storePathIndex",
    "storeCheckpoint",
    "abortFile",
    "sendMessageThreadPoolNums",
    "pullMessageThreadPoolNums",
    "useReentrantLockWhenPutMessage",
    "slaveReadEnable",
    "filterSupportRetry",
    "traceTopicEnable",
    "msgTraceTopicName",
    "aclEnable",
    "enableDLegerCommitLog",
    "enableControllerMode",
    "enableSlaveActingMaster",
    "enableCalcFilterBitMap",
    "isEnableBatchPush",
    "serverWorkerThreads",
    "serverSelectorThreads",
    "clientWorkerThreads",
    "compressedRegister",
    "forceRegister",
    "duplicationEnable",
    "autoDeleteUnusedStats",
    "storeType",
];

impl BrokerConfig {
    /// A broker on 127.0.0.1 with a port chosen by the OS, no fast port, no nameserver, data in
    /// `root_dir` and small commit-log segments: what tests and embedded uses want.
    pub fn local(root_dir: impl Into<PathBuf>) -> Self {
        let mut c = BrokerConfig {
            broker_name: "broker-a".into(),
            listen_port: 0,
            broker_ip1: IpAddr::V4(Ipv4Addr::LOCALHOST),
            broker_ip2: IpAddr::V4(Ipv4Addr::LOCALHOST),
            namesrv_addr: None,
            fast_port_enable: false,
            ..BrokerConfig::default()
        };
        c.store.root_dir = root_dir.into();
        c.store.mapped_file_size_commitlog = 1 << 20;
        c
    }

    /// Apply `broker.conf` properties. Returns the keys that were ignored (unknown or not yet
    /// acted on), for the caller to log once.
    pub fn apply(&mut self, props: &BTreeMap<String, String>) -> Result<Vec<String>, ConfigError> {
        let mut ignored = Vec::new();
        for (key, value) in props {
            let v = value.trim();
            let bad = |reason: &str| ConfigError {
                key: key.clone(),
                value: v.to_owned(),
                reason: reason.into(),
            };
            macro_rules! num {
                () => {
                    v.parse().map_err(|_| bad("not a number"))?
                };
            }
            macro_rules! boolean {
                () => {
                    match v.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(bad("expected true or false")),
                    }
                };
            }
            match key.as_str() {
                "brokerClusterName" => self.broker_cluster_name = v.into(),
                "brokerName" => self.broker_name = v.into(),
                "brokerId" => self.broker_id = num!(),
                "namesrvAddr" => {
                    self.namesrv_addr = Some(v.into()).filter(|s: &String| !s.is_empty())
                }
                "listenPort" => self.listen_port = num!(),
                "brokerIP1" => self.broker_ip1 = v.parse().map_err(|_| bad("not an IP address"))?,
                "brokerIP2" => self.broker_ip2 = v.parse().map_err(|_| bad("not an IP address"))?,
                "haListenPort" => self.ha_listen_port = num!(),
                "brokerPermission" => {
                    self.broker_permission = num!();
                    if !(0..=7).contains(&self.broker_permission) {
                        return Err(bad("permission must be 0..7"));
                    }
                }
                "autoCreateTopicEnable" => self.auto_create_topic_enable = boolean!(),
                "autoCreateSubscriptionGroup" => self.auto_create_subscription_group = boolean!(),
                "defaultTopicQueueNums" => {
                    self.default_topic_queue_nums = num!();
                    if self.default_topic_queue_nums < 1 {
                        return Err(bad("must be at least 1"));
                    }
                }
                "clusterTopicEnable" => self.cluster_topic_enable = boolean!(),
                "brokerTopicEnable" => self.broker_topic_enable = boolean!(),
                "longPollingEnable" => self.long_polling_enable = boolean!(),
                "shortPollingTimeMills" => self.short_polling_time_mills = num!(),
                "registerNameServerPeriod" => self.register_name_server_period = num!(),
                "sendThreadPoolQueueCapacity" => self.send_thread_pool_queue_capacity = num!(),
                "waitTimeMillsInSendQueue" => self.wait_time_mills_in_send_queue = num!(),
                "pullThreadPoolQueueCapacity" => self.pull_thread_pool_queue_capacity = num!(),
                "adminBrokerThreadPoolQueueCapacity" => {
                    self.admin_thread_pool_queue_capacity = num!()
                }
                "clientChannelMaxIdleTimeSeconds" | "serverChannelMaxIdleTimeSeconds" => {
                    self.client_channel_max_idle_time_seconds = num!()
                }
                "channelExpiredTimeout" => self.channel_expired_timeout = num!(),
                "flushConsumerOffsetInterval" => self.flush_consumer_offset_interval = num!(),
                "messageDelayLevel" => {
                    self.message_delay_level = v.into();
                    self.store.message_delay_level = v.into();
                }
                "regionId" => self.region_id = v.into(),
                "traceOn" => self.trace_on = boolean!(),
                "fastPortEnable" | "enableFastChannel" => self.fast_port_enable = boolean!(),
                "enablePropertyFilter" => self.enable_property_filter = boolean!(),
                "timerWheelEnable" => self.timer_wheel_enable = boolean!(),
                "timerMaxDelaySec" => self.timer_max_delay_sec = num!(),
                "timerPrecisionMs" => {
                    self.timer_precision_ms = num!();
                    if self.timer_precision_ms == 0 {
                        return Err(bad("must be positive"));
                    }
                }
                "transactionTimeOut" => self.transaction_time_out = num!(),
                "transactionCheckMax" => self.transaction_check_max = num!(),
                "transactionCheckInterval" => self.transaction_check_interval = num!(),
                "storePathRootDir" => self.store.root_dir = PathBuf::from(v),
                "storePathCommitLog" => {
                    if v.contains(',') {
                        return Err(bad("several commit log directories are not supported yet"));
                    }
                    self.store.commitlog_dir = Some(PathBuf::from(v));
                }
                "flushDiskType" => {
                    self.store.flush_disk_type = match v {
                        "ASYNC_FLUSH" => FlushDiskType::AsyncFlush,
                        "SYNC_FLUSH" => FlushDiskType::SyncFlush,
                        _ => return Err(bad("expected ASYNC_FLUSH or SYNC_FLUSH")),
                    }
                }
                "maxMessageSize" => {
                    self.store.max_message_size = num!();
                    if self.store.max_message_size == 0 {
                        return Err(bad("must be positive"));
                    }
                }
                "mappedFileSizeCommitLog" => self.store.mapped_file_size_commitlog = num!(),
                "mappedFileSizeConsumeQueue" => self.store.mapped_file_size_consume_queue = num!(),
                "flushIntervalCommitLog" => self.store.flush_interval_commitlog_ms = num!(),
                "flushCommitLogLeastPages" => self.store.flush_commitlog_least_pages = num!(),
                "flushCommitLogThoroughInterval" => {
                    self.store.flush_commitlog_thorough_interval_ms = num!()
                }
                "syncFlushTimeout" => self.store.sync_flush_timeout_ms = num!(),
                "flushIntervalConsumeQueue" => self.store.flush_interval_consume_queue_ms = num!(),
                "fileReservedTime" => self.store.file_reserved_time_hours = num!(),
                "deleteWhen" => {
                    if !v
                        .split(';')
                        .all(|h| h.trim().parse::<u8>().is_ok_and(|h| h < 24))
                    {
                        return Err(bad("expected hours 00-23 separated by ';'"));
                    }
                    self.store.delete_when = v.into();
                }
                "diskMaxUsedSpaceRatio" => self.store.disk_max_used_space_ratio = num!(),
                "cleanResourceInterval" => self.store.clean_resource_interval_ms = num!(),
                "cleanFileForciblyEnable" => self.store.clean_file_forcibly_enable = boolean!(),
                "diskSpaceWarningLevelRatio" => self.store.disk_space_warning_level_ratio = num!(),
                "diskSpaceCleanForciblyRatio" => {
                    self.store.disk_space_clean_forcibly_ratio = num!()
                }
                "flushConsumeQueueLeastPages" => {
                    self.store.flush_consume_queue_least_pages = num!()
                }
                "flushConsumeQueueThoroughInterval" => {
                    self.store.flush_consume_queue_thorough_interval_ms = num!()
                }
                "checkCRCOnRecover" => self.store.check_crc_on_recover = boolean!(),
                "maxTransferBytesOnMessageInMemory" => {
                    self.store.max_transfer_bytes_on_message_in_memory = num!()
                }
                "maxTransferCountOnMessageInMemory" => {
                    self.store.max_transfer_count_on_message_in_memory = num!()
                }
                "maxTransferBytesOnMessageInDisk" => {
                    self.store.max_transfer_bytes_on_message_in_disk = num!()
                }
                "maxTransferCountOnMessageInDisk" => {
                    self.store.max_transfer_count_on_message_in_disk = num!()
                }
                "accessMessageInMemoryMaxRatio" => {
                    self.store.access_message_in_memory_max_ratio = num!()
                }
                "maxFilterMessageSize" => self.store.max_filter_message_size = num!(),
                "messageIndexEnable" => self.store.message_index_enable = boolean!(),
                "maxHashSlotNum" => self.store.max_hash_slot_num = num!(),
                "maxIndexNum" => self.store.max_index_num = num!(),
                "maxMsgsNumBatch" => self.store.max_msgs_num_batch = num!(),
                "osPageCacheBusyTimeOutMills" => self.store.os_page_cache_busy_timeout_ms = num!(),
                "recoveryScanTargetBytes" => self.store.recovery_scan_target_bytes = num!(),
                "verifyCrcOnRead" => self.store.verify_crc_on_read = boolean!(),
                "warmMapedFileEnable" => self.store.warm_mapped_file_enable = boolean!(),
                "flushLeastPagesWhenWarmMapedFile" => {
                    self.store.flush_least_pages_when_warm_mapped_file = num!()
                }
                "transientStorePoolEnable" => self.store.transient_store_pool_enable = boolean!(),
                "transientStorePoolSize" => self.store.transient_store_pool_size = num!(),
                "commitIntervalCommitLog" => self.store.commit_interval_commitlog_ms = num!(),
                "commitCommitLogLeastPages" => self.store.commit_commitlog_least_pages = num!(),
                "commitCommitLogThoroughInterval" => {
                    self.store.commit_commitlog_thorough_interval_ms = num!()
                }
                k if KNOWN_IGNORED.contains(&k) => ignored.push(key.clone()),
                _ => ignored.push(key.clone()),
            }
        }
        Ok(ignored)
    }

    /// `brokerIP1:listenPort`, what clients connect to and what msgIds embed.
    pub fn broker_addr(&self) -> String {
        std::net::SocketAddr::new(self.broker_ip1, self.listen_port).to_string()
    }

    /// Delay of each level (index 0 = level 1), in milliseconds.
    pub fn delay_levels_ms(&self) -> Result<Vec<u64>, ConfigError> {
        self.message_delay_level
            .split_whitespace()
            .map(|t| {
                let (n, unit) = t.split_at(t.len().saturating_sub(1));
                let n: u64 = n.parse().map_err(|_| ConfigError {
                    key: "messageDelayLevel".into(),
                    value: self.message_delay_level.clone(),
                    reason: format!("bad level '{t}'"),
                })?;
                let mult = match unit {
                    "s" => 1000,
                    "m" => 60_000,
                    "h" => 3_600_000,
                    "d" => 86_400_000,
                    _ => {
                        return Err(ConfigError {
                            key: "messageDelayLevel".into(),
                            value: self.message_delay_level.clone(),
                            reason: format!("bad unit in '{t}'"),
                        })
                    }
                };
                Ok(n * mult)
            })
            .collect()
    }

    /// The effective configuration as `key=value` lines (for `-p` and GET_BROKER_CONFIG).
    pub fn to_properties(&self) -> BTreeMap<String, String> {
        let s = &self.store;
        let mut m: HashMap<&str, String> = HashMap::new();
        m.insert("brokerClusterName", self.broker_cluster_name.clone());
        m.insert("brokerName", self.broker_name.clone());
        m.insert("brokerId", self.broker_id.to_string());
        m.insert("namesrvAddr", self.namesrv_addr.clone().unwrap_or_default());
        m.insert("listenPort", self.listen_port.to_string());
        m.insert("brokerIP1", self.broker_ip1.to_string());
        m.insert("brokerIP2", self.broker_ip2.to_string());
        m.insert("haListenPort", self.ha_listen_port.to_string());
        m.insert("brokerPermission", self.broker_permission.to_string());
        m.insert(
            "autoCreateTopicEnable",
            self.auto_create_topic_enable.to_string(),
        );
        m.insert(
            "autoCreateSubscriptionGroup",
            self.auto_create_subscription_group.to_string(),
        );
        m.insert(
            "defaultTopicQueueNums",
            self.default_topic_queue_nums.to_string(),
        );
        m.insert("clusterTopicEnable", self.cluster_topic_enable.to_string());
        m.insert("brokerTopicEnable", self.broker_topic_enable.to_string());
        m.insert("longPollingEnable", self.long_polling_enable.to_string());
        m.insert(
            "shortPollingTimeMills",
            self.short_polling_time_mills.to_string(),
        );
        m.insert(
            "registerNameServerPeriod",
            self.register_name_server_period.to_string(),
        );
        m.insert(
            "sendThreadPoolQueueCapacity",
            self.send_thread_pool_queue_capacity.to_string(),
        );
        m.insert(
            "pullThreadPoolQueueCapacity",
            self.pull_thread_pool_queue_capacity.to_string(),
        );
        m.insert(
            "adminBrokerThreadPoolQueueCapacity",
            self.admin_thread_pool_queue_capacity.to_string(),
        );
        m.insert(
            "clientChannelMaxIdleTimeSeconds",
            self.client_channel_max_idle_time_seconds.to_string(),
        );
        m.insert(
            "channelExpiredTimeout",
            self.channel_expired_timeout.to_string(),
        );
        m.insert(
            "flushConsumerOffsetInterval",
            self.flush_consumer_offset_interval.to_string(),
        );
        m.insert("messageDelayLevel", self.message_delay_level.clone());
        m.insert("regionId", self.region_id.clone());
        m.insert("traceOn", self.trace_on.to_string());
        m.insert("fastPortEnable", self.fast_port_enable.to_string());
        m.insert(
            "enablePropertyFilter",
            self.enable_property_filter.to_string(),
        );
        m.insert(
            "waitTimeMillsInSendQueue",
            self.wait_time_mills_in_send_queue.to_string(),
        );
        m.insert("transactionTimeOut", self.transaction_time_out.to_string());
        m.insert(
            "transactionCheckMax",
            self.transaction_check_max.to_string(),
        );
        m.insert(
            "transactionCheckInterval",
            self.transaction_check_interval.to_string(),
        );
        m.insert("storePathRootDir", s.root_dir.display().to_string());
        m.insert(
            "storePathCommitLog",
            s.commitlog_dir
                .clone()
                .unwrap_or_else(|| s.root_dir.join("commitlog"))
                .display()
                .to_string(),
        );
        m.insert(
            "flushDiskType",
            match s.flush_disk_type {
                FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
                FlushDiskType::SyncFlush => "SYNC_FLUSH",
            }
            .into(),
        );
        m.insert("maxMessageSize", s.max_message_size.to_string());
        m.insert(
            "mappedFileSizeCommitLog",
            s.mapped_file_size_commitlog.to_string(),
        );
        m.insert(
            "mappedFileSizeConsumeQueue",
            s.mapped_file_size_consume_queue.to_string(),
        );
        m.insert(
            "flushIntervalCommitLog",
            s.flush_interval_commitlog_ms.to_string(),
        );
        m.insert(
            "flushCommitLogLeastPages",
            s.flush_commitlog_least_pages.to_string(),
        );
        m.insert(
            "flushCommitLogThoroughInterval",
            s.flush_commitlog_thorough_interval_ms.to_string(),
        );
        m.insert("syncFlushTimeout", s.sync_flush_timeout_ms.to_string());
        m.insert(
            "flushIntervalConsumeQueue",
            s.flush_interval_consume_queue_ms.to_string(),
        );
        m.insert("fileReservedTime", s.file_reserved_time_hours.to_string());
        m.insert("deleteWhen", s.delete_when.clone());
        m.insert(
            "diskMaxUsedSpaceRatio",
            s.disk_max_used_space_ratio.to_string(),
        );
        m.insert(
            "cleanResourceInterval",
            s.clean_resource_interval_ms.to_string(),
        );
        m.insert(
            "cleanFileForciblyEnable",
            s.clean_file_forcibly_enable.to_string(),
        );
        m.insert(
            "diskSpaceWarningLevelRatio",
            s.disk_space_warning_level_ratio.to_string(),
        );
        m.insert(
            "diskSpaceCleanForciblyRatio",
            s.disk_space_clean_forcibly_ratio.to_string(),
        );
        m.insert(
            "flushConsumeQueueLeastPages",
            s.flush_consume_queue_least_pages.to_string(),
        );
        m.insert(
            "flushConsumeQueueThoroughInterval",
            s.flush_consume_queue_thorough_interval_ms.to_string(),
        );
        m.insert("checkCRCOnRecover", s.check_crc_on_recover.to_string());
        m.insert(
            "maxTransferBytesOnMessageInMemory",
            s.max_transfer_bytes_on_message_in_memory.to_string(),
        );
        m.insert(
            "maxTransferCountOnMessageInMemory",
            s.max_transfer_count_on_message_in_memory.to_string(),
        );
        m.insert(
            "maxTransferBytesOnMessageInDisk",
            s.max_transfer_bytes_on_message_in_disk.to_string(),
        );
        m.insert(
            "maxTransferCountOnMessageInDisk",
            s.max_transfer_count_on_message_in_disk.to_string(),
        );
        m.insert(
            "accessMessageInMemoryMaxRatio",
            s.access_message_in_memory_max_ratio.to_string(),
        );
        m.insert(
            "maxFilterMessageSize",
            s.max_filter_message_size.to_string(),
        );
        m.insert("messageIndexEnable", s.message_index_enable.to_string());
        m.insert("maxHashSlotNum", s.max_hash_slot_num.to_string());
        m.insert("maxIndexNum", s.max_index_num.to_string());
        m.insert("maxMsgsNumBatch", s.max_msgs_num_batch.to_string());
        m.insert(
            "osPageCacheBusyTimeOutMills",
            s.os_page_cache_busy_timeout_ms.to_string(),
        );
        m.insert(
            "recoveryScanTargetBytes",
            s.recovery_scan_target_bytes.to_string(),
        );
        m.insert("verifyCrcOnRead", s.verify_crc_on_read.to_string());
        m.insert("warmMapedFileEnable", s.warm_mapped_file_enable.to_string());
        m.insert(
            "flushLeastPagesWhenWarmMapedFile",
            s.flush_least_pages_when_warm_mapped_file.to_string(),
        );
        m.insert(
            "transientStorePoolEnable",
            s.transient_store_pool_enable.to_string(),
        );
        m.insert(
            "transientStorePoolSize",
            s.transient_store_pool_size.to_string(),
        );
        m.insert(
            "commitIntervalCommitLog",
            s.commit_interval_commitlog_ms.to_string(),
        );
        m.insert(
            "commitCommitLogLeastPages",
            s.commit_commitlog_least_pages.to_string(),
        );
        m.insert(
            "commitCommitLogThoroughInterval",
            s.commit_commitlog_thorough_interval_ms.to_string(),
        );
        m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_reports_unknown_and_rejects_bad_values() {
        let mut c = BrokerConfig::default();
        let props = parse_properties(
            "listenPort=20911\nflushDiskType=SYNC_FLUSH\nfooBar=1\nbrokerRole=ASYNC_MASTER\n",
        );
        let ignored = c.apply(&props).unwrap();
        assert_eq!(c.listen_port, 20911);
        assert_eq!(c.store.flush_disk_type, FlushDiskType::SyncFlush);
        assert_eq!(
            ignored,
            vec!["brokerRole".to_string(), "fooBar".to_string()]
        );
        let err = c.apply(&parse_properties("listenPort=abc")).unwrap_err();
        assert_eq!(err.key, "listenPort");
        let err = c
            .apply(&parse_properties("flushDiskType=SOMETIMES"))
            .unwrap_err();
        assert_eq!(err.key, "flushDiskType");
    }

    #[test]
    fn transient_store_pool_keys() {
        let mut c = BrokerConfig::default();
        assert!(!c.store.staging_enabled(), "off by default, as in RocketMQ");
        let ignored = c
            .apply(&parse_properties(
                "transientStorePoolEnable=true\ntransientStorePoolSize=3\ncommitIntervalCommitLog=50\ncommitCommitLogLeastPages=8\ncommitCommitLogThoroughInterval=100\n",
            ))
            .unwrap();
        assert!(ignored.is_empty());
        assert!(c.store.staging_enabled());
        assert_eq!(c.store.transient_store_pool_size, 3);
        assert_eq!(c.store.commit_interval_commitlog_ms, 50);
        assert_eq!(c.store.commit_commitlog_least_pages, 8);
        assert_eq!(c.store.commit_commitlog_thorough_interval_ms, 100);
        // RocketMQ stages only under ASYNC_FLUSH
        c.apply(&parse_properties("flushDiskType=SYNC_FLUSH"))
            .unwrap();
        assert!(!c.store.staging_enabled());
    }

    #[test]
    fn delay_levels() {
        let c = BrokerConfig::default();
        let levels = c.delay_levels_ms().unwrap();
        assert_eq!(levels.len(), 18);
        assert_eq!(levels[0], 1000);
        assert_eq!(levels[2], 10_000);
        assert_eq!(levels[17], 7_200_000);
    }
}
