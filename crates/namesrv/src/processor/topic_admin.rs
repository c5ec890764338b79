//! Topic maintenance (spec §7.8): 216 DELETE_TOPIC_IN_NAMESRV, 217 REGISTER_TOPIC_IN_NAMESRV,
//! 205 WIPE_WRITE_PERM_OF_BROKER and 327 ADD_WRITE_PERM_OF_BROKER.

use ferrocket_protocol::body::{decode_json, TopicRouteData};
use ferrocket_protocol::header::{
    AddWritePermOfBrokerResponseHeader, BrokerNameRequestHeader,
    DeleteTopicFromNamesrvRequestHeader, TopicRequestHeader, WipeWritePermOfBrokerResponseHeader,
};
use ferrocket_protocol::{RemotingCommand, ResponseCode};
use ferrocket_remoting::Channel;

use super::{bad_header, error, success, Namesrv};

pub(crate) fn delete_topic_in_namesrv(
    ns: &Namesrv,
    ch: &Channel,
    req: &RemotingCommand,
) -> RemotingCommand {
    let h: DeleteTopicFromNamesrvRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    tracing::info!(remote = %ch.remote_addr(), topic = %h.topic, cluster = ?h.cluster_name, "delete topic");
    ns.route.delete_topic(&h.topic, h.cluster_name.as_deref());
    success()
}

/// Only the body's `queueDatas` are used; brokers must be registered (otherwise nothing changes
/// and the answer is still 0, as in Java).
pub(crate) fn register_topic_in_namesrv(
    ns: &Namesrv,
    _ch: &Channel,
    req: &RemotingCommand,
) -> RemotingCommand {
    let h: TopicRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if req.body.is_empty() {
        return success();
    }
    let route: TopicRouteData = match decode_json(&req.body) {
        Ok(r) => r,
        Err(e) => return error(ResponseCode::SYSTEM_ERROR, e.to_string()),
    };
    ns.route.register_topic(&h.topic, &route.queue_datas);
    success()
}

pub(crate) fn wipe_write_perm_of_broker(
    ns: &Namesrv,
    ch: &Channel,
    req: &RemotingCommand,
) -> RemotingCommand {
    let h: BrokerNameRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let wipe_topic_count = ns.route.wipe_write_perm_of_broker(&h.broker_name);
    tracing::info!(remote = %ch.remote_addr(), broker = %h.broker_name, topics = wipe_topic_count, "wipe write perm of broker");
    success().with_header(&WipeWritePermOfBrokerResponseHeader { wipe_topic_count })
}

pub(crate) fn add_write_perm_of_broker(
    ns: &Namesrv,
    ch: &Channel,
    req: &RemotingCommand,
) -> RemotingCommand {
    let h: BrokerNameRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let add_topic_count = ns.route.add_write_perm_of_broker(&h.broker_name);
    tracing::info!(remote = %ch.remote_addr(), broker = %h.broker_name, topics = add_topic_count, "add write perm of broker");
    success().with_header(&AddWritePermOfBrokerResponseHeader { add_topic_count })
}
