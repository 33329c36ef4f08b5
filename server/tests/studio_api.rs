//! The Studio's endpoints (`/v1/studio/{site}/...`) against a real server on 127.0.0.1, on a
//! real SQLite file and, with `TAILOR_TEST_PG_URL`, a real PostgreSQL database: drafts with
//! the validator's errors at their paths, publishing a draft, the version history with its
//! diff and rollback (to a new fetch and to an open live stream), the audit log, preview
//! links, and every role and site refusal.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use support::*;

/// Version 1 of the site: one experiment.
fn first() -> Value {
    json!({"version": 1, "id": "spring", "placements": {"hero": {"limit": 1}}, "offers": [],
        "experiments": [{"key": "hero", "seed": "hero-1", "weights": [0.5, 0.5],
            "variations": [{"key": "control"}, {"key": "bold"}]}]})
}

/// What the draft makes of it: other weights and an offer.
fn second() -> Value {
    json!({"version": 1, "id": "summer", "placements": {"hero": {"limit": 1}},
        "offers": [{"id": "sale", "placements": ["hero"], "content": {"title": "Sale"}}],
        "experiments": [{"key": "hero", "seed": "hero-1", "weights": [0.2, 0.8],
            "variations": [{"key": "control"}, {"key": "bold"}]}]})
}

/// A request with a bearer token: the status and the JSON answer (`Null` when empty).
fn call(server: &Server, method: Method, path: &str, token: &str, body: Option<String>) -> (u16, Value) {
    let mut request = client().request(method, server.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.body(body);
    }
    let r = request.send().unwrap();
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().unwrap()).unwrap_or(Value::Null))
}

fn get(server: &Server, path: &str, token: &str) -> (u16, Value) {
    call(server, Method::GET, path, token, None)
}

fn post(server: &Server, path: &str, token: &str, body: &Value) -> (u16, Value) {
    call(server, Method::POST, path, token, Some(body.to_string()))
}

fn put_draft(server: &Server, site: &str, name: &str, token: &str, ruleset: &Value) -> (u16, Value) {
    call(server, Method::PUT, &format!("/v1/studio/{site}/drafts/{name}"), token, Some(ruleset.to_string()))
}

/// A Studio token of `site` with `role`, made with the admin token, for `who`.
fn studio(server: &Server, site: &str, role: &str, who: Option<&str>) -> String {
    let mut body = json!({ "role": role, "ttl": "10m" });
    if let Some(who) = who {
        body["who"] = json!(who);
    }
    let (status, made) = post(server, &format!("/v1/admin/studio-links/{site}"), TOKEN, &body);
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["who"].as_str(), who);
    made["token"].as_str().unwrap().to_string()
}

fn publish_admin(server: &Server, ruleset: &Value) -> Value {
    let (status, envelope) = post(server, "/v1/admin/rulesets/default", TOKEN, ruleset);
    assert_eq!(status, 201, "{envelope}");
    envelope
}

fn refused(answer: (u16, Value), status: u16, code: &str) -> Value {
    assert_eq!((answer.0, answer.1["error"].as_str()), (status, Some(code)), "{}", answer.1);
    answer.1
}

/// The current ruleset as a shopper's page fetches it.
fn current(server: &Server) -> Value {
    let r = client().get(server.url("/v1/rulesets/default")).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.json().unwrap()
}

/// A live stream (`GET /v1/rulesets/{site}/stream`) over HTTP/1.0, read with deadlines.
struct Stream {
    tcp: TcpStream,
    seen: String,
}

impl Stream {
    fn open(server: &Server) -> Stream {
        let addr = server.base.trim_start_matches("http://");
        let mut tcp = TcpStream::connect(addr).unwrap();
        let head =
            format!("GET /v1/rulesets/default/stream HTTP/1.0\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
        tcp.write_all(head.as_bytes()).unwrap();
        Stream { tcp, seen: String::new() }
    }

    /// The envelope of `version` as it arrives on the stream, within `wait`.
    fn envelope(&mut self, version: u64, wait: Duration) -> Option<Value> {
        let deadline = Instant::now() + wait;
        loop {
            for line in self.seen.lines().filter_map(|l| l.strip_prefix("data: ")) {
                if let Ok(v) = serde_json::from_str::<Value>(line) {
                    if v["version"] == version {
                        return Some(v);
                    }
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.tcp.set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 65536];
            match self.tcp.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.seen.push_str(&String::from_utf8_lossy(&chunk[..n])),
            }
        }
    }
}

#[test]
fn drafts_keep_the_validators_errors_at_their_paths_and_publish_only_when_valid() {
    for b in backends() {
        let server = b.serve(&[]);
        publish_admin(&server, &first());
        let view = studio(&server, "default", "view", None);
        let edit = studio(&server, "default", "edit", Some("Ed"));
        let publish = studio(&server, "default", "publish", Some("Pia"));

        // A draft with errors is saved, flagged, each error at its path.
        let mut broken = second();
        broken["experiments"][0]["weightz"] = json!([1]);
        broken["offers"][0]["placements"] = json!("hero");
        let (status, saved) = put_draft(&server, "default", "summer", &edit, &broken);
        assert_eq!(status, 201, "{}: {saved}", b.name);
        assert_eq!((saved["valid"].as_bool(), saved["savedBy"].as_str()), (Some(false), Some("Ed")), "{saved}");
        let paths: Vec<&str> =
            saved["errors"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
        assert!(paths.contains(&"experiments[0].weightz"), "{saved}");
        assert!(paths.contains(&"offers[0].placements"), "{saved}");
        let unknown = saved["errors"].as_array().unwrap().iter().find(|e| e["path"] == "experiments[0].weightz");
        assert!(unknown.unwrap()["message"].as_str().unwrap().starts_with("unknown field"), "{saved}");

        // Read with view; the ruleset is there as saved, the errors beside it.
        let (status, read) = get(&server, "/v1/studio/default/drafts/summer", &view);
        assert_eq!(status, 200, "{read}");
        assert_eq!(read["ruleset"], broken);
        assert_eq!(read["errors"], saved["errors"]);

        // Not published while it has errors, and nothing changes for shoppers.
        let e = refused(
            post(&server, "/v1/studio/default/drafts/summer/publish", &publish, &json!({})),
            422,
            "draft_invalid",
        );
        assert_eq!(e["errors"], saved["errors"]);
        assert_eq!(current(&server)["version"], 1);

        // Fixed and saved again: 200 (replaced), valid.
        let (status, saved) = put_draft(&server, "default", "summer", &edit, &second());
        assert_eq!((status, saved["valid"].as_bool()), (200, Some(true)), "{saved}");
        assert_eq!(saved["errors"], json!([]));

        // Roles: view cannot write, view and edit cannot publish.
        let e = refused(put_draft(&server, "default", "other", &view, &second()), 403, "studio_token_role");
        assert_eq!(e["message"], "the Studio token's role 'view' does not allow this: it needs 'edit' or above");
        for token in [&view, &edit] {
            let e = refused(
                post(&server, "/v1/studio/default/drafts/summer/publish", token, &json!({})),
                403,
                "studio_token_role",
            );
            assert!(e["message"].as_str().unwrap().ends_with("it needs 'publish' or above"), "{e}");
        }
        assert_eq!(current(&server)["version"], 1);

        // Published with the publish token: signed by the server, the next version.
        let (status, envelope) = post(&server, "/v1/studio/default/drafts/summer/publish", &publish, &json!({}));
        assert_eq!(status, 201, "{envelope}");
        assert_eq!((envelope["version"].as_u64(), &envelope["ruleset"]), (Some(2), &second()));
        let fetched = current(&server);
        assert_eq!(fetched, envelope);
        let keys: Value = client().get(server.url("/v1/keys")).send().unwrap().json().unwrap();
        let key = tailor_server::signing::parse_public_key(keys["keys"][0]["publicKey"].as_str().unwrap()).unwrap();
        let parsed = tailor::engine::wire::RulesetEnvelope::parse(&fetched.to_string()).unwrap();
        tailor_server::signing::verify(&parsed, &key, Some(now_ms())).unwrap();

        // A draft comes back with its keys in the order they were saved in.
        let ordered = r#"{"version": 1, "placements": {}, "id": "z-first", "description": "a"}"#;
        assert_eq!(call(&server, Method::PUT, "/v1/studio/default/drafts/ordered", &edit, Some(ordered.into())).0, 201);
        let text = client().get(server.url("/v1/studio/default/drafts/ordered")).bearer_auth(&view).send().unwrap();
        let text = text.text().unwrap();
        assert!(text.contains(r#""ruleset":{"version":1,"placements":{},"id":"z-first","description":"a"}"#), "{text}");
        assert_eq!(call(&server, Method::DELETE, "/v1/studio/default/drafts/ordered", &edit, None).0, 204);

        // The list; deleting (edit), then it is gone.
        put_draft(&server, "default", "autumn", &edit, &first());
        let (status, list) = get(&server, "/v1/studio/default/drafts", &view);
        assert_eq!(status, 200);
        let names: Vec<&str> = list["drafts"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["autumn", "summer"]);
        assert!(list["drafts"][0].get("ruleset").is_none(), "{list}");
        refused(
            call(&server, Method::DELETE, "/v1/studio/default/drafts/autumn", &view, None),
            403,
            "studio_token_role",
        );
        assert_eq!(call(&server, Method::DELETE, "/v1/studio/default/drafts/autumn", &edit, None).0, 204);
        refused(call(&server, Method::DELETE, "/v1/studio/default/drafts/autumn", &edit, None), 404, "no_draft");
        refused(get(&server, "/v1/studio/default/drafts/autumn", &view), 404, "no_draft");

        // Bad input says what and where; nothing saved before is lost.
        let r = call(&server, Method::PUT, "/v1/studio/default/drafts/summer", &edit, Some("{\"version\": 1,".into()));
        assert!(refused(r, 400, "malformed_json")["message"].as_str().unwrap().starts_with("the draft is not JSON"));
        assert_eq!(get(&server, "/v1/studio/default/drafts/summer", &view).1["ruleset"], second());
        refused(put_draft(&server, "default", "no%20spaces", &edit, &first()), 400, "invalid_draft_name");
        refused(get(&server, "/v1/studio/bad%20site/drafts", TOKEN), 400, "invalid_site");

        // Site scoping: a token of another site is refused here; no token at all too.
        let shop = studio(&server, "shop", "publish", None);
        let e = refused(get(&server, "/v1/studio/default/drafts", &shop), 403, "studio_token_wrong_site");
        assert_eq!(e["message"], "the Studio token is for site 'shop', not 'default'");
        refused(put_draft(&server, "default", "x", &shop, &first()), 403, "studio_token_wrong_site");
        assert_eq!(get(&server, "/v1/studio/shop/drafts", &shop).1["drafts"], json!([]));
        refused(get(&server, "/v1/studio/default/drafts", "not-the-admin-token"), 401, "unauthorized");
        // The admin token may do everything.
        assert_eq!(put_draft(&server, "default", "admins", TOKEN, &first()).1["savedBy"], "admin");

        // The deletion is in the audit log, after the saves.
        let log = get(&server, "/v1/studio/default/audit", &view).1;
        let deleted: Vec<&Value> =
            log["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "draft_deleted").collect();
        let deleted: Vec<(&str, &str)> =
            deleted.iter().map(|e| (e["who"].as_str().unwrap(), e["target"].as_str().unwrap())).collect();
        assert_eq!(deleted, [("Ed", "ordered"), ("Ed", "autumn")], "{log}");

        // At most 100 drafts a site; replacing one is still allowed at the limit.
        for i in 0..98 {
            assert_eq!(put_draft(&server, "default", &format!("d{i}"), &edit, &first()).0, 201);
        }
        let e = refused(put_draft(&server, "default", "one-more", &edit, &first()), 409, "too_many_drafts");
        assert!(e["message"].as_str().unwrap().contains("delete one first"), "{e}");
        assert_eq!(put_draft(&server, "default", "summer", &edit, &second()).0, 200);
    }
}

#[test]
fn history_diff_and_rollback_reach_a_new_fetch_and_an_open_stream() {
    for b in backends() {
        let server = b.serve(&[]);
        publish_admin(&server, &first());
        let edit = studio(&server, "default", "edit", Some("Ed"));
        let publish = studio(&server, "default", "publish", Some("Pia"));
        put_draft(&server, "default", "summer", &edit, &second());
        assert_eq!(post(&server, "/v1/studio/default/drafts/summer/publish", &publish, &json!({})).0, 201);

        // The history: newest first, who and why.
        let (status, history) = get(&server, "/v1/studio/default/versions", &edit);
        assert_eq!(status, 200, "{history}");
        let brief: Vec<(u64, &str, &str, &str, bool)> = history["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                let s = |k: &str| v[k].as_str().unwrap();
                (v["version"].as_u64().unwrap(), s("who"), s("role"), s("summary"), v["current"].as_bool().unwrap())
            })
            .collect();
        assert_eq!(
            brief,
            [
                (
                    2,
                    "Pia",
                    "publish",
                    "published draft 'summer': experiment hero changed, offer sale added, id changed",
                    true
                ),
                (1, "admin", "admin", "published with the admin API", false)
            ],
            "{}",
            b.name
        );
        let (status, one) = get(&server, "/v1/studio/default/versions/1", &edit);
        assert_eq!((status, &one["ruleset"]), (200, &first()), "{one}");

        // The diff names what changed, at its path.
        let (status, diff) = get(&server, "/v1/studio/default/versions/2/diff?against=1", &edit);
        assert_eq!((status, diff["from"].as_u64(), diff["to"].as_u64()), (200, Some(1), Some(2)), "{diff}");
        let changes = diff["changes"].as_array().unwrap();
        let find = |kind: &str, change: &str| {
            changes.iter().find(|c| c["kind"] == kind && c["change"] == change).unwrap_or_else(|| panic!("{diff}"))
        };
        let experiment = find("experiment", "changed");
        assert_eq!((experiment["key"].as_str(), experiment["path"].as_str()), (Some("hero"), Some("experiments[0]")));
        assert_eq!(
            experiment["fields"],
            json!([{"path": "experiments[0].weights[0]", "from": 0.5, "to": 0.2},
                   {"path": "experiments[0].weights[1]", "from": 0.5, "to": 0.8}])
        );
        assert_eq!(find("offer", "added")["to"], second()["offers"][0]);
        assert_eq!(find("field", "changed")["path"], "id");
        assert_eq!(changes.len(), 3, "{diff}");
        let back = get(&server, "/v1/studio/default/versions/1/diff?against=2", &edit).1;
        assert_eq!(back["changes"].as_array().unwrap().iter().filter(|c| c["change"] == "removed").count(), 1);
        refused(get(&server, "/v1/studio/default/versions/2/diff", &edit), 400, "invalid_version");
        refused(get(&server, "/v1/studio/default/versions/9/diff?against=1", &edit), 404, "no_version");
        refused(get(&server, "/v1/studio/default/versions/two", &edit), 400, "invalid_version");
        refused(get(&server, "/v1/studio/default/versions/99", &edit), 404, "no_version");

        // Rollback: publish role only; then a new fetch and an open tab get version 1's content.
        let mut stream = Stream::open(&server);
        assert!(stream.envelope(2, Duration::from_secs(5)).is_some(), "the stream opens with version 2");
        refused(post(&server, "/v1/studio/default/versions/1/rollback", &edit, &json!({})), 403, "studio_token_role");
        let (status, rolled) = post(&server, "/v1/studio/default/versions/1/rollback", &publish, &json!({}));
        assert_eq!(status, 201, "{rolled}");
        assert_eq!((rolled["version"].as_u64(), &rolled["ruleset"]), (Some(3), &first()));
        let fetched = current(&server);
        assert_eq!((fetched["version"].as_u64(), &fetched["ruleset"]), (Some(3), &first()));
        let live = stream.envelope(3, Duration::from_secs(3)).expect("the rollback reaches the open stream");
        assert_eq!(live["ruleset"], first());
        let top = &get(&server, "/v1/studio/default/versions", &edit).1["versions"][0];
        assert_eq!(
            (top["version"].as_u64(), top["summary"].as_str()),
            (Some(3), Some("rollback to version 1: experiment hero changed, offer sale removed, id changed"))
        );
        refused(post(&server, "/v1/studio/default/versions/7/rollback", &publish, &json!({})), 404, "no_version");

        // The audit log, in order: who did what.
        let (status, log) = get(&server, "/v1/studio/default/audit", &edit);
        assert_eq!(status, 200, "{log}");
        let entries = log["entries"].as_array().unwrap();
        let lines: Vec<String> = entries
            .iter()
            .map(|e| {
                format!(
                    "{} {} {} {}",
                    e["who"].as_str().unwrap(),
                    e["action"].as_str().unwrap(),
                    e["target"].as_str().unwrap(),
                    e["detail"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(lines[0], "admin published  version 1");
        assert!(lines[1].starts_with("admin link_made Ed role edit, until "), "{lines:?}");
        assert!(lines[2].starts_with("admin link_made Pia role publish, until "), "{lines:?}");
        assert_eq!(
            lines[3..],
            ["Ed draft_saved summer valid", "Pia published summer version 2", "Pia rolled_back version 1 version 3"]
        );
        let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (1..=6).collect::<Vec<_>>());
        assert!(entries.windows(2).all(|w| w[0]["at"].as_i64() <= w[1]["at"].as_i64()));
        let page = get(&server, "/v1/studio/default/audit?after=4&limit=1", &edit).1;
        assert_eq!(page["entries"].as_array().unwrap().len(), 1);
        assert_eq!(page["entries"][0]["seq"], 5);
        refused(get(&server, "/v1/studio/default/audit?limit=5000", &edit), 400, "invalid_query");
        let view = studio(&server, "default", "view", None);
        assert_eq!(get(&server, "/v1/studio/default/audit", &view).0, 200);
        let shop = studio(&server, "shop", "view", None);
        refused(get(&server, "/v1/studio/default/audit", &shop), 403, "studio_token_wrong_site");
        refused(get(&server, "/v1/studio/default/versions", &shop), 403, "studio_token_wrong_site");
    }
}

/// `token` with one character of its claims or signature changed.
fn flip(token: &str, at: usize) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

fn fetch_preview(server: &Server, site: &str, token: &str) -> (u16, Value) {
    let r = client().get(server.url(&format!("/v1/studio/{site}/preview"))).query(&[("token", token)]).send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

#[test]
fn preview_links_serve_the_draft_signed_as_a_preview_until_they_expire() {
    for b in backends() {
        let server = b.serve(&[]);
        let published = publish_admin(&server, &first());
        let view = studio(&server, "default", "view", None);
        let edit = studio(&server, "default", "edit", Some("Ed"));
        put_draft(&server, "default", "summer", &edit, &second());

        refused(
            post(&server, "/v1/studio/default/previews", &view, &json!({"draft": "summer"})),
            403,
            "studio_token_role",
        );
        let (status, made) =
            post(&server, "/v1/studio/default/previews", &edit, &json!({"draft": "summer", "path": "/products?x=1"}));
        assert_eq!(status, 201, "{made}");
        let token = made["token"].as_str().unwrap().to_string();
        assert!(token.starts_with("tp1."), "{made}");
        assert_eq!(made["link"], format!("/products?x=1&tailor_preview={token}"));
        let left = made["expiresAt"].as_i64().unwrap() - now_ms();
        assert!((1_790_000..=1_800_000).contains(&left), "30 minutes by default: {left}");

        // The draft, signed by the server as version 0, expiring with the link, marked.
        let (status, envelope) = fetch_preview(&server, "default", &token);
        assert_eq!(status, 200, "{envelope}");
        assert_eq!((envelope["version"].as_u64(), &envelope["ruleset"]), (Some(0), &second()));
        assert_eq!(envelope["expiresAt"], made["expiresAt"]);
        assert_eq!(envelope["preview"], json!({"draft": "summer", "expiresAt": made["expiresAt"]}));
        let keys: Value = client().get(server.url("/v1/keys")).send().unwrap().json().unwrap();
        let key = tailor_server::signing::parse_public_key(keys["keys"][0]["publicKey"].as_str().unwrap()).unwrap();
        let parsed = tailor::engine::wire::RulesetEnvelope::parse(&envelope.to_string()).unwrap();
        tailor_server::signing::verify(&parsed, &key, Some(now_ms())).unwrap();
        // Shoppers still get the published version.
        assert_eq!(current(&server), published);

        // A later save shows in the same link.
        let mut later = second();
        later["id"] = json!("summer-2");
        put_draft(&server, "default", "summer", &edit, &later);
        assert_eq!(fetch_preview(&server, "default", &token).1["ruleset"]["id"], "summer-2");

        // Tampered, for another site, missing, expired: refused, each with its code.
        let dot = token.rfind('.').unwrap();
        for forged in [flip(&token, 6), flip(&token, dot + 3)] {
            refused(fetch_preview(&server, "default", &forged), 401, "preview_token_tampered");
        }
        refused(fetch_preview(&server, "default", "tp1.nothing"), 401, "preview_token_malformed");
        let r = client().get(server.url("/v1/studio/default/preview")).send().unwrap();
        assert_eq!(r.status().as_u16(), 401);
        let shop = studio(&server, "shop", "edit", None);
        put_draft(&server, "shop", "summer", &shop, &second());
        let other = post(&server, "/v1/studio/shop/previews", &shop, &json!({"draft": "summer"})).1;
        let e = refused(
            fetch_preview(&server, "default", other["token"].as_str().unwrap()),
            403,
            "preview_token_wrong_site",
        );
        assert_eq!(e["message"], "the preview token is for site 'shop', not 'default'");
        let short = post(&server, "/v1/studio/default/previews", &edit, &json!({"draft": "summer", "ttl": "1s"})).1;
        let short = short["token"].as_str().unwrap().to_string();
        assert_eq!(fetch_preview(&server, "default", &short).0, 200);
        std::thread::sleep(Duration::from_millis(1100));
        let e = refused(fetch_preview(&server, "default", &short), 401, "preview_token_expired");
        assert!(e["message"].as_str().unwrap().contains("expired at"), "{e}");
        // A Studio token is not a preview token, nor the other way round.
        refused(fetch_preview(&server, "default", &edit), 401, "preview_token_malformed");
        refused(get(&server, "/v1/studio/default/drafts", &token), 401, "unauthorized");

        // A draft with errors, or none: no preview link; bad requests say what is wrong.
        put_draft(&server, "default", "broken", &edit, &json!({"version": 1, "offerz": []}));
        let e = refused(
            post(&server, "/v1/studio/default/previews", &edit, &json!({"draft": "broken"})),
            422,
            "draft_invalid",
        );
        assert_eq!(e["errors"][0]["path"], "offerz");
        refused(post(&server, "/v1/studio/default/previews", &edit, &json!({"draft": "gone"})), 404, "no_draft");
        for (body, says) in [
            (json!({}), "draft: name the draft"),
            (json!({"draft": "summer", "ttl": "3d"}), "from 1s to 24h"),
            (json!({"draft": "summer", "path": "https://elsewhere.example/"}), "expected a path"),
            (json!({"draft": "summer", "drafts": 1}), "unknown field 'drafts'"),
        ] {
            let e = refused(post(&server, "/v1/studio/default/previews", &edit, &body), 400, "invalid_preview_request");
            assert!(e["message"].as_str().unwrap().contains(says), "{body}: {e}");
        }
        // The previews made are in the audit log.
        let log = get(&server, "/v1/studio/default/audit", &view).1;
        let made: Vec<&Value> =
            log["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "preview_made").collect();
        assert_eq!(made.len(), 2, "{log}");
        assert_eq!((made[0]["who"].as_str(), made[0]["target"].as_str()), (Some("Ed"), Some("summer")));
    }
}

#[test]
fn a_cli_link_carries_who_into_the_audit_log() {
    let b = sqlite();
    let server = b.serve(&[]);
    let key = b.key().to_str().unwrap().to_string();
    let run = |extra: &[&str]| {
        let mut args = vec!["studio", "link", "--key", &key, "--site", "default"];
        args.extend_from_slice(extra);
        std::process::Command::new(env!("CARGO_BIN_EXE_tailor")).args(&args).output().unwrap()
    };
    let out = run(&["--role", "edit", "--who", "Ana Lima"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().lines().nth(1).unwrap().to_string();
    assert_eq!(put_draft(&server, "default", "d", &token, &first()).1["savedBy"], "Ana Lima");
    // A link it makes is for the same person unless it names another.
    let (_, made) = post(&server, "/v1/admin/studio-links/default", &token, &json!({}));
    assert_eq!(made["who"], "Ana Lima");
    let log = get(&server, "/v1/studio/default/audit", TOKEN).1;
    assert_eq!(log["entries"][0]["who"], "Ana Lima");
    assert_eq!(log["entries"][0]["role"], "edit");
    // A token without a name still works: the log calls it a Studio link.
    let out = run(&["--role", "edit"]);
    let plain = String::from_utf8(out.stdout).unwrap().lines().nth(1).unwrap().to_string();
    assert_eq!(put_draft(&server, "default", "d", &plain, &first()).1["savedBy"], "studio link");
    let out = run(&["--who", "a\tb"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--who: who"), "{}", String::from_utf8_lossy(&out.stderr));
    let e = refused(
        post(&server, "/v1/admin/studio-links/default", TOKEN, &json!({"who": ""})),
        400,
        "invalid_link_request",
    );
    assert!(e["message"].as_str().unwrap().contains("1-64 characters"), "{e}");
}

/// The keys of an object, and of the first item of each array in it, as `a`, `b[].c`.
fn shape(v: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Some(m) = v.as_object() {
        for (k, child) in m {
            let p = format!("{prefix}{k}");
            out.push(p.clone());
            match child {
                Value::Array(items) if !items.is_empty() => shape(&items[0], &format!("{p}[]."), out),
                // A ruleset or a diff's values are whatever the ruleset holds.
                Value::Object(_) if !["ruleset", "from", "to"].contains(&k.as_str()) => {
                    shape(child, &format!("{p}."), out)
                }
                _ => {}
            }
        }
    }
    out.sort();
}

fn shape_of(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    shape(v, "", &mut out);
    out
}

#[test]
fn docs_api_md_shows_the_real_answers_of_the_studio_endpoints() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md")).unwrap();
    let studio_doc = &doc[doc.find("\n## Studio").expect("docs/api.md has a Studio section") + 1..];
    let studio_doc = &studio_doc[..studio_doc.find("\n## ").unwrap_or(studio_doc.len())];
    // Every ```json block under a `### METHOD PATH` heading of the section.
    let mut documented = Vec::new();
    for part in studio_doc.split("\n### ").skip(1) {
        let heading = part.lines().next().unwrap().to_string();
        let mut rest = part;
        while let Some(open) = rest.find("```json\n") {
            let body = &rest[open + 8..];
            let close = body.find("```").unwrap();
            let value: Value = serde_json::from_str(&body[..close]).unwrap_or_else(|e| panic!("{heading}: {e}"));
            documented.push((heading.clone(), value));
            rest = &body[close..];
        }
    }

    let b = sqlite();
    let server = b.serve(&[]);
    publish_admin(&server, &first());
    let edit = studio(&server, "default", "edit", Some("Ed"));
    let publish = studio(&server, "default", "publish", Some("Pia"));
    let mut broken = second();
    broken["offers"][0]["placements"] = json!("hero");
    let mut real: Vec<(&str, Value)> = vec![
        ("PUT /v1/studio/{site}/drafts/{name}", put_draft(&server, "default", "summer", &edit, &broken).1),
        ("PUT /v1/studio/{site}/drafts/{name}", put_draft(&server, "default", "summer", &edit, &second()).1),
        ("GET /v1/studio/{site}/drafts", get(&server, "/v1/studio/default/drafts", &edit).1),
        ("GET /v1/studio/{site}/drafts/{name}", get(&server, "/v1/studio/default/drafts/summer", &edit).1),
    ];
    put_draft(&server, "default", "broken", &edit, &broken);
    real.push((
        "POST /v1/studio/{site}/drafts/{name}/publish",
        post(&server, "/v1/studio/default/drafts/broken/publish", &publish, &json!({})).1,
    ));
    real.push((
        "POST /v1/studio/{site}/drafts/{name}/publish",
        post(&server, "/v1/studio/default/drafts/summer/publish", &publish, &json!({})).1,
    ));
    real.push(("GET /v1/studio/{site}/versions", get(&server, "/v1/studio/default/versions", &edit).1));
    real.push(("GET /v1/studio/{site}/versions/{v}", get(&server, "/v1/studio/default/versions/1", &edit).1));
    real.push((
        "GET /v1/studio/{site}/versions/{v}/diff?against=W",
        get(&server, "/v1/studio/default/versions/2/diff?against=1", &edit).1,
    ));
    real.push((
        "POST /v1/studio/{site}/versions/{v}/rollback",
        post(&server, "/v1/studio/default/versions/1/rollback", &publish, &json!({})).1,
    ));
    real.push(("GET /v1/studio/{site}/audit", get(&server, "/v1/studio/default/audit", &edit).1));
    let made = post(&server, "/v1/studio/default/previews", &edit, &json!({"draft": "summer"})).1;
    let preview = fetch_preview(&server, "default", made["token"].as_str().unwrap()).1;
    real.push(("POST /v1/studio/{site}/previews", made));
    real.push(("GET /v1/studio/{site}/preview?token=TOKEN", preview));

    // Each real answer has a documented example with its shape, in the order shown.
    assert_eq!(
        documented.len(),
        real.len(),
        "one example per answer: {:?}",
        documented.iter().map(|d| &d.0).collect::<Vec<_>>()
    );
    for ((heading, example), (endpoint, answer)) in documented.iter().zip(&real) {
        assert!(heading.starts_with(endpoint), "'{heading}' documents {endpoint}");
        assert_eq!(
            shape_of(example),
            shape_of(answer),
            "{heading}: the documented answer has the real answer's fields\n{answer}"
        );
    }
    for code in [
        "invalid_draft_name",
        "no_draft",
        "too_many_drafts",
        "draft_invalid",
        "no_version",
        "invalid_version",
        "invalid_query",
        "invalid_preview_request",
        "preview_token_malformed",
        "preview_token_tampered",
        "preview_token_expired",
        "preview_token_wrong_site",
    ] {
        // As `code` or `STATUS code`.
        let named = studio_doc.contains(&format!("`{code}`")) || studio_doc.contains(&format!(" {code}`"));
        assert!(named, "docs/api.md names {code}");
    }
}

#[test]
fn a_storefront_page_may_save_drafts_across_origins() {
    let b = sqlite();
    let server = b.serve(&["--cors-origin", "https://shop.example"]);
    let r = client()
        .request(Method::OPTIONS, server.url("/v1/studio/default/drafts/summer"))
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "PUT")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let methods = r.headers()["access-control-allow-methods"].to_str().unwrap().to_string();
    assert!(methods.split(", ").any(|m| m == "PUT"), "{methods}");
    let edit = studio(&server, "default", "edit", None);
    let r = client()
        .put(server.url("/v1/studio/default/drafts/summer"))
        .header("Origin", "https://shop.example")
        .bearer_auth(&edit)
        .body(first().to_string())
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert_eq!(r.headers()["access-control-allow-origin"], "https://shop.example");
}
