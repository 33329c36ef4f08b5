//! The Studio's endpoints under `/v1/studio/{site}`: drafts, publishing a draft, version
//! history with diffs and rollback, the audit log and preview links. Each takes the admin
//! token or a Studio token of the site ([`crate::studio_token`]) with the role it needs:
//! `view` to read, `edit` to change drafts and make preview links, `publish` to publish and
//! roll back. The preview endpoint takes a preview token instead (made here, see
//! [`preview_token`]).
//!
//! A draft is a whole ruleset, stored as saved (page-change HTML sanitised first) with the
//! validator's errors beside it: a draft with errors is kept, and refused when published.
//! Publishing goes through [`super::rulesets::publish`], the admin publish's own path (sign,
//! store, push to open tabs).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::Signature;
use serde_json::{json, Value as Json};
use tailor::engine::json::Value;
use tailor::engine::wire::{is_valid_name, RulesetEnvelope};

use super::admin::{read_ruleset, rebuild_rollups, require_access, Access};
use super::rulesets::PublishError;
use super::{error, json, read_body, store_error, AppState, Shared};
use crate::signing::now_ms;
use crate::store::{Draft, StoreError};
use crate::studio_token::{self, Role};

/// Drafts a site may keep at once.
pub const MAX_DRAFTS: usize = 100;

/// The query parameter that carries a preview token in a preview link.
pub const PREVIEW_PARAM: &str = "tailor_preview";

/// Who a request speaks for, as the audit log and the history name them: `(who, role)`.
fn actor(access: &Access) -> (String, String) {
    match access {
        Access::Admin => ("admin".into(), "admin".into()),
        Access::Studio(c) => (c.who.clone().unwrap_or_else(|| "studio link".into()), c.role.as_str().into()),
    }
}

/// Appends one entry to the audit log of `site`.
pub async fn audit(
    state: &AppState,
    site: &str,
    access: &Access,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), StoreError> {
    let (who, role) = actor(access);
    state.store.audit(site, now_ms(), (&who, &role), action, target, detail).await
}

fn bad_site() -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_site", "site must be 1-64 of A-Z a-z 0-9 . _ -")
}

/// The site checked, then the access for `needs`.
fn allow(state: &AppState, headers: &HeaderMap, site: &str, needs: Role) -> Result<Access, Response> {
    if !is_valid_name(site) {
        return Err(bad_site());
    }
    require_access(state, headers, site, needs)
}

fn check_name(name: &str) -> Result<(), Response> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(error(StatusCode::BAD_REQUEST, "invalid_draft_name", "a draft's name must be 1-64 of A-Z a-z 0-9 . _ -"))
    }
}

fn no_draft(site: &str, name: &str) -> Response {
    error(StatusCode::NOT_FOUND, "no_draft", format!("site '{site}' has no draft '{name}'"))
}

/// The validator's errors as `{"path", "message"}`: the path is the ruleset's JSON path the
/// error is at (`offers[0].placements`), empty for the ruleset as a whole.
fn located(errors: &[String]) -> Vec<Json> {
    errors
        .iter()
        .map(|e| match e.split_once(": ") {
            Some((path, message)) if !path.contains(' ') => json!({ "path": path, "message": message }),
            _ => json!({ "path": "", "message": e }),
        })
        .collect()
}

/// `out` with `"ruleset"` added as it is stored: its keys in their order (which
/// `serde_json`'s map would sort).
fn with_ruleset(out: Json, ruleset: Value) -> Response {
    let mut out = Value::parse(&out.to_string()).unwrap_or(Value::Null);
    if let Some(m) = out.as_object_mut() {
        m.insert("ruleset", ruleset);
    }
    json(StatusCode::OK, out.to_json())
}

fn draft_json(site: &str, d: &Draft) -> Json {
    let errors: Json = serde_json::from_str(&d.errors).unwrap_or_else(|_| json!([]));
    json!({
        "site": site,
        "name": d.name,
        "savedAt": d.saved_at,
        "savedBy": d.saved_by,
        "valid": errors.as_array().is_some_and(Vec::is_empty),
        "errors": errors,
    })
}

fn answer(status: StatusCode, body: Json) -> Response {
    json(status, body.to_string())
}

/// `GET /v1/studio/{site}/drafts` (view): every draft, without its ruleset.
pub async fn list_drafts(State(state): State<Shared>, Path(site): Path<String>, headers: HeaderMap) -> Response {
    if let Err(refused) = allow(&state, &headers, &site, Role::View) {
        return refused;
    }
    match state.store.drafts(&site).await {
        Ok(drafts) => {
            let list: Vec<Json> = drafts
                .iter()
                .map(|d| {
                    let mut j = draft_json(&site, d);
                    j.as_object_mut().map(|m| m.remove("site"));
                    j
                })
                .collect();
            answer(StatusCode::OK, json!({ "site": site, "drafts": list }))
        }
        Err(e) => store_error(e),
    }
}

/// `GET /v1/studio/{site}/drafts/{name}` (view): the draft, its ruleset and its errors.
pub async fn get_draft(
    State(state): State<Shared>,
    Path((site, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = allow(&state, &headers, &site, Role::View).and_then(|_| check_name(&name)) {
        return refused;
    }
    match state.store.draft(&site, &name).await {
        Ok(Some(d)) => with_ruleset(draft_json(&site, &d), Value::parse(&d.ruleset).unwrap_or(Value::Null)),
        Ok(None) => no_draft(&site, &name),
        Err(e) => store_error(e),
    }
}

/// `PUT /v1/studio/{site}/drafts/{name}` (edit) with a whole ruleset as the body: sanitised,
/// validated and saved whatever the validator says; `201` when new, `200` when replaced,
/// with the errors beside their paths.
pub async fn put_draft(
    State(state): State<Shared>,
    Path((site, name)): Path<(String, String)>,
    request: Request<Body>,
) -> Response {
    let access = match allow(&state, request.headers(), &site, Role::Edit) {
        Ok(a) => a,
        Err(refused) => return super::refuse_unread(&request.headers().clone(), request.into_body(), refused).await,
    };
    if let Err(refused) = check_name(&name) {
        return super::refuse_unread(&request.headers().clone(), request.into_body(), refused).await;
    }
    let mut ruleset = match read_ruleset(request.into_body(), "the draft is not JSON: ").await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let existing = match state.store.drafts(&site).await {
        Ok(d) => d,
        Err(e) => return store_error(e),
    };
    let new = !existing.iter().any(|d| d.name == name);
    if new && existing.len() >= MAX_DRAFTS {
        return error(
            StatusCode::CONFLICT,
            "too_many_drafts",
            format!("site '{site}' has {MAX_DRAFTS} drafts, the most it may keep: delete one first"),
        );
    }
    let sanitised = crate::sanitise::sanitise_ruleset(&mut ruleset);
    let errors = match crate::signing::validate_ruleset(&ruleset) {
        Ok(()) => Vec::new(),
        Err(errors) => located(&errors),
    };
    let draft = Draft {
        name: name.clone(),
        ruleset: ruleset.to_json(),
        errors: Json::Array(errors.clone()).to_string(),
        saved_at: now_ms(),
        saved_by: actor(&access).0,
    };
    if let Err(e) = state.store.save_draft(&site, &draft).await {
        return store_error(e);
    }
    let detail = if errors.is_empty() { "valid".to_string() } else { format!("{} error(s)", errors.len()) };
    if let Err(e) = audit(&state, &site, &access, "draft_saved", &name, &detail).await {
        return store_error(e);
    }
    let mut out = draft_json(&site, &draft);
    if !sanitised.is_empty() {
        out["sanitised"] = json!(sanitised);
    }
    answer(if new { StatusCode::CREATED } else { StatusCode::OK }, out)
}

/// `DELETE /v1/studio/{site}/drafts/{name}` (edit): `204`, or `404` when there is none.
pub async fn delete_draft(
    State(state): State<Shared>,
    Path((site, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let access = match allow(&state, &headers, &site, Role::Edit).and_then(|a| check_name(&name).map(|()| a)) {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    match state.store.delete_draft(&site, &name).await {
        Ok(true) => {}
        Ok(false) => return no_draft(&site, &name),
        Err(e) => return store_error(e),
    }
    if let Err(e) = audit(&state, &site, &access, "draft_deleted", &name, "").await {
        return store_error(e);
    }
    axum::response::IntoResponse::into_response(StatusCode::NO_CONTENT)
}

/// Publishes `ruleset` as the next version through the admin publish's path, records who
/// and why, and answers `201` with the envelope.
async fn publish_as(
    state: &Shared,
    site: &str,
    access: &Access,
    ruleset: Value,
    summary: String,
    audit_entry: (&str, &str),
) -> Response {
    let doc = serde_json::from_str::<Json>(&ruleset.to_json()).ok();
    // What this changes for shoppers, said in the history's summary.
    let before = match state.store.latest_ruleset(site).await {
        Ok(found) => found.and_then(|(_, text)| serde_json::from_str::<Json>(&text).ok()),
        Err(e) => return store_error(e),
    };
    let changes = diff(&before.map_or(Json::Null, |mut e| e["ruleset"].take()), doc.as_ref().unwrap_or(&Json::Null));
    let summary = format!("{summary}: {}", describe(&changes));
    let envelope = match super::publish(state, site, ruleset, false).await {
        Ok((envelope, _)) => envelope,
        Err(PublishError::Invalid(errors)) => {
            return answer(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({
                    "error": "invalid_ruleset",
                    "message": format!("the ruleset has {} error(s)", errors.len()),
                    "errors": located(&errors),
                }),
            )
        }
        Err(PublishError::Store(e)) => return store_error(e),
    };
    rebuild_rollups(state, site, doc);
    let (who, role) = actor(access);
    let recorded = state.store.record_version(site, envelope.version, &who, &role, &summary).await;
    let detail = format!("version {}", envelope.version);
    if let Err(e) = recorded.and(audit(state, site, access, audit_entry.0, audit_entry.1, &detail).await) {
        // Published and live already: the answer says so; the log says what was not recorded.
        crate::log::error(&format!("recording version {} of site {site}: {e}", envelope.version));
    }
    json(StatusCode::CREATED, envelope.to_value().to_json())
}

/// `POST /v1/studio/{site}/drafts/{name}/publish` (publish): the draft as the next version,
/// `422 draft_invalid` with its errors when the validator found any.
pub async fn publish_draft(
    State(state): State<Shared>,
    Path((site, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let access = match allow(&state, &headers, &site, Role::Publish).and_then(|a| check_name(&name).map(|()| a)) {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    let draft = match state.store.draft(&site, &name).await {
        Ok(Some(d)) => d,
        Ok(None) => return no_draft(&site, &name),
        Err(e) => return store_error(e),
    };
    let errors: Json = serde_json::from_str(&draft.errors).unwrap_or_else(|_| json!([]));
    if errors.as_array().is_some_and(|e| !e.is_empty()) {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({
                "error": "draft_invalid",
                "message": format!("draft '{name}' has {} error(s): fix them and save it again", errors.as_array().map_or(0, Vec::len)),
                "errors": errors,
            }),
        );
    }
    let ruleset = match Value::parse(&draft.ruleset) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "corrupt_draft", e.to_string()),
    };
    publish_as(&state, &site, &access, ruleset, format!("published draft '{name}'"), ("published", &name)).await
}

/// The ruleset of `version`, or the answer that says there is none.
async fn version_ruleset(state: &AppState, site: &str, version: u64) -> Result<Value, Response> {
    let text = match state.store.ruleset_version(site, version).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return Err(error(
                StatusCode::NOT_FOUND,
                "no_version",
                format!("site '{site}' has no published version {version}"),
            ))
        }
        Err(e) => return Err(store_error(e)),
    };
    RulesetEnvelope::parse(&text)
        .map(|e| e.ruleset)
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, "corrupt_ruleset", e.to_string()))
}

fn parse_version(text: &str, field: &str) -> Result<u64, Response> {
    text.parse::<u64>().ok().filter(|v| *v > 0).ok_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_version",
            format!("{field} '{text}': expected a version number (1, 2, ...)"),
        )
    })
}

fn version_json(v: &crate::store::Version, current: u64) -> Json {
    let (who, role) = v.who.clone().unwrap_or_else(|| ("admin".into(), "admin".into()));
    json!({
        "version": v.version,
        "publishedAt": v.published_at,
        "who": who,
        "role": role,
        "summary": v.summary.clone().unwrap_or_else(|| "published with the admin API".into()),
        "current": v.version == current,
    })
}

/// `GET /v1/studio/{site}/versions` (view): every published version, newest first.
pub async fn versions(State(state): State<Shared>, Path(site): Path<String>, headers: HeaderMap) -> Response {
    if let Err(refused) = allow(&state, &headers, &site, Role::View) {
        return refused;
    }
    match state.store.versions(&site).await {
        Ok(list) => {
            let current = list.first().map_or(0, |v| v.version);
            let list: Vec<Json> = list.iter().map(|v| version_json(v, current)).collect();
            answer(StatusCode::OK, json!({ "site": site, "versions": list }))
        }
        Err(e) => store_error(e),
    }
}

/// `GET /v1/studio/{site}/versions/{v}` (view): one version with its ruleset.
pub async fn version(
    State(state): State<Shared>,
    Path((site, v)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = allow(&state, &headers, &site, Role::View) {
        return refused;
    }
    let v = match parse_version(&v, "version") {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let ruleset = match version_ruleset(&state, &site, v).await {
        Ok(r) => r,
        Err(refused) => return refused,
    };
    let list = match state.store.versions(&site).await {
        Ok(list) => list,
        Err(e) => return store_error(e),
    };
    let current = list.first().map_or(0, |x| x.version);
    let Some(found) = list.iter().find(|x| x.version == v) else {
        return error(StatusCode::NOT_FOUND, "no_version", format!("site '{site}' has no published version {v}"));
    };
    let mut out = version_json(found, current);
    out["site"] = json!(site);
    with_ruleset(out, ruleset)
}

/// `GET /v1/studio/{site}/versions/{v}/diff?against=W` (view): what changed from version W
/// to version v ([`diff`]).
pub async fn version_diff(
    State(state): State<Shared>,
    Path((site, v)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = allow(&state, &headers, &site, Role::View) {
        return refused;
    }
    let Some(against) = query.get("against") else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_version",
            "against: name the version to compare with (?against=1)",
        );
    };
    let (v, w) = match parse_version(&v, "version").and_then(|v| parse_version(against, "against").map(|w| (v, w))) {
        Ok(pair) => pair,
        Err(refused) => return refused,
    };
    let mut sides = Vec::new();
    for n in [w, v] {
        match version_ruleset(&state, &site, n).await {
            Ok(r) => sides.push(serde_json::from_str::<Json>(&r.to_json()).unwrap_or(Json::Null)),
            Err(refused) => return refused,
        }
    }
    let changes = diff(&sides[0], &sides[1]);
    answer(StatusCode::OK, json!({ "site": site, "from": w, "to": v, "changes": changes }))
}

/// `POST /v1/studio/{site}/versions/{v}/rollback` (publish): version v's ruleset published
/// again as the next version (so versions only grow and open tabs receive it).
pub async fn rollback(
    State(state): State<Shared>,
    Path((site, v)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let access = match allow(&state, &headers, &site, Role::Publish) {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    let v = match parse_version(&v, "version") {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let ruleset = match version_ruleset(&state, &site, v).await {
        Ok(r) => r,
        Err(refused) => return refused,
    };
    let target = format!("version {v}");
    publish_as(&state, &site, &access, ruleset, format!("rollback to version {v}"), ("rolled_back", &target)).await
}

/// `GET /v1/studio/{site}/audit[?after=SEQ][&limit=N]` (view): the log, oldest first.
pub async fn audit_log(
    State(state): State<Shared>,
    Path(site): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = allow(&state, &headers, &site, Role::View) {
        return refused;
    }
    let number = |k: &str, default: u64, max: u64| -> Result<u64, Response> {
        match query.get(k) {
            None => Ok(default),
            Some(t) => t.parse::<u64>().ok().filter(|n| *n <= max).ok_or_else(|| {
                error(StatusCode::BAD_REQUEST, "invalid_query", format!("{k} '{t}': expected a number from 0 to {max}"))
            }),
        }
    };
    let (after, limit) =
        match number("after", 0, i64::MAX as u64).and_then(|a| number("limit", 100, 1000).map(|l| (a, l))) {
            Ok(pair) => pair,
            Err(refused) => return refused,
        };
    match state.store.audit_log(&site, after, limit as i64).await {
        Ok(entries) => {
            let entries: Vec<Json> = entries
                .iter()
                .map(|e| {
                    json!({
                        "seq": e.seq, "at": e.at, "who": e.who, "role": e.role,
                        "action": e.action, "target": e.target, "detail": e.detail,
                    })
                })
                .collect();
            answer(StatusCode::OK, json!({ "site": site, "entries": entries }))
        }
        Err(e) => store_error(e),
    }
}

// ---- preview links ----

const PREVIEW_CONTEXT: &str = "tailor-preview-v1\n";
const PREVIEW_PREFIX: &str = "tp1.";

/// A preview token: `tp1.<claims>.<signature>`, `<claims>` the base64url of four lines
/// (site, draft, expiry in Unix ms, key id), signed with the server's key after the line
/// `tailor-preview-v1`, which no other signed document of the server starts with.
pub fn preview_token(state: &AppState, site: &str, draft: &str, expires_at: i64) -> String {
    let claims = format!("{site}\n{draft}\n{expires_at}\n{}", state.key.key_id());
    let signature = state.key.sign_message(format!("{PREVIEW_CONTEXT}{claims}").as_bytes());
    format!("{PREVIEW_PREFIX}{}.{}", URL_SAFE_NO_PAD.encode(claims), URL_SAFE_NO_PAD.encode(signature))
}

/// The site, draft and expiry of a valid preview token of `site`, or the refusal.
fn check_preview(state: &AppState, token: &str, site: &str) -> Result<(String, i64), Response> {
    let refuse = |status, code, message: String| error(status, code, message);
    let malformed = |why: &str| {
        refuse(StatusCode::UNAUTHORIZED, "preview_token_malformed", format!("the preview token is malformed: {why}"))
    };
    let rest = token.strip_prefix(PREVIEW_PREFIX).ok_or_else(|| malformed("it does not start with 'tp1.'"))?;
    let (claims, signature) = rest.split_once('.').ok_or_else(|| malformed("it has no signature part"))?;
    let claims = URL_SAFE_NO_PAD.decode(claims).map_err(|_| malformed("its claims are not base64url"))?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| malformed("its signature is not base64url"))?;
    let signature: [u8; 64] = signature.try_into().map_err(|_| malformed("its signature is not 64 bytes"))?;
    let tampered = || {
        refuse(
            StatusCode::UNAUTHORIZED,
            "preview_token_tampered",
            "the preview token was tampered with: its signature does not match (or another server made it)".into(),
        )
    };
    let signed = [PREVIEW_CONTEXT.as_bytes(), &claims].concat();
    if state.key.verifying_key().verify_strict(&signed, &Signature::from_bytes(&signature)).is_err() {
        return Err(tampered());
    }
    let claims = String::from_utf8(claims).map_err(|_| malformed("its claims are not UTF-8"))?;
    let [token_site, draft, expires_at, kid] = claims.split('\n').collect::<Vec<_>>()[..] else {
        return Err(malformed("its claims are not four lines"));
    };
    if kid != state.key.key_id() {
        return Err(tampered());
    }
    let expires_at: i64 = expires_at.parse().map_err(|_| malformed("its expiry is not a number"))?;
    if now_ms() >= expires_at {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "preview_token_expired",
            format!("the preview link expired at {} UTC: ask for a new one", studio_token::timestamp(expires_at)),
        ));
    }
    if token_site != site {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "preview_token_wrong_site",
            format!("the preview token is for site '{token_site}', not '{site}'"),
        ));
    }
    Ok((draft.to_string(), expires_at))
}

/// `POST /v1/studio/{site}/previews` (edit) with `{"draft", "ttl", "path"}` (`ttl` default
/// 30m, at most 24h; `path` the storefront page to open, default `/`): `201` and a preview
/// link. The draft must exist and be valid.
pub async fn make_preview(State(state): State<Shared>, Path(site): Path<String>, request: Request<Body>) -> Response {
    let access = match allow(&state, request.headers(), &site, Role::Edit) {
        Ok(a) => a,
        Err(refused) => return super::refuse_unread(&request.headers().clone(), request.into_body(), refused).await,
    };
    let body = match read_body(request.into_body(), 4096).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let asked = (|| -> Result<(String, i64, String), String> {
        let doc: Json = serde_json::from_slice(&body).map_err(|e| format!("the body is not JSON: {e}"))?;
        let fields = doc.as_object().ok_or("the body must be a JSON object {\"draft\", \"ttl\", \"path\"}")?;
        let (mut draft, mut ttl, mut path) = (None, studio_token::DEFAULT_TTL_MS, "/".to_string());
        for (k, v) in fields {
            let text = || v.as_str().ok_or(format!("{k}: expected a string"));
            match k.as_str() {
                "draft" => draft = Some(text()?.to_string()),
                "ttl" => ttl = studio_token::parse_ttl(text()?)?,
                "path" => {
                    let p = text()?;
                    if !p.starts_with('/') || p.starts_with("//") || p.contains(['\\', '#']) || p.len() > 1024 {
                        return Err(format!("path '{p}': expected a path on the storefront, such as /products"));
                    }
                    path = p.to_string();
                }
                other => return Err(format!("unknown field '{other}': expected draft, ttl, path")),
            }
        }
        Ok((draft.ok_or("draft: name the draft to preview")?, ttl, path))
    })();
    let (name, ttl, path) = match asked {
        Ok(a) => a,
        Err(message) => return error(StatusCode::BAD_REQUEST, "invalid_preview_request", message),
    };
    if let Err(refused) = check_name(&name) {
        return refused;
    }
    match state.store.draft(&site, &name).await {
        Ok(Some(d)) if d.errors.trim() == "[]" => {}
        Ok(Some(d)) => {
            return answer(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({
                    "error": "draft_invalid",
                    "message": format!("draft '{name}' has errors: fix them before previewing it"),
                    "errors": serde_json::from_str::<Json>(&d.errors).unwrap_or(Json::Null),
                }),
            )
        }
        Ok(None) => return no_draft(&site, &name),
        Err(e) => return store_error(e),
    }
    let expires_at = now_ms().saturating_add(ttl);
    let token = preview_token(&state, &site, &name, expires_at);
    let detail = format!("until {} UTC", studio_token::timestamp(expires_at));
    if let Err(e) = audit(&state, &site, &access, "preview_made", &name, &detail).await {
        return store_error(e);
    }
    let sep = if path.contains('?') { '&' } else { '?' };
    answer(
        StatusCode::CREATED,
        json!({
            "site": site,
            "draft": name,
            "expiresAt": expires_at,
            "token": token,
            "url": format!("/v1/studio/{site}/preview?token={token}"),
            "link": format!("{path}{sep}{PREVIEW_PARAM}={token}"),
        }),
    )
}

/// `GET /v1/studio/{site}/preview?token=TOKEN` (the preview token only): the draft as it is
/// now, signed as an envelope of version `0` (never a published version) that expires with
/// the token, plus `"preview": {"draft", "expiresAt"}`.
pub async fn preview(
    State(state): State<Shared>,
    Path(site): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !is_valid_name(&site) {
        return bad_site();
    }
    let Some(token) = query.get("token") else {
        return error(StatusCode::UNAUTHORIZED, "preview_token_malformed", "send the preview token as ?token=tp1....");
    };
    let (name, expires_at) = match check_preview(&state, token, &site) {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let draft = match state.store.draft(&site, &name).await {
        Ok(Some(d)) => d,
        Ok(None) => return no_draft(&site, &name),
        Err(e) => return store_error(e),
    };
    let ruleset = match Value::parse(&draft.ruleset) {
        Ok(v) if crate::signing::validate_ruleset(&v).is_ok() => v,
        _ => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "draft_invalid",
                format!("draft '{name}' has errors now: it cannot be previewed until they are fixed"),
            )
        }
    };
    let now = now_ms();
    let envelope = state.key.sign(&site, 0, now, expires_at - now, ruleset);
    let mut out = envelope.to_value();
    if let Some(m) = out.as_object_mut() {
        let mut marker = tailor::engine::json::Map::new();
        marker.insert("draft", Value::from(name.as_str()));
        marker.insert("expiresAt", Value::from(expires_at as f64));
        m.insert("preview", Value::Object(marker));
    }
    json(StatusCode::OK, out.to_json())
}

// ---- the structural diff ----

/// The collections of a ruleset compared item by item: the field, how an item is named
/// (the key of an array's items, or `None` for an object's own keys), and the item's kind.
const COLLECTIONS: [(&str, Option<&str>, &str); 3] =
    [("experiments", Some("key"), "experiment"), ("offers", Some("id"), "offer"), ("placements", None, "placement")];

/// What changed from ruleset `old` to `new`: experiments, offers and placements added,
/// removed or changed (with the paths of the fields changed and their old and new values),
/// and any other top-level field. Items are matched by key (`key`, `id`, the placement's
/// name), so moving an item is not a change. Hand-written: a generic JSON diff would match
/// array items by position and report a reorder as a change of every item.
pub fn diff(old: &Json, new: &Json) -> Vec<Json> {
    let mut out = Vec::new();
    let empty = serde_json::Map::new();
    let (o, n) = (old.as_object().unwrap_or(&empty), new.as_object().unwrap_or(&empty));
    for (field, id, kind) in COLLECTIONS {
        let (before, after) = (items(o.get(field), id, field), items(n.get(field), id, field));
        for (key, (path, value)) in &before {
            if !after.iter().any(|(k, _)| k == key) {
                out.push(json!({ "change": "removed", "kind": kind, "key": key, "path": path, "from": value }));
            }
        }
        for (key, (path, value)) in &after {
            match before.iter().find(|(k, _)| k == key) {
                None => out.push(json!({ "change": "added", "kind": kind, "key": key, "path": path, "to": value })),
                Some((_, (_, was))) if was != value => {
                    let mut fields = Vec::new();
                    fields_changed(path, was, value, &mut fields);
                    out.push(json!({ "change": "changed", "kind": kind, "key": key, "path": path, "fields": fields }));
                }
                Some(_) => {}
            }
        }
    }
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys.into_iter().filter(|k| !COLLECTIONS.iter().any(|(f, _, _)| f == k)) {
        match (o.get(key), n.get(key)) {
            (Some(a), None) => out.push(json!({ "change": "removed", "kind": "field", "path": key, "from": a })),
            (None, Some(b)) => out.push(json!({ "change": "added", "kind": "field", "path": key, "to": b })),
            (Some(a), Some(b)) if a != b => {
                out.push(json!({ "change": "changed", "kind": "field", "path": key, "from": a, "to": b }))
            }
            _ => {}
        }
    }
    out
}

/// A diff in a few words: `experiment hero changed, offer sale added`, the first five
/// changes and how many more.
pub fn describe(changes: &[Json]) -> String {
    if changes.is_empty() {
        return "no change".into();
    }
    let mut words: Vec<String> = changes
        .iter()
        .take(5)
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            match c["kind"].as_str() {
                Some("field") => format!("{} {}", s("path"), s("change")),
                _ => format!("{} {} {}", s("kind"), s("key"), s("change")),
            }
        })
        .collect();
    if changes.len() > 5 {
        words.push(format!("{} more", changes.len() - 5));
    }
    words.join(", ")
}

/// The items of a collection: `(name, (path, value))` in their order.
fn items<'a>(v: Option<&'a Json>, id: Option<&str>, field: &str) -> Vec<(String, (String, &'a Json))> {
    match (v, id) {
        (Some(Json::Array(list)), Some(id)) => list
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let name = item.get(id).and_then(Json::as_str).map_or_else(|| format!("#{i}"), String::from);
                (name, (format!("{field}[{i}]"), item))
            })
            .collect(),
        (Some(Json::Object(map)), None) => {
            map.iter().map(|(k, item)| (k.clone(), (format!("{field}.{k}"), item))).collect()
        }
        _ => Vec::new(),
    }
}

/// The leaves that differ between `a` and `b` under `path`: objects key by key, arrays of
/// the same length item by item, anything else whole.
fn fields_changed(path: &str, a: &Json, b: &Json, out: &mut Vec<Json>) {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) if u != v => fields_changed(&p, u, v, out),
                    (Some(u), None) => out.push(json!({ "path": p, "from": u })),
                    (None, Some(v)) => out.push(json!({ "path": p, "to": v })),
                    _ => {}
                }
            }
        }
        (Json::Array(x), Json::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                if u != v {
                    fields_changed(&format!("{path}[{i}]"), u, v, out);
                }
            }
        }
        _ => out.push(json!({ "path": path, "from": a, "to": b })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_matches_items_by_key_and_names_the_fields_changed() {
        let old = json!({"version": 1, "placements": {"hero": {"limit": 1}, "side": {"limit": 2}},
            "offers": [{"id": "a", "priority": 1}, {"id": "b"}],
            "experiments": [{"key": "x", "weights": [0.5, 0.5]}]});
        let new = json!({"version": 1, "id": "r2", "placements": {"hero": {"limit": 3}},
            "offers": [{"id": "c"}, {"id": "a", "priority": 1}],
            "experiments": [{"key": "x", "weights": [0.2, 0.8]}]});
        let changes = diff(&old, &new);
        let brief: Vec<String> = changes
            .iter()
            .map(|c| {
                format!(
                    "{} {} {}",
                    c["change"].as_str().unwrap(),
                    c["kind"].as_str().unwrap(),
                    c["path"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            brief,
            [
                "changed experiment experiments[0]",
                "removed offer offers[1]",
                "added offer offers[0]",
                "removed placement placements.side",
                "changed placement placements.hero",
                "added field id",
            ]
        );
        assert_eq!(
            changes[0]["fields"],
            json!([{"path": "experiments[0].weights[0]", "from": 0.5, "to": 0.2},
                   {"path": "experiments[0].weights[1]", "from": 0.5, "to": 0.8}])
        );
        assert_eq!(changes[4]["fields"], json!([{"path": "placements.hero.limit", "from": 1, "to": 3}]));
        assert!(diff(&old, &old).is_empty());
        assert_eq!(describe(&[]), "no change");
        assert_eq!(
            describe(&changes),
            "experiment x changed, offer b removed, offer c added, placement side removed, placement hero changed, 1 more"
        );
    }
}
