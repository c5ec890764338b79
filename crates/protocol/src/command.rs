//! The `RemotingCommand`: one request or response, and its frame.
//!
//! ```text
//! +----------------+-------------------------------+-----------------+---------------+
//! | i32 total len  | u8 serialize type | u24 hlen  |  header (hlen)  |     body      |
//! +----------------+-------------------------------+-----------------+---------------+
//!   total len = 4 + hlen + body len (it does not count itself); big-endian throughout
//!   serialize type: 0 = JSON header, 1 = ROCKETMQ binary header
//! ```
//!
//! A frame whose `total len + 4` exceeds [`MAX_FRAME_LENGTH`] is refused before any buffer is
//! allocated for it.

use std::collections::HashMap;
use std::fmt::Write as _;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::codes::{version, LanguageCode};
use crate::error::ProtocolError;

/// Largest frame accepted, including the 4-byte length field (`com.rocketmq.remoting.frameMaxLength`).
pub const MAX_FRAME_LENGTH: usize = 16 * 1024 * 1024;

/// Flag bit 0: the command is a response.
pub const FLAG_RESPONSE: i32 = 1;
/// Flag bit 1: the request is oneway and must not be answered.
pub const FLAG_ONEWAY: i32 = 2;

/// The custom header: typed header fields flattened into strings.
pub type ExtFields = HashMap<String, String>;

/// How the header of a frame is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SerializeType {
    #[default]
    Json,
    RocketMq,
}

impl SerializeType {
    pub fn code(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }
}

/// One request or response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemotingCommand {
    pub code: i32,
    pub language: LanguageCode,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: ExtFields,
    pub body: Bytes,
    /// Header encoding this command arrived in, or will be sent in.
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    /// A new request with this code, announcing our version.
    pub fn request(code: i32) -> Self {
        RemotingCommand {
            code,
            version: version::CURRENT,
            ..Default::default()
        }
    }

    /// A response with `code` and an optional remark; opaque is filled in by [`Self::response_to`].
    pub fn response(code: i32, remark: impl Into<Option<String>>) -> Self {
        RemotingCommand {
            code,
            version: version::CURRENT,
            flag: FLAG_RESPONSE,
            remark: remark.into(),
            ..Default::default()
        }
    }

    /// Make `self` the response of `request`: same opaque, same header encoding, response flag.
    pub fn response_to(mut self, request: &RemotingCommand) -> Self {
        self.opaque = request.opaque;
        self.flag |= FLAG_RESPONSE;
        self.flag &= !FLAG_ONEWAY;
        self.serialize_type = request.serialize_type;
        self
    }

    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }
    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }
    pub fn mark_oneway(mut self) -> Self {
        self.flag |= FLAG_ONEWAY;
        self
    }
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
    pub fn with_remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }
    pub fn with_header<H: crate::header::CommandHeader>(mut self, header: &H) -> Self {
        header.encode(&mut self.ext_fields);
        self
    }
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields.get(key).map(String::as_str)
    }
    pub fn put_ext(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.ext_fields.insert(key.into(), value.into());
    }
    /// Decode the typed custom header of this command.
    pub fn decode_header<H: crate::header::CommandHeader>(&self) -> Result<H, ProtocolError> {
        H::decode(&self.ext_fields)
    }

    /// Encode the header bytes in this command's serialize type.
    pub fn encode_header(&self) -> Vec<u8> {
        match self.serialize_type {
            SerializeType::Json => self.encode_json_header(),
            SerializeType::RocketMq => self.encode_binary_header(),
        }
    }

    /// Append the whole frame (length, header, body) to `dst`.
    pub fn encode_frame(&self, dst: &mut BytesMut) {
        let header = self.encode_header();
        self.encode_frame_prefix(&header, dst);
        dst.extend_from_slice(&self.body);
    }

    /// Append the length word, header-length word and header; the caller writes the body after it
    /// (lets a transport send the body as a separate buffer, without copying it).
    pub fn encode_frame_prefix(&self, header: &[u8], dst: &mut BytesMut) {
        let total = 4 + header.len() + self.body.len();
        dst.reserve(8 + header.len());
        dst.put_i32(total as i32);
        dst.put_u32(
            ((self.serialize_type.code() as u32) << 24) | (header.len() as u32 & 0xFF_FFFF),
        );
        dst.extend_from_slice(header);
    }

    fn encode_json_header(&self) -> Vec<u8> {
        let mut s = String::with_capacity(128 + self.ext_fields.len() * 32);
        let _ = write!(s, "{{\"code\":{},\"extFields\":{{", self.code);
        let mut first = true;
        for (k, v) in &self.ext_fields {
            if !first {
                s.push(',');
            }
            first = false;
            json_string(&mut s, k);
            s.push(':');
            json_string(&mut s, v);
        }
        let _ = write!(
            s,
            "}},\"flag\":{},\"language\":\"{}\",\"opaque\":{}",
            self.flag,
            self.language.name(),
            self.opaque
        );
        if let Some(remark) = &self.remark {
            s.push_str(",\"remark\":");
            json_string(&mut s, remark);
        }
        let _ = write!(
            s,
            ",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":{}}}",
            self.version
        );
        s.into_bytes()
    }

    fn encode_binary_header(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(64 + self.ext_fields.len() * 32);
        b.put_i16(self.code as i16);
        b.put_u8(self.language.code());
        b.put_i16(self.version as i16);
        b.put_i32(self.opaque);
        b.put_i32(self.flag);
        match &self.remark {
            Some(r) if !r.is_empty() => {
                b.put_i32(r.len() as i32);
                b.extend_from_slice(r.as_bytes());
            }
            _ => b.put_i32(0),
        }
        let len_pos = b.len();
        b.put_i32(0);
        for (k, v) in &self.ext_fields {
            // Java decodes an empty string as null; such entries carry nothing.
            if k.is_empty() || v.is_empty() {
                continue;
            }
            b.put_i16(k.len() as i16);
            b.extend_from_slice(k.as_bytes());
            b.put_i32(v.len() as i32);
            b.extend_from_slice(v.as_bytes());
        }
        let ext_len = (b.len() - len_pos - 4) as i32;
        b[len_pos..len_pos + 4].copy_from_slice(&ext_len.to_be_bytes());
        b
    }

    /// Decode one frame from `src` if a whole one is buffered, consuming it. `Ok(None)` means
    /// "need more bytes". The length is checked before anything is reserved or copied.
    pub fn decode_frame(src: &mut BytesMut) -> Result<Option<RemotingCommand>, ProtocolError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let total = i32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        if total < 4 || total as usize + 4 > MAX_FRAME_LENGTH {
            return Err(ProtocolError::FrameLength(total as i64));
        }
        let total = total as usize;
        if src.len() < 4 + total {
            src.reserve(4 + total - src.len());
            return Ok(None);
        }
        src.advance(4);
        let frame = src.split_to(total).freeze();
        Self::decode_frame_body(frame).map(Some)
    }

    /// Decode a frame without its leading total-length field.
    pub fn decode_frame_body(mut frame: Bytes) -> Result<RemotingCommand, ProtocolError> {
        if frame.len() < 4 {
            return Err(ProtocolError::FrameLength(frame.len() as i64));
        }
        let word = frame.get_u32();
        let ser = (word >> 24) as u8;
        let header_len = (word & 0xFF_FFFF) as usize;
        if header_len > frame.len() {
            return Err(ProtocolError::HeaderLength {
                header: header_len,
                frame: frame.len() + 4,
            });
        }
        let header = frame.split_to(header_len);
        let mut cmd = match ser {
            0 => decode_json_header(&header)?,
            1 => decode_binary_header(header)?,
            other => return Err(ProtocolError::SerializeType(other)),
        };
        cmd.body = frame;
        Ok(cmd)
    }
}

/// Write `s` as a JSON string literal (with quotes), escaping as JSON requires.
pub fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn decode_json_header(header: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    use serde_json::Value;
    let value: Value =
        serde_json::from_slice(header).map_err(|e| ProtocolError::Header(e.to_string()))?;
    let obj = value
        .as_object()
        .ok_or_else(|| ProtocolError::Header("header is not a JSON object".into()))?;
    let int = |key: &str| -> Result<i32, ProtocolError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(0),
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(|| ProtocolError::Header(format!("{key} is not a 32-bit integer"))),
            Some(Value::String(s)) => s
                .parse()
                .map_err(|_| ProtocolError::Header(format!("{key} is not an integer"))),
            Some(_) => Err(ProtocolError::Header(format!("{key} is not an integer"))),
        }
    };
    let mut cmd = RemotingCommand {
        code: int("code")?,
        version: int("version")?,
        opaque: int("opaque")?,
        flag: int("flag")?,
        serialize_type: SerializeType::Json,
        ..Default::default()
    };
    cmd.language = match obj.get("language") {
        Some(Value::String(s)) => LanguageCode::from_name(s),
        Some(Value::Number(n)) => LanguageCode::from_code(n.as_u64().unwrap_or(7).min(255) as u8),
        _ => LanguageCode::Other,
    };
    cmd.remark = match obj.get("remark") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    match obj.get("extFields") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            cmd.ext_fields.reserve(map.len());
            for (k, v) in map {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => continue,
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => other.to_string(),
                };
                cmd.ext_fields.insert(k.clone(), v);
            }
        }
        Some(_) => return Err(ProtocolError::Header("extFields is not an object".into())),
    }
    Ok(cmd)
}

fn decode_binary_header(mut h: Bytes) -> Result<RemotingCommand, ProtocolError> {
    let short = |what: &str| ProtocolError::Header(format!("binary header truncated at {what}"));
    if h.remaining() < 2 + 1 + 2 + 4 + 4 + 4 {
        return Err(short("fixed fields"));
    }
    let mut cmd = RemotingCommand {
        code: h.get_i16() as i32,
        language: LanguageCode::from_code(h.get_u8()),
        version: h.get_i16() as i32,
        opaque: h.get_i32(),
        flag: h.get_i32(),
        serialize_type: SerializeType::RocketMq,
        ..Default::default()
    };
    let remark_len = h.get_i32();
    if remark_len < 0 || remark_len as usize > h.remaining() {
        return Err(short("remark"));
    }
    if remark_len > 0 {
        let r = h.split_to(remark_len as usize);
        cmd.remark = Some(utf8(&r, "remark")?);
    }
    if h.remaining() < 4 {
        return Err(short("extFields length"));
    }
    let ext_len = h.get_i32();
    if ext_len < 0 || ext_len as usize > h.remaining() {
        return Err(short("extFields"));
    }
    let mut ext = h.split_to(ext_len as usize);
    while ext.has_remaining() {
        if ext.remaining() < 2 {
            return Err(short("extFields key length"));
        }
        let kl = ext.get_i16();
        if kl < 0 || kl as usize > ext.remaining() {
            return Err(short("extFields key"));
        }
        let k = ext.split_to(kl as usize);
        if ext.remaining() < 4 {
            return Err(short("extFields value length"));
        }
        let vl = ext.get_i32();
        if vl < 0 || vl as usize > ext.remaining() {
            return Err(short("extFields value"));
        }
        let v = ext.split_to(vl as usize);
        if k.is_empty() || v.is_empty() {
            continue; // Java: an empty string decodes to null
        }
        cmd.ext_fields
            .insert(utf8(&k, "extFields key")?, utf8(&v, "extFields value")?);
    }
    Ok(cmd)
}

fn utf8(b: &[u8], what: &str) -> Result<String, ProtocolError> {
    String::from_utf8(b.to_vec()).map_err(|_| ProtocolError::Header(format!("{what} is not UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Spec §1.2: a 5.3.3 client asking for the route of TopicTest with a binary header.
    #[test]
    fn golden_binary_route_request() {
        let bytes = hex(
            "0000002d 01000029 0069 00 01df 00000007 00000000 00000000 00000014
                         0005 746f706963 00000009 546f70696354657374",
        );
        let mut buf = BytesMut::from(&bytes[..]);
        let cmd = RemotingCommand::decode_frame(&mut buf).unwrap().unwrap();
        assert!(buf.is_empty());
        assert_eq!(cmd.code, 105);
        assert_eq!(cmd.version, 479);
        assert_eq!(cmd.opaque, 7);
        assert_eq!(cmd.language, LanguageCode::Java);
        assert_eq!(cmd.serialize_type, SerializeType::RocketMq);
        assert_eq!(cmd.ext("topic"), Some("TopicTest"));
        assert!(cmd.body.is_empty());
        // Re-encoding gives the same bytes (single ext field, so no ordering question).
        let mut out = BytesMut::new();
        cmd.encode_frame(&mut out);
        assert_eq!(&out[..], &bytes[..]);
    }

    /// Spec §1.2: the same request with a JSON header, as the Java client writes it.
    #[test]
    fn golden_json_route_request() {
        let header = br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}"#;
        assert_eq!(header.len(), 131);
        let mut frame = BytesMut::new();
        frame.put_i32(135);
        frame.put_i32(131);
        frame.extend_from_slice(header);
        let cmd = RemotingCommand::decode_frame(&mut frame).unwrap().unwrap();
        assert_eq!((cmd.code, cmd.opaque, cmd.version), (105, 7, 479));
        assert_eq!(cmd.ext("topic"), Some("TopicTest"));
        let mut out = BytesMut::new();
        cmd.encode_frame(&mut out);
        assert_eq!(&out[8..], &header[..]);
    }

    #[test]
    fn json_round_trip_with_body_and_escapes() {
        let mut cmd = RemotingCommand::request(310).with_body(Bytes::from_static(b"hello"));
        cmd.put_ext("i", "TAGS\u{1}TagA\u{2}KEYS\u{1}k \"q\"\u{2}");
        cmd.remark = Some("line\nnext".into());
        let mut out = BytesMut::new();
        cmd.encode_frame(&mut out);
        let back = RemotingCommand::decode_frame(&mut out).unwrap().unwrap();
        assert_eq!(back, cmd);
    }

    #[test]
    fn binary_round_trip_drops_empty_values() {
        let mut cmd = RemotingCommand::response(0, Some("ok".to_string()));
        cmd.serialize_type = SerializeType::RocketMq;
        cmd.put_ext("msgId", "ABC");
        cmd.put_ext("empty", "");
        let mut out = BytesMut::new();
        cmd.encode_frame(&mut out);
        let back = RemotingCommand::decode_frame(&mut out).unwrap().unwrap();
        assert_eq!(back.ext("msgId"), Some("ABC"));
        assert_eq!(back.ext("empty"), None);
        assert_eq!(back.remark.as_deref(), Some("ok"));
    }

    #[test]
    fn lenient_json_input() {
        let header = br#"{"code":34,"language":"GO","version":317,"opaque":3,"flag":0,"remark":"","extFields":{"queueId":5,"b":true,"n":null}}"#;
        let mut frame = BytesMut::new();
        frame.put_i32(4 + header.len() as i32);
        frame.put_i32(header.len() as i32);
        frame.extend_from_slice(header);
        let cmd = RemotingCommand::decode_frame(&mut frame).unwrap().unwrap();
        assert_eq!(cmd.language, LanguageCode::Go);
        assert_eq!(cmd.remark, None);
        assert_eq!(cmd.ext("queueId"), Some("5"));
        assert_eq!(cmd.ext("b"), Some("true"));
        assert_eq!(cmd.ext("n"), None);
    }

    #[test]
    fn partial_frames_wait_for_more() {
        let mut cmd = RemotingCommand::request(11);
        cmd.opaque = 9;
        let mut out = BytesMut::new();
        cmd.encode_frame(&mut out);
        let full = out.clone();
        for cut in 0..full.len() {
            let mut part = BytesMut::from(&full[..cut]);
            assert!(
                RemotingCommand::decode_frame(&mut part).unwrap().is_none(),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn oversized_and_malformed_frames_are_errors() {
        let mut big = BytesMut::new();
        big.put_i32(MAX_FRAME_LENGTH as i32);
        assert!(matches!(
            RemotingCommand::decode_frame(&mut big),
            Err(ProtocolError::FrameLength(_))
        ));
        let mut neg = BytesMut::new();
        neg.put_i32(-5);
        assert!(RemotingCommand::decode_frame(&mut neg).is_err());
        // header length larger than the frame
        let mut bad = BytesMut::new();
        bad.put_i32(8);
        bad.put_i32(100);
        bad.put_i32(0);
        assert!(matches!(
            RemotingCommand::decode_frame(&mut bad),
            Err(ProtocolError::HeaderLength { .. })
        ));
        // not JSON
        let mut bad = BytesMut::new();
        bad.put_i32(4 + 3);
        bad.put_i32(3);
        bad.extend_from_slice(b"{{{");
        assert!(matches!(
            RemotingCommand::decode_frame(&mut bad),
            Err(ProtocolError::Header(_))
        ));
        // unknown serialize type
        let mut bad = BytesMut::new();
        bad.put_i32(4 + 2);
        bad.put_u32((7 << 24) | 2);
        bad.extend_from_slice(b"{}");
        assert!(matches!(
            RemotingCommand::decode_frame(&mut bad),
            Err(ProtocolError::SerializeType(7))
        ));
        // binary header with a lying key length
        let mut bad = BytesMut::new();
        let h = hex("0069 00 01df 00000007 00000000 00000000 00000006 7fff 0000");
        bad.put_i32(4 + h.len() as i32);
        bad.put_u32((1 << 24) | h.len() as u32);
        bad.extend_from_slice(&h);
        assert!(matches!(
            RemotingCommand::decode_frame(&mut bad),
            Err(ProtocolError::Header(_))
        ));
    }
}
