//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and
//! CONSUMER_SEND_MSG_BACK (36).

use std::sync::atomic::Ordering;

use bytes::Bytes;
use ferrocket_protocol::header::{
    ConsumerSendMsgBackRequestHeader, SendMessageRequestHeader, SendMessageResponseHeader,
};
use ferrocket_protocol::message::record::RecordView;
use ferrocket_protocol::message::{find_property, property, sys_flag, tags_code};
use ferrocket_protocol::names::{self, perm};
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode as R};
use ferrocket_remoting::Channel;
use ferrocket_store::{
    BatchToStore, MessageStore, MessageToStore, PutMessageResult, PutMessageStatus,
};

use super::{ok, reply, try_header};
use crate::broker::BrokerInner;
use crate::topic::TopicLookup;
use crate::util::{now_ms, remove_property, set_property};

/// Version ordinal from which the `maxReconsumeTimes` header is honoured (V3_4_9).
const V3_4_9: i32 = 121;

pub async fn send_message(
    b: &BrokerInner,
    ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: SendMessageRequestHeader = try_header!(req);
    let batch = req.code == RequestCode::SEND_BATCH_MESSAGE || h.batch;

    if !perm::is_writeable(b.config.broker_permission) {
        return Some(reply(
            R::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                b.config.broker_ip1
            ),
        ));
    }
    if let Err(remark) = names::validate_topic(&h.topic) {
        return Some(reply(R::INVALID_PARAMETER, remark));
    }
    if names::is_not_allowed_send_topic(&h.topic) {
        return Some(reply(
            R::NO_PERMISSION,
            format!("Sending message to topic[{}] is forbidden.", h.topic),
        ));
    }

    // The topic, auto-created from the default topic (or as a retry topic) when allowed.
    let lookup = if names::is_retry_topic(&h.topic) {
        let group = &h.topic[names::RETRY_GROUP_TOPIC_PREFIX.len()..];
        let Some(g) = b
            .groups
            .find(group, b.config.auto_create_subscription_group)
        else {
            return Some(reply(
                R::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!("subscription group not exist, {group}"),
            ));
        };
        b.topics
            .find_or_create_internal(&h.topic, g.retry_queue_nums, perm::READ | perm::WRITE)
    } else {
        b.topics.find_or_auto_create(
            &h.topic,
            h.default_topic.as_deref(),
            h.default_topic_queue_nums
                .unwrap_or(b.config.default_topic_queue_nums),
            b.config.auto_create_topic_enable,
        )
    };
    let topic_config = match lookup {
        Ok(TopicLookup::Existing(c)) => c,
        Ok(TopicLookup::Created(c)) => {
            tracing::info!(topic = %c.topic_name, queues = c.write_queue_nums, "topic auto-created");
            crate::register::trigger(b);
            c
        }
        Ok(TopicLookup::Missing) => {
            return Some(reply(
                R::TOPIC_NOT_EXIST,
                format!("topic[{}] not exist, apply first please! https://rocketmq.apache.org/docs/bestPractice/06FAQ", h.topic),
            ))
        }
        Err(e) => return Some(reply(R::SYSTEM_ERROR, format!("persisting topic config failed: {e}"))),
    };
    if !perm::is_writeable(topic_config.perm) {
        return Some(reply(
            R::NO_PERMISSION,
            format!("the topic[{}] sending message is forbidden", h.topic),
        ));
    }
    let queue_id = h.queue_id.unwrap_or(-1);
    let queue_limit = topic_config
        .read_queue_nums
        .max(topic_config.write_queue_nums);
    if queue_id >= queue_limit {
        return Some(reply(
            R::INVALID_PARAMETER,
            format!("request queueId[{queue_id}] is illegal, topic:[{}] topicConfig.writeQueueNums:[{}]", h.topic, topic_config.write_queue_nums),
        ));
    }
    let queue_id = if queue_id < 0 {
        random_queue(topic_config.write_queue_nums)
    } else {
        queue_id
    };
    let mut sys_flag = h.sys_flag.unwrap_or(0);
    if topic_config.topic_filter_type == "MULTI_TAG" {
        sys_flag |= sys_flag::MULTI_TAGS_FLAG;
    }
    let max = b.config.store.max_message_size;
    if req.body.len() > max {
        return Some(reply(
            R::MESSAGE_ILLEGAL,
            format!(
                "the message body size over max value, MAX: {max}, actual: {}",
                req.body.len()
            ),
        ));
    }
    if req.body.is_empty() {
        return Some(reply(R::MESSAGE_ILLEGAL, "the message body is empty"));
    }

    if batch {
        if names::is_retry_topic(&h.topic) {
            return Some(reply(
                R::MESSAGE_ILLEGAL,
                format!("batch request does not support retry group {}", h.topic),
            ));
        }
        let put = b
            .store
            .put_messages(BatchToStore {
                topic: h.topic.clone(),
                queue_id,
                sys_flag,
                born_timestamp: h.born_timestamp.unwrap_or_else(now_ms),
                born_host: ch.remote_addr(),
                store_host: b.store_host,
                body: req.body.clone(),
            })
            .await;
        return Some(put_response(b, &put, queue_id, None));
    }

    let mut topic = h.topic.clone();
    let mut queue_id = queue_id;
    let mut props = h.properties.clone().unwrap_or_default();
    let reconsume_times = h.reconsume_times.unwrap_or(0);

    if names::is_retry_topic(&topic) {
        let group = topic[names::RETRY_GROUP_TOPIC_PREFIX.len()..].to_owned();
        let g = b
            .groups
            .find(&group, b.config.auto_create_subscription_group)
            .unwrap_or_default();
        let max_reconsume = match h.max_reconsume_times {
            Some(m) if req.version > V3_4_9 => m,
            _ => g.retry_max_times,
        };
        // Past the retry budget, or an orderly group sending its own retry: dead-letter it.
        if reconsume_times > max_reconsume || b.locks.has_live_lock(&group) {
            topic = names::dlq_topic(&group);
            queue_id = 0;
            if let Err(e) = b
                .topics
                .find_or_create_internal(&topic, 1, perm::READ | perm::WRITE)
            {
                return Some(reply(
                    R::SYSTEM_ERROR,
                    format!("creating {topic} failed: {e}"),
                ));
            }
            crate::register::trigger(b);
            remove_property(&mut props, property::DELAY_TIME_LEVEL);
        }
    }
    set_property(&mut props, property::CLUSTER, &b.config.broker_cluster_name);
    if find_property(&props, property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX).is_none() {
        set_property(
            &mut props,
            property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
            &b.uniq.next_id(),
        );
    }
    let uniq = find_property(&props, property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX).map(str::to_owned);
    let tags = tags_code(find_property(&props, property::TAGS));

    let mut msg = MessageToStore {
        topic,
        queue_id,
        flag: h.flag.unwrap_or(0),
        body: req.body.clone(),
        properties: props,
        tags_code: tags,
        sys_flag,
        born_timestamp: h.born_timestamp.unwrap_or_else(now_ms),
        born_host: ch.remote_addr(),
        store_host: b.store_host,
        reconsume_times,
        prepared_transaction_offset: 0,
    };
    if find_property(&msg.properties, property::TRANSACTION_PREPARED) == Some("true") {
        if names::is_retry_topic(&msg.topic) || names::is_dlq_topic(&msg.topic) {
            return Some(reply(
                R::MESSAGE_ILLEGAL,
                "a retry or dead-letter message cannot be transactional",
            ));
        }
        crate::transaction::to_half(&mut msg);
    } else {
        crate::schedule::divert_delayed(b, &mut msg);
        if let crate::timer::TimerDecision::Illegal(remark) =
            crate::timer::divert_timer(b, &mut msg)
        {
            return Some(reply(R::MESSAGE_ILLEGAL, remark));
        }
    }
    let put = b.store.put_message(msg).await;
    Some(put_response(b, &put, queue_id, uniq))
}

fn random_queue(n: i32) -> i32 {
    use std::sync::atomic::AtomicU32;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    (NEXT.fetch_add(1, Ordering::Relaxed) % n.max(1) as u32) as i32
}

/// Map a put result to the send response RocketMQ gives.
fn put_response(
    b: &BrokerInner,
    put: &PutMessageResult,
    queue_id: i32,
    uniq: Option<String>,
) -> RemotingCommand {
    let code = match put.status {
        PutMessageStatus::PutOk => R::SUCCESS,
        PutMessageStatus::FlushDiskTimeout => R::FLUSH_DISK_TIMEOUT,
        PutMessageStatus::FlushSlaveTimeout => R::FLUSH_SLAVE_TIMEOUT,
        PutMessageStatus::SlaveNotAvailable => R::SLAVE_NOT_AVAILABLE,
        PutMessageStatus::CreateMappedFileFailed => {
            return reply(R::SYSTEM_ERROR, "create mapped file failed, server is busy or broken.")
        }
        PutMessageStatus::MessageIllegal | PutMessageStatus::PropertiesSizeExceeded => {
            return reply(
                R::MESSAGE_ILLEGAL,
                format!("the message is illegal, maybe msg body or properties length not matched. msg body length limit {}B, msg properties length limit 32KB.", b.config.store.max_message_size),
            )
        }
        PutMessageStatus::ServiceNotAvailable => {
            return reply(R::SERVICE_NOT_AVAILABLE, "service not available now. It may be caused by one of the following reasons: the broker's disk is full, messages are put to the slave, message store has been shut down, etc.")
        }
        PutMessageStatus::OsPageCacheBusy => {
            return reply(R::SYSTEM_BUSY, "[PC_SYNCHRONIZED]broker busy, start flow control for a while")
        }
        #[allow(unreachable_patterns)]
        _ => return reply(R::SYSTEM_ERROR, format!("UNKNOWN_ERROR: {:?}", put.status)),
    };
    b.stats
        .put_msgs
        .fetch_add(put.msg_num.max(1) as i64, Ordering::Relaxed);
    let header = SendMessageResponseHeader {
        msg_id: put.msg_id.clone(),
        queue_id,
        queue_offset: put.queue_offset,
        transaction_id: uniq,
        batch_uniq_id: None,
    };
    let mut resp = RemotingCommand::response(code, None).with_header(&header);
    resp.put_ext(property::MSG_REGION, &b.config.region_id);
    resp.put_ext(
        property::TRACE_SWITCH,
        if b.config.trace_on { "true" } else { "false" },
    );
    resp
}

/// CONSUMER_SEND_MSG_BACK: a consumer failed a message; store it again in `%RETRY%<group>`
/// with a delay (or in `%DLQ%<group>` once the retry budget is spent).
pub async fn consumer_send_msg_back(
    b: &BrokerInner,
    ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: ConsumerSendMsgBackRequestHeader = try_header!(req);
    let Some(group_cfg) = b
        .groups
        .find(&h.group, b.config.auto_create_subscription_group)
    else {
        return Some(reply(
            R::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group not exist, {}", h.group),
        ));
    };
    if !perm::is_writeable(b.config.broker_permission) {
        return Some(reply(
            R::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                b.config.broker_ip1
            ),
        ));
    }
    if group_cfg.retry_queue_nums <= 0 {
        return Some(ok());
    }
    let Some(record) = b.store.look_message_by_offset(h.offset) else {
        return Some(reply(
            R::SYSTEM_ERROR,
            format!("look message by offset failed, {}", h.offset),
        ));
    };
    let view = match RecordView::parse(&record) {
        Ok(v) => v,
        Err(e) => {
            return Some(reply(
                R::SYSTEM_ERROR,
                format!("look message by offset failed, {}: {e}", h.offset),
            ))
        }
    };
    let mut props = String::from_utf8_lossy(view.properties_bytes()).into_owned();
    let origin_topic = view.topic().to_owned();
    if find_property(&props, property::RETRY_TOPIC).is_none() {
        set_property(&mut props, property::RETRY_TOPIC, &origin_topic);
    }
    if find_property(&props, property::ORIGIN_MESSAGE_ID).is_none() {
        let origin = h.origin_msg_id.clone().unwrap_or_else(|| {
            ferrocket_protocol::message::offset_msg_id(view.store_host(), view.commitlog_offset())
        });
        set_property(&mut props, property::ORIGIN_MESSAGE_ID, &origin);
    }
    set_property(&mut props, property::WAIT_STORE_MSG_OK, "false");
    let reconsume = view.reconsume_times();
    let max_reconsume = match h.max_reconsume_times {
        Some(m) if req.version > V3_4_9 => m,
        _ => group_cfg.retry_max_times,
    };
    let (topic, queue_id) = if reconsume >= max_reconsume || h.delay_level < 0 {
        let dlq = names::dlq_topic(&h.group);
        if let Err(e) = b
            .topics
            .find_or_create_internal(&dlq, 1, perm::READ | perm::WRITE)
        {
            return Some(reply(
                R::SYSTEM_ERROR,
                format!("creating {dlq} failed: {e}"),
            ));
        }
        remove_property(&mut props, property::DELAY_TIME_LEVEL);
        (dlq, 0)
    } else {
        let retry = names::retry_topic(&h.group);
        let cfg = match b.topics.find_or_create_internal(
            &retry,
            group_cfg.retry_queue_nums,
            perm::READ | perm::WRITE,
        ) {
            Ok(l) => l.config().cloned(),
            Err(e) => {
                return Some(reply(
                    R::SYSTEM_ERROR,
                    format!("creating {retry} failed: {e}"),
                ))
            }
        };
        let level = if h.delay_level == 0 {
            3 + reconsume
        } else {
            h.delay_level
        };
        set_property(&mut props, property::DELAY_TIME_LEVEL, &level.to_string());
        let queues = cfg.map(|c| c.write_queue_nums).unwrap_or(1);
        (retry, random_queue(queues))
    };
    crate::register::trigger(b);
    let mut msg = MessageToStore {
        topic,
        queue_id,
        flag: view.flag(),
        body: Bytes::copy_from_slice(view.body()),
        tags_code: tags_code(find_property(&props, property::TAGS)),
        properties: props,
        sys_flag: view.sys_flag()
            & !(sys_flag::BORNHOST_V6_FLAG | sys_flag::STOREHOSTADDRESS_V6_FLAG),
        born_timestamp: view.born_timestamp(),
        born_host: ch.remote_addr(),
        store_host: b.store_host,
        reconsume_times: reconsume + 1,
        prepared_transaction_offset: 0,
    };
    crate::schedule::divert_delayed(b, &mut msg);
    let put = b.store.put_message(msg).await;
    Some(match put.status {
        PutMessageStatus::PutOk => ok(),
        other => reply(R::SYSTEM_ERROR, format!("{other:?}")),
    })
}
