//! Consumer offsets (`config/consumerOffset.json`): per `topic@group`, per queue, the next
//! offset to consume. Written every `flushConsumerOffsetInterval` and at shutdown, in fastjson's
//! form (`{0:12,1:5}`, bare integer keys) so a Java broker can read the file too.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use ferrocket_protocol::body::{decode_json, DataVersion};
use ferrocket_protocol::command::json_string;
use parking_lot::RwLock;
use serde::Deserialize;

use crate::persist;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct OffsetFile {
    data_version: DataVersion,
    offset_table: HashMap<String, HashMap<String, i64>>,
}

pub struct ConsumerOffsetManager {
    path: PathBuf,
    /// `topic@group` → queueId → next offset.
    table: RwLock<BTreeMap<String, BTreeMap<i32, i64>>>,
    /// Last pulled `nextBeginOffset`, for consume stats (memory only).
    pull_table: RwLock<HashMap<String, HashMap<i32, i64>>>,
    data_version: RwLock<DataVersion>,
    dirty: AtomicBool,
}

pub fn key(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

impl ConsumerOffsetManager {
    pub fn load(config_dir: &std::path::Path) -> std::io::Result<Self> {
        let path = config_dir.join("consumerOffset.json");
        let file = persist::load(&path, |s| {
            decode_json::<OffsetFile>(s.as_bytes()).map_err(|e| e.to_string())
        })?
        .unwrap_or_default();
        let table = file
            .offset_table
            .into_iter()
            .map(|(k, q)| {
                (
                    k,
                    q.into_iter()
                        .filter_map(|(id, o)| id.parse().ok().map(|id| (id, o)))
                        .collect(),
                )
            })
            .collect();
        Ok(ConsumerOffsetManager {
            path,
            table: RwLock::new(table),
            pull_table: RwLock::new(HashMap::new()),
            data_version: RwLock::new(file.data_version),
            dirty: AtomicBool::new(false),
        })
    }

    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        self.table
            .write()
            .entry(key(topic, group))
            .or_default()
            .insert(queue_id, offset);
        self.dirty.store(true, Ordering::Release);
    }

    /// Stored offset, `None` when the group never committed one for that queue.
    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.table
            .read()
            .get(&key(topic, group))
            .and_then(|q| q.get(&queue_id).copied())
    }

    pub fn record_pull(&self, group: &str, topic: &str, queue_id: i32, next: i64) {
        self.pull_table
            .write()
            .entry(key(topic, group))
            .or_default()
            .insert(queue_id, next);
    }

    pub fn pull_offset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.pull_table
            .read()
            .get(&key(topic, group))
            .and_then(|q| q.get(&queue_id).copied())
    }

    /// Topics for which `group` has offsets.
    pub fn topics_of_group(&self, group: &str) -> Vec<String> {
        let suffix = format!("@{group}");
        self.table
            .read()
            .keys()
            .filter_map(|k| k.strip_suffix(&suffix).map(str::to_owned))
            .collect()
    }

    /// Groups with offsets on `topic`.
    pub fn groups_of_topic(&self, topic: &str) -> Vec<String> {
        let prefix = format!("{topic}@");
        self.table
            .read()
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
            .collect()
    }

    pub fn remove_topic(&self, topic: &str) {
        let prefix = format!("{topic}@");
        self.table.write().retain(|k, _| !k.starts_with(&prefix));
        self.dirty.store(true, Ordering::Release);
    }

    pub fn remove_group(&self, group: &str) {
        let suffix = format!("@{group}");
        self.table.write().retain(|k, _| !k.ends_with(&suffix));
        self.dirty.store(true, Ordering::Release);
    }

    /// Persist if anything changed since the last call (or `force`).
    pub fn flush(&self, force: bool) -> std::io::Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) && !force {
            return Ok(());
        }
        let text = self.encode();
        persist::persist(&self.path, &text)
    }

    fn encode(&self) -> String {
        let dv = {
            let mut dv = self.data_version.write();
            dv.next_version(crate::util::now_ms());
            dv.clone()
        };
        let mut s = String::from("{\"dataVersion\":");
        s.push_str(&serde_json::to_string(&dv).unwrap_or_default());
        s.push_str(",\"offsetTable\":{");
        for (i, (k, queues)) in self.table.read().iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            json_string(&mut s, k);
            s.push_str(":{");
            for (j, (q, o)) in queues.iter().enumerate() {
                if j > 0 {
                    s.push(',');
                }
                let _ = write!(s, "{q}:{o}");
            }
            s.push('}');
        }
        s.push_str("}}");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_survive_reload_in_fastjson_form() {
        let dir = tempfile::tempdir().unwrap();
        let m = ConsumerOffsetManager::load(dir.path()).unwrap();
        assert_eq!(m.query("g", "T", 0), None);
        m.commit("g", "T", 0, 12);
        m.commit("g", "T", 3, 5);
        m.commit("g2", "T", 0, 1);
        m.flush(false).unwrap();
        let text = std::fs::read_to_string(dir.path().join("consumerOffset.json")).unwrap();
        assert!(text.contains("\"T@g\":{0:12,3:5}"), "{text}");
        let m2 = ConsumerOffsetManager::load(dir.path()).unwrap();
        assert_eq!(m2.query("g", "T", 0), Some(12));
        assert_eq!(m2.query("g", "T", 3), Some(5));
        assert_eq!(m2.topics_of_group("g"), vec!["T".to_string()]);
        let mut groups = m2.groups_of_topic("T");
        groups.sort();
        assert_eq!(groups, vec!["g".to_string(), "g2".to_string()]);
    }
}
