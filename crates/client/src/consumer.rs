//! Consumer requests shared by [`crate::PullConsumer`] and [`crate::PushConsumer`] (Java
//! `PullAPIWrapper` + the consumer half of `MQClientAPIImpl`): PULL_MESSAGE, offsets
//! (14/15/29/30/31), GET_CONSUMER_LIST_BY_GROUP and CONSUMER_SEND_MSG_BACK.
//!
//! Pulls go to the master of the queue's broker (a slave only when no master is known);
//! `suggestWhichBrokerId` is not followed.

use std::time::Duration;

use ferrocket_protocol::body::{decode_json, ConsumerIdList, MessageQueue};
use ferrocket_protocol::header::{
    ConsumerGroupRequestHeader, ConsumerSendMsgBackRequestHeader, OffsetResponseHeader,
    PullMessageRequestHeader, PullMessageResponseHeader, QueryConsumerOffsetRequestHeader,
    SearchOffsetRequestHeader, TopicQueueRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use ferrocket_protocol::message::MessageExt;
use ferrocket_protocol::{RequestCode, ResponseCode};

use crate::error::ClientError;
use crate::instance::{ClientInstance, API_TIMEOUT};
use crate::message::{decode_pulled, PullResult, PullStatus, TagFilter};

/// PullSysFlag bits (spec §4.2).
pub(crate) mod pull_flag {
    pub const COMMIT_OFFSET: i32 = 0x1;
    pub const SUSPEND: i32 = 0x2;
    pub const SUBSCRIPTION: i32 = 0x4;
}

/// Java `MixAll.DEFAULT_CONSUMER_GROUP`: the unset group, refused at start as Java does.
pub(crate) const DEFAULT_CONSUMER_GROUP: &str = "DEFAULT_CONSUMER";

/// Validate a consumer group name.
pub(crate) fn check_group(group: &str) -> Result<(), ClientError> {
    ferrocket_protocol::names::validate_group(group).map_err(ClientError::InvalidArgument)?;
    if group == DEFAULT_CONSUMER_GROUP {
        return Err(ClientError::InvalidArgument(format!(
            "consumer group can not be {DEFAULT_CONSUMER_GROUP}, set the config's group"
        )));
    }
    Ok(())
}

/// Offset update/query timeout (5 s).
pub(crate) const OFFSET_TIMEOUT: Duration = Duration::from_secs(5);
/// CONSUMER_SEND_MSG_BACK timeout (5 s).
pub(crate) const SEND_BACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a group without a committed offset starts (Java `ConsumeFromWhere`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsumeFromWhere {
    /// The queue's max offset: only messages sent from now on (Java's default).
    #[default]
    LastOffset,
    /// Offset 0 (the broker corrects it to the min offset).
    FirstOffset,
    /// The first message stored at or after this time (ms since the epoch).
    Timestamp(i64),
}

impl ConsumeFromWhere {
    pub(crate) fn wire_name(self) -> &'static str {
        match self {
            ConsumeFromWhere::LastOffset => "CONSUME_FROM_LAST_OFFSET",
            ConsumeFromWhere::FirstOffset => "CONSUME_FROM_FIRST_OFFSET",
            ConsumeFromWhere::Timestamp(_) => "CONSUME_FROM_TIMESTAMP",
        }
    }
}

/// Everything one PULL_MESSAGE needs.
pub(crate) struct PullSpec<'a> {
    pub group: &'a str,
    pub queue: &'a MessageQueue,
    pub filter: &'a TagFilter,
    pub sub_version: i64,
    pub offset: i64,
    pub max_nums: i32,
    pub sys_flag: i32,
    pub commit_offset: i64,
    pub suspend: Duration,
    pub timeout: Duration,
}

/// Address to read `queue` from: its broker's master, else any of its slaves.
async fn read_addr(client: &ClientInstance, queue: &MessageQueue) -> Result<String, ClientError> {
    if let Some(a) = client.read_addr(&queue.broker_name) {
        return Ok(a);
    }
    client.update_route(&queue.topic).await?;
    client
        .read_addr(&queue.broker_name)
        .ok_or_else(|| ClientError::BrokerNotFound(queue.broker_name.clone()))
}

/// Address of `queue`'s master (offsets and send-back go there only).
async fn master_addr(client: &ClientInstance, queue: &MessageQueue) -> Result<String, ClientError> {
    if let Some(a) = client.master_addr(&queue.broker_name) {
        return Ok(a);
    }
    client.update_route(&queue.topic).await?;
    client.require_master(&queue.broker_name)
}

/// PULL_MESSAGE (11) and the Java client's handling of codes 0/19/20/21.
pub(crate) async fn pull(
    client: &ClientInstance,
    spec: PullSpec<'_>,
) -> Result<PullResult, ClientError> {
    let addr = read_addr(client, spec.queue).await?;
    let header = PullMessageRequestHeader {
        consumer_group: spec.group.to_owned(),
        topic: spec.queue.topic.clone(),
        queue_id: spec.queue.queue_id,
        queue_offset: spec.offset,
        max_msg_nums: spec.max_nums,
        sys_flag: spec.sys_flag,
        commit_offset: Some(spec.commit_offset),
        suspend_timeout_millis: Some(spec.suspend.as_millis() as i64),
        subscription: Some(spec.filter.expression.clone()),
        sub_version: Some(spec.sub_version),
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
        bname: Some(spec.queue.broker_name.clone()),
    };
    let cmd = client
        .request(RequestCode::PULL_MESSAGE)
        .with_header(&header);
    let resp = client.invoke(&addr, cmd, spec.timeout).await?;
    let status = match resp.code {
        ResponseCode::SUCCESS => PullStatus::Found,
        ResponseCode::PULL_NOT_FOUND => PullStatus::NoNewMsg,
        ResponseCode::PULL_RETRY_IMMEDIATELY => PullStatus::NoMatchedMsg,
        ResponseCode::PULL_OFFSET_MOVED => PullStatus::OffsetIllegal,
        _ => return Err(ClientError::response(&addr, &resp)),
    };
    let h: PullMessageResponseHeader = resp.decode_header()?;
    let messages: Vec<MessageExt> = if status == PullStatus::Found {
        decode_pulled(&resp.body, spec.queue.queue_id, spec.filter)
    } else {
        Vec::new()
    };
    Ok(PullResult {
        status,
        next_begin_offset: h.next_begin_offset,
        min_offset: h.min_offset,
        max_offset: h.max_offset,
        messages,
    })
}

/// QUERY_CONSUMER_OFFSET (14): `None` when the group has no offset for the queue (22).
///
/// With `zero_if_not_found` left to the broker (Java's default) a Java broker answers 0 instead of
/// 22 for a young queue whose first message is still in memory; `Some(false)` asks for the truth.
pub(crate) async fn query_offset(
    client: &ClientInstance,
    group: &str,
    queue: &MessageQueue,
    zero_if_not_found: Option<bool>,
) -> Result<Option<i64>, ClientError> {
    let addr = master_addr(client, queue).await?;
    let mut cmd = client
        .request(RequestCode::QUERY_CONSUMER_OFFSET)
        .with_header(&QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            set_zero_if_not_found: zero_if_not_found,
        });
    cmd.put_ext("bname", queue.broker_name.clone());
    let resp = client.invoke(&addr, cmd, OFFSET_TIMEOUT).await?;
    match resp.code {
        ResponseCode::SUCCESS => Ok(Some(resp.decode_header::<OffsetResponseHeader>()?.offset)),
        ResponseCode::QUERY_NOT_FOUND => Ok(None),
        _ => Err(ClientError::response(&addr, &resp)),
    }
}

/// UPDATE_CONSUMER_OFFSET (15), synchronous or oneway (the periodic persister's way).
pub(crate) async fn update_offset(
    client: &ClientInstance,
    group: &str,
    queue: &MessageQueue,
    offset: i64,
    oneway: bool,
) -> Result<(), ClientError> {
    let addr = master_addr(client, queue).await?;
    let mut cmd = client
        .request(RequestCode::UPDATE_CONSUMER_OFFSET)
        .with_header(&UpdateConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            commit_offset: offset,
        });
    cmd.put_ext("bname", queue.broker_name.clone());
    if oneway {
        return client.invoke_oneway(&addr, cmd).await;
    }
    client
        .invoke_ok(&addr, cmd, OFFSET_TIMEOUT)
        .await
        .map(|_| ())
}

/// GET_MAX_OFFSET (30) / GET_MIN_OFFSET (31).
pub(crate) async fn queue_offset(
    client: &ClientInstance,
    queue: &MessageQueue,
    max: bool,
) -> Result<i64, ClientError> {
    let addr = master_addr(client, queue).await?;
    let code = if max {
        RequestCode::GET_MAX_OFFSET
    } else {
        RequestCode::GET_MIN_OFFSET
    };
    let mut cmd = client.request(code).with_header(&TopicQueueRequestHeader {
        topic: queue.topic.clone(),
        queue_id: queue.queue_id,
    });
    if max {
        cmd.put_ext("committed", "true");
    }
    cmd.put_ext("bname", queue.broker_name.clone());
    let resp = client.invoke_ok(&addr, cmd, API_TIMEOUT).await?;
    Ok(resp.decode_header::<OffsetResponseHeader>()?.offset)
}

/// SEARCH_OFFSET_BY_TIMESTAMP (29), boundary LOWER: first offset stored at or after `ts_ms`.
pub(crate) async fn search_offset(
    client: &ClientInstance,
    queue: &MessageQueue,
    ts_ms: i64,
) -> Result<i64, ClientError> {
    let addr = master_addr(client, queue).await?;
    let mut cmd = client
        .request(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP)
        .with_header(&SearchOffsetRequestHeader {
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            timestamp: ts_ms,
            boundary_type: Some("LOWER".into()),
        });
    cmd.put_ext("bname", queue.broker_name.clone());
    let resp = client.invoke_ok(&addr, cmd, API_TIMEOUT).await?;
    Ok(resp.decode_header::<OffsetResponseHeader>()?.offset)
}

/// GET_CONSUMER_LIST_BY_GROUP (38) to `addr`; the ids come back sorted.
pub(crate) async fn consumer_ids(
    client: &ClientInstance,
    addr: &str,
    group: &str,
) -> Result<Vec<String>, ClientError> {
    let cmd = client
        .request(RequestCode::GET_CONSUMER_LIST_BY_GROUP)
        .with_header(&ConsumerGroupRequestHeader {
            consumer_group: group.to_owned(),
        });
    let resp = client.invoke_ok(addr, cmd, API_TIMEOUT).await?;
    let mut list: ConsumerIdList = decode_json(&resp.body)?;
    list.consumer_id_list.sort();
    list.consumer_id_list.dedup();
    Ok(list.consumer_id_list)
}

/// CONSUMER_SEND_MSG_BACK (36) for a message pulled from `queue`.
pub(crate) async fn send_back(
    client: &ClientInstance,
    group: &str,
    queue: &MessageQueue,
    msg: &MessageExt,
    delay_level: i32,
    max_reconsume_times: i32,
) -> Result<(), ClientError> {
    let addr = master_addr(client, queue).await?;
    let mut cmd = client
        .request(RequestCode::CONSUMER_SEND_MSG_BACK)
        .with_header(&ConsumerSendMsgBackRequestHeader {
            offset: msg.commitlog_offset,
            group: group.to_owned(),
            delay_level,
            origin_msg_id: Some(
                msg.uniq_key()
                    .map_or_else(|| msg.offset_msg_id(), str::to_owned),
            ),
            origin_topic: Some(msg.topic.clone()),
            unit_mode: false,
            max_reconsume_times: Some(max_reconsume_times),
        });
    cmd.put_ext("bname", queue.broker_name.clone());
    client
        .invoke_ok(&addr, cmd, SEND_BACK_TIMEOUT)
        .await
        .map(|_| ())
}
