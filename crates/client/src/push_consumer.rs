//! [`PushConsumer`]: Java `DefaultMQPushConsumer` in CLUSTERING mode with concurrent
//! (not orderly) consumption.
//!
//! Life cycle (spec §6.4, §6.11):
//! * `start`: subscribe `%RETRY%<group>` with `*` too, fetch routes, HEART_BEAT to every broker,
//!   then rebalance at once;
//! * rebalance every 20 s and whenever a broker sends NOTIFY_CONSUMER_IDS_CHANGED (40): the
//!   readable queues of each topic are shared among GET_CONSUMER_LIST_BY_GROUP's members with
//!   `AllocateMessageQueueAveragely`; a new queue starts at the group's committed offset, else as
//!   `consume_from_where` says (QUERY_CONSUMER_OFFSET → GET_MAX_OFFSET / 0 /
//!   SEARCH_OFFSET_BY_TIMESTAMP);
//! * per assigned queue, one pull task (PULL_MESSAGE, long polling: suspend 15 s, timeout 30 s,
//!   committing the consumed offset in the pull) and one consume task calling the listener,
//!   connected by a bounded channel so a slow listener stops the pulls;
//! * consumed offsets (next offset to consume) go to the broker every 5 s (oneway
//!   UPDATE_CONSUMER_OFFSET), when a queue is taken away and at shutdown (synchronous);
//! * a batch the listener answers `ReconsumeLater` for (or panics on) goes back with
//!   CONSUMER_SEND_MSG_BACK (36); if that fails the client sends it to `%RETRY%<group>` itself,
//!   and if that fails too it is consumed again locally after 5 s. Its offset only counts as
//!   consumed once one of these worked, so delivery is at-least-once.
//!
//! The listener runs on the tokio runtime: keep it short, or hand work to a channel or
//! `spawn_blocking`. One queue's messages are consumed in order, queues in parallel.
//!
//! Not implemented yet: BROADCASTING (local offset store), orderly consumption (queue locks 41/42),
//! SQL92 filters, RESET_CONSUMER_CLIENT_OFFSET (220) and GET_CONSUMER_RUNNING_INFO (307).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use ferrocket_protocol::body::{ConsumerData, HeartbeatData, MessageQueue};
use ferrocket_protocol::message::{property, MessageExt};
use ferrocket_protocol::{names, RemotingCommand, RequestCode};
use ferrocket_remoting::{Channel, Router};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

use crate::consumer::{self, pull_flag, ConsumeFromWhere, PullSpec, SEND_BACK_TIMEOUT};
use crate::error::ClientError;
use crate::instance::{lock, now_ms, ClientInstance};
use crate::message::{restore_retry_topic, Message, PullStatus, TagFilter};
use crate::producer::{prepare, send_kernel, Mode, Target};
use crate::route::{allocate_averagely, subscribe_queues, PublishInfo};

/// What the listener says about a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeStatus {
    /// Consumed; the offset may move past it.
    Success,
    /// Failed; deliver again later through `%RETRY%<group>` (delay level `3 + reconsumeTimes`).
    ReconsumeLater,
}

/// Receives messages (Java `MessageListenerConcurrently`). Closures
/// `Fn(&[MessageExt]) -> ConsumeStatus` implement it.
pub trait MessageListener: Send + Sync + 'static {
    /// Consume up to `consume_batch_max_size` messages of one queue, in queue order.
    fn consume(&self, msgs: &[MessageExt]) -> ConsumeStatus;
}

impl<F> MessageListener for F
where
    F: Fn(&[MessageExt]) -> ConsumeStatus + Send + Sync + 'static,
{
    fn consume(&self, msgs: &[MessageExt]) -> ConsumeStatus {
        self(msgs)
    }
}

/// Settings of a [`PushConsumer`]; defaults are Java's.
#[derive(Debug, Clone)]
pub struct PushConsumerConfig {
    /// Nameservers, `host:port;host2:port`.
    pub namesrv_addr: String,
    /// Consumer group.
    pub group: String,
    /// Instance name in the client id; default `<pid>#<nanos>`.
    pub instance_name: Option<String>,
    /// Start position of queues the group has no offset for.
    pub consume_from_where: ConsumeFromWhere,
    /// Messages per pull (32).
    pub pull_batch_size: i32,
    /// Messages per listener call (1).
    pub consume_batch_max_size: usize,
    /// Messages pulled but not yet consumed, per queue, before pulling pauses (1000).
    pub pull_threshold_for_queue: usize,
    /// Failures after which a message goes to `%DLQ%<group>` (16).
    pub max_reconsume_times: i32,
    /// Long-poll hold asked of the broker (15 s).
    pub broker_suspend_max_time: Duration,
    /// Timeout of one pull (30 s).
    pub consumer_timeout_when_suspend: Duration,
    /// Rebalance period (20 s).
    pub rebalance_interval: Duration,
    /// Offset persist period (5 s).
    pub persist_consumer_offset_interval: Duration,
    /// Heartbeat period (30 s).
    pub heartbeat_broker_interval: Duration,
    /// Route refresh period (30 s).
    pub poll_name_server_interval: Duration,
}

impl Default for PushConsumerConfig {
    fn default() -> Self {
        PushConsumerConfig {
            namesrv_addr: "127.0.0.1:9876".into(),
            group: consumer::DEFAULT_CONSUMER_GROUP.into(),
            instance_name: None,
            consume_from_where: ConsumeFromWhere::LastOffset,
            pull_batch_size: 32,
            consume_batch_max_size: 1,
            pull_threshold_for_queue: 1000,
            max_reconsume_times: 16,
            broker_suspend_max_time: Duration::from_secs(15),
            consumer_timeout_when_suspend: Duration::from_secs(30),
            rebalance_interval: Duration::from_secs(20),
            persist_consumer_offset_interval: Duration::from_secs(5),
            heartbeat_broker_interval: Duration::from_secs(30),
            poll_name_server_interval: Duration::from_secs(30),
        }
    }
}

const CREATED: u8 = 0;
const RUNNING: u8 = 1;
const STOPPED: u8 = 2;

/// Pause after a failed pull (Java `pullTimeDelayMillsWhenException`, 3 s; 1 s for broker codes).
const PULL_DELAY_ON_TRANSPORT_ERROR: Duration = Duration::from_secs(3);
const PULL_DELAY_ON_BROKER_ERROR: Duration = Duration::from_secs(1);
/// Pause before consuming locally again when a failed batch could not be sent back.
const RECONSUME_LOCALLY_AFTER: Duration = Duration::from_secs(5);
/// How long shutdown waits for a queue's listener to finish its current batch.
const SHUTDOWN_CONSUME_WAIT: Duration = Duration::from_secs(10);

/// A clustering push consumer. Cheap to clone.
#[derive(Clone)]
pub struct PushConsumer {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: PushConsumerConfig,
    client: ClientInstance,
    retry_topic: String,
    subscriptions: Mutex<BTreeMap<String, TagFilter>>,
    sub_version: i64,
    listener: Mutex<Option<Arc<dyn MessageListener>>>,
    state: AtomicU8,
    rebalance_now: Arc<Notify>,
    queues: Mutex<HashMap<MessageQueue, Arc<QueueState>>>,
    cid_broker_rr: AtomicUsize,
}

/// One assigned queue: its tasks and offsets.
struct QueueState {
    queue: MessageQueue,
    stop: watch::Sender<bool>,
    /// Next offset to consume (committable); -1 = unknown.
    consumed: AtomicI64,
    /// Last offset sent to the broker.
    persisted: AtomicI64,
    /// Batches pulled and not yet fully consumed.
    in_flight: AtomicUsize,
    consume_task: Mutex<Option<JoinHandle<()>>>,
}

impl QueueState {
    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }
}

/// A pulled batch handed from the pull task to the consume task.
struct Batch {
    msgs: Vec<MessageExt>,
    next_offset: i64,
}

impl PushConsumer {
    pub fn new(cfg: PushConsumerConfig) -> Result<PushConsumer, ClientError> {
        let rebalance_now = Arc::new(Notify::new());
        let notify = rebalance_now.clone();
        let router = Router::new().route_unbounded(
            RequestCode::NOTIFY_CONSUMER_IDS_CHANGED,
            move |_ch: Channel, _req: RemotingCommand| {
                let notify = notify.clone();
                async move {
                    notify.notify_one();
                    None
                }
            },
        );
        let client = ClientInstance::new(&cfg.namesrv_addr, cfg.instance_name.as_deref(), router)?;
        let retry_topic = names::retry_topic(&cfg.group);
        Ok(PushConsumer {
            inner: Arc::new(Inner {
                cfg,
                client,
                retry_topic,
                subscriptions: Mutex::new(BTreeMap::new()),
                sub_version: now_ms(),
                listener: Mutex::new(None),
                state: AtomicU8::new(CREATED),
                rebalance_now,
                queues: Mutex::new(HashMap::new()),
                cid_broker_rr: AtomicUsize::new(0),
            }),
        })
    }

    pub fn client_id(&self) -> &str {
        &self.inner.client.client_id
    }

    /// Subscribe `topic` with a tag expression (`*`, `TagA`, `TagA || TagB`). Before `start`.
    pub fn subscribe(&self, topic: &str, tag_expression: &str) -> Result<(), ClientError> {
        if self.inner.state.load(Ordering::Acquire) != CREATED {
            return Err(ClientError::State("subscribe before start"));
        }
        names::validate_topic(topic).map_err(ClientError::InvalidArgument)?;
        lock(&self.inner.subscriptions).insert(topic.to_owned(), TagFilter::parse(tag_expression));
        Ok(())
    }

    /// Set the listener. Before `start`.
    pub fn register_listener(&self, listener: impl MessageListener) {
        *lock(&self.inner.listener) = Some(Arc::new(listener));
    }

    /// Announce the group and start pulling (see the module docs).
    pub async fn start(&self) -> Result<(), ClientError> {
        let inner = &self.inner;
        consumer::check_group(&inner.cfg.group)?;
        if lock(&inner.listener).is_none() {
            return Err(ClientError::InvalidArgument(
                "no message listener registered".into(),
            ));
        }
        if lock(&inner.subscriptions).is_empty() {
            return Err(ClientError::InvalidArgument("no subscription".into()));
        }
        if inner.cfg.pull_batch_size <= 0 || inner.cfg.consume_batch_max_size == 0 {
            return Err(ClientError::InvalidArgument(
                "pull_batch_size and consume_batch_max_size must be positive".into(),
            ));
        }
        if inner
            .state
            .compare_exchange(CREATED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(ClientError::State("the consumer was already started"));
        }
        lock(&inner.subscriptions).insert(inner.retry_topic.clone(), TagFilter::parse("*"));
        inner.refresh_routes().await;
        inner.heartbeat().await;

        let weak = Arc::downgrade(inner);
        let client = &inner.client;
        client.spawn_periodic(
            weak.clone(),
            inner.cfg.poll_name_server_interval,
            inner.cfg.poll_name_server_interval,
            |c: Arc<Inner>| async move { c.refresh_routes().await },
        );
        client.spawn_periodic(
            weak.clone(),
            inner.cfg.heartbeat_broker_interval,
            inner.cfg.heartbeat_broker_interval,
            |c: Arc<Inner>| async move { c.heartbeat().await },
        );
        client.spawn_periodic(
            weak.clone(),
            inner.cfg.persist_consumer_offset_interval,
            inner.cfg.persist_consumer_offset_interval,
            |c: Arc<Inner>| async move { c.persist_offsets(true).await },
        );
        client.adopt(tokio::spawn(rebalance_loop(
            weak,
            inner.rebalance_now.clone(),
            inner.cfg.rebalance_interval,
            client.stop_signal(),
        )));
        tracing::info!(group = %inner.cfg.group, client_id = %self.client_id(), "push consumer started");
        Ok(())
    }

    /// Stop pulling, let each listener finish its batch, commit offsets, unregister, close.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        if inner.state.swap(STOPPED, Ordering::AcqRel) != RUNNING {
            return;
        }
        inner.client.stop_tasks();
        let states: Vec<Arc<QueueState>> = lock(&inner.queues).drain().map(|(_, s)| s).collect();
        for s in &states {
            s.stop.send_replace(true);
        }
        for s in &states {
            let task = lock(&s.consume_task).take();
            if let Some(t) = task {
                let _ = tokio::time::timeout(SHUTDOWN_CONSUME_WAIT, t).await;
            }
        }
        for s in &states {
            inner.persist_one(s, false).await;
        }
        inner.client.unregister(None, Some(&inner.cfg.group)).await;
        inner.client.close().await;
        tracing::info!(group = %inner.cfg.group, "push consumer shut down");
    }

    /// The queues this member currently consumes (retry topic included), sorted.
    pub fn assigned_queues(&self) -> Vec<MessageQueue> {
        let mut v: Vec<MessageQueue> = lock(&self.inner.queues).keys().cloned().collect();
        v.sort();
        v
    }

    /// Rebalance now instead of waiting for the timer or a broker notification.
    pub fn rebalance_now(&self) {
        self.inner.rebalance_now.notify_one();
    }
}

async fn rebalance_loop(
    owner: Weak<Inner>,
    now: Arc<Notify>,
    period: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        {
            let Some(inner) = owner.upgrade() else { return };
            inner.rebalance().await;
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = now.notified() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

impl Inner {
    fn running(&self) -> bool {
        self.state.load(Ordering::Acquire) == RUNNING
    }

    async fn refresh_routes(&self) {
        let topics: Vec<String> = lock(&self.subscriptions).keys().cloned().collect();
        for t in topics {
            match self.client.update_route(&t).await {
                Ok(Some(_)) => {}
                Ok(None) => tracing::debug!(topic = %t, "no route for subscribed topic yet"),
                Err(e) => tracing::debug!(topic = %t, error = %e, "route refresh failed"),
            }
        }
    }

    fn heartbeat_data(&self) -> HeartbeatData {
        let subs = lock(&self.subscriptions)
            .iter()
            .map(|(t, f)| f.subscription_data(t, self.sub_version))
            .collect();
        HeartbeatData {
            client_id: self.client.client_id.clone(),
            consumer_data_set: vec![ConsumerData {
                consume_from_where: self.cfg.consume_from_where.wire_name().into(),
                consume_type: "CONSUME_PASSIVELY".into(),
                group_name: self.cfg.group.clone(),
                message_model: "CLUSTERING".into(),
                subscription_data_set: subs,
                unit_mode: false,
            }],
            ..Default::default()
        }
    }

    async fn heartbeat(&self) {
        let data = self.heartbeat_data();
        self.client.heartbeat(&data, false).await;
    }

    /// One rebalance over every subscribed topic.
    async fn rebalance(self: &Arc<Self>) {
        if !self.running() {
            return;
        }
        let topics: Vec<(String, TagFilter)> = lock(&self.subscriptions)
            .iter()
            .map(|(t, f)| (t.clone(), f.clone()))
            .collect();
        for (topic, filter) in topics {
            let Some(mine) = self.allocate(&topic).await else {
                continue;
            };
            let mine: HashSet<MessageQueue> = mine.into_iter().collect();
            let current: Vec<MessageQueue> = lock(&self.queues)
                .keys()
                .filter(|q| q.topic == topic)
                .cloned()
                .collect();
            for q in current.iter().filter(|q| !mine.contains(*q)) {
                let state = lock(&self.queues).remove(q);
                if let Some(s) = state {
                    tracing::info!(group = %self.cfg.group, queue = ?q, "queue released");
                    s.stop.send_replace(true);
                }
            }
            let current: HashSet<MessageQueue> = current.into_iter().collect();
            let mut added: Vec<&MessageQueue> =
                mine.iter().filter(|q| !current.contains(*q)).collect();
            added.sort();
            for q in added {
                if !self.running() {
                    return;
                }
                match self.start_offset(q).await {
                    Ok(offset) => {
                        tracing::info!(group = %self.cfg.group, queue = ?q, offset, "queue assigned");
                        self.spawn_queue(q.clone(), filter.clone(), offset);
                    }
                    Err(e) => {
                        tracing::warn!(group = %self.cfg.group, queue = ?q, error = %e, "cannot compute start offset; retrying at next rebalance")
                    }
                }
            }
        }
    }

    /// This member's share of `topic`'s queues, or `None` when it cannot be computed now (no
    /// route, no answer), in which case the current assignment stays.
    async fn allocate(&self, topic: &str) -> Option<Vec<MessageQueue>> {
        let route = match self.client.cached_route(topic) {
            Some(r) => r,
            None => self.client.update_route(topic).await.ok()??,
        };
        let mq_all = subscribe_queues(topic, &route);
        if mq_all.is_empty() {
            return None;
        }
        let addrs: Vec<String> = route
            .broker_datas
            .iter()
            .filter_map(|bd| bd.broker_addrs.values().next().cloned())
            .collect();
        if addrs.is_empty() {
            return None;
        }
        let start = self.cid_broker_rr.fetch_add(1, Ordering::Relaxed);
        let mut cid_all = None;
        for i in 0..addrs.len() {
            let addr = &addrs[(start + i) % addrs.len()];
            match consumer::consumer_ids(&self.client, addr, &self.cfg.group).await {
                Ok(ids) => {
                    cid_all = Some(ids);
                    break;
                }
                Err(e) => {
                    tracing::debug!(topic, broker = %addr, error = %e, "consumer list unavailable")
                }
            }
        }
        let cid_all = cid_all?;
        Some(allocate_averagely(
            &mq_all,
            &cid_all,
            &self.client.client_id,
        ))
    }

    /// Java `computePullFromWhere`.
    async fn start_offset(&self, q: &MessageQueue) -> Result<i64, ClientError> {
        if let Some(o) = consumer::query_offset(&self.client, &self.cfg.group, q, None).await? {
            if o >= 0 {
                return Ok(o);
            }
        }
        let retry = names::is_retry_topic(&q.topic);
        match self.cfg.consume_from_where {
            ConsumeFromWhere::LastOffset if retry => Ok(0),
            ConsumeFromWhere::LastOffset => consumer::queue_offset(&self.client, q, true).await,
            ConsumeFromWhere::FirstOffset => Ok(0),
            ConsumeFromWhere::Timestamp(_) if retry => {
                consumer::queue_offset(&self.client, q, true).await
            }
            ConsumeFromWhere::Timestamp(ts) => consumer::search_offset(&self.client, q, ts).await,
        }
    }

    fn spawn_queue(self: &Arc<Self>, queue: MessageQueue, filter: TagFilter, offset: i64) {
        // Checked under the lock that shutdown drains the table with: nothing starts after it.
        let mut queues = lock(&self.queues);
        if !self.running() {
            return;
        }
        let state = Arc::new(QueueState {
            queue: queue.clone(),
            stop: watch::channel(false).0,
            consumed: AtomicI64::new(offset),
            persisted: AtomicI64::new(-1),
            in_flight: AtomicUsize::new(0),
            consume_task: Mutex::new(None),
        });
        let per_pull = self.cfg.pull_batch_size.max(1) as usize;
        let capacity = (self.cfg.pull_threshold_for_queue / per_pull).max(1);
        let (tx, rx) = mpsc::channel(capacity);
        tokio::spawn(pull_loop(
            Arc::downgrade(self),
            state.clone(),
            filter,
            offset,
            tx,
        ));
        let consume = tokio::spawn(consume_loop(Arc::downgrade(self), state.clone(), rx));
        *lock(&state.consume_task) = Some(consume);
        queues.insert(queue, state);
    }

    /// Send the consumed offsets that changed (oneway for the periodic persister).
    async fn persist_offsets(&self, oneway: bool) {
        let states: Vec<Arc<QueueState>> = lock(&self.queues).values().cloned().collect();
        for s in states {
            self.persist_one(&s, oneway).await;
        }
    }

    async fn persist_one(&self, s: &QueueState, oneway: bool) {
        let offset = s.consumed.load(Ordering::Acquire);
        if offset < 0 || offset == s.persisted.load(Ordering::Acquire) {
            return;
        }
        match consumer::update_offset(&self.client, &self.cfg.group, &s.queue, offset, oneway).await
        {
            Ok(()) => s.persisted.store(offset, Ordering::Release),
            Err(e) => {
                tracing::debug!(queue = ?s.queue, offset, error = %e, "offset update failed")
            }
        }
    }

    /// Hand a failed message back to the broker; `false` if it must be consumed again locally.
    async fn send_back(&self, queue: &MessageQueue, msg: &MessageExt) -> bool {
        let max = self.cfg.max_reconsume_times;
        match consumer::send_back(&self.client, &self.cfg.group, queue, msg, 0, max).await {
            Ok(()) => return true,
            Err(e) => {
                tracing::warn!(queue = ?queue, offset = msg.queue_offset, error = %e, "send back failed; sending to the retry topic")
            }
        }
        match self.send_to_retry_topic(msg).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(queue = ?queue, offset = msg.queue_offset, error = %e, "retry send failed; consuming again later");
                false
            }
        }
    }

    /// The Java client's fallback: send the message to `%RETRY%<group>` with producer group
    /// `CLIENT_INNER_PRODUCER`.
    async fn send_to_retry_topic(&self, msg: &MessageExt) -> Result<(), ClientError> {
        let mut props = msg.properties.clone();
        let tags = props.remove(property::TAGS);
        let keys: Vec<String> = props
            .remove(property::KEYS)
            .map(|k| {
                k.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        props.remove(property::TRANSACTION_PREPARED);
        props.remove(property::DELAY_TIME_LEVEL);
        props
            .entry(property::RETRY_TOPIC.into())
            .or_insert_with(|| msg.topic.clone());
        let origin = msg
            .uniq_key()
            .map_or_else(|| msg.offset_msg_id(), str::to_owned);
        props
            .entry(property::ORIGIN_MESSAGE_ID.into())
            .or_insert(origin);
        props.insert(
            property::RECONSUME_TIME.into(),
            (msg.reconsume_times + 1).to_string(),
        );
        props.insert(
            property::MAX_RECONSUME_TIMES.into(),
            self.cfg.max_reconsume_times.to_string(),
        );
        let retry_msg = Message {
            topic: self.retry_topic.clone(),
            body: msg.body.clone(),
            tags,
            keys,
            properties: props,
            flag: msg.flag,
            delay_level: (3 + msg.reconsume_times).min(i32::from(u8::MAX)),
        };
        let route = self.client.route(&self.retry_topic).await?;
        let info = PublishInfo::new(&self.retry_topic, &route, None, now_ms() as u32);
        let queue = info
            .select(None)
            .cloned()
            .ok_or_else(|| ClientError::NoRoute(self.retry_topic.clone()))?;
        let prepared = prepare(&retry_msg, &self.client.uniq, usize::MAX);
        let target = Target {
            group: names::CLIENT_INNER_PRODUCER_GROUP,
            create_topic_key: names::AUTO_CREATE_TOPIC_KEY_TOPIC,
            default_topic_queue_nums: 4,
        };
        send_kernel(
            &self.client,
            &target,
            &prepared,
            &queue,
            Mode::Sync,
            SEND_BACK_TIMEOUT,
        )
        .await
        .map(|_| ())
    }
}

/// Wait `d` unless the queue is stopped first; `false` if stopped.
async fn pause(state: &QueueState, d: Duration) -> bool {
    let mut stop = state.stop.subscribe();
    tokio::select! {
        _ = tokio::time::sleep(d) => !state.stopped(),
        _ = stop.wait_for(|s| *s) => false,
    }
}

/// Pull `state.queue` from `offset` on, handing batches to the consume task.
async fn pull_loop(
    owner: Weak<Inner>,
    state: Arc<QueueState>,
    filter: TagFilter,
    mut offset: i64,
    tx: mpsc::Sender<Batch>,
) {
    let mut stop = state.stop.subscribe();
    while !state.stopped() {
        let Some(inner) = owner.upgrade() else { return };
        let commit = state.consumed.load(Ordering::Acquire);
        let mut sys_flag = pull_flag::SUSPEND | pull_flag::SUBSCRIPTION;
        if commit > 0 {
            sys_flag |= pull_flag::COMMIT_OFFSET;
        }
        let spec = PullSpec {
            group: &inner.cfg.group,
            queue: &state.queue,
            filter: &filter,
            sub_version: inner.sub_version,
            offset,
            max_nums: inner.cfg.pull_batch_size,
            sys_flag,
            commit_offset: commit.max(0),
            suspend: inner.cfg.broker_suspend_max_time,
            timeout: inner.cfg.consumer_timeout_when_suspend,
        };
        let result = tokio::select! {
            r = consumer::pull(&inner.client, spec) => r,
            _ = stop.wait_for(|s| *s) => return,
        };
        let retry_topic = inner.retry_topic.clone();
        drop(inner);
        match result {
            Ok(r) => match r.status {
                PullStatus::Found if !r.messages.is_empty() => {
                    offset = r.next_begin_offset;
                    let mut msgs = r.messages;
                    for m in &mut msgs {
                        restore_retry_topic(m, &retry_topic);
                    }
                    state.in_flight.fetch_add(1, Ordering::AcqRel);
                    let batch = Batch {
                        msgs,
                        next_offset: r.next_begin_offset,
                    };
                    let sent = tokio::select! {
                        s = tx.send(batch) => s.is_ok(),
                        _ = stop.wait_for(|s| *s) => false,
                    };
                    if !sent {
                        return;
                    }
                }
                PullStatus::Found | PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                    offset = r.next_begin_offset;
                    if state.in_flight.load(Ordering::Acquire) == 0 {
                        state.consumed.fetch_max(offset, Ordering::AcqRel);
                    }
                }
                PullStatus::OffsetIllegal => {
                    tracing::warn!(queue = ?state.queue, offset, next = r.next_begin_offset, "pull offset illegal, moving");
                    offset = r.next_begin_offset;
                    state.consumed.store(offset, Ordering::Release);
                    if let Some(inner) = owner.upgrade() {
                        inner.persist_one(&state, false).await;
                    }
                }
            },
            Err(e) => {
                let delay = if e.is_transport() {
                    PULL_DELAY_ON_TRANSPORT_ERROR
                } else {
                    PULL_DELAY_ON_BROKER_ERROR
                };
                tracing::debug!(queue = ?state.queue, offset, error = %e, "pull failed");
                if !pause(&state, delay).await {
                    return;
                }
            }
        }
    }
}

/// Call the listener for each pulled batch, in order; advance the consumed offset.
async fn consume_loop(owner: Weak<Inner>, state: Arc<QueueState>, mut rx: mpsc::Receiver<Batch>) {
    let mut stop = state.stop.subscribe();
    loop {
        let batch = tokio::select! {
            b = rx.recv() => match b { Some(b) => b, None => break },
            _ = stop.wait_for(|s| *s) => break,
        };
        let Some(inner) = owner.upgrade() else { return };
        let Some(listener) = lock(&inner.listener).clone() else {
            return;
        };
        let chunk_size = inner.cfg.consume_batch_max_size.max(1);
        for chunk in batch.msgs.chunks(chunk_size) {
            loop {
                if state.stopped() {
                    // Not consumed: the next owner gets it from the committed offset.
                    return finish(&inner, &state).await;
                }
                let status = catch_unwind(AssertUnwindSafe(|| listener.consume(chunk)))
                    .unwrap_or_else(|_| {
                        tracing::error!(queue = ?state.queue, "message listener panicked");
                        ConsumeStatus::ReconsumeLater
                    });
                if status == ConsumeStatus::Success {
                    break;
                }
                let mut all_back = true;
                for m in chunk {
                    all_back &= inner.send_back(&state.queue, m).await;
                }
                if all_back {
                    break;
                }
                if !pause(&state, RECONSUME_LOCALLY_AFTER).await {
                    return finish(&inner, &state).await;
                }
            }
            if let Some(last) = chunk.last() {
                state
                    .consumed
                    .fetch_max(last.queue_offset + 1, Ordering::AcqRel);
            }
        }
        state
            .consumed
            .fetch_max(batch.next_offset, Ordering::AcqRel);
        state.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
    if let Some(inner) = owner.upgrade() {
        finish(&inner, &state).await;
    }
}

/// A queue's last act: commit what was consumed (synchronously, so the next owner sees it).
async fn finish(inner: &Inner, state: &QueueState) {
    inner.persist_one(state, false).await;
}
