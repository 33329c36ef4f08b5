//! JavaScript's coercions, as GrowthBook's condition evaluator relies on them.
//!
//! GrowthBook evaluates conditions with plain JavaScript operators (`value + ""`,
//! `value * 1`, `<`, `===`, `includes`), so comparing a string with a number, `null` with a
//! number or an array with a string follows JavaScript's rules. These functions reproduce
//! those rules for JSON values (which cannot hold `undefined`, functions or NaN).

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::engine::json::{parse_number, write_number, Value};

/// `String(n)`.
pub fn number_to_string(n: f64) -> String {
    if n.is_nan() {
        return "NaN".to_string();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    let mut s = String::new();
    write_number(n, &mut s);
    s
}

/// `String(v)` (also `v + ""` for JSON values): arrays join their elements with `,`
/// (`null` elements as empty strings), objects are `[object Object]`.
pub fn to_string(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed("null"),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::Number(n) => Cow::Owned(number_to_string(*n)),
        Value::Object(_) => Cow::Borrowed("[object Object]"),
        Value::Array(a) => {
            let mut out = String::new();
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !e.is_null() {
                    out.push_str(&to_string(e));
                }
            }
            Cow::Owned(out)
        }
    }
}

/// `!!v`.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => *n != 0.0 && !n.is_nan(),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `Number(v)` (also `v * 1`).
pub fn to_number(v: &Value) -> f64 {
    match v {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => *n,
        Value::String(s) => string_to_number(s),
        Value::Array(_) | Value::Object(_) => string_to_number(&to_string(v)),
    }
}

fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}'
    )
}

/// JavaScript's StringToNumber: surrounding white space is ignored, the empty string is 0,
/// `0x`/`0o`/`0b` prefixes, `Infinity`, and otherwise a decimal literal or NaN.
pub fn string_to_number(s: &str) -> f64 {
    let t = s.trim_matches(is_js_space);
    if t.is_empty() {
        return 0.0;
    }
    let b = t.as_bytes();
    if b.len() > 2 && b[0] == b'0' {
        let radix = match b[1] {
            b'x' | b'X' => 16,
            b'o' | b'O' => 8,
            b'b' | b'B' => 2,
            _ => 0,
        };
        if radix != 0 {
            let mut n = 0.0f64;
            for c in t[2..].chars() {
                match c.to_digit(radix) {
                    Some(d) => n = n * radix as f64 + d as f64,
                    None => return f64::NAN,
                }
            }
            return n;
        }
    }
    let (sign, body) = match b[0] {
        b'-' => (-1.0, &t[1..]),
        b'+' => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    if body == "Infinity" {
        return sign * f64::INFINITY;
    }
    if !is_decimal_literal(body.as_bytes()) {
        return f64::NAN;
    }
    parse_number(body).map_or(f64::NAN, |n| sign * n)
}

/// `digits [. digits?] | . digits`, then an optional exponent.
fn is_decimal_literal(b: &[u8]) -> bool {
    let mut i = 0;
    let int = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int;
    let mut frac = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac;
    }
    if int == 0 && frac == 0 {
        return false;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        let exp = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

/// A value after JavaScript's ToPrimitive, as the relational operators see it.
pub enum Prim<'a> {
    Str(Cow<'a, str>),
    Num(f64),
}

pub fn to_primitive(v: &Value) -> Prim<'_> {
    match v {
        Value::String(s) => Prim::Str(Cow::Borrowed(s)),
        Value::Array(_) | Value::Object(_) => Prim::Str(to_string(v)),
        Value::Null => Prim::Num(0.0),
        Value::Bool(b) => Prim::Num(f64::from(u8::from(*b))),
        Value::Number(n) => Prim::Num(*n),
    }
}

/// The order of `a` and `b` as JavaScript's `<` sees it: two strings compare by UTF-16
/// code units, anything else as numbers; `None` when a NaN makes every comparison false.
pub fn compare(a: &Prim<'_>, b: &Prim<'_>) -> Option<Ordering> {
    match (a, b) {
        (Prim::Str(x), Prim::Str(y)) => Some(cmp_utf16(x, y)),
        (Prim::Str(x), Prim::Num(y)) => string_to_number(x).partial_cmp(y),
        (Prim::Num(x), Prim::Str(y)) => x.partial_cmp(&string_to_number(y)),
        (Prim::Num(x), Prim::Num(y)) => x.partial_cmp(y),
    }
}

/// JavaScript's string order (UTF-16 code units), which differs from Rust's (code points)
/// only between astral characters and U+E000..U+FFFF.
pub fn cmp_utf16(a: &str, b: &str) -> Ordering {
    if a.is_ascii() || b.is_ascii() {
        // An ASCII byte is never part of a multi-byte sequence, and below every non-ASCII
        // code unit in both orders, so byte order is UTF-16 order here.
        return a.as_bytes().cmp(b.as_bytes());
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// `a === b` for a JSON value and a primitive (objects and arrays are never `===` to a
/// value from elsewhere).
pub fn strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        _ => false,
    }
}

/// `String.prototype.toLowerCase`.
pub fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
        Cow::Owned(crate::engine::json::platform::lower(s))
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coercions_match_javascript() {
        assert_eq!(string_to_number(" 12 "), 12.0);
        assert_eq!(string_to_number(""), 0.0);
        assert_eq!(string_to_number("0x1A"), 26.0);
        assert_eq!(string_to_number("-Infinity"), f64::NEG_INFINITY);
        assert!(string_to_number("inf").is_nan());
        assert!(string_to_number("1e").is_nan());
        assert!(string_to_number("-0x10").is_nan());
        assert_eq!(string_to_number(".5"), 0.5);
        assert_eq!(string_to_number("5."), 5.0);
        let arr = Value::parse(r#"[1,null,[2,"a"],{}]"#).unwrap();
        assert_eq!(to_string(&arr), "1,,2,a,[object Object]");
        assert_eq!(to_number(&Value::parse("[7]").unwrap()), 7.0);
        assert_eq!(cmp_utf16("\u{ffff}", "\u{10000}"), Ordering::Greater);
    }
}
