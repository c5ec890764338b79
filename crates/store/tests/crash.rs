//! Crash tests: what a SEND_OK promises, checked against simulated power cuts (the `SimDisk`
//! fault layer drops everything not forced) and against real `SIGKILL`s of a child process.
//!
//! Each scenario runs several "lives" on one directory: produce concurrently, crash at a random
//! moment, recover, check, go on — so recovery after recovery is exercised too. After every
//! recovery:
//! * every message the promise covers is there, byte for byte, at its offsets;
//! * every consume queue is consistent: each entry points at a valid record (body CRC checked) of
//!   its own queue, offsets strictly increase, and the put path continues where the queue ends;
//! * nothing that was never sent is served (no torn record or stale bytes become a message),
//!   and nothing is served twice;
//! * whatever recovery kept must survive every later crash too.
//!
//! Long form: `FERROCKET_CRASH_SEEDS=200 cargo test --release -p ferrocket-store --test crash`
//! (200 seeds of power-cut lives, 200 kill -9 cycles per mode).

mod common;

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::simdisk::{CutMode, Rng, SimDisk};
use common::*;
use ferrocket_protocol::message::RecordView;
use ferrocket_store::{
    DefaultMessageStore, FlushDiskType, MessageStore, PutMessageStatus, StoreConfig,
};

const TOPIC: &str = "Crash";
const QUEUES: u64 = 4;
const PRODUCERS: u64 = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Stored {
    queue_id: i32,
    queue_offset: i64,
    wrote_offset: i64,
    end: i64,
    body: String,
}

fn config(root: &Path, mode: FlushDiskType) -> StoreConfig {
    StoreConfig {
        flush_disk_type: mode,
        // a checkpoint every 20 ms, a CQ/index file every few messages: many boundaries
        ..small_config(root)
    }
}

/// The kill -9 tests' store: segment boundaries every ~100 messages, not every few (the
/// power-cut tests cover those), so that the long form's 200 cycles (~150 k messages) make a
/// few thousand files rather than ~40 000: each open file is a descriptor in the child and in
/// the checking parent.
fn kill9_config(root: &Path, mode: FlushDiskType) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commitlog: 64 << 10,
        mapped_file_size_consume_queue: 100 * 20,
        max_index_num: 1000,
        ..config(root, mode)
    }
}

fn padding(rng: &mut Rng) -> String {
    let n = rng.range(0, 900) as usize;
    let start = rng.range(0, 26) as usize;
    (0..n)
        .map(|i| (b'a' + ((start + i) % 26) as u8) as char)
        .collect()
}

/// Check the recovered store against what must be there; returns everything it serves.
fn verify(
    s: &DefaultMessageStore,
    must_have: &BTreeMap<i64, Stored>,
    sent: &HashSet<String>,
    ctx: &str,
) -> BTreeMap<i64, Stored> {
    for m in must_have.values() {
        let rec = s
            .look_message_by_offset(m.wrote_offset)
            .unwrap_or_else(|| panic!("{ctx}: message at {} lost: {m:?}", m.wrote_offset));
        let v = RecordView::parse(&rec).unwrap();
        assert_eq!(body_of(&rec), m.body, "{ctx}: body at {}", m.wrote_offset);
        assert_eq!(v.queue_id(), m.queue_id, "{ctx}");
        assert_eq!(v.queue_offset(), m.queue_offset, "{ctx}");
        let got = s.get_message("g", TOPIC, m.queue_id, m.queue_offset, 1, usize::MAX, None);
        assert_eq!(
            got.messages.len(),
            1,
            "{ctx}: queue {} offset {} not served ({:?}) for {m:?}",
            m.queue_id,
            m.queue_offset,
            got.status
        );
        assert_eq!(
            RecordView::parse(&got.messages[0])
                .unwrap()
                .commitlog_offset(),
            m.wrote_offset,
            "{ctx}: queue entry points elsewhere"
        );
    }
    let mut served = BTreeMap::new();
    let mut bodies = HashSet::new();
    for q in 0..QUEUES as i32 {
        let min = s.min_offset_in_queue(TOPIC, q);
        let max = s.max_offset_in_queue(TOPIC, q);
        assert_eq!(
            max,
            s.next_queue_offset(TOPIC, q),
            "{ctx}: put path continues where queue {q} ends"
        );
        let mut last_qo = -1;
        let mut last_phy = -1;
        for rec in pull_all(s, TOPIC, q, min) {
            let v = RecordView::parse(&rec).expect("served records parse");
            v.verify_body_crc().expect("served records pass CRC");
            assert_eq!(v.queue_id(), q, "{ctx}");
            assert!(v.queue_offset() > last_qo, "{ctx}: queue offsets increase");
            assert!(
                v.commitlog_offset() > last_phy,
                "{ctx}: commit-log order in the queue"
            );
            assert!(v.queue_offset() < max, "{ctx}");
            last_qo = v.queue_offset();
            last_phy = v.commitlog_offset();
            let body = body_of(&rec);
            assert!(sent.contains(&body), "{ctx}: served a message never sent");
            assert!(
                bodies.insert(body.clone()),
                "{ctx}: served twice: {body:.40}"
            );
            served.insert(
                v.commitlog_offset(),
                Stored {
                    queue_id: q,
                    queue_offset: v.queue_offset(),
                    wrote_offset: v.commitlog_offset(),
                    end: v.commitlog_offset() + v.total_size() as i64,
                    body,
                },
            );
        }
    }
    for m in must_have.values() {
        assert!(s.max_phy_offset() >= m.end, "{ctx}");
    }
    served
}

struct Life {
    /// Messages whose put resolved before the cut, with the flushed offset read just before it.
    acked: Vec<Stored>,
    flushed_before_cut: i64,
}

/// Produce with `PRODUCERS` concurrent tasks until the simulated power cut, which happens right
/// after the `cut_after`-th acknowledgement (0 = at once).
fn produce_until_cut(
    s: &Arc<DefaultMessageStore>,
    sim: &Arc<SimDisk>,
    tag: &str,
    seed: u64,
    cut_after: usize,
    sent: &Arc<Mutex<HashSet<String>>>,
) -> Life {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let flushed_before_cut = Arc::new(AtomicI64::new(-1));
    let cut = {
        let (s, sim, f) = (
            Arc::clone(s),
            Arc::clone(sim),
            Arc::clone(&flushed_before_cut),
        );
        move || {
            // anything flushed before this read is durable in the simulator
            f.store(s.flushed_offset(), Ordering::SeqCst);
            sim.cut();
        }
    };
    if cut_after == 0 {
        cut();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for p in 0..PRODUCERS {
            let (s, sim, acked, count, sent, cut) = (
                Arc::clone(s),
                Arc::clone(sim),
                Arc::clone(&acked),
                Arc::clone(&count),
                Arc::clone(sent),
                cut.clone(),
            );
            let tag = format!("{tag}-p{p}");
            tasks.push(tokio::spawn(async move {
                let mut rng = Rng::new(seed * 1_000 + p);
                let mut i = 0u64;
                while !sim.is_cut() {
                    let q = rng.range(0, QUEUES) as i32;
                    let body = format!("{tag}-{i}|{}", padding(&mut rng));
                    sent.lock().unwrap().insert(body.clone());
                    let r = s.put_message(msg(TOPIC, q, &body, None)).await;
                    if sim.is_cut() {
                        break; // the machine is off: nobody hears this answer
                    }
                    assert_eq!(r.status, PutMessageStatus::PutOk, "{body:.30}");
                    acked.lock().unwrap().push(Stored {
                        queue_id: q,
                        queue_offset: r.queue_offset,
                        wrote_offset: r.wrote_offset,
                        end: r.wrote_offset + i64::from(r.wrote_bytes),
                        body,
                    });
                    if count.fetch_add(1, Ordering::SeqCst) + 1 == cut_after {
                        cut();
                    }
                    i += 1;
                    // an ASYNC_FLUSH put never waits: let the other producers run
                    tokio::task::yield_now().await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    Life {
        acked,
        flushed_before_cut: flushed_before_cut.load(Ordering::SeqCst),
    }
}

/// Lives of produce → power cut → recover → verify. `promise` says which acknowledged messages
/// must survive the cut.
/// Number of seeds: the CI default, or `FERROCKET_CRASH_SEEDS` for the long form.
fn seeds(default: u64) -> u64 {
    std::env::var("FERROCKET_CRASH_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn power_cut_lives(
    mode: FlushDiskType,
    seeds: u64,
    lives: u64,
    max_acks: u64,
    promise: fn(&Stored, &Life) -> bool,
) {
    let mut promised = 0usize;
    for seed in 1..=seeds {
        let dir = fast_tempdir();
        let sent = Arc::new(Mutex::new(HashSet::new()));
        let mut must_have: BTreeMap<i64, Stored> = BTreeMap::new();
        let mut rng = Rng::new(seed);
        for life in 0..lives {
            let ctx = format!("{mode:?} seed {seed} life {life}");
            let sim = SimDisk::new(dir.path());
            let s = DefaultMessageStore::open_with_io(config(dir.path(), mode), None, sim.clone())
                .unwrap_or_else(|e| panic!("{ctx}: open: {e}"));
            s.start().unwrap();
            let served = verify(&s, &must_have, &sent.lock().unwrap(), &ctx);
            // what recovery kept is durable now and must survive every later crash
            must_have.extend(served);
            let cut_after = if rng.range(0, 8) == 0 {
                0
            } else {
                rng.range(1, max_acks) as usize
            };
            let tag = format!("s{seed}l{life}");
            let l = produce_until_cut(&s, &sim, &tag, seed * 100 + life, cut_after, &sent);
            drop(s);
            for m in l.acked.iter().filter(|m| promise(m, &l)) {
                must_have.insert(m.wrote_offset, m.clone());
                promised += 1;
            }
            let cut_mode = if life % 2 == 0 {
                CutMode::DropUnsynced
            } else {
                CutMode::RandomWriteback(seed * 7919 + life)
            };
            sim.restore(cut_mode);
            // CRASH_DEBUG=<dir>: keep a copy of each restored directory for inspection
            if let Ok(d) = std::env::var("CRASH_DEBUG") {
                let to = Path::new(&d).join(format!("{mode:?}-s{seed}-l{life}"));
                let _ = std::fs::remove_dir_all(&to);
                copy_dir(dir.path(), &to);
            }
        }
        let s = DefaultMessageStore::open(config(dir.path(), mode), None).unwrap();
        s.start().unwrap();
        let ctx = format!("{mode:?} seed {seed} final");
        verify(&s, &must_have, &sent.lock().unwrap(), &ctx);
        assert!(!s.recovery_report().normal);
    }
    assert!(promised > 0, "{mode:?}: the scenario promised something");
}

#[test]
fn sync_flush_power_cut_loses_no_acknowledged_message() {
    // SYNC_FLUSH: every PutOk that reached the producer before the cut survives
    power_cut_lives(FlushDiskType::SyncFlush, seeds(6), 6, 300, |_, _| true);
}

#[test]
fn async_flush_power_cut_keeps_what_was_flushed() {
    // ASYNC_FLUSH: a power cut keeps what a flush covered before it
    power_cut_lives(FlushDiskType::AsyncFlush, seeds(3), 4, 2500, |m, life| {
        m.end <= life.flushed_before_cut
    });
}

// ---- real process kills ------------------------------------------------------------------

const CHILD_ENV: &str = "FERROCKET_CRASH_CHILD_DIR";

/// Runs only inside the child process started by `kill_9_*`: produce forever, printing one
/// `ACK` line per acknowledged message, until killed.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mode = match std::env::var("FERROCKET_CRASH_MODE").as_deref() {
        Ok("sync") => FlushDiskType::SyncFlush,
        _ => FlushDiskType::AsyncFlush,
    };
    let seed: u64 = std::env::var("FERROCKET_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let s = DefaultMessageStore::open(kill9_config(Path::new(&dir), mode), None).unwrap();
    s.start().unwrap();
    println!("READY");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for p in 0..4u64 {
            let s = Arc::clone(&s);
            tasks.push(tokio::spawn(async move {
                let mut rng = Rng::new(seed * 31 + p);
                for i in 0.. {
                    let q = rng.range(0, QUEUES) as i32;
                    let body = format!("k{seed}-p{p}-{i}|{}", padding(&mut rng));
                    let r = s.put_message(msg(TOPIC, q, &body, None)).await;
                    assert_eq!(r.status, PutMessageStatus::PutOk);
                    // one write per line so the parent never sees half a line
                    let line = format!(
                        "ACK {q} {} {} {} {body}\n",
                        r.queue_offset,
                        r.wrote_offset,
                        r.wrote_offset + i64::from(r.wrote_bytes)
                    );
                    use std::io::Write;
                    std::io::stdout().lock().write_all(line.as_bytes()).unwrap();
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
}

fn parse_ack(line: &str) -> Option<Stored> {
    let rest = line.strip_prefix("ACK ")?;
    let mut it = rest.splitn(5, ' ');
    Some(Stored {
        queue_id: it.next()?.parse().ok()?,
        queue_offset: it.next()?.parse().ok()?,
        wrote_offset: it.next()?.parse().ok()?,
        end: it.next()?.parse().ok()?,
        body: it.next()?.to_string(),
    })
}

/// Start the child, let it acknowledge `acks` messages, `SIGKILL` it; returns every ack it
/// printed before dying.
fn run_child_and_kill(dir: &Path, mode: &str, seed: u64, acks: usize) -> Vec<Stored> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .env("FERROCKET_CRASH_MODE", mode)
        .env("FERROCKET_CRASH_SEED", seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut got = Vec::new();
    let mut killed = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(a) = parse_ack(&line) {
            got.push(a);
        }
        if got.len() >= acks && !killed {
            child.kill().unwrap(); // SIGKILL
            killed = true;
        }
    }
    let status = child.wait().unwrap();
    assert!(killed, "child exited on its own: {status:?}");
    got
}

fn kill_9_cycles(mode: &str, cycles: u64) {
    let dir = tempfile::tempdir().unwrap();
    let flush = if mode == "sync" {
        FlushDiskType::SyncFlush
    } else {
        FlushDiskType::AsyncFlush
    };
    let mut must_have = BTreeMap::new();
    let mut sent = HashSet::new();
    let mut rng = Rng::new(99);
    for cycle in 0..cycles {
        let acks = rng.range(50, 1500) as usize;
        for a in run_child_and_kill(dir.path(), mode, cycle + 1, acks) {
            sent.insert(a.body.clone());
            must_have.insert(a.wrote_offset, a);
        }
        let s = DefaultMessageStore::open(kill9_config(dir.path(), flush), None).unwrap();
        s.start().unwrap();
        let report = s.recovery_report().clone();
        assert!(!report.normal, "a killed store recovers abnormally");
        if report.from_checkpoint {
            assert!(
                report.same_boot,
                "a process crash is told apart from a power loss"
            );
        }
        // unacknowledged messages may survive too (they were in the page cache): allow them
        let served = {
            let mut all_sent = sent.clone();
            for q in 0..QUEUES as i32 {
                for rec in pull_all(&s, TOPIC, q, 0) {
                    all_sent.insert(body_of(&rec));
                }
            }
            verify(
                &s,
                &must_have,
                &all_sent,
                &format!("{mode} kill -9 cycle {cycle}"),
            )
        };
        for (k, v) in served {
            sent.insert(v.body.clone());
            must_have.insert(k, v);
        }
        s.shutdown();
    }
    eprintln!(
        "{mode}: {cycles} kill -9 cycles, {} messages kept, 0 lost",
        must_have.len()
    );
}

#[test]
fn kill_9_async_flush_loses_no_acknowledged_message() {
    kill_9_cycles("async", seeds(4));
}

#[test]
fn kill_9_sync_flush_loses_no_acknowledged_message() {
    kill_9_cycles("sync", seeds(3));
}
