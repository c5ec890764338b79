//! Long polling: pulls that find nothing wait here, keyed by `topic@queueId`, until the
//! dispatcher reports a new message in that queue or the hold time runs out.

use std::collections::HashMap;
use std::sync::Arc;

use ferrocket_store::MessageArrivingListener;
use parking_lot::Mutex;
use tokio::sync::Notify;

/// Wake-up signals by topic, then queue id (looked up with the borrowed topic: a dispatched
/// message allocates nothing here).
#[derive(Default)]
pub struct PullHold {
    queues: Mutex<HashMap<String, HashMap<i32, Arc<Notify>>>>,
}

impl PullHold {
    /// The wake-up signal of one queue.
    pub fn notifier(&self, topic: &str, queue_id: i32) -> Arc<Notify> {
        let mut queues = self.queues.lock();
        if let Some(n) = queues.get(topic).and_then(|q| q.get(&queue_id)) {
            return Arc::clone(n);
        }
        Arc::clone(
            queues
                .entry(topic.to_owned())
                .or_default()
                .entry(queue_id)
                .or_default(),
        )
    }

    pub fn wake(&self, topic: &str, queue_id: i32) {
        let n = self
            .queues
            .lock()
            .get(topic)
            .and_then(|q| q.get(&queue_id))
            .cloned();
        if let Some(n) = n {
            n.notify_waiters();
        }
    }
}

impl MessageArrivingListener for PullHold {
    fn arriving(
        &self,
        topic: &str,
        queue_id: i32,
        _logic_offset: i64,
        _tags_code: i64,
        _store_timestamp: i64,
    ) {
        self.wake(topic, queue_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wake_reaches_the_waiters_of_that_queue_only() {
        let hold = PullHold::default();
        let a = hold.notifier("T", 0);
        let b = hold.notifier("T", 1);
        assert!(
            Arc::ptr_eq(&a, &hold.notifier("T", 0)),
            "one signal per queue"
        );
        let (wa, wb) = (a.notified(), b.notified());
        tokio::pin!(wa, wb);
        wa.as_mut().enable();
        wb.as_mut().enable();
        hold.wake("T", 0);
        hold.wake("Other", 0); // nobody waits there: nothing happens
        tokio::time::timeout(std::time::Duration::from_secs(1), wa)
            .await
            .expect("queue 0 woken");
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(20), wb)
                .await
                .is_err(),
            "queue 1 not woken"
        );
    }
}
