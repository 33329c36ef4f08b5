//! Page changes and URL targeting: what a variation or an offer does to the page
//! (`changes`, `css`, `redirect`), which pages an experiment runs on (`urlPatterns`), and
//! the safety rules every value passes before it can reach a page.
//!
//! The loader ([`super::loader`], `loader/page.rs`) reads and checks these fields with the
//! rest of the ruleset; the decision hands the changes of the variation shown to the
//! browser, which applies them. Formats and rules: `docs/ruleset.md`, "URL targeting" and
//! "Page changes".

use super::json::{join_strs, quoted, write_string, Value};
use super::regex::{Pattern, MAX_REGEX_INPUT};
use super::url::url_problem;

/// How many URL patterns an experiment may have.
pub const MAX_URL_PATTERNS: usize = 20;
/// How many changes a variation or an offer may have.
pub const MAX_CHANGES: usize = 100;
/// The longest page CSS, and the longest value of one change, in characters.
pub const MAX_CSS_CHARS: usize = 10_000;
pub const MAX_VALUE_CHARS: usize = 10_000;
/// How many selectors one change may try.
pub const MAX_SELECTORS: usize = 5;

/// The change actions, in the order the docs list them.
pub const ACTIONS: [&str; 12] = [
    "text",
    "html",
    "attribute",
    "addClass",
    "removeClass",
    "style",
    "insertBefore",
    "insertAfter",
    "prepend",
    "append",
    "move",
    "hide",
];

/// The actions whose value is HTML (sanitised by the server when the ruleset is published).
pub const HTML_ACTIONS: [&str; 5] = ["html", "insertBefore", "insertAfter", "prepend", "append"];

/// Elements an HTML value may contain: text-level and structural markup, links, images and
/// tables. No script, style, frame, object, embed, form or form control, SVG or MathML.
pub const HTML_TAGS: [&str; 55] = [
    "a",
    "abbr",
    "b",
    "bdi",
    "bdo",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "ul",
];

/// Attributes any allowed element may carry in an HTML value (plus `aria-*`).
pub const HTML_GENERIC_ATTRIBUTES: [&str; 5] = ["class", "dir", "lang", "role", "title"];

/// Attributes particular elements may carry in an HTML value: `(element, attributes)`.
/// URL attributes (`href`, `src`, `cite`) pass [`link_problem`] / [`url_problem`].
pub const HTML_TAG_ATTRIBUTES: [(&str, &[&str]); 10] = [
    ("a", &["href", "hreflang", "rel", "target"]),
    ("img", &["alt", "height", "loading", "src", "width"]),
    ("blockquote", &["cite"]),
    ("q", &["cite"]),
    ("del", &["cite", "datetime"]),
    ("ins", &["cite", "datetime"]),
    ("time", &["datetime"]),
    ("td", &["colspan", "rowspan"]),
    ("th", &["colspan", "rowspan", "scope"]),
    ("ol", &["reversed", "start"]),
];

/// Attributes the `attribute` action may set, besides `aria-*` and `data-*`.
pub const SETTABLE_ATTRIBUTES: [&str; 16] = [
    "alt",
    "dir",
    "height",
    "href",
    "lang",
    "loading",
    "placeholder",
    "rel",
    "role",
    "sizes",
    "src",
    "srcset",
    "target",
    "title",
    "value",
    "width",
];

/// `data-*` attributes that page frameworks read as code (Knockout's `data-bind`, htmx's
/// `data-hx-*`, AngularJS's `data-ng-*`, ...): refused.
pub const CODE_DATA_PREFIXES: [&str; 6] = ["data-bind", "data-hx-", "data-ng-", "data-on", "data-x-", "data-v-on"];

/// How a URL pattern compares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UrlKind {
    Exact,
    Prefix,
    Wildcard,
    Regex,
}

/// One entry of an experiment's `urlPatterns`, compiled.
pub struct UrlPattern {
    pub kind: UrlKind,
    pub pattern: String,
    pub include: bool,
    /// For exact, prefix and wildcard: the pattern's parts, normalised once.
    parts: UrlParts,
    regex: Option<Box<dyn Pattern>>,
}

/// A URL taken apart for matching: `origin` is `scheme://host` in lowercase (empty for a
/// URL that starts with `/`), `path` starts with `/`, `query` has no `?`; no fragment.
#[derive(Clone, Debug, Default, PartialEq)]
struct UrlParts {
    origin: String,
    path: String,
    query: Option<String>,
}

impl UrlParts {
    fn parse(url: &str) -> UrlParts {
        let url = url.split('#').next().unwrap_or("");
        let (origin, rest) = match url.find("://") {
            Some(i) if url[..i].bytes().all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c)) && i > 0 => {
                let after = &url[i + 3..];
                let end = after.find(['/', '?']).map_or(url.len(), |j| i + 3 + j);
                (url[..end].to_ascii_lowercase(), &url[end..])
            }
            _ => (String::new(), url),
        };
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q.to_string())),
            None => (rest, None),
        };
        UrlParts { origin, path: if path.is_empty() { "/".into() } else { path.into() }, query }
    }

    /// `origin + path (+ "?" + query)`: what prefix and wildcard patterns compare with.
    fn text(&self, with_origin: bool, with_query: bool) -> String {
        let mut s = String::new();
        if with_origin {
            s.push_str(&self.origin);
        }
        s.push_str(&self.path);
        if let (true, Some(q)) = (with_query, &self.query) {
            s.push('?');
            s.push_str(q);
        }
        s
    }
}

/// The path without a trailing `/` (but `/` stays `/`).
fn trim_slash(path: &str) -> &str {
    if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    }
}

/// The query's parameters in sorted order, so that their order does not matter.
fn sorted_query(q: &str) -> Vec<&str> {
    let mut params: Vec<&str> = q.split('&').filter(|p| !p.is_empty()).collect();
    // The engine's one sort (a monomorphised `slice::sort*` costs the browser module bytes).
    super::sort::sort_by(&mut params, |a, b| a.cmp(b));
    params
}

/// `*` matches any run of characters (also none, also `/`); the rest is literal.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && p[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if i < p.len() && p[i] == t[j] {
            i += 1;
            j += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == b'*')
}

impl UrlPattern {
    /// A checked pattern (`loader/page.rs` checks it), with its parts normalised once;
    /// `regex` is the compiled pattern of a `regex` kind.
    pub fn new(kind: UrlKind, pattern: String, include: bool, regex: Option<Box<dyn Pattern>>) -> UrlPattern {
        let parts = UrlParts::parse(&pattern);
        UrlPattern { kind, pattern, include, parts, regex }
    }

    /// Whether `url` (the page's `context.url`, or a redirect target) matches this pattern,
    /// whatever `include` says.
    pub fn matches(&self, url: &str) -> bool {
        if self.kind == UrlKind::Regex {
            let url = url.split('#').next().unwrap_or("");
            return url.len() <= MAX_REGEX_INPUT && self.regex.as_ref().is_some_and(|r| r.is_match(url));
        }
        let u = UrlParts::parse(url);
        let p = &self.parts;
        let with_origin = !p.origin.is_empty();
        if with_origin && u.origin.is_empty() {
            return false;
        }
        let with_query = p.query.is_some();
        match self.kind {
            UrlKind::Exact => {
                (!with_origin || u.origin == p.origin)
                    && trim_slash(&u.path) == trim_slash(&p.path)
                    && p.query
                        .as_deref()
                        .is_none_or(|q| sorted_query(q) == sorted_query(u.query.as_deref().unwrap_or("")))
            }
            UrlKind::Prefix => u.text(with_origin, with_query).starts_with(&p.text(with_origin, with_query)),
            UrlKind::Wildcard => wildcard_match(&p.text(with_origin, with_query), &u.text(with_origin, with_query)),
            UrlKind::Regex => false,
        }
    }
}

/// Whether `url` is one of the pages `patterns` target: it matches at least one include
/// pattern and no exclude pattern. No patterns: every page.
pub fn targeted(patterns: &[UrlPattern], url: &str) -> bool {
    patterns.is_empty()
        || (patterns.iter().any(|p| p.include && p.matches(url))
            && !patterns.iter().any(|p| !p.include && p.matches(url)))
}

/// A redirect variation: where to send the shopper.
#[derive(Clone, Debug, PartialEq)]
pub struct Redirect {
    pub url: String,
    /// Whether the current page's query string is carried over (default true).
    pub keep_query: bool,
}

/// What a variation or an offer changes on the page. `changes` is the validated array as
/// written in the ruleset: the browser reads it as is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageChanges {
    pub changes: Option<Value>,
    pub css: Option<String>,
    pub redirect: Option<Redirect>,
}

impl PageChanges {
    pub fn is_empty(&self) -> bool {
        self.changes.is_none() && self.css.is_none() && self.redirect.is_none()
    }

    /// Writes `,"changes":...`, `,"css":...` and `,"redirect":{...}` (those present) into a
    /// decision entry's JSON object being written.
    pub fn write_json(&self, out: &mut String) {
        if let Some(c) = &self.changes {
            out.push_str(",\"changes\":");
            c.write_json(out);
        }
        if let Some(css) = &self.css {
            out.push_str(",\"css\":");
            write_string(css, out);
        }
        if let Some(r) = &self.redirect {
            out.push_str(",\"redirect\":{\"url\":");
            write_string(&r.url, out);
            out.push_str(if r.keep_query { ",\"keepQuery\":true}" } else { ",\"keepQuery\":false}" });
        }
    }

    /// Every selector the changes try (each selector of every change, `target`s too).
    pub fn selectors(&self, out: &mut Vec<String>) {
        let Some(Value::Array(changes)) = &self.changes else { return };
        for c in changes {
            let mut add = |s: &str| {
                if !out.iter().any(|o| o == s) {
                    out.push(s.to_string());
                }
            };
            match c.get("selector") {
                Some(Value::String(s)) => add(s),
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).for_each(&mut add),
                _ => {}
            }
        }
    }
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// The URL rule of links (`href`): [`url_problem`]'s http(s) and relative URLs, plus
/// `mailto:` and `tel:` (with the same refused characters).
pub fn link_problem(url: &str) -> Option<&'static str> {
    if starts_with_ci(url, "mailto:") || starts_with_ci(url, "tel:") {
        // Checked as a relative URL after the scheme: no control or quote characters.
        let rest = &url[url.find(':').map_or(0, |i| i + 1)..];
        return if rest.is_empty() { Some("is empty after its scheme") } else { url_problem(rest) };
    }
    url_problem(url)
}

/// Why page CSS (a variation's `css`, a `style` action's value) is refused, if it is.
/// Escapes (`\65`, `\e`) are decoded and comments and white space dropped before the
/// checks, so `e\x\p\r\e\s\s\i\o\n(` and `ex/**/pression(` are caught.
pub fn css_problem(css: &str) -> Option<&'static str> {
    if css.contains("</") || css.contains("<!") {
        return Some("contains </ or <! (it could close the style element)");
    }
    let plain = css_plain(css);
    const BANNED: [(&str, &str); 8] = [
        ("expression(", "uses expression()"),
        ("javascript:", "contains javascript:"),
        ("vbscript:", "contains vbscript:"),
        ("@import", "uses @import"),
        ("behavior:", "uses behavior:"),
        ("behaviour:", "uses behavior:"),
        ("-moz-binding", "uses -moz-binding"),
        ("@charset", "uses @charset"),
    ];
    if let Some((_, why)) = BANNED.iter().find(|(b, _)| plain.contains(b)) {
        return Some(why);
    }
    let mut rest = plain.as_str();
    while let Some(i) = rest.find("url(").or_else(|| rest.find("src(")) {
        let arg = &rest[i + 4..];
        let end = arg.find(')').unwrap_or(arg.len());
        let u = arg[..end].trim_matches(|c| c == '"' || c == '\'');
        let head = u.find(['/', '?', '#']).map_or(u, |k| &u[..k]);
        if let Some(colon) = head.find(':') {
            if !matches!(&head[..colon], "http" | "https") {
                return Some("has a url() with a scheme other than http: or https:");
            }
        }
        rest = &arg[end..];
    }
    None
}

/// CSS with escapes decoded, comments and white space removed, ASCII letters lowercased.
fn css_plain(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut chars = css.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
            }
            '\\' => {
                let mut hex = String::new();
                while hex.len() < 6 && chars.peek().is_some_and(char::is_ascii_hexdigit) {
                    hex.extend(chars.next());
                }
                if hex.is_empty() {
                    if let Some(c) = chars.next() {
                        out.push(c.to_ascii_lowercase());
                    }
                } else {
                    let n = u32::from_str_radix(&hex, 16).unwrap_or(0);
                    out.push(char::from_u32(n).unwrap_or('\u{fffd}').to_ascii_lowercase());
                }
            }
            c if c.is_whitespace() || c.is_control() => {}
            c => out.push(c.to_ascii_lowercase()),
        }
    }
    out
}

/// Why an attribute may not be set by the `attribute` action, if it may not.
pub fn attribute_problem(name: &str) -> Option<String> {
    attribute_check::<true>(name)
}

/// [`attribute_problem`]; without `FULL` (the lean loader) the reason is a short text.
pub(super) fn attribute_check<const FULL: bool>(name: &str) -> Option<String> {
    if name.len() > 64 || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Some(why!(
            "attribute is not settable",
            "attribute name {} is not a lowercase name (a-z, 0-9, -)",
            quoted(name)
        ));
    }
    if name.starts_with("on") {
        return Some(why!(
            "attribute is not settable",
            "attribute {} is an event handler: never settable",
            quoted(name)
        ));
    }
    if name == "style" {
        return Some(why!("attribute is not settable", "attribute \"style\" is not settable: use the style action"));
    }
    if (name.starts_with("data-") || name.starts_with("aria-")) && name.len() > 5 {
        if CODE_DATA_PREFIXES.iter().any(|p| name.starts_with(p)) {
            return Some(why!(
                "attribute is not settable",
                "attribute {} is read as code by page frameworks: not settable",
                quoted(name)
            ));
        }
        return None;
    }
    if SETTABLE_ATTRIBUTES.contains(&name) {
        return None;
    }
    Some(why!(
        "attribute is not settable",
        "attribute {} is not settable (one of {}, aria-*, data-*)",
        quoted(name),
        join_strs(&SETTABLE_ATTRIBUTES, ", ")
    ))
}

/// Why an attribute value is refused: URLs in `href` (links), `src` and `srcset` (http(s)
/// and relative only).
pub(super) fn attribute_value_problem(name: &str, value: &str) -> Option<&'static str> {
    match name {
        "href" => link_problem(value),
        "src" => url_problem(value),
        "srcset" => value.split(',').find_map(|c| url_problem(c.split_whitespace().next().unwrap_or(""))),
        _ => None,
    }
}

/// Why an HTML value is refused, if it is. The server sanitises HTML when a ruleset is
/// published (its output always passes); this check runs wherever a ruleset is loaded, so
/// a value that escaped sanitising is still refused. Allowed: text, [`HTML_TAGS`] with
/// [`HTML_GENERIC_ATTRIBUTES`], `aria-*` and [`HTML_TAG_ATTRIBUTES`], entities. Refused:
/// any other element or attribute (so every `on*` handler, `style`, `srcdoc`), comments,
/// a URL attribute that fails the URL rule, an unterminated tag.
pub fn html_problem(html: &str) -> Option<String> {
    html_check::<true>(html)
}

/// [`html_problem`]; without `FULL` (the lean loader) the reason is a short text.
pub(super) fn html_check<const FULL: bool>(html: &str) -> Option<String> {
    let b = html.as_bytes();
    let mut i = 0;
    while let Some(lt) = b[i..].iter().position(|c| *c == b'<') {
        i += lt + 1;
        let end_tag = b.get(i) == Some(&b'/');
        if end_tag {
            i += 1;
        }
        match b.get(i) {
            Some(c) if c.is_ascii_alphabetic() => {}
            Some(b'!' | b'?') => return Some(why!("comment", "contains a comment or a declaration (<!, <?)")),
            // `<` as text (`a < b`): the browser's parser reads it as text too.
            _ if !end_tag => continue,
            _ => return Some(why!("malformed", "contains a malformed end tag")),
        }
        let start = i;
        while b.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-') {
            i += 1;
        }
        let tag = html[start..i].to_ascii_lowercase();
        if !HTML_TAGS.contains(&tag.as_str()) {
            return Some(why!("element", "contains a <{tag}> element (allowed: {})", join_strs(&HTML_TAGS, ", ")));
        }
        // Attributes up to `>`.
        loop {
            while b.get(i).is_some_and(|c| c.is_ascii_whitespace() || *c == b'/') {
                i += 1;
            }
            match b.get(i) {
                None => return Some(why!("malformed", "has an unterminated <{tag}> tag")),
                Some(b'>') => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            let ns = i;
            while b.get(i).is_some_and(|c| !c.is_ascii_whitespace() && !b"=>/\"'<".contains(c)) {
                i += 1;
            }
            if i == ns {
                return Some(why!("malformed", "has a malformed attribute in <{tag}>"));
            }
            let name = html[ns..i].to_ascii_lowercase();
            while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            let mut value = "";
            if b.get(i) == Some(&b'=') {
                i += 1;
                while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                    i += 1;
                }
                match b.get(i) {
                    Some(q @ (b'"' | b'\'')) => {
                        let Some(len) = b[i + 1..].iter().position(|c| c == q) else {
                            return Some(why!("malformed", "has an unterminated attribute value in <{tag}>"));
                        };
                        value = &html[i + 1..i + 1 + len];
                        i += len + 2;
                    }
                    _ => {
                        let vs = i;
                        while b.get(i).is_some_and(|c| !c.is_ascii_whitespace() && *c != b'>') {
                            i += 1;
                        }
                        value = &html[vs..i];
                    }
                }
            }
            if end_tag {
                return Some(why!("malformed", "has attributes on the end tag </{tag}>"));
            }
            let allowed = HTML_GENERIC_ATTRIBUTES.contains(&name.as_str())
                || (name.starts_with("aria-") && name.len() > 5)
                || HTML_TAG_ATTRIBUTES.iter().any(|(t, a)| *t == tag && a.contains(&name.as_str()));
            if !allowed {
                return Some(why!("attribute", "has attribute {} on <{tag}>, which is not allowed", quoted(&name)));
            }
            let why = match name.as_str() {
                "href" => link_problem(value),
                "src" | "cite" => url_problem(value),
                _ => None,
            };
            if let Some(why) = why {
                return Some(why!("URL", "has a {name} URL {} that is refused: it {why}", quoted(value)));
            }
        }
    }
    None
}

/// Checks `text` as a CSS selector: non-empty, at most 500 characters, no `{`, `}` or `<`.
pub(super) fn selector_problem(text: &str) -> Option<&'static str> {
    if text.trim().is_empty() {
        Some("must not be empty")
    } else if text.chars().count() > 500 {
        Some("is longer than 500 characters")
    } else if text.contains(['{', '}', '<']) {
        Some("is not a CSS selector (it contains {, } or <)")
    } else {
        None
    }
}

pub(super) fn too_long(s: &str, max: usize) -> bool {
    s.len() > max && s.chars().count() > max
}

/// The redirect-loop rule: a redirect target the experiment's own patterns target would
/// redirect again.
pub fn redirect_loops(patterns: &[UrlPattern], target: &str) -> bool {
    !patterns.is_empty() && targeted(patterns, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("/p/*", "/p/"));
        assert!(wildcard_match("/p/*", "/p/a/b"));
        assert!(wildcard_match("*/sale", "https://x/sale"));
        assert!(wildcard_match("/a*b*c", "/aXbYc"));
        assert!(!wildcard_match("/a*b*c", "/aXbY"));
        assert!(!wildcard_match("/p/*", "/q/a"));
    }

    #[test]
    fn css_escapes_and_comments_are_seen_through() {
        assert!(css_problem("width: e\\x\\p\\r\\65 \\s\\s\\i\\o\\n(alert(1))").is_some());
        assert!(css_problem("width: ex/**/pression(alert(1))").is_some());
        assert!(css_problem("background: url(\"\\6a avascript:alert(1)\")").is_some());
        assert!(css_problem("background: url(data:text/html,x)").is_some());
        assert!(css_problem("background: url(/img/a.png) no-repeat; color: #fff").is_none());
        assert!(css_problem(".hero h1 { font-size: 2rem; content: \"\\201C\" }").is_none());
    }

    #[test]
    fn html_check() {
        assert_eq!(
            html_problem("<p class=\"x\">Hi <a href=\"/sale\" rel=\"noopener noreferrer\">sale</a> &amp; 1 < 2</p>"),
            None
        );
        assert!(html_problem("<img src=x onerror=alert(1)>").is_some());
        assert!(html_problem("<script>alert(1)</script>").is_some());
        assert!(html_problem("<a href=\"javascript:alert(1)\">x</a>").is_some());
        assert!(html_problem("<a href='&#106;avascript:alert(1)'>x</a>").is_some());
        assert!(html_problem("<p style=\"color:red\">x</p>").is_some());
        assert!(html_problem("<p").is_some());
        assert_eq!(html_problem("<a href=\"mailto:help@shop.example\">mail</a>"), None);
    }
}
