//! Loading offers: fields, content (URL fields checked), score, time window and cap.

use super::{index, join, parse_iso_time, Loader};
use crate::engine::condition::Path;
use crate::engine::json::{Map, Value};
use crate::engine::ruleset::*;
use crate::engine::url::{is_url_field, url_problem};

impl<const FULL: bool> Loader<'_, FULL> {
    pub(super) fn offer(&mut self, o: &Value, path: &str, rs: &Ruleset, ids: &[Option<&str>]) -> Option<Offer> {
        const FIELDS: [&str; 16] = [
            "id",
            "description",
            "placements",
            "content",
            "changes",
            "css",
            "audience",
            "audiences",
            "condition",
            "priority",
            "score",
            "window",
            "cap",
            "maxClicks",
            "excludes",
            "holdoutExempt",
        ];
        let m = self.object(o, path, &FIELDS)?;
        let id = self.string(m, "id", path, true);
        let mut placements = Vec::new();
        match m.get("placements") {
            Some(Value::Array(a)) if !a.is_empty() => {
                for (i, p) in a.iter().enumerate() {
                    match p.as_str().and_then(|p| rs.placement_index(p)) {
                        Some(ix) => placements.push(ix),
                        None => self.err(
                            index(&join(path, "placements"), i),
                            why!("unknown placement", "unknown placement {}", p.to_json()),
                        ),
                    }
                }
            }
            _ => self.err(
                join(path, "placements"),
                why!("expected an array", "expected a non-empty array of placement ids"),
            ),
        }
        let content = match m.get("content") {
            Some(c @ Value::Object(cm)) => {
                let cpath = join(path, "content");
                self.content_fields(cm, &cpath, true);
                c.clone()
            }
            Some(_) => {
                self.err(
                    join(path, "content"),
                    why!("expected an object", "expected an object {{title, body, image?, cta, url}}"),
                );
                Value::Null
            }
            None => {
                self.err(join(path, "content"), "is required");
                Value::Null
            }
        };
        let audiences = self.audience_refs(m, path, &rs.audiences);
        let condition = m.get("condition").and_then(|c| self.condition(c, &join(path, "condition")));
        let priority = self.number(m, "priority", path, f64::MIN, f64::MAX).unwrap_or(0.0);
        let score = self.score(m.get("score"), &join(path, "score"));
        let (start, end) = match m.get("window") {
            None => (None, None),
            Some(w) => self.window(w, &join(path, "window")),
        };
        let caps = match m.get("cap") {
            None => Vec::new(),
            Some(Value::Array(a)) => {
                let p = join(path, "cap");
                a.iter().enumerate().filter_map(|(i, c)| self.cap(c, &index(&p, i))).collect()
            }
            Some(c) => self.cap(c, &join(path, "cap")).into_iter().collect(),
        };
        let max_clicks = self.integer(m, "maxClicks", path, 1);
        let mut excludes = Vec::new();
        match m.get("excludes") {
            None => {}
            Some(Value::Array(a)) => {
                for (i, x) in a.iter().enumerate() {
                    let p = index(&join(path, "excludes"), i);
                    match x.as_str().and_then(|x| ids.iter().position(|id| *id == Some(x))) {
                        Some(_) if x.as_str() == id.as_deref() => {
                            self.err(p, why!("excludes itself", "an offer cannot exclude itself"))
                        }
                        Some(j) => excludes.push(j),
                        None => self.err(p, why!("unknown offer", "unknown offer {}", x.to_json())),
                    }
                }
            }
            Some(_) => self.err(join(path, "excludes"), why!("expected an array", "expected an array of offer ids")),
        }
        let holdout_exempt = self.boolean(m, "holdoutExempt", path).unwrap_or(false);
        let page = self.page_changes(m, path, false);
        Some(Offer {
            id: id?,
            placements,
            content,
            audiences,
            condition,
            priority,
            score,
            start,
            end,
            caps,
            max_clicks,
            excludes,
            holdout_exempt,
            page,
        })
    }

    /// `title`, `body`, `image`, `cta` and `url` are strings when present; `title` is
    /// required in an offer's own content. Other fields are the shop's own.
    pub(super) fn content_fields(&mut self, cm: &Map, path: &str, need_title: bool) {
        for k in ["title", "body", "image", "cta", "url"] {
            match cm.get(k) {
                Some(Value::String(_)) => {}
                Some(Value::Null) if !need_title => {}
                Some(_) => self.err(join(path, k), "expected a string"),
                None if k == "title" && need_title => self.err(join(path, k), "is required"),
                None => {}
            }
        }
        self.urls(cm, path);
    }

    /// Every URL-like field (`url`, `image`, `*Url`, ..., see [`is_url_field`]) holding a
    /// string passes [`url_problem`]: only http(s) and relative URLs reach a page. Nested
    /// objects and arrays (experiment values) are searched too.
    fn urls(&mut self, m: &Map, path: &str) {
        for (k, v) in m.iter() {
            let p = join(path, k);
            match v {
                Value::String(u) if is_url_field(k) => {
                    if let Some(why) = url_problem(u) {
                        self.err(
                            p,
                            why!(
                                "URL is refused",
                                "URL {} is refused: it {why} (only http:, https: and relative URLs)",
                                v.to_json()
                            ),
                        );
                    }
                }
                _ => self.urls_in(v, &p),
            }
        }
    }

    pub(super) fn urls_in(&mut self, v: &Value, path: &str) {
        match v {
            Value::Object(m) => self.urls(m, path),
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    self.urls_in(x, &index(path, i));
                }
            }
            _ => {}
        }
    }

    fn score(&mut self, v: Option<&Value>, path: &str) -> Vec<ScoreTerm> {
        let mut out = Vec::new();
        let one = |l: &mut Self, t: &Value, p: &str| {
            let m = l.object(t, p, &["path", "weight"])?;
            let attr = l.string(m, "path", p, true)?;
            let weight = l.number(m, "weight", p, f64::MIN, f64::MAX).unwrap_or(1.0);
            Some(ScoreTerm { path: Path::parse(&attr), weight })
        };
        match v {
            None => {}
            Some(Value::Array(a)) => {
                for (i, t) in a.iter().enumerate() {
                    if let Some(t) = one(self, t, &index(path, i)) {
                        out.push(t);
                    }
                }
            }
            Some(t) => out.extend(one(self, t, path)),
        }
        out
    }

    fn window(&mut self, w: &Value, path: &str) -> (Option<f64>, Option<f64>) {
        let Some(m) = self.object(w, path, &["start", "end"]) else {
            return (None, None);
        };
        let time = |l: &mut Self, key: &str| match m.get(key) {
            None => None,
            Some(Value::Number(n)) if n.is_finite() => Some(*n),
            Some(Value::String(s)) => {
                match parse_iso_time(s) {
                    Some(t) => Some(t),
                    None => {
                        l.err(
                        join(path, key),
                        why!("invalid time", "expected milliseconds since the epoch or an ISO 8601 time such as 2026-12-01T00:00:00Z"),
                    );
                        None
                    }
                }
            }
            Some(_) => {
                l.err(
                    join(path, key),
                    why!("invalid time", "expected milliseconds since the epoch or an ISO 8601 time"),
                );
                None
            }
        };
        let start = time(self, "start");
        let end = time(self, "end");
        if let (Some(s), Some(e)) = (start, end) {
            if e <= s {
                self.err(join(path, "end"), "must be after start");
            }
        }
        (start, end)
    }

    fn cap(&mut self, c: &Value, path: &str) -> Option<Cap> {
        let m = self.object(c, path, &["max", "per"])?;
        let max = self.integer(m, "max", path, 1);
        if max.is_none() && !m.contains_key("max") {
            self.err(join(path, "max"), "is required");
        }
        let per = match m.get("per").and_then(Value::as_str) {
            Some("hour") => Some(Period::Hour),
            Some("day") => Some(Period::Day),
            Some("week") => Some(Period::Week),
            Some("session") => Some(Period::Session),
            _ => {
                self.err(
                    join(path, "per"),
                    why!("invalid value", "expected one of \"hour\", \"day\", \"week\", \"session\""),
                );
                None
            }
        };
        Some(Cap { max: max?, per: per? })
    }
}
