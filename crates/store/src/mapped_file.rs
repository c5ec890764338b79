//! One memory-mapped, fixed-size file of a mapped-file queue (Java `DefaultMappedFile`).
//!
//! Owns the mapping and two positions relative to the file start: `wrote_position` (bytes
//! appended, visible to readers) and `flushed_position` (bytes forced to disk). It knows nothing
//! about what the bytes mean.
//!
//! With staging (`transientStorePoolEnable`), appends go to a memory buffer instead and
//! [`MappedFile::commit`] writes them to the file with `pwrite`; a third position,
//! `committed`, ends what the file (and so the mapping) holds. Readers see up to the *read
//! position*: `committed` with staging, `wrote_position` without.
//!
//! Concurrency and soundness: appends are serialised by an internal mutex and only ever write at
//! or beyond the read position (through the mapping, or with `pwrite` when committing); the new
//! position is published with `Release` after the copy or the write. Readers only look at
//! `[0, read position)` loaded with `Acquire`, so they never observe bytes being written. Moving `wrote_position` backwards (recovery truncation) is only allowed when no
//! reader holds a slice of this file, which the owner proves by holding the only `Arc`.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use memmap2::MmapRaw;
use parking_lot::Mutex;

use crate::error::StoreError;
use crate::io::Io;

/// Size of an OS page as RocketMQ counts dirty pages (`OS_PAGE_SIZE`).
pub const OS_PAGE_SIZE: usize = 4096;

/// Zeros written ahead of the writer ([`MappedFile::zero_ahead`], [`MappedFile::warm`]) go in
/// writes of this size. The page cache builds its folios (its unit of writeback) from the size
/// of each write, and writeback writes a dirty folio whole: zeros written in large pieces make
/// large folios, and then every force rewrites the whole folio the tail of the log sits in
/// (measured on Linux 6.18 with ext4: 256 KiB writes made SYNC_FLUSH write 7-17× the bytes
/// appended).
pub(crate) const ZERO_PIECE: usize = 16 << 10;

/// File name of a mapped file: its start offset as 20 zero-padded decimal digits.
pub fn file_name(offset: u64) -> String {
    format!("{offset:020}")
}

pub(crate) struct MappedFile {
    io: Io,
    path: PathBuf,
    file: File,
    map: MmapRaw,
    file_from_offset: u64,
    file_size: usize,
    wrote_position: AtomicUsize,
    flushed_position: AtomicUsize,
    /// End of the range whose page-table entries are populated writable ahead of the writer.
    prefaulted: AtomicUsize,
    /// End of the range the work ahead was last asked for (so the writer asks once per window).
    ahead_requested: AtomicUsize,
    /// End of the range [`Self::zero_ahead`] wrote zeros to.
    zeroed: AtomicUsize,
    /// End of the range whose page-table entries were dropped ([`Self::release_pages`]).
    released: AtomicUsize,
    write_lock: Mutex<()>,
    /// Appends staged in memory, committed to the file by [`Self::commit`].
    staging: Option<Staging>,
}

/// The staged tail of a file ([`MappedFile::with_staging`]).
struct Staging {
    /// Appended bytes not taken by a commit yet.
    pending: Mutex<Pending>,
    /// Serialises commits; holds the bytes being written at `committed` (kept after a failed
    /// write, to be written again first). Its capacity is reused: the two buffers swap.
    writing: Mutex<Vec<u8>>,
    /// End of what the file holds; the read position.
    committed: AtomicUsize,
    /// [`MappedFile::mark_full`] was called: once everything is committed, so is the rest.
    full: AtomicBool,
}

struct Pending {
    buf: Vec<u8>,
    /// File position of `buf[0]`.
    base: usize,
}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFile")
            .field("path", &self.path)
            .field("wrote", &self.wrote_position())
            .field("flushed", &self.flushed_position())
            .finish()
    }
}

impl MappedFile {
    /// Create (or reuse) `dir/<20-digit offset>` of exactly `file_size` bytes, its blocks
    /// reserved (so appends through the mapping cannot run out of space), and map it.
    pub(crate) fn create(
        io: &Io,
        dir: &Path,
        offset: u64,
        file_size: usize,
    ) -> Result<Self, StoreError> {
        Self::create_with(io, dir, offset, file_size, None)
    }

    /// [`Self::create`]; with `unsynced`, the file and its directory are not forced now
    /// ([`Io::create_file_with`]: the directory to fsync is added there).
    pub(crate) fn create_with(
        io: &Io,
        dir: &Path,
        offset: u64,
        file_size: usize,
        unsynced: Option<&mut Vec<PathBuf>>,
    ) -> Result<Self, StoreError> {
        let path = dir.join(file_name(offset));
        let file = io.create_file_with(&path, file_size as u64, unsynced)?;
        let len = file
            .metadata()
            .map_err(|e| StoreError::io("stat", &path, e))?
            .len();
        if len != file_size as u64 {
            return Err(StoreError::FileSizeMismatch {
                path,
                expected: file_size as u64,
                actual: len,
            });
        }
        Self::map(io, path, file, offset, file_size, 0)
    }

    /// Map an existing file that must be exactly `file_size` bytes. Positions start "full".
    pub(crate) fn open(
        io: &Io,
        path: &Path,
        offset: u64,
        file_size: usize,
    ) -> Result<Self, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| StoreError::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| StoreError::io("stat", path, e))?
            .len();
        if len != file_size as u64 {
            return Err(StoreError::FileSizeMismatch {
                path: path.to_path_buf(),
                expected: file_size as u64,
                actual: len,
            });
        }
        Self::map(io, path.to_path_buf(), file, offset, file_size, file_size)
    }

    fn map(
        io: &Io,
        path: PathBuf,
        file: File,
        offset: u64,
        file_size: usize,
        position: usize,
    ) -> Result<Self, StoreError> {
        let map = MmapRaw::map_raw(&file).map_err(|e| StoreError::io("mmap", &path, e))?;
        if map.len() < file_size {
            return Err(StoreError::FileSizeMismatch {
                path,
                expected: file_size as u64,
                actual: map.len() as u64,
            });
        }
        Ok(MappedFile {
            io: io.clone(),
            path,
            file,
            map,
            file_from_offset: offset,
            file_size,
            wrote_position: AtomicUsize::new(position),
            flushed_position: AtomicUsize::new(position),
            prefaulted: AtomicUsize::new(position),
            ahead_requested: AtomicUsize::new(position),
            zeroed: AtomicUsize::new(position),
            released: AtomicUsize::new(0),
            write_lock: Mutex::new(()),
            staging: None,
        })
    }

    /// Stage appends in memory from the current write position on (see the module docs), in
    /// two buffers of `capacity` bytes reserved now (address space only: pages are touched as
    /// they fill) and freed when the file is full and committed.
    pub(crate) fn with_staging(mut self, capacity: usize) -> Self {
        let pos = *self.wrote_position.get_mut();
        let capacity = capacity.min(self.file_size - pos);
        self.staging = Some(Staging {
            pending: Mutex::new(Pending {
                buf: Vec::with_capacity(capacity),
                base: pos,
            }),
            writing: Mutex::new(Vec::with_capacity(capacity)),
            committed: AtomicUsize::new(pos),
            full: AtomicBool::new(false),
        });
        self
    }

    /// Whether appends are staged ([`Self::with_staging`]).
    pub(crate) fn is_staged(&self) -> bool {
        self.staging.is_some()
    }

    /// Bytes appended but not in the file yet (0 without staging).
    pub(crate) fn uncommitted(&self) -> usize {
        self.staging.as_ref().map_or(0, |s| {
            self.wrote_position()
                .saturating_sub(s.committed.load(Ordering::Acquire))
        })
    }

    /// Write staged appends to the file if at least `least_pages` pages are staged (any if 0, or
    /// if the file is full). Returns the read position. On error nothing is lost: the bytes stay
    /// staged and the next commit writes them first.
    pub(crate) fn commit(&self, least_pages: usize) -> Result<usize, StoreError> {
        let Some(s) = &self.staging else {
            return Ok(self.wrote_position());
        };
        let mut writing = s.writing.lock();
        if writing.is_empty() {
            let mut p = s.pending.lock();
            if p.buf.is_empty() {
                if s.full.load(Ordering::Acquire) {
                    Self::complete(s, &mut p, &mut writing, self.file_size);
                }
                return Ok(s.committed.load(Ordering::Acquire));
            }
            let end = p.base + p.buf.len();
            if least_pages > 0
                && !s.full.load(Ordering::Acquire)
                && end / OS_PAGE_SIZE - p.base / OS_PAGE_SIZE < least_pages
            {
                return Ok(s.committed.load(Ordering::Acquire));
            }
            std::mem::swap(&mut p.buf, &mut *writing);
            p.base = end;
        }
        let at = s.committed.load(Ordering::Acquire);
        self.io
            .write_at(&self.path, &self.file, &writing, at as u64)?;
        s.committed.store(at + writing.len(), Ordering::Release);
        writing.clear();
        if s.full.load(Ordering::Acquire) {
            let mut p = s.pending.lock();
            if p.buf.is_empty() {
                Self::complete(s, &mut p, &mut writing, self.file_size);
            }
        }
        Ok(s.committed.load(Ordering::Acquire))
    }

    /// A full file's staged bytes are all in: the rest (zeros past the BLANK) is readable, and
    /// nothing is staged here again, so the buffers go back to the allocator.
    fn complete(s: &Staging, p: &mut Pending, writing: &mut Vec<u8>, file_size: usize) {
        s.committed.store(file_size, Ordering::Release);
        p.buf = Vec::new();
        *writing = Vec::new();
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
    pub(crate) fn file_from_offset(&self) -> u64 {
        self.file_from_offset
    }
    pub(crate) fn file_size(&self) -> usize {
        self.file_size
    }
    pub(crate) fn wrote_position(&self) -> usize {
        self.wrote_position.load(Ordering::Acquire)
    }
    pub(crate) fn flushed_position(&self) -> usize {
        self.flushed_position.load(Ordering::Acquire)
    }
    /// End of what readers may see: the committed position with staging, else the write
    /// position.
    pub(crate) fn read_position(&self) -> usize {
        match &self.staging {
            Some(s) => s.committed.load(Ordering::Acquire),
            None => self.wrote_position(),
        }
    }
    pub(crate) fn is_full(&self) -> bool {
        self.wrote_position() >= self.file_size
    }

    /// Append `data` at the write position; `false` (nothing written) if it does not fit.
    pub(crate) fn append(&self, data: &[u8]) -> bool {
        self.append_with(data, false)
    }

    /// [`Self::append`] with `pwrite` instead of a copy into the mapping; `false` (nothing
    /// appended) also if the write failed. Readers see it through the mapping all the same (one
    /// page cache). For SYNC_FLUSH: the pages the appender writes never get writable page-table
    /// entries, so a force has no entries to write-protect again, no TLB of other CPUs to
    /// flush, and the next append into the same page takes no write fault (measured:
    /// write-protecting the tail after each force was a third of the group-commit thread's
    /// time). Staged files stage as [`Self::append`] does.
    pub(crate) fn append_by_write(&self, data: &[u8]) -> bool {
        self.append_with(data, true)
    }

    fn append_with(&self, data: &[u8], by_write: bool) -> bool {
        if let Some(s) = &self.staging {
            // the staging lock serialises staged appends (and `mark_full`) on its own
            let mut p = s.pending.lock();
            let pos = self.wrote_position.load(Ordering::Acquire);
            if pos + data.len() > self.file_size {
                return false;
            }
            p.buf.extend_from_slice(data);
            self.wrote_position
                .store(pos + data.len(), Ordering::Release);
            return true;
        }
        let _guard = self.write_lock.lock();
        let pos = self.wrote_position.load(Ordering::Acquire);
        if pos + data.len() > self.file_size {
            return false;
        }
        if by_write {
            if let Err(e) = self.io.write_at(&self.path, &self.file, data, pos as u64) {
                tracing::error!(error = %e, "appending to the commit log failed");
                return false;
            }
        } else {
            // SAFETY: `pos + data.len() <= file_size <= map.len()`, so the destination lies
            // inside the mapping. It lies at or beyond `wrote_position`, which no reader looks
            // past, and the write lock excludes other writers, so nothing reads or writes these
            // bytes concurrently. The source is a separate heap/stack buffer, so the ranges do
            // not overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    data.as_ptr(),
                    self.map.as_mut_ptr().add(pos),
                    data.len(),
                );
            }
        }
        self.wrote_position
            .store(pos + data.len(), Ordering::Release);
        true
    }

    /// Whether the writer should ask for the work ahead (prefault or zeroing) over
    /// `[.., wrote + window)`: once per half window of progress (the caller hands the request
    /// to the pre-allocation thread).
    pub(crate) fn wants_work_ahead(&self, window: usize) -> Option<usize> {
        // staged appends do not touch the mapping: nothing to prefault
        if window == 0 || self.staging.is_some() {
            return None;
        }
        let wrote = self.wrote_position();
        if wrote >= self.file_size {
            return None;
        }
        let target = wrote.saturating_add(window).min(self.file_size);
        let requested = self.ahead_requested.load(Ordering::Relaxed);
        if requested >= self.file_size || requested >= wrote.saturating_add(window / 2) {
            return None;
        }
        self.ahead_requested.fetch_max(target, Ordering::Relaxed);
        Some(target)
    }

    /// Populate the page-table entries of `[prefaulted, to)` writable (Linux
    /// `MADV_POPULATE_WRITE`), `chunk` bytes at a time, so that the appender's copies into the
    /// mapping do not each take a page fault: the faults (page-cache allocation, the file
    /// system's `page_mkwrite`) are taken here, on the pre-allocation thread. Content is not
    /// touched. Returns `false` when the kernel cannot do it (then nothing more is tried).
    pub(crate) fn prefault(&self, to: usize, chunk: usize, keep_going: impl Fn() -> bool) -> bool {
        // whole pages: a range ending inside a page would be asked for again and again
        let to = to.min(self.file_size).div_ceil(OS_PAGE_SIZE) * OS_PAGE_SIZE;
        loop {
            // never behind the writer: what it already wrote is faulted in anyway
            let from = self
                .prefaulted
                .load(Ordering::Acquire)
                .max(self.wrote_position());
            let start = from / OS_PAGE_SIZE * OS_PAGE_SIZE;
            if start >= to || !keep_going() {
                return true;
            }
            let end = (start + chunk.max(OS_PAGE_SIZE)).min(to);
            if !advise(&self.map, start, end - start, PageAdvice::PopulateWrite) {
                return false;
            }
            self.prefaulted.fetch_max(end, Ordering::AcqRel);
        }
    }

    /// Write zeros through the descriptor over `[zeroed, to)` ahead of the writer, `chunk`
    /// bytes at a time (each in writes of [`ZERO_PIECE`], so the tail's folios stay small), and
    /// start their writeback: a `fallocate`d file's blocks are *unwritten* extents until
    /// written, and converting them when a SYNC_FLUSH force writes the first data there costs
    /// that force a metadata write and, concurrently with writes into the next pages, stalls of
    /// tens of ms. Done here, the conversions happen ahead, off the forces' path. Each piece is
    /// written under the append lock and only if the writer has not reached it, so zeros never
    /// land on a message. Not for staged files. Stops when `keep_going` says so; returns the
    /// zeroed end.
    pub(crate) fn zero_ahead(
        &self,
        to: usize,
        chunk: usize,
        keep_going: impl Fn() -> bool,
    ) -> Result<usize, StoreError> {
        let to = to.min(self.file_size) / OS_PAGE_SIZE * OS_PAGE_SIZE;
        if self.staging.is_some() {
            return Ok(self.zeroed.load(Ordering::Acquire));
        }
        let piece_size = ZERO_PIECE;
        let chunk = chunk.max(piece_size) / piece_size * piece_size;
        let zeros = vec![0u8; piece_size];
        loop {
            // whole pages past the writer's (its current page is written by it)
            let from = self
                .zeroed
                .load(Ordering::Acquire)
                .max(self.wrote_position().div_ceil(OS_PAGE_SIZE) * OS_PAGE_SIZE);
            if from >= to || !keep_going() {
                return Ok(self.zeroed.load(Ordering::Acquire).max(from.min(to)));
            }
            let end = (from + chunk).min(to);
            let mut at = from;
            while at < end {
                let piece_end = (at + piece_size).min(end);
                {
                    let _guard = self.write_lock.lock();
                    if self.wrote_position() > at {
                        break; // the writer got here first: start again past it
                    }
                    self.io.write_at(
                        &self.path,
                        &self.file,
                        &zeros[..piece_end - at],
                        at as u64,
                    )?;
                }
                self.zeroed.fetch_max(piece_end, Ordering::AcqRel);
                at = piece_end;
            }
            if at > from {
                crate::io::start_writeback(&self.file, from as u64, (at - from) as u64);
            }
        }
    }

    /// Zero-fill the whole file through its descriptor (`warmMapedFileEnable`), forcing every
    /// `flush_every` bytes and at the end, so its blocks become written extents before any
    /// message goes in. Only for a file nobody writes yet; stops between 1 MiB chunks when
    /// `keep_going` says so. Returns whether it covered the whole file.
    pub(crate) fn warm(
        &self,
        flush_every: usize,
        keep_going: impl Fn() -> bool,
    ) -> std::io::Result<bool> {
        use std::os::unix::fs::FileExt;
        const CHUNK: usize = 1 << 20;
        let piece_size = ZERO_PIECE;
        let zeros = vec![0u8; piece_size];
        let mut pos = self.wrote_position();
        let mut unforced = 0usize;
        let mut done = true;
        while pos < self.file_size {
            if !keep_going() {
                done = false;
                break;
            }
            let n = CHUNK.min(self.file_size - pos);
            for at in (pos..pos + n).step_by(piece_size) {
                let len = piece_size.min(pos + n - at);
                self.file.write_all_at(&zeros[..len], at as u64)?;
            }
            pos += n;
            unforced += n;
            if unforced >= flush_every {
                self.file.sync_data()?;
                unforced = 0;
            }
        }
        self.file.sync_data()?;
        // what was zero-filled here needs no zeroing ahead of the writer again
        self.zeroed.fetch_max(pos, Ordering::AcqRel);
        Ok(done)
    }

    /// Drop this process's page-table entries for `[released, to)` (rounded down to whole
    /// pages; only below the flushed position): the pages stay in the kernel's page cache, so
    /// a later read finds them there with a minor fault, but they no longer count in the
    /// process's resident memory and the kernel can reclaim them like any clean cache page.
    pub(crate) fn release_pages(&self, to: usize) {
        let to = to.min(self.flushed_position()) / OS_PAGE_SIZE * OS_PAGE_SIZE;
        let from = self.released.load(Ordering::Acquire);
        if to <= from {
            return;
        }
        if advise(&self.map, from, to - from, PageAdvice::DontNeed) {
            self.released.fetch_max(to, Ordering::AcqRel);
        }
    }

    /// Mark the file as full (after a BLANK header was appended, or for a zero-filled tail).
    pub(crate) fn mark_full(&self) {
        if let Some(s) = &self.staging {
            let _p = s.pending.lock();
            s.full.store(true, Ordering::Release);
            self.wrote_position.store(self.file_size, Ordering::Release);
            return;
        }
        let _guard = self.write_lock.lock();
        self.wrote_position.store(self.file_size, Ordering::Release);
    }

    /// Borrow `[pos, pos+len)` if it lies below the read position.
    pub(crate) fn read(&self, pos: usize, len: usize) -> Option<&[u8]> {
        let end = pos.checked_add(len)?;
        if end > self.read_position() {
            return None;
        }
        // SAFETY: `end <= read position <= file_size <= map.len()`: the range is inside the
        // mapping, and bytes below the published read position are never written again while
        // this file is shared (see the module docs), so an immutable view is sound for the
        // lifetime of `&self`.
        Some(unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(pos), len) })
    }

    /// A zero-copy `Bytes` of `[pos, pos+len)` that keeps this file mapped while it lives.
    pub(crate) fn slice(self: &Arc<Self>, pos: usize, len: usize) -> Option<Bytes> {
        self.read(pos, len)?;
        Some(Bytes::from_owner(MappedSlice {
            file: Arc::clone(self),
            start: pos,
            len,
        }))
    }

    /// Force written bytes to disk if at least `least_pages` dirty pages (or any, if 0) exist
    /// or the file is full. Returns the flushed position.
    pub(crate) fn flush(&self, least_pages: usize) -> Result<usize, StoreError> {
        let wrote = self.read_position();
        let flushed = self.flushed_position();
        if wrote <= flushed {
            return Ok(flushed);
        }
        let able = wrote >= self.file_size
            || if least_pages > 0 {
                wrote / OS_PAGE_SIZE - flushed / OS_PAGE_SIZE >= least_pages
            } else {
                true
            };
        if !able {
            return Ok(flushed);
        }
        // msync(MS_SYNC) of the dirty range (memmap2 aligns the start to a page boundary); on
        // Linux this is an fdatasync of the range, device cache flush included.
        self.io
            .sync_range(&self.path, flushed as u64, (wrote - flushed) as u64, || {
                self.map.flush_range(flushed, wrote - flushed)
            })?;
        self.flushed_position.fetch_max(wrote, Ordering::AcqRel);
        Ok(self.flushed_position())
    }

    /// Start writing `[from, to)` back to disk without waiting ([`crate::io::start_writeback`]).
    /// The range must be fully appended: its page-table entries are dropped first, all in one
    /// call. Writeback has to write-protect every page it finds mapped writable, one TLB
    /// shoot-down (an interrupt to every other CPU running this process, a VM exit on each
    /// under virtualisation) per page-cache folio; dropped in one range they cost one. The
    /// pages stay in the page cache, dirty: a reader maps them again with a minor fault.
    pub(crate) fn start_writeback(&self, from: usize, to: usize) {
        let to = to.min(self.file_size);
        if to > from {
            // (elsewhere `start_writeback` does nothing: keep the entries)
            if cfg!(target_os = "linux") && self.staging.is_none() {
                let from = from / OS_PAGE_SIZE * OS_PAGE_SIZE;
                advise(&self.map, from, to - from, PageAdvice::DontNeed);
            }
            crate::io::start_writeback(&self.file, from as u64, (to - from) as u64);
        }
    }

    /// Force `[pos, pos + len)` to disk regardless of the flushed position (recovery: bytes that
    /// survived a process crash may still be only in the page cache).
    pub(crate) fn force(&self, pos: usize, len: usize) -> Result<(), StoreError> {
        let end = pos.saturating_add(len).min(self.file_size);
        if pos >= end {
            return Ok(());
        }
        self.io
            .sync_range(&self.path, pos as u64, (end - pos) as u64, || {
                self.map.flush_range(pos, end - pos)
            })
    }

    /// Reset both positions to `pos` (recovery). Requires exclusive ownership: no reader may hold
    /// a slice of this file, because later appends will overwrite the bytes past `pos`.
    pub(crate) fn reset_position(self: &mut Arc<Self>, pos: usize) -> bool {
        let Some(this) = Arc::get_mut(self) else {
            return false;
        };
        let pos = pos.min(this.file_size);
        *this.wrote_position.get_mut() = pos;
        *this.flushed_position.get_mut() = pos;
        // the work ahead of the writer (prefault, zeroing) starts again from here: a file
        // recovered as the one being written gets it like a new one
        *this.prefaulted.get_mut() = pos;
        *this.ahead_requested.get_mut() = pos;
        *this.zeroed.get_mut() = pos;
        true
    }

    /// Zero `[pos, end)` if any byte there is non-zero, then force it (recovery; exclusive).
    /// Used so stale entries past a truncation point can never be read as valid later.
    /// Returns whether there was anything to zero (`false` also when not exclusively owned).
    pub(crate) fn zero_range(
        self: &mut Arc<Self>,
        pos: usize,
        end: usize,
    ) -> Result<bool, StoreError> {
        let Some(this) = Arc::get_mut(self) else {
            tracing::error!("cannot zero a file that is being read");
            return Ok(false);
        };
        let end = end.min(this.file_size);
        if pos >= end {
            return Ok(false);
        }
        // SAFETY: `&mut` access through `Arc::get_mut` proves no other reference to this file
        // (and so no slice of its mapping) exists; the range is inside the mapping.
        let region =
            unsafe { std::slice::from_raw_parts_mut(this.map.as_mut_ptr().add(pos), end - pos) };
        if region.iter().any(|b| *b != 0) {
            region.fill(0);
            let map = &this.map;
            this.io
                .sync_range(&this.path, pos as u64, (end - pos) as u64, || {
                    map.flush_range(pos, end - pos)
                })?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Delete the file from disk; the mapping lives on until the last slice is dropped.
    pub(crate) fn destroy(&self) {
        self.io.remove_file(&self.path);
    }
}

/// What [`advise`] may ask of the kernel: advice that changes page-table entries only, never a
/// byte of the mapping's content.
#[derive(Clone, Copy, Debug)]
enum PageAdvice {
    /// `MADV_POPULATE_WRITE` (Linux 5.14): establish the entries as a write fault would.
    PopulateWrite,
    /// `MADV_DONTNEED`: drop the entries; on this shared file mapping the next access faults the
    /// same bytes back in from the page cache (dirty pages are handed to it, not discarded).
    DontNeed,
}

/// `madvise` over `[pos, pos+len)` of `map`; false if the range is not page-aligned and inside
/// the mapping, or the kernel refused.
fn advise(map: &MmapRaw, pos: usize, len: usize, advice: PageAdvice) -> bool {
    // the libc crate may not name MADV_POPULATE_WRITE on every target
    const MADV_POPULATE_WRITE: libc::c_int = 23;
    let advice_code = match advice {
        PageAdvice::PopulateWrite if cfg!(target_os = "linux") => MADV_POPULATE_WRITE,
        PageAdvice::PopulateWrite => return false,
        PageAdvice::DontNeed => libc::MADV_DONTNEED,
    };
    if pos.checked_add(len).is_none_or(|end| end > map.len()) || !pos.is_multiple_of(OS_PAGE_SIZE) {
        return false;
    }
    // SAFETY: `[pos, pos+len)` lies inside the mapping (checked above) and starts on a page
    // boundary, as madvise requires. Both kinds of `PageAdvice` only change page-table entries
    // of this shared file mapping, never its content, so no reader or writer (the appender's
    // copies, slices and `Bytes` borrowing the range) can observe a difference.
    let rc = unsafe {
        libc::madvise(
            map.as_mut_ptr().add(pos).cast::<libc::c_void>(),
            len,
            advice_code,
        )
    };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        tracing::debug!(error = %e, ?advice, "madvise failed");
        return false;
    }
    true
}

/// Owner of a `Bytes` view into a mapped file.
struct MappedSlice {
    file: Arc<MappedFile>,
    start: usize,
    len: usize,
}

impl AsRef<[u8]> for MappedSlice {
    fn as_ref(&self) -> &[u8] {
        // `slice()` checked the range against the write position at creation; the range stays
        // immutable while this Arc clone exists (truncation needs the only Arc).
        self.file.read_unchecked(self.start, self.len)
    }
}

impl MappedFile {
    fn read_unchecked(&self, pos: usize, len: usize) -> &[u8] {
        if pos.saturating_add(len) > self.file_size {
            return &[];
        }
        // SAFETY: inside the mapping (checked above); the range was below the write position
        // when the owning `MappedSlice` was created and bytes below it are never rewritten while
        // another `Arc` to this file exists.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(pos), len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails the next `n` staged-commit writes.
    struct FailWrites(std::sync::atomic::AtomicUsize);
    impl crate::io::IoHooks for FailWrites {
        fn before_write(&self, _: &Path, _: u64, _: u64) -> std::io::Result<()> {
            let left = self.0.load(Ordering::Acquire);
            if left > 0 {
                self.0.store(left - 1, Ordering::Release);
                return Err(std::io::Error::from_raw_os_error(libc::EIO));
            }
            Ok(())
        }
    }

    #[test]
    fn zeroing_ahead_never_touches_what_the_writer_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let size = 4 << 20;
        let f = Arc::new(MappedFile::create(&Io::real(), dir.path(), 0, size).unwrap());
        let record = |i: usize| -> Vec<u8> { vec![(i % 251) as u8 + 1; 1000 + i % 97] };
        // the start of the file zeroed before any append
        assert_eq!(f.zero_ahead(64 << 10, 16 << 10, || true).unwrap(), 64 << 10);
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let zeroer = s.spawn(|| {
                let mut rounds = 0;
                while !stop.load(Ordering::Acquire) {
                    let ahead = f.wrote_position() + (256 << 10);
                    f.zero_ahead(ahead, 16 << 10, || !stop.load(Ordering::Acquire))
                        .unwrap();
                    rounds += 1;
                }
                rounds
            });
            let mut i = 0;
            while f.append(&record(i)) {
                i += 1;
            }
            stop.store(true, Ordering::Release);
            assert!(zeroer.join().unwrap() > 0);
            // every record reads back whole, in order
            let mut pos = 0;
            for j in 0..i {
                let r = record(j);
                assert_eq!(f.read(pos, r.len()).unwrap(), &r[..], "record {j}");
                pos += r.len();
            }
            assert_eq!(pos, f.wrote_position());
        });
        // a staged file is left alone
        let g = MappedFile::create(&Io::real(), dir.path(), size as u64, size)
            .unwrap()
            .with_staging(1 << 20);
        assert_eq!(g.zero_ahead(1 << 20, 4096, || true).unwrap(), 0);
    }

    #[test]
    fn staged_appends_are_readable_once_committed_and_survive_a_failed_write() {
        let dir = tempfile::tempdir().unwrap();
        let io = Io::new(Arc::new(FailWrites(std::sync::atomic::AtomicUsize::new(0))));
        let size = 8 * OS_PAGE_SIZE;
        let f = Arc::new(
            MappedFile::create(&io, dir.path(), 0, size)
                .unwrap()
                .with_staging(1 << 20),
        );
        let on_disk =
            |pos: usize, len: usize| std::fs::read(f.path()).unwrap()[pos..pos + len].to_vec();
        assert!(f.append(b"first"));
        assert_eq!(f.wrote_position(), 5);
        assert_eq!((f.read_position(), f.uncommitted()), (0, 5));
        assert!(f.read(0, 5).is_none(), "staged bytes are not readable");
        // below the page threshold nothing is written
        assert_eq!(f.commit(2).unwrap(), 0);
        assert_eq!(on_disk(0, 5), [0; 5]);
        assert_eq!(f.commit(0).unwrap(), 5);
        assert_eq!(f.read(0, 5).unwrap(), b"first");
        assert_eq!(on_disk(0, 5), *b"first");
        // two pages staged meet a two-page threshold
        let big = vec![7u8; 2 * OS_PAGE_SIZE];
        assert!(f.append(&big));
        assert_eq!(f.commit(2).unwrap(), 5 + big.len());
        assert_eq!(f.read(5, big.len()).unwrap(), &big[..]);

        // a failed write keeps the bytes; the next commit writes them first, then the rest
        let hooks = FailWrites(std::sync::atomic::AtomicUsize::new(1));
        let io = Io::new(Arc::new(hooks));
        let g = Arc::new(
            MappedFile::create(&io, dir.path(), size as u64, size)
                .unwrap()
                .with_staging(1 << 20),
        );
        assert!(g.append(b"kept"));
        assert!(g.commit(0).is_err());
        assert_eq!(g.read_position(), 0);
        assert!(g.append(b" and more"));
        assert_eq!(g.commit(0).unwrap(), 4, "the failed bytes go first");
        assert_eq!(g.commit(0).unwrap(), 13);
        assert_eq!(g.read(0, 13).unwrap(), b"kept and more");
        // a full file is readable to its end once its staged bytes are in
        assert!(g.append(b"!"));
        g.mark_full();
        assert_eq!(g.read_position(), 13);
        assert_eq!(g.commit(4).unwrap(), size, "full: no page threshold");
        assert_eq!(g.read(13, 1).unwrap(), b"!");
        assert_eq!(g.flush(0).unwrap(), size);
        assert_eq!(g.wants_work_ahead(OS_PAGE_SIZE), None);
    }

    #[test]
    fn append_read_slice_flush() {
        let dir = tempfile::tempdir().unwrap();
        let f = Arc::new(MappedFile::create(&Io::real(), dir.path(), 4096, 8192).unwrap());
        assert_eq!(f.path().file_name().unwrap(), "00000000000000004096");
        assert!(f.append(b"hello"));
        assert!(f.append(b" world"));
        assert_eq!(f.wrote_position(), 11);
        assert_eq!(f.read(0, 11).unwrap(), b"hello world");
        assert!(f.read(0, 12).is_none());
        let s = f.slice(6, 5).unwrap();
        assert_eq!(&s[..], b"world");
        assert!(!f.append(&vec![0u8; 8192]));
        assert_eq!(f.flush(1).unwrap(), 0, "less than one page dirty: no flush");
        assert_eq!(f.flush(0).unwrap(), 11);
        drop(f);
        let g =
            MappedFile::open(&Io::real(), &dir.path().join(file_name(4096)), 4096, 8192).unwrap();
        assert!(g.is_full());
        assert_eq!(g.read(0, 11).unwrap(), b"hello world");
        assert!(
            MappedFile::open(&Io::real(), &dir.path().join(file_name(4096)), 4096, 4096).is_err()
        );
    }

    /// Resident KiB of the mapping that starts at `addr` (from /proc/self/smaps).
    fn mapping_rss_kib(addr: usize) -> Option<u64> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut in_it = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((start, _)) = range.split_once('-') {
                    if let Ok(start) = usize::from_str_radix(start, 16) {
                        in_it = start == addr;
                        continue;
                    }
                }
            }
            if in_it {
                if let Some(kb) = line.strip_prefix("Rss:") {
                    return kb.trim().trim_end_matches("kB").trim().parse().ok();
                }
            }
        }
        None
    }

    /// A 4 MiB file in `dir` with its first 3 MiB appended through the mapping; returns it, the
    /// 4 MiB of data (the rest to append later) and the mapping's address.
    fn three_of_four_mib_appended(dir: &Path) -> (Arc<MappedFile>, Vec<u8>, usize) {
        let size = 4 << 20;
        let f = Arc::new(MappedFile::create(&Io::real(), dir, 0, size).unwrap());
        let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        assert!(f.append(&data[..3 << 20]));
        let addr = f.map.as_ptr() as usize;
        (f, data, addr)
    }

    /// The mapping, `before` KiB resident with its 3 MiB written, now has (at least) 2 MiB less.
    fn assert_two_mib_leave(addr: usize, before: u64) {
        let after = mapping_rss_kib(addr).expect("the mapping in /proc/self/smaps");
        assert!(
            before >= 3 * 1024,
            "written pages are resident: {before} KiB"
        );
        assert!(after <= before - 2 * 1024, "{before} KiB -> {after} KiB");
    }

    #[test]
    fn released_pages_leave_resident_memory_and_keep_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let size = 4 << 20;
        let (f, data, addr) = three_of_four_mib_appended(dir.path());
        // not flushed yet: nothing is released
        f.release_pages(3 << 20);
        let before = mapping_rss_kib(addr).expect("the mapping in /proc/self/smaps");
        assert_eq!(f.flush(0).unwrap(), 3 << 20);
        f.release_pages(2 << 20);
        assert_two_mib_leave(addr, before);
        // the bytes are all still there, read back through the same mapping
        assert_eq!(f.read(0, 3 << 20).unwrap(), &data[..3 << 20]);
        // and writing goes on after the released range
        assert!(f.append(&data[3 << 20..]));
        assert_eq!(f.flush(0).unwrap(), size);
        f.release_pages(size);
        assert_eq!(f.read(0, size).unwrap(), &data[..]);
    }

    #[test]
    fn writeback_drops_the_writers_mappings_and_keeps_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let size = 4 << 20;
        let (f, data, addr) = three_of_four_mib_appended(dir.path());
        let held = f.slice(4096, 1 << 20).unwrap();
        let before = mapping_rss_kib(addr).expect("the mapping in /proc/self/smaps");
        f.start_writeback(0, 2 << 20);
        assert_two_mib_leave(addr, before);
        // nothing is lost, written back or not: a slice taken before, a read, the next append
        assert_eq!(&held[..], &data[4096..4096 + (1 << 20)]);
        assert_eq!(f.read(0, 3 << 20).unwrap(), &data[..3 << 20]);
        assert!(f.append(&data[3 << 20..]));
        assert_eq!(f.flush(0).unwrap(), size);
        drop((held, f));
        assert_eq!(std::fs::read(dir.path().join(file_name(0))).unwrap(), data);
    }

    #[test]
    fn warm_zero_fills_and_can_stop_early() {
        let dir = tempfile::tempdir().unwrap();
        let size = 3 << 20;
        let f = MappedFile::create(&Io::real(), dir.path(), 0, size).unwrap();
        // stopped before the first chunk: nothing done, still usable
        assert!(!f.warm(1 << 20, || false).unwrap());
        assert!(f.warm(1 << 20, || true).unwrap());
        let on_disk = std::fs::read(f.path()).unwrap();
        assert_eq!(on_disk.len(), size);
        assert!(on_disk.iter().all(|b| *b == 0));
        // nothing left to zero ahead of the writer
        assert_eq!(f.zero_ahead(size, 1 << 20, || true).unwrap(), size);
        assert_eq!(f.zeroed.load(Ordering::Acquire), size);
        assert!(f.append(b"after warming"));
        assert_eq!(f.read(0, 13).unwrap(), b"after warming");
    }

    #[test]
    fn prefault_ahead_of_the_writer_changes_no_byte() {
        let dir = tempfile::tempdir().unwrap();
        let size = 1 << 20;
        let f = Arc::new(MappedFile::create(&Io::real(), dir.path(), 0, size).unwrap());
        assert!(f.append(b"first"));
        // asked once per half window of progress
        assert_eq!(f.wants_work_ahead(256 * 1024), Some(5 + 256 * 1024));
        assert_eq!(f.wants_work_ahead(256 * 1024), None);
        assert!(f.append(&vec![7u8; 130 * 1024]));
        assert!(f.wants_work_ahead(256 * 1024).is_some());
        let supported = f.prefault(300 * 1024, 64 * 1024, || true);
        if cfg!(target_os = "linux") {
            assert!(supported, "MADV_POPULATE_WRITE (Linux >= 5.14)");
            assert!(f.prefaulted.load(Ordering::Acquire) >= 300 * 1024);
        }
        // an end inside a page is rounded up to it, and the work ends
        let rounds = std::sync::atomic::AtomicUsize::new(0);
        let unaligned = 300 * 1024 + 4096 * 3 + 17;
        let keep_going = || rounds.fetch_add(1, Ordering::Relaxed) < 1000;
        f.prefault(unaligned, 64 * 1024, keep_going);
        assert!(rounds.load(Ordering::Relaxed) < 10, "prefault kept going");
        if cfg!(target_os = "linux") {
            assert_eq!(f.prefaulted.load(Ordering::Acquire), 300 * 1024 + 4096 * 4);
        }
        // stops when told to
        assert!(f.prefault(size, 64 * 1024, || false));
        assert!(f.prefaulted.load(Ordering::Acquire) < size);
        // nothing past the write position changed; appends land as usual
        let wrote = f.wrote_position();
        assert!(f.append(b"after"));
        assert_eq!(f.read(0, 5).unwrap(), b"first");
        assert_eq!(f.read(wrote, 5).unwrap(), b"after");
        f.mark_full();
        assert!(f
            .read(wrote + 5, size - wrote - 5)
            .unwrap()
            .iter()
            .all(|b| *b == 0));
        assert_eq!(
            f.wants_work_ahead(256 * 1024),
            None,
            "a full file needs none"
        );
    }

    #[test]
    fn appends_by_write_are_read_through_the_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let size = 64 << 10;
        let f = Arc::new(MappedFile::create(&Io::real(), dir.path(), 0, size).unwrap());
        // zeros ahead first, as under SYNC_FLUSH: the appends land over them
        assert_eq!(f.zero_ahead(size, 16 << 10, || true).unwrap(), size);
        assert!(f.append_by_write(b"first record"));
        assert!(f.append(b"|mapped|"));
        assert!(f.append_by_write(&vec![9u8; 1000]));
        assert_eq!(f.wrote_position(), 12 + 8 + 1000);
        assert_eq!(f.read(0, 20).unwrap(), b"first record|mapped|");
        assert!(f.read(20, 1000).unwrap().iter().all(|b| *b == 9));
        // what does not fit is refused whole, the position unchanged
        assert!(!f.append_by_write(&vec![1u8; size]));
        assert_eq!(f.wrote_position(), 1020);
        // the bytes are in the file itself, not only in the mapping
        f.flush(0).unwrap();
        let on_disk = std::fs::read(f.path()).unwrap();
        assert_eq!(&on_disk[..12], b"first record");
        assert!(on_disk[1020..].iter().all(|b| *b == 0));
    }

    #[test]
    fn truncation_needs_exclusive_access() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = Arc::new(MappedFile::create(&Io::real(), dir.path(), 0, 4096).unwrap());
        f.append(b"abcdef");
        let s = f.slice(0, 3).unwrap();
        assert!(!f.reset_position(2));
        drop(s);
        assert!(f.reset_position(2));
        assert!(f.zero_range(2, 4096).unwrap());
        assert!(!f.zero_range(2, 4096).unwrap(), "already zero");
        assert_eq!(f.wrote_position(), 2);
        f.mark_full();
        assert_eq!(f.read(0, 6).unwrap(), b"ab\0\0\0\0");
    }

    #[test]
    fn a_file_recovered_as_the_one_being_written_gets_the_work_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let size = 1 << 20;
        drop(MappedFile::create(&Io::real(), dir.path(), 0, size).unwrap());
        // opened files start "full" (nothing ahead to do) ...
        let mut f = Arc::new(
            MappedFile::open(&Io::real(), &dir.path().join(file_name(0)), 0, size).unwrap(),
        );
        assert_eq!(f.wants_work_ahead(64 << 10), None);
        // ... until recovery makes one the file being written
        assert!(f.reset_position(1000));
        assert_eq!(f.wants_work_ahead(64 << 10), Some(1000 + (64 << 10)));
        assert_eq!(f.zero_ahead(8192, 4096, || true).unwrap(), 8192);
    }
}
