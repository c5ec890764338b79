//! Restart and crash recovery: clean shutdown, abort file with torn tails, lost consume queues.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use ferrocket_protocol::message::RecordView;
use ferrocket_store::{DefaultMessageStore, MessageStore, PutMessageResult, PutMessageStatus};

fn read_i64(path: &Path, at: usize) -> i64 {
    let raw = std::fs::read(path).unwrap();
    i64::from_be_bytes(raw[at..at + 8].try_into().unwrap())
}

#[test]
fn clean_shutdown_then_normal_recovery_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(small_config(dir.path()));
    let abort = dir.path().join("abort");
    assert_eq!(
        std::fs::read_to_string(&abort).unwrap(),
        std::process::id().to_string(),
        "abort file holds the pid while running"
    );
    let results = put_n(&s, "R", 3, 120);
    let end = s.max_phy_offset();
    let last_ts = results.last().unwrap().store_timestamp;
    s.shutdown();
    assert!(!abort.exists(), "clean shutdown removes the abort file");
    assert_eq!(s.flushed_offset(), end, "shutdown flushes everything");
    let cp = dir.path().join("checkpoint");
    assert_eq!(std::fs::metadata(&cp).unwrap().len(), 4096);
    assert_eq!(read_i64(&cp, 0), last_ts, "physicMsgTimestamp");
    assert_eq!(read_i64(&cp, 8), last_ts, "logicsMsgTimestamp");
    drop(s);

    let s = open(small_config(dir.path()));
    assert_eq!(s.max_phy_offset(), end);
    for q in 0..3 {
        assert_eq!(s.max_offset_in_queue("R", q), 40);
        let msgs = pull_all(&s, "R", q, 0);
        assert_eq!(msgs.len(), 40);
        for (n, m) in msgs.iter().enumerate() {
            let i = n * 3 + q as usize;
            assert_eq!(
                RecordView::parse(m).unwrap().commitlog_offset(),
                results[i].wrote_offset
            );
        }
    }
    // appends continue where they stopped, with the next queue offsets
    let r = block_on(s.put_message(msg("R", 1, "after", None)));
    assert_eq!(r.status, PutMessageStatus::PutOk);
    assert_eq!(r.queue_offset, 40);
    assert!(r.wrote_offset >= end);
    assert!(r.store_timestamp >= last_ts);
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    assert_eq!(s.max_offset_in_queue("R", 1), 41);
}

/// Put messages until the last one is at `want_first_in_file` position; crash (drop without
/// shutdown). Returns the put results.
fn crashed_store(root: &Path, last_first_in_file: bool) -> Vec<PutMessageResult> {
    let s = open(small_config(root));
    let mut results = Vec::new();
    block_on(async {
        for i in 0..1000 {
            let r = s
                .put_message(msg(
                    "Crash",
                    (i % 2) as i32,
                    &format!("body-{i}-{}", "p".repeat(i % 23)),
                    Some("T"),
                ))
                .await;
            assert_eq!(r.status, PutMessageStatus::PutOk);
            let first_in_file = r.wrote_offset % CL_FILE as i64 == 0 && r.wrote_offset > 0;
            let mid_file = r.wrote_offset > 2 * CL_FILE as i64 && !first_in_file;
            results.push(r);
            if (last_first_in_file && first_in_file) || (!last_first_in_file && mid_file) {
                break;
            }
        }
    });
    assert!(results.len() < 1000, "scenario reached");
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    drop(s); // crash: abort file stays, no final flush of the checkpoint
    assert!(root.join("abort").exists());
    results
}

fn cl_file_of(root: &Path, offset: i64) -> std::path::PathBuf {
    root.join("commitlog").join(ferrocket_store::file_name(
        offset as u64 - offset as u64 % CL_FILE,
    ))
}

fn check_torn_tail(last_first_in_file: bool, fill: u8) {
    let base = fast_tempdir();
    let results = crashed_store(base.path(), last_first_in_file);
    let last = results.last().unwrap().clone();
    let last_queue = ((results.len() - 1) % 2) as i32;
    let per_queue = |q: i32| {
        results
            .iter()
            .enumerate()
            .filter(|(i, _)| (*i % 2) as i32 == q)
            .count() as i64
    };
    let size = last.wrote_bytes as usize;
    let pos_in_file = (last.wrote_offset % CL_FILE as i64) as usize;
    for cut in 0..size {
        let dir = fast_tempdir();
        copy_dir(base.path(), dir.path());
        let file = cl_file_of(dir.path(), last.wrote_offset);
        let mut raw = std::fs::read(&file).unwrap();
        for b in &mut raw[pos_in_file + cut..pos_in_file + size] {
            *b = fill;
        }
        std::fs::write(&file, &raw).unwrap();

        let s = DefaultMessageStore::open(small_config(dir.path()), None).unwrap();
        s.start().unwrap();
        assert_eq!(
            s.max_phy_offset(),
            last.wrote_offset,
            "cut {cut}: commit log ends before the torn record"
        );
        assert_eq!(
            s.max_offset_in_queue("Crash", last_queue),
            per_queue(last_queue) - 1,
            "cut {cut}"
        );
        assert_eq!(
            s.max_offset_in_queue("Crash", 1 - last_queue),
            per_queue(1 - last_queue),
            "cut {cut}"
        );
        for q in 0..2 {
            let msgs = pull_all(&s, "Crash", q, 0);
            let expect = per_queue(q) - i64::from(q == last_queue);
            assert_eq!(msgs.len() as i64, expect, "cut {cut} queue {q}");
        }
        // the store is writable again at the same place, with the same queue offset
        let r = block_on(s.put_message(msg("Crash", last_queue, "replacement", None)));
        assert_eq!(r.status, PutMessageStatus::PutOk);
        assert_eq!(r.wrote_offset, last.wrote_offset, "cut {cut}");
        assert_eq!(r.queue_offset, last.queue_offset, "cut {cut}");
        assert!(s.wait_for_dispatch(Duration::from_secs(5)));
        let msgs = pull_all(&s, "Crash", last_queue, 0);
        assert_eq!(body_of(msgs.last().unwrap()), "replacement");
        // bytes after the new record are clean: a second crash recovers exactly this state
        drop(s);
        let s = DefaultMessageStore::open(small_config(dir.path()), None).unwrap();
        assert_eq!(
            s.max_phy_offset(),
            r.wrote_offset + i64::from(r.wrote_bytes),
            "cut {cut}: second recovery"
        );
        assert_eq!(
            s.max_offset_in_queue("Crash", last_queue),
            per_queue(last_queue),
            "cut {cut}"
        );
    }
}

#[test]
fn abort_recovery_cuts_torn_tail_at_every_byte_mid_file() {
    check_torn_tail(false, 0);
}

#[test]
fn abort_recovery_cuts_torn_tail_at_every_byte_first_in_file() {
    check_torn_tail(true, 0);
}

#[test]
fn abort_recovery_cuts_garbage_tail_at_every_byte() {
    check_torn_tail(false, 0xAB);
}

#[test]
fn abort_recovery_rebuilds_lost_consume_queues() {
    let dir = tempfile::tempdir().unwrap();
    let results = crashed_store(dir.path(), false);
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
    let s = open(small_config(dir.path()));
    let total: i64 = (0..2).map(|q| s.max_offset_in_queue("Crash", q)).sum();
    assert_eq!(total, results.len() as i64);
    for q in 0..2 {
        let msgs = pull_all(&s, "Crash", q, 0);
        for (n, m) in msgs.iter().enumerate() {
            let v = RecordView::parse(m).unwrap();
            assert_eq!(v.queue_offset(), n as i64);
            assert_eq!(v.queue_id(), q);
        }
    }
}

/// A directory last written by a Java broker has no Ferrocket checkpoint extension: recovery
/// falls back to Java's file-based start point (and dispatches every scanned record, which also
/// repairs a queue lagging behind the others).
#[test]
fn normal_recovery_without_checkpoint_extension_redispatches_the_last_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(small_config(dir.path()));
    let results = put_n(&s, "Lag", 2, 60);
    s.shutdown();
    drop(s);
    let cp = dir.path().join("checkpoint");
    let mut raw = std::fs::read(&cp).unwrap();
    raw[64..].fill(0); // what Java leaves: only the first 40 bytes are written
    std::fs::write(&cp, raw).unwrap();
    // queue 1 lost the entries that point into the last commit-log file (e.g. not flushed)
    let last_file_start = {
        let o = results.last().unwrap().wrote_offset;
        o - o % CL_FILE as i64
    };
    let lost_from = results
        .iter()
        .enumerate()
        .filter(|(i, r)| i % 2 == 1 && r.wrote_offset >= last_file_start)
        .map(|(_, r)| r.queue_offset)
        .min()
        .expect("queue 1 has messages in the last file");
    assert!(lost_from > 0 && lost_from < 30);
    let qdir = dir.path().join("consumequeue").join("Lag").join("1");
    for k in lost_from..30 {
        let pos = (k * 20) as u64;
        let file = qdir.join(ferrocket_store::file_name(pos - pos % CQ_FILE));
        let mut raw = std::fs::read(&file).unwrap();
        let at = (pos % CQ_FILE) as usize;
        raw[at..at + 20].fill(0);
        std::fs::write(&file, raw).unwrap();
    }
    let s = open(small_config(dir.path()));
    assert!(!s.recovery_report().from_checkpoint);
    assert_eq!(s.max_offset_in_queue("Lag", 0), 30);
    assert_eq!(s.max_offset_in_queue("Lag", 1), 30);
    let msgs = pull_all(&s, "Lag", 1, 0);
    assert_eq!(msgs.len(), 30);
    for (n, m) in msgs.iter().enumerate() {
        let v = RecordView::parse(m).unwrap();
        assert_eq!(v.queue_offset(), n as i64);
        assert_eq!(v.commitlog_offset(), results[n * 2 + 1].wrote_offset);
    }
}

#[test]
fn consume_queue_ahead_of_commit_log_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let results = crashed_store(dir.path(), false);
    // lose the whole last commit-log file's content: consume queues point past the end
    let last = results.last().unwrap();
    let file = cl_file_of(dir.path(), last.wrote_offset);
    std::fs::write(&file, vec![0u8; CL_FILE as usize]).unwrap();
    let file_start = last.wrote_offset - last.wrote_offset % CL_FILE as i64;
    let s = open(small_config(dir.path()));
    assert_eq!(s.max_phy_offset(), file_start);
    let kept = results
        .iter()
        .filter(|r| r.wrote_offset < file_start)
        .count() as i64;
    let total: i64 = (0..2).map(|q| s.max_offset_in_queue("Crash", q)).sum();
    assert_eq!(total, kept);
    for q in 0..2 {
        for m in pull_all(&s, "Crash", q, 0) {
            assert!(RecordView::parse(&m).unwrap().commitlog_offset() < file_start);
        }
    }
}

/// Recovery time does not grow with the size of the log: after a crash the scan starts at the
/// checkpoint's recovery offset (every record below it and its queue entry are on disk), so only
/// the tail written since the last checkpoint is read.
#[test]
fn crash_recovery_scans_only_the_tail_after_the_checkpoint() {
    let dir = fast_tempdir();
    let config = ferrocket_store::StoreConfig {
        mapped_file_size_commitlog: 1024 * 1024,
        mapped_file_size_consume_queue: 20 * 10_000,
        max_hash_slot_num: 10_000,
        max_index_num: 100_000,
        flush_interval_commitlog_ms: 20,
        flush_interval_consume_queue_ms: 20,
        recovery_scan_target_bytes: 64 * 1024,
        ..ferrocket_store::StoreConfig::with_root(dir.path())
    };
    // The flush policies keep a little unforced (< 4 pages of commit log, < 2 pages per queue)
    // until their thorough interval; the checkpoint trails the end by about this much at most.
    let slack = (config.recovery_scan_target_bytes + 4 * 4096) as i64;
    let s = open(config.clone());
    let body = "v".repeat(1000);
    let bulk = 24_000; // ~26 MiB of commit log over 25 files
    block_on(async {
        for i in 0..bulk {
            let r = s.put_message(msg("Big", i % 8, &body, None)).await;
            assert_eq!(r.status, PutMessageStatus::PutOk);
        }
    });
    // let a checkpoint cover the bulk
    let bulk_end = s.max_phy_offset();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while s.recover_from_offset() < bulk_end - slack {
        assert!(
            std::time::Instant::now() < deadline,
            "checkpoint never caught up"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50)); // and be written to disk
                                                   // a small tail, then kill
    let tail = 300;
    block_on(async {
        for i in 0..tail {
            s.put_message(msg("Big", i % 8, &body, None)).await;
        }
    });
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    let end = s.max_phy_offset();
    drop(s);

    let s = open(config.clone());
    let report = s.recovery_report().clone();
    eprintln!("{report:?}");
    assert!(!report.normal && report.from_checkpoint, "{report:?}");
    assert_eq!(report.end_offset, end);
    assert!(report.start_offset >= bulk_end - slack, "{report:?}");
    assert!(
        report.scanned_bytes <= (end - bulk_end + slack) as u64,
        "scanned {} of a {} byte log",
        report.scanned_bytes,
        end
    );
    let total: i64 = (0..8).map(|q| s.max_offset_in_queue("Big", q)).sum();
    assert_eq!(total, (bulk + tail) as i64, "every message is in its queue");
    drop(s);

    // Without the checkpoint extension (a directory written by Java) the scan goes back to a
    // whole file chosen by timestamps: more bytes, same result.
    let cp = dir.path().join("checkpoint");
    let mut raw = std::fs::read(&cp).unwrap();
    raw[64..].fill(0);
    std::fs::write(&cp, raw).unwrap();
    std::fs::write(dir.path().join("abort"), b"").unwrap();
    let s = open(config);
    let java = s.recovery_report().clone();
    assert!(!java.from_checkpoint);
    assert!(java.scanned_bytes > report.scanned_bytes, "{java:?}");
    let total: i64 = (0..8).map(|q| s.max_offset_in_queue("Big", q)).sum();
    assert_eq!(total, (bulk + tail) as i64);
}
