//! The one error type of the SDK.
//!
//! A server's refusal keeps its RocketMQ response code and remark ([`ClientError::Response`]);
//! transport failures keep the remoting error. Which failures a synchronous send retries is
//! decided here, once ([`ClientError::is_send_retryable`], spec §3 "Producer retry summary").

use std::time::Duration;

use ferrocket_protocol::{ProtocolError, ResponseCode};
use ferrocket_remoting::RemotingError;

/// Everything an SDK call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A broker or nameserver answered with a non-success code.
    #[error("{addr} answered {code} ({}): {remark}", code_name(*.code))]
    Response {
        /// Address of the server that answered.
        addr: String,
        /// RocketMQ response code (`ResponseCode::*`).
        code: i32,
        /// The server's remark (empty when it sent none).
        remark: String,
    },
    /// Connecting, writing or waiting for the answer failed (includes request timeouts).
    #[error(transparent)]
    Remoting(#[from] RemotingError),
    /// The server answered with a header or body we cannot read.
    #[error("malformed answer: {0}")]
    Protocol(#[from] ProtocolError),
    /// The nameservers know no route for this topic (and, for sends, neither for `TBW102`).
    #[error("no route info for topic {0}")]
    NoRoute(String),
    /// The route names a broker without a usable address.
    #[error("broker {0} has no known address")]
    BrokerNotFound(String),
    /// A message, name or argument the SDK refuses before anything is sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The whole operation (all send attempts together) ran out of time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The producer/consumer is not started, or already shut down.
    #[error("{0}")]
    State(&'static str),
}

impl ClientError {
    /// The RocketMQ response code, if a server answered.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            ClientError::Response { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The server's remark, if a server answered.
    pub fn remark(&self) -> Option<&str> {
        match self {
            ClientError::Response { remark, .. } => Some(remark),
            _ => None,
        }
    }

    /// Whether a synchronous send tries again (on another broker if there is one): transport
    /// failures and the codes of Java's `retryResponseCodes` {17, 14, 1, 2, 16, 204, 205, 1500}.
    pub fn is_send_retryable(&self) -> bool {
        match self {
            ClientError::Remoting(_) | ClientError::BrokerNotFound(_) => true,
            ClientError::Response { code, .. } => matches!(
                *code,
                ResponseCode::TOPIC_NOT_EXIST
                    | ResponseCode::SERVICE_NOT_AVAILABLE
                    | ResponseCode::SYSTEM_ERROR
                    | ResponseCode::SYSTEM_BUSY
                    | ResponseCode::NO_PERMISSION
                    | ResponseCode::NO_BUYER_ID
                    | ResponseCode::NOT_IN_CURRENT_UNIT
                    | ResponseCode::GO_AWAY
            ),
            _ => false,
        }
    }

    /// Whether this is a transport failure (the request may or may not have been processed).
    pub fn is_transport(&self) -> bool {
        matches!(self, ClientError::Remoting(_))
    }

    pub(crate) fn response(addr: &str, cmd: &ferrocket_protocol::RemotingCommand) -> Self {
        ClientError::Response {
            addr: addr.to_owned(),
            code: cmd.code,
            remark: cmd.remark.clone().unwrap_or_default(),
        }
    }
}

fn code_name(code: i32) -> &'static str {
    use ferrocket_protocol::ResponseCode as R;
    match code {
        R::SUCCESS => "SUCCESS",
        R::SYSTEM_ERROR => "SYSTEM_ERROR",
        R::SYSTEM_BUSY => "SYSTEM_BUSY",
        R::REQUEST_CODE_NOT_SUPPORTED => "REQUEST_CODE_NOT_SUPPORTED",
        R::FLUSH_DISK_TIMEOUT => "FLUSH_DISK_TIMEOUT",
        R::SLAVE_NOT_AVAILABLE => "SLAVE_NOT_AVAILABLE",
        R::FLUSH_SLAVE_TIMEOUT => "FLUSH_SLAVE_TIMEOUT",
        R::MESSAGE_ILLEGAL => "MESSAGE_ILLEGAL",
        R::SERVICE_NOT_AVAILABLE => "SERVICE_NOT_AVAILABLE",
        R::VERSION_NOT_SUPPORTED => "VERSION_NOT_SUPPORTED",
        R::NO_PERMISSION => "NO_PERMISSION",
        R::TOPIC_NOT_EXIST => "TOPIC_NOT_EXIST",
        R::PULL_NOT_FOUND => "PULL_NOT_FOUND",
        R::PULL_RETRY_IMMEDIATELY => "PULL_RETRY_IMMEDIATELY",
        R::PULL_OFFSET_MOVED => "PULL_OFFSET_MOVED",
        R::QUERY_NOT_FOUND => "QUERY_NOT_FOUND",
        R::SUBSCRIPTION_PARSE_FAILED => "SUBSCRIPTION_PARSE_FAILED",
        R::SUBSCRIPTION_NOT_EXIST => "SUBSCRIPTION_NOT_EXIST",
        R::SUBSCRIPTION_NOT_LATEST => "SUBSCRIPTION_NOT_LATEST",
        R::SUBSCRIPTION_GROUP_NOT_EXIST => "SUBSCRIPTION_GROUP_NOT_EXIST",
        R::INVALID_PARAMETER => "INVALID_PARAMETER",
        R::CONSUMER_NOT_ONLINE => "CONSUMER_NOT_ONLINE",
        R::FLOW_CONTROL => "FLOW_CONTROL",
        R::GO_AWAY => "GO_AWAY",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_codes_are_javas() {
        let e = |code| ClientError::Response {
            addr: "b".into(),
            code,
            remark: String::new(),
        };
        for code in [17, 14, 1, 2, 16, 204, 205, 1500] {
            assert!(e(code).is_send_retryable(), "{code}");
        }
        for code in [13, 29, 26, 3, 10] {
            assert!(!e(code).is_send_retryable(), "{code}");
        }
        assert!(!ClientError::InvalidArgument("x".into()).is_send_retryable());
        let text = e(13).to_string();
        assert!(text.contains("13 (MESSAGE_ILLEGAL)"), "{text}");
    }
}
