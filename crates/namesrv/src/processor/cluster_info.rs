//! 106 GET_BROKER_CLUSTER_INFO (spec §7.7): every broker and cluster, legacy fastjson form.

use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

use super::{success, Namesrv};

pub(crate) fn get_broker_cluster_info(
    ns: &Namesrv,
    _ch: &Channel,
    _req: &RemotingCommand,
) -> RemotingCommand {
    success().with_body(ns.route.cluster_info().to_json())
}
