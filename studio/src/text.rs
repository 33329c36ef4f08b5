//! What the Studio writes about time and reads from its tokens, pure Rust (tested natively):
//! "in 29 min", "3 h ago", the claims a `tp1.` preview token carries for its banner and
//! those a `ts1.` Studio token carries for the top bar and the roles.

/// "in 29 min", "in 3 h", "in 4 days", "2 min ago": how far `ms` is from `now` (both in ms).
pub fn from_now(ms: f64, now: f64) -> String {
    let d = ms - now;
    let m = (d.abs() / 60000.0).round();
    let text = if m < 60.0 {
        format!("{} min", whole(m))
    } else if m < 48.0 * 60.0 {
        format!("{} h", whole((m / 60.0).round()))
    } else {
        format!("{} days", whole((m / 1440.0).round()))
    };
    if d >= 0.0 {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

/// A whole number of minutes, hours or days as JavaScript writes it. Not through `{f64}`:
/// Rust's float formatting would add kilobytes to the module for numbers that are whole.
fn whole(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() || n >= 1e21 {
        // Beyond what a date can be (JavaScript would write 1e+21 and up differently).
        "Infinity".into()
    } else {
        (n as u64).to_string()
    }
}

/// What a preview token (`tp1.<claims>.<signature>`) says about itself, unverified: the
/// server checks it. For the preview banner only.
#[derive(Debug, PartialEq)]
pub struct PreviewClaims {
    pub site: String,
    pub draft: Option<String>,
    /// Expiry, ms since the epoch (NaN when the token does not say).
    pub expires_at: f64,
}

/// The claims of a `tp1.` token, or `None` when it is not one.
pub fn preview_claims(token: &str) -> Option<PreviewClaims> {
    let (text, _) = claims_text(token, "tp1.")?;
    let mut lines = text.split('\n');
    let site = lines.next().unwrap_or_default().to_string();
    let draft = lines.next().map(str::to_string);
    let expires_at = lines.next().map_or(f64::NAN, expiry);
    Some(PreviewClaims { site, draft, expires_at })
}

/// What a Studio token (`ts1.<claims>.<signature>`) says about itself, unverified: the
/// server checks it on every call. The claims are lines: site, role, expiry, key id, who.
#[derive(Debug, PartialEq)]
pub struct StudioClaims {
    pub site: String,
    /// `None` when the token has fewer lines than the server writes.
    pub role: Option<String>,
    /// Expiry, ms since the epoch (NaN when the token does not say).
    pub expires_at: f64,
    pub key_id: Option<String>,
    /// Who the link was made for; `None` when it does not say.
    pub who: Option<String>,
}

/// The claims of a `ts1.` token, or `None` when it is not one: exactly three dot-separated
/// parts, the last two base64url.
pub fn studio_claims(token: &str) -> Option<StudioClaims> {
    let (text, signature) = claims_text(token, "ts1.")?;
    let b64 = !signature.is_empty() && signature.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !b64 {
        return None;
    }
    let mut lines = text.split('\n');
    let site = lines.next().unwrap_or_default().to_string();
    let role = lines.next().map(str::to_string);
    let expires_at = lines.next().map_or(f64::NAN, expiry);
    let key_id = lines.next().map(str::to_string);
    let who = lines.next().filter(|w| !w.is_empty()).map(str::to_string);
    Some(StudioClaims { site, role, expires_at, key_id, who })
}

/// `<prefix><claims>.<signature>`: the claims decoded (base64url, lossy UTF-8) and the
/// signature as written, or `None` when the token has no such parts.
fn claims_text<'a>(token: &'a str, prefix: &str) -> Option<(String, &'a str)> {
    let (claims, signature) = token.strip_prefix(prefix)?.split_once('.')?;
    if claims.is_empty() {
        return None;
    }
    let bytes = base64url(claims)?;
    Some((String::from_utf8_lossy(&bytes).into_owned(), signature))
}

/// A token's expiry line: the server writes whole milliseconds; an empty line is 0 (as
/// JavaScript's `Number("")`), anything else is not a time.
fn expiry(line: &str) -> f64 {
    match line.trim() {
        "" => 0.0,
        e if e.len() <= 15 && e.bytes().all(|b| b.is_ascii_digit()) => e.parse::<u64>().map_or(f64::NAN, |n| n as f64),
        _ => f64::NAN,
    }
}

/// Base64url without padding (the alphabet `A-Z a-z 0-9 - _`), or `None`.
fn base64url(s: &str) -> Option<Vec<u8>> {
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_now_reads_as_the_merchandiser_says_it() {
        let now = 1_000_000_000_000.0;
        assert_eq!(from_now(now + 29.0 * 60000.0, now), "in 29 min");
        assert_eq!(from_now(now + 3.0 * 3_600_000.0, now), "in 3 h");
        assert_eq!(from_now(now + 4.0 * 86_400_000.0, now), "in 4 days");
        assert_eq!(from_now(now - 2.0 * 60000.0, now), "2 min ago");
        assert_eq!(from_now(now, now), "in 0 min");
        assert_eq!(from_now(f64::NAN, now), "NaN days ago");
        assert_eq!(from_now(now + 90.0 * 60000.0 + 1.0, now), "in 2 h", "1.5 h rounds up, as Math.round does");
    }

    #[test]
    fn preview_claims_are_read_from_the_token() {
        // "demo\nspring-draft\n1765000000000\nk1" in base64url, without padding.
        let claims = "ZGVtbwpzcHJpbmctZHJhZnQKMTc2NTAwMDAwMDAwMAprMQ";
        let got = preview_claims(&format!("tp1.{claims}.c2ln")).unwrap();
        assert_eq!(
            got,
            PreviewClaims { site: "demo".into(), draft: Some("spring-draft".into()), expires_at: 1_765_000_000_000.0 }
        );
        assert_eq!(preview_claims("ts1.abc.def"), None);
        assert_eq!(preview_claims("tp1..sig"), None);
        assert_eq!(preview_claims("tp1.a*b.sig"), None);
        assert_eq!(preview_claims("tp1.abcde.sig"), None, "a length no base64 has");
    }

    #[test]
    fn studio_claims_are_read_from_the_token() {
        // "demo\npublish\n1765000000000\nk1\nana@shop" in base64url, without padding.
        let claims = "ZGVtbwpwdWJsaXNoCjE3NjUwMDAwMDAwMDAKazEKYW5hQHNob3A";
        let got = studio_claims(&format!("ts1.{claims}.c2ln")).unwrap();
        assert_eq!(
            got,
            StudioClaims {
                site: "demo".into(),
                role: Some("publish".into()),
                expires_at: 1_765_000_000_000.0,
                key_id: Some("k1".into()),
                who: Some("ana@shop".into()),
            }
        );
        // "demo\nview" only: the missing lines are missing, the expiry is not a time.
        let short = studio_claims("ts1.ZGVtbwp2aWV3.c2ln").unwrap();
        assert_eq!((short.role.as_deref(), short.key_id, short.who), (Some("view"), None, None));
        assert!(short.expires_at.is_nan());
        assert_eq!(studio_claims("tp1.ZGVtbwp2aWV3.c2ln"), None, "a preview token is not a Studio token");
        assert_eq!(studio_claims("ts1.ZGVtbwp2aWV3"), None, "no signature");
        assert_eq!(studio_claims("ts1.ZGVtbwp2aWV3.c2ln.more"), None, "a fourth part");
        assert_eq!(studio_claims("ts1.ZGVt+wp2.c2ln"), None, "not base64url");
        assert_eq!(studio_claims("ts1.abcde.c2ln"), None, "a length no base64 has");
    }
}
