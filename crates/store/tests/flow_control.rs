//! Flow control (storage spec §4.9 / §7.12): `OsPageCacheBusy` (SYSTEM_BUSY to the producer)
//! only while a put is really stuck in the put lock longer than `osPageCacheBusyTimeOutMills` —
//! and never under a load the disk can sustain (RocketMQ users' most common complaint is a
//! spurious "broker busy").

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::simdisk::SimDisk;
use common::*;
use ferrocket_store::{
    DefaultMessageStore, FlushDiskType, MessageStore, PutMessageStatus, StoreConfig,
};

fn config(root: &std::path::Path, mode: FlushDiskType) -> StoreConfig {
    StoreConfig {
        flush_disk_type: mode,
        // 1 MiB segments: a new file every ~1 000 messages, so allocation is on the path often
        mapped_file_size_commitlog: 1024 * 1024,
        mapped_file_size_consume_queue: 20 * 10_000,
        max_hash_slot_num: 10_000,
        max_index_num: 40_000,
        ..StoreConfig::with_root(root)
    }
}

/// `producers` tasks, together `rate` messages/s of `size` bytes, for `secs` seconds, on the
/// real disk. Returns the count of each status.
fn steady_load(
    s: &Arc<DefaultMessageStore>,
    producers: usize,
    rate: u64,
    size: usize,
    secs: u64,
) -> HashMap<PutMessageStatus, usize> {
    let counts = Arc::new(Mutex::new(HashMap::new()));
    let sent = Arc::new(AtomicUsize::new(0));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let start = Instant::now();
        let per_task = rate / producers as u64;
        let mut tasks = Vec::new();
        for p in 0..producers {
            let (s, counts, sent) = (Arc::clone(s), Arc::clone(&counts), Arc::clone(&sent));
            tasks.push(tokio::spawn(async move {
                let body = "b".repeat(size);
                let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / per_task));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                while start.elapsed() < Duration::from_secs(secs) {
                    tick.tick().await;
                    let r = s
                        .put_message(msg("Steady", p as i32 % 8, &body, None))
                        .await;
                    sent.fetch_add(1, Ordering::Relaxed);
                    *counts.lock().unwrap().entry(r.status).or_insert(0) += 1;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let c = counts.lock().unwrap().clone();
    c
}

fn check_steady(mode: FlushDiskType) {
    let dir = tempfile::tempdir().unwrap(); // the real disk, real msync/fdatasync
    let s = open(config(dir.path(), mode));
    // ~2 MB/s of 1 KiB messages: far below what any disk sustains
    let counts = steady_load(&s, 8, 2_000, 1024, 4);
    let total: usize = counts.values().sum();
    let max_hold = s.put_lock_max_hold();
    eprintln!("{mode:?}: {total} puts, statuses {counts:?}, longest put-lock hold {max_hold:?}");
    assert!(total > 4_000, "the load ran ({total})");
    assert_eq!(
        counts.get(&PutMessageStatus::PutOk).copied().unwrap_or(0),
        total,
        "every put succeeded: {counts:?}"
    );
    assert!(
        max_hold < Duration::from_millis(s.config().os_page_cache_busy_timeout_ms),
        "no put came close to looking busy: {max_hold:?}"
    );
    s.shutdown();
}

#[test]
fn steady_async_load_never_sees_page_cache_busy() {
    check_steady(FlushDiskType::AsyncFlush);
}

#[test]
fn steady_sync_load_never_sees_page_cache_busy() {
    check_steady(FlushDiskType::SyncFlush);
}

/// The true positive: a put stuck in the lock (here: a segment allocation that takes 1.5 s
/// while the put waits for it) makes concurrent puts fail fast with `OsPageCacheBusy`, and the
/// store is not busy any more once the stuck put is through.
#[test]
fn a_put_stuck_in_the_lock_makes_others_busy_until_it_is_through() {
    let dir = fast_tempdir();
    let sim = SimDisk::new(dir.path());
    let cfg = StoreConfig {
        os_page_cache_busy_timeout_ms: 300,
        ..small_config(dir.path())
    };
    let s = DefaultMessageStore::open_with_io(cfg, None, sim.clone()).unwrap();
    s.start().unwrap();
    assert_eq!(
        block_on(s.put_message(msg("Busy", 0, "x", None))).status,
        PutMessageStatus::PutOk
    );
    // every later segment allocation stalls for 1.5 s
    sim.faults.lock().unwrap().slow_allocation = Some((
        vec![dir.path().join("commitlog")],
        Duration::from_millis(1_500),
    ));
    let stuck = {
        let s = Arc::clone(&s);
        std::thread::spawn(move || {
            // fill the current and the pre-allocated segment until a put has to wait for one
            let mut statuses = Vec::new();
            for i in 0..40 {
                let r = block_on(s.put_message(msg(
                    "Busy",
                    0,
                    &format!("{i}-{}", "f".repeat(900)),
                    None,
                )));
                statuses.push(r.status);
            }
            statuses
        })
    };
    // meanwhile a producer arriving while the put is stuck is told to go elsewhere, quickly
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut busy = 0;
    while Instant::now() < deadline && busy == 0 {
        std::thread::sleep(Duration::from_millis(5));
        if !s.is_os_page_cache_busy() {
            continue;
        }
        let t = Instant::now();
        let r = block_on(s.put_message(msg("Busy", 1, "other", None)));
        if r.status == PutMessageStatus::OsPageCacheBusy {
            assert!(
                t.elapsed() < Duration::from_millis(500),
                "busy answers fast"
            );
            assert!(!r.status.is_stored());
            busy += 1;
        }
    }
    assert!(busy > 0, "a put stuck in the lock is detected");
    sim.faults.lock().unwrap().slow_allocation = None;
    let statuses = stuck.join().unwrap();
    assert!(
        statuses.iter().all(|s| *s == PutMessageStatus::PutOk),
        "{statuses:?}"
    );
    assert!(!s.is_os_page_cache_busy());
    assert_eq!(
        block_on(s.put_message(msg("Busy", 1, "later", None))).status,
        PutMessageStatus::PutOk
    );
}
