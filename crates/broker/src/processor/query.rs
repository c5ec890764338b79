//! VIEW_MESSAGE_BY_ID (33) and QUERY_MESSAGE (12), by key or unique key through the index.

use bytes::BytesMut;
use ferrocket_protocol::header::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
use ferrocket_protocol::{RemotingCommand, ResponseCode as R};
use ferrocket_remoting::Channel;
use ferrocket_store::MessageStore;

use super::{ok, reply, try_header};
use crate::broker::BrokerInner;

pub async fn view_message_by_id(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: ViewMessageRequestHeader = try_header!(req);
    match b.store.look_message_by_offset(h.offset) {
        Some(record) => Some(ok().with_body(record)),
        None => Some(reply(
            R::SYSTEM_ERROR,
            format!("can not find message by the offset, {}", h.offset),
        )),
    }
}

/// Default number of results of a unique-key query (`defaultQueryMaxNum`).
const DEFAULT_QUERY_MAX_NUM: usize = 32;

pub async fn query_message(
    b: &BrokerInner,
    _ch: Channel,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: QueryMessageRequestHeader = try_header!(req);
    let unique = req.ext("_UNIQUE_KEY_QUERY") == Some("true");
    let max = if unique {
        DEFAULT_QUERY_MAX_NUM
    } else {
        h.max_num.clamp(1, 64) as usize
    };
    let result = b
        .store
        .query_message(&h.topic, &h.key, max, h.begin_timestamp, h.end_timestamp);
    let header = QueryMessageResponseHeader {
        index_last_update_timestamp: result.index_last_update_timestamp,
        index_last_update_phyoffset: result.index_last_update_phy_offset,
    };
    if result.messages.is_empty() {
        return Some(
            reply(
                R::QUERY_NOT_FOUND,
                "can not find message, maybe time range not correct",
            )
            .with_header(&header),
        );
    }
    let mut body = BytesMut::with_capacity(result.messages.iter().map(|m| m.len()).sum());
    for m in &result.messages {
        body.extend_from_slice(m);
    }
    Some(ok().with_header(&header).with_body(body.freeze()))
}
