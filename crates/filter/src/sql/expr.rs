//! Compiled expression tree and its evaluation, following RocketMQ's
//! `org.apache.rocketmq.filter.expression` classes.

use std::cmp::Ordering;

use super::error::EvalError;
use super::java;
use crate::PropertyLookup;

/// A literal that Java represents as a plain `ConstantExpression` (not a boolean one).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Int(i32),
    Long(i64),
    Double(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrOp {
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// `ConstantExpression` with a string or number.
    Literal(Literal),
    /// `BooleanConstantExpression`: TRUE, FALSE, NULL.
    BoolLit(Option<bool>),
    /// `PropertyExpression`.
    Prop(String),
    /// Unary minus.
    Negate(Box<Expr>),
    /// `NOT x` (also `x <> y` = NOT (x = y) and `x IS NOT NULL` = NOT (x IS NULL)).
    Not(Box<Expr>),
    /// A property used where a boolean is needed.
    BoolCast(String),
    /// Left-to-right chains (`a AND b AND c` is evaluated exactly like Java's left-deep tree).
    And(Vec<Expr>),
    Or(Vec<Expr>),
    /// `x = y` and `x IS NULL` (= `x = NULL` without the parse-time check).
    Eq(Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// `[NOT] BETWEEN`: Java builds `x >= lo AND x <= hi` (`x < lo OR x > hi`) sharing `x`; the
    /// value is evaluated once here, which is equivalent because evaluation is pure.
    Between {
        value: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        not: bool,
    },
    /// `[NOT] IN`, always on a property; `list` is sorted and deduplicated.
    In {
        prop: String,
        list: Vec<String>,
        not: bool,
    },
    /// `[NOT] CONTAINS / STARTSWITH / ENDSWITH`.
    Str {
        op: StrOp,
        not: bool,
        left: Box<Expr>,
        search: String,
    },
}

impl Expr {
    /// Java `instanceof ConstantExpression`.
    pub(crate) fn is_constant(&self) -> bool {
        matches!(self, Expr::Literal(_) | Expr::BoolLit(_))
    }

    /// Java `instanceof BooleanExpression`.
    pub(crate) fn is_boolean(&self) -> bool {
        !matches!(self, Expr::Literal(_) | Expr::Prop(_) | Expr::Negate(_))
    }

    /// The value of a constant, for the parse-time checks.
    pub(crate) fn constant_value(&self) -> Option<Value<'_>> {
        match self {
            Expr::Literal(l) => Some(literal_value(l)),
            Expr::BoolLit(b) => Some(b.map_or(Value::Null, Value::Bool)),
            _ => None,
        }
    }
}

/// A runtime value: Java `null`, `Boolean`, `Integer`, `Long`, `Double` or `String`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(&'a str),
}

fn literal_value(l: &Literal) -> Value<'_> {
    match l {
        Literal::Str(s) => Value::Str(s),
        Literal::Int(i) => Value::Int(*i),
        Literal::Long(l) => Value::Long(*l),
        Literal::Double(d) => Value::Double(*d),
    }
}

/// Errors are boxed internally so that the recursive evaluator's frames stay small.
pub(crate) type Error = Box<EvalError>;
type EvalResult<'a> = Result<Value<'a>, Error>;

fn to_int(s: &str) -> Result<i32, Error> {
    java::parse_int(s).ok_or_else(|| {
        Box::new(EvalError::NumberFormat {
            value: s.to_string(),
            target: "Integer",
        })
    })
}

fn to_long(s: &str) -> Result<i64, Error> {
    java::parse_long(s).ok_or_else(|| {
        Box::new(EvalError::NumberFormat {
            value: s.to_string(),
            target: "Long",
        })
    })
}

fn to_double(s: &str) -> Result<f64, Error> {
    java::parse_double(s).ok_or_else(|| {
        Box::new(EvalError::NumberFormat {
            value: s.to_string(),
            target: "Double",
        })
    })
}

/// `ComparisonExpression.__compare(lv, rv, convertStringExpressions = true)`.
///
/// Different types: the string side is converted to the other side's type, numbers widen
/// int → long → double; a boolean on the left of a string throws (Java casts the wrong operand);
/// any other mix compares as "less" (-1).
pub(crate) fn java_compare(lv: Value<'_>, rv: Value<'_>) -> Result<Ordering, Error> {
    use Value::*;
    let dc = java::double_compare;
    Ok(match (lv, rv) {
        (Bool(a), Bool(b)) => a.cmp(&b),
        (Int(a), Int(b)) => a.cmp(&b),
        (Long(a), Long(b)) => a.cmp(&b),
        (Double(a), Double(b)) => dc(a, b),
        (Str(a), Str(b)) => java::string_compare(a, b),

        (Bool(_), Str(_)) => return Err(Box::new(EvalError::ClassCast)),
        (Bool(_), _) => Ordering::Less,

        (Int(a), Long(b)) => (a as i64).cmp(&b),
        (Int(a), Double(b)) => dc(a as f64, b),
        (Int(a), Str(b)) => a.cmp(&to_int(b)?),
        (Long(a), Int(b)) => a.cmp(&(b as i64)),
        (Long(a), Double(b)) => dc(a as f64, b),
        (Long(a), Str(b)) => a.cmp(&to_long(b)?),
        (Double(a), Int(b)) => dc(a, b as f64),
        (Double(a), Long(b)) => dc(a, b as f64),
        (Double(a), Str(b)) => dc(a, to_double(b)?),
        (Int(_) | Long(_) | Double(_), _) => Ordering::Less,

        (Str(a), Bool(b)) => java::parse_boolean(a).cmp(&b),
        (Str(a), Int(b)) => to_int(a)?.cmp(&b),
        (Str(a), Long(b)) => to_long(a)?.cmp(&b),
        (Str(a), Double(b)) => dc(to_double(a)?, b),

        // Unreachable from the evaluator (NULLs are handled before comparing).
        (Str(_), Null) | (Null, _) => Ordering::Less,
    })
}

/// `Object.equals` between two non-null values.
fn java_equals(lv: Value<'_>, rv: Value<'_>) -> bool {
    match (lv, rv) {
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Int(a), Value::Int(b)) => a == b,
        (Value::Long(a), Value::Long(b)) => a == b,
        (Value::Double(a), Value::Double(b)) => java::double_equals(a, b),
        (Value::Str(a), Value::Str(b)) => a == b,
        _ => false,
    }
}

/// `>`, `>=`, `<`, `<=` on two non-null values: two strings are both parsed as doubles.
fn relational(op: CmpOp, lv: Value<'_>, rv: Value<'_>) -> Result<bool, Error> {
    let ord = match (lv, rv) {
        (Value::Str(a), Value::Str(b)) => match (java::parse_double(a), java::parse_double(b)) {
            (Some(x), Some(y)) => java::double_compare(x, y),
            _ => {
                return Err(Box::new(EvalError::StringComparison {
                    left: a.to_string(),
                    right: b.to_string(),
                }))
            }
        },
        _ => java_compare(lv, rv)?,
    };
    Ok(op.holds(ord))
}

fn as_bool(v: Value<'_>) -> Result<Option<bool>, Error> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        _ => Err(Box::new(EvalError::ClassCast)),
    }
}

fn tri(v: Option<bool>) -> Value<'static> {
    v.map_or(Value::Null, Value::Bool)
}

/// `x op y` as a `ComparisonExpression`: NULL if the left is NULL (the right side is then not
/// evaluated), NULL if the right is NULL.
fn compare_with<'a>(
    op: CmpOp,
    lv: Value<'a>,
    right: &'a Expr,
    props: &'a dyn PropertyLookup,
) -> Result<Option<bool>, Error> {
    if lv == Value::Null {
        return Ok(None);
    }
    let rv = right.eval(props)?;
    if rv == Value::Null {
        return Ok(None);
    }
    relational(op, lv, rv).map(Some)
}

impl Expr {
    /// Evaluates the expression. The recursive step is this small dispatcher plus one helper
    /// per node kind, which keeps the stack used per tree level small even in debug builds.
    pub(crate) fn eval<'a>(&'a self, props: &'a dyn PropertyLookup) -> EvalResult<'a> {
        match self {
            Expr::Literal(l) => Ok(literal_value(l)),
            Expr::BoolLit(b) => Ok(tri(*b)),
            Expr::Prop(name) => Ok(props.get(name).map_or(Value::Null, Value::Str)),
            Expr::BoolCast(name) => Ok(match props.get(name) {
                None => Value::Null,
                // Property values are strings, never `Boolean` objects.
                Some(_) => Value::Bool(false),
            }),
            Expr::In { prop, list, not } => Ok(eval_in(props.get(prop), list, *not)),
            Expr::Negate(inner) => eval_negate(inner, props),
            Expr::Not(inner) => eval_not(inner, props),
            Expr::And(items) => eval_and(items, props),
            Expr::Or(items) => eval_or(items, props),
            Expr::Eq(left, right) => eval_eq(left, right, props),
            Expr::Cmp(op, left, right) => eval_cmp(*op, left, right, props),
            Expr::Between {
                value,
                low,
                high,
                not,
            } => eval_between(value, low, high, *not, props),
            Expr::Str {
                op,
                not,
                left,
                search,
            } => eval_str(*op, *not, left, search, props),
        }
    }
}

fn eval_in(value: Option<&str>, list: &[String], not: bool) -> Value<'static> {
    match value {
        None => Value::Null,
        Some(v) => Value::Bool(list.binary_search_by(|x| x.as_str().cmp(v)).is_ok() ^ not),
    }
}

fn eval_negate<'a>(inner: &'a Expr, props: &'a dyn PropertyLookup) -> EvalResult<'a> {
    Ok(match inner.eval(props)? {
        Value::Int(i) => Value::Int(i.wrapping_neg()),
        Value::Long(l) => Value::Long(l.wrapping_neg()),
        Value::Double(d) => Value::Double(-d),
        _ => Value::Null,
    })
}

fn eval_not<'a>(inner: &'a Expr, props: &'a dyn PropertyLookup) -> EvalResult<'a> {
    Ok(tri(as_bool(inner.eval(props)?)?.map(|b| !b)))
}

fn eval_and<'a>(items: &'a [Expr], props: &'a dyn PropertyLookup) -> EvalResult<'a> {
    let mut unknown = false;
    for item in items {
        match as_bool(item.eval(props)?)? {
            Some(false) => return Ok(Value::Bool(false)),
            Some(true) => {}
            None => unknown = true,
        }
    }
    Ok(if unknown {
        Value::Null
    } else {
        Value::Bool(true)
    })
}

fn eval_or<'a>(items: &'a [Expr], props: &'a dyn PropertyLookup) -> EvalResult<'a> {
    let mut unknown = false;
    for item in items {
        match as_bool(item.eval(props)?)? {
            Some(true) => return Ok(Value::Bool(true)),
            Some(false) => {}
            None => unknown = true,
        }
    }
    Ok(if unknown {
        Value::Null
    } else {
        Value::Bool(false)
    })
}

/// `x = y`: both sides evaluated; exactly one NULL → NULL if it is the left, FALSE otherwise;
/// both NULL → TRUE; `equals` → TRUE; else compare after coercion.
fn eval_eq<'a>(left: &'a Expr, right: &'a Expr, props: &'a dyn PropertyLookup) -> EvalResult<'a> {
    let lv = left.eval(props)?;
    let rv = right.eval(props)?;
    Ok(match (lv == Value::Null, rv == Value::Null) {
        (true, true) => Value::Bool(true),
        (true, false) => Value::Null,
        (false, true) => Value::Bool(false),
        (false, false) => {
            Value::Bool(java_equals(lv, rv) || java_compare(lv, rv)? == Ordering::Equal)
        }
    })
}

fn eval_cmp<'a>(
    op: CmpOp,
    left: &'a Expr,
    right: &'a Expr,
    props: &'a dyn PropertyLookup,
) -> EvalResult<'a> {
    let lv = left.eval(props)?;
    Ok(tri(compare_with(op, lv, right, props)?))
}

fn eval_between<'a>(
    value: &'a Expr,
    low: &'a Expr,
    high: &'a Expr,
    not: bool,
    props: &'a dyn PropertyLookup,
) -> EvalResult<'a> {
    let v = value.eval(props)?;
    if !not {
        // (v >= low) AND (v <= high)
        let first = compare_with(CmpOp::Ge, v, low, props)?;
        if first == Some(false) {
            return Ok(Value::Bool(false));
        }
        let second = compare_with(CmpOp::Le, v, high, props)?;
        Ok(match (first, second) {
            (_, Some(false)) => Value::Bool(false),
            (None, _) | (_, None) => Value::Null,
            _ => Value::Bool(true),
        })
    } else {
        // (v < low) OR (v > high)
        let first = compare_with(CmpOp::Lt, v, low, props)?;
        if first == Some(true) {
            return Ok(Value::Bool(true));
        }
        let second = compare_with(CmpOp::Gt, v, high, props)?;
        Ok(match (first, second) {
            (_, Some(true)) => Value::Bool(true),
            (None, _) | (_, None) => Value::Null,
            _ => Value::Bool(false),
        })
    }
}

/// `[NOT] CONTAINS/STARTSWITH/ENDSWITH`: FALSE for an empty search string (the left side is then
/// not evaluated), for NULL and for non-strings — also in the NOT variants.
fn eval_str<'a>(
    op: StrOp,
    not: bool,
    left: &'a Expr,
    search: &str,
    props: &'a dyn PropertyLookup,
) -> EvalResult<'a> {
    if search.is_empty() {
        return Ok(Value::Bool(false));
    }
    Ok(match left.eval(props)? {
        Value::Str(s) => {
            let hit = match op {
                StrOp::Contains => s.contains(search),
                StrOp::StartsWith => s.starts_with(search),
                StrOp::EndsWith => s.ends_with(search),
            };
            Value::Bool(hit ^ not)
        }
        _ => Value::Bool(false),
    })
}
