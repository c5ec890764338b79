//! Shared pieces of Ferrocket's storage benchmarks: where to put the data, how to build
//! messages, and the baselines measured on the same disk in the same run — the disk's own
//! sequential write bandwidth (`write` + `fdatasync` of large blocks) and the rate of one
//! `fdatasync` per message.
//!
//! Data goes to `$FERROCKET_BENCH_DIR` if set, else `<workspace>/target/bench-data` (on the disk
//! the build runs on; `/tmp` may be a tmpfs on some machines, which would measure memory).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrocket_protocol::message::encode_properties;
use ferrocket_store::{FlushDiskType, MessageToStore, StoreConfig};

/// Directory under which each benchmark makes its temporary store.
pub fn bench_root() -> PathBuf {
    let dir = std::env::var_os("FERROCKET_BENCH_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).expect("create bench dir");
    dir.canonicalize().unwrap_or(dir)
}

/// A fresh temporary directory under [`bench_root`], deleted when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(bench_root()).expect("temp dir")
}

/// The mount (device, mount point, file-system type) holding `path`, from `/proc/mounts`.
pub fn mount_of(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && path.starts_with(f[1]))
                .then(|| (f[1].len(), format!("{} on {} ({})", f[0], f[1], f[2])))
        })
        .max()
        .map_or_else(|| "unknown".into(), |(_, s)| s)
}

/// A store config for benchmarks: RocketMQ defaults except the segment size.
pub fn store_config(root: &Path, mode: FlushDiskType, segment: u64) -> StoreConfig {
    StoreConfig {
        flush_disk_type: mode,
        mapped_file_size_commitlog: segment,
        ..StoreConfig::with_root(root)
    }
}

static PROPERTIES: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A message of `size` body bytes on `queue` of topic `BenchTopic`.
pub fn message(queue: i32, body: &Bytes) -> MessageToStore {
    let host = SocketAddr::from(([127, 0, 0, 1], 10911));
    MessageToStore {
        topic: "BenchTopic".into(),
        queue_id: queue,
        flag: 0,
        body: body.clone(),
        // as a broker has them: one string decoded from the request
        properties: PROPERTIES
            .get_or_init(|| {
                encode_properties([
                    ("UNIQ_KEY", "7F0000010000000000000000000000AA"),
                    ("TAGS", "TagA"),
                ])
            })
            .clone(),
        tags_code: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: host,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

/// A body of `size` bytes.
pub fn body(size: usize) -> Bytes {
    Bytes::from(
        (0..size)
            .map(|i| b'a' + (i % 26) as u8)
            .collect::<Vec<u8>>(),
    )
}

/// Bytes per second.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    pub bytes: u64,
    pub elapsed: Duration,
}

impl Rate {
    pub fn mib_per_s(&self) -> f64 {
        self.bytes as f64 / (1024.0 * 1024.0) / self.elapsed.as_secs_f64()
    }
}

/// The disk's sequential write bandwidth: `total` bytes in `block`-sized `write`s, each
/// followed by `fdatasync`, into a fresh file under `dir` (what a perfect log writer could do).
pub fn disk_sequential_write(dir: &Path, total: u64, block: usize) -> Rate {
    disk_write(dir, total, block, Pattern::SyncEach)
}

/// The disk's sequential write bandwidth with deep queues: `total` bytes in `block`-sized
/// `write`s into the page cache, then one `fdatasync` (what `dd conv=fdatasync` measures; the
/// same shape as an ASYNC_FLUSH log that the kernel writes back while it grows).
pub fn disk_buffered_write(dir: &Path, total: u64, block: usize) -> Rate {
    disk_write(dir, total, block, Pattern::SyncAtEnd)
}

/// The disk's sequential write bandwidth with writeback overlapping the writes: each `block`
/// `write` is followed by `sync_file_range(SYNC_FILE_RANGE_WRITE)` on it (the disk starts on it
/// at once, nothing waits), then one `fdatasync` at the end.
pub fn disk_streaming_write(dir: &Path, total: u64, block: usize) -> Rate {
    disk_write(dir, total, block, Pattern::StreamThenSync)
}

#[derive(Clone, Copy, PartialEq)]
enum Pattern {
    SyncEach,
    SyncAtEnd,
    StreamThenSync,
    /// No `fdatasync` at all ([`warm_page_cache`]).
    Unforced,
}

fn disk_write(dir: &Path, total: u64, block: usize, pattern: Pattern) -> Rate {
    let path = dir.join("disk-baseline");
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .expect("baseline file");
    let buf = vec![0x5Au8; block];
    let start = Instant::now();
    let mut written = 0u64;
    while written < total {
        f.write_all(&buf).expect("write");
        match pattern {
            Pattern::SyncEach => f.sync_data().expect("fdatasync"),
            Pattern::SyncAtEnd | Pattern::Unforced => {}
            Pattern::StreamThenSync => {
                ferrocket_store::io::start_writeback(&f, written, block as u64)
            }
        }
        written += block as u64;
    }
    if pattern != Pattern::Unforced {
        f.sync_data().expect("fdatasync");
    }
    let elapsed = start.elapsed();
    drop(f);
    let _ = std::fs::remove_file(&path);
    Rate {
        bytes: written,
        elapsed,
    }
}

/// Commit what the previous run left pending on `dir`'s file system (a deleted store's freed
/// extents, its journal), then write `total` bytes in `block`-sized `write`s into a scratch file
/// under `dir` and delete it, unforced: the page cache of the timed run that follows is built
/// from memory just freed by the kernel. Nothing of the scratch file reaches the disk as long as
/// `total` stays below the kernel's background writeback threshold (`vm.dirty_background_ratio`,
/// 10 % of available memory by default: 2.3 GiB on the benchmark machine).
///
/// On a virtual machine whose guest reports free memory to the host (virtio-balloon free page
/// reporting), memory left free for a few seconds is handed back to the host, and the next write
/// into the page cache pays for the host to supply it again: measured on the benchmark machine,
/// `dd bs=4M count=256 conv=fdatasync` ran at 0.35–0.6 GB/s after 6 s idle and 1.2–1.6 GB/s
/// right after such a scratch write. Starting every timed run (baseline or store) this way
/// compares the two in the same state, the one a long-running broker is in (its page cache is
/// full of the log, so new pages come from reclaimed ones).
pub fn warm_page_cache(dir: &Path, total: u64, block: usize) {
    // an fsync of the directory commits the file system's journal
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    disk_write(dir, total, block, Pattern::Unforced);
}

/// One `write` + `fdatasync` per message of `size` bytes, for `duration`: the naive way to make
/// every message durable before answering. Returns messages per second.
pub fn fdatasync_per_message(dir: &Path, size: usize, duration: Duration) -> f64 {
    let path = dir.join("fsync-per-message");
    let mut f: File = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .expect("baseline file");
    let buf = vec![0x5Au8; size];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < duration {
        f.write_all(&buf).expect("write");
        f.sync_data().expect("fdatasync");
        n += 1;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    drop(f);
    let _ = std::fs::remove_file(&path);
    rate
}
