//! The Ferrocket nameserver: a RocketMQ-compatible route registry (spec §7).
//!
//! Brokers register themselves and their topics (REGISTER_BROKER every 30 s); clients ask for
//! the route of a topic (GET_ROUTEINFO_BY_TOPIC) and admin tools list and maintain topics and a
//! small persisted KV store. Nothing here talks to a broker or stores messages.
//!
//! * [`NamesrvConfig`] — settings under RocketMQ's `namesrv.conf` key names
//!   ([`NamesrvConfig::from_properties`], [`parse_properties`]).
//! * [`NameServer`] — binds the port and serves every nameserver request code; runs the broker
//!   expiry scan.
//! * [`RouteInfoManager`] — the route tables and their rules, usable without a server (a broker
//!   can embed one; tests drive it directly).
//! * [`KvConfigManager`] — the KV config, persisted as Java's `kvConfig.json`.
//!
//! Request codes served: 100/101/102/219 (KV), 103 REGISTER_BROKER (JSON or zlib body, CRC check),
//! 104 UNREGISTER_BROKER, 105 GET_ROUTEINFO_BY_TOPIC (standard JSON for requests ≥ V4_9_4, legacy
//! fastjson otherwise), 106 GET_BROKER_CLUSTER_INFO, 205/327 write permission, 206/224/304/311/
//! 312/313 topic lists, 216/217 topic maintenance, 318/319 nameserver config, 322
//! QUERY_DATA_VERSION, 901 GET_BROKER_MEMBER_GROUP, 904 BROKER_HEARTBEAT.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use ferrocket_namesrv::{parse_properties, NameServer, NamesrvConfig};
//! let props = parse_properties(&std::fs::read_to_string("conf/namesrv.conf")?);
//! let (config, unknown) = NamesrvConfig::from_properties(&props)?;
//! if !unknown.is_empty() {
//!     tracing::warn!(?unknown, "unknown namesrv.conf keys ignored");
//! }
//! let ns = NameServer::start(config).await?;
//! println!("nameserver on {}", ns.local_addr());
//! # Ok(()) }
//! ```

mod config;
mod json;
mod kv;
mod processor;
mod register_body;
mod route_info;
mod server;

pub use config::{parse_properties, ConfigError, NamesrvConfig};
pub use json::{broker_member_group_json, route_json};
pub use kv::{KvConfigError, KvConfigManager, NAMESPACE_ORDER_TOPIC_CONFIG};
pub use register_body::{body_crc32, decode_topic_config, encode_topic_config, RegisterBrokerBody};
pub use route_info::{
    now_ms, BrokerAddrInfo, BrokerMemberGroup, BrokerRegistration, BrokerUnregistration,
    RegisterBrokerResult, RegisterOutcome, RouteInfoManager, RouteOptions,
    DEFAULT_BROKER_CHANNEL_EXPIRED_TIME_MS, MASTER_ID,
};
pub use server::{NameServer, NamesrvError};
