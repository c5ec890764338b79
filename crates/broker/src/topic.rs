//! Topic configs (`config/topics.json`), auto-creation from `TBW102`, and the data version the
//! nameserver uses to notice changes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ferrocket_protocol::body::{
    decode_json, DataVersion, TopicConfig, TopicConfigSerializeWrapper,
};
use ferrocket_protocol::names::{self, perm};
use parking_lot::RwLock;

use crate::persist;
use crate::util::now_ms;

pub struct TopicConfigManager {
    path: PathBuf,
    state: RwLock<TopicConfigSerializeWrapper>,
}

/// What `find_or_auto_create` did.
pub enum TopicLookup {
    Existing(TopicConfig),
    Created(TopicConfig),
    Missing,
}

impl TopicConfigManager {
    pub fn load(config_dir: &std::path::Path) -> std::io::Result<Self> {
        let path = config_dir.join("topics.json");
        let state = persist::load(&path, |s| {
            decode_json::<TopicConfigSerializeWrapper>(s.as_bytes()).map_err(|e| e.to_string())
        })?
        .unwrap_or_default();
        Ok(TopicConfigManager {
            path,
            state: RwLock::new(state),
        })
    }

    /// Create the topics a broker always has (`TBW102` when auto-create is on, the cluster and
    /// broker names, `SELF_TEST_TOPIC`, `OFFSET_MOVED_EVENT`, the schedule topic).
    pub fn init_system_topics(&self, cfg: &crate::BrokerConfig) -> std::io::Result<()> {
        let mut want = vec![
            TopicConfig::new(names::SELF_TEST_TOPIC, 1, perm::READ | perm::WRITE),
            TopicConfig::new(names::OFFSET_MOVED_EVENT, 1, perm::READ | perm::WRITE),
            TopicConfig::new(names::SCHEDULE_TOPIC, 18, perm::READ | perm::WRITE),
            TopicConfig::new(names::TRANS_HALF_TOPIC, 1, perm::READ | perm::WRITE),
            TopicConfig::new(names::TRANS_OP_HALF_TOPIC, 1, perm::READ | perm::WRITE),
            TopicConfig::new(names::TIMER_TOPIC, 1, perm::READ | perm::WRITE),
        ];
        if cfg.auto_create_topic_enable {
            want.push(TopicConfig::new(
                names::AUTO_CREATE_TOPIC_KEY_TOPIC,
                cfg.default_topic_queue_nums,
                perm::READ | perm::WRITE | perm::INHERIT,
            ));
        }
        if cfg.cluster_topic_enable {
            want.push(TopicConfig::new(
                &cfg.broker_cluster_name,
                16,
                perm::READ | perm::WRITE | perm::INHERIT,
            ));
        }
        if cfg.broker_topic_enable {
            want.push(TopicConfig::new(
                &cfg.broker_name,
                1,
                perm::READ | perm::WRITE | perm::INHERIT,
            ));
        }
        let mut changed = false;
        {
            let mut st = self.state.write();
            for t in want {
                if !st.topic_config_table.contains_key(&t.topic_name) {
                    st.topic_config_table.insert(t.topic_name.clone(), t);
                    changed = true;
                }
            }
            if changed {
                st.data_version.next_version(now_ms());
            }
        }
        if changed {
            self.persist()?;
        }
        Ok(())
    }

    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.state.read().topic_config_table.get(topic).cloned()
    }

    pub fn contains(&self, topic: &str) -> bool {
        self.state.read().topic_config_table.contains_key(topic)
    }

    pub fn all(&self) -> BTreeMap<String, TopicConfig> {
        self.state.read().topic_config_table.clone()
    }

    pub fn wrapper(&self) -> TopicConfigSerializeWrapper {
        self.state.read().clone()
    }

    pub fn data_version(&self) -> DataVersion {
        self.state.read().data_version.clone()
    }

    /// Create or replace a topic; returns whether anything changed.
    pub fn upsert(&self, config: TopicConfig) -> std::io::Result<bool> {
        {
            let mut st = self.state.write();
            if st.topic_config_table.get(&config.topic_name) == Some(&config) {
                return Ok(false);
            }
            st.topic_config_table
                .insert(config.topic_name.clone(), config);
            st.data_version.next_version(now_ms());
        }
        self.persist()?;
        Ok(true)
    }

    pub fn delete(&self, topic: &str) -> std::io::Result<bool> {
        {
            let mut st = self.state.write();
            if st.topic_config_table.remove(topic).is_none() {
                return Ok(false);
            }
            st.data_version.next_version(now_ms());
        }
        self.persist()?;
        Ok(true)
    }

    /// The topic's config, creating it from `default_topic` (which must carry PERM_INHERIT) when
    /// auto-creation is on (RocketMQ `createTopicInSendMessageMethod`).
    pub fn find_or_auto_create(
        &self,
        topic: &str,
        default_topic: Option<&str>,
        requested_queues: i32,
        auto_create_enabled: bool,
    ) -> std::io::Result<TopicLookup> {
        if let Some(t) = self.get(topic) {
            return Ok(TopicLookup::Existing(t));
        }
        let template = default_topic.and_then(|d| self.get(d));
        let Some(template) = template else {
            return Ok(TopicLookup::Missing);
        };
        if template.topic_name == names::AUTO_CREATE_TOPIC_KEY_TOPIC && !auto_create_enabled {
            return Ok(TopicLookup::Missing);
        }
        if !perm::is_inherited(template.perm) {
            return Ok(TopicLookup::Missing);
        }
        let queues = requested_queues.clamp(1, template.write_queue_nums.max(1));
        let mut cfg = TopicConfig::new(topic, queues, template.perm & !perm::INHERIT);
        cfg.topic_sys_flag = template.topic_sys_flag;
        self.upsert(cfg.clone())?;
        Ok(TopicLookup::Created(cfg))
    }

    /// Retry/DLQ topics are created directly (RocketMQ `createTopicInSendMessageBackMethod`).
    pub fn find_or_create_internal(
        &self,
        topic: &str,
        queues: i32,
        perm_bits: i32,
    ) -> std::io::Result<TopicLookup> {
        if let Some(t) = self.get(topic) {
            return Ok(TopicLookup::Existing(t));
        }
        let cfg = TopicConfig::new(topic, queues.max(1), perm_bits);
        self.upsert(cfg.clone())?;
        Ok(TopicLookup::Created(cfg))
    }

    fn persist(&self) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&*self.state.read()).unwrap_or_default();
        persist::persist(&self.path, &text)
    }
}

impl TopicLookup {
    pub fn config(&self) -> Option<&TopicConfig> {
        match self {
            TopicLookup::Existing(c) | TopicLookup::Created(c) => Some(c),
            TopicLookup::Missing => None,
        }
    }
}
