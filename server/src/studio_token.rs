//! Studio tokens: short-lived proof that whoever holds the link may look at (or change) one
//! site in the results page and the Studio, without the admin token.
//!
//! `ts1.<claims>.<signature>`: `<claims>` is the base64url (no padding) of four lines,
//! `site`, `role`, expiry (Unix milliseconds) and the id of the signing key, and optionally
//! a fifth, `who` (a label for the audit log; tokens without it still verify); `<signature>`
//! the base64url Ed25519 signature, by the server's signing key (the one that signs
//! rulesets), of `tailor-studio-v1\n` followed by those four lines. The first line differs
//! from a ruleset envelope's (`tailor-ruleset-v1`), so neither signature passes for the other.
//!
//! Roles are ordered, each including the ones before it: `view` (read results), `edit`
//! (also make links for others, at most of its own role and lifetime), `publish`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};

use crate::signing::{key_id, Keypair};

/// The query parameter that carries a Studio token in a link.
pub const PARAM: &str = "tailor_studio";

const CONTEXT: &str = "tailor-studio-v1\n";
const PREFIX: &str = "ts1.";

/// How long a link stays valid unless told: 30 minutes; and at most: 24 hours.
pub const DEFAULT_TTL_MS: i64 = 30 * 60 * 1000;
pub const MAX_TTL_MS: i64 = 24 * 3600 * 1000;

/// What a Studio token allows, each role including the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    View,
    Edit,
    Publish,
}

impl Role {
    pub fn parse(text: &str) -> Result<Role, String> {
        match text {
            "view" => Ok(Role::View),
            "edit" => Ok(Role::Edit),
            "publish" => Ok(Role::Publish),
            other => Err(format!("role '{other}': expected view, edit or publish")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::View => "view",
            Role::Edit => "edit",
            Role::Publish => "publish",
        }
    }
}

/// What a valid token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    pub site: String,
    pub role: Role,
    /// Unix milliseconds; the token is refused from then on.
    pub expires_at: i64,
    /// Who the link was made for (`--who`), as the audit log names them.
    pub who: Option<String>,
}

/// Checks a `who` label: 1 to 64 characters, no control characters.
pub fn check_who(who: &str) -> Result<(), String> {
    if who.trim().is_empty() || who.chars().count() > 64 || who.chars().any(char::is_control) {
        return Err(format!("who '{who}': expected 1-64 characters without control characters"));
    }
    Ok(())
}

/// Why a token was refused: the `error` code of the JSON answer and its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not of the form `ts1.<claims>.<signature>`.
    Malformed(String),
    /// The signature does not match the claims (changed, or made with another key).
    Tampered,
    /// Valid, but its lifetime is over.
    Expired { expires_at: i64 },
    /// Valid, for another site.
    OtherSite { token_site: String, site: String },
    /// Valid for the site, with a role below the one needed.
    Role { has: Role, needs: Role },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Malformed(_) => "studio_token_malformed",
            Refusal::Tampered => "studio_token_tampered",
            Refusal::Expired { .. } => "studio_token_expired",
            Refusal::OtherSite { .. } => "studio_token_wrong_site",
            Refusal::Role { .. } => "studio_token_role",
        }
    }

    /// 401 when the token proves nothing, 403 when it proves too little.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) | Refusal::Tampered | Refusal::Expired { .. } => 401,
            Refusal::OtherSite { .. } | Refusal::Role { .. } => 403,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refusal::Malformed(why) => format!("the Studio token is malformed: {why}"),
            Refusal::Tampered => "the Studio token was tampered with: its signature does not match (or it was made \
                                  by another server's key)"
                .to_string(),
            Refusal::Expired { expires_at } => format!(
                "the Studio token expired at {} UTC: ask for a new link (tailor studio link)",
                timestamp(*expires_at)
            ),
            Refusal::OtherSite { token_site, site } => {
                format!("the Studio token is for site '{token_site}', not '{site}'")
            }
            Refusal::Role { has, needs } => format!(
                "the Studio token's role '{}' does not allow this: it needs '{}' or above",
                has.as_str(),
                needs.as_str()
            ),
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` of Unix milliseconds.
pub fn timestamp(ms: i64) -> String {
    let s = ms.div_euclid(1000);
    let t = s.rem_euclid(86_400);
    format!("{} {:02}:{:02}:{:02}", crate::results::date(s.div_euclid(86_400)), t / 3600, t / 60 % 60, t % 60)
}

/// A token for `site` with `role`, valid until `expires_at` (Unix milliseconds).
pub fn issue(key: &Keypair, site: &str, role: Role, expires_at: i64) -> String {
    issue_for(key, site, role, expires_at, None)
}

/// [`issue`], naming who the token is for (checked with [`check_who`] by the callers).
pub fn issue_for(key: &Keypair, site: &str, role: Role, expires_at: i64, who: Option<&str>) -> String {
    let mut claims = format!("{site}\n{}\n{expires_at}\n{}", role.as_str(), key.key_id());
    if let Some(who) = who {
        claims.push('\n');
        claims.push_str(who);
    }
    let signature = key.sign_message(format!("{CONTEXT}{claims}").as_bytes());
    format!("{PREFIX}{}.{}", URL_SAFE_NO_PAD.encode(claims), URL_SAFE_NO_PAD.encode(signature))
}

/// Checks `token`'s form, signature (with `key`) and lifetime at `now_ms`.
pub fn verify(key: &VerifyingKey, token: &str, now_ms: i64) -> Result<Claims, Refusal> {
    let malformed = |why: &str| Refusal::Malformed(why.to_string());
    let rest = token.strip_prefix(PREFIX).ok_or_else(|| malformed("it does not start with 'ts1.'"))?;
    let (claims, signature) = rest.split_once('.').ok_or_else(|| malformed("it has no signature part"))?;
    let claims = URL_SAFE_NO_PAD.decode(claims).map_err(|_| malformed("its claims are not base64url"))?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| malformed("its signature is not base64url"))?;
    let signature: [u8; 64] = signature.try_into().map_err(|_| malformed("its signature is not 64 bytes"))?;
    // The signature before anything the claims say.
    let signed = [CONTEXT.as_bytes(), &claims].concat();
    if key.verify_strict(&signed, &Signature::from_bytes(&signature)).is_err() {
        return Err(Refusal::Tampered);
    }
    let claims = String::from_utf8(claims).map_err(|_| malformed("its claims are not UTF-8"))?;
    let lines: Vec<&str> = claims.split('\n').collect();
    let (site, role, expires_at, kid, who) = match lines[..] {
        [site, role, expires_at, kid] => (site, role, expires_at, kid, None),
        [site, role, expires_at, kid, who] => (site, role, expires_at, kid, Some(who.to_string())),
        _ => return Err(malformed("its claims are not four or five lines")),
    };
    if kid != key_id(key) {
        return Err(Refusal::Tampered);
    }
    let role = Role::parse(role).map_err(Refusal::Malformed)?;
    let expires_at: i64 = expires_at.parse().map_err(|_| malformed("its expiry is not a number"))?;
    if now_ms >= expires_at {
        return Err(Refusal::Expired { expires_at });
    }
    Ok(Claims { site: site.to_string(), role, expires_at, who })
}

impl Claims {
    /// Whether these claims allow `needs` on `site`.
    pub fn allows(&self, site: &str, needs: Role) -> Result<(), Refusal> {
        if self.site != site {
            return Err(Refusal::OtherSite { token_site: self.site.clone(), site: site.to_string() });
        }
        if self.role < needs {
            return Err(Refusal::Role { has: self.role, needs });
        }
        Ok(())
    }
}

/// Reads a lifetime: a whole number with `s`, `m`, `h` or `d` (`90s`, `30m`, `2h`, `1d`),
/// or of seconds without; from 1 second to 24 hours. Returns milliseconds.
pub fn parse_ttl(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (number, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, "s"),
    };
    let unit_ms = match unit {
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("ttl '{text}': expected a number with s, m, h or d (e.g. 30m)")),
    };
    let n: i64 = number.parse().map_err(|_| format!("ttl '{text}': expected a number with s, m, h or d (e.g. 30m)"))?;
    let ms = n.saturating_mul(unit_ms);
    if !(1000..=MAX_TTL_MS).contains(&ms) {
        return Err(format!("ttl '{text}': a Studio link lives from 1s to 24h"));
    }
    Ok(ms)
}

/// Appends the token to `link` as the [`PARAM`] query parameter.
pub fn link(link: &str, token: &str) -> String {
    let sep = if link.contains('?') { '&' } else { '?' };
    format!("{link}{sep}{PARAM}={token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Keypair {
        Keypair::from_seed([3; 32])
    }

    #[test]
    fn a_token_verifies_until_it_expires_and_only_for_its_key() {
        let k = key();
        let t = issue(&k, "demo", Role::Edit, 10_000);
        let claims = verify(&k.verifying_key(), &t, 9_999).unwrap();
        assert_eq!(claims, Claims { site: "demo".into(), role: Role::Edit, expires_at: 10_000, who: None });
        let named = issue_for(&k, "demo", Role::View, 10_000, Some("Ana"));
        assert_eq!(verify(&k.verifying_key(), &named, 0).unwrap().who.as_deref(), Some("Ana"));
        assert!(check_who("Ana Lima").is_ok());
        assert!(check_who("a\nb").is_err() && check_who(" ").is_err() && check_who(&"x".repeat(65)).is_err());
        assert_eq!(verify(&k.verifying_key(), &t, 10_000), Err(Refusal::Expired { expires_at: 10_000 }));
        let other = Keypair::from_seed([4; 32]);
        assert_eq!(verify(&other.verifying_key(), &t, 0), Err(Refusal::Tampered));
    }

    #[test]
    fn changed_claims_are_tampering() {
        let k = key();
        let t = issue(&k, "demo", Role::View, 10_000);
        let (claims, sig) = t.strip_prefix(PREFIX).unwrap().split_once('.').unwrap();
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        for changed in
            [text.replace("view", "publish"), text.replace("10000", "99999999"), text.replace("demo", "shop")]
        {
            let forged = format!("{PREFIX}{}.{sig}", URL_SAFE_NO_PAD.encode(changed));
            assert_eq!(verify(&k.verifying_key(), &forged, 0), Err(Refusal::Tampered));
        }
        assert_eq!(verify(&k.verifying_key(), "ts1.abc", 0).unwrap_err().code(), "studio_token_malformed");
        assert_eq!(verify(&k.verifying_key(), "v1.1.x", 0).unwrap_err().code(), "studio_token_malformed");
    }

    #[test]
    fn roles_include_the_ones_before_them_and_sites_are_apart() {
        let c = |role| Claims { site: "demo".into(), role, expires_at: 1, who: None };
        assert!(c(Role::Publish).allows("demo", Role::View).is_ok());
        assert!(c(Role::Publish).allows("demo", Role::Edit).is_ok());
        assert!(c(Role::Edit).allows("demo", Role::View).is_ok());
        assert_eq!(c(Role::View).allows("demo", Role::Edit), Err(Refusal::Role { has: Role::View, needs: Role::Edit }));
        assert_eq!(c(Role::Edit).allows("demo", Role::Publish).unwrap_err().status(), 403);
        assert_eq!(c(Role::Publish).allows("shop", Role::View).unwrap_err().code(), "studio_token_wrong_site");
    }

    #[test]
    fn ttls_read_with_units_within_bounds() {
        assert_eq!(parse_ttl("30m"), Ok(1_800_000));
        assert_eq!(parse_ttl("2h"), Ok(7_200_000));
        assert_eq!(parse_ttl("45"), Ok(45_000));
        assert_eq!(parse_ttl("1d"), Ok(86_400_000));
        assert!(parse_ttl("2d").unwrap_err().contains("1s to 24h"));
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("ten").unwrap_err().contains("e.g. 30m"));
        assert_eq!(timestamp(1_765_000_000_123), "2025-12-06 05:46:40");
        assert_eq!(link("/admin/results?site=demo", "T"), "/admin/results?site=demo&tailor_studio=T");
    }
}
