//! `POST /v1/identify` and `DELETE /v1/profiles/{id}`.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use tailor::engine::json::{Map, Value};
use tailor::engine::wire::is_valid_name;

use super::{error, is_admin, json, read_body, site_param, store_error, Shared};
use crate::signing::now_ms;

/// Identifiers are 1 to this many characters.
const MAX_ID_CHARS: usize = 128;

fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= MAX_ID_CHARS
}

/// Body `{"site"?, "anonymousId", "userId", "traits"?: {...}}`: links the ids, merges the
/// traits and answers with the user's server-side profile.
pub async fn identify(State(state): State<Shared>, request: Request<Body>) -> Response {
    let body = match read_body(request.into_body(), 64 * 1024).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let value = match std::str::from_utf8(&body)
        .map_err(|e| e.to_string())
        .and_then(|t| Value::parse(t).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, "malformed_json", e),
    };
    let field = |name: &str| value.get(name).and_then(Value::as_str).filter(|s| valid_id(s));
    let (Some(anonymous_id), Some(user_id)) = (field("anonymousId"), field("userId")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_identify",
            "anonymousId and userId must be strings of 1 to 128 characters",
        );
    };
    let site = match value.get("site") {
        None | Some(Value::Null) => state.config.site.clone(),
        Some(Value::String(s)) if is_valid_name(s) => s.clone(),
        Some(_) => return error(StatusCode::BAD_REQUEST, "invalid_site", "site must be 1-64 of A-Z a-z 0-9 . _ -"),
    };
    let traits = match value.get("traits") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return error(StatusCode::BAD_REQUEST, "invalid_identify", "traits must be an object"),
    };
    if let Err(e) = state.store.identify(&site, anonymous_id, user_id, &traits, now_ms()).await {
        return store_error(e);
    }
    match state.store.profile(&site, user_id).await {
        Ok(profile) => json(StatusCode::OK, profile.to_value().to_json()),
        Err(e) => store_error(e),
    }
}

/// Erases a shopper ("forget me"). Anyone holding an anonymous id may erase it, with the
/// user it is linked to; erasing by user id needs the admin token.
pub async fn erase(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: Request<Body>,
) -> Response {
    let site = match site_param(&state, &query) {
        Ok(site) => site,
        Err(response) => return response,
    };
    if !valid_id(&id) {
        return error(StatusCode::BAD_REQUEST, "invalid_id", "the id must be 1 to 128 characters");
    }
    let admin = is_admin(&state, request.headers());
    match state.store.delete_profile(&site, &id, admin).await {
        Ok(d) => json(
            StatusCode::OK,
            serde_json::json!({
                "site": site,
                "deleted": { "events": d.events, "identities": d.identities, "users": d.users }
            })
            .to_string(),
        ),
        Err(e) => store_error(e),
    }
}
