//! Version strings for `$veq`, `$vgt`, ...: GrowthBook's padded version string.
//!
//! `"v1.2.3-rc.1+build"` becomes `"    1-    2-    3-rc-    1"`: a leading `v` and build
//! metadata are dropped, parts are split on `.` and `-`, a release with exactly three parts
//! gets a `~` part (so `1.0.0` sorts after `1.0.0-beta`), and numeric parts are left-padded
//! with spaces to five characters. The padded strings are then compared as JavaScript
//! compares strings (UTF-16 code units).

use super::js;
use super::json::Value;

/// The padded form of `input`; numbers are written as JavaScript writes them, anything
/// that is not a non-empty string or a number counts as `"0"`.
pub fn padded_version(input: &Value) -> String {
    let owned;
    let s: &str = match input {
        Value::Number(n) => {
            owned = js::number_to_string(*n);
            &owned
        }
        Value::String(s) if !s.is_empty() => s,
        _ => "0",
    };
    padded_version_str(s)
}

pub fn padded_version_str(s: &str) -> String {
    let s = s.strip_prefix('v').unwrap_or(s);
    // `\+.*$`: from the first `+` that is followed by no line terminator to the end.
    let is_line_end = |c: char| matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}');
    let mut cut = s.len();
    for (i, c) in s.char_indices() {
        if c == '+' && !s[i..].contains(is_line_end) {
            cut = i;
            break;
        }
    }
    let s = &s[..cut];
    let parts: Vec<&str> = s.split(['-', '.']).collect();
    let mut out = String::with_capacity(s.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            for _ in part.len()..5 {
                out.push(' ');
            }
        }
        out.push_str(part);
    }
    if parts.len() == 3 {
        out.push_str("-~");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_like_growthbook() {
        assert_eq!(padded_version_str("v1.2.3-rc.1+build.5"), "    1-    2-    3-rc-    1");
        assert_eq!(padded_version_str("1.0.0"), "    1-    0-    0-~");
        assert!(padded_version_str("1.0.0") > padded_version_str("1.0.0-beta"));
        assert!(padded_version_str("1.10.0") > padded_version_str("1.9.0"));
        assert_eq!(padded_version(&Value::Number(2.0)), "    2");
        assert_eq!(padded_version(&Value::Null), "    0");
        assert_eq!(padded_version_str("123456"), "123456");
    }
}
