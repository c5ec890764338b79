//! Dispatch by the appender (ASYNC_FLUSH) and by the group commit (SYNC_FLUSH): a record is in
//! its consume queue when its put returns, concurrent producers' records are dispatched exactly
//! once and in order, and none of it needs the reput thread (given an hour-long interval here,
//! so it only runs when an inline dispatcher explicitly hands work to it).

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use ferrocket_protocol::message::RecordView;
use ferrocket_store::{
    DefaultMessageStore, FlushDiskType, MessageArrivingListener, MessageStore, PutMessageStatus,
    StoreConfig,
};

const HOUR_MS: u64 = 3_600_000;

/// Every `arriving` call, in order: (topic, queue id, logic offset + 1).
#[derive(Default)]
struct Arrivals(Mutex<Vec<(String, i32, i64)>>);

impl MessageArrivingListener for Arrivals {
    fn arriving(&self, topic: &str, queue_id: i32, next_offset: i64, _tags: i64, _ts: i64) {
        self.0
            .lock()
            .unwrap()
            .push((topic.to_owned(), queue_id, next_offset));
    }
}

fn config(root: &std::path::Path, mode: FlushDiskType) -> StoreConfig {
    StoreConfig {
        flush_disk_type: mode,
        mapped_file_size_commitlog: 256 * 1024,
        mapped_file_size_consume_queue: 20 * 1000,
        reput_interval_ms: HOUR_MS,
        ..small_config(root)
    }
}

fn open_with(config: StoreConfig) -> (Arc<DefaultMessageStore>, Arc<Arrivals>) {
    let arrivals = Arc::new(Arrivals::default());
    let s = DefaultMessageStore::open(config, Some(arrivals.clone())).expect("open store");
    s.start().expect("start store");
    (s, arrivals)
}

fn stat(s: &DefaultMessageStore, key: &str) -> u64 {
    s.runtime_info()[key].parse().unwrap()
}

#[test]
fn async_put_is_in_its_consume_queue_when_put_returns() {
    let dir = fast_tempdir();
    // small commit-log files: the puts cross many segment ends (BLANK records, rolls)
    let (s, arrivals) = open_with(StoreConfig {
        mapped_file_size_commitlog: CL_FILE,
        ..config(dir.path(), FlushDiskType::AsyncFlush)
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for i in 0..300usize {
        let (topic, q) = (if i % 3 == 0 { "A" } else { "B" }, (i % 4) as i32);
        let body = format!("m{i}-{}", "x".repeat(i % 41));
        let r = rt.block_on(s.put_message(msg(topic, q, &body, Some("TagA"))));
        assert_eq!(r.status, PutMessageStatus::PutOk);
        // no waiting: dispatched before the put returned
        assert_eq!(s.dispatch_behind_bytes(), 0, "put {i}");
        assert_eq!(
            s.max_offset_in_queue(topic, q),
            r.queue_offset + 1,
            "put {i}"
        );
        let got = s.get_message("g", topic, q, r.queue_offset, 1, usize::MAX, None);
        assert_eq!(got.messages.len(), 1, "put {i}");
        assert_eq!(body_of(&got.messages[0]), body);
        assert_eq!(
            arrivals.0.lock().unwrap().last().cloned(),
            Some((topic.to_owned(), q, r.queue_offset + 1))
        );
    }
    assert_eq!(arrivals.0.lock().unwrap().len(), 300);
    assert_eq!(stat(&s, "dispatchHandoffs"), 0);
    assert!(stat(&s, "dispatchInlineRounds") >= 300);
    s.shutdown();
}

#[test]
fn concurrent_async_producers_are_dispatched_once_in_order() {
    const THREADS: usize = 8;
    const PUTS: usize = 2000;
    const QUEUES: i32 = 3; // several producers share each queue
    let dir = fast_tempdir();
    let (s, arrivals) = open_with(config(dir.path(), FlushDiskType::AsyncFlush));
    let producers: Vec<_> = (0..THREADS)
        .map(|t| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                for i in 0..PUTS {
                    let q = ((t + i) % QUEUES as usize) as i32;
                    let r = rt.block_on(s.put_message(msg("C", q, &format!("{t}:{i}"), Some("T"))));
                    assert_eq!(r.status, PutMessageStatus::PutOk);
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let handoffs = stat(&s, "dispatchHandoffs");
    if handoffs == 0 {
        // every record was dispatched by a producer before the last put returned
        assert_eq!(s.dispatch_behind_bytes(), 0, "left for the reput thread");
    } else {
        // a producer handed the tail to the reput thread (notified, not its timer): prompt
        let deadline = Instant::now() + Duration::from_secs(5);
        while s.dispatch_behind_bytes() > 0 {
            assert!(Instant::now() < deadline, "hand-over not served");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let info = s.runtime_info();
    eprintln!(
        "inline rounds {}, hand-overs {handoffs}",
        info["dispatchInlineRounds"]
    );

    // each queue: consecutive offsets, increasing commit-log offsets, each producer's puts in
    // its order, and every message exactly once
    let mut seen: HashMap<(usize, usize), i64> = HashMap::new();
    let mut total = 0i64;
    for q in 0..QUEUES {
        let max = s.max_offset_in_queue("C", q);
        let records = pull_all(&s, "C", q, 0);
        assert_eq!(records.len() as i64, max, "queue {q}");
        let mut last_phy = -1;
        let mut last_of: HashMap<usize, usize> = HashMap::new();
        for (k, rec) in records.iter().enumerate() {
            let v = RecordView::parse(rec).unwrap();
            assert_eq!(v.queue_offset(), k as i64, "queue {q}");
            let phy = s.commit_log_offset_in_queue("C", q, k as i64);
            assert!(phy > last_phy, "queue {q} offset {k}: commit log order");
            last_phy = phy;
            let body = std::str::from_utf8(v.body()).unwrap();
            let (t, i) = body.split_once(':').unwrap();
            let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
            assert_eq!((t + i) % QUEUES as usize, q as usize);
            if let Some(prev) = last_of.insert(t, i) {
                assert!(prev < i, "producer {t}: {prev} before {i} in queue {q}");
            }
            assert!(seen.insert((t, i), k as i64).is_none(), "{t}:{i} twice");
        }
        total += max;
    }
    assert_eq!(total as usize, THREADS * PUTS);
    assert_eq!(seen.len(), THREADS * PUTS);

    // the listener was told of each record exactly once, each queue in order
    let arrivals = arrivals.0.lock().unwrap();
    assert_eq!(arrivals.len(), THREADS * PUTS);
    let mut next: HashMap<i32, i64> = HashMap::new();
    for (topic, q, offset) in arrivals.iter() {
        assert_eq!(topic, "C");
        let n = next.entry(*q).or_insert(1);
        assert_eq!(offset, n, "queue {q}");
        *n += 1;
    }
    drop(arrivals);
    s.shutdown();
}

#[test]
fn sync_flush_group_commit_dispatches_without_the_reput_thread() {
    let dir = fast_tempdir();
    let (s, arrivals) = open_with(config(dir.path(), FlushDiskType::SyncFlush));
    let producers: Vec<_> = (0..4)
        .map(|t| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                for i in 0..100 {
                    let r = rt.block_on(s.put_message(msg("S", t, &format!("{i}"), None)));
                    assert_eq!(r.status, PutMessageStatus::PutOk);
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    // the group commit answers a force's producers first, then dispatches what it confirmed:
    // with the reput thread asleep for an hour, the queues fill up all the same
    let deadline = Instant::now() + Duration::from_secs(5);
    while s.dispatch_behind_bytes() > 0 {
        assert!(Instant::now() < deadline, "not dispatched");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(stat(&s, "dispatchHandoffs"), 0);
    for q in 0..4 {
        assert_eq!(s.max_offset_in_queue("S", q), 100);
        let bodies: Vec<String> = pull_all(&s, "S", q, 0).iter().map(|r| body_of(r)).collect();
        assert_eq!(bodies, (0..100).map(|i| i.to_string()).collect::<Vec<_>>());
    }
    assert_eq!(arrivals.0.lock().unwrap().len(), 400);
    s.shutdown();
}

#[test]
fn shutdown_and_reopen_after_inline_dispatch() {
    let dir = fast_tempdir();
    let cfg = config(dir.path(), FlushDiskType::AsyncFlush);
    {
        let (s, _) = open_with(cfg.clone());
        put_n(&s, "R", 2, 500);
        s.shutdown();
    }
    let (s, _) = open_with(cfg);
    assert!(s.recovery_report().normal);
    assert_eq!(s.max_offset_in_queue("R", 0), 250);
    assert_eq!(s.max_offset_in_queue("R", 1), 250);
    assert_eq!(s.dispatch_behind_bytes(), 0);
    let r = put_n(&s, "R", 2, 2);
    assert_eq!(r[1].queue_offset, 250);
    assert_eq!(s.max_offset_in_queue("R", 1), 251);
    s.shutdown();
}
