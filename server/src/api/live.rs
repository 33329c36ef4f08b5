//! `GET /v1/rulesets/{site}/stream`: live ruleset updates as Server-Sent Events.
//!
//! - On connect: a `retry:` hint, then the current signed envelope as a `ruleset` event (the
//!   same JSON as `GET /v1/rulesets/{site}`, so the client needs no second request), unless
//!   the client already has it: the event id is the envelope's ETag, and a reconnecting
//!   client sends it back as `Last-Event-ID` (or `?lastEventId=`, which a new `EventSource`
//!   can carry). One document replaces every version missed in between.
//! - Then one `ruleset` event per publish of the site in this process (a broadcast channel
//!   fed by `rulesets::publish`), and a comment every [`KEEP_ALIVE`] so proxies keep the
//!   connection open. At that tick the stream also checks the database (once per site per
//!   tick, whatever the number of streams), so a publish made through another server process
//!   sharing the database arrives within one tick.
//! - Bounded: at most `--stream-limit` streams per site and `--client-stream-limit` per
//!   client address in this process; beyond, `429 too_many_streams`. Every stream ends when
//!   the server shuts down, so graceful shutdown does not wait for open tabs.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use tailor::engine::wire::RulesetEnvelope;
use tokio::sync::{broadcast, watch};

use super::{error, Shared};

/// A comment line this often keeps idle connections (and the proxies on the way) open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(25);

/// How long a client waits before reconnecting after the connection dropped (`retry:`).
pub const RETRY: Duration = Duration::from_secs(5);

/// One envelope as sent on the streams: its ETag (the event id) and its JSON.
#[derive(Debug)]
pub struct Published {
    pub version: u64,
    pub etag: String,
    pub json: String,
}

impl Published {
    fn of(envelope: &RulesetEnvelope) -> Arc<Published> {
        Arc::new(Published {
            version: envelope.version,
            etag: super::rulesets::etag(envelope),
            json: envelope.to_value().to_json(),
        })
    }
}

struct SiteStreams {
    tx: broadcast::Sender<Arc<Published>>,
    open: u32,
    /// The highest version sent on this site's channel (or seen in the database).
    version: u64,
    /// When the database was last checked for a publish by another process.
    checked: Instant,
}

#[derive(Default)]
struct Open {
    sites: HashMap<String, SiteStreams>,
    clients: HashMap<IpAddr, u32>,
}

/// The open streams of this process: per-site channels, counts, and the shutdown signal.
pub struct Live {
    open: Mutex<Open>,
    shutdown: watch::Sender<bool>,
    per_site: u32,
    per_client: u32,
}

/// Why a stream was refused.
#[derive(Debug, PartialEq)]
pub enum Refused {
    Site(u32),
    Client(u32),
}

impl Live {
    pub fn new(per_site: u32, per_client: u32) -> Live {
        Live { open: Mutex::new(Open::default()), shutdown: watch::channel(false).0, per_site, per_client }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends a newly published envelope to the site's open streams (none: nothing to do).
    pub fn published(&self, site: &str, envelope: &RulesetEnvelope) {
        let mut open = self.lock();
        if let Some(s) = open.sites.get_mut(site) {
            if envelope.version > s.version {
                s.version = envelope.version;
                let _ = s.tx.send(Published::of(envelope));
            }
        }
    }

    /// Ends every stream (server shutdown) and refuses new ones.
    pub fn close(&self) {
        self.shutdown.send_replace(true);
    }

    /// Open streams of a site (for tests and metrics).
    pub fn open_streams(&self, site: &str) -> u32 {
        self.lock().sites.get(site).map_or(0, |s| s.open)
    }

    /// Counts a new stream of `site` from `client`, or says which limit refuses it.
    fn admit(&self, site: &str, client: IpAddr) -> Result<broadcast::Receiver<Arc<Published>>, Refused> {
        let mut open = self.lock();
        let by_client = open.clients.get(&client).copied().unwrap_or(0);
        if by_client >= self.per_client {
            return Err(Refused::Client(self.per_client));
        }
        let by_site = open.sites.get(site).map_or(0, |s| s.open);
        if by_site >= self.per_site {
            return Err(Refused::Site(self.per_site));
        }
        *open.clients.entry(client).or_insert(0) += 1;
        let s = open.sites.entry(site.to_string()).or_insert_with(|| SiteStreams {
            tx: broadcast::channel(4).0,
            open: 0,
            version: 0,
            checked: Instant::now(),
        });
        s.open += 1;
        Ok(s.tx.subscribe())
    }

    fn release(&self, site: &str, client: IpAddr) {
        let mut open = self.lock();
        if let Some(n) = open.clients.get_mut(&client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.clients.remove(&client);
            }
        }
        if let Some(s) = open.sites.get_mut(site) {
            s.open = s.open.saturating_sub(1);
            if s.open == 0 {
                open.sites.remove(site);
            }
        }
    }

    /// Raises the site's known version to `version` (the one a new stream started from).
    fn seen(&self, site: &str, version: u64) {
        if let Some(s) = self.lock().sites.get_mut(site) {
            s.version = s.version.max(version);
        }
    }

    /// Whether this stream should check the database now: once per site per keep-alive.
    fn check_due(&self, site: &str) -> bool {
        let mut open = self.lock();
        match open.sites.get_mut(site) {
            Some(s) if s.checked.elapsed() >= KEEP_ALIVE - Duration::from_secs(1) => {
                s.checked = Instant::now();
                true
            }
            _ => false,
        }
    }
}

/// A counted stream: released when the stream is dropped (client gone, or shutdown).
struct Slot {
    state: Shared,
    site: String,
    client: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.state.live.release(&self.site, self.client);
    }
}

fn ruleset_event(p: &Published) -> Event {
    Event::default().event("ruleset").id(p.etag.clone()).data(p.json.clone())
}

/// What the stream loop does next.
struct Stream {
    slot: Slot,
    rx: broadcast::Receiver<Arc<Published>>,
    shutdown: watch::Receiver<bool>,
    /// ETag of the last envelope sent (or the one the client said it has).
    sent: String,
    /// The first events (retry hint, current envelope), sent before waiting on anything.
    first: Vec<Event>,
    tick: tokio::time::Interval,
}

impl Stream {
    async fn next(&mut self) -> Option<Event> {
        if !self.first.is_empty() {
            return Some(self.first.remove(0));
        }
        loop {
            enum Woke {
                Shutdown,
                Got(Result<Arc<Published>, broadcast::error::RecvError>),
                Tick,
            }
            let woke = tokio::select! {
                _ = self.shutdown.wait_for(|closed| *closed) => Woke::Shutdown,
                got = self.rx.recv() => Woke::Got(got),
                _ = self.tick.tick() => Woke::Tick,
            };
            match woke {
                Woke::Shutdown | Woke::Got(Err(broadcast::error::RecvError::Closed)) => return None,
                Woke::Got(Ok(p)) => {
                    if p.etag != self.sent {
                        self.sent = p.etag.clone();
                        return Some(ruleset_event(&p));
                    }
                }
                // Fell behind: what was missed is superseded by the current envelope.
                Woke::Got(Err(broadcast::error::RecvError::Lagged(_))) => {
                    if let Some(e) = self.reread_current().await {
                        return Some(e);
                    }
                }
                Woke::Tick => {
                    if self.slot.state.live.check_due(&self.slot.site) {
                        if let Some(e) = self.reread_current().await {
                            return Some(e);
                        }
                    }
                    return Some(Event::default().comment("keep-alive"));
                }
            }
        }
    }

    /// The current envelope from the database, when it is not the one last sent; a newer
    /// version also goes to the site's other streams.
    async fn reread_current(&mut self) -> Option<Event> {
        let envelope = super::rulesets::current_envelope(&self.slot.state, &self.slot.site).await.ok()?;
        self.slot.state.live.published(&self.slot.site, &envelope);
        let p = Published::of(&envelope);
        (p.etag != self.sent).then(|| {
            self.sent = p.etag.clone();
            ruleset_event(&p)
        })
    }
}

/// `GET /v1/rulesets/{site}/stream`.
pub async fn stream(
    State(state): State<Shared>,
    Path(site): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: Request<Body>,
) -> Response {
    if *state.live.shutdown.borrow() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", "the server is shutting down; retry later");
    }
    let client = super::events::client_address(&state.config, &request);
    // Subscribed before the current envelope is read: a publish in between is not missed.
    let rx = match state.live.admit(&site, client) {
        Ok(rx) => rx,
        Err(refused) => {
            let message = match refused {
                Refused::Client(n) => format!("at most {n} live streams per client address; the SDK polls instead"),
                Refused::Site(n) => format!("at most {n} live streams for site '{site}'; the SDK polls instead"),
            };
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "too_many_streams", message);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            return response;
        }
    };
    let slot = Slot { state: state.clone(), site: site.clone(), client };
    let envelope = match super::rulesets::current_envelope(&state, &site).await {
        Ok(e) => e,
        Err(response) => return response, // 400 / 404 like the GET; the slot is released
    };
    state.live.seen(&site, envelope.version);
    let last = request
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from)
        .or_else(|| query.get("lastEventId").cloned())
        .unwrap_or_default();
    let current = Published::of(&envelope);
    let mut first = vec![Event::default().retry(RETRY).comment("tailor ruleset stream")];
    if current.etag != last {
        first.push(ruleset_event(&current));
    }
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stream =
        Stream { slot, rx, shutdown: state.live.shutdown.subscribe(), sent: current.etag.clone(), first, tick };
    let events = futures_util::stream::unfold(stream, |mut s| async move {
        let event = s.next().await?;
        Some((Ok::<_, Infallible>(event), s))
    });
    let mut response = Sse::new(events).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Proxies such as nginx buffer responses unless told not to.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
