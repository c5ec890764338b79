//! Conformance cases for SQL92 selectors, shared by `sql92.rs` (expected results) and
//! `java_oracle.rs` (differential run against RocketMQ's Java classes).
//!
//! Expected results: T = TRUE, F = FALSE, N = NULL (unknown), E = evaluation error (the Java
//! broker logs it and does not deliver), P = rejected at compile time. Only T delivers.

#![allow(dead_code)]

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum R {
    T,
    F,
    N,
    E,
    P,
}
pub use R::*;

pub type Props = &'static [(&'static str, &'static str)];
pub type Case = (&'static str, Props, R);

pub const NONE: Props = &[];

pub const PROPERTY_REFERENCE: &[Case] = &[
    ("a = 'x'", &[("a", "x")], T),
    ("a = 'x'", &[("a", "y")], F),
    ("a = 'x'", NONE, N),
    ("a = 'x'", &[("b", "x")], N),
    // property names are case-sensitive, keywords are not
    ("A = 'x'", &[("a", "x")], N),
    (
        "$a = '1' and _b = '2' and a9 = '3'",
        &[("$a", "1"), ("_b", "2"), ("a9", "3")],
        T,
    ),
    ("TAGS = 'TagA'", &[("TAGS", "TagA")], T),
    ("notx = 1", &[("notx", "1")], T),
    ("a = ''", &[("a", "")], T),
    ("a = ''", NONE, N),
];

pub const BARE_PROPERTY_AS_BOOLEAN: &[Case] = &[
    // a string property is never a Boolean object → FALSE; absent → NULL
    ("a", &[("a", "true")], F),
    ("a", &[("a", "x")], F),
    ("a", NONE, N),
    ("(a)", &[("a", "true")], F),
    ("a AND b", &[("a", "true"), ("b", "true")], F),
    ("a OR TRUE", NONE, T),
    ("a OR b", NONE, N),
    ("NOT a", &[("a", "true")], T),
    ("NOT a", NONE, N),
];

pub const EQUALITY_AND_NULL: &[Case] = &[
    // exactly one side NULL: NULL if the left is NULL, FALSE if only the right is
    ("a = b", &[("b", "1")], N),
    ("a = b", &[("a", "1")], F),
    ("'x' = a", NONE, F),
    ("1 = a", NONE, F),
    // both NULL: equal objects → TRUE
    ("a = b", NONE, T),
    ("a = b", &[("a", "1"), ("b", "1")], T),
    ("a = b", &[("a", "1"), ("b", "2")], F),
    // two strings are never converted for '='
    ("a = b", &[("a", "1"), ("b", "1.0")], F),
    ("a = b", &[("a", "3.14"), ("b", "3.14")], T),
    // <> is NOT (=)
    ("a <> b", &[("a", "3.14"), ("b", "3.14")], F),
    ("a <> b", &[("a", "3.14"), ("b", "3.141")], T),
    ("a <> b", &[("b", "1")], N),
    ("a <> b", &[("a", "1")], T),
    ("a <> 'x'", NONE, N),
    ("a <> 'x'", &[("a", "y")], T),
    // a literal NULL operand is a parse error (parentheses are transparent)
    ("a = NULL", NONE, P),
    ("NULL = a", NONE, P),
    ("a <> NULL", NONE, P),
    ("a = (NULL)", NONE, P),
    ("(NULL) = a", NONE, P),
    ("FALSE = NULL", NONE, P),
    // case-sensitive exact string equality, any Unicode
    ("a = 'X'", &[("a", "x")], F),
    ("a = 'é中😀'", &[("a", "é中😀")], T),
    ("a = 'it''s'", &[("a", "it's")], T),
    (
        "TAGS is not null and TAGS='''''tag'''''",
        &[("TAGS", "''tag''")],
        T,
    ),
    ("a = 'x\ny'", &[("a", "x\ny")], T),
    ("'s' contains '\\'", NONE, F),
    ("a = '\\'", &[("a", "\\")], T),
];

pub const COERCION_INT_LONG_DOUBLE_STRING: &[Case] = &[
    // property vs int literal: Integer.valueOf(property)
    ("a = 3", &[("a", "3")], T),
    ("a = 3", &[("a", "+3")], T),
    ("a = 3", &[("a", "03")], T),
    ("a = 3", &[("a", "4")], F),
    ("a = 3", &[("a", "3.0")], E),
    ("a = 3", &[("a", "3.5")], E),
    ("a = 3", &[("a", " 3")], E),
    ("a = 3", &[("a", "abc")], E),
    ("a = 3", &[("a", "\u{0663}")], T), // ARABIC-INDIC DIGIT THREE is a Java digit
    ("a > 3", &[("a", "3.5")], E),
    // vs a double literal: Double.valueOf(property)
    ("a = 3.0", &[("a", "3")], T),
    ("a > 3.0", &[("a", "3.5")], T),
    ("a = 3.5", &[("a", "3.5")], T),
    ("3.5 = a", &[("a", "3.5")], T),
    ("a = 1.5", &[("a", " 1.5\t")], T),
    ("a = 1.5", &[("a", "1.5f")], T),
    ("a = 1.5", &[("a", "1.5D")], T),
    ("a = 16.0", &[("a", "0x1p4")], T),
    ("a = 1.5", &[("a", "1.5.0")], E),
    ("a > 5.0", &[("a", "NaN")], T), // Double.compareTo: NaN is the largest
    ("a < 5.0", &[("a", "NaN")], F),
    ("a = 5.0", &[("a", "NaN")], F),
    ("a > 5", &[("a", "NaN")], E),
    ("a > 1.0E308", &[("a", "Infinity")], T),
    ("a > 1e308", &[("a", "1e309")], T),
    // int literals that do not fit int32 are longs: Long.valueOf(property)
    ("a = 2147483647", &[("a", "2147483647")], T),
    ("a > 2147483647", &[("a", "2147483648")], E), // Integer.valueOf overflows
    ("a > 2147483647L", &[("a", "2147483648")], E), // 'L' does not force a long
    ("a = 2147483648", &[("a", "2147483648")], T),
    ("a > 2147483648", &[("a", "2147483649")], T),
    ("a < 2147483648", &[("a", "5")], T),
    ("a = 3000000000", &[("a", "3000000000.0")], E),
    (
        "a = 9223372036854775807",
        &[("a", "9223372036854775807")],
        T,
    ),
    ("a = 10L", &[("a", "10")], T),
    ("a = 10l", &[("a", "10")], T),
    // literal vs literal: widening int → long → double
    ("3000000000 > 1", NONE, T),
    ("1 < 3000000000", NONE, T),
    ("1 < 1.5", NONE, T),
    ("2.5 > 2", NONE, T),
    ("1 = 1.0", NONE, T),
    ("3000000000 = 3000000000.0", NONE, T),
    ("9007199254740993 = 9007199254740992.0", NONE, T), // long → double rounding
    ("1 = 1", NONE, T),
    ("1 = 2", NONE, F),
    ("'1' = 1", NONE, T),
    ("1 = '1'", NONE, T),
    ("1 = 'x'", NONE, E),
    ("'a' = 'a'", NONE, T),
    ("'a' = 'b'", NONE, F),
];

pub const COERCION_BOOLEAN: &[Case] = &[
    // string vs boolean literal: Boolean.valueOf(property) ("true" ignoring case)
    ("a = TRUE", &[("a", "true")], T),
    ("a = TRUE", &[("a", "TRUE")], T),
    ("a = TRUE", &[("a", "yes")], F),
    ("a = TRUE", &[("a", "1")], F),
    ("a = FALSE", &[("a", "hello")], T), // anything but "true" is false
    ("a = FALSE", &[("a", "false")], T),
    ("a=TRUE OR b=FALSE", &[("a", "true"), ("b", "false")], T),
    ("a=TRUE OR b=FALSE", &[("a", "false"), ("b", "true")], F),
    // boolean on the left of a string: the Java code casts the wrong operand → error
    ("TRUE = a", &[("a", "true")], E),
    ("(a = 'x') = 'true'", &[("a", "x")], E),
    ("'true' = (a = 'x')", &[("a", "x")], T),
    // boolean vs boolean, boolean vs number ("incomparable ⇒ less")
    ("TRUE = TRUE", NONE, T),
    ("TRUE = FALSE", NONE, F),
    ("TRUE <> FALSE", NONE, T),
    ("1 = TRUE", NONE, F),
    ("'true' = TRUE", NONE, T),
    ("(a = 'x') = (b = 'y')", &[("a", "x"), ("b", "y")], T),
    ("(a = 'x') = (b = 'y')", &[("a", "x"), ("b", "z")], F),
    // a boolean literal compared with a non-boolean literal is a parse error
    ("TRUE = 1", NONE, P),
    ("TRUE = 'x'", NONE, P),
    ("FALSE <> 1.5", NONE, P),
];

pub const RELATIONAL: &[Case] = &[
    ("a > 5", &[("a", "6")], T),
    ("a > 5", &[("a", "5")], F),
    ("a > 5", &[("a", "x")], E),
    ("a > 5", NONE, N),
    ("a >= 5", &[("a", "5")], T),
    ("a >= 5", &[("a", "4")], F),
    ("a < 5", &[("a", "4")], T),
    ("a < 5", &[("a", "5")], F),
    ("a <= 5", &[("a", "5")], T),
    ("a <= 5", &[("a", "6")], F),
    ("5 < a", &[("a", "6")], T),
    // string vs string: both parsed as doubles (numeric, not lexicographic)
    ("a > b", &[("a", "10"), ("b", "9")], T),
    ("a > b", &[("a", "10"), ("b", "20")], F),
    ("a > b", &[("a", "20"), ("b", "10")], T),
    ("a > b", &[("a", "10"), ("b", "9.5")], T),
    ("a >= b", &[("a", "1e1"), ("b", "10")], T),
    ("a > b", &[("a", "x"), ("b", "1")], E),
    ("a > b", &[("a", "1"), ("b", "x")], E),
    ("a > b", &[("a", "1")], N),
    ("a > b", &[("b", "1")], N),
    // a string/boolean/NULL literal or a boolean expression operand is a parse error
    ("a > 'x'", NONE, P),
    ("'x' > a", NONE, P),
    ("a >= ('1')", NONE, P),
    ("a > TRUE", NONE, P),
    ("a < FALSE", NONE, P),
    ("a > NULL", NONE, P),
    ("a > (b = 1)", NONE, P),
    ("(a > 1) > 2", NONE, P),
    ("a > 1 > 2", NONE, P),
    // floats: exponent, leading/trailing dot
    ("a > 3.14", &[("a", "3.1415")], T),
    ("a > 3.1E10", &[("a", "3.1415E10")], T),
    ("a > 1e3", &[("a", "1001")], T),
    ("a > 1E+3", &[("a", "999")], F),
    ("a < 1.5E-3", &[("a", "0.001")], T),
    ("a > .5", &[("a", "0.6")], T),
    ("a > 5.", &[("a", "5.5")], T),
    ("a > 5.e1", &[("a", "51")], T),
    ("a > 4.9e-324", &[("a", "1")], T),
    ("a > 0", &[("a", "1")], T),
    ("a = 0", &[("a", "0")], T),
];

pub const NUMERIC_LITERAL_RANGES: &[Case] = &[
    ("a = 9223372036854775808", NONE, P),
    ("a = -9223372036854775808", NONE, P), // the literal overflows before negation
    ("a > 100000000000000000000000", NONE, P),
    ("a > 1e400", NONE, P),
    // createFloat rejects values below Double.MIN_VALUE — zero included
    ("a > 0.0", NONE, P),
    ("a > 0.", NONE, P),
    ("a > .0", NONE, P),
    ("a > 0e1", NONE, P),
    ("a > 1e-400", NONE, P),
    ("a > 2e-324", NONE, P),
    ("a > 3e-324", &[("a", "1")], T),
    ("a = -1.5", &[("a", "-1.5")], T),
    ("a < -1e3", &[("a", "-1001")], T),
];

pub const UNARY_PLUS_MINUS: &[Case] = &[
    ("a = -1", &[("a", "-1")], T),
    ("a = - -1", &[("a", "1")], T),
    ("a = -(1)", &[("a", "-1")], T),
    ("a = +1", &[("a", "1")], T),
    ("a = + + 1", &[("a", "1")], T),
    ("a = -+-1", &[("a", "1")], T),
    ("a = -2147483648", &[("a", "-2147483648")], T),
    (
        "a = -9223372036854775807",
        &[("a", "-9223372036854775807")],
        T,
    ),
    ("a > -1", &[("a", "0")], T),
    // negating a non-number yields NULL
    ("-a = 1", &[("a", "-1")], N),
    ("a > -b", &[("a", "0"), ("b", "1")], N),
    ("-'x' > 1", NONE, N),
    ("-TRUE = 1", NONE, N),
    ("1 > -(a = 1)", &[("a", "1")], N),
    // a negation is not a boolean
    ("-a", NONE, P),
    ("-TRUE", NONE, P),
    ("NOT -a", NONE, P),
];

pub const BETWEEN: &[Case] = &[
    ("a between 0 and 3", &[("a", "0")], T),
    ("a between 0 and 3", &[("a", "3")], T),
    ("a between 0 and 3", &[("a", "2")], T),
    ("a between 0 and 3", &[("a", "4")], F),
    ("a between 0 and 3", &[("a", "-1")], F),
    ("a between 0 and 3", NONE, N),
    ("a between 0 and 3", &[("a", "x")], E),
    ("a between 0 and 3", &[("a", "1.5")], E),
    ("a between 0.0001 and 3.0", &[("a", "1.5")], T),
    ("a between 0.0001 and 3", &[("a", "1.5")], E), // Integer.valueOf("1.5") for <= 3
    ("a between 2 and 10", &[("a", "2")], T),
    ("a between 2 and 10", &[("a", "10")], T),
    ("a between 2 and 10", &[("a", "11")], F),
    ("a BETWEEN 3 AND 3", &[("a", "3")], T),
    ("a BETWEEN 1 AND 1.0", &[("a", "1")], T),
    // constant bounds out of order / NULL / non-numeric are parse errors
    ("a between 10 and 0", NONE, P),
    ("a BETWEEN 3 AND 0", NONE, P),
    ("a BETWEEN 1.5 AND 1", NONE, P),
    ("a BETWEEN 3000000000 AND 1", NONE, P),
    ("a BETWEEN NULL AND 3", NONE, P),
    ("a BETWEEN 1 AND NULL", NONE, P),
    ("a BETWEEN 'a' AND 'b'", NONE, P),
    ("a BETWEEN TRUE AND FALSE", NONE, P),
    ("a BETWEEN 1 AND TRUE", NONE, P),
    ("'x' BETWEEN 1 AND 2", NONE, P),
    ("NOT a BETWEEN 1 AND 2", NONE, P), // (NOT a) is boolean
    ("a BETWEEN 1 AND 2 BETWEEN 0 AND 1", NONE, P),
    // negated literals are not constants: no order check, simply never true
    ("a BETWEEN -1 AND -5", &[("a", "-3")], F),
    ("a BETWEEN 3 AND -5", &[("a", "0")], F),
    ("a BETWEEN -5 AND -1", &[("a", "-3")], T),
    // property bounds: >= and <= with three-valued AND
    (
        "a BETWEEN b AND c",
        &[("a", "2"), ("b", "1"), ("c", "3")],
        T,
    ),
    ("a BETWEEN b AND c", &[("a", "2"), ("b", "1")], N),
    ("a BETWEEN b AND c", &[("a", "0"), ("b", "1")], F),
    ("a between up and low", &[("a", "3.14")], N),
    (
        "a between up and low",
        &[("a", "3.14"), ("up", "up"), ("low", "low")],
        E,
    ),
    (
        "key is not null and key between 0 and 100",
        &[("key", "con")],
        E,
    ),
    // BETWEEN binds its AND; the next AND is logical
    ("a BETWEEN 1 AND 3 AND b = 1", &[("a", "2"), ("b", "1")], T),
    ("a BETWEEN 1 AND 3 AND b = 1", &[("a", "2"), ("b", "2")], F),
    ("a BETWEEN 1 AND 3 OR b = 1", &[("a", "5"), ("b", "1")], T),
    // NOT BETWEEN = x < lo OR x > hi, no bound check
    ("a not between 2 and 10", &[("a", "1")], T),
    ("a not between 2 and 10", &[("a", "11")], T),
    ("a not between 2 and 10", &[("a", "2")], F),
    ("a not between 2 and 10", &[("a", "10")], F),
    ("a not between 2 and 10", &[("a", "3")], F),
    ("a not between 2 and 10", NONE, N),
    ("a NOT BETWEEN 10 AND 2", &[("a", "5")], T),
    ("a NOT BETWEEN NULL AND 2", NONE, P),
    ("a NOT BETWEEN 'a' AND 2", NONE, P),
    ("a NOT BETWEEN b AND c", &[("a", "5"), ("b", "1")], N),
    ("a NOT BETWEEN b AND c", &[("a", "0"), ("b", "1")], T),
    (
        "(a between 2 and 10) AND (b not between 6 and 9)",
        &[("a", "3"), ("b", "5")],
        T,
    ),
    (
        "(a between 2 and 10) AND (b not between 6 and 9)",
        &[("a", "3"), ("b", "7")],
        F,
    ),
    // syntax
    ("a BETWEEN 1", NONE, P),
    ("a BETWEEN 1 OR 2", NONE, P),
    ("a BETWEEN AND 2", NONE, P),
    ("a and between 2 and 10", NONE, P),
];

pub const IN_LIST: &[Case] = &[
    ("a IN ('x', 'y')", &[("a", "x")], T),
    ("a IN ('x', 'y')", &[("a", "z")], F),
    ("a IN ('x', 'y')", NONE, N),
    ("a NOT IN ('x', 'y')", &[("a", "z")], T),
    ("a NOT IN ('x', 'y')", &[("a", "x")], F),
    ("a NOT IN ('x', 'y')", NONE, N),
    ("a in ('3', '4', '5')", &[("a", "3")], T),
    ("a in ('3', '4', '5')", &[("a", "5")], T),
    ("a in ('3', '4', '5')", &[("a", "8")], F),
    ("a not in ('3', '4', '5')", &[("a", "8")], T),
    ("a not in ('3', '4', '5')", &[("a", "4")], F),
    ("a IN ('1')", &[("a", "1.0")], F),
    ("a IN ('x')", &[("a", "X")], F),
    ("a IN ('it''s')", &[("a", "it's")], T),
    ("a IN ('')", &[("a", "")], T),
    ("a IN ('x','y','z','w','v','u','t')", &[("a", "u")], T),
    ("a IN ('x','y','z','w','v','u','t')", &[("a", "s")], F),
    ("a IN ('x','x','x')", &[("a", "x")], T),
    ("(a) IN ('x')", &[("a", "x")], T),
    ("((a)) NOT IN ('x')", &[("a", "y")], T),
    (
        "(a not in ('6', '4', '5')) or (b in ('3', '4', '5'))",
        &[("a", "4"), ("b", "3")],
        T,
    ),
    (
        "(a not in ('6', '4', '5')) or (b in ('3', '4', '5'))",
        &[("a", "4")],
        N,
    ),
    (
        "a not in ('4', '4', '5') and b between 3 and 10 and c not contains 'axbc'",
        &[("a", "3"), ("b", "3"), ("c", "axbdc")],
        T,
    ),
    // only on a property, only string literals, at least one
    ("a IN (1, 2)", NONE, P),
    ("a IN ('1', 2)", NONE, P),
    ("a IN ()", NONE, P),
    ("a IN ('x',)", NONE, P),
    ("a IN 'x'", NONE, P),
    ("a IN ('x'", NONE, P),
    ("'x' IN ('x')", NONE, P),
    ("-a IN ('x')", NONE, P),
    ("NOT a IN ('x')", NONE, P),
    ("(a = 1) IN ('x')", NONE, P),
    ("a IN (b)", NONE, P),
];

pub const CONTAINS_STARTSWITH_ENDSWITH: &[Case] = &[
    ("value contains 'x'", &[("value", "axb")], T),
    ("value startswith 'ax'", &[("value", "axb")], T),
    ("value endswith 'xb'", &[("value", "axb")], T),
    ("value not contains 'x'", &[("value", "axb")], F),
    ("value not startswith 'ax'", &[("value", "axb")], F),
    ("value not endswith 'xb'", &[("value", "axb")], F),
    ("value contains 'x'", &[("value", "abb")], F),
    ("value startswith 'x'", &[("value", "abb")], F),
    ("value endswith 'x'", &[("value", "abb")], F),
    ("value not contains 'x'", &[("value", "abb")], T),
    ("value not startswith 'x'", &[("value", "abb")], T),
    ("value not endswith 'x'", &[("value", "abb")], T),
    // empty search string ⇒ FALSE, also for NOT
    ("value contains ''", &[("value", "axb")], F),
    ("value startswith ''", &[("value", "axb")], F),
    ("value endswith ''", &[("value", "axb")], F),
    ("value not contains ''", &[("value", "axb")], F),
    ("value not startswith ''", &[("value", "axb")], F),
    ("value not endswith ''", &[("value", "axb")], F),
    // absent ⇒ FALSE (not NULL), also for NOT
    ("value contains 'x'", NONE, F),
    ("value startswith 'x'", NONE, F),
    ("value endswith 'x'", NONE, F),
    ("value not contains 'x'", NONE, F),
    ("value not startswith 'x'", NONE, F),
    ("value not endswith 'x'", NONE, F),
    // non-string left side ⇒ FALSE
    ("(a = 'x') CONTAINS 'true'", &[("a", "x")], F),
    ("(a = 'x') NOT CONTAINS 'true'", &[("a", "x")], F),
    ("1 CONTAINS '1'", NONE, F),
    ("-a ENDSWITH '1'", &[("a", "1")], F),
    // string literal on the left
    ("'axb' contains 'x'", NONE, T),
    ("'axb' startswith 'ax'", NONE, T),
    ("'axb' endswith 'xb'", NONE, T),
    ("'axb' not contains 'u'", NONE, T),
    ("'axb' contains '.'", NONE, F),
    ("' ' contains ' '", NONE, T),
    ("' ' not endswith ' '", NONE, F),
    // case-sensitive, Unicode-aware
    ("a contains 'X'", &[("a", "axb")], F),
    ("a contains '中'", &[("a", "中文")], T),
    ("a startswith '😀'", &[("a", "😀x")], T),
    ("a ENDSWITH 'x' AND a STARTSWITH 'a'", &[("a", "abx")], T),
    // chains: the left of the second one is a boolean ⇒ FALSE
    ("a CONTAINS 'x' CONTAINS 'y'", &[("a", "xy")], F),
    // the search must be a string literal
    ("value contains x", NONE, P),
    ("value not contains x", NONE, P),
    ("value contains 123", NONE, P),
    ("value contains ('x')", NONE, P),
    ("'axb' contains ", NONE, P),
    ("'axb' not contains ", NONE, P),
    ("a not like 'x'", NONE, P),
];

pub const IS_NULL: &[Case] = &[
    ("a is null", &[("abc", "2")], T),
    ("a is null", &[("a", "2")], F),
    ("a is not null", &[("a", "2")], T),
    ("a is not null", NONE, F),
    ("a is not null and a='hello'", &[("a", "hello")], T),
    ("a is not null and a='hello'", NONE, F),
    ("a is null OR a='hello'", NONE, T),
    ("a is null OR a='hello'", &[("a", "hello")], T),
    ("a is null OR a='hello'", &[("a", "abc")], F),
    ("a = ''  OR a IS NULL", &[("a", "")], T),
    ("NULL IS NULL", NONE, T),
    ("NULL IS NOT NULL", NONE, F),
    ("1 IS NULL", NONE, F),
    ("'x' IS NOT NULL", NONE, T),
    ("(a = 1) IS NULL", NONE, T),
    ("(a = 1) IS NULL", &[("a", "1")], F),
    ("(a = 1) IS NULL", &[("a", "x")], E),
    ("a IS NULL IS NULL", NONE, F),
    ("a IS NULL = TRUE", NONE, T),
    ("-a IS NULL", &[("a", "1")], T),
    ("a IS", NONE, P),
    ("a IS NOT", NONE, P),
    ("a IS 1", NONE, P),
    ("a IS NOT 1", NONE, P),
    ("a IS TRUE", NONE, P),
    ("a ISNULL", NONE, N), // `ISNULL` is an identifier: ignored trailing input, `a` alone
];

pub const AND_OR_NOT_THREE_VALUED: &[Case] = &[
    ("TRUE AND TRUE", NONE, T),
    ("TRUE AND FALSE", NONE, F),
    ("FALSE AND TRUE", NONE, F),
    ("FALSE AND NULL", NONE, F),
    ("NULL AND FALSE", NONE, F),
    ("TRUE AND NULL", NONE, N),
    ("NULL AND TRUE", NONE, N),
    ("NULL AND NULL", NONE, N),
    ("TRUE OR FALSE", NONE, T),
    ("FALSE OR TRUE", NONE, T),
    ("FALSE OR FALSE", NONE, F),
    ("NULL OR TRUE", NONE, T),
    ("TRUE OR NULL", NONE, T),
    ("FALSE OR NULL", NONE, N),
    ("NULL OR FALSE", NONE, N),
    ("NULL OR NULL", NONE, N),
    ("NOT TRUE", NONE, F),
    ("NOT FALSE", NONE, T),
    ("NOT NULL", NONE, N),
    ("NOT NOT TRUE", NONE, T),
    ("NOT (a = 1)", NONE, N),
    ("NOT (a = 1)", &[("a", "1")], F),
    ("NOT (a = 1)", &[("a", "2")], T),
    ("NOT (a = 1)", &[("a", "x")], E),
    // right side still evaluated after a NULL left side (and its error surfaces)...
    ("a = 1 AND b > 1", &[("b", "x")], E),
    ("a = 1 OR b > 1", &[("b", "x")], E),
    ("a = 1 OR b = 1", &[("b", "1")], T),
    ("a = 1 AND b = 1", &[("b", "1")], N),
    // ...but not after a deciding left side (short circuit)
    ("a = 1 AND b > 1", &[("a", "2"), ("b", "x")], F),
    ("b = 1 OR a = 1", &[("a", "x"), ("b", "1")], T),
    // an error on the left hides a TRUE on the right
    ("a = 1 OR b = 1", &[("a", "x"), ("b", "1")], E),
    // AND binds tighter than OR; long chains
    ("a = 1 OR b = 1 AND c = 1", &[("a", "1")], T),
    (
        "a = 1 OR b = 1 AND c = 1",
        &[("b", "1"), ("c", "2"), ("a", "2")],
        F,
    ),
    ("(a = 1 OR b = 1) AND c = 1", &[("a", "1"), ("c", "2")], F),
    (
        "a=3 and b<>4 And c>5 AND d<=4",
        &[("a", "3"), ("b", "5"), ("c", "6"), ("d", "1")],
        T,
    ),
    (
        "a=3 and b<>4 And c>5 AND d<=4",
        &[("a", "4"), ("b", "5"), ("c", "6"), ("d", "1")],
        F,
    ),
    (
        "a=3  and    b<>4 And c>5 AND d<=4",
        &[("a", "3"), ("b", "5"), ("c", "6"), ("d", "1")],
        T,
    ),
    ("a=3 or b<>4 Or c>5 OR d<=4", &[("a", "3")], T),
    ("a=3 or b<>4 Or c>5 OR d<=4", &[("a", "4"), ("b", "5")], T),
    (
        "a=3 or b<>4 Or c>5 OR d<=4",
        &[("a", "4"), ("b", "4"), ("c", "6")],
        T,
    ),
    (
        "a=3 or b<>4 Or c>5 OR d<=4",
        &[("a", "4"), ("b", "4"), ("c", "3"), ("d", "2")],
        T,
    ),
    (
        "a=3 or b<>4 Or c>5 OR d<=4",
        &[("a", "4"), ("b", "4"), ("c", "3"), ("d", "10")],
        F,
    ),
    // non-boolean operands of AND/OR/NOT are parse errors
    ("1 AND TRUE", NONE, P),
    ("TRUE OR 'x'", NONE, P),
    ("NOT 1", NONE, P),
    ("NOT 'x'", NONE, P),
    ("NOT (1)", NONE, P),
    ("TRUE AND -a", NONE, P),
];

pub const NOT_PRECEDENCE_TRAP: &[Case] = &[
    // NOT a = 1 is (NOT a) = 1: never TRUE
    ("NOT a = 1", &[("a", "1")], F),
    ("NOT a = 1", &[("a", "2")], F),
    ("NOT a = 1", &[("a", "x")], F),
    ("NOT a = 1", NONE, N),
    ("NOT a <> 1", &[("a", "1")], T), // (NOT a) <> 1 = NOT (TRUE = 1) = TRUE
    ("NOT (a = 1)", &[("a", "2")], T),
    // NOT a IS NULL is (NOT a) IS NULL: TRUE exactly when a is absent
    ("NOT a IS NULL", NONE, T),
    ("NOT a IS NULL", &[("a", "x")], F),
    ("NOT (a IS NULL)", &[("a", "x")], T),
    // NOT a > 1 compares a boolean with '>': rejected
    ("NOT a > 1", NONE, P),
    ("NOT a CONTAINS 'x'", &[("a", "x")], F),
    // the NOT of NOT IN / NOT BETWEEN / NOT CONTAINS belongs to the operator
    ("a NOT IN ('x')", &[("a", "y")], T),
];

pub const PARENTHESES_AND_TOP_LEVEL: &[Case] = &[
    ("TRUE", NONE, T),
    ("FALSE", NONE, F),
    ("NULL", NONE, N),
    ("(TRUE)", NONE, T),
    ("(((a = 1)))", &[("a", "1")], T),
    (
        "((a = 1) AND ((b = 2) OR (c = 3)))",
        &[("a", "1"), ("c", "3")],
        T,
    ),
    (
        "((a = 1) AND ((b = 2) OR (c = 3)))",
        &[("a", "1"), ("c", "4")],
        N,
    ),
    ("(a) = (1)", &[("a", "1")], T),
    ("'x'", NONE, P),
    ("1", NONE, P),
    ("1.5", NONE, P),
    ("", NONE, P),
    ("   ", NONE, P),
    ("-- only a comment\n", NONE, P),
    ("()", NONE, P),
    ("(a = 1", NONE, P),
    ("a =", NONE, P),
    ("= 1", NONE, P),
    ("a = 1 AND", NONE, P),
    ("a = 1 OR", NONE, P),
    ("OR a = 1", NONE, P),
    ("a == 1", NONE, P),
    ("a != 1", NONE, P),
    ("a < > 1", NONE, P),
    ("a <> 1", &[("a", "2")], T),
    ("a NOT 1", NONE, P),
    ("a = 1 = TRUE", &[("a", "1")], T),
    ("a = 1 = TRUE", &[("a", "2")], F),
    ("in = 1", NONE, P),
    ("and = 1", NONE, P),
    ("is = 1", NONE, P),
    ("null = 1", NONE, P),
    ("a = #", NONE, P),
    ("a = 'unterminated", NONE, P),
    ("a = 1 AND b = 'é", NONE, P),
    ("a\u{a0}= 1", NONE, P),
];

pub const COMMENTS: &[Case] = &[
    ("a = 1 -- comment\n AND b = 2", &[("a", "1"), ("b", "2")], T),
    ("a = 1 -- comment\n AND b = 2", &[("a", "1"), ("b", "3")], F),
    ("a = 1 -- comment\r AND b = 2", &[("a", "1"), ("b", "3")], F),
    (
        "a = 1 -- comment\r\n AND b = 2",
        &[("a", "1"), ("b", "3")],
        F,
    ),
    ("-- lead\na = 1", &[("a", "1")], T),
    ("a = 1 --\n", &[("a", "1")], T),
    // without a line terminator '--' is two minus tokens; after a complete expression the
    // Java grammar ignores them, so a trailing comment still works
    ("a = 1 -- trailing comment", &[("a", "1")], T),
    ("a = --1", &[("a", "1")], T), // a = -(-(1))
    ("/* c */ a = 1 /* d */", &[("a", "1")], T),
    ("a = /* x */ 1", &[("a", "1")], T),
    ("a /* multi\nline ** comment */ = 1", &[("a", "1")], T),
    ("a/**/=/***/1", &[("a", "1")], T),
    ("a = 1 /* unterminated", &[("a", "1")], P),
    ("a = /* 1 */", NONE, P),
    (
        "a = '/* not a comment */'",
        &[("a", "/* not a comment */")],
        T,
    ),
    ("a = '-- nor this'", &[("a", "-- nor this")], T),
];

pub const KEYWORD_CASE_AND_WHITESPACE: &[Case] = &[
    ("a is not null AND a between 0 And 3", &[("a", "2")], T),
    ("a Is NoT nUlL aNd a BeTwEeN 0 AnD 3", &[("a", "2")], T),
    ("a iN ('x')", &[("a", "x")], T),
    ("a nOt In ('x')", &[("a", "y")], T),
    ("a NOT contains 'x'", &[("a", "y")], T),
    ("a StartsWith 'x'", &[("a", "xy")], T),
    ("a ENDSWITH 'y'", &[("a", "xy")], T),
    ("true", NONE, T),
    ("True Or fAlSe", NONE, T),
    ("nuLL is null", NONE, T),
    ("a\t=\r\n1\u{c}AND\nb=2", &[("a", "1"), ("b", "2")], T),
    ("a=1AND b=2", &[("a", "1"), ("b", "2")], T), // "1AND" lexes as 1, AND
    ("a='x'AND b='y'", &[("a", "x"), ("b", "y")], T),
];

pub const TRAILING_INPUT_IS_IGNORED_LIKE_JAVA: &[Case] = &[
    ("a = 1 b = 2", &[("a", "1"), ("b", "3")], T),
    ("a = 1 )", &[("a", "1")], T),
    ("a = 1 ) garbage # !", &[("a", "1")], T),
    ("a = 1 b #", &[("a", "1")], T),
    ("TRUE FALSE", NONE, T),
    ("a = 0L", &[("a", "0")], T), // 0 then identifier L
    ("a IS NOT NULL NULL", &[("a", "x")], T),
    ("a = 007", &[("a", "0")], T), // 0, then 0 7
    // the first trailing token is lexed
    ("a = 1 #", &[("a", "1")], P),
    ("a = 1 'x", &[("a", "1")], P),
    // tokens that continue the expression are parsed
    ("a = 1 NOT x", &[("a", "1")], P),
    ("a = 1 IS x", &[("a", "1")], P),
    ("a = 1 AND", &[("a", "1")], P),
];

const DOCS: &str = "(TAGS is not null and TAGS in ('TagA','TagB')) and (a between 0 and 3)";

pub const ROCKETMQ_DOCUMENTATION_EXAMPLES: &[Case] = &[
    ("a between 0 and 3", &[("a", "1")], T),
    ("a between 0 and 3", &[("a", "5")], F),
    (DOCS, &[("TAGS", "TagA"), ("a", "2")], T),
    (DOCS, &[("TAGS", "TagB"), ("a", "0")], T),
    (DOCS, &[("TAGS", "TagC"), ("a", "2")], F),
    (DOCS, &[("TAGS", "TagA"), ("a", "4")], F),
    (DOCS, &[("a", "2")], F),
    (DOCS, &[("TAGS", "TagA")], N),
    (
        DOCS,
        &[
            ("TAGS", "TagA"),
            ("a", "2"),
            ("KEYS", "k1"),
            ("UNIQ_KEY", "AC1100"),
        ],
        T,
    ),
    ("a > 5 AND b = 'abc'", &[("a", "6"), ("b", "abc")], T),
    ("a > 5 AND b = 'abc'", &[("a", "6"), ("b", "abd")], F),
    ("a <= now", &[("a", "1"), ("now", "2")], T),
    (
        "a=3 and b contains 'xxx' and c not contains 'xxx'",
        &[("a", "3"), ("b", "axxx"), ("c", "y")],
        T,
    ),
    (
        "KEYS = 'order-1' OR UNIQ_KEY IS NULL",
        &[("KEYS", "order-1")],
        T,
    ),
];

pub const ALL: &[&[Case]] = &[
    PROPERTY_REFERENCE,
    BARE_PROPERTY_AS_BOOLEAN,
    EQUALITY_AND_NULL,
    COERCION_INT_LONG_DOUBLE_STRING,
    COERCION_BOOLEAN,
    RELATIONAL,
    NUMERIC_LITERAL_RANGES,
    UNARY_PLUS_MINUS,
    BETWEEN,
    IN_LIST,
    CONTAINS_STARTSWITH_ENDSWITH,
    IS_NULL,
    AND_OR_NOT_THREE_VALUED,
    NOT_PRECEDENCE_TRAP,
    PARENTHESES_AND_TOP_LEVEL,
    COMMENTS,
    KEYWORD_CASE_AND_WHITESPACE,
    TRAILING_INPUT_IS_IGNORED_LIKE_JAVA,
    ROCKETMQ_DOCUMENTATION_EXAMPLES,
];
