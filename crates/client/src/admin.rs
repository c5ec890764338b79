//! [`Admin`]: the few `DefaultMQAdminExt` calls tools and tests need (spec §4.4, §7.7, §9).

use std::collections::BTreeMap;

use ferrocket_protocol::body::{
    decode_json, ClusterInfo, ConsumeStats, TopicConfig, TopicRouteData, TopicStatsTable,
};
use ferrocket_protocol::header::{
    CreateTopicRequestHeader, GetConsumeStatsRequestHeader, TopicRequestHeader,
};
use ferrocket_protocol::{names, RequestCode};
use ferrocket_remoting::Router;

use crate::error::ClientError;
use crate::instance::{ClientInstance, API_TIMEOUT};

/// Administration through the nameservers and brokers. Stateless apart from its connections.
pub struct Admin {
    client: ClientInstance,
}

impl Admin {
    /// An admin client for the nameservers `host:port;host2:port`.
    pub fn new(namesrv_addr: &str) -> Result<Admin, ClientError> {
        Ok(Admin {
            client: ClientInstance::new(namesrv_addr, None, Router::new())?,
        })
    }

    /// Create or update a topic. `target` is a broker address (`host:port`, like
    /// `mqadmin updateTopic -b`) or a cluster name (every master of the cluster, like `-c`).
    /// Returns the broker addresses that were updated.
    pub async fn create_topic(
        &self,
        target: &str,
        cfg: &TopicConfig,
    ) -> Result<Vec<String>, ClientError> {
        names::validate_topic(&cfg.topic_name).map_err(ClientError::InvalidArgument)?;
        let addrs = if target.contains(':') {
            vec![target.to_owned()]
        } else {
            let info = self.cluster_info().await?;
            let brokers = info.cluster_addr_table.get(target).ok_or_else(|| {
                ClientError::InvalidArgument(format!("cluster {target} is not known"))
            })?;
            let masters: Vec<String> = brokers
                .iter()
                .filter_map(|b| info.broker_addr_table.get(b))
                .filter_map(|bd| bd.master_addr().map(str::to_owned))
                .collect();
            if masters.is_empty() {
                return Err(ClientError::InvalidArgument(format!(
                    "cluster {target} has no master"
                )));
            }
            masters
        };
        let attributes = cfg
            .attributes
            .iter()
            .map(|(k, v)| match k.strip_prefix('-') {
                Some(deleted) => format!("-{deleted}"),
                None => format!("+{}={v}", k.trim_start_matches('+')),
            })
            .collect::<Vec<_>>()
            .join(",");
        let header = CreateTopicRequestHeader {
            topic: cfg.topic_name.clone(),
            default_topic: Some(names::AUTO_CREATE_TOPIC_KEY_TOPIC.into()),
            read_queue_nums: cfg.read_queue_nums,
            write_queue_nums: cfg.write_queue_nums,
            perm: cfg.perm,
            topic_filter_type: Some(cfg.topic_filter_type.clone()),
            topic_sys_flag: Some(cfg.topic_sys_flag),
            order: cfg.order,
            attributes: Some(attributes),
            force: false,
        };
        for addr in &addrs {
            let cmd = self
                .client
                .request(RequestCode::UPDATE_AND_CREATE_TOPIC)
                .with_header(&header);
            self.client.invoke_ok(addr, cmd, API_TIMEOUT).await?;
        }
        Ok(addrs)
    }

    /// GET_BROKER_CLUSTER_INFO.
    pub async fn cluster_info(&self) -> Result<ClusterInfo, ClientError> {
        let cmd = self.client.request(RequestCode::GET_BROKER_CLUSTER_INFO);
        let (addr, resp) = self.client.invoke_namesrv(cmd).await?;
        if resp.code != 0 {
            return Err(ClientError::response(&addr, &resp));
        }
        Ok(decode_json(&resp.body)?)
    }

    /// GET_ROUTEINFO_BY_TOPIC; [`ClientError::NoRoute`] if the nameservers know none.
    pub async fn topic_route(&self, topic: &str) -> Result<TopicRouteData, ClientError> {
        self.client
            .fetch_route(topic)
            .await?
            .ok_or_else(|| ClientError::NoRoute(topic.to_owned()))
    }

    /// GET_TOPIC_STATS_INFO from every master of the topic's route, merged.
    pub async fn topic_stats(&self, topic: &str) -> Result<TopicStatsTable, ClientError> {
        let route = self.topic_route(topic).await?;
        let mut out = TopicStatsTable::default();
        for addr in masters(&route) {
            let cmd = self
                .client
                .request(RequestCode::GET_TOPIC_STATS_INFO)
                .with_header(&TopicRequestHeader {
                    topic: topic.to_owned(),
                });
            let resp = self.client.invoke_ok(&addr, cmd, API_TIMEOUT).await?;
            let part = TopicStatsTable::from_json(&resp.body)?;
            out.offset_table.extend(part.offset_table);
            out.topic_put_tps += part.topic_put_tps;
        }
        Ok(out)
    }

    /// GET_CONSUME_STATS of `group` from every master of the route of `%RETRY%<group>` (or of
    /// `topic` when given, restricting the stats to it), merged as `mqadmin consumerProgress`.
    pub async fn consume_stats(
        &self,
        group: &str,
        topic: Option<&str>,
    ) -> Result<ConsumeStats, ClientError> {
        let route_topic = topic.map_or_else(|| names::retry_topic(group), str::to_owned);
        let route = self.topic_route(&route_topic).await?;
        let mut out = ConsumeStats::default();
        let mut merged: BTreeMap<_, _> = BTreeMap::new();
        for addr in masters(&route) {
            let cmd = self
                .client
                .request(RequestCode::GET_CONSUME_STATS)
                .with_header(&GetConsumeStatsRequestHeader {
                    consumer_group: group.to_owned(),
                    topic: topic.map(str::to_owned),
                    topic_list: None,
                });
            let resp = self.client.invoke_ok(&addr, cmd, API_TIMEOUT * 3).await?;
            let part = ConsumeStats::from_json(&resp.body)?;
            merged.extend(part.offset_table);
            out.consume_tps += part.consume_tps;
        }
        out.offset_table = merged;
        Ok(out)
    }

    /// Close the connections.
    pub async fn shutdown(&self) {
        self.client.close().await;
    }
}

/// Master addresses of a route's brokers.
fn masters(route: &TopicRouteData) -> Vec<String> {
    let mut v: Vec<String> = route
        .broker_datas
        .iter()
        .filter_map(|bd| bd.master_addr().map(str::to_owned))
        .collect();
    v.sort();
    v.dedup();
    v
}
