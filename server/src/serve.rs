//! `tailor serve`: the HTTP server for the demo storefront, the SDK files and the API.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::api::{self, AppState, Shared};
use crate::config::Config;
use crate::ratelimit::RateLimiter;
use crate::signing::Keypair;
use crate::store::Store;

pub fn main(args: &[String]) -> Result<(), String> {
    let config = Config::from_args(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let state = start(config).await?;
        eprintln!(
            "tailor {} listening on http://{local} (db {}, key {})",
            tailor::VERSION,
            state.config.db.display(),
            state.key.key_id()
        );
        let live = state.clone();
        axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                shutdown().await;
                // Open live streams would keep the graceful shutdown waiting for ever.
                live.live.close();
            })
            .await
            .map_err(|e| format!("server error: {e}"))
    })
}

async fn shutdown() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Opens the database and the key, publishes `--ruleset`: the state every request shares.
pub async fn start(config: Config) -> Result<Shared, String> {
    let store = Store::open(&config.db).await.map_err(|e| format!("cannot open the database: {e}"))?;
    let key_path = config.key.clone().unwrap_or_else(|| config.db.default_key_path());
    let (key, created) = Keypair::load_or_create(&key_path)?;
    if created {
        crate::log::info(&format!("created signing key {} in {}", key.key_id(), key_path.display()));
    }
    let state = Arc::new(AppState {
        limiter: RateLimiter::new(config.rate_limit, config.client_rate_limit),
        intake: api::events::Intake::new(&config),
        live: api::live::Live::new(config.stream_limit, config.client_stream_limit),
        config,
        store,
        key,
    });
    if let Some(path) = state.config.ruleset.clone() {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("--ruleset {}: {e}", path.display()))?;
        let mut ruleset =
            tailor::engine::json::Value::parse(&text).map_err(|e| format!("--ruleset {}: {e}", path.display()))?;
        for changed in crate::sanitise::sanitise_ruleset(&mut ruleset) {
            crate::log::info(&format!("--ruleset {}: {changed}: HTML sanitised", path.display()));
        }
        let site = state.config.site.clone();
        let (envelope, new) = api::publish(&state, &site, ruleset, true).await.map_err(|e| match e {
            api::rulesets::PublishError::Invalid(errors) => {
                format!("--ruleset {}: {}", path.display(), errors.join("; "))
            }
            api::rulesets::PublishError::Store(e) => format!("--ruleset: {e}"),
        })?;
        crate::log::info(&format!(
            "ruleset for site '{site}' at version {}{}",
            envelope.version,
            if new { " (published)" } else { " (unchanged)" }
        ));
    }
    Ok(state)
}

pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .route("/tailor-config.js", get(page_config))
        .merge(api::routes())
        .fallback(get(static_file))
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(middleware::from_fn_with_state(state.clone(), cors))
        .layer(middleware::from_fn(access_log))
        .with_state(state)
}

/// `window.tailorConfig = { publicKey }`: lets pages served by this server pin its signing key
/// (the demo storefront does; a shop embeds its key in its own pages instead).
async fn page_config(State(state): State<Shared>) -> Response {
    let config = serde_json::json!({ "publicKey": state.key.public_base64(), "keyId": state.key.key_id() });
    let mut response = Response::new(Body::from(format!("window.tailorConfig = {config};\n")));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `/healthz`: 200 when the database answers within 2 s, else 503 with the reason, so a load
/// balancer stops sending traffic to a server that cannot store it.
async fn health(State(state): State<Shared>) -> Response {
    let db = state.store.kind();
    let ping = tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await;
    let problem = match ping {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some("the database did not answer within 2 s".to_string()),
    };
    match problem {
        None => Json(serde_json::json!({ "status": "ok", "version": tailor::VERSION, "db": db })).into_response(),
        Some(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "unavailable", "version": tailor::VERSION, "db": db, "error": error })),
        )
            .into_response(),
    }
}

/// Logs every request as one JSON line: method, path, status, duration.
async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let origin = request.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(String::from);
    let response = next.run(request).await;
    crate::log::line(serde_json::json!({
        "ts": crate::signing::now_ms(),
        "level": "info",
        "msg": "request",
        "method": method,
        "path": path,
        "status": response.status().as_u16(),
        "durationMs": (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        "origin": origin,
    }));
    response
}

/// Answers 503 when a request takes longer than `--request-timeout`.
async fn time_limit(State(state): State<Shared>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(state.config.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => api::error(StatusCode::SERVICE_UNAVAILABLE, "timeout", "the request took too long"),
    }
}

/// CORS for the configured origins: preflights answered here, `Access-Control-Allow-Origin`
/// added to responses for allowed origins, nothing for others.
async fn cors(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(String::from);
    let Some(origin) = origin else {
        return next.run(request).await;
    };
    let allowed = state.config.cors_origins.iter().any(|o| o == "*" || *o == origin);
    let preflight =
        request.method() == Method::OPTIONS && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        if !allowed {
            return api::error(StatusCode::FORBIDDEN, "origin_not_allowed", format!("origin {origin} is not allowed"));
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(
                "content-type, authorization, if-none-match, last-event-id, x-tailor-identity-token",
            ),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        allow_origin(&mut response, &origin);
        return response;
    }
    let mut response = next.run(request).await;
    if allowed {
        allow_origin(&mut response, &origin);
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("etag, retry-after"));
    }
    response
}

fn allow_origin(response: &mut Response, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(header::VARY, HeaderValue::from_static("origin"));
    }
}

/// Serves `/pkg/...` from the package directory and everything else from the storefront.
async fn static_file(State(state): State<Shared>, request: Request<Body>) -> Response {
    let config = &state.config;
    let path = request.uri().path();
    let (root, rel) = match path.strip_prefix("/pkg/") {
        Some(rest) => (&config.pkg, rest),
        None => (&config.www, path.trim_start_matches('/')),
    };
    let Some(mut file) = safe_join(root, rel) else {
        return (StatusCode::BAD_REQUEST, "bad path").into_response();
    };
    if file.is_dir() {
        file.push("index.html");
    }
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let mut response = Response::new(Body::from(bytes));
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&file)));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
        Err(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// Joins a URL path under `root`, refusing anything that could leave it.
fn safe_join(root: &Path, rel: &str) -> Option<PathBuf> {
    let mut out = root.to_path_buf();
    for part in Path::new(rel).components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_escape_the_root() {
        let root = Path::new("/srv/www");
        assert_eq!(safe_join(root, "a/b.js"), Some(PathBuf::from("/srv/www/a/b.js")));
        assert_eq!(safe_join(root, "../etc/passwd"), None);
        assert_eq!(safe_join(root, "/etc/passwd"), None);
    }
}
