//! Topic lists (spec §7.8): 206 all topics, 224 by cluster, 304 "system" topics and the legacy
//! unit lists 311/312/313. Disabled lists answer 1 `disable`, as Java does.

use ferrocket_protocol::body::{encode_json, TopicList};
use ferrocket_protocol::header::GetTopicsByClusterRequestHeader;
use ferrocket_protocol::{RemotingCommand, ResponseCode};
use ferrocket_remoting::Channel;

use super::{bad_header, error, success, Namesrv};

fn list(list: TopicList) -> RemotingCommand {
    success().with_body(encode_json(&list))
}

fn disabled() -> RemotingCommand {
    error(ResponseCode::SYSTEM_ERROR, "disable")
}

pub(crate) fn get_all_topic_list(
    ns: &Namesrv,
    ch: &Channel,
    _req: &RemotingCommand,
) -> RemotingCommand {
    let enabled = ns.config.read().enable_all_topic_list;
    tracing::debug!(remote = %ch.remote_addr(), enabled, "get all topic list");
    if !enabled {
        return disabled();
    }
    list(ns.route.all_topic_list())
}

pub(crate) fn get_topics_by_cluster(
    ns: &Namesrv,
    _ch: &Channel,
    req: &RemotingCommand,
) -> RemotingCommand {
    if !ns.config.read().enable_topic_list {
        return disabled();
    }
    let h: GetTopicsByClusterRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    list(ns.route.topics_by_cluster(&h.cluster))
}

pub(crate) fn get_system_topic_list(
    ns: &Namesrv,
    _ch: &Channel,
    _req: &RemotingCommand,
) -> RemotingCommand {
    list(ns.route.system_topic_list())
}

pub(crate) fn get_unit_topic_list(
    ns: &Namesrv,
    _ch: &Channel,
    _req: &RemotingCommand,
) -> RemotingCommand {
    if !ns.config.read().enable_topic_list {
        return disabled();
    }
    list(ns.route.unit_topics())
}

pub(crate) fn get_has_unit_sub_topic_list(
    ns: &Namesrv,
    _ch: &Channel,
    _req: &RemotingCommand,
) -> RemotingCommand {
    if !ns.config.read().enable_topic_list {
        return disabled();
    }
    list(ns.route.has_unit_sub_topics())
}

pub(crate) fn get_has_unit_sub_ununit_topic_list(
    ns: &Namesrv,
    _ch: &Channel,
    _req: &RemotingCommand,
) -> RemotingCommand {
    if !ns.config.read().enable_topic_list {
        return disabled();
    }
    list(ns.route.has_unit_sub_ununit_topics())
}
