//! 901 GET_BROKER_MEMBER_GROUP: the addresses registered under one broker name.

use ferrocket_protocol::header::GetBrokerMemberGroupRequestHeader;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

use super::{bad_header, success, Namesrv};
use crate::json::broker_member_group_json;

pub(crate) fn get_broker_member_group(
    ns: &Namesrv,
    _ch: &Channel,
    req: &RemotingCommand,
) -> RemotingCommand {
    let h: GetBrokerMemberGroupRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let group = ns
        .route
        .broker_member_group(&h.cluster_name, &h.broker_name);
    success().with_body(broker_member_group_json(&group))
}
