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

pub use crate::fields::ExtFields;

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
        self.ext_fields.get(key)
    }
    pub fn put_ext(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        self.ext_fields.insert(key, value);
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
        for (k, v) in self.ext_fields.iter() {
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
        for (k, v) in self.ext_fields.iter() {
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
    let mut de = serde_json::Deserializer::from_slice(header);
    let h = match serde::Deserialize::deserialize(&mut de).and_then(|h: JsonHeader| {
        de.end()?;
        Ok(h)
    }) {
        Ok(h) => h,
        Err(e) => return Err(ProtocolError::Header(e.to_string())),
    };
    Ok(RemotingCommand {
        code: h.code.get("code")?,
        version: h.version.get("version")?,
        opaque: h.opaque.get("opaque")?,
        flag: h.flag.get("flag")?,
        language: h.language,
        remark: h.remark,
        ext_fields: h.ext_fields,
        serialize_type: SerializeType::Json,
        ..Default::default()
    })
}

/// The JSON header, read in one pass straight into the command's fields (no intermediate
/// `serde_json::Value`: this runs for every request).
struct JsonHeader {
    code: JsonInt,
    version: JsonInt,
    opaque: JsonInt,
    flag: JsonInt,
    language: LanguageCode,
    remark: Option<String>,
    ext_fields: ExtFields,
}

/// An integer field as fastjson accepts it: a number, a numeric string, or null/absent (0).
#[derive(Default)]
enum JsonInt {
    #[default]
    Absent,
    Int(i64),
    Text(String),
    NotInt,
}

impl JsonInt {
    fn get(self, key: &str) -> Result<i32, ProtocolError> {
        match self {
            JsonInt::Absent => Ok(0),
            JsonInt::Int(v) => i32::try_from(v)
                .map_err(|_| ProtocolError::Header(format!("{key} is not a 32-bit integer"))),
            JsonInt::Text(s) => s
                .parse()
                .map_err(|_| ProtocolError::Header(format!("{key} is not an integer"))),
            JsonInt::NotInt => Err(ProtocolError::Header(format!("{key} is not an integer"))),
        }
    }
}

impl<'de> serde::Deserialize<'de> for JsonInt {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match JsonScalar::deserialize(d)? {
            JsonScalar::Null => JsonInt::Absent,
            JsonScalar::I64(v) => JsonInt::Int(v),
            JsonScalar::U64(v) => i64::try_from(v).map_or(JsonInt::NotInt, JsonInt::Int),
            JsonScalar::Str(s) => JsonInt::Text(s),
            _ => JsonInt::NotInt,
        })
    }
}

/// Any JSON value of a top-level header field: the scalars the header reads, the rest only
/// recognised.
enum JsonScalar {
    Null,
    Bool,
    I64(i64),
    U64(u64),
    F64,
    Str(String),
    Other,
}

impl<'de> serde::Deserialize<'de> for JsonScalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = JsonScalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<JsonScalar, E> {
                Ok(JsonScalar::Null)
            }
            fn visit_none<E>(self) -> Result<JsonScalar, E> {
                Ok(JsonScalar::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<JsonScalar, E> {
                let _ = v;
                Ok(JsonScalar::Bool)
            }
            fn visit_i64<E>(self, v: i64) -> Result<JsonScalar, E> {
                Ok(JsonScalar::I64(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<JsonScalar, E> {
                Ok(JsonScalar::U64(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<JsonScalar, E> {
                let _ = v;
                Ok(JsonScalar::F64)
            }
            fn visit_str<E>(self, v: &str) -> Result<JsonScalar, E> {
                Ok(JsonScalar::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<JsonScalar, E> {
                Ok(JsonScalar::Str(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<JsonScalar, A::Error> {
                <serde::de::IgnoredAny as serde::Deserialize>::deserialize(
                    serde::de::value::SeqAccessDeserializer::new(seq),
                )?;
                Ok(JsonScalar::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<JsonScalar, A::Error> {
                <serde::de::IgnoredAny as serde::Deserialize>::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(JsonScalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// One `extFields` value, written straight into the map under `key` (no intermediate String):
/// text as it is, numbers and booleans as written, null removes the key, arrays and objects as
/// their JSON text (what Java's fastjson gives a header field).
struct JsonFieldValue<'a> {
    fields: &'a mut ExtFields,
    key: &'a str,
}

impl<'de> serde::de::DeserializeSeed<'de> for JsonFieldValue<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonFieldValue<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.fields.remove(self.key);
        Ok(())
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<(), E> {
        self.fields
            .insert(self.key, if v { "true" } else { "false" });
        Ok(())
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<(), E> {
        let mut buf = [0u8; 20];
        self.fields
            .insert(self.key, crate::fields::format_int(v, &mut buf));
        Ok(())
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<(), E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) => {
                self.fields.insert(self.key, v.to_string());
                Ok(())
            }
        }
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<(), E> {
        match serde_json::Number::from_f64(v) {
            Some(n) => self.fields.insert(self.key, n.to_string()),
            None => {
                self.fields.remove(self.key);
            }
        }
        Ok(())
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        self.fields.insert(self.key, v);
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let v = <serde_json::Value as serde::Deserialize>::deserialize(
            serde::de::value::SeqAccessDeserializer::new(seq),
        )?;
        self.fields.insert(self.key, v.to_string());
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let v = <serde_json::Value as serde::Deserialize>::deserialize(
            serde::de::value::MapAccessDeserializer::new(map),
        )?;
        self.fields.insert(self.key, v.to_string());
        Ok(())
    }
}

/// `extFields`: an object (its null values dropped) or null.
struct JsonExtFields(Option<ExtFields>);

impl<'de> serde::Deserialize<'de> for JsonExtFields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = JsonExtFields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("extFields as an object")
            }
            fn visit_unit<E>(self) -> Result<JsonExtFields, E> {
                Ok(JsonExtFields(None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<JsonExtFields, A::Error> {
                let mut fields = ExtFields::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    map.next_value_seed(JsonFieldValue {
                        fields: &mut fields,
                        key: &key,
                    })?;
                }
                Ok(JsonExtFields(Some(fields)))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> serde::Deserialize<'de> for JsonHeader {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = JsonHeader;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("header is not a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<JsonHeader, A::Error> {
                let mut h = JsonHeader {
                    code: JsonInt::Absent,
                    version: JsonInt::Absent,
                    opaque: JsonInt::Absent,
                    flag: JsonInt::Absent,
                    language: LanguageCode::Other,
                    remark: None,
                    ext_fields: ExtFields::new(),
                };
                while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match k.as_ref() {
                        "code" => h.code = map.next_value()?,
                        "version" => h.version = map.next_value()?,
                        "opaque" => h.opaque = map.next_value()?,
                        "flag" => h.flag = map.next_value()?,
                        "language" => {
                            h.language = match map.next_value::<JsonScalar>()? {
                                JsonScalar::Str(s) => LanguageCode::from_name(&s),
                                JsonScalar::U64(n) => LanguageCode::from_code(n.min(255) as u8),
                                JsonScalar::I64(n) if n >= 0 => {
                                    LanguageCode::from_code(n.min(255) as u8)
                                }
                                JsonScalar::I64(_) | JsonScalar::F64 => LanguageCode::from_code(7),
                                _ => LanguageCode::Other,
                            }
                        }
                        "remark" => {
                            h.remark = match map.next_value::<JsonScalar>()? {
                                JsonScalar::Str(s) if !s.is_empty() => Some(s),
                                _ => None,
                            }
                        }
                        "extFields" => {
                            let JsonExtFields(f) = map.next_value()?;
                            h.ext_fields = f.unwrap_or_default();
                        }
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(h)
            }
        }
        d.deserialize_map(V)
    }
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
    let ext = &h[..ext_len as usize];
    cmd.ext_fields = decode_binary_ext_fields(ext)?;
    Ok(cmd)
}

/// The `extFields` section of a ROCKETMQ binary header: `(i16 keyLen, key, i32 valueLen, value)*`.
fn decode_binary_ext_fields(mut ext: &[u8]) -> Result<ExtFields, ProtocolError> {
    let short = |what: &str| ProtocolError::Header(format!("binary header truncated at {what}"));
    let mut fields = ExtFields::with_capacity(16);
    while !ext.is_empty() {
        if ext.len() < 2 {
            return Err(short("extFields key length"));
        }
        let kl = i16::from_be_bytes([ext[0], ext[1]]);
        ext = &ext[2..];
        if kl < 0 || kl as usize > ext.len() {
            return Err(short("extFields key"));
        }
        let (k, rest) = ext.split_at(kl as usize);
        ext = rest;
        if ext.len() < 4 {
            return Err(short("extFields value length"));
        }
        let vl = i32::from_be_bytes([ext[0], ext[1], ext[2], ext[3]]);
        ext = &ext[4..];
        if vl < 0 || vl as usize > ext.len() {
            return Err(short("extFields value"));
        }
        let (v, rest) = ext.split_at(vl as usize);
        ext = rest;
        if k.is_empty() || v.is_empty() {
            continue; // Java: an empty string decodes to null
        }
        fields.insert(
            utf8_str(k, "extFields key")?,
            utf8_str(v, "extFields value")?,
        );
    }
    Ok(fields)
}

fn utf8_str<'a>(b: &'a [u8], what: &str) -> Result<&'a str, ProtocolError> {
    std::str::from_utf8(b).map_err(|_| ProtocolError::Header(format!("{what} is not UTF-8")))
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

    fn json_frame(header: &[u8]) -> BytesMut {
        let mut frame = BytesMut::new();
        frame.put_i32(4 + header.len() as i32);
        frame.put_i32(header.len() as i32);
        frame.extend_from_slice(header);
        frame
    }

    #[test]
    fn json_header_field_forms_other_clients_write() {
        // integers as strings, language as a number, unknown top-level keys, nested values kept
        // as their JSON text, a float, an escaped key, a later duplicate winning
        let header = br#"{"code":"310","language":1,"version":"401","opaque":"-7","flag":null,"serializeTypeCurrentRPC":"JSON","x":{"y":[1]},"extFields":{"ab":"1","obj":{"k":[1,2]},"f":1.5,"big":18446744073709551615,"d":"1","d":"2","gone":"x","gone":null}}"#;
        let cmd = RemotingCommand::decode_frame(&mut json_frame(header))
            .unwrap()
            .unwrap();
        assert_eq!(
            (cmd.code, cmd.version, cmd.opaque, cmd.flag),
            (310, 401, -7, 0)
        );
        assert_eq!(cmd.language, LanguageCode::from_code(1));
        assert_eq!(cmd.ext("ab"), Some("1"));
        assert_eq!(cmd.ext("obj"), Some(r#"{"k":[1,2]}"#));
        assert_eq!(cmd.ext("f"), Some("1.5"));
        assert_eq!(cmd.ext("big"), Some("18446744073709551615"));
        assert_eq!(cmd.ext("d"), Some("2"));
        assert_eq!(cmd.ext("gone"), None);
        assert_eq!(cmd.serialize_type, SerializeType::Json);
    }

    #[test]
    fn json_header_errors_are_header_errors() {
        for bad in [
            &br#"[1,2]"#[..],
            br#"{"code":10"#,
            br#"{"code":10} trailing"#,
            br#"{"code":4294967296}"#,
            br#"{"code":"ten"}"#,
            br#"{"code":true}"#,
            br#"{"code":10,"extFields":[1]}"#,
            br#"{"code":10,"extFields":"x"}"#,
            b"\xff",
        ] {
            let r = RemotingCommand::decode_frame(&mut json_frame(bad));
            assert!(
                matches!(r, Err(ProtocolError::Header(_))),
                "{}: {r:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // absent and null fields are 0 / empty, as in fastjson
        let cmd = RemotingCommand::decode_frame(&mut json_frame(br#"{"extFields":null}"#))
            .unwrap()
            .unwrap();
        assert_eq!((cmd.code, cmd.opaque), (0, 0));
        assert!(cmd.ext_fields.is_empty());
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
