//! The machinery every producer, consumer and admin owns (Java `MQClientInstance` +
//! `MQClientAPIImpl`): the client id, the connections, nameserver selection, the route cache and
//! broker address book, heartbeats and unregistration, and the periodic-task helper.
//!
//! Each `Producer`/`PushConsumer`/`PullConsumer`/`Admin` has its own instance (unlike Java, where
//! everything with the same client id in one JVM shares one); two consumers in one process are
//! therefore two members of their group, each with its own connections.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferrocket_protocol::body::{decode_json, encode_json, HeartbeatData, TopicRouteData};
use ferrocket_protocol::header::{GetRouteInfoRequestHeader, UnregisterClientRequestHeader};
use ferrocket_protocol::message::UniqIdGenerator;
use ferrocket_protocol::{LanguageCode, RemotingCommand, RequestCode, ResponseCode, SerializeType};
use ferrocket_remoting::{RemotingClient, Router};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::ClientError;

/// Timeout of nameserver calls and most broker calls (`mqClientApiTimeout`, 3 s).
pub(crate) const API_TIMEOUT: Duration = Duration::from_secs(3);

/// Java's `MQClientInstance` id and connection set.
pub(crate) struct ClientInstance {
    pub client_id: String,
    pub remoting: RemotingClient,
    pub uniq: UniqIdGenerator,
    pub language: LanguageCode,
    /// Header encoding of every request we send.
    serialize_type: SerializeType,
    namesrv: Vec<String>,
    ns_index: AtomicUsize,
    routes: Mutex<HashMap<String, TopicRouteData>>,
    /// brokerName → brokerId → address, rebuilt from all cached routes.
    brokers: Mutex<HashMap<String, BTreeMap<i64, String>>>,
    stop_tx: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// Split a `host:port;host2:port` list (`,` accepted too).
pub(crate) fn parse_namesrv(list: &str) -> Result<Vec<String>, ClientError> {
    let addrs: Vec<String> = list
        .split([';', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if addrs.is_empty() {
        return Err(ClientError::InvalidArgument(
            "no nameserver address, set namesrv_addr (host:port;host:port)".into(),
        ));
    }
    if let Some(bad) = addrs.iter().find(|a| !a.contains(':')) {
        return Err(ClientError::InvalidArgument(format!(
            "nameserver address {bad:?} is not host:port"
        )));
    }
    Ok(addrs)
}

/// The local address used to reach `target` (no packet is sent: a UDP `connect` only picks the
/// route). Falls back to 127.0.0.1.
fn local_ip_towards(target: &str) -> IpAddr {
    let probe = || -> Option<IpAddr> {
        let remote = target.to_socket_addrs().ok()?.next()?;
        let bind = if remote.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        let sock = UdpSocket::bind(bind).ok()?;
        sock.connect(remote).ok()?;
        Some(sock.local_addr().ok()?.ip())
    };
    probe()
        .filter(|ip| !ip.is_unspecified())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// Header encoding of our requests: RocketMQ's binary one unless `ROCKETMQ_SERIALIZE_TYPE=JSON`
/// (the variable Java's client reads too). Both are standard and every broker answers in the
/// encoding it was asked in; the binary header is cheaper to write and to read, for the client
/// and for the broker.
fn serialize_type_from_env() -> SerializeType {
    match std::env::var("ROCKETMQ_SERIALIZE_TYPE") {
        Ok(v) if v.eq_ignore_ascii_case("JSON") => SerializeType::Json,
        _ => SerializeType::RocketMq,
    }
}

static INSTANCE_SEQ: AtomicU64 = AtomicU64::new(0);

/// Java's default instance name for producers and clustering consumers: `<pid>#<nanotime>`.
fn default_instance_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let seq = INSTANCE_SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{}#{}", std::process::id(), nanos.wrapping_add(seq))
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl ClientInstance {
    pub fn new(
        namesrv_addr: &str,
        instance_name: Option<&str>,
        router: Router,
    ) -> Result<ClientInstance, ClientError> {
        let namesrv = parse_namesrv(namesrv_addr)?;
        let ip = local_ip_towards(&namesrv[0]);
        let instance = instance_name
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(default_instance_name);
        let client_id = format!("{ip}@{instance}");
        let hash = client_id
            .bytes()
            .fold(0i32, |h, b| h.wrapping_mul(31).wrapping_add(i32::from(b)));
        let start = (INSTANCE_SEQ.load(Ordering::Relaxed) as usize) % namesrv.len();
        Ok(ClientInstance {
            client_id,
            remoting: RemotingClient::new(router),
            uniq: UniqIdGenerator::new(ip, std::process::id(), hash),
            language: LanguageCode::Rust,
            serialize_type: serialize_type_from_env(),
            namesrv,
            ns_index: AtomicUsize::new(start),
            routes: Mutex::new(HashMap::new()),
            brokers: Mutex::new(HashMap::new()),
            stop_tx: watch::channel(false).0,
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// A request command announcing our language and version.
    pub fn request(&self, code: i32) -> RemotingCommand {
        let mut cmd = RemotingCommand::request(code);
        cmd.language = self.language;
        cmd.serialize_type = self.serialize_type;
        cmd
    }

    /// Send to a broker (or any address) and wait; transport errors become `ClientError`.
    pub async fn invoke(
        &self,
        addr: &str,
        cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, ClientError> {
        Ok(self.remoting.invoke(addr, cmd, timeout).await?)
    }

    /// Send and require code 0.
    pub async fn invoke_ok(
        &self,
        addr: &str,
        cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, ClientError> {
        let resp = self.invoke(addr, cmd, timeout).await?;
        if resp.code != ResponseCode::SUCCESS {
            return Err(ClientError::response(addr, &resp));
        }
        Ok(resp)
    }

    pub async fn invoke_oneway(&self, addr: &str, cmd: RemotingCommand) -> Result<(), ClientError> {
        Ok(self.remoting.invoke_oneway(addr, cmd).await?)
    }

    /// Send to the current nameserver; on a transport failure move on to the next one (spec
    /// §6.2 "NS selection"). Returns the answering address with the response.
    pub async fn invoke_namesrv(
        &self,
        cmd: RemotingCommand,
    ) -> Result<(String, RemotingCommand), ClientError> {
        let n = self.namesrv.len();
        let mut last = None;
        for _ in 0..n {
            let i = self.ns_index.load(Ordering::Relaxed) % n;
            let addr = &self.namesrv[i];
            match self.remoting.invoke(addr, cmd.clone(), API_TIMEOUT).await {
                Ok(resp) => return Ok((addr.clone(), resp)),
                Err(e) => {
                    tracing::debug!(namesrv = %addr, error = %e, "nameserver unreachable, trying the next");
                    let _ = self.ns_index.compare_exchange(
                        i,
                        (i + 1) % n,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                    last = Some(e);
                }
            }
        }
        Err(last.map_or(ClientError::State("no nameserver"), ClientError::from))
    }

    /// GET_ROUTEINFO_BY_TOPIC; `None` when the nameserver knows no route (17).
    pub async fn fetch_route(&self, topic: &str) -> Result<Option<TopicRouteData>, ClientError> {
        let cmd = self
            .request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
            .with_header(&GetRouteInfoRequestHeader {
                topic: topic.into(),
                accept_standard_json_only: None,
            });
        let (addr, resp) = self.invoke_namesrv(cmd).await?;
        match resp.code {
            ResponseCode::SUCCESS => Ok(Some(decode_json(&resp.body)?)),
            ResponseCode::TOPIC_NOT_EXIST => Ok(None),
            _ => Err(ClientError::response(&addr, &resp)),
        }
    }

    /// Fetch and cache the route of `topic` (and the broker addresses it names).
    pub async fn update_route(&self, topic: &str) -> Result<Option<TopicRouteData>, ClientError> {
        let route = self.fetch_route(topic).await?;
        if let Some(r) = &route {
            let mut routes = lock(&self.routes);
            routes.insert(topic.to_owned(), r.clone());
            let mut brokers: HashMap<String, BTreeMap<i64, String>> = HashMap::new();
            for bd in routes.values().flat_map(|r| r.broker_datas.iter()) {
                brokers
                    .entry(bd.broker_name.clone())
                    .or_default()
                    .extend(bd.broker_addrs.iter().map(|(k, v)| (*k, v.clone())));
            }
            *lock(&self.brokers) = brokers;
        }
        Ok(route)
    }

    /// The cached route of `topic`.
    pub fn cached_route(&self, topic: &str) -> Option<TopicRouteData> {
        lock(&self.routes).get(topic).cloned()
    }

    /// The cached route, fetched first if absent.
    pub async fn route(&self, topic: &str) -> Result<TopicRouteData, ClientError> {
        if let Some(r) = self.cached_route(topic) {
            return Ok(r);
        }
        self.update_route(topic)
            .await?
            .ok_or_else(|| ClientError::NoRoute(topic.to_owned()))
    }

    /// Address of `broker_name`'s master (brokerId 0).
    pub fn master_addr(&self, broker_name: &str) -> Option<String> {
        lock(&self.brokers)
            .get(broker_name)
            .and_then(|ids| ids.get(&0).cloned())
    }

    /// The master if there is one, else the lowest-id slave (reads may go to slaves).
    pub fn read_addr(&self, broker_name: &str) -> Option<String> {
        lock(&self.brokers)
            .get(broker_name)
            .and_then(|ids| ids.values().next().cloned())
    }

    /// Master address or [`ClientError::BrokerNotFound`].
    pub fn require_master(&self, broker_name: &str) -> Result<String, ClientError> {
        self.master_addr(broker_name)
            .ok_or_else(|| ClientError::BrokerNotFound(broker_name.to_owned()))
    }

    /// Every known broker address (only masters if `masters_only`).
    pub fn broker_addrs(&self, masters_only: bool) -> Vec<String> {
        let brokers = lock(&self.brokers);
        let mut out: Vec<String> = brokers
            .values()
            .flat_map(|ids| {
                ids.iter()
                    .filter(move |(id, _)| !masters_only || **id == 0)
                    .map(|(_, a)| a.clone())
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// HEART_BEAT to every known broker (masters only for a producer-only client). Failures are
    /// logged: the next round tries again.
    pub async fn heartbeat(&self, data: &HeartbeatData, masters_only: bool) {
        let body = bytes::Bytes::from(encode_json(data));
        for addr in self.broker_addrs(masters_only) {
            let cmd = self
                .request(RequestCode::HEART_BEAT)
                .with_body(body.clone());
            if let Err(e) = self.invoke_ok(&addr, cmd, API_TIMEOUT).await {
                tracing::debug!(broker = %addr, error = %e, "heartbeat failed");
            }
        }
    }

    /// UNREGISTER_CLIENT for one group to every known broker.
    pub async fn unregister(&self, producer_group: Option<&str>, consumer_group: Option<&str>) {
        for addr in self.broker_addrs(false) {
            let cmd = self.request(RequestCode::UNREGISTER_CLIENT).with_header(
                &UnregisterClientRequestHeader {
                    client_id: self.client_id.clone(),
                    producer_group: producer_group.map(str::to_owned),
                    consumer_group: consumer_group.map(str::to_owned),
                },
            );
            if let Err(e) = self.invoke_ok(&addr, cmd, API_TIMEOUT).await {
                tracing::debug!(broker = %addr, error = %e, "unregister failed");
            }
        }
    }

    /// Run `f(owner)` after `first`, then every `period`, until shutdown or until the owner is
    /// dropped.
    pub fn spawn_periodic<T, F, Fut>(&self, owner: Weak<T>, first: Duration, period: Duration, f: F)
    where
        T: Send + Sync + 'static,
        F: Fn(std::sync::Arc<T>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut stop = self.stop_tx.subscribe();
        let handle = tokio::spawn(async move {
            let mut wait = first;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                let Some(owner) = owner.upgrade() else { return };
                f(owner).await;
                wait = period;
            }
        });
        lock(&self.tasks).push(handle);
    }

    /// Keep a task so that [`Self::stop_tasks`] ends it.
    pub fn adopt(&self, task: JoinHandle<()>) {
        lock(&self.tasks).push(task);
    }

    /// A receiver that turns true at shutdown.
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop_tx.subscribe()
    }

    /// Signal shutdown and abort the periodic tasks.
    pub fn stop_tasks(&self) {
        self.stop_tx.send_replace(true);
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
    }

    /// Stop the tasks and close every connection.
    pub async fn close(&self) {
        self.stop_tasks();
        self.remoting.shutdown().await;
    }
}

/// Lock a std mutex, ignoring poisoning (no code here panics while holding one).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namesrv_lists() {
        assert_eq!(
            parse_namesrv(" a:1; b:2 ;").unwrap(),
            vec!["a:1".to_string(), "b:2".to_string()]
        );
        assert!(parse_namesrv(" ; ").is_err());
        assert!(parse_namesrv("nohost").is_err());
    }

    #[test]
    fn client_ids_are_unique_per_instance() {
        let a = ClientInstance::new("127.0.0.1:9876", None, Router::new()).unwrap();
        let b = ClientInstance::new("127.0.0.1:9876", None, Router::new()).unwrap();
        assert_ne!(a.client_id, b.client_id);
        assert!(a.client_id.starts_with("127.0.0.1@"), "{}", a.client_id);
        let c = ClientInstance::new("127.0.0.1:9876", Some("x"), Router::new()).unwrap();
        assert_eq!(c.client_id, "127.0.0.1@x");
    }
}
