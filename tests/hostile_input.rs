//! Hostile rulesets: `$regex` patterns that backtrack catastrophically, over-long regex
//! inputs, and offer or experiment URLs that are not http(s) or relative (docs/ruleset.md,
//! "Regular expressions" and "URLs"). Native; the browser side is in tests/web_hostile.rs.
#![cfg(not(target_arch = "wasm32"))]

use std::time::Instant;

use tailor::engine::condition::{eval_condition, Condition};
use tailor::engine::decision::DecideOptions;
use tailor::engine::json::Value;
use tailor::engine::offer::Skip;
use tailor::engine::regex::{NativeRegex, MAX_REGEX_INPUT};
use tailor::engine::ruleset::Ruleset;
use tailor::engine::url::url_problem;

fn json(text: &str) -> Value {
    Value::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"))
}

fn corpus() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/urls.json");
    json(&std::fs::read_to_string(path).unwrap())
}

fn errors(doc: &str) -> Vec<String> {
    match Ruleset::parse(doc, &NativeRegex) {
        Ok(_) => panic!("accepted: {doc}"),
        Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn url_corpus_hostile_refused_and_safe_accepted() {
    let c = corpus();
    assert!(c.get("source").and_then(Value::as_str).is_some_and(|s| s.contains("Tailor's own")));
    let list = |k: &str| c.get(k).and_then(Value::as_array).unwrap().clone();
    let hostile = list("hostile");
    assert!(hostile.len() >= 30, "{} hostile URLs", hostile.len());
    for h in &hostile {
        let url = h.get("url").and_then(Value::as_str).unwrap();
        assert!(url_problem(url).is_some(), "accepted hostile {url:?} ({})", h.get("why").unwrap().to_json());
    }
    for s in &list("safe") {
        let url = s.get("url").and_then(Value::as_str).unwrap();
        assert_eq!(url_problem(url), None, "refused safe {url:?}");
    }
    println!("url corpus: {} hostile refused, {} safe accepted", hostile.len(), list("safe").len());
}

/// Every hostile URL of the corpus, in every URL-like field of offers and experiments, is
/// refused at validation with its path.
#[test]
fn publish_refuses_every_hostile_url_in_every_url_field() {
    let c = corpus();
    for h in c.get("hostile").and_then(Value::as_array).unwrap() {
        let url = h.get("url").unwrap().to_json();
        let cases = [
            (format!(r#"{{"title":"T","url":{url}}}"#), "{}", "offers[0].content.url"),
            (format!(r#"{{"title":"T","image":{url}}}"#), "{}", "offers[0].content.image"),
            (format!(r#"{{"title":"T","heroImageUrl":{url}}}"#), "{}", "offers[0].content.heroImageUrl"),
            (
                r#"{"title":"T"}"#.to_string(),
                &*format!(r#"{{"offers":{{"o":{{"url":{url}}}}}}}"#),
                "experiments[0].variations[1].offers.o.url",
            ),
            (
                r#"{"title":"T"}"#.to_string(),
                &*format!(r#"{{"value":{{"banner":[{{"src":{url}}}]}}}}"#),
                "experiments[0].variations[1].value.banner[0].src",
            ),
        ];
        for (content, variation, path) in cases {
            let doc = format!(
                r#"{{"version":1,"placements":{{"hero":{{}}}},
                  "offers":[{{"id":"o","placements":["hero"],"content":{content}}}],
                  "experiments":[{{"key":"x","variations":[{{}},{variation}]}}]}}"#
            );
            let errs = errors(&doc);
            assert!(errs.iter().any(|e| e.starts_with(path) && e.contains("is refused")), "{url} at {path}: {errs:?}");
        }
    }
    let e = errors(
        r#"{"version":1,"placements":{"hero":{}},"offers":[{"id":"o","placements":["hero"],"content":{"title":"T","url":"javascript:alert(1)"}}]}"#,
    );
    assert_eq!(
        e,
        ["offers[0].content.url: URL \"javascript:alert(1)\" is refused: it has a scheme other than http: or https: (only http:, https: and relative URLs)"]
    );
    println!("{}", e[0]);
}

/// Defence in depth: content that slipped past validation (here edited in after it) is
/// dropped from the decision with a reason; an experiment value loses its value.
#[test]
fn decision_drops_offers_and_values_whose_urls_fail_the_rule() {
    let doc = r#"{"version":1,"placements":{"hero":{"limit":2}},
      "offers":[{"id":"bad","placements":["hero"],"priority":2,"content":{"title":"B","url":"/ok"}},
                {"id":"good","placements":["hero"],"content":{"title":"G","url":"https://shop.example/g"}}],
      "experiments":[{"key":"x","weights":[0,1],"variations":[{},{"value":{"img":"/a.png"}}]}]}"#;
    let mut rs = Ruleset::parse(doc, &NativeRegex).unwrap();
    rs.offers[0].content = json(r#"{"title":"B","url":" JaVa\tScRiPt:alert(1)"}"#);
    rs.experiments[0].variations[1].value = json(r#"{"nested":{"imageUrl":"data:text/html,x"}}"#);
    let attrs = json(r#"{"id":"u1"}"#);
    let d = rs.decide(&attrs, &DecideOptions { now: 1.0, ..Default::default() });
    let shown: Vec<usize> = d.placements[0].offers.iter().map(|o| o.offer).collect();
    assert_eq!(shown, [1]);
    assert!(d
        .skipped
        .iter()
        .any(|s| s.offer == 0 && matches!(s.reason, Skip::UnsafeUrl { ref field, .. } if field == "url")));
    let out = d.to_value().to_json();
    #[cfg(feature = "reason-text")]
    assert!(out.contains(r#""reason":"content field \"url\" is not a safe URL: it contains a space"#), "{out}");
    #[cfg(not(feature = "reason-text"))]
    assert!(out.contains(r#""reason":{"code":"unsafe_url","field":"url","why":"contains a space"#), "{out}");
    assert!(!out.contains("alert(1)") && !out.contains("data:text"), "{out}");
    assert!(out.contains(r#""valueRemoved":"has a scheme other than http: or https:""#), "{out}");
}

#[test]
fn publish_refuses_backtracking_patterns_naming_path_pattern_and_reason() {
    let doc = r#"{"version":1,"placements":{"hero":{}},
      "audiences":{"a":{"context.url":{"$regex":"^(a+)+$"}}},
      "offers":[{"id":"o","placements":["hero"],"content":{"title":"T"},
                 "condition":{"$or":[{"context.userAgent":{"$regexi":"(x|x)*y"}}]}}]}"#;
    let e = errors(doc);
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(
        e[0],
        "audiences.a.context.url.$regex: pattern \"^(a+)+$\" is rejected: it has a repetition inside a repetition \
         (e.g. (a+)+ or (.*)*), which can take exponential time"
    );
    assert!(e[1].starts_with("offers[0].condition.$or[0].context.userAgent.$regexi: pattern \"(x|x)*y\" is rejected"));
    for line in &e {
        println!("{line}");
    }
    // A pattern this checker accepts but regex-lite cannot compile stays a warning.
    let ok = r#"{"version":1,"placements":{"hero":{}},"offers":[{"id":"o","placements":["hero"],
      "content":{"title":"T"},"condition":{"context.url":{"$regex":"(?=.*sale)"}}}]}"#;
    assert_eq!(Ruleset::parse(ok, &NativeRegex).unwrap().warnings.len(), 1);
}

#[test]
fn regex_errors_never_escape_and_long_inputs_do_not_match() {
    let none = Value::Null;
    let attrs = |s: &str| {
        let mut m = tailor::engine::json::Map::new();
        m.insert("u", Value::from(s));
        Value::Object(m)
    };
    // Invalid patterns are false, never a panic.
    for p in ["(", "[", "a{2,1}", "\\", "(?<", "*"] {
        let c = json(&format!(r#"{{"u":{{"$regex":{}}}}}"#, Value::from(p).to_json()));
        assert!(!eval_condition(&attrs("((([[[\\"), &c, &none, &NativeRegex), "{p}");
    }
    let c = json(r#"{"u":{"$regex":"a$"}}"#);
    let not = json(r#"{"u":{"$not":{"$regex":"a$"}}}"#);
    let at_cap = "a".repeat(MAX_REGEX_INPUT);
    let over = "a".repeat(MAX_REGEX_INPUT + 1);
    assert!(eval_condition(&attrs(&at_cap), &c, &none, &NativeRegex));
    assert!(!eval_condition(&attrs(&over), &c, &none, &NativeRegex));
    assert!(eval_condition(&attrs(&over), &not, &none, &NativeRegex));
    // Multi-byte characters count in UTF-8 bytes: 1025 "é" are 2050 bytes.
    let wide = "\u{e9}".repeat(MAX_REGEX_INPUT / 2 + 1);
    assert!(!eval_condition(&attrs(&wide), &json(r#"{"u":{"$regex":"."}}"#), &none, &NativeRegex));
}

/// An accepted shape that costs a backtracking engine O(n²) (one `.*`, unanchored) on the
/// worst capped input stays cheap natively (regex-lite does not backtrack; the browser
/// figure is in tests/web_hostile.rs). The shapes that cost more are refused.
#[test]
fn accepted_pattern_on_capped_input_is_cheap_natively() {
    let refused = Condition::compile_checked(&json(r#"{"u":{"$regex":"a.*b.*c.*d$"}}"#), &Value::Null, &NativeRegex).1;
    assert!(refused[0].error && refused[0].reason.contains("polynomially"), "{refused:?}");
    let (c, issues) = Condition::compile_checked(&json(r#"{"u":{"$regex":".*x$"}}"#), &Value::Null, &NativeRegex);
    assert!(issues.is_empty(), "{issues:?}");
    let mut m = tailor::engine::json::Map::new();
    m.insert("u", Value::from("a".repeat(MAX_REGEX_INPUT).as_str()));
    let attrs = Value::Object(m);
    let t = Instant::now();
    let mut n = 0;
    for _ in 0..100 {
        n += c.eval(&attrs) as u32;
    }
    let per = t.elapsed().as_secs_f64() * 1e6 / 100.0;
    assert_eq!(n, 0);
    println!("native: .*x$ on {MAX_REGEX_INPUT} bytes: {per:.1} us per evaluation");
    assert!(per < 50_000.0, "{per} us");
}
