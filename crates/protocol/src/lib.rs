//! RocketMQ remoting protocol: frames, headers, codes, bodies and message encodings.
//!
//! Pure data and codecs: nothing in this crate performs I/O.

pub mod body;
pub mod codes;
pub mod command;
pub mod error;
pub mod fields;
pub mod header;
pub mod message;
pub mod names;
pub mod properties_text;

pub use codes::{request as RequestCode, response as ResponseCode, LanguageCode};
pub use command::{ExtFields, RemotingCommand, SerializeType, MAX_FRAME_LENGTH};
pub use error::ProtocolError;
pub use header::CommandHeader;
