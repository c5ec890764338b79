//! The seam between the store and the file system for every operation that decides what is on
//! disk after a crash: creating (allocating) a file, forcing a range to stable storage, forcing a
//! directory, deleting, and measuring free space.
//!
//! All of the store's files go through one [`Io`] handle. In production it carries [`NoHooks`] and
//! only does the real work. Tests hand the store their own [`IoHooks`] to *observe* each
//! durability event (and so model exactly what a power cut would leave behind) and to *fail*
//! operations (ENOSPC at allocation, EIO at a sync), without a special file system.
//!
//! What the store assumes of the medium (see `docs/storage.md`):
//! * bytes written through a shared mapping live in the page cache and survive the process;
//! * after `msync(MS_SYNC)` / `fdatasync` of a range returns, that range survives a power cut;
//! * a new directory entry survives a power cut only after its directory was fsynced;
//! * a file created with `fallocate` has its blocks reserved, so later stores through the mapping
//!   can never hit ENOSPC (which, with a mapping, would be a SIGBUS instead of an error).
//!
//! Must not know about record formats or which file is which.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::StoreError;

/// Observer and fault injector for the store's durability-relevant file operations.
///
/// Every method has a default that does nothing (or the real measurement), so an implementation
/// only overrides what it cares about. Methods are called from the store's threads, sometimes
/// while it holds internal locks: keep them short and never call back into the store.
pub trait IoHooks: Send + Sync + 'static {
    /// A file of `len` bytes is about to be allocated. Returning an error (e.g.
    /// `io::Error::from_raw_os_error(libc::ENOSPC)`) makes the allocation fail as if the disk had
    /// refused it; the store then removes the half-created file.
    fn before_allocate(&self, _path: &Path, _len: u64) -> io::Result<()> {
        Ok(())
    }
    /// `path` now exists with `len` bytes reserved and its metadata forced (its directory entry
    /// is durable only after the next [`IoHooks::dir_synced`] of its parent).
    fn allocated(&self, _path: &Path, _len: u64) {}
    /// `len` bytes are about to be written at `offset` of `path` through its descriptor (the
    /// commit of staged appends); an error fails that write, which is retried later.
    fn before_write(&self, _path: &Path, _offset: u64, _len: u64) -> io::Result<()> {
        Ok(())
    }
    /// `[offset, offset + len)` of `path` is about to be forced; an error fails that flush.
    fn before_sync(&self, _path: &Path, _offset: u64, _len: u64) -> io::Result<()> {
        Ok(())
    }
    /// `[offset, offset + len)` of `path` is on stable storage (`msync`/`fdatasync` returned).
    fn synced(&self, _path: &Path, _offset: u64, _len: u64) {}
    /// A directory was created (durable after its parent's next [`IoHooks::dir_synced`]).
    fn dir_created(&self, _dir: &Path) {}
    /// The entries of `dir` (creations and deletions so far) are on stable storage.
    fn dir_synced(&self, _dir: &Path) {}
    /// A file or a whole directory tree was deleted.
    fn removed(&self, _path: &Path) {}
    /// Used share (0.0–1.0) of the partition holding `path`; the default asks `statvfs`.
    fn disk_usage(&self, path: &Path) -> Option<f64> {
        statvfs_usage(path)
    }
    /// This boot's identity; the default reads the kernel's. A test layer that simulates a
    /// power loss reports a new one after the simulated reboot.
    fn boot_id(&self) -> [u8; 16] {
        boot_id()
    }
}

/// The production hooks: no observation, no faults.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;

impl IoHooks for NoHooks {}

/// The store's handle on the file system (cheap to clone).
#[derive(Clone)]
pub(crate) struct Io {
    hooks: Arc<dyn IoHooks>,
}

impl std::fmt::Debug for Io {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Io")
    }
}

impl Io {
    pub(crate) fn new(hooks: Arc<dyn IoHooks>) -> Self {
        Io { hooks }
    }

    /// This boot's identity ([`IoHooks::boot_id`]).
    pub(crate) fn boot_id(&self) -> [u8; 16] {
        self.hooks.boot_id()
    }

    /// Real I/O with no hooks (unit tests).
    #[cfg(test)]
    pub(crate) fn real() -> Self {
        Io::new(Arc::new(NoHooks))
    }

    /// Create `dir` and any missing parents; each new directory's parent is fsynced so that the
    /// new entry survives a power cut.
    pub(crate) fn create_dir_all(&self, dir: &Path) -> Result<(), StoreError> {
        self.create_dir_all_with(dir, None)
    }

    /// Fsync each directory of `dirs` once (the order does not matter: each makes its own
    /// entries durable). One deleted meanwhile (its queue was destroyed) is skipped.
    pub(crate) fn sync_dirs(&self, dirs: &mut Vec<PathBuf>) {
        dirs.sort();
        dirs.dedup();
        for d in dirs.drain(..) {
            if d.is_dir() {
                self.sync_dir(&d);
            }
        }
    }

    /// [`Self::create_dir_all`]; with `unsynced`, the parents to fsync are added there for the
    /// caller to fsync later ([`Self::sync_dirs`]) instead of now.
    pub(crate) fn create_dir_all_with(
        &self,
        dir: &Path,
        mut unsynced: Option<&mut Vec<PathBuf>>,
    ) -> Result<(), StoreError> {
        if dir.is_dir() {
            return Ok(());
        }
        let mut missing = Vec::new();
        let mut cur = Some(dir);
        while let Some(d) = cur {
            if d.as_os_str().is_empty() || d.is_dir() {
                break;
            }
            missing.push(d);
            cur = d.parent();
        }
        for d in missing.into_iter().rev() {
            match std::fs::create_dir(d) {
                Ok(()) => {
                    self.hooks.dir_created(d);
                    if let Some(parent) = d.parent() {
                        match unsynced.as_deref_mut() {
                            Some(dirs) => dirs.push(parent.to_path_buf()),
                            None => self.sync_dir(parent),
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(StoreError::io("mkdir", d, e)),
            }
        }
        Ok(())
    }

    /// Open `path`, creating it if needed, with at least `len` bytes reserved on disk
    /// (`fallocate`), its metadata forced and its directory entry made durable.
    ///
    /// ENOSPC (or any failure) is returned as an error and a file this call created is removed,
    /// so no short or sparse file is left behind to confuse the next start.
    pub(crate) fn create_file(&self, path: &Path, len: u64) -> Result<File, StoreError> {
        self.create_file_with(path, len, None)
    }

    /// [`Self::create_file`]; with `unsynced`, the blocks are reserved (ENOSPC still fails here)
    /// but neither the file nor its directory is forced: the directory is added to `unsynced`,
    /// and the caller fsyncs it ([`Self::sync_dirs`]) and forces the file's data before it
    /// counts anything in the file as durable. For files whose content can be rebuilt (consume
    /// queues), so that creating one costs no disk flush on the path that fills it.
    pub(crate) fn create_file_with(
        &self,
        path: &Path,
        len: u64,
        unsynced: Option<&mut Vec<PathBuf>>,
    ) -> Result<File, StoreError> {
        let force = unsynced.is_none();
        let (file, created) = match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(f) => (f, true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => (
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(path)
                    .map_err(|e| StoreError::io("open", path, e))?,
                false,
            ),
            Err(e) => return Err(StoreError::io("create", path, e)),
        };
        if !created
            && file
                .metadata()
                .map_err(|e| StoreError::io("stat", path, e))?
                .len()
                >= len
        {
            return Ok(file); // an existing file of the right size: nothing to allocate or force
        }
        let reserved = self
            .hooks
            .before_allocate(path, len)
            .map_err(|e| StoreError::io("allocate", path, e))
            .and_then(|()| allocate(&file, len).map_err(|e| StoreError::io("fallocate", path, e)))
            .and_then(|()| {
                if !force {
                    return Ok(());
                }
                file.sync_all()
                    .map_err(|e| StoreError::io("fsync", path, e))
            });
        if let Err(e) = reserved {
            if created {
                drop(file);
                let _ = std::fs::remove_file(path);
                self.hooks.removed(path);
            }
            tracing::error!(path = %path.display(), len, error = %e, "cannot allocate file");
            return Err(e);
        }
        self.hooks.allocated(path, len);
        if created {
            if let Some(dir) = path.parent() {
                match unsynced {
                    Some(dirs) => dirs.push(dir.to_path_buf()),
                    None => self.sync_dir(dir),
                }
            }
        }
        Ok(file)
    }

    /// Write all of `data` at `offset` of `file` (`pwrite`, retried on short writes).
    pub(crate) fn write_at(
        &self,
        path: &Path,
        file: &File,
        data: &[u8],
        offset: u64,
    ) -> Result<(), StoreError> {
        use std::os::unix::fs::FileExt;
        self.hooks
            .before_write(path, offset, data.len() as u64)
            .and_then(|()| file.write_all_at(data, offset))
            .map_err(|e| StoreError::io("write", path, e))
    }

    /// Force `[offset, offset + len)` of `path` with `force` (an `msync` or `fdatasync`).
    pub(crate) fn sync_range(
        &self,
        path: &Path,
        offset: u64,
        len: u64,
        force: impl FnOnce() -> io::Result<()>,
    ) -> Result<(), StoreError> {
        self.hooks
            .before_sync(path, offset, len)
            .and_then(|()| force())
            .map_err(|e| StoreError::io("sync", path, e))?;
        self.hooks.synced(path, offset, len);
        Ok(())
    }

    /// Fsync a directory so that entries created or deleted in it survive a power cut.
    pub(crate) fn sync_dir(&self, dir: &Path) {
        match File::open(dir).and_then(|d| d.sync_all()) {
            Ok(()) => self.hooks.dir_synced(dir),
            Err(e) => {
                tracing::warn!(path = %dir.display(), error = %e, "fsync of directory failed")
            }
        }
    }

    /// Delete a file (a missing file is not an error).
    pub(crate) fn remove_file(&self, path: &Path) {
        match std::fs::remove_file(path) {
            Ok(()) => self.hooks.removed(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "delete of file failed")
            }
        }
    }

    /// Delete a directory tree (a missing one is not an error).
    pub(crate) fn remove_dir_all(&self, dir: &Path) {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => self.hooks.removed(dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %dir.display(), error = %e, "delete of directory failed")
            }
        }
    }

    /// Delete an empty directory (errors are ignored: it may not be empty or may not exist).
    pub(crate) fn remove_dir(&self, dir: &Path) {
        if std::fs::remove_dir(dir).is_ok() {
            self.hooks.removed(dir);
        }
    }

    /// Create a small marker file whose *existence* must survive a crash (the `abort` file);
    /// its content is informational and is not forced.
    pub(crate) fn create_marker_file(&self, path: &Path, data: &[u8]) -> Result<(), StoreError> {
        use std::os::unix::fs::FileExt;
        let file = self.create_file(path, 0)?;
        file.set_len(0)
            .and_then(|()| file.write_all_at(data, 0))
            .map_err(|e| StoreError::io("write", path, e))
    }

    /// Used share of the partition holding `path`.
    pub(crate) fn disk_usage(&self, path: &Path) -> Option<f64> {
        self.hooks.disk_usage(path)
    }
}

/// Reserve `len` bytes for `file` (no-op if it is already that long). Uses `fallocate` where the
/// file system supports it and falls back to a sparse `set_len` where it does not.
fn allocate(file: &File, len: u64) -> io::Result<()> {
    if file.metadata()?.len() >= len {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::io::AsRawFd;
        let len_off = libc::off_t::try_from(len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file too large"))?;
        loop {
            // SAFETY: `fallocate` only reads its integer arguments and acts on the descriptor,
            // which `file` owns and keeps open for the duration of the call.
            let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len_off) };
            if rc == 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => break,
                _ => return Err(err),
            }
        }
    }
    // No block reservation on this file system: a sparse file. Running out of space while
    // writing through the mapping would then be a SIGBUS; the disk-full check is the guard.
    file.set_len(len)
}

/// Ask the kernel to start writing `[offset, offset + len)` of `file` back to disk now, without
/// waiting for it (Linux `sync_file_range(SYNC_FILE_RANGE_WRITE)`). Not a durability point: a
/// flush that follows still forces and waits. Best effort: errors, and other systems, are
/// ignored (the flush reports real ones).
pub fn start_writeback(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a plain syscall on a descriptor `file` keeps open for the call's duration; it
        // reads no memory of ours.
        unsafe {
            libc::sync_file_range(
                file.as_raw_fd(),
                offset as libc::off64_t,
                len as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

/// `(total − available) / total` of the partition holding `path` (as Java computes it).
pub fn statvfs_usage(path: &Path) -> Option<f64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a valid NUL-terminated path and `st` points to writable memory of the right
    // type; `statvfs` fully initialises it when it returns 0.
    let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: initialised by the successful call above.
    let st = unsafe { st.assume_init() };
    let total = st.f_blocks as f64 * st.f_frsize as f64;
    let free = st.f_bavail as f64 * st.f_frsize as f64;
    (total > 0.0).then(|| (total - free) / total)
}

/// Raise this process's soft limit on open files (`RLIMIT_NOFILE`) to its hard limit, as the JVM
/// does at start (HotSpot's `MaxFDLimit`, on by default): the store keeps one descriptor per
/// mapped file (commit-log segments, consume-queue files, index files), and a large store opened
/// under the common soft limit of 1024 would fail with "Too many open files" where the Java
/// broker starts. Returns the soft limit before and after; `None` if it could not be read or
/// set.
// `rlim_t` is `u64` on Linux but not on every Unix
#[allow(clippy::unnecessary_cast)]
pub fn raise_open_file_limit() -> Option<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable `rlimit` for the call's duration.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    let before = lim.rlim_cur as u64;
    if lim.rlim_cur >= lim.rlim_max {
        return Some((before, before));
    }
    let raised = libc::rlimit {
        rlim_cur: lim.rlim_max,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: `raised` is a valid `rlimit` read by the call; raising the soft limit up to the
    // hard one needs no privilege.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return None;
    }
    Some((before, lim.rlim_max as u64))
}

/// This boot's identity (`/proc/sys/kernel/random/boot_id`), 16 bytes, or zeros if unknown.
/// A crash that did not reboot the machine left the page cache intact.
pub(crate) fn boot_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    if let Ok(s) = std::fs::read_to_string("/proc/sys/kernel/random/boot_id") {
        let hex: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
        if hex.len() == 32 {
            for (i, pair) in hex.chunks(2).enumerate() {
                let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                id[i] = digit(pair[0]) << 4 | digit(pair[1]);
            }
        }
    }
    id
}

#[cfg(test)]
mod tests {
    #[test]
    #[allow(clippy::unnecessary_cast)] // `rlim_t` is `u64` on Linux but not on every Unix
    fn open_file_limit_is_raised_to_the_hard_limit() {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `lim` is a valid, writable `rlimit` (here and below).
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        // one below the hard limit (not lower: other tests of this process open files)
        let lowered = libc::rlimit {
            rlim_cur: lim.rlim_max - 1,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `lowered` is a valid `rlimit` read by the call.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lowered) }, 0);
        let (before, after) = super::raise_open_file_limit().expect("getrlimit/setrlimit");
        assert_eq!(before, lim.rlim_max as u64 - 1);
        assert_eq!(after, lim.rlim_max as u64);
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        assert_eq!(lim.rlim_cur, lim.rlim_max);
    }

    use super::*;

    #[test]
    fn create_file_reserves_and_reports() {
        let dir = tempfile::tempdir().unwrap();
        let io = Io::real();
        let sub = dir.path().join("a/b");
        io.create_dir_all(&sub).unwrap();
        let p = sub.join("f");
        let f = io.create_file(&p, 8192).unwrap();
        assert_eq!(f.metadata().unwrap().len(), 8192);
        drop(f);
        // reopening an existing file keeps it
        let f = io.create_file(&p, 4096).unwrap();
        assert_eq!(f.metadata().unwrap().len(), 8192);
        io.create_marker_file(&dir.path().join("small"), b"123")
            .unwrap();
        assert_eq!(std::fs::read(dir.path().join("small")).unwrap(), b"123");
        assert!(statvfs_usage(dir.path()).is_some());
        assert_ne!(boot_id(), [0u8; 16]);
    }

    struct NoSpace;
    impl IoHooks for NoSpace {
        fn before_allocate(&self, _path: &Path, _len: u64) -> io::Result<()> {
            Err(io::Error::from_raw_os_error(libc::ENOSPC))
        }
    }

    #[test]
    fn failed_allocation_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let io = Io::new(Arc::new(NoSpace));
        let p = dir.path().join("f");
        let err = io.create_file(&p, 4096).unwrap_err();
        assert!(err.to_string().contains("No space left"), "{err}");
        assert!(!p.exists());
    }
}
