//! Helpers shared by the store's integration tests.
#![allow(dead_code)]

pub mod simdisk;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use ferrocket_protocol::message::{encode_properties, RecordView};
use ferrocket_store::{
    DefaultMessageStore, FlushDiskType, GetMessageResult, MessageStore, MessageToStore, StoreConfig,
};

pub const CL_FILE: u64 = 4096;
pub const CQ_FILE: u64 = 200; // 10 entries per consume-queue file

/// A temporary directory on tmpfs (`/dev/shm`) when there is one: for tests that open and close
/// stores hundreds of times, where real fsyncs (milliseconds each on a VM disk) would dominate.
/// Durability itself is tested through the fault-injecting layer, not through the medium.
pub fn fast_tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}

pub fn born() -> SocketAddr {
    "192.168.0.2:53000".parse().unwrap()
}

pub fn store_host() -> SocketAddr {
    "192.168.0.1:10911".parse().unwrap()
}

pub fn small_config(root: &Path) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commitlog: CL_FILE,
        mapped_file_size_consume_queue: CQ_FILE,
        flush_interval_commitlog_ms: 20,
        flush_interval_consume_queue_ms: 20,
        max_hash_slot_num: 64,
        max_index_num: 100,
        ..StoreConfig::with_root(root)
    }
}

pub fn sync_config(root: &Path) -> StoreConfig {
    StoreConfig {
        flush_disk_type: FlushDiskType::SyncFlush,
        ..small_config(root)
    }
}

pub fn open(config: StoreConfig) -> Arc<DefaultMessageStore> {
    let s = DefaultMessageStore::open(config, None).expect("open store");
    s.start().expect("start store");
    s
}

pub fn msg(topic: &str, queue_id: i32, body: &str, tag: Option<&str>) -> MessageToStore {
    let mut props: Vec<(&str, &str)> = vec![("UNIQ_KEY", "C0A8000A303900000000000000000001")];
    if let Some(t) = tag {
        props.push(("TAGS", t));
    }
    MessageToStore {
        topic: topic.into(),
        queue_id,
        flag: 0,
        body: Bytes::copy_from_slice(body.as_bytes()),
        properties: encode_properties(props),
        tags_code: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: born(),
        store_host: store_host(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

/// Pull everything of a queue from `from`, following next_begin_offset.
pub fn pull_all(s: &DefaultMessageStore, topic: &str, queue_id: i32, from: i64) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut offset = from;
    for _ in 0..100_000 {
        let r: GetMessageResult = s.get_message("g", topic, queue_id, offset, 32, usize::MAX, None);
        out.extend(r.messages.iter().cloned());
        if r.next_begin_offset == offset {
            break;
        }
        offset = r.next_begin_offset;
    }
    out
}

pub fn body_of(rec: &[u8]) -> String {
    let v = RecordView::parse(rec).expect("valid record");
    String::from_utf8(v.body().to_vec()).unwrap()
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Put `n` messages "m{i}" round-robin over `queues` queues of `topic`.
pub fn put_n(
    s: &DefaultMessageStore,
    topic: &str,
    queues: i32,
    n: usize,
) -> Vec<ferrocket_store::PutMessageResult> {
    block_on(async {
        let mut v = Vec::new();
        for i in 0..n {
            let r = s
                .put_message(msg(
                    topic,
                    (i as i32) % queues,
                    &format!("m{i}-{}", "x".repeat(i % 37)),
                    Some("TagA"),
                ))
                .await;
            v.push(r);
        }
        v
    })
}

/// Names of the commit-log files under `root`, in offset order.
pub fn commitlog_names(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// A full commit-log file (`raw`, starting at log offset `base`): records that each know their
/// own offset, then a BLANK record covering the rest of the file.
pub fn assert_records_then_blank(raw: &[u8], base: u64, name: &str) {
    let mut pos = 0usize;
    while let Ok(v) = RecordView::parse(&raw[pos..]) {
        assert_eq!(
            v.commitlog_offset() as u64,
            base + pos as u64,
            "file {name}"
        );
        pos += v.total_size();
    }
    let size = i32::from_be_bytes(raw[pos..pos + 4].try_into().unwrap());
    let magic = i32::from_be_bytes(raw[pos + 4..pos + 8].try_into().unwrap());
    assert_eq!(
        magic,
        ferrocket_protocol::message::BLANK_MAGIC_CODE,
        "file {name} ends with a BLANK"
    );
    assert_eq!(
        size as usize,
        raw.len() - pos,
        "file {name}: BLANK to the end"
    );
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
