//! Forcing an offer into a placement: the copy of the working ruleset the Studio decides and
//! hands to the page's SDK when the merchandiser picks "Show offer". Pure Rust on the engine's
//! own JSON value (insertion-ordered, numbers as JavaScript's; serde_json with an ordered map added 31 KB
//! gzip to the Studio's module), tested natively; the Studio calls it as `forceOffers`.

use tailor::engine::js;
use tailor::engine::json::{Map, Value};

/// What keeps an offer from being shown: none of it applies to a forced offer.
const LIMITS: [&str; 7] = ["audience", "audiences", "condition", "window", "cap", "maxClicks", "excludes"];

/// A copy of `doc` in which each forced offer (`{ placementId: offerId }`) is the one offer its
/// placement shows: always eligible (no audience, condition, window, cap, click limit or
/// exclusion, shown to the holdout too), ahead of every other offer (its priority one above
/// the highest, at least 1), no longer excluded by another offer, and the placement's limit 1.
pub fn force_offers(doc: &Value, forced: &Map) -> Value {
    let mut copy = doc.clone();
    let chosen: Vec<&Value> = forced.iter().map(|(_, offer)| offer).collect();
    if let Some(Value::Array(offers)) = copy.as_object_mut().and_then(|d| d.get_mut("offers")) {
        let top = offers.iter().map(|o| priority(o.get("priority"))).fold(0.0, f64::max) + 1.0;
        for offer in offers.iter_mut().filter_map(Value::as_object_mut) {
            if offer.get("id").is_some_and(|id| chosen.contains(&id)) {
                for key in LIMITS {
                    offer.remove(key);
                }
                offer.insert("holdoutExempt", Value::Bool(true));
                offer.insert("priority", Value::Number(top));
            } else if let Some(Value::Array(excludes)) = offer.get_mut("excludes") {
                excludes.retain(|x| !chosen.contains(&x));
            }
        }
    }
    if let Some(placements) = copy.as_object_mut().and_then(|d| d.get_mut("placements")).and_then(Value::as_object_mut)
    {
        for id in forced.keys() {
            if let Some(placement) = placements.get_mut(id).and_then(Value::as_object_mut) {
                placement.insert("limit", Value::Number(1.0));
            }
        }
    }
    copy
}

/// An offer's priority as a number: `Number(p) || 0`.
fn priority(p: Option<&Value>) -> f64 {
    let n = p.map_or(f64::NAN, js::to_number);
    if n.is_nan() {
        0.0
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Value {
        Value::parse(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    fn forced(text: &str) -> Map {
        json(text).as_object().cloned().unwrap_or_default()
    }

    fn doc() -> Value {
        json(
            r#"{
            "version": 1,
            "placements": { "hero": { "limit": 3, "label": "Hero" }, "side": { "limit": 2 } },
            "offers": [
                { "id": "a", "placements": ["hero"], "priority": 5, "excludes": ["b", "c"] },
                { "id": "b", "placements": ["hero"], "priority": "7", "audience": "vip", "audiences": ["vip"],
                  "condition": { "path": "/" }, "window": { "from": 0 }, "cap": { "perDay": 1 }, "maxClicks": 2,
                  "excludes": ["a"], "content": { "title": "B" } },
                { "id": "c", "placements": ["side"], "excludes": ["b"] }
            ]
        }"#,
        )
    }

    fn offer(doc: &Value, i: usize) -> &Value {
        &doc.get("offers").and_then(Value::as_array).expect("offers")[i]
    }

    #[test]
    fn a_forced_offer_loses_every_limit_and_goes_ahead_of_the_others() {
        let out = force_offers(&doc(), &forced(r#"{ "hero": "b" }"#));
        let b = offer(&out, 1);
        for key in LIMITS {
            assert!(b.get(key).is_none(), "{key} is dropped: {}", b.to_json());
        }
        assert_eq!(
            b.to_json(),
            r#"{"id":"b","placements":["hero"],"priority":8,"content":{"title":"B"},"holdoutExempt":true}"#,
            "one above the highest priority (a string one counted); what it shows is kept"
        );
    }

    #[test]
    fn other_offers_no_longer_exclude_a_forced_one_and_keep_the_rest() {
        let out = force_offers(&doc(), &forced(r#"{ "hero": "b" }"#));
        assert_eq!(offer(&out, 0).to_json(), r#"{"id":"a","placements":["hero"],"priority":5,"excludes":["c"]}"#);
        assert_eq!(offer(&out, 2).to_json(), r#"{"id":"c","placements":["side"],"excludes":[]}"#);
    }

    #[test]
    fn a_forced_placement_shows_one_offer_and_the_others_are_unchanged() {
        let out = force_offers(&doc(), &forced(r#"{ "hero": "b", "missing": "a" }"#));
        assert_eq!(
            out.get("placements").map(Value::to_json).as_deref(),
            Some(r#"{"hero":{"limit":1,"label":"Hero"},"side":{"limit":2}}"#),
            "the limit is 1 in place, no placement is made up, the order is kept"
        );
    }

    #[test]
    fn two_placements_forced_at_once() {
        let out = force_offers(&doc(), &forced(r#"{ "hero": "a", "side": "c" }"#));
        assert_eq!(offer(&out, 0).get("priority"), Some(&Value::Number(8.0)));
        assert_eq!(offer(&out, 2).get("priority"), Some(&Value::Number(8.0)));
        assert_eq!(offer(&out, 1).get("excludes").map(Value::to_json).as_deref(), Some("[]"));
        assert_eq!(
            offer(&out, 1).get("audience"),
            Some(&Value::String("vip".into())),
            "an offer not forced keeps its limits"
        );
    }

    #[test]
    fn the_priority_is_at_least_one_and_the_original_is_untouched() {
        let original = json(r#"{ "offers": [{ "id": "x", "priority": -4 }, { "id": "y", "priority": "soon" }] }"#);
        let out = force_offers(&original, &forced(r#"{ "p": "x" }"#));
        assert_eq!(
            out.to_json(),
            r#"{"offers":[{"id":"x","priority":1,"holdoutExempt":true},{"id":"y","priority":"soon"}]}"#
        );
        assert_eq!(original.to_json(), r#"{"offers":[{"id":"x","priority":-4},{"id":"y","priority":"soon"}]}"#);
        let fraction =
            force_offers(&json(r#"{ "offers": [{ "id": "x", "priority": 1.5 }] }"#), &forced(r#"{ "p": "x" }"#));
        assert_eq!(offer(&fraction, 0).get("priority"), Some(&Value::Number(2.5)));
    }

    #[test]
    fn an_offer_id_matches_only_as_the_same_json_value() {
        let doc = json(r#"{ "offers": [{ "id": 7, "cap": 1 }, { "id": "7", "cap": 1 }] }"#);
        let out = force_offers(&doc, &forced(r#"{ "p": "7" }"#));
        assert!(offer(&out, 0).get("cap").is_some());
        assert!(offer(&out, 1).get("cap").is_none());
    }

    #[test]
    fn nothing_forced_or_no_offers_is_a_plain_copy() {
        assert_eq!(force_offers(&doc(), &Map::new()), doc());
        let bare = json(r#"{ "version": 1 }"#);
        assert_eq!(force_offers(&bare, &forced(r#"{ "hero": "b" }"#)), bare);
    }
}
