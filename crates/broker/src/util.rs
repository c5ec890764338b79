pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

use ferrocket_protocol::message::properties::{iter_properties, push_property};

/// Set `name` in a properties string, appending when absent (cheap) and rebuilding otherwise.
pub fn set_property(props: &mut String, name: &str, value: &str) {
    match ferrocket_protocol::message::find_property(props, name) {
        // push_property adds the separator 4.x clients leave out
        None => push_property(props, name, value),
        Some(v) if v == value => {}
        Some(_) => {
            let mut out = String::with_capacity(props.len() + value.len());
            for (k, v) in iter_properties(props) {
                if k != name {
                    push_property(&mut out, k, v);
                }
            }
            push_property(&mut out, name, value);
            *props = out;
        }
    }
}

/// Remove `name` from a properties string.
pub fn remove_property(props: &mut String, name: &str) {
    if ferrocket_protocol::message::find_property(props, name).is_none() {
        return;
    }
    let mut out = String::with_capacity(props.len());
    for (k, v) in iter_properties(props) {
        if k != name {
            push_property(&mut out, k, v);
        }
    }
    *props = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_remove_properties() {
        let mut p = String::from("TAGS\u{1}a\u{2}KEYS\u{1}k\u{2}");
        set_property(&mut p, "CLUSTER", "c");
        assert_eq!(p, "TAGS\u{1}a\u{2}KEYS\u{1}k\u{2}CLUSTER\u{1}c\u{2}");
        set_property(&mut p, "TAGS", "b");
        assert_eq!(
            ferrocket_protocol::message::find_property(&p, "TAGS"),
            Some("b")
        );
        assert_eq!(p.matches("TAGS").count(), 1);
        remove_property(&mut p, "KEYS");
        assert_eq!(p, "CLUSTER\u{1}c\u{2}TAGS\u{1}b\u{2}");
        // a 4.x client's string has no trailing separator
        let mut p = String::from("TAGS\u{1}a\u{2}KEYS\u{1}k");
        set_property(&mut p, "CLUSTER", "c");
        assert_eq!(p, "TAGS\u{1}a\u{2}KEYS\u{1}k\u{2}CLUSTER\u{1}c\u{2}");
    }
}
