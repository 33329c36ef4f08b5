//! Identity tokens: proof, issued by the shop's own backend at login, that a browser speaks
//! for a user id. `v1.<exp>.<sig>`: `<exp>` is the expiry in Unix seconds and `<sig>` the
//! base64url (no padding) HMAC-SHA256, keyed with the site's identity secret, of
//! `tailor-identity-v1\n<site>\n<userId>\n<exp>`. The secret never reaches the browser.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, site: &str, user_id: &str, exp: u64) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    m.update(format!("tailor-identity-v1\n{site}\n{user_id}\n{exp}").as_bytes());
    m
}

/// The token for `user_id` on `site`, valid until `exp` (Unix seconds).
pub fn token(secret: &str, site: &str, user_id: &str, exp: u64) -> String {
    let sig = mac(secret, site, user_id, exp).finalize().into_bytes();
    format!("v1.{exp}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// Whether `token` proves `user_id` on `site` at `now_s` (constant-time signature check).
pub fn verify(secret: &str, site: &str, user_id: &str, token: &str, now_s: u64) -> bool {
    let mut parts = token.splitn(3, '.');
    let (Some("v1"), Some(exp), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(exp) = exp.parse::<u64>() else { return false };
    let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else { return false };
    exp > now_s && mac(secret, site, user_id, exp).verify_slice(&sig).is_ok()
}

/// Parses `SITE=SECRET` (the `--identity-secret` flag) or a comma-separated list of them
/// (`TAILOR_IDENTITY_SECRETS`). `*` as the site names the secret of every site without one
/// of its own.
pub fn parse_secrets(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((site, secret)) = item.split_once('=') else {
            return Err(format!(
                "identity secret '{site}': expected SITE=SECRET",
                site = item.split('=').next().unwrap_or("")
            ));
        };
        if site != "*" && !tailor::engine::wire::is_valid_name(site) {
            return Err(format!("identity secret: site '{site}' must be 1-64 of A-Z a-z 0-9 . _ -"));
        }
        if secret.len() < 16 {
            return Err(format!("identity secret for site '{site}': use at least 16 characters"));
        }
        out.push((site.to_string(), secret.to_string()));
    }
    Ok(out)
}

/// The secrets that verify tokens of `site`: its own, else those given for `*`.
pub fn secrets_for<'a>(secrets: &'a [(String, String)], site: &str) -> impl Iterator<Item = &'a str> + 'a {
    let own = secrets.iter().any(|(s, _)| s == site);
    let site = site.to_string();
    secrets.iter().filter(move |(s, _)| if own { *s == site } else { s == "*" }).map(|(_, secret)| secret.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_for_its_site_user_and_lifetime() {
        let t = token("0123456789abcdef", "shop", "u-1", 2_000);
        assert!(verify("0123456789abcdef", "shop", "u-1", &t, 1_999));
        assert!(!verify("0123456789abcdef", "shop", "u-1", &t, 2_000), "expired");
        assert!(!verify("0123456789abcdef", "shop", "u-2", &t, 1_000), "other user");
        assert!(!verify("0123456789abcdef", "other", "u-1", &t, 1_000), "other site");
        assert!(!verify("another-secret-16", "shop", "u-1", &t, 1_000), "other secret");
        let forged = t.replacen("v1.2000.", "v1.9999999999.", 1);
        assert!(!verify("0123456789abcdef", "shop", "u-1", &forged, 1_000), "expiry changed");
        assert!(!verify("0123456789abcdef", "shop", "u-1", "v1.9999999999.forged", 1_000));
        assert!(!verify("0123456789abcdef", "shop", "u-1", "", 1_000));
    }

    #[test]
    fn secrets_parse_with_clear_errors() {
        assert_eq!(parse_secrets("a=0123456789abcdef, b=fedcba9876543210").unwrap().len(), 2);
        assert!(parse_secrets("nosecret").unwrap_err().contains("SITE=SECRET"));
        assert!(parse_secrets("a=short").unwrap_err().contains("at least 16"));
        assert!(parse_secrets("a b=0123456789abcdef").unwrap_err().contains("site 'a b'"));
    }

    #[test]
    fn a_site_uses_its_own_secret_else_the_wildcard() {
        let secrets = parse_secrets("*=wildcard-secret-16, shop=shop-secret-123456").unwrap();
        assert_eq!(secrets_for(&secrets, "shop").collect::<Vec<_>>(), ["shop-secret-123456"]);
        assert_eq!(secrets_for(&secrets, "other").collect::<Vec<_>>(), ["wildcard-secret-16"]);
        let only_shop = parse_secrets("shop=shop-secret-123456").unwrap();
        assert_eq!(secrets_for(&only_shop, "other").count(), 0);
    }
}
