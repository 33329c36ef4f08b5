//! Metrics defined per experiment in the ruleset (docs/results.md): a conversion on an event
//! type with a property filter and a window, a mean of a numeric property, a ratio of two
//! event counts; checked on publish with the path of each error, and counted by the results
//! report from the real server on SQLite and PostgreSQL.

mod support;

use serde_json::{json, Value};
use support::*;

fn ruleset(metrics: Value) -> String {
    json!({"version": 1, "placements": {}, "experiments": [{"key": "hero", "weights": [0.5, 0.5],
        "variations": [{"key": "control"}, {"key": "new"}], "metrics": metrics}]})
    .to_string()
}

fn metrics() -> Value {
    json!([
        {"key": "shoesAdded", "kind": "conversion", "event": "add_to_cart", "where": {"category": "shoes"},
         "windowHours": 1, "role": "goal"},
        {"key": "unitsAdded", "kind": "mean", "event": "add_to_cart", "property": "quantity"},
        {"key": "welcomeClickThrough", "kind": "ratio", "event": "offer_click", "where": {"offerId": "welcome"},
         "denominator": {"event": "offer_impression", "where": {"offerId": "welcome"}}}
    ])
}

fn event(anon: &str, ts: i64, kind: &str, props: Value) -> Value {
    json!({"id": new_id(), "type": kind, "ts": ts, "props": props, "anonymousId": anon})
}

fn add(anon: &str, ts: i64, category: &str, quantity: u32) -> Value {
    event(anon, ts, "add_to_cart", json!({"sku": "S1", "quantity": quantity, "category": category}))
}

fn offer(anon: &str, ts: i64, kind: &str, offer: &str) -> Value {
    event(anon, ts, kind, json!({"offerId": offer}))
}

const HOUR: i64 = 3_600_000;

#[test]
fn experiment_metrics_from_the_ruleset_are_counted_per_shopper() {
    for b in backends() {
        let server = b.serve(&[]);
        let published = client()
            .post(server.url("/v1/admin/rulesets/default"))
            .bearer_auth(TOKEN)
            .body(ruleset(metrics()))
            .send()
            .unwrap();
        assert_eq!(published.status().as_u16(), 201, "{}: {}", b.name, published.text().unwrap());
        let now = now_ms();
        let exposed = now - 3 * HOUR;
        let events = json!({"events": [
            exposure("a1", exposed, "hero", 0),
            add("a1", exposed + HOUR / 2, "shoes", 2),           // shoes within the hour
            offer("a1", exposed + 1, "offer_impression", "welcome"),
            offer("a1", exposed + 2, "offer_impression", "welcome"),
            offer("a1", exposed + 3, "offer_click", "welcome"),
            add("a2", exposed - HOUR, "bags", 5),                // before exposure: CUPED's covariate
            exposure("a2", exposed, "hero", 0),
            add("a2", exposed + 2 * HOUR, "shoes", 1),           // shoes, but after the hour
            offer("a2", exposed + 1, "offer_impression", "welcome"),
            exposure("b1", exposed, "hero", 1),
            add("b1", exposed + HOUR / 2, "bags", 3),            // not shoes
            offer("b1", exposed + 1, "offer_impression", "other"),
            offer("b1", exposed + 2, "offer_impression", "welcome"),
            offer("b1", exposed + 3, "offer_click", "welcome"),
            offer("b1", exposed + 4, "offer_click", "other"),
            exposure("b2", exposed, "hero", 1),
            add("b2", exposed + HOUR / 10, "shoes", 4),
        ]});
        let (status, body) = post_batch(&server, &events);
        assert_eq!(status, 200, "{body}");
        assert!(statuses(&body).iter().all(|s| s == "accepted"), "{body}");
        let report = results(&server, "default?experiment=hero");
        let hero = &report["experiments"][0];
        let keys: Vec<&str> = hero["metrics"].as_array().unwrap().iter().map(|m| m["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["shoesAdded", "unitsAdded", "welcomeClickThrough"], "{}", b.name);
        let values = |m: usize| -> Vec<Value> {
            hero["metrics"][m]["variations"].as_array().unwrap().iter().map(|v| v["value"].clone()).collect()
        };
        assert_eq!(values(0), [json!(0.5), json!(0.5)], "{}: a1 and b2 added shoes within the hour", b.name);
        assert_eq!(values(1), [json!(1.5), json!(3.5)], "{}: units added per shopper", b.name);
        let ctr = values(2);
        assert!((ctr[0].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12 && ctr[1] == json!(1.0), "{}: {ctr:?}", b.name);
        assert_eq!(hero["metrics"][0]["role"], "goal");
        assert_eq!(hero["metrics"][1]["role"], "guardrail");
        assert_eq!(hero["metrics"][0]["windowHours"], 1.0);
        assert_eq!(
            hero["metrics"][0]["definition"],
            "shoppers with add_to_cart events with category = \"shoes\", from the first exposure on within 1 hours"
        );
        // CUPED on units added: a2 added 5 before exposure, nobody else did.
        use tailor_server::stats::{cuped, Paired, Sample};
        let arm = |ys: [f64; 2], xs: [f64; 2]| Paired {
            y: Sample { n: 2, sum: ys[0] + ys[1], sum_sq: ys[0] * ys[0] + ys[1] * ys[1] },
            sum_x: xs[0] + xs[1],
            sum_x_sq: xs[0] * xs[0] + xs[1] * xs[1],
            sum_xy: xs[0] * ys[0] + xs[1] * ys[1],
        };
        let (theta, _) = cuped(&[arm([2.0, 1.0], [0.0, 5.0]), arm([3.0, 4.0], [0.0, 0.0])]).unwrap();
        let reported = hero["metrics"][1]["comparisons"][0]["cuped"]["theta"].as_f64().unwrap();
        assert!((reported - theta).abs() < 1e-12, "{}: theta {reported} vs {theta}", b.name);
        assert!(hero["metrics"][2]["comparisons"][0]["cuped"].is_null(), "no CUPED for ratios");
        println!(
            "# metrics ({}): shoesAdded {:?}, unitsAdded {:?}, welcomeClickThrough {:?}",
            b.name,
            values(0),
            values(1),
            ctr
        );
    }
}

#[test]
fn bad_metrics_are_refused_on_publish_and_by_the_cli_with_their_paths() {
    let bad = json!([
        {"key": "shoesAdded", "kind": "conversion", "event": "add_to_kart"},
        {"key": "ctr", "kind": "ratio", "event": "offer_click"}
    ]);
    let expected = [
        "experiments[0].metrics[0].event: \"add_to_kart\" is not a standard event type (see docs/events.md)",
        "experiments[0].metrics[1].denominator: a ratio needs an object {event, where?, property?}",
    ];
    let b = &backends()[0];
    let server = b.serve(&[]);
    let refused = client()
        .post(server.url("/v1/admin/rulesets/default"))
        .bearer_auth(TOKEN)
        .body(ruleset(bad.clone()))
        .send()
        .unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    let body: Value = refused.json().unwrap();
    assert_eq!(body["errors"], json!(expected), "{body}");

    let dir = tempfile::tempdir().unwrap();
    let file = write_ruleset(dir.path(), "bad.json", &ruleset(bad));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tailor"))
        .args(["ruleset", "validate", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for e in expected {
        assert!(stdout.contains(&format!("error: {e}")), "{stdout}");
    }
    let good = write_ruleset(dir.path(), "good.json", &ruleset(metrics()));
    let ok = std::process::Command::new(env!("CARGO_BIN_EXE_tailor"))
        .args(["ruleset", "validate", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stdout));
}
