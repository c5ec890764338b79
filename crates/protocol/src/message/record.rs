//! The stored message record: the commit-log format, which is also the format of every message a
//! broker hands to a client (storage spec §2.1, remoting spec §5.6).
//!
//! ```text
//!  offset  field                         size
//!  0       TOTALSIZE                     i32   whole record, this field included
//!  4       MAGICCODE                     i32   0xDAA320A7 (V1) | 0xDAA320AB (V2) | 0xCBD43194 BLANK
//!  8       BODYCRC                       i32   crc32(body) & 0x7FFFFFFF
//!  12      QUEUEID                       i32
//!  16      FLAG                          i32
//!  20      QUEUEOFFSET                   i64   patched by the store at append
//!  28      PHYSICALOFFSET                i64   patched by the store at append
//!  36      SYSFLAG                       i32
//!  40      BORNTIMESTAMP                 i64
//!  48      BORNHOST                      4+4 (IPv4) | 16+4 (IPv6, sysFlag 0x10)
//!  56|68   STORETIMESTAMP                i64   patched by the store at append
//!  …       STOREHOST                     4+4 | 16+4 (sysFlag 0x20)
//!  …       RECONSUMETIMES                i32
//!  …       PREPARED TRANSACTION OFFSET   i64
//!  84+     BODYLENGTH i32 + BODY
//!          TOPICLENGTH i8 (V1) | i16 (V2) + TOPIC (UTF-8)
//!          PROPERTIESLENGTH i16 + PROPERTIES (UTF-8, see `properties`)
//! ```
//!
//! All integers are big-endian. A BLANK record is only the 8-byte header `maxBlank | 0xCBD43194`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{BufMut, Bytes};

use super::consts::{
    sys_flag, BLANK_MAGIC_CODE, MAX_PROPERTIES_LEN, MAX_V1_TOPIC_LEN, MESSAGE_MAGIC_CODE_V1,
    MESSAGE_MAGIC_CODE_V2,
};
use super::properties::{decode_properties_bytes, encode_properties, find_property_bytes};

/// Position of TOTALSIZE.
pub const TOTAL_SIZE_POS: usize = 0;
/// Position of MAGICCODE.
pub const MAGIC_CODE_POS: usize = 4;
/// Position of BODYCRC.
pub const BODY_CRC_POS: usize = 8;
/// Position of QUEUEID.
pub const QUEUE_ID_POS: usize = 12;
/// Position of FLAG.
pub const FLAG_POS: usize = 16;
/// Position of QUEUEOFFSET (patched at append).
pub const QUEUE_OFFSET_POS: usize = 20;
/// Position of PHYSICALOFFSET (patched at append).
pub const PHYSICAL_OFFSET_POS: usize = 28;
/// Position of SYSFLAG.
pub const SYS_FLAG_POS: usize = 36;
/// Position of BORNTIMESTAMP.
pub const BORN_TIMESTAMP_POS: usize = 40;
/// Position of BORNHOST.
pub const BORN_HOST_POS: usize = 48;
/// Length of the BLANK header written at the end of a commit-log file.
pub const BLANK_HEADER_LEN: usize = 8;

/// Position of STORETIMESTAMP (56 for an IPv4 born host, 68 for IPv6).
pub fn store_timestamp_pos(sys_flag: i32) -> usize {
    BORN_HOST_POS + sys_flag::born_host_len(sys_flag)
}

/// Position of STOREHOST.
pub fn store_host_pos(sys_flag: i32) -> usize {
    store_timestamp_pos(sys_flag) + 8
}

/// Position of BODYLENGTH: 84 with two IPv4 hosts, +12 per IPv6 host.
pub fn body_len_pos(sys_flag: i32) -> usize {
    store_host_pos(sys_flag) + sys_flag::store_host_len(sys_flag) + 4 + 8
}

/// Masked CRC32 of a body as stored in BODYCRC: `crc32(body) & 0x7FFFFFFF`.
pub fn body_crc(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

/// Record format version, chosen by topic length (storage spec §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageVersion {
    /// Magic `0xDAA320A7`, one-byte topic length.
    V1,
    /// Magic `0xDAA320AB`, two-byte topic length; only for topics longer than 127.
    V2,
}

impl MessageVersion {
    /// V2 only when the topic is longer than 127 (UTF-16 units, as Java measures it, or bytes,
    /// since a one-byte length cannot hold more).
    pub fn for_topic(topic: &str) -> Self {
        // UTF-16 length <= UTF-8 length, so a byte length over 127 covers Java's rule too.
        if topic.len() > MAX_V1_TOPIC_LEN {
            MessageVersion::V2
        } else {
            MessageVersion::V1
        }
    }

    /// The magic code written for this version.
    pub fn magic_code(self) -> i32 {
        match self {
            MessageVersion::V1 => MESSAGE_MAGIC_CODE_V1,
            MessageVersion::V2 => MESSAGE_MAGIC_CODE_V2,
        }
    }

    /// Width of the topic length field.
    pub fn topic_len_size(self) -> usize {
        match self {
            MessageVersion::V1 => 1,
            MessageVersion::V2 => 2,
        }
    }

    fn from_magic(magic: i32) -> Option<Self> {
        match magic {
            MESSAGE_MAGIC_CODE_V1 => Some(MessageVersion::V1),
            MESSAGE_MAGIC_CODE_V2 => Some(MessageVersion::V2),
            _ => None,
        }
    }
}

/// What can be wrong when encoding or decoding a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Fewer bytes than the record needs.
    #[error("record truncated: need {needed} bytes, have {available}")]
    Truncated { needed: usize, available: usize },
    /// A BLANK (end-of-file filler) header, not a message.
    #[error("blank record of {size} bytes")]
    Blank { size: i32 },
    /// Unknown magic code.
    #[error("bad magic code {0:#010x}")]
    BadMagic(i32),
    /// TOTALSIZE is not a plausible length.
    #[error("bad total size {0}")]
    BadTotalSize(i32),
    /// TOTALSIZE disagrees with the sum of the decoded lengths.
    #[error("total size {total} does not match decoded length {decoded}")]
    LengthMismatch { total: usize, decoded: usize },
    /// A negative or overflowing field length.
    #[error("bad {field} length {len}")]
    BadFieldLength { field: &'static str, len: i64 },
    /// BODYCRC does not match the body.
    #[error("body crc mismatch: stored {stored:#x}, computed {computed:#x}")]
    BodyCrcMismatch { stored: i32, computed: i32 },
    /// The topic bytes are not UTF-8.
    #[error("topic is not valid UTF-8")]
    TopicNotUtf8,
    /// The properties string exceeds 32767 bytes.
    #[error("properties too long: {0} bytes")]
    PropertiesTooLong(usize),
    /// The topic does not fit the length field.
    #[error("topic too long: {0} bytes")]
    TopicTooLong(usize),
    /// The body or whole record does not fit an `i32` length.
    #[error("record too long: {0} bytes")]
    RecordTooLong(usize),
    /// The output buffer has no room for the record.
    #[error("output buffer too small: need {needed}, have {available}")]
    BufferTooSmall { needed: usize, available: usize },
}

/// The fields of one record to encode (Java `MessageExtBrokerInner` as the encoder sees it).
#[derive(Clone, Debug)]
pub struct MessageRecord<'a> {
    pub topic: &'a str,
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: i64,
    pub commitlog_offset: i64,
    /// The V6 host bits are set or cleared by the encoder from the address families.
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: &'a [u8],
    /// Encoded properties string (UTF-8 bytes).
    pub properties: &'a [u8],
}

impl MessageRecord<'_> {
    /// The sysFlag actually written: V6 bits follow the host address families.
    pub fn effective_sys_flag(&self) -> i32 {
        let mut f =
            self.sys_flag & !(sys_flag::BORNHOST_V6_FLAG | sys_flag::STOREHOSTADDRESS_V6_FLAG);
        if self.born_host.is_ipv6() {
            f |= sys_flag::BORNHOST_V6_FLAG;
        }
        if self.store_host.is_ipv6() {
            f |= sys_flag::STOREHOSTADDRESS_V6_FLAG;
        }
        f
    }

    /// The version this record is written with.
    pub fn version(&self) -> MessageVersion {
        MessageVersion::for_topic(self.topic)
    }

    /// TOTALSIZE of the encoded record, or an error if a field does not fit its length.
    pub fn encoded_len(&self) -> Result<usize, RecordError> {
        if self.properties.len() > MAX_PROPERTIES_LEN {
            return Err(RecordError::PropertiesTooLong(self.properties.len()));
        }
        let version = self.version();
        if version == MessageVersion::V2 && self.topic.len() > i16::MAX as usize {
            return Err(RecordError::TopicTooLong(self.topic.len()));
        }
        let total = body_len_pos(self.effective_sys_flag())
            + 4
            + self.body.len()
            + version.topic_len_size()
            + self.topic.len()
            + 2
            + self.properties.len();
        if total > i32::MAX as usize {
            return Err(RecordError::RecordTooLong(total));
        }
        Ok(total)
    }
}

fn put_host<B: BufMut>(out: &mut B, host: &SocketAddr) {
    match host.ip() {
        IpAddr::V4(ip) => out.put_slice(&ip.octets()),
        IpAddr::V6(ip) => out.put_slice(&ip.octets()),
    }
    out.put_i32(i32::from(host.port()));
}

/// Encode one record into `out` (a `BytesMut`, `Vec<u8>`, or `&mut [u8]`); returns TOTALSIZE.
///
/// BODYCRC is computed here from the body. Nothing is written if an error is returned.
pub fn encode_record<B: BufMut>(
    rec: &MessageRecord<'_>,
    out: &mut B,
) -> Result<usize, RecordError> {
    let total = rec.encoded_len()?;
    if out.remaining_mut() < total {
        return Err(RecordError::BufferTooSmall {
            needed: total,
            available: out.remaining_mut(),
        });
    }
    let version = rec.version();
    out.put_i32(total as i32);
    out.put_i32(version.magic_code());
    out.put_i32(body_crc(rec.body));
    out.put_i32(rec.queue_id);
    out.put_i32(rec.flag);
    out.put_i64(rec.queue_offset);
    out.put_i64(rec.commitlog_offset);
    out.put_i32(rec.effective_sys_flag());
    out.put_i64(rec.born_timestamp);
    put_host(out, &rec.born_host);
    out.put_i64(rec.store_timestamp);
    put_host(out, &rec.store_host);
    out.put_i32(rec.reconsume_times);
    out.put_i64(rec.prepared_transaction_offset);
    out.put_i32(rec.body.len() as i32);
    out.put_slice(rec.body);
    match version {
        MessageVersion::V1 => out.put_u8(rec.topic.len() as u8),
        MessageVersion::V2 => out.put_i16(rec.topic.len() as i16),
    }
    out.put_slice(rec.topic.as_bytes());
    out.put_i16(rec.properties.len() as i16);
    out.put_slice(rec.properties);
    Ok(total)
}

/// Write the 8-byte BLANK header (`size | 0xCBD43194`) into `out`.
pub fn encode_blank<B: BufMut>(size: i32, out: &mut B) {
    out.put_i32(size);
    out.put_i32(BLANK_MAGIC_CODE);
}

fn be_i32(buf: &[u8], pos: usize) -> i32 {
    buf.get(pos..pos + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, i32::from_be_bytes)
}

fn be_i64(buf: &[u8], pos: usize) -> i64 {
    buf.get(pos..pos + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, i64::from_be_bytes)
}

fn be_i16(buf: &[u8], pos: usize) -> i16 {
    buf.get(pos..pos + 2)
        .and_then(|s| s.try_into().ok())
        .map_or(0, i16::from_be_bytes)
}

fn read_host(buf: &[u8], pos: usize, v6: bool) -> SocketAddr {
    if v6 {
        let mut octets = [0u8; 16];
        if let Some(s) = buf.get(pos..pos + 16) {
            octets.copy_from_slice(s);
        }
        let port = be_i32(buf, pos + 16) as u16;
        SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), port)
    } else {
        let mut octets = [0u8; 4];
        if let Some(s) = buf.get(pos..pos + 4) {
            octets.copy_from_slice(s);
        }
        let port = be_i32(buf, pos + 4) as u16;
        SocketAddr::new(IpAddr::V4(Ipv4Addr::from(octets)), port)
    }
}

/// Read only the record header: TOTALSIZE and MAGICCODE, or `None` if fewer than 8 bytes.
pub fn peek_size_and_magic(buf: &[u8]) -> Option<(i32, i32)> {
    if buf.len() < 8 {
        return None;
    }
    Some((be_i32(buf, TOTAL_SIZE_POS), be_i32(buf, MAGIC_CODE_POS)))
}

/// A validated, zero-copy view of one stored record.
///
/// [`RecordView::parse`] checks the magic, every length and that the lengths add up to TOTALSIZE;
/// the accessors then read fields straight from the bytes.
#[derive(Clone, Copy, Debug)]
pub struct RecordView<'a> {
    buf: &'a [u8],
    version: MessageVersion,
    body_start: usize,
    body_len: usize,
    topic_start: usize,
    topic_len: usize,
    props_start: usize,
    props_len: usize,
}

impl<'a> RecordView<'a> {
    /// Parse the record at the start of `buf` (which may hold more bytes after it).
    ///
    /// A BLANK header yields `Err(RecordError::Blank { size })`.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RecordError> {
        let (total, magic) = peek_size_and_magic(buf).ok_or(RecordError::Truncated {
            needed: 8,
            available: buf.len(),
        })?;
        if magic == BLANK_MAGIC_CODE {
            return Err(RecordError::Blank { size: total });
        }
        let version = MessageVersion::from_magic(magic).ok_or(RecordError::BadMagic(magic))?;
        if total <= 0 {
            return Err(RecordError::BadTotalSize(total));
        }
        let total = total as usize;
        if total > buf.len() {
            return Err(RecordError::Truncated {
                needed: total,
                available: buf.len(),
            });
        }
        let rec = &buf[..total];
        let truncated = |needed: usize| RecordError::Truncated {
            needed,
            available: total,
        };
        if rec.len() < BORN_HOST_POS {
            return Err(truncated(BORN_HOST_POS));
        }
        let flag = be_i32(rec, SYS_FLAG_POS);
        let mut pos = body_len_pos(flag);
        if rec.len() < pos + 4 {
            return Err(truncated(pos + 4));
        }
        let body_len = be_i32(rec, pos);
        if body_len < 0 {
            return Err(RecordError::BadFieldLength {
                field: "body",
                len: i64::from(body_len),
            });
        }
        let body_len = body_len as usize;
        let body_start = pos + 4;
        pos = body_start + body_len;
        let topic_len = match version {
            MessageVersion::V1 => rec.get(pos).map(|b| i64::from(*b as i8)),
            MessageVersion::V2 => rec.get(pos..pos + 2).map(|_| i64::from(be_i16(rec, pos))),
        }
        .ok_or_else(|| truncated(pos + version.topic_len_size()))?;
        if topic_len < 0 {
            return Err(RecordError::BadFieldLength {
                field: "topic",
                len: topic_len,
            });
        }
        let topic_start = pos + version.topic_len_size();
        let topic_len = topic_len as usize;
        pos = topic_start + topic_len;
        if rec.len() < pos + 2 {
            return Err(truncated(pos + 2));
        }
        let props_len = be_i16(rec, pos);
        if props_len < 0 {
            return Err(RecordError::BadFieldLength {
                field: "properties",
                len: i64::from(props_len),
            });
        }
        let props_start = pos + 2;
        let props_len = props_len as usize;
        let decoded = props_start + props_len;
        if decoded != total {
            return Err(RecordError::LengthMismatch { total, decoded });
        }
        if std::str::from_utf8(&rec[topic_start..topic_start + topic_len]).is_err() {
            return Err(RecordError::TopicNotUtf8);
        }
        Ok(RecordView {
            buf: rec,
            version,
            body_start,
            body_len,
            topic_start,
            topic_len,
            props_start,
            props_len,
        })
    }

    /// The whole record bytes (exactly TOTALSIZE long).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }
    /// TOTALSIZE.
    pub fn total_size(&self) -> usize {
        self.buf.len()
    }
    /// V1 or V2.
    pub fn version(&self) -> MessageVersion {
        self.version
    }
    /// BODYCRC as stored.
    pub fn body_crc(&self) -> i32 {
        be_i32(self.buf, BODY_CRC_POS)
    }
    /// QUEUEID.
    pub fn queue_id(&self) -> i32 {
        be_i32(self.buf, QUEUE_ID_POS)
    }
    /// FLAG.
    pub fn flag(&self) -> i32 {
        be_i32(self.buf, FLAG_POS)
    }
    /// QUEUEOFFSET.
    pub fn queue_offset(&self) -> i64 {
        be_i64(self.buf, QUEUE_OFFSET_POS)
    }
    /// PHYSICALOFFSET.
    pub fn commitlog_offset(&self) -> i64 {
        be_i64(self.buf, PHYSICAL_OFFSET_POS)
    }
    /// SYSFLAG.
    pub fn sys_flag(&self) -> i32 {
        be_i32(self.buf, SYS_FLAG_POS)
    }
    /// BORNTIMESTAMP.
    pub fn born_timestamp(&self) -> i64 {
        be_i64(self.buf, BORN_TIMESTAMP_POS)
    }
    /// BORNHOST.
    pub fn born_host(&self) -> SocketAddr {
        read_host(
            self.buf,
            BORN_HOST_POS,
            self.sys_flag() & sys_flag::BORNHOST_V6_FLAG != 0,
        )
    }
    /// STORETIMESTAMP.
    pub fn store_timestamp(&self) -> i64 {
        be_i64(self.buf, store_timestamp_pos(self.sys_flag()))
    }
    /// STOREHOST.
    pub fn store_host(&self) -> SocketAddr {
        let f = self.sys_flag();
        read_host(
            self.buf,
            store_host_pos(f),
            f & sys_flag::STOREHOSTADDRESS_V6_FLAG != 0,
        )
    }
    /// RECONSUMETIMES.
    pub fn reconsume_times(&self) -> i32 {
        let f = self.sys_flag();
        be_i32(self.buf, store_host_pos(f) + sys_flag::store_host_len(f))
    }
    /// PREPARED TRANSACTION OFFSET.
    pub fn prepared_transaction_offset(&self) -> i64 {
        let f = self.sys_flag();
        be_i64(
            self.buf,
            store_host_pos(f) + sys_flag::store_host_len(f) + 4,
        )
    }
    /// The body bytes (as stored, possibly compressed).
    pub fn body(&self) -> &'a [u8] {
        &self.buf[self.body_start..self.body_start + self.body_len]
    }
    /// Byte range of the body inside the record.
    pub fn body_range(&self) -> std::ops::Range<usize> {
        self.body_start..self.body_start + self.body_len
    }
    /// The topic (validated UTF-8 at parse time).
    pub fn topic(&self) -> &'a str {
        std::str::from_utf8(&self.buf[self.topic_start..self.topic_start + self.topic_len])
            .unwrap_or_default()
    }
    /// The raw properties section.
    pub fn properties_bytes(&self) -> &'a [u8] {
        &self.buf[self.props_start..self.props_start + self.props_len]
    }
    /// One property, looked up without building a map.
    pub fn property(&self, name: &str) -> Option<&'a str> {
        find_property_bytes(self.properties_bytes(), name)
    }
    /// All properties as a map.
    pub fn properties(&self) -> HashMap<String, String> {
        decode_properties_bytes(self.properties_bytes())
    }
    /// Recompute the body CRC and compare with BODYCRC.
    pub fn verify_body_crc(&self) -> Result<(), RecordError> {
        let computed = body_crc(self.body());
        let stored = self.body_crc();
        if computed == stored {
            Ok(())
        } else {
            Err(RecordError::BodyCrcMismatch { stored, computed })
        }
    }
    /// An owned message; the body is copied.
    pub fn to_message(&self) -> MessageExt {
        self.to_message_with_body(Bytes::copy_from_slice(self.body()))
    }
    /// An owned message with the given body (used to share the body without copying).
    pub fn to_message_with_body(&self, body: Bytes) -> MessageExt {
        MessageExt {
            topic: self.topic().to_owned(),
            flag: self.flag(),
            body,
            properties: self.properties(),
            queue_id: self.queue_id(),
            queue_offset: self.queue_offset(),
            commitlog_offset: self.commitlog_offset(),
            sys_flag: self.sys_flag(),
            born_timestamp: self.born_timestamp(),
            born_host: self.born_host(),
            store_timestamp: self.store_timestamp(),
            store_host: self.store_host(),
            reconsume_times: self.reconsume_times(),
            body_crc: self.body_crc(),
            prepared_transaction_offset: self.prepared_transaction_offset(),
            store_size: self.total_size() as i32,
            version: self.version,
        }
    }
}

/// A decoded stored message (Java `MessageExt`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageExt {
    pub topic: String,
    pub flag: i32,
    pub body: Bytes,
    pub properties: HashMap<String, String>,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commitlog_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub body_crc: i32,
    pub prepared_transaction_offset: i64,
    pub store_size: i32,
    pub version: MessageVersion,
}

impl MessageExt {
    /// `TAGS` property.
    pub fn tags(&self) -> Option<&str> {
        self.properties
            .get(super::consts::property::TAGS)
            .map(String::as_str)
    }
    /// `KEYS` property.
    pub fn keys(&self) -> Option<&str> {
        self.properties
            .get(super::consts::property::KEYS)
            .map(String::as_str)
    }
    /// `UNIQ_KEY` property (the client message id).
    pub fn uniq_key(&self) -> Option<&str> {
        self.properties
            .get(super::consts::property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
            .map(String::as_str)
    }
    /// Offset message id of this record (storeHost + PHYSICALOFFSET).
    pub fn offset_msg_id(&self) -> String {
        super::msg_id::offset_msg_id(self.store_host, self.commitlog_offset)
    }
    /// Re-encode as a record (properties in sorted name order). The body CRC is recomputed.
    pub fn encode<B: BufMut>(&self, out: &mut B) -> Result<usize, RecordError> {
        let mut pairs: Vec<(&String, &String)> = self.properties.iter().collect();
        pairs.sort();
        let props = encode_properties(pairs);
        encode_record(
            &MessageRecord {
                topic: &self.topic,
                queue_id: self.queue_id,
                flag: self.flag,
                queue_offset: self.queue_offset,
                commitlog_offset: self.commitlog_offset,
                sys_flag: self.sys_flag,
                born_timestamp: self.born_timestamp,
                born_host: self.born_host,
                store_timestamp: self.store_timestamp,
                store_host: self.store_host,
                reconsume_times: self.reconsume_times,
                prepared_transaction_offset: self.prepared_transaction_offset,
                body: &self.body,
                properties: props.as_bytes(),
            },
            out,
        )
    }
}

/// Iterator over the records of a buffer (a pull body, or a region of a commit-log file).
///
/// Yields `Ok(message)` per record. It ends at the end of the data or at a BLANK header; after an
/// error it yields that error once and then ends (Java's decoder also stops at the first bad
/// record).
pub struct DecodeRecords<'a> {
    data: &'a [u8],
    shared: Option<&'a Bytes>,
    pos: usize,
    done: bool,
}

impl Iterator for DecodeRecords<'_> {
    type Item = Result<MessageExt, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.data.len() {
            return None;
        }
        let rest = &self.data[self.pos..];
        match RecordView::parse(rest) {
            Ok(view) => {
                self.pos += view.total_size();
                let body = match self.shared {
                    Some(b) => b.slice_ref(view.body()),
                    None => Bytes::copy_from_slice(view.body()),
                };
                Some(Ok(view.to_message_with_body(body)))
            }
            Err(RecordError::Blank { .. }) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Decode the consecutive records of `data`; bodies are copied.
pub fn decode_records(data: &[u8]) -> DecodeRecords<'_> {
    DecodeRecords {
        data,
        shared: None,
        pos: 0,
        done: false,
    }
}

/// Decode the consecutive records of `data`; bodies are zero-copy slices of `data`.
pub fn decode_records_bytes(data: &Bytes) -> DecodeRecords<'_> {
    DecodeRecords {
        data,
        shared: Some(data),
        pos: 0,
        done: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;

    fn vector_record() -> MessageRecord<'static> {
        MessageRecord {
            topic: "TopicTest",
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            commitlog_offset: 0,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: "192.168.0.2:53000".parse().unwrap(),
            store_timestamp: 1_700_000_000_100,
            store_host: "192.168.0.1:10911".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: b"Hello",
            properties: b"TAGS\x01TagA\x02",
        }
    }

    const VECTOR: [u8; 115] = [
        0x00, 0x00, 0x00, 0x73, 0xDA, 0xA3, 0x20, 0xA7, 0x77, 0xD1, 0x89, 0x82, 0x00, 0x00, 0x00,
        0x00, // 0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, // 16
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68,
        0x00, // 32
        0xC0, 0xA8, 0x00, 0x02, 0x00, 0x00, 0xCF, 0x08, 0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68,
        0x64, // 48
        0xC0, 0xA8, 0x00, 0x01, 0x00, 0x00, 0x2A, 0x9F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, // 64
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x09, 0x54,
        0x6F, // 80
        0x70, 0x69, 0x63, 0x54, 0x65, 0x73, 0x74, 0x00, 0x0A, 0x54, 0x41, 0x47, 0x53, 0x01, 0x54,
        0x61, // 96
        0x67, 0x41, 0x02, // 112
    ];

    #[test]
    fn golden_commit_log_record_of_storage_spec_10_1() {
        let mut out = BytesMut::new();
        let n = encode_record(&vector_record(), &mut out).unwrap();
        assert_eq!(n, 115);
        assert_eq!(&out[..], &VECTOR[..]);
        // also into a plain slice
        let mut arr = [0u8; 115];
        encode_record(&vector_record(), &mut &mut arr[..]).unwrap();
        assert_eq!(arr, VECTOR);
        // too small a slice is an error, not a panic
        let mut small = [0u8; 100];
        assert!(matches!(
            encode_record(&vector_record(), &mut &mut small[..]),
            Err(RecordError::BufferTooSmall { .. })
        ));
    }

    #[test]
    fn golden_record_decodes() {
        let v = RecordView::parse(&VECTOR).unwrap();
        assert_eq!(v.total_size(), 115);
        assert_eq!(v.version(), MessageVersion::V1);
        assert_eq!(v.body_crc(), 0x77D1_8982);
        v.verify_body_crc().unwrap();
        assert_eq!(v.topic(), "TopicTest");
        assert_eq!(v.body(), b"Hello");
        assert_eq!(v.property("TAGS"), Some("TagA"));
        assert_eq!(v.store_timestamp(), 1_700_000_000_100);
        assert_eq!(v.born_host(), "192.168.0.2:53000".parse().unwrap());
        assert_eq!(v.store_host(), "192.168.0.1:10911".parse().unwrap());
        let m = v.to_message();
        assert_eq!(m.offset_msg_id(), "C0A8000100002A9F0000000000000000");
        assert_eq!(m.tags(), Some("TagA"));
        assert_eq!(m.store_size, 115);
        assert_eq!(store_timestamp_pos(0), 56);
        assert_eq!(body_len_pos(0), 84);
    }

    #[test]
    fn ipv6_hosts_and_v2_topic_round_trip() {
        let long_topic = "%RETRY%".to_string() + &"g".repeat(150);
        let rec = MessageRecord {
            topic: &long_topic,
            born_host: "[2001:db8::1]:4000".parse().unwrap(),
            store_host: "[::1]:10911".parse().unwrap(),
            queue_offset: 77,
            commitlog_offset: 1 << 40,
            reconsume_times: 3,
            prepared_transaction_offset: 99,
            sys_flag: sys_flag::TRANSACTION_COMMIT_TYPE,
            ..vector_record()
        };
        let mut out = Vec::new();
        let n = encode_record(&rec, &mut out).unwrap();
        assert_eq!(n, 91 + 24 + 1 + 5 + long_topic.len() + 10);
        let v = RecordView::parse(&out).unwrap();
        assert_eq!(v.version(), MessageVersion::V2);
        assert_eq!(
            v.sys_flag(),
            sys_flag::TRANSACTION_COMMIT_TYPE
                | sys_flag::BORNHOST_V6_FLAG
                | sys_flag::STOREHOSTADDRESS_V6_FLAG
        );
        assert_eq!(store_timestamp_pos(v.sys_flag()), 68);
        assert_eq!(v.topic(), long_topic);
        assert_eq!(v.born_host(), rec.born_host);
        assert_eq!(v.store_host(), rec.store_host);
        assert_eq!(v.queue_offset(), 77);
        assert_eq!(v.commitlog_offset(), 1 << 40);
        assert_eq!(v.reconsume_times(), 3);
        assert_eq!(v.prepared_transaction_offset(), 99);
        assert_eq!(v.store_timestamp(), rec.store_timestamp);
        let m = v.to_message();
        assert_eq!(m.offset_msg_id().len(), 56);
        // re-encoding a decoded message gives the same bytes
        let mut again = Vec::new();
        m.encode(&mut again).unwrap();
        assert_eq!(again, out);
    }

    #[test]
    fn decode_iterator_stops_at_blank_and_errors() {
        let mut buf = BytesMut::new();
        encode_record(&vector_record(), &mut buf).unwrap();
        let mut second = vector_record();
        second.body = b"World!";
        second.commitlog_offset = 115;
        encode_record(&second, &mut buf).unwrap();
        encode_blank(64, &mut buf);
        buf.put_bytes(0, 56);
        let data = buf.freeze();
        let msgs: Vec<_> = decode_records_bytes(&data)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(&msgs[1].body[..], b"World!");
        assert_eq!(msgs[1].commitlog_offset, 115);
        // the body is a slice of the input, not a copy
        assert_eq!(msgs[0].body.as_ptr(), data[88..].as_ptr());
        assert_eq!(decode_records(&data).count(), 2);
        assert!(matches!(
            RecordView::parse(&data[231..]),
            Err(RecordError::Blank { size: 64 })
        ));

        // a truncated record yields one error then ends
        let cut = &data[..115 + 50];
        let items: Vec<_> = decode_records(cut).collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert!(matches!(items[1], Err(RecordError::Truncated { .. })));
    }

    #[test]
    fn corrupt_records_are_rejected_without_panic() {
        // every truncation of the vector fails cleanly
        for cut in 0..VECTOR.len() {
            assert!(RecordView::parse(&VECTOR[..cut]).is_err(), "cut {cut}");
        }
        // wrong magic
        let mut bad = VECTOR;
        bad[7] = 0;
        assert!(matches!(
            RecordView::parse(&bad),
            Err(RecordError::BadMagic(_))
        ));
        // total size larger than the decoded fields
        let mut bigger = VECTOR.to_vec();
        bigger[3] = 0x74;
        bigger.push(0);
        assert!(matches!(
            RecordView::parse(&bigger),
            Err(RecordError::LengthMismatch { .. })
        ));
        // body crc mismatch is reported by verify
        let mut flipped = VECTOR;
        flipped[88] ^= 1;
        let v = RecordView::parse(&flipped).unwrap();
        assert!(v.verify_body_crc().is_err());
        // huge body length
        let mut huge = VECTOR;
        huge[84] = 0x7f;
        assert!(RecordView::parse(&huge).is_err());
        // negative total
        let mut neg = VECTOR;
        neg[0] = 0xff;
        assert!(RecordView::parse(&neg).is_err());
        // byte-by-byte garbage never panics
        for i in 0..VECTOR.len() {
            for x in [0x00u8, 0x7f, 0x80, 0xff] {
                let mut g = VECTOR;
                g[i] = x;
                let _ = RecordView::parse(&g).map(|v| v.to_message());
            }
        }
    }

    #[test]
    fn encode_limits() {
        let props = vec![b'a'; 40_000];
        let rec = MessageRecord {
            properties: &props,
            ..vector_record()
        };
        assert_eq!(
            encode_record(&rec, &mut Vec::new()),
            Err(RecordError::PropertiesTooLong(40_000))
        );
    }
}
