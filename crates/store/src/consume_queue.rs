//! Consume queues (Java `ConsumeQueue`, storage spec §3.1–3.3): per (topic, queue id) an array of
//! 20-byte entries `i64 commitLogOffset | i32 size | i64 tagsCode`; entry `n` (queue offset `n`)
//! lives at byte `n*20` of the queue's address space, stored in `consumequeue/<topic>/<queueId>/`.
//!
//! Entries are written only by the dispatcher (and by recovery); readers see entries below the
//! write position. Consume queues are derived data and are repaired from the commit log.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::error::StoreError;
use crate::io::Io;
use crate::mapped_file::MappedFile;
use crate::mapped_file_queue::{MappedFileQueue, Tail};
use crate::FastMap;

/// `CQ_STORE_UNIT_SIZE`.
pub const CQ_STORE_UNIT_SIZE: usize = 20;
/// Size of a filler entry (padding before a queue's first real entry).
pub const FILLER_SIZE: i32 = i32::MAX;

/// One decoded entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CqEntry {
    pub commitlog_offset: i64,
    pub size: i32,
    pub tags_code: i64,
}

impl CqEntry {
    fn encode(&self) -> [u8; CQ_STORE_UNIT_SIZE] {
        let mut b = [0u8; CQ_STORE_UNIT_SIZE];
        b[..8].copy_from_slice(&self.commitlog_offset.to_be_bytes());
        b[8..12].copy_from_slice(&self.size.to_be_bytes());
        b[12..].copy_from_slice(&self.tags_code.to_be_bytes());
        b
    }

    pub(crate) fn decode(b: &[u8]) -> Self {
        let mut o = [0u8; 8];
        let mut s = [0u8; 4];
        let mut t = [0u8; 8];
        if b.len() >= CQ_STORE_UNIT_SIZE {
            o.copy_from_slice(&b[..8]);
            s.copy_from_slice(&b[8..12]);
            t.copy_from_slice(&b[12..20]);
        }
        CqEntry {
            commitlog_offset: i64::from_be_bytes(o),
            size: i32::from_be_bytes(s),
            tags_code: i64::from_be_bytes(t),
        }
    }

    /// A real entry (not the end marker): `offset >= 0 && size > 0`. Fillers count as valid.
    pub(crate) fn is_valid(&self) -> bool {
        self.commitlog_offset >= 0 && self.size > 0
    }

    pub(crate) fn is_filler(&self) -> bool {
        self.size == FILLER_SIZE && self.commitlog_offset == 0
    }

    const FILLER: CqEntry = CqEntry {
        commitlog_offset: 0,
        size: FILLER_SIZE,
        tags_code: 0,
    };
}

pub(crate) struct ConsumeQueue {
    pub(crate) topic: String,
    pub(crate) queue_id: i32,
    queue: MappedFileQueue,
    /// End (offset + size) of the last entry's record (`maxPhysicOffset`).
    max_physic_offset: AtomicI64,
    /// Byte offset of the first usable entry (`minLogicOffset`).
    min_logic_offset: AtomicI64,
    write_lock: Mutex<()>,
}

impl ConsumeQueue {
    pub(crate) fn new(io: Io, root: &Path, topic: &str, queue_id: i32, file_size: usize) -> Self {
        let dir = root.join(topic).join(queue_id.to_string());
        ConsumeQueue {
            topic: topic.to_owned(),
            queue_id,
            queue: MappedFileQueue::new(io, dir, file_size).with_deferred_creation(),
            max_physic_offset: AtomicI64::new(-1),
            min_logic_offset: AtomicI64::new(0),
            write_lock: Mutex::new(()),
        }
    }

    fn unit_file_entries(&self) -> i64 {
        (self.queue.file_size() / CQ_STORE_UNIT_SIZE) as i64
    }

    pub(crate) fn load(&self) -> Result<(), StoreError> {
        self.queue.load()
    }

    pub(crate) fn max_physic_offset(&self) -> i64 {
        self.max_physic_offset.load(Ordering::Acquire)
    }

    /// Number of entries (dispatched messages, fillers included) = next queue offset.
    pub(crate) fn max_offset(&self) -> i64 {
        self.queue.max_offset() as i64 / CQ_STORE_UNIT_SIZE as i64
    }

    pub(crate) fn min_offset(&self) -> i64 {
        self.min_logic_offset.load(Ordering::Acquire) / CQ_STORE_UNIT_SIZE as i64
    }

    /// Start queue offset of the CQ file following the one containing `offset`.
    pub(crate) fn roll_next_file(&self, offset: i64) -> i64 {
        let per = self.unit_file_entries();
        offset + per - offset % per
    }

    /// Entries from queue offset `offset` to the end of the written part of its file:
    /// (file, byte position of the first entry, byte end).
    pub(crate) fn entries_from(&self, offset: i64) -> Option<(Arc<MappedFile>, usize, usize)> {
        let pos = u64::try_from(offset).ok()? * CQ_STORE_UNIT_SIZE as u64;
        let f = self.queue.find(pos)?;
        let start = (pos - f.file_from_offset()) as usize;
        let end = f.wrote_position();
        (start < end).then_some((f, start, end))
    }

    /// The entry at queue offset `offset`.
    pub(crate) fn entry(&self, offset: i64) -> Option<CqEntry> {
        let (f, start, _) = self.entries_from(offset)?;
        f.read(start, CQ_STORE_UNIT_SIZE).map(CqEntry::decode)
    }

    pub(crate) fn files(&self) -> Vec<Arc<MappedFile>> {
        self.queue.snapshot()
    }

    /// Append the entry of a dispatched record whose queue offset is `queue_offset`.
    /// Duplicates (re-dispatch) are ignored; a gap is padded with fillers.
    pub(crate) fn put(&self, entry: CqEntry, queue_offset: i64) -> Result<bool, StoreError> {
        let _guard = self.write_lock.lock();
        if entry.commitlog_offset + i64::from(entry.size) <= self.max_physic_offset() {
            return Ok(false);
        }
        let unit = CQ_STORE_UNIT_SIZE as u64;
        let Ok(qo) = u64::try_from(queue_offset) else {
            return Ok(false);
        };
        let expected = qo * unit;
        let file_size = self.queue.file_size() as u64;
        if self.queue.is_empty() {
            let base = expected - expected % file_size;
            let f = self.queue.create_file(base)?;
            let fillers = (expected - base) / unit;
            if fillers > 0 {
                let mut buf = Vec::with_capacity((fillers * unit) as usize);
                for _ in 0..fillers {
                    buf.extend_from_slice(&CqEntry::FILLER.encode());
                }
                f.append(&buf);
            }
            self.min_logic_offset
                .store(expected as i64, Ordering::Release);
            self.queue.set_flushed_where(base);
        }
        let current = self.queue.max_offset();
        if expected < current {
            return Ok(false);
        }
        if expected > current {
            tracing::warn!(
                topic = %self.topic, queue_id = self.queue_id, expected, current,
                "consume queue gap: padding with fillers"
            );
            let mut at = current;
            while at < expected {
                self.append_unit(&CqEntry::FILLER.encode())?;
                at += unit;
            }
        }
        self.append_unit(&entry.encode())?;
        self.max_physic_offset.store(
            entry.commitlog_offset + i64::from(entry.size),
            Ordering::Release,
        );
        Ok(true)
    }

    fn append_unit(&self, unit: &[u8; CQ_STORE_UNIT_SIZE]) -> Result<(), StoreError> {
        let f = match self.queue.last_file() {
            Some(f) if !f.is_full() => f,
            _ => {
                let next = self.queue.next_file_offset().unwrap_or(0);
                self.queue.create_file(next)?
            }
        };
        if !f.append(unit) {
            return Err(StoreError::Config(
                "consume queue file size is not a multiple of 20".into(),
            ));
        }
        Ok(())
    }

    pub(crate) fn flush(&self, least_pages: usize) -> Result<(), StoreError> {
        self.queue.flush(least_pages).map(|_| ())
    }

    /// After a crash: force to disk every entry for a record at or above commit-log offset
    /// `from_phy` (entries below it are durable already), whatever the flushed position says.
    pub(crate) fn force_from_phy(&self, from_phy: i64) -> Result<(), StoreError> {
        if self.max_physic_offset() <= from_phy {
            return Ok(());
        }
        let (mut lo, mut hi) = (
            self.queue.min_offset() as i64 / CQ_STORE_UNIT_SIZE as i64,
            self.max_offset(),
        );
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.entry(mid) {
                Some(e) if e.is_filler() || e.commitlog_offset < from_phy => lo = mid + 1,
                _ => hi = mid,
            }
        }
        // include a preceding run of fillers (written together with the entry after them)
        while lo > 0 && self.entry(lo - 1).is_some_and(|e| e.is_filler()) {
            lo -= 1;
        }
        let from = (lo as u64 * CQ_STORE_UNIT_SIZE as u64).max(self.queue.min_offset());
        self.queue.force_range(from, self.queue.max_offset())
    }

    /// Commit-log offset of the first real entry that is not yet forced to disk, or `None` if
    /// every entry written so far is durable. Entries are in commit-log order, so every record
    /// of this queue below the returned offset has a durable entry.
    pub(crate) fn first_unflushed_phy(&self) -> Option<i64> {
        let unit = CQ_STORE_UNIT_SIZE as u64;
        let end = self.queue.max_offset();
        let flushed = self.queue.flushed_where().max(self.queue.min_offset());
        let mut pos = flushed - flushed % unit;
        while pos + unit <= end {
            let entry = self.queue.find(pos).and_then(|f| {
                f.read((pos - f.file_from_offset()) as usize, CQ_STORE_UNIT_SIZE)
                    .map(CqEntry::decode)
            });
            match entry {
                Some(e) if e.is_valid() && !e.is_filler() => return Some(e.commitlog_offset),
                Some(_) => pos += unit,
                // a hole in the file sequence: nothing can be promised past it
                None => return Some(-1),
            }
        }
        None
    }

    /// Recovery (storage spec §5.2): find the end of the good entries, set positions there,
    /// zero the rest of that file and delete later files.
    ///
    /// An entry is good if `offset >= 0 && size > 0`, its commit-log offset is above the
    /// previous real entry's (a torn entry must not pass as data) and — when the checkpoint
    /// says every entry for a record below `durable_below` is on disk — it is for such a record.
    /// Entries for later records are dropped and rebuilt by the commit-log scan, which starts at
    /// or before `durable_below`: after a power loss they may have holes anywhere, because the
    /// kernel writes pages back in any order.
    ///
    /// The scan starts at the third-last file (as Java), stepping back over files whose first
    /// entry is not good.
    ///
    /// `whole`: the files cannot have holes (a clean shutdown, or a process crash on the same
    /// boot, where the page cache kept every write), so the valid entries form a prefix and its
    /// end is found by bisection, touching a few pages per queue instead of every page (a restart
    /// after kill -9 with millions of entries spent most of its time faulting them in). The
    /// bisection's answer is checked around the boundary; anything unexpected falls back to the
    /// entry-by-entry scan, which is also what a power loss gets.
    pub(crate) fn recover(
        &self,
        durable_below: Option<i64>,
        whole: bool,
    ) -> Result<(), StoreError> {
        let files = self.queue.snapshot();
        if files.is_empty() {
            return Ok(());
        }
        let limit = durable_below.unwrap_or(i64::MAX);
        let good = |e: &CqEntry| e.is_valid() && (e.is_filler() || e.commitlog_offset < limit);
        let first_good = |f: &MappedFile| {
            f.read(0, CQ_STORE_UNIT_SIZE)
                .map(CqEntry::decode)
                .is_some_and(|e| good(&e))
        };
        let mut start = files.len().saturating_sub(3);
        while start > 0 && !first_good(&files[start]) {
            start -= 1;
        }
        if whole {
            if let Some((end, max_phy)) = bisect_end(&files[start..], &good) {
                drop(files);
                // without holes, what follows the end is the dropped entries and then zeros:
                // zeroing stops at the first chunk that is zero already (reading the whole
                // preallocated tail of every queue would fault in all of it)
                self.queue.truncate_dirty(end, Tail::Near)?;
                self.queue.set_flushed_where(end);
                let max_phy = match max_phy {
                    Some(m) => m,
                    None => self.scan_max_physic_offset(),
                };
                self.max_physic_offset.store(max_phy, Ordering::Release);
                return Ok(());
            }
        }
        let mut end = files[start].file_from_offset();
        let mut max_phy = -1i64;
        let mut last_phy = -1i64;
        'files: for f in &files[start..] {
            let mut pos = 0;
            while pos + CQ_STORE_UNIT_SIZE <= f.file_size() {
                let Some(b) = f.read(pos, CQ_STORE_UNIT_SIZE) else {
                    break;
                };
                let e = CqEntry::decode(b);
                let in_order = e.is_filler() || e.commitlog_offset > last_phy;
                if !good(&e) || !in_order {
                    end = f.file_from_offset() + pos as u64;
                    break 'files;
                }
                if !e.is_filler() {
                    last_phy = e.commitlog_offset;
                    max_phy = e.commitlog_offset + i64::from(e.size);
                }
                pos += CQ_STORE_UNIT_SIZE;
            }
            end = f.file_from_offset() + f.file_size() as u64;
        }
        drop(files);
        self.queue.truncate_dirty(end, Tail::Whole)?;
        self.queue.set_flushed_where(end);
        if max_phy < 0 {
            max_phy = self.scan_max_physic_offset();
        }
        self.max_physic_offset.store(max_phy, Ordering::Release);
        Ok(())
    }

    /// `maxPhysicOffset` from the last real entry (walking back over fillers).
    ///
    /// (Kept next to [`bisect_end`], which leaves the walk to it when its boundary entry is a
    /// filler.)
    fn scan_max_physic_offset(&self) -> i64 {
        let mut q = self.max_offset() - 1;
        let min = self.queue.min_offset() as i64 / CQ_STORE_UNIT_SIZE as i64;
        while q >= min {
            match self.entry(q) {
                Some(e) if e.is_valid() && !e.is_filler() => {
                    return e.commitlog_offset + i64::from(e.size)
                }
                Some(_) => q -= 1,
                None => break,
            }
        }
        -1
    }

    /// Drop entries whose commit-log offset is ≥ `phy_offset` (Java `truncateDirtyLogicFiles`).
    pub(crate) fn truncate_dirty(&self, phy_offset: i64) -> Result<(), StoreError> {
        let _guard = self.write_lock.lock();
        let max = self.max_offset();
        let min_q = self.queue.min_offset() as i64 / CQ_STORE_UNIT_SIZE as i64;
        // entries are ordered by commit-log offset (fillers only precede real entries):
        // binary search the first real entry with offset >= phy_offset.
        let (mut lo, mut hi) = (min_q, max);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let keep = match self.entry(mid) {
                Some(e) => e.is_filler() || e.commitlog_offset < phy_offset,
                None => false,
            };
            if keep {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo < max {
            let cut = lo as u64 * CQ_STORE_UNIT_SIZE as u64;
            tracing::info!(topic = %self.topic, queue_id = self.queue_id, from = lo, to = max, "truncating consume queue past the commit log");
            self.queue.truncate_dirty(cut, Tail::Whole)?;
            // If everything (real) went, and fillers remain, keep them: min offset stays.
        }
        let max_phy = self.scan_max_physic_offset();
        self.max_physic_offset.store(max_phy, Ordering::Release);
        if self.queue.is_empty() {
            self.min_logic_offset.store(0, Ordering::Release);
        }
        Ok(())
    }

    /// `minLogicOffset` = first real entry pointing at or above the commit log's min offset
    /// (storage spec §3.3); the end of the queue if none.
    pub(crate) fn correct_min_offset(&self, cl_min_offset: i64) {
        let max = self.max_offset();
        let first = self.queue.min_offset() as i64 / CQ_STORE_UNIT_SIZE as i64;
        let (mut lo, mut hi) = (first, max);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let below = match self.entry(mid) {
                Some(e) => e.is_filler() || e.commitlog_offset < cl_min_offset,
                None => false,
            };
            if below {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        self.min_logic_offset
            .store(lo * CQ_STORE_UNIT_SIZE as i64, Ordering::Release);
    }

    /// Delete CQ files (never the last) whose last entry points below `cl_min_offset`.
    pub(crate) fn delete_expired_files(&self, cl_min_offset: i64) -> usize {
        self.queue.delete_leading(usize::MAX, |f| {
            let n = f.wrote_position();
            if n < CQ_STORE_UNIT_SIZE {
                return false;
            }
            f.read(n - CQ_STORE_UNIT_SIZE, CQ_STORE_UNIT_SIZE)
                .map(CqEntry::decode)
                .is_some_and(|e| e.commitlog_offset + i64::from(e.size) <= cl_min_offset)
        })
    }

    pub(crate) fn destroy(&self) {
        self.queue.destroy();
        self.max_physic_offset.store(-1, Ordering::Release);
        self.min_logic_offset.store(0, Ordering::Release);
    }
}

/// All consume queues of the store: `topic → queue id → queue`.
pub(crate) struct ConsumeQueueStore {
    io: Io,
    root: PathBuf,
    file_size: usize,
    table: RwLock<FastMap<String, FastMap<i32, Arc<ConsumeQueue>>>>,
}

/// End offset of the valid prefix of `files` (entries `good` and in commit-log order) and the
/// end of the last real entry's record (`None` if the last entry is a filler), by bisection.
/// `None` when the prefix property does not hold near the boundary (then scan instead).
fn bisect_end(
    files: &[Arc<MappedFile>],
    good: &impl Fn(&CqEntry) -> bool,
) -> Option<(u64, Option<i64>)> {
    let per_file = files[0].file_size() / CQ_STORE_UNIT_SIZE;
    let total = per_file * files.len();
    let entry = |k: usize| -> Option<CqEntry> {
        let f = files.get(k / per_file)?;
        f.read((k % per_file) * CQ_STORE_UNIT_SIZE, CQ_STORE_UNIT_SIZE)
            .map(CqEntry::decode)
    };
    // a filler is as good as the real entry before it (fillers pad gaps between real entries,
    // so one after a dropped entry is dropped too)
    let ok = |k: usize| -> bool {
        let mut k = k;
        loop {
            match entry(k) {
                Some(e) if e.is_valid() && e.is_filler() => {
                    if k == 0 {
                        return true;
                    }
                    k -= 1;
                }
                Some(e) => return good(&e),
                None => return false,
            }
        }
    };
    // first k with !ok(k), assuming ok is true then false
    let (mut lo, mut hi) = (0usize, total);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let boundary = lo;
    // check the shape around the boundary: the entries after it are not good, the ones before
    // it are in commit-log order
    const CHECK: usize = 64;
    if (boundary..(boundary + CHECK).min(total)).any(ok) {
        return None;
    }
    let mut last_phy = i64::MAX;
    let mut max_phy = None;
    for k in (boundary.saturating_sub(CHECK)..boundary).rev() {
        let e = entry(k)?;
        if !good(&e) {
            return None;
        }
        if e.is_filler() {
            continue;
        }
        if e.commitlog_offset >= last_phy {
            return None;
        }
        if last_phy == i64::MAX {
            max_phy = Some(e.commitlog_offset + i64::from(e.size));
        }
        last_phy = e.commitlog_offset;
    }
    if boundary > 0 && entry(boundary - 1).is_some_and(|e| e.is_filler()) {
        max_phy = None;
    }
    let f = &files[(boundary / per_file).min(files.len() - 1)];
    let end = if boundary == total {
        files[files.len() - 1].file_from_offset() + files[files.len() - 1].file_size() as u64
    } else {
        f.file_from_offset() + ((boundary % per_file) * CQ_STORE_UNIT_SIZE) as u64
    };
    Some((end, max_phy))
}

impl ConsumeQueueStore {
    pub(crate) fn new(io: Io, root: PathBuf, file_size: usize) -> Self {
        ConsumeQueueStore {
            io,
            root,
            file_size,
            table: RwLock::new(FastMap::default()),
        }
    }

    pub(crate) fn find(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.table.read().get(topic)?.get(&queue_id).cloned()
    }

    pub(crate) fn find_or_create(&self, topic: &str, queue_id: i32) -> Arc<ConsumeQueue> {
        if let Some(q) = self.find(topic, queue_id) {
            return q;
        }
        let mut t = self.table.write();
        Arc::clone(
            t.entry(topic.to_owned())
                .or_default()
                .entry(queue_id)
                .or_insert_with(|| {
                    Arc::new(ConsumeQueue::new(
                        self.io.clone(),
                        &self.root,
                        topic,
                        queue_id,
                        self.file_size,
                    ))
                }),
        )
    }

    pub(crate) fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        self.table
            .read()
            .values()
            .flat_map(|m| m.values().cloned())
            .collect()
    }

    /// Load `consumequeue/<topic>/<queueId>/` directories (non-integer names are skipped).
    pub(crate) fn load(&self) -> Result<(), StoreError> {
        let rd = match std::fs::read_dir(&self.root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(StoreError::io("read_dir", &self.root, e)),
        };
        let mut t = self.table.write();
        for topic_dir in rd.flatten() {
            if !topic_dir.path().is_dir() {
                continue;
            }
            let Some(topic) = topic_dir.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let Ok(qrd) = std::fs::read_dir(topic_dir.path()) else {
                continue;
            };
            for qdir in qrd.flatten() {
                let Some(qid) = qdir
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<i32>().ok())
                else {
                    continue;
                };
                let cq =
                    ConsumeQueue::new(self.io.clone(), &self.root, &topic, qid, self.file_size);
                cq.load()?;
                t.entry(topic.clone())
                    .or_default()
                    .insert(qid, Arc::new(cq));
            }
        }
        Ok(())
    }

    /// Remove a topic's queues from the table and delete their files.
    pub(crate) fn delete_topic(&self, topic: &str) {
        let removed = self.table.write().remove(topic);
        if let Some(queues) = removed {
            for q in queues.values() {
                q.destroy();
            }
        }
        self.io.remove_dir_all(&self.root.join(topic));
        self.io.sync_dir(&self.root);
    }

    /// Destroy every queue (no commit log left).
    pub(crate) fn destroy_all(&self) {
        let all: Vec<_> = self.table.write().drain().collect();
        for (topic, queues) in all {
            for q in queues.values() {
                q.destroy();
            }
            self.io.remove_dir_all(&self.root.join(topic));
        }
        self.io.sync_dir(&self.root);
    }

    /// `topic → queue id → max offset` (the queue offset table rebuilt after recovery).
    pub(crate) fn offset_table(&self) -> FastMap<String, FastMap<i32, i64>> {
        self.table
            .read()
            .iter()
            .map(|(t, m)| {
                (
                    t.clone(),
                    m.iter().map(|(q, cq)| (*q, cq.max_offset())).collect(),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(off: i64) -> CqEntry {
        CqEntry {
            commitlog_offset: off,
            size: 10,
            tags_code: off * 7,
        }
    }

    #[test]
    fn first_entry_past_zero_is_padded_with_fillers() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::new(Io::real(), dir.path(), "T", 0, 100); // 5 entries per file
        assert!(cq.put(e(1000), 7).unwrap());
        assert_eq!(cq.min_offset(), 7);
        assert_eq!(cq.max_offset(), 8);
        let files = cq.files();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].file_from_offset(), 100, "file containing entry 7");
        assert!(cq.entry(5).unwrap().is_filler());
        assert_eq!(cq.entry(7).unwrap(), e(1000));
        // duplicates (same or older commit-log range) are ignored
        assert!(!cq.put(e(1000), 7).unwrap());
        assert!(!cq.put(e(990), 8).unwrap());
        // a gap is padded, later entries keep offset = position
        assert!(cq.put(e(2000), 10).unwrap());
        assert_eq!(cq.max_offset(), 11);
        assert!(cq.entry(8).unwrap().is_filler());
        assert!(cq.entry(9).unwrap().is_filler());
        assert_eq!(cq.entry(10).unwrap(), e(2000));
        assert_eq!(cq.max_physic_offset(), 2010);
        assert_eq!(cq.roll_next_file(7), 10);
    }

    /// Recovery of a copy of `src` (a queue "T"/1 of 100-byte files): (max offset, max physic
    /// offset) with the entry-by-entry scan and with bisection (`whole`).
    fn recovered(src: &Path, limit: Option<i64>, whole: bool) -> (i64, i64) {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("T").join("1");
        std::fs::create_dir_all(&q).unwrap();
        for f in std::fs::read_dir(src.join("T").join("1"))
            .unwrap()
            .flatten()
        {
            std::fs::copy(f.path(), q.join(f.file_name())).unwrap();
        }
        let cq = ConsumeQueue::new(Io::real(), dir.path(), "T", 1, 100);
        cq.load().unwrap();
        cq.recover(limit, whole).unwrap();
        (cq.max_offset(), cq.max_physic_offset())
    }

    #[test]
    fn bisection_finds_what_the_scan_finds() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::new(Io::real(), dir.path(), "T", 1, 100);
        // 13 entries over 3 files (5 per file), with fillers for a skipped queue offset
        for i in 0..6 {
            cq.put(e(i * 10), i).unwrap();
        }
        cq.put(e(100), 8).unwrap(); // 6 and 7 become fillers
        for i in 9..13 {
            cq.put(e(i * 10 + 100), i).unwrap();
        }
        cq.flush(0).unwrap();
        drop(cq);
        for limit in [
            None,
            Some(0),
            Some(5),
            Some(30),
            Some(55),
            Some(100),
            Some(101),
            Some(195),
            Some(10_000),
        ] {
            assert_eq!(
                recovered(dir.path(), limit, true),
                recovered(dir.path(), limit, false),
                "limit {limit:?}"
            );
        }
        // a hole (a zeroed entry, as a power loss can leave) within the window checked around
        // the boundary sends the bisection back to the scan, which stops at the hole (holes are
        // only possible after a power loss, where the scan is used anyway)
        let f = dir
            .path()
            .join("T")
            .join("1")
            .join(crate::mapped_file::file_name(0));
        let mut bytes = std::fs::read(&f).unwrap();
        bytes[40..60].fill(0);
        std::fs::write(&f, &bytes).unwrap();
        assert_eq!(recovered(dir.path(), None, false).0, 2);
        assert_eq!(
            recovered(dir.path(), None, true),
            recovered(dir.path(), None, false)
        );
    }

    #[test]
    fn truncate_and_recover() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::new(Io::real(), dir.path(), "T", 1, 100);
        for i in 0..12 {
            cq.put(e(i * 10), i).unwrap();
        }
        assert_eq!(cq.files().len(), 3);
        cq.truncate_dirty(75).unwrap(); // entries 0..=7 point below 75
        assert_eq!(cq.max_offset(), 8);
        assert_eq!(cq.max_physic_offset(), 80);
        assert_eq!(cq.files().len(), 2);
        cq.correct_min_offset(25);
        assert_eq!(cq.min_offset(), 3);
        cq.flush(0).unwrap();
        drop(cq);

        let cq = ConsumeQueue::new(Io::real(), dir.path(), "T", 1, 100);
        cq.load().unwrap();
        cq.recover(None, false).unwrap();
        assert_eq!(
            cq.max_offset(),
            8,
            "zeroed tail is not read back as entries"
        );
        assert_eq!(cq.max_physic_offset(), 80);
        assert!(cq.put(e(80), 8).unwrap());
        assert_eq!(cq.entry(8).unwrap(), e(80));
        assert_eq!(cq.delete_expired_files(55), 1, "first file ends below 55");
        assert_eq!(cq.files()[0].file_from_offset(), 100);
    }
}
