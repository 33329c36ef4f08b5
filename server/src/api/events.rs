//! `POST /v1/events`: a batch of events, answered per event.
//!
//! The cheap refusals come first and the expensive work last: the declared size (413) and
//! the address's byte budget (429) before the body is read, the site when the query names
//! it (404) before anything is parsed; then the body is parsed on a bounded pool of
//! blocking threads (never on the async workers, so hostile bodies cannot stall other
//! requests); then the valid events are charged to the site and to the client, and what
//! storage finds already stored is refunded.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use tailor::engine::wire::{BatchResponse, MAX_BATCH_BYTES};
use tokio::sync::Semaphore;

use super::{error, json, read_body, refuse_unread, site_param, store_error, AppState, Shared};
use crate::config::Config;
use crate::ingest::{parse_batch, BatchError, Ingest};
use crate::ratelimit::{Key, Limited};
use crate::signing::now_ms;
use crate::store::{Store, StoreError};

/// How long a site without a published ruleset is known to have none before the
/// database is asked again.
const PUBLISHED_RECHECK: Duration = Duration::from_secs(5);

/// State of the events endpoint: the parsing pool and the sites this server serves.
pub struct Intake {
    /// Batches parsed at once: one fewer than the CPUs (at least one), so that parsing never
    /// takes every core from the async workers.
    parsers: Arc<Semaphore>,
    sites: ServedSites,
}

impl Intake {
    pub fn new(config: &Config) -> Intake {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Intake { parsers: Arc::new(Semaphore::new(cpus.saturating_sub(1).max(1))), sites: ServedSites::new(config) }
    }
}

/// The sites whose events this server stores. Without `--sites`, every site; with it, the
/// sites it names, the default `--site`, every site with its own `--identity-secret`, and
/// every site with a published ruleset (looked up again at most every 5 s).
pub struct ServedSites {
    named: Option<HashSet<String>>,
    published: tokio::sync::Mutex<(HashSet<String>, Option<Instant>)>,
}

impl ServedSites {
    pub fn new(config: &Config) -> ServedSites {
        let named = config.sites.as_ref().map(|sites| {
            let mut named: HashSet<String> = sites.iter().cloned().collect();
            named.insert(config.site.clone());
            named.extend(config.identity_secrets.iter().map(|(site, _)| site.clone()).filter(|s| s != "*"));
            named
        });
        ServedSites { named, published: tokio::sync::Mutex::new((HashSet::new(), None)) }
    }

    pub async fn serves(&self, store: &Store, site: &str) -> Result<bool, StoreError> {
        let Some(named) = &self.named else { return Ok(true) };
        if named.contains(site) {
            return Ok(true);
        }
        let mut published = self.published.lock().await;
        if published.0.contains(site) {
            return Ok(true);
        }
        if published.1.is_some_and(|checked| checked.elapsed() < PUBLISHED_RECHECK) {
            return Ok(false);
        }
        let rows = store.query("SELECT DISTINCT site FROM rulesets", Vec::new()).await?;
        published.0 = rows.iter().filter_map(|row| row.first()?.text().map(String::from)).collect();
        published.1 = Some(Instant::now());
        Ok(published.0.contains(site))
    }
}

pub async fn ingest(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    request: Request<Body>,
) -> Response {
    if state.config.fail_rate > 0.0 && injected_failure(state.config.fail_rate) {
        return error(StatusCode::SERVICE_UNAVAILABLE, "injected_failure", "--fail-rate: a test failure");
    }
    let address = client_address(&state.config, &request);
    let (parts, body) = request.into_parts();
    let default_site = match site_param(&state, &query) {
        Ok(site) => site,
        Err(response) => return refuse_unread(&parts.headers, body, response).await,
    };
    let declared =
        parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if let Some(bytes) = declared.filter(|&n| n > MAX_BATCH_BYTES) {
        return refuse_unread(&parts.headers, body, batch_error(BatchError::TooLarge { bytes })).await;
    }
    if let Some(bytes) = declared {
        if let Err(limited) = state.limiter.admit_bytes(address, bytes, Instant::now()) {
            return refuse_unread(&parts.headers, body, rate_limited(&limited)).await;
        }
    }
    if query.contains_key("site") {
        match state.intake.sites.serves(&state.store, &default_site).await {
            Ok(true) => {}
            Ok(false) => return refuse_unread(&parts.headers, body, unknown_site(&default_site)).await,
            Err(e) => return store_error(e),
        }
    }
    let body = match read_body(body, MAX_BATCH_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    if declared.is_none() {
        if let Err(limited) = state.limiter.admit_bytes(address, body.len(), Instant::now()) {
            return rate_limited(&limited);
        }
    }
    let received_at = now_ms();
    let mut ingest = match parse_off_the_workers(&state, body, received_at, default_site).await {
        Ok(ingest) => ingest,
        Err(response) => return response,
    };
    if !query.contains_key("site") || ingest.site != query["site"] {
        match state.intake.sites.serves(&state.store, &ingest.site).await {
            Ok(true) => {}
            Ok(false) => return unknown_site(&ingest.site),
            Err(e) => return store_error(e),
        }
    }
    let (indices, events) = ingest.take_events();
    let anonymous: Vec<String> = events.iter().map(|e| e.anonymous_id.clone()).collect();
    let charged = costs(&ingest.site, address, anonymous.iter().map(String::as_str));
    if let Err(limited) = state.limiter.charge(&charged, Instant::now()) {
        return rate_limited(&limited);
    }
    let inserted = match state.store.insert_events(&ingest.site, events).await {
        Ok(inserted) => inserted,
        Err(e) => {
            state.limiter.refund(&charged);
            return store_error(e);
        }
    };
    ingest.settle(&indices, &inserted);
    let repeated = anonymous.iter().zip(&inserted).filter(|(_, &new)| !new).map(|(a, _)| a.as_str());
    state.limiter.refund(&costs(&ingest.site, address, repeated));
    let response = BatchResponse { received_at, results: ingest.results };
    json(StatusCode::OK, response.to_value().to_json())
}

/// Parses a batch on the blocking pool, at most [`Intake::parsers`] at a time.
async fn parse_off_the_workers(
    state: &AppState,
    body: axum::body::Bytes,
    received_at: i64,
    default_site: String,
) -> Result<Ingest, Response> {
    let permit = state.intake.parsers.clone().acquire_owned().await.map_err(|_| unavailable())?;
    let parsed = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        parse_batch(&body, received_at, &default_site)
    })
    .await
    .map_err(|_| unavailable())?;
    parsed.map_err(batch_error)
}

fn unavailable() -> Response {
    error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the batch could not be parsed; retry later")
}

/// What a batch's stored events cost: each one to the site, to the client's address and to
/// its anonymous id, all within the site.
fn costs<'a>(site: &str, address: IpAddr, anonymous: impl Iterator<Item = &'a str>) -> Vec<(Key, f64)> {
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    for id in anonymous {
        *per_id.entry(id).or_default() += 1;
    }
    let total: usize = per_id.values().sum();
    if total == 0 {
        return Vec::new();
    }
    let mut costs =
        vec![(Key::Site(site.to_string()), total as f64), (Key::Address(site.to_string(), address), total as f64)];
    costs.extend(per_id.into_iter().map(|(id, n)| (Key::Anonymous(site.to_string(), id.to_string()), n as f64)));
    costs
}

/// The client's address: the peer's, or with `--trust-proxy` the last address of
/// `X-Forwarded-For` (the one the proxy in front of this server added).
pub fn client_address(config: &Config, request: &Request<Body>) -> IpAddr {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let headers = request.headers();
    if config.trust_proxy {
        if let Some(forwarded) = forwarded_for(headers) {
            return forwarded;
        }
    } else if headers.contains_key("x-forwarded-for") {
        static WARNED: AtomicBool = AtomicBool::new(false);
        if !WARNED.swap(true, Ordering::Relaxed) {
            crate::log::info(
                "requests carry X-Forwarded-For but --trust-proxy is not set: every client behind the proxy \
                 shares the proxy's address and its rate limit",
            );
        }
    }
    peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// The last address of the last `X-Forwarded-For` header (`1.2.3.4`, `[::1]:80` or `1.2.3.4:5`).
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?.to_str().ok()?.rsplit(',').next()?.trim();
    last.parse::<IpAddr>().ok().or_else(|| last.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

fn rate_limited(limited: &Limited) -> Response {
    let seconds = limited.wait.as_secs_f64().ceil().max(1.0) as u64;
    let (limit, message) = match &limited.by {
        Key::Site(site) => ("site", format!("site '{site}' is over its event rate; retry in {seconds} s")),
        Key::Address(site, _) | Key::Anonymous(site, _) => {
            ("client", format!("this client is over its event rate for site '{site}'; retry in {seconds} s"))
        }
        Key::Bytes(_) => ("bytes", format!("this address is sending more than it may; retry in {seconds} s")),
    };
    let body = serde_json::json!({ "error": "rate_limited", "message": message, "limit": limit });
    let mut response = json(StatusCode::TOO_MANY_REQUESTS, body.to_string());
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

fn unknown_site(site: &str) -> Response {
    error(StatusCode::NOT_FOUND, "unknown_site", format!("this server does not serve site '{site}'"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_forwarded_address_is_the_client() {
        let mut headers = HeaderMap::new();
        assert_eq!(forwarded_for(&headers), None);
        headers.append("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 10.0.0.7"));
        assert_eq!(forwarded_for(&headers), Some("10.0.0.7".parse().unwrap()));
        headers.append("x-forwarded-for", HeaderValue::from_static("[::1]:443"));
        assert_eq!(forwarded_for(&headers), Some("::1".parse().unwrap()));
        headers.append("x-forwarded-for", HeaderValue::from_static("junk"));
        assert_eq!(forwarded_for(&headers), None);
    }

    #[test]
    fn events_cost_the_site_the_address_and_each_anonymous_id() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let costs = costs("s", ip, ["a", "b", "a"].into_iter());
        assert_eq!(costs.len(), 4);
        assert!(costs.contains(&(Key::Site("s".into()), 3.0)));
        assert!(costs.contains(&(Key::Address("s".into(), ip), 3.0)));
        assert!(costs.contains(&(Key::Anonymous("s".into(), "a".into()), 2.0)));
        assert!(super::costs("s", ip, std::iter::empty()).is_empty());
    }
}
