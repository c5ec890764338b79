//! Durability under `kill -9`: a real client sends under SYNC_FLUSH while the broker process is
//! killed with SIGKILL and restarted, cycle after cycle; afterwards every acknowledged message
//! (SEND_OK) must be consumable with its exact body. Prints acked / lost / duplicated counts.
//!
//! CI runs the short form (10 cycles). The long form:
//! `FERROCKET_CRASH_CYCLES=200 cargo test --release -p ferrocket --test crash -- --nocapture`

use std::collections::HashMap;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrocket_client::{
    Message, Producer, ProducerConfig, PullConsumer, PullConsumerConfig, PullStatus, SendStatus,
};
use parking_lot::Mutex;

const TOPIC: &str = "CrashTopic";

/// A free port `p` with `p - 2` (the broker's fast port) free too, below the kernel's
/// ephemeral range: the broker is restarted on the same ports after every kill, and while it is
/// down the client's reconnections take ephemeral ports, which could be these.
fn free_port() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let span = u64::from(low.saturating_sub(10_002).max(1));
    // a different sequence for every call (both tests ask for two ports each, in one process)
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let mut rng = Rng(0x2545_F491_4F6C_DD1D
        ^ u64::from(std::process::id())
        ^ (call + 1).wrapping_mul(0x9E37_79B9));
    for _ in 0..1000 {
        let p = 10_002 + rng.next(span) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", p - 2)).is_ok()
        {
            return p;
        }
    }
    panic!("no free port pair below the ephemeral range");
}

/// Wait for the broker's port; if it never opens, fail with the end of the broker's log.
fn wait_port(port: u16, log: &Path) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(40).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    panic!(
        "port {port} not open; broker log ends:\n{}",
        tail.join("\n")
    );
}

fn start(conf: &Path, ns_port: u16, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_ferrocket"))
        .args(["standalone", "-c"])
        .arg(conf)
        .args(["--namesrv-port", &ns_port.to_string()])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// The body of message `id`: deterministic, varied in size, so a wrong or torn body shows.
fn body(id: u64) -> Bytes {
    let len = 64 + (id * 7919 % 3000) as usize;
    let seed = format!("crash-{id}-");
    Bytes::from(seed.bytes().cycle().take(len).collect::<Vec<u8>>())
}

struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// SYNC_FLUSH: a SEND_OK means the record was on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_flush_acknowledged_messages_survive_kill_9() {
    crash_cycles("SYNC_FLUSH").await;
}

/// ASYNC_FLUSH: a killed process loses nothing acknowledged either (the page cache survives it;
/// only a power loss can take what was not flushed yet — see docs/storage.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn async_flush_acknowledged_messages_survive_kill_9() {
    crash_cycles("ASYNC_FLUSH").await;
}

async fn crash_cycles(flush: &str) {
    let cycles: u32 = std::env::var("FERROCKET_CRASH_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let ns_port = free_port();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "brokerName=broker-crash\nlistenPort={port}\nbrokerIP1=127.0.0.1\nstorePathRootDir={}\nflushDiskType={flush}\nmappedFileSizeCommitLog=4194304\n",
            dir.path().join("store").display()
        ),
    )
    .unwrap();
    let log = dir.path().join("broker.log");
    let mut child = start(&conf, ns_port, &log);
    wait_port(port, &log);
    let ns = format!("127.0.0.1:{ns_port}");

    let producer = Producer::new(ProducerConfig {
        namesrv_addr: ns.clone(),
        group: "crash_pg".into(),
        send_timeout: Duration::from_secs(3),
        ..ProducerConfig::default()
    })
    .unwrap();
    producer.start().await.unwrap();

    // Senders run across all the crashes; each records what was acknowledged.
    let acked: Arc<Mutex<HashMap<u64, ()>>> = Arc::default();
    let next_id = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    for _ in 0..8 {
        let (p, acked, next_id, stop, failures) = (
            producer.clone(),
            acked.clone(),
            next_id.clone(),
            stop.clone(),
            failures.clone(),
        );
        senders.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                let msg = Message::new(TOPIC, body(id))
                    .with_keys(vec![format!("id-{id}")])
                    .with_property("crash_id", id.to_string());
                match p.send(msg).await {
                    Ok(r) if r.status == SendStatus::SendOk => {
                        acked.lock().insert(id, ());
                    }
                    _ => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }));
    }

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ std::process::id() as u64);
    for cycle in 0..cycles {
        tokio::time::sleep(Duration::from_millis(300 + rng.next(900))).await;
        let before = acked.lock().len();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        child = start(&conf, ns_port, &log);
        wait_port(port, &log);
        eprintln!(
            "cycle {}/{cycles}: killed with {before} acked so far",
            cycle + 1
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        s.await.unwrap();
    }
    producer.shutdown().await;

    // Read everything back.
    let consumer = PullConsumer::new(PullConsumerConfig {
        namesrv_addr: ns.clone(),
        group: "crash_cg".into(),
        ..Default::default()
    })
    .unwrap();
    consumer.start().await.unwrap();
    let mut seen: HashMap<u64, u32> = HashMap::new();
    let mut corrupt = Vec::new();
    for mq in consumer.queues(TOPIC).await.unwrap() {
        let mut offset = 0;
        loop {
            let r = consumer
                .pull(&mq, offset, 32, Duration::ZERO)
                .await
                .unwrap();
            if r.status != PullStatus::Found {
                break;
            }
            for m in &r.messages {
                let id: u64 = m
                    .properties
                    .get("crash_id")
                    .and_then(|v| v.parse().ok())
                    .expect("crash_id");
                if m.body != body(id) {
                    corrupt.push(id);
                }
                *seen.entry(id).or_default() += 1;
            }
            offset = r.next_begin_offset;
        }
    }
    consumer.shutdown().await;
    child.kill().unwrap();
    child.wait().unwrap();

    let acked = acked.lock();
    let lost: Vec<u64> = acked
        .keys()
        .filter(|id| !seen.contains_key(id))
        .copied()
        .collect();
    let duplicated = seen.values().filter(|n| **n > 1).count();
    println!(
        "crash test ({flush}): {cycles} kill -9 cycles, {} sends acknowledged, {} failed during crashes, {} stored, {} lost, {} duplicated, {} corrupt",
        acked.len(),
        failures.load(Ordering::Relaxed),
        seen.len(),
        lost.len(),
        duplicated,
        corrupt.len()
    );
    assert!(
        acked.len() > 100,
        "too few messages acknowledged to mean anything"
    );
    assert!(corrupt.is_empty(), "corrupt bodies: {corrupt:?}");
    assert!(
        lost.is_empty(),
        "acknowledged but lost: {} e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
}
