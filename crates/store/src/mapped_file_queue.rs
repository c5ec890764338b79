//! An ordered list of equal-size mapped files forming one logical byte address space
//! (Java `MappedFileQueue`, storage spec §1.2). Used by the commit log and each consume queue.
//!
//! File `i` covers `[base_i, base_i + file_size)`; its name is `base_i` as 20 digits. The queue
//! knows positions and files, not record formats.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::error::StoreError;
use crate::io::Io;
use crate::mapped_file::MappedFile;

pub(crate) struct MappedFileQueue {
    io: Io,
    dir: PathBuf,
    file_size: usize,
    files: RwLock<Vec<Arc<MappedFile>>>,
    /// Absolute offset up to which everything is forced to disk (`flushedWhere`).
    flushed_where: AtomicU64,
    /// Offset below which page-table entries were dropped ([`Self::release_behind`]).
    released_below: AtomicU64,
    /// Offset up to which writeback was started ([`Self::start_writeback`]).
    writeback_from: AtomicU64,
    /// Serialises [`Self::commit`]; holds the start of the first file that may have staged
    /// bytes left (files are committed in order).
    commit_from: Mutex<u64>,
    /// With deferred creation ([`Self::with_deferred_creation`]): directories whose new
    /// entries (files, subdirectories) are not yet durable; fsynced by the next flush before
    /// it moves the flushed offset.
    unsynced_dirs: Option<Mutex<Vec<PathBuf>>>,
}

/// The largest folio the page cache makes on x86-64 and arm64 with 4 KiB pages (a PMD): the
/// writeback started ahead of flushes ends on such a boundary.
pub(crate) const WRITEBACK_ALIGN: u64 = 2 << 20;

impl MappedFileQueue {
    pub(crate) fn new(io: Io, dir: PathBuf, file_size: usize) -> Self {
        MappedFileQueue {
            io,
            dir,
            file_size,
            files: RwLock::new(Vec::new()),
            flushed_where: AtomicU64::new(0),
            released_below: AtomicU64::new(0),
            commit_from: Mutex::new(0),
            writeback_from: AtomicU64::new(0),
            unsynced_dirs: None,
        }
    }

    /// New files are created without forcing them or their directory (for content that can
    /// be rebuilt: consume queues). The flushes make them durable before counting anything in
    /// them as flushed, so creating a file costs its appender no disk flush: a new topic's
    /// first messages (one new queue file and directory per queue) each cost four `fsync`s
    /// inline, which under SYNC_FLUSH held up the group commit that dispatches them.
    pub(crate) fn with_deferred_creation(mut self) -> Self {
        self.unsynced_dirs = Some(Mutex::new(Vec::new()));
        self
    }

    /// Fsync the directories whose new entries are not durable yet (deferred creation).
    fn sync_new_entries(&self) {
        if let Some(dirs) = &self.unsynced_dirs {
            let mut dirs = dirs.lock();
            if !dirs.is_empty() {
                self.io.sync_dirs(&mut dirs);
            }
        }
    }

    /// Have the kernel start writing back what became readable since the last call (at least
    /// `min_bytes`), without waiting: the disk works while appends go on, so the dirty
    /// backlog, and the wait of the flush that makes it durable, stay small. It stops at a
    /// [`WRITEBACK_ALIGN`] boundary behind the readable end: the page cache writes a folio
    /// whole, and writing back the one still being filled would write it again and again
    /// (with 2 MiB folios, measured at 3× the bytes appended under a 40 MiB/s load).
    pub(crate) fn start_writeback(&self, min_bytes: u64) {
        const PAGE: u64 = crate::mapped_file::OS_PAGE_SIZE as u64;
        let from = self
            .writeback_from
            .load(Ordering::Acquire)
            .max(self.flushed_where());
        let end = self.max_offset() / WRITEBACK_ALIGN * WRITEBACK_ALIGN;
        if end < from.saturating_add(min_bytes.max(PAGE)) {
            return;
        }
        let size = self.file_size as u64;
        let mut at = from;
        while at < end {
            let Some(f) = self.find(at) else {
                break;
            };
            let base = f.file_from_offset();
            let stop = end.min(base + size);
            f.start_writeback((at - base) as usize, (stop - base) as usize);
            at = stop;
        }
        self.writeback_from.fetch_max(end, Ordering::AcqRel);
    }

    pub(crate) fn file_size(&self) -> usize {
        self.file_size
    }

    /// Load the existing files of the directory (all marked full; recovery sets the positions).
    /// A zero-length last file is deleted; any other size mismatch is an error.
    pub(crate) fn load(&self) -> Result<(), StoreError> {
        let mut names: Vec<(u64, PathBuf)> = Vec::new();
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(StoreError::io("read_dir", &self.dir, e)),
        };
        for entry in rd {
            let entry = entry.map_err(|e| StoreError::io("read_dir", &self.dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.len() != 20 || !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let Ok(offset) = name.parse::<u64>() {
                names.push((offset, entry.path()));
            }
        }
        names.sort();
        let mut files = Vec::with_capacity(names.len());
        let count = names.len();
        for (i, (offset, path)) in names.into_iter().enumerate() {
            let len = std::fs::metadata(&path)
                .map_err(|e| StoreError::io("stat", &path, e))?
                .len();
            if len == 0 && i + 1 == count {
                tracing::warn!(path = %path.display(), "deleting zero-length last file");
                self.io.remove_file(&path);
                self.io.sync_dir(&self.dir);
                continue;
            }
            if let Some(prev) = files.last() {
                let prev: &Arc<MappedFile> = prev;
                let expected = prev.file_from_offset() + self.file_size as u64;
                if offset != expected {
                    tracing::error!(path = %path.display(), expected, "mapped files are not contiguous");
                }
            }
            files.push(Arc::new(MappedFile::open(
                &self.io,
                &path,
                offset,
                self.file_size,
            )?));
        }
        *self.files.write() = files;
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.files.read().is_empty()
    }

    pub(crate) fn snapshot(&self) -> Vec<Arc<MappedFile>> {
        self.files.read().clone()
    }

    pub(crate) fn first_file(&self) -> Option<Arc<MappedFile>> {
        self.files.read().first().cloned()
    }

    pub(crate) fn last_file(&self) -> Option<Arc<MappedFile>> {
        self.files.read().last().cloned()
    }

    /// The file whose range contains `offset`.
    pub(crate) fn find(&self, offset: u64) -> Option<Arc<MappedFile>> {
        let files = self.files.read();
        let first = files.first()?;
        let size = self.file_size as u64;
        if offset < first.file_from_offset() {
            return None;
        }
        let idx = (offset / size).checked_sub(first.file_from_offset() / size)? as usize;
        if let Some(f) = files.get(idx) {
            if offset >= f.file_from_offset() && offset < f.file_from_offset() + size {
                return Some(Arc::clone(f));
            }
        }
        files
            .iter()
            .find(|f| offset >= f.file_from_offset() && offset < f.file_from_offset() + size)
            .cloned()
    }

    /// Start offset of the first file (0 if none).
    pub(crate) fn min_offset(&self) -> u64 {
        self.files
            .read()
            .first()
            .map_or(0, |f| f.file_from_offset())
    }

    /// End of the readable data: base + read position of the last file that has any (a new
    /// staged file reads nothing until the one before it is wholly committed).
    pub(crate) fn max_offset(&self) -> u64 {
        let files = self.files.read();
        let mut end = 0;
        for f in files.iter().rev() {
            end = f.file_from_offset() + f.read_position() as u64;
            if f.read_position() > 0 {
                break;
            }
        }
        end
    }

    /// Commit staged appends ([`MappedFile::commit`]) file by file in order, moving to the next
    /// file only when one is wholly committed.
    pub(crate) fn commit(&self, least_pages: usize) -> Result<(), StoreError> {
        let mut from = self.commit_from.lock();
        loop {
            let next = {
                let files = self.files.read();
                let start = files.partition_point(|f| f.file_from_offset() < *from);
                files[start..]
                    .iter()
                    .find(|f| f.is_staged() && f.read_position() < f.file_size())
                    .cloned()
            };
            let Some(f) = next else {
                return Ok(());
            };
            *from = f.file_from_offset();
            if f.commit(least_pages)? < f.file_size() {
                return Ok(());
            }
        }
    }

    pub(crate) fn flushed_where(&self) -> u64 {
        self.flushed_where.load(Ordering::Acquire)
    }

    pub(crate) fn set_flushed_where(&self, offset: u64) {
        self.flushed_where.store(offset, Ordering::Release);
    }

    /// Drop the page-table entries of everything flushed more than `keep` bytes behind the
    /// flushed offset ([`MappedFile::release_pages`]), so resident memory stays bounded while
    /// the data stays in the page cache.
    pub(crate) fn release_behind(&self, keep: u64) {
        // in steps of RELEASE_STEP: each release costs a TLB shoot-down on every CPU
        const RELEASE_STEP: u64 = 16 << 20;
        let Some(limit) = self.flushed_where().checked_sub(keep) else {
            return;
        };
        let limit = limit / RELEASE_STEP * RELEASE_STEP;
        if self.released_below.fetch_max(limit, Ordering::AcqRel) >= limit {
            return;
        }
        let files = self.files.read().clone();
        for f in files {
            let start = f.file_from_offset();
            if start >= limit {
                break;
            }
            f.release_pages((limit - start).min(f.file_size() as u64) as usize);
        }
    }

    /// Append a new file starting at `offset` (created synchronously) and return it.
    pub(crate) fn create_file(&self, offset: u64) -> Result<Arc<MappedFile>, StoreError> {
        let mut unsynced = self.unsynced_dirs.as_ref().map(|d| d.lock());
        self.io
            .create_dir_all_with(&self.dir, unsynced.as_deref_mut())?;
        let f = MappedFile::create_with(
            &self.io,
            &self.dir,
            offset,
            self.file_size,
            unsynced.as_deref_mut(),
        )?;
        drop(unsynced);
        let f = Arc::new(f);
        self.push_file(Arc::clone(&f));
        Ok(f)
    }

    /// Append an already-created file (pre-allocated by the allocator).
    pub(crate) fn push_file(&self, f: Arc<MappedFile>) {
        let mut files = self.files.write();
        if let Some(last) = files.last() {
            if last.file_from_offset() >= f.file_from_offset() {
                return;
            }
        }
        files.push(f);
    }

    /// Offset at which the next file after the current last one starts.
    pub(crate) fn next_file_offset(&self) -> Option<u64> {
        self.files
            .read()
            .last()
            .map(|f| f.file_from_offset() + self.file_size as u64)
    }

    /// Flush from the file containing `flushed_where`, continuing into later files while files are
    /// complete. Returns the new flushed offset.
    pub(crate) fn flush(&self, least_pages: usize) -> Result<u64, StoreError> {
        self.sync_new_entries();
        loop {
            let where_ = self.flushed_where();
            let Some(f) = self.find(where_).or_else(|| {
                // flushed_where may sit exactly at the end of the last file or before the first.
                let first = self.first_file()?;
                (where_ < first.file_from_offset()).then_some(first)
            }) else {
                return Ok(where_);
            };
            let pos = f.flush(least_pages)?;
            let new_where = f.file_from_offset() + pos as u64;
            if new_where > where_ {
                self.flushed_where.fetch_max(new_where, Ordering::AcqRel);
            }
            if pos < f.file_size() || new_where == where_ {
                return Ok(self.flushed_where());
            }
        }
    }

    /// Set positions so that the data ends at `offset`: the file containing it gets write/flush
    /// position `offset % size`, later files are deleted (Java `truncateDirtyFiles`).
    /// Bytes past `offset` in that file are zeroed (all of them when `zero_whole_tail`, else up
    /// to the first all-zero 1 MiB chunk), so stale data can never be read as valid later.
    /// Returns whether any non-zero byte had to be zeroed or any file deleted.
    pub(crate) fn truncate_dirty(&self, offset: u64, tail: Tail) -> Result<bool, StoreError> {
        let mut cut = false;
        let mut files = self.files.write();
        let size = self.file_size as u64;
        let mut keep = Vec::with_capacity(files.len());
        for mut f in files.drain(..) {
            let base = f.file_from_offset();
            if base + size <= offset {
                keep.push(f);
                continue;
            }
            if offset >= base {
                let pos = (offset - base) as usize;
                if !f.reset_position(pos) {
                    tracing::error!(path = %f.path().display(), "cannot truncate a file that is being read");
                }
                cut |= zero_tail(&mut f, pos, tail)?;
                keep.push(f);
            } else {
                tracing::info!(path = %f.path().display(), offset, "deleting file beyond the recovered end");
                f.destroy();
                cut = true;
            }
        }
        *files = keep;
        drop(files);
        self.io.sync_dir(&self.dir);
        if self.flushed_where() > offset {
            self.set_flushed_where(offset);
        }
        Ok(cut)
    }

    /// Force `[from, to)` to disk, whatever the files' flushed positions say.
    pub(crate) fn force_range(&self, from: u64, to: u64) -> Result<(), StoreError> {
        self.sync_new_entries();
        for f in self.snapshot() {
            let base = f.file_from_offset();
            let end = base + self.file_size as u64;
            if end <= from || base >= to {
                continue;
            }
            let start = from.max(base) - base;
            let stop = to.min(end) - base;
            f.force(start as usize, (stop - start) as usize)?;
        }
        Ok(())
    }

    /// Delete all files and the directory.
    pub(crate) fn destroy(&self) {
        let mut files = self.files.write();
        for f in files.drain(..) {
            f.destroy();
        }
        self.io.remove_dir(&self.dir);
        self.flushed_where.store(0, Ordering::Release);
    }

    /// Delete leading files for which `expired(file)` holds, never the last one; at most
    /// `max` files. Returns how many were deleted.
    pub(crate) fn delete_leading<F>(&self, max: usize, mut expired: F) -> usize
    where
        F: FnMut(&MappedFile) -> bool,
    {
        let mut files = self.files.write();
        let mut n = 0;
        while n < max && files.len() > 1 && expired(&files[0]) {
            let f = files.remove(0);
            tracing::info!(path = %f.path().display(), "deleting expired file");
            f.destroy();
            n += 1;
        }
        drop(files);
        if n > 0 {
            self.io.sync_dir(&self.dir);
        }
        n
    }
}

const ZERO_CHUNK: usize = 1024 * 1024;
const OS_PAGE: usize = 4096;

/// How much of a file's tail [`MappedFileQueue::truncate_dirty`] zeroes after the new end.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Tail {
    /// All of it (holes possible anywhere: after a power loss).
    Whole,
    /// 1 MiB chunks up to the first chunk that is zero already.
    UntilZeroChunk,
    /// Chunks growing from one page up to the first that is zero already: for files known to
    /// hold no holes, whose dirty part ends near the new end (every page read past it is a
    /// page fault for nothing).
    Near,
}

/// Zero the bytes after a truncation point: the whole remainder when `whole`, else chunk by chunk
/// until the first chunk that is already all zeros (files are written front to back, so stale
/// data is contiguous after the truncation point).
fn zero_tail(f: &mut Arc<MappedFile>, pos: usize, tail: Tail) -> Result<bool, StoreError> {
    let (whole, near) = (tail == Tail::Whole, tail == Tail::Near);
    let size = f.file_size();
    if whole {
        return f.zero_range(pos, size);
    }
    let mut start = pos;
    let mut chunk = if near { OS_PAGE } else { ZERO_CHUNK };
    let mut any = false;
    while start < size {
        let end = ((start + chunk) / OS_PAGE * OS_PAGE)
            .max(start + 1)
            .min(size);
        if !f.zero_range(start, end)? {
            break;
        }
        any = true;
        start = end;
        chunk = (chunk * 2).min(ZERO_CHUNK);
    }
    Ok(any)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapped_file::MappedFile;

    /// Records the events a crash test's simulated disk would see.
    #[derive(Default)]
    struct Events(parking_lot::Mutex<Vec<String>>);

    impl crate::io::IoHooks for Events {
        fn allocated(&self, path: &std::path::Path, _len: u64) {
            self.0.lock().push(format!("allocated {}", path.display()));
        }
        fn synced(&self, path: &std::path::Path, _offset: u64, _len: u64) {
            self.0.lock().push(format!("synced {}", path.display()));
        }
        fn dir_synced(&self, dir: &std::path::Path) {
            self.0.lock().push(format!("dir_synced {}", dir.display()));
        }
    }

    #[test]
    fn deferred_creation_makes_new_entries_durable_before_the_flush_counts() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("topic").join("0");
        let events = Arc::new(Events::default());
        let io = Io::new(events.clone());
        let q = MappedFileQueue::new(io, dir.clone(), 4096).with_deferred_creation();
        let f = q.create_file(0).unwrap();
        {
            let ev = events.0.lock();
            assert_eq!(ev.len(), 1, "creating forced nothing: {ev:?}");
            assert!(ev[0].starts_with("allocated"));
        }
        assert!(f.append(&[7u8; 40]));
        assert_eq!(q.flush(0).unwrap(), 40);
        let ev = events.0.lock().clone();
        let first_data_sync = ev.iter().position(|e| e.starts_with("synced")).unwrap();
        for d in [root.path().to_path_buf(), root.path().join("topic"), dir] {
            let at = ev
                .iter()
                .position(|e| *e == format!("dir_synced {}", d.display()))
                .unwrap_or_else(|| panic!("{} never synced: {ev:?}", d.display()));
            assert!(at < first_data_sync, "{ev:?}");
        }
        // once synced, later flushes sync no directory again
        assert!(f.append(&[8u8; 40]));
        q.flush(0).unwrap();
        assert_eq!(
            events
                .0
                .lock()
                .iter()
                .filter(|e| e.starts_with("dir_synced"))
                .count(),
            3
        );
    }

    #[test]
    fn writeback_ahead_never_covers_the_folio_being_filled() {
        let dir = tempfile::tempdir().unwrap();
        let size = 8 << 20;
        let q = MappedFileQueue::new(Io::real(), dir.path().to_path_buf(), size);
        let f = Arc::new(MappedFile::create(&Io::real(), dir.path(), 0, size).unwrap());
        q.push_file(Arc::clone(&f));
        let at = |q: &MappedFileQueue| q.writeback_from.load(Ordering::Acquire);
        // less than one aligned unit appended: nothing is started
        assert!(f.append(&vec![1u8; (WRITEBACK_ALIGN as usize) - 100]));
        q.start_writeback(4096);
        assert_eq!(at(&q), 0);
        // past the first boundary: up to it, not up to the end
        assert!(f.append(&vec![2u8; 300 << 10]));
        q.start_writeback(4096);
        assert_eq!(at(&q), WRITEBACK_ALIGN);
        // below the minimum since the last start: nothing more
        assert!(f.append(&vec![3u8; WRITEBACK_ALIGN as usize]));
        q.start_writeback(4 * WRITEBACK_ALIGN);
        assert_eq!(at(&q), WRITEBACK_ALIGN);
        q.start_writeback(4096);
        assert_eq!(at(&q), 2 * WRITEBACK_ALIGN);
    }
}
