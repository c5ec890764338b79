//! [`Producer`]: Java `DefaultMQProducer` for normal (non-transactional) messages.
//!
//! What it does on the wire (spec §4.2 send, §6.3, §6.11):
//! * routes from GET_ROUTEINFO_BY_TOPIC (105); a topic without route is sent along `TBW102`'s
//!   route (queue counts capped at `default_topic_queue_nums`) so that the broker auto-creates it;
//! * SEND_MESSAGE_V2 (310) / SEND_BATCH_MESSAGE (320) with the short `a`..`n` header names;
//! * a synchronous send makes `1 + retry_times_when_send_failed` attempts within `send_timeout`,
//!   round-robin over the publish queues and away from the broker that just failed, retrying on
//!   transport errors and the codes Java retries ([`ClientError::is_send_retryable`]);
//! * route refresh and HEART_BEAT (producer group only, masters only) every 30 s; UNREGISTER_CLIENT
//!   at shutdown.
//!
//! Bodies of `compress_msg_body_over` bytes or more are zlib-compressed (sysFlag `0x301`), as Java
//! does. Transactions, request-reply and latency-fault avoidance are not implemented.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrocket_protocol::body::{HeartbeatData, MessageQueue, ProducerData};
use ferrocket_protocol::header::{SendMessageRequestHeader, SendMessageResponseHeader};
use ferrocket_protocol::message::{encode_batch, property, sys_flag, BatchEntry, UniqIdGenerator};
use ferrocket_protocol::names;
use ferrocket_protocol::{RemotingCommand, RequestCode};
use ferrocket_remoting::Router;

use crate::error::ClientError;
use crate::instance::{lock, now_ms, ClientInstance};
use crate::message::{deflate, Message, SendResult, SendStatus};
use crate::route::PublishInfo;

/// Settings of a [`Producer`]; defaults are Java's.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// Nameservers, `host:port;host2:port`.
    pub namesrv_addr: String,
    /// Producer group.
    pub group: String,
    /// Instance name in the client id `ip@instance`; default `<pid>#<nanos>`.
    pub instance_name: Option<String>,
    /// Time budget of one synchronous send, all attempts together (3 s).
    pub send_timeout: Duration,
    /// Extra attempts of a synchronous send (2, so 3 attempts).
    pub retry_times_when_send_failed: u32,
    /// Also retry (on another broker) when the status is not `SEND_OK` (false).
    pub retry_another_broker_when_not_store_ok: bool,
    /// Largest body, or encoded batch, accepted (4 MiB).
    pub max_message_size: usize,
    /// Bodies at least this long are zlib-compressed (4096; `usize::MAX` disables).
    pub compress_msg_body_over: usize,
    /// Template topic for auto-creation (`TBW102`).
    pub create_topic_key: String,
    /// Queue count of auto-created topics (4).
    pub default_topic_queue_nums: i32,
    /// Route refresh period (30 s).
    pub poll_name_server_interval: Duration,
    /// Heartbeat period (30 s).
    pub heartbeat_broker_interval: Duration,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            namesrv_addr: "127.0.0.1:9876".into(),
            group: DEFAULT_PRODUCER_GROUP.into(),
            instance_name: None,
            send_timeout: Duration::from_secs(3),
            retry_times_when_send_failed: 2,
            retry_another_broker_when_not_store_ok: false,
            max_message_size: 4 * 1024 * 1024,
            compress_msg_body_over: 4096,
            create_topic_key: names::AUTO_CREATE_TOPIC_KEY_TOPIC.into(),
            default_topic_queue_nums: 4,
            poll_name_server_interval: Duration::from_secs(30),
            heartbeat_broker_interval: Duration::from_secs(30),
        }
    }
}

/// Java `MixAll.DEFAULT_PRODUCER_GROUP`: the unset group, refused at start as Java does.
const DEFAULT_PRODUCER_GROUP: &str = "DEFAULT_PRODUCER";

const CREATED: u8 = 0;
const RUNNING: u8 = 1;
const STOPPED: u8 = 2;

/// A message producer. Cheap to clone; clones share connections and routes.
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: ProducerConfig,
    client: ClientInstance,
    publish: Mutex<HashMap<String, Arc<PublishInfo>>>,
    state: AtomicU8,
    seed: AtomicU32,
}

/// How one attempt is sent.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Sync,
    Oneway,
}

/// A message ready for the wire: properties encoded, body possibly compressed.
pub(crate) struct Prepared {
    topic: String,
    uniq_key: String,
    properties: String,
    body: Bytes,
    sys_flag: i32,
    flag: i32,
    batch: bool,
    reconsume_times: Option<i32>,
    max_reconsume_times: Option<i32>,
}

impl Producer {
    /// A producer; nothing is contacted before [`Producer::start`].
    pub fn new(cfg: ProducerConfig) -> Result<Producer, ClientError> {
        let client = ClientInstance::new(
            &cfg.namesrv_addr,
            cfg.instance_name.as_deref(),
            Router::new(),
        )?;
        let seed = (now_ms() as u32).wrapping_mul(2_654_435_761);
        Ok(Producer {
            inner: Arc::new(Inner {
                cfg,
                client,
                publish: Mutex::new(HashMap::new()),
                state: AtomicU8::new(CREATED),
                seed: AtomicU32::new(seed),
            }),
        })
    }

    /// This producer's client id (`ip@instance`).
    pub fn client_id(&self) -> &str {
        &self.inner.client.client_id
    }

    pub fn config(&self) -> &ProducerConfig {
        &self.inner.cfg
    }

    /// Validate the group and start the route-refresh and heartbeat tasks.
    pub async fn start(&self) -> Result<(), ClientError> {
        let g = &self.inner.cfg.group;
        names::validate_group(g).map_err(ClientError::InvalidArgument)?;
        if g == DEFAULT_PRODUCER_GROUP {
            return Err(ClientError::InvalidArgument(format!(
                "producer group can not be {DEFAULT_PRODUCER_GROUP}, set ProducerConfig::group"
            )));
        }
        if self
            .inner
            .state
            .compare_exchange(CREATED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(ClientError::State("the producer was already started"));
        }
        let weak = Arc::downgrade(&self.inner);
        self.inner.client.spawn_periodic(
            weak.clone(),
            Duration::from_millis(10),
            self.inner.cfg.poll_name_server_interval,
            |p: Arc<Inner>| async move { p.refresh_routes().await },
        );
        self.inner.client.spawn_periodic(
            weak,
            Duration::from_secs(1),
            self.inner.cfg.heartbeat_broker_interval,
            |p: Arc<Inner>| async move { p.heartbeat().await },
        );
        tracing::debug!(group = %g, client_id = %self.client_id(), "producer started");
        Ok(())
    }

    /// Unregister from every known broker and close the connections.
    pub async fn shutdown(&self) {
        if self.inner.state.swap(STOPPED, Ordering::AcqRel) != RUNNING {
            return;
        }
        self.inner.client.stop_tasks();
        self.inner
            .client
            .unregister(Some(&self.inner.cfg.group), None)
            .await;
        self.inner.client.close().await;
    }

    /// Send and wait for the broker's answer, retrying as described in the module docs.
    pub async fn send(&self, msg: Message) -> Result<SendResult, ClientError> {
        self.inner.running()?;
        let prepared = self.inner.prepare_one(&msg)?;
        self.inner.send_with_retries(&prepared, None).await
    }

    /// Send to one queue: a single attempt, no retry (Java `send(msg, mq)`).
    pub async fn send_to_queue(
        &self,
        msg: Message,
        queue: &MessageQueue,
    ) -> Result<SendResult, ClientError> {
        self.inner.running()?;
        if msg.topic != queue.topic {
            return Err(ClientError::InvalidArgument(format!(
                "message topic {} differs from queue topic {}",
                msg.topic, queue.topic
            )));
        }
        let prepared = self.inner.prepare_one(&msg)?;
        let timeout = self.inner.cfg.send_timeout;
        self.inner
            .send_once(&prepared, queue, Mode::Sync, timeout)
            .await?
            .ok_or(ClientError::State("no answer to a synchronous send"))
    }

    /// Send without waiting for an answer: one attempt, no retry, no result (Java `sendOneway`).
    /// Success only means the request was queued on the connection.
    pub async fn send_oneway(&self, msg: Message) -> Result<(), ClientError> {
        self.inner.running()?;
        let prepared = self.inner.prepare_one(&msg)?;
        let info = self.inner.publish_info(&prepared.topic).await?;
        let queue = info
            .select(None)
            .cloned()
            .ok_or_else(|| ClientError::NoRoute(prepared.topic.clone()))?;
        self.inner
            .send_once(&prepared, &queue, Mode::Oneway, self.inner.cfg.send_timeout)
            .await
            .map(|_| ())
    }

    /// Send messages of one topic as one SEND_BATCH_MESSAGE (320), with the retries of `send`.
    /// `msg_id`/`offset_msg_id` of the result list every message, comma separated.
    pub async fn send_batch(&self, msgs: Vec<Message>) -> Result<SendResult, ClientError> {
        self.inner.running()?;
        let prepared = self.inner.prepare_batch(&msgs)?;
        self.inner.send_with_retries(&prepared, None).await
    }

    /// The queues a send to `topic` chooses from (fetching the route if needed).
    pub async fn publish_queues(&self, topic: &str) -> Result<Vec<MessageQueue>, ClientError> {
        Ok(self.inner.publish_info(topic).await?.queues.clone())
    }
}

impl Inner {
    fn running(&self) -> Result<(), ClientError> {
        match self.state.load(Ordering::Acquire) {
            RUNNING => Ok(()),
            CREATED => Err(ClientError::State("the producer is not started")),
            _ => Err(ClientError::State("the producer is shut down")),
        }
    }

    /// Validate and encode one message.
    fn prepare_one(&self, msg: &Message) -> Result<Prepared, ClientError> {
        msg.validate(self.cfg.max_message_size)?;
        let prepared = prepare(msg, &self.client.uniq, self.cfg.compress_msg_body_over);
        check_properties_len(&prepared.properties)?;
        Ok(prepared)
    }

    fn prepare_batch(&self, msgs: &[Message]) -> Result<Prepared, ClientError> {
        let first = msgs
            .first()
            .ok_or_else(|| ClientError::InvalidArgument("empty batch".into()))?;
        let mut entries = Vec::with_capacity(msgs.len());
        let mut ids = Vec::with_capacity(msgs.len());
        for m in msgs {
            m.validate(self.cfg.max_message_size)?;
            if m.topic != first.topic {
                return Err(ClientError::InvalidArgument(
                    "the topic of the messages in one batch should be the same".into(),
                ));
            }
            if m.delay_level > 0 {
                return Err(ClientError::InvalidArgument(
                    "TimeDelayLevel is not supported for batching".into(),
                ));
            }
            if names::is_retry_topic(&m.topic) {
                return Err(ClientError::InvalidArgument(
                    "retry group topic is not supported for batching".into(),
                ));
            }
            let id = m
                .properties
                .get(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
                .cloned()
                .unwrap_or_else(|| self.client.uniq.next_id());
            let properties = m.encode_properties(&id);
            check_properties_len(&properties)?;
            entries.push(BatchEntry {
                flag: m.flag,
                body: m.body.clone(),
                properties,
            });
            ids.push(id);
        }
        let body = encode_batch(&entries).freeze();
        if body.len() > self.cfg.max_message_size {
            return Err(ClientError::InvalidArgument(format!(
                "the batch size {} is over max value {}",
                body.len(),
                self.cfg.max_message_size
            )));
        }
        let mut properties = String::new();
        ferrocket_protocol::message::properties::push_property(
            &mut properties,
            property::WAIT_STORE_MSG_OK,
            "true",
        );
        Ok(Prepared {
            topic: first.topic.clone(),
            uniq_key: ids.join(","),
            properties,
            body,
            sys_flag: 0,
            flag: 0,
            batch: true,
            reconsume_times: None,
            max_reconsume_times: None,
        })
    }

    /// The publish view of `topic`, from the cache or freshly fetched.
    async fn publish_info(&self, topic: &str) -> Result<Arc<PublishInfo>, ClientError> {
        if let Some(info) = lock(&self.publish).get(topic) {
            if info.is_ok() {
                return Ok(info.clone());
            }
        }
        let info = self.refresh_publish(topic).await?;
        if info.is_ok() {
            Ok(info)
        } else {
            Err(ClientError::NoRoute(topic.to_owned()))
        }
    }

    /// Fetch the route of `topic` (or of `TBW102` when it has none) and rebuild its view.
    async fn refresh_publish(&self, topic: &str) -> Result<Arc<PublishInfo>, ClientError> {
        let seed = self.seed.fetch_add(0x9E37_79B9, Ordering::Relaxed);
        let info = match self.client.update_route(topic).await? {
            Some(route) => PublishInfo::new(topic, &route, None, seed),
            None => match self.client.update_route(&self.cfg.create_topic_key).await? {
                Some(route) => {
                    PublishInfo::new(topic, &route, Some(self.cfg.default_topic_queue_nums), seed)
                }
                None => return Err(ClientError::NoRoute(topic.to_owned())),
            },
        };
        let info = Arc::new(info);
        lock(&self.publish).insert(topic.to_owned(), info.clone());
        Ok(info)
    }

    async fn refresh_routes(&self) {
        let topics: Vec<String> = lock(&self.publish).keys().cloned().collect();
        for t in topics {
            if let Err(e) = self.refresh_publish(&t).await {
                tracing::debug!(topic = %t, error = %e, "route refresh failed");
            }
        }
    }

    async fn heartbeat(&self) {
        let data = HeartbeatData {
            client_id: self.client.client_id.clone(),
            producer_data_set: vec![ProducerData {
                group_name: self.cfg.group.clone(),
            }],
            ..Default::default()
        };
        self.client.heartbeat(&data, true).await;
    }

    /// Java `sendDefaultImpl` for SYNC.
    async fn send_with_retries(
        &self,
        msg: &Prepared,
        first_avoid: Option<&str>,
    ) -> Result<SendResult, ClientError> {
        let started = Instant::now();
        let budget = self.cfg.send_timeout;
        let info = self.publish_info(&msg.topic).await?;
        let attempts = 1 + self.cfg.retry_times_when_send_failed;
        let mut avoid: Option<String> = first_avoid.map(str::to_owned);
        let mut last_err: Option<ClientError> = None;
        let mut last_result: Option<SendResult> = None;
        for attempt in 0..attempts {
            let Some(queue) = info.select(avoid.as_deref()).cloned() else {
                break;
            };
            let Some(remaining) = budget
                .checked_sub(started.elapsed())
                .filter(|d| !d.is_zero())
            else {
                return Err(last_err.unwrap_or(ClientError::Timeout(budget)));
            };
            match self.send_once(msg, &queue, Mode::Sync, remaining).await {
                Ok(Some(result)) => {
                    if result.status != SendStatus::SendOk
                        && self.cfg.retry_another_broker_when_not_store_ok
                        && attempt + 1 < attempts
                    {
                        avoid = Some(queue.broker_name.clone());
                        last_result = Some(result);
                        continue;
                    }
                    return Ok(result);
                }
                Ok(None) => return Err(ClientError::State("no answer to a synchronous send")),
                Err(e) if e.is_send_retryable() => {
                    tracing::debug!(
                        topic = %msg.topic,
                        broker = %queue.broker_name,
                        queue = queue.queue_id,
                        attempt,
                        error = %e,
                        "send failed, retrying"
                    );
                    avoid = Some(queue.broker_name.clone());
                    last_err = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        if let Some(r) = last_result {
            return Ok(r);
        }
        Err(last_err.unwrap_or_else(|| ClientError::NoRoute(msg.topic.clone())))
    }

    /// One attempt to one queue (Java `sendKernelImpl`). `None` for oneway.
    async fn send_once(
        &self,
        msg: &Prepared,
        queue: &MessageQueue,
        mode: Mode,
        timeout: Duration,
    ) -> Result<Option<SendResult>, ClientError> {
        let target = Target {
            group: &self.cfg.group,
            create_topic_key: &self.cfg.create_topic_key,
            default_topic_queue_nums: self.cfg.default_topic_queue_nums,
        };
        send_kernel(&self.client, &target, msg, queue, mode, timeout).await
    }
}

/// The stored properties length is an i16: longer strings are refused (Java's broker answers 13).
fn check_properties_len(properties: &str) -> Result<(), ClientError> {
    if properties.len() > i16::MAX as usize {
        return Err(ClientError::InvalidArgument(format!(
            "the encoded properties are {} bytes, more than {}",
            properties.len(),
            i16::MAX
        )));
    }
    Ok(())
}

/// The producer-level header values of a send.
pub(crate) struct Target<'a> {
    pub group: &'a str,
    pub create_topic_key: &'a str,
    pub default_topic_queue_nums: i32,
}

/// Build the properties string and (maybe compressed) body of one message.
pub(crate) fn prepare(msg: &Message, uniq: &UniqIdGenerator, compress_over: usize) -> Prepared {
    let uniq_key = msg
        .properties
        .get(property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
        .cloned()
        .unwrap_or_else(|| uniq.next_id());
    let properties = msg.encode_properties(&uniq_key);
    let (body, sys_flag) = if msg.body.len() >= compress_over {
        match deflate(&msg.body) {
            Some(z) => (
                Bytes::from(z),
                sys_flag::COMPRESSED_FLAG | sys_flag::COMPRESSION_ZLIB_TYPE,
            ),
            None => (msg.body.clone(), 0),
        }
    } else {
        (msg.body.clone(), 0)
    };
    let retry = names::is_retry_topic(&msg.topic);
    let prop_i32 = |k: &str| {
        retry
            .then(|| msg.properties.get(k).and_then(|v| v.parse().ok()))
            .flatten()
    };
    Prepared {
        topic: msg.topic.clone(),
        uniq_key,
        properties,
        body,
        sys_flag,
        flag: msg.flag,
        batch: false,
        reconsume_times: prop_i32(property::RECONSUME_TIME),
        max_reconsume_times: prop_i32(property::MAX_RECONSUME_TIMES),
    }
}

/// Send one prepared message to one queue's master. `None` for oneway.
pub(crate) async fn send_kernel(
    client: &ClientInstance,
    target: &Target<'_>,
    msg: &Prepared,
    queue: &MessageQueue,
    mode: Mode,
    timeout: Duration,
) -> Result<Option<SendResult>, ClientError> {
    let addr = match client.master_addr(&queue.broker_name) {
        Some(a) => a,
        None => {
            client.update_route(&msg.topic).await?;
            client.require_master(&queue.broker_name)?
        }
    };
    let header = SendMessageRequestHeader {
        producer_group: target.group.to_owned(),
        topic: msg.topic.clone(),
        default_topic: Some(target.create_topic_key.to_owned()),
        default_topic_queue_nums: Some(target.default_topic_queue_nums),
        queue_id: Some(queue.queue_id),
        sys_flag: Some(msg.sys_flag),
        born_timestamp: Some(now_ms()),
        flag: Some(msg.flag),
        properties: Some(msg.properties.clone()),
        reconsume_times: Some(msg.reconsume_times.unwrap_or(0)),
        unit_mode: false,
        max_reconsume_times: msg.max_reconsume_times,
        batch: msg.batch,
        bname: Some(queue.broker_name.clone()),
    };
    let code = if msg.batch {
        RequestCode::SEND_BATCH_MESSAGE
    } else {
        RequestCode::SEND_MESSAGE_V2
    };
    let mut cmd: RemotingCommand = client.request(code).with_body(msg.body.clone());
    header.encode_v2(&mut cmd.ext_fields);
    if mode == Mode::Oneway {
        client.invoke_oneway(&addr, cmd).await?;
        return Ok(None);
    }
    let resp = client.invoke(&addr, cmd, timeout).await?;
    let Some(status) = SendStatus::from_code(resp.code) else {
        return Err(ClientError::response(&addr, &resp));
    };
    let h: SendMessageResponseHeader = resp.decode_header()?;
    Ok(Some(SendResult {
        status,
        msg_id: msg.uniq_key.clone(),
        offset_msg_id: h.msg_id,
        queue: MessageQueue::new(&msg.topic, &queue.broker_name, h.queue_id),
        queue_offset: h.queue_offset,
        transaction_id: h.transaction_id,
    }))
}
