//! The broker: request processors and the managers they share (topics, groups, offsets, clients,
//! long polling, locks), on top of a [`ferrocket_store::MessageStore`].
//!
//! Requests flow one way: the router hands a decoded command to the one processor of its code
//! (`processor/<area>.rs`), which validates it, asks the owner of the data, and builds the reply.

mod broker;
mod client;
pub mod config;
mod group;
mod hold;
mod lock;
mod offset;
mod persist;
mod processor;
mod register;
mod schedule;
mod timer;
mod topic;
mod transaction;
mod util;

pub use broker::{Broker, BrokerHandle};
pub use config::{parse_properties, BrokerConfig, ConfigError};
