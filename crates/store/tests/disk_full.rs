//! Full disk: past `diskSpaceWarningLevelRatio` the store refuses new messages with
//! `ServiceNotAvailable` (RocketMQ's DISK_FULL → response code 14), keeps serving reads, and
//! accepts messages again once usage is back at or below `diskSpaceCleanForciblyRatio`.
//! ENOSPC when a file is created is an error status, never a panic, a SIGBUS or a damaged
//! segment.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::simdisk::SimDisk;
use common::*;
use ferrocket_protocol::message::RecordView;
use ferrocket_store::{
    DefaultMessageStore, MessageStore, PutMessageResult, PutMessageStatus, StoreConfig,
};

fn config(root: &Path) -> StoreConfig {
    StoreConfig {
        clean_resource_interval_ms: 100,
        // keep the data: this test is about refusing writes, not about forced deletion
        clean_file_forcibly_enable: false,
        ..small_config(root)
    }
}

fn put(s: &DefaultMessageStore, q: i32, body: &str) -> PutMessageResult {
    block_on(s.put_message(msg("Full", q, body, None)))
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn disk_past_the_warning_ratio_refuses_writes_and_keeps_serving_reads() {
    let dir = fast_tempdir();
    let sim = SimDisk::new(dir.path());
    sim.faults.lock().unwrap().usage = Some(0.50);
    let s = DefaultMessageStore::open_with_io(config(dir.path()), None, sim.clone()).unwrap();
    s.start().unwrap();
    let before: Vec<_> = (0..20).map(|i| put(&s, i % 2, &format!("b{i}"))).collect();
    assert!(before.iter().all(|r| r.status == PutMessageStatus::PutOk));

    // the disk fills up (another tenant, a log file...): within a second new messages are refused
    sim.faults.lock().unwrap().usage = Some(0.93);
    wait_until("DISK_FULL", || s.is_disk_full());
    let r = put(&s, 0, "refused");
    assert_eq!(r.status, PutMessageStatus::ServiceNotAvailable);
    assert!(!r.status.is_stored());
    assert_eq!(s.runtime_info()["diskFull"], "true");
    // reads go on
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    for q in 0..2 {
        assert_eq!(pull_all(&s, "Full", q, 0).len(), 10);
    }
    assert!(s.look_message_by_offset(before[3].wrote_offset).is_some());

    // between the two ratios nothing changes (no flapping at the threshold)
    sim.faults.lock().unwrap().usage = Some(0.87);
    assert!((s.check_disk_space() - 0.87).abs() < 1e-9);
    assert!(s.is_disk_full());
    assert_eq!(
        put(&s, 0, "still refused").status,
        PutMessageStatus::ServiceNotAvailable
    );

    // space returns: writes are accepted again, at the next offsets
    sim.faults.lock().unwrap().usage = Some(0.60);
    wait_until("disk OK", || !s.is_disk_full());
    let r = put(&s, 0, "accepted");
    assert_eq!(r.status, PutMessageStatus::PutOk);
    assert_eq!(r.queue_offset, 10, "refused puts took no queue offset");
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    let q0 = pull_all(&s, "Full", 0, 0);
    assert_eq!(body_of(q0.last().unwrap()), "accepted");
}

fn commitlog_files(root: &Path) -> Vec<(PathBuf, u64)> {
    let mut v: Vec<_> = std::fs::read_dir(root.join("commitlog"))
        .unwrap()
        .flatten()
        .map(|e| (e.path(), e.metadata().unwrap().len()))
        .collect();
    v.sort();
    v
}

#[test]
fn enospc_creating_a_segment_is_an_error_status_and_leaves_no_damage() {
    let dir = fast_tempdir();
    let sim = SimDisk::new(dir.path());
    let s = DefaultMessageStore::open_with_io(config(dir.path()), None, sim.clone()).unwrap();
    s.start().unwrap();
    let mut acked = Vec::new();
    for i in 0..30 {
        let r = put(&s, i % 2, &format!("ok{i}-{}", "x".repeat(200)));
        assert_eq!(r.status, PutMessageStatus::PutOk);
        acked.push(r);
    }
    // no more space for new files (commit log, consume queues, index)
    sim.faults.lock().unwrap().enospc_under = vec![dir.path().to_path_buf()];
    let mut failed = 0;
    for i in 0..60 {
        let r = put(&s, 0, &format!("late{i}-{}", "y".repeat(200)));
        match r.status {
            PutMessageStatus::PutOk => acked.push(r),
            PutMessageStatus::CreateMappedFileFailed | PutMessageStatus::ServiceNotAvailable => {
                failed += 1
            }
            other => panic!("unexpected status {other:?}"),
        }
    }
    assert!(failed > 0, "the disk ran out at some point");
    // no half-created segment: every commit-log file has its full size
    for (p, len) in commitlog_files(dir.path()) {
        assert_eq!(len, CL_FILE, "{}", p.display());
    }
    // what was acknowledged is readable now
    for r in &acked {
        let rec = s
            .look_message_by_offset(r.wrote_offset)
            .expect("acked readable");
        RecordView::parse(&rec).unwrap().verify_body_crc().unwrap();
    }

    // space returns: writes work again and everything becomes visible
    sim.faults.lock().unwrap().enospc_under.clear();
    wait_until("dispatch to recover", || {
        s.runtime_info()["dispatchFailing"] == "false"
    });
    let r = put(&s, 1, "after");
    assert_eq!(r.status, PutMessageStatus::PutOk);
    acked.push(r);
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    let served: usize = (0..2).map(|q| pull_all(&s, "Full", q, 0).len()).sum();
    assert_eq!(served, acked.len());

    // and a crash now recovers all of it
    drop(s);
    let s = open(config(dir.path()));
    for r in &acked {
        assert!(s.look_message_by_offset(r.wrote_offset).is_some());
    }
    let served: usize = (0..2).map(|q| pull_all(&s, "Full", q, 0).len()).sum();
    assert_eq!(served, acked.len());
}

#[test]
fn enospc_creating_a_consume_queue_blocks_writes_until_space_returns() {
    let dir = fast_tempdir();
    let sim = SimDisk::new(dir.path());
    let s = DefaultMessageStore::open_with_io(config(dir.path()), None, sim.clone()).unwrap();
    s.start().unwrap();
    assert_eq!(put(&s, 0, "first").status, PutMessageStatus::PutOk);
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    sim.faults.lock().unwrap().enospc_under = vec![dir.path().join("consumequeue")];
    // a new queue needs a new file: the message is stored but cannot be dispatched yet
    let r = put(&s, 3, "needs a new queue file");
    assert_eq!(r.status, PutMessageStatus::PutOk);
    wait_until("dispatch failure", || {
        s.runtime_info()["dispatchFailing"] == "true"
    });
    assert_eq!(
        put(&s, 0, "refused").status,
        PutMessageStatus::ServiceNotAvailable
    );
    assert_eq!(pull_all(&s, "Full", 0, 0).len(), 1, "reads go on");
    assert_eq!(s.max_offset_in_queue("Full", 3), 0);

    sim.faults.lock().unwrap().enospc_under.clear();
    wait_until("dispatch to recover", || {
        s.runtime_info()["dispatchFailing"] == "false"
    });
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    let q3 = pull_all(&s, "Full", 3, 0);
    assert_eq!(q3.len(), 1, "the stored message was not skipped");
    assert_eq!(body_of(&q3[0]), "needs a new queue file");
    assert_eq!(put(&s, 0, "again").status, PutMessageStatus::PutOk);
}

/// A real full file system: a 2 MiB tmpfs (needs root; skipped otherwise).
#[test]
fn real_tmpfs_running_out_of_space() {
    let Some(mnt) = TmpfsMount::new("2m") else {
        eprintln!("skipped: cannot mount a tmpfs (not root?)");
        return;
    };
    let root = mnt.path.join("store");
    let cfg = StoreConfig {
        mapped_file_size_commitlog: 256 * 1024,
        mapped_file_size_consume_queue: 20 * 1000,
        max_hash_slot_num: 1000,
        max_index_num: 4000,
        clean_file_forcibly_enable: false,
        ..config(&root)
    };
    let s = open(cfg.clone());
    let body = "z".repeat(1000);
    let mut acked = Vec::new();
    let mut refused = 0;
    for i in 0..3000 {
        let r = put(&s, i % 4, &format!("{i}-{body}"));
        match r.status {
            PutMessageStatus::PutOk => acked.push(r),
            PutMessageStatus::CreateMappedFileFailed | PutMessageStatus::ServiceNotAvailable => {
                refused += 1;
                if refused > 50 {
                    break;
                }
            }
            other => panic!("unexpected status {other:?}"),
        }
    }
    assert!(refused > 0, "2 MiB must run out");
    assert!(!acked.is_empty());
    assert!(s.wait_for_dispatch(Duration::from_secs(5)) || s.is_disk_full());
    for r in &acked {
        assert!(s.look_message_by_offset(r.wrote_offset).is_some());
    }
    drop(s); // crash on a full disk
    let s = DefaultMessageStore::open(cfg, None).expect("reopens on a full disk");
    for r in &acked {
        let rec = s
            .look_message_by_offset(r.wrote_offset)
            .expect("acked kept");
        RecordView::parse(&rec).unwrap().verify_body_crc().unwrap();
    }
    eprintln!(
        "tmpfs: {} acknowledged, then refused with an error status",
        acked.len()
    );
    drop(s);
    drop(mnt);
}

struct TmpfsMount {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl TmpfsMount {
    fn new(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let path = dir.path().to_path_buf();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(TmpfsMount { _dir: dir, path })
    }
}

impl Drop for TmpfsMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}
