//! The body of REGISTER_BROKER (spec §7.2) in its three forms.
//!
//! Owns decoding only; what a registration does to the routes is `route_info`'s business.
//!
//! * version ≥ 37 (V3_0_11), `compressed=false`: `RegisterBrokerBody` JSON
//!   `{"filterServerList":[..],"topicConfigSerializeWrapper":{"dataVersion":..,"topicConfigTable":{..}}}`
//! * version < 37: a bare `TopicConfigSerializeWrapper` JSON (no filter server list).
//! * `compressed=true`: a zlib stream (Java `Deflater`) of length-prefixed parts:
//!
//! ```text
//! +---------+------------------+-----------+------------------------------------------+
//! | i32 len | DataVersion JSON | i32 count | count × (i32 len, TopicConfig "encode")  |
//! +---------+------------------+-----------+------------------------------------------+
//! | i32 len | filter server list JSON array | [version ≥ 413] i32 n, n × (i32 len, JSON) |
//! +---------+-------------------------------+-----------------------------------------+
//!   TopicConfig "encode" = "<topicName> <readQueueNums> <writeQueueNums> <perm> <filterType> <attributes JSON>"
//! ```
//!
//! A body that starts with a zlib header is inflated whatever `compressed` says: Java 5.x brokers
//! with `compressedRegister=true` compress it but always send `compressed=false`.
//!
//! An empty body means "no topics, DataVersion all zero". The inflated size is capped at
//! [`MAX_INFLATED_BODY`] so a small hostile frame cannot exhaust memory.

use std::collections::BTreeMap;
use std::io::Read;

use ferrocket_protocol::body::{
    decode_json, DataVersion, TopicConfig, TopicConfigSerializeWrapper,
};
use ferrocket_protocol::codes::version::{V3_0_11, V5_0_0};
use ferrocket_protocol::ProtocolError;
use serde::Deserialize;

/// Largest inflated compressed body accepted (a broker with 100k topics needs a few MiB).
pub const MAX_INFLATED_BODY: u64 = 64 * 1024 * 1024;

/// What a broker said about itself in REGISTER_BROKER's body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegisterBrokerBody {
    pub data_version: DataVersion,
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    /// `None` for pre-V3_0_11 bodies, which carry no list (the stored list is then kept).
    pub filter_server_list: Option<Vec<String>>,
    /// Number of static-topic mappings (`topicQueueMappingInfoMap`); static topics are not
    /// served, but their presence disables `deleteTopicWithBrokerRegistration` as in Java.
    pub static_topic_mappings: usize,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JsonBody {
    filter_server_list: Option<Vec<String>>,
    topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

impl RegisterBrokerBody {
    /// Decode a body sent with `compressed` by a broker announcing `version`.
    pub fn decode(body: &[u8], compressed: bool, version: i32) -> Result<Self, ProtocolError> {
        if body.is_empty() {
            return Ok(RegisterBrokerBody {
                filter_server_list: (version >= V3_0_11).then(Vec::new),
                ..Default::default()
            });
        }
        if version < V3_0_11 {
            let wrapper: TopicConfigSerializeWrapper = decode_json(body)?;
            return Ok(Self::from_wrapper(wrapper, None));
        }
        // A 5.x Java broker with `compressedRegister=true` compresses the body but still says
        // `compressed=false`; a zlib header can never start a JSON body, so trust the bytes.
        if compressed || looks_like_zlib(body) {
            return decode_compressed(body, version);
        }
        let json: JsonBody = decode_json(body)?;
        Ok(Self::from_wrapper(
            json.topic_config_serialize_wrapper,
            Some(json.filter_server_list.unwrap_or_default()),
        ))
    }

    fn from_wrapper(w: TopicConfigSerializeWrapper, filters: Option<Vec<String>>) -> Self {
        RegisterBrokerBody {
            data_version: w.data_version,
            topic_config_table: w.topic_config_table,
            filter_server_list: filters,
            static_topic_mappings: w.topic_queue_mapping_info_map.map_or(0, |m| m.len()),
        }
    }

    /// The compressed form, as a Java broker with `compressedRegister=true` writes it.
    pub fn encode_compressed(&self, version: i32) -> Vec<u8> {
        use flate2::write::ZlibEncoder;
        use flate2::Compression;
        use std::io::Write;

        fn part(out: &mut Vec<u8>, bytes: &[u8]) {
            out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
            out.extend_from_slice(bytes);
        }
        let mut raw = Vec::new();
        part(
            &mut raw,
            &serde_json::to_vec(&self.data_version).unwrap_or_default(),
        );
        raw.extend_from_slice(&(self.topic_config_table.len() as i32).to_be_bytes());
        for tc in self.topic_config_table.values() {
            part(&mut raw, encode_topic_config(tc).as_bytes());
        }
        let filters = self.filter_server_list.clone().unwrap_or_default();
        part(&mut raw, &serde_json::to_vec(&filters).unwrap_or_default());
        if version >= V5_0_0 {
            raw.extend_from_slice(&0i32.to_be_bytes());
        }
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
        // Writing into a Vec cannot fail.
        let _ = enc.write_all(&raw);
        enc.finish().unwrap_or_default()
    }
}

/// RFC 1950 header: deflate method, 32K window, header checksum a multiple of 31.
fn looks_like_zlib(body: &[u8]) -> bool {
    body.len() >= 2 && body[0] == 0x78 && u16::from_be_bytes([body[0], body[1]]).is_multiple_of(31)
}

/// `TopicConfig.encode()`: space-separated, attributes as compact JSON.
pub fn encode_topic_config(tc: &TopicConfig) -> String {
    format!(
        "{} {} {} {} {} {}",
        tc.topic_name,
        tc.read_queue_nums,
        tc.write_queue_nums,
        tc.perm,
        tc.topic_filter_type,
        serde_json::to_string(&tc.attributes).unwrap_or_else(|_| "{}".into())
    )
}

/// `TopicConfig.decode(String)`. Java splits on every space and silently drops attributes that
/// contain one; here everything after the fifth field is the attributes JSON. Fields Java does
/// not carry (`topicSysFlag`, `order`) keep their defaults.
pub fn decode_topic_config(s: &str) -> Result<TopicConfig, ProtocolError> {
    let bad = |what: &str| ProtocolError::Body(format!("topic config '{s}': bad {what}"));
    let mut parts = s.splitn(6, ' ');
    let name = parts
        .next()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| bad("topic name"))?;
    let mut int = |what: &str| -> Result<i32, ProtocolError> {
        parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| bad(what))
    };
    let read_queue_nums = int("readQueueNums")?;
    let write_queue_nums = int("writeQueueNums")?;
    let perm = int("perm")?;
    let filter = match parts.next() {
        Some(f @ ("SINGLE_TAG" | "MULTI_TAG")) => f.to_owned(),
        _ => return Err(bad("topicFilterType")),
    };
    let attributes = parts
        .next()
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or_default();
    Ok(TopicConfig {
        topic_name: name.to_owned(),
        read_queue_nums,
        write_queue_nums,
        perm,
        topic_filter_type: filter,
        attributes,
        ..TopicConfig::default()
    })
}

struct Reader<R> {
    inner: R,
}

impl<R: Read> Reader<R> {
    fn bytes(&mut self, len: i32, what: &str) -> Result<Vec<u8>, ProtocolError> {
        let len = usize::try_from(len)
            .map_err(|_| ProtocolError::Body(format!("negative length of {what}")))?;
        let mut buf = Vec::new();
        let got = (&mut self.inner)
            .take(len as u64)
            .read_to_end(&mut buf)
            .map_err(|e| ProtocolError::Body(format!("inflating {what}: {e}")))?;
        if got != len {
            return Err(ProtocolError::Body(format!(
                "compressed register body ends inside {what}"
            )));
        }
        Ok(buf)
    }
    fn int(&mut self, what: &str) -> Result<i32, ProtocolError> {
        let b = self.bytes(4, what)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn part(&mut self, what: &str) -> Result<Vec<u8>, ProtocolError> {
        let len = self.int(what)?;
        self.bytes(len, what)
    }
}

fn decode_compressed(body: &[u8], version: i32) -> Result<RegisterBrokerBody, ProtocolError> {
    let mut r = Reader {
        inner: flate2::read::ZlibDecoder::new(body).take(MAX_INFLATED_BODY),
    };
    let data_version: DataVersion = decode_json(&r.part("dataVersion")?)?;
    let count = r.int("topic count")?;
    let mut topic_config_table = BTreeMap::new();
    for _ in 0..count.max(0) {
        let raw = r.part("topic config")?;
        let text = String::from_utf8(raw)
            .map_err(|_| ProtocolError::Body("topic config is not UTF-8".into()))?;
        let tc = decode_topic_config(&text)?;
        topic_config_table.insert(tc.topic_name.clone(), tc);
    }
    let filters = r.part("filter server list")?;
    // Java logs and uses an empty list when this part does not parse.
    let filter_server_list = serde_json::from_slice::<Option<Vec<String>>>(&filters)
        .ok()
        .flatten()
        .unwrap_or_default();
    let mut static_topic_mappings = 0;
    if version >= V5_0_0 {
        let n = r.int("topic queue mapping count")?;
        for _ in 0..n.max(0) {
            r.part("topic queue mapping")?;
            static_topic_mappings += 1;
        }
    }
    Ok(RegisterBrokerBody {
        data_version,
        topic_config_table,
        filter_server_list: Some(filter_server_list),
        static_topic_mappings,
    })
}

/// `UtilAll.crc32`: CRC32 of the body masked to 31 bits, as carried in `bodyCrc32`.
pub fn body_crc32(body: &[u8]) -> i32 {
    let mut crc = flate2::Crc::new();
    crc.update(body);
    (crc.sum() & 0x7FFF_FFFF) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RegisterBrokerBody {
        let mut t = BTreeMap::new();
        let mut tc = TopicConfig::new("TopicTest", 4, 6);
        tc.attributes
            .insert("+message.type".into(), "NORMAL".into());
        t.insert("TopicTest".to_string(), tc);
        t.insert("TBW102".to_string(), TopicConfig::new("TBW102", 8, 7));
        RegisterBrokerBody {
            data_version: DataVersion {
                counter: 3,
                state_version: 0,
                timestamp: 1_700_000_000_000,
            },
            topic_config_table: t,
            filter_server_list: Some(vec![]),
            static_topic_mappings: 0,
        }
    }

    #[test]
    fn compressed_round_trip_both_versions() {
        for version in [401, 479] {
            let b = sample();
            let bytes = b.encode_compressed(version);
            assert_eq!(
                RegisterBrokerBody::decode(&bytes, true, version).unwrap(),
                b
            );
        }
    }

    #[test]
    fn compressed_body_with_lying_flag() {
        let b = sample();
        let bytes = b.encode_compressed(479);
        assert_eq!(RegisterBrokerBody::decode(&bytes, false, 479).unwrap(), b);
    }

    #[test]
    fn java_json_body() {
        let body = br#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":12,"stateVersion":0,"timestamp":1700000000000},"mappingDataVersion":{"counter":0,"stateVersion":0,"timestamp":1700000000000},"topicConfigTable":{"TopicTest":{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4}},"topicQueueMappingDetailMap":{},"topicQueueMappingInfoMap":{}}}"#;
        let b = RegisterBrokerBody::decode(body, false, 479).unwrap();
        assert_eq!(b.data_version.counter, 12);
        assert_eq!(b.topic_config_table["TopicTest"].read_queue_nums, 4);
        assert_eq!(b.filter_server_list, Some(vec![]));
        // the pre-3.0.11 form is the bare wrapper
        let old = br#"{"dataVersion":{"counter":1,"timestamp":5},"topicConfigTable":{}}"#;
        let b = RegisterBrokerBody::decode(old, false, 30).unwrap();
        assert_eq!(b.data_version.timestamp, 5);
        assert_eq!(b.filter_server_list, None);
        // empty body
        let b = RegisterBrokerBody::decode(b"", false, 479).unwrap();
        assert_eq!(b.data_version, DataVersion::default());
    }

    #[test]
    fn topic_config_string_form() {
        let tc = decode_topic_config("T 8 4 6 MULTI_TAG {\"a b\":\"c\"}").unwrap();
        assert_eq!(
            (tc.read_queue_nums, tc.write_queue_nums, tc.perm),
            (8, 4, 6)
        );
        assert_eq!(tc.topic_filter_type, "MULTI_TAG");
        assert_eq!(tc.attributes["a b"], "c");
        assert!(decode_topic_config("T 8 4 6").is_err());
        assert!(decode_topic_config("T x 4 6 SINGLE_TAG").is_err());
        assert!(decode_topic_config("").is_err());
        let tc = decode_topic_config("T 1 1 6 SINGLE_TAG ").unwrap();
        assert!(tc.attributes.is_empty());
    }

    #[test]
    fn hostile_compressed_bodies_are_errors() {
        let good = sample().encode_compressed(479);
        for cut in 0..good.len() {
            let _ = RegisterBrokerBody::decode(&good[..cut], true, 479);
        }
        assert!(RegisterBrokerBody::decode(b"not zlib", true, 479).is_err());
        // a negative length inside
        use flate2::write::ZlibEncoder;
        use std::io::Write;
        let mut enc = ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&(-1i32).to_be_bytes()).unwrap();
        let bytes = enc.finish().unwrap();
        assert!(RegisterBrokerBody::decode(&bytes, true, 479).is_err());
    }

    #[test]
    fn crc_is_masked() {
        assert_eq!(body_crc32(b""), 0);
        // CRC32("123456789") = 0xCBF43926, masked to 31 bits
        assert_eq!(body_crc32(b"123456789"), 0x4BF4_3926);
    }
}
