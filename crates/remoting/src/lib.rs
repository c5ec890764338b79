//! Tokio transport for the RocketMQ remoting protocol.
//!
//! * [`Channel`]: one TCP connection, either direction. It multiplexes requests both ways,
//!   correlates responses by `opaque`, sends oneway requests, and times requests out.
//! * [`Router`]: dispatch by request code to exactly one handler, each behind a bounded
//!   processing queue that answers `SYSTEM_BUSY` when full instead of dropping work.
//! * [`RemotingServer`]: accepts connections and serves them with a router.
//! * [`RemotingClient`]: a connection per remote address, reused for everything.

mod channel;
mod client;
mod router;
mod server;

pub use channel::{Channel, ChannelConfig, RemotingError};
pub use client::RemotingClient;
pub use router::{BoxFuture, Pool, RequestHandler, Router};
pub use server::RemotingServer;
