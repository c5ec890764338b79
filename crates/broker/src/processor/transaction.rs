//! END_TRANSACTION (37): commit or roll back a half message.

use ferrocket_protocol::header::EndTransactionRequestHeader;
use ferrocket_protocol::message::record::RecordView;
use ferrocket_protocol::message::{property, sys_flag};
use ferrocket_protocol::{RemotingCommand, ResponseCode as R};
use ferrocket_remoting::Channel;
use ferrocket_store::MessageStore;

use super::{ok, reply, try_header};
use crate::broker::BrokerInner;
use crate::transaction;
use crate::util::now_ms;

pub async fn end_transaction(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: EndTransactionRequestHeader = try_header!(req);
    let kind = h.commit_or_rollback;
    if kind != sys_flag::TRANSACTION_COMMIT_TYPE && kind != sys_flag::TRANSACTION_ROLLBACK_TYPE {
        // UNKNOW (0): the check service will ask again later.
        return None;
    }
    let Some(record) = b.store.look_message_by_offset(h.commit_log_offset) else {
        return Some(reply(
            R::SYSTEM_ERROR,
            "Find prepared transaction message failed",
        ));
    };
    let Ok(half) = RecordView::parse(&record) else {
        return Some(reply(
            R::SYSTEM_ERROR,
            "Find prepared transaction message failed",
        ));
    };
    if half.topic() != ferrocket_protocol::names::TRANS_HALF_TOPIC {
        return Some(reply(
            R::SYSTEM_ERROR,
            "The message at that offset is not a prepared transaction message",
        ));
    }
    if half.property(property::PRODUCER_GROUP) != Some(h.producer_group.as_str()) {
        return Some(reply(R::SYSTEM_ERROR, "The producer group wrong"));
    }
    if half.queue_offset() != h.tran_state_table_offset {
        return Some(reply(
            R::SYSTEM_ERROR,
            "The transaction state table offset wrong",
        ));
    }
    if half.commitlog_offset() != h.commit_log_offset {
        return Some(reply(R::SYSTEM_ERROR, "The commit log offset wrong"));
    }
    if !h.from_transaction_check {
        if let Some(secs) = half
            .property(property::CHECK_IMMUNITY_TIME_IN_SECONDS)
            .and_then(|s| s.parse::<i64>().ok())
        {
            let immunity = (secs * 1000).max(b.config.transaction_time_out as i64);
            if now_ms() - half.store_timestamp() > immunity {
                return Some(reply(
                    R::ILLEGAL_OPERATION,
                    "the transaction is past its check immunity time",
                ));
            }
        }
    }
    if kind == sys_flag::TRANSACTION_COMMIT_TYPE {
        let Some(msg) = transaction::committed_message(b, &half) else {
            return Some(reply(
                R::SYSTEM_ERROR,
                "the prepared message has no REAL_TOPIC",
            ));
        };
        let put = b.store.put_message(msg).await;
        if !put.status.is_stored() {
            return Some(reply(
                R::SYSTEM_ERROR,
                format!("storing the committed message failed: {:?}", put.status),
            ));
        }
        tracing::debug!(offset = h.commit_log_offset, "transaction committed");
    }
    let op = transaction::write_op(b, half.queue_offset()).await;
    if !op.status.is_stored() {
        tracing::warn!(status = ?op.status, "writing the transaction op entry failed; the check service will ask again");
    }
    Some(ok())
}
