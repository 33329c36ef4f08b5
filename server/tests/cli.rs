//! Runs `tailor eval`, `tailor hash`, `tailor decide` and `tailor ruleset validate` as
//! processes, as shell pipelines and test harnesses use them.

use std::io::Write;
use std::process::{Command, Stdio};

fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tailor"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tailor binary runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn root(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn eval_answers_each_line_in_order_and_survives_bad_lines() {
    let input = [
        r#"{"condition":{"age":{"$gt":"9"}},"attributes":{"age":10}}"#,
        r#"{"condition":{"age":{"$gt":"9"}},"attributes":{"age":"10"}}"#,
        "not json",
        r#"{"condition":{"ua":{"$regexi":"^mozilla.*mobile"}},"attributes":{"ua":"Mozilla/5.0 Mobile"}}"#,
        r#"{"condition":{"id":{"$inGroup":"vips"}},"attributes":{"id":"u2"},"savedGroups":{"vips":["u1","u2"]}}"#,
        r#"{"attributes":{}}"#,
        r#"{"condition":{"x":{"$unknown":1}},"attributes":{"x":1}}"#,
    ]
    .join("\n");
    let (code, out, _) = run(&["eval"], &input);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 7, "{out}");
    assert_eq!(&lines[..2], ["true", "false"]);
    assert!(lines[2].starts_with("error: invalid JSON at byte 0"), "{}", lines[2]);
    assert_eq!(&lines[3..5], ["true", "true"]);
    assert_eq!(lines[5], "error: missing \"condition\"");
    assert_eq!(lines[6], "false");
}

#[test]
fn eval_agrees_with_the_condition_vectors() {
    let text = std::fs::read_to_string(root("tests/vectors/conditions.json")).unwrap();
    // The engine's own JSON keeps key order (serde_json would sort keys and change answers).
    let doc = tailor::engine::json::Value::parse(&text).unwrap();
    let cases = doc.as_array().unwrap();
    let input: Vec<String> = cases.iter().map(|c| c.to_json()).collect();
    let (code, out, _) = run(&["eval"], &input.join("\n"));
    assert_eq!(code, 0);
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got.len(), cases.len());
    for (c, g) in cases.iter().zip(got) {
        assert_eq!(g, c.get("expected").unwrap().to_json(), "{}", c.get("name").unwrap().to_json());
    }
}

#[test]
fn hash_prints_growthbook_numbers() {
    let input = r#"{"seed":"","value":"a","version":1}
{"seed":"holdout","value":"1","version":2}
{"seed":"a","value":"1","version":3}
oops"#;
    let (code, out, _) = run(&["hash"], input);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..3], ["0.22", "0.8043", "null"]);
    assert!(lines[3].starts_with("error: "));
}

#[test]
fn validate_accepts_the_demo_ruleset() {
    let (code, out, err) = run(&["ruleset", "validate", &root("www/ruleset.json")], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("valid ruleset \"demo-2026-11\": 4 placements, 7 offers, 6 experiments"), "{out}");
}

#[test]
fn validate_rejects_with_every_error_and_its_path() {
    let dir = std::env::temp_dir().join(format!("tailor-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.json");
    std::fs::write(
        &file,
        r#"{"version":1,"placements":{"hero":{}},"offers":[
          {"id":"a","placements":["hero"],"content":{"title":"A"},"cap":{"max":3,"per":"month"}},
          {"id":"b","placements":["footer"],"content":{"title":"B"}}]}"#,
    )
    .unwrap();
    let (code, out, err) = run(&["ruleset", "validate", file.to_str().unwrap()], "");
    assert_eq!(code, 1);
    assert!(out.contains(r#"error: offers[0].cap.per: expected one of "hour", "day", "week", "session""#), "{out}");
    assert!(out.contains(r#"error: offers[1].placements[0]: unknown placement "footer""#), "{out}");
    assert!(err.contains("2 errors"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn decide_prints_one_decision_per_line() {
    let input = r#"{"id":"u-42","profile":{"orders":{"count":0},"events":{"page_view":{"count":1}}},"context":{"pageType":"home"},"now":1796083200000,"force":"hero-copy:1","placements":["home-hero"]}
{"profile":{},"context":{},"now":"later"}"#;
    let (code, out, err) = run(&["decide", "--ruleset", &root("www/ruleset.json")], input);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    let hero = &lines[0]["placements"]["home-hero"]["offers"][0];
    assert_eq!(hero["offerId"], "welcome-10");
    assert_eq!(hero["content"]["title"], "Welcome! 10 EUR off your first order");
    assert!(hero["reason"].as_str().unwrap().contains("experiment \"hero-copy\" variation 1"));
    assert!(lines[0]["experiments"][0]["reason"].as_str().unwrap().contains("forced"));
    assert!(lines[1]["error"].as_str().unwrap().contains("now"));
}
