//! Query by key and by unique key through the index files.

mod common;

use std::time::Duration;

use common::*;
use ferrocket_protocol::message::{encode_properties, RecordView};
use ferrocket_store::{DefaultMessageStore, MessageStore};

fn keyed(i: usize) -> ferrocket_store::MessageToStore {
    let mut m = msg("Idx", (i % 2) as i32, &format!("v{i}"), None);
    let uniq = format!("UNIQ{i:028}");
    let keys = format!("order-{} shared", i % 10);
    m.properties = encode_properties([("UNIQ_KEY", uniq.as_str()), ("KEYS", keys.as_str())]);
    m
}

fn bodies(s: &DefaultMessageStore, key: &str, max: usize) -> Vec<String> {
    s.query_message("Idx", key, max, 0, i64::MAX)
        .messages
        .iter()
        .map(|m| body_of(m))
        .collect()
}

#[test]
fn query_by_key_and_unique_key_across_index_files_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(small_config(dir.path()));
    block_on(async {
        for i in 0..120 {
            s.put_message(keyed(i)).await;
        }
    });
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    // 3 keys per message, 99 entries per index file: several files
    let files = std::fs::read_dir(dir.path().join("index")).unwrap().count();
    assert!(files >= 3, "{files} index files");

    let expect: Vec<String> = (0..120)
        .filter(|i| i % 10 == 3)
        .map(|i| format!("v{i}"))
        .collect();
    assert_eq!(bodies(&s, "order-3", 64), expect);
    assert_eq!(bodies(&s, &format!("UNIQ{:028}", 77), 64), vec!["v77"]);
    assert_eq!(
        bodies(&s, "shared", 64).len(),
        64,
        "capped at maxMsgsNumBatch"
    );
    assert_eq!(bodies(&s, "shared", 5).len(), 5);
    assert!(bodies(&s, "absent", 64).is_empty());
    assert!(s
        .query_message("Other", "order-3", 64, 0, i64::MAX)
        .messages
        .iter()
        .all(|m| RecordView::parse(m).unwrap().topic() == "Other"));
    let r = s.query_message("Idx", "order-3", 64, 0, i64::MAX);
    assert_eq!(r.index_last_update_phy_offset, {
        let last = s.query_message("Idx", &format!("UNIQ{:028}", 119), 1, 0, i64::MAX);
        RecordView::parse(&last.messages[0])
            .unwrap()
            .commitlog_offset()
    });
    // time window excludes everything
    assert!(s
        .query_message("Idx", "order-3", 64, 0, 1_000)
        .messages
        .is_empty());

    s.shutdown();
    drop(s);
    let s = open(small_config(dir.path()));
    assert_eq!(bodies(&s, "order-3", 64), expect);

    // crash: index files newer than the checkpoint are dropped and rebuilt by re-dispatch
    block_on(async {
        for i in 120..130 {
            s.put_message(keyed(i)).await;
        }
    });
    assert!(s.wait_for_dispatch(Duration::from_secs(5)));
    drop(s);
    let s = open(small_config(dir.path()));
    assert_eq!(bodies(&s, &format!("UNIQ{:028}", 125), 64), vec!["v125"]);
    assert_eq!(bodies(&s, "order-3", 64).len(), 13);
}
