//! Typed custom headers, carried as string key/values in `extFields` (spec §1.6).
//!
//! Each header is declared once with [`command_header!`]: field, Rust type and wire key (plus an
//! optional alias, used for the short `a`..`n` names of `SendMessageRequestHeaderV2`).
//! `Option<T>` fields are optional; a missing `String`/integer field is a
//! [`ProtocolError::MissingField`]; a missing `bool` is `false` (Java `Boolean.parseBoolean`).

use crate::command::ExtFields;
use crate::error::ProtocolError;

/// A header that can be read from and written to `extFields`.
pub trait CommandHeader: Sized {
    fn decode(fields: &ExtFields) -> Result<Self, ProtocolError>;
    fn encode(&self, fields: &mut ExtFields);
}

/// The empty header.
impl CommandHeader for () {
    fn decode(_: &ExtFields) -> Result<Self, ProtocolError> {
        Ok(())
    }
    fn encode(&self, _: &mut ExtFields) {}
}

/// A value type that may appear in a header.
pub trait FieldValue: Sized {
    fn parse_field(key: &'static str, raw: Option<&str>) -> Result<Self, ProtocolError>;
    fn write_field(&self, key: &'static str, out: &mut ExtFields);
}

impl FieldValue for String {
    fn parse_field(key: &'static str, raw: Option<&str>) -> Result<Self, ProtocolError> {
        raw.map(str::to_owned)
            .ok_or(ProtocolError::MissingField(key))
    }
    fn write_field(&self, key: &'static str, out: &mut ExtFields) {
        out.insert(key, self);
    }
}

macro_rules! int_field {
    ($t:ty) => {
        impl FieldValue for $t {
            fn parse_field(key: &'static str, raw: Option<&str>) -> Result<Self, ProtocolError> {
                let raw = raw.ok_or(ProtocolError::MissingField(key))?;
                raw.trim().parse().map_err(|_| ProtocolError::InvalidField {
                    field: key,
                    value: raw.to_owned(),
                })
            }
            fn write_field(&self, key: &'static str, out: &mut ExtFields) {
                let mut buf = [0u8; 20];
                out.insert(key, crate::fields::format_int(i64::from(*self), &mut buf));
            }
        }
    };
}
int_field!(i32);
int_field!(i64);

impl FieldValue for bool {
    fn parse_field(_: &'static str, raw: Option<&str>) -> Result<Self, ProtocolError> {
        Ok(raw.is_some_and(|r| r.eq_ignore_ascii_case("true")))
    }
    fn write_field(&self, key: &'static str, out: &mut ExtFields) {
        out.insert(key, if *self { "true" } else { "false" });
    }
}

impl<T: FieldValue> FieldValue for Option<T> {
    fn parse_field(key: &'static str, raw: Option<&str>) -> Result<Self, ProtocolError> {
        match raw {
            None => Ok(None),
            Some(r) => T::parse_field(key, Some(r)).map(Some),
        }
    }
    fn write_field(&self, key: &'static str, out: &mut ExtFields) {
        if let Some(v) = self {
            v.write_field(key, out);
        }
    }
}

#[doc(hidden)]
pub fn lookup<'a>(fields: &'a ExtFields, key: &str, aliases: &[&str]) -> Option<&'a str> {
    fields
        .get(key)
        .or_else(|| aliases.iter().find_map(|a| fields.get(a)))
}

/// Declare a typed header: `Name { field: Type => "wireKey" [| "alias"], ... }`.
#[macro_export]
macro_rules! command_header {
    ($(#[$meta:meta])* $name:ident { $( $(#[$fmeta:meta])* $field:ident : $ty:ty => $key:literal $(| $alias:literal)? ),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name { $( $(#[$fmeta])* pub $field: $ty, )* }
        impl $crate::header::CommandHeader for $name {
            fn decode(f: &$crate::command::ExtFields) -> Result<Self, $crate::error::ProtocolError> {
                Ok(Self { $( $field: <$ty as $crate::header::FieldValue>::parse_field(
                    $key, $crate::header::lookup(f, $key, &[$($alias)?]))?, )* })
            }
            fn encode(&self, f: &mut $crate::command::ExtFields) {
                $( $crate::header::FieldValue::write_field(&self.$field, $key, f); )*
            }
        }
    };
}

// ---- client ↔ broker -------------------------------------------------------------------------

command_header!(
    /// SEND_MESSAGE (10) with long names; SEND_MESSAGE_V2 (310) / SEND_BATCH_MESSAGE (320) with
    /// the short names `a`..`n`. Both spellings are accepted on every code.
    SendMessageRequestHeader {
        producer_group: String => "producerGroup" | "a",
        topic: String => "topic" | "b",
        default_topic: Option<String> => "defaultTopic" | "c",
        default_topic_queue_nums: Option<i32> => "defaultTopicQueueNums" | "d",
        queue_id: Option<i32> => "queueId" | "e",
        sys_flag: Option<i32> => "sysFlag" | "f",
        born_timestamp: Option<i64> => "bornTimestamp" | "g",
        flag: Option<i32> => "flag" | "h",
        properties: Option<String> => "properties" | "i",
        reconsume_times: Option<i32> => "reconsumeTimes" | "j",
        unit_mode: bool => "unitMode" | "k",
        max_reconsume_times: Option<i32> => "maxReconsumeTimes" | "l",
        batch: bool => "batch" | "m",
        bname: Option<String> => "bname" | "n",
    }
);

impl SendMessageRequestHeader {
    /// Encode with the V2 short names, as the Java client does for 310 and 320.
    pub fn encode_v2(&self, f: &mut ExtFields) {
        // the same fields and value rules as `encode`, written straight under the short names
        f.reserve(14);
        self.producer_group.write_field("a", f);
        self.topic.write_field("b", f);
        self.default_topic.write_field("c", f);
        self.default_topic_queue_nums.write_field("d", f);
        self.queue_id.write_field("e", f);
        self.sys_flag.write_field("f", f);
        self.born_timestamp.write_field("g", f);
        self.flag.write_field("h", f);
        self.properties.write_field("i", f);
        self.reconsume_times.write_field("j", f);
        self.unit_mode.write_field("k", f);
        self.max_reconsume_times.write_field("l", f);
        self.batch.write_field("m", f);
        self.bname.write_field("n", f);
    }
}

command_header!(SendMessageResponseHeader {
    msg_id: String => "msgId",
    queue_id: i32 => "queueId",
    queue_offset: i64 => "queueOffset",
    transaction_id: Option<String> => "transactionId",
    batch_uniq_id: Option<String> => "batchUniqId",
});

command_header!(PullMessageRequestHeader {
    consumer_group: String => "consumerGroup",
    topic: String => "topic",
    queue_id: i32 => "queueId",
    queue_offset: i64 => "queueOffset",
    max_msg_nums: i32 => "maxMsgNums",
    sys_flag: i32 => "sysFlag",
    commit_offset: Option<i64> => "commitOffset",
    suspend_timeout_millis: Option<i64> => "suspendTimeoutMillis",
    subscription: Option<String> => "subscription",
    sub_version: Option<i64> => "subVersion",
    expression_type: Option<String> => "expressionType",
    max_msg_bytes: Option<i32> => "maxMsgBytes",
    bname: Option<String> => "bname",
});

command_header!(PullMessageResponseHeader {
    suggest_which_broker_id: i64 => "suggestWhichBrokerId",
    next_begin_offset: i64 => "nextBeginOffset",
    min_offset: i64 => "minOffset",
    max_offset: i64 => "maxOffset",
    offset_delta: Option<i64> => "offsetDelta",
    topic_sys_flag: Option<i32> => "topicSysFlag",
    group_sys_flag: Option<i32> => "groupSysFlag",
    forbidden_type: Option<i32> => "forbiddenType",
});

command_header!(QueryConsumerOffsetRequestHeader {
    consumer_group: String => "consumerGroup",
    topic: String => "topic",
    queue_id: i32 => "queueId",
    set_zero_if_not_found: Option<bool> => "setZeroIfNotFound",
});

command_header!(
    /// Response header with a single `offset` (14, 29, 30, 31).
    OffsetResponseHeader { offset: i64 => "offset" }
);

command_header!(UpdateConsumerOffsetRequestHeader {
    consumer_group: String => "consumerGroup",
    topic: String => "topic",
    queue_id: i32 => "queueId",
    commit_offset: i64 => "commitOffset",
});

command_header!(SearchOffsetRequestHeader {
    topic: String => "topic",
    queue_id: i32 => "queueId",
    timestamp: i64 => "timestamp",
    boundary_type: Option<String> => "boundaryType",
});

command_header!(
    /// GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), GET_EARLIEST_MSG_STORETIME (32).
    TopicQueueRequestHeader {
        topic: String => "topic",
        queue_id: i32 => "queueId",
    }
);

command_header!(GetEarliestMsgStoretimeResponseHeader { timestamp: i64 => "timestamp" });

command_header!(ViewMessageRequestHeader {
    offset: i64 => "offset",
    topic: Option<String> => "topic",
});

command_header!(UnregisterClientRequestHeader {
    client_id: String => "clientID",
    producer_group: Option<String> => "producerGroup",
    consumer_group: Option<String> => "consumerGroup",
});

command_header!(ConsumerSendMsgBackRequestHeader {
    offset: i64 => "offset",
    group: String => "group",
    delay_level: i32 => "delayLevel",
    origin_msg_id: Option<String> => "originMsgId",
    origin_topic: Option<String> => "originTopic",
    unit_mode: bool => "unitMode",
    max_reconsume_times: Option<i32> => "maxReconsumeTimes",
});

command_header!(EndTransactionRequestHeader {
    producer_group: String => "producerGroup",
    tran_state_table_offset: i64 => "tranStateTableOffset",
    commit_log_offset: i64 => "commitLogOffset",
    commit_or_rollback: i32 => "commitOrRollback",
    from_transaction_check: bool => "fromTransactionCheck",
    msg_id: Option<String> => "msgId",
    transaction_id: Option<String> => "transactionId",
    topic: Option<String> => "topic",
});

command_header!(CheckTransactionStateRequestHeader {
    topic: Option<String> => "topic",
    tran_state_table_offset: i64 => "tranStateTableOffset",
    commit_log_offset: i64 => "commitLogOffset",
    msg_id: Option<String> => "msgId",
    transaction_id: Option<String> => "transactionId",
    offset_msg_id: Option<String> => "offsetMsgId",
    bname: Option<String> => "bname",
});

command_header!(
    /// GET_CONSUMER_LIST_BY_GROUP (38), NOTIFY_CONSUMER_IDS_CHANGED (40),
    /// GET_CONSUMER_CONNECTION_LIST (203).
    ConsumerGroupRequestHeader { consumer_group: String => "consumerGroup" }
);

command_header!(QueryMessageRequestHeader {
    topic: String => "topic",
    key: String => "key",
    max_num: i32 => "maxNum",
    begin_timestamp: i64 => "beginTimestamp",
    end_timestamp: i64 => "endTimestamp",
});

command_header!(QueryMessageResponseHeader {
    index_last_update_timestamp: i64 => "indexLastUpdateTimestamp",
    index_last_update_phyoffset: i64 => "indexLastUpdatePhyoffset",
});

// ---- admin → broker --------------------------------------------------------------------------

command_header!(CreateTopicRequestHeader {
    topic: String => "topic",
    default_topic: Option<String> => "defaultTopic",
    read_queue_nums: i32 => "readQueueNums",
    write_queue_nums: i32 => "writeQueueNums",
    perm: i32 => "perm",
    topic_filter_type: Option<String> => "topicFilterType",
    topic_sys_flag: Option<i32> => "topicSysFlag",
    order: bool => "order",
    attributes: Option<String> => "attributes",
    force: bool => "force",
});

command_header!(
    /// Any request whose only field is `topic` (202, 215, 300, 351, ...).
    TopicRequestHeader { topic: String => "topic" }
);

command_header!(GetConsumeStatsRequestHeader {
    consumer_group: String => "consumerGroup",
    topic: Option<String> => "topic",
    topic_list: Option<String> => "topicList",
});

command_header!(GetProducerConnectionListRequestHeader { producer_group: String => "producerGroup" });

command_header!(ResetOffsetRequestHeader {
    topic: String => "topic",
    group: String => "group",
    timestamp: i64 => "timestamp",
    is_force: bool => "isForce",
    queue_id: Option<i32> => "queueId",
    offset: Option<i64> => "offset",
});

command_header!(DeleteSubscriptionGroupRequestHeader {
    group_name: String => "groupName",
    clean_offset: bool => "cleanOffset",
});

command_header!(GetConsumerRunningInfoRequestHeader {
    consumer_group: String => "consumerGroup",
    client_id: String => "clientId",
    jstack_enable: bool => "jstackEnable",
});

command_header!(GetAllTopicConfigResponseHeader { total_topic_num: Option<i32> => "totalTopicNum" });

// ---- broker/admin → nameserver ---------------------------------------------------------------

command_header!(RegisterBrokerRequestHeader {
    broker_name: String => "brokerName",
    broker_addr: String => "brokerAddr",
    cluster_name: String => "clusterName",
    ha_server_addr: Option<String> => "haServerAddr",
    broker_id: i64 => "brokerId",
    heartbeat_timeout_millis: Option<i64> => "heartbeatTimeoutMillis",
    enable_acting_master: Option<bool> => "enableActingMaster",
    compressed: bool => "compressed",
    body_crc32: Option<i32> => "bodyCrc32",
});

command_header!(RegisterBrokerResponseHeader {
    ha_server_addr: Option<String> => "haServerAddr",
    master_addr: Option<String> => "masterAddr",
});

command_header!(UnRegisterBrokerRequestHeader {
    broker_name: String => "brokerName",
    broker_addr: String => "brokerAddr",
    cluster_name: String => "clusterName",
    broker_id: i64 => "brokerId",
});

command_header!(GetRouteInfoRequestHeader {
    topic: String => "topic",
    accept_standard_json_only: Option<bool> => "acceptStandardJsonOnly",
});

command_header!(PutKVConfigRequestHeader {
    namespace: String => "namespace",
    key: String => "key",
    value: String => "value",
});

command_header!(
    /// GET_KV_CONFIG (101) and DELETE_KV_CONFIG (102).
    KVConfigKeyRequestHeader {
        namespace: String => "namespace",
        key: String => "key",
    }
);

command_header!(GetKVConfigResponseHeader { value: Option<String> => "value" });

command_header!(GetKVListByNamespaceRequestHeader { namespace: String => "namespace" });

command_header!(DeleteTopicFromNamesrvRequestHeader {
    topic: String => "topic",
    cluster_name: Option<String> => "clusterName",
});

command_header!(GetTopicsByClusterRequestHeader { cluster: String => "cluster" });

command_header!(
    /// WIPE_WRITE_PERM_OF_BROKER (205) and ADD_WRITE_PERM_OF_BROKER (327).
    BrokerNameRequestHeader { broker_name: String => "brokerName" }
);

command_header!(WipeWritePermOfBrokerResponseHeader { wipe_topic_count: i32 => "wipeTopicCount" });
command_header!(AddWritePermOfBrokerResponseHeader { add_topic_count: i32 => "addTopicCount" });

command_header!(QueryDataVersionRequestHeader {
    broker_name: String => "brokerName",
    broker_addr: String => "brokerAddr",
    cluster_name: String => "clusterName",
    broker_id: i64 => "brokerId",
});

command_header!(QueryDataVersionResponseHeader { changed: bool => "changed" });

command_header!(BrokerHeartbeatRequestHeader {
    cluster_name: String => "clusterName",
    broker_addr: String => "brokerAddr",
    broker_name: String => "brokerName",
    broker_id: Option<i64> => "brokerId",
    heartbeat_timeout_mills: Option<i64> => "heartbeatTimeoutMills",
});

command_header!(GetBrokerMemberGroupRequestHeader {
    cluster_name: String => "clusterName",
    broker_name: String => "brokerName",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_short_names_decode_like_long_names() {
        let mut f = ExtFields::new();
        for (k, v) in [
            ("a", "pg1"),
            ("b", "TopicTest"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "1"),
            ("f", "0"),
            ("g", "1700000000123"),
            ("h", "0"),
            ("i", "TAGS\u{1}TagA\u{2}"),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
            ("n", "broker-a"),
        ] {
            f.insert(k, v);
        }
        let h: SendMessageRequestHeader = SendMessageRequestHeader::decode(&f).unwrap();
        assert_eq!(h.producer_group, "pg1");
        assert_eq!(h.topic, "TopicTest");
        assert_eq!(h.queue_id, Some(1));
        assert_eq!(h.born_timestamp, Some(1700000000123));
        assert_eq!(h.bname.as_deref(), Some("broker-a"));
        assert!(!h.batch);
        let mut v2 = ExtFields::new();
        h.encode_v2(&mut v2);
        assert_eq!(v2.get("b"), Some("TopicTest"));
        assert_eq!(SendMessageRequestHeader::decode(&v2).unwrap(), h);
        let mut v1 = ExtFields::new();
        h.encode(&mut v1);
        assert_eq!(v1.get("producerGroup"), Some("pg1"));
        assert_eq!(SendMessageRequestHeader::decode(&v1).unwrap(), h);
        // the short form carries exactly the long form's fields, under Java's short names
        let short_of = [
            ("producerGroup", "a"),
            ("topic", "b"),
            ("defaultTopic", "c"),
            ("defaultTopicQueueNums", "d"),
            ("queueId", "e"),
            ("sysFlag", "f"),
            ("bornTimestamp", "g"),
            ("flag", "h"),
            ("properties", "i"),
            ("reconsumeTimes", "j"),
            ("unitMode", "k"),
            ("maxReconsumeTimes", "l"),
            ("batch", "m"),
            ("bname", "n"),
        ];
        assert_eq!(v1.len(), v2.len());
        for (long, short) in short_of {
            assert_eq!(v1.get(long), v2.get(short), "{long} / {short}");
        }
    }

    #[test]
    fn missing_and_malformed_fields() {
        let mut f = ExtFields::new();
        f.insert("topic", "T");
        assert_eq!(
            TopicQueueRequestHeader::decode(&f),
            Err(ProtocolError::MissingField("queueId"))
        );
        f.insert("queueId", "x1");
        assert!(matches!(
            TopicQueueRequestHeader::decode(&f),
            Err(ProtocolError::InvalidField {
                field: "queueId",
                ..
            })
        ));
        f.insert("queueId", "3");
        assert_eq!(
            TopicQueueRequestHeader::decode(&f).unwrap(),
            TopicQueueRequestHeader {
                topic: "T".into(),
                queue_id: 3
            }
        );
    }
}
