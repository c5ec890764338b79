//! Store throughput measured against the disk it runs on, in one run:
//!
//! 1. the disk's sequential write bandwidth: 4 MiB `write`s, each followed by
//!    `sync_file_range(SYNC_FILE_RANGE_WRITE)` (writeback overlapping the writes, the shape of an
//!    ASYNC_FLUSH log), then one `fdatasync`; measured before the first store run and after every
//!    store run, so each store run sits between two baseline runs. Round 0 also shows two other
//!    shapes for reference (`fdatasync` per 4 MiB block; one `fdatasync` at the end);
//! 2. ASYNC_FLUSH appends of 4 KiB and 1 KiB messages until they are on disk (append, then the
//!    shutdown flush), mapped and with `transientStorePoolEnable`, each as a share of the mean of
//!    the two baseline runs around it;
//! 3. SYNC_FLUSH with 64 concurrent producers (group commit) vs one `fdatasync` per message;
//! 4. recovery time after a crash with N GiB of commit log, with the checkpoint's recovery offset
//!    and (for comparison) with Java's timestamp-based start.
//!
//! `cargo run --release -p ferrocket-bench --bin store_append_vs_disk -- [--size-mib 256]
//!  [--sync-secs 2] [--rounds 5] [--recovery-gib 1]` (0 skips a part). Data goes under
//! `FERROCKET_BENCH_DIR`. `FERROCKET_BENCH_CASES=4096x2p,1024x1` runs only those append cases
//! (body size x producers, `p` = transient pool).
//!
//! A shared machine's disk speed drifts by large factors within seconds, so every timed run
//! (baseline or store) starts from the same page-cache state ([`warm_page_cache`]), each store
//! run is compared with the baseline runs right before and after it, and the median of the
//! per-round ratios is reported along with every round.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocket_bench::{
    body, disk_buffered_write, disk_sequential_write, disk_streaming_write, fdatasync_per_message,
    message, mount_of, store_config, temp_dir, warm_page_cache, Rate,
};
use ferrocket_store::{
    DefaultMessageStore, FlushDiskType, MessageStore, PutMessageStatus, StoreConfig,
};

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

struct Args {
    size_mib: u64,
    sync_secs: u64,
    rounds: usize,
    recovery_gib: u64,
}

fn args() -> Args {
    let mut a = Args {
        size_mib: 256,
        sync_secs: 2,
        rounds: 5,
        recovery_gib: 1,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let val = v.get(i + 1).and_then(|s| s.parse::<u64>().ok());
        match (v[i].as_str(), val) {
            ("--size-mib", Some(n)) => a.size_mib = n,
            ("--sync-secs", Some(n)) => a.sync_secs = n,
            ("--recovery-gib", Some(n)) => a.recovery_gib = n,
            ("--rounds", Some(n)) => a.rounds = n.max(1) as usize,
            (other, _) => {
                eprintln!("unknown or incomplete argument {other}");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    a
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024 / 1024);
    format!("{cores} × {cpu}, {mem} GiB RAM")
}

/// (commit-log bytes, append-only rate, append-until-forced rate)
type AppendRun = (u64, Rate, Rate);

/// One ASYNC_FLUSH append run: body size, producer threads, `transientStorePoolEnable`.
#[derive(Clone, Copy)]
struct Case {
    size: usize,
    producers: usize,
    pool: bool,
}

impl Case {
    fn key(&self) -> String {
        let p = if self.pool { "p" } else { "" };
        format!("{}x{}{p}", self.size, self.producers)
    }

    fn describe(&self) -> String {
        let who = if self.producers == 1 {
            "1 producer".to_string()
        } else {
            format!("{} producers (one per core)", self.producers)
        };
        let pool = if self.pool {
            ", `transientStorePoolEnable=true`"
        } else {
            ""
        };
        format!("{} B bodies, {who}{pool}", self.size)
    }
}

/// Append `total` bytes of `size`-byte messages (ASYNC_FLUSH) from `producers` threads (each
/// puts its share, to its own queues), then shut down (which forces everything).
fn async_append(case: Case, total: u64) -> AppendRun {
    let Case {
        size,
        producers,
        pool,
    } = case;
    let dir = temp_dir();
    let config = StoreConfig {
        transient_store_pool_enable: pool,
        ..store_config(dir.path(), FlushDiskType::AsyncFlush, GIB)
    };
    let store = DefaultMessageStore::open(config, None).expect("open");
    store.start().expect("start");
    let payload = body(size);
    let n = total / size as u64 / producers as u64;
    let start = Instant::now();
    std::thread::scope(|s| {
        for p in 0..producers {
            let (store, payload) = (&store, &payload);
            s.spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    for i in 0..n {
                        let queue = (i % 8) as i32 + 8 * p as i32;
                        let r = store.put_message(message(queue, payload)).await;
                        assert_eq!(r.status, PutMessageStatus::PutOk);
                    }
                });
            });
        }
    });
    let appended = start.elapsed();
    let bytes = store.max_phy_offset() as u64;
    store.shutdown();
    let durable = start.elapsed();
    (
        bytes,
        Rate {
            bytes,
            elapsed: appended,
        },
        Rate {
            bytes,
            elapsed: durable,
        },
    )
}

/// SYNC_FLUSH: `producers` tasks each putting `size`-byte messages and waiting for PutOk, for
/// `secs`. Returns messages per second.
fn sync_producers(producers: usize, size: usize, secs: u64) -> f64 {
    let dir = temp_dir();
    let store = DefaultMessageStore::open(
        store_config(dir.path(), FlushDiskType::SyncFlush, GIB),
        None,
    )
    .expect("open");
    store.start().expect("start");
    let payload = body(size);
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let start = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for p in 0..producers {
            let (store, done, stop, payload) = (
                Arc::clone(&store),
                Arc::clone(&done),
                Arc::clone(&stop),
                payload.clone(),
            );
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let r = store.put_message(message((p % 8) as i32, &payload)).await;
                    assert_eq!(r.status, PutMessageStatus::PutOk);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(secs)).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.expect("producer");
        }
    });
    let rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    store.shutdown();
    rate
}

struct Recovery {
    log_bytes: u64,
    elapsed: Duration,
    scanned: u64,
    from_checkpoint: bool,
}

/// Fill a store with `gib` GiB of 4 KiB messages, crash it (drop without shutdown: the abort
/// file stays, as after kill -9), reopen and time the open. Then the same with the checkpoint's
/// Ferrocket extension wiped, i.e. Java's timestamp-based recovery.
fn recovery(gib: u64) -> (Recovery, Recovery) {
    let dir = temp_dir();
    let cfg = store_config(dir.path(), FlushDiskType::AsyncFlush, GIB);
    let store = DefaultMessageStore::open(cfg.clone(), None).expect("open");
    store.start().expect("start");
    let payload = body(4096);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut i = 0u64;
        while (store.max_phy_offset() as u64) < gib * GIB {
            let r = store.put_message(message((i % 8) as i32, &payload)).await;
            assert_eq!(r.status, PutMessageStatus::PutOk);
            i += 1;
        }
    });
    // the crash comes ~1 s after the last write, as a checkpoint round would have it
    std::thread::sleep(Duration::from_millis(1_200));
    let log_bytes = store.max_phy_offset() as u64;
    drop(store);
    let timed_open = || {
        let start = Instant::now();
        let s = DefaultMessageStore::open(cfg.clone(), None).expect("reopen");
        let elapsed = start.elapsed();
        let r = s.recovery_report().clone();
        assert!(!r.normal);
        assert_eq!(r.end_offset as u64, log_bytes);
        drop(s); // crash again: the abort file stays
        Recovery {
            log_bytes,
            elapsed,
            scanned: r.scanned_bytes,
            from_checkpoint: r.from_checkpoint,
        }
    };
    let ours = timed_open();
    let cp = dir.path().join("checkpoint");
    let mut raw = std::fs::read(&cp).expect("checkpoint");
    raw[64..].fill(0);
    std::fs::write(&cp, raw).expect("checkpoint");
    let java = timed_open();
    (ours, java)
}

fn main() {
    let a = args();
    let root = ferrocket_bench::bench_root();
    println!("machine: {}", machine());
    println!("data:    {} ({})", root.display(), mount_of(&root));
    let mut table = Vec::new();

    if a.size_mib > 0 {
        let total = a.size_mib * MIB;
        // per round: disk baseline, then the store with 4 KiB and 1 KiB bodies
        // one producer, and one per core; mapped appends, and staged ones (transient pool)
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // FERROCKET_BENCH_CASES=1024x1p,4096x2 runs only those (size x producers, p = pool)
        let only: Option<Vec<String>> = std::env::var("FERROCKET_BENCH_CASES")
            .ok()
            .map(|v| v.split(',').map(|c| c.trim().to_string()).collect());
        let mut cases = Vec::new();
        for pool in [false, true] {
            for size in [4096usize, 1024] {
                for producers in [1, cores] {
                    if producers > 1 && cores == 1 {
                        continue;
                    }
                    let case = Case {
                        size,
                        producers,
                        pool,
                    };
                    if only.as_ref().is_none_or(|o| o.contains(&case.key())) {
                        cases.push(case);
                    }
                }
            }
        }
        let block = 4 * MIB as usize;
        // Each store run is bracketed by two baseline runs (the same I/O shape as ASYNC_FLUSH:
        // 4 MiB writes, writeback started per block, one fdatasync) and compared with their
        // mean; every timed run, baseline or store, starts from the same page-cache state
        // (`warm_page_cache`). Ratios per run; the median of each case's ratios is reported.
        let mut rows: Vec<Vec<(AppendRun, f64)>> = Vec::new();
        let mut baselines = Vec::new();
        let mut round_best = Vec::new();
        for round in 0..a.rounds {
            let dir = temp_dir();
            let baseline = || {
                warm_page_cache(dir.path(), total, block);
                disk_streaming_write(dir.path(), total, block).mib_per_s()
            };
            if round == 0 {
                // for reference only: the other two shapes on this disk
                warm_page_cache(dir.path(), total, block);
                let synced = disk_sequential_write(dir.path(), total, block).mib_per_s();
                warm_page_cache(dir.path(), total, block);
                let buffered = disk_buffered_write(dir.path(), total, block).mib_per_s();
                println!(
                    "disk, other write shapes: fdatasync per 4 MiB block {synced:.0} MiB/s, 4 MiB writes + one fdatasync (dd conv=fdatasync) {buffered:.0} MiB/s"
                );
            }
            let mut before = baseline();
            baselines.push(before);
            let mut shown = vec![format!("disk {before:.0}")];
            let mut runs = Vec::new();
            for &case in &cases {
                warm_page_cache(dir.path(), total, block);
                let run = async_append(case, total);
                let after = baseline();
                let disk = (before + after) / 2.0;
                shown.push(format!(
                    "{} B x{}{} {:.0} MiB/s on disk ({:.0} appended) = {:.0} %, disk {after:.0}",
                    case.size,
                    case.producers,
                    if case.pool { " pool" } else { "" },
                    run.2.mib_per_s(),
                    run.1.mib_per_s(),
                    run.2.mib_per_s() / disk * 100.0
                ));
                baselines.push(after);
                runs.push((run, disk));
                before = after;
            }
            println!("round {round}: {}", shown.join(", "));
            let n = cases.len() + 1;
            round_best.push(
                baselines[baselines.len() - n..]
                    .iter()
                    .copied()
                    .fold(0.0, f64::max),
            );
            rows.push(runs);
        }
        let disk = median(baselines);
        table.push(format!(
            "| disk sequential write, {} MiB in 4 MiB `write`s, writeback started per block (`sync_file_range`) + one `fdatasync`; run before and after each store run, median of all | {disk:.0} MiB/s | 100 % |",
            a.size_mib
        ));
        for (k, case) in cases.iter().enumerate() {
            let rate = median(rows.iter().map(|r| r[k].0 .2.mib_per_s()).collect());
            let share = median(
                rows.iter()
                    .map(|r| r[k].0 .2.mib_per_s() / r[k].1 * 100.0)
                    .collect(),
            );
            // the strictest reading: each run against the fastest baseline run of its round
            let strict = median(
                rows.iter()
                    .zip(&round_best)
                    .map(|(r, best)| r[k].0 .2.mib_per_s() / best * 100.0)
                    .collect(),
            );
            let bytes = rows[0][k].0 .0;
            let what = case.describe();
            println!("ASYNC_FLUSH {what}: median {rate:.0} MiB/s on disk = {share:.0} % of the disk (median of per-run shares, each against the mean of the baseline runs before and after it; {strict:.0} % against the fastest baseline run of each round)");
            table.push(format!(
                "| ASYNC_FLUSH append, {what}, until forced to disk ({} MiB log), median of {} | {rate:.0} MiB/s ({:.0} k msg/s) | {share:.0} % ({strict:.0} % of the round's fastest) |",
                bytes / MIB,
                a.rounds,
                rate * MIB as f64 / (bytes as f64 / (total / case.size as u64) as f64) / 1000.0
            ));
        }
    }

    if a.sync_secs > 0 {
        let secs = a.sync_secs;
        let mut rounds = Vec::new();
        for round in 0..a.rounds {
            let dir = temp_dir();
            let naive = fdatasync_per_message(dir.path(), 1024, Duration::from_secs(secs));
            let one = sync_producers(1, 1024, secs);
            let many = sync_producers(64, 1024, secs);
            println!(
                "round {round}: write+fdatasync per 1 KiB message {naive:.0} msg/s; SYNC_FLUSH 1 producer {one:.0} msg/s; 64 producers {many:.0} msg/s = {:.1}×",
                many / naive
            );
            rounds.push((naive, one, many));
        }
        let naive = median(rounds.iter().map(|r| r.0).collect());
        let one = median(rounds.iter().map(|r| r.1).collect());
        let many = median(rounds.iter().map(|r| r.2).collect());
        let ratio1 = median(rounds.iter().map(|r| r.1 / r.0).collect());
        let ratio = median(rounds.iter().map(|r| r.2 / r.0).collect());
        println!(
            "SYNC_FLUSH 64 producers vs one fdatasync per message: {ratio:.1}× (median of rounds)"
        );
        table.push(format!(
            "| one `write`+`fdatasync` per 1 KiB message, median of {} | {naive:.0} msg/s | 1× |",
            a.rounds
        ));
        table.push(format!(
            "| SYNC_FLUSH, 1 KiB, 1 producer | {one:.0} msg/s | {ratio1:.1}× |"
        ));
        table.push(format!(
            "| SYNC_FLUSH, 1 KiB, 64 concurrent producers (group commit) | {many:.0} msg/s ({:.1} MiB/s) | {ratio:.1}× |",
            many * 1024.0 / MIB as f64
        ));
    }

    if a.recovery_gib > 0 {
        let (ours, java) = recovery(a.recovery_gib);
        for (name, r) in [("checkpoint offset", &ours), ("Java timestamp rule", &java)] {
            println!(
                "recovery after a crash, {} MiB of log, {name}: {:?}, scanned {} MiB (from checkpoint: {})",
                r.log_bytes / MIB,
                r.elapsed,
                r.scanned / MIB,
                r.from_checkpoint
            );
            table.push(format!(
                "| recovery after kill, {:.1} GiB log, start = {name} | {:.2} s, {} MiB scanned | |",
                r.log_bytes as f64 / GIB as f64,
                r.elapsed.as_secs_f64(),
                r.scanned / MIB
            ));
        }
    }

    println!("\n| measurement | result | vs baseline |\n|---|---|---|");
    for row in table {
        println!("{row}");
    }
}
