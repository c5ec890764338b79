//! Dispatch (Java `ReputMessageService` + `CommitLogDispatcher`s, storage spec §4.7): re-reads the
//! commit log in order and builds the derived structures (consume queues, index) from each
//! record, then tells the arrival listener (long polling).
//!
//! Dispatch never reads past the confirm offset (flushed offset in SYNC_FLUSH, appended offset in
//! ASYNC_FLUSH). It is done *by whoever made records confirmable* — the appender in ASYNC_FLUSH,
//! the group commit after a force in SYNC_FLUSH — under a dispatch lock, so a new message is
//! visible to consumers when its put returns and no thread is woken per message (see
//! [`ReputService::request`] for the combining protocol). The reput thread is the backstop: it
//! looks on its own every `reput_interval_ms`, takes over when an appender hands work to it, and
//! retries a failing dispatch.

use std::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};

use ferrocket_protocol::message::consts::{property, sys_flag};
use ferrocket_protocol::message::record::{peek_size_and_magic, BLANK_HEADER_LEN};
use ferrocket_protocol::message::{
    java_string_hash, scan_properties_bytes, RecordError, RecordView,
};

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
    /// topic the delivery time (`tags` and `delay_level` are those properties of the record).
    fn tags_code(
        &self,
        view: &RecordView<'_>,
        tags: Option<&str>,
        delay_level: Option<&str>,
    ) -> i64 {
        if view.topic() == SCHEDULE_TOPIC {
            if let Some(level) = delay_level.and_then(|l| l.parse::<i64>().ok()) {
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
        match tags {
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
        // every property dispatch needs, in one pass over the properties
        let [tags, delay_level, uniq, keys] = scan_properties_bytes(
            view.properties_bytes(),
            [
                property::TAGS,
                property::DELAY_TIME_LEVEL,
                property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
                property::KEYS,
            ],
        );
        let tags_code = self.tags_code(view, tags, delay_level);
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
                index.build_index(view, phy_offset, uniq, keys)?;
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

/// Dispatch rounds a caller runs for requests that keep arriving while it dispatches, before it
/// hands the rest to the reput thread (one wake-up), so that its own put is not held up.
const MAX_ROUNDS: usize = 8;

/// Who runs a dispatch ([`ReputService::combine`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// An appender (ASYNC_FLUSH) or the group commit (SYNC_FLUSH): never blocks; leaves a
    /// failing record to the reput thread.
    Inline,
    /// The reput thread's periodic (or handed-over) round: never blocks; retries a failing
    /// record.
    Backstop,
    /// The reput thread's last round at shutdown: waits for the lock, no round limit.
    Last,
}

/// The dispatch state: where dispatch stands, the dispatch lock, and the controls of the reput
/// (backstop) thread.
pub(crate) struct ReputService {
    pub(crate) reput_from: AtomicI64,
    pub(crate) signal: Signal,
    pub(crate) stopped: AtomicBool,
    /// A dispatch failed (I/O) and is being retried: the store refuses new messages meanwhile
    /// (Java's `LOGICS_QUEUE_ERROR` / `INDEX_FILE_ERROR` running flags).
    pub(crate) failing: AtomicBool,
    /// Held for every dispatch round, whoever runs it: dispatch stays single-writer and in
    /// commit-log order. Only [`Self::combine`] takes it.
    dispatch_lock: Mutex<()>,
    /// Dispatch requests: bumped by every [`Self::request`] (an append or a force made records
    /// confirmable) and every reput-thread round. Only ever incremented, by read-modify-writes,
    /// so an unchanged value means no request in between.
    requests: AtomicU64,
    /// Rounds run by appenders / the group commit (statistics).
    inline_rounds: AtomicU64,
    /// Times an inline dispatcher handed pending work to the reput thread (statistics).
    handoffs: AtomicU64,
}

impl ReputService {
    pub(crate) fn new(from: i64) -> Self {
        ReputService {
            reput_from: AtomicI64::new(from),
            signal: Signal::default(),
            stopped: AtomicBool::new(false),
            failing: AtomicBool::new(false),
            dispatch_lock: Mutex::new(()),
            requests: AtomicU64::new(0),
            inline_rounds: AtomicU64::new(0),
            handoffs: AtomicU64::new(0),
        }
    }

    /// The reput (backstop) thread: every `interval`, or when an inline dispatcher hands work
    /// over, dispatch whatever is confirmed and not dispatched yet, and retry a failed record.
    pub(crate) fn run(
        &self,
        cl: &CommitLog,
        d: &Dispatcher,
        confirm: &(dyn Fn() -> i64 + Send + Sync),
        interval: Duration,
    ) {
        loop {
            self.signal.wait(interval);
            if self.stopped.load(Ordering::Acquire) {
                break;
            }
            if !self.request_as(cl, d, confirm, Caller::Backstop) {
                self.signal.notify(); // still busy: go on without sleeping
            }
        }
        // one last round so that everything confirmed is dispatched before shutdown
        self.request_as(cl, d, confirm, Caller::Last);
    }

    /// Records up to `confirm()` have just become confirmable (an append in ASYNC_FLUSH, a force
    /// in SYNC_FLUSH): dispatch them on this thread if nobody else is dispatching, otherwise leave
    /// them to whoever is. Never blocks on the dispatch lock and wakes no thread, except to hand
    /// over after [`MAX_ROUNDS`] rounds of requests that kept arriving meanwhile.
    ///
    /// Why no record is left behind ("lost wake-up"). Let P be a caller and R its records. P
    /// bumps `requests` (`I`), issues a SeqCst fence `Fp`, then `try_lock`s. Every holder H of
    /// the dispatch lock runs, in [`Self::combine`]: lock; `seen = requests`; dispatch up to
    /// `confirm()`; unlock (`U`); SeqCst fence `Fh`; `after = requests`; another round if
    /// `after != seen`.
    /// * P gets the lock: its `confirm()` is read after its own append/force, so it dispatches R
    ///   (or finds `reput_from` already past it).
    /// * P's `try_lock` fails: it read the lock word from a write `W` made while some holder H
    ///   held it (parking_lot's `try_lock` fails only on seeing the locked bit, never
    ///   spuriously), and H's unlock `U` comes after `W` in the lock word's modification order.
    ///   Had `Fh` preceded `Fp` in the SeqCst order S, that read would see `U` or later (fence
    ///   rule: `U` is sequenced before `Fh`, `Fp` before the read) — not `W`. So `Fp` precedes
    ///   `Fh` and, by the same rule, H's `after` sees `I` or a later increment. Then either
    ///   H's `seen` already included `I` — an acquire load reading from `I`'s release sequence
    ///   (all writes to `requests` are RMWs), so P's append happens-before H's `confirm()` and H
    ///   dispatched R — or `after != seen` and H runs another round, whose `seen` is read after
    ///   `after` and so covers R; or that round's `try_lock` fails on a holder H2: H's fence
    ///   `Fh` is sequenced before that `try_lock`, so as above `Fh` precedes H2's fence, hence so
    ///   does `Fp`, and H2's `after` sees `I`. The obligation passes along a chain of holders
    ///   that ends with a round covering R.
    /// * A caller that stops after `MAX_ROUNDS` notifies the reput thread. [`Signal`] keeps the
    ///   notification until the thread runs; it then makes a request of its own (the same
    ///   protocol, after the wait, so after R's append: the stopping holder's `after` load
    ///   acquired `I`). A round that fails (`failing`) ends the chain too: the reput thread
    ///   retries every interval, as before.
    ///
    /// And were the argument wrong, the reput thread still looks every interval: a confirmed
    /// record would wait at most that long.
    pub(crate) fn request(&self, cl: &CommitLog, d: &Dispatcher, confirm: &dyn Fn() -> i64) {
        if !self.request_as(cl, d, confirm, Caller::Inline) {
            self.handoffs.fetch_add(1, Ordering::Relaxed);
            self.signal.notify();
        }
    }

    /// Register a request and dispatch (see [`Self::request`]). False if the caller gave up
    /// after [`MAX_ROUNDS`] with requests still arriving.
    fn request_as(
        &self,
        cl: &CommitLog,
        d: &Dispatcher,
        confirm: &dyn Fn() -> i64,
        who: Caller,
    ) -> bool {
        self.requests.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        self.combine(cl, d, confirm, who)
    }

    /// Dispatch rounds under the dispatch lock until one ends with no new request (see
    /// [`Self::request`]). If the lock is held (and `who` is not [`Caller::Last`]), leave the
    /// work to its holder and return at once.
    fn combine(
        &self,
        cl: &CommitLog,
        d: &Dispatcher,
        confirm: &dyn Fn() -> i64,
        who: Caller,
    ) -> bool {
        let waits = who == Caller::Last;
        let max_rounds = if waits { usize::MAX } else { MAX_ROUNDS };
        for _ in 0..max_rounds {
            // while a record fails, only the reput thread retries it (puts are refused meanwhile)
            let failing = self.failing.load(Ordering::Acquire);
            if failing && who == Caller::Inline {
                return true;
            }
            // nothing to do (someone else dispatched it already): leave the lock alone
            if !failing && self.reput_from() >= confirm() {
                return true;
            }
            let guard = if waits {
                self.dispatch_lock.lock()
            } else {
                match self.dispatch_lock.try_lock() {
                    Some(g) => g,
                    None => return true, // the holder sees our request when it unlocks
                }
            };
            let seen = self.requests.load(Ordering::SeqCst);
            self.do_reput(&guard, cl, d, confirm());
            drop(guard);
            if who == Caller::Inline {
                self.inline_rounds.fetch_add(1, Ordering::Relaxed);
            }
            fence(Ordering::SeqCst);
            if self.requests.load(Ordering::SeqCst) == seen || self.failing.load(Ordering::Acquire)
            {
                return true;
            }
        }
        false
    }

    /// Dispatch everything in `[reput_from, end)`. On a dispatch error, stop at that record
    /// (it is retried next round) and raise `failing` until a round gets through. Only called
    /// with the dispatch lock held.
    fn do_reput(&self, _held: &MutexGuard<'_, ()>, cl: &CommitLog, d: &Dispatcher, end: i64) {
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
            let readable = f.read_position() as i64;
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

    /// (dispatch rounds run inline by appenders / the group commit, hand-overs to the reput
    /// thread).
    pub(crate) fn inline_stats(&self) -> (u64, u64) {
        (
            self.inline_rounds.load(Ordering::Relaxed),
            self.handoffs.load(Ordering::Relaxed),
        )
    }
}
