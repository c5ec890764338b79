//! [`PullConsumer`]: explicit pulls from queues the caller chooses, like Java's
//! `DefaultLitePullConsumer` in assign mode, without its background buffering: every call is one
//! request, which makes it predictable for tools and benchmarks.
//!
//! Pulls use PULL_MESSAGE (11) with the subscription flag (the expression travels in the request,
//! so no heartbeat subscription is needed) and long polling when `suspend` is non-zero. Offsets
//! are the caller's: [`PullConsumer::commit`] stores one on the broker (UPDATE_CONSUMER_OFFSET,
//! synchronous), [`PullConsumer::committed`] reads it back. The group is announced with a
//! heartbeat (`CONSUME_ACTIVELY`, clustering) listing the topics seen by [`PullConsumer::queues`],
//! every 30 s, so admin tools show it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrocket_protocol::body::{ConsumerData, HeartbeatData, MessageQueue};
use ferrocket_remoting::Router;

use crate::consumer::{self, pull_flag, PullSpec};
use crate::error::ClientError;
use crate::instance::{lock, now_ms, ClientInstance};
use crate::message::{PullResult, TagFilter};
use crate::route::subscribe_queues;

/// Settings of a [`PullConsumer`].
#[derive(Debug, Clone)]
pub struct PullConsumerConfig {
    /// Nameservers, `host:port;host2:port`.
    pub namesrv_addr: String,
    /// Consumer group (offsets are stored per group).
    pub group: String,
    /// Instance name in the client id; default `<pid>#<nanos>`.
    pub instance_name: Option<String>,
    /// Added to `suspend` to form a pull's timeout (10 s; Java's lite pull uses 20 s + 10 s).
    pub pull_timeout_margin: Duration,
    /// Heartbeat period (30 s).
    pub heartbeat_broker_interval: Duration,
}

impl Default for PullConsumerConfig {
    fn default() -> Self {
        PullConsumerConfig {
            namesrv_addr: "127.0.0.1:9876".into(),
            group: consumer::DEFAULT_CONSUMER_GROUP.into(),
            instance_name: None,
            pull_timeout_margin: Duration::from_secs(10),
            heartbeat_broker_interval: Duration::from_secs(30),
        }
    }
}

const CREATED: u8 = 0;
const RUNNING: u8 = 1;
const STOPPED: u8 = 2;

/// A consumer that pulls on demand. Cheap to clone.
#[derive(Clone)]
pub struct PullConsumer {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: PullConsumerConfig,
    client: ClientInstance,
    topics: Mutex<BTreeSet<String>>,
    state: AtomicU8,
    sub_version: i64,
    match_all: TagFilter,
}

impl PullConsumer {
    pub fn new(cfg: PullConsumerConfig) -> Result<PullConsumer, ClientError> {
        let client = ClientInstance::new(
            &cfg.namesrv_addr,
            cfg.instance_name.as_deref(),
            Router::new(),
        )?;
        Ok(PullConsumer {
            inner: Arc::new(Inner {
                cfg,
                client,
                topics: Mutex::new(BTreeSet::new()),
                state: AtomicU8::new(CREATED),
                sub_version: now_ms(),
                match_all: TagFilter::parse("*"),
            }),
        })
    }

    pub fn client_id(&self) -> &str {
        &self.inner.client.client_id
    }

    /// Validate the group and start the heartbeat task.
    pub async fn start(&self) -> Result<(), ClientError> {
        consumer::check_group(&self.inner.cfg.group)?;
        if self
            .inner
            .state
            .compare_exchange(CREATED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(ClientError::State("the consumer was already started"));
        }
        self.inner.client.spawn_periodic(
            Arc::downgrade(&self.inner),
            self.inner.cfg.heartbeat_broker_interval,
            self.inner.cfg.heartbeat_broker_interval,
            |c: Arc<Inner>| async move {
                let topics: Vec<String> = lock(&c.topics).iter().cloned().collect();
                for t in topics {
                    if let Err(e) = c.client.update_route(&t).await {
                        tracing::debug!(topic = %t, error = %e, "route refresh failed");
                    }
                }
                c.heartbeat().await
            },
        );
        Ok(())
    }

    /// Unregister the group from every known broker and close the connections. Offsets are not
    /// committed implicitly.
    pub async fn shutdown(&self) {
        if self.inner.state.swap(STOPPED, Ordering::AcqRel) != RUNNING {
            return;
        }
        self.inner.client.stop_tasks();
        self.inner
            .client
            .unregister(None, Some(&self.inner.cfg.group))
            .await;
        self.inner.client.close().await;
    }

    /// The readable queues of `topic`, sorted (fetches the route every call).
    pub async fn queues(&self, topic: &str) -> Result<Vec<MessageQueue>, ClientError> {
        self.inner.running()?;
        let route = self
            .inner
            .client
            .update_route(topic)
            .await?
            .ok_or_else(|| ClientError::NoRoute(topic.to_owned()))?;
        if lock(&self.inner.topics).insert(topic.to_owned()) {
            self.inner.heartbeat().await;
        }
        Ok(subscribe_queues(topic, &route))
    }

    /// Pull up to `max_nums` messages from `offset`. With a non-zero `suspend` the broker holds
    /// the request up to that long when nothing is there yet (long polling).
    pub async fn pull(
        &self,
        queue: &MessageQueue,
        offset: i64,
        max_nums: i32,
        suspend: Duration,
    ) -> Result<PullResult, ClientError> {
        let filter = self.inner.match_all.clone();
        self.inner
            .pull(queue, &filter, offset, max_nums, suspend)
            .await
    }

    /// [`Self::pull`] with a tag expression (`TagA || TagB`); the broker filters by tag hash and
    /// the client re-checks the tag strings.
    pub async fn pull_with_tags(
        &self,
        queue: &MessageQueue,
        tag_expression: &str,
        offset: i64,
        max_nums: i32,
        suspend: Duration,
    ) -> Result<PullResult, ClientError> {
        let filter = TagFilter::parse(tag_expression);
        self.inner
            .pull(queue, &filter, offset, max_nums, suspend)
            .await
    }

    /// Store `offset` (the next offset to consume) as the group's offset of `queue`.
    pub async fn commit(&self, queue: &MessageQueue, offset: i64) -> Result<(), ClientError> {
        self.inner.running()?;
        consumer::update_offset(
            &self.inner.client,
            &self.inner.cfg.group,
            queue,
            offset,
            false,
        )
        .await
    }

    /// The group's stored offset of `queue`; `None` if it never committed one.
    pub async fn committed(&self, queue: &MessageQueue) -> Result<Option<i64>, ClientError> {
        self.inner.running()?;
        consumer::query_offset(
            &self.inner.client,
            &self.inner.cfg.group,
            queue,
            Some(false),
        )
        .await
    }

    /// The offset the next message of `queue` will get.
    pub async fn max_offset(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        self.inner.running()?;
        consumer::queue_offset(&self.inner.client, queue, true).await
    }

    /// The smallest offset still stored in `queue`.
    pub async fn min_offset(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        self.inner.running()?;
        consumer::queue_offset(&self.inner.client, queue, false).await
    }

    /// The first offset of `queue` whose message was stored at or after `timestamp_ms`.
    pub async fn search_offset(
        &self,
        queue: &MessageQueue,
        timestamp_ms: i64,
    ) -> Result<i64, ClientError> {
        self.inner.running()?;
        consumer::search_offset(&self.inner.client, queue, timestamp_ms).await
    }
}

impl Inner {
    fn running(&self) -> Result<(), ClientError> {
        match self.state.load(Ordering::Acquire) {
            RUNNING => Ok(()),
            CREATED => Err(ClientError::State("the consumer is not started")),
            _ => Err(ClientError::State("the consumer is shut down")),
        }
    }

    async fn pull(
        &self,
        queue: &MessageQueue,
        filter: &TagFilter,
        offset: i64,
        max_nums: i32,
        suspend: Duration,
    ) -> Result<PullResult, ClientError> {
        self.running()?;
        if max_nums <= 0 {
            return Err(ClientError::InvalidArgument(
                "max_nums must be positive".into(),
            ));
        }
        let mut sys_flag = pull_flag::SUBSCRIPTION;
        if !suspend.is_zero() {
            sys_flag |= pull_flag::SUSPEND;
        }
        consumer::pull(
            &self.client,
            PullSpec {
                group: &self.cfg.group,
                queue,
                filter,
                sub_version: self.sub_version,
                offset,
                max_nums,
                sys_flag,
                commit_offset: 0,
                suspend,
                timeout: suspend + self.cfg.pull_timeout_margin,
            },
        )
        .await
    }

    async fn heartbeat(&self) {
        let subs = lock(&self.topics)
            .iter()
            .map(|t| self.match_all.subscription_data(t, self.sub_version))
            .collect();
        let data = HeartbeatData {
            client_id: self.client.client_id.clone(),
            consumer_data_set: vec![ConsumerData {
                consume_from_where: "CONSUME_FROM_LAST_OFFSET".into(),
                consume_type: "CONSUME_ACTIVELY".into(),
                group_name: self.cfg.group.clone(),
                message_model: "CLUSTERING".into(),
                subscription_data_set: subs,
                unit_mode: false,
            }],
            ..Default::default()
        };
        self.client.heartbeat(&data, false).await;
    }
}
