//! Property tests of context capture: any browser input gives a context object without
//! panicking, within its bounds, and UTM parameters are read back as written.

use proptest::prelude::*;
use tailor::engine::context::{capture, query_params, RawContext, MAX_URL_CHARS};
use tailor::engine::json::Value;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(https?://)?[a-zA-Z0-9.@:]{0,20}(/[a-z%0-9éü]{0,8}){0,3}(\\?([a-z_]{1,12}=[a-zA-Z0-9%+&=éü]{0,12}&?){0,4})?(#.*)?",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn any_input_gives_a_bounded_context(
        url in proptest::option::of(text()),
        referrer in proptest::option::of(text()),
        language in proptest::option::of(any::<String>()),
        time_zone in proptest::option::of(any::<String>()),
        screen_width in proptest::option::of(any::<f64>()),
        user_agent in proptest::option::of(any::<String>()),
        tz_offset_minutes in proptest::option::of(any::<f64>()),
        now in any::<f64>(),
    ) {
        let raw = RawContext { url, referrer, language, time_zone, screen_width, user_agent, tz_offset_minutes };
        let c = capture(&raw, now);
        prop_assert!(c.as_object().is_some());
        if let Some(u) = c.get("url").and_then(Value::as_str) {
            prop_assert!(u.chars().count() <= MAX_URL_CHARS);
        }
        if let Some(h) = c.get("localHour").and_then(Value::as_f64) {
            prop_assert!((0.0..24.0).contains(&h) && h.fract() == 0.0);
        }
        if let Some(d) = c.get("dayOfWeek").and_then(Value::as_f64) {
            prop_assert!((0.0..7.0).contains(&d) && d.fract() == 0.0);
        }
        // The JSON text reads back as the same value.
        prop_assert_eq!(Value::parse(&c.to_json()).unwrap(), c);
    }

    #[test]
    fn utm_values_read_back(source in "[a-zA-Z0-9 é&=+%/?]{1,30}", campaign in "[a-z0-9_-]{1,20}") {
        let enc: String = source.bytes().map(|b| format!("%{b:02X}")).collect();
        let url = format!("https://shop.example/p?x=1&utm_source={enc}&utm_campaign={campaign}#frag");
        let c = capture(&RawContext { url: Some(url), ..RawContext::default() }, 0.0);
        prop_assert_eq!(c.pointer_dotted("utm.source").and_then(Value::as_str), Some(source.as_str()));
        prop_assert_eq!(c.pointer_dotted("utm.campaign").and_then(Value::as_str), Some(campaign.as_str()));
        prop_assert_eq!(c.get("path").and_then(Value::as_str), Some("/p"));
        prop_assert_eq!(query_params("a=1&&b").count(), 2);
    }
}
