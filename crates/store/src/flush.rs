//! Flush services (storage spec §4.4, §3.3): they turn "appended" into "flushed".
//!
//! * ASYNC_FLUSH — [`run_async_flush`]: every `flush_interval_commitlog_ms`, force the commit log
//!   if at least `flush_commitlog_least_pages` pages are dirty; every
//!   `flush_commitlog_thorough_interval_ms` force whatever is dirty.
//! * SYNC_FLUSH — [`GroupCommitService`]: puts register `(end offset, deadline, completion)`; the
//!   service forces everything written so far (one msync for all waiting puts = group commit),
//!   completes every request whose end is flushed with `PutOk`, and any request past its deadline
//!   with `FlushDiskTimeout`. It also forces every ~10 ms even with no waiter.
//! * Consume queues and the checkpoint — [`run_consume_queue_flush`]. Each round also moves the
//!   checkpoint's recovery offset: the highest commit-log offset below which every record is on
//!   disk *and* has its consume-queue entry on disk. Recovery scans only from there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::api::PutMessageStatus;
use crate::checkpoint::StoreCheckpoint;
use crate::commit_log::CommitLog;
use crate::consume_queue::ConsumeQueueStore;
use crate::dispatch::{Dispatcher, ReputService};
use crate::signal::Signal;

/// Stop flag + wake-up shared by a service thread and its owner.
#[derive(Default)]
pub(crate) struct ServiceControl {
    pub(crate) stopped: AtomicBool,
    pub(crate) signal: Signal,
}

impl ServiceControl {
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.signal.notify();
    }
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }
}

/// Flush the commit log; if it caught up with everything appended before the flush started,
/// record the store time of that data in the checkpoint.
fn flush_commit_log(cl: &CommitLog, checkpoint: &StoreCheckpoint, least_pages: usize) -> i64 {
    let ts = cl.last_store_timestamp();
    let appended = cl.max_offset();
    match cl.flush(least_pages) {
        Ok(flushed) => {
            if flushed >= appended && ts > 0 {
                checkpoint
                    .physic_msg_timestamp
                    .fetch_max(ts, Ordering::AcqRel);
            }
            flushed
        }
        Err(e) => {
            tracing::error!(error = %e, "commit log flush failed");
            cl.flushed_offset()
        }
    }
}

/// How often the ASYNC_FLUSH thread starts writeback between flushes, and the least it starts.
const WRITEBACK_TICK: Duration = Duration::from_millis(10);
const WRITEBACK_MIN_BYTES: u64 = 1 << 20;

/// ASYNC_FLUSH loop (Java `FlushRealTimeService`).
pub(crate) fn run_async_flush(
    ctl: &ServiceControl,
    cl: &CommitLog,
    checkpoint: &StoreCheckpoint,
    interval: Duration,
    least_pages: usize,
    thorough_interval: Duration,
) {
    let mut last_thorough = Instant::now();
    let mut last_flush = Instant::now();
    // Between flushes, every WRITEBACK_TICK, the kernel is asked to start writing back what
    // was appended meanwhile (not waiting): the disk streams while appends go on instead of
    // taking a whole interval's backlog at each flush. Durability is unchanged: only a flush
    // moves the flushed offset.
    let tick = interval.min(WRITEBACK_TICK);
    while !ctl.is_stopped() {
        ctl.signal.wait(tick);
        if ctl.is_stopped() {
            break;
        }
        if last_flush.elapsed() < interval {
            cl.start_writeback(WRITEBACK_MIN_BYTES);
            continue;
        }
        last_flush = Instant::now();
        let thorough = last_thorough.elapsed() >= thorough_interval;
        let least = if thorough {
            last_thorough = Instant::now();
            0
        } else {
            least_pages
        };
        flush_commit_log(cl, checkpoint, least);
    }
    for _ in 0..10 {
        flush_commit_log(cl, checkpoint, 0);
        if cl.flushed_offset() >= cl.max_offset() {
            break;
        }
    }
}

/// `transientStorePoolEnable` (Java `CommitRealTimeService`): write staged commit-log appends
/// to their files once `least_pages` pages are staged (a put wakes this thread then), or
/// whatever is staged when `thorough` has passed since the last commit; `after_commit` runs
/// whenever something was committed (it dispatches the newly readable records). Returns when
/// stopped, without a last commit (see `DefaultMessageStore::stop`).
pub(crate) fn run_commit(
    cl: &CommitLog,
    after_commit: &dyn Fn(),
    interval: Duration,
    least_pages: usize,
    thorough: Duration,
) {
    let ctl = &cl.commit_ctl;
    let mut last_commit = Instant::now();
    while !ctl.is_stopped() {
        ctl.signal.wait(interval);
        let least = if last_commit.elapsed() >= thorough {
            0
        } else {
            least_pages
        };
        let before = cl.max_offset();
        if let Err(e) = cl.commit(least) {
            tracing::error!(error = %e, "commit of staged commit-log bytes failed; retrying");
        }
        if cl.max_offset() > before {
            last_commit = Instant::now();
            after_commit();
        }
    }
    // a graceful shutdown commits the rest itself; a crash (stop without it) leaves it staged
}

struct GroupCommitRequest {
    next_offset: i64,
    deadline: Instant,
    done: oneshot::Sender<PutMessageStatus>,
}

/// SYNC_FLUSH group commit (Java `GroupCommitService`).
pub(crate) struct GroupCommitService {
    pub(crate) ctl: ServiceControl,
    requests: Mutex<Vec<GroupCommitRequest>>,
}

impl GroupCommitService {
    pub(crate) fn new() -> Self {
        GroupCommitService {
            ctl: ServiceControl::default(),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// Register a put whose records end at `next_offset`; the receiver resolves with `PutOk` once
    /// flushed, or `FlushDiskTimeout` at `timeout`.
    pub(crate) fn submit(
        &self,
        next_offset: i64,
        timeout: Duration,
    ) -> oneshot::Receiver<PutMessageStatus> {
        let (tx, rx) = oneshot::channel();
        if self.ctl.is_stopped() {
            let _ = tx.send(PutMessageStatus::FlushDiskTimeout);
            return rx;
        }
        self.requests.lock().push(GroupCommitRequest {
            next_offset,
            deadline: Instant::now() + timeout,
            done: tx,
        });
        self.ctl.signal.notify();
        rx
    }

    /// Wake the service without waiting (puts with `WAIT=false`).
    pub(crate) fn wakeup(&self) {
        self.ctl.signal.notify();
    }

    /// `on_flushed`: called after a force moved the flushed offset (to dispatch what it
    /// confirmed), once the puts it completed have been answered.
    pub(crate) fn run(
        &self,
        cl: &CommitLog,
        checkpoint: &StoreCheckpoint,
        on_flushed: &(dyn Fn() + Send + Sync),
    ) {
        let mut pending: Vec<GroupCommitRequest> = Vec::new();
        // adaptive commit delay: how many puts the last force answered, and how long it took
        let mut last_batch = 0usize;
        let mut last_force = Duration::ZERO;
        loop {
            let stopping = self.ctl.is_stopped();
            if !stopping {
                self.ctl.signal.wait(Duration::from_millis(10));
            }
            pending.append(&mut self.requests.lock());
            // The producers just answered are coming back. Forcing as soon as the first one does
            // would split them into a small group and a large one; wait for them — at most as
            // long as one force takes (capped at 1 ms), so a lone producer never waits.
            if !stopping && !pending.is_empty() && pending.len() < last_batch {
                let deadline = Instant::now() + last_force.min(Duration::from_millis(1));
                while pending.len() < last_batch {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    self.ctl.signal.wait(deadline - now);
                    pending.append(&mut self.requests.lock());
                }
            }
            let before = cl.flushed_offset();
            let started = Instant::now();
            let flushed = flush_commit_log(cl, checkpoint, 0);
            let advanced = flushed > before;
            if advanced {
                last_force = started.elapsed();
            }
            let waiting = pending.len();
            let now = Instant::now();
            pending.retain_mut(|r| {
                let status = if r.next_offset <= flushed {
                    PutMessageStatus::PutOk
                } else if now >= r.deadline || stopping {
                    PutMessageStatus::FlushDiskTimeout
                } else {
                    return true;
                };
                let (tx, _) = oneshot::channel();
                let done = std::mem::replace(&mut r.done, tx);
                let _ = done.send(status);
                false
            });
            if waiting > 0 {
                last_batch = waiting - pending.len();
            }
            // dispatch what the force confirmed only now, so the producers' answers do not wait
            // for it (they prepare their next message meanwhile)
            if advanced {
                on_flushed();
            }
            if stopping && self.requests.lock().is_empty() {
                // final flush of whatever is left
                flush_commit_log(cl, checkpoint, 0);
                on_flushed();
                return;
            }
        }
    }
}

/// What a consume-queue flush round needs to see.
pub(crate) struct CqFlushCtx<'a> {
    pub(crate) cl: &'a CommitLog,
    pub(crate) cqs: &'a ConsumeQueueStore,
    pub(crate) dispatcher: &'a Dispatcher,
    pub(crate) reput: &'a ReputService,
    pub(crate) checkpoint: &'a StoreCheckpoint,
    /// `recovery_scan_target_bytes`.
    pub(crate) scan_target: i64,
}

/// Consume-queue flush and checkpoint loop (Java `FlushConsumeQueueService` + the 1-s checkpoint
/// task). The checkpoint's logics timestamp only advances after a round that forced every
/// consume queue completely, so after an OS crash abnormal recovery re-dispatches far enough back.
pub(crate) fn run_consume_queue_flush(
    ctl: &ServiceControl,
    ctx: &CqFlushCtx<'_>,
    interval: Duration,
    least_pages: usize,
    thorough_interval: Duration,
) {
    let mut last_thorough = Instant::now();
    while !ctl.is_stopped() {
        ctl.signal.wait(interval);
        if ctl.is_stopped() {
            break; // a clean shutdown does its own final round; a crash must not
        }
        let thorough = last_thorough.elapsed() >= thorough_interval;
        if thorough {
            last_thorough = Instant::now();
        }
        flush_consume_queues(ctx, if thorough { 0 } else { least_pages });
        if let Err(e) = ctx.checkpoint.flush() {
            tracing::error!(error = %e, "checkpoint flush failed");
        }
    }
}

/// Flush every consume queue (with the page threshold), then advance the checkpoint:
/// * `recover_from` to the lowest of: the commit log's flushed offset, where dispatch stood
///   before the flush began, and each queue's first entry not yet forced. Below that offset every
///   record is durable and so is its queue entry (entries are in commit-log order). A queue whose
///   first unforced entry trails the flushed end by more than the scan target is forced whatever
///   its page count, so the offset never trails by much more than that.
/// * with `least_pages == 0` and no error, Java's logics timestamp to what was dispatched before
///   the flush began.
pub(crate) fn flush_consume_queues(ctx: &CqFlushCtx<'_>, least_pages: usize) {
    let ts = ctx
        .dispatcher
        .last_dispatched_timestamp
        .load(Ordering::Acquire);
    let dispatched = ctx.reput.reput_from();
    let cl_flushed = ctx.cl.flushed_offset();
    let horizon = dispatched.min(cl_flushed) - ctx.scan_target;
    let mut recover_from = dispatched.min(cl_flushed);
    let mut ok = true;
    for cq in ctx.cqs.all() {
        let least = match cq.first_unflushed_phy() {
            Some(phy) if phy < horizon => 0,
            _ => least_pages,
        };
        if let Err(e) = cq.flush(least) {
            ok = false;
            tracing::error!(error = %e, topic = %cq.topic, queue_id = cq.queue_id, "consume queue flush failed");
        }
        if let Some(phy) = cq.first_unflushed_phy() {
            recover_from = recover_from.min(phy);
        }
    }
    ctx.checkpoint
        .recover_from
        .fetch_max(recover_from, Ordering::AcqRel);
    if ok && least_pages == 0 && ts > 0 {
        ctx.checkpoint
            .logics_msg_timestamp
            .fetch_max(ts, Ordering::AcqRel);
    }
}
