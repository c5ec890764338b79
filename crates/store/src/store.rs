//! `DefaultMessageStore`: the commit log, consume queues, dispatcher, flush services, checkpoint
//! and abort/lock files wired together behind the [`MessageStore`] trait.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrocket_protocol::message::consts::{property, sys_flag};
use ferrocket_protocol::message::properties::{find_property, push_property};
use ferrocket_protocol::message::{decode_batch_refs, scan_properties_bytes, UniqIdGenerator};
use parking_lot::Mutex;

use crate::api::{
    BatchToStore, GetMessageResult, GetMessageStatus, MessageArrivingListener, MessageFilter,
    MessageStore, MessageToStore, PutMessageResult, PutMessageStatus, QueryMessageResult,
};
use crate::checkpoint::StoreCheckpoint;
use crate::commit_log::{AppendResult, CommitLog, EncodedRecords, RecordInput, StagingLimits};
use crate::config::{FlushDiskType, StoreConfig};
use crate::consume_queue::{ConsumeQueue, ConsumeQueueStore, CQ_STORE_UNIT_SIZE};
use crate::dispatch::{Dispatcher, ReputService};
use crate::error::StoreError;
use crate::flush::{
    flush_consume_queues, run_async_flush, run_commit, run_consume_queue_flush, CqFlushCtx,
    GroupCommitService, ServiceControl,
};
use crate::index::IndexService;
use crate::io::{Io, IoHooks, NoHooks};
use crate::recovery::{recover, RecoveryReport};

/// Longest topic accepted (UTF-8 bytes), except `%RETRY%` topics which may use 255.
const MAX_TOPIC_LEN: usize = 127;
const MAX_RETRY_TOPIC_LEN: usize = 255;
const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";

/// The file-backed message store.
pub struct DefaultMessageStore {
    config: StoreConfig,
    io: Io,
    commit_log: Arc<CommitLog>,
    cqs: Arc<ConsumeQueueStore>,
    checkpoint: Arc<StoreCheckpoint>,
    dispatcher: Arc<Dispatcher>,
    reput: Arc<ReputService>,
    group_commit: Option<Arc<GroupCommitService>>,
    async_flush: Arc<ServiceControl>,
    cq_flush: Arc<ServiceControl>,
    clean: Arc<ServiceControl>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    running: AtomicBool,
    shutdown: AtomicBool,
    uniq_ids: OnceLock<UniqIdGenerator>,
    total_physical_memory: u64,
    put_times_total: AtomicU64,
    put_size_total: AtomicU64,
    /// `DISK_FULL` running flag: the commit-log partition passed `diskSpaceWarningLevelRatio`;
    /// puts are refused until it drops below `diskSpaceCleanForciblyRatio`.
    disk_full: Arc<AtomicBool>,
    /// Records whose body CRC failed when read (never served).
    corrupt_reads: AtomicU64,
    recovery: RecoveryReport,
    _lock_file: File,
}

impl std::fmt::Debug for DefaultMessageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultMessageStore")
            .field("root", &self.config.root_dir)
            .finish_non_exhaustive()
    }
}

fn total_physical_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(8 << 30, |kb| kb * 1024)
}

fn clean_expired(
    cl: &CommitLog,
    cqs: &ConsumeQueueStore,
    dispatcher: &Dispatcher,
    config: &StoreConfig,
    force: bool,
) -> usize {
    let reserved = Duration::from_secs(config.file_reserved_time_hours * 3600);
    let now = std::time::SystemTime::now();
    let deleted = cl.queue.delete_leading(10, |f| {
        force
            || std::fs::metadata(f.path())
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age >= reserved)
    });
    if deleted > 0 {
        let cl_min = cl.min_offset();
        for cq in cqs.all() {
            cq.delete_expired_files(cl_min);
            cq.correct_min_offset(cl_min);
        }
        if let Some(index) = &dispatcher.index {
            index.delete_expired(cl_min);
        }
    }
    deleted
}

/// Local hour of day (0–23), via the C library's time-zone rules.
fn local_hour() -> Option<i64> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as libc::time_t;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::uninit();
    // SAFETY: `now` is a valid time_t and `tm` points to writable memory for one `struct tm`,
    // which `localtime_r` fills completely when it returns non-null (thread-safe variant).
    let res = unsafe { libc::localtime_r(&now, tm.as_mut_ptr()) };
    if res.is_null() {
        return None;
    }
    // SAFETY: initialised by the successful call above.
    Some(i64::from(unsafe { tm.assume_init() }.tm_hour))
}

/// Java `isSpaceFull`/`isSpaceToDelete`: measure the commit-log partition and raise or clear the
/// `DISK_FULL` flag. Above `diskSpaceWarningLevelRatio` writes are refused; they are accepted
/// again once usage is at or below `diskSpaceCleanForciblyRatio` (the gap avoids flapping).
/// Returns the usage (0 if unknown).
fn check_disk_space(io: &Io, config: &StoreConfig, disk_full: &AtomicBool) -> f64 {
    // the commit-log directory may not exist yet on a fresh store: measure the root then
    let measured = io
        .disk_usage(&config.commitlog_path())
        .or_else(|| io.disk_usage(&config.root_dir));
    let Some(usage) = measured else {
        return 0.0;
    };
    if usage > config.disk_full_ratio() {
        if !disk_full.swap(true, Ordering::AcqRel) {
            tracing::error!(
                usage,
                path = %config.commitlog_path().display(),
                "commit-log disk is nearly full: refusing new messages"
            );
        }
    } else if usage <= config.clean_forcibly_ratio() && disk_full.swap(false, Ordering::AcqRel) {
        tracing::info!(
            usage,
            "commit-log disk space is OK again: accepting messages"
        );
    }
    usage
}

/// One retention round: at `delete_when` hours or when the disk is too full.
fn retention_round(
    cl: &CommitLog,
    cqs: &ConsumeQueueStore,
    dispatcher: &Dispatcher,
    config: &StoreConfig,
    usage: f64,
) {
    let time_up = local_hour().is_some_and(|h| {
        config
            .delete_when
            .split(';')
            .any(|w| w.trim().parse::<i64>() == Ok(h))
    });
    let ratio = (config.disk_max_used_space_ratio.clamp(10, 95) as f64) / 100.0;
    let space_full = usage > ratio;
    let force = usage > config.clean_forcibly_ratio() && config.clean_file_forcibly_enable;
    if time_up || space_full {
        let n = clean_expired(cl, cqs, dispatcher, config, force);
        if n > 0 {
            tracing::info!(
                deleted = n,
                usage,
                force,
                "deleted expired commit-log files"
            );
        }
    }
}

fn lock_root(config: &StoreConfig) -> Result<File, StoreError> {
    let path = config.lock_path();
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StoreError::io("open", &path, e))?;
    // SAFETY: `flock` only reads the file descriptor, which `f` owns and keeps open for the
    // duration of the call; no memory is shared with the kernel.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return Err(StoreError::Locked(config.root_dir.clone()));
    }
    let _ = f.write_all(b"lock");
    Ok(f)
}

impl DefaultMessageStore {
    /// Open the store under `config.root_dir`: load every file, recover (normally, or abnormally
    /// when the `abort` file exists) and rebuild the queue-offset table. Call [`Self::start`] to
    /// begin serving.
    pub fn open(
        config: StoreConfig,
        listener: Option<Arc<dyn MessageArrivingListener>>,
    ) -> Result<Arc<Self>, StoreError> {
        Self::open_with_io(config, listener, Arc::new(NoHooks))
    }

    /// [`Self::open`] with every durability-relevant file operation reported to (and possibly
    /// failed by) `hooks` — the seam used by crash and full-disk tests (see [`IoHooks`]).
    pub fn open_with_io(
        config: StoreConfig,
        listener: Option<Arc<dyn MessageArrivingListener>>,
        hooks: Arc<dyn IoHooks>,
    ) -> Result<Arc<Self>, StoreError> {
        config.validate()?;
        let io = Io::new(hooks);
        io.create_dir_all(&config.root_dir)?;
        let lock_file = lock_root(&config)?;
        let last_exit_ok = !config.abort_path().exists();

        let commit_log = Arc::new(CommitLog::new(
            io.clone(),
            config.commitlog_path(),
            config.mapped_file_size_commitlog,
            config.warm_mapped_file_enable.then_some(
                config.flush_least_pages_when_warm_mapped_file.max(1)
                    * crate::mapped_file::OS_PAGE_SIZE,
            ),
            config.staging_enabled().then(|| StagingLimits {
                wake_at: (config.commit_commitlog_least_pages * crate::mapped_file::OS_PAGE_SIZE)
                    .max(1),
                max_staged: config.transient_store_pool_size.max(1) * (4 << 20),
            }),
            config.flush_disk_type == FlushDiskType::SyncFlush,
        ));
        let opening = Instant::now();
        commit_log.queue.load()?;
        let cl_loaded = opening.elapsed();
        let cqs = Arc::new(ConsumeQueueStore::new(
            io.clone(),
            config.consume_queue_path(),
            config.consume_queue_file_size() as usize,
        ));
        cqs.load()?;
        let cqs_loaded = opening.elapsed();
        let checkpoint = Arc::new(StoreCheckpoint::open(&io, &config.checkpoint_path())?);
        let index = if config.message_index_enable {
            let svc = IndexService::new(
                io.clone(),
                config.index_path(),
                config.max_hash_slot_num,
                config.max_index_num,
                Arc::clone(&checkpoint),
            );
            // After a process crash the page cache kept the index files whole; after a power
            // loss the newest ones may be torn and are dropped, as in Java.
            svc.load(!last_exit_ok && !checkpoint.written_this_boot())?;
            Some(Arc::new(svc))
        } else {
            None
        };
        let dispatcher = Arc::new(Dispatcher::new(
            Arc::clone(&cqs),
            index,
            listener,
            config.delay_level_table(),
        ));

        let index_loaded = opening.elapsed();
        let recovered = recover(
            &commit_log,
            &cqs,
            &checkpoint,
            &dispatcher,
            last_exit_ok,
            config.check_crc_on_recover,
        )?;
        tracing::info!(
            commit_log_ms = cl_loaded.as_millis() as u64,
            consume_queues_ms = (cqs_loaded - cl_loaded).as_millis() as u64,
            index_ms = (index_loaded - cqs_loaded).as_millis() as u64,
            recovery_ms = (opening.elapsed() - index_loaded).as_millis() as u64,
            "store opened"
        );
        if let Some(index) = &dispatcher.index {
            index.resume_at(recovered.process_offset);
        }
        commit_log.set_last_store_timestamp(recovered.last_store_timestamp);
        commit_log.set_topic_queue_table(cqs.offset_table());
        let cl_min = commit_log.min_offset();
        for cq in cqs.all() {
            cq.correct_min_offset(cl_min);
        }

        let group_commit = (config.flush_disk_type == FlushDiskType::SyncFlush)
            .then(|| Arc::new(GroupCommitService::new()));
        Ok(Arc::new(DefaultMessageStore {
            reput: Arc::new(ReputService::new(recovered.process_offset)),
            config,
            io,
            commit_log,
            cqs,
            checkpoint,
            dispatcher,
            group_commit,
            async_flush: Arc::new(ServiceControl::default()),
            cq_flush: Arc::new(ServiceControl::default()),
            clean: Arc::new(ServiceControl::default()),
            threads: Mutex::new(Vec::new()),
            running: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            uniq_ids: OnceLock::new(),
            total_physical_memory: total_physical_memory(),
            put_times_total: AtomicU64::new(0),
            put_size_total: AtomicU64::new(0),
            disk_full: Arc::new(AtomicBool::new(false)),
            corrupt_reads: AtomicU64::new(0),
            recovery: recovered.report,
            _lock_file: lock_file,
        }))
    }

    /// Create the `abort` file and start the background threads (allocation, dispatch, flush).
    pub fn start(&self) -> Result<(), StoreError> {
        if self.running.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let abort = self.config.abort_path();
        self.io
            .create_marker_file(&abort, std::process::id().to_string().as_bytes())?;
        check_disk_space(&self.io, &self.config, &self.disk_full);

        let spawn =
            |name: &str, f: Box<dyn FnOnce() + Send>| -> Result<JoinHandle<()>, StoreError> {
                std::thread::Builder::new()
                    .name(name.into())
                    .spawn(f)
                    .map_err(|e| StoreError::io("spawn thread", name, e))
            };
        let mut threads = self.threads.lock();
        threads.push(
            self.commit_log
                .start_allocator()
                .map_err(|e| StoreError::io("spawn thread", "AllocateMappedFileService", e))?,
        );

        // Reput (the dispatch backstop): confirm offset = flushed (SYNC_FLUSH) or appended
        // (ASYNC_FLUSH). Appenders and the group commit dispatch inline (`ReputService::request`).
        {
            let (cl, d, reput) = (
                Arc::clone(&self.commit_log),
                Arc::clone(&self.dispatcher),
                Arc::clone(&self.reput),
            );
            let sync = self.group_commit.is_some();
            let interval = Duration::from_millis(self.config.reput_interval_ms.max(1));
            threads.push(spawn(
                "ReputMessageService",
                Box::new(move || {
                    let cl2 = Arc::clone(&cl);
                    let confirm = move || {
                        if sync {
                            cl2.flushed_offset()
                        } else {
                            cl2.max_offset()
                        }
                    };
                    reput.run(&cl, &d, &confirm, interval);
                }),
            )?);
        }

        if self.commit_log.is_staging() {
            let (cl, d, reput) = (
                Arc::clone(&self.commit_log),
                Arc::clone(&self.dispatcher),
                Arc::clone(&self.reput),
            );
            let interval = Duration::from_millis(self.config.commit_interval_commitlog_ms.max(1));
            let least = self.config.commit_commitlog_least_pages;
            let thorough = Duration::from_millis(self.config.commit_commitlog_thorough_interval_ms);
            threads.push(spawn(
                "CommitRealTimeService",
                Box::new(move || {
                    // what a commit made readable is dispatched by this thread, off the put path
                    let dispatch = || reput.request(&cl, &d, &|| cl.max_offset());
                    run_commit(&cl, &dispatch, interval, least, thorough);
                }),
            )?);
        }

        if let Some(gc) = &self.group_commit {
            let (gc, cl, cp, d, reput) = (
                Arc::clone(gc),
                Arc::clone(&self.commit_log),
                Arc::clone(&self.checkpoint),
                Arc::clone(&self.dispatcher),
                Arc::clone(&self.reput),
            );
            threads.push(spawn(
                "GroupCommitService",
                Box::new(move || {
                    // what a force made confirmable is dispatched by this thread (after the
                    // waiting producers are answered), or by whoever is dispatching already
                    let dispatch = || reput.request(&cl, &d, &|| cl.flushed_offset());
                    gc.run(&cl, &cp, &dispatch);
                }),
            )?);
        } else {
            let (ctl, cl, cp) = (
                Arc::clone(&self.async_flush),
                Arc::clone(&self.commit_log),
                Arc::clone(&self.checkpoint),
            );
            let interval = Duration::from_millis(self.config.flush_interval_commitlog_ms.max(1));
            let least = self.config.flush_commitlog_least_pages;
            let thorough = Duration::from_millis(self.config.flush_commitlog_thorough_interval_ms);
            threads.push(spawn(
                "FlushRealTimeService",
                Box::new(move || run_async_flush(&ctl, &cl, &cp, interval, least, thorough)),
            )?);
        }

        {
            let (ctl, cl, cqs, d, reput, cp) = (
                Arc::clone(&self.cq_flush),
                Arc::clone(&self.commit_log),
                Arc::clone(&self.cqs),
                Arc::clone(&self.dispatcher),
                Arc::clone(&self.reput),
                Arc::clone(&self.checkpoint),
            );
            let interval =
                Duration::from_millis(self.config.flush_interval_consume_queue_ms.max(1));
            let least = self.config.flush_consume_queue_least_pages;
            let thorough =
                Duration::from_millis(self.config.flush_consume_queue_thorough_interval_ms);
            let scan_target = self.scan_target();
            threads.push(spawn(
                "FlushConsumeQueueService",
                Box::new(move || {
                    let ctx = CqFlushCtx {
                        cl: &cl,
                        cqs: &cqs,
                        dispatcher: &d,
                        reput: &reput,
                        checkpoint: &cp,
                        scan_target,
                    };
                    run_consume_queue_flush(&ctl, &ctx, interval, least, thorough)
                }),
            )?);
        }
        {
            let (ctl, cl, cqs, d, io, full) = (
                Arc::clone(&self.clean),
                Arc::clone(&self.commit_log),
                Arc::clone(&self.cqs),
                Arc::clone(&self.dispatcher),
                self.io.clone(),
                Arc::clone(&self.disk_full),
            );
            let config = self.config.clone();
            let interval = Duration::from_millis(config.clean_resource_interval_ms.max(100));
            // the disk is measured every second (or every round if shorter), retention runs
            // every `clean_resource_interval_ms` or at once when the disk is over the limits
            let tick = interval.min(Duration::from_secs(1));
            threads.push(spawn(
                "CleanCommitLogService",
                Box::new(move || {
                    let mut last_round = Instant::now();
                    while !ctl.is_stopped() {
                        ctl.signal.wait(tick);
                        if ctl.is_stopped() {
                            break;
                        }
                        let usage = check_disk_space(&io, &config, &full);
                        if last_round.elapsed() >= interval || usage > config.clean_forcibly_ratio()
                        {
                            last_round = Instant::now();
                            retention_round(&cl, &cqs, &d, &config, usage);
                        }
                    }
                }),
            )?);
        }
        Ok(())
    }

    /// The configuration the store runs with.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// End of what the dispatcher has processed.
    pub fn reput_from_offset(&self) -> i64 {
        self.reput.reput_from()
    }

    /// Bytes appended/confirmed but not yet dispatched.
    pub fn dispatch_behind_bytes(&self) -> i64 {
        (self.confirm_offset() - self.reput.reput_from()).max(0)
    }

    /// Next queue offset the put path will assign to `topic`/`queue_id`.
    pub fn next_queue_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.commit_log.next_queue_offset(topic, queue_id)
    }

    /// Whether a put has been stuck in the put lock for longer than the busy timeout.
    pub fn is_os_page_cache_busy(&self) -> bool {
        self.commit_log
            .is_os_page_cache_busy(self.config.os_page_cache_busy_timeout_ms)
    }

    /// Wait (blocking) until the dispatcher has caught up with the confirm offset, at most
    /// `timeout`. Returns whether it caught up.
    pub fn wait_for_dispatch(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.dispatch_behind_bytes() == 0 {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            self.reput.signal.notify();
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn check_before_put(&self, topic: &str) -> Result<(), PutMessageStatus> {
        if self.shutdown.load(Ordering::Acquire) || !self.running.load(Ordering::Acquire) {
            return Err(PutMessageStatus::ServiceNotAvailable);
        }
        // Java's "not writeable" running flags: DISK_FULL, LOGICS_QUEUE_ERROR/INDEX_FILE_ERROR
        if self.disk_full.load(Ordering::Acquire) || self.reput.failing.load(Ordering::Acquire) {
            return Err(PutMessageStatus::ServiceNotAvailable);
        }
        let limit = if topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            MAX_RETRY_TOPIC_LEN
        } else {
            MAX_TOPIC_LEN
        };
        if topic.is_empty() || topic.len() > limit {
            return Err(PutMessageStatus::MessageIllegal);
        }
        if self.is_os_page_cache_busy() {
            return Err(PutMessageStatus::OsPageCacheBusy);
        }
        Ok(())
    }

    fn uniq_id_generator(&self, store_host: std::net::SocketAddr) -> &UniqIdGenerator {
        self.uniq_ids.get_or_init(|| {
            let seed = crate::commit_log::now_ms() as i32 ^ (self as *const Self as usize as i32);
            UniqIdGenerator::new(store_host.ip(), std::process::id(), seed)
        })
    }

    /// Append and return how to wait for the flush promise.
    fn put_encoded(
        &self,
        enc: EncodedRecords<'_>,
        wait_store_msg_ok: bool,
    ) -> (
        PutMessageResult,
        Option<tokio::sync::oneshot::Receiver<PutMessageStatus>>,
    ) {
        let r: AppendResult = match self.commit_log.append(enc) {
            Ok(r) => r,
            Err(status) => return (PutMessageResult::failed(status), None),
        };
        self.put_times_total
            .fetch_add(r.msg_num as u64, Ordering::Relaxed);
        self.put_size_total
            .fetch_add(r.wrote_bytes as u64, Ordering::Relaxed);
        let result = PutMessageResult {
            status: PutMessageStatus::PutOk,
            wrote_offset: r.wrote_offset,
            wrote_bytes: r.wrote_bytes,
            msg_id: r.msg_ids,
            store_timestamp: r.store_timestamp,
            queue_offset: r.queue_offset,
            msg_num: r.msg_num,
        };
        match &self.group_commit {
            None => {
                // ASYNC_FLUSH: the record is confirmable now; dispatch it on this thread unless
                // someone is dispatching already (then they will), without waking the reput
                // thread. Staged records are not readable yet: the commit thread dispatches them.
                let cl = &self.commit_log;
                if !cl.is_staging() {
                    self.reput
                        .request(cl, &self.dispatcher, &|| cl.max_offset());
                }
                (result, None)
            }
            Some(gc) if wait_store_msg_ok => {
                let rx = gc.submit(
                    r.wrote_offset + i64::from(r.wrote_bytes),
                    Duration::from_millis(self.config.sync_flush_timeout_ms),
                );
                (result, Some(rx))
            }
            Some(gc) => {
                gc.wakeup();
                (result, None)
            }
        }
    }

    fn put_single(
        &self,
        msg: &MessageToStore,
    ) -> (
        PutMessageResult,
        Option<tokio::sync::oneshot::Receiver<PutMessageStatus>>,
    ) {
        if let Err(status) = self.check_before_put(&msg.topic) {
            return (PutMessageResult::failed(status), None);
        }
        let enc = match EncodedRecords::encode(
            &msg.topic,
            msg.queue_id,
            msg.sys_flag,
            msg.born_timestamp,
            msg.born_host,
            msg.store_host,
            [RecordInput {
                flag: msg.flag,
                body: &msg.body,
                properties: msg.properties.as_bytes(),
                reconsume_times: msg.reconsume_times,
                prepared_transaction_offset: msg.prepared_transaction_offset,
            }],
            self.config.max_message_size,
            self.config.mapped_file_size_commitlog as usize,
        ) {
            Ok(enc) => enc,
            Err(status) => return (PutMessageResult::failed(status), None),
        };
        // WAIT only matters to SYNC_FLUSH: skip the property scan otherwise
        let wait = self.group_commit.is_some()
            && find_property(&msg.properties, property::WAIT_STORE_MSG_OK) != Some("false");
        self.put_encoded(enc, wait)
    }

    fn put_batch(
        &self,
        batch: &BatchToStore,
    ) -> (
        PutMessageResult,
        Option<tokio::sync::oneshot::Receiver<PutMessageStatus>>,
    ) {
        let fail = |s| (PutMessageResult::failed(s), None);
        if let Err(status) = self.check_before_put(&batch.topic) {
            return fail(status);
        }
        if batch.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX)
            || sys_flag::transaction_value(batch.sys_flag) != sys_flag::TRANSACTION_NOT_TYPE
            || batch.body.len() > self.config.max_message_size
        {
            return fail(PutMessageStatus::MessageIllegal);
        }
        let Ok(entries) = decode_batch_refs(&batch.body) else {
            return fail(PutMessageStatus::MessageIllegal);
        };
        // Properties are stored as the client wrote them; an entry without a UNIQ_KEY gets one
        // appended (`push_property` adds a missing trailing separator first).
        let props: Vec<Cow<'_, [u8]>> = entries
            .iter()
            .map(|(_, e)| {
                let [uniq] =
                    scan_properties_bytes(e.properties, [property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX]);
                if uniq.is_some() {
                    return Cow::Borrowed(e.properties);
                }
                let id = self.uniq_id_generator(batch.store_host).next_id();
                let mut owned = String::from_utf8_lossy(e.properties).into_owned();
                push_property(&mut owned, property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, &id);
                Cow::Owned(owned.into_bytes())
            })
            .collect();
        let [wait] = scan_properties_bytes(&props[0], [property::WAIT_STORE_MSG_OK]);
        let wait = wait != Some("false");
        let enc = match EncodedRecords::encode(
            &batch.topic,
            batch.queue_id,
            batch.sys_flag,
            batch.born_timestamp,
            batch.born_host,
            batch.store_host,
            entries
                .iter()
                .zip(&props)
                .map(|((_, e), props)| RecordInput {
                    flag: e.flag,
                    body: e.body,
                    properties: props,
                    reconsume_times: 0,
                    prepared_transaction_offset: 0,
                }),
            self.config.max_message_size,
            self.config.mapped_file_size_commitlog as usize,
        ) {
            Ok(enc) => enc,
            Err(status) => return fail(status),
        };
        self.put_encoded(enc, wait)
    }

    /// Stop all threads. `graceful`: flush everything, write the checkpoint and remove `abort`.
    fn stop(&self, graceful: bool) {
        if self.shutdown.swap(true, Ordering::AcqRel) {
            return;
        }
        let was_running = self.running.swap(false, Ordering::AcqRel);
        self.commit_log.stop_allocator();
        // staged appends are committed (and dispatched) before anything else stops
        self.commit_log.commit_ctl.stop();
        if graceful && was_running {
            self.join_threads_named(&["CommitRealTimeService"]);
            if let Err(e) = self.commit_log.commit(0) {
                tracing::error!(error = %e, "final commit of staged commit-log bytes failed");
            }
        }
        if let Some(gc) = &self.group_commit {
            gc.ctl.stop();
        }
        self.async_flush.stop();
        if graceful && was_running {
            // let the flushers finish first, so SYNC_FLUSH confirms everything for the reput
            self.join_threads_named(&["GroupCommitService", "FlushRealTimeService"]);
            let deadline = Instant::now() + Duration::from_secs(5);
            while self.dispatch_behind_bytes() > 0 && Instant::now() < deadline {
                self.reput.signal.notify();
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        self.reput.stopped.store(true, Ordering::Release);
        self.reput.signal.notify();
        self.cq_flush.stop();
        self.clean.stop();
        self.join_threads_named(&[]);
        if !graceful {
            return;
        }
        if let Err(e) = self.commit_log.flush(0) {
            tracing::error!(error = %e, "final commit log flush failed");
        }
        if self.commit_log.flushed_offset() >= self.commit_log.max_offset() {
            self.checkpoint
                .physic_msg_timestamp
                .fetch_max(self.commit_log.last_store_timestamp(), Ordering::AcqRel);
        }
        flush_consume_queues(
            &CqFlushCtx {
                cl: &self.commit_log,
                cqs: &self.cqs,
                dispatcher: &self.dispatcher,
                reput: &self.reput,
                checkpoint: &self.checkpoint,
                scan_target: self.scan_target(),
            },
            0,
        );
        if let Some(index) = &self.dispatcher.index {
            index.flush();
            self.checkpoint.index_msg_timestamp.fetch_max(
                self.dispatcher
                    .last_dispatched_timestamp
                    .load(Ordering::Acquire),
                Ordering::AcqRel,
            );
        }
        if let Err(e) = self.checkpoint.flush() {
            tracing::error!(error = %e, "final checkpoint flush failed");
        }
        let caught_up = self.dispatch_behind_bytes() == 0;
        if caught_up {
            self.io.remove_file(&self.config.abort_path());
            self.io.sync_dir(&self.config.root_dir);
        } else {
            tracing::warn!(
                behind = self.dispatch_behind_bytes(),
                "dispatch did not catch up: keeping the abort file"
            );
        }
    }

    /// Join threads by name (all remaining when `names` is empty).
    fn join_threads_named(&self, names: &[&str]) {
        let handles: Vec<JoinHandle<()>> = {
            let mut threads = self.threads.lock();
            let (take, keep): (Vec<_>, Vec<_>) = threads.drain(..).partition(|h| {
                names.is_empty() || h.thread().name().is_some_and(|n| names.contains(&n))
            });
            *threads = keep;
            take
        };
        for h in handles {
            let _ = h.join();
        }
    }

    /// Retention (Java `CleanCommitLogService`, storage spec §4.11): delete commit-log files,
    /// oldest first and never the last one, whose mtime is older than `file_reserved_time_hours`
    /// (or any, when `force`), at most 10 per call; then delete consume-queue and index files
    /// that only point below the new commit-log start and correct every queue's min offset.
    /// Returns the number of commit-log files deleted. Also run every
    /// `clean_resource_interval_ms` by a background thread at `delete_when` hours or when the
    /// disk is fuller than `disk_max_used_space_ratio`.
    pub fn clean_expired_files(&self, force: bool) -> usize {
        clean_expired(
            &self.commit_log,
            &self.cqs,
            &self.dispatcher,
            &self.config,
            force,
        )
    }

    /// Used share of the commit log's partition (0.0–1.0), if known.
    pub fn commit_log_disk_usage(&self) -> Option<f64> {
        self.io.disk_usage(&self.config.commitlog_path())
    }

    /// Whether puts are refused because the commit-log disk passed
    /// `disk_space_warning_level_ratio` (Java's `DISK_FULL` running flag).
    pub fn is_disk_full(&self) -> bool {
        self.disk_full.load(Ordering::Acquire)
    }

    /// Measure the disk now (the store also does it every second) and return the usage.
    pub fn check_disk_space(&self) -> f64 {
        check_disk_space(&self.io, &self.config, &self.disk_full)
    }

    fn scan_target(&self) -> i64 {
        i64::try_from(self.config.recovery_scan_target_bytes).unwrap_or(i64::MAX)
    }

    /// What recovery did when this store was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// Longest time any put has held the commit-log put lock (page-cache stall detection).
    pub fn put_lock_max_hold(&self) -> Duration {
        self.commit_log.max_lock_hold()
    }

    /// Commit-log offset below which recovery will not scan (from the in-memory checkpoint).
    pub fn recover_from_offset(&self) -> i64 {
        self.checkpoint.recover_from.load(Ordering::Acquire)
    }

    /// A stored record as read for a consumer: `None` (and an error log naming the file and
    /// offset) if its body CRC does not match, so a corrupted record is never served.
    fn verified(&self, offset: i64, bytes: Bytes) -> Option<Bytes> {
        if !self.config.verify_crc_on_read {
            return Some(bytes);
        }
        let ok = ferrocket_protocol::message::RecordView::parse(&bytes)
            .is_ok_and(|v| v.verify_body_crc().is_ok());
        if ok {
            return Some(bytes);
        }
        self.corrupt_reads.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            file = %self.commit_log.file_path_of(offset).map(|p| p.display().to_string()).unwrap_or_default(),
            offset,
            "corrupted commit-log record (body CRC mismatch): not served"
        );
        None
    }

    fn cq(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.cqs.find(topic, queue_id)
    }

    fn batch_full(
        &self,
        size: usize,
        in_memory: bool,
        max_msg_nums: i32,
        max_total_size: usize,
        buffer_total: usize,
        count: usize,
    ) -> bool {
        if buffer_total == 0 || count == 0 {
            return false;
        }
        if count as i64 + 1 > i64::from(max_msg_nums) {
            return true;
        }
        if buffer_total + size > max_total_size {
            return true;
        }
        let (bytes, msgs) = if in_memory {
            (
                self.config.max_transfer_bytes_on_message_in_memory,
                self.config.max_transfer_count_on_message_in_memory,
            )
        } else {
            (
                self.config.max_transfer_bytes_on_message_in_disk,
                self.config.max_transfer_count_on_message_in_disk,
            )
        };
        buffer_total + size > bytes || count + 1 > msgs
    }

    fn memory_budget(&self) -> i64 {
        (self.total_physical_memory / 100 * self.config.access_message_in_memory_max_ratio) as i64
    }
}

impl Drop for DefaultMessageStore {
    fn drop(&mut self) {
        // Without `shutdown()`, behave like a crash as far as the disk is concerned: stop the
        // threads but neither flush nor remove the abort file.
        self.stop(false);
    }
}

impl MessageStore for DefaultMessageStore {
    fn put_message(
        &self,
        msg: MessageToStore,
    ) -> impl std::future::Future<Output = PutMessageResult> + Send {
        let (result, wait) = self.put_single(&msg);
        finish_put(result, wait)
    }

    fn put_messages(
        &self,
        batch: BatchToStore,
    ) -> impl std::future::Future<Output = PutMessageResult> + Send {
        let (result, wait) = self.put_batch(&batch);
        finish_put(result, wait)
    }

    fn get_message(
        &self,
        _group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msg_nums: i32,
        max_total_size: usize,
        filter: Option<&dyn MessageFilter>,
    ) -> GetMessageResult {
        let mut result = GetMessageResult {
            status: GetMessageStatus::NoMessageInQueue,
            next_begin_offset: offset,
            min_offset: 0,
            max_offset: 0,
            messages: Vec::new(),
            buffer_total_size: 0,
            suggest_pulling_from_slave: false,
        };
        if self.shutdown.load(Ordering::Acquire) {
            result.status = GetMessageStatus::NoMatchedLogicQueue;
            return result;
        }
        let Some(cq) = self.cq(topic, queue_id) else {
            result.next_begin_offset = 0;
            return result;
        };
        let (min, max) = (cq.min_offset(), cq.max_offset());
        result.min_offset = min;
        result.max_offset = max;
        if max == 0 {
            result.status = GetMessageStatus::NoMessageInQueue;
            result.next_begin_offset = 0;
            return result;
        }
        if offset < min {
            result.status = GetMessageStatus::OffsetTooSmall;
            result.next_begin_offset = min;
            return result;
        }
        if offset == max {
            result.status = GetMessageStatus::OffsetOverflowOne;
            result.next_begin_offset = offset;
            return result;
        }
        if offset > max {
            result.status = GetMessageStatus::OffsetOverflowBadly;
            result.next_begin_offset = max;
            return result;
        }
        let Some((file, start, end)) = cq.entries_from(offset) else {
            result.status = GetMessageStatus::OffsetFoundNull;
            result.next_begin_offset = cq.roll_next_file(offset);
            return result;
        };
        result.status = GetMessageStatus::NoMatchedMessage;
        let mut next = offset;
        let max_filter_bytes = self
            .config
            .max_filter_message_size
            .max(max_msg_nums.max(0) as usize * CQ_STORE_UNIT_SIZE);
        let cl_max = self.commit_log.max_offset();
        let budget = self.memory_budget();
        let mut last_phy = cl_max;
        let mut next_phy_file_start = i64::MIN;
        let mut pos = start;
        let mut q = offset;
        while pos + CQ_STORE_UNIT_SIZE <= end && q < max {
            if (q - offset) as usize * CQ_STORE_UNIT_SIZE >= max_filter_bytes {
                break;
            }
            let Some(raw) = file.read(pos, CQ_STORE_UNIT_SIZE) else {
                break;
            };
            let e = crate::consume_queue::CqEntry::decode(raw);
            let in_memory = cl_max - e.commitlog_offset <= budget;
            if !e.is_filler()
                && self.batch_full(
                    e.size.max(0) as usize,
                    in_memory,
                    max_msg_nums,
                    max_total_size,
                    result.buffer_total_size,
                    result.messages.len(),
                )
            {
                break;
            }
            pos += CQ_STORE_UNIT_SIZE;
            q += 1;
            next = q;
            if e.is_filler() || !e.is_valid() {
                continue;
            }
            last_phy = e.commitlog_offset;
            if e.commitlog_offset < next_phy_file_start {
                continue;
            }
            if let Some(f) = filter {
                if !f.is_matched_by_consume_queue(e.tags_code) {
                    continue;
                }
            }
            let Some(bytes) = self.commit_log.read(e.commitlog_offset, e.size as usize) else {
                if result.messages.is_empty() {
                    result.status = GetMessageStatus::MessageWasRemoving;
                }
                next_phy_file_start = self.commit_log.roll_next_file(e.commitlog_offset);
                continue;
            };
            let Some(bytes) = self.verified(e.commitlog_offset, bytes) else {
                continue;
            };
            if let Some(f) = filter {
                if !f.is_matched_by_commit_log(&bytes) {
                    continue;
                }
            }
            result.buffer_total_size += bytes.len();
            result.messages.push(bytes);
            result.status = GetMessageStatus::Found;
        }
        result.next_begin_offset = next;
        result.suggest_pulling_from_slave = cl_max - last_phy > budget;
        result
    }

    fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.cq(topic, queue_id).map_or(0, |cq| cq.max_offset())
    }

    fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.cq(topic, queue_id).map_or(0, |cq| cq.min_offset())
    }

    fn offset_in_queue_by_time(&self, topic: &str, queue_id: i32, timestamp: i64) -> i64 {
        let Some(cq) = self.cq(topic, queue_id) else {
            return 0;
        };
        let (min, max) = (cq.min_offset(), cq.max_offset());
        let files = cq.files();
        if files.is_empty() || max <= min {
            return min.max(0).min(max);
        }
        let cl_min = self.commit_log.min_offset();
        let unit = CQ_STORE_UNIT_SIZE;
        // store time of an entry; too-old for fillers and entries below the commit log
        let entry_time = |f: &crate::mapped_file::MappedFile, idx: usize| -> i64 {
            let Some(raw) = f.read(idx * unit, unit) else {
                return i64::MIN;
            };
            let e = crate::consume_queue::CqEntry::decode(raw);
            if e.is_filler() || !e.is_valid() || e.commitlog_offset < cl_min {
                return i64::MIN;
            }
            self.commit_log
                .store_timestamp_at(e.commitlog_offset)
                .unwrap_or(i64::MIN)
        };
        // LOWER: the first file (except the last) whose last entry is at or after `timestamp`
        let chosen = files[..files.len() - 1]
            .iter()
            .find(|f| {
                let n = f.wrote_position() / unit;
                n > 0 && entry_time(f, n - 1) >= timestamp
            })
            .unwrap_or(&files[files.len() - 1]);
        let base = chosen.file_from_offset() as i64 / unit as i64;
        let mut lo = (min - base).max(0) as usize;
        let mut hi = chosen.wrote_position() / unit;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if entry_time(chosen, mid) < timestamp {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (base + lo as i64).clamp(min, max)
    }

    fn earliest_message_time(&self, topic: &str, queue_id: i32) -> i64 {
        let Some(cq) = self.cq(topic, queue_id) else {
            return -1;
        };
        let min = cq.min_offset();
        if min >= cq.max_offset() {
            return -1;
        }
        self.message_store_timestamp(topic, queue_id, min)
    }

    fn message_store_timestamp(
        &self,
        topic: &str,
        queue_id: i32,
        consume_queue_offset: i64,
    ) -> i64 {
        self.cq(topic, queue_id)
            .and_then(|cq| cq.entry(consume_queue_offset))
            .filter(|e| e.is_valid() && !e.is_filler())
            .and_then(|e| self.commit_log.store_timestamp_at(e.commitlog_offset))
            .unwrap_or(-1)
    }

    fn commit_log_offset_in_queue(
        &self,
        topic: &str,
        queue_id: i32,
        consume_queue_offset: i64,
    ) -> i64 {
        self.cq(topic, queue_id)
            .and_then(|cq| cq.entry(consume_queue_offset))
            .filter(|e| e.is_valid() && !e.is_filler())
            .map_or(0, |e| e.commitlog_offset)
    }

    fn look_message_by_offset(&self, commit_log_offset: i64) -> Option<Bytes> {
        let bytes = self.commit_log.look_message(commit_log_offset)?;
        self.verified(commit_log_offset, bytes)
    }

    fn max_phy_offset(&self) -> i64 {
        self.commit_log.max_offset()
    }

    fn min_phy_offset(&self) -> i64 {
        self.commit_log.min_offset()
    }

    fn confirm_offset(&self) -> i64 {
        if self.group_commit.is_some() {
            self.commit_log.flushed_offset()
        } else {
            self.commit_log.max_offset()
        }
    }

    fn flushed_offset(&self) -> i64 {
        self.commit_log.flushed_offset()
    }

    fn delete_topics(&self, topics: &[&str]) {
        for topic in topics {
            self.commit_log.remove_topic_queue_offsets(topic);
            self.cqs.delete_topic(topic);
            tracing::info!(topic, "deleted topic consume queues");
        }
    }

    fn runtime_info(&self) -> HashMap<String, String> {
        let mut m = HashMap::new();
        let cl = &self.commit_log;
        m.insert("commitLogMaxOffset".into(), cl.max_offset().to_string());
        m.insert("commitLogMinOffset".into(), cl.min_offset().to_string());
        m.insert(
            "commitLogFlushedOffset".into(),
            cl.flushed_offset().to_string(),
        );
        m.insert("confirmOffset".into(), self.confirm_offset().to_string());
        m.insert(
            "dispatchBehindBytes".into(),
            self.dispatch_behind_bytes().to_string(),
        );
        m.insert(
            "putMessageTimesTotal".into(),
            self.put_times_total.load(Ordering::Relaxed).to_string(),
        );
        m.insert(
            "putMessageSizeTotal".into(),
            self.put_size_total.load(Ordering::Relaxed).to_string(),
        );
        m.insert(
            "flushDiskType".into(),
            match self.config.flush_disk_type {
                FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
                FlushDiskType::SyncFlush => "SYNC_FLUSH",
            }
            .into(),
        );
        m.insert(
            "earliestMessageTimeStamp".into(),
            cl.store_timestamp_at(cl.min_offset())
                .unwrap_or(-1)
                .to_string(),
        );
        m.insert("consumeQueueCount".into(), self.cqs.all().len().to_string());
        m.insert(
            "pageCacheBusy".into(),
            self.is_os_page_cache_busy().to_string(),
        );
        m.insert(
            "putMessageLockMaxHoldMs".into(),
            self.put_lock_max_hold().as_millis().to_string(),
        );
        m.insert("diskFull".into(), self.is_disk_full().to_string());
        m.insert(
            "dispatchFailing".into(),
            self.reput.failing.load(Ordering::Acquire).to_string(),
        );
        let (inline_rounds, handoffs) = self.reput.inline_stats();
        m.insert("dispatchInlineRounds".into(), inline_rounds.to_string());
        m.insert("dispatchHandoffs".into(), handoffs.to_string());
        m.insert(
            "corruptRecordsRead".into(),
            self.corrupt_reads.load(Ordering::Relaxed).to_string(),
        );
        m.insert(
            "recoverFromOffset".into(),
            self.recover_from_offset().to_string(),
        );
        m
    }

    fn shutdown(&self) {
        self.stop(true);
    }

    fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> QueryMessageResult {
        let Some(index) = &self.dispatcher.index else {
            return QueryMessageResult::default();
        };
        let max = max_num.min(self.config.max_msgs_num_batch);
        let found = index.query(topic, key, max, begin, end);
        let mut offsets = found.phy_offsets;
        offsets.sort_unstable();
        offsets.dedup();
        QueryMessageResult {
            messages: offsets
                .into_iter()
                .filter_map(|o| self.look_message_by_offset(o))
                .collect(),
            index_last_update_timestamp: found.index_last_update_timestamp,
            index_last_update_phy_offset: found.index_last_update_phy_offset,
        }
    }
}

async fn finish_put(
    mut result: PutMessageResult,
    wait: Option<tokio::sync::oneshot::Receiver<PutMessageStatus>>,
) -> PutMessageResult {
    if let Some(rx) = wait {
        result.status = rx.await.unwrap_or(PutMessageStatus::FlushDiskTimeout);
    }
    result
}
