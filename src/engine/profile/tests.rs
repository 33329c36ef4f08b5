use super::*;

const T0: f64 = 1_700_000_000_000.0;
const MIN: f64 = 60_000.0;
const DAY: f64 = 86_400_000.0;

fn p() -> Profile {
    Profile::new("anon-1", T0)
}

fn track(p: &mut Profile, t: &str, props: &str, now: f64) -> Event {
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&(now as u64).to_be_bytes());
    p.track(t, Value::parse(props).unwrap(), now, random, None).unwrap()
}

fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    v.pointer_dotted(path).unwrap_or_else(|| panic!("no {path} in {}", v.to_json()))
}

#[test]
fn affinity_halves_every_half_life() {
    let mut p = p();
    track(&mut p, "product_view", r#"{"sku":"a","category":["shoes","running"],"brand":"acme"}"#, T0);
    let half = p.config().half_life_ms;
    let s = p.snapshot(T0 + half);
    assert!((at(&s, "categories.shoes").as_f64().unwrap() - 0.5).abs() < 1e-12);
    assert!((at(&s, "categories.running").as_f64().unwrap() - 0.5).abs() < 1e-12);
    let s = p.snapshot(T0 + 2.0 * half);
    assert!((at(&s, "brands.acme").as_f64().unwrap() - 0.25).abs() < 1e-12);
    // A later view adds to the decayed score.
    track(&mut p, "add_to_cart", r#"{"sku":"a","quantity":1,"category":"shoes"}"#, T0 + half);
    let s = p.snapshot(T0 + half);
    assert!((at(&s, "categories.shoes").as_f64().unwrap() - 3.5).abs() < 1e-9);
    assert_eq!(at(&s, "topCategory").as_str(), Some("shoes"));
}

#[test]
fn recent_interest_outranks_old_one() {
    let mut p = p();
    for i in 0..3 {
        track(&mut p, "category_view", r#"{"category":"bags"}"#, T0 + i as f64);
    }
    let later = T0 + 60.0 * DAY;
    track(&mut p, "category_view", r#"{"category":"hats"}"#, later);
    let s = p.snapshot(later);
    assert_eq!(at(&s, "topCategory").as_str(), Some("hats"));
    let keys: Vec<&str> = at(&s, "categories").as_object().unwrap().keys().collect();
    assert_eq!(keys, ["hats", "bags"]);
}

#[test]
fn sessions_end_after_30_minutes_of_inactivity() {
    let mut p = p();
    let a = track(&mut p, "page_view", "{}", T0);
    let b = track(&mut p, "page_view", "{}", T0 + 29.0 * MIN);
    track(&mut p, "product_view", r#"{"sku":"x"}"#, T0 + 58.0 * MIN);
    assert_eq!(a.session_id(), Some(a.id()));
    assert_eq!(b.session_id(), Some(a.id()));
    let s = p.snapshot(T0 + 58.0 * MIN);
    assert_eq!(at(&s, "session.count").as_f64(), Some(1.0));
    assert_eq!(at(&s, "session.pages").as_f64(), Some(2.0));
    assert_eq!(at(&s, "session.events").as_f64(), Some(3.0));
    assert_eq!(at(&s, "session.length").as_f64(), Some(58.0 * MIN));
    assert_eq!(at(&s, "session.active"), &Value::Bool(true));
    // Once it has ended, the snapshot shows the session starting now: empty, no id yet.
    let s = p.snapshot(T0 + 88.0 * MIN);
    assert_eq!(at(&s, "session.active"), &Value::Bool(false));
    assert_eq!(at(&s, "session.start").as_f64(), Some(T0 + 88.0 * MIN));
    assert_eq!(at(&s, "session.pages").as_f64(), Some(0.0));
    assert_eq!(at(&s, "session.count").as_f64(), Some(2.0));
    assert!(s.pointer_dotted("session.id").is_none());
    // The stored form keeps the last session itself.
    let stored = Value::parse(&p.to_json()).unwrap();
    assert_eq!(at(&stored, "session.id").as_str(), Some(a.id()));

    let c = track(&mut p, "page_view", "{}", T0 + 88.0 * MIN);
    assert_eq!(c.session_id(), Some(c.id()));
    let s = p.snapshot(T0 + 88.0 * MIN);
    assert_eq!(at(&s, "session.id").as_str(), Some(c.id()));
    assert_eq!(at(&s, "session.start").as_f64(), Some(T0 + 88.0 * MIN));
    assert_eq!(at(&s, "session.count").as_f64(), Some(2.0));
    assert_eq!(at(&s, "session.pages").as_f64(), Some(1.0));
}

#[test]
fn counters_and_rolling_windows() {
    let mut p = p();
    track(&mut p, "page_view", "{}", T0 - 20.0 * DAY);
    track(&mut p, "page_view", "{}", T0 - 3.0 * DAY);
    track(&mut p, "page_view", "{}", T0);
    let s = p.snapshot(T0);
    assert_eq!(at(&s, "events.page_view.count").as_f64(), Some(3.0));
    assert_eq!(at(&s, "events.page_view.last7d").as_f64(), Some(2.0));
    assert_eq!(at(&s, "events.page_view.last30d").as_f64(), Some(3.0));
    assert_eq!(at(&s, "events.page_view.first").as_f64(), Some(T0 - 20.0 * DAY));
    assert_eq!(at(&s, "events.purchase.count").as_f64(), Some(0.0));
    let s = p.snapshot(T0 + 15.0 * DAY);
    assert_eq!(at(&s, "events.page_view.last7d").as_f64(), Some(0.0));
    assert_eq!(at(&s, "events.page_view.last30d").as_f64(), Some(2.0));
    assert_eq!(at(&s, "events.page_view.count").as_f64(), Some(3.0));
}

#[test]
fn orders_rfm_and_cart() {
    let mut p = p();
    track(&mut p, "add_to_cart", r#"{"sku":"a","quantity":2,"price":10}"#, T0);
    track(&mut p, "add_to_cart", r#"{"sku":"b","quantity":1,"price":5}"#, T0);
    track(&mut p, "remove_from_cart", r#"{"sku":"a","quantity":1}"#, T0);
    let s = p.snapshot(T0);
    assert_eq!(at(&s, "cart.count").as_f64(), Some(2.0));
    assert_eq!(at(&s, "cart.value").as_f64(), Some(15.0));
    track(&mut p, "remove_from_cart", r#"{"sku":"b","quantity":3}"#, T0);
    assert_eq!(at(&p.snapshot(T0), "cart.items").as_array().unwrap().len(), 1);

    let order = r#"{"orderId":"o1","revenue":100,"currency":"EUR","items":[{"sku":"a","category":"shoes"}]}"#;
    track(&mut p, "purchase", order, T0);
    let order2 = r#"{"orderId":"o2","revenue":50,"currency":"EUR","items":[]}"#;
    track(&mut p, "purchase", order2, T0 + 2.0 * DAY);
    let s = p.snapshot(T0 + 5.5 * DAY);
    assert_eq!(at(&s, "orders.count").as_f64(), Some(2.0));
    assert_eq!(at(&s, "orders.aov").as_f64(), Some(75.0));
    assert_eq!(at(&s, "orders.revenue30d").as_f64(), Some(150.0));
    assert_eq!(at(&s, "rfm.recencyDays").as_f64(), Some(3.0));
    assert_eq!(at(&s, "rfm.monetary").as_f64(), Some(150.0));
    assert_eq!(at(&s, "cart.count").as_f64(), Some(0.0));
    // 5 per purchased item, decayed over 5.5 days with a 14-day half-life.
    let shoes = at(&s, "categories.shoes").as_f64().unwrap();
    assert!((shoes - 5.0 * 0.5f64.powf(5.5 / 14.0)).abs() < 1e-9, "{shoes}");
}

#[test]
fn offers_experiments_and_audiences_for_the_decision_engine() {
    let mut p = p();
    for i in 0..105 {
        track(&mut p, "offer_impression", r#"{"offerId":"o1","placement":"home"}"#, T0 + i as f64);
    }
    track(&mut p, "offer_click", r#"{"offerId":"o1"}"#, T0 + 200.0);
    let s = p.to_value();
    let shown = at(&s, "offers.o1.shown").as_array().unwrap();
    assert_eq!(shown.len(), MAX_SHOWN);
    assert_eq!(shown[0].as_f64(), Some(T0 + 5.0));
    assert_eq!(shown[99].as_f64(), Some(T0 + 104.0));
    assert_eq!(at(&s, "offers.o1.clicks").as_f64(), Some(1.0));

    assert!(p.set_assignment("exp-1", 2, 1));
    track(&mut p, "experiment_exposure", r#"{"experimentKey":"exp-2","variation":1}"#, T0);
    let s = p.to_value();
    assert_eq!(at(&s, "experiments.exp-1.variation").as_f64(), Some(2.0));
    assert_eq!(at(&s, "experiments.exp-1.bucketVersion").as_f64(), Some(1.0));
    assert_eq!(at(&s, "experiments.exp-2.variation").as_f64(), Some(1.0));
    assert_eq!(p.get_assignment("exp-2"), Some((1, 0)));

    assert!(p.set_audiences(["vip", "new"], T0));
    let revision = p.revision();
    // The same membership again changes nothing, not even the revision (a snapshot cached
    // by revision stays good).
    assert!(!p.set_audiences(["vip", "new"], T0 + 5.0));
    assert_eq!(p.revision(), revision);
    assert!(p.set_audiences(["vip", "cart-abandoner"], T0 + 10.0));
    assert!(p.revision() > revision);
    let s = p.to_value();
    assert_eq!(at(&s, "audiences.vip.enteredAt").as_f64(), Some(T0));
    assert_eq!(at(&s, "audiences.cart-abandoner.enteredAt").as_f64(), Some(T0 + 10.0));
    assert!(s.pointer_dotted("audiences.new").is_none());
}

#[test]
fn identify_merges_traits_and_a_new_user_replaces_them() {
    let mut p = p();
    p.identify("u1", Value::parse(r#"{"plan":"gold","age":30}"#).unwrap(), T0).unwrap();
    p.identify("u1", Value::parse(r#"{"age":null,"city":"Oslo"}"#).unwrap(), T0).unwrap();
    assert_eq!(Value::Object(p.traits().clone()).to_json(), r#"{"plan":"gold","city":"Oslo"}"#);
    let e = track(&mut p, "page_view", "{}", T0);
    assert_eq!(e.user_id(), Some("u1"));
    p.identify("u2", Value::Null, T0).unwrap();
    assert!(p.traits().is_empty());
    assert!(p.identify("", Value::Null, T0).is_err());
    let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(MAX_TRAITS_BYTES));
    let before = p.clone();
    assert!(p.identify("u3", Value::parse(&big).unwrap(), T0).is_err());
    assert_eq!(p, before);
}

#[test]
fn a_bad_event_changes_nothing() {
    let mut p = p();
    track(&mut p, "page_view", "{}", T0);
    let before = p.clone();
    assert_eq!(p.revision(), 1);
    let err = p.track("product_view", Value::parse(r#"{"price":1}"#).unwrap(), T0, [0; 10], None);
    assert_eq!(err.unwrap_err().to_string(), "props.sku: is required");
    assert_eq!(p, before);
    track(&mut p, "page_view", "{}", T0);
    assert_eq!(p.revision(), 2);
}

#[test]
fn stored_form_round_trips() {
    let mut p = p();
    track(&mut p, "product_view", r#"{"sku":"a","category":["shoes"],"brand":"acme","price":3}"#, T0);
    track(&mut p, "custom", r#"{"name":"newsletter_signup"}"#, T0 + 1.0);
    track(&mut p, "purchase", r#"{"orderId":"o","revenue":9,"currency":"EUR","items":[{"sku":"a"}]}"#, T0 + 2.0);
    track(&mut p, "search", r#"{"query":"red shoes"}"#, T0 + 3.0);
    track(&mut p, "add_to_cart", r#"{"sku":"b","quantity":1,"price":2}"#, T0 + 4.0);
    p.set_assignment("e", 1, 2);
    p.enter_audience("vip", T0);
    p.identify("u", Value::parse(r#"{"plan":"gold"}"#).unwrap(), T0 + 5.0).unwrap();
    let text = p.to_json();
    assert!(text.starts_with(r#"{"schemaVersion":1,"#));
    let q = Profile::from_json(&text).unwrap();
    assert_eq!(q.to_json(), text);
    assert_eq!(q.snapshot(T0 + DAY), p.snapshot(T0 + DAY));
}

#[test]
fn unknown_versions_and_damage() {
    assert!(matches!(Profile::from_json(r#"{"schemaVersion":2,"anonymousId":"a"}"#), Err(ProfileError::Version(_))));
    assert!(matches!(Profile::from_json(r#"{"anonymousId":"a"}"#), Err(ProfileError::Version(_))));
    assert!(matches!(Profile::from_json("{"), Err(ProfileError::Json(_))));
    assert!(Profile::from_json(r#"{"schemaVersion":1}"#).is_err());
    // Damaged parts start empty; the rest is kept.
    let text = r#"{"schemaVersion":1,"anonymousId":"a","lastSeen":5,"events":{"page_view":{"count":4}},
        "offers":{"o":{"shown":[3,1,"x",2],"clicks":-1}},"cart":7,"categories":{"a":"x","b":2},
        "daily":[[1,0,1],[1,0,1,0,0,0,0,0,0,0,0,0,0,0]]}"#;
    let p = Profile::from_json(text).unwrap();
    let s = p.to_value();
    assert_eq!(at(&s, "events.page_view.count").as_f64(), Some(4.0));
    assert_eq!(at(&s, "offers.o.shown").to_json(), "[1,2,3]");
    assert_eq!(at(&s, "offers.o.clicks").as_f64(), Some(0.0));
    assert_eq!(at(&s, "categories").to_json(), r#"{"b":2}"#);
    assert_eq!(p.days.len(), 1);
}

#[test]
fn stays_within_64_kb_dropping_oldest_detail_first() {
    let mut p = p();
    let long = "x".repeat(120);
    for o in 0..MAX_OFFERS {
        for i in 0..MAX_SHOWN {
            let props = format!(r#"{{"offerId":"{long}{o}"}}"#);
            track(&mut p, "offer_impression", &props, T0 + (o * MAX_SHOWN + i) as f64);
        }
    }
    for i in 0..40 {
        track(&mut p, "product_view", &format!(r#"{{"sku":"{long}{i}","category":"{long}{i}"}}"#), T0 + 1e6 + i as f64);
    }
    p.set_assignment("keep-me", 1, 1);
    let text = p.to_json();
    assert!(text.len() <= MAX_PROFILE_BYTES, "{} bytes", text.len());
    let (approx, exact) = (p.approx_bytes(), p.to_json_unbounded().len());
    assert!(approx.abs_diff(exact) < exact / 5, "estimate {approx}, exact {exact}");
    let s = Profile::from_json(&text).unwrap().to_value();
    // The newest impressions and the sticky assignments survive.
    let newest = format!("offers.{long}{}.shown", MAX_OFFERS - 1);
    let shown = at(&s, &newest).as_array().unwrap();
    assert_eq!(shown.last().unwrap().as_f64(), Some(T0 + (MAX_OFFERS * MAX_SHOWN - 1) as f64));
    assert_eq!(at(&s, "experiments.keep-me.variation").as_f64(), Some(1.0));
    assert_eq!(at(&s, "events.offer_impression.count").as_f64(), Some((MAX_OFFERS * MAX_SHOWN) as f64));
}

/// A tab of the same origin: its in-memory profile and what it changed since its last save.
struct Tab {
    profile: Profile,
    changes: Changes,
}

impl Tab {
    fn open(stored: &Option<String>) -> Tab {
        let profile = stored.as_deref().map_or_else(p, |t| Profile::from_json(t).unwrap());
        Tab { profile, changes: Changes::default() }
    }
    fn track(&mut self, t: &str, props: &str, now: f64) {
        let e = track(&mut self.profile, t, props, now);
        self.changes.push(Change::Event(e));
    }
    /// A save: the stored text read and written in one transaction.
    fn save(&mut self, stored: &mut Option<String>, now: f64) {
        if let Some(text) = self.changes.merge_into(stored.as_deref(), &mut self.profile, now) {
            *stored = Some(text);
        }
    }
}

#[test]
fn saves_from_several_tabs_merge_counters_orders_caps_and_assignments() {
    let mut stored = None;
    let mut first = Tab::open(&stored);
    first.save(&mut stored, T0);
    let mut tabs: Vec<Tab> = (0..5).map(|_| Tab::open(&stored)).collect();
    // 5 tabs x 200 events, saves interleaved in every order.
    for i in 0..200 {
        for (k, tab) in tabs.iter_mut().enumerate() {
            let now = T0 + (i * 5 + k) as f64;
            tab.track("page_view", "{}", now);
            if i % 50 == k {
                tab.track("offer_impression", r#"{"offerId":"o1","placement":"home"}"#, now);
                let order = String::from(r#"{"orderId":"o"#)
                    + &(i * 5 + k).to_string()
                    + r#"","revenue":10,"currency":"EUR","items":[]}"#;
                tab.track("purchase", &order, now);
            }
            if (i + k) % (k + 3) == 0 {
                tab.save(&mut stored, now);
            }
        }
    }
    tabs[1].profile.set_assignment("exp", 1, 0);
    tabs[1].changes.push(Change::Assignment("exp".into(), 1, 0));
    for tab in tabs.iter_mut().rev() {
        tab.save(&mut stored, T0 + 2000.0);
    }
    let after = Profile::from_json(stored.as_deref().unwrap()).unwrap().to_value();
    assert_eq!(at(&after, "events.page_view.count").as_f64(), Some(1000.0));
    assert_eq!(at(&after, "orders.count").as_f64(), Some(20.0));
    assert_eq!(at(&after, "orders.revenue").as_f64(), Some(200.0));
    assert_eq!(at(&after, "offers.o1.shown").as_array().map(Vec::len), Some(20));
    assert_eq!(at(&after, "experiments.exp.variation").as_f64(), Some(1.0));
    // The last tab to save sees every tab's events; a tab with nothing to write adopts the
    // stored profile and writes nothing.
    assert_eq!(at(&tabs[0].profile.to_value(), "events.page_view.count").as_f64(), Some(1000.0));
    let before = stored.clone();
    tabs[4].save(&mut stored, T0 + 3000.0);
    assert_eq!(stored, before);
    assert_eq!(at(&tabs[4].profile.to_value(), "events.page_view.count").as_f64(), Some(1000.0));
}

#[test]
fn audience_membership_merges_across_tabs_and_keeps_when_it_was_entered() {
    let mut stored = None;
    let mut a = Tab::open(&stored);
    a.save(&mut stored, T0);
    let mut b = Tab::open(&stored);
    // `a` finds the shopper in two audiences; `b`, opened before, tracks meanwhile.
    assert!(a.profile.set_audiences(["vip", "new"], T0 + 1.0));
    a.changes.push(Change::Audiences(vec!["vip".into(), "new".into()], T0 + 1.0));
    b.track("page_view", "{}", T0 + 2.0);
    a.save(&mut stored, T0 + 3.0);
    b.save(&mut stored, T0 + 4.0);
    let s = Profile::from_json(stored.as_deref().unwrap()).unwrap().to_value();
    assert_eq!(at(&s, "audiences.vip.enteredAt").as_f64(), Some(T0 + 1.0), "b's save kept a's audiences");
    assert_eq!(at(&s, "events.page_view.count").as_f64(), Some(1.0));
    // Later `b` finds the shopper still in "vip" but no longer "new": "vip" keeps its time.
    assert!(b.profile.set_audiences(["vip"], T0 + 10.0));
    b.changes.push(Change::Audiences(vec!["vip".into()], T0 + 10.0));
    b.save(&mut stored, T0 + 11.0);
    let s = Profile::from_json(stored.as_deref().unwrap()).unwrap().to_value();
    assert_eq!(at(&s, "audiences.vip.enteredAt").as_f64(), Some(T0 + 1.0));
    assert!(s.pointer_dotted("audiences.new").is_none());
}

#[test]
fn a_replace_overwrites_and_nothing_stored_keeps_the_tabs_profile() {
    let mut stored = None;
    let mut a = Tab::open(&stored);
    a.track("page_view", "{}", T0);
    a.save(&mut stored, T0);
    let mut b = Tab::open(&stored);
    b.track("page_view", "{}", T0 + 1.0);
    // A reset in `a`: a new shopper, written as is.
    a.profile = Profile::new("anon-2", T0 + 2.0);
    a.changes.replace();
    a.save(&mut stored, T0 + 2.0);
    let s = Profile::from_json(stored.as_deref().unwrap()).unwrap();
    assert_eq!(s.anonymous_id(), "anon-2");
    assert_eq!(at(&s.to_value(), "events.page_view.count").as_f64(), Some(0.0));
    // `b`'s view merges into the new shopper's profile (the tabs agree on one shopper).
    b.save(&mut stored, T0 + 3.0);
    assert_eq!(b.profile.anonymous_id(), "anon-2");
    assert_eq!(at(&b.profile.to_value(), "events.page_view.count").as_f64(), Some(1.0));
    // Unreadable stored text is overwritten by a tab with changes, left alone by one without.
    let mut damaged = Some(String::from("{"));
    let mut c = Tab::open(&None);
    c.save(&mut damaged, T0);
    assert_eq!(damaged.as_deref(), Some("{"));
    c.track("page_view", "{}", T0);
    c.save(&mut damaged, T0);
    assert!(Profile::from_json(damaged.as_deref().unwrap()).is_ok());
}

#[test]
fn kept_attributes_follow_every_change_and_the_clock() {
    use super::attributes::{Attributes, MAX_AGE_MS};
    let mut p = p();
    let mut a = Attributes::default();
    let count = |a: &mut Attributes, p: &Profile, now: f64, path: &str| {
        a.get(p, now, Value::Object(Map::new())).pointer_dotted(path).cloned()
    };
    track(&mut p, "page_view", "{}", T0);
    assert_eq!(count(&mut a, &p, T0, "profile.events.page_view.count"), Some(Value::Number(1.0)));
    track(&mut p, "page_view", "{}", T0);
    assert_eq!(count(&mut a, &p, T0, "profile.events.page_view.count"), Some(Value::Number(2.0)));
    p.identify("u-1", Value::parse(r#"{"plan": "gold"}"#).unwrap(), T0).unwrap();
    assert_eq!(count(&mut a, &p, T0, "user.plan"), Some(Value::from("gold")));
    assert_eq!(count(&mut a, &p, T0, "id"), Some(Value::from("u-1")));
    // The context is each decision's own: the next one replaces it.
    let ctx =
        a.get(&p, T0, Value::parse(r#"{"url": "https://x.example/"}"#).unwrap()).pointer_dotted("context.url").cloned();
    assert_eq!(ctx, Some(Value::from("https://x.example/")));
    assert_eq!(count(&mut a, &p, T0, "context"), Some(Value::Object(Map::new())));
    // Unchanged, the snapshot is reused for MAX_AGE_MS, then rebuilt as of the new time.
    let later = T0 + 31.0 * MIN;
    let active = |a: &mut Attributes, now: f64| count(a, &p, now, "profile.session.active");
    assert_eq!(active(&mut a, T0 + MAX_AGE_MS), Some(Value::Bool(true)));
    assert_eq!(active(&mut a, later), Some(Value::Bool(false)), "older than MAX_AGE_MS: rebuilt");
    assert_eq!(active(&mut a, T0), Some(Value::Bool(true)), "the clock went back: rebuilt");
}
