//! A small JSON value, parser and writer.
//!
//! The engine parses rulesets, events and profiles with this module instead of serde_json:
//! in the browser build serde_json alone would cost most of the size budget, and one
//! implementation shared by the browser, the server and the CLI gives identical answers.
//! Objects keep their keys in insertion order (as `JSON.parse` does); a repeated key keeps
//! the last value at the position of the first, as JavaScript does.
//!
//! Parsing is O(n log n) in the number of keys of an object, whatever the input: an object's
//! keys are read as they come and deduplicated once, by sorting, when it closes (a linear
//! search per key took 24 s on 1 MiB of tiny keys). Untrusted input is bounded by
//! [`MAX_DEPTH`] and [`MAX_KEYS`].

/// Nesting deeper than this is rejected: untrusted input must not exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// Objects with more keys than this (repeated keys counted) are rejected.
pub const MAX_KEYS: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(Map),
}

/// An insertion-ordered map. Objects in rulesets and events are small, so a vector with a
/// linear search is both smaller in Wasm and faster than hashing for them.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Map(Vec<(String, Value)>);

impl Map {
    pub const fn new() -> Self {
        Map(Vec::new())
    }
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// [`Map::get`], looking first at the position `hint` holds and keeping `hint` at the
    /// position where the key was found: for a path read again and again in objects of one
    /// shape (`condition::Path`). The answer is always [`Map::get`]'s.
    pub fn get_hinted(&self, key: &str, hint: &std::sync::atomic::AtomicU32) -> Option<&Value> {
        use std::sync::atomic::Ordering::Relaxed;
        if let Some((k, v)) = self.0.get(hint.load(Relaxed) as usize) {
            if k == key {
                return Some(v);
            }
        }
        let i = self.0.iter().position(|(k, _)| k == key)?;
        hint.store(i as u32, Relaxed);
        self.0.get(i).map(|(_, v)| v)
    }
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.0.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// Sets `key`, replacing an existing value in place.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        match self.get_mut(&key) {
            Some(slot) => *slot = value,
            None => self.0.push((key, value)),
        }
    }
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Value)> {
        self.0.iter_mut().map(|(k, v)| (k.as_str(), v))
    }
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// Merges repeated keys as [`Map::insert`] would have: the last value at the position of
    /// the first. One stable sort of the positions by key, so O(n log n). (Written with the
    /// vector types the module already has: each new one costs Wasm bytes.)
    fn dedupe(&mut self) {
        let v = &mut self.0;
        // Positions by key; stable, so equal keys stay in the order they came.
        let order = crate::engine::sort::order(v.len(), &|a, b| v[a].0.cmp(&v[b].0));
        // One mark per position: `usize::MAX` drops the entry.
        let mut marks = order.clone();
        let mut first = 0;
        for k in 1..order.len() {
            let (a, b) = (order[first], order[k]);
            if v[a].0 == v[b].0 {
                // Same key: swapping the entries moves the later value to the first place.
                v.swap(a, b);
                marks[b] = usize::MAX;
            } else {
                first = k;
            }
        }
        let mut kept = 0;
        for (i, &mark) in marks.iter().enumerate() {
            if mark != usize::MAX {
                v.swap(kept, i);
                kept += 1;
            }
        }
        v.truncate(kept);
    }
}

impl FromIterator<(String, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        let mut m = Map::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

impl Value {
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(m) => m.get(key),
            _ => None,
        }
    }
    /// Follows a dotted path (`"profile.cart.items"`) through nested objects.
    pub fn pointer_dotted(&self, path: &str) -> Option<&Value> {
        let mut cur = self;
        for part in path.split('.') {
            cur = cur.get(part)?;
        }
        Some(cur)
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// The JSON type name, as used in error messages and by `$type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Parses one JSON document; trailing non-whitespace is an error.
    pub fn parse(text: &str) -> Result<Value, ParseError> {
        let mut p = Parser { s: text.as_bytes(), i: 0 };
        p.ws();
        let v = p.value(0)?;
        p.ws();
        if p.i != p.s.len() {
            return Err(p.err("unexpected text after the JSON value"));
        }
        Ok(v)
    }

    /// Compact JSON text, numbers written as JavaScript's `JSON.stringify` writes them.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    pub fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => write_number(*n, out),
            Value::String(s) => write_string(s, out),
            Value::Array(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            Value::Object(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(k, out);
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Object(m)
    }
}
impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Self {
        Value::Array(a)
    }
}

/// Writes a number as JavaScript's `String(n)` / `JSON.stringify` would: integers without a
/// fraction, exponent notation outside [1e-6, 1e21), non-finite as `null`.
pub fn write_number(n: f64, out: &mut String) {
    if !n.is_finite() {
        out.push_str("null");
    } else if n == n.trunc() && n.abs() < 9.007_199_254_740_992e15 {
        if n == 0.0 {
            out.push('0');
        } else {
            write_integer(n as i64, out);
        }
    } else {
        platform::write_float(n, out);
    }
}

/// Writes a whole number in decimal, without going through `core::fmt`.
fn write_integer(n: i64, out: &mut String) {
    if n < 0 {
        out.push('-');
    }
    let mut v = n.unsigned_abs();
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or(""));
}

/// Reads a decimal number (`-12.5e3`; no hex, no `Infinity`); `None` when `text` is not one.
/// Every engine module reads numbers from text through here, so that the browser build uses
/// one float parser (see [`platform`]).
pub fn parse_number(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-') || b.first() == Some(&b'+'));
    let digits = |i: &mut usize| {
        let s = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - s
    };
    let mut n = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        n += digits(&mut i);
    }
    if n == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    Some(fast_decimal(b).unwrap_or_else(|| platform::parse_float(text)))
}

/// `items.join(sep)`, without alloc's generic `join` (close to 1 KB of Wasm).
pub fn join_strs(items: &[&str], sep: &str) -> String {
    let mut out = String::new();
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(s);
    }
    out
}

/// An unsigned decimal of ASCII digits only (`"042"`); `None` when empty, when anything else
/// appears or on overflow. The same answers as `str::parse::<usize>` on digit strings,
/// without its generic code in the module.
pub fn parse_digits(text: &str) -> Option<usize> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0usize, |n, c| {
        if c.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(usize::from(c - b'0'))
        } else {
            None
        }
    })
}

/// `n` as Rust's `Display` writes it (`{n}`: every digit, no exponent; `-0`, `inf`, `NaN`),
/// built from [`write_number`]'s shortest digits, so that messages that always said `{n}`
/// keep their text without pulling core's float formatting into the browser build.
pub fn write_plain_number(n: f64, out: &mut String) {
    if n.is_nan() {
        return out.push_str("NaN");
    }
    if n.is_sign_negative() {
        out.push('-');
    }
    if n.is_infinite() {
        return out.push_str("inf");
    }
    let mut js = String::new();
    write_number(n.abs(), &mut js);
    let (mantissa, exp) = match js.split_once('e') {
        Some((m, e)) => {
            let e10 = parse_digits(e.trim_start_matches(['+', '-'])).unwrap_or(0) as i64;
            (m, if e.starts_with('-') { -e10 } else { e10 })
        }
        None => (js.as_str(), 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits = String::from(int);
    digits.push_str(frac);
    // Position of the decimal point within `digits`.
    let point = int.len() as i64 + exp;
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(&digits);
    } else if point as usize >= digits.len() {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
    } else {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    }
}

/// Exact conversion when the digits fit in 2^53 and the power of ten is exactly
/// representable (|e| <= 22): one correctly rounded multiply or divide (Clinger's fast path).
/// Covers prices, counts and timestamps; everything else goes to the platform's parser.
fn fast_decimal(b: &[u8]) -> Option<f64> {
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
        1e20, 1e21, 1e22,
    ];
    let (neg, b) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let mut mantissa: u64 = 0;
    let mut exp: i32 = 0;
    let mut i = 0;
    let mut seen_dot = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                mantissa = mantissa.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
                if seen_dot {
                    exp -= 1;
                }
            }
            b'.' => seen_dot = true,
            _ => break,
        }
        i += 1;
    }
    if i < b.len() {
        // exponent part: 'e' [sign] digits
        let mut j = i + 1;
        let eneg = b.get(j) == Some(&b'-');
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let mut e: i32 = 0;
        for &c in &b[j..] {
            e = e.checked_mul(10)?.checked_add(i32::from(c - b'0'))?;
        }
        exp = exp.checked_add(if eneg { -e } else { e })?;
    }
    if mantissa > (1u64 << 53) {
        return None;
    }
    let m = mantissa as f64;
    let v = match exp {
        0 => m,
        1..=22 => m * POW10[exp as usize],
        -22..=-1 => m / POW10[(-exp) as usize],
        _ if mantissa == 0 => 0.0,
        _ => return None,
    };
    Some(if neg { -v } else { v })
}

/// Float parsing and shortest round-trip formatting. Natively these are Rust's own. In the
/// browser they are JavaScript's `Number(text)` and `String(n)`, installed by the web layer at
/// start-up: both are correctly rounded and shortest round-trip too, so every answer is the
/// same, and some 20 KB of float code stay out of the module shoppers download.
pub mod platform {
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn parse_float(text: &str) -> f64 {
        text.parse().unwrap_or(f64::NAN)
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn write_float(n: f64, out: &mut String) {
        use std::fmt::Write as _;
        let abs = n.abs();
        if (1e-6..1e21).contains(&abs) {
            let _ = write!(out, "{n}");
        } else {
            let s = format!("{n:e}");
            match s.split_once('e') {
                Some((m, e)) if !e.starts_with('-') => {
                    out.push_str(m);
                    out.push_str("e+");
                    out.push_str(e);
                }
                _ => out.push_str(&s),
            }
        }
    }

    #[cfg(target_arch = "wasm32")]
    mod hooks {
        use std::cell::Cell;

        pub type Parse = fn(&str) -> f64;
        pub type Write = fn(f64, &mut String);
        pub type Lower = fn(&str) -> String;
        thread_local! {
            pub static PARSE: Cell<Option<Parse>> = const { Cell::new(None) };
            pub static WRITE: Cell<Option<Write>> = const { Cell::new(None) };
            pub static LOWER: Cell<Option<Lower>> = const { Cell::new(None) };
        }
    }

    /// Installs the browser's float parser and formatter and `String.prototype.toLowerCase`
    /// (called once by the web layer).
    #[cfg(target_arch = "wasm32")]
    pub fn install(parse: fn(&str) -> f64, write: fn(f64, &mut String), lower: fn(&str) -> String) {
        hooks::PARSE.with(|p| p.set(Some(parse)));
        hooks::WRITE.with(|w| w.set(Some(write)));
        hooks::LOWER.with(|l| l.set(Some(lower)));
    }

    /// Full Unicode lower-casing. Natively Rust's `str::to_lowercase`; in the browser
    /// JavaScript's `toLowerCase`, which it reproduces (final sigma included): Rust's case
    /// tables alone are some 10 KB of Wasm. Without the hook (never in practice), ASCII only.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn lower(s: &str) -> String {
        s.to_lowercase()
    }

    #[cfg(target_arch = "wasm32")]
    pub(crate) fn lower(s: &str) -> String {
        match hooks::LOWER.with(|l| l.get()) {
            Some(f) => f(s),
            None => s.to_ascii_lowercase(),
        }
    }

    #[cfg(target_arch = "wasm32")]
    pub(crate) fn parse_float(text: &str) -> f64 {
        hooks::PARSE.with(|p| p.get()).map_or(f64::NAN, |f| f(text))
    }

    #[cfg(target_arch = "wasm32")]
    pub(crate) fn write_float(n: f64, out: &mut String) {
        if let Some(f) = hooks::WRITE.with(|w| w.get()) {
            f(n, out)
        } else {
            out.push_str("null")
        }
    }
}

/// `s` quoted as a JSON string, for messages: `{:?}` of a `str` would bring core's Unicode
/// escape tables into the Wasm module (about 1 KB gzip).
pub fn quoted(s: &str) -> String {
    let mut out = String::new();
    write_string(s, &mut out);
    out
}

pub fn write_string(s: &str, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Runs of bytes that need no escape are copied whole; only ASCII bytes are ever escaped,
    // so every run boundary is a character boundary.
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let escape = match c {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        start = i + 1;
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[usize::from(c >> 4)] as char);
            out.push(HEX[usize::from(c & 15)] as char);
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Where and why a JSON text could not be parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    /// Byte offset into the text.
    pub offset: usize,
    pub reason: &'static str,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for ParseError {}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, reason: &'static str) -> ParseError {
        ParseError { offset: self.i, reason }
    }
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.s.get(self.i) {
            self.i += 1;
        }
    }
    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.i..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }
    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting is deeper than 64 levels"));
        }
        match self.s.get(self.i) {
            None => Err(self.err("unexpected end of input")),
            Some(b'{') => {
                self.i += 1;
                let mut m = Map::new();
                self.ws();
                if self.eat(b"}") {
                    return Ok(Value::Object(m));
                }
                loop {
                    if m.0.len() == MAX_KEYS {
                        return Err(self.err("an object has more than 10000 keys"));
                    }
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return Err(self.err("expected a string key"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if !self.eat(b":") {
                        return Err(self.err("expected ':'"));
                    }
                    self.ws();
                    let v = self.value(depth + 1)?;
                    m.0.push((k, v));
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"}") {
                        m.dedupe();
                        return Ok(Value::Object(m));
                    }
                    return Err(self.err("expected ',' or '}'"));
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut a = Vec::new();
                self.ws();
                if self.eat(b"]") {
                    return Ok(Value::Array(a));
                }
                loop {
                    self.ws();
                    a.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"]") {
                        return Ok(Value::Array(a));
                    }
                    return Err(self.err("expected ',' or ']'"));
                }
            }
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') if self.eat(b"true") => Ok(Value::Bool(true)),
            Some(b'f') if self.eat(b"false") => Ok(Value::Bool(false)),
            Some(b'n') if self.eat(b"null") => Ok(Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err("unexpected character")),
        }
    }
    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let s = p.i;
            while let Some(b'0'..=b'9') = p.s.get(p.i) {
                p.i += 1;
            }
            p.i - s
        };
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        let n = digits(self);
        if n == 0 {
            return Err(self.err("expected a digit"));
        }
        if n > 1 && self.s[int_start] == b'0' {
            return Err(ParseError { offset: int_start, reason: "leading zeros are not allowed" });
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(self.err("expected a digit after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.s.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.s.get(self.i) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(self.err("expected a digit in the exponent"));
            }
        }
        // The slice is ASCII digits and signs only, so it is valid UTF-8 and a valid number.
        let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| self.err("bad number"))?;
        parse_number(text).map(Value::Number).ok_or_else(|| self.err("bad number"))
    }
    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.s.get(self.i) {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.err("expected 4 hex digits after \\u")),
            };
            v = v * 16 + d as u32;
            self.i += 1;
        }
        Ok(v)
    }
    fn string(&mut self) -> Result<String, ParseError> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(&c) = self.s.get(self.i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // The input is a &str and we stopped on an ASCII byte, so this is a char boundary.
            out.push_str(std::str::from_utf8(&self.s[start..self.i]).map_err(|_| self.err("invalid UTF-8"))?);
            match self.s.get(self.i) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = match self.s.get(self.i) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.i += 1;
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) && self.s[self.i..].starts_with(b"\\u") {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    self.i = save;
                                    0xFFFD
                                }
                            } else {
                                hi
                            };
                            // Lone surrogates cannot live in a Rust string: they become U+FFFD.
                            out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                            continue;
                        }
                        _ => return Err(self.err("invalid escape")),
                    };
                    self.i += 1;
                    out.push(c);
                }
                Some(_) => return Err(self.err("control character in string")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn round_trips_and_orders_keys() {
        let v = Value::parse(r#" {"b":1,"a":[true,false,null,"x\n\u00e9"],"b":2.5} "#).unwrap();
        assert_eq!(v.to_json(), r#"{"b":2.5,"a":[true,false,null,"x\né"]}"#);
    }

    #[test]
    fn escapes_strings_and_writes_integers_as_javascript_does() {
        let s = "a\"b\\c\u{1}\u{1f}\u{8}\u{c}\t\r\n\u{7f}é😀/";
        assert_eq!(quoted(s), r#""a\"b\\c\u0001\u001f\b\f\t\r\n\u{7f}é😀/""#.replace("\\u{7f}", "\u{7f}"));
        assert_eq!(Value::parse(&quoted(s)).unwrap(), Value::from(s));
        let mut out = String::new();
        for n in [0.0, -0.0, 7.0, -42.0, 1e15, -9_007_199_254_740_991.0, 12.5] {
            write_number(n, &mut out);
            out.push(' ');
        }
        assert_eq!(out, "0 0 7 -42 1000000000000000 -9007199254740991 12.5 ");
    }

    #[test]
    fn rejects_with_offsets() {
        assert_eq!(Value::parse("{\"a\":}").unwrap_err().offset, 5);
        assert_eq!(Value::parse("[1,]").unwrap_err().reason, "unexpected character");
        assert!(Value::parse("01").is_err());
        assert!(Value::parse("1 2").is_err());
        assert!(Value::parse("\"abc").is_err());
        let deep = "[".repeat(MAX_DEPTH + 2);
        assert_eq!(Value::parse(&deep).unwrap_err().reason, "nesting is deeper than 64 levels");
    }

    #[test]
    fn numbers_print_like_javascript() {
        let cases =
            [(1.0, "1"), (-0.0, "0"), (0.1, "0.1"), (1e21, "1e+21"), (1.5e-7, "1.5e-7"), (123456789.0, "123456789")];
        for (n, s) in cases {
            assert_eq!(Value::Number(n).to_json(), s);
        }
        assert_eq!(Value::Number(f64::NAN).to_json(), "null");
    }

    #[test]
    fn numbers_parse_exactly() {
        for text in [
            "0",
            "-0",
            "49.99",
            "1e3",
            "-12.5e-3",
            "0.1",
            "123456789012345678901234567890",
            "1e-400",
            "1.7976931348623157e308",
            "4.9e-324",
            "9007199254740993",
            "0.30000000000000004",
        ] {
            assert_eq!(parse_number(text), Some(text.parse::<f64>().unwrap()), "{text}");
        }
        for text in ["", "-", ".", "1e", "1e+", "abc", "1.2.3", "0x10", "Infinity", " 1"] {
            assert_eq!(parse_number(text), None, "{text:?}");
        }
    }

    #[test]
    fn plain_numbers_print_like_rust_display() {
        let mut seed = 1u64;
        let mut cases = vec![
            0.0,
            -0.0,
            1.0,
            0.1,
            1e21,
            1e22,
            1.5e-7,
            1e-6,
            123.456,
            f64::MIN,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            9007199254740993.0,
            -2.5e300,
        ];
        for _ in 0..20_000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            cases.push(f64::from_bits(seed));
        }
        for n in cases {
            let mut s = String::new();
            write_plain_number(n, &mut s);
            assert_eq!(s, format!("{n}"), "{:x}", n.to_bits());
        }
    }

    #[test]
    fn digits_parse_like_usize() {
        for text in ["0", "042", "18446744073709551615", "18446744073709551616", "", "+1", "1a", "99999999999999999999"]
        {
            let digits_only = text.bytes().all(|b| b.is_ascii_digit());
            let expected = if digits_only { text.parse::<usize>().ok() } else { None };
            assert_eq!(parse_digits(text), expected, "{text}");
        }
    }

    /// Reference semantics: every key through `Map::insert`, one at a time.
    fn insert_one_by_one(pairs: &[(String, f64)]) -> Map {
        let mut m = Map::new();
        for (k, v) in pairs {
            m.insert(k.clone(), Value::Number(*v));
        }
        m
    }

    #[test]
    fn large_objects_keep_first_position_and_last_value() {
        let mut seed = 3u64;
        for n in [0, 1, 15, 16, 17, 40, 300, 2_000] {
            for distinct in [1, 3, n / 2 + 1, n + 1] {
                let pairs: Vec<(String, f64)> = (0..n)
                    .map(|i| {
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        (format!("k{}", (seed >> 33) as usize % distinct), i as f64)
                    })
                    .collect();
                let expected = insert_one_by_one(&pairs);
                let mut text = String::from("{");
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        text.push(',');
                    }
                    let _ = write!(text, "\"{k}\":{v}");
                }
                text.push('}');
                let parsed = Value::parse(&text).unwrap();
                assert_eq!(parsed, Value::Object(expected.clone()), "n = {n}, distinct = {distinct}");
                assert_eq!(pairs.into_iter().map(|(k, v)| (k, Value::Number(v))).collect::<Map>(), expected);
            }
        }
    }

    fn object_of(keys: usize) -> String {
        let mut text = String::from("{");
        for i in 0..keys {
            if i > 0 {
                text.push(',');
            }
            let _ = write!(text, "\"{i}\":0");
        }
        text.push('}');
        text
    }

    #[test]
    fn keys_per_object_are_capped_with_the_place() {
        assert_eq!(Value::parse(&object_of(MAX_KEYS)).unwrap().as_object().unwrap().len(), MAX_KEYS);
        let text = format!("[1,{}]", object_of(MAX_KEYS + 1));
        let err = Value::parse(&text).unwrap_err();
        assert_eq!(err.reason, "an object has more than 10000 keys");
        assert!(err.reason.contains(&MAX_KEYS.to_string()));
        // At the first key past the cap.
        assert_eq!(&text[err.offset..], "\"10000\":0}]");
        assert!(err.to_string().starts_with("invalid JSON at byte "), "{err}");
        // Repeated keys count: the cap bounds the work, not the result.
        let repeated = format!("{{{}\"a\":1}}", "\"a\":1,".repeat(MAX_KEYS));
        assert_eq!(Value::parse(&repeated).unwrap_err().reason, "an object has more than 10000 keys");
        let deep = format!("{}1{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let err = Value::parse(&deep).unwrap_err();
        assert!(err.reason.contains(&MAX_DEPTH.to_string()), "{err}");
        assert_eq!(err.offset, MAX_DEPTH + 1);
        let ok = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(Value::parse(&ok).is_ok());
    }

    /// 1 MiB of tiny keys: objects at the key cap, all keys distinct (the worst case for
    /// the old linear search, 24 s in the server) and all keys the same.
    #[test]
    fn a_mebibyte_of_tiny_keys_parses_in_n_log_n() {
        let one = object_of(MAX_KEYS);
        let mut distinct = String::from("[");
        while distinct.len() + one.len() < 1 << 20 {
            if distinct.len() > 1 {
                distinct.push(',');
            }
            distinct.push_str(&one);
        }
        distinct.push(']');
        let same = format!("[{{{}\"a\":1}}]", "\"a\":1,".repeat(MAX_KEYS - 1));
        for (name, text) in [("distinct keys", &distinct), ("one repeated key", &same)] {
            let started = std::time::Instant::now();
            let v = Value::parse(text).unwrap();
            let took = started.elapsed();
            println!("# json: {} KiB of {name} parsed in {:.1} ms", text.len() / 1024, took.as_secs_f64() * 1e3);
            assert!(v.as_array().is_some());
            // Generous for an unoptimised build on a busy machine; quadratic took seconds.
            assert!(took < std::time::Duration::from_secs(3), "{name}: {took:?}");
        }
    }

    #[test]
    fn surrogate_pairs_decode() {
        assert_eq!(Value::parse(r#""\ud83d\ude00""#).unwrap(), Value::String("😀".into()));
        assert_eq!(Value::parse(r#""\ud83d""#).unwrap(), Value::String("\u{FFFD}".into()));
    }
}
