//! The server's Ed25519 key: generated, stored, loaded; signing and verifying ruleset
//! envelopes over the canonical payload of [`tailor::engine::wire`].

use std::io::Write as _;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use tailor::engine::json::Value;
use tailor::engine::regex::NativeRegex;
use tailor::engine::ruleset::Ruleset;
use tailor::engine::wire::RulesetEnvelope;

/// How long a signed envelope stays valid unless told otherwise: 30 days.
pub const DEFAULT_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

/// A signing key and its id. The key file holds the base64 of the 32-byte secret seed.
pub struct Keypair {
    signing: SigningKey,
    key_id: String,
}

impl Keypair {
    pub fn generate() -> Result<Keypair, String> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| format!("no randomness for a key: {e}"))?;
        Ok(Keypair::from_seed(seed))
    }

    pub fn from_seed(seed: [u8; 32]) -> Keypair {
        let signing = SigningKey::from_bytes(&seed);
        let key_id = key_id(&signing.verifying_key());
        Keypair { signing, key_id }
    }

    /// Reads a key file (base64 of the 32-byte seed, surrounding whitespace ignored).
    pub fn from_file_text(text: &str) -> Result<Keypair, String> {
        let bytes = B64.decode(text.trim()).map_err(|e| format!("the key is not base64: {e}"))?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| "the key must be 32 bytes (an Ed25519 seed)".to_string())?;
        Ok(Keypair::from_seed(seed))
    }

    pub fn load(path: &Path) -> Result<Keypair, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the key {}: {e}", path.display()))?;
        Keypair::from_file_text(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Loads the key at `path`, or creates it (mode 0600, parent directories too) when there
    /// is none. Safe when several servers start at once: one creates, the others read.
    pub fn load_or_create(path: &Path) -> Result<(Keypair, bool), String> {
        if path.exists() {
            return Ok((Keypair::load(path)?, false));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let key = Keypair::generate()?;
        match Keypair::write_new(path, &key) {
            Ok(()) => Ok((key, true)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // Another process won the race; give it a moment to finish writing.
                for _ in 0..50 {
                    if let Ok(k) = Keypair::load(path) {
                        return Ok((k, false));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Keypair::load(path).map(|k| (k, false))
            }
            Err(e) => Err(format!("cannot write the key {}: {e}", path.display())),
        }
    }

    /// Writes the secret to a new file, refusing to overwrite one.
    pub fn write_new(path: &Path, key: &Keypair) -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path)?;
        writeln!(file, "{}", key.secret_base64())?;
        file.sync_all()
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// Standard base64 of the raw 32-byte public key, as WebCrypto's `importKey("raw")` takes it.
    pub fn public_base64(&self) -> String {
        B64.encode(self.signing.verifying_key().to_bytes())
    }

    pub fn secret_base64(&self) -> String {
        B64.encode(self.signing.to_bytes())
    }

    /// Signs `ruleset` as `version` of `site`, valid from `issued_at` for `ttl_ms`.
    pub fn sign(&self, site: &str, version: u64, issued_at: i64, ttl_ms: i64, ruleset: Value) -> RulesetEnvelope {
        let mut envelope = RulesetEnvelope {
            site: site.to_string(),
            version,
            issued_at,
            expires_at: issued_at.saturating_add(ttl_ms),
            key_id: self.key_id.clone(),
            ruleset,
            signature: String::new(),
        };
        let signature = self.signing.sign(envelope.signing_payload().as_bytes());
        envelope.signature = B64.encode(signature.to_bytes());
        envelope
    }
}

/// A key's id: the first 8 bytes of the raw public key, in lowercase hex. It names the key;
/// a verifier still checks the signature with the key it pinned.
pub fn key_id(key: &VerifyingKey) -> String {
    key.to_bytes()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a public key: standard base64 of the 32 raw bytes.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let bytes = B64.decode(text.trim()).map_err(|e| format!("the public key is not base64: {e}"))?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| "a public key is 32 bytes".to_string())?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("not an Ed25519 public key: {e}"))
}

/// Checks an envelope's signature with `key` and, when `now_ms` is given, its validity window.
pub fn verify(envelope: &RulesetEnvelope, key: &VerifyingKey, now_ms: Option<i64>) -> Result<(), String> {
    if envelope.key_id != key_id(key) {
        return Err(format!("signed by key {}, not by this key ({})", envelope.key_id, key_id(key)));
    }
    let bytes = B64.decode(&envelope.signature).map_err(|e| format!("signature: not base64: {e}"))?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|_| "signature: must be 64 bytes".to_string())?;
    key.verify_strict(envelope.signing_payload().as_bytes(), &Signature::from_bytes(&bytes))
        .map_err(|_| "signature: does not match the envelope".to_string())?;
    if let Some(now) = now_ms {
        if !envelope.is_current(now) {
            return Err(format!(
                "outside its validity window ({} to {}, now {now})",
                envelope.issued_at, envelope.expires_at
            ));
        }
    }
    Ok(())
}

/// Checks a ruleset before it is signed, with the decision engine's validator (the same one
/// the SDK runs): every error with its JSON path. HTML values of page changes must be in
/// sanitised form ([`crate::sanitise::sanitise_ruleset`] runs first wherever a ruleset is
/// published or signed), so no unsanitised HTML is ever signed.
pub fn validate_ruleset(ruleset: &Value) -> Result<(), Vec<String>> {
    let mut errors: Vec<String> = match Ruleset::compile(ruleset, &NativeRegex) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    };
    for path in crate::sanitise::unsanitised(ruleset) {
        errors.push(format!("{path}: HTML is not in sanitised form (publishing sanitises it first)"));
    }
    // The experiments' metrics: read by the results report only, so checked here.
    if let Ok(doc) = serde_json::from_str::<serde_json::Value>(&ruleset.to_json()) {
        errors.extend(crate::metrics::validate_ruleset(&doc));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_envelope_verifies_and_tampering_is_caught() {
        let key = Keypair::from_seed([7; 32]);
        let ruleset = Value::parse(r#"{"version":1,"offers":[]}"#).unwrap();
        let env = key.sign("shop", 2, 1_000, 60_000, ruleset);
        let public = parse_public_key(&key.public_base64()).unwrap();
        verify(&env, &public, Some(2_000)).unwrap();
        assert!(verify(&env, &public, Some(61_000)).unwrap_err().contains("validity"));
        let mut tampered = env.clone();
        tampered.version = 3;
        assert!(verify(&tampered, &public, None).unwrap_err().contains("does not match"));
        let mut tampered = env.clone();
        tampered.ruleset = Value::parse(r#"{"version":1,"offers":[1]}"#).unwrap();
        assert!(verify(&tampered, &public, None).is_err());
        let other = Keypair::from_seed([8; 32]).verifying_key();
        assert!(verify(&env, &other, None).unwrap_err().contains("not by this key"));
    }

    #[test]
    fn key_file_round_trips() {
        let key = Keypair::from_seed([9; 32]);
        let back = Keypair::from_file_text(&format!("{}\n", key.secret_base64())).unwrap();
        assert_eq!(back.public_base64(), key.public_base64());
        assert_eq!(back.key_id().len(), 16);
        assert!(Keypair::from_file_text("AAAA").is_err());
    }

    #[test]
    fn rulesets_are_checked_by_the_engine_validator() {
        assert!(validate_ruleset(&Value::parse(r#"{"version":1,"placements":{}}"#).unwrap()).is_ok());
        let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../www/ruleset.json")).unwrap();
        assert!(validate_ruleset(&Value::parse(&demo).unwrap()).is_ok());
        let errors = validate_ruleset(&Value::parse(r#"{"version":1,"offers":[{"id":"o"}]}"#).unwrap()).unwrap_err();
        assert!(errors.iter().any(|e| e.contains("offers")), "{errors:?}");
        assert!(validate_ruleset(&Value::parse(r#"[]"#).unwrap()).is_err());
    }
}
