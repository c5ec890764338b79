//! Flush modes: SYNC_FLUSH group commit and ASYNC_FLUSH background flushing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use ferrocket_protocol::message::encode_properties;
use ferrocket_store::{MessageStore, PutMessageStatus, StoreConfig};

#[test]
fn sync_flush_put_resolves_only_after_the_record_is_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(sync_config(dir.path()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..200 {
            let s = Arc::clone(&s);
            tasks.push(tokio::spawn(async move {
                let r = s
                    .put_message(msg("Sync", i % 4, &format!("s{i}"), None))
                    .await;
                // at the moment the put resolves, the record is durable
                let flushed = s.flushed_offset();
                (r, flushed)
            }));
        }
        for t in tasks {
            let (r, flushed) = t.await.unwrap();
            assert_eq!(r.status, PutMessageStatus::PutOk);
            assert!(
                flushed >= r.wrote_offset + i64::from(r.wrote_bytes),
                "flushed {flushed} < record end"
            );
        }
    });
    // consumers see only flushed records: confirm offset = flushed offset
    assert_eq!(s.confirm_offset(), s.flushed_offset());
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    let total: i64 = (0..4).map(|q| s.max_offset_in_queue("Sync", q)).sum();
    assert_eq!(total, 200);
    // checkpoint physic timestamp advanced with the group commits
    s.shutdown();
}

#[test]
fn sync_flush_wait_false_does_not_wait_but_is_flushed_soon() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(sync_config(dir.path()));
    let mut m = msg("NoWait", 0, "x", None);
    m.properties = encode_properties([("WAIT", "false")]);
    let r = block_on(s.put_message(m));
    assert_eq!(r.status, PutMessageStatus::PutOk);
    let end = r.wrote_offset + i64::from(r.wrote_bytes);
    let t0 = std::time::Instant::now();
    while s.flushed_offset() < end {
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "group commit flushes without waiters"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    assert_eq!(s.max_offset_in_queue("NoWait", 0), 1);
}

#[test]
fn async_flush_returns_before_flush_and_flushes_in_background() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        flush_interval_commitlog_ms: 10_000, // effectively never by the page rule
        flush_commitlog_thorough_interval_ms: 10_000,
        ..small_config(dir.path())
    };
    let s = open(config);
    let r = block_on(s.put_message(msg("Async", 0, "a", None)));
    assert_eq!(r.status, PutMessageStatus::PutOk);
    let end = r.wrote_offset + i64::from(r.wrote_bytes);
    // appended and visible to consumers, but not yet flushed
    assert_eq!(s.max_phy_offset(), end);
    assert_eq!(s.confirm_offset(), end);
    assert!(s.flushed_offset() < end);
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    assert_eq!(s.max_offset_in_queue("Async", 0), 1);
    drop(s);

    // with a short thorough interval the flusher catches up on its own
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        flush_interval_commitlog_ms: 10,
        flush_commitlog_thorough_interval_ms: 50,
        ..small_config(dir.path())
    };
    let s = open(config);
    let r = block_on(s.put_message(msg("Async", 0, "a", None)));
    let end = r.wrote_offset + i64::from(r.wrote_bytes);
    let t0 = std::time::Instant::now();
    while s.flushed_offset() < end {
        assert!(t0.elapsed() < Duration::from_secs(3));
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(s.flushed_offset(), s.max_phy_offset());
}

#[test]
fn puts_after_shutdown_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(small_config(dir.path()));
    s.shutdown();
    let r = block_on(s.put_message(msg("X", 0, "late", None)));
    assert_eq!(r.status, PutMessageStatus::ServiceNotAvailable);
}
