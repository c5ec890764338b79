//! JSON bodies (fastjson conventions, spec §1.9).
//!
//! Field names are Java bean names, emitted in alphabetical order as fastjson does, compactly.
//! Two fastjson forms are not standard JSON and are written by hand here: maps keyed by numbers
//! (`{0:"ip:port"}`, legacy `brokerAddrs`) and maps keyed by objects (`{{"brokerName":..}:..}`,
//! every `MessageQueue`-keyed table). [`normalize_fastjson`] turns both into standard JSON before
//! parsing, so we accept whatever Java writes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::command::json_string;
use crate::error::ProtocolError;

/// Parse a JSON body written by any RocketMQ peer (fastjson forms accepted).
pub fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ProtocolError> {
    if body.is_empty() {
        return Err(ProtocolError::Body("body is empty".into()));
    }
    match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(first) => {
            let text = std::str::from_utf8(body)
                .map_err(|_| ProtocolError::Body("body is not UTF-8".into()))?;
            let normalized = normalize_fastjson(text);
            serde_json::from_str(&normalized).map_err(|_| ProtocolError::Body(first.to_string()))
        }
    }
}

/// Serialize a body compactly.
pub fn encode_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

/// Rewrite fastjson's non-standard object keys (bare numbers, nested objects) as JSON strings.
pub fn normalize_fastjson(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    // Stack of container kinds: true = object expecting a key next.
    let mut stack: Vec<(bool, bool)> = Vec::new(); // (is_object, expecting_key)
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let expecting_key = matches!(stack.last(), Some((true, true)));
        if expecting_key && !c.is_ascii_whitespace() && c != b'"' && c != b'}' {
            // A bare key: a number, literal or a whole object/array. Take its raw text.
            let start = i;
            if c == b'{' || c == b'[' {
                let mut depth = 0i32;
                let mut in_str = false;
                while i < b.len() {
                    let ch = b[i];
                    if in_str {
                        if ch == b'\\' {
                            i += 1;
                        } else if ch == b'"' {
                            in_str = false;
                        }
                    } else if ch == b'"' {
                        in_str = true;
                    } else if ch == b'{' || ch == b'[' {
                        depth += 1;
                    } else if ch == b'}' || ch == b']' {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    i += 1;
                }
            } else {
                while i < b.len() && b[i] != b':' && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
            let raw = &text[start..i.min(text.len())];
            json_string(&mut out, raw);
            if let Some(top) = stack.last_mut() {
                top.1 = false;
            }
            continue;
        }
        match c {
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str(&text[start..i.min(text.len())]);
                if let Some(top) = stack.last_mut() {
                    if top.0 {
                        top.1 = false;
                    }
                }
                continue;
            }
            b'{' => stack.push((true, true)),
            b'[' => stack.push((false, false)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => {
                if let Some(top) = stack.last_mut() {
                    if top.0 {
                        top.1 = true;
                    }
                }
            }
            _ => {}
        }
        out.push(c as char);
        i += 1;
    }
    out
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `DataVersion`: changes whenever a broker's topic configs change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataVersion {
    pub counter: i64,
    pub state_version: i64,
    pub timestamp: i64,
}

impl DataVersion {
    pub fn next_version(&mut self, now_ms: i64) {
        self.counter += 1;
        self.state_version = 0;
        self.timestamp = now_ms;
    }
}

/// `TopicConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfig {
    pub attributes: BTreeMap<String, String>,
    pub order: bool,
    pub perm: i32,
    pub read_queue_nums: i32,
    pub topic_filter_type: String,
    pub topic_name: String,
    pub topic_sys_flag: i32,
    pub write_queue_nums: i32,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            attributes: BTreeMap::new(),
            order: false,
            perm: crate::names::perm::READ | crate::names::perm::WRITE,
            read_queue_nums: 16,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_name: String::new(),
            topic_sys_flag: 0,
            write_queue_nums: 16,
        }
    }
}

impl TopicConfig {
    pub fn new(name: &str, queues: i32, perm: i32) -> Self {
        TopicConfig {
            topic_name: name.into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm,
            ..Default::default()
        }
    }
}

/// `TopicConfigSerializeWrapper` (also `TopicConfigAndMappingSerializeWrapper` on output).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfigSerializeWrapper {
    pub data_version: DataVersion,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping_data_version: Option<DataVersion>,
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_detail_map: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_info_map: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `RegisterBrokerBody` (uncompressed form).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegisterBrokerBody {
    pub filter_server_list: Vec<String>,
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

/// `QueueData`: one broker's queues of a topic in a route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueData {
    pub broker_name: String,
    pub perm: i32,
    pub read_queue_nums: i32,
    #[serde(alias = "topicSynFlag")]
    pub topic_sys_flag: i32,
    pub write_queue_nums: i32,
}

/// `BrokerData`: the addresses of one broker name (id 0 = master).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    pub broker_addrs: BTreeMap<i64, String>,
    pub broker_name: String,
    pub cluster: String,
    pub enable_acting_master: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
}

impl BrokerData {
    /// fastjson form; `standard` quotes the numeric `brokerAddrs` keys (spec §7.5).
    pub fn write_json(&self, out: &mut String, standard: bool) {
        out.push_str("{\"brokerAddrs\":{");
        for (i, (id, addr)) in self.broker_addrs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if standard {
                let _ = write!(out, "\"{id}\":");
            } else {
                let _ = write!(out, "{id}:");
            }
            json_string(out, addr);
        }
        out.push_str("},\"brokerName\":");
        json_string(out, &self.broker_name);
        out.push_str(",\"cluster\":");
        json_string(out, &self.cluster);
        let _ = write!(out, ",\"enableActingMaster\":{}", self.enable_acting_master);
        if let Some(z) = &self.zone_name {
            out.push_str(",\"zoneName\":");
            json_string(out, z);
        }
        out.push('}');
    }

    /// The master's address, if registered.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&0).map(String::as_str)
    }
}

/// `TopicRouteData`, the answer to GET_ROUTEINFO_BY_TOPIC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    pub broker_datas: Vec<BrokerData>,
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    pub queue_datas: Vec<QueueData>,
}

impl TopicRouteData {
    /// Route JSON as the Java nameserver writes it: standard JSON for clients ≥ V4_9_4 (or that
    /// ask for it), the legacy fastjson form (bare numeric keys) otherwise. Always compact.
    pub fn to_json(&self, standard: bool) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("{\"brokerDatas\":[");
        for (i, bd) in self.broker_datas.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            bd.write_json(&mut out, standard);
        }
        out.push_str("],\"filterServerTable\":");
        out.push_str(
            &serde_json::to_string(&self.filter_server_table).unwrap_or_else(|_| "{}".into()),
        );
        if let Some(conf) = &self.order_topic_conf {
            out.push_str(",\"orderTopicConf\":");
            json_string(&mut out, conf);
        }
        out.push_str(",\"queueDatas\":");
        out.push_str(&serde_json::to_string(&self.queue_datas).unwrap_or_else(|_| "[]".into()));
        out.push('}');
        out
    }
}

/// `ClusterInfo`, the answer to GET_BROKER_CLUSTER_INFO (always the legacy form).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterInfo {
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

impl ClusterInfo {
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"brokerAddrTable\":{");
        for (i, (name, bd)) in self.broker_addr_table.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_string(&mut out, name);
            out.push(':');
            bd.write_json(&mut out, false);
        }
        out.push_str("},\"clusterAddrTable\":");
        out.push_str(
            &serde_json::to_string(&self.cluster_addr_table).unwrap_or_else(|_| "{}".into()),
        );
        out.push('}');
        out
    }
}

/// `TopicList`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicList {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    pub topic_list: BTreeSet<String>,
}

/// `KVTable`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KVTable {
    pub table: BTreeMap<String, String>,
}

/// `MessageQueue`; ordered as Java's `compareTo` (topic, brokerName, queueId).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueue {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
}

impl MessageQueue {
    pub fn new(topic: &str, broker_name: &str, queue_id: i32) -> Self {
        MessageQueue {
            topic: topic.into(),
            broker_name: broker_name.into(),
            queue_id,
        }
    }
    /// fastjson's form, used as an object key: `{"brokerName":..,"queueId":..,"topic":..}`.
    pub fn to_json(&self) -> String {
        let mut s = String::from("{\"brokerName\":");
        json_string(&mut s, &self.broker_name);
        let _ = write!(s, ",\"queueId\":{},\"topic\":", self.queue_id);
        json_string(&mut s, &self.topic);
        s.push('}');
        s
    }
}

/// Write a `Map<MessageQueue, V>` as fastjson does (object keys).
pub fn write_mq_map<V: Serialize>(out: &mut String, map: &BTreeMap<MessageQueue, V>) {
    out.push('{');
    for (i, (mq, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&mq.to_json());
        out.push(':');
        out.push_str(&serde_json::to_string(v).unwrap_or_else(|_| "null".into()));
    }
    out.push('}');
}

/// Parse a fastjson `Map<MessageQueue, V>` that went through [`normalize_fastjson`].
pub fn parse_mq_map<V: DeserializeOwned>(map: HashMap<String, V>) -> BTreeMap<MessageQueue, V> {
    map.into_iter()
        .filter_map(|(k, v)| {
            serde_json::from_str::<MessageQueue>(&k)
                .ok()
                .map(|mq| (mq, v))
        })
        .collect()
}

/// Accept a set of int32 written as numbers (Java) or as strings (the Go client).
fn lenient_i32_set<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeSet<i32>, D::Error> {
    let values: Vec<serde_json::Value> = Option::deserialize(d)?.unwrap_or_default();
    values
        .into_iter()
        .map(|v| match v {
            serde_json::Value::Number(n) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| serde::de::Error::custom(format!("{n} is not an int32"))),
            serde_json::Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("'{s}' is not an int32"))),
            other => Err(serde::de::Error::custom(format!("{other} is not an int32"))),
        })
        .collect()
}

/// `SubscriptionData`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    pub class_filter_mode: bool,
    #[serde(deserialize_with = "lenient_i32_set")]
    pub code_set: BTreeSet<i32>,
    pub expression_type: String,
    pub sub_string: String,
    pub sub_version: i64,
    pub tags_set: BTreeSet<String>,
    pub topic: String,
}

impl Default for SubscriptionData {
    fn default() -> Self {
        SubscriptionData {
            class_filter_mode: false,
            code_set: BTreeSet::new(),
            expression_type: "TAG".into(),
            sub_string: "*".into(),
            sub_version: 0,
            tags_set: BTreeSet::new(),
            topic: String::new(),
        }
    }
}

/// `ConsumerData` in a heartbeat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    pub consume_from_where: String,
    pub consume_type: String,
    pub group_name: String,
    pub message_model: String,
    pub subscription_data_set: Vec<SubscriptionData>,
    pub unit_mode: bool,
}

/// `ProducerData` in a heartbeat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    pub group_name: String,
}

/// `HeartbeatData`, the body of HEART_BEAT.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatData {
    #[serde(rename = "clientID")]
    pub client_id: String,
    pub consumer_data_set: Vec<ConsumerData>,
    pub heartbeat_fingerprint: i32,
    pub producer_data_set: Vec<ProducerData>,
    #[serde(skip_serializing_if = "is_false")]
    pub without_sub: bool,
}

/// `LockBatchRequestBody` / `UnlockBatchRequestBody`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchRequestBody {
    pub client_id: String,
    pub consumer_group: String,
    pub mq_set: BTreeSet<MessageQueue>,
    pub only_this_broker: bool,
}

/// `LockBatchResponseBody`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LockBatchResponseBody {
    #[serde(rename = "lockOKMQSet")]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

/// `GetConsumerListByGroupResponseBody`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerIdList {
    pub consumer_id_list: Vec<String>,
}

/// `GroupList`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupList {
    pub group_list: BTreeSet<String>,
}

/// `Connection` in ConsumerConnection / ProducerConnection.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    pub client_addr: String,
    pub client_id: String,
    pub language: String,
    pub version: i32,
}

/// `ConsumerConnection` (GET_CONSUMER_CONNECTION_LIST).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerConnection {
    pub connection_set: BTreeSet<Connection>,
    pub consume_from_where: Option<String>,
    pub consume_type: Option<String>,
    pub message_model: Option<String>,
    pub subscription_table: BTreeMap<String, SubscriptionData>,
}

/// `ProducerConnection`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    pub connection_set: BTreeSet<Connection>,
}

/// `OffsetWrapper` in ConsumeStats.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OffsetWrapper {
    pub broker_offset: i64,
    pub consumer_offset: i64,
    pub last_timestamp: i64,
    pub pull_offset: i64,
}

/// `ConsumeStats` (GET_CONSUME_STATS).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsumeStats {
    pub consume_tps: f64,
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
}

impl ConsumeStats {
    pub fn to_json(&self) -> String {
        let mut s = format!("{{\"consumeTps\":{:?},\"offsetTable\":", self.consume_tps);
        write_mq_map(&mut s, &self.offset_table);
        s.push('}');
        s
    }
    pub fn from_json(body: &[u8]) -> Result<Self, ProtocolError> {
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct Raw {
            consume_tps: f64,
            offset_table: HashMap<String, OffsetWrapper>,
        }
        let raw: Raw = decode_json(body)?;
        Ok(ConsumeStats {
            consume_tps: raw.consume_tps,
            offset_table: parse_mq_map(raw.offset_table),
        })
    }
}

/// `TopicOffset` in TopicStatsTable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOffset {
    pub last_update_timestamp: i64,
    pub max_offset: i64,
    pub min_offset: i64,
}

/// `TopicStatsTable` (GET_TOPIC_STATS_INFO).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicStatsTable {
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
    pub topic_put_tps: f64,
}

impl TopicStatsTable {
    pub fn to_json(&self) -> String {
        let mut s = String::from("{\"offsetTable\":");
        write_mq_map(&mut s, &self.offset_table);
        let _ = write!(s, ",\"topicPutTps\":{:?}}}", self.topic_put_tps);
        s
    }
    pub fn from_json(body: &[u8]) -> Result<Self, ProtocolError> {
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct Raw {
            offset_table: HashMap<String, TopicOffset>,
            topic_put_tps: f64,
        }
        let raw: Raw = decode_json(body)?;
        Ok(TopicStatsTable {
            offset_table: parse_mq_map(raw.offset_table),
            topic_put_tps: raw.topic_put_tps,
        })
    }
}

/// `ResetOffsetBody` (220 / 222).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResetOffsetBody {
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

impl ResetOffsetBody {
    pub fn to_json(&self) -> String {
        let mut s = String::from("{\"offsetTable\":");
        write_mq_map(&mut s, &self.offset_table);
        s.push('}');
        s
    }
}

/// `SubscriptionGroupConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupConfig {
    pub attributes: BTreeMap<String, String>,
    pub broker_id: i64,
    pub consume_broadcast_enable: bool,
    pub consume_enable: bool,
    pub consume_from_min_enable: bool,
    pub consume_message_orderly: bool,
    pub consume_timeout_minute: i32,
    pub group_name: String,
    pub group_sys_flag: i32,
    pub notify_consumer_ids_changed_enable: bool,
    pub retry_max_times: i32,
    pub retry_queue_nums: i32,
    pub which_broker_when_consume_slowly: i64,
}

impl Default for SubscriptionGroupConfig {
    fn default() -> Self {
        SubscriptionGroupConfig {
            attributes: BTreeMap::new(),
            broker_id: 0,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            consume_message_orderly: false,
            consume_timeout_minute: 15,
            group_name: String::new(),
            group_sys_flag: 0,
            notify_consumer_ids_changed_enable: true,
            retry_max_times: 16,
            retry_queue_nums: 1,
            which_broker_when_consume_slowly: 1,
        }
    }
}

/// `CheckClientRequestBody` (CHECK_CLIENT_CONFIG).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckClientRequestBody {
    pub client_id: String,
    pub group: String,
    pub namespace: Option<String>,
    pub subscription_data: Option<SubscriptionData>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route() -> TopicRouteData {
        TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: [
                    (0, "192.168.0.1:10911".to_string()),
                    (1, "192.168.0.2:10911".to_string()),
                ]
                .into(),
                broker_name: "broker-a".into(),
                cluster: "DefaultCluster".into(),
                enable_acting_master: false,
                zone_name: None,
            }],
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                perm: 6,
                read_queue_nums: 4,
                topic_sys_flag: 0,
                write_queue_nums: 4,
            }],
            ..Default::default()
        }
    }

    /// Spec §7.5: the exact standard route JSON.
    #[test]
    fn route_json_standard_matches_java() {
        assert_eq!(
            route().to_json(true),
            r#"{"brokerDatas":[{"brokerAddrs":{"0":"192.168.0.1:10911","1":"192.168.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
        );
    }

    #[test]
    fn route_json_legacy_round_trips_through_normalizer() {
        let legacy = route().to_json(false);
        assert!(legacy.contains(r#"{0:"192.168.0.1:10911",1:"192.168.0.2:10911"}"#));
        let parsed: TopicRouteData = decode_json(legacy.as_bytes()).unwrap();
        assert_eq!(parsed, route());
    }

    #[test]
    fn object_keyed_maps_round_trip() {
        let mut stats = ConsumeStats::default();
        stats.offset_table.insert(
            MessageQueue::new("T", "broker-a", 1),
            OffsetWrapper {
                broker_offset: 10,
                consumer_offset: 8,
                last_timestamp: 5,
                pull_offset: 10,
            },
        );
        let json = stats.to_json();
        assert!(json.starts_with(r#"{"consumeTps":0.0,"offsetTable":{{"brokerName":"broker-a","queueId":1,"topic":"T"}:{"#));
        assert_eq!(ConsumeStats::from_json(json.as_bytes()).unwrap(), stats);
    }

    #[test]
    fn heartbeat_from_spec_example() {
        let body = br#"{"clientID":"192.168.0.10@12345#9876543210","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"cg1","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","subVersion":1700000000000,"tagsSet":["TagA"],"topic":"TopicTest"}],"unitMode":false}],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}],"withoutSub":false}"#;
        let hb: HeartbeatData = decode_json(body).unwrap();
        assert_eq!(hb.client_id, "192.168.0.10@12345#9876543210");
        assert_eq!(
            hb.consumer_data_set[0].subscription_data_set[0].code_set,
            [2598919].into()
        );
        assert_eq!(hb.producer_data_set[0].group_name, "CLIENT_INNER_PRODUCER");
    }

    /// What rocketmq-client-go v2 sends: codes as strings, its own field order.
    #[test]
    fn heartbeat_from_the_go_client() {
        let body = br#"{"clientID":"127.0.0.1@1234","producerDataSet":[{"groupName":"pg"}],"consumerDataSet":[{"groupName":"cg","consumeType":"CONSUME_PASSIVELY","messageModel":"Clustering","consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","subscriptionDataSet":[{"classFilterMode":false,"topic":"T","subString":"TagA","tagsSet":["TagA"],"codeSet":["2598919"],"subVersion":1700000000000000000,"expressionType":"TAG"}],"unitMode":false}]}"#;
        let hb: HeartbeatData = decode_json(body).unwrap();
        let sub = &hb.consumer_data_set[0].subscription_data_set[0];
        assert_eq!(sub.code_set, [2598919].into());
        assert_eq!(sub.sub_version, 1700000000000000000);
        assert_eq!(hb.producer_data_set[0].group_name, "pg");
    }

    #[test]
    fn normalizer_leaves_standard_json_alone() {
        let s = r#"{"a":{"b":[1,2,{"c":"x:y,z"}]},"d":"{e}"}"#;
        assert_eq!(normalize_fastjson(s), s);
    }
}
