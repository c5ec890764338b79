//! Bodies the nameserver writes that `ferrocket_protocol::body` does not know how to write
//! exactly as Java does.
//!
//! * The standard route JSON (spec §7.5) is fastjson with `BrowserCompatible`: besides quoting
//!   the `brokerAddrs` keys (done by `TopicRouteData::to_json(true)`), it escapes `/` as `\/` and
//!   every char ≥ U+007F as `\uXXXX` (upper-case hex, UTF-16 units). Both can only occur inside
//!   string literals of compact JSON, so a pass over the text is exact.
//! * `GetBrokerMemberGroupResponseBody` (901) with its legacy numeric keys.

use std::fmt::Write as _;

use ferrocket_protocol::body::TopicRouteData;
use ferrocket_protocol::command::json_string;

use crate::route_info::BrokerMemberGroup;

/// Route JSON as the Java nameserver answers a request; `standard` for clients ≥ V4_9_4 or
/// that sent `acceptStandardJsonOnly=true`.
pub fn route_json(route: &TopicRouteData, standard: bool) -> String {
    let json = route.to_json(standard);
    if standard {
        browser_compatible(&json)
    } else {
        json
    }
}

/// Apply fastjson `BrowserCompatible` escaping to compact JSON text.
fn browser_compatible(json: &str) -> String {
    if json.bytes().all(|b| b != b'/' && b < 0x7F) {
        return json.to_owned();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c == '/' {
            out.push_str("\\/");
        } else if (c as u32) >= 0x7F {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{:04X}", unit);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `{"brokerMemberGroup":{"brokerAddrs":{0:"…"},"brokerName":"…","cluster":"…"}}`.
pub fn broker_member_group_json(group: &BrokerMemberGroup) -> String {
    let mut out = String::from("{\"brokerMemberGroup\":{\"brokerAddrs\":{");
    for (i, (id, addr)) in group.broker_addrs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{id}:");
        json_string(&mut out, addr);
    }
    out.push_str("},\"brokerName\":");
    json_string(&mut out, &group.broker_name);
    out.push_str(",\"cluster\":");
    json_string(&mut out, &group.cluster);
    out.push_str("}}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocket_protocol::body::{BrokerData, QueueData};

    #[test]
    fn browser_compatible_escapes() {
        assert_eq!(browser_compatible(r#"{"a":"b"}"#), r#"{"a":"b"}"#);
        assert_eq!(
            browser_compatible(r#"{"a":"x/y é 😀"}"#),
            r#"{"a":"x\/y \u00E9 \uD83D\uDE00"}"#
        );
    }

    #[test]
    fn route_forms() {
        let route = TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: [(0, "127.0.0.1:10911".to_string())].into(),
                broker_name: "bröker".into(),
                cluster: "C".into(),
                ..Default::default()
            }],
            queue_datas: vec![QueueData {
                broker_name: "bröker".into(),
                perm: 6,
                read_queue_nums: 1,
                topic_sys_flag: 0,
                write_queue_nums: 1,
            }],
            ..Default::default()
        };
        let std = route_json(&route, true);
        assert!(std.contains(r#""brokerAddrs":{"0":"127.0.0.1:10911"}"#));
        assert!(std.contains(r#""brokerName":"br\u00F6ker""#));
        let legacy = route_json(&route, false);
        assert!(legacy.contains(r#""brokerAddrs":{0:"127.0.0.1:10911"}"#));
        assert!(legacy.contains("bröker"));
    }

    #[test]
    fn member_group() {
        let g = BrokerMemberGroup {
            cluster: "C".into(),
            broker_name: "b".into(),
            broker_addrs: [(0, "a:1".to_string()), (1, "a:2".to_string())].into(),
        };
        assert_eq!(
            broker_member_group_json(&g),
            r#"{"brokerMemberGroup":{"brokerAddrs":{0:"a:1",1:"a:2"},"brokerName":"b","cluster":"C"}}"#
        );
    }
}
