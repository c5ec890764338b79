//! Dispatch (Java `ReputMessageService` + `CommitLogDispatcher`s, storage spec §4.7): re-reads the
//! commit log in order and builds the derived structures (consume queues, index) from each
//! record, then tells the arrival listener (long polling).
//!
//! The reput thread never reads past the confirm offset (flushed offset in SYNC_FLUSH, appended
//! offset in ASYNC_FLUSH) and is woken by the appender or the group commit, so a new message is
//! visible to consumers within microseconds of becoming confirmable.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::message::consts::{property, sys_flag};
use ferrocket_protocol::message::record::{peek_size_and_magic, BLANK_HEADER_LEN};
use ferrocket_protocol::message::{java_string_hash, RecordError, RecordView};

use crate::api::MessageArrivingListener;
use crate::commit_log::CommitLog;
use crate::consume_queue::{ConsumeQueueStore, CqEntry};
use crate::error::StoreError;
use crate::index::IndexService;
use crate::signal::Signal;

/// `TopicValidator.RMQ_SYS_SCHEDULE_TOPIC`.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

/// Builds derived data from one record.
pub(crate) struct Dispatcher {
    pub(crate) cqs: Arc<ConsumeQueueStore>,
    pub(crate) index: Option<Arc<IndexService>>,
    listener: Option<Arc<dyn MessageArrivingListener>>,
    delay_table: Vec<i64>,
    /// Store time of the last dispatched record (checkpoint `logicsMsgTimestamp` source).
    pub(crate) last_dispatched_timestamp: AtomicI64,
}

impl Dispatcher {
    pub(crate) fn new(
        cqs: Arc<ConsumeQueueStore>,
        index: Option<Arc<IndexService>>,
        listener: Option<Arc<dyn MessageArrivingListener>>,
        delay_table: Vec<i64>,
    ) -> Self {
        Dispatcher {
            cqs,
            index,
            listener,
            delay_table,
            last_dispatched_timestamp: AtomicI64::new(0),
        }
    }

    /// Consume-queue tags code (storage spec §3.1): Java hash of `TAGS`, or for the schedule
    /// topic the delivery time.
    pub(crate) fn tags_code(&self, view: &RecordView<'_>) -> i64 {
        if view.topic() == SCHEDULE_TOPIC {
            if let Some(level) = view
                .property(property::DELAY_TIME_LEVEL)
                .and_then(|l| l.parse::<i64>().ok())
            {
                let max = self.delay_table.len() as i64;
                let level = level.min(max);
                let delay = if level >= 1 {
                    self.delay_table[(level - 1) as usize]
                } else {
                    1000
                };
                return view.store_timestamp() + delay;
            }
        }
        match view.property(property::TAGS) {
            Some(t) if !t.is_empty() => i64::from(java_string_hash(t)),
            _ => 0,
        }
    }

    /// Dispatch one record found at `phy_offset`. An error (a consume-queue or index file
    /// could not be created, e.g. the disk is full) means the record must be dispatched again;
    /// what was already written for it is ignored the second time.
    pub(crate) fn dispatch(
        &self,
        view: &RecordView<'_>,
        phy_offset: i64,
        notify: bool,
    ) -> Result<(), StoreError> {
        let tx = sys_flag::transaction_value(view.sys_flag());
        let tags_code = self.tags_code(view);
        let queued =
            tx == sys_flag::TRANSACTION_NOT_TYPE || tx == sys_flag::TRANSACTION_COMMIT_TYPE;
        if queued {
            let cq = self.cqs.find_or_create(view.topic(), view.queue_id());
            let entry = CqEntry {
                commitlog_offset: phy_offset,
                size: view.total_size() as i32,
                tags_code,
            };
            cq.put(entry, view.queue_offset())?;
        }
        if let Some(index) = &self.index {
            if tx != sys_flag::TRANSACTION_ROLLBACK_TYPE {
                index.build_index(view, phy_offset)?;
            }
        }
        self.last_dispatched_timestamp
            .fetch_max(view.store_timestamp(), Ordering::AcqRel);
        if notify && queued {
            if let Some(l) = &self.listener {
                l.arriving(
                    view.topic(),
                    view.queue_id(),
                    view.queue_offset() + 1,
                    tags_code,
                    view.store_timestamp(),
                );
            }
        }
        Ok(())
    }
}

/// The reput thread's state.
pub(crate) struct ReputService {
    pub(crate) reput_from: AtomicI64,
    pub(crate) signal: Signal,
    pub(crate) stopped: AtomicBool,
    /// A dispatch failed (I/O) and is being retried: the store refuses new messages meanwhile
    /// (Java's `LOGICS_QUEUE_ERROR` / `INDEX_FILE_ERROR` running flags).
    pub(crate) failing: AtomicBool,
}

impl ReputService {
    pub(crate) fn new(from: i64) -> Self {
        ReputService {
            reput_from: AtomicI64::new(from),
            signal: Signal::default(),
            stopped: AtomicBool::new(false),
            failing: AtomicBool::new(false),
        }
    }

    pub(crate) fn run(
        &self,
        cl: &CommitLog,
        d: &Dispatcher,
        confirm: &(dyn Fn() -> i64 + Send + Sync),
    ) {
        while !self.stopped.load(Ordering::Acquire) {
            self.do_reput(cl, d, confirm());
            self.signal.wait(Duration::from_millis(10));
        }
        // one last round so that everything confirmed is dispatched before shutdown
        self.do_reput(cl, d, confirm());
    }

    /// Dispatch everything in `[reput_from, end)`. On a dispatch error, stop at that record
    /// (it is retried next round) and raise `failing` until a round gets through.
    pub(crate) fn do_reput(&self, cl: &CommitLog, d: &Dispatcher, end: i64) {
        match self.reput_round(cl, d, end) {
            Ok(()) => {
                if self.failing.swap(false, Ordering::AcqRel) {
                    tracing::info!("dispatch recovered; accepting messages again");
                }
            }
            Err(e) => {
                if !self.failing.swap(true, Ordering::AcqRel) {
                    tracing::error!(error = %e, offset = self.reput_from(), "dispatch failed; refusing new messages until it succeeds");
                }
            }
        }
    }

    fn reput_round(&self, cl: &CommitLog, d: &Dispatcher, end: i64) -> Result<(), StoreError> {
        let file_size = cl.file_size() as i64;
        loop {
            let mut from = self.reput_from.load(Ordering::Acquire);
            let min = cl.min_offset();
            if from < min {
                tracing::warn!(
                    from,
                    min,
                    "reput offset below the commit log; jumping to its start"
                );
                from = min;
                self.reput_from.store(from, Ordering::Release);
            }
            if from >= end {
                return Ok(());
            }
            let Some(f) = cl.queue.find(from as u64) else {
                return Ok(());
            };
            let base = f.file_from_offset() as i64;
            let readable = f.wrote_position() as i64;
            let limit = readable.min(end - base);
            let mut pos = from - base;
            let mut progressed = false;
            let mut roll = false;
            while pos < limit {
                let Some(data) = f.read(pos as usize, (limit - pos) as usize) else {
                    break;
                };
                if data.len() < BLANK_HEADER_LEN {
                    roll = f.is_full();
                    break;
                }
                match RecordView::parse(data) {
                    Ok(view) => {
                        if let Err(e) = d.dispatch(&view, base + pos, true) {
                            self.reput_from.store(base + pos, Ordering::Release);
                            return Err(e);
                        }
                        pos += view.total_size() as i64;
                        progressed = true;
                    }
                    Err(RecordError::Blank { .. }) => {
                        roll = true;
                        break;
                    }
                    Err(RecordError::Truncated { .. }) if !f.is_full() => break,
                    Err(e) => {
                        let size = peek_size_and_magic(data).map_or(0, |(s, _)| s as i64);
                        tracing::error!(error = %e, offset = base + pos, "undecodable commit-log record during dispatch");
                        if size > 0 && pos + size <= limit {
                            pos += size;
                        } else {
                            pos = limit;
                            roll = f.is_full();
                        }
                        progressed = true;
                    }
                }
            }
            let new_from = if roll { base + file_size } else { base + pos };
            self.reput_from.store(new_from, Ordering::Release);
            if !progressed && !roll {
                return Ok(());
            }
        }
    }

    pub(crate) fn reput_from(&self) -> i64 {
        self.reput_from.load(Ordering::Acquire)
    }
}
