//! KV config (spec §7.9): `namespace → key → value`, persisted as Java's `kvConfig.json`.
//!
//! Owns the table and its file; knows nothing about requests. The file is fastjson's
//! `KVConfigSerializeWrapper`: `{"configTable":{"<namespace>":{"<key>":"<value>"}}}`, so a
//! Java nameserver and this one can take over each other's file.
//!
//! Writes are crash-safe: the new content goes to `<path>.tmp`, is fsynced, renamed over the
//! file, and the directory is fsynced. A snapshot is taken only after the persist lock is held,
//! so concurrent writers can never leave an older table on disk than the last one persisted.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ferrocket_protocol::body::{decode_json, KVTable};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Namespace of globally ordered topic configs (`NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG`).
pub const NAMESPACE_ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

type ConfigTable = BTreeMap<String, BTreeMap<String, String>>;

/// The persisted form (`KVConfigSerializeWrapper`).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct KvConfigFile {
    config_table: ConfigTable,
}

/// The KV file exists but cannot be used.
#[derive(Debug, Error)]
pub enum KvConfigError {
    #[error("cannot read KV config {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("KV config {path} is not valid JSON: {reason}")]
    Parse { path: PathBuf, reason: String },
}

/// The KV config table (`KVConfigManager`).
pub struct KvConfigManager {
    path: Option<PathBuf>,
    table: RwLock<ConfigTable>,
    persist_lock: Mutex<()>,
}

impl KvConfigManager {
    /// A table that lives in memory only (tests, embedded use).
    pub fn in_memory() -> Self {
        KvConfigManager {
            path: None,
            table: RwLock::new(ConfigTable::new()),
            persist_lock: Mutex::new(()),
        }
    }

    /// Load `path` if it exists (a missing file is an empty table); later changes are persisted
    /// there. A file that exists but is unreadable or not JSON is an error, so that an operator's
    /// data is never silently replaced.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, KvConfigError> {
        let path = path.into();
        let table = match fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => ConfigTable::new(),
            Ok(bytes) => {
                decode_json::<KvConfigFile>(&bytes)
                    .map_err(|e| KvConfigError::Parse {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?
                    .config_table
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => ConfigTable::new(),
            Err(source) => return Err(KvConfigError::Read { path, source }),
        };
        tracing::info!(path = %path.display(), namespaces = table.len(), "KV config loaded");
        Ok(KvConfigManager {
            path: Some(path),
            table: RwLock::new(table),
            persist_lock: Mutex::new(()),
        })
    }

    /// Where the table is persisted, if anywhere.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Set `namespace/key` in memory (call [`Self::persist`] afterwards).
    pub fn put(&self, namespace: &str, key: &str, value: &str) {
        let prev = self
            .table
            .write()
            .entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
        tracing::info!(
            namespace,
            key,
            value,
            updated = prev.is_some(),
            "putKVConfig"
        );
    }

    /// Remove `namespace/key` in memory; the namespace itself stays, as in Java.
    pub fn delete(&self, namespace: &str, key: &str) {
        let removed = self
            .table
            .write()
            .get_mut(namespace)
            .and_then(|t| t.remove(key));
        tracing::info!(namespace, key, value = ?removed, "deleteKVConfig");
    }

    pub fn get(&self, namespace: &str, key: &str) -> Option<String> {
        self.table.read().get(namespace)?.get(key).cloned()
    }

    /// The whole namespace, or `None` if it was never created.
    pub fn namespace(&self, namespace: &str) -> Option<KVTable> {
        self.table
            .read()
            .get(namespace)
            .map(|t| KVTable { table: t.clone() })
    }

    /// Write the current table to the file (no-op for an in-memory table). Blocking I/O.
    pub fn persist(&self) -> io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let _guard = self.persist_lock.lock();
        let content = {
            let table = self.table.read();
            serde_json::to_vec(&KvConfigFile {
                config_table: table.clone(),
            })
            .map_err(io::Error::other)?
        };
        write_atomically(path, &content).inspect_err(|e| {
            tracing::error!(path = %path.display(), error = %e, "persisting KV config failed");
        })
    }
}

/// Replace `path` with `content` so that a crash leaves either the old or the new file.
pub(crate) fn write_atomically(path: &Path, content: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(content)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    // Make the rename itself durable. Directories cannot be opened this way everywhere.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_delete_persist_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("namesrv").join("kvConfig.json");
        let kv = KvConfigManager::load(&path).unwrap();
        assert_eq!(kv.get("ns", "k"), None);
        kv.put("ns", "k", "v");
        kv.put(NAMESPACE_ORDER_TOPIC_CONFIG, "T", "broker-a:4");
        kv.persist().unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            r#"{"configTable":{"ORDER_TOPIC_CONFIG":{"T":"broker-a:4"},"ns":{"k":"v"}}}"#
        );
        kv.delete("ns", "k");
        kv.persist().unwrap();
        let again = KvConfigManager::load(&path).unwrap();
        assert_eq!(again.get("ns", "k"), None);
        assert_eq!(again.namespace("ns").unwrap().table.len(), 0);
        assert_eq!(
            again
                .namespace(NAMESPACE_ORDER_TOPIC_CONFIG)
                .unwrap()
                .table
                .get("T")
                .unwrap(),
            "broker-a:4"
        );
        assert!(again.namespace("missing").is_none());
    }

    #[test]
    fn reads_a_java_file_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        fs::write(
            &path,
            "{\n\t\"configTable\":{\n\t\t\"ORDER_TOPIC_CONFIG\":{\n\t\t\t\"T\":\"broker-a:8\"\n\t\t}\n\t}\n}",
        )
        .unwrap();
        let kv = KvConfigManager::load(&path).unwrap();
        assert_eq!(
            kv.get(NAMESPACE_ORDER_TOPIC_CONFIG, "T").as_deref(),
            Some("broker-a:8")
        );
        fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            KvConfigManager::load(&path),
            Err(KvConfigError::Parse { .. })
        ));
    }
}
