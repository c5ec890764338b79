//! Subscription group configs (`config/subscriptionGroup.json`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use ferrocket_protocol::body::{decode_json, DataVersion, SubscriptionGroupConfig};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::persist;
use crate::util::now_ms;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupWrapper {
    pub data_version: DataVersion,
    pub forbidden_table: BTreeMap<String, BTreeMap<String, i32>>,
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

pub struct SubscriptionGroupManager {
    path: PathBuf,
    state: RwLock<SubscriptionGroupWrapper>,
}

impl SubscriptionGroupManager {
    pub fn load(config_dir: &std::path::Path) -> std::io::Result<Self> {
        let path = config_dir.join("subscriptionGroup.json");
        let state = persist::load(&path, |s| {
            decode_json::<SubscriptionGroupWrapper>(s.as_bytes()).map_err(|e| e.to_string())
        })?
        .unwrap_or_default();
        Ok(SubscriptionGroupManager {
            path,
            state: RwLock::new(state),
        })
    }

    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.state
            .read()
            .subscription_group_table
            .get(group)
            .cloned()
    }

    /// The group's config; created with defaults when `auto_create` (RocketMQ
    /// `findSubscriptionGroupConfig`).
    pub fn find(&self, group: &str, auto_create: bool) -> Option<SubscriptionGroupConfig> {
        if let Some(g) = self.get(group) {
            return Some(g);
        }
        if !auto_create || ferrocket_protocol::names::validate_group(group).is_err() {
            return None;
        }
        let cfg = SubscriptionGroupConfig {
            group_name: group.to_owned(),
            ..Default::default()
        };
        if let Err(e) = self.upsert(cfg.clone()) {
            tracing::error!(group, error = %e, "persisting subscription group failed");
        }
        Some(cfg)
    }

    pub fn upsert(&self, cfg: SubscriptionGroupConfig) -> std::io::Result<()> {
        {
            let mut st = self.state.write();
            st.subscription_group_table
                .insert(cfg.group_name.clone(), cfg);
            st.data_version.next_version(now_ms());
        }
        self.persist()
    }

    pub fn delete(&self, group: &str) -> std::io::Result<bool> {
        let removed = {
            let mut st = self.state.write();
            let r = st.subscription_group_table.remove(group).is_some();
            if r {
                st.data_version.next_version(now_ms());
            }
            r
        };
        if removed {
            self.persist()?;
        }
        Ok(removed)
    }

    pub fn wrapper(&self) -> SubscriptionGroupWrapper {
        self.state.read().clone()
    }

    fn persist(&self) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&*self.state.read()).unwrap_or_default();
        persist::persist(&self.path, &text)
    }
}
