//! The body of `SEND_BATCH_MESSAGE` (320): client-encoded messages back to back
//! (remoting spec §5.5, storage spec §2.6).
//!
//! ```text
//! i32 totalSize | i32 magic (0) | i32 bodyCRC (0) | i32 flag | i32 bodyLen | body
//! | i16 propertiesLen | properties
//! ```
//!
//! Like Java's `MessageDecoder.decodeMessages`, the decoder reads the fields sequentially and does
//! not trust `totalSize`; magic and CRC are ignored (the broker recomputes the CRC).

use bytes::{BufMut, Bytes, BytesMut};

/// One message of a batch body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchEntry {
    /// User flag of this message.
    pub flag: i32,
    /// Body bytes (a zero-copy slice of the batch body after decoding).
    pub body: Bytes,
    /// Encoded properties string of this message.
    pub properties: String,
}

/// A malformed batch body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The body ends inside an entry.
    #[error("batch entry {index} truncated at byte {pos}")]
    Truncated { index: usize, pos: usize },
    /// A negative length field.
    #[error("batch entry {index}: negative {field} length")]
    NegativeLength { index: usize, field: &'static str },
    /// The batch holds no message.
    #[error("empty batch")]
    Empty,
}

/// One message of a batch body, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchEntryRef<'a> {
    /// User flag of this message.
    pub flag: i32,
    /// Body bytes.
    pub body: &'a [u8],
    /// Encoded properties bytes, as the client wrote them.
    pub properties: &'a [u8],
}

/// Decode every entry of a batch body without copying, each as `(start of its body in data,
/// entry)`.
pub fn decode_batch_refs(data: &[u8]) -> Result<Vec<(usize, BatchEntryRef<'_>)>, BatchError> {
    let mut pos = 0usize;
    let mut out = Vec::with_capacity(16);
    while pos < data.len() {
        let index = out.len();
        let trunc = |p: usize| BatchError::Truncated { index, pos: p };
        let fixed = data.get(pos..pos + 20).ok_or_else(|| trunc(pos))?;
        let flag = i32::from_be_bytes([fixed[12], fixed[13], fixed[14], fixed[15]]);
        let body_len = i32::from_be_bytes([fixed[16], fixed[17], fixed[18], fixed[19]]);
        if body_len < 0 {
            return Err(BatchError::NegativeLength {
                index,
                field: "body",
            });
        }
        pos += 20;
        let body_start = pos;
        let body_end = pos
            .checked_add(body_len as usize)
            .filter(|e| *e <= data.len())
            .ok_or_else(|| trunc(pos))?;
        pos = body_end;
        let plen = data.get(pos..pos + 2).ok_or_else(|| trunc(pos))?;
        let plen = i16::from_be_bytes([plen[0], plen[1]]);
        if plen < 0 {
            return Err(BatchError::NegativeLength {
                index,
                field: "properties",
            });
        }
        pos += 2;
        let props = data
            .get(pos..pos + plen as usize)
            .ok_or_else(|| trunc(pos))?;
        pos += plen as usize;
        out.push((
            body_start,
            BatchEntryRef {
                flag,
                body: &data[body_start..body_end],
                properties: props,
            },
        ));
    }
    if out.is_empty() {
        return Err(BatchError::Empty);
    }
    Ok(out)
}

/// Decode every entry of a batch body (bodies are zero-copy slices of `body`).
pub fn decode_batch(body: &Bytes) -> Result<Vec<BatchEntry>, BatchError> {
    Ok(decode_batch_refs(body)?
        .into_iter()
        .map(|(start, e)| BatchEntry {
            flag: e.flag,
            body: body.slice(start..start + e.body.len()),
            properties: String::from_utf8_lossy(e.properties).into_owned(),
        })
        .collect())
}

/// Encode entries as a Java client does (magic and CRC 0).
pub fn encode_batch(entries: &[BatchEntry]) -> BytesMut {
    let mut out = BytesMut::new();
    for e in entries {
        let props = e.properties.as_bytes();
        let total = 20 + e.body.len() + 2 + props.len();
        out.put_i32(total as i32);
        out.put_i32(0);
        out.put_i32(0);
        out.put_i32(e.flag);
        out.put_i32(e.body.len() as i32);
        out.put_slice(&e.body);
        out.put_i16(props.len() as i16);
        out.put_slice(props);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let entries = vec![
            BatchEntry {
                flag: 7,
                body: Bytes::from_static(b"one"),
                properties: "UNIQ_KEY\u{1}A\u{2}TAGS\u{1}t\u{2}".into(),
            },
            BatchEntry {
                flag: 0,
                body: Bytes::from_static(b""),
                properties: String::new(),
            },
        ];
        let body = encode_batch(&entries).freeze();
        assert_eq!(body.len(), (20 + 3 + 2 + 18) + (20 + 2));
        assert_eq!(&body[..4], &43i32.to_be_bytes());
        let back = decode_batch(&body).unwrap();
        assert_eq!(back, entries);
    }

    #[test]
    fn malformed_bodies() {
        assert_eq!(decode_batch(&Bytes::new()), Err(BatchError::Empty));
        let body = encode_batch(&[BatchEntry {
            flag: 1,
            body: Bytes::from_static(b"abcdef"),
            properties: "k\u{1}v\u{2}".into(),
        }])
        .freeze();
        for cut in 1..body.len() {
            assert!(decode_batch(&body.slice(..cut)).is_err(), "cut {cut}");
        }
        let mut neg = body.to_vec();
        neg[16] = 0x80;
        assert!(matches!(
            decode_batch(&Bytes::from(neg)),
            Err(BatchError::NegativeLength { .. })
        ));
    }
}
