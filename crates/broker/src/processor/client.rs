//! Client life cycle: HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38),
//! CHECK_CLIENT_CONFIG (46), LOCK_BATCH_MQ (41), UNLOCK_BATCH_MQ (42), and the
//! NOTIFY_CONSUMER_IDS_CHANGED (40) the broker sends when a group's membership changes.

use std::time::Instant;

use ferrocket_filter::{ExpressionCache, EXPRESSION_SQL92, EXPRESSION_TAG};
use ferrocket_protocol::body::{
    decode_json, encode_json, CheckClientRequestBody, ConsumerIdList, HeartbeatData,
    LockBatchRequestBody, LockBatchResponseBody,
};
use ferrocket_protocol::header::{ConsumerGroupRequestHeader, UnregisterClientRequestHeader};
use ferrocket_protocol::names::{self, perm};
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode as R};
use ferrocket_remoting::Channel;

use super::{ok, reply, try_header};
use crate::broker::BrokerInner;
use crate::client::ClientChannelInfo;

macro_rules! try_body {
    ($req:expr) => {
        match decode_json(&$req.body) {
            Ok(b) => b,
            Err(e) => return Some(reply(R::SYSTEM_ERROR, format!("bad request body: {e}"))),
        }
    };
}

pub async fn heart_beat(
    b: &BrokerInner,
    ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let hb: HeartbeatData = try_body!(req);
    let info = ClientChannelInfo {
        channel: ch.clone(),
        client_id: hb.client_id.clone(),
        language: req.language,
        version: req.version,
        last_update: Instant::now(),
    };
    for data in &hb.consumer_data_set {
        let Some(group) = b
            .groups
            .find(&data.group_name, b.config.auto_create_subscription_group)
        else {
            continue;
        };
        // Every consumer group gets its retry topic, known to the nameserver.
        if group.retry_queue_nums > 0 {
            let retry = names::retry_topic(&data.group_name);
            match b.topics.find_or_create_internal(
                &retry,
                group.retry_queue_nums,
                perm::READ | perm::WRITE,
            ) {
                Ok(crate::topic::TopicLookup::Created(_)) => crate::register::trigger(b),
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(topic = %retry, error = %e, "creating retry topic failed")
                }
            }
        }
        let registered = b.clients.register_consumer(data, info.clone());
        if registered.notify
            && !data.message_model.eq_ignore_ascii_case("BROADCASTING")
            && group.notify_consumer_ids_changed_enable
        {
            tracing::info!(group = %data.group_name, client = %hb.client_id, "consumer group changed");
            notify_consumer_ids_changed(b, &data.group_name).await;
        }
    }
    for p in &hb.producer_data_set {
        b.clients.register_producer(&p.group_name, info.clone());
    }
    let mut resp = ok();
    resp.put_ext("IS_SUPPORT_HEART_BEAT_V2", "true");
    resp.put_ext("IS_SUB_CHANGE", "true");
    Some(resp)
}

/// Tell every member of `group` to rebalance (oneway, as the Java client never answers it).
pub async fn notify_consumer_ids_changed(b: &BrokerInner, group: &str) {
    let header = ConsumerGroupRequestHeader {
        consumer_group: group.to_owned(),
    };
    for ch in b.clients.consumer_channels(group) {
        let req =
            RemotingCommand::request(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED).with_header(&header);
        if let Err(e) = ch.oneway(req).await {
            tracing::debug!(channel = ?ch, error = %e, "notify consumer ids changed failed");
        }
    }
}

pub async fn unregister_client(
    b: &BrokerInner,
    ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: UnregisterClientRequestHeader = try_header!(req);
    if let Some(group) = &h.producer_group {
        b.clients.unregister_producer(group, &ch);
    }
    if let Some(group) = &h.consumer_group {
        if b.clients.unregister_consumer(group, &ch) {
            let notify = b
                .groups
                .get(group)
                .is_none_or(|g| g.notify_consumer_ids_changed_enable);
            if notify {
                notify_consumer_ids_changed(b, group).await;
            }
        }
    }
    Some(ok())
}

/// A connection closed: forget its clients, and let their groups rebalance.
pub fn channel_closed(b: &std::sync::Arc<BrokerInner>, ch: &Channel) {
    let groups = b.clients.channel_closed(ch);
    if groups.is_empty() {
        return;
    }
    let b = b.clone();
    tokio::spawn(async move {
        for g in groups {
            notify_consumer_ids_changed(&b, &g).await;
        }
    });
}

pub async fn get_consumer_list_by_group(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: ConsumerGroupRequestHeader = try_header!(req);
    let ids = b
        .clients
        .consumer_group(&h.consumer_group)
        .map(|g| g.client_ids())
        .unwrap_or_default();
    if ids.is_empty() {
        return Some(reply(
            R::SYSTEM_ERROR,
            format!("no consumer for this group, {}", h.consumer_group),
        ));
    }
    Some(ok().with_body(encode_json(&ConsumerIdList {
        consumer_id_list: ids,
    })))
}

/// CHECK_CLIENT_CONFIG: a consumer about to use a SQL92 subscription asks whether it compiles.
pub async fn check_client_config(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let body: CheckClientRequestBody = try_body!(req);
    let Some(sub) = body.subscription_data else {
        return Some(ok());
    };
    if sub.expression_type.is_empty() || sub.expression_type.eq_ignore_ascii_case(EXPRESSION_TAG) {
        return Some(ok());
    }
    if !sub.expression_type.eq_ignore_ascii_case(EXPRESSION_SQL92) {
        return Some(reply(
            R::SUBSCRIPTION_PARSE_FAILED,
            format!("unknown expression type {}", sub.expression_type),
        ));
    }
    if !b.config.enable_property_filter {
        return Some(reply(
            R::SYSTEM_ERROR,
            "The broker does not support consumer to filter message by SQL92",
        ));
    }
    match ExpressionCache::global().get_or_compile(&sub.sub_string) {
        Ok(_) => Some(ok()),
        Err(e) => Some(reply(
            R::SUBSCRIPTION_PARSE_FAILED,
            format!("parse the consumer's subscription failed: {e}"),
        )),
    }
}

pub async fn lock_batch_mq(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let body: LockBatchRequestBody = try_body!(req);
    let granted = b
        .locks
        .try_lock_batch(&body.consumer_group, &body.mq_set, &body.client_id);
    Some(ok().with_body(encode_json(&LockBatchResponseBody {
        lock_ok_mq_set: granted,
    })))
}

pub async fn unlock_batch_mq(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let body: LockBatchRequestBody = try_body!(req);
    b.locks
        .unlock_batch(&body.consumer_group, &body.mq_set, &body.client_id);
    Some(ok())
}
