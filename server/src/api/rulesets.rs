//! `GET /v1/rulesets/{site}` (signed envelope, ETag) and `GET /v1/keys`; publishing.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tailor::engine::json::Value;
use tailor::engine::wire::{is_valid_name, RulesetEnvelope};

use super::{error, json, store_error, AppState, Shared};
use crate::signing::{now_ms, validate_ruleset};

/// The public key that signs every envelope, for pinning in the SDK.
pub async fn keys(State(state): State<Shared>) -> Response {
    json(
        StatusCode::OK,
        serde_json::json!({
            "keys": [{
                "keyId": state.key.key_id(),
                "alg": "Ed25519",
                "publicKey": state.key.public_base64(),
            }]
        })
        .to_string(),
    )
}

pub(super) fn etag(envelope: &RulesetEnvelope) -> String {
    format!("\"{}-{}-{}\"", envelope.version, envelope.issued_at, envelope.key_id)
}

fn matches(if_none_match: &str, tag: &str) -> bool {
    if_none_match.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == "*" || t == tag)
}

/// The current envelope of `site`. Re-signed (same version, later expiry) once half its
/// lifetime has passed, so a site whose ruleset does not change never serves an expired one.
pub(super) async fn current_envelope(state: &AppState, site: &str) -> Result<RulesetEnvelope, Response> {
    if !is_valid_name(site) {
        return Err(error(StatusCode::BAD_REQUEST, "invalid_site", "site must be 1-64 of A-Z a-z 0-9 . _ -"));
    }
    let (version, text) = match state.store.latest_ruleset(site).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return Err(error(
                StatusCode::NOT_FOUND,
                "no_ruleset",
                format!("no ruleset is published for site '{site}'"),
            ))
        }
        Err(e) => return Err(store_error(e)),
    };
    let mut envelope = RulesetEnvelope::parse(&text)
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, "corrupt_ruleset", e.to_string()))?;
    let now = now_ms();
    let ttl = state.config.ruleset_ttl_ms;
    if envelope.expires_at - now < ttl / 2 || envelope.key_id != state.key.key_id() {
        envelope = state.key.sign(site, version, now, ttl, envelope.ruleset);
        state.store.replace_ruleset(site, version, &envelope.to_value().to_json()).await.map_err(store_error)?;
    }
    Ok(envelope)
}

/// `GET /v1/rulesets/{site}`: the current envelope, `304` when `If-None-Match` names it.
pub async fn current(State(state): State<Shared>, Path(site): Path<String>, headers: HeaderMap) -> Response {
    let envelope = match current_envelope(&state, &site).await {
        Ok(e) => e,
        Err(response) => return response,
    };
    let tag = etag(&envelope);
    let fresh = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| matches(v, &tag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        json(StatusCode::OK, envelope.to_value().to_json())
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Why a publish failed.
#[derive(Debug)]
pub enum PublishError {
    Invalid(Vec<String>),
    Store(crate::store::StoreError),
}

/// Validates, signs and stores `ruleset` as the next version of `site`. With
/// `unless_unchanged`, returns the current envelope instead when its ruleset is the same
/// (restarting a server with `--ruleset` does not bump the version).
pub async fn publish(
    state: &AppState,
    site: &str,
    ruleset: Value,
    unless_unchanged: bool,
) -> Result<(RulesetEnvelope, bool), PublishError> {
    validate_ruleset(&ruleset).map_err(PublishError::Invalid)?;
    for _ in 0..10 {
        let latest = state.store.latest_ruleset(site).await.map_err(PublishError::Store)?;
        let version = match &latest {
            Some((version, text)) => {
                if unless_unchanged {
                    if let Ok(current) = RulesetEnvelope::parse(text) {
                        if current.ruleset.to_json() == ruleset.to_json() {
                            return Ok((current, false));
                        }
                    }
                }
                version + 1
            }
            None => 1,
        };
        let now = now_ms();
        let envelope = state.key.sign(site, version, now, state.config.ruleset_ttl_ms, ruleset.clone());
        if state
            .store
            .insert_ruleset(site, version, &envelope.to_value().to_json(), now)
            .await
            .map_err(PublishError::Store)?
        {
            state.live.published(site, &envelope);
            return Ok((envelope, true));
        }
        // Another server published this version at the same moment: take the next one.
    }
    Err(PublishError::Store(crate::store::StoreError("could not find a free version after 10 tries".into())))
}
