//! Delay-level messages (`DELAY` property, consumer retries): parked in `SCHEDULE_TOPIC_XXXX`,
//! queue `level − 1`, with `REAL_TOPIC`/`REAL_QID`, and stored again in the real topic when due.
//! Progress per level is kept in `config/delayOffset.json` (`{"offsetTable":{1:5,…}}`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrocket_protocol::body::decode_json;
use ferrocket_protocol::message::record::RecordView;
use ferrocket_protocol::message::{find_property, property, sys_flag, tags_code};
use ferrocket_protocol::names::SCHEDULE_TOPIC;
use ferrocket_store::{GetMessageStatus, MessageStore, MessageToStore, PutMessageStatus};
use serde::Deserialize;

use crate::broker::BrokerInner;
use crate::util::{now_ms, remove_property, set_property};

/// If `msg` carries a delay level, redirect it to the schedule topic.
pub fn divert_delayed(b: &BrokerInner, msg: &mut MessageToStore) {
    let tx = msg.sys_flag & sys_flag::TRANSACTION_TYPE_MASK;
    if tx != sys_flag::TRANSACTION_NOT_TYPE && tx != sys_flag::TRANSACTION_COMMIT_TYPE {
        return;
    }
    let Some(level) = find_property(&msg.properties, property::DELAY_TIME_LEVEL)
        .and_then(|l| l.trim().parse::<i32>().ok())
    else {
        return;
    };
    if level <= 0 {
        return;
    }
    let level = level.min(b.delay_levels_ms.len() as i32);
    let real_topic = std::mem::replace(&mut msg.topic, SCHEDULE_TOPIC.to_owned());
    set_property(
        &mut msg.properties,
        property::DELAY_TIME_LEVEL,
        &level.to_string(),
    );
    set_property(&mut msg.properties, property::REAL_TOPIC, &real_topic);
    set_property(
        &mut msg.properties,
        property::REAL_QUEUE_ID,
        &msg.queue_id.to_string(),
    );
    msg.queue_id = level - 1;
    // The consume queue's tags code of a parked message is its delivery time.
    msg.tags_code =
        msg.born_timestamp.max(now_ms()) + b.delay_levels_ms[(level - 1) as usize] as i64;
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct DelayOffsetFile {
    offset_table: HashMap<String, i64>,
}

fn load_offsets(b: &BrokerInner) -> BTreeMap<i32, i64> {
    let path = b
        .config
        .store
        .root_dir
        .join("config")
        .join("delayOffset.json");
    match crate::persist::load(&path, |s| {
        decode_json::<DelayOffsetFile>(s.as_bytes()).map_err(|e| e.to_string())
    }) {
        Ok(Some(f)) => f
            .offset_table
            .into_iter()
            .filter_map(|(k, v)| k.parse().ok().map(|k| (k, v)))
            .collect(),
        Ok(None) => BTreeMap::new(),
        Err(e) => {
            tracing::error!(error = %e, "delayOffset.json unreadable; delay levels restart from their queues' start");
            BTreeMap::new()
        }
    }
}

fn save_offsets(b: &BrokerInner, offsets: &BTreeMap<i32, i64>) {
    let mut s = String::from("{\"offsetTable\":{");
    for (i, (k, v)) in offsets.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{k}:{v}");
    }
    s.push_str("}}");
    let path = b
        .config
        .store
        .root_dir
        .join("config")
        .join("delayOffset.json");
    if let Err(e) = crate::persist::persist(&path, &s) {
        tracing::error!(error = %e, "persisting delayOffset.json failed");
    }
}

/// Deliver due messages of every level, forever.
pub async fn run(b: Arc<BrokerInner>) {
    let mut offsets = load_offsets(&b);
    let mut dirty = false;
    let mut last_save = now_ms();
    loop {
        let mut progressed = false;
        for level in 1..=b.delay_levels_ms.len() as i32 {
            let delay = b.delay_levels_ms[(level - 1) as usize] as i64;
            let queue_id = level - 1;
            let mut offset = *offsets.get(&level).unwrap_or(&0);
            let result = b.store.get_message(
                "SCHEDULE_CONSUMER",
                SCHEDULE_TOPIC,
                queue_id,
                offset,
                32,
                4 << 20,
                None,
            );
            match result.status {
                GetMessageStatus::Found => {}
                GetMessageStatus::OffsetTooSmall | GetMessageStatus::OffsetOverflowBadly => {
                    offsets.insert(level, result.next_begin_offset);
                    dirty = true;
                    continue;
                }
                _ => continue,
            }
            let now = now_ms();
            for record in &result.messages {
                let Ok(view) = RecordView::parse(record) else {
                    offset += 1;
                    continue;
                };
                if view.store_timestamp() + delay > now {
                    break;
                }
                if !redeliver(&b, &view).await {
                    break; // store refused: try again on the next round
                }
                offset = view.queue_offset() + 1;
                progressed = true;
            }
            if offsets.get(&level) != Some(&offset) {
                offsets.insert(level, offset);
                dirty = true;
            }
        }
        if dirty && now_ms() - last_save > 1000 {
            let (bb, snapshot) = (b.clone(), offsets.clone());
            let _ = tokio::task::spawn_blocking(move || save_offsets(&bb, &snapshot)).await;
            dirty = false;
            last_save = now_ms();
        }
        if !progressed {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn redeliver(b: &BrokerInner, view: &RecordView<'_>) -> bool {
    let mut props = String::from_utf8_lossy(view.properties_bytes()).into_owned();
    let Some(topic) = find_property(&props, property::REAL_TOPIC).map(str::to_owned) else {
        return true; // not a parked message: skip it
    };
    let queue_id = find_property(&props, property::REAL_QUEUE_ID)
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    // As RocketMQ does: the delay level goes, REAL_TOPIC / REAL_QID stay as a trace.
    remove_property(&mut props, property::DELAY_TIME_LEVEL);
    let msg = MessageToStore {
        topic,
        queue_id,
        flag: view.flag(),
        body: Bytes::copy_from_slice(view.body()),
        tags_code: tags_code(find_property(&props, property::TAGS)),
        properties: props,
        sys_flag: view.sys_flag()
            & !(sys_flag::BORNHOST_V6_FLAG | sys_flag::STOREHOSTADDRESS_V6_FLAG),
        born_timestamp: view.born_timestamp(),
        born_host: view.born_host(),
        store_host: b.store_host,
        reconsume_times: view.reconsume_times(),
        prepared_transaction_offset: view.prepared_transaction_offset(),
    };
    let put = b.store.put_message(msg).await;
    match put.status {
        PutMessageStatus::PutOk | PutMessageStatus::FlushDiskTimeout => true,
        other => {
            tracing::warn!(status = ?other, "re-delivering a delayed message failed; will retry");
            false
        }
    }
}
