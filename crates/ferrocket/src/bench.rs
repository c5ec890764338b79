//! `ferrocket bench`: a load generator built on `ferrocket-client`, for any RocketMQ-compatible
//! cluster (Ferrocket's or Apache RocketMQ's).
//!
//! * `produce`: `--threads` concurrent senders of `--size`-byte messages, in `sync`, `async`
//!   (`--inflight` outstanding sends per sender), `oneway` or `batch` (`--batch` messages per
//!   request) mode, for `--duration` seconds or `--messages` messages (10 s if neither is given).
//! * `consume`: drains a topic with pull consumers, one task per queue, until `--messages` were
//!   read, nothing arrived for `--idle-secs`, or `--duration` passed.
//! * `e2e`: a push consumer subscribes first; then messages carrying their send time (µs since the
//!   epoch, first 8 bytes of the body) are produced as above, and the consumer measures
//!   send→receive latency.
//!
//! Once per second a line with the interval's rate and latency percentiles is printed, then a
//! final `SUMMARY` line; `--json FILE` also writes the summary as JSON for a harness. Latencies
//! go into [`Histogram`], a fixed array of log-linear buckets (16 per power of two, so a reported
//! percentile is within 1/16 ≈ 6% of the true value), recorded lock-free from every task.
//!
//! Every run is bounded in time and count, and connects only to the given nameservers and the
//! brokers their routes name.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand, ValueEnum};
use ferrocket_client::{
    Admin, ClientError, ConsumeStatus, Message, MessageExt, MessageQueue, Producer, ProducerConfig,
    PullConsumer, PullConsumerConfig, PullStatus, PushConsumer, PushConsumerConfig, TopicConfig,
};

/// `ferrocket bench <produce|consume|e2e>`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Send as fast as possible; report send TPS and latency.
    Produce(ProduceArgs),
    /// Drain a topic with pull consumers (one task per queue); report TPS and total.
    Consume(ConsumeArgs),
    /// Produce timestamped messages and measure send→receive latency with a push consumer.
    E2e(E2eArgs),
}

/// Where to connect and what to report.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Nameserver addresses, `host:port;host:port`.
    #[arg(short = 'n', long, default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Topic to use.
    #[arg(short = 't', long, default_value = "FerrocketBench")]
    pub topic: String,
    /// Also write the final summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// How messages are sent.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    /// One `send` at a time per sender, waiting for each answer (retries as Java's producer).
    Sync,
    /// Up to `--inflight` concurrent sends per sender.
    Async,
    /// Fire and forget; latency is the time to queue the request.
    Oneway,
    /// `--batch` messages per SEND_BATCH_MESSAGE, one batch at a time per sender.
    Batch,
}

impl SendMode {
    fn name(self) -> &'static str {
        match self {
            SendMode::Sync => "sync",
            SendMode::Async => "async",
            SendMode::Oneway => "oneway",
            SendMode::Batch => "batch",
        }
    }
}

/// Sender settings shared by `produce` and `e2e`.
#[derive(Args, Debug, Clone)]
pub struct SendArgs {
    /// Concurrent senders.
    #[arg(short = 'w', long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: u32,
    /// Body size in bytes.
    #[arg(short = 's', long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=4_194_304))]
    pub size: u32,
    /// Stop after this many seconds (10 when neither this nor --messages is given).
    #[arg(short = 'd', long, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub duration: Option<u64>,
    /// Stop after this many messages.
    #[arg(short = 'm', long, value_parser = clap::value_parser!(u64).range(1..))]
    pub messages: Option<u64>,
    /// Send mode.
    #[arg(long, value_enum, default_value_t = SendMode::Sync)]
    pub mode: SendMode,
    /// Messages per batch (`--mode batch`).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub batch: u32,
    /// Outstanding sends per sender (`--mode async`).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub inflight: u32,
    /// Producer group.
    #[arg(long, default_value = "ferrocket_bench_producer")]
    pub producer_group: String,
    /// Do not zlib-compress bodies of 4 KiB and more (the Java producer does by default).
    #[arg(long)]
    pub no_compress: bool,
    /// Create the topic with this many queues per broker of --cluster first (0 = do not).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1024))]
    pub queues: u32,
    /// Cluster for --queues.
    #[arg(long, default_value = "DefaultCluster")]
    pub cluster: String,
}

#[derive(Args, Debug, Clone)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub send: SendArgs,
}

/// Where `consume` starts in each queue.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// The group's committed offset, else the queue's min offset.
    Committed,
    /// The queue's min offset.
    First,
    /// The queue's max offset (only new messages).
    Last,
}

#[derive(Args, Debug, Clone)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Consumer group.
    #[arg(short = 'g', long, default_value = "ferrocket_bench_consumer")]
    pub group: String,
    /// Stop after this many messages.
    #[arg(short = 'm', long, value_parser = clap::value_parser!(u64).range(1..))]
    pub messages: Option<u64>,
    /// Stop when nothing arrived for this many seconds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub idle_secs: u64,
    /// Stop after this many seconds in any case.
    #[arg(short = 'd', long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub duration: u64,
    /// Where to start in each queue.
    #[arg(long, value_enum, default_value_t = StartFrom::Committed)]
    pub from: StartFrom,
    /// Messages per pull.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(i32).range(1..=1024))]
    pub batch: i32,
    /// Do not commit the reached offsets at the end.
    #[arg(long)]
    pub no_commit: bool,
}

#[derive(Args, Debug, Clone)]
pub struct E2eArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub send: SendArgs,
    /// Consumer group (default: a fresh `ferrocket_bench_e2e_<pid>_<ms>` per run).
    #[arg(short = 'g', long)]
    pub group: Option<String>,
    /// After sending, wait this long without a new arrival before giving up on stragglers.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub idle_secs: u64,
}

/// Run one bench command.
pub async fn run(args: BenchArgs) -> Result<(), String> {
    match args.command {
        BenchCommand::Produce(a) => produce(a).await,
        BenchCommand::Consume(a) => consume(a).await,
        BenchCommand::E2e(a) => e2e(a).await,
    }
}

// ---- latency histogram -----------------------------------------------------------------------

/// Sub-buckets per power of two (relative error ≤ 1/16).
const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;
/// Enough buckets for any u64 value.
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

/// A concurrent log-linear histogram of microsecond values.
pub struct Histogram {
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum: AtomicU64,
    max: AtomicU64,
    /// Max since the last [`Histogram::take_interval_max`].
    interval_max: AtomicU64,
}

/// A copy of a histogram's counts.
#[derive(Clone, Default)]
pub struct Snapshot {
    counts: Vec<u64>,
    count: u64,
    sum: u64,
    max: u64,
}

fn bucket_of(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let k = 63 - v.leading_zeros();
    let sub = (v >> (k - SUB_BITS)) & (SUB - 1);
    ((k - SUB_BITS + 1) as u64 * SUB + sub) as usize
}

fn bucket_low(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let k = i / SUB + u64::from(SUB_BITS) - 1;
    (SUB + i % SUB) << (k - u64::from(SUB_BITS))
}

/// A representative value of bucket `i`: its midpoint.
fn bucket_mid(i: usize) -> u64 {
    let low = bucket_low(i);
    let high = if i + 1 < BUCKETS {
        bucket_low(i + 1).saturating_sub(1)
    } else {
        u64::MAX
    };
    low + (high - low) / 2
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
            interval_max: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    pub fn record(&self, micros: u64) {
        self.buckets[bucket_of(micros)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(micros, Ordering::Relaxed);
        self.max.fetch_max(micros, Ordering::Relaxed);
        self.interval_max.fetch_max(micros, Ordering::Relaxed);
    }

    pub fn record_since(&self, start: Instant) {
        self.record(start.elapsed().as_micros().min(u128::from(u64::MAX)) as u64);
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            counts: self
                .buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            count: self.count.load(Ordering::Relaxed),
            sum: self.sum.load(Ordering::Relaxed),
            max: self.max.load(Ordering::Relaxed),
        }
    }

    /// The max recorded since the previous call.
    pub fn take_interval_max(&self) -> u64 {
        self.interval_max.swap(0, Ordering::Relaxed)
    }
}

impl Snapshot {
    /// Counts recorded after `earlier`; `max` is taken from the caller.
    fn since(&self, earlier: &Snapshot, max: u64) -> Snapshot {
        Snapshot {
            counts: self
                .counts
                .iter()
                .enumerate()
                .map(|(i, c)| c.saturating_sub(earlier.counts.get(i).copied().unwrap_or(0)))
                .collect(),
            count: self.count.saturating_sub(earlier.count),
            sum: self.sum.saturating_sub(earlier.sum),
            max,
        }
    }

    /// Value at quantile `q` (0..=1), never above the recorded max.
    fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        if rank == self.count {
            return self.max;
        }
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_mid(i).min(self.max);
            }
        }
        self.max
    }

    fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    fn line(&self) -> String {
        format!(
            "avg {:.3} ms | p50 {:.3} | p99 {:.3} | p999 {:.3} | max {:.3}",
            self.mean() / 1000.0,
            ms(self.quantile(0.5)),
            ms(self.quantile(0.99)),
            ms(self.quantile(0.999)),
            ms(self.max)
        )
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "count": self.count,
            "avg": round3(self.mean() / 1000.0),
            "p50": round3(ms(self.quantile(0.5))),
            "p99": round3(ms(self.quantile(0.99))),
            "p999": round3(ms(self.quantile(0.999))),
            "max": round3(ms(self.max)),
        })
    }
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

// ---- shared plumbing -------------------------------------------------------------------------

/// Error counts by message (at most `MAX_ERROR_KINDS` distinct texts).
#[derive(Default)]
struct Errors {
    total: AtomicU64,
    kinds: Mutex<BTreeMap<String, u64>>,
}

const MAX_ERROR_KINDS: usize = 16;

impl Errors {
    fn add(&self, e: &ClientError) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let text = match e.response_code() {
            Some(code) => format!("code {code}: {}", e.remark().unwrap_or_default()),
            None => e.to_string(),
        };
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        if kinds.len() < MAX_ERROR_KINDS || kinds.contains_key(&text) {
            *kinds.entry(text).or_default() += 1;
        } else {
            *kinds.entry("other".into()).or_default() += 1;
        }
    }
    fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
    fn json(&self) -> serde_json::Value {
        let kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        serde_json::json!(*kinds)
    }
}

/// A shared stop flag that also ends on Ctrl-C.
#[derive(Clone, Default)]
struct Stop(Arc<AtomicBool>);

impl Stop {
    fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
    fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
    fn on_ctrl_c(&self) -> tokio::task::JoinHandle<()> {
        let stop = self.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted, finishing");
                stop.set();
            }
        })
    }
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

fn write_json(path: &Option<PathBuf>, value: &serde_json::Value) -> Result<(), String> {
    if let Some(p) = path {
        let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
        std::fs::write(p, text + "\n").map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    Ok(())
}

/// Create the topic on every master of `cluster` when asked to (`queues > 0`) or when `needed`
/// and it has no route; then wait until the nameservers route it.
async fn ensure_topic(
    common: &CommonArgs,
    cluster: &str,
    queues: u32,
    needed: bool,
) -> Result<(), String> {
    let admin = Admin::new(&common.namesrv).map_err(|e| e.to_string())?;
    let result = async {
        let exists = match admin.topic_route(&common.topic).await {
            Ok(_) => true,
            Err(ClientError::NoRoute(_)) => false,
            Err(e) => return Err(format!("route of {}: {e}", common.topic)),
        };
        if queues == 0 && (exists || !needed) {
            return Ok(());
        }
        let n = if queues == 0 { 8 } else { queues as i32 };
        if !exists || queues > 0 {
            let cfg = TopicConfig::new(&common.topic, n, 6);
            let brokers = admin
                .create_topic(cluster, &cfg)
                .await
                .map_err(|e| format!("creating {}: {e}", common.topic))?;
            println!(
                "topic {} created with {n} queues on {} broker(s)",
                common.topic,
                brokers.len()
            );
        }
        for _ in 0..300 {
            if admin.topic_route(&common.topic).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "topic {} never appeared in the routes",
            common.topic
        ))
    }
    .await;
    admin.shutdown().await;
    result
}

// ---- produce ---------------------------------------------------------------------------------

/// Counters of a sending run.
#[derive(Default)]
struct SendStats {
    sent: AtomicU64,
    latency: Histogram,
    errors: Errors,
}

/// Hands out the remaining message budget.
struct Budget {
    limit: Option<u64>,
    claimed: AtomicU64,
    deadline: Instant,
    stop: Stop,
}

impl Budget {
    /// Up to `want` messages may be sent now; 0 = the run is over.
    fn claim(&self, want: u64) -> u64 {
        if self.stop.is_set() || Instant::now() >= self.deadline {
            return 0;
        }
        let Some(limit) = self.limit else { return want };
        let mut cur = self.claimed.load(Ordering::Relaxed);
        loop {
            let grant = want.min(limit.saturating_sub(cur));
            if grant == 0 {
                return 0;
            }
            match self.claimed.compare_exchange_weak(
                cur,
                cur + grant,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return grant,
                Err(now) => cur = now,
            }
        }
    }
}

/// Builds the messages of a run: a shared body, or one stamped with the send time.
#[derive(Clone)]
struct Bodies {
    topic: String,
    stamped: bool,
    shared: Message,
}

impl Bodies {
    fn new(topic: &str, size: usize, stamped: bool) -> Bodies {
        let size = if stamped { size.max(8) } else { size };
        let body: Vec<u8> = (0..size).map(|i| ((i * 7 + 13) % 251) as u8).collect();
        Bodies {
            topic: topic.to_owned(),
            stamped,
            shared: Message::new(topic, body),
        }
    }
    fn next(&self) -> Message {
        if !self.stamped {
            return self.shared.clone();
        }
        let mut body = self.shared.body.to_vec();
        body[..8].copy_from_slice(&now_micros().to_be_bytes());
        Message::new(self.topic.clone(), body)
    }
}

/// Run the senders until the budget is spent; returns the wall time.
async fn run_senders(
    producer: &Producer,
    send: &SendArgs,
    bodies: &Bodies,
    budget: Arc<Budget>,
    stats: Arc<SendStats>,
) -> Duration {
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..send.threads {
        let (p, budget, stats, bodies, mode) = (
            producer.clone(),
            budget.clone(),
            stats.clone(),
            bodies.clone(),
            send.mode,
        );
        let (batch, inflight) = (u64::from(send.batch), send.inflight as usize);
        workers.spawn(async move {
            match mode {
                SendMode::Sync | SendMode::Oneway => {
                    while budget.claim(1) == 1 {
                        let t = Instant::now();
                        let r = if mode == SendMode::Sync {
                            p.send(bodies.next()).await.map(|_| ())
                        } else {
                            p.send_oneway(bodies.next()).await
                        };
                        match r {
                            Ok(()) => {
                                stats.latency.record_since(t);
                                stats.sent.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => stats.errors.add(&e),
                        }
                    }
                }
                SendMode::Batch => loop {
                    let n = budget.claim(batch);
                    if n == 0 {
                        break;
                    }
                    let msgs = (0..n).map(|_| bodies.next()).collect();
                    let t = Instant::now();
                    match p.send_batch(msgs).await {
                        Ok(_) => {
                            stats.latency.record_since(t);
                            stats.sent.fetch_add(n, Ordering::Relaxed);
                        }
                        Err(e) => stats.errors.add(&e),
                    }
                },
                SendMode::Async => {
                    let mut pending = tokio::task::JoinSet::new();
                    loop {
                        while pending.len() < inflight && budget.claim(1) == 1 {
                            let (p, stats, msg) = (p.clone(), stats.clone(), bodies.next());
                            pending.spawn(async move {
                                let t = Instant::now();
                                match p.send(msg).await {
                                    Ok(_) => {
                                        stats.latency.record_since(t);
                                        stats.sent.fetch_add(1, Ordering::Relaxed);
                                    }
                                    Err(e) => stats.errors.add(&e),
                                }
                            });
                        }
                        if pending.join_next().await.is_none() {
                            break;
                        }
                    }
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
    started.elapsed()
}

/// Print a line per second until `done`.
fn spawn_reporter<F>(done: Stop, mut line: F) -> tokio::task::JoinHandle<()>
where
    F: FnMut(f64) -> String + Send + 'static,
{
    tokio::spawn(async move {
        let started = Instant::now();
        let mut last = Instant::now();
        let mut tick = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_secs(1),
            Duration::from_secs(1),
        );
        loop {
            tick.tick().await;
            if done.is_set() {
                return;
            }
            let dt = last.elapsed().as_secs_f64().max(1e-3);
            last = Instant::now();
            println!("[{:>4}s] {}", started.elapsed().as_secs(), line(dt));
        }
    })
}

/// Per-second send line from the stats.
fn send_line(stats: Arc<SendStats>) -> impl FnMut(f64) -> String + Send + 'static {
    let mut prev_sent = 0;
    let mut prev = stats.latency.snapshot();
    move |dt| {
        let sent = stats.sent.load(Ordering::Relaxed);
        let snap = stats.latency.snapshot();
        let interval = snap.since(&prev, stats.latency.take_interval_max());
        let line = format!(
            "send tps {:.0} | {} | errors {} | stall {:.1}",
            (sent - prev_sent) as f64 / dt,
            interval.line(),
            stats.errors.total(),
            StallObserver::take_interval_max_ms()
        );
        prev_sent = sent;
        prev = snap;
        line
    }
}

fn start_budget(send: &SendArgs, stop: &Stop) -> Arc<Budget> {
    let secs = match (send.duration, send.messages) {
        (Some(d), _) => d,
        (None, Some(_)) => 86_400,
        (None, None) => 10,
    };
    Arc::new(Budget {
        limit: send.messages,
        claimed: AtomicU64::new(0),
        deadline: Instant::now() + Duration::from_secs(secs),
        stop: stop.clone(),
    })
}

async fn start_producer(namesrv: &str, send: &SendArgs) -> Result<Producer, String> {
    let p = Producer::new(ProducerConfig {
        namesrv_addr: namesrv.to_owned(),
        group: send.producer_group.clone(),
        compress_msg_body_over: if send.no_compress { usize::MAX } else { 4096 },
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    p.start().await.map_err(|e| e.to_string())?;
    Ok(p)
}

fn send_summary(
    send: &SendArgs,
    stats: &SendStats,
    elapsed: Duration,
) -> (String, serde_json::Value) {
    let sent = stats.sent.load(Ordering::Relaxed);
    let secs = elapsed.as_secs_f64().max(1e-3);
    let snap = stats.latency.snapshot();
    let text = format!(
        "mode={} threads={} size={}{}: sent {sent} in {secs:.2} s, tps {:.1}, {}, errors {}",
        send.mode.name(),
        send.threads,
        send.size,
        if send.mode == SendMode::Batch {
            format!(" batch={}", send.batch)
        } else {
            String::new()
        },
        sent as f64 / secs,
        snap.line(),
        stats.errors.total()
    );
    let json = serde_json::json!({
        "mode": send.mode.name(),
        "threads": send.threads,
        "size": send.size,
        "batch": if send.mode == SendMode::Batch { send.batch } else { 1 },
        "messages": sent,
        "elapsed_secs": round3(secs),
        "tps": round3(sent as f64 / secs),
        "latency_ms": snap.json(),
        "errors": stats.errors.total(),
        "error_kinds": stats.errors.json(),
    });
    (text, json)
}

async fn produce(a: ProduceArgs) -> Result<(), String> {
    ensure_topic(&a.common, &a.send.cluster, a.send.queues, false).await?;
    let producer = start_producer(&a.common.namesrv, &a.send).await?;
    let stop = Stop::default();
    let ctrl_c = stop.on_ctrl_c();
    let stats = Arc::new(SendStats::default());
    let budget = start_budget(&a.send, &stop);
    let done = Stop::default();
    let reporter = spawn_reporter(done.clone(), send_line(stats.clone()));
    let bodies = Bodies::new(&a.common.topic, a.send.size as usize, false);
    let observer = StallObserver::start();
    let elapsed = run_senders(&producer, &a.send, &bodies, budget, stats.clone()).await;
    let stalls = observer.finish();
    done.set();
    reporter.abort();
    ctrl_c.abort();
    producer.shutdown().await;
    let (text, mut json) = send_summary(&a.send, &stats, elapsed);
    json["command"] = "produce".into();
    json["topic"] = a.common.topic.clone().into();
    json["observer_stall_ms"] = stalls.json();
    println!("SUMMARY produce {text}");
    println!("SUMMARY {}", stalls.line());
    write_json(&a.common.json, &json)
}

// ---- consume ---------------------------------------------------------------------------------

#[derive(Default)]
struct ConsumeStats {
    received: AtomicU64,
    bytes: AtomicU64,
    /// Micros since the run started of the last arrival.
    last_arrival: AtomicU64,
    errors: Errors,
}

async fn start_offset(
    c: &PullConsumer,
    q: &MessageQueue,
    from: StartFrom,
) -> Result<i64, ClientError> {
    match from {
        StartFrom::Committed => match c.committed(q).await? {
            Some(o) => Ok(o),
            None => c.min_offset(q).await,
        },
        StartFrom::First => c.min_offset(q).await,
        StartFrom::Last => c.max_offset(q).await,
    }
}

async fn drain_queue(
    c: PullConsumer,
    q: MessageQueue,
    a: Arc<ConsumeArgs>,
    stats: Arc<ConsumeStats>,
    stop: Stop,
    started: Instant,
) -> Option<(MessageQueue, i64)> {
    let mut offset = loop {
        match start_offset(&c, &q, a.from).await {
            Ok(o) => break o,
            Err(e) => {
                stats.errors.add(&e);
                if stop.is_set() {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    while !stop.is_set() {
        match c.pull(&q, offset, a.batch, Duration::from_secs(1)).await {
            Ok(r) => {
                if r.status == PullStatus::Found && !r.messages.is_empty() {
                    let n = r.messages.len() as u64;
                    let bytes: usize = r.messages.iter().map(|m| m.body.len()).sum();
                    stats.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
                    stats
                        .last_arrival
                        .fetch_max(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                    let total = stats.received.fetch_add(n, Ordering::Relaxed) + n;
                    if a.messages.is_some_and(|limit| total >= limit) {
                        stop.set();
                    }
                }
                offset = r.next_begin_offset;
            }
            Err(e) => {
                stats.errors.add(&e);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    Some((q, offset))
}

async fn consume(a: ConsumeArgs) -> Result<(), String> {
    let a = Arc::new(a);
    let consumer = PullConsumer::new(PullConsumerConfig {
        namesrv_addr: a.common.namesrv.clone(),
        group: a.group.clone(),
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    consumer.start().await.map_err(|e| e.to_string())?;
    let queues = consumer
        .queues(&a.common.topic)
        .await
        .map_err(|e| format!("queues of {}: {e}", a.common.topic))?;
    println!("draining {} queue(s) of {}", queues.len(), a.common.topic);
    let stop = Stop::default();
    let ctrl_c = stop.on_ctrl_c();
    let stats = Arc::new(ConsumeStats::default());
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for q in queues {
        tasks.spawn(drain_queue(
            consumer.clone(),
            q,
            a.clone(),
            stats.clone(),
            stop.clone(),
            started,
        ));
    }
    // Reporter and stop conditions.
    let watcher = {
        let (stats, stop, a) = (stats.clone(), stop.clone(), a.clone());
        tokio::spawn(async move {
            let mut prev = 0;
            let mut tick = tokio::time::interval_at(
                tokio::time::Instant::now() + Duration::from_secs(1),
                Duration::from_secs(1),
            );
            while !stop.is_set() {
                tick.tick().await;
                let total = stats.received.load(Ordering::Relaxed);
                println!(
                    "[{:>4}s] consume tps {} | total {total} | errors {}",
                    started.elapsed().as_secs(),
                    total - prev,
                    stats.errors.total()
                );
                prev = total;
                let last = Duration::from_micros(stats.last_arrival.load(Ordering::Relaxed));
                let idle = started.elapsed().saturating_sub(last);
                if idle >= Duration::from_secs(a.idle_secs)
                    || started.elapsed() >= Duration::from_secs(a.duration)
                {
                    stop.set();
                }
            }
        })
    };
    let mut reached = Vec::new();
    while let Some(r) = tasks.join_next().await {
        if let Ok(Some(pos)) = r {
            reached.push(pos);
        }
    }
    watcher.abort();
    ctrl_c.abort();
    if !a.no_commit {
        for (q, offset) in &reached {
            if let Err(e) = consumer.commit(q, *offset).await {
                eprintln!("commit {q:?} at {offset} failed: {e}");
            }
        }
    }
    consumer.shutdown().await;
    let total = stats.received.load(Ordering::Relaxed);
    let wall = started.elapsed().as_secs_f64();
    let active = (stats.last_arrival.load(Ordering::Relaxed) as f64 / 1e6).max(1e-3);
    let tps = if total == 0 {
        0.0
    } else {
        total as f64 / active
    };
    println!(
        "SUMMARY consume topic={} queues={}: received {total} ({} bytes) in {active:.2} s, tps {tps:.1}, errors {}",
        a.common.topic,
        reached.len(),
        stats.bytes.load(Ordering::Relaxed),
        stats.errors.total()
    );
    let json = serde_json::json!({
        "command": "consume",
        "topic": a.common.topic,
        "queues": reached.len(),
        "messages": total,
        "bytes": stats.bytes.load(Ordering::Relaxed),
        "elapsed_secs": round3(active),
        "wall_secs": round3(wall),
        "tps": round3(tps),
        "errors": stats.errors.total(),
        "error_kinds": stats.errors.json(),
    });
    write_json(&a.common.json, &json)
}

// ---- e2e -------------------------------------------------------------------------------------

#[derive(Default)]
struct ReceiveStats {
    received: AtomicU64,
    latency: Histogram,
    last_arrival: Mutex<Option<Instant>>,
}

async fn e2e(a: E2eArgs) -> Result<(), String> {
    ensure_topic(&a.common, &a.send.cluster, a.send.queues, true).await?;
    let group = a.group.clone().unwrap_or_else(|| {
        format!(
            "ferrocket_bench_e2e_{}_{}",
            std::process::id(),
            now_micros() / 1000
        )
    });
    let recv = Arc::new(ReceiveStats::default());
    let consumer = PushConsumer::new(PushConsumerConfig {
        namesrv_addr: a.common.namesrv.clone(),
        group: group.clone(),
        consume_batch_max_size: 32,
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    consumer
        .subscribe(&a.common.topic, "*")
        .map_err(|e| e.to_string())?;
    {
        let recv = recv.clone();
        consumer.register_listener(move |msgs: &[MessageExt]| {
            let now = now_micros();
            for m in msgs {
                if let Some(stamp) = m.body.get(..8) {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(stamp);
                    recv.latency
                        .record(now.saturating_sub(u64::from_be_bytes(b)));
                }
            }
            recv.received
                .fetch_add(msgs.len() as u64, Ordering::Relaxed);
            *recv.last_arrival.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
            ConsumeStatus::Success
        });
    }
    consumer.start().await.map_err(|e| e.to_string())?;
    let result = e2e_with_consumer(&a, &consumer, recv.clone(), &group).await;
    consumer.shutdown().await;
    result
}

async fn e2e_with_consumer(
    a: &E2eArgs,
    consumer: &PushConsumer,
    recv: Arc<ReceiveStats>,
    group: &str,
) -> Result<(), String> {
    // Wait until the consumer owns every queue, so that no message predates its start offset.
    let admin = Admin::new(&a.common.namesrv).map_err(|e| e.to_string())?;
    let route = admin.topic_route(&a.common.topic).await;
    admin.shutdown().await;
    let route = route.map_err(|e| e.to_string())?;
    let want: usize = route
        .queue_datas
        .iter()
        .filter(|q| q.perm & 4 != 0)
        .map(|q| q.read_queue_nums.max(0) as usize)
        .sum();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let have = consumer
            .assigned_queues()
            .iter()
            .filter(|q| q.topic == a.common.topic)
            .count();
        if have >= want {
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!("consumer got {have} of {want} queues in 30 s"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("consumer group {group} owns {want} queue(s); sending");

    let producer = start_producer(&a.common.namesrv, &a.send).await?;
    let stop = Stop::default();
    let ctrl_c = stop.on_ctrl_c();
    let stats = Arc::new(SendStats::default());
    let budget = start_budget(&a.send, &stop);
    let done = Stop::default();
    let reporter = {
        let mut send = send_line(stats.clone());
        let recv = recv.clone();
        let mut prev_recv = 0;
        let mut prev = recv.latency.snapshot();
        spawn_reporter(done.clone(), move |dt| {
            let got = recv.received.load(Ordering::Relaxed);
            let snap = recv.latency.snapshot();
            let interval = snap.since(&prev, recv.latency.take_interval_max());
            let line = format!(
                "{} || recv tps {:.0} | e2e p50 {:.3} ms | p99 {:.3} | max {:.3}",
                send(dt),
                (got - prev_recv) as f64 / dt,
                ms(interval.quantile(0.5)),
                ms(interval.quantile(0.99)),
                ms(interval.max)
            );
            prev_recv = got;
            prev = snap;
            line
        })
    };
    let bodies = Bodies::new(&a.common.topic, a.send.size as usize, true);
    let observer = StallObserver::start();
    let send_elapsed = run_senders(&producer, &a.send, &bodies, budget, stats.clone()).await;
    let stalls = observer.finish();
    producer.shutdown().await;

    // Wait for the stragglers.
    let sent = stats.sent.load(Ordering::Relaxed);
    let idle = Duration::from_secs(a.idle_secs);
    let wait_started = Instant::now();
    while recv.received.load(Ordering::Relaxed) < sent && !stop.is_set() {
        let last = *recv.last_arrival.lock().unwrap_or_else(|p| p.into_inner());
        let quiet_since = last.map_or(wait_started, |l| l.max(wait_started));
        if quiet_since.elapsed() >= idle {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done.set();
    reporter.abort();
    ctrl_c.abort();

    let received = recv.received.load(Ordering::Relaxed);
    let snap = recv.latency.snapshot();
    let (send_text, send_json) = send_summary(&a.send, &stats, send_elapsed);
    println!("SUMMARY e2e send {send_text}");
    println!(
        "SUMMARY e2e receive: received {received} of {sent}, e2e {}",
        snap.line()
    );
    println!("SUMMARY {}", stalls.line());
    let json = serde_json::json!({
        "command": "e2e",
        "topic": a.common.topic,
        "group": group,
        "send": send_json,
        "receive": {
            "messages": received,
            "missing": sent.saturating_sub(received),
            "latency_ms": snap.json(),
        },
        "observer_stall_ms": stalls.json(),
    });
    write_json(&a.common.json, &json)
}

/// Longest oversleep the stall observer saw since the per-second line last read it (µs).
static STALL_INTERVAL_MAX_US: AtomicU64 = AtomicU64::new(0);

/// A thread that does nothing but sleep 1 ms at a time and note how much later than asked it
/// wakes, for the length of a run (as jHiccup does for a JVM): how long a thread that becomes
/// runnable waits for a CPU on this machine during the run. More runnable threads than cores
/// (the client's and the broker's) and a hypervisor that deschedules the machine both show in
/// it. A request that meets such a wait anywhere on its path takes that long, whichever broker
/// serves it.
struct StallObserver {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<StallStats>,
}

#[derive(Default, Debug, Clone, Copy)]
struct StallStats {
    max_us: u64,
    over_5ms: u64,
    over_15ms: u64,
}

impl StallObserver {
    const PERIOD: Duration = Duration::from_millis(1);

    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("stall-observer".into())
            .spawn(move || {
                let mut st = StallStats::default();
                while !flag.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    std::thread::sleep(Self::PERIOD);
                    let late = t.elapsed().saturating_sub(Self::PERIOD).as_micros() as u64;
                    st.max_us = st.max_us.max(late);
                    st.over_5ms += u64::from(late > 5_000);
                    st.over_15ms += u64::from(late > 15_000);
                    STALL_INTERVAL_MAX_US.fetch_max(late, Ordering::Relaxed);
                }
                st
            })
            .expect("spawn the stall observer");
        StallObserver { stop, handle }
    }

    fn finish(self) -> StallStats {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or_default()
    }

    /// The longest stall since the last call (for the per-second lines).
    fn take_interval_max_ms() -> f64 {
        ms(STALL_INTERVAL_MAX_US.swap(0, Ordering::Relaxed))
    }
}

impl StallStats {
    fn line(&self) -> String {
        format!(
            "idle observer thread's longest oversleep {:.1} ms ({} over 5 ms, {} over 15 ms)",
            ms(self.max_us),
            self.over_5ms,
            self.over_15ms
        )
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "max": round3(ms(self.max_us)),
            "over_5ms": self.over_5ms,
            "over_15ms": self.over_15ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut prev = 0;
        for v in (0..100_000u64).chain([u64::MAX / 3, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= prev || v > 100_000);
            prev = b;
            assert!(b < BUCKETS);
            assert!(bucket_low(b) <= v, "v={v} b={b}");
            if b + 1 < BUCKETS {
                assert!(v < bucket_low(b + 1), "v={v} b={b}");
            }
            let mid = bucket_mid(b);
            let err = mid.abs_diff(v) as f64 / (v.max(1)) as f64;
            assert!(err <= 1.0 / 16.0, "v={v} mid={mid}");
        }
    }

    #[test]
    fn quantiles() {
        let h = Histogram::default();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let s = h.snapshot();
        let p50 = s.quantile(0.5) as f64;
        assert!((p50 - 500_000.0).abs() / 500_000.0 < 0.07, "{p50}");
        let p99 = s.quantile(0.99) as f64;
        assert!((p99 - 990_000.0).abs() / 990_000.0 < 0.07, "{p99}");
        assert_eq!(s.quantile(1.0), 1_000_000);
        assert_eq!(Snapshot::default().quantile(0.5), 0);
        let later = h.snapshot().since(&s, 0);
        assert_eq!(later.count, 0);
    }
}
