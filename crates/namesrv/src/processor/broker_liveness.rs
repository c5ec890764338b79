//! 322 QUERY_DATA_VERSION and 904 BROKER_HEARTBEAT (spec §7.4): a registered broker says it is
//! alive without re-sending its topics.

use ferrocket_protocol::body::{decode_json, encode_json, DataVersion};
use ferrocket_protocol::header::{
    BrokerHeartbeatRequestHeader, QueryDataVersionRequestHeader, QueryDataVersionResponseHeader,
};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

use super::{bad_header, success, Namesrv};

/// Answers whether the broker's DataVersion differs from the registered one (header `changed`)
/// and the registered one as body; refreshes the broker's timestamp.
pub(crate) fn query_data_version(
    ns: &Namesrv,
    _ch: &Channel,
    req: &RemotingCommand,
) -> RemotingCommand {
    let h: QueryDataVersionRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    // Java decodes a missing or broken body as null, which always counts as changed.
    let theirs: Option<DataVersion> = decode_json(&req.body).ok();
    let changed =
        ns.route
            .is_broker_topic_config_changed(&h.cluster_name, &h.broker_addr, theirs.as_ref());
    ns.route
        .update_broker_info_update_timestamp(&h.cluster_name, &h.broker_addr);
    let mut resp = success().with_header(&QueryDataVersionResponseHeader { changed });
    if let Some(ours) = ns
        .route
        .query_broker_data_version(&h.cluster_name, &h.broker_addr)
    {
        resp = resp.with_body(encode_json(&ours));
    }
    resp
}

pub(crate) fn broker_heartbeat(
    ns: &Namesrv,
    _ch: &Channel,
    req: &RemotingCommand,
) -> RemotingCommand {
    let h: BrokerHeartbeatRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    ns.route
        .update_broker_info_update_timestamp(&h.cluster_name, &h.broker_addr);
    success()
}
