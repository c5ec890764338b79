//! Views of a topic route (spec §6.3) and queue allocation (spec §6.5). Pure functions: no I/O.
//!
//! * publish view: writable queues of brokers with a master, in broker-name order;
//! * subscribe view: readable queues, sorted as Java's `MessageQueue.compareTo`;
//! * round-robin queue selection that avoids the broker of the previous failed attempt;
//! * `AllocateMessageQueueAveragely`, the default clustering allocation.

use std::sync::atomic::{AtomicU32, Ordering};

use ferrocket_protocol::body::{MessageQueue, TopicRouteData};
use ferrocket_protocol::names::perm;

/// Most queues taken from one broker's entry of a route: a malformed route must not make the
/// client allocate without bound.
const MAX_QUEUES_PER_BROKER: i32 = 1 << 16;

/// The queues a producer may write to (Java `TopicPublishInfo`).
#[derive(Debug)]
pub(crate) struct PublishInfo {
    pub queues: Vec<MessageQueue>,
    counter: AtomicU32,
}

impl PublishInfo {
    /// Publish view of `route` for `topic`. With `cap` (the `TBW102` fallback) each broker's
    /// queue count is limited to it, as Java does with `defaultTopicQueueNums`.
    pub fn new(topic: &str, route: &TopicRouteData, cap: Option<i32>, seed: u32) -> PublishInfo {
        let mut queues = Vec::new();
        if let Some(conf) = route.order_topic_conf.as_deref().filter(|c| !c.is_empty()) {
            // `brokerA:4;brokerB:8` defines the queues of a globally ordered topic.
            for item in conf.split(';') {
                if let Some((name, n)) = item.split_once(':') {
                    let n = n
                        .trim()
                        .parse::<i32>()
                        .unwrap_or(0)
                        .min(MAX_QUEUES_PER_BROKER);
                    for q in 0..n {
                        queues.push(MessageQueue::new(topic, name.trim(), q));
                    }
                }
            }
        } else {
            let mut qds: Vec<_> = route.queue_datas.iter().collect();
            qds.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
            for qd in qds {
                if !perm::is_writeable(qd.perm) {
                    continue;
                }
                let has_master = route
                    .broker_datas
                    .iter()
                    .any(|bd| bd.broker_name == qd.broker_name && bd.master_addr().is_some());
                if !has_master {
                    continue;
                }
                let n = match cap {
                    // Java sets both counts to min(defaultTopicQueueNums, readQueueNums).
                    Some(c) => c.min(qd.read_queue_nums),
                    None => qd.write_queue_nums,
                };
                for q in 0..n.clamp(0, MAX_QUEUES_PER_BROKER) {
                    queues.push(MessageQueue::new(topic, &qd.broker_name, q));
                }
            }
        }
        PublishInfo {
            queues,
            counter: AtomicU32::new(seed),
        }
    }

    pub fn is_ok(&self) -> bool {
        !self.queues.is_empty()
    }

    /// Next queue round-robin; skips queues of `avoid_broker` when another broker exists.
    pub fn select(&self, avoid_broker: Option<&str>) -> Option<&MessageQueue> {
        let n = self.queues.len();
        if n == 0 {
            return None;
        }
        if let Some(avoid) = avoid_broker {
            for _ in 0..n {
                let i = self.counter.fetch_add(1, Ordering::Relaxed) as usize % n;
                if self.queues[i].broker_name != avoid {
                    return Some(&self.queues[i]);
                }
            }
        }
        let i = self.counter.fetch_add(1, Ordering::Relaxed) as usize % n;
        Some(&self.queues[i])
    }
}

/// Readable queues of `topic`, sorted (topic, brokerName, queueId).
pub(crate) fn subscribe_queues(topic: &str, route: &TopicRouteData) -> Vec<MessageQueue> {
    let mut out: Vec<MessageQueue> = route
        .queue_datas
        .iter()
        .filter(|qd| perm::is_readable(qd.perm))
        .flat_map(|qd| {
            (0..qd.read_queue_nums.clamp(0, MAX_QUEUES_PER_BROKER))
                .map(|q| MessageQueue::new(topic, &qd.broker_name, q))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `AllocateMessageQueueAveragely`: `mq_all` and `cid_all` must be sorted. Consumers are given
/// contiguous ranges; the first `n % m` get one extra queue. Empty if `cid` is not a member.
pub fn allocate_averagely(
    mq_all: &[MessageQueue],
    cid_all: &[String],
    cid: &str,
) -> Vec<MessageQueue> {
    let Some(index) = cid_all.iter().position(|c| c == cid) else {
        return Vec::new();
    };
    let (n, m) = (mq_all.len(), cid_all.len());
    if n == 0 {
        return Vec::new();
    }
    let rem = n % m;
    let avg = if n <= m {
        1
    } else if rem > 0 && index < rem {
        n / m + 1
    } else {
        n / m
    };
    let start = if rem > 0 && index < rem {
        index * avg
    } else {
        index * avg + rem
    };
    let range = avg.min(n.saturating_sub(start));
    mq_all[start.min(n)..start.min(n) + range].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocket_protocol::body::{BrokerData, QueueData};

    fn route(brokers: &[(&str, i32, bool)]) -> TopicRouteData {
        TopicRouteData {
            broker_datas: brokers
                .iter()
                .map(|(name, _, master)| BrokerData {
                    broker_addrs: if *master {
                        [(0, format!("{name}:1"))].into()
                    } else {
                        [(1, format!("{name}:2"))].into()
                    },
                    broker_name: name.to_string(),
                    ..Default::default()
                })
                .collect(),
            queue_datas: brokers
                .iter()
                .rev()
                .map(|(name, n, _)| QueueData {
                    broker_name: name.to_string(),
                    perm: 6,
                    read_queue_nums: *n,
                    write_queue_nums: *n,
                    topic_sys_flag: 0,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn publish_view_sorted_masters_only_and_capped() {
        let r = route(&[("b", 2, true), ("a", 8, true), ("c", 3, false)]);
        let info = PublishInfo::new("T", &r, None, 0);
        let names: Vec<_> = info
            .queues
            .iter()
            .map(|q| format!("{}{}", q.broker_name, q.queue_id))
            .collect();
        assert_eq!(names[0], "a0");
        assert_eq!(names.len(), 10);
        assert_eq!(names[9], "b1");
        let capped = PublishInfo::new("T", &r, Some(4), 0);
        assert_eq!(capped.queues.len(), 6);
        // the subscribe view does not need a master
        assert_eq!(subscribe_queues("T", &r).len(), 13);
    }

    #[test]
    fn selection_round_robin_and_avoid() {
        let info = PublishInfo::new("T", &route(&[("a", 2, true), ("b", 2, true)]), None, 0);
        let picks: Vec<_> = (0..4).map(|_| info.select(None).unwrap().clone()).collect();
        assert_eq!(picks[0].queue_id, 0);
        assert_eq!(picks[1].queue_id, 1);
        assert_eq!(picks[2].broker_name, "b");
        for _ in 0..10 {
            assert_eq!(info.select(Some("a")).unwrap().broker_name, "b");
        }
        let single = PublishInfo::new("T", &route(&[("a", 2, true)]), None, 0);
        assert_eq!(single.select(Some("a")).unwrap().broker_name, "a");
        let empty = PublishInfo::new("T", &TopicRouteData::default(), None, 0);
        assert!(empty.select(None).is_none());
    }

    #[test]
    fn averagely_matches_the_spec_examples() {
        let mqs: Vec<_> = (0..8).map(|q| MessageQueue::new("T", "a", q)).collect();
        let cids: Vec<String> = ["c0", "c1", "c2"].iter().map(|s| s.to_string()).collect();
        let ids = |c: &str, mqs: &[MessageQueue], cids: &[String]| -> Vec<i32> {
            allocate_averagely(mqs, cids, c)
                .iter()
                .map(|q| q.queue_id)
                .collect()
        };
        assert_eq!(ids("c0", &mqs, &cids), vec![0, 1, 2]);
        assert_eq!(ids("c1", &mqs, &cids), vec![3, 4, 5]);
        assert_eq!(ids("c2", &mqs, &cids), vec![6, 7]);
        assert!(ids("zz", &mqs, &cids).is_empty());
        let two = &mqs[..2];
        assert_eq!(ids("c0", two, &cids), vec![0]);
        assert_eq!(ids("c1", two, &cids), vec![1]);
        assert!(ids("c2", two, &cids).is_empty());
        // every queue exactly once, for many shapes
        for n in 0..20 {
            for m in 1..7 {
                let mqs: Vec<_> = (0..n).map(|q| MessageQueue::new("T", "a", q)).collect();
                let cids: Vec<String> = (0..m).map(|c| format!("c{c}")).collect();
                let mut all: Vec<i32> = cids.iter().flat_map(|c| ids(c, &mqs, &cids)).collect();
                all.sort();
                assert_eq!(all, (0..n).collect::<Vec<_>>(), "n={n} m={m}");
            }
        }
    }
}
