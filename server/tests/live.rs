//! Live ruleset updates (`GET /v1/rulesets/{site}/stream`) against real `tailor serve`
//! processes. The streams are read over plain TCP with a deadline on every read, so a missing
//! event fails the test instead of hanging it.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;
use tailor::engine::wire::RulesetEnvelope;

const RULESET: &str = r#"{"version": 1, "placements": {}, "offers": [], "experiments": []}"#;

fn ruleset(id: &str) -> String {
    format!(r#"{{"version": 1, "id": "{id}", "placements": {{}}, "offers": [], "experiments": []}}"#)
}

fn publish(base: &str, site: &str, body: &str) -> RulesetEnvelope {
    let response = client()
        .post(format!("{base}/v1/admin/rulesets/{site}"))
        .bearer_auth(TOKEN)
        .body(body.to_string())
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    RulesetEnvelope::parse(&response.text().unwrap()).unwrap()
}

/// One server-sent event.
#[derive(Debug, Default)]
struct Sse {
    event: String,
    id: String,
    data: String,
    retry: Option<u64>,
    comment: bool,
}

/// A stream opened with HTTP/1.0 (no chunked framing: the body is the event stream as is).
struct EventStream {
    tcp: TcpStream,
    pub status: u16,
    pub head: String,
    buf: Vec<u8>,
}

impl EventStream {
    fn open(base: &str, path: &str, headers: &[(&str, &str)]) -> EventStream {
        let addr = base.trim_start_matches("http://");
        let mut tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: text/event-stream\r\n");
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        tcp.write_all(request.as_bytes()).unwrap();
        let mut s = EventStream { tcp, status: 0, head: String::new(), buf: Vec::new() };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !s.buf.windows(4).any(|w| w == b"\r\n\r\n") {
            assert!(s.fill(deadline), "no response head within 5 s: {:?}", String::from_utf8_lossy(&s.buf));
        }
        let end = s.buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        s.head = String::from_utf8_lossy(&s.buf[..end]).to_string();
        s.buf.drain(..end + 4);
        s.status = s.head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        s
    }

    /// Reads more bytes before `deadline`; false at its end (EOF, or time is up).
    fn fill(&mut self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        self.tcp.set_read_timeout(Some(left.max(Duration::from_millis(1)))).unwrap();
        let mut chunk = [0u8; 65536];
        match self.tcp.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// The next event or comment within `wait`; `None` when none came (or the stream ended).
    fn next(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block = String::from_utf8_lossy(&self.buf[..end]).to_string();
                self.buf.drain(..end + 2);
                let mut e = Sse::default();
                let mut data = Vec::new();
                for line in block.lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "" => e.comment = true,
                        "event" => e.event = value.into(),
                        "id" => e.id = value.into(),
                        "data" => data.push(value.to_string()),
                        "retry" => e.retry = value.parse().ok(),
                        _ => {}
                    }
                }
                e.data = data.join("\n");
                return Some(e);
            }
            if !self.fill(deadline) {
                return None;
            }
        }
    }

    /// The next `ruleset` event within `wait`, skipping comments and hints.
    fn next_ruleset(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = Instant::now() + wait;
        loop {
            let e = self.next(deadline.saturating_duration_since(Instant::now()))?;
            if e.event == "ruleset" {
                return Some(e);
            }
        }
    }

    /// The whole body of a refusal, as JSON (the server closes an HTTP/1.0 connection after it).
    fn json(&mut self) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.fill(deadline) {}
        serde_json::from_slice(&self.buf).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&self.buf)))
    }

    /// Whether the server ended the stream within `wait`.
    fn ends_within(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.tcp.set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 4096];
            match self.tcp.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    return false
                }
                Err(_) => return true, // reset: ended too
            }
        }
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn a_publish_reaches_an_open_stream_within_two_seconds() {
    let b = sqlite();
    let server = b.serve(&[]);
    publish(&server.base, "default", &ruleset("one"));
    let get = client().get(server.url("/v1/rulesets/default")).send().unwrap();
    let etag = get.headers()["etag"].to_str().unwrap().to_string();
    let body = get.text().unwrap();

    let mut stream = EventStream::open(&server.base, "/v1/rulesets/default/stream", &[]);
    assert_eq!(stream.status, 200, "{}", stream.head);
    assert!(
        header(&stream.head, "content-type").is_some_and(|v| v.starts_with("text/event-stream")),
        "{}",
        stream.head
    );
    let hint = stream.next(Duration::from_secs(5)).expect("a first event");
    assert_eq!(hint.retry, Some(5000), "the retry hint comes first: {hint:?}");
    // On connect: the current envelope, as the GET serves it, with its ETag as the id.
    let first = stream.next_ruleset(Duration::from_secs(5)).expect("the current envelope on connect");
    assert_eq!((first.id.as_str(), first.data.as_str()), (etag.as_str(), body.as_str()));

    let mut latencies = Vec::new();
    for (n, id) in ["two", "three", "four"].iter().enumerate() {
        let started = Instant::now();
        let published = publish(&server.base, "default", &ruleset(id));
        let e =
            stream.next_ruleset(Duration::from_secs(2)).unwrap_or_else(|| panic!("publish {id} did not arrive in 2 s"));
        latencies.push(started.elapsed());
        let got = RulesetEnvelope::parse(&e.data).unwrap();
        assert_eq!(got.version, published.version);
        assert_eq!(got.version, n as u64 + 2);
        assert_eq!(got.signature, published.signature, "the signed document as published");
        assert_eq!(got.ruleset.get("id").and_then(|v| v.as_str()), Some(*id));
    }
    eprintln!("publish -> event latencies: {latencies:?}");
    // Another site's publish does not reach this stream.
    publish(&server.base, "other", RULESET);
    assert!(stream.next_ruleset(Duration::from_millis(500)).is_none());
}

#[test]
fn a_reconnecting_client_gets_what_it_missed_and_nothing_it_has() {
    let b = sqlite();
    let server = b.serve(&[]);
    publish(&server.base, "default", &ruleset("one"));
    let mut stream = EventStream::open(&server.base, "/v1/rulesets/default/stream", &[]);
    let first = stream.next_ruleset(Duration::from_secs(5)).expect("the current envelope");
    drop(stream);

    // Up to date: no ruleset event on connect (by header, as EventSource reconnects, or query).
    let mut again = EventStream::open(&server.base, "/v1/rulesets/default/stream", &[("Last-Event-ID", &first.id)]);
    assert_eq!(again.status, 200);
    assert!(again.next_ruleset(Duration::from_millis(700)).is_none(), "it has this version already");
    drop(again);
    let query = format!("/v1/rulesets/default/stream?lastEventId={}", first.id.replace('"', "%22"));
    let mut by_query = EventStream::open(&server.base, &query, &[]);
    assert!(by_query.next_ruleset(Duration::from_millis(700)).is_none(), "lastEventId in the query");
    drop(by_query);

    // Two publishes while away: the reconnect gets the newest at once.
    publish(&server.base, "default", &ruleset("two"));
    let newest = publish(&server.base, "default", &ruleset("three"));
    let mut back = EventStream::open(&server.base, "/v1/rulesets/default/stream", &[("Last-Event-ID", &first.id)]);
    let e = back.next_ruleset(Duration::from_secs(2)).expect("what it missed");
    assert_eq!(RulesetEnvelope::parse(&e.data).unwrap().version, newest.version);
    assert_ne!(e.id, first.id);
}

#[test]
fn unknown_sites_get_404_and_cors_is_the_gets() {
    let b = sqlite();
    let server = b.serve(&["--cors-origin", "https://shop.example"]);
    let stream = EventStream::open(&server.base, "/v1/rulesets/nowhere/stream", &[]);
    assert_eq!(stream.status, 404);
    let get = client().get(server.url("/v1/rulesets/nowhere")).send().unwrap();
    assert_eq!(get.status().as_u16(), 404);
    assert_eq!(EventStream::open(&server.base, "/v1/rulesets/bad%20site/stream", &[]).status, 400);

    publish(&server.base, "default", RULESET);
    let allowed = EventStream::open(&server.base, "/v1/rulesets/default/stream", &[("Origin", "https://shop.example")]);
    assert_eq!(header(&allowed.head, "access-control-allow-origin"), Some("https://shop.example"), "{}", allowed.head);
    let other = EventStream::open(&server.base, "/v1/rulesets/default/stream", &[("Origin", "https://evil.example")]);
    assert_eq!(header(&other.head, "access-control-allow-origin"), None);
    let get = client().get(server.url("/v1/rulesets/default")).header("Origin", "https://shop.example").send().unwrap();
    assert_eq!(get.headers()["access-control-allow-origin"], "https://shop.example");
}

#[test]
fn streams_are_limited_per_client_address_and_per_site() {
    let b = sqlite();
    let server = b.serve(&["--trust-proxy", "--client-stream-limit", "2", "--stream-limit", "3"]);
    publish(&server.base, "default", RULESET);
    publish(&server.base, "other", RULESET);
    let open = |ip: &str, site: &str| {
        EventStream::open(&server.base, &format!("/v1/rulesets/{site}/stream"), &[("X-Forwarded-For", ip)])
    };
    let a1 = open("10.0.0.1", "default");
    let a2 = open("10.0.0.1", "default");
    assert_eq!((a1.status, a2.status), (200, 200));
    let mut a3 = open("10.0.0.1", "default");
    assert_eq!(a3.status, 429, "{}", a3.head);
    assert_eq!(header(&a3.head, "retry-after"), Some("60"));
    let error = a3.json();
    assert_eq!(error["error"], "too_many_streams");
    assert!(error["message"].as_str().unwrap().contains("per client address"), "{error}");

    let b1 = open("10.0.0.2", "default");
    assert_eq!(b1.status, 200);
    let mut c1 = open("10.0.0.3", "default");
    assert_eq!(c1.status, 429, "the site's limit");
    let error = c1.json();
    assert!(error["message"].as_str().unwrap().contains("for site 'default'"), "{error}");
    // Another site has its own count; the GET is not limited.
    assert_eq!(open("10.0.0.3", "other").status, 200);
    assert_eq!(client().get(server.url("/v1/rulesets/default")).send().unwrap().status().as_u16(), 200);

    // A stream that closes gives its place back.
    drop(b1);
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let again = open("10.0.0.3", "default");
        if again.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the closed stream's place never came back");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop((a1, a2));
}

#[test]
fn shutdown_ends_open_streams() {
    let b = sqlite();
    let key = b.key();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tailor"))
        .args(["serve", "--port", "0", "--db", &b.db, "--key", key.to_str().unwrap(), "--admin-token", TOKEN])
        .current_dir(b.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on ").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    });
    let base = rx.recv_timeout(Duration::from_secs(30)).expect("the server started");
    publish(&base, "default", RULESET);
    let mut stream = EventStream::open(&base, "/v1/rulesets/default/stream", &[]);
    assert!(stream.next_ruleset(Duration::from_secs(5)).is_some());

    let started = Instant::now();
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    assert!(stream.ends_within(Duration::from_secs(5)), "the stream did not end at shutdown");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit within 10 s of SIGTERM with a stream open");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    eprintln!("shutdown with an open stream took {:?}", started.elapsed());
}
