//! The admin API (bearer token): publish a ruleset, read experiment results.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use tailor::engine::json::Value;
use tailor::engine::wire::is_valid_name;

use super::rulesets::PublishError;
use super::{error, json, read_body, require_admin, store_error, Shared};

/// The largest ruleset accepted for publishing.
pub const MAX_RULESET_BYTES: usize = 4 * 1024 * 1024;

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
    let body = match read_body(request.into_body(), MAX_RULESET_BYTES).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let mut ruleset = match std::str::from_utf8(&body)
        .map_err(|e| e.to_string())
        .and_then(|t| Value::parse(t).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, "malformed_json", e),
    };
    let doc = serde_json::from_slice::<serde_json::Value>(&body).ok();
    // HTML in page changes is signed as sanitised; the answer names the values changed.
    let sanitised = crate::sanitise::sanitise_ruleset(&mut ruleset);
    match super::publish(&state, &site, ruleset, false).await {
        Ok((envelope, _)) => {
            // New metrics: the rollups are rebuilt now rather than on the next report.
            rebuild_rollups(&state, &site, doc);
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
    if let Err(refused) = require_admin(&state, request.headers()) {
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
            crate::results::experiment(
                &e.key,
                &base,
                crate::results::configured_weights(ruleset.as_ref(), &e.key),
                &e.metrics,
            )
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
            Err(e) => return crate::serve::log_error(&format!("reading the rollups of site {site}: {e}")),
        }
        match state.store.rebuild_rollups(&site, ruleset.as_ref()).await {
            Ok(rows) => crate::serve::log_info(&format!(
                "rollups of site {site} rebuilt: {rows} rows in {} ms",
                started.elapsed().as_millis()
            )),
            Err(e) => crate::serve::log_error(&format!("rebuilding the rollups of site {site}: {e}")),
        }
        drop(guard);
    });
}
