//! Topic and group names, permissions and well-known system names.

/// Permission bits of a topic or broker (`PermName`).
pub mod perm {
    pub const PRIORITY: i32 = 8;
    pub const READ: i32 = 4;
    pub const WRITE: i32 = 2;
    pub const INHERIT: i32 = 1;

    pub fn is_readable(p: i32) -> bool {
        p & READ != 0
    }
    pub fn is_writeable(p: i32) -> bool {
        p & WRITE != 0
    }
    pub fn is_inherited(p: i32) -> bool {
        p & INHERIT != 0
    }
    pub fn is_valid(p: i32) -> bool {
        (0..=7).contains(&p)
    }
}

pub const AUTO_CREATE_TOPIC_KEY_TOPIC: &str = "TBW102";
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
pub const TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
pub const TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
pub const TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
pub const SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
pub const OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";
pub const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";
pub const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";

/// Longest ordinary topic name.
pub const TOPIC_MAX_LENGTH: usize = 127;
/// Longest retry/DLQ topic name (group names are ≤ 255 bytes).
pub const RETRY_TOPIC_MAX_LENGTH: usize = 255;
/// Longest group name.
pub const GROUP_MAX_LENGTH: usize = 255;

pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_GROUP_TOPIC_PREFIX}{group}")
}
pub fn is_retry_topic(topic: &str) -> bool {
    topic.starts_with(RETRY_GROUP_TOPIC_PREFIX)
}
pub fn is_dlq_topic(topic: &str) -> bool {
    topic.starts_with(DLQ_GROUP_TOPIC_PREFIX)
}

fn legal_chars(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
}

/// Validate a topic name as RocketMQ's `TopicValidator.validateTopic` does; the error is the
/// remark a Java broker would send.
pub fn validate_topic(topic: &str) -> Result<(), String> {
    if topic.trim().is_empty() {
        return Err("The specified topic is blank.".into());
    }
    let max = if is_retry_topic(topic) || is_dlq_topic(topic) {
        RETRY_TOPIC_MAX_LENGTH
    } else {
        TOPIC_MAX_LENGTH
    };
    if topic.len() > max {
        return Err(format!(
            "The specified topic is longer than topic max length {max}."
        ));
    }
    if !legal_chars(topic) {
        return Err(format!(
            "The specified topic[{topic}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    Ok(())
}

/// System topics a producer may not send to directly.
pub fn is_not_allowed_send_topic(topic: &str) -> bool {
    matches!(
        topic,
        SCHEDULE_TOPIC
            | TRANS_HALF_TOPIC
            | TRANS_OP_HALF_TOPIC
            | TRANS_CHECK_MAX_TIME_TOPIC
            | TIMER_TOPIC
    ) || topic.starts_with("rmq_sys_")
}

/// Validate a group name (`^[%|a-zA-Z0-9_-]+$`, at most 255 bytes).
pub fn validate_group(group: &str) -> Result<(), String> {
    if group.trim().is_empty() {
        return Err("the specified group is blank".into());
    }
    if group.len() > GROUP_MAX_LENGTH {
        return Err(format!(
            "the specified group is longer than group max length {GROUP_MAX_LENGTH}."
        ));
    }
    if !legal_chars(group) {
        return Err(format!(
            "the specified group[{group}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_rules() {
        assert!(validate_topic("TopicTest").is_ok());
        assert!(validate_topic("%RETRY%cg_1-a|b").is_ok());
        assert!(validate_topic("").is_err());
        assert!(validate_topic("   ").is_err());
        assert!(validate_topic("bad topic").is_err());
        assert!(validate_topic("bad/topic").is_err());
        assert!(validate_topic("tópico").is_err());
        assert!(validate_topic(&"a".repeat(127)).is_ok());
        assert!(validate_topic(&"a".repeat(128)).is_err());
        assert!(validate_topic(&format!("%RETRY%{}", "g".repeat(200))).is_ok());
        assert!(is_not_allowed_send_topic("SCHEDULE_TOPIC_XXXX"));
        assert!(!is_not_allowed_send_topic("TopicTest"));
    }
}
