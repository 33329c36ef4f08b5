//! Ruleset v1, compiled: the form decisions run on.
//!
//! A ruleset document is read and checked by [`super::loader`] ([`Ruleset::parse`],
//! [`Ruleset::compile`]), which reports every problem with its JSON path (and a sentence in
//! the full validator, `full-checks`; a short reason in the shopper's lean loader) and
//! rejects a ruleset with any error whole. Once valid it is compiled once: conditions and audiences
//! are compiled (regexes built, paths split), placements and offers are referenced by index,
//! bucket ranges are precomputed. The format is documented in `docs/ruleset.md` and
//! `docs/ruleset.schema.json`.

use std::fmt;

use super::condition::{Condition, Path};
use super::json::{Map, Value};
use super::page::{PageChanges, UrlPattern};

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
    /// The names of the ruleset's audiences whose condition `attributes` (the decision's
    /// attributes: `profile.*`, `context.*`, ...) meet, in the ruleset's order. The caller
    /// keeps them in the profile (`Profile::set_audiences`), so `profile.audiences` says what
    /// the shopper belongs to, for pages and for conditions.
    pub fn audiences_of(&self, attributes: &Value) -> Vec<&str> {
        self.audiences.iter().filter(|a| a.condition.eval(attributes)).map(|a| a.name.as_str()).collect()
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
