//! VIEW_MESSAGE_BY_ID (33). QUERY_MESSAGE (12) comes with the index file.

use ferrocket_protocol::header::ViewMessageRequestHeader;
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
