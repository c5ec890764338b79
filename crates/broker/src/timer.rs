//! Timer messages (RocketMQ 5.x, storage spec §7.2): a send with `TIMER_DELIVER_MS`,
//! `TIMER_DELAY_MS` or `TIMER_DELAY_SEC` is parked in `rmq_sys_wheel_timer` queue 0 with
//! `TIMER_OUT_MS`, `REAL_TOPIC` and `REAL_QID`, and stored again in its real topic when due.
//!
//! The parked records and their properties are RocketMQ's. The wheel itself is kept in memory (a
//! min-heap of due times, rebuilt from the timer queue at start), not in RocketMQ's
//! `timerwheel`/`timerlog` files; progress is `config/timerProgress.json`: every queue offset
//! below `watermark` has been delivered, and `delivered` lists those above it. A crash between a
//! delivery and the next progress save can deliver a timer message twice (at least once).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrocket_protocol::message::record::RecordView;
use ferrocket_protocol::message::{
    find_property, property, scan_properties_bytes, sys_flag, tags_code,
};
use ferrocket_protocol::names::TIMER_TOPIC;
use ferrocket_store::{GetMessageStatus, MessageStore, MessageToStore};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::broker::BrokerInner;
use crate::util::{now_ms, remove_property, set_property};

/// What `divert_timer` decided for a send.
pub enum TimerDecision {
    /// Not a timer message (or already due): store as is.
    Normal,
    /// Parked in the timer topic.
    Parked,
    /// Refused: the reply's remark.
    Illegal(String),
}

/// Rewrite a send carrying timer properties (spec §7.2 "Put rewrite").
pub fn divert_timer(b: &BrokerInner, msg: &mut MessageToStore) -> TimerDecision {
    let [sec, ms, at, level] = scan_properties_bytes(
        msg.properties.as_bytes(),
        [
            property::TIMER_DELAY_SEC,
            property::TIMER_DELAY_MS,
            property::TIMER_DELIVER_MS,
            property::DELAY_TIME_LEVEL,
        ],
    );
    if sec.is_none() && ms.is_none() && at.is_none() {
        return TimerDecision::Normal;
    }
    if level.is_some_and(|l| l.trim().parse::<i32>().is_ok_and(|l| l > 0)) {
        // A delay level wins; the timer properties go.
        for p in [
            property::TIMER_DELAY_SEC,
            property::TIMER_DELAY_MS,
            property::TIMER_DELIVER_MS,
        ] {
            remove_property(&mut msg.properties, p);
        }
        return TimerDecision::Normal;
    }
    if !b.config.timer_wheel_enable {
        return TimerDecision::Illegal(
            "timer message is not enabled on this broker (timerWheelEnable=false)".into(),
        );
    }
    let now = now_ms();
    let parse = |v: &str| v.trim().parse::<i64>().ok();
    let deliver = if let Some(s) = sec {
        parse(s).map(|s| now.saturating_add(s.saturating_mul(1000)))
    } else if let Some(m) = ms {
        parse(m).map(|m| now.saturating_add(m))
    } else {
        at.and_then(parse)
    };
    let Some(mut deliver) = deliver else {
        return TimerDecision::Illegal("the timer property of the message is not a number".into());
    };
    if deliver <= now {
        return TimerDecision::Normal;
    }
    if deliver - now > b.config.timer_max_delay_sec as i64 * 1000 {
        return TimerDecision::Illegal(format!(
            "timer message delay exceeds the maximum of {} seconds",
            b.config.timer_max_delay_sec
        ));
    }
    let p = b.config.timer_precision_ms.max(1) as i64;
    deliver = if deliver % p == 0 {
        deliver - p
    } else {
        deliver / p * p
    };
    let real_topic = std::mem::replace(&mut msg.topic, TIMER_TOPIC.to_owned());
    set_property(
        &mut msg.properties,
        property::TIMER_OUT_MS,
        &deliver.to_string(),
    );
    set_property(&mut msg.properties, property::REAL_TOPIC, &real_topic);
    set_property(
        &mut msg.properties,
        property::REAL_QUEUE_ID,
        &msg.queue_id.to_string(),
    );
    msg.queue_id = 0;
    TimerDecision::Parked
}

#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Progress {
    /// Every timer-queue offset below this is delivered.
    watermark: i64,
    /// Delivered offsets at or above the watermark.
    delivered: BTreeSet<i64>,
}

#[derive(Default)]
pub struct TimerState {
    progress: Mutex<Progress>,
}

fn progress_path(b: &BrokerInner) -> std::path::PathBuf {
    b.config
        .store
        .root_dir
        .join("config")
        .join("timerProgress.json")
}

/// Enqueue parked messages into the in-memory wheel and deliver them when due.
pub async fn run(b: Arc<BrokerInner>) {
    let loaded = crate::persist::load(&progress_path(&b), |s| serde_json::from_str::<Progress>(s).map_err(|e| e.to_string()))
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "timerProgress.json unreadable; re-delivering from the start of the timer queue");
            None
        })
        .unwrap_or_default();
    *b.timers.progress.lock() = loaded;
    // due time, queue offset, commit-log offset
    let mut wheel: BinaryHeap<Reverse<(i64, i64, i64)>> = BinaryHeap::new();
    let mut next = b.timers.progress.lock().watermark;
    let precision = b.config.timer_precision_ms.max(1) as i64;
    let mut dirty = false;
    let mut last_save = now_ms();
    loop {
        // Enqueue everything parked since the last round.
        loop {
            let r = b
                .store
                .get_message("TIMER_CONSUMER", TIMER_TOPIC, 0, next, 256, 8 << 20, None);
            match r.status {
                GetMessageStatus::Found => {}
                GetMessageStatus::OffsetTooSmall | GetMessageStatus::OffsetOverflowBadly => {
                    next = r.next_begin_offset;
                    continue;
                }
                _ => break,
            }
            let delivered = b.timers.progress.lock().delivered.clone();
            for rec in &r.messages {
                let Ok(v) = RecordView::parse(rec) else {
                    continue;
                };
                let q = v.queue_offset();
                if delivered.contains(&q) {
                    continue;
                }
                let due = v
                    .property(property::TIMER_OUT_MS)
                    .and_then(|t| t.parse::<i64>().ok())
                    .unwrap_or(0);
                wheel.push(Reverse((due, q, v.commitlog_offset())));
            }
            next = r.next_begin_offset;
        }
        // Deliver what is due: a slot fires once the clock has passed its end.
        let now = now_ms();
        while let Some(Reverse((due, q, phy))) = wheel.peek().copied() {
            if now < due + precision {
                break;
            }
            if !deliver(&b, phy).await {
                break; // store refused: retry next round
            }
            wheel.pop();
            mark_delivered(&b, q);
            dirty = true;
        }
        if dirty && now_ms() - last_save >= 1000 {
            save(&b).await;
            dirty = false;
            last_save = now_ms();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn mark_delivered(b: &BrokerInner, q: i64) {
    let mut p = b.timers.progress.lock();
    p.delivered.insert(q);
    loop {
        let w = p.watermark;
        if !p.delivered.remove(&w) {
            break;
        }
        p.watermark += 1;
    }
}

pub async fn save(b: &BrokerInner) {
    let text = serde_json::to_string(&*b.timers.progress.lock()).unwrap_or_default();
    let path = progress_path(b);
    let _ = tokio::task::spawn_blocking(move || {
        if let Err(e) = crate::persist::persist(&path, &text) {
            tracing::error!(error = %e, "persisting timerProgress.json failed");
        }
    })
    .await;
}

async fn deliver(b: &BrokerInner, phy: i64) -> bool {
    let Some(record) = b.store.look_message_by_offset(phy) else {
        tracing::warn!(offset = phy, "parked timer message is gone; skipping it");
        return true;
    };
    let Ok(v) = RecordView::parse(&record) else {
        return true;
    };
    let mut props = String::from_utf8_lossy(v.properties_bytes()).into_owned();
    let Some(topic) = find_property(&props, property::REAL_TOPIC).map(str::to_owned) else {
        return true;
    };
    let queue_id = find_property(&props, property::REAL_QUEUE_ID)
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    remove_property(&mut props, property::REAL_TOPIC);
    remove_property(&mut props, property::REAL_QUEUE_ID);
    set_property(
        &mut props,
        property::TIMER_ENQUEUE_MS,
        &v.store_timestamp().to_string(),
    );
    set_property(
        &mut props,
        property::TIMER_DEQUEUE_MS,
        &now_ms().to_string(),
    );
    set_property(&mut props, property::WAIT_STORE_MSG_OK, "false");
    let msg = MessageToStore {
        topic,
        queue_id,
        flag: v.flag(),
        body: Bytes::copy_from_slice(v.body()),
        tags_code: tags_code(find_property(&props, property::TAGS)),
        properties: props,
        sys_flag: v.sys_flag() & !(sys_flag::BORNHOST_V6_FLAG | sys_flag::STOREHOSTADDRESS_V6_FLAG),
        born_timestamp: v.born_timestamp(),
        born_host: v.born_host(),
        store_host: b.store_host,
        reconsume_times: v.reconsume_times(),
        prepared_transaction_offset: v.prepared_transaction_offset(),
    };
    let put = b.store.put_message(msg).await;
    if !put.status.is_stored() {
        tracing::warn!(status = ?put.status, "delivering a timer message failed; will retry");
    }
    put.status.is_stored()
}
