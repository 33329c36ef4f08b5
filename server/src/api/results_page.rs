//! `GET /admin/results`: the results page a merchandiser reads. One HTML document with its
//! stylesheet and script inlined (`server/static/results.{html,css,js}`, compiled into the
//! binary), so the page works offline and needs one route. The page itself holds no data:
//! it asks for the admin token and reads `GET /v1/admin/results/{site}` with it, or, opened
//! from a Studio link (`?tailor_studio=TOKEN`, checked here first), uses that token.
//!
//! The script and the stylesheet are allowed by their SHA-256 in the page's
//! Content-Security-Policy; nothing else may run, load or frame the page.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{site_param, Shared};

const HTML: &str = include_str!("../../static/results.html");
const CSS: &str = include_str!("../../static/results.css");
const JS: &str = include_str!("../../static/results.js");

/// Where the page's default site goes; a valid site name needs no escaping in HTML.
const SITE_SLOT: &str = "{{site}}";

/// The document with `{{site}}` left in, and its Content-Security-Policy.
static PAGE: LazyLock<(String, HeaderValue)> = LazyLock::new(|| {
    let html = HTML.replacen("/*{{css}}*/", CSS, 1).replacen("/*{{js}}*/", JS, 1);
    let hash = |text: &str| B64.encode(Sha256::digest(text.as_bytes()));
    let csp = format!(
        "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; connect-src 'self'; \
         img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        hash(JS),
        hash(CSS)
    );
    (html, HeaderValue::from_str(&csp).expect("a CSP of base64 and ASCII is a valid header"))
});

/// `GET /admin/results[?site=NAME]`: the page, for the server's default site unless told.
pub async fn page(State(state): State<Shared>, Query(query): Query<HashMap<String, String>>) -> Response {
    let site = match site_param(&state, &query) {
        Ok(site) => site,
        Err(refused) => return refused,
    };
    // Opened from a Studio link: a token refused (tampered, expired, another site) says why.
    if let Some(token) = query.get(crate::studio_token::PARAM) {
        if let Err(refused) = super::admin::studio_access(&state, token, &site, crate::studio_token::Role::View) {
            return refused;
        }
    }
    let (html, csp) = &*PAGE;
    let mut response = (StatusCode::OK, html.replace(SITE_SLOT, &site)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_inlines_its_script_and_style_once_and_allows_only_them() {
        let (html, csp) = &*PAGE;
        assert!(!html.contains("/*{{css}}*/") && !html.contains("/*{{js}}*/"));
        assert_eq!(html.matches(SITE_SLOT).count(), 1, "one place for the default site");
        assert!(html.contains(JS) && html.contains(CSS));
        let csp = csp.to_str().unwrap();
        assert!(csp.contains(&format!("'sha256-{}'", B64.encode(Sha256::digest(JS.as_bytes())))));
        assert!(!csp.contains("unsafe-inline") && csp.contains("connect-src 'self'"));
        // No resource from elsewhere: the page works offline.
        for text in [HTML, CSS, JS] {
            let text = text.replace("\"http://www.w3.org/2000/svg\"", "SVG");
            assert!(!text.contains("http://") && !text.contains("https://"), "no external URL");
        }
    }
}
