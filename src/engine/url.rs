//! The URL rule of everything that reaches a page: offer content fields that hold URLs,
//! experiment values, page-change attributes and redirects. Used where rulesets are loaded
//! ([`super::loader`]) and where page changes are checked ([`super::page`]).

/// Whether a content field holds a URL, by its name: `url`, `image`, `href`, `src`,
/// `link`, or a name ending in `url`, `href`, `src` or `image` (ASCII case-insensitive,
/// e.g. `imageUrl`, `thumbSrc`, `heroImage`).
pub fn is_url_field(name: &str) -> bool {
    let n = name.as_bytes();
    let ends =
        |suffix: &str| n.len() >= suffix.len() && n[n.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes());
    name.eq_ignore_ascii_case("link") || ["url", "href", "src", "image"].iter().any(|s| ends(s))
}

/// Checks a URL that reaches a page (offer content, experiment values): `Err` says why it
/// is refused. Accepted: `http://host...` and `https://host...` (scheme in any case), and
/// relative URLs (`/path`, `path`, `?query`, `#fragment`). Refused, conservatively:
/// - empty text;
/// - any space, control character (C0, DEL, C1), Unicode space or invisible format
///   character anywhere (`java\tscript:`, a leading `\u0001`), and `\`, `"`, `'`, `<`,
///   `>`, `` ` `` anywhere (browsers read `\` as `/`; quotes and angle brackets break out
///   of HTML attributes);
/// - `&` before the first `?` or `#` (an HTML entity such as `&#106;` or `&colon;` could
///   spell a scheme or a `/` once the page puts the URL in HTML);
/// - protocol-relative URLs (`//host`): an absolute link must say `https:`;
/// - any other scheme, i.e. a `:` before the first `/`, `?` or `#` unless the text before
///   it is `http` or `https` (`javascript:`, `data:`, `vbscript:`, `file:`, `mailto:`);
/// - `http:`/`https:` not followed by `//` and a host.
pub fn url_problem(url: &str) -> Option<&'static str> {
    if url.is_empty() {
        return Some("is empty");
    }
    let bad = |c: char| {
        c <= ' '
            || ('\u{7f}'..='\u{a0}').contains(&c)
            || c.is_whitespace()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
            || matches!(c, '\\' | '"' | '\'' | '<' | '>' | '`')
    };
    if url.chars().any(bad) {
        return Some("contains a space, a control or invisible character, or one of \\ \" ' < > `");
    }
    let head = url.find(['?', '#']).map_or(url, |i| &url[..i]);
    if head.contains('&') {
        return Some("contains & before its query (an HTML entity could hide a scheme)");
    }
    if url.starts_with("//") {
        return Some("is protocol-relative (//host): write https://host");
    }
    let first = url.find(['/', '?', '#']).unwrap_or(url.len());
    if let Some(colon) = url[..first].find(':') {
        let scheme = &url[..colon];
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return Some("has a scheme other than http: or https:");
        }
        let rest = &url[colon + 1..];
        if !rest.starts_with("//") || rest[2..].is_empty() || rest[2..].starts_with('/') {
            return Some("must be http(s)://host...");
        }
    }
    None
}
