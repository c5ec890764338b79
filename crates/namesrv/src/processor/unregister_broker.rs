//! 104 UNREGISTER_BROKER: a broker shutting down removes one of its addresses.

use ferrocket_protocol::header::UnRegisterBrokerRequestHeader;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

use super::{bad_header, success, Namesrv};
use crate::route_info::BrokerUnregistration;

pub(crate) fn unregister_broker(
    ns: &Namesrv,
    _ch: &Channel,
    req: &RemotingCommand,
) -> RemotingCommand {
    let h: UnRegisterBrokerRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    ns.route.unregister_broker(BrokerUnregistration {
        cluster_name: h.cluster_name,
        broker_addr: h.broker_addr,
        broker_name: h.broker_name,
        broker_id: h.broker_id,
    });
    success()
}
