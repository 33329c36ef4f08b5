//! The HTTP API under `/v1`: events, rulesets, identify, profile erasure, keys, the admin
//! endpoints and the Studio's. Each handler is a thin layer over `ingest`, `store` and `signing`.

// Handlers return `Result<_, Response>` so an early refusal is a `?` away; the error path
// runs once per refused request, so the size of `Response` does not matter here.
#![allow(clippy::result_large_err)]

mod admin;
mod decide;
pub mod events;
pub mod live;
mod profiles;
mod results_page;
pub mod rulesets;
mod studio;
mod studio_assets;

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;

use crate::config::Config;
use crate::ratelimit::RateLimiter;
use crate::signing::Keypair;
use crate::store::Store;

pub use rulesets::publish;

/// Everything a request may need; shared by all requests.
pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub key: Keypair,
    pub limiter: RateLimiter,
    /// What `POST /v1/events` needs besides: the parsing pool and the sites served.
    pub intake: events::Intake,
    /// The open live-update streams (`GET /v1/rulesets/{site}/stream`).
    pub live: live::Live,
}

pub type Shared = Arc<AppState>;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/keys", get(rulesets::keys))
        .route("/v1/events", post(events::ingest))
        .route("/v1/rulesets/{site}", get(rulesets::current))
        .route("/v1/rulesets/{site}/stream", get(live::stream))
        .route("/v1/identify", post(profiles::identify))
        .route("/v1/decide", post(decide::decide))
        .route("/v1/profiles/{id}", delete(profiles::erase))
        .route("/v1/admin/rulesets/{site}", post(admin::publish_ruleset))
        .route("/v1/admin/results/{site}", get(admin::results))
        .route("/v1/admin/studio-links/{site}", post(admin::studio_link))
        .route("/admin/results", get(results_page::page))
        .route("/studio/{*file}", get(studio_assets::file))
        .merge(studio_routes())
}

/// The Studio's endpoints (`studio.rs`).
fn studio_routes() -> Router<Shared> {
    Router::new()
        .route("/v1/studio/{site}/drafts", get(studio::list_drafts))
        .route(
            "/v1/studio/{site}/drafts/{name}",
            put(studio::put_draft).get(studio::get_draft).delete(studio::delete_draft),
        )
        .route("/v1/studio/{site}/drafts/{name}/publish", post(studio::publish_draft))
        .route("/v1/studio/{site}/versions", get(studio::versions))
        .route("/v1/studio/{site}/versions/{v}", get(studio::version))
        .route("/v1/studio/{site}/versions/{v}/diff", get(studio::version_diff))
        .route("/v1/studio/{site}/versions/{v}/rollback", post(studio::rollback))
        .route("/v1/studio/{site}/audit", get(studio::audit_log))
        .route("/v1/studio/{site}/previews", post(studio::make_preview))
        .route("/v1/studio/{site}/preview", get(studio::preview))
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
    crate::log::error(&e.to_string());
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

/// How much of a refused body is still read (and thrown away) so that a client that sends
/// the whole body before reading the answer gets it, rather than a reset connection.
pub const DRAIN_LIMIT: usize = 8 * 1024 * 1024;

/// The next chunk of data of a body; `None` at its end.
async fn next_chunk(body: &mut axum::body::Body) -> Option<Result<axum::body::Bytes, axum::Error>> {
    use axum::body::HttpBody;
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut *body).poll_frame(cx)).await?;
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    return Some(Ok(data));
                }
            }
            Err(e) => return Some(Err(e)),
        }
    }
}

/// Reads and discards a body up to `limit` more bytes; true when it ended within them.
pub async fn drain(mut body: axum::body::Body, limit: usize) -> bool {
    let mut read = 0usize;
    while let Some(chunk) = next_chunk(&mut body).await {
        match chunk {
            Ok(data) => read = read.saturating_add(data.len()),
            Err(_) => return false,
        }
        if read > limit {
            return false;
        }
    }
    true
}

/// A refusal sent before the request's body was read: the body is drained first (up to
/// [`DRAIN_LIMIT`]), unless the client waits for `100 Continue` and so has not sent it; the
/// connection is closed when the body was not read to its end.
pub async fn refuse_unread(headers: &HeaderMap, body: axum::body::Body, mut response: Response) -> Response {
    let waits_for_continue = headers
        .get(header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if waits_for_continue || !drain(body, DRAIN_LIMIT).await {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads a request body up to `limit` bytes; 413 beyond (after draining the rest, see
/// [`refuse_unread`]).
pub async fn read_body(mut body: axum::body::Body, limit: usize) -> Result<axum::body::Bytes, Response> {
    let mut buf = Vec::new();
    while let Some(chunk) = next_chunk(&mut body).await {
        let data = chunk.map_err(|e| error(StatusCode::BAD_REQUEST, "unreadable_body", e.to_string()))?;
        if buf.len() + data.len() > limit {
            let mut response = error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body is larger than the {limit} bytes allowed here"),
            );
            if !drain(body, DRAIN_LIMIT).await {
                response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            return Err(response);
        }
        buf.extend_from_slice(&data);
    }
    Ok(buf.into())
}

/// Reads a request body of at most `limit` bytes as JSON with the engine's parser: `413`
/// beyond, `400 malformed_json` (the parser's message after `what`) when it does not parse.
pub async fn read_json(
    body: axum::body::Body,
    limit: usize,
    what: &str,
) -> Result<tailor::engine::json::Value, Response> {
    let bytes = read_body(body, limit).await?;
    std::str::from_utf8(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|t| tailor::engine::json::Value::parse(t).map_err(|e| e.to_string()))
        .map_err(|e| error(StatusCode::BAD_REQUEST, "malformed_json", format!("{what}{e}")))
}

/// The `site` query parameter, or the server's default site.
pub fn site_param(state: &AppState, query: &std::collections::HashMap<String, String>) -> Result<String, Response> {
    match query.get("site") {
        None => Ok(state.config.site.clone()),
        Some(s) if tailor::engine::wire::is_valid_name(s) => Ok(s.clone()),
        Some(_) => Err(error(StatusCode::BAD_REQUEST, "invalid_site", "site must be 1-64 of A-Z a-z 0-9 . _ -")),
    }
}
