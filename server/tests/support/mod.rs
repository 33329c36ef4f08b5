//! Test harness: real `tailor serve` processes on 127.0.0.1, on a fresh SQLite file or a
//! fresh PostgreSQL database (when `TAILOR_TEST_PG_URL` is set), and a real HTTP client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tailor::engine::uuid::Uuid;

pub const TOKEN: &str = "test-admin-token-123";
/// The identity secret of the site `default` in the servers of `Backend::serve`.
pub const IDENTITY_SECRET: &str = "test-identity-secret-0123456789";

/// An identity token for `user_id` on the site `default`, valid for an hour.
pub fn identity_token(user_id: &str) -> String {
    let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600;
    tailor_server::identity::token(IDENTITY_SECRET, "default", user_id, exp)
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database to run a test on, with a directory for keys and files.
pub struct Backend {
    pub name: &'static str,
    pub db: String,
    pub dir: tempfile::TempDir,
}

impl Backend {
    pub fn key(&self) -> PathBuf {
        self.dir.path().join("signing.key")
    }

    /// Starts a server on this database with the shared key and admin token.
    pub fn serve(&self, extra: &[&str]) -> Server {
        let key = self.key();
        let secret = format!("default={IDENTITY_SECRET}");
        let mut args = vec![
            "--db",
            &self.db,
            "--key",
            key.to_str().unwrap(),
            "--admin-token",
            TOKEN,
            "--identity-secret",
            &secret,
        ];
        args.extend_from_slice(extra);
        Server::start(&args, self.dir.path())
    }

    /// How many rows hold this event id.
    pub fn count_events(&self, id: &str) -> i64 {
        self.query_i64("SELECT COUNT(*) FROM events WHERE id = $1", id)
    }

    pub fn query_i64(&self, sql: &str, param: &str) -> i64 {
        if let Some(path) = self.db.strip_prefix("sqlite:") {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.query_row(&sql.replace('$', "?"), [param], |r| r.get(0)).unwrap()
        } else {
            let db = self.db.clone();
            let (sql, param) = (sql.to_string(), param.to_string());
            runtime().block_on(async move {
                let (client, conn) = tokio_postgres::connect(&db, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(conn);
                client.query_one(&sql, &[&param]).await.unwrap().get(0)
            })
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// SQLite always; PostgreSQL too when `TAILOR_TEST_PG_URL` is set (a fresh database each).
pub fn backends() -> Vec<Backend> {
    let mut out = vec![sqlite()];
    if let Some(url) = pg_url() {
        out.push(postgres(&url));
    }
    out
}

pub fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("db/tailor.db").display());
    Backend { name: "sqlite", db, dir }
}

/// The PostgreSQL cluster to test on, from `TAILOR_TEST_PG_URL`. Without it the PostgreSQL
/// tests are skipped, and say so where it shows: on the terminal, past the test harness's
/// output capture (which hides `eprintln!` of passing tests), once per test binary. Where
/// `CI` is set, a missing URL is a failure rather than a skip.
pub fn pg_url() -> Option<String> {
    if let Some(url) = std::env::var("TAILOR_TEST_PG_URL").ok().filter(|u| !u.is_empty()) {
        return Some(url);
    }
    if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0") {
        panic!(
            "CI is set but TAILOR_TEST_PG_URL is not: the PostgreSQL tests would be skipped \
             (run them with TAILOR_TEST_PG_URL=$(bash scripts/pg.sh start), as scripts/test.sh does)"
        );
    }
    static NOTE: std::sync::Once = std::sync::Once::new();
    NOTE.call_once(|| {
        use std::io::Write;
        // Written to the stream itself, not with eprintln!, so that the harness shows it.
        let _ = writeln!(
            std::io::stderr(),
            "\nNOTE: TAILOR_TEST_PG_URL is not set: the PostgreSQL tests of {} are SKIPPED (SQLite only). \
             Run them with: TAILOR_TEST_PG_URL=$(bash scripts/pg.sh start) cargo test -p tailor-server",
            std::env::args()
                .next()
                .as_deref()
                .and_then(|a| Path::new(a).file_name()?.to_str().map(|n| n.split('-').next().unwrap_or(n).to_string()))
                .unwrap_or_default()
        );
    });
    None
}

/// A new, empty database in the cluster at `base`.
pub fn postgres(base: &str) -> Backend {
    let name = format!(
        "tailor_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
    );
    let base_owned = base.to_string();
    let create = name.clone();
    runtime().block_on(async move {
        let (client, conn) = tokio_postgres::connect(&base_owned, tokio_postgres::NoTls)
            .await
            .expect("TAILOR_TEST_PG_URL: cannot connect");
        tokio::spawn(conn);
        client.batch_execute(&format!("CREATE DATABASE {create}")).await.unwrap();
    });
    let (prefix, rest) = base.rsplit_once('/').expect("a postgres:// URL with a database");
    let query = rest.find('?').map(|i| &rest[i..]).unwrap_or("");
    Backend { name: "postgres", db: format!("{prefix}/{name}{query}"), dir: tempfile::tempdir().unwrap() }
}

/// A running `tailor serve`; killed on drop. Its stderr lines are collected.
pub struct Server {
    child: Child,
    pub base: String,
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn start(args: &[&str], cwd: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tailor"))
            .arg("serve")
            .args(["--port", "0"])
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tailor serve");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
                    }
                }
                sink.lock().unwrap().push(line);
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                panic!("tailor serve did not start: {:?}", logs.lock().unwrap());
            }
        };
        Server { child, base, logs }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Waits until a log line satisfies `f` (logs are written after the response).
    pub fn wait_for_log(&self, f: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Some(line) = self.logs().into_iter().find(|l| f(l)) {
                return Some(line);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A fresh UUIDv7 event id.
pub fn new_id() -> String {
    let mut random = [0u8; 10];
    getrandom::fill(&mut random).unwrap();
    Uuid::v7(now_ms() as u64, random).to_hyphenated()
}

pub fn page_view(id: &str, anon: &str, ts: i64) -> serde_json::Value {
    serde_json::json!({"id": id, "type": "page_view", "ts": ts, "props": {"path": "/"}, "anonymousId": anon})
}

pub fn exposure(anon: &str, ts: i64, experiment: &str, variation: u32) -> serde_json::Value {
    serde_json::json!({"id": new_id(), "type": "experiment_exposure", "ts": ts,
        "props": {"experimentKey": experiment, "variation": variation}, "anonymousId": anon})
}

pub fn purchase(anon: &str, ts: i64) -> serde_json::Value {
    serde_json::json!({"id": new_id(), "type": "purchase", "ts": ts,
        "props": {"orderId": format!("o-{}", new_id()), "revenue": 42.5, "currency": "EUR", "items": [{"sku": "A1"}]},
        "anonymousId": anon})
}

/// `event` sent under `user_id` (as the browser does after identify).
pub fn with_user(mut event: serde_json::Value, user_id: &str) -> serde_json::Value {
    event["userId"] = serde_json::json!(user_id);
    event
}

/// Posts a batch; returns the status and the JSON body.
pub fn post_batch(server: &Server, batch: &serde_json::Value) -> (u16, serde_json::Value) {
    let response = client().post(server.url("/v1/events")).json(batch).send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(serde_json::Value::Null))
}

/// `GET /v1/admin/results/{path}` with the admin token (`path`: the site and any query).
pub fn results(server: &Server, path: &str) -> serde_json::Value {
    let response = client().get(server.url(&format!("/v1/admin/results/{path}"))).bearer_auth(TOKEN).send().unwrap();
    assert_eq!(response.status().as_u16(), 200, "results of {path}");
    response.json().unwrap()
}

pub fn statuses(body: &serde_json::Value) -> Vec<String> {
    body["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap().to_string()).collect()
}

pub fn write_ruleset(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}
