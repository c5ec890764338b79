//! Admin requests (mqadmin / DefaultMQAdminExt).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ferrocket_protocol::body::{
    decode_json, ConsumeStats, ConsumerConnection, GroupList, KVTable, MessageQueue, OffsetWrapper,
    ProducerConnection, ResetOffsetBody, SubscriptionGroupConfig, TopicConfig, TopicList,
    TopicOffset, TopicStatsTable,
};
use ferrocket_protocol::header::{
    ConsumerGroupRequestHeader, CreateTopicRequestHeader, DeleteSubscriptionGroupRequestHeader,
    GetAllTopicConfigResponseHeader, GetConsumeStatsRequestHeader,
    GetConsumerRunningInfoRequestHeader, GetProducerConnectionListRequestHeader,
    ResetOffsetRequestHeader, TopicRequestHeader,
};
use ferrocket_protocol::names::{self, perm};
use ferrocket_protocol::{codes::version, RemotingCommand, RequestCode, ResponseCode as R};
use ferrocket_remoting::Channel;
use ferrocket_store::MessageStore;

use super::{ok, reply, try_header};
use crate::broker::BrokerInner;

pub async fn update_and_create_topic(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: CreateTopicRequestHeader = try_header!(req);
    if let Err(remark) = names::validate_topic(&h.topic) {
        return Some(reply(R::INVALID_PARAMETER, remark));
    }
    if names::is_not_allowed_send_topic(&h.topic) || h.topic == names::AUTO_CREATE_TOPIC_KEY_TOPIC {
        return Some(reply(
            R::INVALID_PARAMETER,
            format!("The topic[{}] is conflict with system topic.", h.topic),
        ));
    }
    if !perm::is_valid(h.perm) {
        return Some(reply(
            R::INVALID_PARAMETER,
            format!("invalid perm {}", h.perm),
        ));
    }
    if h.read_queue_nums < 0
        || h.write_queue_nums < 0
        || h.read_queue_nums.max(h.write_queue_nums) == 0
    {
        return Some(reply(
            R::INVALID_PARAMETER,
            "queue numbers must be positive",
        ));
    }
    let mut cfg = TopicConfig {
        topic_name: h.topic.clone(),
        read_queue_nums: h.read_queue_nums,
        write_queue_nums: h.write_queue_nums,
        perm: h.perm,
        topic_filter_type: h
            .topic_filter_type
            .clone()
            .unwrap_or_else(|| "SINGLE_TAG".into()),
        topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
        order: h.order,
        ..Default::default()
    };
    if let Some(attrs) = h.attributes.as_deref() {
        for a in attrs.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            if let Some(kv) = a.strip_prefix('+') {
                if let Some((k, v)) = kv.split_once('=') {
                    cfg.attributes.insert(format!("+{k}"), v.to_owned());
                }
            }
        }
    }
    match b.topics.upsert(cfg) {
        Ok(changed) => {
            if changed {
                tracing::info!(topic = %h.topic, read = h.read_queue_nums, write = h.write_queue_nums, perm = h.perm, "topic created or updated");
                crate::register::register_all(b).await;
            }
            Some(ok())
        }
        Err(e) => Some(reply(
            R::SYSTEM_ERROR,
            format!("persisting topic config failed: {e}"),
        )),
    }
}

pub async fn delete_topic(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: TopicRequestHeader = try_header!(req);
    if let Err(remark) = names::validate_topic(&h.topic) {
        return Some(reply(R::INVALID_PARAMETER, remark));
    }
    if let Err(e) = b.topics.delete(&h.topic) {
        return Some(reply(
            R::SYSTEM_ERROR,
            format!("persisting topic config failed: {e}"),
        ));
    }
    b.offsets.remove_topic(&h.topic);
    b.store.delete_topics(&[h.topic.as_str()]);
    crate::register::register_all(b).await;
    Some(ok())
}

pub async fn get_all_topic_config(
    b: &BrokerInner,
    _ch: Channel,
    _req: RemotingCommand,
) -> Option<RemotingCommand> {
    let wrapper = b.topics.wrapper();
    let total = wrapper.topic_config_table.len() as i32;
    let mut json = serde_json::to_value(&wrapper).unwrap_or_default();
    if let Some(o) = json.as_object_mut() {
        o.entry("mappingDataVersion")
            .or_insert_with(|| serde_json::to_value(&wrapper.data_version).unwrap_or_default());
        o.entry("topicQueueMappingDetailMap")
            .or_insert_with(|| serde_json::json!({}));
        o.entry("topicQueueMappingInfoMap")
            .or_insert_with(|| serde_json::json!({}));
    }
    Some(
        ok().with_header(&GetAllTopicConfigResponseHeader {
            total_topic_num: Some(total),
        })
        .with_body(serde_json::to_vec(&json).unwrap_or_default()),
    )
}

pub async fn get_topic_config(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: TopicRequestHeader = try_header!(req);
    match b.topics.get(&h.topic) {
        Some(cfg) => {
            let body = serde_json::json!({ "topicConfig": cfg });
            Some(ok().with_body(serde_json::to_vec(&body).unwrap_or_default()))
        }
        None => Some(reply(
            R::TOPIC_NOT_EXIST,
            format!("No topic in this broker. topic: {}", h.topic),
        )),
    }
}

pub async fn get_topic_stats_info(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: TopicRequestHeader = try_header!(req);
    let Some(cfg) = b.topics.get(&h.topic) else {
        return Some(reply(
            R::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", h.topic),
        ));
    };
    let mut table = TopicStatsTable::default();
    for q in 0..cfg.read_queue_nums.max(cfg.write_queue_nums) {
        let max = b.store.max_offset_in_queue(&h.topic, q);
        let min = b.store.min_offset_in_queue(&h.topic, q);
        let last = if max > 0 {
            b.store.message_store_timestamp(&h.topic, q, max - 1)
        } else {
            0
        };
        table.offset_table.insert(
            MessageQueue::new(&h.topic, &b.config.broker_name, q),
            TopicOffset {
                last_update_timestamp: last.max(0),
                max_offset: max,
                min_offset: min,
            },
        );
    }
    Some(ok().with_body(table.to_json()))
}

pub async fn get_broker_runtime_info(
    b: &BrokerInner,
    _ch: Channel,
    _req: RemotingCommand,
) -> Option<RemotingCommand> {
    use std::sync::atomic::Ordering;
    let mut t: BTreeMap<String, String> = b.store.runtime_info().into_iter().collect();
    let put_tps = b.stats.put_tps_x100.load(Ordering::Relaxed) as f64 / 100.0;
    let get_tps = b.stats.get_tps_x100.load(Ordering::Relaxed) as f64 / 100.0;
    t.insert("brokerVersionDesc".into(), version::desc(version::CURRENT));
    t.insert("brokerVersion".into(), version::CURRENT.to_string());
    t.insert(
        "putTps".into(),
        format!("{put_tps:.2} {put_tps:.2} {put_tps:.2}"),
    );
    t.insert(
        "getTransferredTps".into(),
        format!("{get_tps:.2} {get_tps:.2} {get_tps:.2}"),
    );
    t.insert(
        "getFoundTps".into(),
        format!("{get_tps:.2} {get_tps:.2} {get_tps:.2}"),
    );
    t.insert(
        "msgPutTotalTodayNow".into(),
        b.stats.put_msgs.load(Ordering::Relaxed).to_string(),
    );
    t.insert(
        "msgGetTotalTodayNow".into(),
        b.stats.get_msgs.load(Ordering::Relaxed).to_string(),
    );
    t.insert("msgPutTotalYesterdayMorning".into(), "0".into());
    t.insert("msgPutTotalTodayMorning".into(), "0".into());
    t.insert("msgGetTotalYesterdayMorning".into(), "0".into());
    t.insert("msgGetTotalTodayMorning".into(), "0".into());
    for k in [
        "sendThreadPoolQueueSize",
        "pullThreadPoolQueueSize",
        "ackThreadPoolQueueSize",
        "queryThreadPoolQueueSize",
        "sendThreadPoolQueueHeadWaitTimeMills",
        "pullThreadPoolQueueHeadWaitTimeMills",
        "ackThreadPoolQueueHeadWaitTimeMills",
        "queryThreadPoolQueueHeadWaitTimeMills",
        "pageCacheLockTimeMills",
        "timerReadBehind",
        "timerOffsetBehind",
        "timerCongestNum",
        "timerEnqueueTps",
        "timerDequeueTps",
    ] {
        t.entry(k.into()).or_insert_with(|| "0".into());
    }
    t.insert(
        "sendThreadPoolQueueCapacity".into(),
        b.config.send_thread_pool_queue_capacity.to_string(),
    );
    t.insert(
        "pullThreadPoolQueueCapacity".into(),
        b.config.pull_thread_pool_queue_capacity.to_string(),
    );
    t.insert("brokerActive".into(), "true".into());
    t.insert("bootTimestamp".into(), b.boot_ms.to_string());
    let earliest = t
        .get("earliestMessageTimeStamp")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    t.insert("earliestMessageTimeStamp".into(), earliest.to_string());
    let ratio = t
        .get("commitLogDiskRatio")
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    t.insert("commitLogDiskRatio".into(), ratio.to_string());
    let (consumers, producers) = b.clients.counts();
    t.insert("consumerGroupCount".into(), consumers.to_string());
    t.insert("producerGroupCount".into(), producers.to_string());
    Some(ok().with_body(serde_json::to_vec(&KVTable { table: t }).unwrap_or_default()))
}

pub async fn get_broker_config(
    b: &BrokerInner,
    _ch: Channel,
    _req: RemotingCommand,
) -> Option<RemotingCommand> {
    let text = ferrocket_protocol::properties_text::format(&b.config.to_properties());
    let dv = serde_json::to_string(&b.topics.data_version()).unwrap_or_default();
    let mut resp = ok().with_body(text.into_bytes());
    resp.put_ext("version", dv);
    Some(resp)
}

pub async fn get_consume_stats(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: GetConsumeStatsRequestHeader = try_header!(req);
    let topics: Vec<String> = if let Some(list) = h.topic_list.as_deref().filter(|l| !l.is_empty())
    {
        list.split(';')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    } else if let Some(t) = h.topic.as_deref().filter(|t| !t.is_empty()) {
        vec![t.to_owned()]
    } else {
        let mut topics = b.offsets.topics_of_group(&h.consumer_group);
        if let Some(g) = b.clients.consumer_group(&h.consumer_group) {
            if !g.subscriptions.is_empty() {
                topics.retain(|t| g.subscriptions.contains_key(t));
            }
        }
        topics
    };
    let mut stats = ConsumeStats::default();
    for topic in topics {
        let Some(cfg) = b.topics.get(&topic) else {
            continue;
        };
        for q in 0..cfg.read_queue_nums {
            let broker_offset = b.store.max_offset_in_queue(&topic, q).max(0);
            let consumer_offset = b
                .offsets
                .query(&h.consumer_group, &topic, q)
                .unwrap_or(0)
                .max(0);
            let pull_offset = b
                .offsets
                .pull_offset(&h.consumer_group, &topic, q)
                .unwrap_or(0)
                .max(consumer_offset);
            let last_timestamp = if consumer_offset > 0 {
                b.store
                    .message_store_timestamp(&topic, q, consumer_offset - 1)
                    .max(0)
            } else {
                0
            };
            stats.offset_table.insert(
                MessageQueue::new(&topic, &b.config.broker_name, q),
                OffsetWrapper {
                    broker_offset,
                    consumer_offset,
                    last_timestamp,
                    pull_offset,
                },
            );
        }
    }
    Some(ok().with_body(stats.to_json()))
}

pub async fn get_consumer_connection_list(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: ConsumerGroupRequestHeader = try_header!(req);
    let Some(g) = b.clients.consumer_group(&h.consumer_group) else {
        return Some(reply(
            R::CONSUMER_NOT_ONLINE,
            format!("the consumer group[{}] not online", h.consumer_group),
        ));
    };
    let body = ConsumerConnection {
        connection_set: g.channels.values().map(|c| c.connection()).collect(),
        consume_from_where: Some(g.consume_from_where.clone()),
        consume_type: Some(g.consume_type.clone()),
        message_model: Some(g.message_model.clone()),
        subscription_table: g.subscriptions.clone(),
    };
    Some(ok().with_body(serde_json::to_vec(&body).unwrap_or_default()))
}

pub async fn get_producer_connection_list(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: GetProducerConnectionListRequestHeader = try_header!(req);
    let producers = b.clients.producer_group(&h.producer_group);
    if producers.is_empty() {
        return Some(reply(
            R::SYSTEM_ERROR,
            format!("the producer group[{}] not exist", h.producer_group),
        ));
    }
    let body = ProducerConnection {
        connection_set: producers.iter().map(|c| c.connection()).collect(),
    };
    Some(ok().with_body(serde_json::to_vec(&body).unwrap_or_default()))
}

pub async fn query_topic_consume_by_who(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: TopicRequestHeader = try_header!(req);
    let mut groups: BTreeSet<String> = b.clients.groups_subscribing(&h.topic).into_iter().collect();
    groups.extend(b.offsets.groups_of_topic(&h.topic));
    Some(ok().with_body(serde_json::to_vec(&GroupList { group_list: groups }).unwrap_or_default()))
}

pub async fn update_and_create_subscription_group(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let cfg: SubscriptionGroupConfig = match decode_json(&req.body) {
        Ok(c) => c,
        Err(e) => {
            return Some(reply(
                R::SYSTEM_ERROR,
                format!("bad SubscriptionGroupConfig: {e}"),
            ))
        }
    };
    if let Err(remark) = names::validate_group(&cfg.group_name) {
        return Some(reply(R::INVALID_PARAMETER, remark));
    }
    match b.groups.upsert(cfg) {
        Ok(()) => Some(ok()),
        Err(e) => Some(reply(
            R::SYSTEM_ERROR,
            format!("persisting subscription group failed: {e}"),
        )),
    }
}

pub async fn get_all_subscription_group_config(
    b: &BrokerInner,
    _ch: Channel,
    _req: RemotingCommand,
) -> Option<RemotingCommand> {
    Some(ok().with_body(serde_json::to_vec(&b.groups.wrapper()).unwrap_or_default()))
}

pub async fn delete_subscription_group(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: DeleteSubscriptionGroupRequestHeader = try_header!(req);
    if let Err(e) = b.groups.delete(&h.group_name) {
        return Some(reply(
            R::SYSTEM_ERROR,
            format!("persisting subscription group failed: {e}"),
        ));
    }
    if h.clean_offset {
        b.offsets.remove_group(&h.group_name);
    }
    Some(ok())
}

pub async fn get_all_consumer_offset(
    b: &BrokerInner,
    _ch: Channel,
    _req: RemotingCommand,
) -> Option<RemotingCommand> {
    // Same shape as consumerOffset.json.
    let _ = b.offsets.flush(true);
    match std::fs::read(
        b.config
            .store
            .root_dir
            .join("config")
            .join("consumerOffset.json"),
    ) {
        Ok(bytes) => Some(ok().with_body(bytes)),
        Err(e) => Some(reply(
            R::SYSTEM_ERROR,
            format!("reading consumer offsets failed: {e}"),
        )),
    }
}

pub async fn get_system_topic_list(
    b: &BrokerInner,
    _ch: Channel,
    _req: RemotingCommand,
) -> Option<RemotingCommand> {
    let topics: BTreeSet<String> = b
        .topics
        .all()
        .into_keys()
        .filter(|t| {
            names::is_not_allowed_send_topic(t)
                || *t == b.config.broker_cluster_name
                || *t == b.config.broker_name
        })
        .collect();
    Some(
        ok().with_body(
            serde_json::to_vec(&TopicList {
                broker_addr: None,
                topic_list: topics,
            })
            .unwrap_or_default(),
        ),
    )
}

/// INVOKE_BROKER_TO_RESET_OFFSET (222): compute new offsets, tell the group's consumers (220),
/// and store them.
pub async fn reset_offset(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: ResetOffsetRequestHeader = try_header!(req);
    let Some(cfg) = b.topics.get(&h.topic) else {
        return Some(reply(
            R::TOPIC_NOT_EXIST,
            format!("[reset-offset] topic[{}] not exist", h.topic),
        ));
    };
    let mut body = ResetOffsetBody::default();
    let queues: Vec<i32> = match h.queue_id {
        Some(q) if q >= 0 => vec![q],
        _ => (0..cfg.write_queue_nums).collect(),
    };
    for q in queues {
        let target = match h.offset {
            Some(o) if o >= 0 => o,
            _ if h.timestamp < 0 => b.store.max_offset_in_queue(&h.topic, q),
            _ => b.store.offset_in_queue_by_time(&h.topic, q, h.timestamp),
        };
        let current = b.offsets.query(&h.group, &h.topic, q).unwrap_or(0);
        let new = if h.is_force || target < current {
            target
        } else {
            current
        };
        b.offsets.commit(&h.group, &h.topic, q, new);
        body.offset_table
            .insert(MessageQueue::new(&h.topic, &b.config.broker_name, q), new);
    }
    let channels = b.clients.consumer_channels(&h.group);
    if channels.is_empty() {
        return Some(reply(
            R::CONSUMER_NOT_ONLINE,
            format!(
                "Consumer not online, so can not reset offset, Group: {} Topic: {}",
                h.group, h.topic
            ),
        ));
    }
    let json = body.to_json();
    for ch in channels {
        let mut fwd = RemotingCommand::request(RequestCode::RESET_CONSUMER_CLIENT_OFFSET)
            .with_body(json.clone().into_bytes());
        fwd.ext_fields = req.ext_fields.clone();
        let _ = ch.oneway(fwd).await;
    }
    Some(ok().with_body(json.into_bytes()))
}

/// GET_CONSUMER_RUNNING_INFO (307): forwarded to the client and its answer returned.
pub async fn get_consumer_running_info(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: GetConsumerRunningInfoRequestHeader = try_header!(req);
    let Some(g) = b.clients.consumer_group(&h.consumer_group) else {
        return Some(reply(
            R::SYSTEM_ERROR,
            format!(
                "The Consumer <{}> <{}> not online",
                h.consumer_group, h.client_id
            ),
        ));
    };
    let Some(client) = g.channels.values().find(|c| c.client_id == h.client_id) else {
        return Some(reply(
            R::SYSTEM_ERROR,
            format!(
                "The Consumer <{}> <{}> not online",
                h.consumer_group, h.client_id
            ),
        ));
    };
    let mut fwd = RemotingCommand::request(RequestCode::GET_CONSUMER_RUNNING_INFO)
        .with_body(req.body.clone());
    fwd.ext_fields = req.ext_fields.clone();
    match client.channel.request(fwd, Duration::from_secs(10)).await {
        Ok(mut resp) => {
            resp.flag = 0;
            Some(resp)
        }
        Err(e) => Some(reply(
            R::CONSUME_MSG_TIMEOUT,
            format!(
                "consumer <{}> <{}> Timeout: {e}",
                h.consumer_group, h.client_id
            ),
        )),
    }
}
