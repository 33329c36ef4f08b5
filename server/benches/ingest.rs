//! Ingest throughput: events per second through `POST /v1/events` (batches of 100, real
//! HTTP on loopback, a server in this process) next to raw batched INSERTs of the same
//! rows into the same kind of database, in the same run. SQLite always; PostgreSQL when
//! `TAILOR_TEST_PG_URL` (or `TAILOR_BENCH_PG_URL`) is set.
//!
//!   export TAILOR_TEST_PG_URL=$(scripts/pg.sh start)
//!   cargo bench -p tailor-server --profile server-bench --bench ingest
//!
//! SQLite's raw INSERTs run twice, with `synchronous = FULL` (what the server uses: an
//! acknowledged batch survives power loss) and `NORMAL` (WAL's default trade-off: the last
//! commits can be lost on power loss), so the cost of durability is printed beside them.
//!
//! Bounded: `TAILOR_BENCH_BATCHES` batches (default 300) per measurement, 4 concurrent
//! HTTP clients; stops by itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tailor::engine::uuid::Uuid;
use tailor_server::config::Config;
use tailor_server::serve::{router, start};
use tailor_server::store::{DbUrl, SCHEMA};

const BATCH: usize = 100;
const CLIENTS: usize = 4;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// `batches` request bodies of 100 distinct, valid events each.
fn bodies(batches: usize) -> Vec<String> {
    let now = now_ms();
    let mut n: u64 = 0;
    (0..batches)
        .map(|b| {
            let events: Vec<String> = (0..BATCH)
                .map(|i| {
                    n += 1;
                    let mut random = [0u8; 10];
                    random[..8].copy_from_slice(&n.to_be_bytes());
                    random[8] = 0x5a;
                    let id = Uuid::v7(now as u64, random).to_hyphenated();
                    let anon = format!("anon-{}", (b * 7 + i) % 500);
                    if i % 2 == 0 {
                        format!(r#"{{"id":"{id}","type":"page_view","ts":{now},"props":{{"path":"/category/shoes","title":"Shoes"}},"anonymousId":"{anon}","sessionId":"s-{b}"}}"#)
                    } else {
                        format!(r#"{{"id":"{id}","type":"product_view","ts":{now},"props":{{"sku":"SKU-{i}","category":"shoes","brand":"acme","price":59.9,"currency":"EUR"}},"anonymousId":"{anon}","sessionId":"s-{b}"}}"#)
                    }
                })
                .collect();
            format!(r#"{{"site":"bench","sentAt":{now},"events":[{}]}}"#, events.join(","))
        })
        .collect()
}

struct Measure {
    backend: &'static str,
    path: &'static str,
    events: usize,
    elapsed: Duration,
}

impl Measure {
    fn print(&self) {
        println!(
            "{:<9} {:<28} {:>8} events {:>8.3} s {:>10.0} events/s",
            self.backend,
            self.path,
            self.events,
            self.elapsed.as_secs_f64(),
            self.events as f64 / self.elapsed.as_secs_f64()
        );
    }
}

async fn http_ingest(db: DbUrl, key: std::path::PathBuf, bodies: Vec<String>) -> Duration {
    let mut config = Config::from_args(&[]).unwrap();
    config.addr = "127.0.0.1:0".parse().unwrap();
    config.db = db;
    config.key = Some(key);
    config.rate_limit = 0;
    let state = start(config).await.expect("server state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/events", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router(state)).await });
    let client = reqwest::Client::new();
    // Warm up: connection set-up and prepared statements.
    let response = client.post(&url).body(r#"{"site":"bench","events":[]}"#).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let queue = Arc::new(std::sync::Mutex::new(bodies));
    let started = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, url, queue) = (client.clone(), url.clone(), queue.clone());
            tokio::spawn(async move {
                loop {
                    let Some(body) = queue.lock().unwrap().pop() else { break };
                    let response = client.post(&url).body(body).send().await.unwrap();
                    assert_eq!(response.status(), 200);
                    let text = response.text().await.unwrap();
                    assert!(text.contains(r#""accepted":100"#), "{}", &text[..text.len().min(300)]);
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed();
    server.abort();
    elapsed
}

/// The same rows, prepared in memory, inserted 100 per transaction (SQLite: one prepared
/// statement per row inside a transaction; PostgreSQL: one multi-row INSERT per batch).
fn raw_rows(bodies: &[String]) -> Vec<Vec<[String; 6]>> {
    let now = now_ms();
    bodies
        .iter()
        .map(|body| {
            let v = tailor::engine::json::Value::parse(body).unwrap();
            v.get("events")
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let s = |k: &str| e.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
                    [s("id"), s("type"), s("anonymousId"), s("sessionId"), now.to_string(), e.to_json()]
                })
                .collect()
        })
        .collect()
}

fn raw_sqlite(path: &std::path::Path, batches: &[Vec<[String; 6]>], synchronous: &str) -> Duration {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&format!("PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous};")).unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    let started = Instant::now();
    for batch in batches {
        let tx = conn.transaction().unwrap();
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO events (site, id, type, anonymous_id, session_id, client_ts, ts, received_at, body) \
                     VALUES ('bench', ?1, ?2, ?3, ?4, ?5, ?5, ?5, ?6) ON CONFLICT (site, id) DO NOTHING",
                )
                .unwrap();
            for r in batch {
                let ts: i64 = r[4].parse().unwrap();
                stmt.execute(rusqlite::params![r[0], r[1], r[2], r[3], ts, r[5]]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    started.elapsed()
}

async fn raw_postgres(url: &str, batches: &[Vec<[String; 6]>]) -> Duration {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.batch_execute(SCHEMA).await.unwrap();
    let mut sql = String::from(
        "INSERT INTO events (site, id, type, anonymous_id, session_id, client_ts, ts, received_at, body) VALUES ",
    );
    for i in 0..BATCH {
        let p = i * 6;
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "('bench', ${}, ${}, ${}, ${}, ${}::int8, ${}::int8, ${}::int8, ${})",
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5,
            p + 5,
            p + 5,
            p + 6
        ));
    }
    sql.push_str(" ON CONFLICT (site, id) DO NOTHING");
    let stmt = client.prepare(&sql).await.unwrap();
    let started = Instant::now();
    for batch in batches {
        let ts: Vec<i64> = batch.iter().map(|r| r[4].parse().unwrap()).collect();
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = Vec::with_capacity(BATCH * 6);
        for (r, t) in batch.iter().zip(&ts) {
            type P<'a> = &'a (dyn tokio_postgres::types::ToSql + Sync);
            params.extend::<[P; 6]>([&r[0], &r[1], &r[2], &r[3], t, &r[5]]);
        }
        assert_eq!(client.execute(&stmt, &params).await.unwrap(), BATCH as u64);
    }
    started.elapsed()
}

async fn fresh_pg(base: &str, name: &str) -> String {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await.unwrap();
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and gets a quick run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let batches: usize =
        std::env::var("TAILOR_BENCH_BATCHES").ok().and_then(|v| v.parse().ok()).unwrap_or(if quick { 5 } else { 300 });
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    // In target/, not /tmp: fsync must reach a disk for synchronous = FULL to cost what it
    // costs in production (/tmp is a RAM disk on many systems).
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let key = dir.path().join("signing.key");
    let work = bodies(batches);
    let rows = raw_rows(&work);
    let events = batches * BATCH;
    println!("ingest benchmark: {batches} batches of {BATCH} events, {CLIENTS} HTTP clients on loopback");
    let mut results = Vec::new();

    let db = DbUrl::Sqlite(dir.path().join("http.db"));
    let elapsed = runtime.block_on(http_ingest(db, key.clone(), work.clone()));
    results.push(Measure { backend: "sqlite", path: "POST /v1/events (HTTP)", events, elapsed });
    let elapsed = raw_sqlite(&dir.path().join("raw.db"), &rows, "FULL");
    results.push(Measure { backend: "sqlite", path: "raw batched INSERT, FULL", events, elapsed });
    let elapsed = raw_sqlite(&dir.path().join("raw-normal.db"), &rows, "NORMAL");
    results.push(Measure { backend: "sqlite", path: "raw batched INSERT, NORMAL", events, elapsed });

    let pg = std::env::var("TAILOR_BENCH_PG_URL").or_else(|_| std::env::var("TAILOR_TEST_PG_URL")).ok();
    match pg.filter(|u| !u.is_empty()) {
        Some(base) => runtime.block_on(async {
            let url = fresh_pg(&base, "tailor_bench_http").await;
            let elapsed = http_ingest(DbUrl::Postgres(url), key.clone(), work.clone()).await;
            results.push(Measure { backend: "postgres", path: "POST /v1/events (HTTP)", events, elapsed });
            let url = fresh_pg(&base, "tailor_bench_raw").await;
            let elapsed = raw_postgres(&url, &rows).await;
            results.push(Measure { backend: "postgres", path: "raw batched INSERT", events, elapsed });
        }),
        None => println!("NOTE: TAILOR_TEST_PG_URL is not set: PostgreSQL skipped (scripts/pg.sh start)"),
    }
    for r in &results {
        r.print();
    }
    let rate = |path: &str| {
        results
            .iter()
            .find(|r| r.backend == "sqlite" && r.path == path)
            .map(|r| r.events as f64 / r.elapsed.as_secs_f64())
    };
    if let (Some(full), Some(normal)) = (rate("raw batched INSERT, FULL"), rate("raw batched INSERT, NORMAL")) {
        println!(
            "sqlite durability cost: synchronous=FULL ingests {:.0}% of NORMAL's rate ({:.0} vs {:.0} events/s, \
             {:.2} ms more per 100-event commit)",
            100.0 * full / normal,
            full,
            normal,
            (BATCH as f64 / full - BATCH as f64 / normal) * 1000.0
        );
    }
}
