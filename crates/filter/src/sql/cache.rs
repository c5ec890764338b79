//! Cache of compiled selectors by text, like the Java parser's `PARSE_CACHE` (Guava cache of 100
//! entries that also remembers failures).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::{SqlError, SqlExpression};

type Compiled = Result<Arc<SqlExpression>, SqlError>;

struct Entry {
    value: Compiled,
    last_used: u64,
}

struct Inner {
    map: HashMap<String, Entry>,
    tick: u64,
}

/// A small thread-safe LRU cache of compiled expressions (and of compile errors) keyed by the
/// exact expression text.
pub struct ExpressionCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl Default for ExpressionCache {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ExpressionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpressionCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl ExpressionCache {
    /// Default capacity, as in the Java broker.
    pub const DEFAULT_CAPACITY: usize = 100;

    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    pub fn with_capacity(capacity: usize) -> Self {
        ExpressionCache {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                tick: 0,
            }),
        }
    }

    /// A process-wide cache.
    pub fn global() -> &'static ExpressionCache {
        static GLOBAL: OnceLock<ExpressionCache> = OnceLock::new();
        GLOBAL.get_or_init(ExpressionCache::new)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map inconsistent; keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The compiled expression for `text`, compiling (outside the lock) on a miss. Errors are
    /// cached too.
    pub fn get_or_compile(&self, text: &str) -> Result<Arc<SqlExpression>, SqlError> {
        {
            let mut inner = self.lock();
            inner.tick += 1;
            let tick = inner.tick;
            if let Some(e) = inner.map.get_mut(text) {
                e.last_used = tick;
                return e.value.clone();
            }
        }
        let value: Compiled = SqlExpression::compile(text).map(Arc::new);
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        if !inner.map.contains_key(text) && inner.map.len() >= self.capacity {
            if let Some(oldest) = inner
                .map
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
            {
                inner.map.remove(&oldest);
            }
        }
        inner.map.insert(
            text.to_string(),
            Entry {
                value: value.clone(),
                last_used: tick,
            },
        );
        value
    }

    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, text: &str) -> bool {
        self.lock().map.contains_key(text)
    }

    pub fn clear(&self) {
        self.lock().map.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_and_evicts_least_recently_used() {
        let c = ExpressionCache::with_capacity(3);
        let a1 = c.get_or_compile("a = 1").unwrap();
        let a2 = c.get_or_compile("a = 1").unwrap();
        assert!(Arc::ptr_eq(&a1, &a2));
        assert!(c.get_or_compile("a = NULL").is_err());
        assert!(c.get_or_compile("a = NULL").is_err());
        c.get_or_compile("b = 1").unwrap();
        assert_eq!(c.len(), 3);
        c.get_or_compile("a = 1").unwrap(); // touch
        c.get_or_compile("c = 1").unwrap(); // evicts "a = NULL"
        assert_eq!(c.len(), 3);
        assert!(c.contains("a = 1"));
        assert!(!c.contains("a = NULL"));
        c.clear();
        assert!(c.is_empty());
    }

    #[test]
    fn default_capacity_is_100() {
        let c = ExpressionCache::new();
        for i in 0..250 {
            c.get_or_compile(&format!("a = {i}")).unwrap();
        }
        assert_eq!(c.len(), 100);
        assert!(c.contains("a = 249"));
        assert!(!c.contains("a = 0"));
    }

    #[test]
    fn concurrent_use() {
        let c = Arc::new(ExpressionCache::new());
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let c = Arc::clone(&c);
                std::thread::spawn(move || {
                    for i in 0..500 {
                        let e = c
                            .get_or_compile(&format!("a = {}", (i * 7 + t) % 150))
                            .unwrap();
                        assert!(e.as_str().starts_with("a = "));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert!(c.len() <= 100);
    }
}
