//! The cost of `POST /v1/decide`: requests per second and latency through real HTTP on
//! loopback (a server in this process, SQLite), for users with 300 stored events each, on a
//! ruleset of 100 offers over 4 placements and 20 experiments; beside it, in the same run,
//! what the store's profile read alone costs (the rest is replaying the events, deciding and
//! the HTTP round trip).
//!
//!   cargo bench -p tailor-server --profile server-bench --bench decide
//!
//! Bounded: `TAILOR_BENCH_DECIDES` requests (default 2,000) from 4 concurrent clients.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tailor::engine::json::Value;
use tailor::engine::uuid::Uuid;
use tailor_server::config::Config;
use tailor_server::serve::{router, start};

const USERS: usize = 50;
const EVENTS_PER_USER: usize = 300;
const CLIENTS: usize = 4;
const SITE: &str = "bench";
const SECRET: &str = "bench-identity-secret-0123456789";
const ADMIN: &str = "bench-admin-token";

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

/// 100 offers over 4 placements (conditions on the profile, scores on category affinity)
/// and 20 experiments, some of which swap offer content.
fn ruleset() -> String {
    let categories = ["shoes", "bags", "hats", "coats", "socks"];
    let placements = ["home-hero", "category-banner", "product-recs", "cart-upsell"];
    let offers: Vec<String> = (0..100)
        .map(|i| {
            let c = categories[i % categories.len()];
            let condition = match i % 4 {
                0 => format!(r#"{{"profile.categories.{c}": {{"$gt": 0}}}}"#),
                1 => r#"{"profile.orders.count": {"$gte": 1}}"#.to_string(),
                2 => r#"{"$or": [{"user.plan": "gold"}, {"profile.orders.revenue": {"$gte": 200}}]}"#.to_string(),
                _ => r#"{"context.pageType": {"$in": ["home", "category"]}}"#.to_string(),
            };
            format!(
                r#"{{"id": "offer-{i}", "placements": ["{}"], "priority": {}, "score": {{"path": "profile.categories.{c}", "weight": 1}}, "condition": {condition}, "content": {{"title": "Offer {i}"}}}}"#,
                placements[i % placements.len()],
                i % 3
            )
        })
        .collect();
    let experiments: Vec<String> = (0..20)
        .map(|i| {
            let swap =
                if i % 2 == 0 { format!(r#", "offers": {{"offer-{i}": {{"title": "B"}}}}"#) } else { String::new() };
            format!(r#"{{"key": "exp-{i}", "coverage": 0.9, "variations": [{{"key": "a"}}, {{"key": "b"{swap}}}]}}"#)
        })
        .collect();
    let placements: Vec<String> = placements.iter().map(|p| format!(r#""{p}": {{"limit": 3}}"#)).collect();
    format!(
        r#"{{"version": 1, "placements": {{{}}}, "offers": [{}], "experiments": [{}]}}"#,
        placements.join(", "),
        offers.join(", "),
        experiments.join(", ")
    )
}

/// One batch per user: page views, product views over the categories, a few purchases.
fn history(user: usize, now: u64) -> String {
    let events: Vec<String> = (0..EVENTS_PER_USER)
        .map(|i| {
            let mut random = [0u8; 10];
            random[..8].copy_from_slice(&((user * EVENTS_PER_USER + i) as u64).to_be_bytes());
            let id = Uuid::v7(now - 1000 + i as u64, random).to_hyphenated();
            let ts = now - 1000 + i as u64;
            let props = match i % 10 {
                0 => format!(r#"{{"orderId": "o-{user}-{i}", "revenue": {}, "currency": "EUR", "items": []}}"#, 20 + i % 90),
                1..=5 => format!(r#"{{"sku": "s-{i}", "category": "{}", "price": 30, "currency": "EUR"}}"#, ["shoes", "bags", "hats"][(user + i) % 3]),
                _ => format!(r#"{{"path": "/p/{i}"}}"#),
            };
            let kind = match i % 10 {
                0 => "purchase",
                1..=5 => "product_view",
                _ => "page_view",
            };
            format!(r#"{{"id": "{id}", "type": "{kind}", "ts": {ts}, "props": {props}, "anonymousId": "anon-{user}", "sessionId": "s-{user}"}}"#)
        })
        .collect();
    format!(r#"{{"site": "{SITE}", "sentAt": {now}, "events": [{}]}}"#, events.join(","))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    let requests: usize = std::env::var("TAILOR_BENCH_DECIDES").ok().and_then(|n| n.parse().ok()).unwrap_or(2000);
    let dir = std::env::temp_dir().join(format!("tailor-bench-decide-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = Config::from_args(&[]).unwrap();
    config.addr = "127.0.0.1:0".parse().unwrap();
    config.db = tailor_server::store::DbUrl::Sqlite(dir.join("tailor.db"));
    config.key = Some(dir.join("signing.key"));
    config.rate_limit = 0;
    config.admin_token = Some(ADMIN.to_string());
    config.identity_secrets = vec![("*".to_string(), SECRET.to_string())];
    let state = start(config).await.expect("server state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn({
        let state = state.clone();
        async move { axum::serve(listener, router(state)).await }
    });
    let client = reqwest::Client::new();
    let auth = format!("Bearer {ADMIN}");

    // Set up: the ruleset, each user's history, and the link from the anonymous id.
    let r = client
        .post(format!("{base}/v1/admin/rulesets/{SITE}"))
        .header("authorization", &auth)
        .body(ruleset())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let now = now_ms();
    for user in 0..USERS {
        let r = client.post(format!("{base}/v1/events")).body(history(user, now)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let token = tailor_server::identity::token(SECRET, SITE, &format!("user-{user}"), now / 1000 + 3600);
        let body = format!(
            r#"{{"site": "{SITE}", "anonymousId": "anon-{user}", "userId": "user-{user}", "traits": {{"plan": "{}"}}, "token": "{token}"}}"#,
            ["gold", "silver"][user % 2]
        );
        let r = client.post(format!("{base}/v1/identify")).body(body).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }

    // The store's profile read alone (the part every decide pays to the database).
    let started = Instant::now();
    for i in 0..requests / 4 {
        let p = state.store.profile(SITE, &format!("user-{}", i % USERS)).await.unwrap();
        assert_eq!(p.events.len(), 200);
    }
    let profile_read = started.elapsed() / (requests / 4) as u32;

    // POST /v1/decide, 4 clients.
    let queue = Arc::new(std::sync::Mutex::new((0..requests).collect::<Vec<_>>()));
    let started = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, base, auth, queue) = (client.clone(), base.clone(), auth.clone(), queue.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                loop {
                    let Some(i) = queue.lock().unwrap().pop() else { break };
                    let body = format!(
                        r#"{{"site": "{SITE}", "userId": "user-{}", "context": {{"pageType": "home"}}}}"#,
                        i % USERS
                    );
                    let t = Instant::now();
                    let r = client
                        .post(format!("{base}/v1/decide"))
                        .header("authorization", &auth)
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                    let d = Value::parse(&r.text().await.unwrap()).unwrap();
                    times.push(t.elapsed());
                    assert_eq!(d.get("experiments").and_then(Value::as_array).map(Vec::len), Some(20));
                }
                times
            })
        })
        .collect();
    let mut times = Vec::new();
    for w in workers {
        times.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed();
    times.sort();
    server.abort();
    std::fs::remove_dir_all(&dir).ok();
    println!(
        "POST /v1/decide, {requests} requests, {CLIENTS} clients, {USERS} users x {EVENTS_PER_USER} events (200 replayed), 100 offers, 20 experiments, SQLite:"
    );
    println!(
        "  {:.0} decides/s; latency median {:.2} ms, p90 {:.2} ms, p99 {:.2} ms; the store's profile read alone: {:.2} ms",
        requests as f64 / elapsed.as_secs_f64(),
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        percentile(&times, 0.99),
        profile_read.as_secs_f64() * 1e3
    );
}
