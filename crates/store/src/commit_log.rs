//! The commit log (Java `CommitLog`, storage spec §2 and §4.3): one append-only log of every
//! message of every queue, stored as a mapped-file queue of `mappedFileSizeCommitLog` files.
//!
//! Owns: record encoding for puts (through `ferrocket_protocol::message`), the put lock, the
//! topic-queue offset table, BLANK records at file ends, file pre-allocation and flushing.
//! Must not know about consume queues, the index or consumers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrocket_protocol::message::consts::{sys_flag, PROPERTY_SEPARATOR};
use ferrocket_protocol::message::record::{
    self, encode_blank, peek_size_and_magic, store_timestamp_pos, BLANK_HEADER_LEN,
    PHYSICAL_OFFSET_POS, QUEUE_OFFSET_POS,
};
use ferrocket_protocol::message::{
    push_offset_msg_id, MessageRecord, RecordError, MESSAGE_MAGIC_CODE_V1, MESSAGE_MAGIC_CODE_V2,
};
use parking_lot::{Condvar, Mutex};

use crate::api::PutMessageStatus;
use crate::error::StoreError;
use crate::flush::ServiceControl;
use crate::io::Io;
use crate::mapped_file::MappedFile;
use crate::mapped_file_queue::MappedFileQueue;
use crate::FastMap;

/// Extra room a record may take beyond `maxMessageSize` of body (Java: 64 KiB).
const MAX_RECORD_OVERHEAD: usize = 64 * 1024;

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Nanoseconds on a monotonic clock, never 0. Lock-hold times are measured with it so that a
/// wall-clock step (NTP) can never make the store look busy.
///
/// On Linux this reads the coarse monotonic clock (resolution of a scheduler tick, a few ms, at a
/// fraction of the precise clock's cost on the put path): what it times are lock holds compared
/// with limits of hundreds of ms.
fn mono_ns() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, exclusively borrowed timespec; clock_gettime only writes it.
        if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) } == 0 {
            return ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64 + 1;
        }
    }
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}

/// A put holding the lock longer than this is logged (Java logs at 500 ms as well).
const SLOW_PUT_WARN: Duration = Duration::from_millis(500);

/// Records encoded outside the put lock; offsets and store time are patched inside it.
///
/// Its buffers come from a per-thread spare and go back to it when it is dropped, so a put
/// allocates nothing for its encoding once a thread has done one.
pub(crate) struct EncodedRecords<'a> {
    pub(crate) topic: &'a str,
    pub(crate) queue_id: i32,
    pub(crate) store_host: SocketAddr,
    pub(crate) buf: BytesMut,
    /// (start in `buf`, sysFlag) of each record.
    pub(crate) records: Vec<(usize, i32)>,
    /// Whether the records take queue offsets (transaction type NOT or COMMIT).
    pub(crate) assign_queue_offset: bool,
}

/// One record's fields, as the put path receives them.
pub(crate) struct RecordInput<'a> {
    pub(crate) flag: i32,
    pub(crate) body: &'a [u8],
    pub(crate) properties: &'a [u8],
    pub(crate) reconsume_times: i32,
    pub(crate) prepared_transaction_offset: i64,
}

/// Encode buffers kept for reuse: one set per thread.
type Spare = (BytesMut, Vec<(usize, i32)>);

thread_local! {
    static SPARE: std::cell::Cell<Option<Spare>> = const { std::cell::Cell::new(None) };
}

/// A spare kept by a thread is at most this large (a put of a big batch does not pin its
/// buffer).
const SPARE_MAX: usize = 1 << 20;

impl Drop for EncodedRecords<'_> {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        if buf.capacity() > SPARE_MAX {
            return;
        }
        buf.clear();
        let mut records = std::mem::take(&mut self.records);
        records.clear();
        SPARE.with(|s| s.set(Some((buf, records))));
    }
}

impl<'a> EncodedRecords<'a> {
    /// Encode records of one topic/queue, checking the size limits (storage spec §2.1).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn encode<'i>(
        topic: &'a str,
        queue_id: i32,
        sys_flag_value: i32,
        born_timestamp: i64,
        born_host: SocketAddr,
        store_host: SocketAddr,
        inputs: impl IntoIterator<Item = RecordInput<'i>>,
        max_message_size: usize,
        file_size: usize,
    ) -> Result<Self, PutMessageStatus> {
        let (mut buf, mut records) = SPARE.with(|s| s.take()).unwrap_or_default();
        for input in inputs {
            if input.body.len() > max_message_size {
                return Err(PutMessageStatus::MessageIllegal);
            }
            // Stored properties always end with the separator (as Java's encoder writes them):
            // recovery relies on it to detect a record whose tail was never written.
            let mut fixed_props;
            let mut properties = input.properties;
            if properties
                .last()
                .is_some_and(|b| *b != PROPERTY_SEPARATOR as u8)
            {
                fixed_props = Vec::with_capacity(properties.len() + 1);
                fixed_props.extend_from_slice(properties);
                fixed_props.push(PROPERTY_SEPARATOR as u8);
                properties = &fixed_props;
            }
            let rec = MessageRecord {
                topic,
                queue_id,
                flag: input.flag,
                queue_offset: 0,
                commitlog_offset: 0,
                sys_flag: sys_flag_value,
                born_timestamp,
                born_host,
                store_timestamp: 0,
                store_host,
                reconsume_times: input.reconsume_times,
                prepared_transaction_offset: input.prepared_transaction_offset,
                body: input.body,
                properties,
            };
            let len = match rec.encoded_len() {
                Ok(len) => len,
                Err(RecordError::PropertiesTooLong(_)) => {
                    return Err(PutMessageStatus::PropertiesSizeExceeded)
                }
                Err(_) => return Err(PutMessageStatus::MessageIllegal),
            };
            if len > max_message_size + MAX_RECORD_OVERHEAD {
                return Err(PutMessageStatus::MessageIllegal);
            }
            let start = buf.len();
            buf.reserve(len);
            if encode_record_checked(&rec, &mut buf).is_err() {
                return Err(PutMessageStatus::MessageIllegal);
            }
            records.push((start, rec.effective_sys_flag()));
        }
        if records.is_empty() {
            return Err(PutMessageStatus::MessageIllegal);
        }
        // A record (or a whole batch) must fit in one file with room for a BLANK header.
        if buf.len() + BLANK_HEADER_LEN > file_size {
            return Err(PutMessageStatus::MessageIllegal);
        }
        let tx = sys_flag::transaction_value(sys_flag_value);
        Ok(EncodedRecords {
            topic,
            queue_id,
            store_host,
            buf,
            records,
            assign_queue_offset: tx == sys_flag::TRANSACTION_NOT_TYPE
                || tx == sys_flag::TRANSACTION_COMMIT_TYPE,
        })
    }
}

fn encode_record_checked(
    rec: &MessageRecord<'_>,
    buf: &mut BytesMut,
) -> Result<usize, RecordError> {
    record::encode_record(rec, buf)
}

/// What an append produced.
#[derive(Clone, Debug)]
pub(crate) struct AppendResult {
    pub(crate) wrote_offset: i64,
    pub(crate) wrote_bytes: i32,
    pub(crate) msg_ids: String,
    pub(crate) store_timestamp: i64,
    pub(crate) queue_offset: i64,
    pub(crate) msg_num: i32,
}

struct PutState {
    /// `topicQueueTable`: topic → queue id → next queue offset.
    topic_queue_table: FastMap<String, FastMap<i32, i64>>,
    last_store_timestamp: i64,
}

/// Pre-creates the next commit-log file so a put crossing a file boundary does not wait for
/// file creation (Java `AllocateMappedFileService`).
struct Allocator {
    io: Io,
    dir: PathBuf,
    file_size: usize,
    /// New files stage their appends in buffers of this size (`transientStorePoolEnable`).
    staged: Option<usize>,
    /// What is done ahead of the writer in the file it writes.
    ahead: Ahead,
    /// `warmMapedFileEnable`: zero-fill new files, forcing every this many bytes.
    warm: Option<usize>,
    /// Held while a file is zero-filled; a writer that has to create that file itself waits
    /// for it (so zeros can never land on its messages).
    warm_lock: Mutex<()>,
    /// Asks the zero-filling to stop early (a writer needs the file now).
    warm_abort: AtomicBool,
    state: Mutex<AllocState>,
    cv: Condvar,
}

#[derive(Default)]
struct AllocState {
    requested: Option<u64>,
    in_progress: Option<u64>,
    ready: Option<Arc<MappedFile>>,
    /// A file to do the work ahead of the writer in ([`Ahead`]), up to this position.
    ahead: Option<(Arc<MappedFile>, usize)>,
    /// The kernel cannot prefault (MADV_POPULATE_WRITE refused): stop asking.
    prefault_off: bool,
    stopped: bool,
}

/// Work done ahead of the writer, in the window it will write next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ahead {
    /// Populate the mapping's page-table entries (ASYNC_FLUSH: appends then take no page fault).
    Prefault,
    /// Write zeros and start their writeback (SYNC_FLUSH: each force then finds written extents
    /// and pays no extent conversion; see [`MappedFile::zero_ahead`]).
    Zero,
}

/// How much of the flushed commit log stays mapped in the process (the tail that consumers
/// read); older pages are unmapped from the process but stay in the page cache.
pub(crate) const RESIDENT_BEHIND: u64 = 128 << 20;

/// How far ahead of the write position the work ahead ([`Ahead`]) reaches.
pub(crate) const AHEAD_WINDOW: usize = 16 << 20;
/// The work ahead is done in steps of this size, so a file-creation request never waits long.
const AHEAD_CHUNK: usize = 256 << 10;

impl Allocator {
    fn request(&self, offset: u64) {
        let mut st = self.state.lock();
        let already = st.in_progress == Some(offset)
            || st
                .ready
                .as_ref()
                .is_some_and(|f| f.file_from_offset() == offset);
        if !already {
            st.requested = Some(offset);
            self.cv.notify_all();
        }
    }

    /// Ask for the work ahead in `file` up to `to` ([`MappedFile::prefault`] or
    /// [`MappedFile::zero_ahead`]).
    fn request_ahead(&self, file: &Arc<MappedFile>, to: usize) {
        let mut st = self.state.lock();
        if st.prefault_off || st.stopped {
            return;
        }
        st.ahead = Some((Arc::clone(file), to));
        self.cv.notify_all();
    }

    /// The file at `offset`: the pre-created one if ready (waiting up to 5 s if it is being
    /// created), else created now.
    fn take_or_create(&self, offset: u64) -> Result<Arc<MappedFile>, StoreError> {
        {
            let mut st = self.state.lock();
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            if st.in_progress == Some(offset) {
                // a writer is waiting: warming is an optimisation, finish it early
                self.warm_abort.store(true, Ordering::Release);
            }
            while st.in_progress == Some(offset) && !st.stopped {
                if self.cv.wait_until(&mut st, deadline).timed_out() {
                    break;
                }
            }
            if let Some(f) = st.ready.take() {
                if f.file_from_offset() == offset {
                    return Ok(f);
                }
            }
            if st.requested == Some(offset) {
                st.requested = None;
            }
        }
        // never alongside a zero-fill of the same file
        let _warming = self.warm_lock.lock();
        {
            let mut st = self.state.lock();
            if let Some(f) = st.ready.take() {
                if f.file_from_offset() == offset {
                    return Ok(f);
                }
            }
        }
        self.io.create_dir_all(&self.dir)?;
        Ok(Arc::new(self.create(offset)?))
    }

    fn create(&self, offset: u64) -> Result<MappedFile, StoreError> {
        let f = MappedFile::create(&self.io, &self.dir, offset, self.file_size)?;
        Ok(match self.staged {
            Some(capacity) => f.with_staging(capacity),
            None => f,
        })
    }

    fn run(&self) {
        loop {
            let offset = {
                let mut st = self.state.lock();
                loop {
                    if st.stopped {
                        return;
                    }
                    if let Some(o) = st.requested.take() {
                        st.in_progress = Some(o);
                        break o;
                    }
                    if let Some((file, to)) = st.ahead.take() {
                        drop(st);
                        // file creation goes first: stop between chunks when one is asked for
                        let keep_going = || {
                            let st = self.state.lock();
                            st.requested.is_none() && !st.stopped
                        };
                        let ok = match self.ahead {
                            Ahead::Prefault => file.prefault(to, AHEAD_CHUNK, keep_going),
                            Ahead::Zero => {
                                if let Err(e) = file.zero_ahead(to, AHEAD_CHUNK, keep_going) {
                                    tracing::warn!(error = %e, "zeroing ahead of the writer failed");
                                }
                                true
                            }
                        };
                        st = self.state.lock();
                        if !ok {
                            st.prefault_off = true;
                        }
                        continue;
                    }
                    self.cv.wait(&mut st);
                }
            };
            let created = self
                .io
                .create_dir_all(&self.dir)
                .and_then(|_| self.create(offset));
            if let (Ok(f), Some(flush_every)) = (&created, self.warm) {
                let _warming = self.warm_lock.lock();
                self.warm_abort.store(false, Ordering::Release);
                let began = std::time::Instant::now();
                match f.warm(flush_every, || {
                    !self.warm_abort.load(Ordering::Acquire) && !self.state.lock().stopped
                }) {
                    Ok(done) => tracing::info!(
                        path = %f.path().display(),
                        zero_filled = done,
                        ms = began.elapsed().as_millis() as u64,
                        "commit-log file warmed"
                    ),
                    Err(e) => tracing::warn!(error = %e, "warming a commit-log file failed"),
                }
            }
            if let (Ok(f), Ahead::Zero, None) = (&created, self.ahead, self.warm) {
                // the new file's first window, before any writer uses it
                let _warming = self.warm_lock.lock();
                if let Err(e) = f.zero_ahead(AHEAD_WINDOW, AHEAD_CHUNK, || {
                    !self.warm_abort.load(Ordering::Acquire) && !self.state.lock().stopped
                }) {
                    tracing::warn!(error = %e, "zeroing the start of a new commit-log file failed");
                }
            }
            let mut st = self.state.lock();
            st.in_progress = None;
            match created {
                Ok(f) => st.ready = Some(Arc::new(f)),
                Err(e) => {
                    tracing::error!(error = %e, offset, "pre-allocation of commit-log file failed")
                }
            }
            self.cv.notify_all();
        }
    }

    fn stop(&self) {
        self.state.lock().stopped = true;
        self.cv.notify_all();
    }
}

pub(crate) struct CommitLog {
    pub(crate) queue: MappedFileQueue,
    file_size: u64,
    put: Mutex<PutState>,
    allocator: Arc<Allocator>,
    /// Store timestamp of the last appended message.
    last_store_timestamp: AtomicI64,
    /// Start of the current put-lock hold on the monotonic clock (ns), 0 when not held
    /// (`beginTimeInLock`).
    begin_time_in_lock: AtomicU64,
    /// Longest put-lock hold seen (ns).
    max_lock_hold_ns: AtomicU64,
    /// `transientStorePoolEnable`: when the commit thread is woken, and when a put commits.
    staging: Option<StagingLimits>,
    /// Appends go into the file with `pwrite` instead of through the mapping (SYNC_FLUSH; see
    /// [`MappedFile::append_by_write`]).
    write_through: bool,
    /// Stops and wakes the commit thread (woken once per round: `commit_wanted` says a wake-up
    /// is pending).
    pub(crate) commit_ctl: ServiceControl,
    commit_wanted: AtomicBool,
}

/// Thresholds of staged (uncommitted) commit-log bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StagingLimits {
    /// Wake the commit thread at this many staged bytes (`commitCommitLogLeastPages`).
    pub(crate) wake_at: usize,
    /// A put that finds this many staged bytes commits them itself (back-pressure when the
    /// commit thread falls behind), so staged memory stays bounded; also the size of each of a
    /// file's two staging buffers.
    pub(crate) max_staged: usize,
}

impl CommitLog {
    /// `warm`: zero-fill new files, forcing every this many bytes (`warmMapedFileEnable`).
    /// `staging`: stage appends in memory for the commit thread (`transientStorePoolEnable`).
    /// `sync_flush`: SYNC_FLUSH, whose appends go in with `pwrite` and whose pre-allocation
    /// thread writes zeros ahead ([`Ahead::Zero`]); otherwise mapped appends, prefaulted.
    pub(crate) fn new(
        io: Io,
        dir: PathBuf,
        file_size: u64,
        warm: Option<usize>,
        staging: Option<StagingLimits>,
        sync_flush: bool,
    ) -> Self {
        CommitLog {
            queue: MappedFileQueue::new(io.clone(), dir.clone(), file_size as usize),
            file_size,
            put: Mutex::new(PutState {
                topic_queue_table: FastMap::default(),
                last_store_timestamp: 0,
            }),
            allocator: Arc::new(Allocator {
                io,
                dir,
                file_size: file_size as usize,
                staged: staging.map(|l| l.max_staged),
                ahead: if sync_flush {
                    Ahead::Zero
                } else {
                    Ahead::Prefault
                },
                warm,
                warm_lock: Mutex::new(()),
                warm_abort: AtomicBool::new(false),
                state: Mutex::new(AllocState::default()),
                cv: Condvar::new(),
            }),
            last_store_timestamp: AtomicI64::new(0),
            begin_time_in_lock: AtomicU64::new(0),
            max_lock_hold_ns: AtomicU64::new(0),
            staging,
            write_through: sync_flush,
            commit_ctl: ServiceControl::default(),
            commit_wanted: AtomicBool::new(false),
        }
    }

    /// Start writeback of what was appended (and committed) since the last call, if at least
    /// `min_bytes` (see [`MappedFileQueue::start_writeback`]).
    pub(crate) fn start_writeback(&self, min_bytes: u64) {
        self.queue.start_writeback(min_bytes);
    }

    /// Whether appends are staged for a commit thread.
    pub(crate) fn is_staging(&self) -> bool {
        self.staging.is_some()
    }

    /// Commit staged appends (see [`MappedFileQueue::commit`]); the commit thread calls this
    /// after each wake-up, shutdown with 0.
    pub(crate) fn commit(&self, least_pages: usize) -> Result<(), StoreError> {
        self.commit_wanted.store(false, Ordering::Release);
        self.queue.commit(least_pages)
    }

    /// After an append to a staged file: wake the commit thread once enough is staged, or
    /// commit here if it has fallen far behind.
    fn after_staged_append(&self, file: &MappedFile) {
        let Some(limits) = self.staging else {
            return;
        };
        let staged = file.uncommitted();
        if staged >= limits.max_staged {
            if let Err(e) = self.queue.commit(0) {
                tracing::error!(error = %e, "committing staged commit-log bytes failed");
            }
        } else if staged >= limits.wake_at
            && !self.commit_wanted.load(Ordering::Relaxed)
            && !self.commit_wanted.swap(true, Ordering::AcqRel)
        {
            self.commit_ctl.signal.notify();
        }
    }

    pub(crate) fn file_size(&self) -> u64 {
        self.file_size
    }

    /// Start the pre-allocation thread.
    pub(crate) fn start_allocator(&self) -> std::io::Result<std::thread::JoinHandle<()>> {
        let alloc = Arc::clone(&self.allocator);
        let handle = std::thread::Builder::new()
            .name("AllocateMappedFileService".into())
            .spawn(move || alloc.run())?;
        if let Some(next) = self.queue.next_file_offset() {
            self.allocator.request(next);
        }
        Ok(handle)
    }

    pub(crate) fn stop_allocator(&self) {
        self.allocator.stop();
    }

    /// Replace the queue-offset table (after recovery).
    pub(crate) fn set_topic_queue_table(&self, table: FastMap<String, FastMap<i32, i64>>) {
        self.put.lock().topic_queue_table = table;
    }

    /// Forget the queue offsets of a topic (topic deletion).
    pub(crate) fn remove_topic_queue_offsets(&self, topic: &str) {
        self.put.lock().topic_queue_table.remove(topic);
    }

    /// Next queue offset the put path will assign (0 if unknown).
    pub(crate) fn next_queue_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.put
            .lock()
            .topic_queue_table
            .get(topic)
            .and_then(|q| q.get(&queue_id))
            .copied()
            .unwrap_or(0)
    }

    pub(crate) fn last_store_timestamp(&self) -> i64 {
        self.last_store_timestamp.load(Ordering::Acquire)
    }

    pub(crate) fn set_last_store_timestamp(&self, ts: i64) {
        self.last_store_timestamp.store(ts, Ordering::Release);
        let mut st = self.put.lock();
        st.last_store_timestamp = st.last_store_timestamp.max(ts);
    }

    /// `isOSPageCacheBusy`: the put now holding the lock has held it longer than `timeout_ms`
    /// (its copy into the page cache is stalled). Only a put that is stuck right now counts; a
    /// slow put that already finished does not make later puts fail.
    pub(crate) fn is_os_page_cache_busy(&self, timeout_ms: u64) -> bool {
        let begin = self.begin_time_in_lock.load(Ordering::Acquire);
        if begin == 0 {
            return false;
        }
        let held = mono_ns().saturating_sub(begin);
        held > timeout_ms.saturating_mul(1_000_000)
    }

    /// Longest time a put has held the put lock so far.
    pub(crate) fn max_lock_hold(&self) -> Duration {
        Duration::from_nanos(self.max_lock_hold_ns.load(Ordering::Relaxed))
    }

    /// Last file if it has room, else the next file (pre-allocated when possible).
    fn writable_file(&self) -> Result<Arc<MappedFile>, StoreError> {
        if let Some(f) = self.queue.last_file() {
            if !f.is_full() {
                return Ok(f);
            }
        }
        let offset = self.queue.next_file_offset().unwrap_or(0);
        let f = self.allocator.take_or_create(offset)?;
        self.queue.push_file(Arc::clone(&f));
        self.allocator.request(offset + self.file_size);
        Ok(f)
    }

    fn append_to(&self, file: &MappedFile, data: &[u8]) -> bool {
        if self.write_through {
            file.append_by_write(data)
        } else {
            file.append(data)
        }
    }

    /// Append encoded records under the put lock: assign queue offsets, store time and physical
    /// offsets, write a BLANK and move to the next file when they do not fit.
    pub(crate) fn append(
        &self,
        mut enc: EncodedRecords<'_>,
    ) -> Result<AppendResult, PutMessageStatus> {
        let mut st = self.put.lock();
        let begin = mono_ns();
        self.begin_time_in_lock.store(begin, Ordering::Release);
        let now = now_ms().max(st.last_store_timestamp);
        let mut staged_in = None;
        let mut result = self.append_locked(&mut st, &mut enc, now, &mut staged_in);
        self.begin_time_in_lock.store(0, Ordering::Release);
        drop(st);
        // Outside the lock: a put that has to commit staged bytes itself (the commit thread is
        // behind) does not hold up the other puts while it writes.
        if let Some(file) = staged_in {
            self.after_staged_append(&file);
        }
        // Offset msg ids are made outside the lock: they depend only on the offsets assigned.
        if let Ok(r) = &mut result {
            let mut ids = String::with_capacity(enc.records.len() * 33);
            for (i, (start, _)) in enc.records.iter().enumerate() {
                if i > 0 {
                    ids.push(',');
                }
                push_offset_msg_id(&mut ids, enc.store_host, r.wrote_offset + *start as i64);
            }
            r.msg_ids = ids;
        }
        let held = mono_ns().saturating_sub(begin);
        self.max_lock_hold_ns.fetch_max(held, Ordering::Relaxed);
        if held > SLOW_PUT_WARN.as_nanos() as u64 {
            tracing::warn!(
                held_ms = held / 1_000_000,
                "put held the commit-log lock for a long time (page cache or allocation stall)"
            );
        }
        result
    }

    fn append_locked(
        &self,
        st: &mut PutState,
        enc: &mut EncodedRecords<'_>,
        now: i64,
        staged_in: &mut Option<Arc<MappedFile>>,
    ) -> Result<AppendResult, PutMessageStatus> {
        let n = enc.records.len() as i64;
        let base_queue_offset = if enc.assign_queue_offset {
            st.topic_queue_table
                .get(enc.topic)
                .and_then(|q| q.get(&enc.queue_id))
                .copied()
                .unwrap_or(0)
        } else {
            0
        };
        let total = enc.buf.len();
        let mut file = self.writable_file().map_err(|e| {
            tracing::error!(error = %e, "cannot create commit-log file");
            PutMessageStatus::CreateMappedFileFailed
        })?;
        let remaining = file.file_size() - file.wrote_position();
        if total + BLANK_HEADER_LEN > remaining {
            if remaining >= BLANK_HEADER_LEN {
                let mut blank = [0u8; BLANK_HEADER_LEN];
                encode_blank(remaining as i32, &mut &mut blank[..]);
                self.append_to(&file, &blank);
            }
            file.mark_full();
            file = self.writable_file().map_err(|e| {
                tracing::error!(error = %e, "cannot create commit-log file");
                PutMessageStatus::CreateMappedFileFailed
            })?;
        }
        let wrote_offset = file.file_from_offset() as i64 + file.wrote_position() as i64;
        for (i, (start, flag)) in enc.records.iter().enumerate() {
            let qo = if enc.assign_queue_offset {
                base_queue_offset + i as i64
            } else {
                0
            };
            let phy = wrote_offset + *start as i64;
            patch_i64(&mut enc.buf, start + QUEUE_OFFSET_POS, qo);
            patch_i64(&mut enc.buf, start + PHYSICAL_OFFSET_POS, phy);
            patch_i64(&mut enc.buf, start + store_timestamp_pos(*flag), now);
        }
        if !self.append_to(&file, &enc.buf) {
            return Err(PutMessageStatus::UnknownError);
        }
        if file.is_staged() {
            *staged_in = Some(Arc::clone(&file));
        } else if let Some(to) = file.wants_work_ahead(AHEAD_WINDOW) {
            self.allocator.request_ahead(&file, to);
        }
        st.last_store_timestamp = now;
        self.last_store_timestamp.store(now, Ordering::Release);
        if enc.assign_queue_offset {
            let next = base_queue_offset + n;
            match st.topic_queue_table.get_mut(enc.topic) {
                Some(queues) => {
                    queues.insert(enc.queue_id, next);
                }
                None => {
                    st.topic_queue_table
                        .entry(enc.topic.to_owned())
                        .or_default()
                        .insert(enc.queue_id, next);
                }
            }
        }
        Ok(AppendResult {
            wrote_offset,
            wrote_bytes: total as i32,
            msg_ids: String::new(),
            store_timestamp: now,
            queue_offset: base_queue_offset,
            msg_num: n as i32,
        })
    }

    /// End of the appended (readable) log.
    pub(crate) fn max_offset(&self) -> i64 {
        self.queue.max_offset() as i64
    }

    pub(crate) fn min_offset(&self) -> i64 {
        self.queue.min_offset() as i64
    }

    pub(crate) fn flushed_offset(&self) -> i64 {
        self.queue.flushed_where() as i64
    }

    /// Flush (see `MappedFileQueue::flush`); returns the flushed offset.
    pub(crate) fn flush(&self, least_pages: usize) -> Result<i64, StoreError> {
        let flushed = self.queue.flush(least_pages)?;
        self.queue.release_behind(RESIDENT_BEHIND);
        Ok(flushed as i64)
    }

    /// Start of the file following the one containing `offset`.
    pub(crate) fn roll_next_file(&self, offset: i64) -> i64 {
        let size = self.file_size as i64;
        offset + size - offset % size
    }

    /// Path of the file holding `offset` (for error messages).
    pub(crate) fn file_path_of(&self, offset: i64) -> Option<PathBuf> {
        let f = self.queue.find(u64::try_from(offset).ok()?)?;
        Some(f.path().to_path_buf())
    }

    /// `size` bytes at `offset` as a zero-copy slice, if readable.
    pub(crate) fn read(&self, offset: i64, size: usize) -> Option<Bytes> {
        let offset = u64::try_from(offset).ok()?;
        let f = self.queue.find(offset)?;
        f.slice((offset - f.file_from_offset()) as usize, size)
    }

    /// The whole message record starting at `offset` (BLANK and garbage give `None`).
    pub(crate) fn look_message(&self, offset: i64) -> Option<Bytes> {
        let off = u64::try_from(offset).ok()?;
        let f = self.queue.find(off)?;
        let pos = (off - f.file_from_offset()) as usize;
        let (size, magic) = peek_size_and_magic(f.read(pos, 8)?)?;
        if magic != MESSAGE_MAGIC_CODE_V1 && magic != MESSAGE_MAGIC_CODE_V2 || size <= 0 {
            return None;
        }
        f.slice(pos, size as usize)
    }

    /// Store timestamp of the record at `offset` (reads only its header).
    pub(crate) fn store_timestamp_at(&self, offset: i64) -> Option<i64> {
        let off = u64::try_from(offset).ok()?;
        let f = self.queue.find(off)?;
        let pos = (off - f.file_from_offset()) as usize;
        let head = f.read(pos, 40)?;
        let flag = i32::from_be_bytes([head[36], head[37], head[38], head[39]]);
        let ts_pos = store_timestamp_pos(flag);
        let ts = f.read(pos + ts_pos, 8)?;
        let mut b = [0u8; 8];
        b.copy_from_slice(ts);
        Some(i64::from_be_bytes(b))
    }
}

fn patch_i64(buf: &mut BytesMut, pos: usize, v: i64) {
    if let Some(dst) = buf.get_mut(pos..pos + 8) {
        dst.copy_from_slice(&v.to_be_bytes());
    }
}
