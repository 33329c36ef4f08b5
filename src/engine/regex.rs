//! Regular expressions for `$regex` / `$regexi`, supplied by the platform.
//!
//! The engine carries no regex engine of its own: in the browser the lead's runtime wraps
//! JavaScript's `RegExp` (free, and exactly GrowthBook's semantics); natively
//! [`NativeRegex`] wraps `regex-lite` (native builds only). Patterns are compiled once,
//! when a condition or ruleset is compiled, never per evaluation.
//!
//! Where `regex-lite` differs from JavaScript's `RegExp` (without flags other than `i`):
//! - no look-around (`(?=`, `(?!`, `(?<=`, `(?<!`) and no back-references (`\1`): such
//!   patterns fail to compile natively, so the condition is false natively but may match in
//!   the browser;
//! - `.` matches `\r`, `\u2028` and `\u2029` in regex-lite, not in JavaScript;
//! - `\d`, `\w`, `\s` and `\b` are ASCII-only in regex-lite; JavaScript's `\s` also matches
//!   Unicode spaces (`\u00a0`, `\ufeff`, ...);
//! - case-insensitive matching in regex-lite only folds ASCII letters; JavaScript's `i`
//!   folds all of Unicode's simple case mappings;
//! - `{` and `}` as literals must be escaped in regex-lite; JavaScript accepts a lone `{`.

use std::sync::{Arc, Mutex};

/// A compiled pattern.
pub trait Pattern: MaybeSendSync {
    fn is_match(&self, haystack: &str) -> bool;
}

/// Turns a pattern's source into a [`Pattern`]; `None` when the pattern is invalid (the
/// condition using it is then false).
pub trait RegexCompiler {
    fn compile(&self, pattern: &str, case_insensitive: bool) -> Option<Box<dyn Pattern>>;
}

/// Natively, compiled rulesets can be shared between threads (the server); a JavaScript
/// `RegExp` cannot, so the bound disappears on wasm32.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSendSync: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> MaybeSendSync for T {}
#[cfg(target_arch = "wasm32")]
pub trait MaybeSendSync {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSendSync for T {}

/// A compiler that builds each distinct pattern of a ruleset once: every condition with
/// the same source and flags shares one [`Pattern`], which remembers its last answer. A
/// ruleset's offers often test the same attribute with the same pattern (a user agent, a
/// URL), and the attribute rarely changes between decisions, so most tests are answered
/// without running the platform's regex (in the browser, a call into JavaScript). A pattern
/// gives the same answer for the same input, so nothing else changes.
pub struct SharedPatterns<'a> {
    inner: &'a dyn RegexCompiler,
    built: std::cell::RefCell<Vec<Built>>,
}

impl<'a> SharedPatterns<'a> {
    pub fn new(inner: &'a dyn RegexCompiler) -> Self {
        SharedPatterns { inner, built: std::cell::RefCell::new(Vec::new()) }
    }
}

impl RegexCompiler for SharedPatterns<'_> {
    fn compile(&self, pattern: &str, case_insensitive: bool) -> Option<Box<dyn Pattern>> {
        let mut built = self.built.borrow_mut();
        let shared = match built.iter().find(|(p, i, _)| p == pattern && *i == case_insensitive) {
            Some((_, _, shared)) => shared.clone(),
            None => {
                // On wasm32 a pattern (a JavaScript RegExp) is neither Send nor Sync and there is
                // one thread; natively patterns are both, and the server shares rulesets.
                #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
                let shared = self
                    .inner
                    .compile(pattern, case_insensitive)
                    .map(|inner| Arc::new(Remembered { inner, last: Mutex::new(None) }));
                built.push((pattern.to_string(), case_insensitive, shared.clone()));
                shared
            }
        };
        shared.map(|p| Box::new(p) as Box<dyn Pattern>)
    }
}

/// A pattern's source, its flag, and what it compiled to (`None`: invalid).
type Built = (String, bool, Option<Arc<Remembered>>);

/// A pattern with its last input and answer.
pub struct Remembered {
    inner: Box<dyn Pattern>,
    last: Mutex<Option<(String, bool)>>,
}

impl Pattern for Arc<Remembered> {
    fn is_match(&self, haystack: &str) -> bool {
        // Another thread testing this pattern (the server) just runs it.
        let Ok(mut last) = self.last.try_lock() else { return self.inner.is_match(haystack) };
        if let Some((input, answer)) = last.as_ref() {
            if input == haystack {
                return *answer;
            }
        }
        let answer = self.inner.is_match(haystack);
        match last.as_mut() {
            Some((input, a)) => {
                input.clear();
                input.push_str(haystack);
                *a = answer;
            }
            None => *last = Some((haystack.to_string(), answer)),
        }
        answer
    }
}

/// Compiles nothing: every `$regex` is false. For builds without a regex engine.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRegex;

impl RegexCompiler for NoRegex {
    fn compile(&self, _pattern: &str, _case_insensitive: bool) -> Option<Box<dyn Pattern>> {
        None
    }
}

/// `regex-lite`, for the server, the CLI and native tests.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Clone, Copy, Debug, Default)]
pub struct NativeRegex;

#[cfg(not(target_arch = "wasm32"))]
impl Pattern for regex_lite::Regex {
    fn is_match(&self, haystack: &str) -> bool {
        regex_lite::Regex::is_match(self, haystack)
    }
}

/// A pattern that is only literal alternatives (`iphone|android`), the common case in
/// rulesets: a substring search gives the same answer as the regex, many times faster.
#[cfg(not(target_arch = "wasm32"))]
struct Literals {
    words: Vec<String>,
    case_insensitive: bool,
}

#[cfg(not(target_arch = "wasm32"))]
impl Literals {
    fn new(pattern: &str, case_insensitive: bool) -> Option<Literals> {
        let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'-' | b'_' | b'/' | b'=' | b',' | b':');
        if pattern.is_empty() || !pattern.bytes().all(|b| plain(b) || b == b'|') {
            return None;
        }
        let words: Vec<String> =
            pattern.split('|').map(|w| if case_insensitive { w.to_ascii_lowercase() } else { w.to_string() }).collect();
        Some(Literals { words, case_insensitive })
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Pattern for Literals {
    fn is_match(&self, haystack: &str) -> bool {
        if self.case_insensitive {
            let lower = haystack.to_ascii_lowercase();
            self.words.iter().any(|w| lower.contains(w.as_str()))
        } else {
            self.words.iter().any(|w| haystack.contains(w.as_str()))
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl RegexCompiler for NativeRegex {
    fn compile(&self, pattern: &str, case_insensitive: bool) -> Option<Box<dyn Pattern>> {
        if let Some(l) = Literals::new(pattern, case_insensitive) {
            return Some(Box::new(l));
        }
        let re = regex_lite::RegexBuilder::new(pattern)
            .case_insensitive(case_insensitive)
            // Bounded so a hostile ruleset cannot make compilation take unbounded memory.
            .size_limit(1 << 20)
            .build()
            .ok()?;
        Some(Box::new(re))
    }
}

/// The longest input (in UTF-8 bytes) a `$regex`/`$regexi` is matched against. A longer
/// value does not match (the operator is false; under `$not` the negation is true), the
/// same natively and in the browser, since the engine checks the length before calling
/// the platform's regex. 2048 bytes covers real URLs and user agents and bounds the work
/// of any pattern the validator accepts.
pub const MAX_REGEX_INPUT: usize = 2048;

/// The longest `$regex` pattern the validator accepts, in bytes.
#[cfg(not(target_arch = "wasm32"))]
pub const MAX_PATTERN_LEN: usize = 1024;

/// Counted repetitions (`{n}`, `{n,m}`, `{n,}`) accept bounds up to this on one character
/// or class, and up to [`MAX_GROUP_REPEAT`] on a group.
#[cfg(not(target_arch = "wasm32"))]
pub const MAX_REPEAT: u32 = 1000;
#[cfg(not(target_arch = "wasm32"))]
pub const MAX_GROUP_REPEAT: u32 = 32;
#[cfg(not(target_arch = "wasm32"))]
const MAX_NESTING: usize = 32;
#[cfg(not(target_arch = "wasm32"))]
const BACKREF: &str = "uses a back-reference (\\1, \\k<name>), which can take exponential time";

/// Checks a `$regex` pattern (JavaScript syntax, no flags other than `i`) for the shapes
/// that make a backtracking engine such as the browser's `RegExp` take exponential or
/// high-polynomial time. Conservative: it rejects some patterns that would be fast, never
/// accepts one of the shapes below. `Err` says why. Runs where rulesets are written (the
/// server's publish, `tailor ruleset validate`), never in the shopper's browser.
///
/// Rejected (see docs/ruleset.md, "Regular expressions"):
/// - back-references (`\1`, `\k<name>`);
/// - a repeated part (`*`, `+`, `{n,}` or `{n,m}` with m > 1) that contains another
///   repetition: `(a+)+`, `(.*)*`, `(\d+\.)+`;
/// - a repeated part that contains an alternation whose alternatives can start with the
///   same character, or can match empty text: `(a|a)*`, `(a|ab)+`, `(x|)*`;
/// - a repeated part that can match empty text: `(a?)*` (also caught above), `(\b)+`;
/// - two repetitions in one sequence whose characters overlap, unless a character the
///   first cannot match sits between them: `\d+\d+`, `.*.*`, `a.*b.*c`, `(a.*)b(.*c)`
///   (while `[^/]+/[^/]+` passes: `/` separates);
/// - counted repetitions above [`MAX_REPEAT`], or above [`MAX_GROUP_REPEAT`] on a group;
/// - patterns over [`MAX_PATTERN_LEN`] bytes, groups nested deeper than 32, and anything
///   this checker cannot parse.
#[cfg(not(target_arch = "wasm32"))]
pub fn check_backtracking(pattern: &str, case_insensitive: bool) -> Result<(), String> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(format!("is longer than {MAX_PATTERN_LEN} bytes"));
    }
    let mut p = Parser { s: pattern.as_bytes(), i: 0, ci: case_insensitive, depth: 0 };
    let node = p.alt()?;
    if p.i < p.s.len() {
        return Err(format!("unbalanced ')' at offset {}", p.i));
    }
    check_node(&node)
}

/// Characters: 128 ASCII bits, plus one flag for every non-ASCII character.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Clone, Copy, Default, PartialEq, Debug)]
struct Chars {
    ascii: u128,
    other: bool,
}

#[cfg(not(target_arch = "wasm32"))]
impl Chars {
    fn all() -> Chars {
        Chars { ascii: u128::MAX, other: true }
    }
    fn one(b: u8) -> Chars {
        let mut c = Chars::default();
        c.add(b as u32);
        c
    }
    fn add(&mut self, c: u32) {
        if c < 128 {
            self.ascii |= 1 << c;
        } else {
            self.other = true;
        }
    }
    fn add_range(&mut self, lo: u32, hi: u32) {
        for c in lo..=hi.min(127) {
            self.ascii |= 1 << c;
        }
        if hi >= 128 {
            self.other = true;
        }
    }
    fn union(self, o: Chars) -> Chars {
        Chars { ascii: self.ascii | o.ascii, other: self.other || o.other }
    }
    fn meets(self, o: Chars) -> bool {
        self.ascii & o.ascii != 0 || (self.other && o.other)
    }
    fn negate(self) -> Chars {
        // The complement of a set always holds some non-ASCII character.
        Chars { ascii: !self.ascii, other: true }
    }
    fn fold(mut self) -> Chars {
        for b in b'a'..=b'z' {
            let (l, u) = (1u128 << b, 1u128 << (b - 32));
            if self.ascii & (l | u) != 0 {
                self.ascii |= l | u;
            }
        }
        self
    }
}

#[cfg(not(target_arch = "wasm32"))]
enum Node {
    /// Matches one character of the set.
    Set(Chars),
    /// Matches empty text: anchors, `\b`, look-around (its content is still checked).
    Assert(Option<Box<Node>>),
    Seq(Vec<Node>),
    Alt(Vec<Node>),
    Group(Box<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

#[cfg(not(target_arch = "wasm32"))]
impl Node {
    fn nullable(&self) -> bool {
        match self {
            Node::Set(_) => false,
            Node::Assert(_) => true,
            Node::Seq(v) => v.iter().all(Node::nullable),
            Node::Alt(v) => v.iter().any(Node::nullable),
            Node::Group(n) => n.nullable(),
            Node::Repeat(n, min, _) => *min == 0 || n.nullable(),
        }
    }
    /// The characters a match can start with.
    fn first(&self) -> Chars {
        match self {
            Node::Set(c) => *c,
            Node::Assert(_) => Chars::default(),
            Node::Seq(v) => {
                let mut out = Chars::default();
                for n in v {
                    out = out.union(n.first());
                    if !n.nullable() {
                        break;
                    }
                }
                out
            }
            Node::Alt(v) => v.iter().fold(Chars::default(), |a, n| a.union(n.first())),
            Node::Group(n) | Node::Repeat(n, _, _) => n.first(),
        }
    }
    /// Every character a match can contain.
    fn chars(&self) -> Chars {
        match self {
            Node::Set(c) => *c,
            Node::Assert(_) => Chars::default(),
            Node::Seq(v) | Node::Alt(v) => v.iter().fold(Chars::default(), |a, n| a.union(n.chars())),
            Node::Group(n) | Node::Repeat(n, _, _) => n.chars(),
        }
    }
    fn has_repeat(&self) -> bool {
        match self {
            Node::Repeat(n, _, max) => max.is_none_or(|m| m > 1) || n.has_repeat(),
            Node::Seq(v) | Node::Alt(v) => v.iter().any(Node::has_repeat),
            Node::Group(n) => n.has_repeat(),
            Node::Assert(Some(n)) => n.has_repeat(),
            _ => false,
        }
    }
    /// An alternation whose alternatives overlap (same first character, or one empty).
    fn has_ambiguous_alt(&self) -> bool {
        match self {
            Node::Alt(v) => {
                v.iter().any(Node::nullable)
                    || v.iter().enumerate().any(|(i, a)| v[i + 1..].iter().any(|b| a.first().meets(b.first())))
                    || v.iter().any(Node::has_ambiguous_alt)
            }
            Node::Seq(v) => v.iter().any(Node::has_ambiguous_alt),
            Node::Group(n) | Node::Repeat(n, _, _) => n.has_ambiguous_alt(),
            Node::Assert(Some(n)) => n.has_ambiguous_alt(),
            _ => false,
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn check_node(n: &Node) -> Result<(), String> {
    match n {
        Node::Set(_) | Node::Assert(None) => Ok(()),
        Node::Assert(Some(n)) | Node::Group(n) => check_node(n),
        Node::Alt(v) => v.iter().try_for_each(check_node),
        Node::Seq(v) => {
            v.iter().try_for_each(check_node)?;
            // Two repetitions in one sequence whose characters overlap split the same text
            // in many ways (polynomial backtracking, one degree per repetition), unless
            // something between them is a character the first cannot match.
            let mut items = Vec::new();
            flatten(v, &mut items);
            let mut prev: Option<Chars> = None;
            for item in items {
                let repeated = match item {
                    Node::Repeat(body, _, max) if max.is_none_or(|m| m > 1) => Some(body.chars()),
                    other if other.has_repeat() => Some(other.chars()),
                    _ => None,
                };
                match (repeated, prev) {
                    (Some(c), Some(p)) if p.meets(c) => {
                        return Err("has two repetitions that can match the same characters with nothing \
                                    between them that the first cannot match (e.g. \\d+\\d+, .*a.*), \
                                    which backtrack polynomially"
                            .into());
                    }
                    (Some(c), _) => prev = Some(c),
                    (None, Some(p)) if !item.nullable() && !p.meets(item.chars()) => prev = None,
                    (None, _) => {}
                }
            }
            Ok(())
        }
        Node::Repeat(body, min, max) => {
            check_node(body)?;
            let top = max.unwrap_or(*min).max(*min);
            let group = !matches!(**body, Node::Set(_));
            if top > MAX_REPEAT {
                return Err(format!("has a counted repetition above {MAX_REPEAT}"));
            }
            if group && top > MAX_GROUP_REPEAT {
                return Err(format!("repeats a group more than {MAX_GROUP_REPEAT} times"));
            }
            if max.is_none_or(|m| m > 1) {
                if body.has_repeat() {
                    return Err("has a repetition inside a repetition (e.g. (a+)+ or (.*)*), \
                                which can take exponential time"
                        .into());
                }
                if body.has_ambiguous_alt() {
                    return Err("repeats an alternation whose alternatives can match the same text \
                                (e.g. (a|a)* or (a|ab)+), which can take exponential time"
                        .into());
                }
                if body.nullable() {
                    return Err("repeats a part that can match empty text".into());
                }
            }
            Ok(())
        }
    }
}

/// The items of a sequence, with plain groups that hold a sequence spliced in.
#[cfg(not(target_arch = "wasm32"))]
fn flatten<'n>(v: &'n [Node], out: &mut Vec<&'n Node>) {
    for n in v {
        match n {
            Node::Group(inner) => match &**inner {
                Node::Seq(items) => flatten(items, out),
                other => out.push(other),
            },
            other => out.push(other),
        }
    }
}

/// A parser for JavaScript's pattern syntax without the `u` and `v` flags, enough to
/// classify a pattern; it never builds a matcher.
#[cfg(not(target_arch = "wasm32"))]
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    ci: bool,
    depth: usize,
}

#[cfg(not(target_arch = "wasm32"))]
impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn set(&self, c: Chars) -> Node {
        Node::Set(if self.ci { c.fold() } else { c })
    }

    fn alt(&mut self) -> Result<Node, String> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err("nests groups more than 32 deep".into());
        }
        let mut alts = vec![self.seq()?];
        while self.eat(b'|') {
            alts.push(self.seq()?);
        }
        self.depth -= 1;
        Ok(if alts.len() == 1 { alts.pop().unwrap_or(Node::Seq(Vec::new())) } else { Node::Alt(alts) })
    }

    fn seq(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(b) = self.peek() {
            if b == b'|' || b == b')' {
                break;
            }
            let atom = self.atom()?;
            let quantifiable = !matches!(atom, Node::Assert(None));
            let node = match self.quantifier()? {
                Some((min, max)) if quantifiable => Node::Repeat(Box::new(atom), min, max),
                Some(_) => return Err(format!("quantifier without a target at offset {}", self.i)),
                None => atom,
            };
            items.push(node);
        }
        Ok(Node::Seq(items))
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i == start {
            return None;
        }
        // Saturates: any huge bound is rejected as too large.
        Some(self.s[start..self.i].iter().fold(0u32, |n, d| n.saturating_mul(10).saturating_add((d - b'0') as u32)))
    }

    fn quantifier(&mut self) -> Result<Option<(u32, Option<u32>)>, String> {
        let q = match self.peek() {
            Some(b'*') => (0, None),
            Some(b'+') => (1, None),
            Some(b'?') => (0, Some(1)),
            Some(b'{') => {
                let save = self.i;
                self.i += 1;
                let Some(min) = self.number() else {
                    // A lone `{` is a literal in JavaScript without the `u` flag.
                    self.i = save;
                    return Ok(None);
                };
                let max = if self.eat(b',') { self.number() } else { Some(min) };
                if !self.eat(b'}') {
                    self.i = save;
                    return Ok(None);
                }
                if max.is_some_and(|m| m < min) {
                    return Err("has a repetition {n,m} with m < n".into());
                }
                self.i -= 1;
                (min, max)
            }
            _ => return Ok(None),
        };
        self.i += 1;
        self.eat(b'?');
        if matches!(self.peek(), Some(b'*' | b'+' | b'?')) {
            return Err(format!("has two quantifiers in a row at offset {}", self.i));
        }
        Ok(Some(q))
    }

    fn atom(&mut self) -> Result<Node, String> {
        let Some(b) = self.peek() else { return Err("ends unexpectedly".into()) };
        self.i += 1;
        Ok(match b {
            b'^' | b'$' => Node::Assert(None),
            b'.' => {
                let mut nl = Chars::default();
                nl.add(10);
                nl.add(13);
                Node::Set(nl.negate())
            }
            b'(' => {
                let mut look = false;
                if self.eat(b'?') {
                    if self.eat(b':') {
                    } else if self.eat(b'=') || self.eat(b'!') {
                        look = true;
                    } else if self.eat(b'<') {
                        if self.eat(b'=') || self.eat(b'!') {
                            look = true;
                        } else {
                            while self.peek().is_some_and(|b| b != b'>') {
                                self.i += 1;
                            }
                            if !self.eat(b'>') {
                                return Err("has an unterminated group name".into());
                            }
                        }
                    } else {
                        return Err(format!("has an unknown group syntax at offset {}", self.i));
                    }
                }
                let inner = self.alt()?;
                if !self.eat(b')') {
                    return Err("has an unclosed '('".into());
                }
                if look {
                    Node::Assert(Some(Box::new(inner)))
                } else {
                    Node::Group(Box::new(inner))
                }
            }
            b'[' => self.class()?,
            b'\\' => self.escape(false)?.map_or(Node::Assert(None), |c| self.set(c)),
            b'*' | b'+' | b'?' => return Err(format!("quantifier without a target at offset {}", self.i - 1)),
            b'{' => self.set(Chars::one(b'{')),
            _ => {
                // A whole UTF-8 character: one non-ASCII member of the set.
                while self.peek().is_some_and(|b| b & 0xC0 == 0x80) {
                    self.i += 1;
                }
                self.set(if b < 128 { Chars::one(b) } else { Chars { ascii: 0, other: true } })
            }
        })
    }

    /// After a backslash. `None` for an assertion (`\b`, `\B`); back-references are an
    /// error of their own.
    fn escape(&mut self, in_class: bool) -> Result<Option<Chars>, String> {
        let Some(b) = self.peek() else { return Err("ends with a lone backslash".into()) };
        self.i += 1;
        let class = |f: fn(u8) -> bool| {
            let mut c = Chars::default();
            for x in 0..128u8 {
                if f(x) {
                    c.add(x as u32);
                }
            }
            c
        };
        let digit = class(|x| x.is_ascii_digit());
        let word = class(|x| x.is_ascii_alphanumeric() || x == b'_');
        let mut space = class(|x| matches!(x, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c));
        space.other = true;
        Ok(Some(match b {
            b'd' => digit,
            b'D' => digit.negate(),
            b'w' => word,
            b'W' => word.negate(),
            b's' => space,
            b'S' => Chars { ascii: !space.ascii, other: true },
            b'b' if in_class => Chars::one(8),
            b'b' | b'B' => return Ok(None),
            b'1'..=b'9' if !in_class => return Err(BACKREF.into()),
            b'k' if !in_class && self.peek() == Some(b'<') => return Err(BACKREF.into()),
            b'x' | b'u' | b'c' => {
                // \xHH, \uHHHH, \cX: some character; take the worst case, any character.
                let n = match b {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 1,
                };
                let end = (self.i + n).min(self.s.len());
                let mut v = 0u32;
                let mut ok = b != b'c';
                for d in &self.s[self.i..end] {
                    match (*d as char).to_digit(16) {
                        Some(h) if ok => v = v * 16 + h,
                        _ => ok = false,
                    }
                }
                if ok && end - self.i == n {
                    self.i = end;
                    let mut c = Chars::default();
                    c.add(v);
                    c
                } else {
                    Chars::all()
                }
            }
            b'n' => Chars::one(10),
            b'r' => Chars::one(13),
            b't' => Chars::one(9),
            b'f' => Chars::one(12),
            b'v' => Chars::one(11),
            b'0' => Chars::one(0),
            other if other >= 128 => {
                while self.peek().is_some_and(|b| b & 0xC0 == 0x80) {
                    self.i += 1;
                }
                Chars { ascii: 0, other: true }
            }
            other => Chars::one(other),
        }))
    }

    fn class(&mut self) -> Result<Node, String> {
        let negated = self.eat(b'^');
        let mut set = Chars::default();
        let mut first = true;
        let mut prev: Option<u32> = None;
        loop {
            let Some(b) = self.peek() else { return Err("has an unclosed '['".into()) };
            if b == b']' && !first {
                self.i += 1;
                break;
            }
            first = false;
            if b == b'-' && prev.is_some() && self.s.get(self.i + 1).is_some_and(|n| *n != b']') {
                self.i += 1;
                let lo = prev.take().unwrap_or(0);
                let hi = match self.peek() {
                    Some(b'\\') => {
                        self.i += 1;
                        let c = self.escape(true)?.unwrap_or_default();
                        if c.other || c.ascii.count_ones() != 1 {
                            set = set.union(c);
                            continue;
                        }
                        c.ascii.trailing_zeros()
                    }
                    Some(h) => {
                        self.i += 1;
                        if h >= 128 {
                            while self.peek().is_some_and(|b| b & 0xC0 == 0x80) {
                                self.i += 1;
                            }
                            200
                        } else {
                            h as u32
                        }
                    }
                    None => return Err("has an unclosed '['".into()),
                };
                if hi < lo {
                    return Err("has a character range out of order".into());
                }
                set.add_range(lo, hi);
                continue;
            }
            self.i += 1;
            let c = if b == b'\\' {
                self.escape(true)?.unwrap_or_default()
            } else if b >= 128 {
                while self.peek().is_some_and(|b| b & 0xC0 == 0x80) {
                    self.i += 1;
                }
                Chars { ascii: 0, other: true }
            } else {
                Chars::one(b)
            };
            prev = if !c.other && c.ascii.count_ones() == 1 { Some(c.ascii.trailing_zeros()) } else { None };
            set = set.union(c);
        }
        if self.ci {
            set = set.fold();
        }
        Ok(Node::Set(if negated { set.negate() } else { set }))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn safe_patterns_pass_the_backtracking_check() {
        for p in [
            "iphone|android",
            "^/products/[a-z0-9-]+$",
            "^https?://(www\\.)?shop\\.example/",
            "utm_source=(google|bing|duck)",
            "^/(en|fr|de)/c/",
            "\\d{4}-\\d{2}-\\d{2}",
            "(?:ab)+",
            "[^/]+/[^/]+",
            "a{2,5}",
            "x{",
            "(?=.*promo)",
            "Mobile.*Safari",
            "^/c/[^/]+/[^/]+$",
            "[a-z]+-[0-9]+",
            "\\.(jpg|png)$",
            "^[\\w.-]+@",
            "caf\u{e9}",
        ] {
            assert_eq!(check_backtracking(p, false), Ok(()), "{p}");
        }
    }

    #[test]
    fn hostile_patterns_fail_the_backtracking_check_with_a_reason() {
        let cases: &[(&str, bool, &str)] = &[
            ("(a+)+$", false, "repetition inside a repetition"),
            ("(.*)*", false, "repetition inside a repetition"),
            ("^(\\d+\\.)+$", false, "repetition inside a repetition"),
            ("((ab)*)+", false, "repetition inside a repetition"),
            ("(a|a)*b", false, "alternation"),
            ("(a|ab)+c", false, "alternation"),
            ("(x|)*", false, "alternation"),
            ("(A|a)+", true, "alternation"),
            ("(\\w|\\d)+$", false, "alternation"),
            ("([a-z]|[0-9a])+$", false, "alternation"),
            ("(\\b)+", false, "empty text"),
            ("\\d+\\d+$", false, "two repetitions"),
            (".*.*=", false, "two repetitions"),
            ("a*b?a*c", false, "two repetitions"),
            ("a.*b.*c.*d$", false, "two repetitions"),
            ("(?:a.*)b(?:.*c)", false, "two repetitions"),
            ("x[a-z]+y[a-z0-9]*", false, "two repetitions"),
            ("(a)\\1", false, "back-reference"),
            ("(?<x>a)\\k<x>", false, "back-reference"),
            ("(ab){40}", false, "more than 32"),
            ("a{1001}", false, "above 1000"),
            ("a{99999999999}", false, "above 1000"),
            ("(a", false, "unclosed"),
            ("a)", false, "unbalanced"),
            ("*a", false, "without a target"),
            ("[b-a]", false, "out of order"),
        ];
        for (p, ci, why) in cases {
            match check_backtracking(p, *ci) {
                Err(e) => assert!(e.contains(why), "{p}: {e}"),
                Ok(()) => panic!("{p} passed"),
            }
        }
        assert!(check_backtracking(&"a".repeat(MAX_PATTERN_LEN + 1), false).unwrap_err().contains("longer"));
        let deep = format!("{}a{}", "(".repeat(40), ")".repeat(40));
        assert!(check_backtracking(&deep, false).unwrap_err().contains("deep"));
        // Case-insensitivity makes distinct letters overlap.
        assert_eq!(check_backtracking("(A|a)+", false), Ok(()));
    }

    #[test]
    fn literal_fast_path_agrees_with_the_regex() {
        for (p, i) in [("iphone|android", true), ("Mobile|Tablet", false), ("a||b", false), ("x", true)] {
            let fast = NativeRegex.compile(p, i).unwrap();
            let slow = regex_lite::RegexBuilder::new(p).case_insensitive(i).build().unwrap();
            for h in ["Mozilla (iPhone)", "ANDROID", "Tablet", "mobile", "", "ab", "X"] {
                assert_eq!(fast.is_match(h), slow.is_match(h), "{p} on {h}");
            }
        }
    }
}

#[cfg(test)]
mod shared_tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Matches inputs containing the pattern, counting compilations and runs.
    struct Counting {
        compiled: AtomicUsize,
        runs: Arc<AtomicUsize>,
    }
    struct Contains(String, Arc<AtomicUsize>);
    impl Pattern for Contains {
        fn is_match(&self, haystack: &str) -> bool {
            self.1.fetch_add(1, Ordering::Relaxed);
            haystack.contains(&self.0)
        }
    }
    impl RegexCompiler for Counting {
        fn compile(&self, pattern: &str, _case_insensitive: bool) -> Option<Box<dyn Pattern>> {
            self.compiled.fetch_add(1, Ordering::Relaxed);
            (pattern != "bad").then(|| Box::new(Contains(pattern.to_string(), self.runs.clone())) as Box<dyn Pattern>)
        }
    }

    #[test]
    fn shared_patterns_are_built_once_and_answer_as_the_platform_does() {
        let counting = Counting { compiled: AtomicUsize::new(0), runs: Arc::new(AtomicUsize::new(0)) };
        let shared = SharedPatterns::new(&counting);
        let a = shared.compile("phone", true).unwrap();
        let b = shared.compile("phone", true).unwrap();
        let c = shared.compile("phone", false).unwrap();
        assert!(shared.compile("bad", false).is_none() && shared.compile("bad", false).is_none());
        assert_eq!(counting.compiled.load(Ordering::Relaxed), 3);
        assert!(a.is_match("iphone") && b.is_match("iphone") && c.is_match("iphone"));
        // a and b share one pattern: the second test is remembered; c is its own.
        assert_eq!(counting.runs.load(Ordering::Relaxed), 2);
        assert!(!a.is_match("android") && a.is_match("iphone") && !b.is_match("desktop"));
        assert_eq!(counting.runs.load(Ordering::Relaxed), 5);
    }
}
