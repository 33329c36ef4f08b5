//! The TypeScript declarations a shop compiles against (`pkg-template/types.d.ts`) say what
//! the engine really reads and writes. Each check reads the interface from the declaration
//! file and compares it with the engine's own answer, both ways:
//! - `TailorConfig`: every option is read (by the engine or the browser layer), and every
//!   option the engine reads is declared;
//! - `EventProps` and `Item`: the same properties, required exactly where the engine requires
//!   them;
//! - `ProfileSnapshot`, `Decision`, `ChosenOffer`, `ExperimentResult`: every field the engine
//!   writes is declared (an index signature `[k: string]` does not count), and every field
//!   declared as required is written.

use std::collections::BTreeMap;

use tailor::engine::config::{Config, OPTIONS};
use tailor::engine::decision::DecideOptions;
use tailor::engine::event::{checked_item_props, checked_props, EventType};
use tailor::engine::json::Value;
use tailor::engine::profile::Profile;
use tailor::engine::regex::NoRegex;
use tailor::engine::ruleset::Ruleset;

const DTS: &str = include_str!("../pkg-template/types.d.ts");

/// A declared object type: its fields as name -> (optional, type text).
type Fields = BTreeMap<String, (bool, String)>;

/// The text without `/* ... */` and `// ...` comments.
fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("/*") {
        out.push_str(&rest[..at]);
        rest = rest[at..].find("*/").map_or("", |end| &rest[at + end + 2..]);
    }
    out.push_str(rest);
    out.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// Splits `body` at `sep` where no bracket of any kind is open.
fn split_top(body: &str, sep: char) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    for (i, c) in body.char_indices() {
        match c {
            '{' | '(' | '[' | '<' => depth += 1,
            '}' | ')' | ']' | '>' => depth -= 1,
            c if c == sep && depth == 0 => {
                out.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&body[start..]);
    out
}

/// The fields of an object type's body (between its braces); index signatures are left out.
fn fields(body: &str) -> Fields {
    let mut out = Fields::new();
    for part in split_top(body, ';').into_iter().flat_map(|p| split_top(p, ',')) {
        let part = part.trim();
        if part.is_empty() || part.starts_with('[') {
            continue;
        }
        let colon = split_top(part, ':')[0].len();
        let (name, ty) = (part[..colon].trim(), part[colon + 1..].trim());
        let (name, optional) = match name.strip_suffix('?') {
            Some(n) => (n, true),
            None => (name, false),
        };
        // Methods (`exit(): void`) are not data.
        if !name.contains('(') {
            out.insert(name.to_string(), (optional, ty.to_string()));
        }
    }
    out
}

/// The body of `{ ... }` at the start of `text` (after spaces).
fn braced(text: &str) -> Option<&str> {
    let text = text.trim_start();
    if !text.starts_with('{') {
        return None;
    }
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[1..i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// `export interface NAME { ... }` of the declaration file.
fn interface(name: &str) -> Fields {
    let dts = strip_comments(DTS);
    let head = format!("export interface {name} ");
    let at = dts.find(&head).unwrap_or_else(|| panic!("types.d.ts declares no interface {name}"));
    fields(braced(&dts[at + head.len()..]).unwrap())
}

/// The object type written inline for a field (`orders: { ... }`, `items: { ... }[]`).
fn inline(ty: &str) -> Fields {
    fields(braced(ty).unwrap_or_else(|| panic!("not an inline object type: {ty}")))
}

/// Compares what the engine wrote (`value`, an object) with the declared `fields`: every
/// written key declared, every required field written. Problems go to `problems`.
fn compare(what: &str, value: &Value, declared: &Fields, problems: &mut Vec<String>) {
    let Value::Object(m) = value else {
        problems.push(format!("{what}: the engine wrote {}, not an object", value.type_name()));
        return;
    };
    for key in m.keys() {
        if !declared.contains_key(key) {
            problems.push(format!("{what}.{key}: written by the engine, not declared in types.d.ts"));
        }
    }
    for (name, (optional, _)) in declared {
        if !optional && m.get(name).is_none() {
            problems.push(format!("{what}.{name}: declared as required, not written by the engine"));
        }
    }
}

fn json(text: &str) -> Value {
    Value::parse(text).unwrap()
}

#[test]
fn the_config_options_are_the_engines() {
    let declared = interface("TailorConfig");
    // Taken out by the browser layer before the engine reads the rest (src/web/changes.rs).
    let browser = ["pageChanges", "nonce"];
    let engine: Vec<&str> = OPTIONS.split(", ").collect();
    for name in engine.iter().chain(&browser) {
        assert!(declared.contains_key(*name), "config.{name} is read but not declared in TailorConfig");
    }
    for (name, (optional, _)) in &declared {
        assert!(
            engine.contains(&name.as_str()) || browser.contains(&name.as_str()),
            "config.{name} is declared but never read"
        );
        // Only `site` is declared as required.
        assert_eq!(!optional, name == "site", "config.{name}");
    }
    // And the engine requires it, and nothing else.
    let err = Config::from_value(&json(r#"{"storage":"memory"}"#)).unwrap_err();
    assert!(err.message.contains("config.site is required"), "{err}");
    assert!(Config::from_value(&json(r#"{"site":"my-shop"}"#)).is_ok());
}

#[test]
fn event_properties_are_the_engines() {
    let declared = interface("EventProps");
    let mut problems = Vec::new();
    for t in EventType::ALL {
        let Some((_, ty)) = declared.get(t.as_str()) else {
            problems.push(format!("EventProps.{}: an event type of the engine, not declared", t.as_str()));
            continue;
        };
        let props = inline(ty);
        let checked: BTreeMap<&str, bool> = checked_props(t).collect();
        for (name, required) in &checked {
            match props.get(*name) {
                None => problems.push(format!("EventProps.{}.{name}: checked by the engine, not declared", t.as_str())),
                Some((optional, _)) if optional == required => problems.push(format!(
                    "EventProps.{}.{name}: {} by the engine, declared {}",
                    t.as_str(),
                    if *required { "required" } else { "optional" },
                    if *optional { "optional" } else { "required" }
                )),
                _ => {}
            }
        }
        for name in props.keys() {
            if !checked.contains_key(name.as_str()) {
                problems.push(format!("EventProps.{}.{name}: declared, not a property the engine knows", t.as_str()));
            }
        }
    }
    assert_eq!(declared.len(), EventType::ALL.len(), "{:?}", declared.keys());
    let item = interface("Item");
    let checked: BTreeMap<&str, bool> = checked_item_props().collect();
    assert_eq!(item.keys().map(String::as_str).collect::<Vec<_>>(), checked.keys().copied().collect::<Vec<_>>());
    for (name, (optional, _)) in &item {
        assert_eq!(!optional, checked[name.as_str()], "Item.{name}");
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_profile_snapshot_is_declared() {
    let t0 = 1_796_083_200_000.0;
    let mut p = Profile::new("0b5d1a6e-2f6c-4f0e-8a4b-6f1f3e2d9c10", t0);
    let events = [
        ("product_view", r#"{"sku":"s1","category":"shoes","brand":"acme","price":50}"#),
        ("search", r#"{"query":"boots"}"#),
        ("add_to_cart", r#"{"sku":"s1","quantity":1,"price":50}"#),
        (
            "purchase",
            r#"{"orderId":"o1","revenue":50,"currency":"EUR","items":[{"sku":"s1","quantity":1,"price":50}]}"#,
        ),
        ("add_to_cart", r#"{"sku":"s2","quantity":2,"price":20}"#),
        ("custom", r#"{"name":"newsletter_signup"}"#),
    ];
    for (i, (t, props)) in events.iter().enumerate() {
        p.track(t, json(props), t0 + 1000.0 * i as f64, [i as u8; 10], None).unwrap();
    }
    p.identify("user-1", json(r#"{"tier":"gold"}"#), t0 + 10_000.0).unwrap();
    p.set_assignment("hero", 1, 0);
    p.set_audiences(["vip"], t0 + 10_000.0);
    let snap = p.snapshot(t0 + 20_000.0);
    let declared = interface("ProfileSnapshot");
    let mut problems = Vec::new();
    compare("profile", &snap, &declared, &mut problems);
    for name in ["orders", "rfm", "cart", "session"] {
        compare(
            &format!("profile.{name}"),
            snap.get(name).unwrap_or(&Value::Null),
            &inline(&declared[name].1),
            &mut problems,
        );
    }
    let viewed = snap.get("recentlyViewed").and_then(|v| v.as_array()).and_then(|a| a.first()).cloned();
    compare(
        "profile.recentlyViewed[0]",
        &viewed.unwrap_or_default(),
        &inline(&declared["recentlyViewed"].1),
        &mut problems,
    );
    let item =
        snap.get("cart").and_then(|c| c.get("items")).and_then(|v| v.as_array()).and_then(|a| a.first()).cloned();
    let cart = inline(&declared["cart"].1);
    compare("profile.cart.items[0]", &item.unwrap_or_default(), &inline(&cart["items"].1), &mut problems);
    let counts = snap.get("events").and_then(|e| e.get("purchase")).cloned().unwrap_or_default();
    compare("profile.events.purchase", &counts, &interface("EventCounts"), &mut problems);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_decision_is_declared() {
    let rs = Ruleset::parse(
        r##"{"version":1,"id":"rs-1","placements":{"hero":{"limit":2}},
            "offers":[{"id":"a","placements":["hero"],"priority":2,"content":{"title":"A"}},
                      {"id":"b","placements":["hero"],"priority":1,"condition":{"profile.orders.count":{"$gt":5}},"content":{"title":"B"}},
                      {"id":"c","placements":["hero"],"priority":1,"content":{"title":"C"},"css":".c { color: red }"}],
            "experiments":[{"key":"x","variations":[{"key":"control"},{"key":"big","value":{"size":2}}],"weights":[0.5,0.5]},
                           {"key":"y","weights":[0,1],"variations":[{"key":"control"},{"key":"new","offers":{"a":{"title":"A2"}},
                             "changes":[{"selector":"#hero h1","action":"text","value":"Hi"}]}]}]}"##,
        &NoRegex,
    )
    .unwrap();
    let attributes = json(r#"{"id":"u1","profile":{"orders":{"count":0}},"context":{"url":"/"}}"#);
    let decision = rs.decide(&attributes, &DecideOptions { now: 5.0, ..Default::default() }).to_value();
    let mut problems = Vec::new();
    let declared = interface("Decision");
    compare("decision", &decision, &declared, &mut problems);
    let placement = decision.get("placements").and_then(|p| p.get("hero")).cloned().unwrap_or_default();
    let placement_type =
        declared["placements"].1.trim_start_matches("Record<string,").trim_end_matches('>').to_string();
    let placement_fields = inline(&placement_type);
    compare("decision.placements.hero", &placement, &placement_fields, &mut problems);
    let offers = placement.get("offers").and_then(|o| o.as_array()).cloned().unwrap_or_default();
    assert_eq!(offers.len(), 2, "{}", placement.to_json());
    for (i, offer) in offers.iter().enumerate() {
        compare(&format!("decision.placements.hero.offers[{i}]"), offer, &interface("ChosenOffer"), &mut problems);
    }
    let skipped = placement.get("skipped").and_then(|o| o.as_array()).and_then(|a| a.first()).cloned();
    let skipped_type = placement_fields["skipped"].1.trim_end_matches("[]").to_string();
    compare("decision.placements.hero.skipped[0]", &skipped.unwrap_or_default(), &inline(&skipped_type), &mut problems);
    let experiments = decision.get("experiments").and_then(|o| o.as_array()).cloned().unwrap_or_default();
    assert_eq!(experiments.len(), 2);
    for (i, experiment) in experiments.iter().enumerate() {
        compare(&format!("decision.experiments[{i}]"), experiment, &interface("ExperimentResult"), &mut problems);
    }
    let exposure = interface("Exposure");
    for list in ["exposures", "pageExposures"] {
        let items = decision.get(list).and_then(|o| o.as_array()).cloned().unwrap_or_default();
        assert!(!items.is_empty(), "decision.{list} is empty: {}", decision.to_json());
        for (i, e) in items.iter().enumerate() {
            let mut fields = exposure.clone();
            if list == "pageExposures" {
                fields.insert("selectors".into(), (true, "string[]".into()));
            }
            compare(&format!("decision.{list}[{i}]"), e, &fields, &mut problems);
        }
    }
    let sticky = decision.get("stickyAssignments").and_then(|o| o.as_array()).and_then(|a| a.first()).cloned();
    let sticky_type = declared["stickyAssignments"].1.trim_end_matches("[]").to_string();
    compare("decision.stickyAssignments[0]", &sticky.unwrap_or_default(), &inline(&sticky_type), &mut problems);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_empty_decision_is_declared() {
    let mut problems = Vec::new();
    let empty = json(tailor::engine::decision::EMPTY_JSON);
    compare("the empty decision", &empty, &interface("Decision"), &mut problems);
    // Its experiments are a list, as in every decision (a page may call `.map` on them).
    assert!(empty.get("experiments").and_then(|v| v.as_array()).is_some(), "{}", empty.to_json());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_reader_of_declarations_sees_fields_and_their_optionality() {
    let f = fields(
        "a: string; b?: { c: number; d?: string[] }; [k: string]: unknown; e(): void; f: Record<string, { g: 1 }>",
    );
    assert_eq!(f.keys().map(String::as_str).collect::<Vec<_>>(), ["a", "b", "f"]);
    assert!(!f["a"].0 && f["b"].0);
    let b = inline(&f["b"].1);
    assert_eq!(b.keys().map(String::as_str).collect::<Vec<_>>(), ["c", "d"]);
    assert!(b["d"].0);
    let mut problems = Vec::new();
    compare("x", &json(r#"{"a":"1","z":2}"#), &f, &mut problems);
    assert_eq!(
        problems,
        [
            "x.z: written by the engine, not declared in types.d.ts",
            "x.f: declared as required, not written by the engine"
        ]
    );
    assert_eq!(strip_comments("a /* b */ c // d\ne"), "a  c \ne");
}

/// `export type NAME = | { ... } | { ... };` of the declaration file: its object members.
fn union(name: &str) -> Vec<Fields> {
    let dts = strip_comments(DTS);
    let head = format!("export type {name} =");
    let at = dts.find(&head).unwrap_or_else(|| panic!("types.d.ts declares no type {name}"));
    let body = &dts[at + head.len()..];
    let body = &body[..split_top(body, ';')[0].len()];
    split_top(body, '|').into_iter().filter_map(braced).map(fields).collect()
}

/// The codes a member's `code` field declares (`"a" | "b"`).
fn codes(member: &Fields) -> Vec<String> {
    member.get("code").map_or(Vec::new(), |(_, ty)| {
        split_top(ty, '|').iter().map(|c| c.trim().trim_matches('"').to_string()).collect()
    })
}

/// Every code the engine writes is declared with exactly its fields, and every declared code
/// is one the engine writes.
fn check_codes(what: &str, written: &[Value], declared: &[Fields], problems: &mut Vec<String>) {
    let mut seen = Vec::new();
    for v in written {
        let code = v.get("code").and_then(Value::as_str).unwrap_or("").to_string();
        match declared.iter().find(|m| codes(m).contains(&code)) {
            Some(member) => compare(&format!("{what} \"{code}\""), v, member, problems),
            None => problems.push(format!("{what}: code \"{code}\" written by the engine, not declared in types.d.ts")),
        }
        seen.push(code);
    }
    for code in declared.iter().flat_map(codes) {
        if !seen.contains(&code) {
            problems.push(format!("{what}: code \"{code}\" declared, never written by the engine"));
        }
    }
}

#[test]
fn the_reason_codes_are_declared() {
    use tailor::engine::decision::{chosen_code, PlacementDecision};
    use tailor::engine::experiment::{ExperimentReason as X, ExperimentResult, Sticky};
    use tailor::engine::offer::Skip;
    use tailor::engine::reason::{experiment_code, skipped_code};
    use tailor::engine::ruleset::{Cap, Period};
    let rs = Ruleset::parse(
        r#"{"version":1,"placements":{"hero":{"limit":1}},
            "offers":[{"id":"a","placements":["hero"],"content":{"title":"A"}}],
            "experiments":[{"key":"x","variations":[{"key":"c"},{"key":"t"}],"namespace":["ns",0,0.5],
                            "coverage":0.8,"holdout":0.1}]}"#,
        &NoRegex,
    )
    .unwrap();
    let write = |f: &dyn Fn(&mut String)| {
        let mut out = String::new();
        f(&mut out);
        json(&out)
    };
    let mut problems = Vec::new();
    let placement = PlacementDecision { placement: 0, offers: Vec::new(), candidates: 3 };
    compare("chosen", &write(&|o| chosen_code(&placement, 1, o)), &interface("ChosenReason"), &mut problems);

    let skips = [
        Skip::GlobalHoldout,
        Skip::NotInAudience,
        Skip::ConditionFailed,
        Skip::NotStarted { start: 1.0 },
        Skip::Ended { end: 2.0 },
        Skip::Capped { cap: Cap { max: 3, per: Period::Day }, count: 3 },
        Skip::Clicked { max: 1, clicks: 1 },
        Skip::Excluded { by: 0 },
        Skip::ShownElsewhere { placement: 0 },
        Skip::LimitReached { limit: 1 },
        Skip::UnsafeUrl { field: "url".into(), why: "has a scheme other than http: or https:" },
    ];
    let written: Vec<Value> = skips.iter().map(|s| write(&|o| skipped_code(&rs, s, o))).collect();
    check_codes("SkipReason", &written, &union("SkipReason"), &mut problems);

    let reasons = [
        X::NoPageUrl,
        X::UrlNotTargeted,
        X::Inactive,
        X::Forced,
        X::GlobalHoldout,
        X::NotInAudience,
        X::ConditionFailed,
        X::Sticky,
        X::NoHashAttribute,
        X::NotInNamespace,
        X::ExperimentHoldout,
        X::OutsideCoverage { bucket: 0.9 },
        X::Bucketed { bucket: 0.2 },
    ];
    let written: Vec<Value> = reasons
        .iter()
        .map(|reason| {
            let r = ExperimentResult {
                experiment: 0,
                in_experiment: true,
                variation: 1,
                hash_value: Some("u1".into()),
                reason: reason.clone(),
                persist: Some(Sticky { variation: 1, bucket_version: 0 }),
            };
            write(&|o| experiment_code(&rs, &r, o))
        })
        .collect();
    check_codes("ExperimentReason", &written, &union("ExperimentReason"), &mut problems);
    assert!(problems.is_empty(), "{problems:#?}");
}
