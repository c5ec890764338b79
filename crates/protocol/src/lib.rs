//! RocketMQ remoting protocol: frames, headers, codes and message encodings.
//!
//! Pure data and codecs: nothing in this crate performs I/O.

pub mod message;
