//! `POST /v1/decide`: the engine decides on the server for a known shopper, from the
//! server-side profile (for server-side rendering, email or an edge function).
//!
//! The profile is built as the browser builds it when the shopper identifies on a new
//! device: the user's traits, then every stored event of the user's linked anonymous ids
//! replayed oldest first (the 200 most recent, as `POST /v1/identify` hands them out). The
//! attributes are then the browser's: `id` (the user id), `anonymousId`, `profile` (the
//! snapshot at `now`), `context` (what the caller passes) and `user` (the traits and `id`).
//! Nothing is recorded: the decision's `exposures` are for the caller to send as events when
//! it shows the decision.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use tailor::engine::decision::DecideOptions;
use tailor::engine::event::Event;
use tailor::engine::json::{Map, Value};
use tailor::engine::profile::Profile;
use tailor::engine::regex::NativeRegex;
use tailor::engine::ruleset::Ruleset;
use tailor::engine::wire::{is_valid_name, RulesetEnvelope, ServerProfile};

use super::{error, is_admin, json, read_json, store_error, Shared};
use crate::signing::now_ms;

/// Body `{"site"?, "userId", "anonymousId"?, "context"?, "placements"?, "now"?}`, with the
/// admin token or the user's identity token (`X-Tailor-Identity-Token`): the decision, plus
/// `rulesetVersion`.
pub async fn decide(State(state): State<Shared>, request: Request<Body>) -> Response {
    let headers = request.headers().clone();
    let value = match read_json(request.into_body(), 64 * 1024, "").await {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return error(StatusCode::BAD_REQUEST, "invalid_decide", "the body must be a JSON object"),
        Err(response) => return response,
    };
    let request = match DecideRequest::read(&state, &value) {
        Ok(r) => r,
        Err(message) => return error(StatusCode::BAD_REQUEST, "invalid_decide", message),
    };
    let token = headers.get("x-tailor-identity-token").and_then(|v| v.to_str().ok());
    let proven = is_admin(&state, &headers)
        || token.is_some_and(|t| super::profiles::verify(&state, &request.site, &request.user_id, t));
    if !proven {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "deciding for a user needs the admin token (Authorization: Bearer) or that user's identity token (X-Tailor-Identity-Token)",
        );
    }
    let (version, text) = match state.store.latest_ruleset(&request.site).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            let message = format!("no ruleset is published for site '{}'", request.site);
            return error(StatusCode::NOT_FOUND, "no_ruleset", message);
        }
        Err(e) => return store_error(e),
    };
    let server = match state.store.profile(&request.site, &request.user_id).await {
        Ok(p) => p,
        Err(e) => return store_error(e),
    };
    // No await from here on: the compiled ruleset stays on this thread.
    let ruleset = match compiled(&request.site, version, &text) {
        Ok(rs) => rs,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "corrupt_ruleset", e),
    };
    let attributes = attributes(&server, &request);
    let decision = ruleset.decide(
        &attributes,
        &DecideOptions { now: request.now, placements: request.placements.clone(), ..DecideOptions::default() },
    );
    let mut out = decision.to_value();
    if let Some(m) = out.as_object_mut() {
        m.insert("rulesetVersion", Value::Number(version as f64));
    }
    json(StatusCode::OK, out.to_json())
}

thread_local! {
    /// The compiled ruleset of each site, by published version, per worker thread (a
    /// compiled ruleset holds regexes that stay on their thread).
    static COMPILED: std::cell::RefCell<Vec<(String, u64, std::rc::Rc<Ruleset>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The compiled ruleset of `site` at `version` (its envelope is `text`), compiled once per
/// version and thread.
fn compiled(site: &str, version: u64, text: &str) -> Result<std::rc::Rc<Ruleset>, String> {
    if let Some(rs) =
        COMPILED.with_borrow(|c| c.iter().find(|(s, v, _)| s == site && *v == version).map(|e| e.2.clone()))
    {
        return Ok(rs);
    }
    let envelope = RulesetEnvelope::parse(text).map_err(|e| e.to_string())?;
    let rs = Ruleset::compile(&envelope.ruleset, &NativeRegex)
        .map_err(|errors| format!("the published ruleset does not compile: {} errors", errors.len()))?;
    let rs = std::rc::Rc::new(rs);
    COMPILED.with_borrow_mut(|c| {
        c.retain(|(s, _, _)| s != site);
        c.push((site.to_string(), version, rs.clone()));
    });
    Ok(rs)
}

struct DecideRequest {
    site: String,
    user_id: String,
    anonymous_id: Option<String>,
    context: Map,
    placements: Option<Vec<String>>,
    now: f64,
}

impl DecideRequest {
    fn read(state: &Shared, v: &Value) -> Result<DecideRequest, String> {
        let id = |name: &str| match v.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= 128 => Ok(Some(s.clone())),
            Some(_) => Err(format!("{name} must be a string of 1 to 128 characters")),
        };
        let user_id = id("userId")?.ok_or("userId is required: a string of 1 to 128 characters")?;
        let site = match v.get("site") {
            None | Some(Value::Null) => state.config.site.clone(),
            Some(Value::String(s)) if is_valid_name(s) => s.clone(),
            Some(_) => return Err("site must be 1-64 of A-Z a-z 0-9 . _ -".into()),
        };
        let context = match v.get("context") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err("context must be an object (the page attributes, context.*)".into()),
        };
        let placements = match v.get("placements") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) if a.iter().all(|p| p.as_str().is_some()) => {
                Some(a.iter().filter_map(Value::as_str).map(String::from).collect())
            }
            Some(_) => return Err("placements must be an array of placement ids".into()),
        };
        let now = match v.get("now") {
            None | Some(Value::Null) => now_ms() as f64,
            Some(Value::Number(n)) if n.is_finite() && *n >= 0.0 => *n,
            Some(_) => return Err("now must be milliseconds since the epoch".into()),
        };
        Ok(DecideRequest { site, user_id, anonymous_id: id("anonymousId")?, context, placements, now })
    }
}

/// The attributes the browser would decide with after identifying as this user on a new
/// device (see the module's documentation).
fn attributes(server: &ServerProfile, r: &DecideRequest) -> Value {
    // The anonymous id asked for, else the user's first linked one.
    let anonymous_id = r.anonymous_id.clone().or_else(|| server.anonymous_ids.first().cloned()).unwrap_or_default();
    // A new device's profile, started now.
    let mut profile = Profile::new(&anonymous_id, r.now);
    let _ = profile.identify(&r.user_id, Value::Object(server.traits.clone()), r.now);
    for v in server.events.iter().rev() {
        if let Ok(e) = Event::from_value(v) {
            profile.record(&e, r.now);
        }
    }
    let mut user = profile.traits().clone();
    user.insert("id", Value::from(r.user_id.as_str()));
    let mut m = Map::new();
    m.insert("id", Value::from(r.user_id.as_str()));
    m.insert("anonymousId", Value::from(anonymous_id.as_str()));
    m.insert("profile", profile.snapshot(r.now));
    m.insert("context", Value::Object(r.context.clone()));
    m.insert("user", Value::Object(user));
    Value::Object(m)
}
