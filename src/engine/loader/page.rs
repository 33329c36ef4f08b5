//! Loading page changes (`changes`, `css`, `redirect`) and URL patterns, with the safety
//! rules of [`crate::engine::page`] applied to every value.

use super::{index, join, Loader};
use crate::engine::json::{join_strs, quoted, Map, Value};
use crate::engine::page::*;
#[cfg(not(target_arch = "wasm32"))]
use crate::engine::regex::check_backtracking;
use crate::engine::url::url_problem;

impl<const FULL: bool> Loader<'_, FULL> {
    /// `urlPatterns` of experiment `path`: 1 to 20 `{ type, pattern, include? }`.
    pub(super) fn url_patterns(&mut self, v: Option<&Value>, path: &str) -> Vec<UrlPattern> {
        let mut out = Vec::new();
        let path = join(path, "urlPatterns");
        let list = match v {
            None => return out,
            Some(Value::Array(a)) if (1..=MAX_URL_PATTERNS).contains(&a.len()) => a,
            Some(_) => {
                self.err(path, why!("expected an array", "expected an array of 1 to {MAX_URL_PATTERNS} URL patterns"));
                return out;
            }
        };
        for (i, p) in list.iter().enumerate() {
            let ppath = index(&path, i);
            let Some(m) = self.object(p, &ppath, &["type", "pattern", "include"]) else { continue };
            let kind = match m.get("type").and_then(Value::as_str) {
                Some("exact") => Some(UrlKind::Exact),
                Some("prefix") => Some(UrlKind::Prefix),
                Some("wildcard") => Some(UrlKind::Wildcard),
                Some("regex") => Some(UrlKind::Regex),
                _ => {
                    let found =
                        if FULL { m.get("type").map_or("nothing".into(), Value::to_json) } else { String::new() };
                    self.err(
                        join(&ppath, "type"),
                        why!(
                            "invalid value",
                            "expected one of \"exact\", \"prefix\", \"wildcard\", \"regex\", found {found}"
                        ),
                    );
                    None
                }
            };
            let pattern = self.string(m, "pattern", &ppath, true);
            let include = self.boolean(m, "include", &ppath).unwrap_or(true);
            let (Some(kind), Some(pattern)) = (kind, pattern) else { continue };
            let pat_path = join(&ppath, "pattern");
            if pattern.len() > 1024 {
                self.err(pat_path, why!("too long", "is longer than 1024 bytes"));
                continue;
            }
            let mut regex = None;
            if kind == UrlKind::Regex {
                #[cfg(not(target_arch = "wasm32"))]
                if let Err(why) = check_backtracking(&pattern, false) {
                    self.err(
                        pat_path,
                        why!("pattern is refused", "pattern {} is rejected: it {why}", quoted(&pattern)),
                    );
                    continue;
                }
                regex = self.regex.compile(&pattern, false);
                if regex.is_none() {
                    self.err(
                        pat_path,
                        why!("pattern does not compile", "pattern {} does not compile", quoted(&pattern)),
                    );
                    continue;
                }
            } else if pattern.contains('#') {
                self.err(
                    pat_path,
                    why!("has a fragment", "must not have a fragment (#...): the page URL's fragment is ignored"),
                );
                continue;
            } else if !(pattern.starts_with('/')
                || pattern.contains("://")
                || kind == UrlKind::Wildcard && pattern.starts_with('*'))
            {
                self.err(
                    pat_path,
                    why!("invalid value", "expected a path starting with / or an absolute URL (https://host/...)"),
                );
                continue;
            }
            out.push(UrlPattern::new(kind, pattern, include, regex));
        }
        if !out.is_empty() && !out.iter().any(|p| p.include) {
            self.err(
                path,
                why!("needs an include pattern", "needs at least one include pattern (include: true, the default)"),
            );
        }
        out
    }

    /// The page-change fields of a variation (`redirect` allowed) or an offer.
    pub(super) fn page_changes(&mut self, m: &Map, path: &str, allow_redirect: bool) -> PageChanges {
        let mut out = PageChanges::default();
        match m.get("changes") {
            None => {}
            Some(Value::Array(a)) if a.len() <= MAX_CHANGES => {
                let p = join(path, "changes");
                for (i, c) in a.iter().enumerate() {
                    self.change(c, &index(&p, i));
                }
                if !a.is_empty() {
                    out.changes = Some(Value::Array(a.clone()));
                }
            }
            Some(_) => self.err(
                join(path, "changes"),
                why!("expected an array", "expected an array of at most {MAX_CHANGES} changes"),
            ),
        }
        match m.get("css") {
            None => {}
            Some(Value::String(css)) => {
                let p = join(path, "css");
                if too_long(css, MAX_CSS_CHARS) {
                    self.err(p, why!("too long", "is longer than {MAX_CSS_CHARS} characters"));
                } else if let Some(why) = css_problem(css) {
                    self.err(p, why!("CSS is refused", "CSS is refused: it {why}"));
                } else if !css.trim().is_empty() {
                    out.css = Some(css.clone());
                }
            }
            Some(other) => {
                self.err(join(path, "css"), why!("expected a string", "expected a string, found {}", other.type_name()))
            }
        }
        if let Some(r) = m.get("redirect").filter(|_| allow_redirect) {
            out.redirect = self.redirect(r, &join(path, "redirect"));
        }
        out
    }

    fn redirect(&mut self, r: &Value, path: &str) -> Option<Redirect> {
        let m = self.object(r, path, &["url", "keepQuery"])?;
        let url = self.string(m, "url", path, true);
        let keep_query = self.boolean(m, "keepQuery", path).unwrap_or(true);
        let url = url?;
        let why = url_problem(&url).or(if url.starts_with('/') || url.contains("://") {
            None
        } else {
            Some("is neither absolute (https://...) nor starting with /")
        });
        if let Some(why) = why {
            self.err(join(path, "url"), why!("URL is refused", "redirect URL {} is refused: it {why}", quoted(&url)));
            return None;
        }
        Some(Redirect { url, keep_query })
    }

    fn change(&mut self, c: &Value, path: &str) {
        const FIELDS: [&str; 7] = ["selector", "fingerprint", "action", "name", "value", "target", "position"];
        let Some(m) = self.object(c, path, &FIELDS) else { return };
        match m.get("selector") {
            Some(Value::String(s)) => {
                if let Some(why) = selector_problem(s) {
                    self.err(join(path, "selector"), why);
                }
            }
            Some(Value::Array(a)) if (1..=MAX_SELECTORS).contains(&a.len()) => {
                for (i, s) in a.iter().enumerate() {
                    let p = index(&join(path, "selector"), i);
                    match s.as_str().map(selector_problem) {
                        Some(None) => {}
                        Some(Some(why)) => self.err(p, why),
                        None => self.err(
                            p,
                            why!("expected a string", "expected a CSS selector string, found {}", s.type_name()),
                        ),
                    }
                }
            }
            Some(_) => self.err(
                join(path, "selector"),
                why!(
                    "expected a string or an array",
                    "expected a CSS selector or an array of 1 to {MAX_SELECTORS} selectors"
                ),
            ),
            None => self.err(join(path, "selector"), "is required"),
        }
        if let Some(f) = self.string(m, "fingerprint", path, false) {
            if too_long(&f, 200) {
                self.err(join(path, "fingerprint"), why!("too long", "is longer than 200 characters"));
            }
        }
        let action = match m.get("action") {
            Some(Value::String(a)) if ACTIONS.contains(&a.as_str()) => a.as_str(),
            Some(Value::String(a)) => {
                self.err(
                    join(path, "action"),
                    why!("unknown action", "unknown action {} (one of {})", quoted(a), join_strs(&ACTIONS, ", ")),
                );
                return;
            }
            Some(other) => {
                self.err(
                    join(path, "action"),
                    why!("expected a string", "expected a string, found {}", other.type_name()),
                );
                return;
            }
            None => {
                self.err(join(path, "action"), "is required");
                return;
            }
        };
        // Which of name, value, target and position the action uses.
        let (uses_name, uses_value, is_move) = match action {
            "attribute" | "style" => (true, true, false),
            "move" => (false, false, true),
            "hide" => (false, false, false),
            _ => (false, true, false),
        };
        let name = if uses_name {
            self.string(m, "name", path, true)
        } else {
            if m.contains_key("name") {
                self.err(
                    join(path, "name"),
                    why!("not used by this action", "is only used by the attribute and style actions"),
                );
            }
            None
        };
        let value = if uses_value {
            match m.get("value") {
                Some(Value::String(s)) => Some(s.as_str()),
                Some(other) => {
                    self.err(
                        join(path, "value"),
                        why!("expected a string", "expected a string, found {}", other.type_name()),
                    );
                    None
                }
                None => {
                    self.err(join(path, "value"), why!("is required", "is required by action {action}"));
                    None
                }
            }
        } else {
            if m.contains_key("value") {
                self.err(join(path, "value"), why!("not used by this action", "is not used by action {action}"));
            }
            None
        };
        if is_move {
            if let Some(t) = self.string(m, "target", path, true) {
                if let Some(why) = selector_problem(&t) {
                    self.err(join(path, "target"), why);
                }
            }
            match m.get("position").and_then(Value::as_str) {
                Some("before" | "after" | "prepend" | "append") => {}
                _ => self.err(
                    join(path, "position"),
                    why!(
                        "invalid value",
                        "expected one of \"before\", \"after\", \"prepend\", \"append\" (required by action move)"
                    ),
                ),
            }
        } else {
            for k in ["target", "position"] {
                if m.contains_key(k) {
                    self.err(join(path, k), why!("not used by this action", "is only used by action move"));
                }
            }
        }
        let vpath = join(path, "value");
        let Some(value) = value else { return };
        if too_long(value, MAX_VALUE_CHARS) {
            self.err(vpath, why!("too long", "is longer than {MAX_VALUE_CHARS} characters"));
            return;
        }
        match action {
            "attribute" => {
                let Some(name) = name else { return };
                if let Some(why) = attribute_check::<FULL>(&name) {
                    self.err(join(path, "name"), why);
                } else if let Some(why) = attribute_value_problem(&name, value) {
                    self.err(vpath, why!("URL is refused", "URL {} is refused: it {why}", quoted(value)));
                }
            }
            "style" => {
                let Some(name) = name else { return };
                let custom = name.starts_with("--") && name.len() > 2;
                let plain = name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
                if !(plain || custom && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
                    || css_problem(&name).is_some()
                {
                    self.err(
                        join(path, "name"),
                        why!("not a CSS property", "{} is not a CSS property name", quoted(&name)),
                    );
                } else if value.contains(['{', '}', ';']) {
                    self.err(
                        vpath,
                        why!(
                            "CSS is refused",
                            "a style value must not contain {{, }} or ; (one value of one property)"
                        ),
                    );
                } else if let Some(why) = css_problem(value) {
                    self.err(vpath, why!("CSS is refused", "CSS is refused: it {why}"));
                }
            }
            "addClass" | "removeClass" if value.split_whitespace().next().is_none() => {
                self.err(vpath, why!("expected class names", "expected one or more class names"));
            }
            a if HTML_ACTIONS.contains(&a) => {
                if let Some(why) = html_check::<FULL>(value) {
                    self.err(vpath, why!("HTML is refused", "HTML is refused: it {why}"));
                }
            }
            _ => {}
        }
    }
}
