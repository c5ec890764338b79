//! [`ExtFields`]: the custom header of a command (`extFields`, spec §1.6), a small string map.
//!
//! A request carries 5–20 short fields and is decoded on every request, so the map keeps all its
//! text in one `String` and the fields as spans into it: decoding a header costs two allocations
//! instead of two per field, lookups compare a handful of short keys in place, and iteration
//! follows insertion order (deterministic frames). Keys are unique: inserting an existing key
//! replaces its value.

use std::fmt;

/// Byte range of one key and its value in [`ExtFields::text`].
#[derive(Clone, Copy, Debug)]
struct Span {
    /// [`key_tag`] of the key: compared before the key's bytes.
    tag: u32,
    key: (u32, u32),
    value: (u32, u32),
}

/// Length, first and last byte of a key: tells most different keys apart in one comparison.
fn key_tag(key: &str) -> u32 {
    let b = key.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            ((b.len() as u32 & 0xffff) << 16) | (u32::from(f) << 8) | u32::from(l)
        }
        _ => 0,
    }
}

/// The custom header fields of a command: string keys to string values.
#[derive(Clone, Default)]
pub struct ExtFields {
    text: String,
    spans: Vec<Span>,
}

impl ExtFields {
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `n` fields of typical size.
    pub fn with_capacity(n: usize) -> Self {
        ExtFields {
            text: String::with_capacity(n * 24),
            spans: Vec::with_capacity(n),
        }
    }

    /// Room for `n` more fields.
    pub fn reserve(&mut self, n: usize) {
        self.spans.reserve(n);
        self.text.reserve(n * 24);
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn slice(&self, (start, len): (u32, u32)) -> &str {
        &self.text[start as usize..(start + len) as usize]
    }

    fn position(&self, key: &str) -> Option<usize> {
        let tag = key_tag(key);
        self.spans.iter().position(|s| {
            s.tag == tag && self.text.as_bytes()[s.key.0 as usize..][..key.len()] == *key.as_bytes()
        })
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.position(key).map(|i| self.slice(self.spans[i].value))
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    fn push_text(&mut self, s: &str) -> (u32, u32) {
        let start = self.text.len();
        self.text.push_str(s);
        // a header is far below 4 GiB (frames are capped at 16 MiB)
        (start as u32, s.len() as u32)
    }

    /// Set `key` to `value`, replacing an existing value.
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        let (key, value) = (key.as_ref(), value.as_ref());
        match self.position(key) {
            Some(i) => {
                // the old value's text is left unused (replacing a field is rare)
                let v = self.push_text(value);
                self.spans[i].value = v;
            }
            None => {
                let k = self.push_text(key);
                let v = self.push_text(value);
                self.spans.push(Span {
                    tag: key_tag(key),
                    key: k,
                    value: v,
                });
            }
        }
    }

    /// Remove `key`; whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        match self.position(key) {
            Some(i) => {
                self.spans.remove(i);
                if self.spans.is_empty() {
                    self.text.clear();
                }
                true
            }
            None => false,
        }
    }

    /// The fields in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.spans
            .iter()
            .map(|s| (self.slice(s.key), self.slice(s.value)))
    }

    /// The keys in insertion order.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.iter().map(|(k, _)| k)
    }
}

impl PartialEq for ExtFields {
    /// Equal when both hold the same keys with the same values, in any order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl Eq for ExtFields {}

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut f = ExtFields::new();
        f.extend(iter);
        f
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Extend<(K, V)> for ExtFields {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

/// Decimal text of `v` in `buf` (no allocation; headers are full of integers).
pub fn format_int(v: i64, buf: &mut [u8; 20]) -> &str {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    // only ASCII digits and '-' were written
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_replace_remove() {
        let mut f = ExtFields::new();
        assert!(f.is_empty());
        f.insert("topic", "T");
        f.insert("queueId", "3");
        f.insert("b", "é😀");
        assert_eq!(f.get("topic"), Some("T"));
        assert_eq!(f.get("queueId"), Some("3"));
        assert_eq!(f.get("b"), Some("é😀"));
        assert_eq!(f.get("queue"), None);
        assert_eq!(f.len(), 3);
        // replace with a longer and with a shorter value
        f.insert("topic", "LongerTopic");
        assert_eq!(f.get("topic"), Some("LongerTopic"));
        f.insert("topic", "S");
        assert_eq!(f.get("topic"), Some("S"));
        f.insert("b", "x");
        assert_eq!(f.get("b"), Some("x"));
        assert_eq!(f.len(), 3);
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            vec![("topic", "S"), ("queueId", "3"), ("b", "x")]
        );
        assert!(f.remove("queueId"));
        assert!(!f.remove("queueId"));
        assert_eq!(f.get("queueId"), None);
        assert_eq!(f.keys().collect::<Vec<_>>(), vec!["topic", "b"]);
        assert!(f.remove("topic") && f.remove("b"));
        assert!(f.is_empty());
        f.insert("k", "v");
        assert_eq!(f.get("k"), Some("v"));
    }

    #[test]
    fn integers_format_as_to_string() {
        let mut buf = [0u8; 20];
        for v in [
            0,
            7,
            -7,
            10,
            1234567890,
            i64::MAX,
            i64::MIN,
            i64::from(i32::MIN),
        ] {
            assert_eq!(format_int(v, &mut buf), v.to_string());
        }
    }

    #[test]
    fn equality_ignores_order() {
        let a: ExtFields = [("a", "1"), ("b", "2")].into_iter().collect();
        let b: ExtFields = [("b", "2"), ("a", "1")].into_iter().collect();
        let c: ExtFields = [("b", "2"), ("a", "3")].into_iter().collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, ExtFields::new());
        assert_eq!(format!("{a:?}"), r#"{"a": "1", "b": "2"}"#);
    }
}
