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
    let ruleset = match std::str::from_utf8(&body)
        .map_err(|e| e.to_string())
        .and_then(|t| Value::parse(t).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, "malformed_json", e),
    };
    match super::publish(&state, &site, ruleset, false).await {
        Ok((envelope, _)) => json(StatusCode::CREATED, envelope.to_value().to_json()),
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
    let rows = match state.store.results(&site, query.get("experiment").map(String::as_str)).await {
        Ok(rows) => rows,
        Err(e) => return store_error(e),
    };
    // The configured weights, for the sample ratio mismatch check.
    let ruleset = match state.store.latest_ruleset(&site).await {
        Ok(found) => found.and_then(|(_, envelope)| serde_json::from_str::<serde_json::Value>(&envelope).ok()),
        Err(e) => return store_error(e),
    };
    let ruleset = ruleset.as_ref().map(|envelope| &envelope["ruleset"]);
    let mut keys: Vec<&str> = rows.iter().map(|r| r.experiment_key.as_str()).collect();
    keys.dedup();
    let mut experiments = Vec::new();
    for key in keys {
        let mine: Vec<_> = rows.iter().filter(|r| r.experiment_key == key).collect();
        // The experiment's own metrics in the published ruleset, else the defaults.
        let mut metrics = Vec::new();
        for metric in crate::metrics::for_experiment(ruleset, key) {
            match state.store.metric_sums(&site, key, &metric).await {
                Ok(sums) => metrics.push(crate::results::MetricData { metric, sums }),
                Err(e) => return store_error(e),
            }
        }
        experiments.push(crate::results::experiment(
            key,
            &mine,
            crate::results::configured_weights(ruleset, key),
            &metrics,
        ));
    }
    json(StatusCode::OK, serde_json::json!({ "site": site, "experiments": experiments }).to_string())
}
