//! Java standard-library conversions the Java filter applies to property strings:
//! `Integer.valueOf`, `Long.valueOf`, `Double.valueOf`, `Boolean.valueOf`, and the orderings of
//! `Double.compareTo` / `String.compareTo`.

use std::cmp::Ordering;

/// Zero code points of the Unicode `Nd` (decimal digit) runs in the BMP. Java's
/// `Character.digit(c, 10)` accepts every such digit, and `Integer.parseInt` works on UTF-16
/// units, so supplementary-plane digits are not accepted.
const ND_ZEROS: [u32; 37] = [
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10,
];

/// `Character.digit(c, 10)`.
fn java_digit(c: char) -> Option<u32> {
    let cp = c as u32;
    if c.is_ascii_digit() {
        return Some(cp - '0' as u32);
    }
    if !(0x80..=0xFFFF).contains(&cp) {
        return None;
    }
    let idx = match ND_ZEROS.binary_search(&cp) {
        Ok(i) => i,
        Err(0) => return None,
        Err(i) => i - 1,
    };
    let d = cp - ND_ZEROS[idx];
    (d < 10).then_some(d)
}

/// `Long.parseLong(s, 10)` generalised to a bound: magnitude limits for positive / negative.
fn parse_integral(s: &str, max_pos: i128, max_neg: i128) -> Option<i128> {
    let mut chars = s.chars().peekable();
    let first = *chars.peek()?;
    let mut negative = false;
    if first < '0' {
        match first {
            '-' => negative = true,
            '+' => {}
            _ => return None,
        }
        chars.next();
        chars.peek()?;
    }
    let limit = if negative { max_neg } else { max_pos };
    let mut acc: i128 = 0;
    for c in chars {
        let d = java_digit(c)? as i128;
        acc = acc * 10 + d;
        if acc > limit {
            return None;
        }
    }
    Some(if negative { -acc } else { acc })
}

/// `Integer.valueOf(String)`.
pub(crate) fn parse_int(s: &str) -> Option<i32> {
    parse_integral(s, i32::MAX as i128, -(i32::MIN as i128)).map(|v| v as i32)
}

/// `Long.valueOf(String)`.
pub(crate) fn parse_long(s: &str) -> Option<i64> {
    parse_integral(s, i64::MAX as i128, -(i64::MIN as i128)).map(|v| v as i64)
}

/// `Boolean.valueOf(String)`: `"true".equalsIgnoreCase(s)`.
pub(crate) fn parse_boolean(s: &str) -> bool {
    s.eq_ignore_ascii_case("true")
}

/// `Double.valueOf(String)` (`FloatingDecimal.readJavaFormatString`): trims chars `<= ' '`,
/// optional sign, `NaN`, `Infinity`, hexadecimal `0x…p…`, decimal with optional `.` and
/// exponent, and one optional trailing `f`/`F`/`d`/`D`.
pub(crate) fn parse_double(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| c <= ' ');
    let b = t.as_bytes();
    if b.is_empty() {
        return None;
    }
    let mut i = 0;
    let mut negative = false;
    match b[0] {
        b'-' => {
            negative = true;
            i = 1;
        }
        b'+' => i = 1,
        _ => {}
    }
    let c = *b.get(i)?;
    if c == b'N' {
        return (&t[i..] == "NaN").then_some(f64::NAN);
    }
    if c == b'I' {
        return (&t[i..] == "Infinity").then_some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if c == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X')) {
        return parse_hex_double(t);
    }
    let number_start = i;
    let mut seen_dot = false;
    let mut digits = 0usize;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => digits += 1,
            b'.' => {
                if seen_dot {
                    return None;
                }
                seen_dot = true;
            }
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        // `charAt(++i)` past the end throws, i.e. "1e" is invalid.
        match b.get(i)? {
            b'+' | b'-' => i += 1,
            _ => {}
        }
        let exp_start = i;
        while b.get(i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    let number_end = i;
    if i < b.len() && (i != b.len() - 1 || !matches!(b[i], b'f' | b'F' | b'd' | b'D')) {
        return None;
    }
    let v: f64 = t[number_start..number_end].parse().ok()?;
    Some(if negative { -v } else { v })
}

/// The hexadecimal branch of `Double.valueOf`: the whole (trimmed) string must match
/// `[+-]?0[xX](hex+ '.'? | hex* '.' hex+)[pP][+-]?[0-9]+[fFdD]?`. Correctly rounded
/// (round half to even), including subnormals.
fn parse_hex_double(t: &str) -> Option<f64> {
    let b = t.as_bytes();
    let mut i = 0;
    let mut negative = false;
    match b.first()? {
        b'-' => {
            negative = true;
            i = 1;
        }
        b'+' => i = 1,
        _ => {}
    }
    if b.get(i) != Some(&b'0') || !matches!(b.get(i + 1), Some(b'x' | b'X')) {
        return None;
    }
    i += 2;
    let mut mant: u64 = 0;
    let mut significant = 0u32;
    let mut exp: i64 = 0;
    let mut sticky = false;
    let mut digits = 0usize;
    let mut seen_dot = false;
    while let Some(&c) = b.get(i) {
        if c == b'.' {
            if seen_dot {
                return None;
            }
            seen_dot = true;
            i += 1;
            continue;
        }
        let Some(d) = (c as char).to_digit(16) else {
            break;
        };
        digits += 1;
        if seen_dot {
            exp -= 4;
        }
        if mant == 0 && d == 0 {
            // leading zero
        } else if significant < 16 {
            mant = (mant << 4) | d as u64;
            significant += 1;
        } else {
            exp += 4;
            sticky |= d != 0;
        }
        i += 1;
    }
    if digits == 0 || !matches!(b.get(i), Some(b'p' | b'P')) {
        return None;
    }
    i += 1;
    let mut exp_negative = false;
    match b.get(i) {
        Some(b'+') => i += 1,
        Some(b'-') => {
            exp_negative = true;
            i += 1;
        }
        _ => {}
    }
    let exp_start = i;
    let mut p: i64 = 0;
    while let Some(&c) = b.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        p = (p * 10 + (c - b'0') as i64).min(1 << 40);
        i += 1;
    }
    if i == exp_start {
        return None;
    }
    if i < b.len() && (i != b.len() - 1 || !matches!(b[i], b'f' | b'F' | b'd' | b'D')) {
        return None;
    }
    let sign = if negative { -1.0 } else { 1.0 };
    if mant == 0 {
        return Some(sign * 0.0);
    }
    let e2 = exp + if exp_negative { -p } else { p };
    Some(sign * round_binary(mant, e2, sticky))
}

/// Rounds `mant × 2^e2` (+ a sticky "something non-zero below") to the nearest double.
fn round_binary(mant: u64, e2: i64, sticky: bool) -> f64 {
    let lz = mant.leading_zeros();
    let m = (mant as u128) << (64 + lz);
    // Unbiased exponent of the leading bit.
    let e = e2 - lz as i64 - 64 + 127;
    if e > 1023 {
        return f64::INFINITY;
    }
    let normal = e >= -1022;
    let shift: i64 = if normal { 75 } else { 75 + (-1022 - e) };
    let (mut q, round_up) = if shift > 128 {
        (0u128, false)
    } else if shift == 128 {
        let half = 1u128 << 127;
        (0u128, m > half || (m == half && sticky))
    } else {
        let q = m >> shift;
        let rem = m & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        (q, rem > half || (rem == half && (sticky || q & 1 == 1)))
    };
    if round_up {
        q += 1;
    }
    if normal {
        let mut e = e;
        if q == 1u128 << 53 {
            q >>= 1;
            e += 1;
            if e > 1023 {
                return f64::INFINITY;
            }
        }
        let bits = (((e + 1023) as u64) << 52) | (q as u64 & ((1u64 << 52) - 1));
        f64::from_bits(bits)
    } else {
        // q ≤ 2^52; q == 2^52 is the smallest normal number, which the bit layout gives as is.
        f64::from_bits(q as u64)
    }
}

/// `Double.compare`: numeric order, `-0.0 < 0.0`, NaN above everything and equal to itself.
pub(crate) fn double_compare(a: f64, b: f64) -> Ordering {
    if a < b {
        return Ordering::Less;
    }
    if a > b {
        return Ordering::Greater;
    }
    let bits = |x: f64| -> i64 {
        if x.is_nan() {
            0x7ff8_0000_0000_0000
        } else {
            x.to_bits() as i64
        }
    };
    bits(a).cmp(&bits(b))
}

/// `Double.equals`: `doubleToLongBits` equality.
pub(crate) fn double_equals(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// `String.compareTo`: lexicographic on UTF-16 code units.
pub(crate) fn string_compare(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints() {
        assert_eq!(parse_int("3"), Some(3));
        assert_eq!(parse_int("+3"), Some(3));
        assert_eq!(parse_int("-0"), Some(0));
        assert_eq!(parse_int("007"), Some(7));
        assert_eq!(parse_int("2147483647"), Some(i32::MAX));
        assert_eq!(parse_int("-2147483648"), Some(i32::MIN));
        assert_eq!(parse_int("2147483648"), None);
        assert_eq!(parse_int("-2147483649"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("-"), None);
        assert_eq!(parse_int("+"), None);
        assert_eq!(parse_int(" 3"), None);
        assert_eq!(parse_int("3 "), None);
        assert_eq!(parse_int("3.5"), None);
        assert_eq!(parse_int("3.0"), None);
        assert_eq!(parse_int("1e3"), None);
        assert_eq!(parse_int("0x10"), None);
        assert_eq!(parse_int("99999999999999999999999999999999999999999"), None);
        // Unicode decimal digits (Arabic-Indic, fullwidth) are digits for Java.
        assert_eq!(parse_int("\u{0661}\u{0662}"), Some(12));
        assert_eq!(parse_int("\u{FF13}"), Some(3));
        // Supplementary-plane digits are not (UTF-16 surrogates).
        assert_eq!(parse_int("\u{1D7CF}"), None);
        assert_eq!(parse_long("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_long("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_long("9223372036854775808"), None);
        assert_eq!(parse_long("12L"), None);
    }

    #[test]
    fn doubles() {
        let ok = |s: &str, v: f64| assert_eq!(parse_double(s), Some(v), "{s:?}");
        ok("3.5", 3.5);
        ok("  3.5\t\n", 3.5);
        ok("\u{1}3.5\u{0}", 3.5);
        ok("+3.5", 3.5);
        ok("-3.5", -3.5);
        ok("3", 3.0);
        ok("3.", 3.0);
        ok(".5", 0.5);
        ok("-.5e1", -5.0);
        ok("1e3", 1000.0);
        ok("1E+3", 1000.0);
        ok("1e-3", 0.001);
        ok("3.5f", 3.5);
        ok("3.5D", 3.5);
        ok("1e3d", 1000.0);
        ok("1e400", f64::INFINITY);
        ok("1e-400", 0.0);
        ok("00012", 12.0);
        ok("Infinity", f64::INFINITY);
        ok("-Infinity", f64::NEG_INFINITY);
        assert!(parse_double("NaN").unwrap().is_nan());
        assert!(parse_double("-NaN").unwrap().is_nan());
        ok("0x1p4", 16.0);
        ok("0X1.8P1", 3.0);
        ok("-0x.8p1d", -1.0);
        ok("0x1.fffffffffffff8p0", 2.0); // ties to even → rounds up to 2
        ok(
            "0x1.fffffffffffff7p0",
            f64::from_bits(0x3FFF_FFFF_FFFF_FFFF),
        );
        ok("0x1p-1074", f64::from_bits(1));
        ok("0x1p-1075", 0.0); // exactly half the min subnormal → even (0)
        ok("0x1.0000001p-1075", f64::from_bits(1));
        ok("0x3p-1075", f64::from_bits(2)); // 1.5 ulp → 2 (even)
        ok("0x1p1023", f64::from_bits(0x7FE0_0000_0000_0000));
        ok("0x1p1024", f64::INFINITY);
        ok("0x0p99999999999999", 0.0);
        ok("0x1p99999999999999", f64::INFINITY);
        ok("0x123456789abcdef123p0", 0x123456789abcdef123u128 as f64);
        for bad in [
            "",
            " ",
            ".",
            "-",
            "+",
            "e5",
            ".e5",
            "1e",
            "1e+",
            "1.2.3",
            "1,5",
            "1.5x",
            "1.5ff",
            "nan",
            "inf",
            "infinity",
            "NaNd",
            "Infinityf",
            "0x10",
            "0x",
            "0xp1",
            "0x1p",
            "1_000",
            "٣",
            "3 4",
            "0x1.8p1.5",
        ] {
            assert_eq!(parse_double(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_double("-0").map(f64::to_bits),
            Some((-0.0f64).to_bits())
        );
    }

    #[test]
    fn compare() {
        assert_eq!(double_compare(-0.0, 0.0), Ordering::Less);
        assert_eq!(double_compare(f64::NAN, f64::INFINITY), Ordering::Greater);
        assert_eq!(double_compare(f64::NAN, -f64::NAN), Ordering::Equal);
        assert_eq!(double_compare(1.0, 2.0), Ordering::Less);
        assert!(double_equals(f64::NAN, f64::NAN));
        assert!(!double_equals(0.0, -0.0));
        // U+FF61 (one UTF-16 unit) sorts after U+1F600 (a surrogate pair starting 0xD83D).
        assert_eq!(string_compare("\u{FF61}", "\u{1F600}"), Ordering::Greater);
        assert!(parse_boolean("TrUe"));
        assert!(!parse_boolean("yes"));
        assert!(!parse_boolean(" true"));
    }
}
