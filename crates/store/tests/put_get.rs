//! Append/read round trips, BLANK records, consume-queue content, batches, limits, search by time.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use ferrocket_protocol::message::{
    decode_offset_msg_id, encode_batch, encode_properties, find_property, java_string_hash,
    BatchEntry, RecordView,
};
use ferrocket_store::{
    BatchToStore, DefaultMessageStore, GetMessageStatus, MessageArrivingListener, MessageFilter,
    MessageStore, PutMessageStatus,
};

#[test]
fn round_trip_across_segments_with_blank_records() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(small_config(dir.path()));
    let results = put_n(&s, "TopicTest", 2, 300);
    let mut last_end = 0;
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.status, PutMessageStatus::PutOk);
        assert_eq!(
            r.queue_offset,
            (i / 2) as i64,
            "dense queue offsets per queue"
        );
        assert_eq!(r.msg_num, 1);
        assert!(r.wrote_offset >= last_end, "records are appended in order");
        // a record never spans two files
        assert_eq!(
            r.wrote_offset / CL_FILE as i64,
            (r.wrote_offset + i64::from(r.wrote_bytes) - 1) / CL_FILE as i64
        );
        last_end = r.wrote_offset + i64::from(r.wrote_bytes);
        assert_eq!(
            decode_offset_msg_id(&r.msg_id).unwrap(),
            (store_host(), r.wrote_offset)
        );
    }
    assert!(last_end > 5 * CL_FILE as i64, "spans several files");
    assert_eq!(s.max_phy_offset(), last_end);
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));

    for q in 0..2 {
        assert_eq!(s.max_offset_in_queue("TopicTest", q), 150);
        assert_eq!(s.min_offset_in_queue("TopicTest", q), 0);
        let msgs = pull_all(&s, "TopicTest", q, 0);
        assert_eq!(msgs.len(), 150);
        let mut prev_ts = 0;
        for (n, rec) in msgs.iter().enumerate() {
            let v = RecordView::parse(rec).unwrap();
            let i = n * 2 + q as usize;
            assert_eq!(v.topic(), "TopicTest");
            assert_eq!(v.queue_id(), q);
            assert_eq!(v.queue_offset(), n as i64);
            assert_eq!(v.commitlog_offset(), results[i].wrote_offset);
            assert_eq!(v.total_size(), results[i].wrote_bytes as usize);
            assert_eq!(body_of(rec), format!("m{i}-{}", "x".repeat(i % 37)));
            v.verify_body_crc().unwrap();
            assert!(v.store_timestamp() >= prev_ts);
            prev_ts = v.store_timestamp();
            assert_eq!(v.property("TAGS"), Some("TagA"));
            // look up by physical offset gives the same bytes
            assert_eq!(s.look_message_by_offset(v.commitlog_offset()).unwrap(), rec);
        }
    }

    // every full commit-log file ends with a BLANK record covering the rest of the file
    let cl_dir = dir.path().join("commitlog");
    let names = commitlog_names(dir.path());
    assert_eq!(names[0], "00000000000000000000");
    assert_eq!(names[1], "00000000000000004096");
    let full_files = (last_end as u64 / CL_FILE) as usize;
    for name in names.iter().take(full_files) {
        let raw = std::fs::read(cl_dir.join(name)).unwrap();
        assert_eq!(raw.len(), CL_FILE as usize);
        assert_records_then_blank(&raw, name.parse().unwrap(), name);
    }
    // the store pre-creates the next file ahead of need
    std::thread::sleep(Duration::from_millis(100));
    let count = std::fs::read_dir(&cl_dir).unwrap().count();
    assert_eq!(count, full_files + 2, "current file plus one pre-allocated");
    s.shutdown();
}

#[test]
fn consume_queue_files_hold_20_byte_entries() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(small_config(dir.path()));
    let results = put_n(&s, "TopicTest", 1, 25);
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    s.shutdown();
    let qdir = dir.path().join("consumequeue").join("TopicTest").join("0");
    let mut files: Vec<_> = std::fs::read_dir(&qdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        vec![
            "00000000000000000000",
            "00000000000000000200",
            "00000000000000000400"
        ]
    );
    let tag_hash = i64::from(java_string_hash("TagA"));
    for (i, r) in results.iter().enumerate() {
        let pos = i * 20;
        let raw = std::fs::read(qdir.join(&files[pos / 200])).unwrap();
        assert_eq!(raw.len(), 200);
        let e = &raw[pos % 200..pos % 200 + 20];
        assert_eq!(
            i64::from_be_bytes(e[..8].try_into().unwrap()),
            r.wrote_offset
        );
        assert_eq!(
            i32::from_be_bytes(e[8..12].try_into().unwrap()),
            r.wrote_bytes
        );
        assert_eq!(i64::from_be_bytes(e[12..].try_into().unwrap()), tag_hash);
    }
}

#[test]
fn size_limits_reject_with_message_illegal() {
    let dir = tempfile::tempdir().unwrap();
    let config = ferrocket_store::StoreConfig {
        max_message_size: 1000,
        ..small_config(dir.path())
    };
    let s = open(config);
    block_on(async {
        let big = msg("T", 0, &"b".repeat(1001), None);
        assert_eq!(
            s.put_message(big).await.status,
            PutMessageStatus::MessageIllegal
        );
        let ok = msg("T", 0, &"b".repeat(1000), None);
        assert_eq!(s.put_message(ok).await.status, PutMessageStatus::PutOk);

        let mut props = msg("T", 0, "x", None);
        props.properties = encode_properties([("K", "v".repeat(33_000))]);
        assert_eq!(
            s.put_message(props).await.status,
            PutMessageStatus::PropertiesSizeExceeded
        );

        let long_topic = msg(&"t".repeat(128), 0, "x", None);
        assert_eq!(
            s.put_message(long_topic).await.status,
            PutMessageStatus::MessageIllegal
        );
        let retry_topic = msg(&format!("%RETRY%{}", "g".repeat(130)), 0, "x", None);
        assert_eq!(
            s.put_message(retry_topic).await.status,
            PutMessageStatus::PutOk
        );
    });
    // a message that cannot fit a (tiny) commit-log file at all
    drop(s);
    let dir2 = tempfile::tempdir().unwrap();
    let s = open(small_config(dir2.path()));
    let r = block_on(s.put_message(msg("T", 0, &"z".repeat(CL_FILE as usize), None)));
    assert_eq!(r.status, PutMessageStatus::MessageIllegal);
    assert_eq!(s.max_phy_offset(), 0, "nothing stored");
}

#[test]
fn batch_is_contiguous_with_consecutive_offsets_and_uniq_keys() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(small_config(dir.path()));
    // fill part of the first file so the batch has to move to the next one
    put_n(&s, "Other", 1, 20);
    let entries: Vec<BatchEntry> = (0..8)
        .map(|i| BatchEntry {
            flag: i,
            body: Bytes::from(format!("batch-{i}-{}", "y".repeat(150))),
            properties: match i {
                0 => encode_properties([("UNIQ_KEY", "FIXED"), ("TAGS", "B")]),
                // without the trailing separator, as a client in another language may write it
                1 => "TAGS\u{1}B".to_string(),
                _ => encode_properties([("TAGS", "B")]),
            },
        })
        .collect();
    let body = encode_batch(&entries).freeze();
    let batch = BatchToStore {
        topic: "BatchTopic".into(),
        queue_id: 3,
        sys_flag: 0,
        born_timestamp: 1,
        born_host: born(),
        store_host: store_host(),
        body,
    };
    let r = block_on(s.put_messages(batch.clone()));
    assert_eq!(r.status, PutMessageStatus::PutOk);
    assert_eq!(r.msg_num, 8);
    assert_eq!(r.queue_offset, 0);
    let ids: Vec<_> = r.msg_id.split(',').collect();
    assert_eq!(ids.len(), 8);
    // never split across files
    assert_eq!(
        r.wrote_offset / CL_FILE as i64,
        (r.wrote_offset + i64::from(r.wrote_bytes) - 1) / CL_FILE as i64
    );
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    let msgs = pull_all(&s, "BatchTopic", 3, 0);
    assert_eq!(msgs.len(), 8);
    let mut expected_off = r.wrote_offset;
    for (i, rec) in msgs.iter().enumerate() {
        let v = RecordView::parse(rec).unwrap();
        assert_eq!(v.queue_offset(), i as i64);
        assert_eq!(v.flag(), i as i32);
        assert_eq!(v.commitlog_offset(), expected_off);
        assert_eq!(decode_offset_msg_id(ids[i]).unwrap().1, expected_off);
        expected_off += v.total_size() as i64;
        let uniq = v.property("UNIQ_KEY").expect("uniq key present");
        assert_eq!(v.property("TAGS"), Some("B"), "record {i}");
        if i == 0 {
            assert_eq!(uniq, "FIXED");
        } else {
            assert_eq!(uniq.len(), 32, "generated id {uniq}");
        }
    }
    assert_eq!(expected_off, r.wrote_offset + i64::from(r.wrote_bytes));
    // second batch continues the queue offsets
    let r2 = block_on(s.put_messages(batch));
    assert_eq!(r2.queue_offset, 8);
    // retry topics may not batch
    let mut bad = BatchToStore {
        topic: "%RETRY%g".into(),
        queue_id: 0,
        sys_flag: 0,
        born_timestamp: 1,
        born_host: born(),
        store_host: store_host(),
        body: encode_batch(&entries[..1]).freeze(),
    };
    assert_eq!(
        block_on(s.put_messages(bad.clone())).status,
        PutMessageStatus::MessageIllegal
    );
    bad.topic = "X".into();
    bad.body = Bytes::from_static(b"\x00\x00\x00\x01garbage");
    assert_eq!(
        block_on(s.put_messages(bad)).status,
        PutMessageStatus::MessageIllegal
    );
}

struct TagFilter(i64);
impl MessageFilter for TagFilter {
    fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool {
        tags_code == self.0
    }
    fn is_matched_by_commit_log(&self, _record: &[u8]) -> bool {
        true
    }
}

#[test]
fn get_message_statuses_and_filtering() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(small_config(dir.path()));
    let r = s.get_message("g", "Nope", 0, 5, 32, usize::MAX, None);
    assert_eq!(r.status, GetMessageStatus::NoMessageInQueue);
    assert_eq!(r.next_begin_offset, 0);
    block_on(async {
        for i in 0..6 {
            let tag = if i % 2 == 0 { "A" } else { "B" };
            s.put_message(msg("F", 0, &format!("{i}"), Some(tag))).await;
        }
    });
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    let r = s.get_message("g", "F", 0, 6, 32, usize::MAX, None);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetMessageStatus::OffsetOverflowOne, 6)
    );
    let r = s.get_message("g", "F", 0, 9, 32, usize::MAX, None);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetMessageStatus::OffsetOverflowBadly, 6)
    );
    let r = s.get_message("g", "F", 0, -1, 32, usize::MAX, None);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetMessageStatus::OffsetTooSmall, 0)
    );

    let only_b = TagFilter(i64::from(java_string_hash("B")));
    let r = s.get_message("g", "F", 0, 0, 32, usize::MAX, Some(&only_b));
    assert_eq!(r.status, GetMessageStatus::Found);
    assert_eq!(
        r.messages.iter().map(|m| body_of(m)).collect::<Vec<_>>(),
        ["1", "3", "5"]
    );
    assert_eq!(r.next_begin_offset, 6);
    assert_eq!((r.min_offset, r.max_offset), (0, 6));

    let none = TagFilter(42);
    let r = s.get_message("g", "F", 0, 2, 32, usize::MAX, Some(&none));
    assert_eq!(r.status, GetMessageStatus::NoMatchedMessage);
    assert_eq!(r.next_begin_offset, 6, "filtered entries are skipped");

    // count and size limits: the first message is always returned
    let r = s.get_message("g", "F", 0, 0, 2, usize::MAX, None);
    assert_eq!(r.messages.len(), 2);
    assert_eq!(r.next_begin_offset, 2);
    let r = s.get_message("g", "F", 0, 0, 32, 1, None);
    assert_eq!(r.messages.len(), 1);
    assert_eq!(r.next_begin_offset, 1);
    assert_eq!(r.buffer_total_size, r.messages[0].len());

    let second = pull_all(&s, "F", 0, 1);
    let v = RecordView::parse(&second[0]).unwrap();
    assert_eq!(
        s.commit_log_offset_in_queue("F", 0, 1),
        v.commitlog_offset()
    );
}

#[test]
fn offset_by_time_finds_first_message_at_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(small_config(dir.path()));
    let mut stamps = Vec::new();
    block_on(async {
        for i in 0..40 {
            let r = s.put_message(msg("Time", 0, &format!("t{i}"), None)).await;
            stamps.push(r.store_timestamp);
            if i % 5 == 4 {
                std::thread::sleep(Duration::from_millis(3));
            }
        }
    });
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(s.offset_in_queue_by_time("Time", 0, 0), 0);
    assert_eq!(s.offset_in_queue_by_time("Time", 0, stamps[39] + 1), 40);
    for (i, ts) in stamps.iter().enumerate() {
        let first = stamps.iter().position(|t| t >= ts).unwrap() as i64;
        assert_eq!(
            s.offset_in_queue_by_time("Time", 0, *ts),
            first,
            "message {i}"
        );
        assert!(first <= i as i64);
        assert_eq!(s.message_store_timestamp("Time", 0, i as i64), *ts);
    }
    assert_eq!(s.earliest_message_time("Time", 0), stamps[0]);
    assert_eq!(s.earliest_message_time("Nope", 0), -1);
    assert_eq!(s.message_store_timestamp("Time", 0, 40), -1);
}

struct Recorder(Mutex<Vec<(String, i32, i64, i64)>>, AtomicUsize);
impl MessageArrivingListener for Recorder {
    fn arriving(&self, topic: &str, queue_id: i32, logic_offset: i64, tags_code: i64, _ts: i64) {
        self.0
            .lock()
            .unwrap()
            .push((topic.to_owned(), queue_id, logic_offset, tags_code));
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn arriving_listener_is_told_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let rec = Arc::new(Recorder(Mutex::new(Vec::new()), AtomicUsize::new(0)));
    let s = DefaultMessageStore::open(small_config(dir.path()), Some(rec.clone())).unwrap();
    s.start().unwrap();
    // warm up (first file creation), then let the reput thread go idle
    block_on(s.put_message(msg("Warm", 0, "w", None)));
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    rec.0.lock().unwrap().clear();
    rec.1.store(0, Ordering::SeqCst);
    // Five trials from an idle store (the reput thread's idle timer is 10 ms): the median latency
    // shows that the put dispatches at once (the appender dispatches inline).
    let mut latencies = Vec::new();
    for trial in 0..5 {
        std::thread::sleep(Duration::from_millis(30));
        let seen = rec.1.load(Ordering::SeqCst);
        block_on(s.put_message(msg("L", 2, "hello", Some("TagA"))));
        let started = std::time::Instant::now();
        while rec.1.load(Ordering::SeqCst) == seen {
            assert!(started.elapsed() < Duration::from_secs(2), "trial {trial}");
            std::thread::yield_now();
        }
        latencies.push(started.elapsed());
    }
    latencies.sort();
    assert!(
        latencies[2] < Duration::from_millis(5),
        "dispatch latencies {latencies:?}"
    );
    assert_eq!(
        rec.0.lock().unwrap()[0],
        ("L".to_string(), 2, 1, i64::from(java_string_hash("TagA")))
    );
    assert_eq!(rec.0.lock().unwrap()[4].2, 5);
    assert_eq!(s.max_offset_in_queue("L", 2), 5);
}

#[test]
fn delete_topic_restarts_queue_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(small_config(dir.path()));
    put_n(&s, "Gone", 1, 5);
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    assert_eq!(s.max_offset_in_queue("Gone", 0), 5);
    s.delete_topics(&["Gone"]);
    assert_eq!(s.max_offset_in_queue("Gone", 0), 0);
    assert!(!dir.path().join("consumequeue").join("Gone").exists());
    let r = block_on(s.put_message(msg("Gone", 0, "again", None)));
    assert_eq!(r.queue_offset, 0);
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    let msgs = pull_all(&s, "Gone", 0, 0);
    assert_eq!(msgs.len(), 1);
    assert_eq!(body_of(&msgs[0]), "again");
}

#[test]
fn second_open_of_the_same_root_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(small_config(dir.path()));
    let err = DefaultMessageStore::open(small_config(dir.path()), None).unwrap_err();
    assert!(
        matches!(err, ferrocket_store::StoreError::Locked(_)),
        "{err}"
    );
    drop(s);
    let again = DefaultMessageStore::open(small_config(dir.path()), None);
    assert!(again.is_ok());
}

#[test]
fn wait_false_properties_are_honoured() {
    assert_eq!(find_property("WAIT\u{1}false\u{2}", "WAIT"), Some("false"));
}

#[test]
fn forced_retention_deletes_old_files_and_moves_queue_minimums() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(small_config(dir.path()));
    let results = put_n(&s, "Old", 1, 120);
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    assert_eq!(s.clean_expired_files(false), 0, "nothing is 72 h old");
    let deleted = s.clean_expired_files(true);
    assert!(deleted >= 1);
    let min_phy = s.min_phy_offset();
    assert_eq!(min_phy, deleted as i64 * CL_FILE as i64);
    let first_kept = results
        .iter()
        .position(|r| r.wrote_offset >= min_phy)
        .unwrap() as i64;
    assert_eq!(s.min_offset_in_queue("Old", 0), first_kept);
    let r = s.get_message("g", "Old", 0, 0, 32, usize::MAX, None);
    assert_eq!(r.status, GetMessageStatus::OffsetTooSmall);
    assert_eq!(r.next_begin_offset, first_kept);
    assert_eq!(
        pull_all(&s, "Old", 0, first_kept).len() as i64,
        120 - first_kept
    );
    assert!(s.look_message_by_offset(0).is_none());
    // the store still recovers cleanly with the first files gone
    s.shutdown();
    drop(s);
    let s = open(small_config(dir.path()));
    assert_eq!(s.min_phy_offset(), min_phy);
    assert_eq!(s.min_offset_in_queue("Old", 0), first_kept);
    assert_eq!(s.max_offset_in_queue("Old", 0), 120);
}

#[test]
fn warmed_files_keep_every_message() {
    // warmMapedFileEnable: every pre-allocated file is zero-filled before it is handed out,
    // and a writer that needs one sooner stops the fill; no zero may land on a message
    for sync in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let base = if sync {
            sync_config(dir.path())
        } else {
            small_config(dir.path())
        };
        let s = open(ferrocket_store::StoreConfig {
            warm_mapped_file_enable: true,
            flush_least_pages_when_warm_mapped_file: 16,
            ..base
        });
        let results = put_n(&s, "Warm", 2, 3000);
        assert!(results.iter().all(|r| r.status == PutMessageStatus::PutOk));
        let files = std::fs::read_dir(dir.path().join("commitlog"))
            .unwrap()
            .count();
        assert!(files >= 3, "the messages span several files ({files})");
        assert!(s.wait_for_dispatch(Duration::from_secs(5)));
        let mut n = 0;
        for q in 0..2 {
            for (i, rec) in pull_all(&s, "Warm", q, 0).iter().enumerate() {
                let m = i * 2 + q as usize;
                assert_eq!(
                    body_of(rec),
                    format!("m{m}-{}", "x".repeat(m % 37)),
                    "sync {sync}"
                );
                n += 1;
            }
        }
        assert_eq!(n, 3000, "sync {sync}");
    }
}
