//! `transientStorePoolEnable`: commit-log appends are staged in memory and written to the files
//! by the commit thread. Records become readable (dispatched, served) once committed; a graceful
//! shutdown commits everything; a crash loses only what was still staged, and the store goes on
//! from what the files hold.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use ferrocket_protocol::message::RecordView;
use ferrocket_store::{DefaultMessageStore, MessageStore, PutMessageStatus, StoreConfig};

fn pooled(root: &Path) -> StoreConfig {
    StoreConfig {
        transient_store_pool_enable: true,
        commit_interval_commitlog_ms: 10,
        ..small_config(root)
    }
}

/// Commits only at four staged pages: the interval and the thorough interval are a minute.
fn slow_commit(root: &Path) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commitlog: 1 << 20,
        commit_interval_commitlog_ms: 60_000,
        commit_commitlog_thorough_interval_ms: 60_000,
        ..pooled(root)
    }
}

/// Put `body` to queue 0 until the commit thread has written something; returns the puts.
fn put_until_committed(s: &DefaultMessageStore, body: &str) -> usize {
    let mut n = 0;
    while s.max_phy_offset() == 0 {
        assert!(n < 100, "never committed");
        let r = block_on(s.put_message(msg("Pool", 0, body, None)));
        assert_eq!(r.status, PutMessageStatus::PutOk);
        n += 1;
        if n >= 14 {
            std::thread::sleep(Duration::from_millis(5)); // about four pages: let it commit
        }
    }
    n
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn check_queue(s: &DefaultMessageStore, q: i32, expect: &[(usize, i64)]) {
    let msgs = pull_all(s, "Pool", q, 0);
    assert_eq!(msgs.len(), expect.len(), "queue {q}");
    for (n, (rec, (i, offset))) in msgs.iter().zip(expect).enumerate() {
        let v = RecordView::parse(rec).unwrap();
        v.verify_body_crc().unwrap();
        assert_eq!(v.queue_offset(), n as i64);
        assert_eq!(v.commitlog_offset(), *offset);
        assert_eq!(body_of(rec), format!("m{i}-{}", "x".repeat(i % 37)));
    }
}

#[test]
fn staged_appends_round_trip_across_segments_and_restart() {
    let dir = fast_tempdir();
    let s = open(pooled(dir.path()));
    let results = put_n(&s, "Pool", 2, 400);
    assert!(results.iter().all(|r| r.status == PutMessageStatus::PutOk));
    let last = results.last().unwrap();
    let end = last.wrote_offset + i64::from(last.wrote_bytes);
    assert!(end > 5 * CL_FILE as i64, "spans several files");
    // the commit thread makes everything readable (the thorough interval bounds the wait)
    wait_until("commit", || s.max_phy_offset() == end);
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    let expect = |q: i32| -> Vec<(usize, i64)> {
        results
            .iter()
            .enumerate()
            .filter(|(i, _)| (*i as i32) % 2 == q)
            .map(|(i, r)| (i, r.wrote_offset))
            .collect()
    };
    for q in 0..2 {
        check_queue(&s, q, &expect(q));
    }
    s.shutdown();
    drop(s);

    // what the files hold: every full file is records then a BLANK to its end
    let cl_dir = dir.path().join("commitlog");
    let names = commitlog_names(dir.path());
    for name in names.iter().take((end as u64 / CL_FILE) as usize) {
        let raw = std::fs::read(cl_dir.join(name)).unwrap();
        assert_records_then_blank(&raw, name.parse().unwrap(), name);
    }

    // a clean restart (with or without the pool) serves the same and appends after it
    let s = open(small_config(dir.path()));
    assert!(s.recovery_report().normal);
    assert_eq!(s.max_phy_offset(), end);
    for q in 0..2 {
        check_queue(&s, q, &expect(q));
    }
    let r = block_on(s.put_message(msg("Pool", 0, "after", None)));
    assert_eq!(r.status, PutMessageStatus::PutOk);
    assert_eq!(r.queue_offset, 200);
    assert_eq!(r.wrote_offset, end);
}

#[test]
fn staged_records_wait_for_enough_pages_or_the_thorough_interval() {
    let dir = fast_tempdir();
    let config = slow_commit(dir.path());
    let s = open(config.clone());
    let small = block_on(s.put_message(msg("Pool", 0, "lonely", None)));
    assert_eq!(small.status, PutMessageStatus::PutOk);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(s.max_phy_offset(), 0, "one small record stays staged");
    assert!(pull_all(&s, "Pool", 0, 0).is_empty());
    // four pages staged wake the commit thread, which writes everything staged
    let n = put_until_committed(&s, &"y".repeat(1000));
    assert!(
        s.max_phy_offset() >= 4 * 4096,
        "committed before four pages"
    );
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    let got = pull_all(&s, "Pool", 0, 0);
    assert!(!got.is_empty());
    assert_eq!(body_of(&got[0]), "lonely");
    // a graceful shutdown commits the rest
    s.shutdown();
    drop(s);
    let s = open(StoreConfig {
        transient_store_pool_enable: false,
        ..config
    });
    let all = pull_all(&s, "Pool", 0, 0);
    assert_eq!(all.len(), n + 1);
}

#[test]
fn a_crash_loses_only_what_was_staged() {
    let dir = fast_tempdir();
    let config = slow_commit(dir.path());
    let s = open(config.clone());
    // enough to be committed (and dispatched) ...
    let body = "z".repeat(1000);
    put_until_committed(&s, &body);
    let readable = s.max_phy_offset();
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    let served = pull_all(&s, "Pool", 0, 0).len();
    // ... then a little that stays staged, and the process dies (no shutdown)
    for _ in 0..3 {
        block_on(s.put_message(msg("Pool", 0, "staged", None)));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(s.max_phy_offset(), readable, "nothing more committed");
    drop(s);

    let s = open(config);
    assert!(!s.recovery_report().normal);
    assert_eq!(
        s.max_phy_offset(),
        readable,
        "recovered to the committed end"
    );
    let after = pull_all(&s, "Pool", 0, 0);
    assert_eq!(after.len(), served);
    assert!(after.iter().all(|r| body_of(r) == body));
    // queue offsets go on from what survived
    let r = block_on(s.put_message(msg("Pool", 0, "next", None)));
    assert_eq!(r.queue_offset, served as i64);
    assert_eq!(r.wrote_offset, readable);
    s.shutdown();
}
