//! Publishing page changes: the HTML is sanitised before signing, the answer names the
//! values sanitising changed, the served envelope holds the sanitised HTML under a valid
//! signature; `tailor ruleset validate` lists the same paths; `--ruleset` sanitises too.

mod support;

use std::process::Command;

use support::*;
use tailor::engine::json::Value;
use tailor::engine::wire::RulesetEnvelope;
use tailor_server::signing;

const HOSTILE: &str = r##"{
  "version": 1,
  "placements": {},
  "experiments": [{
    "key": "home-headline",
    "urlPatterns": [{ "type": "exact", "pattern": "/" }],
    "variations": [
      { "key": "control" },
      { "key": "urgent", "changes": [
        { "selector": "#hero h1", "action": "text", "value": "<b>kept as text</b>" },
        { "selector": "#hero .lead", "action": "html", "value": "<strong onclick=\"steal()\">-20%</strong><script>alert(1)</script>" },
        { "selector": "#hero", "action": "append", "value": "<p>fine</p>" }
      ] }
    ]
  }]
}"##;

const PATH: &str = "experiments[0].variations[1].changes[1].value";

fn value_at(ruleset: &Value, change: usize) -> String {
    ruleset.get("experiments").and_then(Value::as_array).unwrap()[0]
        .get("variations")
        .and_then(Value::as_array)
        .unwrap()[1]
        .get("changes")
        .and_then(Value::as_array)
        .unwrap()[change]
        .get("value")
        .and_then(Value::as_str)
        .unwrap()
        .to_string()
}

#[test]
fn publish_signs_the_sanitised_html_and_names_what_changed() {
    let b = sqlite();
    let server = b.serve(&[]);
    let url = server.url("/v1/admin/rulesets/shop");
    let answer = client().post(&url).bearer_auth(TOKEN).body(HOSTILE).send().unwrap();
    assert_eq!(answer.status().as_u16(), 201);
    let body: serde_json::Value = answer.json().unwrap();
    assert_eq!(body["sanitised"], serde_json::json!([PATH]), "{body}");

    let served = client().get(server.url("/v1/rulesets/shop")).send().unwrap().text().unwrap();
    let envelope = RulesetEnvelope::parse(&served).unwrap();
    let keys: serde_json::Value = client().get(server.url("/v1/keys")).send().unwrap().json().unwrap();
    let key = signing::parse_public_key(keys["keys"][0]["publicKey"].as_str().unwrap()).unwrap();
    signing::verify(&envelope, &key, Some(now_ms())).unwrap();
    assert_eq!(value_at(&envelope.ruleset, 1), "<strong>-20%</strong>");
    assert_eq!(value_at(&envelope.ruleset, 0), "<b>kept as text</b>", "text is never HTML: left alone");
    assert_eq!(value_at(&envelope.ruleset, 2), "<p>fine</p>");

    // Nothing to sanitise: no "sanitised" in the answer.
    let clean = HOSTILE.replace(r#" onclick=\"steal()\""#, "").replace("<script>alert(1)</script>", "");
    let answer = client().post(&url).bearer_auth(TOKEN).body(clean).send().unwrap();
    assert_eq!(answer.status().as_u16(), 201);
    let body: serde_json::Value = answer.json().unwrap();
    assert!(body.get("sanitised").is_none(), "{body}");

    // A problem sanitising cannot fix is refused with its path.
    let bad = HOSTILE.replace(r#""pattern": "/" }"#, r#""pattern": "/" }], "x": [{}"#);
    assert_eq!(client().post(&url).bearer_auth(TOKEN).body(bad).send().unwrap().status().as_u16(), 422);
    let bad = HOSTILE.replace("\"text\", \"value\"", "\"attribute\", \"name\": \"onclick\", \"value\"");
    let answer = client().post(&url).bearer_auth(TOKEN).body(bad).send().unwrap();
    assert_eq!(answer.status().as_u16(), 422);
    let body: serde_json::Value = answer.json().unwrap();
    assert_eq!(
        body["errors"],
        serde_json::json!([
            "experiments[0].variations[1].changes[0].name: attribute \"onclick\" is an event handler: never settable"
        ])
    );
}

#[test]
fn serve_with_a_ruleset_file_signs_it_sanitised() {
    let b = sqlite();
    let file = write_ruleset(b.dir.path(), "ruleset.json", HOSTILE);
    let server = b.serve(&["--site", "shop", "--ruleset", file.to_str().unwrap()]);
    let served = client().get(server.url("/v1/rulesets/shop")).send().unwrap().text().unwrap();
    let envelope = RulesetEnvelope::parse(&served).unwrap();
    assert_eq!(value_at(&envelope.ruleset, 1), "<strong>-20%</strong>");
}

#[test]
fn validate_lists_what_publishing_would_sanitise() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_ruleset(dir.path(), "ruleset.json", HOSTILE);
    let out = Command::new(env!("CARGO_BIN_EXE_tailor"))
        .args(["ruleset", "validate", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.starts_with(&format!("sanitised: {PATH}: HTML would be sanitised when published\n")), "{stdout}");
    assert!(stdout.contains("valid ruleset"), "{stdout}");

    // And the problems sanitising leaves.
    let file = write_ruleset(
        dir.path(),
        "bad.json",
        &HOSTILE.replace(r#""action": "append", "value": "<p>fine</p>""#, r#""action": "hide", "value": "x""#),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_tailor"))
        .args(["ruleset", "validate", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stdout.contains("error: experiments[0].variations[1].changes[2].value: is not used by action hide"),
        "{stdout}"
    );
}
