//! Loading experiments: variations, weights, namespaces, URL targeting and redirects.

use super::{index, join, Loader};
use crate::engine::condition::Path;
use crate::engine::hash::{bucket_ranges, equal_weights};
use crate::engine::json::{quoted, Value};
use crate::engine::page::{redirect_loops, UrlPattern};
use crate::engine::ruleset::*;

impl<const FULL: bool> Loader<'_, FULL> {
    pub(super) fn experiment(&mut self, e: &Value, path: &str, rs: &Ruleset) -> Option<Experiment> {
        // `metrics` is read by the server's results report (it checks them on publish); the
        // browser does not use them.
        const FIELDS: [&str; 19] = [
            "key",
            "description",
            "metrics",
            "urlPatterns",
            "seed",
            "hashAttribute",
            "fallbackAttribute",
            "hashVersion",
            "coverage",
            "weights",
            "variations",
            "audience",
            "audiences",
            "condition",
            "namespace",
            "holdout",
            "bucketVersion",
            "active",
            "name",
        ];
        let m = self.object(e, path, &FIELDS)?;
        let key = self.string(m, "key", path, true);
        let seed = self.string(m, "seed", path, false).or_else(|| key.clone()).unwrap_or_default();
        let hash_attribute = self.string(m, "hashAttribute", path, false).unwrap_or_else(|| "id".to_string());
        let fallback_attribute = match m.get("fallbackAttribute") {
            Some(Value::Null) => None,
            _ => Some(self.string(m, "fallbackAttribute", path, false).unwrap_or_else(|| "anonymousId".to_string())),
        };
        let hash_version = self.hash_version(m, path);
        let coverage = self.number(m, "coverage", path, 0.0, 1.0).unwrap_or(1.0);
        let url_patterns = self.url_patterns(m.get("urlPatterns"), path);
        let mut variations = Vec::new();
        match m.get("variations") {
            Some(Value::Array(a)) if a.len() >= 2 => {
                for (i, v) in a.iter().enumerate() {
                    if let Some(v) = self.variation(v, &index(&join(path, "variations"), i), i, rs) {
                        variations.push(v);
                    }
                }
            }
            _ => self
                .err(join(path, "variations"), why!("expected an array", "expected an array of at least 2 variations")),
        }
        let n = m.get("variations").and_then(Value::as_array).map_or(0, Vec::len);
        if variations.len() == n {
            self.redirects(&variations, &url_patterns, path);
        }
        let weights = match m.get("weights") {
            None => equal_weights(n),
            Some(Value::Array(a)) => {
                let w: Vec<f64> = a.iter().filter_map(Value::as_f64).filter(|w| *w >= 0.0).collect();
                let total: f64 = w.iter().sum();
                if w.len() != a.len() || a.len() != n {
                    self.err(
                        join(path, "weights"),
                        why!(
                            "expected one number per variation",
                            "expected {n} non-negative numbers, one per variation"
                        ),
                    );
                } else if !(0.99..=1.01).contains(&total) {
                    self.err(join(path, "weights"), why!("invalid value", "must add up to 1"));
                }
                w
            }
            Some(_) => {
                self.err(join(path, "weights"), why!("expected an array", "expected an array of numbers"));
                Vec::new()
            }
        };
        let audiences = self.audience_refs(m, path, &rs.audiences);
        let condition = m.get("condition").and_then(|c| self.condition(c, &join(path, "condition")));
        let namespace = match m.get("namespace") {
            None => None,
            Some(Value::Array(a)) => match (
                a.first().and_then(Value::as_str),
                a.get(1).and_then(Value::as_f64),
                a.get(2).and_then(Value::as_f64),
            ) {
                (Some(id), Some(s), Some(e))
                    if a.len() == 3 && (0.0..=1.0).contains(&s) && (0.0..=1.0).contains(&e) && s < e =>
                {
                    Some(Namespace { id: id.to_string(), start: s, end: e })
                }
                _ => {
                    self.err(
                        join(path, "namespace"),
                        why!("invalid value", "expected [id, start, end] with 0 <= start < end <= 1"),
                    );
                    None
                }
            },
            Some(_) => {
                self.err(join(path, "namespace"), why!("expected an array", "expected [id, start, end]"));
                None
            }
        };
        let holdout = self.number(m, "holdout", path, 0.0, 1.0).unwrap_or(0.0);
        let bucket_version = self.integer(m, "bucketVersion", path, 0).unwrap_or(0);
        let active = self.boolean(m, "active", path).unwrap_or(true);
        let ranges = bucket_ranges(n, coverage, Some(&weights));
        Some(Experiment {
            key: key?,
            seed,
            hash_path: Path::parse(&hash_attribute),
            hash_attribute,
            fallback_path: fallback_attribute.as_deref().map(Path::parse),
            fallback_attribute,
            hash_version,
            coverage,
            weights,
            ranges,
            variations,
            audiences,
            condition,
            namespace,
            holdout,
            bucket_version,
            active,
            url_patterns,
        })
    }

    /// Redirect variations: never the control, nothing else to change on the page they
    /// leave, and a target outside the experiment's own pages, so a redirect cannot loop.
    fn redirects(&mut self, variations: &[Variation], patterns: &[UrlPattern], path: &str) {
        let mut changes_page = false;
        for (i, v) in variations.iter().enumerate() {
            changes_page |= !v.page.is_empty();
            let Some(r) = &v.page.redirect else { continue };
            let p = join(&index(&join(path, "variations"), i), "redirect");
            if i == 0 {
                self.err(
                    p,
                    why!(
                        "the control cannot redirect",
                        "the control (variation 0) cannot redirect: shoppers outside the experiment see it"
                    ),
                );
            } else if patterns.is_empty() {
                self.err(
                    p,
                    why!("needs urlPatterns", "a redirect needs urlPatterns: without them the experiment runs on every page, the target's too"),
                );
            } else if redirect_loops(patterns, &r.url) {
                self.err(
                    join(&p, "url"),
                    why!(
                        "would redirect again",
                        "redirect target {} matches the experiment's urlPatterns: it would redirect again",
                        quoted(&r.url)
                    ),
                );
            } else if v.page.changes.is_some() || v.page.css.is_some() {
                self.err(
                    p,
                    why!(
                        "cannot also change the page",
                        "a redirect variation leaves the page: it cannot also have changes or css"
                    ),
                );
            }
        }
        if changes_page && patterns.is_empty() {
            self.warnings.push(ValidationError {
                path: join(path, "urlPatterns"),
                reason: "the experiment changes the page but has no urlPatterns: its changes apply on every page"
                    .into(),
            });
        }
    }

    fn variation(&mut self, v: &Value, path: &str, i: usize, rs: &Ruleset) -> Option<Variation> {
        let m = self.object(v, path, &["key", "name", "value", "offers", "changes", "css", "redirect"])?;
        let key = self.string(m, "key", path, false).unwrap_or_else(|| i.to_string());
        let value = m.get("value").cloned().unwrap_or(Value::Null);
        self.urls_in(&value, &join(path, "value"));
        let mut offers = Vec::new();
        match m.get("offers") {
            None => {}
            Some(Value::Object(om)) => {
                for (id, content) in om.iter() {
                    let p = join(&join(path, "offers"), id);
                    let Some(ix) = rs.offer_index(id) else {
                        self.err(p, "unknown offer");
                        continue;
                    };
                    match content {
                        Value::Object(cm) => {
                            self.content_fields(cm, &p, false);
                            offers.push((ix, cm.clone()));
                        }
                        _ => self.err(p, why!("expected an object", "expected an object of content fields to replace")),
                    }
                }
            }
            Some(_) => self.err(
                join(path, "offers"),
                why!("expected an object", "expected an object {{offerId: content fields}}"),
            ),
        }
        let page = self.page_changes(m, path, true);
        Some(Variation { key, value, offers, page })
    }
}
