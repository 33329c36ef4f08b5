//! The admin API (bearer token): publish a ruleset, read experiment results, make Studio
//! links. Results and links also take a Studio token ([`crate::studio_token`]) of the site.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use tailor::engine::json::Value;
use tailor::engine::wire::is_valid_name;

use super::rulesets::PublishError;
use super::{error, json, read_body, read_json, require_admin, store_error, AppState, Shared};
use crate::studio_token::{self, Claims, Role};

/// Who a request speaks for.
#[derive(Debug)]
pub enum Access {
    Admin,
    Studio(Claims),
}

/// Checks a Studio token for `needs` on `site`: the claims, or the JSON refusal that says why
/// (malformed, tampered, expired, another site, a role too low).
pub fn studio_access(state: &AppState, token: &str, site: &str, needs: Role) -> Result<Claims, Response> {
    let refuse = |r: studio_token::Refusal| {
        error(StatusCode::from_u16(r.status()).unwrap_or(StatusCode::UNAUTHORIZED), r.code(), r.message())
    };
    let claims = studio_token::verify(&state.key.verifying_key(), token, crate::signing::now_ms()).map_err(refuse)?;
    claims.allows(site, needs).map_err(refuse)?;
    Ok(claims)
}

/// The admin token, or a Studio token (`Authorization: Bearer ts1....`) with at least `needs`
/// on `site`.
pub fn require_access(state: &AppState, headers: &HeaderMap, site: &str, needs: Role) -> Result<Access, Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match bearer {
        Some(token) if token.starts_with("ts1.") => studio_access(state, token, site, needs).map(Access::Studio),
        _ => require_admin(state, headers).map(|()| Access::Admin),
    }
}

/// The largest ruleset accepted for publishing.
pub const MAX_RULESET_BYTES: usize = 4 * 1024 * 1024;

/// Reads a ruleset body of at most [`MAX_RULESET_BYTES`] as JSON ([`read_json`]).
pub async fn read_ruleset(body: Body, what: &str) -> Result<Value, Response> {
    read_json(body, MAX_RULESET_BYTES, what).await
}

/// `POST /v1/admin/rulesets/{site}` with the ruleset as the body: 201 and the new envelope.
pub async fn publish_ruleset(
    State(state): State<Shared>,
    Path(site): Path<String>,
    request: Request<Body>,
) -> Response {
    if let Err(refused) = require_admin(&state, request.headers()) {
        return refused;
    }
    if !is_valid_name(&site) {
        return error(StatusCode::BAD_REQUEST, "invalid_site", "site must be 1-64 of A-Z a-z 0-9 . _ -");
    }
    let mut ruleset = match read_ruleset(request.into_body(), "").await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let doc = serde_json::from_str::<serde_json::Value>(&ruleset.to_json()).ok();
    // HTML in page changes is signed as sanitised; the answer names the values changed.
    let sanitised = crate::sanitise::sanitise_ruleset(&mut ruleset);
    match super::publish(&state, &site, ruleset, false).await {
        Ok((envelope, _)) => {
            // New metrics: the rollups are rebuilt now rather than on the next report.
            rebuild_rollups(&state, &site, doc);
            let detail = format!("version {}", envelope.version);
            if let Err(e) = super::studio::audit(&state, &site, &Access::Admin, "published", "", &detail).await {
                crate::log::error(&format!("recording version {} of site {site}: {e}", envelope.version));
            }
            let mut answer = envelope.to_value();
            if let (false, Some(m)) = (sanitised.is_empty(), answer.as_object_mut()) {
                m.insert("sanitised", Value::Array(sanitised.into_iter().map(Value::from).collect()));
            }
            json(StatusCode::CREATED, answer.to_json())
        }
        Err(PublishError::Invalid(errors)) => json(
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({
                "error": "invalid_ruleset",
                "message": format!("the ruleset has {} error(s)", errors.len()),
                "errors": errors,
            })
            .to_string(),
        ),
        Err(PublishError::Store(e)) => store_error(e),
    }
}

/// `GET /v1/admin/results/{site}[?experiment=KEY]`: per experiment, the counts and the
/// statistics of every variation against the control (`crate::results`).
pub async fn results(
    State(state): State<Shared>,
    Path(site): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: Request<Body>,
) -> Response {
    if let Err(refused) = require_access(&state, request.headers(), &site, Role::View) {
        return refused;
    }
    // The published ruleset: the experiments' weights (for the split check) and metrics.
    let ruleset = match state.store.latest_ruleset(&site).await {
        Ok(found) => found.and_then(|(_, envelope)| serde_json::from_str::<serde_json::Value>(&envelope).ok()),
        Err(e) => return store_error(e),
    };
    let ruleset = ruleset.map(|mut envelope| envelope["ruleset"].take());
    let scan = query.get("source").is_some_and(|s| s == "scan");
    let experiment = query.get("experiment").map(String::as_str);
    let (data, source) = match state.store.results_data(&site, experiment, ruleset.as_ref(), scan).await {
        Ok(found) => found,
        Err(e) => return store_error(e),
    };
    if source == "scan" && !scan {
        rebuild_rollups(&state, &site, ruleset.clone());
    }
    let experiments: Vec<serde_json::Value> = data
        .iter()
        .map(|e| {
            let base: Vec<_> = e.base.iter().collect();
            let configured = crate::results::Configured::from_ruleset(ruleset.as_ref(), &e.key);
            crate::results::experiment(&e.key, &base, &configured, &e.metrics)
        })
        .collect();
    json(StatusCode::OK, serde_json::json!({ "site": site, "source": source, "experiments": experiments }).to_string())
}

/// Rebuilds the rollups of `site` in the background, unless that is under way.
pub fn rebuild_rollups(state: &Shared, site: &str, ruleset: Option<serde_json::Value>) {
    let Some(guard) = crate::store::Rebuilding::start(site) else {
        return;
    };
    let (state, site) = (state.clone(), site.to_string());
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        match state.store.rollups_current(&site, ruleset.as_ref()).await {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => return crate::log::error(&format!("reading the rollups of site {site}: {e}")),
        }
        match state.store.rebuild_rollups(&site, ruleset.as_ref()).await {
            Ok(rows) => crate::log::info(&format!(
                "rollups of site {site} rebuilt: {rows} rows in {} ms",
                started.elapsed().as_millis()
            )),
            Err(e) => crate::log::error(&format!("rebuilding the rollups of site {site}: {e}")),
        }
        drop(guard);
    });
}

/// The largest body of a link request.
const MAX_LINK_BYTES: usize = 4096;

/// `POST /v1/admin/studio-links/{site}` with an optional JSON body `{"role", "ttl", "path",
/// "who"}` (defaults `view`, `30m`, the results page of the site, nobody named): 201 and a new Studio link. The
/// admin token may make any; a Studio token of the site with the `edit` role or above, links
/// of at most its own role that expire no later than itself.
pub async fn studio_link(State(state): State<Shared>, Path(site): Path<String>, request: Request<Body>) -> Response {
    if !is_valid_name(&site) {
        return error(StatusCode::BAD_REQUEST, "invalid_site", "site must be 1-64 of A-Z a-z 0-9 . _ -");
    }
    let access = match require_access(&state, request.headers(), &site, Role::Edit) {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    let body = match read_body(request.into_body(), MAX_LINK_BYTES).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let asked = match link_request(&body) {
        Ok(a) => a,
        Err(message) => return error(StatusCode::BAD_REQUEST, "invalid_link_request", message),
    };
    let (role, ttl_ms, path, mut who) = asked;
    let path = path.unwrap_or_else(|| format!("/admin/results?site={site}"));
    let mut expires_at = crate::signing::now_ms().saturating_add(ttl_ms);
    if let Access::Studio(claims) = &access {
        if role > claims.role {
            let refusal = studio_token::Refusal::Role { has: claims.role, needs: role };
            return error(StatusCode::FORBIDDEN, refusal.code(), refusal.message());
        }
        expires_at = expires_at.min(claims.expires_at);
        // A link made with a named token is for the same person unless it names another.
        who = who.or_else(|| claims.who.clone());
    }
    let token = studio_token::issue_for(&state.key, &site, role, expires_at, who.as_deref());
    let detail = format!("role {}, until {} UTC", role.as_str(), studio_token::timestamp(expires_at));
    let target = who.clone().unwrap_or_default();
    if let Err(e) = super::studio::audit(&state, &site, &access, "link_made", &target, &detail).await {
        return store_error(e);
    }
    let mut answer = serde_json::json!({
        "site": site,
        "role": role.as_str(),
        "expiresAt": expires_at,
        "token": token,
        "link": studio_token::link(&path, &token),
    });
    if let Some(who) = who {
        answer["who"] = who.into();
    }
    json(StatusCode::CREATED, answer.to_string())
}

/// What a link request asks for: the role, the lifetime in ms, the path and who it is for.
type LinkRequest = (Role, i64, Option<String>, Option<String>);

/// Reads the body of a link request.
fn link_request(body: &[u8]) -> Result<LinkRequest, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((Role::View, studio_token::DEFAULT_TTL_MS, None, None));
    }
    let doc: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let fields = doc.as_object().ok_or("the body must be a JSON object {\"role\", \"ttl\", \"path\"}")?;
    let mut out = (Role::View, studio_token::DEFAULT_TTL_MS, None, None);
    for (k, v) in fields {
        let text = || v.as_str().ok_or(format!("{k}: expected a string"));
        match k.as_str() {
            "role" => out.0 = Role::parse(text()?)?,
            "ttl" => out.1 = studio_token::parse_ttl(text()?)?,
            "path" => {
                let p = text()?;
                if !p.starts_with('/') || p.starts_with("//") || p.contains(['\\', '#']) || p.len() > 1024 {
                    return Err(format!("path '{p}': expected a path on this server, such as /admin/results"));
                }
                out.2 = Some(p.to_string());
            }
            "who" => {
                let w = text()?;
                studio_token::check_who(w)?;
                out.3 = Some(w.to_string());
            }
            other => return Err(format!("unknown field '{other}': expected role, ttl, path, who")),
        }
    }
    Ok(out)
}
