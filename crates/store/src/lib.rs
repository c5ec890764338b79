//! ferrocket-store: RocketMQ's on-disk message store (storage spec §1–§6).
//!
//! See `README.md` in this crate for the on-disk layout, the crash model and what each flush
//! mode promises. The broker talks to the store only through [`MessageStore`].

mod api;
mod checkpoint;
mod commit_log;
mod config;
pub mod consume_queue;
mod dispatch;
mod error;
mod flush;
mod index;
pub mod io;
mod mapped_file;
mod mapped_file_queue;
mod recovery;
mod signal;
mod store;

pub use api::{
    BatchToStore, GetMessageResult, GetMessageStatus, MessageArrivingListener, MessageFilter,
    MessageStore, MessageToStore, PutMessageResult, PutMessageStatus, QueryMessageResult,
};
pub use config::{FlushDiskType, StoreConfig};
pub use dispatch::SCHEDULE_TOPIC;
pub use error::StoreError;
pub use io::{IoHooks, NoHooks};
pub use mapped_file::{file_name, OS_PAGE_SIZE};
pub use recovery::RecoveryReport;
pub use store::DefaultMessageStore;

/// Hash map for the per-message lookups (topic → queue tables): foldhash is several times
/// cheaper than the standard SipHash on short keys and still seeded per process.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
