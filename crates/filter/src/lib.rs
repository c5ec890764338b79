//! Message filters: tag expressions and SQL92 selectors.
//!
//! SQL92 (`ExpressionType.SQL92`, see [`SqlExpression`]) follows RocketMQ's Java `filter` module
//! exactly: grammar, parse-time checks, three-valued logic and type coercions.
//!
//! A tag expression is `*` (or empty) for everything, or tags joined by `||` with surrounding
//! whitespace trimmed. The broker matches on the tag's Java `String.hashCode` stored in the consume
//! queue, and then on the exact tag string so hash collisions never reach a consumer.

use std::collections::BTreeSet;

mod sql;

pub use sql::{
    EvalError, ExpressionCache, LookupFn, NoProperties, PropertyLookup, SqlError, SqlErrorKind,
    SqlExpression, MAX_EXPRESSION_LEN, MAX_NESTING, MAX_TREE_DEPTH,
};

/// `ExpressionType.TAG`.
pub const EXPRESSION_TAG: &str = "TAG";
/// `ExpressionType.SQL92`.
pub const EXPRESSION_SQL92: &str = "SQL92";

pub use ferrocket_protocol::message::java_string_hash as java_hash;

/// A parsed tag subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagExpression {
    /// `None` = all tags.
    tags: Option<BTreeSet<String>>,
    codes: BTreeSet<i32>,
}

impl TagExpression {
    pub fn parse(expr: &str) -> Self {
        let trimmed = expr.trim();
        if trimmed.is_empty() || trimmed == "*" {
            return TagExpression {
                tags: None,
                codes: BTreeSet::new(),
            };
        }
        let tags: BTreeSet<String> = trimmed
            .split("||")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if tags.is_empty() {
            return TagExpression {
                tags: None,
                codes: BTreeSet::new(),
            };
        }
        let codes = tags.iter().map(|t| java_hash(t)).collect();
        TagExpression {
            tags: Some(tags),
            codes,
        }
    }

    /// From a client's `SubscriptionData` (subString, tagsSet, codeSet).
    pub fn from_subscription(
        sub_string: &str,
        tags: &BTreeSet<String>,
        codes: &BTreeSet<i32>,
    ) -> Self {
        if sub_string.trim() == "*" || sub_string.trim().is_empty() {
            return TagExpression {
                tags: None,
                codes: BTreeSet::new(),
            };
        }
        if tags.is_empty() {
            return Self::parse(sub_string);
        }
        let mut codes = codes.clone();
        if codes.is_empty() {
            codes = tags.iter().map(|t| java_hash(t)).collect();
        }
        TagExpression {
            tags: Some(tags.clone()),
            codes,
        }
    }

    pub fn is_all(&self) -> bool {
        self.tags.is_none()
    }
    pub fn tags(&self) -> Option<&BTreeSet<String>> {
        self.tags.as_ref()
    }
    pub fn codes(&self) -> &BTreeSet<i32> {
        &self.codes
    }

    /// Consume-queue level match on the stored tags code.
    pub fn matches_code(&self, tags_code: i64) -> bool {
        self.is_all() || self.codes.contains(&(tags_code as i32))
    }

    /// Exact match on the message's `TAGS` property.
    pub fn matches_tag(&self, tag: Option<&str>) -> bool {
        match &self.tags {
            None => true,
            Some(set) => tag.is_some_and(|t| set.contains(t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_match() {
        let e = TagExpression::parse(" TagA || TagB ||");
        assert!(!e.is_all());
        assert!(e.matches_code(2598919)); // "TagA".hashCode()
        assert!(!e.matches_code(java_hash("TagC") as i64));
        assert!(e.matches_tag(Some("TagB")));
        assert!(!e.matches_tag(Some("TagC")));
        assert!(!e.matches_tag(None));
        assert!(TagExpression::parse("*").matches_tag(None));
        assert!(TagExpression::parse("").is_all());
    }

    #[test]
    fn java_hash_values() {
        assert_eq!(java_hash("TagA"), 2598919);
        assert_eq!(java_hash(""), 0);
    }
}
