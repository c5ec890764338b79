//! The boundary between the broker and the store: the [`MessageStore`] trait and the types it
//! speaks. Nothing here knows about files; `DefaultMessageStore` is one implementation.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;

/// A message to append (Java `MessageExtBrokerInner`).
#[derive(Clone, Debug)]
pub struct MessageToStore {
    pub topic: String,
    pub queue_id: i32,
    pub flag: i32,
    pub body: Bytes,
    /// Already-encoded properties string (remoting spec §5.2).
    pub properties: String,
    /// Informational: the store derives the consume-queue tags code from the stored `TAGS`
    /// property at dispatch time (as Java's reput does), so this value is not used for storage.
    pub tags_code: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
}

/// A `SEND_BATCH_MESSAGE` (320) to append. The store decodes `body` (remoting spec §5.5) itself,
/// stores each inner message as its own record with its own flag, body and properties, and adds
/// a generated `UNIQ_KEY` to inner messages that lack one. Header-level properties are not copied
/// into inner records (as in Java).
#[derive(Clone, Debug)]
pub struct BatchToStore {
    pub topic: String,
    pub queue_id: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_host: SocketAddr,
    /// Raw batch body of the request.
    pub body: Bytes,
}

/// Outcome of a put (Java `PutMessageStatus`); see storage spec §4.6 for the response codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PutMessageStatus {
    PutOk,
    FlushDiskTimeout,
    FlushSlaveTimeout,
    SlaveNotAvailable,
    ServiceNotAvailable,
    CreateMappedFileFailed,
    MessageIllegal,
    PropertiesSizeExceeded,
    OsPageCacheBusy,
    UnknownError,
    InSyncReplicasNotEnough,
    PutToRemoteBrokerFail,
    LmqConsumeQueueNumExceeded,
    WheelTimerFlowControl,
    WheelTimerMsgIllegal,
    WheelTimerNotEnable,
}

impl PutMessageStatus {
    /// Whether the message was stored (the "stored" statuses of storage spec §4.6).
    pub fn is_stored(self) -> bool {
        matches!(
            self,
            PutMessageStatus::PutOk
                | PutMessageStatus::FlushDiskTimeout
                | PutMessageStatus::FlushSlaveTimeout
                | PutMessageStatus::SlaveNotAvailable
        )
    }
}

/// Result of a put.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutMessageResult {
    pub status: PutMessageStatus,
    /// Physical offset of the first record.
    pub wrote_offset: i64,
    /// Bytes written (all records of a batch).
    pub wrote_bytes: i32,
    /// Offset msg id(s), comma-joined for a batch.
    pub msg_id: String,
    pub store_timestamp: i64,
    /// Queue offset of the first message.
    pub queue_offset: i64,
    pub msg_num: i32,
}

impl PutMessageResult {
    /// A result for a put that stored nothing.
    pub fn failed(status: PutMessageStatus) -> Self {
        PutMessageResult {
            status,
            wrote_offset: 0,
            wrote_bytes: 0,
            msg_id: String::new(),
            store_timestamp: 0,
            queue_offset: 0,
            msg_num: 0,
        }
    }
}

/// Outcome of a get (Java `GetMessageStatus`); storage spec §6.2–6.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GetMessageStatus {
    Found,
    NoMatchedMessage,
    MessageWasRemoving,
    OffsetFoundNull,
    OffsetOverflowBadly,
    OffsetOverflowOne,
    OffsetTooSmall,
    NoMatchedLogicQueue,
    NoMessageInQueue,
    OffsetReset,
}

/// Result of a get.
#[derive(Clone, Debug)]
pub struct GetMessageResult {
    pub status: GetMessageStatus,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    /// Each element is one whole stored record, a zero-copy slice of the commit log.
    pub messages: Vec<Bytes>,
    pub buffer_total_size: usize,
    pub suggest_pulling_from_slave: bool,
}

/// Result of a query by key (`QUERY_MESSAGE`, storage spec §7.8).
#[derive(Clone, Debug, Default)]
pub struct QueryMessageResult {
    /// Whole stored records, ascending by commit-log offset. The index compares 32-bit hashes
    /// only, so callers (clients) must re-check the key and topic.
    pub messages: Vec<Bytes>,
    /// End timestamp of the newest index file.
    pub index_last_update_timestamp: i64,
    /// End commit-log offset of the newest index file.
    pub index_last_update_phy_offset: i64,
}

/// Server-side filter applied by `get_message`.
pub trait MessageFilter: Send + Sync {
    /// Filter on the consume-queue tags code (cheap; no commit-log read).
    fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool;
    /// Filter on the whole stored record (e.g. SQL92 on its properties).
    fn is_matched_by_commit_log(&self, record: &[u8]) -> bool;
}

/// Called by the dispatcher after a record is in its consume queue (drives long polling).
pub trait MessageArrivingListener: Send + Sync {
    fn arriving(
        &self,
        topic: &str,
        queue_id: i32,
        logic_offset: i64,
        tags_code: i64,
        store_timestamp: i64,
    );
}

/// What the broker needs from a message store.
///
/// Offsets: "appended" (`max_phy_offset`) is the end of what has been written and may be read;
/// "flushed" (`flushed_offset`) is the end of what is known durable. Consumers see a record once
/// the dispatcher has put it in its consume queue, which never happens beyond the confirm offset
/// (`= flushed` in SYNC_FLUSH, `= appended` in ASYNC_FLUSH).
pub trait MessageStore: Send + Sync + 'static {
    /// Append one message. The append happens when this is called; the future resolves once the
    /// flush promise of the configured mode holds (see `FlushDiskType`).
    fn put_message(&self, msg: MessageToStore) -> impl Future<Output = PutMessageResult> + Send;
    /// Append a batch (contiguous records, consecutive queue offsets, never split across files).
    fn put_messages(&self, batch: BatchToStore) -> impl Future<Output = PutMessageResult> + Send;
    #[allow(clippy::too_many_arguments)]
    fn get_message(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msg_nums: i32,
        max_total_size: usize,
        filter: Option<&dyn MessageFilter>,
    ) -> GetMessageResult;
    /// Number of dispatched entries of the queue (next queue offset a consumer can reach).
    fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64;
    fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64;
    /// First queue offset whose store time is ≥ `timestamp` (LOWER boundary), clamped to
    /// `[min, max]`.
    fn offset_in_queue_by_time(&self, topic: &str, queue_id: i32, timestamp: i64) -> i64;
    /// Store time of the queue's min entry, or -1.
    fn earliest_message_time(&self, topic: &str, queue_id: i32) -> i64;
    /// Store time of the message at `consume_queue_offset`, or -1.
    fn message_store_timestamp(&self, topic: &str, queue_id: i32, consume_queue_offset: i64)
        -> i64;
    /// Commit-log offset of the message at `consume_queue_offset`, or 0.
    fn commit_log_offset_in_queue(
        &self,
        topic: &str,
        queue_id: i32,
        consume_queue_offset: i64,
    ) -> i64;
    /// The whole record starting at `commit_log_offset`.
    fn look_message_by_offset(&self, commit_log_offset: i64) -> Option<Bytes>;
    /// End of the appended (readable) commit log.
    fn max_phy_offset(&self) -> i64;
    /// Start of the oldest commit-log file.
    fn min_phy_offset(&self) -> i64;
    /// Offset up to which records may be dispatched to consumers.
    fn confirm_offset(&self) -> i64;
    /// Offset up to which the commit log is durable.
    fn flushed_offset(&self) -> i64;
    /// Destroy the consume queues of these topics and forget their queue offsets.
    fn delete_topics(&self, topics: &[&str]);
    fn runtime_info(&self) -> HashMap<String, String>;
    /// Messages of `topic` whose `KEYS` token or `UNIQ_KEY` equals `key` (by hash), stored in
    /// `[begin, end]` (ms), at most `max_num` (capped at `maxMsgsNumBatch` = 64).
    fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> QueryMessageResult {
        let _ = (topic, key, max_num, begin, end);
        QueryMessageResult::default()
    }
    /// Flush everything, write the checkpoint, remove the abort file.
    fn shutdown(&self);
}
