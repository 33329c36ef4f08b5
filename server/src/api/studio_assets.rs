//! `GET /studio/{*file}`: the Studio's module (`tailor-studio.js` and its wasm), from the
//! `--pkg` folder's `studio/` (which `scripts/build.sh` writes).
//!
//! A storefront on another origin imports it (`import("<server>/studio/tailor-studio.js")`),
//! so every answer allows any origin: the files are public code, the same for everyone, and
//! carry no credentials (the Studio token travels in the API calls, not here). Cached for a
//! short while and revalidated by ETag, so a new build reaches merchandisers within minutes.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::Shared;

/// Minutes a browser may use its copy before asking again (with the ETag).
const CACHE_CONTROL: &str = "public, max-age=300, must-revalidate";

pub async fn file(State(state): State<Shared>, Path(rel): Path<String>, headers: HeaderMap) -> Response {
    let Some(kind) = content_type(&rel) else {
        return not_found(&rel);
    };
    // Only plain file names of the Studio's folder: no folders, no dot files, no escapes.
    if rel.is_empty() || rel.starts_with('.') || !rel.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return not_found(&rel);
    }
    let path = state.config.pkg.join("studio").join(&rel);
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(_) => return not_found(&rel),
    };
    let digest = Sha256::digest(&bytes);
    let etag = format!("\"{}\"", digest[..12].iter().map(|b| format!("{b:02x}")).collect::<String>());
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { Response::new(Body::from(bytes)) };
    let h = response.headers_mut();
    if !fresh {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

fn content_type(rel: &str) -> Option<&'static str> {
    match rel.rsplit_once('.').map(|(_, e)| e) {
        Some("js") => Some("text/javascript; charset=utf-8"),
        Some("wasm") => Some("application/wasm"),
        Some("css") => Some("text/css; charset=utf-8"),
        _ => None,
    }
}

fn not_found(rel: &str) -> Response {
    let mut r = super::error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no Studio file '{rel}': the Studio is built into the --pkg folder's studio/ by scripts/build.sh"),
    );
    r.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    r
}
