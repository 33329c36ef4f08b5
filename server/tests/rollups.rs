//! Results from rollups (docs/results.md, "Scale") equal results from scanning the events,
//! whatever happened in between: batches in any order, exposures arriving late, repeated
//! batches, identifies that link devices, erasures, a new ruleset with other metrics. On
//! SQLite and PostgreSQL, against the real server.

mod support;

use serde_json::{json, Value};
use support::*;

const HOUR: i64 = 3_600_000;

fn ruleset(window_hours: u32) -> String {
    json!({"version": 1, "placements": {}, "experiments": [
        {"key": "hero", "weights": [0.5, 0.5], "variations": [{"key": "a"}, {"key": "b"}], "metrics": [
            {"key": "bought", "kind": "conversion", "event": "purchase", "windowHours": window_hours},
            {"key": "revenue", "kind": "mean", "event": "purchase", "property": "revenue"},
            {"key": "shoesAdded", "kind": "mean", "event": "add_to_cart", "where": {"category": "shoes"}, "property": "quantity"},
            {"key": "orderValue", "kind": "ratio", "event": "purchase", "property": "revenue", "denominator": {"event": "purchase"}}
        ]},
        {"key": "banner", "weights": [0.2, 0.3, 0.5], "variations": [{"key": "a"}, {"key": "b"}, {"key": "c"}]}
    ]})
    .to_string()
}

/// A small seeded generator: the same workload on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// Posts a batch, waiting out the rate limit (all of this test comes from one address).
fn post(server: &Server, batch: &Value) {
    let started = std::time::Instant::now();
    loop {
        let (status, body) = post_batch(server, batch);
        match status {
            200 => return,
            429 if started.elapsed().as_secs() < 60 => std::thread::sleep(std::time::Duration::from_millis(100)),
            _ => panic!("{status}: {body}"),
        }
    }
}

fn event(anon: &str, ts: i64, kind: &str, props: Value) -> Value {
    json!({"id": new_id(), "type": kind, "ts": ts, "props": props, "anonymousId": anon})
}

/// Both answers with the fields that differ by design taken out.
fn report(server: &Server, source: &str) -> Value {
    let mut r = results(server, &format!("default{source}"));
    r.as_object_mut().unwrap().remove("source");
    r
}

/// Equal up to the rounding of sums kept by differences.
fn same(a: &Value, b: &Value, at: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            if x.keys().ne(y.keys()) {
                return Err(format!(
                    "{at}: fields {:?} vs {:?}",
                    x.keys().collect::<Vec<_>>(),
                    y.keys().collect::<Vec<_>>()
                ));
            }
            x.iter().try_for_each(|(k, v)| same(v, &y[k], &format!("{at}.{k}")))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().try_for_each(|(i, (v, w))| same(v, w, &format!("{at}[{i}]")))
        }
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0) {
                Ok(())
            } else {
                Err(format!("{at}: {x} vs {y}"))
            }
        }
        _ if a == b => Ok(()),
        _ => Err(format!("{at}: {a} vs {b}")),
    }
}

/// Waits until the report comes from the rollups (a rebuild runs in the background).
fn wait_for_rollups(server: &Server) {
    let started = std::time::Instant::now();
    while results(server, "default")["source"] != "rollups" {
        assert!(started.elapsed().as_secs() < 60, "the rollups were not rebuilt within 60 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn check(server: &Server, what: &str) {
    let (rolled, scanned) = (report(server, ""), report(server, "?source=scan"));
    if let Err(e) = same(&rolled, &scanned, "") {
        panic!("{what}: rollups and scan differ at {e}\nrollups: {rolled}\nscan: {scanned}");
    }
}

#[test]
fn rollups_equal_a_scan_after_every_kind_of_change() {
    for b in backends() {
        let server = b.serve(&[]);
        let publish = |text: String| {
            let r =
                client().post(server.url("/v1/admin/rulesets/default")).bearer_auth(TOKEN).body(text).send().unwrap();
            assert_eq!(r.status().as_u16(), 201);
        };
        publish(ruleset(24));
        let mut rng = Rng(5);
        let now = now_ms();
        let shoppers: Vec<String> = (0..100).map(|i| format!("r{i}")).collect();
        let mut sent = 0;
        for round in 0..8 {
            let mut events = Vec::new();
            for s in &shoppers {
                if rng.below(3) != 0 {
                    continue;
                }
                let ts = now - 48 * HOUR + rng.below(40 * HOUR as u64) as i64;
                match rng.below(6) {
                    0 => events.push(exposure(s, ts, "hero", rng.below(2) as u32)),
                    1 => events.push(exposure(s, ts, "banner", rng.below(3) as u32)),
                    2 | 3 => events.push(event(
                        s,
                        ts,
                        "purchase",
                        json!({"orderId": new_id(), "currency": "EUR",
                        "revenue": rng.below(20_000) as f64 / 100.0, "items": []}),
                    )),
                    4 => events.push(event(
                        s,
                        ts,
                        "add_to_cart",
                        json!({"sku": "S", "quantity": 1 + rng.below(3),
                        "category": if rng.below(2) == 0 { "shoes" } else { "bags" }}),
                    )),
                    _ => events.push(event(s, ts, "page_view", json!({"path": "/"}))),
                }
            }
            sent += events.len();
            post(&server, &json!({ "events": events }));
            if round == 0 {
                // The first report scans and starts the rebuild; from then on, rollups.
                results(&server, "default");
                wait_for_rollups(&server);
            }
            check(&server, &format!("{} after batch {round}", b.name));
        }
        // A batch sent twice changes nothing.
        let again = json!({"events": [exposure("r1", now - HOUR, "hero", 1)]});
        post(&server, &again);
        post(&server, &again);
        check(&server, &format!("{}: a repeated batch", b.name));
        // An exposure earlier than all the others moves purchases from before to after it.
        post(&server, &json!({"events": [exposure("r2", now - 60 * HOUR, "hero", 0)]}));
        check(&server, &format!("{}: a late, early exposure", b.name));
        // Devices linked to one user: their events become one shopper's.
        for anon in ["r3", "r4", "r5"] {
            let r = client()
                .post(server.url("/v1/identify"))
                .json(&json!({"anonymousId": anon, "userId": "u-r", "token": identity_token("u-r")}))
                .send()
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
            check(&server, &format!("{}: {anon} linked", b.name));
        }
        // Erasures: an anonymous id, then a user.
        let erase = |path: &str| {
            let r = client().delete(server.url(path)).bearer_auth(TOKEN).send().unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
        };
        erase("/v1/profiles/r6");
        check(&server, &format!("{}: r6 erased", b.name));
        erase("/v1/profiles/u-r?kind=user");
        check(&server, &format!("{}: u-r erased", b.name));
        // Other metrics: the rollups are rebuilt for them.
        publish(ruleset(1));
        wait_for_rollups(&server);
        check(&server, &format!("{}: after a new ruleset", b.name));
        let r = results(&server, "default");
        let hero = r["experiments"].as_array().unwrap().iter().find(|e| e["experimentKey"] == "hero").unwrap();
        assert_eq!(hero["metrics"][0]["windowHours"], 1.0);
        let shoppers: i64 =
            hero["variations"].as_array().unwrap().iter().map(|v| v["shoppers"].as_i64().unwrap()).sum();
        assert!(shoppers > 20, "{}: only {shoppers} shoppers in hero", b.name);
        println!(
            "# rollups ({}): {sent} events, {shoppers} shoppers in hero: rollups equal a scan after every change",
            b.name
        );
    }
}
