//! The HTTP API under `/v1`: events, rulesets, identify, profile erasure, keys and the
//! admin endpoints. Each handler is a thin layer over `ingest`, `store` and `signing`.

// Handlers return `Result<_, Response>` so an early refusal is a `?` away; the error path
// runs once per refused request, so the size of `Response` does not matter here.
#![allow(clippy::result_large_err)]

mod admin;
mod events;
mod profiles;
mod results_page;
pub mod rulesets;

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;

use crate::ratelimit::RateLimiter;
use crate::serve::Config;
use crate::signing::Keypair;
use crate::store::Store;

pub use rulesets::publish;

/// Everything a request may need; shared by all requests.
pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub key: Keypair,
    pub limiter: RateLimiter,
}

pub type Shared = Arc<AppState>;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/keys", get(rulesets::keys))
        .route("/v1/events", post(events::ingest))
        .route("/v1/rulesets/{site}", get(rulesets::current))
        .route("/v1/identify", post(profiles::identify))
        .route("/v1/profiles/{id}", delete(profiles::erase))
        .route("/v1/admin/rulesets/{site}", post(admin::publish_ruleset))
        .route("/v1/admin/results/{site}", get(admin::results))
        .route("/admin/results", get(results_page::page))
}

/// A JSON response with a status.
pub fn json(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `{"error": code, "message": ...}` with a status.
pub fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    json(status, serde_json::json!({ "error": code, "message": message.into() }).to_string())
}

pub fn store_error(e: crate::store::StoreError) -> Response {
    crate::serve::log_error(&e.to_string());
    error(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", "the database did not answer; retry later")
}

/// Whether the request carries the admin bearer token.
pub fn is_admin(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(token) = state.config.admin_token.as_deref() else {
        return false;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes()))
}

/// Refuses a request without the admin token: 401 with `WWW-Authenticate`.
pub fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    if is_admin(state, headers) {
        return Ok(());
    }
    let message = if state.config.admin_token.is_none() {
        "the admin API is disabled: start the server with --admin-token or TAILOR_ADMIN_TOKEN"
    } else {
        "send the admin token as 'Authorization: Bearer <token>'"
    };
    let mut response = error(StatusCode::UNAUTHORIZED, "unauthorized", message);
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    Err(response)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Reads a request body up to `limit` bytes; 413 beyond.
pub async fn read_body(body: axum::body::Body, limit: usize) -> Result<axum::body::Bytes, Response> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than the {limit} bytes allowed here"),
        )
    })
}

/// The `site` query parameter, or the server's default site.
pub fn site_param(state: &AppState, query: &std::collections::HashMap<String, String>) -> Result<String, Response> {
    match query.get("site") {
        None => Ok(state.config.site.clone()),
        Some(s) if tailor::engine::wire::is_valid_name(s) => Ok(s.clone()),
        Some(_) => Err(error(StatusCode::BAD_REQUEST, "invalid_site", "site must be 1-64 of A-Z a-z 0-9 . _ -")),
    }
}
