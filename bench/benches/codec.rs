//! Criterion micro-benchmarks of the wire codec, the per-message work of every send and pull:
//!
//! * a SEND_MESSAGE_V2 request frame (Java client's short header names, 128 B body) encoded and
//!   decoded with the JSON header and with the ROCKETMQ binary header;
//! * its typed header read back from the decoded fields;
//! * a send response frame (the broker's side);
//! * one stored record (commit-log format, body CRC included) encoded and parsed, 128 B and 4 KiB.
//!
//! `cargo bench -p ferrocket-bench --bench codec`

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrocket_protocol::header::{
    CommandHeader, SendMessageRequestHeader, SendMessageResponseHeader,
};
use ferrocket_protocol::message::{encode_record, MessageRecord, RecordView};
use ferrocket_protocol::{RemotingCommand, SerializeType};

const PROPERTIES: &str = "KEYS\u{1}order-42 k-42\u{2}TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}7F00000100002A9F0000000000000001\u{2}WAIT\u{1}true\u{2}";

fn send_request(ser: SerializeType) -> RemotingCommand {
    let header = SendMessageRequestHeader {
        producer_group: "bench_producer_group".into(),
        topic: "BenchTopic".into(),
        default_topic: Some("TBW102".into()),
        default_topic_queue_nums: Some(4),
        queue_id: Some(3),
        sys_flag: Some(0),
        born_timestamp: Some(1_765_000_000_000),
        flag: Some(0),
        properties: Some(PROPERTIES.into()),
        reconsume_times: Some(0),
        unit_mode: false,
        max_reconsume_times: None,
        batch: false,
        bname: Some("broker-a".into()),
    };
    let mut cmd = RemotingCommand::request(310).with_body(vec![b'x'; 128]);
    header.encode_v2(&mut cmd.ext_fields);
    cmd.serialize_type = ser;
    cmd.opaque = 12345;
    cmd
}

fn send_response(ser: SerializeType) -> RemotingCommand {
    let h = SendMessageResponseHeader {
        msg_id: "7F00000100002A9F0000000000001F40".into(),
        queue_id: 3,
        queue_offset: 987_654,
        transaction_id: None,
        batch_uniq_id: None,
    };
    let mut cmd = RemotingCommand::response(0, None).with_header(&h);
    cmd.serialize_type = ser;
    cmd.opaque = 12345;
    cmd
}

fn frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, ser) in [
        ("json", SerializeType::Json),
        ("binary", SerializeType::RocketMq),
    ] {
        let req = send_request(ser);
        let mut encoded = BytesMut::new();
        req.encode_frame(&mut encoded);
        let encoded = encoded.freeze();
        group.bench_function(BenchmarkId::new("send_request_encode", name), |b| {
            let mut out = BytesMut::with_capacity(1024);
            b.iter(|| {
                out.clear();
                black_box(&req).encode_frame(&mut out);
                black_box(out.len())
            })
        });
        group.bench_function(BenchmarkId::new("send_request_decode", name), |b| {
            b.iter(|| {
                let mut src = BytesMut::from(&encoded[..]);
                let cmd = RemotingCommand::decode_frame(&mut src).unwrap().unwrap();
                black_box(cmd)
            })
        });
        let decoded = RemotingCommand::decode_frame(&mut BytesMut::from(&encoded[..]))
            .unwrap()
            .unwrap();
        group.bench_function(BenchmarkId::new("send_request_typed_header", name), |b| {
            b.iter(|| black_box(SendMessageRequestHeader::decode(&decoded.ext_fields).unwrap()))
        });
        let resp = send_response(ser);
        group.bench_function(BenchmarkId::new("send_response_encode", name), |b| {
            let mut out = BytesMut::with_capacity(512);
            b.iter(|| {
                out.clear();
                black_box(&resp).encode_frame(&mut out);
                black_box(out.len())
            })
        });
    }
    group.finish();
}

fn records(c: &mut Criterion) {
    let mut group = c.benchmark_group("stored_record");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    for size in [128usize, 4096] {
        let body = vec![0xA5u8; size];
        let rec = MessageRecord {
            topic: "BenchTopic",
            queue_id: 3,
            flag: 0,
            queue_offset: 987_654,
            commitlog_offset: 1 << 30,
            sys_flag: 0,
            born_timestamp: 1_765_000_000_000,
            born_host: host,
            store_timestamp: 1_765_000_000_001,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: &body,
            properties: PROPERTIES.as_bytes(),
        };
        group.throughput(Throughput::Bytes(size as u64));
        let mut buf = BytesMut::with_capacity(size + 512);
        group.bench_function(BenchmarkId::new("encode", format!("{size}B")), |b| {
            b.iter(|| {
                buf.clear();
                black_box(encode_record(black_box(&rec), &mut buf).unwrap())
            })
        });
        let mut stored = BytesMut::new();
        encode_record(&rec, &mut stored).unwrap();
        group.bench_function(BenchmarkId::new("parse", format!("{size}B")), |b| {
            b.iter(|| {
                let v = RecordView::parse(black_box(&stored[..])).unwrap();
                black_box((v.queue_offset(), v.property("TAGS").map(str::len)))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, frames, records);
criterion_main!(benches);
