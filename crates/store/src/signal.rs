//! A wake-up flag for service threads: `notify` from any thread, `wait` with a timeout on the
//! service thread. A notification that arrives while the service is busy is not lost.

use std::time::Duration;

use parking_lot::{Condvar, Mutex};

#[derive(Default)]
pub(crate) struct Signal {
    flag: Mutex<bool>,
    cv: Condvar,
}

impl Signal {
    pub(crate) fn notify(&self) {
        let mut f = self.flag.lock();
        if !*f {
            *f = true;
            self.cv.notify_all();
        }
    }

    /// Wait until notified or `timeout` elapsed; consumes the notification.
    pub(crate) fn wait(&self, timeout: Duration) {
        let mut f = self.flag.lock();
        if !*f {
            self.cv.wait_for(&mut f, timeout);
        }
        *f = false;
    }
}
