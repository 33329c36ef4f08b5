//! `POST /v1/events`: a batch of events, answered per event.

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use tailor::engine::wire::{BatchResponse, MAX_BATCH_BYTES};

use super::{error, json, read_body, site_param, store_error, Shared};
use crate::ingest::{parse_batch, BatchError};
use crate::signing::now_ms;

pub async fn ingest(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    request: Request<Body>,
) -> Response {
    if state.config.fail_rate > 0.0 && injected_failure(state.config.fail_rate) {
        return error(StatusCode::SERVICE_UNAVAILABLE, "injected_failure", "--fail-rate: a test failure");
    }
    let default_site = match site_param(&state, &query) {
        Ok(site) => site,
        Err(response) => return response,
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(bytes) = declared.filter(|&n| n > MAX_BATCH_BYTES) {
        return batch_error(BatchError::TooLarge { bytes });
    }
    let body = match read_body(request.into_body(), MAX_BATCH_BYTES).await {
        Ok(body) => body,
        Err(_) => return batch_error(BatchError::TooLarge { bytes: MAX_BATCH_BYTES + 1 }),
    };
    let received_at = now_ms();
    let mut ingest = match parse_batch(&body, received_at, &default_site) {
        Ok(ingest) => ingest,
        Err(e) => return batch_error(e),
    };
    if let Err(wait) = state.limiter.check(&ingest.site, ingest.results.len(), Instant::now()) {
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("site '{}' is over its event rate; retry in {seconds} s", ingest.site),
        );
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    let (indices, events) = ingest.take_events();
    match state.store.insert_events(&ingest.site, events).await {
        Ok(inserted) => ingest.settle(&indices, &inserted),
        Err(e) => return store_error(e),
    }
    let response = BatchResponse { received_at, results: ingest.results };
    json(StatusCode::OK, response.to_value().to_json())
}

/// `--fail-rate` (testing only): true for about `rate` of the calls.
fn injected_failure(rate: f64) -> bool {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).is_ok() && f64::from(u32::from_le_bytes(b)) / 4_294_967_296.0 < rate
}

fn batch_error(e: BatchError) -> Response {
    let status = match e {
        BatchError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    json(status, e.to_json().to_string())
}
