//! `tailor serve`: the HTTP server for the demo storefront, the SDK files and the API.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

/// What the server needs to know, from the command line.
#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    /// The demo storefront, served at `/`.
    pub www: PathBuf,
    /// The built npm package, served at `/pkg/`.
    pub pkg: PathBuf,
}

impl Config {
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let mut config = Config {
            addr: "127.0.0.1:8080".parse().expect("literal address"),
            www: PathBuf::from("www"),
            pkg: PathBuf::from("pkg"),
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value"));
            match flag.as_str() {
                "--addr" => {
                    let v = value("--addr")?;
                    config.addr = v.parse().map_err(|_| format!("--addr: '{v}' is not an address like 127.0.0.1:8080"))?;
                }
                "--port" => {
                    let v = value("--port")?;
                    let port = v.parse().map_err(|_| format!("--port: '{v}' is not a port number"))?;
                    config.addr.set_port(port);
                }
                "--www" => config.www = value("--www")?.into(),
                "--pkg" => config.pkg = value("--pkg")?.into(),
                other => return Err(format!("serve: unknown option '{other}'")),
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
        eprintln!("tailor {} listening on http://{}", tailor::VERSION, listener.local_addr().map_err(|e| e.to_string())?);
        axum::serve(listener, router(config))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| format!("server error: {e}"))
    })
}

pub fn router(config: Config) -> Router {
    let state = Arc::new(config);
    Router::new()
        .route("/healthz", get(health))
        .fallback(get(static_file))
        .with_state(state)
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "version": tailor::VERSION }))
}

/// Serves `/pkg/...` from the package directory and everything else from the storefront.
async fn static_file(State(config): State<Arc<Config>>, request: Request<Body>) -> Response {
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
