//! Java `.properties` text: `broker.conf`, `namesrv.conf`, and the bodies of
//! GET/UPDATE_BROKER_CONFIG and GET/UPDATE_NAMESRV_CONFIG.
//!
//! `key=value`, `key: value` or `key value`; `#`/`!` comment lines; a line ending in an odd number
//! of backslashes continues on the next; `\t \n \r \f \uXXXX` and escaped separators in keys.

use std::collections::BTreeMap;

/// Parse properties text; never fails (malformed escapes are kept literally).
pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(first) = lines.next() {
        let mut logical = first.trim_start().to_owned();
        if logical.is_empty() || logical.starts_with('#') || logical.starts_with('!') {
            continue;
        }
        while ends_with_odd_backslashes(&logical) {
            logical.pop();
            match lines.next() {
                Some(next) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        out.insert(unescape(key), unescape(value));
    }
    out
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

fn split_key_value(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => break,
            _ => i += 1,
        }
    }
    let i = i.min(bytes.len());
    let key = &line[..i];
    let mut rest = line[i..].trim_start_matches([' ', '\t', '\x0c']);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start_matches([' ', '\t', '\x0c']);
    }
    (key, rest)
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.clone().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) if hex.len() == 4 => {
                        out.push(ch);
                        for _ in 0..4 {
                            chars.next();
                        }
                    }
                    _ => out.push('u'),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Format as properties text, one `key=value` line each (keys sorted), escaped so that
/// [`parse`] gives the same map back.
pub fn format(props: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (k, v) in props {
        escape_into(&mut out, k, true);
        out.push('=');
        escape_into(&mut out, v, false);
        out.push('\n');
    }
    out
}

fn escape_into(out: &mut String, s: &str, key: bool) {
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0c' => out.push_str("\\f"),
            ' ' if key || i == 0 => out.push_str("\\ "),
            '=' | ':' | '#' | '!' if key => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_properties_syntax() {
        let p = parse(
            "# comment\n  ! also\n\nlistenPort = 9876\nkvConfigPath:/a/b\\\n   /c.json\n\
             bare value with spaces\nesc=a\\tb\\u0041\\\\\nempty=\n",
        );
        assert_eq!(p["listenPort"], "9876");
        assert_eq!(p["kvConfigPath"], "/a/b/c.json");
        assert_eq!(p["bare"], "value with spaces");
        assert_eq!(p["esc"], "a\tbA\\");
        assert_eq!(p["empty"], "");
        assert_eq!(p.len(), 5);
        let _ = parse("\\u12\n=\n:\\\n\\");
        assert_eq!(parse(&format(&p)), p);
    }
}
