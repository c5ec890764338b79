//! `NameServer`: binds the port, serves the dispatch table, runs the broker expiry scan.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocket_remoting::{ChannelConfig, RemotingServer};
use parking_lot::{Mutex, RwLock};
use thiserror::Error;
use tokio::task::JoinHandle;

use crate::config::NamesrvConfig;
use crate::kv::{KvConfigError, KvConfigManager};
use crate::processor::{self, Namesrv};
use crate::route_info::{RouteInfoManager, RouteOptions};

/// Why a nameserver could not start.
#[derive(Debug, Error)]
pub enum NamesrvError {
    #[error("bad bindAddress '{0}'")]
    BindAddress(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    KvConfig(#[from] KvConfigError),
}

/// The routing options a config implies.
pub(crate) fn route_options(c: &NamesrvConfig) -> RouteOptions {
    RouteOptions {
        delete_topic_with_broker_registration: c.delete_topic_with_broker_registration,
        support_acting_master: c.support_acting_master,
        default_heartbeat_timeout_millis: i64::try_from(c.default_broker_heartbeat_timeout_millis)
            .unwrap_or(i64::MAX),
    }
}

/// A running nameserver. Dropping it shuts it down.
pub struct NameServer {
    server: RemotingServer,
    state: Arc<Namesrv>,
    scanner: Mutex<Option<JoinHandle<()>>>,
}

impl NameServer {
    /// Load the KV config, bind `bindAddress:listenPort` and start serving. Must be called inside
    /// a tokio runtime.
    pub async fn start(config: NamesrvConfig) -> Result<NameServer, NamesrvError> {
        let ip: IpAddr = config
            .bind_address
            .parse()
            .map_err(|_| NamesrvError::BindAddress(config.bind_address.clone()))?;
        let addr = SocketAddr::new(ip, config.listen_port);
        warn_unsupported(&config);
        let kv = Arc::new(KvConfigManager::load(&config.kv_config_path)?);
        let route = Arc::new(RouteInfoManager::new(route_options(&config)));
        let channel_config = ChannelConfig {
            idle_timeout: Duration::from_secs(u64::from(
                config.server_channel_max_idle_time_seconds.max(1),
            )),
            ..ChannelConfig::default()
        };
        let state = Arc::new(Namesrv {
            config: RwLock::new(config),
            route,
            kv,
            started: Instant::now(),
        });
        let router = Arc::new(processor::router(&state));
        let server = RemotingServer::bind(addr, router, channel_config)
            .await
            .map_err(|source| NamesrvError::Bind { addr, source })?;
        let scanner = tokio::spawn(scan_loop(state.clone()));
        tracing::info!(addr = %server.local_addr(), "The Name Server boot success. serializeType=JSON");
        Ok(NameServer {
            server,
            state,
            scanner: Mutex::new(Some(scanner)),
        })
    }

    /// The address actually bound (useful with `listenPort=0`).
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The route tables, for a broker that embeds the nameserver or for inspection.
    pub fn route_info(&self) -> &Arc<RouteInfoManager> {
        &self.state.route
    }

    /// The KV config table.
    pub fn kv_config(&self) -> &Arc<KvConfigManager> {
        &self.state.kv
    }

    /// A copy of the current settings (they change with UPDATE_NAMESRV_CONFIG).
    pub fn config(&self) -> NamesrvConfig {
        self.state.config.read().clone()
    }

    /// Stop accepting, close every connection (which unregisters the brokers on them) and stop
    /// the expiry scan; returns once the scan task has ended. Dropping the server does the same
    /// without waiting.
    pub async fn shutdown(&self) {
        self.stop();
        let scanner = self.scanner.lock().take();
        if let Some(task) = scanner {
            let _ = task.await;
        }
        tracing::info!(addr = %self.local_addr(), "nameserver stopped");
    }

    fn stop(&self) {
        if let Some(task) = self.scanner.lock().as_ref() {
            task.abort();
        }
        self.server.shutdown();
    }
}

impl Drop for NameServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Java's `scanNotActiveBroker` task; the period is re-read each round so
/// UPDATE_NAMESRV_CONFIG applies to it.
async fn scan_loop(state: Arc<Namesrv>) {
    loop {
        let period = state.config.read().scan_not_active_broker_interval.max(10);
        tokio::time::sleep(Duration::from_millis(period)).await;
        state.route.scan_not_active_brokers();
    }
}

fn warn_unsupported(c: &NamesrvConfig) {
    for (on, key) in [
        (c.cluster_test, "clusterTest"),
        (c.notify_min_broker_id_changed, "notifyMinBrokerIdChanged"),
        (c.enable_controller_in_namesrv, "enableControllerInNamesrv"),
    ] {
        if on {
            tracing::warn!(
                key,
                "setting is not supported by this nameserver and is ignored"
            );
        }
    }
}
