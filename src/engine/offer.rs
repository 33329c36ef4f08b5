//! Offer eligibility and ranking: placement, audience, condition, time window, frequency
//! caps, clicks, exclusions, then priority and score.
//!
//! Caps read the profile snapshot's contract: `profile.offers["<id>"].shown` (impression
//! times in ms, ascending, at most the last 100), `profile.offers["<id>"].clicks`, and
//! `profile.session.start` for caps per session.

use super::json::Value;
use super::ruleset::{Cap, Offer, Period, Ruleset};
use super::url::{is_url_field, url_problem};

/// Why an offer was not shown.
#[derive(Clone, Debug, PartialEq)]
pub enum Skip {
    GlobalHoldout,
    NotInAudience,
    ConditionFailed,
    NotStarted {
        start: f64,
    },
    Ended {
        end: f64,
    },
    Capped {
        cap: Cap,
        count: u32,
    },
    Clicked {
        max: u32,
        clicks: u32,
    },
    Excluded {
        by: usize,
    },
    ShownElsewhere {
        placement: usize,
    },
    LimitReached {
        limit: usize,
    },
    /// A URL-like content field failed the URL rule ([`url_problem`]): the offer is dropped
    /// before it reaches the page.
    UnsafeUrl {
        field: String,
        why: &'static str,
    },
}

impl Skip {
    /// The reason as a sentence for people (`reason-text`; the shopper's module writes
    /// [`Skip::code`] instead).
    #[cfg(feature = "reason-text")]
    pub fn text(&self, rs: &Ruleset) -> String {
        let offer = |i: &usize| rs.offers.get(*i).map_or("?", |o| o.id.as_str());
        match self {
            Skip::GlobalHoldout => "shopper is in the global holdout".into(),
            Skip::NotInAudience => "shopper is not in the offer's audience".into(),
            Skip::ConditionFailed => "the offer's condition does not match".into(),
            Skip::NotStarted { start } => {
                format!("not started yet (starts at {})", time_text(*start))
            }
            Skip::Ended { end } => format!("ended at {}", time_text(*end)),
            Skip::Capped { cap, count } => {
                format!("frequency cap reached: shown {count} times this {}, at most {}", cap.per.name(), cap.max)
            }
            Skip::Clicked { max, clicks } => {
                format!("already clicked {clicks} times (at most {max})")
            }
            Skip::Excluded { by } => {
                format!("excluded by offer \"{}\" chosen on this page", offer(by))
            }
            Skip::ShownElsewhere { placement } => format!(
                "already chosen for placement \"{}\"",
                rs.placements.get(*placement).map_or("?", |p| p.id.as_str())
            ),
            Skip::LimitReached { limit } => {
                format!("placement limit of {limit} reached by higher-ranked offers")
            }
            Skip::UnsafeUrl { field, why } => {
                let mut s = String::from("content field \"");
                s.push_str(field);
                s.push_str("\" is not a safe URL: it ");
                s.push_str(why);
                s
            }
        }
    }
}

#[cfg(feature = "reason-text")]
fn time_text(ms: f64) -> String {
    let mut s = String::new();
    super::json::write_number(ms, &mut s);
    s.push_str(" ms");
    s
}

/// Counts impressions of an offer within a cap's period.
pub fn impressions(profile: &Value, offer_id: &str, per: Period, now: f64) -> u32 {
    let history = profile.get("offers").and_then(|o| o.get(offer_id));
    let session_start = profile.get("session").and_then(|s| s.get("start")).and_then(Value::as_f64);
    impressions_in(history, session_start, per, now)
}

/// Counts the impressions in one offer's history (`profile.offers["<id>"]`).
fn impressions_in(history: Option<&Value>, session_start: Option<f64>, per: Period, now: f64) -> u32 {
    let Some(shown) = history.and_then(|o| o.get("shown")).and_then(Value::as_array) else { return 0 };
    let since = match per.millis() {
        Some(ms) => now - ms,
        // No session yet: nothing was shown in it.
        None => match session_start {
            Some(start) => start,
            None => return 0,
        },
    };
    let in_window = |t: f64| if per == Period::Session { t >= since } else { t > since && t <= now };
    // Ascending by contract, so count from the end and stop at the first older impression.
    let mut n = 0;
    for t in shown.iter().rev() {
        match t.as_f64() {
            Some(t) if in_window(t) => n += 1,
            Some(t) if t <= since => break,
            _ => {}
        }
    }
    n
}

/// What the checks of one decision share: the shopper, the time, and audience answers
/// (each audience is evaluated at most once per decision).
pub struct Ctx<'a> {
    pub attributes: &'a Value,
    pub now: f64,
    pub global_holdout: bool,
    profile: &'a Value,
    session_start: Option<f64>,
    audiences: Vec<Option<bool>>,
}

impl<'a> Ctx<'a> {
    pub fn new(rs: &Ruleset, attributes: &'a Value, now: f64, global_holdout: bool) -> Self {
        let profile = attributes.get("profile").unwrap_or(&Value::Null);
        let session_start = profile.get("session").and_then(|s| s.get("start")).and_then(Value::as_f64);
        Ctx { attributes, now, global_holdout, profile, session_start, audiences: vec![None; rs.audiences.len()] }
    }

    fn in_audience(&mut self, rs: &Ruleset, a: usize) -> bool {
        match self.audiences.get(a).copied().flatten() {
            Some(b) => b,
            None => {
                let b = rs.audiences.get(a).is_some_and(|x| x.condition.eval(self.attributes));
                if let Some(slot) = self.audiences.get_mut(a) {
                    *slot = Some(b);
                }
                b
            }
        }
    }
}

/// Whether offer `ix` may be shown at all on this page (before ranking), with its score.
pub fn check(rs: &Ruleset, ix: usize, cx: &mut Ctx<'_>) -> Result<f64, Skip> {
    let Some(o) = rs.offers.get(ix) else { return Err(Skip::ConditionFailed) };
    if cx.global_holdout && !o.holdout_exempt {
        return Err(Skip::GlobalHoldout);
    }
    if let Some(start) = o.start {
        if cx.now < start {
            return Err(Skip::NotStarted { start });
        }
    }
    if let Some(end) = o.end {
        if cx.now >= end {
            return Err(Skip::Ended { end });
        }
    }
    if !o.caps.is_empty() || o.max_clicks.is_some() {
        let history = cx.profile.get("offers").and_then(|p| p.get(&o.id));
        for cap in &o.caps {
            let count = impressions_in(history, cx.session_start, cap.per, cx.now);
            if count >= cap.max {
                return Err(Skip::Capped { cap: *cap, count });
            }
        }
        if let Some(max) = o.max_clicks {
            let clicks = history.and_then(|p| p.get("clicks")).and_then(Value::as_f64).unwrap_or(0.0);
            if clicks >= max as f64 {
                return Err(Skip::Clicked { max, clicks: clicks as u32 });
            }
        }
    }
    if !o.audiences.is_empty() && !o.audiences.iter().any(|a| cx.in_audience(rs, *a)) {
        return Err(Skip::NotInAudience);
    }
    if o.condition.as_ref().is_some_and(|c| !c.eval(cx.attributes)) {
        return Err(Skip::ConditionFailed);
    }
    Ok(score(o, cx.attributes))
}

/// Σ weight × the number at each score path (missing or non-numeric counts 0).
pub fn score(o: &Offer, attributes: &Value) -> f64 {
    o.score
        .iter()
        .map(|t| match t.path.get(attributes).as_f64() {
            Some(v) if v.is_finite() => v * t.weight,
            _ => 0.0,
        })
        // Summed from +0 so that no score prints as "-0".
        .fold(0.0, |acc, x| acc + x)
}

/// The first URL-like field of a content object (see [`is_url_field`]) whose string value
/// [`url_problem`] refuses, with the reason.
pub fn unsafe_url_field(content: &Value) -> Option<(&str, &'static str)> {
    let Value::Object(m) = content else { return None };
    m.iter().find_map(|(k, v)| match v {
        Value::String(s) if is_url_field(k) => url_problem(s).map(|why| (k, why)),
        _ => None,
    })
}

/// Searches any JSON (an experiment's value) for a URL-like field that fails the URL rule.
pub fn unsafe_url_in(v: &Value) -> Option<&'static str> {
    match v {
        Value::Object(m) => m.iter().find_map(|(k, v)| match v {
            Value::String(s) if is_url_field(k) => url_problem(s),
            _ => unsafe_url_in(v),
        }),
        Value::Array(a) => a.iter().find_map(unsafe_url_in),
        _ => None,
    }
}
