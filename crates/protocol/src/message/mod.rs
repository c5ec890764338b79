//! Message encodings shared by broker, store and client (remoting spec §5, storage spec §2).
//!
//! This module owns the byte layouts of a RocketMQ message in all the places it appears:
//!
//! * the **properties string** (`name\x01value\x02…`, [`properties`]),
//! * the **stored record** of the commit log, which is also what pulls, queries and views hand to
//!   clients byte for byte ([`record`]),
//! * the **batch body** of `SEND_BATCH_MESSAGE` (320) ([`batch`]),
//! * the **message ids**: offset msg id and the client `UNIQ_KEY` ([`msg_id`]),
//! * the **tag hash** (Java `String.hashCode`, [`hash`]),
//! * and the constants with a RocketMQ meaning: magic codes, `MessageSysFlag` bits and
//!   `MessageConst` property keys ([`consts`]).
//!
//! Everything here is pure: no I/O, no clocks except in the unique-id generator, no panics on bad
//! input (decoders return errors).

pub mod batch;
pub mod consts;
pub mod hash;
pub mod msg_id;
pub mod properties;
pub mod record;

pub use batch::{
    decode_batch, decode_batch_refs, encode_batch, BatchEntry, BatchEntryRef, BatchError,
};
pub use consts::{
    property, sys_flag, BLANK_MAGIC_CODE, MESSAGE_MAGIC_CODE_V1, MESSAGE_MAGIC_CODE_V2,
};
pub use hash::{java_string_hash, java_string_hash_from, tags_code};
pub use msg_id::{
    decode_offset_msg_id, offset_msg_id, push_hex, push_offset_msg_id, MsgIdError, UniqIdGenerator,
};
pub use properties::{decode_properties, encode_properties, find_property, scan_properties_bytes};
pub use record::{
    decode_records, decode_records_bytes, encode_record, MessageExt, MessageRecord, MessageVersion,
    RecordError, RecordView,
};
