//! No panics, no stack overflows, bounded work on hostile input.

use std::collections::HashMap;

use ferrocket_filter::{
    ExpressionCache, SqlErrorKind, SqlExpression, MAX_EXPRESSION_LEN, MAX_NESTING,
};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const FRAGMENTS: &[&str] = &[
    "a",
    "b",
    "c",
    "TAGS",
    "$x",
    "_y",
    "NOT",
    "not",
    "AND",
    "OR",
    "BETWEEN",
    "IN",
    "TRUE",
    "FALSE",
    "NULL",
    "IS",
    "CONTAINS",
    "STARTSWITH",
    "ENDSWITH",
    "=",
    "<>",
    ">",
    ">=",
    "<",
    "<=",
    "(",
    ")",
    ",",
    "+",
    "-",
    "0",
    "1",
    "3",
    "2147483648",
    "9223372036854775807",
    "99999999999999999999",
    "1.5",
    ".5",
    "5.",
    "1e3",
    "1e400",
    "0.0",
    "'x'",
    "''",
    "'it''s'",
    "'",
    "--",
    "-- c\n",
    "/*",
    "*/",
    "/* c */",
    " ",
    "\t",
    "\n",
    "é",
    "😀",
    "#",
    "!",
    "\u{0}",
    "L",
    "e",
    ".",
    "''''",
    "'1'",
    "'true'",
];

fn props(rng: &mut Rng) -> HashMap<String, String> {
    let values = [
        "1",
        "3",
        "3.5",
        "-1",
        "x",
        "true",
        "NaN",
        "1e3",
        "",
        " 2 ",
        "0x1p3",
        "TagA",
        "2147483648",
    ];
    let mut m = HashMap::new();
    for k in ["a", "b", "c", "TAGS", "$x", "_y"] {
        if rng.below(3) != 0 {
            m.insert(k.to_string(), rng.pick(&values).to_string());
        }
    }
    m
}

#[test]
fn random_token_soup_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut compiled = 0;
    for _ in 0..30_000 {
        let n = 1 + rng.below(14);
        let mut s = String::new();
        for _ in 0..n {
            s.push_str(rng.pick(FRAGMENTS));
            if rng.below(2) == 0 {
                s.push(' ');
            }
        }
        if let Ok(e) = SqlExpression::compile(&s) {
            compiled += 1;
            for _ in 0..3 {
                let p = props(&mut rng);
                let r = e.evaluate(&p);
                assert_eq!(e.matches(&p), r == Some(true));
            }
        }
    }
    // The soup must exercise the evaluator too, not only error paths.
    assert!(compiled > 1_000, "only {compiled} compiled");
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let n = rng.below(40);
        let bytes: Vec<u8> = (0..n).map(|_| (rng.next() >> 24) as u8).collect();
        let s = String::from_utf8_lossy(&bytes);
        let _ = SqlExpression::compile(&s);
        // ASCII-heavy variant
        let ascii: String = (0..n)
            .map(|_| (b' ' + (rng.below(95) as u8)) as char)
            .collect();
        if let Ok(e) = SqlExpression::compile(&ascii) {
            let _ = e.evaluate(&props(&mut rng));
        }
    }
}

/// Runs `f` on a thread with a deliberately small stack (smaller than tokio's 2 MiB workers).
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    on_small_stack(|| {
        let limit_kind = |s: &str| SqlExpression::compile(s).map(|_| ()).unwrap_err().kind();
        for n in [MAX_NESTING + 1, 1_000, 100_000] {
            let parens = format!("{}a = 1{}", "(".repeat(n), ")".repeat(n));
            assert_eq!(limit_kind(&parens), SqlErrorKind::Limit);
            let nots = format!("{}TRUE", "NOT ".repeat(n));
            assert_eq!(limit_kind(&nots), SqlErrorKind::Limit);
            let minus = format!("a = {}1", "-".repeat(n));
            assert_eq!(limit_kind(&minus), SqlErrorKind::Limit);
            let plus = format!("a = {}1", "+ ".repeat(n));
            assert_eq!(limit_kind(&plus), SqlErrorKind::Limit);
            let open_only = "(".repeat(n);
            assert!(SqlExpression::compile(&open_only).is_err());
        }
        // Left-nested chains that do not recurse while parsing still get a bounded tree.
        let eq_chain = format!("a = 1{}", " = TRUE".repeat(5_000));
        assert_eq!(limit_kind(&eq_chain), SqlErrorKind::Limit);
        let is_chain = format!("a{}", " IS NULL".repeat(5_000));
        assert_eq!(limit_kind(&is_chain), SqlErrorKind::Limit);
        let contains_chain = format!("a{}", " CONTAINS 'x'".repeat(5_000));
        assert_eq!(limit_kind(&contains_chain), SqlErrorKind::Limit);

        // Just below the limits works and evaluates.
        let depth = MAX_NESTING - 1;
        let ok = format!("{}a = 1{}", "(".repeat(depth), ")".repeat(depth));
        let e = SqlExpression::compile(&ok).unwrap();
        let p: HashMap<String, String> = [("a".to_string(), "1".to_string())].into();
        assert_eq!(e.evaluate(&p), Some(true));
        let nots = format!("{}TRUE", "NOT ".repeat(MAX_NESTING - 2));
        assert_eq!(
            SqlExpression::compile(&nots).unwrap().evaluate(&p),
            Some(true)
        );
        let eq_chain = format!("a = 1{}", " = TRUE".repeat(200));
        assert_eq!(
            SqlExpression::compile(&eq_chain).unwrap().evaluate(&p),
            Some(true)
        );
        // Nested BETWEEN values: evaluated once each, no exponential blow-up.
        let mut nested = "a".to_string();
        for _ in 0..(MAX_NESTING / 2 - 2) {
            nested = format!("-({nested} BETWEEN 1 AND 2)");
        }
        let e = SqlExpression::compile(&format!("{nested} IS NULL")).unwrap();
        assert_eq!(e.evaluate(&p), Some(true));
    });
}

#[test]
fn long_flat_chains_and_lists_are_fine() {
    on_small_stack(|| {
        let p: HashMap<String, String> = [("a".to_string(), "14999".to_string())].into();
        let terms: Vec<String> = (0..15_000).map(|i| format!("a = {i}")).collect();
        let or_chain = terms.join(" OR ");
        let e = SqlExpression::compile(&or_chain).unwrap();
        assert_eq!(e.evaluate(&p), Some(true));
        let and_chain = terms.join(" AND ");
        let e = SqlExpression::compile(&and_chain).unwrap();
        assert_eq!(e.evaluate(&p), Some(false));
        let mixed = (0..4_000)
            .map(|i| format!("(a = {i} OR b = {i}) AND c IS NULL"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let mixed = SqlExpression::compile(&mixed).unwrap();
        assert_eq!(mixed.evaluate(&p), None); // b absent: every group is NULL
        let p2: HashMap<String, String> = [("a".to_string(), "3999".to_string())].into();
        assert_eq!(mixed.evaluate(&p2), Some(true));
        let list = (0..10_000)
            .map(|i| format!("'{i}'"))
            .collect::<Vec<_>>()
            .join(",");
        let e = SqlExpression::compile(&format!("a IN ({list})")).unwrap();
        assert_eq!(e.evaluate(&p2), Some(true));
        assert_eq!(e.evaluate(&p), Some(false));
        let e = SqlExpression::compile(&format!("a NOT IN ({list})")).unwrap();
        assert_eq!(e.evaluate(&p2), Some(false));
        assert_eq!(e.evaluate(&p), Some(true));
    });
}

#[test]
fn length_limit() {
    let long = format!("a = '{}'", "x".repeat(MAX_EXPRESSION_LEN));
    let err = SqlExpression::compile(&long).unwrap_err();
    assert_eq!(err.kind(), SqlErrorKind::Limit);
    // RocketMQ's own overflow test: a ~210k-character float literal is rejected (infinite).
    let digits = "111111111111111111111111111111111111111111111111111".repeat(2048);
    let huge = format!("a > 1{digits}.{digits}");
    assert!(huge.len() < MAX_EXPRESSION_LEN);
    assert_eq!(
        SqlExpression::compile(&huge).unwrap_err().kind(),
        SqlErrorKind::Semantic
    );
}

#[test]
fn cache_under_garbage() {
    let cache = ExpressionCache::new();
    let mut rng = Rng(7);
    for _ in 0..2_000 {
        let s: String = (0..rng.below(6))
            .map(|_| rng.pick(FRAGMENTS))
            .collect::<Vec<_>>()
            .join(" ");
        let a = cache.get_or_compile(&s).map(|e| e.as_str().to_string());
        let b = cache.get_or_compile(&s).map(|e| e.as_str().to_string());
        assert_eq!(a, b);
    }
    assert!(cache.len() <= ExpressionCache::DEFAULT_CAPACITY);
}
