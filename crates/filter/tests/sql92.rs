//! Table-driven conformance suite for SQL92 selectors against the semantics of RocketMQ's Java
//! `filter` module (SelectorParser.jj + filter/expression/*.java). The tables are in
//! `cases/mod.rs`; `java_oracle.rs` runs the same tables against the Java classes.

mod cases;

use std::collections::HashMap;

use cases::{Case, Props, R, R::*};
use ferrocket_filter::{SqlErrorKind, SqlExpression};

fn run(expr: &str, props: Props) -> R {
    let map: HashMap<String, String> = props
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match SqlExpression::compile(expr) {
        Err(_) => P,
        Ok(e) => {
            let r = match e.try_evaluate(&map) {
                Ok(Some(true)) => T,
                Ok(Some(false)) => F,
                Ok(None) => N,
                Err(_) => E,
            };
            // `matches` is exactly "evaluates to TRUE"; `evaluate` folds errors into None.
            assert_eq!(e.matches(&map), r == T, "{expr}");
            let folded = match r {
                T => Some(true),
                F => Some(false),
                _ => None,
            };
            assert_eq!(e.evaluate(&map), folded, "{expr}");
            r
        }
    }
}

fn check(table: &[Case]) {
    let mut failures = Vec::new();
    for (expr, props, want) in table {
        let got = run(expr, props);
        if got != *want {
            failures.push(format!(
                "{expr:?} with {props:?}: expected {want:?}, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn property_reference() {
    check(cases::PROPERTY_REFERENCE);
}

#[test]
fn bare_property_as_boolean() {
    check(cases::BARE_PROPERTY_AS_BOOLEAN);
}

#[test]
fn equality_and_null() {
    check(cases::EQUALITY_AND_NULL);
}

#[test]
fn coercion_int_long_double_string() {
    check(cases::COERCION_INT_LONG_DOUBLE_STRING);
}

#[test]
fn coercion_boolean() {
    check(cases::COERCION_BOOLEAN);
}

#[test]
fn relational() {
    check(cases::RELATIONAL);
}

#[test]
fn numeric_literal_ranges() {
    check(cases::NUMERIC_LITERAL_RANGES);
}

#[test]
fn unary_plus_minus() {
    check(cases::UNARY_PLUS_MINUS);
}

#[test]
fn between() {
    check(cases::BETWEEN);
}

#[test]
fn in_list() {
    check(cases::IN_LIST);
}

#[test]
fn contains_startswith_endswith() {
    check(cases::CONTAINS_STARTSWITH_ENDSWITH);
}

#[test]
fn is_null() {
    check(cases::IS_NULL);
}

#[test]
fn and_or_not_three_valued() {
    check(cases::AND_OR_NOT_THREE_VALUED);
}

#[test]
fn not_precedence_trap() {
    check(cases::NOT_PRECEDENCE_TRAP);
}

#[test]
fn parentheses_and_top_level() {
    check(cases::PARENTHESES_AND_TOP_LEVEL);
}

#[test]
fn comments() {
    check(cases::COMMENTS);
}

#[test]
fn keyword_case_and_whitespace() {
    check(cases::KEYWORD_CASE_AND_WHITESPACE);
}

#[test]
fn trailing_input_is_ignored_like_java() {
    // The Java top-level production has no <EOF>: after a complete expression, the next token
    // must lex and must not continue the expression; the rest is never looked at.
    check(cases::TRAILING_INPUT_IS_IGNORED_LIKE_JAVA);
    let e = SqlExpression::compile("a = 1 b = 2").unwrap();
    assert_eq!(e.ignored_tail(), Some("b = 2"));
    let e = SqlExpression::compile("a = 1  ").unwrap();
    assert_eq!(e.ignored_tail(), None);
    let e = SqlExpression::compile("a = 1 -- note").unwrap();
    assert_eq!(e.ignored_tail(), Some("-- note"));
    assert_eq!(e.as_str(), "a = 1 -- note");
}

#[test]
fn rocketmq_documentation_examples() {
    check(cases::ROCKETMQ_DOCUMENTATION_EXAMPLES);
}

#[test]
fn error_display_has_position() {
    let e = SqlExpression::compile("a = NULL").unwrap_err();
    assert_eq!(e.kind(), SqlErrorKind::Semantic);
    assert_eq!((e.line(), e.column(), e.offset()), (1, 3, 2));
    let s = e.to_string();
    assert!(s.contains("line 1, column 3"), "{s}");

    let e = SqlExpression::compile("a = 1 AND\n  b > 'x'").unwrap_err();
    assert_eq!(e.kind(), SqlErrorKind::Semantic);
    assert_eq!((e.line(), e.column()), (2, 5));

    let e = SqlExpression::compile("a = 1 AND\n  b = #").unwrap_err();
    assert_eq!(e.kind(), SqlErrorKind::Lexical);
    assert_eq!((e.line(), e.column()), (2, 7));

    let e = SqlExpression::compile("a = 1 AND").unwrap_err();
    assert_eq!(e.kind(), SqlErrorKind::Syntax);
    assert!(e.to_string().contains("end of input"), "{e}");

    let e = SqlExpression::compile("a BETWEEN 3 AND 0").unwrap_err();
    assert_eq!(e.kind(), SqlErrorKind::Semantic);
    let e = SqlExpression::compile("é = 1").unwrap_err();
    assert_eq!((e.kind(), e.column()), (SqlErrorKind::Lexical, 1));
}

#[test]
fn evaluation_errors_are_distinguishable() {
    let e = SqlExpression::compile("a > 3").unwrap();
    let props: HashMap<String, String> = [("a".to_string(), "3.5".to_string())].into();
    assert!(e.try_evaluate(&props).is_err());
    assert_eq!(e.evaluate(&props), None);
    assert!(!e.matches(&props));
    let msg = e.try_evaluate(&props).unwrap_err().to_string();
    assert!(msg.contains("3.5"), "{msg}");
}
