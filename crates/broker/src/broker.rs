//! Broker life cycle: open the store, load the managers, serve, register with the nameservers,
//! run the periodic services, and shut down cleanly.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::message::UniqIdGenerator;
use ferrocket_remoting::{ChannelConfig, RemotingClient, RemotingServer, Router};
use ferrocket_store::{DefaultMessageStore, MessageArrivingListener, MessageStore};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::client::ClientManager;
use crate::config::BrokerConfig;
use crate::group::SubscriptionGroupManager;
use crate::hold::PullHold;
use crate::lock::RebalanceLockManager;
use crate::offset::ConsumerOffsetManager;
use crate::topic::TopicConfigManager;

/// The store implementation the broker runs on; processors only use the `MessageStore` trait.
pub type Store = DefaultMessageStore;

/// Counters behind GET_BROKER_RUNTIME_INFO.
#[derive(Default)]
pub struct Stats {
    pub put_msgs: AtomicI64,
    pub get_msgs: AtomicI64,
    pub put_tps_x100: AtomicI64,
    pub get_tps_x100: AtomicI64,
}

/// Everything the processors share.
pub struct BrokerInner {
    pub config: BrokerConfig,
    pub store: Arc<Store>,
    pub topics: TopicConfigManager,
    pub groups: SubscriptionGroupManager,
    pub offsets: ConsumerOffsetManager,
    pub clients: ClientManager,
    pub hold: Arc<PullHold>,
    pub locks: RebalanceLockManager,
    /// `brokerIP1:listenPort`: embedded in every stored record and offset msgId.
    pub store_host: SocketAddr,
    pub broker_addr: String,
    pub uniq: UniqIdGenerator,
    pub namesrv: RemotingClient,
    pub register_now: Notify,
    pub stats: Stats,
    pub delay_levels_ms: Vec<u64>,
    pub boot_ms: i64,
    pub transactions: crate::transaction::TransactionState,
    pub timers: crate::timer::TimerState,
}

pub type BrokerHandle = Arc<BrokerInner>;

/// A running broker.
pub struct Broker {
    inner: Arc<BrokerInner>,
    servers: Vec<RemotingServer>,
    tasks: Vec<JoinHandle<()>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the store: {0}")]
    Store(String),
    #[error("cannot load config files: {0}")]
    Config(#[from] std::io::Error),
    #[error(transparent)]
    Value(#[from] crate::config::ConfigError),
}

impl Broker {
    pub async fn start(config: BrokerConfig) -> Result<Broker, StartError> {
        let delay_levels_ms = config.delay_levels_ms()?;
        // Bind first: with listenPort 0 the real port is only known afterwards, and it is part of
        // every stored record.
        let main_addr = SocketAddr::new(bind_ip(&config), config.listen_port);
        let main_listener =
            std::net::TcpListener::bind(main_addr).map_err(|source| StartError::Bind {
                addr: main_addr,
                source,
            })?;
        let port = main_listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or(config.listen_port);
        drop(main_listener);
        let mut config = config;
        config.listen_port = port;
        let store_host = SocketAddr::new(config.broker_ip1, port);

        let config_dir = config.store.root_dir.join("config");
        let hold = Arc::new(PullHold::default());
        let listener: Arc<dyn MessageArrivingListener> = hold.clone();
        let store = DefaultMessageStore::open(config.store.clone(), Some(listener))
            .map_err(|e| StartError::Store(e.to_string()))?;
        store
            .start()
            .map_err(|e| StartError::Store(e.to_string()))?;

        let topics = TopicConfigManager::load(&config_dir)?;
        topics.init_system_topics(&config)?;
        let groups = SubscriptionGroupManager::load(&config_dir)?;
        let offsets = ConsumerOffsetManager::load(&config_dir)?;
        let uniq = UniqIdGenerator::new(config.broker_ip1, std::process::id(), port as i32);
        let inner = Arc::new(BrokerInner {
            broker_addr: store_host.to_string(),
            store_host,
            store,
            topics,
            groups,
            offsets,
            clients: ClientManager::default(),
            hold,
            locks: RebalanceLockManager::default(),
            uniq,
            namesrv: RemotingClient::new(Router::new()),
            register_now: Notify::new(),
            stats: Stats::default(),
            delay_levels_ms,
            boot_ms: crate::util::now_ms(),
            transactions: Default::default(),
            timers: Default::default(),
            config,
        });

        let router = Arc::new(crate::processor::router(&inner));
        let channel_config = ChannelConfig {
            idle_timeout: Duration::from_secs(
                inner.config.client_channel_max_idle_time_seconds.max(1),
            ),
            ..ChannelConfig::default()
        };
        let mut servers = Vec::new();
        let main_addr = SocketAddr::new(bind_ip(&inner.config), port);
        servers.push(
            RemotingServer::bind(main_addr, router.clone(), channel_config.clone())
                .await
                .map_err(|source| StartError::Bind {
                    addr: main_addr,
                    source,
                })?,
        );
        if inner.config.fast_port_enable && port > 2 {
            let fast = SocketAddr::new(bind_ip(&inner.config), port - 2);
            match RemotingServer::bind(fast, router.clone(), channel_config).await {
                Ok(s) => servers.push(s),
                Err(e) => {
                    tracing::warn!(addr = %fast, error = %e, "fast port unavailable; continuing without it")
                }
            }
        }
        tracing::info!(
            broker = %inner.config.broker_name,
            cluster = %inner.config.broker_cluster_name,
            addr = %inner.broker_addr,
            store = %inner.config.store.root_dir.display(),
            "broker serving"
        );

        let tasks = vec![
            tokio::spawn(crate::register::run(inner.clone())),
            tokio::spawn(housekeeping(inner.clone())),
            tokio::spawn(crate::schedule::run(inner.clone())),
            tokio::spawn(crate::transaction::run_check_service(inner.clone())),
            tokio::spawn(crate::timer::run(inner.clone())),
        ];
        Ok(Broker {
            inner,
            servers,
            tasks,
        })
    }

    pub fn handle(&self) -> BrokerHandle {
        self.inner.clone()
    }

    /// `brokerIP1:listenPort`.
    pub fn addr(&self) -> &str {
        &self.inner.broker_addr
    }

    /// Unregister from the nameservers, stop serving, persist offsets, flush and close the store.
    pub async fn shutdown(self) {
        crate::register::unregister(&self.inner).await;
        for s in &self.servers {
            s.shutdown();
        }
        for t in &self.tasks {
            t.abort();
        }
        crate::timer::save(&self.inner).await;
        if let Err(e) = self.inner.offsets.flush(true) {
            tracing::error!(error = %e, "persisting consumer offsets failed");
        }
        let store = self.inner.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.shutdown()).await;
        self.inner.namesrv.shutdown().await;
        tracing::info!("broker stopped");
    }
}

fn bind_ip(config: &BrokerConfig) -> std::net::IpAddr {
    // Java binds the wildcard address; clients reach us at brokerIP1.
    if config.broker_ip1.is_loopback() {
        config.broker_ip1
    } else {
        std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
    }
}

/// Periodic services: expire silent clients (every 10 s), persist consumer offsets, sample TPS.
async fn housekeeping(inner: Arc<BrokerInner>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut seconds: u64 = 0;
    let (mut last_put, mut last_get) = (0i64, 0i64);
    loop {
        tick.tick().await;
        seconds += 1;
        let put = inner.stats.put_msgs.load(Ordering::Relaxed);
        let get = inner.stats.get_msgs.load(Ordering::Relaxed);
        inner
            .stats
            .put_tps_x100
            .store((put - last_put) * 100, Ordering::Relaxed);
        inner
            .stats
            .get_tps_x100
            .store((get - last_get) * 100, Ordering::Relaxed);
        (last_put, last_get) = (put, get);
        if seconds.is_multiple_of(10) {
            let timeout = Duration::from_millis(inner.config.channel_expired_timeout);
            let (groups, dropped) = inner.clients.expire(timeout);
            for ch in dropped {
                tracing::info!(channel = ?ch, "client expired, closing its connection");
                ch.close();
            }
            for g in groups {
                crate::processor::client::notify_consumer_ids_changed(&inner, &g).await;
            }
        }
        if seconds.is_multiple_of((inner.config.flush_consumer_offset_interval / 1000).max(1)) {
            let inner = inner.clone();
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = inner.offsets.flush(false) {
                    tracing::error!(error = %e, "persisting consumer offsets failed");
                }
            })
            .await;
        }
        let _ = inner.store.max_phy_offset();
    }
}
