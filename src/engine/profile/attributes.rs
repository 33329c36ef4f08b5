//! The attributes decisions read (`id`, `anonymousId`, `profile.*`, `user.*`, `context.*`),
//! with the part built from the profile kept between decisions.
//!
//! Building the profile snapshot is most of the work of preparing a decision (tens of
//! microseconds for a few hundred events). [`Attributes`] keeps it, and reuses it while
//! the profile's [`Profile::revision`] and ids are unchanged and at most [`MAX_AGE_MS`] have
//! passed: every change of the profile (an event, identify, an assignment, a merge) moves the
//! revision on, so the next decision sees it. Only the context is set per decision.

use super::Profile;
use crate::engine::json::{Map, Value};

/// How long a snapshot of an unchanged profile is reused. Between changes the snapshot
/// drifts only with time: affinities decay by less than a millionth of their value in a
/// second (the half-life is days), and the session and day windows are at most this late.
pub const MAX_AGE_MS: f64 = 1000.0;

/// See the module documentation.
#[derive(Default)]
pub struct Attributes {
    /// `{ id, anonymousId, profile, user, context }`.
    value: Value,
    /// The profile's revision and anonymous id, and the time the snapshot was built for.
    built: Option<(u64, String, f64)>,
}

impl Attributes {
    /// The attributes of `profile` at `now_ms`, with `context` (replacing the previous
    /// call's). The profile part is rebuilt only when the profile changed, the clock went
    /// back, or it is older than [`MAX_AGE_MS`].
    pub fn get(&mut self, profile: &Profile, now_ms: f64, context: Value) -> &Value {
        let fresh = self.built.as_ref().is_some_and(|(revision, anonymous_id, at)| {
            *revision == profile.revision()
                && anonymous_id == profile.anonymous_id()
                && now_ms >= *at
                && now_ms - at <= MAX_AGE_MS
        });
        if !fresh {
            self.value = Value::Object(base_attributes(profile, now_ms));
            self.built = Some((profile.revision(), profile.anonymous_id().to_string(), now_ms));
        }
        if let Value::Object(m) = &mut self.value {
            m.insert("context", context);
        }
        &self.value
    }

    /// Drops the kept snapshot (the profile was replaced, e.g. by `forget`).
    pub fn clear(&mut self) {
        self.built = None;
    }
}

/// The attributes decisions read about the shopper, as of `now_ms`: `id` (the user id, else
/// the anonymous id), `anonymousId`, `profile` (the snapshot) and `user` (traits and `id`).
/// The caller adds `context`. The SDK keeps them in [`Attributes`]; the Studio builds them
/// for a persona the same way.
pub fn base_attributes(profile: &Profile, now_ms: f64) -> Map {
    let mut user = profile.traits().clone();
    if let Some(id) = profile.user_id() {
        user.insert("id", Value::from(id));
    }
    let mut m = Map::new();
    m.insert("id", Value::from(profile.user_id().unwrap_or(profile.anonymous_id())));
    m.insert("anonymousId", Value::from(profile.anonymous_id()));
    m.insert("profile", profile.snapshot(now_ms));
    m.insert("user", Value::Object(user));
    m
}
