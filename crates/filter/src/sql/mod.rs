//! SQL92 message selectors (`MessageSelector.bySql(...)`), with the semantics of RocketMQ's Java
//! `filter` module: a JMS-selector subset evaluated in three-valued logic against the message's
//! string properties.

mod cache;
mod error;
mod expr;
mod java;
mod lexer;
mod parser;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;
use std::marker::PhantomData;

pub use cache::ExpressionCache;
pub use error::{EvalError, SqlError, SqlErrorKind};
pub use parser::{MAX_EXPRESSION_LEN, MAX_NESTING, MAX_TREE_DEPTH};

use expr::{Expr, Value};

/// Read access to a message's properties (all of them, user and system: `TAGS`, `KEYS`,
/// `UNIQ_KEY`, …). Values are strings, as in the Java broker's `MessageEvaluationContext`.
pub trait PropertyLookup {
    fn get(&self, name: &str) -> Option<&str>;
}

impl<S: BuildHasher> PropertyLookup for HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

impl<S: BuildHasher> PropertyLookup for HashMap<&str, &str, S> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).copied()
    }
}

impl PropertyLookup for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).map(String::as_str)
    }
}

impl PropertyLookup for BTreeMap<&str, &str> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).copied()
    }
}

impl<T: PropertyLookup + ?Sized> PropertyLookup for &T {
    fn get(&self, name: &str) -> Option<&str> {
        (**self).get(name)
    }
}

/// A message without properties (every property is absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProperties;

impl PropertyLookup for NoProperties {
    fn get(&self, _name: &str) -> Option<&str> {
        None
    }
}

/// Adapts a closure to [`PropertyLookup`], e.g. over a decoded property list:
/// `LookupFn::new(|name| props.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()))`.
pub struct LookupFn<'s, F> {
    f: F,
    _values: PhantomData<&'s str>,
}

impl<'s, F> LookupFn<'s, F>
where
    F: Fn(&str) -> Option<&'s str>,
{
    pub fn new(f: F) -> Self {
        LookupFn {
            f,
            _values: PhantomData,
        }
    }
}

impl<'s, F> PropertyLookup for LookupFn<'s, F>
where
    F: Fn(&str) -> Option<&'s str>,
{
    fn get(&self, name: &str) -> Option<&str> {
        (self.f)(name)
    }
}

/// A compiled SQL92 selector. Cheap to evaluate, `Send + Sync`.
///
/// ```
/// use std::collections::HashMap;
/// use ferrocket_filter::SqlExpression;
///
/// let e = SqlExpression::compile(
///     "(TAGS is not null and TAGS in ('TagA','TagB')) and (a between 0 and 3)",
/// )
/// .unwrap();
/// let mut props: HashMap<String, String> = HashMap::new();
/// props.insert("TAGS".into(), "TagA".into());
/// assert_eq!(e.evaluate(&props), None); // `a` absent: unknown, not delivered
/// props.insert("a".into(), "2".into());
/// assert!(e.matches(&props));
/// props.insert("a".into(), "2.5".into()); // Integer.valueOf("2.5") fails: not delivered
/// assert!(!e.matches(&props));
/// ```
#[derive(Clone)]
pub struct SqlExpression {
    text: String,
    expr: Expr,
    tail: Option<usize>,
}

impl fmt::Debug for SqlExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlExpression")
            .field("text", &self.text)
            .finish_non_exhaustive()
    }
}

impl PartialEq for SqlExpression {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}
impl Eq for SqlExpression {}

impl SqlExpression {
    /// Compiles a selector. Everything the Java parser rejects is rejected (with a position);
    /// in addition, expressions longer than [`MAX_EXPRESSION_LEN`] bytes or nested deeper than
    /// [`MAX_NESTING`] / [`MAX_TREE_DEPTH`] are refused instead of risking the stack.
    pub fn compile(text: &str) -> Result<SqlExpression, SqlError> {
        let parsed = parser::parse(text)?;
        Ok(SqlExpression {
            text: text.to_string(),
            expr: parsed.expr,
            tail: parsed.tail,
        })
    }

    /// The source text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Trailing text the Java grammar silently ignores (its top-level rule does not require the
    /// end of input, so `a = 1 b = 2` compiles as `a = 1`). `None` when everything was used.
    /// Useful for a warning; it does not change the semantics.
    pub fn ignored_tail(&self) -> Option<&str> {
        self.tail.map(|t| &self.text[t..])
    }

    /// Three-valued result: `Some(true)` = TRUE, `Some(false)` = FALSE, `None` = NULL (unknown)
    /// or an evaluation error (a failed conversion), which the Java broker logs and treats as
    /// "not matched".
    pub fn evaluate(&self, props: &dyn PropertyLookup) -> Option<bool> {
        self.try_evaluate(props).ok().flatten()
    }

    /// Like [`evaluate`](Self::evaluate) but keeps evaluation errors apart from NULL.
    pub fn try_evaluate(&self, props: &dyn PropertyLookup) -> Result<Option<bool>, EvalError> {
        match self.expr.eval(props).map_err(|e| *e)? {
            Value::Bool(b) => Ok(Some(b)),
            Value::Null => Ok(None),
            _ => Err(EvalError::ClassCast),
        }
    }

    /// Whether a message is delivered: only an exact TRUE matches.
    pub fn matches(&self, props: &dyn PropertyLookup) -> bool {
        self.evaluate(props) == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn send_sync() {
        assert_send_sync::<SqlExpression>();
        assert_send_sync::<ExpressionCache>();
        assert_send_sync::<SqlError>();
    }

    #[test]
    fn lookups() {
        let e = SqlExpression::compile("a = 'x'").unwrap();
        let mut h: HashMap<String, String> = HashMap::new();
        h.insert("a".into(), "x".into());
        assert!(e.matches(&h));
        let b: BTreeMap<String, String> = h.clone().into_iter().collect();
        assert!(e.matches(&b));
        let hs: HashMap<&str, &str> = [("a", "x")].into_iter().collect();
        assert!(e.matches(&hs));
        let pairs = [("a".to_string(), "x".to_string())];
        let f = LookupFn::new(|name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        });
        assert!(e.matches(&f));
        assert_eq!(e.evaluate(&NoProperties), None);
        let r: &dyn PropertyLookup = &h;
        assert!(e.matches(&r));
    }
}
