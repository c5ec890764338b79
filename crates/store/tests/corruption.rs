//! A corrupted record in the middle of the commit log (a bit flip on the medium): detected by
//! its CRC, logged with file and offset, never served as a message.
//!
//! What happens to the records after it (see `docs/storage.md`):
//! * body corrupted, framing intact, valid records follow → only that record is dropped; the
//!   records after it are kept (Java would cut the log there and lose them all);
//! * a corrupted length/magic/offset field → indistinguishable from a torn tail: the log ends
//!   there (as in Java);
//! * corruption in data recovery does not scan (below the checkpoint) → found when read: the
//!   record is skipped and never served.

mod common;

use std::path::Path;

use common::*;
use ferrocket_protocol::message::RecordView;
use ferrocket_store::{
    DefaultMessageStore, MessageStore, PutMessageResult, PutMessageStatus, StoreConfig,
};

const TOPIC: &str = "Bits";

fn config(root: &Path) -> StoreConfig {
    StoreConfig {
        // no periodic checkpoint: the one written at the clean shutdown stays the recovery point
        flush_interval_consume_queue_ms: 600_000,
        ..small_config(root)
    }
}

/// 30 messages, clean shutdown (checkpoint at their end), then 40 more and a crash: recovery will
/// scan exactly the last 40. Returns (all results, index of the first of the last 40).
fn store_with_crashed_tail(root: &Path) -> (Vec<PutMessageResult>, usize) {
    let s = open(config(root));
    let mut results = put_n(&s, TOPIC, 2, 30);
    s.shutdown();
    drop(s);
    let s = open(config(root));
    results.extend(put_n(&s, TOPIC, 2, 40));
    assert!(s.wait_for_dispatch(std::time::Duration::from_secs(5)));
    drop(s); // crash
    (results, 30)
}

fn flip(root: &Path, offset: i64, bit: u8) {
    let file = root.join("commitlog").join(ferrocket_store::file_name(
        offset as u64 - offset as u64 % CL_FILE,
    ));
    let mut raw = std::fs::read(&file).unwrap();
    raw[(offset as u64 % CL_FILE) as usize] ^= 1 << bit;
    std::fs::write(&file, raw).unwrap();
}

fn served_offsets(s: &DefaultMessageStore) -> Vec<i64> {
    let mut v: Vec<i64> = (0..2)
        .flat_map(|q| pull_all(s, TOPIC, q, 0))
        .map(|m| {
            let r = RecordView::parse(&m).unwrap();
            r.verify_body_crc().unwrap();
            r.commitlog_offset()
        })
        .collect();
    v.sort();
    v
}

fn body_offset(r: &PutMessageResult) -> i64 {
    // a byte inside the body: header is > 80 bytes for IPv4 hosts, bodies are >= 2 bytes
    let v_len = 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 4 + 8; // up to BODYLEN
    r.wrote_offset + v_len as i64 + 4 + 1
}

#[test]
fn corrupted_body_in_the_scanned_tail_is_skipped_and_the_rest_kept() {
    let dir = fast_tempdir();
    let (results, first_tail) = store_with_crashed_tail(dir.path());
    let victim = &results[first_tail + 15];
    flip(dir.path(), body_offset(victim), 3);

    let s = open(config(dir.path()));
    let report = s.recovery_report().clone();
    assert!(!report.normal);
    assert!(report.from_checkpoint, "{report:?}");
    assert_eq!(report.start_offset, results[first_tail].wrote_offset);
    assert_eq!(report.corrupt_records, vec![victim.wrote_offset]);
    let last = results.last().unwrap();
    assert_eq!(
        report.end_offset,
        last.wrote_offset + i64::from(last.wrote_bytes),
        "records after the corrupted one are kept"
    );
    let expected: Vec<i64> = results
        .iter()
        .map(|r| r.wrote_offset)
        .filter(|o| *o != victim.wrote_offset)
        .collect();
    assert_eq!(served_offsets(&s), expected, "everything but the victim");
    assert!(s.look_message_by_offset(victim.wrote_offset).is_none());
    // a pull from its queue slot skips it and hands out the next message of the queue
    let q = (first_tail + 15) as i32 % 2;
    let got = s.get_message("g", TOPIC, q, victim.queue_offset, 1, usize::MAX, None);
    assert_eq!(got.messages.len(), 1, "{:?}", got.status);
    let next = RecordView::parse(&got.messages[0]).unwrap();
    assert_eq!(next.queue_offset(), victim.queue_offset + 1);
    assert_eq!(got.next_begin_offset, victim.queue_offset + 2);
    // writes continue after the recovered end, with the next queue offset
    let next = s.next_queue_offset(TOPIC, q);
    assert_eq!(next, s.max_offset_in_queue(TOPIC, q));
    let r = block_on(s.put_message(msg(TOPIC, q, "after", None)));
    assert_eq!(r.status, PutMessageStatus::PutOk);
    assert_eq!(r.wrote_offset, report.end_offset);
    assert_eq!(r.queue_offset, next);
}

#[test]
fn corrupted_length_field_ends_the_log_like_a_torn_tail() {
    let dir = fast_tempdir();
    let (results, first_tail) = store_with_crashed_tail(dir.path());
    let victim = &results[first_tail + 15];
    flip(dir.path(), victim.wrote_offset + 1, 6); // TOTALSIZE grows by 16 KiB: framing broken
    let s = open(config(dir.path()));
    let report = s.recovery_report().clone();
    assert!(report.corrupt_records.is_empty());
    assert_eq!(report.end_offset, victim.wrote_offset, "the log ends there");
    assert!(report.truncated);
    let expected: Vec<i64> = results[..first_tail + 15]
        .iter()
        .map(|r| r.wrote_offset)
        .collect();
    assert_eq!(served_offsets(&s), expected);
    assert_eq!(s.max_phy_offset(), victim.wrote_offset);
}

#[test]
fn corrupted_record_below_the_checkpoint_is_never_served() {
    let dir = fast_tempdir();
    let s = open(config(dir.path()));
    let results = put_n(&s, TOPIC, 2, 60);
    s.shutdown();
    drop(s);
    let victim = &results[20];
    flip(dir.path(), body_offset(victim), 0);

    let s = open(config(dir.path()));
    assert_eq!(
        s.recovery_report().scanned_bytes,
        0,
        "clean restart scans nothing"
    );
    let expected: Vec<i64> = results
        .iter()
        .map(|r| r.wrote_offset)
        .filter(|o| *o != victim.wrote_offset)
        .collect();
    assert_eq!(served_offsets(&s), expected);
    assert!(s.look_message_by_offset(victim.wrote_offset).is_none());
    assert_eq!(s.runtime_info()["corruptRecordsRead"], "2");
    // the corrupted bytes are still on disk for an operator to inspect; only reads skip them
    let file = dir
        .path()
        .join("commitlog")
        .join(ferrocket_store::file_name(
            victim.wrote_offset as u64 - victim.wrote_offset as u64 % CL_FILE,
        ));
    assert!(std::fs::metadata(file).is_ok());
}
