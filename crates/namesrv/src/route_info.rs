//! `RouteInfoManager`: the nameserver's state (spec §7.1) and every rule that changes it.
//!
//! Owns the cluster, broker, topic-queue, broker-liveness and filter-server tables behind one
//! lock; knows nothing about request framing, so a broker process can embed it directly and
//! tests can drive it without sockets. Time comes in as arguments (`*_at(now_ms)`) where tests
//! need to control it.
//!
//! Broker liveness: each registered `(clusterName, brokerAddr)` remembers when it last
//! registered (or sent a heartbeat / data-version query), its timeout (120 s unless the broker
//! sent `heartbeatTimeoutMillis`) and the connection it registered on. A periodic scan
//! ([`RouteInfoManager::scan_not_active_brokers`]) unregisters the silent ones and closes their
//! connections; [`RouteInfoManager::on_channel_closed`] unregisters at once when that connection
//! closes. Unregistering the last address of a broker name removes its queue data, and topics
//! left without queue data disappear.
//!
//! Deliberate differences from Java (none visible to clients): unregistering is synchronous
//! rather than queued; a closed connection unregisters every address registered on it (Java
//! stops at the first); REGISTER_TOPIC_IN_NAMESRV applies all of its queue data or none;
//! static topics (`topicQueueMappingInfo`) and NOTIFY_MIN_BROKER_ID_CHANGE are not supported.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use ferrocket_protocol::body::{
    BrokerData, ClusterInfo, DataVersion, QueueData, TopicConfig, TopicList, TopicRouteData,
};
use ferrocket_protocol::names::perm;
use ferrocket_remoting::Channel;
use parking_lot::RwLock;

/// brokerId of a master (`MixAll.MASTER_ID`).
pub const MASTER_ID: i64 = 0;
/// How long a broker stays registered without refreshing, unless it says otherwise
/// (`RouteInfoManager.DEFAULT_BROKER_CHANNEL_EXPIRED_TIME`).
pub const DEFAULT_BROKER_CHANNEL_EXPIRED_TIME_MS: i64 = 120_000;
/// Topics whose routes never get an acting master (`TopicValidator.SYNC_BROKER_MEMBER_GROUP_PREFIX`).
const SYNC_BROKER_MEMBER_GROUP_PREFIX: &str = "rmq_sys_SYNC_BROKER_MEMBER_";
/// `TopicSysFlag` bits.
const FLAG_UNIT: i32 = 1;
const FLAG_UNIT_SUB: i32 = 2;

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The settings of `NamesrvConfig` that change routing decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteOptions {
    /// `deleteTopicWithBrokerRegistration`.
    pub delete_topic_with_broker_registration: bool,
    /// `supportActingMaster`.
    pub support_acting_master: bool,
    /// Timeout of brokers that do not send `heartbeatTimeoutMillis`.
    pub default_heartbeat_timeout_millis: i64,
}

impl Default for RouteOptions {
    fn default() -> Self {
        RouteOptions {
            delete_topic_with_broker_registration: false,
            support_acting_master: false,
            default_heartbeat_timeout_millis: DEFAULT_BROKER_CHANNEL_EXPIRED_TIME_MS,
        }
    }
}

/// Key of the liveness table (`BrokerAddrInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrokerAddrInfo {
    pub cluster_name: String,
    pub broker_addr: String,
}

impl BrokerAddrInfo {
    pub fn new(cluster_name: &str, broker_addr: &str) -> Self {
        BrokerAddrInfo {
            cluster_name: cluster_name.to_owned(),
            broker_addr: broker_addr.to_owned(),
        }
    }
}

#[derive(Debug)]
struct BrokerLiveInfo {
    last_update_timestamp: i64,
    heartbeat_timeout_millis: i64,
    data_version: DataVersion,
    channel: Option<Channel>,
    ha_server_addr: Option<String>,
}

/// Everything one REGISTER_BROKER says (header + body).
#[derive(Debug, Clone, Default)]
pub struct BrokerRegistration {
    pub cluster_name: String,
    pub broker_addr: String,
    pub broker_name: String,
    pub broker_id: i64,
    pub ha_server_addr: Option<String>,
    /// extField `__ZONE_NAME`.
    pub zone_name: Option<String>,
    pub heartbeat_timeout_millis: Option<i64>,
    /// `None` marks a broker older than 5.0 (no acting-master support).
    pub enable_acting_master: Option<bool>,
    pub data_version: DataVersion,
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    /// `None` keeps the stored list; an empty list removes it.
    pub filter_server_list: Option<Vec<String>>,
    pub static_topic_mappings: usize,
}

/// What a registering slave learns about its master (`RegisterBrokerResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterBrokerResult {
    pub ha_server_addr: Option<String>,
    pub master_addr: Option<String>,
}

/// How a registration ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOutcome {
    /// Registered; answer 0 with this header.
    Accepted(RegisterBrokerResult),
    /// Another address holds this brokerId with a larger DataVersion `stateVersion`; the
    /// registration is dropped (Java answers 0 with an empty header).
    Superseded,
    /// A one-topic registration from a broker id that never did a full one; answer
    /// 1 `register broker failed`.
    NeedsFullRegistration,
}

/// One broker address to remove (`UnRegisterBrokerRequestHeader`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrokerUnregistration {
    pub cluster_name: String,
    pub broker_addr: String,
    pub broker_name: String,
    pub broker_id: i64,
}

/// `BrokerMemberGroup`: the addresses of one broker name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerMemberGroup {
    pub cluster: String,
    pub broker_name: String,
    pub broker_addrs: BTreeMap<i64, String>,
}

#[derive(Default)]
struct Tables {
    topic_queue_table: HashMap<String, BTreeMap<String, QueueData>>,
    broker_addr_table: BTreeMap<String, BrokerData>,
    cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
    broker_live_table: HashMap<BrokerAddrInfo, BrokerLiveInfo>,
    filter_server_table: HashMap<BrokerAddrInfo, Vec<String>>,
}

/// The route tables of a nameserver.
#[derive(Default)]
pub struct RouteInfoManager {
    options: RwLock<RouteOptions>,
    tables: RwLock<Tables>,
}

impl RouteInfoManager {
    pub fn new(options: RouteOptions) -> Self {
        RouteInfoManager {
            options: RwLock::new(options),
            tables: RwLock::new(Tables::default()),
        }
    }

    pub fn options(&self) -> RouteOptions {
        self.options.read().clone()
    }

    /// Change the options (after UPDATE_NAMESRV_CONFIG).
    pub fn set_options(&self, options: RouteOptions) {
        *self.options.write() = options;
    }

    // ---- registration -------------------------------------------------------------------------

    /// REGISTER_BROKER (spec §7.2), timestamped now.
    pub fn register_broker(
        &self,
        reg: BrokerRegistration,
        channel: Option<Channel>,
    ) -> RegisterOutcome {
        self.register_broker_at(reg, channel, now_ms())
    }

    /// REGISTER_BROKER as if it arrived at `now` (ms).
    pub fn register_broker_at(
        &self,
        reg: BrokerRegistration,
        channel: Option<Channel>,
        now: i64,
    ) -> RegisterOutcome {
        let options = self.options();
        let mut guard = self.tables.write();
        let t = &mut *guard;
        let addr_info = BrokerAddrInfo::new(&reg.cluster_name, &reg.broker_addr);

        t.cluster_addr_table
            .entry(reg.cluster_name.clone())
            .or_default()
            .insert(reg.broker_name.clone());

        let mut register_first = false;
        let broker_data = t
            .broker_addr_table
            .entry(reg.broker_name.clone())
            .or_insert_with(|| {
                register_first = true;
                BrokerData {
                    broker_name: reg.broker_name.clone(),
                    cluster: reg.cluster_name.clone(),
                    ..Default::default()
                }
            });
        let old_version_broker = reg.enable_acting_master.is_none();
        broker_data.enable_acting_master = reg.enable_acting_master.unwrap_or(false);
        broker_data.zone_name = reg.zone_name.clone();

        // Slave → master switch: one address has one id.
        broker_data
            .broker_addrs
            .retain(|id, addr| !(*addr == reg.broker_addr && *id != reg.broker_id));

        // Another address already holds this id: the one with the larger stateVersion wins.
        if let Some(old_addr) = broker_data.broker_addrs.get(&reg.broker_id) {
            if *old_addr != reg.broker_addr {
                let old_info = BrokerAddrInfo::new(&reg.cluster_name, old_addr);
                if let Some(old) = t.broker_live_table.get(&old_info) {
                    if old.data_version.state_version > reg.data_version.state_version {
                        tracing::warn!(
                            cluster = %reg.cluster_name, broker = %reg.broker_name,
                            id = reg.broker_id, old_addr = %old_addr, new_addr = %reg.broker_addr,
                            "registration conflicts with a newer broker holding the same id; ignored"
                        );
                        t.broker_live_table.remove(&addr_info);
                        return RegisterOutcome::Superseded;
                    }
                }
            }
        }

        if !broker_data.broker_addrs.contains_key(&reg.broker_id)
            && reg.topic_config_table.len() == 1
        {
            tracing::warn!(
                broker = %reg.broker_name, id = reg.broker_id, addr = %reg.broker_addr,
                "single-topic registration before a full one; refused"
            );
            return RegisterOutcome::NeedsFullRegistration;
        }

        let old_addr = broker_data
            .broker_addrs
            .insert(reg.broker_id, reg.broker_addr.clone());
        register_first |= old_addr.as_deref().is_none_or(str::is_empty);

        let is_master = reg.broker_id == MASTER_ID;
        let is_prime_slave = !old_version_broker
            && !is_master
            && broker_data.broker_addrs.keys().next() == Some(&reg.broker_id);
        let acting_master = broker_data.enable_acting_master;

        if is_master || is_prime_slave {
            if options.delete_topic_with_broker_registration && reg.static_topic_mappings == 0 {
                t.topic_queue_table.retain(|topic, queues| {
                    if !reg.topic_config_table.contains_key(topic)
                        && queues.remove(&reg.broker_name).is_some()
                    {
                        tracing::info!(%topic, broker = %reg.broker_name, "topic removed from broker by registration");
                    }
                    !queues.is_empty()
                });
            }
            let version_changed = t
                .broker_live_table
                .get(&addr_info)
                .is_none_or(|live| live.data_version != reg.data_version);
            for tc in reg.topic_config_table.values() {
                let needs_update = register_first
                    || version_changed
                    || t.topic_queue_table
                        .get(&tc.topic_name)
                        .is_none_or(|q| !q.contains_key(&reg.broker_name));
                if !needs_update {
                    continue;
                }
                let mut perm_value = tc.perm;
                if is_prime_slave && acting_master {
                    perm_value &= !perm::WRITE;
                }
                let qd = QueueData {
                    broker_name: reg.broker_name.clone(),
                    perm: perm_value,
                    read_queue_nums: tc.read_queue_nums,
                    topic_sys_flag: tc.topic_sys_flag,
                    write_queue_nums: tc.write_queue_nums,
                };
                let queues = t
                    .topic_queue_table
                    .entry(tc.topic_name.clone())
                    .or_default();
                match queues.get(&reg.broker_name) {
                    None => {
                        tracing::info!(topic = %tc.topic_name, broker = %reg.broker_name, "new topic registered");
                        queues.insert(reg.broker_name.clone(), qd);
                    }
                    Some(existing) if *existing != qd => {
                        tracing::info!(topic = %tc.topic_name, old = ?existing, new = ?qd, "topic changed");
                        queues.insert(reg.broker_name.clone(), qd);
                    }
                    Some(_) => {}
                }
            }
        }

        let prev = t.broker_live_table.insert(
            addr_info.clone(),
            BrokerLiveInfo {
                last_update_timestamp: now,
                heartbeat_timeout_millis: reg
                    .heartbeat_timeout_millis
                    .unwrap_or(options.default_heartbeat_timeout_millis),
                data_version: reg.data_version.clone(),
                channel,
                ha_server_addr: reg.ha_server_addr.clone(),
            },
        );
        if prev.is_none() {
            tracing::info!(cluster = %reg.cluster_name, addr = %reg.broker_addr, broker = %reg.broker_name,
                id = reg.broker_id, "new broker registered");
        }

        if let Some(list) = reg.filter_server_list {
            if list.is_empty() {
                t.filter_server_table.remove(&addr_info);
            } else {
                t.filter_server_table.insert(addr_info, list);
            }
        }

        let mut result = RegisterBrokerResult::default();
        if !is_master {
            let master = t
                .broker_addr_table
                .get(&reg.broker_name)
                .and_then(|bd| bd.broker_addrs.get(&MASTER_ID));
            if let Some(master_addr) = master {
                let master_info = BrokerAddrInfo::new(&reg.cluster_name, master_addr);
                if let Some(live) = t.broker_live_table.get(&master_info) {
                    result.ha_server_addr = live.ha_server_addr.clone();
                    result.master_addr = Some(master_addr.clone());
                }
            }
        }
        RegisterOutcome::Accepted(result)
    }

    /// UNREGISTER_BROKER for one address.
    pub fn unregister_broker(&self, req: BrokerUnregistration) {
        self.unregister_brokers(std::slice::from_ref(&req));
    }

    /// Remove broker addresses; broker names left without any address lose their queue data
    /// and cluster membership.
    pub fn unregister_brokers(&self, requests: &[BrokerUnregistration]) {
        let mut guard = self.tables.write();
        let t = &mut *guard;
        let mut removed_names = BTreeSet::new();
        let mut reduced_names = BTreeSet::new();
        for req in requests {
            let addr_info = BrokerAddrInfo::new(&req.cluster_name, &req.broker_addr);
            let live = t.broker_live_table.remove(&addr_info);
            t.filter_server_table.remove(&addr_info);
            tracing::info!(cluster = %req.cluster_name, addr = %req.broker_addr, broker = %req.broker_name,
                was_live = live.is_some(), "unregister broker");

            let mut remove_name = false;
            if let Some(bd) = t.broker_addr_table.get_mut(&req.broker_name) {
                bd.broker_addrs.retain(|_, addr| *addr != req.broker_addr);
                if bd.broker_addrs.is_empty() {
                    t.broker_addr_table.remove(&req.broker_name);
                    remove_name = true;
                }
            }
            if remove_name {
                if let Some(names) = t.cluster_addr_table.get_mut(&req.cluster_name) {
                    names.remove(&req.broker_name);
                    if names.is_empty() {
                        t.cluster_addr_table.remove(&req.cluster_name);
                    }
                }
                removed_names.insert(req.broker_name.clone());
            } else {
                reduced_names.insert(req.broker_name.clone());
            }
        }

        let broker_addr_table = &t.broker_addr_table;
        t.topic_queue_table.retain(|topic, queues| {
            for name in &removed_names {
                if queues.remove(name).is_some() {
                    tracing::debug!(%topic, broker = %name, "topic queue data removed with its broker");
                }
            }
            for name in &reduced_names {
                let Some(qd) = queues.get_mut(name) else { continue };
                let Some(bd) = broker_addr_table.get(name) else { continue };
                // Master gone in acting-master mode: the slaves are read-only.
                let no_master = bd.broker_addrs.keys().next().is_none_or(|&min| min > MASTER_ID);
                if bd.enable_acting_master && no_master {
                    qd.perm &= !perm::WRITE;
                }
            }
            !queues.is_empty()
        });
    }

    /// The connection `channel` closed: unregister every address registered on it. Returns them.
    pub fn on_channel_closed(&self, channel: &Channel) -> Vec<BrokerAddrInfo> {
        let found: Vec<BrokerAddrInfo> = {
            let t = self.tables.read();
            t.broker_live_table
                .iter()
                .filter(|(_, live)| live.channel.as_ref() == Some(channel))
                .map(|(k, _)| k.clone())
                .collect()
        };
        if !found.is_empty() {
            tracing::info!(channel = ?channel, brokers = ?found, "broker connection closed, unregistering");
            self.unregister_addrs(&found);
        }
        found
    }

    /// Unregister addresses known only by `(cluster, addr)`, finding their name and id.
    fn unregister_addrs(&self, addrs: &[BrokerAddrInfo]) {
        let requests: Vec<BrokerUnregistration> = {
            let t = self.tables.read();
            addrs
                .iter()
                .map(|a| {
                    let found = t.broker_addr_table.values().find_map(|bd| {
                        if bd.cluster != a.cluster_name {
                            return None;
                        }
                        bd.broker_addrs
                            .iter()
                            .find(|(_, addr)| **addr == a.broker_addr)
                            .map(|(id, _)| (bd.broker_name.clone(), *id))
                    });
                    let (broker_name, broker_id) = found.unwrap_or_default();
                    BrokerUnregistration {
                        cluster_name: a.cluster_name.clone(),
                        broker_addr: a.broker_addr.clone(),
                        broker_name,
                        broker_id,
                    }
                })
                .collect()
        };
        self.unregister_brokers(&requests);
    }

    /// Unregister brokers silent for longer than their timeout and close their connections.
    /// Returns the expired addresses.
    pub fn scan_not_active_brokers(&self) -> Vec<BrokerAddrInfo> {
        self.scan_not_active_brokers_at(now_ms())
    }

    /// [`Self::scan_not_active_brokers`] as if the time were `now` (ms).
    pub fn scan_not_active_brokers_at(&self, now: i64) -> Vec<BrokerAddrInfo> {
        let expired: Vec<(BrokerAddrInfo, Option<Channel>, i64)> = {
            let t = self.tables.read();
            t.broker_live_table
                .iter()
                .filter(|(_, l)| {
                    l.last_update_timestamp
                        .saturating_add(l.heartbeat_timeout_millis)
                        < now
                })
                .map(|(k, l)| (k.clone(), l.channel.clone(), l.heartbeat_timeout_millis))
                .collect()
        };
        if expired.is_empty() {
            return Vec::new();
        }
        let mut addrs = Vec::with_capacity(expired.len());
        for (addr, channel, timeout) in expired {
            tracing::warn!(cluster = %addr.cluster_name, addr = %addr.broker_addr, timeout_ms = timeout,
                "broker expired: no registration or heartbeat in time");
            if let Some(ch) = channel {
                ch.close();
            }
            addrs.push(addr);
        }
        self.unregister_addrs(&addrs);
        addrs
    }

    // ---- liveness refreshers ------------------------------------------------------------------

    /// BROKER_HEARTBEAT / QUERY_DATA_VERSION: the broker is alive. False if it is not registered.
    pub fn update_broker_info_update_timestamp(&self, cluster: &str, addr: &str) -> bool {
        self.update_broker_info_update_timestamp_at(cluster, addr, now_ms())
    }

    pub fn update_broker_info_update_timestamp_at(
        &self,
        cluster: &str,
        addr: &str,
        now: i64,
    ) -> bool {
        match self
            .tables
            .write()
            .broker_live_table
            .get_mut(&BrokerAddrInfo::new(cluster, addr))
        {
            Some(live) => {
                live.last_update_timestamp = now;
                true
            }
            None => false,
        }
    }

    /// The DataVersion the broker last registered with.
    pub fn query_broker_data_version(&self, cluster: &str, addr: &str) -> Option<DataVersion> {
        self.tables
            .read()
            .broker_live_table
            .get(&BrokerAddrInfo::new(cluster, addr))
            .map(|l| l.data_version.clone())
    }

    /// Whether `version` differs from the stored one (true when nothing is stored).
    pub fn is_broker_topic_config_changed(
        &self,
        cluster: &str,
        addr: &str,
        version: Option<&DataVersion>,
    ) -> bool {
        match self.query_broker_data_version(cluster, addr) {
            None => true,
            Some(prev) => Some(&prev) != version,
        }
    }

    /// Whether `(cluster, addr)` is currently registered.
    pub fn is_broker_alive(&self, cluster: &str, addr: &str) -> bool {
        self.tables
            .read()
            .broker_live_table
            .contains_key(&BrokerAddrInfo::new(cluster, addr))
    }

    // ---- reads ----------------------------------------------------------------------------------

    /// The route of `topic` (GET_ROUTEINFO_BY_TOPIC), or `None` if it has no queue data or none
    /// of its brokers is registered.
    pub fn pickup_topic_route_data(&self, topic: &str) -> Option<TopicRouteData> {
        let support_acting_master = self.options.read().support_acting_master;
        let mut route = {
            let t = self.tables.read();
            let queues = t.topic_queue_table.get(topic)?;
            let mut route = TopicRouteData {
                queue_datas: queues.values().cloned().collect(),
                ..Default::default()
            };
            for name in queues.keys() {
                let Some(bd) = t.broker_addr_table.get(name) else {
                    continue;
                };
                if !t.filter_server_table.is_empty() {
                    for addr in bd.broker_addrs.values() {
                        let key = BrokerAddrInfo::new(&bd.cluster, addr);
                        if let Some(list) = t.filter_server_table.get(&key) {
                            route.filter_server_table.insert(addr.clone(), list.clone());
                        }
                    }
                }
                route.broker_datas.push(bd.clone());
            }
            route
        };
        if route.broker_datas.is_empty() || route.queue_datas.is_empty() {
            return None;
        }
        if support_acting_master && !topic.starts_with(SYNC_BROKER_MEMBER_GROUP_PREFIX) {
            apply_acting_master(&mut route);
        }
        Some(route)
    }

    /// GET_BROKER_CLUSTER_INFO.
    pub fn cluster_info(&self) -> ClusterInfo {
        let t = self.tables.read();
        ClusterInfo {
            broker_addr_table: t.broker_addr_table.clone(),
            cluster_addr_table: t.cluster_addr_table.clone(),
        }
    }

    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER: every topic with queue data.
    pub fn all_topic_list(&self) -> TopicList {
        TopicList {
            broker_addr: None,
            topic_list: self
                .tables
                .read()
                .topic_queue_table
                .keys()
                .cloned()
                .collect(),
        }
    }

    /// GET_TOPICS_BY_CLUSTER: topics with queue data on a broker of `cluster`.
    pub fn topics_by_cluster(&self, cluster: &str) -> TopicList {
        let t = self.tables.read();
        let mut list = TopicList::default();
        if let Some(names) = t.cluster_addr_table.get(cluster) {
            for (topic, queues) in &t.topic_queue_table {
                if names.iter().any(|n| queues.contains_key(n)) {
                    list.topic_list.insert(topic.clone());
                }
            }
        }
        list
    }

    /// GET_SYSTEM_TOPIC_LIST_FROM_NS: cluster and broker names, plus one broker address.
    pub fn system_topic_list(&self) -> TopicList {
        let t = self.tables.read();
        let mut list = TopicList::default();
        for (cluster, names) in &t.cluster_addr_table {
            list.topic_list.insert(cluster.clone());
            list.topic_list.extend(names.iter().cloned());
        }
        list.broker_addr = t
            .broker_addr_table
            .values()
            .find_map(|bd| bd.broker_addrs.values().next().cloned());
        list
    }

    /// GET_UNIT_TOPIC_LIST (311).
    pub fn unit_topics(&self) -> TopicList {
        self.topics_with_sys_flag(|f| f & FLAG_UNIT != 0)
    }

    /// GET_HAS_UNIT_SUB_TOPIC_LIST (312).
    pub fn has_unit_sub_topics(&self) -> TopicList {
        self.topics_with_sys_flag(|f| f & FLAG_UNIT_SUB != 0)
    }

    /// GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST (313).
    pub fn has_unit_sub_ununit_topics(&self) -> TopicList {
        self.topics_with_sys_flag(|f| f & FLAG_UNIT == 0 && f & FLAG_UNIT_SUB != 0)
    }

    /// Topics whose first queue data's `topicSysFlag` matches (Java looks at one broker only).
    fn topics_with_sys_flag(&self, pred: impl Fn(i32) -> bool) -> TopicList {
        let t = self.tables.read();
        let topic_list = t
            .topic_queue_table
            .iter()
            .filter(|(_, q)| q.values().next().is_some_and(|qd| pred(qd.topic_sys_flag)))
            .map(|(topic, _)| topic.clone())
            .collect();
        TopicList {
            broker_addr: None,
            topic_list,
        }
    }

    /// GET_BROKER_MEMBER_GROUP: the addresses registered for `broker_name`.
    pub fn broker_member_group(&self, cluster: &str, broker_name: &str) -> BrokerMemberGroup {
        let broker_addrs = self
            .tables
            .read()
            .broker_addr_table
            .get(broker_name)
            .map(|bd| bd.broker_addrs.clone())
            .unwrap_or_default();
        BrokerMemberGroup {
            cluster: cluster.to_owned(),
            broker_name: broker_name.to_owned(),
            broker_addrs,
        }
    }

    // ---- topic maintenance ----------------------------------------------------------------------

    /// DELETE_TOPIC_IN_NAMESRV: remove the topic, or only its queue data on brokers of `cluster`.
    pub fn delete_topic(&self, topic: &str, cluster: Option<&str>) {
        let mut guard = self.tables.write();
        let t = &mut *guard;
        match cluster.filter(|c| !c.is_empty()) {
            None => {
                t.topic_queue_table.remove(topic);
            }
            Some(cluster) => {
                let Some(names) = t.cluster_addr_table.get(cluster) else {
                    return;
                };
                if let Some(queues) = t.topic_queue_table.get_mut(topic) {
                    for name in names {
                        queues.remove(name);
                    }
                    if queues.is_empty() {
                        t.topic_queue_table.remove(topic);
                    }
                }
            }
        }
        tracing::info!(topic, ?cluster, "topic deleted from nameserver");
    }

    /// REGISTER_TOPIC_IN_NAMESRV: add or replace queue data of registered brokers. Returns
    /// false (and changes nothing) if one of the broker names is not registered.
    pub fn register_topic(&self, topic: &str, queue_datas: &[QueueData]) -> bool {
        if queue_datas.is_empty() {
            return true;
        }
        let mut t = self.tables.write();
        if let Some(bad) = queue_datas
            .iter()
            .find(|qd| !t.broker_addr_table.contains_key(&qd.broker_name))
        {
            tracing::warn!(topic, broker = %bad.broker_name, "register topic names an unknown broker");
            return false;
        }
        let queues = t.topic_queue_table.entry(topic.to_owned()).or_default();
        for qd in queue_datas {
            queues.insert(qd.broker_name.clone(), qd.clone());
        }
        true
    }

    /// WIPE_WRITE_PERM_OF_BROKER: clear PERM_WRITE on the broker's queue data; returns the
    /// number of topics touched.
    pub fn wipe_write_perm_of_broker(&self, broker_name: &str) -> i32 {
        self.change_perm_of_broker(broker_name, |p| p & !perm::WRITE)
    }

    /// ADD_WRITE_PERM_OF_BROKER: set perm to READ|WRITE on the broker's queue data.
    pub fn add_write_perm_of_broker(&self, broker_name: &str) -> i32 {
        self.change_perm_of_broker(broker_name, |_| perm::READ | perm::WRITE)
    }

    fn change_perm_of_broker(&self, broker_name: &str, f: impl Fn(i32) -> i32) -> i32 {
        let mut t = self.tables.write();
        let mut count = 0;
        for queues in t.topic_queue_table.values_mut() {
            if let Some(qd) = queues.get_mut(broker_name) {
                qd.perm = f(qd.perm);
                count += 1;
            }
        }
        count
    }
}

/// With `supportActingMaster`, a broker name whose master is gone and whose queue data is
/// read-only shows its smallest slave as id 0, so consumers can still find a "master".
fn apply_acting_master(route: &mut TopicRouteData) {
    let need = route
        .broker_datas
        .iter()
        .any(|bd| !bd.broker_addrs.is_empty() && !bd.broker_addrs.contains_key(&MASTER_ID));
    if !need {
        return;
    }
    for bd in &mut route.broker_datas {
        if bd.broker_addrs.is_empty()
            || bd.broker_addrs.contains_key(&MASTER_ID)
            || !bd.enable_acting_master
        {
            continue;
        }
        let read_only = route
            .queue_datas
            .iter()
            .find(|qd| qd.broker_name == bd.broker_name)
            .is_some_and(|qd| !perm::is_writeable(qd.perm));
        if read_only {
            if let Some((&min, _)) = bd.broker_addrs.iter().next() {
                if let Some(addr) = bd.broker_addrs.remove(&min) {
                    bd.broker_addrs.insert(MASTER_ID, addr);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dv(counter: i64) -> DataVersion {
        DataVersion {
            counter,
            state_version: 0,
            timestamp: 1_700_000_000_000 + counter,
        }
    }

    fn reg(
        name: &str,
        id: i64,
        addr: &str,
        version: i64,
        topics: &[(&str, i32)],
    ) -> BrokerRegistration {
        BrokerRegistration {
            cluster_name: "DefaultCluster".into(),
            broker_addr: addr.into(),
            broker_name: name.into(),
            broker_id: id,
            ha_server_addr: Some(format!("{addr}-ha")),
            enable_acting_master: Some(false),
            data_version: dv(version),
            topic_config_table: topics
                .iter()
                .map(|(t, q)| (t.to_string(), TopicConfig::new(t, *q, 6)))
                .collect(),
            filter_server_list: Some(vec![]),
            ..Default::default()
        }
    }

    fn accepted(o: RegisterOutcome) -> RegisterBrokerResult {
        match o {
            RegisterOutcome::Accepted(r) => r,
            other => panic!("expected Accepted, got {other:?}"),
        }
    }

    #[test]
    fn register_and_route() {
        let m = RouteInfoManager::default();
        accepted(m.register_broker(
            reg(
                "broker-a",
                0,
                "10.0.0.1:10911",
                1,
                &[("T", 4), ("TBW102", 8)],
            ),
            None,
        ));
        let r = m.pickup_topic_route_data("T").unwrap();
        assert_eq!(r.queue_datas.len(), 1);
        assert_eq!(r.queue_datas[0].read_queue_nums, 4);
        assert_eq!(r.broker_datas[0].broker_addrs[&0], "10.0.0.1:10911");
        assert!(m.pickup_topic_route_data("nope").is_none());
        assert_eq!(m.all_topic_list().topic_list.len(), 2);
        assert_eq!(m.topics_by_cluster("DefaultCluster").topic_list.len(), 2);
        assert!(m.topics_by_cluster("Other").topic_list.is_empty());
        let sys = m.system_topic_list();
        assert!(sys.topic_list.contains("DefaultCluster") && sys.topic_list.contains("broker-a"));
        assert_eq!(sys.broker_addr.as_deref(), Some("10.0.0.1:10911"));
        let ci = m.cluster_info();
        assert!(ci.cluster_addr_table["DefaultCluster"].contains("broker-a"));
    }

    #[test]
    fn unchanged_data_version_keeps_queue_data() {
        let m = RouteInfoManager::default();
        accepted(m.register_broker(reg("broker-a", 0, "a:1", 1, &[("T", 4), ("S", 1)]), None));
        // Same DataVersion, different queue numbers: ignored (the broker forgot to bump it).
        accepted(m.register_broker(reg("broker-a", 0, "a:1", 1, &[("T", 16), ("S", 1)]), None));
        assert_eq!(
            m.pickup_topic_route_data("T").unwrap().queue_datas[0].read_queue_nums,
            4
        );
        // ...but a new topic under the same version is still added.
        accepted(m.register_broker(reg("broker-a", 0, "a:1", 1, &[("T", 16), ("U", 2)]), None));
        assert_eq!(
            m.pickup_topic_route_data("U").unwrap().queue_datas[0].read_queue_nums,
            2
        );
        assert_eq!(
            m.pickup_topic_route_data("T").unwrap().queue_datas[0].read_queue_nums,
            4
        );
        // A bumped version replaces it.
        accepted(m.register_broker(reg("broker-a", 0, "a:1", 2, &[("T", 16), ("U", 2)]), None));
        assert_eq!(
            m.pickup_topic_route_data("T").unwrap().queue_datas[0].read_queue_nums,
            16
        );
    }

    #[test]
    fn topics_absent_from_registration_stay_unless_configured() {
        let m = RouteInfoManager::default();
        accepted(m.register_broker(reg("broker-a", 0, "a:1", 1, &[("T", 4), ("U", 4)]), None));
        accepted(m.register_broker(reg("broker-a", 0, "a:1", 2, &[("T", 4), ("V", 4)]), None));
        assert!(m.pickup_topic_route_data("U").is_some());
        m.set_options(RouteOptions {
            delete_topic_with_broker_registration: true,
            ..Default::default()
        });
        accepted(m.register_broker(reg("broker-a", 0, "a:1", 3, &[("T", 4), ("V", 4)]), None));
        assert!(m.pickup_topic_route_data("U").is_none());
        assert!(m.pickup_topic_route_data("V").is_some());
    }

    #[test]
    fn single_topic_registration_needs_a_full_one_first() {
        let m = RouteInfoManager::default();
        assert_eq!(
            m.register_broker(reg("broker-a", 0, "a:1", 1, &[("T", 4)]), None),
            RegisterOutcome::NeedsFullRegistration
        );
        accepted(m.register_broker(reg("broker-a", 0, "a:1", 1, &[("T", 4), ("U", 4)]), None));
        accepted(m.register_broker(reg("broker-a", 0, "a:1", 2, &[("W", 4)]), None));
        assert!(m.pickup_topic_route_data("W").is_some());
    }

    #[test]
    fn slaves_learn_their_master_and_do_not_write_queue_data() {
        let m = RouteInfoManager::default();
        accepted(m.register_broker(reg("broker-a", 0, "m:1", 1, &[("T", 4), ("U", 4)]), None));
        let r =
            accepted(m.register_broker(reg("broker-a", 1, "s:1", 7, &[("T", 99), ("U", 4)]), None));
        assert_eq!(r.master_addr.as_deref(), Some("m:1"));
        assert_eq!(r.ha_server_addr.as_deref(), Some("m:1-ha"));
        assert_eq!(
            m.pickup_topic_route_data("T").unwrap().queue_datas[0].read_queue_nums,
            4
        );
        let bd = &m.pickup_topic_route_data("T").unwrap().broker_datas[0];
        assert_eq!(bd.broker_addrs.len(), 2);
        // Removing the master alone keeps the route (slave still serves reads).
        m.unregister_broker(BrokerUnregistration {
            cluster_name: "DefaultCluster".into(),
            broker_addr: "m:1".into(),
            broker_name: "broker-a".into(),
            broker_id: 0,
        });
        let route = m.pickup_topic_route_data("T").unwrap();
        assert_eq!(
            route.broker_datas[0]
                .broker_addrs
                .keys()
                .collect::<Vec<_>>(),
            vec![&1]
        );
        assert_eq!(route.queue_datas[0].perm, 6);
    }

    #[test]
    fn unregister_last_address_removes_topics_and_cluster() {
        let m = RouteInfoManager::default();
        accepted(m.register_broker(reg("broker-a", 0, "a:1", 1, &[("T", 4), ("S", 4)]), None));
        accepted(m.register_broker(reg("broker-b", 0, "b:1", 1, &[("T", 4), ("U", 4)]), None));
        m.unregister_broker(BrokerUnregistration {
            cluster_name: "DefaultCluster".into(),
            broker_addr: "a:1".into(),
            broker_name: "broker-a".into(),
            broker_id: 0,
        });
        assert!(m.pickup_topic_route_data("S").is_none());
        let t = m.pickup_topic_route_data("T").unwrap();
        assert_eq!(t.queue_datas.len(), 1);
        assert_eq!(t.queue_datas[0].broker_name, "broker-b");
        assert!(!m.cluster_info().broker_addr_table.contains_key("broker-a"));
        m.unregister_broker(BrokerUnregistration {
            cluster_name: "DefaultCluster".into(),
            broker_addr: "b:1".into(),
            broker_name: "broker-b".into(),
            broker_id: 0,
        });
        assert!(m.cluster_info().cluster_addr_table.is_empty());
        assert!(m.all_topic_list().topic_list.is_empty());
    }

    #[test]
    fn expiry_uses_per_broker_timeout() {
        let m = RouteInfoManager::default();
        let mut fast = reg("broker-a", 0, "a:1", 1, &[("T", 4), ("S", 4)]);
        fast.heartbeat_timeout_millis = Some(1_000);
        m.register_broker_at(fast, None, 10_000);
        m.register_broker_at(
            reg("broker-b", 0, "b:1", 1, &[("T", 4), ("U", 4)]),
            None,
            10_000,
        );
        assert!(m.scan_not_active_brokers_at(11_000).is_empty());
        assert_eq!(
            m.scan_not_active_brokers_at(11_001),
            vec![BrokerAddrInfo::new("DefaultCluster", "a:1")]
        );
        assert!(m.pickup_topic_route_data("S").is_none());
        // a heartbeat keeps broker-b alive past its 120 s
        assert!(m.update_broker_info_update_timestamp_at("DefaultCluster", "b:1", 100_000));
        assert!(m.scan_not_active_brokers_at(130_001).is_empty());
        assert_eq!(m.scan_not_active_brokers_at(220_001).len(), 1);
        assert!(m.all_topic_list().topic_list.is_empty());
        assert!(!m.update_broker_info_update_timestamp("DefaultCluster", "b:1"));
    }

    #[test]
    fn same_id_new_address_with_lower_state_version_is_ignored() {
        let m = RouteInfoManager::default();
        let mut first = reg("broker-a", 0, "a:1", 1, &[("T", 4), ("U", 4)]);
        first.data_version.state_version = 5;
        accepted(m.register_broker(first, None));
        let mut second = reg("broker-a", 0, "a:2", 2, &[("T", 8), ("U", 4)]);
        second.data_version.state_version = 3;
        assert_eq!(m.register_broker(second, None), RegisterOutcome::Superseded);
        let route = m.pickup_topic_route_data("T").unwrap();
        assert_eq!(route.broker_datas[0].broker_addrs[&0], "a:1");
        assert!(!m.is_broker_alive("DefaultCluster", "a:2"));
        // A slave promoted to master: its old id entry goes away.
        accepted(m.register_broker(reg("broker-a", 1, "s:1", 1, &[("T", 4), ("U", 4)]), None));
        let mut promoted = reg("broker-a", 0, "s:1", 9, &[("T", 4), ("U", 4)]);
        promoted.data_version.state_version = 6;
        accepted(m.register_broker(promoted, None));
        let bd = &m.pickup_topic_route_data("T").unwrap().broker_datas[0];
        assert_eq!(bd.broker_addrs.len(), 1);
        assert_eq!(bd.broker_addrs[&0], "s:1");
    }

    #[test]
    fn write_perm_and_topic_maintenance() {
        let m = RouteInfoManager::default();
        accepted(m.register_broker(reg("broker-a", 0, "a:1", 1, &[("T", 4), ("U", 4)]), None));
        assert_eq!(m.wipe_write_perm_of_broker("broker-a"), 2);
        assert_eq!(
            m.pickup_topic_route_data("T").unwrap().queue_datas[0].perm,
            4
        );
        assert_eq!(m.add_write_perm_of_broker("broker-a"), 2);
        assert_eq!(
            m.pickup_topic_route_data("T").unwrap().queue_datas[0].perm,
            6
        );
        assert_eq!(m.wipe_write_perm_of_broker("nobody"), 0);

        let qd = QueueData {
            broker_name: "broker-a".into(),
            perm: 6,
            read_queue_nums: 2,
            topic_sys_flag: FLAG_UNIT,
            write_queue_nums: 2,
        };
        assert!(m.register_topic("X", std::slice::from_ref(&qd)));
        assert!(m.pickup_topic_route_data("X").is_some());
        assert!(m.unit_topics().topic_list.contains("X"));
        assert!(m.has_unit_sub_topics().topic_list.is_empty());
        let unknown = QueueData {
            broker_name: "broker-z".into(),
            ..qd.clone()
        };
        assert!(!m.register_topic("Y", &[qd, unknown]));
        assert!(m.pickup_topic_route_data("Y").is_none());

        m.delete_topic("X", Some("OtherCluster"));
        assert!(m.pickup_topic_route_data("X").is_some());
        m.delete_topic("X", Some("DefaultCluster"));
        assert!(m.pickup_topic_route_data("X").is_none());
        m.delete_topic("T", None);
        assert!(m.pickup_topic_route_data("T").is_none());
    }

    #[test]
    fn acting_master_route() {
        let m = RouteInfoManager::new(RouteOptions {
            support_acting_master: true,
            ..Default::default()
        });
        let mut master = reg("broker-a", 0, "m:1", 1, &[("T", 4), ("U", 4)]);
        master.enable_acting_master = Some(true);
        accepted(m.register_broker(master, None));
        let mut slave = reg("broker-a", 1, "s:1", 1, &[("T", 4), ("U", 4)]);
        slave.enable_acting_master = Some(true);
        accepted(m.register_broker(slave, None));
        m.unregister_broker(BrokerUnregistration {
            cluster_name: "DefaultCluster".into(),
            broker_addr: "m:1".into(),
            broker_name: "broker-a".into(),
            broker_id: 0,
        });
        let route = m.pickup_topic_route_data("T").unwrap();
        assert_eq!(
            route.queue_datas[0].perm, 4,
            "write perm wiped without master"
        );
        assert_eq!(
            route.broker_datas[0].broker_addrs[&0], "s:1",
            "slave acts as master"
        );
    }

    #[test]
    fn data_version_queries_and_member_group() {
        let m = RouteInfoManager::default();
        assert!(m.is_broker_topic_config_changed("C", "a:1", Some(&dv(1))));
        let mut r = reg("broker-a", 0, "a:1", 1, &[("T", 4), ("U", 4)]);
        r.cluster_name = "C".into();
        accepted(m.register_broker(r, None));
        assert!(!m.is_broker_topic_config_changed("C", "a:1", Some(&dv(1))));
        assert!(m.is_broker_topic_config_changed("C", "a:1", Some(&dv(2))));
        assert!(m.is_broker_topic_config_changed("C", "a:1", None));
        assert_eq!(m.query_broker_data_version("C", "a:1"), Some(dv(1)));
        let g = m.broker_member_group("C", "broker-a");
        assert_eq!(g.broker_addrs[&0], "a:1");
        assert!(m.broker_member_group("C", "nobody").broker_addrs.is_empty());
    }
}
