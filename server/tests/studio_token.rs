//! Studio tokens against a real server on 127.0.0.1 with a real SQLite file: made by
//! `tailor studio link` and by `POST /v1/admin/studio-links/{site}`, taken by the results API
//! and page; refused when tampered, expired, for another site or with a role too low, each
//! with its own JSON error.

mod support;

use std::process::Command;

use serde_json::{json, Value};
use support::*;

const RULESET: &str = r#"{"version": 1, "placements": {}, "experiments": [{"key": "hero", "seed": "hero-1",
  "weights": [0.5, 0.5], "variations": [{"key": "control"}, {"key": "bold"}]}]}"#;

/// Runs the CLI; returns the exit code, stdout and stderr.
fn tailor(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tailor")).args(args).output().expect("run tailor");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// `tailor studio link` with the server's key: the link and the token it prints.
fn cli_link(b: &Backend, server: &Server, extra: &[&str]) -> (String, String) {
    let key = b.key();
    let mut args = vec!["studio", "link", "--key", key.to_str().unwrap(), "--base", &server.base];
    args.extend_from_slice(extra);
    let (code, out, err) = tailor(&args);
    assert_eq!(code, 0, "tailor studio link {extra:?}: {err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "a link and a token: {out}");
    (lines[0].to_string(), lines[1].to_string())
}

/// GET with a bearer token: the status and the JSON answer.
fn get(server: &Server, path: &str, token: &str) -> (u16, Value) {
    let r = client().get(server.url(path)).bearer_auth(token).send().unwrap();
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().unwrap()).unwrap_or(Value::Null))
}

/// POST a link request: the status and the JSON answer.
fn make_link(server: &Server, site: &str, token: &str, body: &Value) -> (u16, Value) {
    let r = client()
        .post(server.url(&format!("/v1/admin/studio-links/{site}")))
        .bearer_auth(token)
        .body(body.to_string())
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap())
}

fn seeded(b: &Backend) -> Server {
    let server = b.serve(&[]);
    let r = client().post(server.url("/v1/admin/rulesets/default")).bearer_auth(TOKEN).body(RULESET).send().unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let now = now_ms();
    let mut events = Vec::new();
    for i in 0..20u32 {
        events.push(exposure(&format!("s-{i}"), now - 10_000, "hero", i % 2));
        if i % 3 == 0 {
            events.push(purchase(&format!("s-{i}"), now - 5_000));
        }
    }
    assert_eq!(post_batch(&server, &json!({ "events": events })).0, 200);
    server
}

/// The token with one character of its claims or signature changed.
fn flip(token: &str, at: usize) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[test]
fn a_cli_link_opens_the_results_of_its_site_and_nothing_else() {
    let b = sqlite();
    let server = seeded(&b);
    let (link, token) = cli_link(&b, &server, &["--site", "default"]);
    assert_eq!(link, format!("{}/admin/results?site=default&tailor_studio={token}", server.base));
    assert!(token.starts_with("ts1."), "{token}");

    // The results API answers the view token as it answers the admin token.
    let (status, answer) = get(&server, "/v1/admin/results/default", &token);
    assert_eq!(status, 200, "{answer}");
    let (_, admin) = get(&server, "/v1/admin/results/default", TOKEN);
    assert_eq!(answer["experiments"], admin["experiments"]);
    assert_eq!(answer["experiments"][0]["variations"][1]["key"], "bold");
    // The page opened from the link.
    let page = client().get(&link).send().unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().unwrap().contains("<title>"));

    // Tampered: claims or signature changed, or signed by another server's key.
    let dot = token.rfind('.').unwrap();
    for forged in [flip(&token, 6), flip(&token, dot + 3)] {
        let (status, e) = get(&server, "/v1/admin/results/default", &forged);
        assert_eq!((status, e["error"].as_str()), (401, Some("studio_token_tampered")), "{forged}: {e}");
        assert!(e["message"].as_str().unwrap().contains("tampered"), "{e}");
        let page =
            client().get(format!("{}/admin/results?site=default&tailor_studio={forged}", server.base)).send().unwrap();
        assert_eq!(page.status().as_u16(), 401);
        assert_eq!(page.json::<Value>().unwrap()["error"], "studio_token_tampered");
    }
    let elsewhere = sqlite();
    let other_server = elsewhere.serve(&[]);
    let (_, foreign) = cli_link(&elsewhere, &other_server, &["--site", "default"]);
    let (status, e) = get(&server, "/v1/admin/results/default", &foreign);
    assert_eq!((status, e["error"].as_str()), (401, Some("studio_token_tampered")), "{e}");
    let (status, e) = get(&server, "/v1/admin/results/default", "ts1.not-a-token");
    assert_eq!((status, e["error"].as_str()), (401, Some("studio_token_malformed")), "{e}");

    // Another site: refused on this one, with both names.
    let (_, shop) = cli_link(&b, &server, &["--site", "shop"]);
    let (status, e) = get(&server, "/v1/admin/results/default", &shop);
    assert_eq!((status, e["error"].as_str()), (403, Some("studio_token_wrong_site")), "{e}");
    assert_eq!(e["message"], "the Studio token is for site 'shop', not 'default'");
    assert_eq!(get(&server, "/v1/admin/results/shop", &shop).0, 200);
    let page = client().get(format!("{}/admin/results?site=default&tailor_studio={shop}", server.base)).send().unwrap();
    assert_eq!(page.status().as_u16(), 403);

    // Expired: a one-second link, a moment later.
    let (_, short) = cli_link(&b, &server, &["--site", "default", "--ttl", "1s"]);
    assert_eq!(get(&server, "/v1/admin/results/default", &short).0, 200);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (status, e) = get(&server, "/v1/admin/results/default", &short);
    assert_eq!((status, e["error"].as_str()), (401, Some("studio_token_expired")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("expired at"), "{e}");

    // Neither token: the admin API's own refusal.
    let (status, e) = get(&server, "/v1/admin/results/default", "wrong-admin-token-xyz");
    assert_eq!((status, e["error"].as_str()), (401, Some("unauthorized")));
}

#[test]
fn roles_are_ordered_and_a_token_makes_links_only_within_its_own() {
    let b = sqlite();
    let server = seeded(&b);
    // The admin makes a link of any role; its answer carries the link and the token.
    let (status, made) = make_link(&server, "default", TOKEN, &json!({ "role": "edit", "ttl": "10m" }));
    assert_eq!(status, 201, "{made}");
    let edit = made["token"].as_str().unwrap().to_string();
    assert_eq!(made["role"], "edit");
    assert_eq!(made["link"], format!("/admin/results?site=default&tailor_studio={edit}"));
    let left = made["expiresAt"].as_i64().unwrap() - now_ms();
    assert!((590_000..=600_000).contains(&left), "{left}");
    let (status, made) = make_link(&server, "default", TOKEN, &json!({}));
    assert_eq!((status, made["role"].as_str()), (201, Some("view")));
    let view = made["token"].as_str().unwrap().to_string();
    let (_, publish) = cli_link(&b, &server, &["--site", "default", "--role", "publish", "--ttl", "5m"]);

    // Every role reads results (view is the least).
    for token in [&view, &edit, &publish] {
        assert_eq!(get(&server, "/v1/admin/results/default", token).0, 200);
    }
    // Making links needs edit: view is refused, edit and publish may.
    let (status, e) = make_link(&server, "default", &view, &json!({}));
    assert_eq!((status, e["error"].as_str()), (403, Some("studio_token_role")), "{e}");
    assert_eq!(e["message"], "the Studio token's role 'view' does not allow this: it needs 'edit' or above");
    for (token, role, allowed) in [
        (&edit, "view", true),
        (&edit, "edit", true),
        (&edit, "publish", false),
        (&publish, "edit", true),
        (&publish, "publish", true),
    ] {
        let (status, made) = make_link(&server, "default", token, &json!({ "role": role, "ttl": "1h" }));
        if allowed {
            assert_eq!(status, 201, "{role}: {made}");
            // No longer than the token that made it.
            let own = if token == &edit { 600_000 } else { 300_000 };
            assert!(made["expiresAt"].as_i64().unwrap() <= now_ms() + own, "{made}");
            assert_eq!(get(&server, "/v1/admin/results/default", made["token"].as_str().unwrap()).0, 200);
        } else {
            assert_eq!((status, made["error"].as_str()), (403, Some("studio_token_role")), "{made}");
        }
    }
    // A token makes links for its own site only.
    let (status, e) = make_link(&server, "shop", &publish, &json!({}));
    assert_eq!((status, e["error"].as_str()), (403, Some("studio_token_wrong_site")), "{e}");

    // Bad requests say what is wrong.
    for (body, says) in [
        (json!({ "role": "owner" }), "role 'owner': expected view, edit or publish"),
        (json!({ "ttl": "3d" }), "a Studio link lives from 1s to 24h"),
        (json!({ "path": "https://elsewhere.example/" }), "expected a path on this server"),
        (json!({ "roles": "view" }), "unknown field 'roles'"),
        (json!([1]), "must be a JSON object"),
    ] {
        let (status, e) = make_link(&server, "default", TOKEN, &body);
        assert_eq!((status, e["error"].as_str()), (400, Some("invalid_link_request")), "{body}: {e}");
        assert!(e["message"].as_str().unwrap().contains(says), "{body}: {e}");
    }
    let (status, made) = make_link(&server, "default", TOKEN, &json!({ "path": "/" }));
    assert_eq!(status, 201);
    assert!(made["link"].as_str().unwrap().starts_with("/?tailor_studio=ts1."), "{made}");
}

#[test]
fn the_cli_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.key");
    let (code, _, err) = tailor(&["studio", "link", "--site", "demo", "--key", missing.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("no signing key at") && err.contains("none.key"), "{err}");
    for (args, says) in [
        (vec!["studio", "link", "--site", "demo", "--role", "admin"], "--role: role 'admin'"),
        (vec!["studio", "link", "--site", "demo", "--ttl", "forever"], "--ttl: ttl 'forever'"),
        (vec!["studio", "link"], "--site is required"),
        (vec!["studio", "link", "--site", "a b"], "--site 'a b'"),
        (vec!["studio", "link", "--site", "demo", "--base", "127.0.0.1:8080"], "--base '127.0.0.1:8080'"),
        (vec!["studio"], "usage: tailor studio link"),
    ] {
        let (code, _, err) = tailor(&args);
        assert_ne!(code, 0, "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn docs_api_md_shows_the_fields_and_errors_of_studio_links() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md")).unwrap();
    let section = &doc[doc.find("## POST /v1/admin/studio-links/{site}").expect("docs/api.md has the endpoint")..];
    let open = section.find("```json\n").unwrap() + "```json\n".len();
    let close = open + section[open..].find("```").unwrap();
    let documented: Value = serde_json::from_str(&section[open..close]).unwrap();
    let b = sqlite();
    let server = b.serve(&[]);
    let (status, real) = make_link(&server, "demo", TOKEN, &json!({}));
    assert_eq!(status, 201);
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&documented), keys(&real), "the documented answer has the real answer's fields");
    for code in [
        "studio_token_tampered",
        "studio_token_expired",
        "studio_token_malformed",
        "studio_token_wrong_site",
        "studio_token_role",
        "invalid_link_request",
    ] {
        assert!(doc.contains(&format!("`{code}`")), "docs/api.md names {code}");
    }
}
