//! Transactional messages (storage spec §7.5): half messages parked in
//! `RMQ_SYS_TRANS_HALF_TOPIC`, resolved by END_TRANSACTION (commit writes the real message;
//! both commit and rollback write a `d` op entry in `RMQ_SYS_TRANS_OP_HALF_TOPIC`), and a check
//! service that asks a producer of the group (CHECK_TRANSACTION_STATE, oneway) about half
//! messages left undecided for longer than `transactionTimeOut`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrocket_protocol::header::CheckTransactionStateRequestHeader;
use ferrocket_protocol::message::record::RecordView;
use ferrocket_protocol::message::{find_property, offset_msg_id, property, sys_flag, tags_code};
use ferrocket_protocol::names::{
    TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC,
};
use ferrocket_protocol::{RemotingCommand, RequestCode};
use ferrocket_store::{GetMessageStatus, MessageStore, MessageToStore, PutMessageResult};
use parking_lot::Mutex;

use crate::broker::BrokerInner;
use crate::util::{now_ms, remove_property, set_property};

/// Internal group whose consumer offsets record the check service's progress.
pub const CID_RMQ_SYS_TRANS: &str = "CID_RMQ_SYS_TRANS";
/// Tag of op entries that remove a half message.
pub const REMOVE_TAG: &str = "d";

/// In-memory view of which half-queue offsets are already decided.
#[derive(Default)]
pub struct TransactionState {
    resolved: Mutex<BTreeSet<i64>>,
    /// Next op-queue offset not yet read into `resolved`.
    op_read: Mutex<i64>,
}

/// Turn a prepared send into a half message (spec §7.5 "Prepare").
pub fn to_half(msg: &mut MessageToStore) {
    if let Some(uniq) =
        find_property(&msg.properties, property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX).map(str::to_owned)
    {
        set_property(&mut msg.properties, property::TRANSACTION_ID, &uniq);
    }
    let real_topic = std::mem::replace(&mut msg.topic, TRANS_HALF_TOPIC.to_owned());
    set_property(&mut msg.properties, property::REAL_TOPIC, &real_topic);
    set_property(
        &mut msg.properties,
        property::REAL_QUEUE_ID,
        &msg.queue_id.to_string(),
    );
    msg.queue_id = 0;
    msg.sys_flag &= !sys_flag::TRANSACTION_TYPE_MASK;
}

/// The real message a commit stores, built from the half record.
pub fn committed_message(b: &BrokerInner, half: &RecordView<'_>) -> Option<MessageToStore> {
    let mut props = String::from_utf8_lossy(half.properties_bytes()).into_owned();
    let topic = find_property(&props, property::REAL_TOPIC)?.to_owned();
    let queue_id = find_property(&props, property::REAL_QUEUE_ID)
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    remove_property(&mut props, property::REAL_TOPIC);
    remove_property(&mut props, property::REAL_QUEUE_ID);
    remove_property(&mut props, property::TRANSACTION_PREPARED);
    set_property(&mut props, property::WAIT_STORE_MSG_OK, "false");
    let sys = (half.sys_flag()
        & !(sys_flag::TRANSACTION_TYPE_MASK
            | sys_flag::BORNHOST_V6_FLAG
            | sys_flag::STOREHOSTADDRESS_V6_FLAG))
        | sys_flag::TRANSACTION_COMMIT_TYPE;
    Some(MessageToStore {
        topic,
        queue_id,
        flag: half.flag(),
        body: Bytes::copy_from_slice(half.body()),
        tags_code: tags_code(find_property(&props, property::TAGS)),
        properties: props,
        sys_flag: sys,
        born_timestamp: half.born_timestamp(),
        born_host: half.born_host(),
        store_host: b.store_host,
        reconsume_times: half.reconsume_times(),
        prepared_transaction_offset: half.commitlog_offset(),
    })
}

/// Record that the half message at `half_queue_offset` is decided.
pub async fn write_op(b: &BrokerInner, half_queue_offset: i64) -> PutMessageResult {
    let mut props = String::new();
    set_property(&mut props, property::TAGS, REMOVE_TAG);
    set_property(
        &mut props,
        property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        &b.uniq.next_id(),
    );
    set_property(&mut props, property::WAIT_STORE_MSG_OK, "false");
    let msg = MessageToStore {
        topic: TRANS_OP_HALF_TOPIC.to_owned(),
        queue_id: 0,
        flag: 0,
        body: Bytes::from(format!("{half_queue_offset},")),
        tags_code: tags_code(Some(REMOVE_TAG)),
        properties: props,
        sys_flag: 0,
        born_timestamp: now_ms(),
        born_host: b.store_host,
        store_host: b.store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    };
    let put = b.store.put_message(msg).await;
    if put.status.is_stored() {
        b.transactions.resolved.lock().insert(half_queue_offset);
    }
    put
}

/// Read op entries written since the last call into the resolved set.
fn load_ops(b: &BrokerInner, half_floor: i64) {
    let mut op_read = b.transactions.op_read.lock();
    loop {
        let r = b.store.get_message(
            CID_RMQ_SYS_TRANS,
            TRANS_OP_HALF_TOPIC,
            0,
            *op_read,
            32,
            1 << 20,
            None,
        );
        match r.status {
            GetMessageStatus::Found => {}
            GetMessageStatus::OffsetTooSmall | GetMessageStatus::OffsetOverflowBadly => {
                *op_read = r.next_begin_offset;
                continue;
            }
            _ => return,
        }
        let mut resolved = b.transactions.resolved.lock();
        for rec in &r.messages {
            let Ok(v) = RecordView::parse(rec) else {
                continue;
            };
            if v.property(property::TAGS) == Some(REMOVE_TAG) {
                for off in std::str::from_utf8(v.body()).unwrap_or("").split(',') {
                    if let Ok(o) = off.trim().parse::<i64>() {
                        if o >= half_floor {
                            resolved.insert(o);
                        }
                    }
                }
            }
        }
        *op_read = r.next_begin_offset;
    }
}

/// The check loop: every `transactionCheckInterval`, ask producers about old undecided halves.
pub async fn run_check_service(b: Arc<BrokerInner>) {
    let interval = Duration::from_millis(b.config.transaction_check_interval.max(100));
    loop {
        tokio::time::sleep(interval).await;
        check_once(&b).await;
    }
}

pub async fn check_once(b: &BrokerInner) {
    let min = b.store.min_offset_in_queue(TRANS_HALF_TOPIC, 0);
    let mut i = b
        .offsets
        .query(CID_RMQ_SYS_TRANS, TRANS_HALF_TOPIC, 0)
        .unwrap_or(min)
        .max(min);
    load_ops(b, i);
    let round_start = now_ms();
    let timeout = b.config.transaction_time_out as i64;
    'outer: loop {
        let r = b
            .store
            .get_message(CID_RMQ_SYS_TRANS, TRANS_HALF_TOPIC, 0, i, 32, 4 << 20, None);
        if r.status != GetMessageStatus::Found {
            break;
        }
        for rec in &r.messages {
            let Ok(v) = RecordView::parse(rec) else {
                break 'outer;
            };
            let q = v.queue_offset();
            if b.transactions.resolved.lock().remove(&q) {
                i = q + 1;
                continue;
            }
            if v.store_timestamp() >= round_start {
                break 'outer;
            }
            let mut props = String::from_utf8_lossy(v.properties_bytes()).into_owned();
            let checks: i32 = find_property(&props, property::TRANSACTION_CHECK_TIMES)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let age = now_ms() - v.born_timestamp();
            if checks >= b.config.transaction_check_max
                || age > b.config.store.file_reserved_time_hours as i64 * 3_600_000
            {
                tracing::warn!(
                    offset = q,
                    checks,
                    "half message discarded after too many checks"
                );
                let _ = b
                    .store
                    .put_message(copy_of(b, &v, props, TRANS_CHECK_MAX_TIME_TOPIC))
                    .await;
                i = q + 1;
                continue;
            }
            let immunity = find_property(&props, property::CHECK_IMMUNITY_TIME_IN_SECONDS)
                .and_then(|s| s.parse::<i64>().ok())
                .map(|s| (s * 1000).max(timeout))
                .unwrap_or(timeout);
            if (0..=immunity).contains(&age) {
                break 'outer; // too young, and every later one is younger
            }
            // Re-append a copy with one more check, then ask a producer about that copy.
            set_property(
                &mut props,
                property::TRANSACTION_CHECK_TIMES,
                &(checks + 1).to_string(),
            );
            let put = b
                .store
                .put_message(copy_of(b, &v, props, TRANS_HALF_TOPIC))
                .await;
            if !put.status.is_stored() {
                break 'outer;
            }
            send_check(b, &v, &put).await;
            i = q + 1;
        }
    }
    b.offsets.commit(CID_RMQ_SYS_TRANS, TRANS_HALF_TOPIC, 0, i);
    b.transactions.resolved.lock().retain(|o| *o >= i);
}

fn copy_of(b: &BrokerInner, v: &RecordView<'_>, props: String, topic: &str) -> MessageToStore {
    MessageToStore {
        topic: topic.to_owned(),
        queue_id: 0,
        flag: v.flag(),
        body: Bytes::copy_from_slice(v.body()),
        tags_code: tags_code(find_property(&props, property::TAGS)),
        properties: props,
        sys_flag: v.sys_flag() & !(sys_flag::BORNHOST_V6_FLAG | sys_flag::STOREHOSTADDRESS_V6_FLAG),
        born_timestamp: v.born_timestamp(),
        born_host: v.born_host(),
        store_host: b.store_host,
        reconsume_times: v.reconsume_times(),
        prepared_transaction_offset: v.prepared_transaction_offset(),
    }
}

async fn send_check(b: &BrokerInner, original: &RecordView<'_>, copy: &PutMessageResult) {
    let Some(group) = original.property(property::PRODUCER_GROUP) else {
        return;
    };
    let producers = b.clients.producer_group(group);
    let Some(producer) = producers.iter().find(|p| p.channel.is_active()) else {
        tracing::debug!(group, "no live producer to check a transaction with");
        return;
    };
    let Some(record) = b.store.look_message_by_offset(copy.wrote_offset) else {
        return;
    };
    let Ok(view) = RecordView::parse(&record) else {
        return;
    };
    let mut msg = view.to_message();
    if let Some(t) = msg.properties.get(property::REAL_TOPIC).cloned() {
        msg.topic = t;
    }
    if let Some(q) = msg
        .properties
        .get(property::REAL_QUEUE_ID)
        .and_then(|q| q.parse().ok())
    {
        msg.queue_id = q;
    }
    let mut body = BytesMut::new();
    if msg.encode(&mut body).is_err() {
        return;
    }
    let uniq = msg
        .properties
        .get(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
        .cloned();
    let header = CheckTransactionStateRequestHeader {
        topic: Some(TRANS_HALF_TOPIC.to_owned()),
        tran_state_table_offset: view.queue_offset(),
        commit_log_offset: view.commitlog_offset(),
        msg_id: uniq.clone(),
        transaction_id: msg
            .properties
            .get(property::TRANSACTION_ID)
            .cloned()
            .or(uniq),
        offset_msg_id: Some(offset_msg_id(b.store_host, view.commitlog_offset())),
        bname: Some(b.config.broker_name.clone()),
    };
    let req = RemotingCommand::request(RequestCode::CHECK_TRANSACTION_STATE)
        .with_header(&header)
        .with_body(body.freeze());
    if let Err(e) = producer.channel.oneway(req).await {
        tracing::debug!(group, error = %e, "sending CHECK_TRANSACTION_STATE failed");
    }
}
