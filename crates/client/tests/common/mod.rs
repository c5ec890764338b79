//! An in-process nameserver and brokers in a temp dir, for the SDK's integration tests.
#![allow(dead_code)]

use std::time::Duration;

use ferrocket_broker::{Broker, BrokerConfig};
use ferrocket_client::{Admin, TopicConfig};
use ferrocket_namesrv::{NameServer, NamesrvConfig};

pub struct Cluster {
    pub ns: Option<NameServer>,
    pub ns_addr: String,
    pub brokers: Vec<Option<Broker>>,
    pub broker_addrs: Vec<String>,
    pub dir: tempfile::TempDir,
}

/// A nameserver and `n` brokers named `broker-a`, `broker-b`, …; `tune` adjusts each config.
pub async fn cluster_with(n: usize, tune: impl Fn(&mut BrokerConfig)) -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let ns = NameServer::start(NamesrvConfig {
        listen_port: 0,
        kv_config_path: dir.path().join("kv.json"),
        ..Default::default()
    })
    .await
    .unwrap();
    let ns_addr = ns.local_addr().to_string();
    let mut brokers = Vec::new();
    let mut broker_addrs = Vec::new();
    for i in 0..n {
        let name = format!("broker-{}", (b'a' + i as u8) as char);
        let mut cfg = BrokerConfig::local(dir.path().join(&name));
        cfg.broker_name = name;
        cfg.namesrv_addr = Some(ns_addr.clone());
        tune(&mut cfg);
        let b = Broker::start(cfg).await.unwrap();
        broker_addrs.push(b.addr().to_string());
        brokers.push(Some(b));
    }
    let c = Cluster {
        ns: Some(ns),
        ns_addr,
        brokers,
        broker_addrs,
        dir,
    };
    // Brokers register asynchronously: wait until the auto-create template is routable.
    c.wait_route("TBW102", n).await;
    c
}

pub async fn cluster(n: usize) -> Cluster {
    cluster_with(n, |_| {}).await
}

impl Cluster {
    /// Wait until `topic`'s route lists `brokers` brokers.
    pub async fn wait_route(&self, topic: &str, brokers: usize) {
        let admin = Admin::new(&self.ns_addr).unwrap();
        for _ in 0..500 {
            if let Ok(r) = admin.topic_route(topic).await {
                if r.queue_datas.len() >= brokers {
                    admin.shutdown().await;
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no route for {topic} on {brokers} brokers");
    }

    /// Create `topic` with `queues` queues on every broker and wait for its route.
    pub async fn create_topic(&self, topic: &str, queues: i32) {
        let admin = Admin::new(&self.ns_addr).unwrap();
        let cfg = TopicConfig::new(topic, queues, 6);
        for addr in &self.broker_addrs {
            admin.create_topic(addr, &cfg).await.unwrap();
        }
        admin.shutdown().await;
        self.wait_route(topic, self.broker_addrs.len()).await;
    }

    pub async fn stop_broker(&mut self, i: usize) {
        if let Some(b) = self.brokers[i].take() {
            b.shutdown().await;
        }
    }

    pub async fn stop(mut self) {
        for i in 0..self.brokers.len() {
            self.stop_broker(i).await;
        }
        if let Some(ns) = self.ns.take() {
            ns.shutdown().await;
        }
    }
}

/// Poll `f` until it is true or `secs` pass.
pub async fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}
