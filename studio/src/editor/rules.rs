//! What a page change may contain (docs/ruleset.md, "Page changes"), checked as the
//! merchandiser types, so the editor says what is wrong next to the field instead of writing
//! a change the engine's validator (src/engine/page.rs) refuses at publish. The engine stays
//! the judge: the Studio validates the whole ruleset with it before saving; these checks
//! only answer early, with the same reasons. The lists and the URL rule are the engine's
//! own; the messages are the editor's sentences.

pub use tailor::engine::page::{
    link_problem, HTML_TAGS, MAX_CHANGES, MAX_CSS_CHARS as MAX_CSS, MAX_VALUE_CHARS as MAX_VALUE, SETTABLE_ATTRIBUTES,
};
use tailor::engine::page::{CODE_DATA_PREFIXES, HTML_GENERIC_ATTRIBUTES, HTML_TAG_ATTRIBUTES};
pub use tailor::engine::url::url_problem;

/// JavaScript's white space (`\s`, what `trim()` removes): Unicode's White_Space without
/// U+0085, plus U+FEFF.
pub fn js_space(c: char) -> bool {
    (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}'
}

/// `text` without JavaScript's white space at either end, as `String.prototype.trim`.
pub fn js_trim(text: &str) -> &str {
    text.trim_matches(js_space)
}

/// May an element `<tag>` stay in an HTML value?
pub fn html_tag_allowed(tag: &str) -> bool {
    HTML_TAGS.contains(&tag)
}

/// May `name` stay on a `<tag>` inside an HTML value?
pub fn html_attribute_allowed(tag: &str, name: &str) -> bool {
    HTML_GENERIC_ATTRIBUTES.contains(&name)
        || (name.starts_with("aria-") && name.len() > 5)
        || HTML_TAG_ATTRIBUTES.iter().any(|(t, names)| *t == tag && names.contains(&name))
}

/// CSS with escapes decoded, comments and white space dropped, letters lowercased: comments
/// first (to the first `*/`, or the end), then `\hex` and `\c` escapes, then white space and
/// control characters, decoded ones too.
fn css_plain(css: &str) -> String {
    let mut uncommented = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(i) = rest.find("/*") {
        uncommented.push_str(&rest[..i]);
        rest = rest[i + 2..].find("*/").map_or("", |j| &rest[i + 2 + j + 2..]);
    }
    uncommented.push_str(rest);
    let mut decoded = String::with_capacity(uncommented.len());
    let mut chars = uncommented.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            decoded.push(c);
            continue;
        }
        let mut hex = 0u32;
        let mut digits = 0;
        while digits < 6 {
            match chars.peek().and_then(|d| d.to_digit(16)) {
                Some(d) => {
                    hex = hex * 16 + d;
                    digits += 1;
                    chars.next();
                }
                None => break,
            }
        }
        if digits > 0 {
            // Zero, a surrogate or past U+10FFFF: a replacement character (none of them can
            // spell a banned word).
            decoded.push(char::from_u32(hex.min(0x10ffff)).filter(|c| *c != '\0').unwrap_or('\u{fffd}'));
        } else {
            // A backslash at the very end stays.
            decoded.push(chars.next().unwrap_or('\\'));
        }
    }
    // ASCII lower-casing gives the answers JavaScript's full `toLowerCase` gives: the only
    // other letters that lower-case into ASCII are U+212A (k, in no banned word) and U+0130
    // (i followed by U+0307, which no banned word has after an i), and Rust's case tables
    // would be some 10 KB of the module.
    decoded.chars().filter(|c| !js_space(*c) && !c.is_control()).map(|c| c.to_ascii_lowercase()).collect()
}

/// Why CSS (page CSS or a style value) is refused, or `None`.
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
    if let Some((_, why)) = BANNED.iter().find(|(word, _)| plain.contains(word)) {
        return Some(why);
    }
    // Every `url(` and `src(`, left to right, each argument up to its `)`.
    let mut rest = plain.as_str();
    loop {
        let next = [rest.find("url("), rest.find("src(")].into_iter().flatten().min();
        let i = next?;
        let arg = &rest[i + 4..];
        let end = arg.find(')').unwrap_or(arg.len());
        let url = arg[..end].trim_matches(|c| c == '"' || c == '\'');
        let head = url.find(['/', '?', '#']).map_or(url, |k| &url[..k]);
        if let Some(colon) = head.find(':') {
            if !matches!(&head[..colon], "http" | "https") {
                return Some("has a url() with a scheme other than http: or https:");
            }
        }
        rest = &arg[end..];
    }
}

/// Why a CSS selector is refused by its text, or `None`. Whether the browser can read it is
/// asked of the page (wasm32: `selectorProblem` in `editor::bind`).
pub fn selector_text_problem(sel: &str) -> Option<&'static str> {
    if js_trim(sel).is_empty() {
        Some("is empty")
    } else if sel.chars().count() > 500 {
        Some("is longer than 500 characters")
    } else if sel.contains(['{', '}', '<']) {
        Some("is not a CSS selector (it contains {, } or <)")
    } else {
        None
    }
}

/// Why the `attribute` action may not set `name` to `value`, or `None`.
pub fn attribute_problem(name: &str, value: &str) -> Option<String> {
    if name.is_empty() {
        return Some("Give the attribute's name.".into());
    }
    if name.len() > 64 || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Some(format!("The attribute name \"{name}\" must be lowercase letters, digits and -."));
    }
    if name.starts_with("on") {
        return Some(format!("\"{name}\" is an event handler: it can never be set."));
    }
    if name == "style" {
        return Some("Use \"Style\" to change how it looks: the style attribute cannot be set.".into());
    }
    if (name.starts_with("data-") || name.starts_with("aria-")) && name.len() > 5 {
        if CODE_DATA_PREFIXES.iter().any(|p| name.starts_with(p)) {
            return Some(format!("\"{name}\" is read as code by page frameworks: it cannot be set."));
        }
    } else if !SETTABLE_ATTRIBUTES.contains(&name) {
        return Some(format!(
            "\"{name}\" cannot be set. Settable: {}, aria-* and data-*.",
            SETTABLE_ATTRIBUTES.join(", ")
        ));
    }
    let why = match name {
        "href" => link_problem(value),
        "src" => url_problem(value),
        // Each candidate's URL: its first word.
        "srcset" => value.split(',').find_map(|c| url_problem(js_trim(c).split(js_space).next().unwrap_or(""))),
        _ => None,
    };
    why.map(|why| format!("The URL \"{value}\" is refused: it {why}."))
}

/// Why a `style` change of property `name` to `value` is refused, or `None`.
pub fn style_problem(name: &str, value: &str) -> Option<String> {
    if name.is_empty() {
        return Some("Give the CSS property, for example background-color.".into());
    }
    let custom = name.len() > 2
        && name.starts_with("--")
        && name[2..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let plain = name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
    if !(custom || plain) || css_problem(name).is_some() {
        return Some(format!("\"{name}\" is not a CSS property name (lowercase, for example font-size)."));
    }
    if js_trim(value).is_empty() {
        return Some("Give a value, for example #b91c1c or 18px.".into());
    }
    if value.contains(['{', '}', ';']) {
        return Some("One value only: no ; { or } (one property per change).".into());
    }
    css_problem(value).map(|why| format!("This CSS is refused: it {why}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_space_is_javascripts() {
        assert_eq!(js_trim("\u{feff}\u{a0} a\u{2029}\u{3000}"), "a");
        assert_eq!(js_trim("\u{85}a"), "\u{85}a");
        assert!(!js_space('\u{180e}'));
    }

    #[test]
    fn html_tags_and_attributes() {
        for tag in ["a", "img", "p", "table", "details", "summary", "time"] {
            assert!(html_tag_allowed(tag), "{tag}");
        }
        for tag in ["script", "style", "iframe", "svg", "math", "form", "input", "button", "template", "A"] {
            assert!(!html_tag_allowed(tag), "{tag}");
        }
        for name in ["class", "dir", "lang", "role", "title", "aria-label", "aria-x"] {
            assert!(html_attribute_allowed("span", name), "{name}");
        }
        assert!(!html_attribute_allowed("span", "aria-"));
        assert!(html_attribute_allowed("a", "href") && html_attribute_allowed("a", "hreflang"));
        assert!(html_attribute_allowed("img", "src") && html_attribute_allowed("img", "loading"));
        assert!(html_attribute_allowed("th", "scope") && !html_attribute_allowed("td", "scope"));
        assert!(html_attribute_allowed("ol", "reversed") && !html_attribute_allowed("ul", "start"));
        assert!(html_attribute_allowed("q", "cite") && html_attribute_allowed("del", "datetime"));
        for name in ["href", "style", "onclick", "id", "srcdoc", "data-x"] {
            assert!(!html_attribute_allowed("span", name), "{name}");
        }
    }

    #[test]
    fn urls_and_links() {
        for ok in ["https://shop.example/a?b#c", "HTTP://x", "/img/a.jpg", "a.jpg", "?q=1&r=2", "#top", "/a:b"] {
            assert_eq!(url_problem(ok), None, "{ok}");
        }
        let cases = [
            ("", "is empty"),
            ("/a b", "contains a space, a control or invisible character, or one of \\ \" ' < > `"),
            ("/a\u{200b}", "contains a space, a control or invisible character, or one of \\ \" ' < > `"),
            ("/a\\b", "contains a space, a control or invisible character, or one of \\ \" ' < > `"),
            ("/a&b", "contains & before its query (an HTML entity could hide a scheme)"),
            ("//cdn.example/x", "is protocol-relative (//host): write https://host"),
            ("javascript:alert(1)", "has a scheme other than http: or https:"),
            ("data:text/html,x", "has a scheme other than http: or https:"),
            ("https:/x", "must be http(s)://host..."),
            ("https://", "must be http(s)://host..."),
            ("https:///x", "must be http(s)://host..."),
        ];
        for (url, why) in cases {
            assert_eq!(url_problem(url), Some(why), "{url}");
        }
        assert_eq!(link_problem("mailto:a@b.example"), None);
        assert_eq!(link_problem("TEL:+4412345"), None);
        assert_eq!(link_problem("mailto:"), Some("is empty after its scheme"));
        assert_eq!(
            link_problem("tel:1 2"),
            Some("contains a space, a control or invisible character, or one of \\ \" ' < > `")
        );
        assert_eq!(link_problem("ftp://x"), Some("has a scheme other than http: or https:"));
    }

    #[test]
    fn css_refused_and_allowed() {
        for ok in [
            "color: red",
            "background: url(https://a.example/x.png)",
            "background: url('/x.png')",
            "a { b: c }",
            "--x: 1",
            "",
        ] {
            assert_eq!(css_problem(ok), None, "{ok}");
        }
        let cases = [
            ("a</style>", "contains </ or <! (it could close the style element)"),
            ("<!--", "contains </ or <! (it could close the style element)"),
            ("width: expression(alert(1))", "uses expression()"),
            ("width: ex/**/pression(1)", "uses expression()"),
            ("width: e\\78pression(1)", "uses expression()"),
            ("width: \\65 xpression(1)", "uses expression()"),
            ("width: expression\\20(1)", "uses expression()"),
            ("width: EXPRESSION (1)", "uses expression()"),
            ("a: java\u{feff}script:x", "contains javascript:"),
            ("a: vbscript:x", "contains vbscript:"),
            ("@import 'x.css'", "uses @import"),
            ("behavior: url(x.htc)", "uses behavior:"),
            ("behaviour: url(x.htc)", "uses behavior:"),
            ("-moz-binding: url(x)", "uses -moz-binding"),
            ("@charset 'x'", "uses @charset"),
            ("background: url(data:image/png,x)", "has a url() with a scheme other than http: or https:"),
            ("src: src(data:x) url(https://a.example)", "has a url() with a scheme other than http: or https:"),
            ("background: url(\"ftp://x\"", "has a url() with a scheme other than http: or https:"),
        ];
        for (css, why) in cases {
            assert_eq!(css_problem(css), Some(why), "{css}");
        }
        // A comment left open hides what follows it; a lone backslash at the end stays.
        assert_eq!(css_problem("a: /* url(data:x)"), None);
        assert_eq!(css_problem("/*/ url(data:x)"), None);
        assert_eq!(css_problem("/**/ url(data:x)"), Some("has a url() with a scheme other than http: or https:"));
        assert_eq!(css_problem("a\\"), None);
        assert_eq!(css_problem("JavaScript:x"), Some("contains javascript:"));
        assert_eq!(css_problem("expr\u{130}ssion( \u{212a}"), None);
        // `\e` is a hex escape (U+000E, a control character, dropped).
        assert_eq!(css_problem("width: e\\x\\p\\r\\e\\s\\s\\i\\o\\n(1)"), None);
        assert_eq!(css_problem("\\0 \\110000 \\d800"), None);
    }

    #[test]
    fn selectors_by_their_text() {
        assert_eq!(selector_text_problem(" \u{feff}\n"), Some("is empty"));
        assert_eq!(selector_text_problem(&"a".repeat(500)), None);
        assert_eq!(selector_text_problem(&"é".repeat(501)), Some("is longer than 500 characters"));
        for bad in ["a{}", "a}", "<a"] {
            assert_eq!(selector_text_problem(bad), Some("is not a CSS selector (it contains {, } or <)"), "{bad}");
        }
        assert_eq!(selector_text_problem(".hero > h1"), None);
    }

    #[test]
    fn attributes_settable_and_refused() {
        for (name, value) in [
            ("title", "Hello"),
            ("alt", ""),
            ("data-x", "1"),
            ("aria-label", "Close"),
            ("href", "mailto:a@b.example"),
            ("href", "/sale"),
            ("src", "https://a.example/x.jpg"),
            ("srcset", "/a.jpg 1x, /b.jpg 2x"),
            ("srcset", " /a.jpg\u{feff}1x"),
        ] {
            assert_eq!(attribute_problem(name, value), None, "{name}={value}");
        }
        let settable = "alt, dir, height, href, lang, loading, placeholder, rel, role, sizes, src, srcset, target, title, value, width";
        let cases = [
            ("", "x", "Give the attribute's name.".to_string()),
            ("Title", "x", "The attribute name \"Title\" must be lowercase letters, digits and -.".into()),
            ("a_b", "x", "The attribute name \"a_b\" must be lowercase letters, digits and -.".into()),
            (
                &"a".repeat(65),
                "x",
                format!("The attribute name \"{}\" must be lowercase letters, digits and -.", "a".repeat(65)),
            ),
            ("onclick", "x", "\"onclick\" is an event handler: it can never be set.".into()),
            ("on", "x", "\"on\" is an event handler: it can never be set.".into()),
            ("style", "x", "Use \"Style\" to change how it looks: the style attribute cannot be set.".into()),
            ("data-bind", "x", "\"data-bind\" is read as code by page frameworks: it cannot be set.".into()),
            ("data-hx-get", "x", "\"data-hx-get\" is read as code by page frameworks: it cannot be set.".into()),
            ("data-v-on", "x", "\"data-v-on\" is read as code by page frameworks: it cannot be set.".into()),
            ("data-", "x", format!("\"data-\" cannot be set. Settable: {settable}, aria-* and data-*.")),
            ("id", "x", format!("\"id\" cannot be set. Settable: {settable}, aria-* and data-*.")),
            (
                "href",
                "javascript:x",
                "The URL \"javascript:x\" is refused: it has a scheme other than http: or https:.".into(),
            ),
            ("src", "", "The URL \"\" is refused: it is empty.".into()),
            (
                "srcset",
                "/a.jpg 1x, data:x 2x",
                "The URL \"/a.jpg 1x, data:x 2x\" is refused: it has a scheme other than http: or https:.".into(),
            ),
            ("srcset", "/a.jpg,", "The URL \"/a.jpg,\" is refused: it is empty.".into()),
        ];
        for (name, value, why) in cases {
            assert_eq!(attribute_problem(name, value), Some(why), "{name}={value}");
        }
        assert_eq!(attribute_problem(&"a".repeat(64), "x").map(|m| m.contains("must be")), Some(false));
    }

    #[test]
    fn styles_allowed_and_refused() {
        for (name, value) in [
            ("color", "red"),
            ("background-color", "#b91c1c"),
            ("--brand_1", "1px"),
            ("margin", " 0 auto "),
            ("--", "1px"),
        ] {
            assert_eq!(style_problem(name, value), None, "{name}: {value}");
        }
        let not_a_name = |n: &str| format!("\"{n}\" is not a CSS property name (lowercase, for example font-size).");
        let cases = [
            ("", "red", "Give the CSS property, for example background-color.".to_string()),
            ("Color", "red", not_a_name("Color")),
            ("font_size", "1px", not_a_name("font_size")),
            ("-moz-binding", "x", not_a_name("-moz-binding")),
            ("color", " \n", "Give a value, for example #b91c1c or 18px.".into()),
            ("color", "red; x: y", "One value only: no ; { or } (one property per change).".into()),
            ("color", "}", "One value only: no ; { or } (one property per change).".into()),
            ("width", "expression(1)", "This CSS is refused: it uses expression().".into()),
            ("background", "url(javascript:x)", "This CSS is refused: it contains javascript:.".into()),
        ];
        for (name, value, why) in cases {
            assert_eq!(style_problem(name, value), Some(why), "{name}: {value}");
        }
    }

    #[test]
    fn the_javascript_copy_is_the_engines() {
        let js =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/ui/editor-rules.js")).unwrap_or_default();
        let list: Vec<String> = SETTABLE_ATTRIBUTES.iter().map(|a| format!("\"{a}\"")).collect();
        for line in [
            format!("export const SETTABLE_ATTRIBUTES = [{}];", list.join(", ")),
            format!("export const MAX_VALUE = {MAX_VALUE};"),
            format!("export const MAX_CSS = {MAX_CSS};"),
            format!("export const MAX_CHANGES = {MAX_CHANGES};"),
        ] {
            assert!(js.lines().any(|l| l == line), "studio/ui/editor-rules.js lacks: {line}");
        }
    }
}
