//! Long polling: pulls that find nothing wait here, keyed by `topic@queueId`, until the
//! dispatcher reports a new message in that queue or the hold time runs out.

use std::collections::HashMap;
use std::sync::Arc;

use ferrocket_store::MessageArrivingListener;
use parking_lot::Mutex;
use tokio::sync::Notify;

#[derive(Default)]
pub struct PullHold {
    queues: Mutex<HashMap<(String, i32), Arc<Notify>>>,
}

impl PullHold {
    /// The wake-up signal of one queue.
    pub fn notifier(&self, topic: &str, queue_id: i32) -> Arc<Notify> {
        self.queues
            .lock()
            .entry((topic.to_owned(), queue_id))
            .or_default()
            .clone()
    }

    pub fn wake(&self, topic: &str, queue_id: i32) {
        let n = self
            .queues
            .lock()
            .get(&(topic.to_owned(), queue_id))
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
