//! 103 REGISTER_BROKER (spec §7.2): a broker announces itself and its topic configs.

use ferrocket_protocol::body::encode_json;
use ferrocket_protocol::header::{RegisterBrokerRequestHeader, RegisterBrokerResponseHeader};
use ferrocket_protocol::{RemotingCommand, ResponseCode};
use ferrocket_remoting::Channel;

use super::{bad_header, error, success, Namesrv};
use crate::kv::NAMESPACE_ORDER_TOPIC_CONFIG;
use crate::register_body::{body_crc32, RegisterBrokerBody};
use crate::route_info::{BrokerRegistration, RegisterBrokerResult, RegisterOutcome};

/// extField carrying the broker's zone (`MixAll.ZONE_NAME`).
pub(crate) const ZONE_NAME: &str = "__ZONE_NAME";

pub(crate) fn register_broker(
    ns: &Namesrv,
    ch: &Channel,
    req: &RemotingCommand,
) -> RemotingCommand {
    let h: RegisterBrokerRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    if let Some(expected) = h.body_crc32.filter(|&c| c != 0) {
        if body_crc32(&req.body) != expected {
            tracing::warn!(remote = %ch.remote_addr(), broker = %h.broker_name, "register broker: crc32 not match");
            return error(ResponseCode::SYSTEM_ERROR, "crc32 not match");
        }
    }
    let body = match RegisterBrokerBody::decode(&req.body, h.compressed, req.version) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(remote = %ch.remote_addr(), broker = %h.broker_name, error = %e, "bad register body");
            return error(
                ResponseCode::SYSTEM_ERROR,
                format!("Failed to decode RegisterBrokerBody: {e}"),
            );
        }
    };
    let registration = BrokerRegistration {
        cluster_name: h.cluster_name,
        broker_addr: h.broker_addr,
        broker_name: h.broker_name,
        broker_id: h.broker_id,
        ha_server_addr: h.ha_server_addr,
        zone_name: req.ext(ZONE_NAME).map(str::to_owned),
        heartbeat_timeout_millis: h.heartbeat_timeout_millis,
        enable_acting_master: h.enable_acting_master,
        data_version: body.data_version,
        topic_config_table: body.topic_config_table,
        filter_server_list: body.filter_server_list,
        static_topic_mappings: body.static_topic_mappings,
    };
    let result = match ns.route.register_broker(registration, Some(ch.clone())) {
        RegisterOutcome::Accepted(r) => r,
        // Java answers success with an empty header here.
        RegisterOutcome::Superseded => RegisterBrokerResult::default(),
        RegisterOutcome::NeedsFullRegistration => {
            return error(ResponseCode::SYSTEM_ERROR, "register broker failed")
        }
    };
    let mut resp = success().with_header(&RegisterBrokerResponseHeader {
        ha_server_addr: result.ha_server_addr,
        master_addr: result.master_addr,
    });
    if ns.config.read().return_order_topic_config_to_broker {
        if let Some(table) = ns.kv.namespace(NAMESPACE_ORDER_TOPIC_CONFIG) {
            resp = resp.with_body(encode_json(&table));
        }
    }
    resp
}
