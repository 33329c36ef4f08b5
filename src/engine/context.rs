//! Context capture: turns what the browser reports about the page view into the `context`
//! value that events carry and that conditions read as `context.*`.
//!
//! The web layer collects the raw inputs (only those the shopper has consented to: leave
//! the others `None` and they are left out) and calls [`capture`]. Everything here is pure
//! string and number work, so the browser and the native tests give the same answers.
//! The attributes are listed in `docs/profile.md`.

use crate::engine::json::{Map, Value};

/// Longest URL or referrer kept, in characters (longer ones are cut).
pub const MAX_URL_CHARS: usize = 2048;
/// Longest UTM value kept, in characters.
pub const MAX_UTM_CHARS: usize = 200;

/// What the browser reports. `None` means "not collected" (no consent, or unavailable).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawContext {
    /// `location.href`.
    pub url: Option<String>,
    /// `document.referrer` (empty when there is none).
    pub referrer: Option<String>,
    /// `navigator.language`, e.g. `de-DE`.
    pub language: Option<String>,
    /// `Intl.DateTimeFormat().resolvedOptions().timeZone`, e.g. `Europe/Berlin`.
    pub time_zone: Option<String>,
    /// `screen.width` in CSS pixels.
    pub screen_width: Option<f64>,
    /// `navigator.userAgent`.
    pub user_agent: Option<String>,
    /// `new Date().getTimezoneOffset()`: minutes to add to local time to get UTC
    /// (-120 in Berlin in summer). With the time passed to [`capture`] it gives the local
    /// hour and day of the week.
    pub tz_offset_minutes: Option<f64>,
}

/// The device class from the user agent, or from the screen width when the user agent
/// does not say: `"mobile"` (< 768 px), `"tablet"` (< 1024 px) or `"desktop"`.
pub fn device_class(user_agent: Option<&str>, screen_width: Option<f64>) -> Option<&'static str> {
    if let Some(ua) = user_agent {
        if ua.contains("iPad") || ua.contains("Tablet") || (ua.contains("Android") && !ua.contains("Mobile")) {
            return Some("tablet");
        }
        if ua.contains("Mobi") || ua.contains("iPhone") || ua.contains("iPod") {
            return Some("mobile");
        }
    }
    match screen_width {
        Some(w) if w.is_finite() && w > 0.0 => Some(if w < 768.0 {
            "mobile"
        } else if w < 1024.0 {
            "tablet"
        } else {
            "desktop"
        }),
        _ => user_agent.map(|_| "desktop"),
    }
}

/// The parts of an absolute URL: `(host, path, query)`; query without `?`, fragment dropped.
/// Returns None for text that is not `scheme://...`.
pub fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty() || !scheme.bytes().all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c)) {
        return None;
    }
    let rest = rest.split('#').next().unwrap_or("");
    let host_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..host_end];
    let host = authority.bytes().rposition(|c| c == b'@').map_or(authority, |at| &authority[at + 1..]);
    let after = &rest[host_end..];
    let (path, query) = after.split_once('?').unwrap_or((after, ""));
    Some((host, if path.is_empty() { "/" } else { path }, query))
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte; invalid
/// escapes are kept as written and invalid UTF-8 becomes U+FFFD.
pub fn decode_component(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() && hex(b[i + 1]).is_some() && hex(b[i + 2]).is_some() => {
                out.push(hex(b[i + 1]).unwrap_or(0) << 4 | hex(b[i + 2]).unwrap_or(0));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The query parameters, decoded, in order (a repeated name appears as often as written).
pub fn query_params(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (decode_component(k), decode_component(v))
    })
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

const UTM: [(&str, &str); 5] = [
    ("utm_source", "source"),
    ("utm_medium", "medium"),
    ("utm_campaign", "campaign"),
    ("utm_term", "term"),
    ("utm_content", "content"),
];

/// Builds the context value from the raw inputs at `now_ms` (Unix ms, for the local time).
pub fn capture(raw: &RawContext, now_ms: f64) -> Value {
    let mut m = Map::new();
    if let Some(url) = raw.url.as_deref().filter(|u| !u.is_empty()) {
        m.insert("url", Value::from(cut(url, MAX_URL_CHARS)));
        if let Some((host, path, query)) = split_url(url) {
            m.insert("host", Value::from(cut(&host.to_ascii_lowercase(), 255)));
            m.insert("path", Value::from(cut(path, MAX_URL_CHARS)));
            let mut utm = Map::new();
            for (k, v) in query_params(query) {
                if let Some((_, name)) = UTM.iter().find(|(q, _)| q.eq_ignore_ascii_case(&k)) {
                    if !v.is_empty() && !utm.contains_key(name) {
                        utm.insert(*name, Value::from(cut(&v, MAX_UTM_CHARS)));
                    }
                }
            }
            if !utm.is_empty() {
                m.insert("utm", Value::Object(utm));
            }
        }
    }
    if let Some(r) = raw.referrer.as_deref().filter(|r| !r.is_empty()) {
        m.insert("referrer", Value::from(cut(r, MAX_URL_CHARS)));
        if let Some((host, _, _)) = split_url(r) {
            m.insert("referrerHost", Value::from(cut(&host.to_ascii_lowercase(), 255)));
        }
    }
    if let Some(lang) = raw.language.as_deref().filter(|l| !l.is_empty() && l.len() <= 35) {
        m.insert("locale", Value::from(lang));
        let primary = lang.split(['-', '_']).next().unwrap_or(lang);
        m.insert("language", Value::from(primary.to_ascii_lowercase()));
    }
    if let Some(tz) = raw.time_zone.as_deref().filter(|t| !t.is_empty() && t.len() <= 64) {
        m.insert("timeZone", Value::from(tz));
    }
    if let Some(device) = device_class(raw.user_agent.as_deref(), raw.screen_width) {
        m.insert("device", Value::from(device));
    }
    if let Some(w) = raw.screen_width.filter(|w| w.is_finite() && *w > 0.0) {
        m.insert("screenWidth", Value::Number(w.round()));
    }
    if let Some(offset) = raw.tz_offset_minutes.filter(|o| o.is_finite() && o.abs() <= 24.0 * 60.0) {
        if now_ms.is_finite() {
            let local = now_ms - offset * 60_000.0;
            let hours = (local / 3_600_000.0).floor();
            let days = (local / 86_400_000.0).floor();
            m.insert("localHour", Value::Number(rem_whole(hours, 24)));
            // 1970-01-01 was a Thursday; 0 is Sunday, as Date.getDay().
            m.insert("dayOfWeek", Value::Number(rem_whole(days + 4.0, 7)));
        }
    }
    Value::Object(m)
}

/// `x.rem_euclid(m as f64)` for a finite whole `x`, exactly, in integer arithmetic: the
/// same answers (a zero keeps the sign of `x`) without pulling `fmod` and 128-bit division
/// into the browser build.
fn rem_whole(x: f64, m: u64) -> f64 {
    let a = x.abs();
    let r = if a < 9.2e18 {
        a as u64 % m
    } else {
        // a = mantissa * 2^shift with shift > 0: reduce the mantissa, then double `shift` times.
        let bits = a.to_bits();
        let shift = (bits >> 52) as i32 - 1075;
        let mut r = ((bits & ((1 << 52) - 1)) | (1 << 52)) % m;
        for _ in 0..shift {
            r = r * 2 % m;
        }
        r
    };
    if r == 0 {
        0.0f64.copysign(x)
    } else if x < 0.0 {
        (m - r) as f64
    } else {
        r as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
    const ANDROID_TABLET: &str =
        "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
    const DESKTOP: &str =
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

    #[test]
    fn rem_whole_is_rem_euclid() {
        let mut seed = 3u64;
        let mut cases = vec![0.0, -0.0, 24.0, -24.0, -1.0, 1.0, 23.0, -25.0, 9.2e18, -9.3e18, 1e300, -1e300, f64::MAX];
        for _ in 0..20_000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let x = f64::from_bits(seed);
            if x.is_finite() {
                cases.push(x.floor());
                cases.push(((seed >> 11) as f64 - 4.5e15).floor());
            }
        }
        for x in cases {
            for m in [24, 7] {
                let (got, want) = (rem_whole(x, m), x.rem_euclid(m as f64));
                assert_eq!(got.to_bits(), want.to_bits(), "{x} % {m}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn captures_url_utm_locale_device_and_local_time() {
        let raw = RawContext {
            url: Some("https://Shop.example.com/sale/shoes?utm_source=news%20letter&UTM_MEDIUM=email&utm_campaign=spring+sale&x=1#top".into()),
            referrer: Some("https://www.google.com/search?q=shoes".into()),
            language: Some("de-DE".into()),
            time_zone: Some("Europe/Berlin".into()),
            screen_width: Some(390.0),
            user_agent: Some(IPHONE.into()),
            tz_offset_minutes: Some(-120.0),
        };
        // 2023-11-14 22:13:20 UTC is a Tuesday; 00:13 on Wednesday at UTC+2.
        let c = capture(&raw, 1_700_000_000_000.0);
        assert_eq!(
            c.to_json(),
            r#"{"url":"https://Shop.example.com/sale/shoes?utm_source=news%20letter&UTM_MEDIUM=email&utm_campaign=spring+sale&x=1#top","host":"shop.example.com","path":"/sale/shoes","utm":{"source":"news letter","medium":"email","campaign":"spring sale"},"referrer":"https://www.google.com/search?q=shoes","referrerHost":"www.google.com","locale":"de-DE","language":"de","timeZone":"Europe/Berlin","device":"mobile","screenWidth":390,"localHour":0,"dayOfWeek":3}"#
        );
    }

    #[test]
    fn only_what_was_collected() {
        assert_eq!(capture(&RawContext::default(), 0.0).to_json(), "{}");
        let raw = RawContext { url: Some("not a url".into()), ..Default::default() };
        assert_eq!(capture(&raw, 0.0).to_json(), r#"{"url":"not a url"}"#);
    }

    #[test]
    fn device_classes() {
        assert_eq!(device_class(Some(ANDROID_TABLET), Some(1280.0)), Some("tablet"));
        assert_eq!(device_class(Some(DESKTOP), Some(1920.0)), Some("desktop"));
        assert_eq!(device_class(Some(DESKTOP), Some(700.0)), Some("mobile"));
        assert_eq!(device_class(None, Some(800.0)), Some("tablet"));
        assert_eq!(device_class(None, None), None);
    }

    #[test]
    fn urls_and_escapes() {
        assert_eq!(split_url("http://a.b"), Some(("a.b", "/", "")));
        assert_eq!(split_url("https://u:p@h:8080/p?q=1"), Some(("h:8080", "/p", "q=1")));
        assert_eq!(decode_component("a%2"), "a%2");
        assert_eq!(decode_component("%C3%A9%ZZ+%ff"), "é%ZZ \u{FFFD}");
    }
}
