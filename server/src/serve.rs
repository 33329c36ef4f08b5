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
use crate::ratelimit::RateLimiter;
use crate::signing::{Keypair, DEFAULT_TTL_MS};
use crate::store::{DbUrl, Store};

const USAGE: &str = "usage: tailor serve [options]
  --addr HOST:PORT       listen address (default 127.0.0.1:8080)
  --port PORT            listen port (0 picks a free one)
  --www DIR              demo storefront served at / (default www)
  --pkg DIR              npm package served at /pkg/ (default pkg)
  --db URL               sqlite:PATH (default sqlite:.tailor/tailor.db) or postgres://...
  --site NAME            default site for requests that name none (default 'default')
  --ruleset FILE         publish FILE for the default site at start (unless unchanged)
  --key FILE             Ed25519 signing key (created if absent; default beside the DB)
  --admin-token TOKEN    enables the admin API, at least 16 characters (or env TAILOR_ADMIN_TOKEN)
  --identity-secret SITE=SECRET
                         verify identity tokens of SITE with SECRET, at least 16 characters
                         (repeatable; SITE '*' = every site without its own; or env
                         TAILOR_IDENTITY_SECRETS=site1=secret1,site2=secret2); without one,
                         identify links nothing and hands out nothing of a user
  --cors-origin ORIGIN   allow this browser origin (repeatable; '*' for any)
  --rate-limit N         events per second per site in this process (default 1000; 0 = no
                         event limit at all, per site or per client)
  --client-rate-limit N  events per second per client of a site, counted per address and per
                         anonymous id (default a tenth of --rate-limit, at least 100 or the
                         site's rate; 0 = off); each address also has a byte budget
  --trust-proxy          take the client's address from the last X-Forwarded-For entry (only
                         behind a proxy that sets it)
  --sites LIST           serve only these sites (comma-separated, repeatable), the --site
                         default, sites with their own --identity-secret and sites with a
                         published ruleset; events of others get 404 (default: every site)
  --stream-limit N       live ruleset streams per site in this process (default 10000)
  --client-stream-limit N
                         live ruleset streams per client address (default 16)
  --request-timeout S    seconds before a request is answered 503 (default 10)
  --ruleset-ttl S        seconds a signed ruleset stays valid (default 2592000 = 30 days)
  --fail-rate F          TESTING ONLY: answer 503 to this fraction (0 to 1) of POST /v1/events
                         before storing anything (default 0), to exercise client retries
";

/// The shortest admin token accepted, from the flag or the environment.
const MIN_ADMIN_TOKEN: usize = 16;

/// What the server needs to know, from the command line.
#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    /// The demo storefront, served at `/`.
    pub www: PathBuf,
    /// The built npm package, served at `/pkg/`.
    pub pkg: PathBuf,
    pub db: DbUrl,
    pub site: String,
    pub ruleset: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub admin_token: Option<String>,
    /// Per-site secrets that verify identity tokens (`crate::identity`).
    pub identity_secrets: Vec<(String, String)>,
    pub cors_origins: Vec<String>,
    pub rate_limit: u32,
    /// Events per second per client of a site; `None` = derived from `rate_limit`.
    pub client_rate_limit: Option<u32>,
    /// Whether the client's address comes from `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// `--sites`: the sites served besides the default one; `None` = every site.
    pub sites: Option<Vec<String>>,
    pub request_timeout: Duration,
    /// Open `GET /v1/rulesets/{site}/stream` per site, and per client address.
    pub stream_limit: u32,
    pub client_stream_limit: u32,
    pub ruleset_ttl_ms: i64,
    /// Testing only (`--fail-rate`): the fraction of event batches answered 503 unstored.
    pub fail_rate: f64,
}

impl Config {
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let mut config = Config {
            addr: "127.0.0.1:8080".parse().expect("literal address"),
            www: PathBuf::from("www"),
            pkg: PathBuf::from("pkg"),
            db: DbUrl::Sqlite(PathBuf::from(".tailor/tailor.db")),
            site: "default".to_string(),
            ruleset: None,
            key: None,
            admin_token: match std::env::var("TAILOR_ADMIN_TOKEN").ok().filter(|t| !t.is_empty()) {
                Some(t) if t.len() < MIN_ADMIN_TOKEN => {
                    return Err(format!("TAILOR_ADMIN_TOKEN: use at least {MIN_ADMIN_TOKEN} characters"))
                }
                token => token,
            },
            identity_secrets: crate::identity::parse_secrets(
                &std::env::var("TAILOR_IDENTITY_SECRETS").unwrap_or_default(),
            )
            .map_err(|e| format!("TAILOR_IDENTITY_SECRETS: {e}"))?,
            cors_origins: Vec::new(),
            rate_limit: 1000,
            client_rate_limit: None,
            trust_proxy: false,
            sites: None,
            request_timeout: Duration::from_secs(10),
            stream_limit: api::live::DEFAULT_SITE_STREAMS,
            client_stream_limit: api::live::DEFAULT_CLIENT_STREAMS,
            ruleset_ttl_ms: DEFAULT_TTL_MS,
            fail_rate: 0.0,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value"));
            match flag.as_str() {
                "--addr" => {
                    let v = value("--addr")?;
                    config.addr =
                        v.parse().map_err(|_| format!("--addr: '{v}' is not an address like 127.0.0.1:8080"))?;
                }
                "--port" => {
                    let v = value("--port")?;
                    let port = v.parse().map_err(|_| format!("--port: '{v}' is not a port number"))?;
                    config.addr.set_port(port);
                }
                "--www" => config.www = value("--www")?.into(),
                "--pkg" => config.pkg = value("--pkg")?.into(),
                "--db" => config.db = DbUrl::parse(&value("--db")?)?,
                "--site" => {
                    let v = value("--site")?;
                    if !tailor::engine::wire::is_valid_name(&v) {
                        return Err(format!("--site: '{v}' must be 1-64 of A-Z a-z 0-9 . _ -"));
                    }
                    config.site = v;
                }
                "--ruleset" => config.ruleset = Some(value("--ruleset")?.into()),
                "--key" => config.key = Some(value("--key")?.into()),
                "--admin-token" => {
                    let v = value("--admin-token")?;
                    if v.len() < MIN_ADMIN_TOKEN {
                        return Err(format!("--admin-token: use at least {MIN_ADMIN_TOKEN} characters"));
                    }
                    config.admin_token = Some(v);
                }
                "--identity-secret" => {
                    let v = value("--identity-secret")?;
                    let mut parsed =
                        crate::identity::parse_secrets(&v).map_err(|e| format!("--identity-secret: {e}"))?;
                    config.identity_secrets.append(&mut parsed);
                }
                "--cors-origin" => config.cors_origins.push(value("--cors-origin")?.trim_end_matches('/').to_string()),
                "--rate-limit" => {
                    let v = value("--rate-limit")?;
                    config.rate_limit =
                        v.parse().map_err(|_| format!("--rate-limit: '{v}' is not a number of events per second"))?;
                }
                "--client-rate-limit" => {
                    let v = value("--client-rate-limit")?;
                    config.client_rate_limit = Some(
                        v.parse()
                            .map_err(|_| format!("--client-rate-limit: '{v}' is not a number of events per second"))?,
                    );
                }
                "--trust-proxy" => config.trust_proxy = true,
                "--sites" => {
                    let v = value("--sites")?;
                    let sites = config.sites.get_or_insert_with(Vec::new);
                    for site in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        if !tailor::engine::wire::is_valid_name(site) {
                            return Err(format!("--sites: '{site}' must be 1-64 of A-Z a-z 0-9 . _ -"));
                        }
                        sites.push(site.to_string());
                    }
                }
                "--stream-limit" | "--client-stream-limit" => {
                    let v = value(flag)?;
                    let n = v.parse().map_err(|_| format!("{flag}: '{v}' is not a number of streams"))?;
                    if flag == "--stream-limit" {
                        config.stream_limit = n;
                    } else {
                        config.client_stream_limit = n;
                    }
                }
                "--request-timeout" => {
                    let v = value("--request-timeout")?;
                    let s: f64 = v
                        .parse()
                        .ok()
                        .filter(|s: &f64| *s > 0.0 && s.is_finite())
                        .ok_or_else(|| format!("--request-timeout: '{v}' is not a number of seconds"))?;
                    config.request_timeout = Duration::from_secs_f64(s);
                }
                "--ruleset-ttl" => {
                    let v = value("--ruleset-ttl")?;
                    let s: i64 = v
                        .parse()
                        .ok()
                        .filter(|s| *s > 0)
                        .ok_or_else(|| format!("--ruleset-ttl: '{v}' is not a number of seconds"))?;
                    config.ruleset_ttl_ms = s.saturating_mul(1000);
                }
                "--fail-rate" => {
                    let v = value("--fail-rate")?;
                    config.fail_rate = v
                        .parse()
                        .ok()
                        .filter(|f: &f64| (0.0..=1.0).contains(f))
                        .ok_or_else(|| format!("--fail-rate: '{v}' is not a fraction from 0 to 1"))?;
                }
                "--help" | "-h" => return Err(USAGE.to_string()),
                other => return Err(format!("serve: unknown option '{other}'\n\n{USAGE}")),
            }
        }
        Ok(config)
    }
}

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
        log_info(&format!("created signing key {} in {}", key.key_id(), key_path.display()));
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
            log_info(&format!("--ruleset {}: {changed}: HTML sanitised", path.display()));
        }
        let site = state.config.site.clone();
        let (envelope, new) = api::publish(&state, &site, ruleset, true).await.map_err(|e| match e {
            api::rulesets::PublishError::Invalid(errors) => {
                format!("--ruleset {}: {}", path.display(), errors.join("; "))
            }
            api::rulesets::PublishError::Store(e) => format!("--ruleset: {e}"),
        })?;
        log_info(&format!(
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

/// One JSON line on stderr.
fn log_line(value: serde_json::Value) {
    eprintln!("{value}");
}

pub fn log_info(message: &str) {
    log_line(serde_json::json!({ "ts": crate::signing::now_ms(), "level": "info", "msg": message }));
}

pub fn log_error(message: &str) {
    log_line(serde_json::json!({ "ts": crate::signing::now_ms(), "level": "error", "msg": message }));
}

/// Logs every request as one JSON line: method, path, status, duration.
async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let origin = request.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(String::from);
    let response = next.run(request).await;
    log_line(serde_json::json!({
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

    #[test]
    fn options_are_checked() {
        let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(Config::from_args(&args("--port 9000")).unwrap().addr.port(), 9000);
        let err = Config::from_args(&args("--addr nowhere")).unwrap_err();
        assert!(err.contains("--addr"), "{err}");
        assert!(Config::from_args(&args("--bogus")).unwrap_err().contains("--bogus"));
    }
}
