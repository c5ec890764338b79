//! `ferrocket-client`: a RocketMQ client SDK in Rust, wire-compatible with Apache RocketMQ
//! brokers and nameservers (4.x and 5.x, remoting protocol) and with Ferrocket's own.
//!
//! | type | Java counterpart | what it does |
//! |---|---|---|
//! | [`Producer`] | `DefaultMQProducer` | sync / oneway / batch sends with Java's retry rules |
//! | [`PullConsumer`] | `DefaultLitePullConsumer` (assign mode) | explicit pulls and offset calls |
//! | [`PushConsumer`] | `DefaultMQPushConsumer` (clustering, concurrent) | rebalanced pull loops calling a listener |
//! | [`Admin`] | `DefaultMQAdminExt` | topic creation, cluster info, routes, stats |
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferrocket_client::ClientError> {
//! use ferrocket_client::{Message, Producer, ProducerConfig};
//! let producer = Producer::new(ProducerConfig {
//!     namesrv_addr: "127.0.0.1:9876".into(),
//!     group: "my_producer".into(),
//!     ..Default::default()
//! })?;
//! producer.start().await?;
//! let r = producer.send(Message::new("TopicTest", "hello").with_tags("TagA")).await?;
//! println!("{} stored at {:?} offset {}", r.msg_id, r.queue, r.queue_offset);
//! producer.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Layout: `instance` owns connections, nameserver selection, the route cache and heartbeats
//! (Java `MQClientInstance`); `route` the pure publish/subscribe views and queue allocation;
//! `message` the message model and its client-side encodings; `consumer` the consumer requests
//! shared by both consumers; one file per client type. Everything speaks through
//! `ferrocket_remoting::RemotingClient` and the typed headers and bodies of `ferrocket_protocol`;
//! nothing here knows about the broker's internals.
//!
//! Every request announces language `RUST` and version `V5_3_3` (479), so nameservers answer
//! routes in standard JSON. Java brokers older than 4.9.3 do not know the `RUST` language code.
//!
//! Not implemented: transactions, orderly and broadcasting consumption, SQL92 filters, request-
//! reply, namespaces, TLS/ACL, LZ4/ZSTD bodies (zlib is supported), latency-based fault avoidance.

mod admin;
mod consumer;
mod error;
mod instance;
mod message;
mod producer;
mod pull_consumer;
mod push_consumer;
mod route;

pub use admin::Admin;
pub use consumer::ConsumeFromWhere;
pub use error::ClientError;
pub use message::{Message, PullResult, PullStatus, SendResult, SendStatus};
pub use producer::{Producer, ProducerConfig};
pub use pull_consumer::{PullConsumer, PullConsumerConfig};
pub use push_consumer::{ConsumeStatus, MessageListener, PushConsumer, PushConsumerConfig};
pub use route::allocate_averagely;

pub use ferrocket_protocol::body::{
    ClusterInfo, ConsumeStats, MessageQueue, TopicConfig, TopicRouteData, TopicStatsTable,
};
pub use ferrocket_protocol::message::MessageExt;
pub use ferrocket_protocol::ResponseCode;
