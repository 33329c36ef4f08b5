//! The Studio's calls to the reference server (docs/api.md, "Studio"), each with the Studio
//! token, and what the token says about itself.
//!
//! `client(endpoint, site, token)` gives a `StudioClient` whose methods return promises of
//! the server's JSON answer. A refusal rejects with an `Error` named `ServerError` that
//! carries the server's own message, its `status`, its `code` and, for a draft, its `errors`
//! by path, so the panels show what the server said. A server that does not answer rejects
//! with a `ServerError` that says which server and what to check.

use std::rc::Rc;

use js_sys::{Array, Error, Object, Promise, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{Headers, RequestCache, RequestCredentials, RequestInit, Response, Url};

use crate::text::studio_claims;

/// `{ site, role, expiresAt, keyId, who }` of a `ts1.` token (unverified: the server checks
/// it on every call), or `null` when `token` is not one.
#[wasm_bindgen(js_name = readClaims)]
pub fn read_claims(token: &JsValue) -> JsValue {
    let token = token.as_string().unwrap_or_default();
    let Some(c) = studio_claims(&token) else { return JsValue::NULL };
    let opt = |s: Option<String>| s.map_or(JsValue::UNDEFINED, |s| JsValue::from_str(&s));
    let out = Object::new();
    for (key, value) in [
        ("site", JsValue::from_str(&c.site)),
        ("role", opt(c.role)),
        ("expiresAt", JsValue::from_f64(c.expires_at)),
        ("keyId", opt(c.key_id)),
        ("who", c.who.map_or(JsValue::NULL, |w| JsValue::from_str(&w))),
    ] {
        let _ = Reflect::set(&out, &key.into(), &value);
    }
    out.into()
}

struct Server {
    base: Url,
    /// The site, as it goes into a path.
    site: String,
    /// The site as given, for messages.
    site_name: String,
    token: String,
}

/// The Studio's server: one method per endpoint, each a promise of the answer's JSON.
#[wasm_bindgen]
pub struct StudioClient {
    server: Rc<Server>,
}

/// The client for `site` on the server at `endpoint` (resolved against this page's URL).
#[wasm_bindgen]
pub fn client(endpoint: &JsValue, site: &str, token: &str) -> Result<StudioClient, JsValue> {
    let endpoint = endpoint.as_string().filter(|e| !e.is_empty()).unwrap_or_else(|| "/".into());
    let page = web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default();
    let base = Url::new_with_base(&endpoint, &page)?;
    let server = Server { base, site: q(site), site_name: site.to_string(), token: token.to_string() };
    Ok(StudioClient { server: Rc::new(server) })
}

fn q(s: &str) -> String {
    js_sys::encode_uri_component(s).into()
}

/// A `ServerError`: an `Error` with the server's status, code and errors.
fn server_error(message: &str, status: Option<u16>, code: JsValue, errors: JsValue) -> JsValue {
    let e = Error::new(message);
    e.set_name("ServerError");
    let status = status.map_or(JsValue::UNDEFINED, JsValue::from);
    let errors = if errors.is_object() { errors } else { Array::new().into() };
    for (key, value) in [("status", status), ("code", code), ("errors", errors)] {
        let _ = Reflect::set(&e, &key.into(), &value);
    }
    e.into()
}

fn field(v: &JsValue, key: &str) -> JsValue {
    if v.is_object() {
        Reflect::get(v, &key.into()).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

impl Server {
    fn url(&self, path: &str) -> Result<String, JsValue> {
        Ok(Url::new_with_base(path, &self.base.href())?.href())
    }

    async fn fetch(&self, path: &str, init: &RequestInit) -> Result<Response, JsValue> {
        let url = self.url(path)?;
        let window = web_sys::window().ok_or_else(|| Error::new("Tailor Studio: this page has no window"))?;
        init.set_credentials(RequestCredentials::Omit);
        init.set_cache(RequestCache::NoStore);
        match JsFuture::from(window.fetch_with_str_and_init(&url, init)).await {
            Ok(r) => Ok(r.unchecked_into()),
            Err(e) => {
                let why = field(&e, "message").as_string().unwrap_or_else(|| "no answer".into());
                Err(server_error(
                    &format!(
                        "the Tailor server at {} did not answer ({why}); is it running, and does it allow this shop's origin (--cors-origin)?",
                        self.base.origin()
                    ),
                    None,
                    JsValue::UNDEFINED,
                    JsValue::UNDEFINED,
                ))
            }
        }
    }

    /// `method path` with the token (and `body` as JSON): the answer's JSON, or a `ServerError`.
    async fn call(&self, method: &str, path: &str, body: Option<JsValue>) -> Result<JsValue, JsValue> {
        let init = RequestInit::new();
        init.set_method(method);
        let headers = Headers::new()?;
        headers.set("authorization", &format!("Bearer {}", self.token))?;
        if let Some(body) = body {
            headers.set("content-type", "application/json")?;
            let text = match body.as_string() {
                Some(s) => s,
                None => JSON::stringify(&body)?.into(),
            };
            init.set_body(&JsValue::from_str(&text));
        }
        init.set_headers(&headers);
        let r = self.fetch(path, &init).await?;
        let mut data = JsValue::NULL;
        if r.status() != 204 {
            if let Ok(json) = r.json() {
                data = JsFuture::from(json).await.unwrap_or(JsValue::NULL);
            }
        }
        if !r.ok() {
            let message = field(&data, "message")
                .as_string()
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| format!("{method} {path}: HTTP {}", r.status()));
            return Err(server_error(&message, Some(r.status()), field(&data, "error"), field(&data, "errors")));
        }
        Ok(data)
    }

    /// The published envelope shoppers get now (public, no token), or `null` when there is none.
    async fn current(&self) -> Result<JsValue, JsValue> {
        let init = RequestInit::new();
        let r = self.fetch(&format!("/v1/rulesets/{}", self.site), &init).await?;
        if r.status() == 404 {
            return Ok(JsValue::NULL);
        }
        if !r.ok() {
            let message = format!("GET /v1/rulesets/{}: HTTP {}", self.site_name, r.status());
            return Err(server_error(&message, Some(r.status()), JsValue::UNDEFINED, JsValue::UNDEFINED));
        }
        JsFuture::from(r.json()?).await
    }
}

impl StudioClient {
    fn call(&self, method: &'static str, path: String, body: Option<JsValue>) -> Promise {
        let server = self.server.clone();
        future_to_promise(async move { server.call(method, &path, body).await })
    }

    fn path(&self, rest: &str) -> String {
        format!("/v1/studio/{}/{rest}", self.server.site)
    }
}

#[wasm_bindgen]
impl StudioClient {
    pub fn drafts(&self) -> Promise {
        self.call("GET", self.path("drafts"), None)
    }

    pub fn draft(&self, name: &str) -> Promise {
        self.call("GET", self.path(&format!("drafts/{}", q(name))), None)
    }

    #[wasm_bindgen(js_name = saveDraft)]
    pub fn save_draft(&self, name: &str, doc: JsValue) -> Promise {
        self.call("PUT", self.path(&format!("drafts/{}", q(name))), Some(doc))
    }

    pub fn publish(&self, name: &str) -> Promise {
        self.call("POST", self.path(&format!("drafts/{}/publish", q(name))), None)
    }

    pub fn versions(&self) -> Promise {
        self.call("GET", self.path("versions"), None)
    }

    pub fn diff(&self, version: &JsValue, against: &JsValue) -> Promise {
        let (v, a) = (crate::dom::text_of(version), crate::dom::text_of(against));
        self.call("GET", self.path(&format!("versions/{v}/diff?against={a}")), None)
    }

    pub fn rollback(&self, version: &JsValue) -> Promise {
        let v = crate::dom::text_of(version);
        self.call("POST", self.path(&format!("versions/{v}/rollback")), None)
    }

    pub fn audit(&self) -> Promise {
        self.call("GET", self.path("audit?limit=1000"), None)
    }

    pub fn preview(&self, draft: JsValue, path: JsValue) -> Promise {
        let body = Object::new();
        let _ = Reflect::set(&body, &"draft".into(), &draft);
        let _ = Reflect::set(&body, &"path".into(), &path);
        self.call("POST", self.path("previews"), Some(body.into()))
    }

    pub fn results(&self, key: &str) -> Promise {
        self.call("GET", format!("/v1/admin/results/{}?experiment={}", self.server.site, q(key)), None)
    }

    /// The published envelope shoppers get now (public), or `null` when there is none.
    pub fn current(&self) -> Promise {
        let server = self.server.clone();
        future_to_promise(async move { server.current().await })
    }
}
