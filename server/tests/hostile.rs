//! Hostile bodies against a real `tailor serve` (SQLite, and PostgreSQL with
//! `TAILOR_TEST_PG_URL`): the worst batches within the limits cost at most 100 ms of the
//! server's CPU each, `/healthz` answers within 50 ms while four of them are in flight, a
//! flood of large bodies from one address is refused before parsing, and a client that sends
//! a whole oversized body before reading gets its 413. Each figure is printed as a
//! `# hostile:` line (`cargo test -p tailor-server --test hostile -- --nocapture`).
//!
//! The budgets are those of the server as it is deployed, an optimised build: an unoptimised
//! (debug) build parses about six times slower, so these tests build `tailor` once with
//! `opt-level = 3` (the profile `optimised`, defined on the command line, in
//! `target/optimised/`) and measure that; `TAILOR_BIN=path` measures another binary instead.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use support::*;
use tailor::engine::wire::MAX_BATCH_BYTES;

/// The issue's budgets.
const MAX_CPU_MS: f64 = 100.0;
const MAX_HEALTH_MS: f64 = 50.0;
/// Each body is sent this many times and the server's CPU divided among them, to see past
/// the 10 ms tick of `/proc/<pid>/stat`.
const REPEATS: usize = 5;

/// The tests of this file measure one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The `tailor` binary to measure: `TAILOR_BIN`, or an optimised build of this tree.
fn tailor_bin() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("TAILOR_BIN").filter(|b| !b.is_empty()) {
            println!("# hostile: server binary {} (TAILOR_BIN)", PathBuf::from(&bin).display());
            return bin.into();
        }
        // target/<profile>/tailor → target/
        let debug_bin = PathBuf::from(env!("CARGO_BIN_EXE_tailor"));
        let target = debug_bin.parent().and_then(|p| p.parent()).expect("target directory").to_path_buf();
        let started = Instant::now();
        // Another profile directory than the running `cargo test`'s, so no lock is shared.
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--quiet", "-p", "tailor-server", "--bin", "tailor", "--profile", "optimised"])
            .args(["--config", "profile.optimised.inherits=\"dev\"", "--config", "profile.optimised.opt-level=3"])
            .args(["--config", "profile.optimised.debug=false", "--config", "profile.optimised.debug-assertions=false"])
            .args([
                "--config",
                "profile.optimised.overflow-checks=false",
                "--config",
                "profile.optimised.incremental=false",
            ])
            .arg("--target-dir")
            .arg(&target)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build --profile optimised failed");
        let bin = target.join("optimised").join(debug_bin.file_name().unwrap());
        println!(
            "# hostile: server binary {} (opt-level 3, built in {:.0} s)",
            bin.display(),
            started.elapsed().as_secs_f64()
        );
        bin
    })
}

/// A `tailor serve` whose process id is known, so that its CPU time can be read.
struct Measured {
    child: Child,
    base: String,
}

impl Measured {
    fn start(b: &Backend, extra: &[&str]) -> Measured {
        let key = b.key();
        let mut child = Command::new(tailor_bin())
            .args(["serve", "--port", "0", "--db", &b.db, "--key", key.to_str().unwrap()])
            .args(extra)
            .current_dir(b.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tailor serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            // Keep reading (the access log) so that the server never blocks on a full pipe.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
                    }
                }
            }
        });
        let base = rx.recv_timeout(Duration::from_secs(30)).expect("tailor serve did not start");
        Measured { child, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    /// User + system CPU time of the server process so far.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).expect("/proc/<pid>/stat");
        let fields: Vec<&str> = stat.rsplit_once(") ").expect("stat format").1.split_whitespace().collect();
        // After the command name: state is field 3, utime field 14, stime field 15.
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_secs_f64(ticks as f64 / clock_ticks())
    }
}

impl Drop for Measured {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clock_ticks() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().ok();
    out.and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok()).unwrap_or(100.0)
}

/// Fills a JSON array with `item(i)` until the whole body would pass `MAX_BATCH_BYTES`.
fn fill(prefix: &str, suffix: &str, sep: &str, mut item: impl FnMut(usize) -> String) -> String {
    let mut body = String::from(prefix);
    let room = MAX_BATCH_BYTES - suffix.len();
    for i in 0.. {
        let next = item(i);
        let extra = if i == 0 { 0 } else { sep.len() };
        if body.len() + extra + next.len() > room {
            break;
        }
        if i > 0 {
            body.push_str(sep);
        }
        body.push_str(&next);
    }
    body.push_str(suffix);
    assert!(body.len() <= MAX_BATCH_BYTES);
    body
}

/// An object of `n` keys, from `key(i)`.
fn object(n: usize, key: impl Fn(usize) -> String) -> String {
    let mut s = String::from("{");
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("\"{}\":0", key(i)));
    }
    s.push('}');
    s
}

/// The worst bodies within the limits, each with the status it must get.
fn hostile_bodies() -> Vec<(&'static str, String, u16)> {
    let now = now_ms();
    let keys_at_cap = object(10_000, |i| format!("{i:x}"));
    let repeated_at_cap = object(10_000, |_| "a".to_string());
    let nested = format!("{}0{}", "[".repeat(62), "]".repeat(62));
    vec![
        (
            "1 MiB of tiny distinct keys in one object",
            fill(r#"{"events":[],"pad":{"#, "}}", ",", |i| format!("\"{i:x}\":0")),
            400,
        ),
        (
            "objects of 10,000 tiny distinct keys",
            fill(r#"{"events":[],"pad":["#, "]}", ",", |_| keys_at_cap.clone()),
            200,
        ),
        ("1 MiB of one repeated key", fill(r#"{"events":[],"pad":{"#, "}}", ",", |_| "\"a\":0".into()), 400),
        (
            "objects of 10,000 repeats of one key",
            fill(r#"{"events":[],"pad":["#, "]}", ",", |_| repeated_at_cap.clone()),
            200,
        ),
        ("1 MiB of opening brackets", fill(r#"{"events":[],"pad":"#, "", "", |_| "[".into()), 400),
        ("nesting at the depth limit, repeated", fill(r#"{"events":[],"pad":["#, "]}", ",", |_| nested.clone()), 200),
        ("a string of \\u escapes", fill(r#"{"events":[],"pad":""#, "\"}", "", |_| "\\u00e9".into()), 200),
        ("a string of surrogate pairs", fill(r#"{"events":[],"pad":""#, "\"}", "", |_| "\\ud83d\\ude00".into()), 200),
        ("a string of short escapes", fill(r#"{"events":[],"pad":""#, "\"}", "", |_| "\\\"\\\\\\n".into()), 200),
        ("one number of 1 MiB of digits", fill(r#"{"events":[],"pad":"#, "}", "", |_| "7".into()), 200),
        ("an array of tiny values", fill(r#"{"events":[],"pad":["#, "]}", ",", |_| "0".into()), 200),
        (
            "1,000 events rejected one by one",
            {
                let junk = "x".repeat(900);
                let events: Vec<String> = (0..1000)
                    .map(|i| format!(r#"{{"id":"bad-{i}","type":"page_view","ts":{now},"junk":"{junk}"}}"#))
                    .collect();
                format!(r#"{{"events":[{}]}}"#, events.join(","))
            },
            200,
        ),
        (
            "1,000 valid events (the batch maximum), stored",
            {
                let path = "/p".repeat(400);
                let events: Vec<String> = (0..1000)
                    .map(|_| {
                        let mut e = page_view(&new_id(), "hostile-anon", now);
                        e["props"]["path"] = serde_json::json!(path);
                        e.to_string()
                    })
                    .collect();
                format!(r#"{{"events":[{}]}}"#, events.join(","))
            },
            200,
        ),
    ]
}

fn post(http: &reqwest::blocking::Client, server: &Measured, body: &str, from: &str) -> u16 {
    let response = http
        .post(server.url("/v1/events"))
        .header("content-type", "application/json")
        .header("x-forwarded-for", from)
        .body(body.to_string())
        .send()
        .expect("post");
    let status = response.status().as_u16();
    let _ = response.bytes();
    status
}

/// Waits until the server's CPU clock stops moving (the access log of the last request).
fn settle(server: &Measured) {
    let mut last = server.cpu();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        std::thread::sleep(Duration::from_millis(30));
        let now = server.cpu();
        if now == last || Instant::now() > deadline {
            return;
        }
        last = now;
    }
}

#[test]
fn hostile_bodies_are_cheap_and_the_server_stays_responsive() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let bodies = hostile_bodies();
    for b in backends() {
        let server = Measured::start(&b, &["--trust-proxy", "--rate-limit", "1000000"]);
        let http = client();
        assert_eq!(post(&http, &server, r#"{"events":[]}"#, "10.9.9.9"), 200, "warm up");
        let mut costliest = (0.0, 0);
        let mut over = Vec::new();
        for (n, (name, body, expected)) in bodies.iter().enumerate() {
            // The CPU a body costs is the least measured over up to three rounds: other work
            // on a shared machine (cache and core contention) only ever adds to it, so a round
            // over the budget is measured again before it counts.
            let (mut ms, mut wall) = (f64::INFINITY, 0.0);
            for round in 0..3 {
                settle(&server);
                let cpu = server.cpu();
                let started = Instant::now();
                for r in 0..REPEATS {
                    let status = post(&http, &server, body, &format!("10.1.{n}.{}", round * REPEATS + r));
                    assert_eq!(status, *expected, "{}: {name}", b.name);
                }
                let round_wall = started.elapsed().as_secs_f64() * 1000.0 / REPEATS as f64;
                settle(&server);
                let round_ms = (server.cpu() - cpu).as_secs_f64() * 1000.0 / REPEATS as f64;
                if round_ms < ms {
                    (ms, wall) = (round_ms, round_wall);
                }
                if ms <= MAX_CPU_MS {
                    break;
                }
            }
            println!(
                "# hostile: {}: {name}: {} bytes, status {expected}, {ms:.1} ms server CPU, {wall:.1} ms wall per request",
                b.name,
                body.len()
            );
            if ms > MAX_CPU_MS {
                over.push(format!("{}: {name} cost {ms:.1} ms of CPU (budget {MAX_CPU_MS} ms)", b.name));
            }
            if ms > costliest.0 {
                costliest = (ms, n);
            }
        }

        // Four of the costliest in flight at once, again and again, while /healthz is polled.
        // Like the CPU above, a round whose slowest poll is over the budget is measured again
        // (up to three rounds, the best counts): a server that stalls on these bodies is slow
        // in every round, a hiccup of the shared machine is not.
        let (name, body, _) = &bodies[costliest.1];
        let body = Arc::new(body.clone());
        let (mut polls, mut worst, mut while_four) = (0usize, f64::INFINITY, 0usize);
        for _round in 0..3 {
            let (round_polls, round_worst, round_four) = health_under_load(&server, &body);
            if round_worst < worst {
                (polls, worst, while_four) = (round_polls, round_worst, round_four);
            }
            if worst <= MAX_HEALTH_MS && while_four > 0 {
                break;
            }
        }
        println!(
            "# hostile: {}: /healthz during 4 x {REPEATS} concurrent '{name}': {polls} polls ({while_four} with all four in flight), slowest {worst:.1} ms",
            b.name
        );
        assert!(over.is_empty(), "{over:#?}");
        assert!(while_four > 0, "{}: no poll saw four bodies in flight", b.name);
        assert!(worst <= MAX_HEALTH_MS, "{}: /healthz took {worst:.1} ms (budget {MAX_HEALTH_MS} ms)", b.name);
    }
}

/// Polls /healthz while four threads post `body` REPEATS times each, all at once: how many
/// polls ran while bodies were in flight, the slowest of them in ms, and how many ran while
/// all four were in flight.
fn health_under_load(server: &Measured, body: &Arc<String>) -> (usize, f64, usize) {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(std::sync::Barrier::new(5));
    let senders: Vec<_> = (0..4)
        .map(|t| {
            let (body, in_flight, started, url) =
                (body.clone(), in_flight.clone(), started.clone(), server.url("/v1/events"));
            std::thread::spawn(move || {
                let http = client();
                started.wait();
                for r in 0..REPEATS {
                    in_flight.fetch_add(1, Ordering::SeqCst);
                    let response = http
                        .post(&url)
                        .header("x-forwarded-for", format!("10.2.{t}.{r}"))
                        .body(body.to_string())
                        .send();
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    let _ = response.map(|r| r.bytes());
                }
            })
        })
        .collect();
    let health = client();
    assert_eq!(health.get(server.url("/healthz")).send().unwrap().status().as_u16(), 200);
    started.wait();
    let (mut polls, mut worst, mut while_four) = (0usize, 0.0f64, 0usize);
    while !senders.iter().all(|s| s.is_finished()) {
        let busy = in_flight.load(Ordering::SeqCst);
        let t = Instant::now();
        let status = health.get(server.url("/healthz")).send().unwrap().status().as_u16();
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(status, 200);
        if busy > 0 && in_flight.load(Ordering::SeqCst) > 0 {
            polls += 1;
            worst = worst.max(ms);
            if busy == 4 {
                while_four += 1;
            }
        }
    }
    for s in senders {
        s.join().unwrap();
    }
    (polls, worst, while_four)
}

#[test]
fn a_flood_of_large_bodies_from_one_address_is_refused_before_parsing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let b = sqlite();
    let server = Measured::start(&b, &["--trust-proxy"]);
    let http = client();
    // The costliest kind of body, from one address, as fast as it goes.
    let body = fill(r#"{"events":[],"pad":["#, "]}", ",", |_| object(10_000, |i| format!("{i:x}")));
    settle(&server);
    let cpu = server.cpu();
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(post(&http, &server, &body, "10.3.0.1"));
    }
    settle(&server);
    let ms = (server.cpu() - cpu).as_secs_f64() * 1000.0;
    let parsed = statuses.iter().filter(|&&s| s == 200).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    println!("# hostile: flood of 20 x 1 MiB from one address: {parsed} parsed, {refused} refused with 429 before parsing, {ms:.0} ms server CPU in all");
    assert_eq!(parsed + refused, 20, "{statuses:?}");
    assert!(parsed <= 6, "the byte budget holds four bodies plus what refills: {statuses:?}");
    // Another address is not held back by the first.
    assert_eq!(post(&http, &server, &body, "10.3.0.2"), 200);
    // The refusal says which limit and when to retry.
    let response =
        http.post(server.url("/v1/events")).header("x-forwarded-for", "10.3.0.1").body(body.clone()).send().unwrap();
    if response.status().as_u16() == 429 {
        assert!(response.headers().contains_key("retry-after"));
        let error: serde_json::Value = response.json().unwrap();
        assert_eq!(error["limit"], "bytes", "{error}");
    }
}

/// Writes a whole request (headers and body) before reading a byte of the answer, as simple
/// clients do; returns the status line.
fn send_whole_then_read(addr: &str, head: &str, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    stream.write_all(head.as_bytes()).expect("write the head");
    stream.write_all(body).expect("the server took the whole body");
    stream.flush().unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                    break;
                }
            }
            Err(e) => panic!("reading the answer: {e} (got {:?})", String::from_utf8_lossy(&answer)),
        }
    }
    let text = String::from_utf8_lossy(&answer).to_string();
    assert!(text.contains("payload_too_large"), "{text}");
    text.lines().next().unwrap_or("").to_string()
}

#[test]
fn a_client_that_sends_a_whole_oversized_body_gets_413() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    for b in backends() {
        let server = Measured::start(&b, &[]);
        let body = vec![b' '; 2 * 1024 * 1024];
        let head = format!(
            "POST /v1/events HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            server.addr(),
            body.len()
        );
        let declared = send_whole_then_read(&server.addr(), &head, &body);
        // The same without a declared length: chunked, 2 MiB in 64 KiB chunks.
        let mut chunked = Vec::new();
        for chunk in body.chunks(64 * 1024) {
            chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            chunked.extend_from_slice(chunk);
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        let head = format!(
            "POST /v1/events HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            server.addr()
        );
        let streamed = send_whole_then_read(&server.addr(), &head, &chunked);
        println!("# hostile: {}: 2 MiB body sent whole before reading: '{declared}' (Content-Length), '{streamed}' (chunked)", b.name);
        assert!(declared.starts_with("HTTP/1.1 413"), "{declared}");
        assert!(streamed.starts_with("HTTP/1.1 413"), "{streamed}");
    }
}
