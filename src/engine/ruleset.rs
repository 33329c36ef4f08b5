//! Ruleset v1: loading, validation and the compiled form decisions run on.
//!
//! [`Ruleset::parse`] validates the whole document and reports every problem with its JSON
//! path (`offers[3].cap.per: expected one of "hour", "day", "week", "session"`); a ruleset
//! with any error is rejected whole. A valid ruleset is compiled once: conditions and
//! audiences are compiled (regexes built, paths split), placements and offers are
//! referenced by index, bucket ranges are precomputed. The format is documented in
//! `docs/ruleset.md` and `docs/ruleset.schema.json`.

use std::fmt;

use super::condition::{Condition, Path};
use super::hash::bucket_ranges;
use super::json::{join_strs, write_plain_number, Map, Value};
use super::offer::{is_url_field, url_problem};
use super::page::{PageChanges, UrlPattern};
use super::regex::RegexCompiler;

/// The ruleset format version this engine reads.
pub const FORMAT_VERSION: f64 = 1.0;

/// One problem in a ruleset: where, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidationError {
    pub path: String,
    pub reason: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

/// A compiled, valid ruleset.
pub struct Ruleset {
    pub id: Option<String>,
    pub placements: Vec<Placement>,
    pub offers: Vec<Offer>,
    pub experiments: Vec<Experiment>,
    pub holdout: Option<Holdout>,
    pub audiences: Vec<Audience>,
    /// Accepted but worth a look (e.g. a regex the native engine cannot compile).
    pub warnings: Vec<ValidationError>,
}

pub struct Placement {
    pub id: String,
    /// How many offers the placement shows at most.
    pub limit: usize,
}

pub struct Audience {
    pub name: String,
    pub condition: Condition,
}

/// Impressions allowed per period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Period {
    Hour,
    Day,
    Week,
    Session,
}

impl Period {
    pub fn name(self) -> &'static str {
        match self {
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Week => "week",
            Period::Session => "session",
        }
    }
    /// The rolling window in milliseconds (`None` for the session).
    pub fn millis(self) -> Option<f64> {
        match self {
            Period::Hour => Some(3_600_000.0),
            Period::Day => Some(86_400_000.0),
            Period::Week => Some(604_800_000.0),
            Period::Session => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cap {
    pub max: u32,
    pub per: Period,
}

/// A weighted attribute in an offer's score, e.g. the shopper's affinity for a category.
pub struct ScoreTerm {
    pub path: Path,
    pub weight: f64,
}

pub struct Offer {
    pub id: String,
    pub placements: Vec<usize>,
    pub content: Value,
    /// Indexes into [`Ruleset::audiences`]; the shopper must be in at least one.
    pub audiences: Vec<usize>,
    pub condition: Option<Condition>,
    pub priority: f64,
    pub score: Vec<ScoreTerm>,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub caps: Vec<Cap>,
    pub max_clicks: Option<u32>,
    /// Offers that cannot appear on the same page as this one (symmetric).
    pub excludes: Vec<usize>,
    pub holdout_exempt: bool,
    /// Page changes (`changes`, `css`) applied while the offer is shown.
    pub page: PageChanges,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HashVersion {
    /// GrowthBook v1: `fnv(value + seed) % 1000 / 1000`.
    V1,
    /// GrowthBook v2 (the default).
    V2,
    /// Optimizely: MurmurHash3 of `value + seed`, bucket / 10000.
    Murmur3,
}

pub struct Variation {
    pub key: String,
    pub value: Value,
    /// Offer content overrides: (offer index, fields to replace).
    pub offers: Vec<(usize, Map)>,
    /// Page changes (`changes`, `css`, `redirect`) of this variation.
    pub page: PageChanges,
}

pub struct Namespace {
    pub id: String,
    pub start: f64,
    pub end: f64,
}

pub struct Experiment {
    pub key: String,
    pub seed: String,
    pub hash_attribute: String,
    pub hash_path: Path,
    pub fallback_attribute: Option<String>,
    pub fallback_path: Option<Path>,
    pub hash_version: HashVersion,
    pub coverage: f64,
    pub weights: Vec<f64>,
    pub ranges: Vec<(f64, f64)>,
    pub variations: Vec<Variation>,
    pub audiences: Vec<usize>,
    pub condition: Option<Condition>,
    pub namespace: Option<Namespace>,
    /// Share of eligible shoppers held out of this experiment (they see variation 0 and are
    /// not counted).
    pub holdout: f64,
    pub bucket_version: u32,
    pub active: bool,
    /// The pages the experiment runs on (`urlPatterns`); empty: every page.
    pub url_patterns: Vec<UrlPattern>,
}

impl Experiment {
    /// Whether any variation swaps offer content.
    pub fn touches_offers(&self) -> bool {
        self.variations.iter().any(|v| !v.offers.is_empty())
    }

    /// Whether any variation changes the page (`changes`, `css` or `redirect`): the
    /// exposure is then recorded by the browser once it applied the change.
    pub fn changes_page(&self) -> bool {
        self.variations.iter().any(|v| !v.page.is_empty())
    }
}

/// The global holdout: a share of shoppers who get no experiments and no offers (except
/// offers marked `holdoutExempt`), to measure the lift of personalisation as a whole.
pub struct Holdout {
    pub seed: String,
    pub hash_attribute: String,
    pub hash_path: Path,
    pub fallback_path: Option<Path>,
    pub hash_version: HashVersion,
    pub percent: f64,
}

impl Ruleset {
    /// Parses, validates and compiles a ruleset document.
    pub fn parse(text: &str, regex: &dyn RegexCompiler) -> Result<Ruleset, Vec<ValidationError>> {
        match Value::parse(text) {
            Ok(v) => Ruleset::compile(&v, regex),
            Err(e) => Err(vec![ValidationError { path: String::new(), reason: e.to_string() }]),
        }
    }

    /// Validates and compiles a parsed ruleset; every problem is reported.
    pub fn compile(doc: &Value, regex: &dyn RegexCompiler) -> Result<Ruleset, Vec<ValidationError>> {
        let regex = super::regex::SharedPatterns::new(regex);
        let mut l = Loader { regex: &regex, errors: Vec::new(), warnings: Vec::new(), groups: &NULL };
        let rs = l.ruleset(doc);
        if l.errors.is_empty() {
            let mut rs = rs;
            rs.warnings = l.warnings;
            Ok(rs)
        } else {
            Err(l.errors)
        }
    }

    pub fn placement_index(&self, id: &str) -> Option<usize> {
        self.placements.iter().position(|p| p.id == id)
    }

    pub fn offer_index(&self, id: &str) -> Option<usize> {
        self.offers.iter().position(|o| o.id == id)
    }

    /// A one-line summary, as `tailor ruleset validate` prints it.
    pub fn summary(&self) -> String {
        format!(
            "{} placements, {} offers, {} experiments, {} audiences{}",
            self.placements.len(),
            self.offers.len(),
            self.experiments.len(),
            self.audiences.len(),
            if self.holdout.is_some() { ", global holdout" } else { "" }
        )
    }
}

static NULL: Value = Value::Null;

/// `path.key`, or `path["key"]` when the key is not a plain identifier.
pub(super) fn join(path: &str, key: &str) -> String {
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

pub(super) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

pub(super) struct Loader<'a> {
    pub(super) regex: &'a dyn RegexCompiler,
    errors: Vec<ValidationError>,
    warnings: Vec<ValidationError>,
    groups: &'a Value,
}

impl<'a> Loader<'a> {
    pub(super) fn err(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(ValidationError { path: path.into(), reason: reason.into() });
    }

    pub(super) fn object<'v>(&mut self, v: &'v Value, path: &str, allowed: &[&str]) -> Option<&'v Map> {
        match v {
            Value::Object(m) => {
                for k in m.keys() {
                    if !allowed.contains(&k) {
                        self.err(
                            join(path, k),
                            format!("unknown field (expected one of {})", join_strs(allowed, ", ")),
                        );
                    }
                }
                Some(m)
            }
            other => {
                self.err(path, format!("expected an object, found {}", other.type_name()));
                None
            }
        }
    }

    pub(super) fn string(&mut self, m: &Map, key: &str, path: &str, required: bool) -> Option<String> {
        match m.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::String(_)) => {
                self.err(join(path, key), "must not be empty");
                None
            }
            Some(other) => {
                self.err(join(path, key), format!("expected a string, found {}", other.type_name()));
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
                let mut reason = String::from("expected a number from ");
                write_plain_number(min, &mut reason);
                reason.push_str(" to ");
                write_plain_number(max, &mut reason);
                self.err(join(path, key), reason);
                None
            }
            Some(other) => {
                self.err(join(path, key), format!("expected a number, found {}", other.type_name()));
                None
            }
        }
    }

    fn integer(&mut self, m: &Map, key: &str, path: &str, min: u32) -> Option<u32> {
        match m.get(key) {
            None => None,
            Some(Value::Number(n)) if n.fract() == 0.0 && *n >= min as f64 && *n <= u32::MAX as f64 => Some(*n as u32),
            Some(_) => {
                self.err(join(path, key), format!("expected a whole number of at least {min}"));
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, m: &Map, key: &str, path: &str) -> Option<bool> {
        match m.get(key) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                self.err(join(path, key), format!("expected true or false, found {}", other.type_name()));
                None
            }
        }
    }

    fn condition(&mut self, v: &Value, path: &str) -> Option<Condition> {
        if !matches!(v, Value::Object(_)) {
            self.err(path, format!("expected a condition object, found {}", v.type_name()));
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
        let names: Vec<(String, &Value)> = match (m.get("audience"), m.get("audiences")) {
            (Some(v), None) => vec![(join(path, "audience"), v)],
            (None, Some(Value::Array(a))) => {
                let p = join(path, "audiences");
                a.iter().enumerate().map(|(i, v)| (index(&p, i), v)).collect()
            }
            (None, Some(_)) => {
                self.err(join(path, "audiences"), "expected an array of audience names");
                return Vec::new();
            }
            (Some(_), Some(_)) => {
                self.err(join(path, "audience"), "use either audience or audiences, not both");
                return Vec::new();
            }
            (None, None) => return Vec::new(),
        };
        let mut out = Vec::new();
        for (p, v) in names {
            match v.as_str().and_then(|n| audiences.iter().position(|a| a.name == n)) {
                Some(i) => out.push(i),
                None => self.err(p, format!("unknown audience {}", v.to_json())),
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
            Some(_) => self.err("version", "unsupported version (this engine reads version 1)"),
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
            Some(other) => {
                self.err("audiences", format!("expected an object of named conditions, found {}", other.type_name()))
            }
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
            Some(other) => {
                self.err("placements", format!("expected an object of placements, found {}", other.type_name()))
            }
            None => self.err("placements", "is required"),
        }
        // Offers are read in two passes: ids first, so exclusions and experiments can
        // refer to any offer.
        let offers: &[Value] = match m.get("offers") {
            Some(Value::Array(a)) => a,
            Some(other) => {
                self.err("offers", format!("expected an array, found {}", other.type_name()));
                &[]
            }
            None => &[],
        };
        let ids: Vec<Option<&str>> = offers.iter().map(|o| o.get("id").and_then(Value::as_str)).collect();
        for (i, id) in ids.iter().enumerate() {
            if let Some(id) = id {
                if ids[..i].contains(&Some(id)) {
                    self.err(format!("offers[{i}].id"), format!("duplicate offer id \"{id}\""));
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
                            self.err(join(&path, "key"), format!("duplicate experiment key \"{}\"", x.key));
                        }
                        rs.experiments.push(x);
                    }
                }
            }
            Some(other) => self.err("experiments", format!("expected an array, found {}", other.type_name())),
            None => {}
        }
        rs
    }

    fn saved_groups(&mut self, g: &Value) {
        match g {
            Value::Object(m) => {
                for (id, v) in m.iter() {
                    if !matches!(v, Value::Array(_) | Value::Object(_)) {
                        self.err(join("savedGroups", id), "expected a list of values or a condition");
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
                        _ => self.err(path, "expected either values (an array) or condition (an object)"),
                    }
                }
            }
            _ => self.err("savedGroups", "expected an object or an array"),
        }
    }

    fn holdout(&mut self, h: &Value) -> Option<Holdout> {
        let path = "holdout";
        let m = self.object(h, path, &["percent", "seed", "hashAttribute", "fallbackAttribute", "hashVersion"])?;
        let percent = self.number(m, "percent", path, 0.0, 1.0);
        if percent.is_none() && !m.contains_key("percent") {
            self.err(join(path, "percent"), "is required (a share from 0 to 1)");
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

    fn offer(&mut self, o: &Value, path: &str, rs: &Ruleset, ids: &[Option<&str>]) -> Option<Offer> {
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
                        None => {
                            self.err(index(&join(path, "placements"), i), format!("unknown placement {}", p.to_json()))
                        }
                    }
                }
            }
            _ => self.err(join(path, "placements"), "expected a non-empty array of placement ids"),
        }
        let content = match m.get("content") {
            Some(c @ Value::Object(cm)) => {
                let cpath = join(path, "content");
                self.content_fields(cm, &cpath, true);
                c.clone()
            }
            Some(_) => {
                self.err(join(path, "content"), "expected an object {title, body, image?, cta, url}");
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
                        Some(_) if x.as_str() == id.as_deref() => self.err(p, "an offer cannot exclude itself"),
                        Some(j) => excludes.push(j),
                        None => self.err(p, format!("unknown offer {}", x.to_json())),
                    }
                }
            }
            Some(_) => self.err(join(path, "excludes"), "expected an array of offer ids"),
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
    fn content_fields(&mut self, cm: &Map, path: &str, need_title: bool) {
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
                            format!("URL {} is refused: it {why} (only http:, https: and relative URLs)", v.to_json()),
                        );
                    }
                }
                _ => self.urls_in(v, &p),
            }
        }
    }

    fn urls_in(&mut self, v: &Value, path: &str) {
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
            Some(Value::String(s)) => match parse_iso_time(s) {
                Some(t) => Some(t),
                None => {
                    l.err(
                        join(path, key),
                        "expected milliseconds since the epoch or an ISO 8601 time such as 2026-12-01T00:00:00Z",
                    );
                    None
                }
            },
            Some(_) => {
                l.err(join(path, key), "expected milliseconds since the epoch or an ISO 8601 time");
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
                self.err(join(path, "per"), "expected one of \"hour\", \"day\", \"week\", \"session\"");
                None
            }
        };
        Some(Cap { max: max?, per: per? })
    }

    fn experiment(&mut self, e: &Value, path: &str, rs: &Ruleset) -> Option<Experiment> {
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
            _ => self.err(join(path, "variations"), "expected an array of at least 2 variations"),
        }
        let n = m.get("variations").and_then(Value::as_array).map_or(0, Vec::len);
        if variations.len() == n {
            self.redirects(&variations, &url_patterns, path);
        }
        let weights = match m.get("weights") {
            None => super::hash::equal_weights(n),
            Some(Value::Array(a)) => {
                let w: Vec<f64> = a.iter().filter_map(Value::as_f64).filter(|w| *w >= 0.0).collect();
                let total: f64 = w.iter().sum();
                if w.len() != a.len() || a.len() != n {
                    self.err(join(path, "weights"), format!("expected {n} non-negative numbers, one per variation"));
                } else if !(0.99..=1.01).contains(&total) {
                    self.err(join(path, "weights"), "must add up to 1");
                }
                w
            }
            Some(_) => {
                self.err(join(path, "weights"), "expected an array of numbers");
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
                    self.err(join(path, "namespace"), "expected [id, start, end] with 0 <= start < end <= 1");
                    None
                }
            },
            Some(_) => {
                self.err(join(path, "namespace"), "expected [id, start, end]");
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
                self.err(p, "the control (variation 0) cannot redirect: shoppers outside the experiment see it");
            } else if patterns.is_empty() {
                self.err(
                    p,
                    "a redirect needs urlPatterns: without them the experiment runs on every page, the target's too",
                );
            } else if super::page::redirect_loops(patterns, &r.url) {
                self.err(
                    join(&p, "url"),
                    format!(
                        "redirect target {} matches the experiment's urlPatterns: it would redirect again",
                        super::json::quoted(&r.url)
                    ),
                );
            } else if v.page.changes.is_some() || v.page.css.is_some() {
                self.err(p, "a redirect variation leaves the page: it cannot also have changes or css");
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
                        _ => self.err(p, "expected an object of content fields to replace"),
                    }
                }
            }
            Some(_) => self.err(join(path, "offers"), "expected an object {offerId: content fields}"),
        }
        let page = self.page_changes(m, path, true);
        Some(Variation { key, value, offers, page })
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

/// The fuzz entry point shared by `fuzz/` and the native fuzz smoke test: parses `data` as
/// a ruleset and as a condition, compiles both and evaluates them. Must never panic.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8], regex: &dyn RegexCompiler) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(doc) = Value::parse(text) else { return };
    if let Ok(rs) = Ruleset::compile(&doc, regex) {
        let attributes = Value::parse(
            r#"{"id":"u1","profile":{"orders":{"count":1},"offers":{"a":{"shown":[1,2],"clicks":1}},"session":{"start":1},"experiments":{"x":{"variation":1,"bucketVersion":0}}},"context":{"url":"/"}}"#,
        )
        .unwrap_or_default();
        let options = super::decision::DecideOptions { now: 5.0, ..Default::default() };
        let _ = rs.decide(&attributes, &options).to_value().to_json();
    }
    let groups = doc.get("savedGroups").unwrap_or(&NULL);
    let condition = doc.get("condition").unwrap_or(&doc);
    let c = Condition::compile(condition, groups, regex);
    let _ = c.eval(&doc);
    let _ = c.eval(doc.get("attributes").unwrap_or(&NULL));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::regex::NoRegex;

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
