//! Reading and checking a ruleset document into its compiled form ([`Ruleset`]).
//!
//! One loader, in two builds (`Loader<FULL>`):
//! - the full validator (`Ruleset::compile_full`, and [`Ruleset::compile`] with the
//!   `full-checks` feature: the server, the CLI, the Studio, the native tests) reports every
//!   problem with its JSON path and a sentence
//!   (`offers[3].cap.per: expected one of "hour", "day", "week", "session"`);
//! - the lean loader ([`Ruleset::compile_lean`], and [`Ruleset::compile`] without the
//!   feature: the shopper's module) runs the same checks in the same order, but each problem
//!   is its path and a short text (`offers[3].cap.per: invalid value`), so the sentences and
//!   the code that formats them are not in the shopper's module (`docs/ruleset.md`, "Where
//!   each check runs").
//!
//! Either way a ruleset with any error is rejected whole, and both compile a valid ruleset to
//! the same [`Ruleset`]. One file per part of the format: offers (`offer.rs`), experiments
//! (`experiment.rs`), page changes and URL targeting (`page.rs`); this file holds the shared
//! field readers, the top level, saved groups and the holdout.

mod experiment;
mod offer;
mod page;

use super::condition::{Condition, Path};
use super::json::{join_strs, write_plain_number, Map, Value};
use super::regex::RegexCompiler;
use super::ruleset::*;

impl Ruleset {
    /// Parses, validates and compiles a ruleset document ([`Ruleset::compile`]).
    pub fn parse(text: &str, regex: &dyn RegexCompiler) -> Result<Ruleset, Vec<ValidationError>> {
        match Value::parse(text) {
            Ok(v) => Ruleset::compile(&v, regex),
            Err(e) => Err(vec![ValidationError { path: String::new(), reason: e.to_string() }]),
        }
    }

    /// Validates and compiles a parsed ruleset: with the `full-checks` feature the full
    /// validator (`Ruleset::compile_full`), without it the lean loader
    /// ([`Ruleset::compile_lean`]).
    pub fn compile(doc: &Value, regex: &dyn RegexCompiler) -> Result<Ruleset, Vec<ValidationError>> {
        #[cfg(feature = "full-checks")]
        return Ruleset::compile_full(doc, regex);
        #[cfg(not(feature = "full-checks"))]
        return Ruleset::compile_lean(doc, regex);
    }

    /// The full validator: every problem with its path and a sentence saying what was wrong.
    #[cfg(feature = "full-checks")]
    pub fn compile_full(doc: &Value, regex: &dyn RegexCompiler) -> Result<Ruleset, Vec<ValidationError>> {
        Loader::<true>::run(doc, regex)
    }

    /// The lean loader of the shopper's module: the same checks, so the same rulesets
    /// accepted and compiled to the same [`Ruleset`], as `Ruleset::compile_full`, but each
    /// problem is its path and a short text.
    pub fn compile_lean(doc: &Value, regex: &dyn RegexCompiler) -> Result<Ruleset, Vec<ValidationError>> {
        Loader::<false>::run(doc, regex)
    }
}

impl<'a, const FULL: bool> Loader<'a, FULL> {
    fn run(doc: &'a Value, regex: &dyn RegexCompiler) -> Result<Ruleset, Vec<ValidationError>> {
        let regex = super::regex::SharedPatterns::new(regex);
        let mut l = Loader::<FULL> { regex: &regex, errors: Vec::new(), warnings: Vec::new(), groups: &NULL };
        let rs = l.ruleset(doc);
        if l.errors.is_empty() {
            let mut rs = rs;
            rs.warnings = l.warnings;
            Ok(rs)
        } else {
            Err(l.errors)
        }
    }
}

static NULL: Value = Value::Null;

/// `path.key`, or `path["key"]` when the key is not a plain identifier.
fn join(path: &str, key: &str) -> String {
    let plain = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$');
    if plain {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    } else {
        let mut quoted = String::new();
        super::json::write_string(key, &mut quoted);
        format!("{path}[{quoted}]")
    }
}

fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// The loader: `FULL` is the full validator (sentences), else the lean loader (short texts).
struct Loader<'a, const FULL: bool> {
    regex: &'a dyn RegexCompiler,
    errors: Vec<ValidationError>,
    warnings: Vec<ValidationError>,
    groups: &'a Value,
}

impl<'a, const FULL: bool> Loader<'a, FULL> {
    fn err(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(ValidationError { path: path.into(), reason: reason.into() });
    }

    /// `v` as an object whose fields are all in `allowed`.
    fn object<'v>(&mut self, v: &'v Value, path: &str, allowed: &[&str]) -> Option<&'v Map> {
        match v {
            Value::Object(m) => {
                for k in m.keys() {
                    if !allowed.contains(&k) {
                        self.err(
                            join(path, k),
                            why!("unknown field", "unknown field (expected one of {})", join_strs(allowed, ", ")),
                        );
                    }
                }
                Some(m)
            }
            other => {
                self.err(path, why!("expected an object", "expected an object, found {}", other.type_name()));
                None
            }
        }
    }

    fn string(&mut self, m: &Map, key: &str, path: &str, required: bool) -> Option<String> {
        match m.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::String(_)) => {
                self.err(join(path, key), "must not be empty");
                None
            }
            Some(other) => {
                self.err(join(path, key), why!("expected a string", "expected a string, found {}", other.type_name()));
                None
            }
            None if required => {
                self.err(join(path, key), "is required");
                None
            }
            None => None,
        }
    }

    fn number(&mut self, m: &Map, key: &str, path: &str, min: f64, max: f64) -> Option<f64> {
        match m.get(key) {
            None => None,
            Some(Value::Number(n)) if *n >= min && *n <= max => Some(*n),
            Some(Value::Number(_)) => {
                let mut reason = String::from(if FULL { "expected a number from " } else { "out of range" });
                if FULL {
                    write_plain_number(min, &mut reason);
                    reason.push_str(" to ");
                    write_plain_number(max, &mut reason);
                }
                self.err(join(path, key), reason);
                None
            }
            Some(other) => {
                self.err(join(path, key), why!("expected a number", "expected a number, found {}", other.type_name()));
                None
            }
        }
    }

    fn integer(&mut self, m: &Map, key: &str, path: &str, min: u32) -> Option<u32> {
        match m.get(key) {
            None => None,
            Some(Value::Number(n)) if n.fract() == 0.0 && *n >= min as f64 && *n <= u32::MAX as f64 => Some(*n as u32),
            Some(_) => {
                self.err(join(path, key), why!("expected a whole number", "expected a whole number of at least {min}"));
                None
            }
        }
    }

    fn boolean(&mut self, m: &Map, key: &str, path: &str) -> Option<bool> {
        match m.get(key) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                self.err(
                    join(path, key),
                    why!("expected true or false", "expected true or false, found {}", other.type_name()),
                );
                None
            }
        }
    }

    fn condition(&mut self, v: &Value, path: &str) -> Option<Condition> {
        if !matches!(v, Value::Object(_)) {
            self.err(path, why!("expected an object", "expected a condition object, found {}", v.type_name()));
            return None;
        }
        let (c, issues) = Condition::compile_checked(v, self.groups, self.regex);
        for i in issues {
            let e = ValidationError { path: format!("{path}{}", i.path), reason: i.reason };
            if i.error {
                self.errors.push(e);
            } else {
                self.warnings.push(e);
            }
        }
        Some(c)
    }

    fn hash_version(&mut self, m: &Map, path: &str) -> HashVersion {
        match m.get("hashVersion") {
            None => HashVersion::V2,
            Some(Value::Number(n)) if *n == 1.0 => HashVersion::V1,
            Some(Value::Number(n)) if *n == 2.0 => HashVersion::V2,
            Some(Value::String(s)) if s == "murmur3" => HashVersion::Murmur3,
            Some(_) => {
                self.err(join(path, "hashVersion"), "expected 1, 2 or \"murmur3\"");
                HashVersion::V2
            }
        }
    }

    fn audience_refs(&mut self, m: &Map, path: &str, audiences: &[Audience]) -> Vec<usize> {
        // The names as written; their paths are only built for an error.
        let (key, names): (&str, &[Value]) = match (m.get("audience"), m.get("audiences")) {
            (Some(v), None) => ("audience", std::slice::from_ref(v)),
            (None, Some(Value::Array(a))) => ("audiences", a),
            (None, Some(_)) => {
                self.err(join(path, "audiences"), why!("expected an array", "expected an array of audience names"));
                return Vec::new();
            }
            (Some(_), Some(_)) => {
                self.err(
                    join(path, "audience"),
                    why!("both audience and audiences", "use either audience or audiences, not both"),
                );
                return Vec::new();
            }
            (None, None) => return Vec::new(),
        };
        let mut out = Vec::new();
        for (i, v) in names.iter().enumerate() {
            match v.as_str().and_then(|n| audiences.iter().position(|a| a.name == n)) {
                Some(ix) => out.push(ix),
                None => {
                    let p = join(path, key);
                    let p = if key == "audiences" { index(&p, i) } else { p };
                    self.err(p, why!("unknown audience", "unknown audience {}", v.to_json()));
                }
            }
        }
        out
    }

    fn ruleset(&mut self, doc: &'a Value) -> Ruleset {
        let mut rs = Ruleset {
            id: None,
            placements: Vec::new(),
            offers: Vec::new(),
            experiments: Vec::new(),
            holdout: None,
            audiences: Vec::new(),
            warnings: Vec::new(),
        };
        const FIELDS: [&str; 9] = [
            "version",
            "id",
            "description",
            "savedGroups",
            "audiences",
            "holdout",
            "placements",
            "offers",
            "experiments",
        ];
        let Some(m) = self.object(doc, "", &FIELDS) else {
            return rs;
        };
        match m.get("version") {
            Some(Value::Number(n)) if *n == FORMAT_VERSION => {}
            Some(_) => {
                self.err("version", why!("unsupported version", "unsupported version (this engine reads version 1)"))
            }
            None => self.err("version", "is required (1)"),
        }
        rs.id = self.string(m, "id", "", false);
        if let Some(d) = m.get("description") {
            if d.as_str().is_none() {
                self.err("description", "expected a string");
            }
        }
        if let Some(g) = m.get("savedGroups") {
            self.saved_groups(g);
            self.groups = g;
        }
        // Audiences: any names are allowed, so they are read without the unknown-field check.
        match m.get("audiences") {
            None => {}
            Some(Value::Object(am)) => {
                for (name, c) in am.iter() {
                    if let Some(condition) = self.condition(c, &join("audiences", name)) {
                        rs.audiences.push(Audience { name: name.to_string(), condition });
                    }
                }
            }
            Some(other) => self.err(
                "audiences",
                why!("expected an object", "expected an object of named conditions, found {}", other.type_name()),
            ),
        }
        if let Some(h) = m.get("holdout") {
            rs.holdout = self.holdout(h);
        }
        match m.get("placements") {
            Some(Value::Object(pm)) => {
                for (id, p) in pm.iter() {
                    let path = join("placements", id);
                    let Some(pm) = self.object(p, &path, &["limit", "description"]) else {
                        continue;
                    };
                    let limit = self.integer(pm, "limit", &path, 1).unwrap_or(1) as usize;
                    rs.placements.push(Placement { id: id.to_string(), limit });
                }
            }
            Some(other) => self.err(
                "placements",
                why!("expected an object", "expected an object of placements, found {}", other.type_name()),
            ),
            None => self.err("placements", "is required"),
        }
        // Offers are read in two passes: ids first, so exclusions and experiments can
        // refer to any offer.
        let offers: &[Value] = match m.get("offers") {
            Some(Value::Array(a)) => a,
            Some(other) => {
                self.err("offers", why!("expected an array", "expected an array, found {}", other.type_name()));
                &[]
            }
            None => &[],
        };
        let ids: Vec<Option<&str>> = offers.iter().map(|o| o.get("id").and_then(Value::as_str)).collect();
        for (i, id) in ids.iter().enumerate() {
            if let Some(id) = id {
                if ids[..i].contains(&Some(id)) {
                    self.err(format!("offers[{i}].id"), why!("duplicate", "duplicate offer id \"{id}\""));
                }
            }
        }
        for (i, o) in offers.iter().enumerate() {
            if let Some(offer) = self.offer(o, &index("offers", i), &rs, &ids) {
                rs.offers.push(offer);
            }
        }
        // Exclusions are symmetric.
        let pairs: Vec<(usize, usize)> =
            rs.offers.iter().enumerate().flat_map(|(i, o)| o.excludes.iter().map(move |&j| (i, j))).collect();
        for (i, j) in pairs {
            if let Some(o) = rs.offers.get_mut(j) {
                if !o.excludes.contains(&i) {
                    o.excludes.push(i);
                }
            }
        }
        match m.get("experiments") {
            Some(Value::Array(a)) => {
                for (i, e) in a.iter().enumerate() {
                    let path = index("experiments", i);
                    if let Some(x) = self.experiment(e, &path, &rs) {
                        if rs.experiments.iter().any(|y| y.key == x.key) {
                            self.err(join(&path, "key"), why!("duplicate", "duplicate experiment key \"{}\"", x.key));
                        }
                        rs.experiments.push(x);
                    }
                }
            }
            Some(other) => {
                self.err("experiments", why!("expected an array", "expected an array, found {}", other.type_name()))
            }
            None => {}
        }
        rs
    }

    fn saved_groups(&mut self, g: &Value) {
        match g {
            Value::Object(m) => {
                for (id, v) in m.iter() {
                    if !matches!(v, Value::Array(_) | Value::Object(_)) {
                        self.err(
                            join("savedGroups", id),
                            why!("invalid group", "expected a list of values or a condition"),
                        );
                    }
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    let path = index("savedGroups", i);
                    let Some(m) = self.object(v, &path, &["id", "values", "condition", "description"]) else {
                        continue;
                    };
                    self.string(m, "id", &path, true);
                    match (m.get("values"), m.get("condition")) {
                        (Some(Value::Array(_)), None) | (None, Some(Value::Object(_))) => {}
                        _ => self.err(
                            path,
                            why!("invalid group", "expected either values (an array) or condition (an object)"),
                        ),
                    }
                }
            }
            _ => self.err("savedGroups", why!("expected an object", "expected an object or an array")),
        }
    }

    fn holdout(&mut self, h: &Value) -> Option<Holdout> {
        let path = "holdout";
        let m = self.object(h, path, &["percent", "seed", "hashAttribute", "fallbackAttribute", "hashVersion"])?;
        let percent = self.number(m, "percent", path, 0.0, 1.0);
        if percent.is_none() && !m.contains_key("percent") {
            self.err(join(path, "percent"), why!("is required", "is required (a share from 0 to 1)"));
        }
        let seed = self.string(m, "seed", path, false).unwrap_or_else(|| "tailor-holdout".to_string());
        let hash_attribute = self.string(m, "hashAttribute", path, false).unwrap_or_else(|| "id".to_string());
        let fallback = self.string(m, "fallbackAttribute", path, false).or_else(|| Some("anonymousId".to_string()));
        let hash_version = self.hash_version(m, path);
        Some(Holdout {
            seed,
            hash_path: Path::parse(&hash_attribute),
            hash_attribute,
            fallback_path: fallback.as_deref().map(Path::parse),
            hash_version,
            percent: percent.unwrap_or(0.0),
        })
    }
}

/// Milliseconds since the epoch for `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS[.sss]](Z|±HH:MM)`.
pub fn parse_iso_time(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    if b.len() == 10 {
        return Some(days as f64 * 86_400_000.0);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return None;
    }
    let (h, mi) = (num(11, 2)?, num(14, 2)?);
    let mut i = 16;
    let mut secs = 0.0;
    if b.get(i) == Some(&b':') {
        secs = num(17, 2)? as f64;
        i = 19;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut j = start;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            if j == start {
                return None;
            }
            secs += crate::engine::json::parse_number(std::str::from_utf8(&b[i..j]).ok()?)?;
            i = j;
        }
    }
    if h > 23 || mi > 59 || secs >= 61.0 {
        return None;
    }
    let offset_min = match b.get(i) {
        Some(b'Z' | b'z') if b.len() == i + 1 => 0,
        Some(sign @ (b'+' | b'-')) if b.len() == i + 6 && b.get(i + 3) == Some(&b':') => {
            let m = num(i + 1, 2)? * 60 + num(i + 4, 2)?;
            if *sign == b'+' {
                m
            } else {
                -m
            }
        }
        _ => return None,
    };
    let t = days as f64 * 86_400_000.0 + ((h * 60 + mi - offset_min) * 60) as f64 * 1000.0 + secs * 1000.0;
    Some(t.round())
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::regex::NoRegex;

    #[test]
    fn audience_membership_follows_the_attributes() {
        let rs = Ruleset::parse(
            r#"{"version":1,"placements":{},"offers":[],"audiences":{
                "buyer":{"profile.orders.count":{"$gte":1}},
                "shoe-lover":{"profile.topCategory":"shoes"},
                "mobile":{"context.device":"mobile"}}}"#,
            &NoRegex,
        )
        .unwrap();
        let at = |json: &str| Value::parse(json).unwrap();
        assert!(rs.audiences_of(&at(r#"{"profile":{"orders":{"count":0}}}"#)).is_empty());
        let both = at(r#"{"profile":{"orders":{"count":2},"topCategory":"shoes"},"context":{"device":"desktop"}}"#);
        let mut names = rs.audiences_of(&both);
        names.sort_unstable();
        assert_eq!(names, ["buyer", "shoe-lover"]);
    }

    #[test]
    fn iso_times() {
        assert_eq!(parse_iso_time("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_iso_time("2026-12-01T00:00:00Z"), Some(1_796_083_200_000.0));
        assert_eq!(parse_iso_time("2026-12-01T01:00:00+01:00"), Some(1_796_083_200_000.0));
        assert_eq!(parse_iso_time("2026-12-01"), Some(1_796_083_200_000.0));
        assert_eq!(parse_iso_time("2026-13-01"), None);
        assert_eq!(parse_iso_time("2026-12-01T00:00:00"), None);
    }

    #[test]
    fn reports_every_error_with_its_path() {
        let text = r#"{"version":1,"placements":{"home-hero":{"limit":1}},
          "offers":[{"id":"a","placements":["home-hero"],"content":{"title":"A"},"cap":{"max":3,"per":"month"}},
                    {"id":"a","placements":["nowhere"],"content":{"title":"B"},"priorty":2}]}"#;
        let errors = Ruleset::parse(text, &NoRegex).err().unwrap();
        let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            lines.contains(&r#"offers[0].cap.per: expected one of "hour", "day", "week", "session""#.to_string()),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l.starts_with("offers[1].id: duplicate")), "{lines:?}");
        assert!(lines.iter().any(|l| l.starts_with("offers[1].placements[0]: unknown placement")), "{lines:?}");
        assert!(lines.iter().any(|l| l.starts_with("offers[1].priorty: unknown field")), "{lines:?}");
    }
}
