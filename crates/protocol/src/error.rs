use thiserror::Error;

/// Everything that can be wrong with bytes received from a peer.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("frame length {0} is outside 4..=16 MiB")]
    FrameLength(i64),
    #[error("header length {header} exceeds frame length {frame}")]
    HeaderLength { header: usize, frame: usize },
    #[error("unknown serialize type {0}")]
    SerializeType(u8),
    #[error("malformed header: {0}")]
    Header(String),
    #[error("the custom field <{0}> is null")]
    MissingField(&'static str),
    #[error("the custom field <{field}> has an invalid value '{value}'")]
    InvalidField { field: &'static str, value: String },
    #[error("malformed body: {0}")]
    Body(String),
}
