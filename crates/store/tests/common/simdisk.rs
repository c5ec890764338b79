//! A simulated disk for crash tests, plugged into the store through `IoHooks`.
//!
//! The store keeps doing real I/O on a real directory; the simulator watches every durability
//! event and keeps, per file, the bytes that are *on stable storage*:
//!
//! * `allocated` — a new file exists in the page cache with zeros; its directory entry becomes
//!   durable only at the next `dir_synced` of its parent (directories likewise);
//! * `synced(path, offset, len)` — the pages covering the range are copied from the file (what
//!   the page cache holds at that moment) into the durable image;
//! * `removed` — the entry disappears now, durably at the parent's next `dir_synced`.
//!
//! [`SimDisk::cut`] is the power cut: from then on no event counts, and what the page cache held
//! is snapshotted. After the store is dropped, [`SimDisk::restore`] rewrites the directory as the
//! machine would find it after reboot: only durable entries, each with its durable bytes — and,
//! in [`CutMode::RandomWriteback`], each page the kernel might have written back on its own
//! either old, new, or torn at 512-byte sectors.
//!
//! It also injects faults: ENOSPC when allocating files under given directories, EIO on sync,
//! and a fake disk usage.

use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ferrocket_store::IoHooks;

pub const PAGE: usize = 4096;
const SECTOR: usize = 512;

/// A small deterministic random generator (xorshift64*).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo).max(1)
    }
}

/// What the pages the store wrote but never forced look like after the cut.
#[derive(Clone, Copy, Debug)]
pub enum CutMode {
    /// Every unforced byte is lost (the strict reading of "only fsync is durable").
    DropUnsynced,
    /// Each page that differs between disk and page cache is, at random, the old content, the
    /// new content, or a mix of old and new 512-byte sectors (a torn write).
    RandomWriteback(u64),
}

#[derive(Debug)]
struct FileRec {
    durable_exists: bool,
    exists: bool,
    durable: Vec<u8>,
}

#[derive(Debug)]
struct DirRec {
    durable_exists: bool,
    exists: bool,
}

#[derive(Debug, Default)]
struct State {
    files: BTreeMap<PathBuf, FileRec>,
    dirs: BTreeMap<PathBuf, DirRec>,
    /// Page-cache content of every existing file at the moment of the cut.
    volatile: BTreeMap<PathBuf, Vec<u8>>,
}

/// Faults to inject.
#[derive(Debug, Default)]
pub struct Faults {
    /// Allocating a file under any of these directories fails with ENOSPC.
    pub enospc_under: Vec<PathBuf>,
    /// Forcing a file under any of these fails with EIO.
    pub eio_under: Vec<PathBuf>,
    /// Reported disk usage (default: the real one).
    pub usage: Option<f64>,
    /// Allocating a file under any of these takes this long (a stalled disk).
    pub slow_allocation: Option<(Vec<PathBuf>, std::time::Duration)>,
}

pub struct SimDisk {
    /// The boot the simulated machine is in: a store opened on a restored directory must see
    /// a new boot (the page cache did not survive the power loss).
    pub boot: [u8; 16],
    root: PathBuf,
    cut: AtomicBool,
    state: Mutex<State>,
    pub faults: Mutex<Faults>,
}

fn read_file(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

impl SimDisk {
    /// A disk whose current content under `root` is all durable (e.g. right after a restore).
    pub fn new(root: &Path) -> Arc<Self> {
        let mut st = State::default();
        fn scan(dir: &Path, st: &mut State) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if e.file_type().unwrap().is_dir() {
                    st.dirs.insert(
                        p.clone(),
                        DirRec {
                            durable_exists: true,
                            exists: true,
                        },
                    );
                    scan(&p, st);
                } else {
                    st.files.insert(
                        p.clone(),
                        FileRec {
                            durable_exists: true,
                            exists: true,
                            durable: read_file(&p),
                        },
                    );
                }
            }
        }
        std::fs::create_dir_all(root).unwrap();
        scan(root, &mut st);
        // every simulated disk is a new boot of the simulated machine
        static BOOTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let mut boot = [0xB0u8; 16];
        boot[..8].copy_from_slice(&BOOTS.fetch_add(1, Ordering::SeqCst).to_be_bytes());
        Arc::new(SimDisk {
            boot,
            root: root.to_path_buf(),
            cut: AtomicBool::new(false),
            state: Mutex::new(st),
            faults: Mutex::new(Faults::default()),
        })
    }

    pub fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    /// Power cut: freeze the durable state and snapshot the page cache.
    pub fn cut(&self) {
        let mut st = self.state.lock().unwrap();
        if self.cut.swap(true, Ordering::SeqCst) {
            return;
        }
        let live: Vec<PathBuf> = st
            .files
            .iter()
            .filter(|(_, f)| f.exists)
            .map(|(p, _)| p.clone())
            .collect();
        for p in live {
            let data = read_file(&p);
            st.volatile.insert(p, data);
        }
    }

    fn dir_durable(st: &State, root: &Path, dir: &Path) -> bool {
        let mut cur = dir;
        while cur != root {
            match st.dirs.get(cur) {
                Some(d) if d.durable_exists => {}
                _ => return false,
            }
            match cur.parent() {
                Some(p) => cur = p,
                None => return false,
            }
        }
        true
    }

    /// Rewrite the directory as found after the reboot (the store must be dropped first).
    /// Returns how many files survived.
    pub fn restore(&self, mode: CutMode) -> usize {
        assert!(self.is_cut(), "restore needs a cut first");
        let st = self.state.lock().unwrap();
        for e in std::fs::read_dir(&self.root).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                std::fs::remove_dir_all(e.path()).unwrap();
            } else {
                std::fs::remove_file(e.path()).unwrap();
            }
        }
        for (d, rec) in &st.dirs {
            if rec.durable_exists && Self::dir_durable(&st, &self.root, d) {
                std::fs::create_dir_all(d).unwrap();
            }
        }
        let mut rng = match mode {
            CutMode::DropUnsynced => None,
            CutMode::RandomWriteback(seed) => Some(Rng::new(seed)),
        };
        let mut n = 0;
        for (p, rec) in &st.files {
            let parent = p.parent().unwrap();
            if !rec.durable_exists || !Self::dir_durable(&st, &self.root, parent) {
                continue;
            }
            let mut data = rec.durable.clone();
            if let (Some(rng), Some(vol)) = (rng.as_mut(), st.volatile.get(p)) {
                let len = data.len().min(vol.len());
                let mut page = 0;
                while page < len {
                    let end = (page + PAGE).min(len);
                    if data[page..end] != vol[page..end] {
                        match rng.range(0, 10) {
                            0..=4 => {}
                            5..=8 => data[page..end].copy_from_slice(&vol[page..end]),
                            _ => {
                                let mut s = page;
                                while s < end {
                                    let e = (s + SECTOR).min(end);
                                    if rng.range(0, 2) == 1 {
                                        data[s..e].copy_from_slice(&vol[s..e]);
                                    }
                                    s = e;
                                }
                            }
                        }
                    }
                    page = end;
                }
            }
            std::fs::write(p, &data).unwrap();
            n += 1;
        }
        n
    }

    fn under(list: &[PathBuf], path: &Path) -> bool {
        list.iter().any(|d| path.starts_with(d))
    }
}

impl IoHooks for SimDisk {
    fn before_allocate(&self, path: &Path, _len: u64) -> io::Result<()> {
        let delay = {
            let f = self.faults.lock().unwrap();
            if Self::under(&f.enospc_under, path) {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            f.slow_allocation
                .as_ref()
                .filter(|(dirs, _)| Self::under(dirs, path))
                .map(|(_, d)| *d)
        };
        if let Some(d) = delay {
            std::thread::sleep(d);
        }
        Ok(())
    }

    fn allocated(&self, path: &Path, len: u64) {
        let mut st = self.state.lock().unwrap();
        if self.is_cut() {
            return;
        }
        let rec = st.files.entry(path.to_path_buf()).or_insert(FileRec {
            durable_exists: false,
            exists: false,
            durable: Vec::new(),
        });
        if !rec.exists {
            // a new file (a new inode, even if an old one with this name was deleted)
            rec.durable_exists = false;
            rec.durable = Vec::new();
        }
        rec.exists = true;
        if rec.durable.len() < len as usize {
            rec.durable.resize(len as usize, 0);
        }
    }

    fn before_sync(&self, path: &Path, _offset: u64, _len: u64) -> io::Result<()> {
        if Self::under(&self.faults.lock().unwrap().eio_under, path) {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        Ok(())
    }

    fn synced(&self, path: &Path, offset: u64, len: u64) {
        let mut st = self.state.lock().unwrap();
        if self.is_cut() {
            return;
        }
        let Some(rec) = st.files.get_mut(path) else {
            panic!("sync of a file the simulator never saw: {}", path.display());
        };
        if !rec.exists {
            return;
        }
        let Ok(file) = std::fs::File::open(path) else {
            return;
        };
        let file_len = file.metadata().map(|m| m.len() as usize).unwrap_or(0);
        let start = offset as usize / PAGE * PAGE;
        let end = ((offset + len) as usize).div_ceil(PAGE) * PAGE;
        let end = end.min(file_len);
        if start >= end {
            return;
        }
        if rec.durable.len() < end {
            rec.durable.resize(file_len, 0);
        }
        file.read_exact_at(&mut rec.durable[start..end], start as u64)
            .unwrap();
    }

    fn dir_created(&self, dir: &Path) {
        let mut st = self.state.lock().unwrap();
        if self.is_cut() {
            return;
        }
        let rec = st.dirs.entry(dir.to_path_buf()).or_insert(DirRec {
            durable_exists: false,
            exists: false,
        });
        rec.exists = true;
    }

    fn dir_synced(&self, dir: &Path) {
        let mut st = self.state.lock().unwrap();
        if self.is_cut() {
            return;
        }
        for (p, f) in st.files.iter_mut() {
            if p.parent() == Some(dir) {
                f.durable_exists = f.exists;
            }
        }
        for (p, d) in st.dirs.iter_mut() {
            if p.parent() == Some(dir) {
                d.durable_exists = d.exists;
            }
        }
    }

    fn removed(&self, path: &Path) {
        let mut st = self.state.lock().unwrap();
        if self.is_cut() {
            return;
        }
        for (p, f) in st.files.iter_mut() {
            if p.starts_with(path) {
                f.exists = false;
            }
        }
        for (p, d) in st.dirs.iter_mut() {
            if p.starts_with(path) {
                d.exists = false;
            }
        }
    }

    fn boot_id(&self) -> [u8; 16] {
        self.boot
    }

    fn disk_usage(&self, path: &Path) -> Option<f64> {
        if let Some(u) = self.faults.lock().unwrap().usage {
            return Some(u);
        }
        ferrocket_store::io::statvfs_usage(path)
    }
}
