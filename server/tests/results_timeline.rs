//! The timeline of `GET /v1/admin/results/{site}` (docs/results.md, "Uplift over time"):
//! shoppers exposed over four days, day by day, against figures recomputed here from the
//! seed itself; from the rollups (also after more events arrive) and from a scan alike.

mod support;

use serde_json::{json, Value};
use support::*;

const DAY: i64 = 86_400_000;
const RULESET: &str = r#"{"version": 1, "placements": {}, "experiments": [{"key": "hero", "seed": "hero-1",
  "weights": [0.5, 0.5], "variations": [{"key": "control"}, {"key": "bold"}]}]}"#;

/// Shoppers first exposed on day `d` (0-3) in variation `v`, and how many of them buy.
fn cohort(d: i64, v: i64) -> (i64, i64) {
    (12 + 5 * d + 3 * v, 1 + d + 2 * v)
}

fn wait_for_rollups(server: &Server) -> Value {
    let started = std::time::Instant::now();
    loop {
        let r = results(server, "default");
        if r["source"] == "rollups" {
            return r;
        }
        assert!(started.elapsed().as_secs() < 60, "the rollups were not rebuilt within 60 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12), "{what}: {a} vs {b}");
}

/// The timeline of `report` against the cohorts (plus `extra` shoppers of the control on the
/// last day, none of whom buys).
fn check(report: &Value, first_day: i64, extra: i64, what: &str) {
    let hero = &report["experiments"][0];
    let timeline = hero["timeline"].as_array().unwrap_or_else(|| panic!("{what}: no timeline in {hero}"));
    assert_eq!(timeline.len(), 4, "{what}: a day per day of exposures");
    let (mut n, mut c) = ([0i64; 2], [0i64; 2]);
    for (d, day) in timeline.iter().enumerate() {
        let d = d as i64;
        for v in 0..2 {
            let (shoppers, buyers) = cohort(d, v as i64);
            n[v] += shoppers + if d == 3 && v == 0 { extra } else { 0 };
            c[v] += buyers;
        }
        let at = format!("{what}, day {d}");
        assert_eq!(day["start"], first_day + d * DAY, "{at}");
        assert_eq!(day["day"], tailor_server::results::date(first_day / DAY + d), "{at}");
        let conversion = day["metrics"].as_array().unwrap().iter().find(|m| m["key"] == "conversion").unwrap();
        for v in 0..2 {
            let shown = &conversion["variations"][v];
            assert_eq!(shown["shoppers"], n[v], "{at}: shoppers of {v}");
            assert_eq!(shown["converted"], c[v], "{at}: buyers of {v}");
            close(shown["value"].as_f64().unwrap(), c[v] as f64 / n[v] as f64, &at);
        }
        // Relative uplift and its delta-method interval, recomputed from the counts.
        let (p0, p1) = (c[0] as f64 / n[0] as f64, c[1] as f64 / n[1] as f64);
        let (v0, v1) = (p0 * (1.0 - p0) / n[0] as f64, p1 * (1.0 - p1) / n[1] as f64);
        let relative = p1 / p0 - 1.0;
        let half = 1.959963984540054 * (v1 / (p0 * p0) + p1 * p1 * v0 / p0.powi(4)).sqrt();
        let cmp = &conversion["comparisons"][0];
        assert_eq!(cmp["variation"], 1);
        close(cmp["relative"].as_f64().unwrap(), relative, &format!("{at}: relative"));
        close(cmp["relativeInterval"][0].as_f64().unwrap(), relative - half, &format!("{at}: low"));
        close(cmp["relativeInterval"][1].as_f64().unwrap(), relative + half, &format!("{at}: high"));
    }
    // The last day is the whole test.
    let last = &timeline[3]["metrics"][0];
    for v in 0..2 {
        assert_eq!(last["variations"][v]["shoppers"], hero["variations"][v]["shoppers"], "{what}");
    }
    assert_eq!(last["comparisons"][0]["relative"], hero["metrics"][0]["comparisons"][0]["relative"], "{what}");
}

#[test]
fn the_timeline_is_the_cumulative_report_of_each_day() {
    for b in backends() {
        let server = b.serve(&["--rate-limit", "0"]);
        let r =
            client().post(server.url("/v1/admin/rulesets/default")).bearer_auth(TOKEN).body(RULESET).send().unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let first_day = (now_ms() / DAY - 5) * DAY;
        let mut events = Vec::new();
        for d in 0..4 {
            for v in 0..2 {
                let (shoppers, buyers) = cohort(d, v);
                for i in 0..shoppers {
                    let anon = format!("d{d}-v{v}-{i}");
                    let ts = first_day + d * DAY + 3_600_000 + i * 60_000;
                    events.push(exposure(&anon, ts, "hero", v as u32));
                    // Seen again a day later: the first exposure decides the day.
                    if i % 4 == 0 {
                        events.push(exposure(&anon, ts + DAY, "hero", v as u32));
                    }
                    // Buyers buy within the hour, or (every other one) two days later: a
                    // shopper counts on the day of its first exposure either way.
                    if i < buyers {
                        events.push(purchase(&anon, ts + if i % 2 == 0 { 600_000 } else { 2 * DAY }));
                    }
                }
            }
        }
        assert_eq!(post_batch(&server, &json!({ "events": events })).0, 200);
        let scanned = results(&server, "default?source=scan");
        check(&scanned, first_day, 0, &format!("{}: scan", b.name));
        let rolled = wait_for_rollups(&server);
        check(&rolled, first_day, 0, &format!("{}: rollups", b.name));
        // More shoppers on the last day: the rollups move by them.
        let late: Vec<Value> =
            (0..3).map(|i| exposure(&format!("late-{i}"), first_day + 3 * DAY + 7_200_000, "hero", 0)).collect();
        assert_eq!(post_batch(&server, &json!({ "events": late })).0, 200);
        let after = results(&server, "default");
        assert_eq!(after["source"], "rollups");
        check(&after, first_day, 3, &format!("{}: rollups after more events", b.name));
        println!("# results timeline ({}): 4 days, rollups and scan agree with the seed", b.name);
    }
}
