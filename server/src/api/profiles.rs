//! `POST /v1/identify` and `DELETE /v1/profiles/{id}`.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use tailor::engine::json::{Map, Value};
use tailor::engine::wire::{is_valid_name, ServerProfile};

use super::{error, is_admin, json, read_json, site_param, store_error, Shared};
use crate::signing::now_ms;
use crate::store::{Deleted, Erase};

/// Identifiers are 1 to this many characters.
const MAX_ID_CHARS: usize = 128;

fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= MAX_ID_CHARS
}

/// Whether `token` proves `user_id` on `site` with one of the site's identity secrets.
pub(super) fn verify(state: &Shared, site: &str, user_id: &str, token: &str) -> bool {
    let now_s = u64::try_from(now_ms() / 1000).unwrap_or(0);
    crate::identity::secrets_for(&state.config.identity_secrets, site)
        .any(|secret| crate::identity::verify(secret, site, user_id, token, now_s))
}

/// The `X-Tailor-Identity-Token` header.
fn identity_header(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get("x-tailor-identity-token").and_then(|v| v.to_str().ok())
}

/// Body `{"site"?, "anonymousId", "userId", "traits"?: {...}, "token"?}`: with a valid
/// identity token, links the ids, merges the traits and answers with the user's server-side
/// profile (`verified: true`); without one, answers `verified: false` and nothing else.
pub async fn identify(State(state): State<Shared>, request: Request<Body>) -> Response {
    let value = match read_json(request.into_body(), 64 * 1024, "").await {
        Ok(v) => v,
        Err(response) => return response,
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
    // Only a token from the shop's backend proves the caller is this user: without one,
    // nothing is linked and nothing of the user is handed out.
    let verified =
        value.get("token").and_then(Value::as_str).is_some_and(|token| verify(&state, &site, user_id, token));
    if !verified {
        if let Err(e) = state.store.claim_identity(&site, anonymous_id, user_id, now_ms()).await {
            return store_error(e);
        }
        let unverified = ServerProfile {
            user_id: user_id.to_string(),
            anonymous_ids: vec![anonymous_id.to_string()],
            ..ServerProfile::default()
        };
        return json(StatusCode::OK, unverified.to_value().to_json());
    }
    if let Err(e) = state.store.identify(&site, anonymous_id, user_id, &traits, now_ms()).await {
        return store_error(e);
    }
    match state.store.profile(&site, user_id).await {
        Ok(mut profile) => {
            profile.verified = true;
            json(StatusCode::OK, profile.to_value().to_json())
        }
        Err(e) => store_error(e),
    }
}

/// Erases a shopper ("forget me"). Anyone holding an anonymous id may erase that id's own
/// events; `?kind=user` erases a user and needs that user's identity token in
/// `X-Tailor-Identity-Token` (403 without it) or the admin token. The admin token without
/// `kind` erases `id` both ways.
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
    let as_user = query.get("kind").map(String::as_str) == Some("user");
    let mut what = vec![Erase::Anonymous];
    if as_user {
        let proven = admin || identity_header(request.headers()).is_some_and(|token| verify(&state, &site, &id, token));
        if !proven {
            return error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "erasing a user needs that user's identity token (X-Tailor-Identity-Token) or the admin token",
            );
        }
        what = vec![Erase::User];
    } else if admin {
        // The admin token erases `id` both as an anonymous id and as a user id.
        what.push(Erase::User);
    }
    let mut d = Deleted::default();
    for w in what {
        match state.store.delete_profile(&site, &id, w).await {
            Ok(one) => {
                d.events += one.events;
                d.identities += one.identities;
                d.users += one.users;
            }
            Err(e) => return store_error(e),
        }
    }
    let deleted = serde_json::json!({ "events": d.events, "identities": d.identities, "users": d.users });
    json(StatusCode::OK, serde_json::json!({ "site": site, "deleted": deleted }).to_string())
}
