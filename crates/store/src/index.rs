//! Index files (Java `IndexService`/`IndexFile`, storage spec §3.7): a hash index from
//! `topic#key` (each `KEYS` token and the `UNIQ_KEY`) to commit-log offsets, for QUERY_MESSAGE.
//!
//! ```text
//! header (40 B): beginTimestamp i64 | endTimestamp i64 | beginPhyOffset i64 | endPhyOffset i64
//!                | hashSlotCount i32 | indexCount i32
//! slots:         maxHashSlotNum × i32   newest entry number of the bucket (0 = empty)
//! entries:       maxIndexNum × 20 B     keyHash i32 | phyOffset i64 | timeDiff i32 (s) | prevIndex i32
//! ```
//!
//! Files are named by creation time `yyyyMMddHHmmssSSS` (UTC here; Java uses local time).
//! Only the dispatcher writes; queries take a read lock on the file being searched. The current
//! file is flushed when it is full and at shutdown, as in Java. After a process crash the files
//! are kept (the page cache held every write) and re-dispatch adds what is missing; after a
//! power loss, files newer than the checkpoint's index timestamp are dropped (they may be torn).
//!
//! The slot table of the file being written lives in memory, not in the mapping: keys hash to
//! random slots, and random stores through a shared file mapping take a write-protect fault
//! (`page_mkwrite`, mtime update) on every page the kernel has written back since — measured as
//! 20–30 ms stalls of the sending path every second. Entries and header are still written through
//! the mapping (sequential, one fault per page). The slots are copied into the file when it is
//! flushed (full, or at shutdown). When a file is opened for writing again, its slots are rebuilt
//! from its entries (each entry carries its key hash, so replaying entries `1..indexCount` in
//! order gives exactly the newest entry of every bucket), which is right whether or not the
//! process stopped cleanly. The same repair is made at load for a full file whose forcing is not
//! recorded in the checkpoint's index timestamp (the process may have stopped before its slots
//! were copied in).

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use ferrocket_protocol::message::consts::property;
use ferrocket_protocol::message::{java_string_hash, java_string_hash_from, RecordView};
use memmap2::MmapMut;
use parking_lot::{Mutex, RwLock};

use crate::checkpoint::StoreCheckpoint;
use crate::error::StoreError;
use crate::io::Io;

const HEADER_SIZE: usize = 40;
const SLOT_SIZE: usize = 4;
const ENTRY_SIZE: usize = 20;

fn get_i32(b: &[u8], pos: usize) -> i32 {
    b.get(pos..pos + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, i32::from_be_bytes)
}

fn get_i64(b: &[u8], pos: usize) -> i64 {
    b.get(pos..pos + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, i64::from_be_bytes)
}

fn put_i32(b: &mut [u8], pos: usize, v: i32) {
    if let Some(d) = b.get_mut(pos..pos + 4) {
        d.copy_from_slice(&v.to_be_bytes());
    }
}

fn put_i64(b: &mut [u8], pos: usize, v: i64) {
    if let Some(d) = b.get_mut(pos..pos + 8) {
        d.copy_from_slice(&v.to_be_bytes());
    }
}

/// `abs(javaHash(key))`, 0 for `Integer.MIN_VALUE`.
pub(crate) fn index_key_hash(key: &str) -> i32 {
    java_string_hash(key).checked_abs().unwrap_or(0)
}

/// [`index_key_hash`] of `topic#key`, without building the string.
pub(crate) fn index_key_hash_of(topic_hash: i32, key: &str) -> i32 {
    java_string_hash_from(java_string_hash_from(topic_hash, "#"), key)
        .checked_abs()
        .unwrap_or(0)
}

/// UTC `yyyyMMddHHmmssSSS` of `ms`.
fn time_name(ms: i64) -> String {
    const DAY: i64 = 86_400_000;
    let days = ms.div_euclid(DAY);
    let rem = ms.rem_euclid(DAY);
    // civil from days (Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}{:03}",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

#[derive(Clone, Copy, Debug, Default)]
struct Header {
    begin_timestamp: i64,
    end_timestamp: i64,
    begin_phy_offset: i64,
    end_phy_offset: i64,
    hash_slot_count: i32,
    index_count: i32,
}

pub(crate) struct IndexFile {
    io: Io,
    path: PathBuf,
    slots: usize,
    max_index: usize,
    state: RwLock<FileState>,
}

struct FileState {
    map: MmapMut,
    header: Header,
    /// The slot table while this file is being written (see the module docs); `None` once it is
    /// full and flushed, or for files opened only for reading.
    mem_slots: Option<Vec<i32>>,
}

impl FileState {
    fn slot(&self, slots: usize, key_hash: i32) -> i32 {
        let i = key_hash as usize % slots;
        match &self.mem_slots {
            Some(m) => m[i],
            None => get_i32(&self.map, HEADER_SIZE + i * SLOT_SIZE),
        }
    }
}

impl IndexFile {
    fn file_size(slots: usize, max_index: usize) -> usize {
        HEADER_SIZE + slots * SLOT_SIZE + max_index * ENTRY_SIZE
    }

    fn open(
        io: &Io,
        path: &Path,
        slots: usize,
        max_index: usize,
        create: bool,
    ) -> Result<Self, StoreError> {
        let size = Self::file_size(slots, max_index) as u64;
        let file = if create {
            io.create_file(path, size)?
        } else {
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| StoreError::io("open", path, e))?
        };
        let len = file
            .metadata()
            .map_err(|e| StoreError::io("stat", path, e))?
            .len();
        if len != size {
            return Err(StoreError::FileSizeMismatch {
                path: path.to_path_buf(),
                expected: size,
                actual: len,
            });
        }
        // SAFETY: the file is private to this store (the root `lock` file keeps other brokers
        // out) and is only accessed through this mapping, whose aliasing is governed by the
        // `RwLock` around it; its length was checked above, so the mapping never extends past
        // the end of the file.
        let map =
            unsafe { MmapMut::map_mut(&file) }.map_err(|e| StoreError::io("mmap", path, e))?;
        let header = Header {
            begin_timestamp: get_i64(&map, 0),
            end_timestamp: get_i64(&map, 8),
            begin_phy_offset: get_i64(&map, 16),
            end_phy_offset: get_i64(&map, 24),
            hash_slot_count: get_i32(&map, 32),
            index_count: get_i32(&map, 36).max(1),
        };
        Ok(IndexFile {
            io: io.clone(),
            path: path.to_path_buf(),
            slots,
            max_index,
            state: RwLock::new(FileState {
                map,
                header,
                mem_slots: None,
            }),
        })
    }

    /// Keep the slot table in memory from now on, rebuilt from the entries (see module docs).
    fn take_slots_into_memory(&self) {
        let mut g = self.state.write();
        if g.mem_slots.is_some() {
            return;
        }
        let mut slots = vec![0i32; self.slots];
        let count = g.header.index_count.max(1) as usize;
        let base = HEADER_SIZE + self.slots * SLOT_SIZE;
        for i in 1..count.min(self.max_index) {
            let key_hash = get_i32(&g.map, base + i * ENTRY_SIZE);
            slots[key_hash as usize % self.slots] = i as i32;
        }
        g.mem_slots = Some(slots);
    }

    /// Copy the in-memory slot table into the mapping (before a flush).
    fn write_slots_to_map(g: &mut FileState) {
        if let Some(m) = &g.mem_slots {
            for (i, v) in m.iter().enumerate() {
                let pos = HEADER_SIZE + i * SLOT_SIZE;
                if get_i32(&g.map, pos) != *v {
                    put_i32(&mut g.map, pos, *v);
                }
            }
        }
    }

    fn header(&self) -> Header {
        self.state.read().header
    }

    fn is_full(&self) -> bool {
        self.header().index_count as usize >= self.max_index
    }

    /// Add one key; `false` if the file is full.
    fn put_key(&self, key_hash: i32, phy_offset: i64, store_timestamp: i64) -> bool {
        let mut guard = self.state.write();
        let st = &mut *guard;
        let h = &mut st.header;
        if h.index_count as usize >= self.max_index {
            return false;
        }
        let slot_index = key_hash as usize % self.slots;
        let slot_pos = HEADER_SIZE + slot_index * SLOT_SIZE;
        let mut slot_value = match &st.mem_slots {
            Some(m) => m[slot_index],
            None => get_i32(&st.map, slot_pos),
        };
        if slot_value <= 0 || slot_value > h.index_count {
            slot_value = 0;
        }
        let time_diff = if h.begin_timestamp <= 0 {
            0
        } else {
            ((store_timestamp - h.begin_timestamp) / 1000).clamp(0, i64::from(i32::MAX))
        };
        let map = &mut st.map;
        let pos = HEADER_SIZE + self.slots * SLOT_SIZE + h.index_count as usize * ENTRY_SIZE;
        put_i32(map, pos, key_hash);
        put_i64(map, pos + 4, phy_offset);
        put_i32(map, pos + 12, time_diff as i32);
        put_i32(map, pos + 16, slot_value);
        match &mut st.mem_slots {
            Some(m) => m[slot_index] = h.index_count,
            None => put_i32(map, slot_pos, h.index_count),
        }
        if h.index_count <= 1 {
            h.begin_phy_offset = phy_offset;
            h.begin_timestamp = store_timestamp;
        }
        if slot_value == 0 {
            h.hash_slot_count += 1;
        }
        h.index_count += 1;
        h.end_phy_offset = phy_offset;
        h.end_timestamp = store_timestamp;
        let h = *h;
        put_i64(map, 0, h.begin_timestamp);
        put_i64(map, 8, h.end_timestamp);
        put_i64(map, 16, h.begin_phy_offset);
        put_i64(map, 24, h.end_phy_offset);
        put_i32(map, 32, h.hash_slot_count);
        put_i32(map, 36, h.index_count);
        true
    }

    fn time_matched(&self, begin: i64, end: i64) -> bool {
        let h = self.header();
        (begin < h.begin_timestamp && end > h.end_timestamp)
            || (begin >= h.begin_timestamp && begin <= h.end_timestamp)
            || (end >= h.begin_timestamp && end <= h.end_timestamp)
    }

    /// Follow the bucket chain of `key`, collecting offsets of entries in `[begin, end]`.
    fn select(&self, out: &mut Vec<i64>, key: &str, max: usize, begin: i64, end: i64) {
        let guard = self.state.read();
        let (map, h) = (&guard.map, &guard.header);
        if h.index_count <= 1 {
            return;
        }
        let key_hash = index_key_hash(key);
        let mut next = guard.slot(self.slots, key_hash);
        if next <= 0 || next > h.index_count {
            return;
        }
        while out.len() < max {
            let pos = HEADER_SIZE + self.slots * SLOT_SIZE + next as usize * ENTRY_SIZE;
            let hash = get_i32(map, pos);
            let phy = get_i64(map, pos + 4);
            let time_diff = get_i32(map, pos + 12);
            let prev = get_i32(map, pos + 16);
            if time_diff < 0 {
                break;
            }
            let time = h.begin_timestamp + i64::from(time_diff) * 1000;
            if hash == key_hash && time >= begin && time <= end {
                out.push(phy);
            }
            if prev <= 0 || prev > h.index_count || prev == next || time < begin {
                break;
            }
            next = prev;
        }
    }

    /// Force the file to disk, the in-memory slot table first copied into it. A full file gives
    /// its in-memory table up (nothing will be added to it any more).
    fn flush(&self) -> Result<(), StoreError> {
        {
            let mut g = self.state.write();
            Self::write_slots_to_map(&mut g);
            if g.header.index_count as usize >= self.max_index {
                g.mem_slots = None;
            }
        }
        let guard = self.state.read();
        let len = guard.map.len() as u64;
        self.io.sync_range(&self.path, 0, len, || guard.map.flush())
    }

    fn destroy(&self) {
        self.io.remove_file(&self.path);
    }
}

/// Result of a key query against the index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct QueryOffsetResult {
    /// Commit-log offsets of candidate messages (hash matches: callers re-check the key).
    pub phy_offsets: Vec<i64>,
    /// End timestamp of the newest index file.
    pub index_last_update_timestamp: i64,
    /// End commit-log offset of the newest index file.
    pub index_last_update_phy_offset: i64,
}

pub(crate) struct IndexService {
    io: Io,
    dir: PathBuf,
    slots: usize,
    max_index: usize,
    files: RwLock<Vec<Arc<IndexFile>>>,
    checkpoint: Arc<StoreCheckpoint>,
    /// Serialises file creation (the dispatcher is the only writer, this is belt and braces).
    create_lock: Mutex<()>,
    /// Records below this commit-log offset are already indexed (re-dispatch skips them).
    indexed_below: AtomicI64,
}

impl IndexService {
    pub(crate) fn new(
        io: Io,
        dir: PathBuf,
        slots: u32,
        max_index: u32,
        checkpoint: Arc<StoreCheckpoint>,
    ) -> Self {
        IndexService {
            io,
            dir,
            slots: slots.max(1) as usize,
            max_index: max_index.max(2) as usize,
            files: RwLock::new(Vec::new()),
            checkpoint,
            create_lock: Mutex::new(()),
            indexed_below: AtomicI64::new(0),
        }
    }

    /// Load index files by name order. `drop_unsafe`: after a power loss, drop those newer than
    /// the checkpoint's index timestamp (they may be torn; re-dispatch rebuilds what it covers).
    pub(crate) fn load(&self, drop_unsafe: bool) -> Result<(), StoreError> {
        let mut names: Vec<PathBuf> = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.len() == 17 && n.bytes().all(|b| b.is_ascii_digit()))
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(StoreError::io("read_dir", &self.dir, e)),
        };
        names.sort();
        let index_ts = self.checkpoint.index_msg_timestamp.load(Ordering::Acquire);
        let mut files = Vec::new();
        let count = names.len();
        for (i, path) in names.into_iter().enumerate() {
            let len = std::fs::metadata(&path)
                .map_err(|e| StoreError::io("stat", &path, e))?
                .len();
            if len == 0 && i + 1 == count {
                // killed between creating the newest file and reserving its space: it never held
                // an entry (as for the commit log and consume queues, see `MappedFileQueue::load`)
                tracing::warn!(path = %path.display(), "deleting zero-length last index file");
                self.io.remove_file(&path);
                self.io.sync_dir(&self.dir);
                continue;
            }
            let f = IndexFile::open(&self.io, &path, self.slots, self.max_index, false)?;
            if drop_unsafe && f.header().end_timestamp > index_ts {
                tracing::info!(path = %path.display(), "dropping index file newer than the checkpoint");
                f.destroy();
                continue;
            }
            files.push(Arc::new(f));
        }
        let below = files
            .iter()
            .map(|f: &Arc<IndexFile>| f.header())
            .filter(|h| h.index_count > 1)
            .map(|h| h.end_phy_offset + 1)
            .max()
            .unwrap_or(0);
        self.indexed_below.store(below, Ordering::Release);
        for (i, f) in files.iter().enumerate() {
            if i + 1 == files.len() && !f.is_full() {
                // the file to write next: its slot table lives in memory
                f.take_slots_into_memory();
            } else if f.header().end_timestamp > index_ts {
                // full, but its forcing (which copies the slots in) is not in the checkpoint:
                // the process may have stopped before that copy; rebuild the slots from entries
                f.take_slots_into_memory();
                let mut g = f.state.write();
                IndexFile::write_slots_to_map(&mut g);
                g.mem_slots = None;
            }
        }
        *self.files.write() = files;
        Ok(())
    }

    /// After recovery cut the commit log at `end`: records from there on are new and must be
    /// indexed even if an index entry once pointed there.
    pub(crate) fn resume_at(&self, end: i64) {
        self.indexed_below.fetch_min(end, Ordering::AcqRel);
    }

    fn writable_file(&self) -> Result<Arc<IndexFile>, StoreError> {
        if let Some(f) = self.files.read().last() {
            if !f.is_full() {
                return Ok(Arc::clone(f));
            }
        }
        let _guard = self.create_lock.lock();
        let prev = self.files.read().last().cloned();
        if let Some(f) = &prev {
            if !f.is_full() {
                return Ok(Arc::clone(f));
            }
        }
        self.create_file(prev.as_deref())
    }

    fn create_file(&self, prev: Option<&IndexFile>) -> Result<Arc<IndexFile>, StoreError> {
        self.io.create_dir_all(&self.dir)?;
        let mut now = crate::commit_log::now_ms();
        let mut path = self.dir.join(time_name(now));
        while path.exists() {
            now += 1;
            path = self.dir.join(time_name(now));
        }
        let f = IndexFile::open(&self.io, &path, self.slots, self.max_index, true)?;
        if let Some(prev) = prev {
            // a new file starts where the previous one ended
            let ph = prev.header();
            let mut g = f.state.write();
            g.header.begin_timestamp = ph.end_timestamp;
            g.header.end_timestamp = ph.end_timestamp;
            g.header.begin_phy_offset = ph.end_phy_offset;
            g.header.end_phy_offset = ph.end_phy_offset;
        }
        f.take_slots_into_memory();
        let f = Arc::new(f);
        self.files.write().push(Arc::clone(&f));
        if let Some(prev) = self.files.read().iter().rev().nth(1).cloned() {
            // flush the full file off the dispatch thread, then record it in the checkpoint
            let cp = Arc::clone(&self.checkpoint);
            let spawned = std::thread::Builder::new()
                .name("IndexFlush".into())
                .spawn(move || match prev.flush() {
                    Ok(()) => {
                        cp.index_msg_timestamp
                            .fetch_max(prev.header().end_timestamp, Ordering::AcqRel);
                    }
                    Err(e) => tracing::error!(error = %e, "flush of full index file failed"),
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot spawn index flush thread");
            }
        }
        Ok(f)
    }

    /// Add one entry to the writable file (a full file is replaced by a new one).
    fn put(
        &self,
        file: &mut Option<Arc<IndexFile>>,
        key_hash: i32,
        phy_offset: i64,
        store_timestamp: i64,
    ) -> Result<(), StoreError> {
        for _ in 0..3 {
            let f = match file {
                Some(f) => f,
                None => file.insert(self.writable_file()?),
            };
            if f.put_key(key_hash, phy_offset, store_timestamp) {
                return Ok(());
            }
            *file = None;
        }
        Ok(())
    }

    /// [`Self::put`] of a whole `topic#key` string (tests).
    #[cfg(test)]
    fn put_full_key(&self, key: &str, phy_offset: i64, ts: i64) -> Result<(), StoreError> {
        self.put(&mut None, index_key_hash(key), phy_offset, ts)
    }

    /// Index one dispatched record: `topic#UNIQ_KEY` and `topic#k` for each `KEYS` token
    /// (`uniq` and `keys` are those properties of the record). An error (a new index file could
    /// not be created) leaves the record to be indexed again.
    pub(crate) fn build_index(
        &self,
        view: &RecordView<'_>,
        phy_offset: i64,
        uniq: Option<&str>,
        keys: Option<&str>,
    ) -> Result<(), StoreError> {
        if phy_offset < self.indexed_below.load(Ordering::Acquire) {
            return Ok(()); // already indexed (re-dispatch during recovery)
        }
        if uniq.is_none() && keys.is_none() {
            self.indexed_below
                .fetch_max(phy_offset + 1, Ordering::AcqRel);
            return Ok(());
        }
        let topic_hash = java_string_hash(view.topic());
        let ts = view.store_timestamp();
        let mut file = None;
        if let Some(uniq) = uniq {
            self.put(
                &mut file,
                index_key_hash_of(topic_hash, uniq),
                phy_offset,
                ts,
            )?;
        }
        if let Some(keys) = keys {
            for k in keys
                .split(property::KEY_SEPARATOR)
                .filter(|k| !k.is_empty())
            {
                self.put(&mut file, index_key_hash_of(topic_hash, k), phy_offset, ts)?;
            }
        }
        self.indexed_below
            .fetch_max(phy_offset + 1, Ordering::AcqRel);
        Ok(())
    }

    /// Offsets of messages whose `topic#key` hash matches, stored in `[begin, end]`, newest file
    /// first, at most `max`.
    pub(crate) fn query(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin: i64,
        end: i64,
    ) -> QueryOffsetResult {
        let files = self.files.read().clone();
        let mut result = QueryOffsetResult::default();
        let full_key = format!("{topic}#{key}");
        for (i, f) in files.iter().enumerate().rev() {
            let h = f.header();
            if i + 1 == files.len() {
                result.index_last_update_timestamp = h.end_timestamp;
                result.index_last_update_phy_offset = h.end_phy_offset;
            }
            if f.time_matched(begin, end) {
                f.select(&mut result.phy_offsets, &full_key, max, begin, end);
            }
            if h.begin_timestamp < begin || result.phy_offsets.len() >= max {
                break;
            }
        }
        result
    }

    /// Delete index files (never the last) that end below `cl_min_offset`.
    pub(crate) fn delete_expired(&self, cl_min_offset: i64) {
        let mut files = self.files.write();
        while files.len() > 1 && files[0].header().end_phy_offset < cl_min_offset {
            let f = files.remove(0);
            f.destroy();
        }
    }

    pub(crate) fn flush(&self) {
        for f in self.files.read().iter() {
            if let Err(e) = f.flush() {
                tracing::error!(error = %e, "index flush failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_hash_and_names() {
        assert_eq!(index_key_hash("TopicTest#key1"), 1_655_984_460);
        assert_eq!(
            index_key_hash("TopicTest#key1") as usize % 5_000_000,
            984_460
        );
        assert_eq!(time_name(1_700_000_000_123), "20231114221320123");
    }

    #[test]
    fn put_select_chain_and_full_file() {
        let dir = tempfile::tempdir().unwrap();
        let io = Io::real();
        let cp = Arc::new(StoreCheckpoint::open(&io, &dir.path().join("checkpoint")).unwrap());
        let svc = IndexService::new(io.clone(), dir.path().join("index"), 4, 6, cp);
        for i in 0..12i64 {
            svc.put_full_key(&format!("T#k{}", i % 3), i * 100, 1_000_000 + i * 1000)
                .unwrap();
        }
        let files = svc.files.read().clone();
        assert_eq!(files.len(), 3, "5 entries per file (entry 0 unused)");
        assert_eq!(files[0].header().index_count, 6);
        assert_eq!(
            files[1].header().begin_phy_offset,
            500,
            "begin = first entry of the file"
        );
        let r = svc.query("T", "k1", 64, 0, i64::MAX);
        let mut got = r.phy_offsets.clone();
        got.sort();
        assert_eq!(got, vec![100, 400, 700, 1000]);
        assert_eq!(r.index_last_update_phy_offset, 1100);
        // time window
        let r = svc.query("T", "k1", 64, 1_006_000, 1_008_000);
        assert_eq!(r.phy_offsets, vec![700]);
        // max results
        assert_eq!(svc.query("T", "k1", 2, 0, i64::MAX).phy_offsets.len(), 2);
        assert!(svc
            .query("T", "nope", 64, 0, i64::MAX)
            .phy_offsets
            .is_empty());
        // reload keeps everything
        drop(files);
        svc.flush();
        let svc2 = IndexService::new(
            io,
            dir.path().join("index"),
            4,
            6,
            Arc::clone(&svc.checkpoint),
        );
        svc2.load(false).unwrap();
        assert_eq!(svc2.query("T", "k1", 64, 0, i64::MAX).phy_offsets.len(), 4);
    }

    #[test]
    fn slot_table_in_memory_survives_a_kill_and_a_clean_restart() {
        let dir = tempfile::tempdir().unwrap();
        let io = Io::real();
        let cp = Arc::new(StoreCheckpoint::open(&io, &dir.path().join("checkpoint")).unwrap());
        let index_dir = dir.path().join("index");
        // 7 slots, 1000 entries: long bucket chains in one (not full) file
        let svc = IndexService::new(io.clone(), index_dir.clone(), 7, 1000, Arc::clone(&cp));
        for i in 0..300i64 {
            svc.put_full_key(&format!("T#k{}", i % 20), i * 10, 1_000_000 + i)
                .unwrap();
        }
        let expect = |svc: &IndexService| {
            for k in 0..20i64 {
                let mut got = svc
                    .query("T", &format!("k{k}"), 64, 0, i64::MAX)
                    .phy_offsets;
                got.sort();
                let want: Vec<i64> = (0..300).filter(|i| i % 20 == k).map(|i| i * 10).collect();
                assert_eq!(got, want, "key k{k}");
            }
        };
        expect(&svc);
        // the slots were never written to the file: a kill now leaves it with an empty slot table
        {
            let f = svc.files.read()[0].clone();
            let g = f.state.read();
            assert!((0..7).all(|i| get_i32(&g.map, HEADER_SIZE + i * SLOT_SIZE) == 0));
        }
        drop(svc); // kill -9: no flush; the page cache keeps entries and header
        let svc = IndexService::new(io.clone(), index_dir.clone(), 7, 1000, Arc::clone(&cp));
        svc.load(false).unwrap();
        expect(&svc);
        // and appending goes on where it was
        svc.put_full_key("T#extra", 3000, 2_000_000).unwrap();
        assert_eq!(
            svc.query("T", "extra", 64, 0, i64::MAX).phy_offsets,
            vec![3000]
        );
        // a clean stop writes the slots into the file
        svc.flush();
        {
            let f = svc.files.read()[0].clone();
            let g = f.state.read();
            assert!((0..7).any(|i| get_i32(&g.map, HEADER_SIZE + i * SLOT_SIZE) != 0));
        }
        drop(svc);
        let svc = IndexService::new(io, index_dir, 7, 1000, cp);
        svc.load(false).unwrap();
        expect(&svc);
    }

    #[test]
    fn a_full_file_whose_slots_never_reached_it_is_repaired_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let io = Io::real();
        let cp = Arc::new(StoreCheckpoint::open(&io, &dir.path().join("checkpoint")).unwrap());
        let index_dir = dir.path().join("index");
        let svc = IndexService::new(io.clone(), index_dir.clone(), 4, 6, Arc::clone(&cp));
        for i in 0..12i64 {
            svc.put_full_key(&format!("T#k{}", i % 3), i * 100, 1_000_000 + i * 1000)
                .unwrap();
        }
        // the full files are forced by a background thread: wait for it, then undo what it did,
        // as if the process had been killed before it copied the slots in
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while cp.index_msg_timestamp.load(Ordering::Acquire) == 0
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        for f in svc.files.read().iter() {
            let mut g = f.state.write();
            for i in 0..4 {
                put_i32(&mut g.map, HEADER_SIZE + i * SLOT_SIZE, 0);
            }
        }
        cp.index_msg_timestamp.store(0, Ordering::Release);
        drop(svc);
        let svc = IndexService::new(io, index_dir, 4, 6, cp);
        svc.load(false).unwrap();
        let mut got = svc.query("T", "k1", 64, 0, i64::MAX).phy_offsets;
        got.sort();
        assert_eq!(got, vec![100, 400, 700, 1000]);
    }

    #[test]
    fn zero_length_newest_file_from_an_interrupted_creation_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let io = Io::real();
        let cp = Arc::new(StoreCheckpoint::open(&io, &dir.path().join("checkpoint")).unwrap());
        let index_dir = dir.path().join("index");
        let svc = IndexService::new(io.clone(), index_dir.clone(), 4, 6, Arc::clone(&cp));
        for i in 0..3i64 {
            svc.put_full_key(&format!("T#k{i}"), i * 100, 1_000_000 + i)
                .unwrap();
        }
        svc.flush();
        drop(svc);
        // a process killed right after `create_new`, before `fallocate`
        let torn = index_dir.join("99991231235959999");
        std::fs::File::create(&torn).unwrap();
        let svc = IndexService::new(io.clone(), index_dir.clone(), 4, 6, Arc::clone(&cp));
        svc.load(false).unwrap();
        assert!(!torn.exists());
        assert_eq!(svc.query("T", "k1", 64, 0, i64::MAX).phy_offsets, vec![100]);
        // an empty file that is not the newest is damage, not an interrupted creation
        std::fs::File::create(index_dir.join("00000101000000000")).unwrap();
        let svc = IndexService::new(io, index_dir, 4, 6, cp);
        assert!(matches!(
            svc.load(false),
            Err(StoreError::FileSizeMismatch { .. })
        ));
    }
}
