//! Java `String.hashCode` and the tag hash derived from it (remoting spec §5.8).

/// Java `String.hashCode()`: `h = 31*h + c` over the UTF-16 code units, wrapping `i32`.
pub fn java_string_hash(s: &str) -> i32 {
    java_string_hash_from(0, s)
}

/// Continue a [`java_string_hash`] over more text: the hash of `a + b` is
/// `java_string_hash_from(java_string_hash(a), b)`, so a key made of parts (`topic#key`) can be
/// hashed without building it.
pub fn java_string_hash_from(h: i32, s: &str) -> i32 {
    if s.is_ascii() {
        // one UTF-16 unit per byte
        s.bytes()
            .fold(h, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
    } else {
        s.encode_utf16()
            .fold(h, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
    }
}

/// Consume-queue tags code of a message: Java hash of its `TAGS` value (sign-extended), 0 if none.
///
/// An empty tag counts as none, as in Java (`MessageExtBrokerInner.tagsString2tagsCode` hashes an
/// empty string to 0 anyway).
pub fn tags_code(tags: Option<&str>) -> i64 {
    tags.map_or(0, |t| i64::from(java_string_hash(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_of_the_spec() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("TagA"), 2_598_919);
        assert_eq!(java_string_hash("TopicTest#key1"), -1_655_984_460);
        assert_eq!(java_string_hash("TopicTest-0"), 1_247_014_820);
        assert_eq!((java_string_hash("TopicTest-0") & 0x7fff_ffff) % 32, 4);
        assert_eq!(tags_code(Some("TagA")), 2_598_919);
        assert_eq!(tags_code(None), 0);
    }

    #[test]
    fn hash_continues_over_parts() {
        for (a, b) in [
            ("TopicTest", "#key1"),
            ("", "x"),
            ("é😀", "#k"),
            ("T#", "ü"),
        ] {
            let whole = format!("{a}{b}");
            assert_eq!(
                java_string_hash_from(java_string_hash(a), b),
                java_string_hash(&whole)
            );
        }
    }

    #[test]
    fn hash_uses_utf16_units() {
        // "é" is one UTF-16 unit 0xE9; "😀" is a surrogate pair D83D DE00.
        assert_eq!(java_string_hash("é"), 0xE9);
        assert_eq!(java_string_hash("😀"), 0xD83D * 31 + 0xDE00);
        // negative results sign-extend into the tags code
        let h = java_string_hash("TopicTest#key1");
        assert_eq!(tags_code(Some("TopicTest#key1")), i64::from(h));
        assert!(tags_code(Some("TopicTest#key1")) < 0);
    }
}
