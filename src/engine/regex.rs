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

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

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
