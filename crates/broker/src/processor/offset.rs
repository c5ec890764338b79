//! Offsets: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15), GET_MAX_OFFSET (30),
//! GET_MIN_OFFSET (31), SEARCH_OFFSET_BY_TIMESTAMP (29), GET_EARLIEST_MSG_STORETIME (32).

use ferrocket_protocol::header::{
    GetEarliestMsgStoretimeResponseHeader, OffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    SearchOffsetRequestHeader, TopicQueueRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use ferrocket_protocol::{RemotingCommand, ResponseCode as R};
use ferrocket_remoting::Channel;
use ferrocket_store::MessageStore;

use super::{ok, reply, try_header};
use crate::broker::BrokerInner;

fn offset_reply(offset: i64) -> RemotingCommand {
    ok().with_header(&OffsetResponseHeader { offset })
}

pub async fn query_consumer_offset(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: QueryConsumerOffsetRequestHeader = try_header!(req);
    if let Some(o) = b.offsets.query(&h.consumer_group, &h.topic, h.queue_id) {
        return Some(offset_reply(o));
    }
    // A new group on a queue that still holds its first message starts at 0 (as the Java broker
    // does while that message is in memory), so nothing sent before the first rebalance is lost.
    let min = b.store.min_offset_in_queue(&h.topic, h.queue_id);
    if h.set_zero_if_not_found != Some(false)
        && min <= 0
        && first_message_is_recent(b, &h.topic, h.queue_id)
    {
        return Some(offset_reply(0));
    }
    Some(reply(
        R::QUERY_NOT_FOUND,
        "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
    ))
}

/// Whether message 0 of the queue lies within the hot part of the commit log (Java:
/// `checkInMemByConsumeOffset`, 40% of physical memory behind the write position).
fn first_message_is_recent(b: &BrokerInner, topic: &str, queue_id: i32) -> bool {
    if b.store.max_offset_in_queue(topic, queue_id) <= 0 {
        return true; // empty queue: starting at 0 loses nothing
    }
    let phy = b.store.commit_log_offset_in_queue(topic, queue_id, 0);
    let behind = b.store.max_phy_offset().saturating_sub(phy);
    behind as u64 <= total_memory() / 100 * 40
}

fn total_memory() -> u64 {
    static MEM: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *MEM.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            })
            .map(|kb| kb * 1024)
            .unwrap_or(8 << 30)
    })
}

pub async fn update_consumer_offset(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: UpdateConsumerOffsetRequestHeader = try_header!(req);
    if b.groups.get(&h.consumer_group).is_none()
        && b.groups
            .find(&h.consumer_group, b.config.auto_create_subscription_group)
            .is_none()
    {
        return Some(reply(
            R::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group not exist, {}", h.consumer_group),
        ));
    }
    if !b.topics.contains(&h.topic) {
        return Some(reply(
            R::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please!", h.topic),
        ));
    }
    b.offsets
        .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    Some(ok())
}

pub async fn get_max_offset(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: TopicQueueRequestHeader = try_header!(req);
    Some(offset_reply(
        b.store.max_offset_in_queue(&h.topic, h.queue_id),
    ))
}

pub async fn get_min_offset(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: TopicQueueRequestHeader = try_header!(req);
    Some(offset_reply(
        b.store.min_offset_in_queue(&h.topic, h.queue_id),
    ))
}

pub async fn search_offset_by_timestamp(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: SearchOffsetRequestHeader = try_header!(req);
    Some(offset_reply(b.store.offset_in_queue_by_time(
        &h.topic,
        h.queue_id,
        h.timestamp,
    )))
}

pub async fn get_earliest_msg_storetime(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: TopicQueueRequestHeader = try_header!(req);
    let timestamp = b.store.earliest_message_time(&h.topic, h.queue_id);
    Some(ok().with_header(&GetEarliestMsgStoretimeResponseHeader { timestamp }))
}
