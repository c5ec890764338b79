//! What users send and get back: [`Message`], [`SendResult`], [`PullResult`].
//!
//! Owns the client side of the message encodings: turning a `Message` into the properties
//! string of a send (spec §5.2/§5.3, `UNIQ_KEY` and `WAIT` added as the Java client does), and
//! turning a pull body into `MessageExt`s (zlib bodies inflated, tags re-filtered, retry topics
//! restored). The byte layouts themselves live in `ferrocket_protocol::message`.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;

use bytes::Bytes;
use ferrocket_protocol::body::MessageQueue;
use ferrocket_protocol::message::properties::push_property;
use ferrocket_protocol::message::{decode_records_bytes, property, sys_flag, MessageExt};
use ferrocket_protocol::names;

use crate::error::ClientError;

/// A message to send (Java `Message`). Tags, keys and delay level become properties.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    pub topic: String,
    pub body: Bytes,
    /// One tag (`TAGS`), used by tag subscriptions (`TagA || TagB`).
    pub tags: Option<String>,
    /// Business keys (`KEYS`, space separated on the wire), indexed by the broker.
    pub keys: Vec<String>,
    /// User properties. Names and values must be non-empty and free of `\x01`/`\x02`.
    pub properties: HashMap<String, String>,
    /// User flag, stored as is.
    pub flag: i32,
    /// Delay level 1..=18 (`DELAY`, 1 s … 2 h with the default broker table); 0 = none.
    pub delay_level: i32,
}

impl Message {
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Message {
            topic: topic.into(),
            body: body.into(),
            ..Default::default()
        }
    }
    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.tags = Some(tags.into());
        self
    }
    pub fn with_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.keys = keys.into_iter().map(Into::into).collect();
        self
    }
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }
    pub fn with_delay_level(mut self, level: i32) -> Self {
        self.delay_level = level;
        self
    }
    pub fn with_flag(mut self, flag: i32) -> Self {
        self.flag = flag;
        self
    }

    /// Client-side checks of Java's `Validators.checkMessage`, plus the property rules of §5.2.
    pub(crate) fn validate(&self, max_size: usize) -> Result<(), ClientError> {
        names::validate_topic(&self.topic).map_err(ClientError::InvalidArgument)?;
        if names::is_not_allowed_send_topic(&self.topic) {
            return Err(ClientError::InvalidArgument(format!(
                "sending message to topic[{}] is forbidden",
                self.topic
            )));
        }
        if self.body.is_empty() {
            return Err(ClientError::InvalidArgument(
                "the message body length is zero".into(),
            ));
        }
        if self.body.len() > max_size {
            return Err(ClientError::InvalidArgument(format!(
                "the message body size over max value, MAX: {max_size}"
            )));
        }
        let bad = |s: &str| s.is_empty() || s.contains(['\u{1}', '\u{2}']);
        let tag_and_keys = self.tags.iter().chain(self.keys.iter());
        if tag_and_keys.clone().any(|s| s.contains(['\u{1}', '\u{2}'])) {
            return Err(ClientError::InvalidArgument(
                "tags and keys must not contain \\u0001 or \\u0002".into(),
            ));
        }
        if let Some((k, v)) = self.properties.iter().find(|(k, v)| bad(k) || bad(v)) {
            return Err(ClientError::InvalidArgument(format!(
                "property {k:?}={v:?}: names and values must be non-empty, without \\u0001/\\u0002"
            )));
        }
        if !(0..=i32::from(u8::MAX)).contains(&self.delay_level) {
            return Err(ClientError::InvalidArgument(format!(
                "delay level {} out of range",
                self.delay_level
            )));
        }
        Ok(())
    }

    /// The properties string of a send: user properties, then the ones set from fields, then
    /// `WAIT=true` (unless given) and `UNIQ_KEY`.
    pub(crate) fn encode_properties(&self, uniq_key: &str) -> String {
        let mut out = String::with_capacity(64);
        for (k, v) in &self.properties {
            if k == property::TAGS
                || k == property::KEYS
                || k == property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX
                || (k == property::DELAY_TIME_LEVEL && self.delay_level > 0)
            {
                continue;
            }
            push_property(&mut out, k, v);
        }
        if let Some(t) = self.tags.as_deref().filter(|t| !t.is_empty()) {
            push_property(&mut out, property::TAGS, t);
        }
        let keys: Vec<&str> = self
            .keys
            .iter()
            .map(String::as_str)
            .filter(|k| !k.is_empty())
            .collect();
        if !keys.is_empty() {
            push_property(
                &mut out,
                property::KEYS,
                &keys.join(property::KEY_SEPARATOR),
            );
        }
        if self.delay_level > 0 {
            push_property(
                &mut out,
                property::DELAY_TIME_LEVEL,
                &self.delay_level.to_string(),
            );
        }
        if !self.properties.contains_key(property::WAIT_STORE_MSG_OK) {
            push_property(&mut out, property::WAIT_STORE_MSG_OK, "true");
        }
        push_property(&mut out, property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, uniq_key);
        out
    }
}

/// Outcome of a stored send (spec §4.2 success codes 0/10/11/12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// 0: stored (and flushed/replicated as the broker promises).
    SendOk,
    /// 10: stored, but the synchronous disk flush timed out.
    FlushDiskTimeout,
    /// 12: stored, but the slave did not acknowledge in time.
    FlushSlaveTimeout,
    /// 11: stored, but no slave is available to a sync master.
    SlaveNotAvailable,
}

impl SendStatus {
    pub(crate) fn from_code(code: i32) -> Option<SendStatus> {
        use ferrocket_protocol::ResponseCode as R;
        match code {
            R::SUCCESS => Some(SendStatus::SendOk),
            R::FLUSH_DISK_TIMEOUT => Some(SendStatus::FlushDiskTimeout),
            R::FLUSH_SLAVE_TIMEOUT => Some(SendStatus::FlushSlaveTimeout),
            R::SLAVE_NOT_AVAILABLE => Some(SendStatus::SlaveNotAvailable),
            _ => None,
        }
    }
}

/// What a send returns (Java `SendResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    pub status: SendStatus,
    /// The client unique id (`UNIQ_KEY`); for a batch, the ids joined by `,`.
    pub msg_id: String,
    /// The broker's offset message id (store host + commit-log offset); comma list for a batch.
    pub offset_msg_id: String,
    /// Queue written: topic, broker name used, queue id the broker answered.
    pub queue: MessageQueue,
    /// Consume-queue offset of the (first) message.
    pub queue_offset: i64,
    pub transaction_id: Option<String>,
}

/// Status of a pull (Java `PullStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    /// 0: messages returned.
    Found,
    /// 19: nothing new at this offset (caught up, or the long poll expired).
    NoNewMsg,
    /// 20: messages exist but none matched the filter.
    NoMatchedMsg,
    /// 21: the offset is out of range; continue from `next_begin_offset`.
    OffsetIllegal,
}

/// What a pull returns (Java `PullResult`).
#[derive(Debug, Clone)]
pub struct PullResult {
    pub status: PullStatus,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    /// Decoded messages (only with [`PullStatus::Found`]); may be fewer than the broker sent when
    /// the client-side tag re-filter drops hash collisions.
    pub messages: Vec<MessageExt>,
}

/// A parsed tag expression: `*` / empty (everything) or `TagA || TagB`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TagFilter {
    pub expression: String,
    /// Empty = match all.
    pub tags: BTreeSet<String>,
}

impl TagFilter {
    pub fn parse(expression: &str) -> TagFilter {
        let e = expression.trim();
        if e.is_empty() || e == "*" {
            return TagFilter {
                expression: "*".into(),
                tags: BTreeSet::new(),
            };
        }
        let tags = e
            .split("||")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        TagFilter {
            expression: e.to_owned(),
            tags,
        }
    }
    pub fn matches(&self, msg: &MessageExt) -> bool {
        self.tags.is_empty() || msg.tags().is_some_and(|t| self.tags.contains(t))
    }
    /// The `SubscriptionData` of a heartbeat for this filter.
    pub fn subscription_data(
        &self,
        topic: &str,
        sub_version: i64,
    ) -> ferrocket_protocol::body::SubscriptionData {
        ferrocket_protocol::body::SubscriptionData {
            code_set: self
                .tags
                .iter()
                .map(|t| ferrocket_protocol::message::java_string_hash(t))
                .collect(),
            expression_type: "TAG".into(),
            sub_string: self.expression.clone(),
            sub_version,
            tags_set: self.tags.clone(),
            topic: topic.into(),
            ..Default::default()
        }
    }
}

/// Largest body we inflate (a compressed body could otherwise expand without bound).
const MAX_INFLATED: u64 = 64 * 1024 * 1024;

/// Decode a pull body: records in order; the record's queue id is replaced by the pulled queue's
/// (as Java does), compressed bodies are inflated, messages not matching `filter` dropped.
/// Decoding stops at the first malformed record, like Java's decoder.
pub(crate) fn decode_pulled(body: &Bytes, queue_id: i32, filter: &TagFilter) -> Vec<MessageExt> {
    let mut out = Vec::new();
    for rec in decode_records_bytes(body) {
        let mut msg = match rec {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "malformed record in pull body; ignoring the rest");
                break;
            }
        };
        if !filter.matches(&msg) {
            continue;
        }
        msg.queue_id = queue_id;
        if msg.sys_flag & sys_flag::COMPRESSED_FLAG != 0 {
            match inflate(&msg.body, msg.sys_flag) {
                Some(b) => msg.body = b,
                None => {
                    tracing::warn!(
                        offset = msg.queue_offset,
                        sys_flag = msg.sys_flag,
                        "cannot decompress message body; handing it over compressed"
                    );
                }
            }
        }
        out.push(msg);
    }
    out
}

/// Inflate a zlib body (the type bits 0 or ZLIB). LZ4/ZSTD are not supported: `None`.
fn inflate(body: &[u8], flag: i32) -> Option<Bytes> {
    let kind = flag & sys_flag::COMPRESSION_TYPE_MASK;
    if kind != 0 && kind != sys_flag::COMPRESSION_ZLIB_TYPE {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 2);
    flate2::read::ZlibDecoder::new(body)
        .take(MAX_INFLATED)
        .read_to_end(&mut out)
        .ok()?;
    Some(Bytes::from(out))
}

/// Deflate a body as Java does for bodies over `compressMsgBodyOverHowmuch` (zlib, level 5).
pub(crate) fn deflate(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(body.len() / 2),
        flate2::Compression::new(5),
    );
    enc.write_all(body).ok()?;
    enc.finish().ok()
}

/// For messages pulled from `%RETRY%<group>`: put the original topic back (`RETRY_TOPIC`).
pub(crate) fn restore_retry_topic(msg: &mut MessageExt, group_retry_topic: &str) {
    if msg.topic == group_retry_topic {
        if let Some(t) = msg.properties.get(property::RETRY_TOPIC) {
            msg.topic = t.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocket_protocol::message::decode_properties;

    #[test]
    fn properties_carry_fields_wait_and_uniq_key() {
        let m = Message::new("T", "b")
            .with_tags("TagA")
            .with_keys(["k1", "k2"])
            .with_property("color", "red")
            .with_delay_level(3);
        let p = decode_properties(&m.encode_properties("ID1"));
        assert_eq!(p["TAGS"], "TagA");
        assert_eq!(p["KEYS"], "k1 k2");
        assert_eq!(p["color"], "red");
        assert_eq!(p["DELAY"], "3");
        assert_eq!(p["WAIT"], "true");
        assert_eq!(p["UNIQ_KEY"], "ID1");
        assert_eq!(p.len(), 6);
    }

    #[test]
    fn validation_refuses_what_java_refuses() {
        assert!(Message::new("T", "x").validate(10).is_ok());
        assert!(Message::new("T", "").validate(10).is_err());
        assert!(Message::new("T", "12345678901").validate(10).is_err());
        assert!(Message::new("bad topic", "x").validate(10).is_err());
        assert!(Message::new("T", "x")
            .with_property("a", "")
            .validate(10)
            .is_err());
        assert!(Message::new("T", "x")
            .with_property("a\u{1}", "v")
            .validate(10)
            .is_err());
        assert!(Message::new("T", "x")
            .with_tags("a\u{2}")
            .validate(10)
            .is_err());
    }

    #[test]
    fn tag_filter() {
        let f = TagFilter::parse(" TagA || TagB ||");
        assert_eq!(f.tags.len(), 2);
        let sd = f.subscription_data("T", 5);
        assert!(sd.code_set.contains(&2598919));
        assert!(TagFilter::parse("*").tags.is_empty());
        assert_eq!(TagFilter::parse("").expression, "*");
    }

    #[test]
    fn zlib_round_trip() {
        let body = vec![7u8; 10_000];
        let z = deflate(&body).unwrap();
        assert!(z.len() < body.len());
        let back = inflate(
            &z,
            sys_flag::COMPRESSED_FLAG | sys_flag::COMPRESSION_ZLIB_TYPE,
        );
        assert_eq!(back.unwrap().as_ref(), &body[..]);
        assert!(inflate(b"not zlib", 1).is_none());
        assert!(inflate(
            &z,
            sys_flag::COMPRESSED_FLAG | sys_flag::COMPRESSION_LZ4_TYPE
        )
        .is_none());
    }
}
