//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361), with long polling.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::BytesMut;
use std::sync::Arc;

use ferrocket_filter::{
    ExpressionCache, SqlExpression, TagExpression, EXPRESSION_SQL92, EXPRESSION_TAG,
};
use ferrocket_protocol::header::{PullMessageRequestHeader, PullMessageResponseHeader};
use ferrocket_protocol::message::record::RecordView;
use ferrocket_protocol::names::perm;
use ferrocket_protocol::{RemotingCommand, ResponseCode as R};
use ferrocket_remoting::Channel;
use ferrocket_store::{GetMessageResult, GetMessageStatus, MessageFilter, MessageStore};

use super::{reply, try_header};
use crate::broker::BrokerInner;

/// PullSysFlag bits.
pub const FLAG_COMMIT_OFFSET: i32 = 0x1;
pub const FLAG_SUSPEND: i32 = 0x2;
pub const FLAG_SUBSCRIPTION: i32 = 0x4;

/// The subscription's filter, as the store applies it.
enum Filter {
    /// Tags: hash at consume-queue level, exact tag at record level (so hash collisions never
    /// reach a consumer).
    Tag(TagExpression),
    /// SQL92 over all the properties of the record.
    Sql(Arc<SqlExpression>),
}

impl MessageFilter for Filter {
    fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool {
        match self {
            Filter::Tag(t) => t.matches_code(tags_code),
            Filter::Sql(_) => true,
        }
    }
    fn is_matched_by_commit_log(&self, record: &[u8]) -> bool {
        match self {
            Filter::Tag(t) if t.is_all() => true,
            Filter::Tag(t) => match RecordView::parse(record) {
                Ok(v) => t.matches_tag(v.property(ferrocket_protocol::message::property::TAGS)),
                Err(_) => false,
            },
            Filter::Sql(sql) => match RecordView::parse(record) {
                Ok(v) => sql.matches(&v.properties()),
                Err(_) => false,
            },
        }
    }
}

/// Build the filter of a subscription, or the reply RocketMQ gives when it cannot.
fn build_filter(
    b: &BrokerInner,
    expr_type: &str,
    expr: &str,
) -> Result<Filter, Box<RemotingCommand>> {
    if expr_type.is_empty() || expr_type.eq_ignore_ascii_case(EXPRESSION_TAG) {
        return Ok(Filter::Tag(TagExpression::parse(expr)));
    }
    if !expr_type.eq_ignore_ascii_case(EXPRESSION_SQL92) {
        return Err(Box::new(reply(
            R::SUBSCRIPTION_PARSE_FAILED,
            format!("unknown expression type {expr_type}"),
        )));
    }
    if !b.config.enable_property_filter {
        return Err(Box::new(reply(
            R::SYSTEM_ERROR,
            "The broker does not support consumer to filter message by SQL92",
        )));
    }
    ExpressionCache::global()
        .get_or_compile(expr)
        .map(Filter::Sql)
        .map_err(|e| {
            Box::new(reply(
                R::SUBSCRIPTION_PARSE_FAILED,
                format!("parse the consumer's subscription failed: {e}"),
            ))
        })
}

pub async fn pull_message(
    b: &BrokerInner,
    ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: PullMessageRequestHeader = try_header!(req);
    if !perm::is_readable(b.config.broker_permission) {
        return Some(forbidden(
            format!(
                "the broker[{}] pulling message is forbidden",
                b.config.broker_ip1
            ),
            1,
        ));
    }
    let Some(group) = b
        .groups
        .find(&h.consumer_group, b.config.auto_create_subscription_group)
    else {
        return Some(reply(
            R::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group [{}] does not exist, https://rocketmq.apache.org/docs/bestPractice/06FAQ", h.consumer_group),
        ));
    };
    if !group.consume_enable {
        return Some(forbidden(
            format!("subscription group no permission, {}", h.consumer_group),
            2,
        ));
    }
    let Some(topic) = b.topics.get(&h.topic) else {
        return Some(reply(
            R::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please! https://rocketmq.apache.org/docs/bestPractice/06FAQ", h.topic),
        ));
    };
    if !perm::is_readable(topic.perm) {
        return Some(forbidden(
            format!("the topic[{}] pulling message is forbidden", h.topic),
            3,
        ));
    }
    if h.queue_id < 0 || h.queue_id >= topic.read_queue_nums {
        return Some(reply(
            R::INVALID_PARAMETER,
            format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                h.queue_id,
                h.topic,
                topic.read_queue_nums,
                ch.remote_addr()
            ),
        ));
    }

    // The subscription: from the request, or the one registered by heartbeat.
    let expr_type = h
        .expression_type
        .clone()
        .unwrap_or_else(|| EXPRESSION_TAG.to_owned());
    let filter = if h.sys_flag & FLAG_SUBSCRIPTION != 0 {
        match build_filter(b, &expr_type, h.subscription.as_deref().unwrap_or("*")) {
            Ok(f) => f,
            Err(resp) => return Some(*resp),
        }
    } else {
        let Some((sub, broadcasting)) = b.clients.subscription(&h.consumer_group, &h.topic) else {
            return Some(reply(
                R::SUBSCRIPTION_NOT_EXIST,
                format!(
                    "the consumer's subscription not exist, group: {} topic: {}",
                    h.consumer_group, h.topic
                ),
            ));
        };
        if broadcasting && !group.consume_broadcast_enable {
            return Some(forbidden(
                format!(
                    "the consumer group[{}] can not consume by broadcast way",
                    h.consumer_group
                ),
                4,
            ));
        }
        if sub.sub_version < h.sub_version.unwrap_or(0) {
            return Some(reply(
                R::SUBSCRIPTION_NOT_LATEST,
                "the consumer's subscription not latest",
            ));
        }
        if sub.expression_type.is_empty()
            || sub.expression_type.eq_ignore_ascii_case(EXPRESSION_TAG)
        {
            Filter::Tag(TagExpression::from_subscription(
                &sub.sub_string,
                &sub.tags_set,
                &sub.code_set,
            ))
        } else {
            match build_filter(b, &sub.expression_type, &sub.sub_string) {
                Ok(f) => f,
                Err(resp) => return Some(*resp),
            }
        }
    };

    // The piggy-backed offset commit happens once, on first execution.
    if h.sys_flag & FLAG_COMMIT_OFFSET != 0 {
        if let Some(commit) = h.commit_offset {
            b.offsets
                .commit(&h.consumer_group, &h.topic, h.queue_id, commit);
        }
    }

    let max_nums = h.max_msg_nums.max(1);
    let max_bytes = h
        .max_msg_bytes
        .filter(|m| *m > 0)
        .map(|m| m as usize)
        .unwrap_or(usize::MAX)
        .min(128 << 20);
    let suspend = h.sys_flag & FLAG_SUSPEND != 0;
    let hold_ms = if b.config.long_polling_enable {
        h.suspend_timeout_millis.unwrap_or(15_000).clamp(0, 60_000) as u64
    } else {
        b.config.short_polling_time_mills
    };
    let deadline = tokio::time::Instant::now() + Duration::from_millis(hold_ms);
    let notify = b.hold.notifier(&h.topic, h.queue_id);
    loop {
        // Register interest before looking, so an arrival in between is not missed.
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let result = b.store.get_message(
            &h.consumer_group,
            &h.topic,
            h.queue_id,
            h.queue_offset,
            max_nums,
            max_bytes,
            Some(&filter),
        );
        let code = status_code(&result, h.queue_offset);
        let held = code == R::PULL_NOT_FOUND && suspend && tokio::time::Instant::now() < deadline;
        if !held {
            return Some(respond(
                b,
                &h,
                result,
                code,
                topic.topic_sys_flag,
                group.group_sys_flag,
            ));
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(deadline) => {}
            _ = ch.closed() => return None,
        }
    }
}

fn forbidden(remark: String, forbidden_type: i32) -> RemotingCommand {
    let mut r = reply(R::NO_PERMISSION, remark);
    r.put_ext("forbiddenType", forbidden_type.to_string());
    r
}

/// Store status → pull response code (storage spec §6.3).
fn status_code(result: &GetMessageResult, requested: i64) -> i32 {
    match result.status {
        GetMessageStatus::Found => R::SUCCESS,
        GetMessageStatus::NoMatchedMessage | GetMessageStatus::MessageWasRemoving => {
            R::PULL_RETRY_IMMEDIATELY
        }
        GetMessageStatus::NoMessageInQueue | GetMessageStatus::NoMatchedLogicQueue => {
            if requested != 0 {
                R::PULL_OFFSET_MOVED
            } else {
                R::PULL_NOT_FOUND
            }
        }
        GetMessageStatus::OffsetOverflowOne | GetMessageStatus::OffsetFoundNull => {
            R::PULL_NOT_FOUND
        }
        GetMessageStatus::OffsetOverflowBadly
        | GetMessageStatus::OffsetTooSmall
        | GetMessageStatus::OffsetReset => R::PULL_OFFSET_MOVED,
    }
}

fn status_name(s: GetMessageStatus) -> &'static str {
    match s {
        GetMessageStatus::Found => "FOUND",
        GetMessageStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
        GetMessageStatus::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
        GetMessageStatus::OffsetFoundNull => "OFFSET_FOUND_NULL",
        GetMessageStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
        GetMessageStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
        GetMessageStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
        GetMessageStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
        GetMessageStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
        GetMessageStatus::OffsetReset => "OFFSET_RESET",
    }
}

fn respond(
    b: &BrokerInner,
    h: &PullMessageRequestHeader,
    result: GetMessageResult,
    code: i32,
    topic_sys_flag: i32,
    group_sys_flag: i32,
) -> RemotingCommand {
    b.offsets.record_pull(
        &h.consumer_group,
        &h.topic,
        h.queue_id,
        result.next_begin_offset,
    );
    let header = PullMessageResponseHeader {
        suggest_which_broker_id: 0,
        next_begin_offset: result.next_begin_offset,
        min_offset: result.min_offset,
        max_offset: result.max_offset,
        offset_delta: None,
        topic_sys_flag: Some(topic_sys_flag),
        group_sys_flag: Some(group_sys_flag),
        forbidden_type: None,
    };
    let mut resp = RemotingCommand::response(code, Some(status_name(result.status).to_string()))
        .with_header(&header);
    if code == R::SUCCESS {
        b.stats
            .get_msgs
            .fetch_add(result.messages.len() as i64, Ordering::Relaxed);
        if result.messages.len() == 1 {
            resp.body = result.messages.into_iter().next().unwrap_or_default();
        } else {
            let mut body = BytesMut::with_capacity(result.buffer_total_size);
            for m in &result.messages {
                body.extend_from_slice(m);
            }
            resp.body = body.freeze();
        }
    }
    resp
}
