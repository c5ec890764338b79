//! Constants with a RocketMQ meaning: record magic codes, `MessageSysFlag` bits and the
//! `MessageConst` property keys. Each lives here once, with the Java name beside it.

/// `MessageDecoder.MESSAGE_MAGIC_CODE` (V1): one-byte topic length.
pub const MESSAGE_MAGIC_CODE_V1: i32 = 0xDAA3_20A7_u32 as i32;
/// `MessageDecoder.MESSAGE_MAGIC_CODE_V2`: two-byte topic length (topics longer than 127).
pub const MESSAGE_MAGIC_CODE_V2: i32 = 0xDAA3_20AB_u32 as i32;
/// `CommitLog.BLANK_MAGIC_CODE`: the filler header that ends every completed commit-log file.
pub const BLANK_MAGIC_CODE: i32 = 0xCBD4_3194_u32 as i32;

/// Maximum length in bytes of an encoded properties string (the stored length is an `i16`).
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;
/// Topics whose UTF-16 length exceeds this need the V2 record format (`Byte.MAX_VALUE`).
pub const MAX_V1_TOPIC_LEN: usize = 127;

/// `MessageDecoder.NAME_VALUE_SEPARATOR`.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// `MessageDecoder.PROPERTY_SEPARATOR`.
pub const PROPERTY_SEPARATOR: char = '\u{2}';

/// `MessageSysFlag` bits (remoting spec §5.4, storage spec §2.2).
pub mod sys_flag {
    /// `COMPRESSED_FLAG`: body is compressed by the producer.
    pub const COMPRESSED_FLAG: i32 = 0x1;
    /// `MULTI_TAGS_FLAG`: topic filter type MULTI_TAG.
    pub const MULTI_TAGS_FLAG: i32 = 0x1 << 1;
    /// `TRANSACTION_NOT_TYPE`.
    pub const TRANSACTION_NOT_TYPE: i32 = 0;
    /// `TRANSACTION_PREPARED_TYPE`: half message.
    pub const TRANSACTION_PREPARED_TYPE: i32 = 0x1 << 2;
    /// `TRANSACTION_COMMIT_TYPE`.
    pub const TRANSACTION_COMMIT_TYPE: i32 = 0x2 << 2;
    /// `TRANSACTION_ROLLBACK_TYPE`.
    pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0x3 << 2;
    /// Mask of the two transaction-type bits.
    pub const TRANSACTION_TYPE_MASK: i32 = 0x3 << 2;
    /// `BORNHOST_V6_FLAG`: born host field is 16 + 4 bytes.
    pub const BORNHOST_V6_FLAG: i32 = 0x1 << 4;
    /// `STOREHOSTADDRESS_V6_FLAG`: store host field is 16 + 4 bytes.
    pub const STOREHOSTADDRESS_V6_FLAG: i32 = 0x1 << 5;
    /// `NEED_UNWRAP_FLAG`: inner-batch record the client must unwrap.
    pub const NEED_UNWRAP_FLAG: i32 = 0x1 << 6;
    /// `INNER_BATCH_FLAG`: one record holds an inner batch.
    pub const INNER_BATCH_FLAG: i32 = 0x1 << 7;
    /// Mask of the compression-type bits 8–10.
    pub const COMPRESSION_TYPE_MASK: i32 = 0x7 << 8;
    /// Compression type LZ4 (bits 8–10 = 1).
    pub const COMPRESSION_LZ4_TYPE: i32 = 0x1 << 8;
    /// Compression type ZSTD (bits 8–10 = 2).
    pub const COMPRESSION_ZSTD_TYPE: i32 = 0x2 << 8;
    /// Compression type ZLIB (bits 8–10 = 3; 0 also means zlib for 4.x producers).
    pub const COMPRESSION_ZLIB_TYPE: i32 = 0x3 << 8;

    /// `MessageSysFlag.getTransactionValue`.
    pub fn transaction_value(flag: i32) -> i32 {
        flag & TRANSACTION_TYPE_MASK
    }

    /// `MessageSysFlag.resetTransactionValue`.
    pub fn reset_transaction_value(flag: i32, tx_type: i32) -> i32 {
        (flag & !TRANSACTION_TYPE_MASK) | (tx_type & TRANSACTION_TYPE_MASK)
    }

    /// Length of the born-host field (address + port) for this flag.
    pub fn born_host_len(flag: i32) -> usize {
        if flag & BORNHOST_V6_FLAG != 0 {
            20
        } else {
            8
        }
    }

    /// Length of the store-host field (address + port) for this flag.
    pub fn store_host_len(flag: i32) -> usize {
        if flag & STOREHOSTADDRESS_V6_FLAG != 0 {
            20
        } else {
            8
        }
    }
}

/// `MessageConst` property keys (remoting spec §5.3).
pub mod property {
    pub const KEYS: &str = "KEYS";
    pub const TAGS: &str = "TAGS";
    pub const WAIT_STORE_MSG_OK: &str = "WAIT";
    pub const DELAY_TIME_LEVEL: &str = "DELAY";
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    pub const REAL_QUEUE_ID: &str = "REAL_QID";
    pub const TRANSACTION_PREPARED: &str = "TRAN_MSG";
    pub const PRODUCER_GROUP: &str = "PGROUP";
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    pub const BUYER_ID: &str = "BUYER_ID";
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    pub const TRANSFER_FLAG: &str = "TRANSFER_FLAG";
    pub const CORRECTION_FLAG: &str = "CORRECTION_FLAG";
    pub const MQ2_FLAG: &str = "MQ2_FLAG";
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    pub const MSG_REGION: &str = "MSG_REGION";
    pub const TRACE_SWITCH: &str = "TRACE_ON";
    pub const UNIQ_CLIENT_MESSAGE_ID_KEYIDX: &str = "UNIQ_KEY";
    pub const EXTEND_UNIQ_INFO: &str = "EXTEND_UNIQ_INFO";
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    pub const CONSUME_START_TIMESTAMP: &str = "CONSUME_START_TIME";
    pub const INNER_NUM: &str = "INNER_NUM";
    pub const INNER_BASE: &str = "INNER_BASE";
    pub const DUP_INFO: &str = "DUP_INFO";
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    pub const TRANSACTION_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
    pub const TRANSACTION_ID: &str = "__transactionId__";
    pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    pub const INSTANCE_ID: &str = "INSTANCE_ID";
    pub const CORRELATION_ID: &str = "CORRELATION_ID";
    pub const MESSAGE_REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
    pub const MESSAGE_TTL: &str = "TTL";
    pub const REPLY_MESSAGE_ARRIVE_TIME: &str = "ARRIVE_TIME";
    pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
    pub const CLUSTER: &str = "CLUSTER";
    pub const MESSAGE_TYPE: &str = "MSG_TYPE";
    pub const POP_CK: &str = "POP_CK";
    pub const POP_CK_OFFSET: &str = "POP_CK_OFFSET";
    pub const FIRST_POP_TIME: &str = "1ST_POP_TIME";
    pub const SHARDING_KEY: &str = "__SHARDINGKEY";
    pub const FORWARD_QUEUE_ID: &str = "PROPERTY_FORWARD_QUEUE_ID";
    pub const REDIRECT: &str = "REDIRECT";
    pub const INNER_MULTI_DISPATCH: &str = "INNER_MULTI_DISPATCH";
    pub const INNER_MULTI_QUEUE_OFFSET: &str = "INNER_MULTI_QUEUE_OFFSET";
    pub const TRACE_CONTEXT: &str = "TRACE_CONTEXT";
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
    pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
    pub const TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
    pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
    pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
    pub const TIMER_DELAY_LEVEL: &str = "TIMER_DELAY_LEVEL";
    pub const BORN_HOST: &str = "__BORNHOST";
    pub const BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";
    pub const CRC32: &str = "__CRC32#";
    pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
    pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";
    pub const START_DELIVER_TIME: &str = "__STARTDELIVERTIME";
    /// Prefix of client-only properties that are never stored (`__RMQ.TRANSIENT.*`).
    pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";
    /// `MessageConst.KEY_SEPARATOR` between entries of [`KEYS`].
    pub const KEY_SEPARATOR: &str = " ";
}
