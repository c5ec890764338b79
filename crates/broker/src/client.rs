//! Live clients: consumer groups (channels, subscriptions) and producer groups, as learned from
//! heartbeats; expired after `channelExpiredTimeout` of silence or when their connection closes.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use ferrocket_protocol::body::{Connection, ConsumerData, SubscriptionData};
use ferrocket_protocol::LanguageCode;
use ferrocket_remoting::Channel;
use parking_lot::RwLock;

#[derive(Debug, Clone)]
pub struct ClientChannelInfo {
    pub channel: Channel,
    pub client_id: String,
    pub language: LanguageCode,
    pub version: i32,
    pub last_update: Instant,
}

impl ClientChannelInfo {
    pub fn connection(&self) -> Connection {
        Connection {
            client_addr: self.channel.remote_addr().to_string(),
            client_id: self.client_id.clone(),
            language: self.language.name().to_string(),
            version: self.version,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ConsumerGroupInfo {
    pub group: String,
    pub consume_type: String,
    pub message_model: String,
    pub consume_from_where: String,
    pub channels: HashMap<u64, ClientChannelInfo>,
    pub subscriptions: BTreeMap<String, SubscriptionData>,
}

impl ConsumerGroupInfo {
    pub fn is_broadcasting(&self) -> bool {
        self.message_model == "BROADCASTING"
    }
    pub fn client_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .channels
            .values()
            .map(|c| c.client_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

/// Outcome of a consumer registration.
pub struct Registered {
    /// A channel joined or the subscriptions changed: tell the group to rebalance.
    pub notify: bool,
}

#[derive(Default)]
pub struct ClientManager {
    consumers: RwLock<HashMap<String, ConsumerGroupInfo>>,
    producers: RwLock<HashMap<String, HashMap<u64, ClientChannelInfo>>>,
}

impl ClientManager {
    pub fn register_consumer(&self, data: &ConsumerData, info: ClientChannelInfo) -> Registered {
        let mut groups = self.consumers.write();
        let g = groups
            .entry(data.group_name.clone())
            .or_insert_with(|| ConsumerGroupInfo {
                group: data.group_name.clone(),
                ..Default::default()
            });
        g.consume_type = data.consume_type.clone();
        // The Go client writes "Clustering" / "BroadCasting".
        g.message_model = data.message_model.to_ascii_uppercase();
        g.consume_from_where = data.consume_from_where.clone();
        let new_channel = !g.channels.contains_key(&info.channel.id());
        g.channels.insert(info.channel.id(), info);
        let subs: BTreeMap<String, SubscriptionData> = data
            .subscription_data_set
            .iter()
            .map(|s| (s.topic.clone(), s.clone()))
            .collect();
        let mut changed = false;
        for (topic, sub) in &subs {
            match g.subscriptions.get(topic) {
                Some(old)
                    if old.sub_string == sub.sub_string
                        && old.expression_type == sub.expression_type =>
                {
                    // Keep the newest version number.
                    if sub.sub_version > old.sub_version {
                        g.subscriptions.insert(topic.clone(), sub.clone());
                    }
                }
                _ => {
                    g.subscriptions.insert(topic.clone(), sub.clone());
                    changed = true;
                }
            }
        }
        let before = g.subscriptions.len();
        g.subscriptions.retain(|t, _| subs.contains_key(t));
        changed |= g.subscriptions.len() != before;
        Registered {
            notify: new_channel || changed,
        }
    }

    pub fn register_producer(&self, group: &str, info: ClientChannelInfo) {
        self.producers
            .write()
            .entry(group.to_owned())
            .or_default()
            .insert(info.channel.id(), info);
    }

    /// Remove `channel` from `group`; returns whether it was there.
    pub fn unregister_consumer(&self, group: &str, channel: &Channel) -> bool {
        let mut groups = self.consumers.write();
        let Some(g) = groups.get_mut(group) else {
            return false;
        };
        let removed = g.channels.remove(&channel.id()).is_some();
        if g.channels.is_empty() {
            groups.remove(group);
        }
        removed
    }

    pub fn unregister_producer(&self, group: &str, channel: &Channel) {
        let mut producers = self.producers.write();
        if let Some(p) = producers.get_mut(group) {
            p.remove(&channel.id());
            if p.is_empty() {
                producers.remove(group);
            }
        }
    }

    /// Forget a closed channel everywhere; returns the consumer groups it belonged to.
    pub fn channel_closed(&self, channel: &Channel) -> Vec<String> {
        let mut affected = Vec::new();
        {
            let mut groups = self.consumers.write();
            for (name, g) in groups.iter_mut() {
                if g.channels.remove(&channel.id()).is_some() {
                    affected.push(name.clone());
                }
            }
            groups.retain(|_, g| !g.channels.is_empty());
        }
        let mut producers = self.producers.write();
        for p in producers.values_mut() {
            p.remove(&channel.id());
        }
        producers.retain(|_, p| !p.is_empty());
        affected
    }

    /// Drop clients silent for longer than `timeout`; returns (groups affected, channels dropped).
    pub fn expire(&self, timeout: Duration) -> (Vec<String>, Vec<Channel>) {
        let now = Instant::now();
        let mut affected = Vec::new();
        let mut dropped = Vec::new();
        {
            let mut groups = self.consumers.write();
            for (name, g) in groups.iter_mut() {
                let before = g.channels.len();
                g.channels.retain(|_, c| {
                    let keep =
                        now.duration_since(c.last_update) <= timeout && c.channel.is_active();
                    if !keep {
                        dropped.push(c.channel.clone());
                    }
                    keep
                });
                if g.channels.len() != before {
                    affected.push(name.clone());
                }
            }
            groups.retain(|_, g| !g.channels.is_empty());
        }
        let mut producers = self.producers.write();
        for p in producers.values_mut() {
            p.retain(|_, c| {
                let keep = now.duration_since(c.last_update) <= timeout && c.channel.is_active();
                if !keep {
                    dropped.push(c.channel.clone());
                }
                keep
            });
        }
        producers.retain(|_, p| !p.is_empty());
        (affected, dropped)
    }

    pub fn consumer_group(&self, group: &str) -> Option<ConsumerGroupInfo> {
        self.consumers.read().get(group).cloned()
    }

    pub fn subscription(&self, group: &str, topic: &str) -> Option<(SubscriptionData, bool)> {
        let groups = self.consumers.read();
        let g = groups.get(group)?;
        g.subscriptions
            .get(topic)
            .map(|s| (s.clone(), g.is_broadcasting()))
    }

    pub fn consumer_channels(&self, group: &str) -> Vec<Channel> {
        self.consumers
            .read()
            .get(group)
            .map(|g| g.channels.values().map(|c| c.channel.clone()).collect())
            .unwrap_or_default()
    }

    /// Groups with a live subscription to `topic`.
    pub fn groups_subscribing(&self, topic: &str) -> Vec<String> {
        self.consumers
            .read()
            .values()
            .filter(|g| g.subscriptions.contains_key(topic))
            .map(|g| g.group.clone())
            .collect()
    }

    pub fn producer_group(&self, group: &str) -> Vec<ClientChannelInfo> {
        self.producers
            .read()
            .get(group)
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn counts(&self) -> (usize, usize) {
        (self.consumers.read().len(), self.producers.read().len())
    }
}
