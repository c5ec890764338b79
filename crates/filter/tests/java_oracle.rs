//! Differential test against RocketMQ's own Java filter classes.
//!
//! Opt-in: set `FERROCKET_SQL_ORACLE` to a shell command running `oracle/SqlOracle.java` (see
//! that file for how to build it against the `filter` module of apache/rocketmq), e.g.
//!
//! ```text
//! FERROCKET_SQL_ORACLE='java -cp /tmp/oracle/out:/path/guava.jar SqlOracle' \
//!     cargo test -p ferrocket-filter --test java_oracle -- --nocapture
//! ```
//!
//! Without it the test only checks that the generator runs. With it, every conformance table
//! case (`cases/mod.rs`) and a few thousand random expressions × property sets are evaluated by
//! both implementations and must agree exactly (T/F/N/E/P).

mod cases;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use cases::R;
use ferrocket_filter::SqlExpression;

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

const NAMES: &[&str] = &["a", "b", "c", "TAGS"];
const VALUES: &[&str] = &[
    "1",
    "3",
    "-1",
    "0",
    "3.5",
    "3.0",
    "abc",
    "true",
    "TRUE",
    "false",
    "NaN",
    "Infinity",
    "1e3",
    " 2 ",
    "+4",
    "2147483648",
    "-2147483648",
    "9223372036854775808",
    "0x1p3",
    "",
    "1.5f",
    "\u{663}",
    "x'y",
    "TagA",
    "10",
    "9",
    "-0",
    "0.0",
    "1e400",
];
const LITERALS: &[&str] = &[
    "0",
    "1",
    "3",
    "10",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "1.5",
    "3.0",
    ".5",
    "1e3",
    "1E-3",
    "5.",
    "'abc'",
    "''",
    "'true'",
    "'3'",
    "'x''y'",
    "'TagA'",
    "TRUE",
    "FALSE",
    "NULL",
    "1L",
    "0.0",
];

fn operand(rng: &mut Rng, depth: u32) -> String {
    match rng.below(if depth > 3 { 3 } else { 6 }) {
        0 | 1 => rng.pick(NAMES).to_string(),
        2 => rng.pick(LITERALS).to_string(),
        3 => format!("-{}", operand(rng, depth + 1)),
        4 => format!("({})", operand(rng, depth + 1)),
        _ => format!("({})", expr(rng, depth + 1)),
    }
}

fn strings(rng: &mut Rng) -> String {
    let n = 1 + rng.below(3);
    (0..n)
        .map(|_| {
            rng.pick(&["'abc'", "'1'", "'TagA'", "''", "'b'", "'3'"])
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn expr(rng: &mut Rng, depth: u32) -> String {
    let leafy = depth > 3;
    match rng.below(if leafy { 8 } else { 13 }) {
        0 => {
            let op = rng.pick(&["=", "<>", ">", ">=", "<", "<="]);
            format!("{} {op} {}", operand(rng, depth), operand(rng, depth))
        }
        1 => format!(
            "{} IS {}NULL",
            operand(rng, depth),
            if rng.below(2) == 0 { "NOT " } else { "" }
        ),
        2 => format!(
            "{} {}BETWEEN {} AND {}",
            operand(rng, depth),
            if rng.below(2) == 0 { "NOT " } else { "" },
            operand(rng, depth),
            operand(rng, depth)
        ),
        3 => format!(
            "{} {}IN ({})",
            rng.pick(NAMES),
            if rng.below(2) == 0 { "NOT " } else { "" },
            strings(rng)
        ),
        4 => format!(
            "{} {}{} {}",
            operand(rng, depth),
            if rng.below(2) == 0 { "NOT " } else { "" },
            rng.pick(&["CONTAINS", "STARTSWITH", "ENDSWITH"]),
            rng.pick(&["'a'", "''", "'1'", "'Tag'", "'c'"])
        ),
        5 => rng.pick(NAMES).to_string(),
        6 => rng.pick(&["TRUE", "FALSE", "NULL"]).to_string(),
        7 => {
            let op = rng.pick(&["=", "<>", ">", "<"]);
            format!("{} {op} {}", rng.pick(NAMES), rng.pick(LITERALS))
        }
        8 | 9 => format!(
            "{} {} {}",
            expr(rng, depth + 1),
            rng.pick(&["AND", "OR"]),
            expr(rng, depth + 1)
        ),
        10 => format!("NOT {}", expr(rng, depth + 1)),
        11 => format!("({})", expr(rng, depth + 1)),
        _ => {
            // Occasionally something odd: trailing tokens, comments, keyword case.
            let e = expr(rng, depth + 1);
            match rng.below(5) {
                0 => format!("{e} b"),
                1 => format!("{e} -- note"),
                2 => format!("/* x */ {e}"),
                3 => e.to_lowercase(),
                _ => format!("{e} {}", rng.pick(&["AND", "NOT", "IS", ")", "#", "'"])),
            }
        }
    }
}

/// Token soup: exercises the lexer, trailing input and error paths.
const FRAGMENTS: &[&str] = &[
    "a",
    "b",
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
    "\r",
    "é",
    "#",
    "!",
    "L",
    "e",
    "E",
    ".",
    "'1'",
    "'true'",
    "=>",
    "!=",
    "==",
];

fn soup(rng: &mut Rng) -> String {
    let n = 1 + rng.below(12);
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(rng.pick(FRAGMENTS));
        if rng.below(2) == 0 {
            s.push(' ');
        }
    }
    s
}

/// A random "numeric-looking" property value, to compare Java's Integer/Long/Double.valueOf.
fn number_like(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "0",
        "1",
        "2",
        "5",
        "9",
        "00",
        "123456789",
        "2147483647",
        "2147483648",
        "9223372036854775807",
        "9223372036854775808",
        ".",
        "e",
        "E",
        "+",
        "-",
        "x",
        "X",
        "p",
        "P",
        "f",
        "F",
        "d",
        "D",
        "L",
        "a",
        "NaN",
        "Infinity",
        " ",
        "\t",
        "\u{663}",
        "\u{ff11}",
        "\u{1d7cf}",
        "_",
        "1e308",
        "e-5",
        "0x",
        "1p",
        "ff",
        "A",
        "\u{0}",
    ];
    let n = 1 + rng.below(6);
    (0..n).map(|_| rng.pick(PIECES)).collect()
}

fn props(rng: &mut Rng) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for n in NAMES {
        if rng.below(3) != 0 {
            out.push((n.to_string(), rng.pick(VALUES).to_string()));
        }
    }
    out
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn ours(expr: &str, props: &[(String, String)]) -> R {
    let map: HashMap<String, String> = props.iter().cloned().collect();
    match SqlExpression::compile(expr) {
        Err(_) => R::P,
        Ok(e) => match e.try_evaluate(&map) {
            Ok(Some(true)) => R::T,
            Ok(Some(false)) => R::F,
            Ok(None) => R::N,
            Err(_) => R::E,
        },
    }
}

#[test]
fn agrees_with_java() {
    let mut cases: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for table in cases::ALL {
        for (e, p, _) in table.iter() {
            cases.push((
                e.to_string(),
                p.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ));
        }
    }
    // FERROCKET_SQL_ORACLE_SEED=<n> picks another random sample (and makes it 5× larger).
    let seed: Option<u64> = std::env::var("FERROCKET_SQL_ORACLE_SEED")
        .ok()
        .and_then(|s| s.parse().ok());
    let scale = if seed.is_some() { 5 } else { 1 };
    let mut rng = Rng(seed.unwrap_or(0xC0FF_EE12_3456_789B) | 1);
    for _ in 0..6_000 * scale {
        let e = expr(&mut rng, 0);
        for _ in 0..4 {
            let p = props(&mut rng);
            cases.push((e.clone(), p));
        }
    }

    const NUMERIC_EXPRS: &[&str] = &[
        "a = 1",
        "a = 2147483648",
        "a = 1.0",
        "a > 0.5",
        "a < 2",
        "a > b",
        "a = b",
        "a = TRUE",
        "a BETWEEN 1 AND 3000000000",
        "a >= 1e10",
        "-a < 1",
        "a = 5.0E-324",
    ];
    for _ in 0..10_000 * scale {
        let e = rng.pick(NUMERIC_EXPRS).to_string();
        let p = vec![
            ("a".to_string(), number_like(&mut rng)),
            ("b".to_string(), number_like(&mut rng)),
        ];
        cases.push((e, p));
    }
    for _ in 0..20_000 * scale {
        let e = soup(&mut rng);
        let p = props(&mut rng);
        cases.push((e, p));
    }

    let Ok(cmd) = std::env::var("FERROCKET_SQL_ORACLE") else {
        eprintln!(
            "FERROCKET_SQL_ORACLE not set: skipping the Java comparison of {} cases",
            cases.len()
        );
        return;
    };
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start oracle");
    let mut stdin = child.stdin.take().unwrap();
    let input: String = cases
        .iter()
        .map(|(e, p)| {
            let mut line = hex(e);
            for (k, v) in p {
                line.push('\t');
                line.push_str(&hex(k));
                line.push('=');
                line.push_str(&hex(v));
            }
            line.push('\n');
            line
        })
        .collect();
    let writer = std::thread::spawn(move || {
        stdin.write_all(input.as_bytes()).unwrap();
    });
    let answers: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| l.unwrap())
        .collect();
    writer.join().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(
        answers.len(),
        cases.len(),
        "oracle answered a different number of cases"
    );

    let mut mismatches = Vec::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for ((e, p), java) in cases.iter().zip(&answers) {
        let mine = format!("{:?}", ours(e, p));
        *counts.entry(java.clone()).or_default() += 1;
        if &mine != java {
            mismatches.push(format!("{e:?} with {p:?}: java {java}, ours {mine}"));
        }
    }
    eprintln!(
        "{} cases compared, Java results by kind: {counts:?}",
        cases.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
