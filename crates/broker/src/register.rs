//! Registration with the nameservers: at start, every `registerNameServerPeriod` (bounded to
//! 10–60 s as RocketMQ does), and at once when a topic changes.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::body::{encode_json, RegisterBrokerBody, TopicConfigSerializeWrapper};
use ferrocket_protocol::header::{RegisterBrokerRequestHeader, UnRegisterBrokerRequestHeader};
use ferrocket_protocol::{RemotingCommand, RequestCode};

use crate::broker::BrokerInner;

fn namesrv_addrs(inner: &BrokerInner) -> Vec<String> {
    inner
        .config
        .namesrv_addr
        .as_deref()
        .unwrap_or("")
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub async fn run(inner: Arc<BrokerInner>) {
    let period = Duration::from_millis(
        inner
            .config
            .register_name_server_period
            .clamp(10_000, 60_000),
    );
    loop {
        register_all(&inner).await;
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = inner.register_now.notified() => {}
        }
    }
}

/// Ask the registration loop to register now (after a topic change).
pub fn trigger(inner: &BrokerInner) {
    inner.register_now.notify_one();
}

pub async fn register_all(inner: &BrokerInner) {
    let addrs = namesrv_addrs(inner);
    if addrs.is_empty() {
        return;
    }
    let mut wrapper: TopicConfigSerializeWrapper = inner.topics.wrapper();
    let broker_perm = inner.config.broker_permission;
    if broker_perm & 6 != 6 {
        for t in wrapper.topic_config_table.values_mut() {
            t.perm &= broker_perm;
        }
    }
    let body = encode_json(&RegisterBrokerBody {
        filter_server_list: vec![],
        topic_config_serialize_wrapper: wrapper,
    });
    let crc = (crc32fast::hash(&body) & 0x7FFF_FFFF) as i32;
    let header = RegisterBrokerRequestHeader {
        broker_name: inner.config.broker_name.clone(),
        broker_addr: inner.broker_addr.clone(),
        cluster_name: inner.config.broker_cluster_name.clone(),
        ha_server_addr: Some(format!(
            "{}:{}",
            inner.config.broker_ip2, inner.config.ha_listen_port
        )),
        broker_id: inner.config.broker_id,
        heartbeat_timeout_millis: Some(inner.config.channel_expired_timeout as i64),
        enable_acting_master: Some(false),
        compressed: false,
        body_crc32: Some(crc),
    };
    let body = bytes::Bytes::from(body);
    for addr in addrs {
        let req = RemotingCommand::request(RequestCode::REGISTER_BROKER)
            .with_header(&header)
            .with_body(body.clone());
        match inner
            .namesrv
            .invoke(&addr, req, Duration::from_secs(24))
            .await
        {
            Ok(r) if r.code == 0 => tracing::debug!(namesrv = %addr, "registered"),
            Ok(r) => {
                tracing::warn!(namesrv = %addr, code = r.code, remark = ?r.remark, "register refused")
            }
            Err(e) => tracing::warn!(namesrv = %addr, error = %e, "register failed"),
        }
    }
}

pub async fn unregister(inner: &BrokerInner) {
    let header = UnRegisterBrokerRequestHeader {
        broker_name: inner.config.broker_name.clone(),
        broker_addr: inner.broker_addr.clone(),
        cluster_name: inner.config.broker_cluster_name.clone(),
        broker_id: inner.config.broker_id,
    };
    for addr in namesrv_addrs(inner) {
        let req = RemotingCommand::request(RequestCode::UNREGISTER_BROKER).with_header(&header);
        if let Err(e) = inner
            .namesrv
            .invoke(&addr, req, Duration::from_secs(3))
            .await
        {
            tracing::warn!(namesrv = %addr, error = %e, "unregister failed");
        }
    }
}
