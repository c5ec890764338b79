//! 105 GET_ROUTEINFO_BY_TOPIC (spec §7.5): the route of one topic, in the JSON form the
//! requester's version expects.

use std::time::Duration;

use ferrocket_protocol::body::TopicRouteData;
use ferrocket_protocol::codes::version;
use ferrocket_protocol::header::GetRouteInfoRequestHeader;
use ferrocket_protocol::{RemotingCommand, ResponseCode};
use ferrocket_remoting::Channel;

use super::register_broker::ZONE_NAME;
use super::{bad_header, error, success, Namesrv};
use crate::json::route_json;
use crate::kv::NAMESPACE_ORDER_TOPIC_CONFIG;
use crate::route_info::MASTER_ID;

/// extField asking for routes restricted to the client's zone (`MixAll.ZONE_MODE`).
const ZONE_MODE: &str = "__ZONE_MODE";
/// `FAQUrl.suggestTodo(FAQUrl.APPLY_TOPIC_URL)`, appended to the 17 remark as Java does.
const APPLY_TOPIC_TIP: &str =
    "\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details.";

pub(crate) fn get_route_info_by_topic(
    ns: &Namesrv,
    _ch: &Channel,
    req: &RemotingCommand,
) -> RemotingCommand {
    let h: GetRouteInfoRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    let (wait, order_enabled) = {
        let c = ns.config.read();
        let wait = c
            .need_wait_for_service
            .then(|| Duration::from_secs(u64::from(c.wait_seconds_for_service)));
        (wait, c.order_message_enable)
    };
    if wait.is_some_and(|w| ns.started.elapsed() < w) {
        return error(ResponseCode::SYSTEM_ERROR, "name server not ready");
    }
    let Some(mut route) = ns.route.pickup_topic_route_data(&h.topic) else {
        return error(
            ResponseCode::TOPIC_NOT_EXIST,
            format!(
                "No topic route info in name server for the topic: {}{APPLY_TOPIC_TIP}",
                h.topic
            ),
        );
    };
    if order_enabled {
        route.order_topic_conf = ns.kv.get(NAMESPACE_ORDER_TOPIC_CONFIG, &h.topic);
    }
    let zone_mode = req
        .ext(ZONE_MODE)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if let Some(zone) = req
        .ext(ZONE_NAME)
        .filter(|z| zone_mode && !z.trim().is_empty())
    {
        filter_by_zone(&mut route, zone);
    }
    let standard = req.version >= version::V4_9_4 || h.accept_standard_json_only == Some(true);
    success().with_body(route_json(&route, standard))
}

/// Zone mode (`ZoneRouteRPCHook`): keep brokers of the client's zone, and brokers whose master is
/// gone (their slaves may still serve reads).
fn filter_by_zone(route: &mut TopicRouteData, zone: &str) {
    let mut removed = Vec::new();
    route.broker_datas.retain(|bd| {
        let keep = !bd.broker_addrs.contains_key(&MASTER_ID)
            || bd
                .zone_name
                .as_deref()
                .is_some_and(|z| z.eq_ignore_ascii_case(zone));
        if !keep {
            removed.push((
                bd.broker_name.clone(),
                bd.broker_addrs.values().cloned().collect::<Vec<_>>(),
            ));
        }
        keep
    });
    for (name, addrs) in removed {
        route.queue_datas.retain(|qd| qd.broker_name != name);
        for addr in addrs {
            route.filter_server_table.remove(&addr);
        }
    }
}
