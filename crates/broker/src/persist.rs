//! Config files under `storePathRootDir/config/`, persisted as RocketMQ does: the new content
//! goes to `X.tmp` and is fsynced, the old `X` becomes `X.bak`, `X.tmp` is renamed to `X`, and the
//! directory is fsynced. Loading falls back to `X.bak` when `X` is missing, empty or unreadable.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Durably replace the content of `path`.
pub fn persist(path: &Path, content: &str) -> io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = with_suffix(path, ".tmp");
    {
        let mut f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
    }
    if path.exists() {
        fs::rename(path, with_suffix(path, ".bak"))?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(dir);
    Ok(())
}

/// Load `path` (or its `.bak`) with `parse`. `Ok(None)` when neither exists.
/// A `.bak` that exists but does not parse is an error: the broker must not start on lost config.
pub fn load<T>(path: &Path, parse: impl Fn(&str) -> Result<T, String>) -> io::Result<Option<T>> {
    match fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => match parse(&text) {
            Ok(v) => return Ok(Some(v)),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "config file unreadable, trying .bak")
            }
        },
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let bak = with_suffix(path, ".bak");
    match fs::read_to_string(&bak) {
        Ok(text) if !text.trim().is_empty() => parse(&text).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", bak.display()),
            )
        }),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persist_keeps_a_backup_and_load_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config/topics.json");
        persist(&p, "one").unwrap();
        persist(&p, "two").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(fs::read_to_string(with_suffix(&p, ".bak")).unwrap(), "one");
        let parse = |s: &str| {
            if s.starts_with('t') || s.starts_with('o') {
                Ok(s.to_string())
            } else {
                Err("bad".into())
            }
        };
        assert_eq!(load(&p, parse).unwrap().as_deref(), Some("two"));
        fs::write(&p, "garbage").unwrap();
        assert_eq!(load(&p, parse).unwrap().as_deref(), Some("one"));
        fs::remove_file(&p).unwrap();
        assert_eq!(load(&p, parse).unwrap().as_deref(), Some("one"));
        fs::write(with_suffix(&p, ".bak"), "garbage").unwrap();
        assert!(load(&p, parse).is_err());
        assert!(load(&dir.path().join("none.json"), parse)
            .unwrap()
            .is_none());
    }
}
