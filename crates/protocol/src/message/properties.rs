//! The properties string: `name \x01 value \x02 …` (remoting spec §5.2).
//!
//! Decoding mimics Java's `MessageDecoder.string2messageProperties` exactly, including its quirks:
//! a segment is the text between `\x02` separators (the last one may lack it); it is split at its
//! **first** `\x01`; it is kept only if both name and value are non-empty. A later duplicate name
//! overwrites an earlier one.

use std::collections::HashMap;

use super::consts::{NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR};

/// Encode `(name, value)` pairs as Java does: every pair followed by `\x02`, in iteration order.
pub fn encode_properties<I, K, V>(pairs: I) -> String
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut out = String::new();
    for (k, v) in pairs {
        push_property(&mut out, k.as_ref(), v.as_ref());
    }
    out
}

/// Append one `name\x01value\x02` pair to an encoded properties string, after a separator if
/// the string does not end with one (4.x Java clients and some others omit the trailing one).
pub fn push_property(out: &mut String, name: &str, value: &str) {
    if !out.is_empty() && !out.ends_with(PROPERTY_SEPARATOR) {
        out.push(PROPERTY_SEPARATOR);
    }
    out.push_str(name);
    out.push(NAME_VALUE_SEPARATOR);
    out.push_str(value);
    out.push(PROPERTY_SEPARATOR);
}

/// The valid `(name, value)` pairs of a properties string, in order (duplicates included).
pub fn iter_properties(props: &str) -> impl Iterator<Item = (&str, &str)> {
    props.split(PROPERTY_SEPARATOR).filter_map(|segment| {
        let sep = segment.find(NAME_VALUE_SEPARATOR)?;
        // name non-empty and value non-empty: Java's `kv > index && kv < newIndex - 1`.
        if sep == 0 || sep + 1 >= segment.len() {
            return None;
        }
        Some((&segment[..sep], &segment[sep + 1..]))
    })
}

/// Decode a properties string into a map (later duplicates win, as with Java's `HashMap.put`).
pub fn decode_properties(props: &str) -> HashMap<String, String> {
    iter_properties(props)
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Decode the UTF-8 bytes of a stored properties section (invalid UTF-8 is replaced, like Java).
pub fn decode_properties_bytes(props: &[u8]) -> HashMap<String, String> {
    decode_properties(&String::from_utf8_lossy(props))
}

/// Look one property up without building a map; the last valid occurrence wins, as in Java.
pub fn find_property<'a>(props: &'a str, name: &str) -> Option<&'a str> {
    // byte search (the separators are ASCII): much cheaper than char patterns
    find_property_bytes(props.as_bytes(), name)
}

/// [`find_property`] over the raw bytes of a stored record's properties section.
///
/// Works on bytes so it needs no UTF-8 validation of the whole string: separators are ASCII, so
/// splitting bytes gives the same segments. A value that is not valid UTF-8 is reported as absent.
pub fn find_property_bytes<'a>(props: &'a [u8], name: &str) -> Option<&'a str> {
    props
        .split(|b| *b == PROPERTY_SEPARATOR as u8)
        .filter_map(|segment| {
            let sep = segment
                .iter()
                .position(|b| *b == NAME_VALUE_SEPARATOR as u8)?;
            if sep == 0 || sep + 1 >= segment.len() || &segment[..sep] != name.as_bytes() {
                return None;
            }
            Some(&segment[sep + 1..])
        })
        .next_back()
        .and_then(|v| std::str::from_utf8(v).ok())
}

/// Several properties of a stored record's properties section in one pass: `out[i]` is the
/// value of `names[i]` (the last occurrence, as [`find_property_bytes`]), `None` if absent,
/// empty-named, empty-valued or not UTF-8.
pub fn scan_properties_bytes<'a, const N: usize>(
    props: &'a [u8],
    names: [&str; N],
) -> [Option<&'a str>; N] {
    let mut out = [None; N];
    for segment in props.split(|b| *b == PROPERTY_SEPARATOR as u8) {
        let Some(sep) = segment
            .iter()
            .position(|b| *b == NAME_VALUE_SEPARATOR as u8)
        else {
            continue;
        };
        if sep == 0 || sep + 1 >= segment.len() {
            continue;
        }
        let name = &segment[..sep];
        if let Some(i) = names.iter().position(|n| n.as_bytes() == name) {
            out[i] = std::str::from_utf8(&segment[sep + 1..]).ok();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_writes_trailing_separator_after_every_pair() {
        let s = encode_properties([("TAGS", "TagA"), ("KEYS", "k1 k2")]);
        assert_eq!(s, "TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}");
        assert_eq!(encode_properties(Vec::<(&str, &str)>::new()), "");
    }

    #[test]
    fn scan_finds_what_find_finds() {
        let cases: [&[u8]; 5] = [
            b"TAGS\x01a\x02KEYS\x01k1 k2\x02UNIQ_KEY\x01U\x02",
            b"TAGS\x01a\x02TAGS\x01b\x02",
            b"\x01x\x02TAGS\x01\x02KEYS\x01\xff\x02",
            b"",
            b"UNIQ_KEY\x01U",
        ];
        for props in cases {
            let got = scan_properties_bytes(props, ["TAGS", "KEYS", "UNIQ_KEY", "NONE"]);
            for (i, name) in ["TAGS", "KEYS", "UNIQ_KEY", "NONE"].into_iter().enumerate() {
                assert_eq!(
                    got[i],
                    find_property_bytes(props, name),
                    "{name} in {props:?}"
                );
            }
        }
    }

    #[test]
    fn decode_round_trip() {
        let s = encode_properties([("TAGS", "TagA"), ("UNIQ_KEY", "ABC"), ("WAIT", "true")]);
        let m = decode_properties(&s);
        assert_eq!(m.len(), 3);
        assert_eq!(m["TAGS"], "TagA");
        assert_eq!(m["UNIQ_KEY"], "ABC");
        assert_eq!(m["WAIT"], "true");
    }

    #[test]
    fn java_parse_quirks() {
        // last segment without separator is still parsed
        assert_eq!(decode_properties("a\u{1}b\u{2}c\u{1}d")["c"], "d");
        // empty value and empty name are dropped
        let m = decode_properties("a\u{1}\u{2}\u{1}b\u{2}ok\u{1}1\u{2}");
        assert_eq!(m.len(), 1);
        assert_eq!(m["ok"], "1");
        // segment without \x01 is ignored even if a later segment has one
        let m = decode_properties("abc\u{2}k\u{1}v\u{2}");
        assert_eq!(m.len(), 1);
        assert_eq!(m["k"], "v");
        // split at the FIRST \x01: value may contain \x01
        assert_eq!(decode_properties("k\u{1}v\u{1}w\u{2}")["k"], "v\u{1}w");
        // short segments ignored; later duplicates win
        let m = decode_properties("\u{2}\u{2}k\u{1}1\u{2}k\u{1}2\u{2}");
        assert_eq!(m["k"], "2");
        assert_eq!(find_property("k\u{1}1\u{2}k\u{1}2\u{2}", "k"), Some("2"));
        assert_eq!(find_property_bytes(b"k\x011\x02k\x012\x02", "k"), Some("2"));
        assert_eq!(find_property_bytes(b"k\x01\x02", "k"), None);
        assert_eq!(find_property("TAGS\u{1}A\u{2}", "KEYS"), None);
        assert!(decode_properties("").is_empty());
    }
}
