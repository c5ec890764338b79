//! Queue locks for orderly consumers (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ). A lock expires 60 s after
//! its holder last refreshed it (`rocketmq.broker.rebalance.lockMaxLiveTime`).

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use ferrocket_protocol::body::MessageQueue;
use parking_lot::Mutex;

pub const LOCK_MAX_LIVE_TIME: Duration = Duration::from_secs(60);

struct LockEntry {
    client_id: String,
    last_update: Instant,
}

#[derive(Default)]
pub struct RebalanceLockManager {
    table: Mutex<HashMap<String, HashMap<MessageQueue, LockEntry>>>,
}

impl RebalanceLockManager {
    /// Grant every queue that is free, expired, or already held by `client_id`.
    pub fn try_lock_batch(
        &self,
        group: &str,
        mqs: &BTreeSet<MessageQueue>,
        client_id: &str,
    ) -> BTreeSet<MessageQueue> {
        let now = Instant::now();
        let mut table = self.table.lock();
        let locks = table.entry(group.to_owned()).or_default();
        let mut granted = BTreeSet::new();
        for mq in mqs {
            match locks.get_mut(mq) {
                Some(e)
                    if e.client_id == client_id
                        || now.duration_since(e.last_update) > LOCK_MAX_LIVE_TIME =>
                {
                    e.client_id = client_id.to_owned();
                    e.last_update = now;
                    granted.insert(mq.clone());
                }
                Some(_) => {}
                None => {
                    locks.insert(
                        mq.clone(),
                        LockEntry {
                            client_id: client_id.to_owned(),
                            last_update: now,
                        },
                    );
                    granted.insert(mq.clone());
                }
            }
        }
        granted
    }

    pub fn unlock_batch(&self, group: &str, mqs: &BTreeSet<MessageQueue>, client_id: &str) {
        let mut table = self.table.lock();
        if let Some(locks) = table.get_mut(group) {
            for mq in mqs {
                if locks.get(mq).is_some_and(|e| e.client_id == client_id) {
                    locks.remove(mq);
                }
            }
        }
    }

    /// Whether any queue of `group` is locked by a live holder.
    pub fn has_live_lock(&self, group: &str) -> bool {
        let now = Instant::now();
        self.table.lock().get(group).is_some_and(|l| {
            l.values()
                .any(|e| now.duration_since(e.last_update) <= LOCK_MAX_LIVE_TIME)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_are_exclusive_until_released() {
        let m = RebalanceLockManager::default();
        let mqs: BTreeSet<_> = (0..2).map(|q| MessageQueue::new("T", "b", q)).collect();
        assert_eq!(m.try_lock_batch("g", &mqs, "c1").len(), 2);
        assert!(m.try_lock_batch("g", &mqs, "c2").is_empty());
        assert_eq!(
            m.try_lock_batch("g", &mqs, "c1").len(),
            2,
            "holder may refresh"
        );
        m.unlock_batch("g", &mqs, "c2");
        assert!(
            m.try_lock_batch("g", &mqs, "c2").is_empty(),
            "only the holder unlocks"
        );
        m.unlock_batch("g", &mqs, "c1");
        assert_eq!(m.try_lock_batch("g", &mqs, "c2").len(), 2);
        assert!(m.has_live_lock("g"));
    }
}
