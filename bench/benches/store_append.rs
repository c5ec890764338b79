//! Criterion benchmark of the store's append path (ASYNC_FLUSH, one producer): put throughput at
//! 128 B, 1 KiB and 4 KiB bodies. The store runs with its flush and dispatch threads, on the
//! disk under `FERROCKET_BENCH_DIR` (default `target/bench-data`).
//!
//! `cargo bench -p ferrocket-bench --bench store_append`
//!
//! For the comparison with the disk's own bandwidth, SYNC_FLUSH group commit and recovery time,
//! run the `store_append_vs_disk` binary (see `docs/storage.md`).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrocket_bench::{body, message, store_config, temp_dir};
use ferrocket_store::{DefaultMessageStore, FlushDiskType, MessageStore, PutMessageStatus};

fn append(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("store_append");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for size in [128usize, 1024, 4096] {
        let dir = temp_dir();
        let store = DefaultMessageStore::open(
            store_config(dir.path(), FlushDiskType::AsyncFlush, 256 * 1024 * 1024),
            None,
        )
        .expect("open store");
        store.start().expect("start store");
        let payload = body(size);
        let mut queue = 0;
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("put", format!("{size}B")), |b| {
            b.iter(|| {
                queue = (queue + 1) % 8;
                let r = rt.block_on(store.put_message(message(queue, &payload)));
                assert_eq!(r.status, PutMessageStatus::PutOk);
            })
        });
        store.shutdown();
    }
    group.finish();
}

criterion_group!(benches, append);
criterion_main!(benches);
