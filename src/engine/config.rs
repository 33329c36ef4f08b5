//! The options a storefront passes to `Tailor.init(config)`, validated.
//!
//! Every problem names the option and says what was expected, and says whether it is a
//! wrong type (`TypeError` in JavaScript) or a value out of range (`RangeError`).

use crate::engine::error::{ApiError, ErrorClass};
use crate::engine::json::{write_plain_number, Value};

/// Whether the shopper allowed storing and sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consent {
    Granted,
    Denied,
    Pending,
}

impl Consent {
    pub fn parse(s: &str) -> Option<Consent> {
        match s {
            "granted" => Some(Consent::Granted),
            "denied" => Some(Consent::Denied),
            "pending" => Some(Consent::Pending),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Consent::Granted => "granted",
            Consent::Denied => "denied",
            Consent::Pending => "pending",
        }
    }
}

/// Where the SDK keeps its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageKind {
    /// IndexedDB, else localStorage, else memory.
    Auto,
    IndexedDb,
    LocalStorage,
    Memory,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The shop's site key: names the ruleset and the local database.
    pub site: String,
    /// Base URL of the Tailor server (`https://t.example.com` or `/` for same origin);
    /// `None` keeps everything on the device.
    pub endpoint: Option<String>,
    /// Consent before the shopper said anything.
    pub consent: Consent,
    /// Whether `navigator.globalPrivacyControl` counts as an opt-out of sending.
    pub respect_gpc: bool,
    pub storage: StorageKind,
    /// Milliseconds between outbox flushes.
    pub flush_interval_ms: u32,
    /// Base64 of the server's Ed25519 public key that rulesets must be signed with.
    pub public_key: Option<String>,
    /// Events kept in memory while consent is pending.
    pub pending_limit: u32,
    /// A ruleset given inline (a JSON object), used until a newer one arrives from the server.
    pub ruleset: Option<Value>,
    /// Whether new ruleset versions are pushed to this page by the server's stream (off by
    /// default: it holds a connection per visible tab; see docs/sync.md, "Live updates").
    pub live_updates: bool,
}

/// A problem with one option.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    pub kind: ErrorClass,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The options the engine reads, as `Tailor.init`'s error messages list them (the browser
/// layer takes `pageChanges` and `nonce` out first: `src/web/changes.rs`).
pub const OPTIONS: &str =
    "site, endpoint, consent, respectGpc, storage, flushInterval, publicKey, pendingLimit, ruleset, liveUpdates";

fn type_err(field: &str, expected: &str, got: &Value) -> ConfigError {
    ConfigError {
        kind: ErrorClass::Type,
        message: format!("Tailor.init: config.{field} must be {expected}, got {}", got.type_name()),
    }
}

fn range_err(field: &str, message: &str) -> ConfigError {
    ConfigError { kind: ErrorClass::Range, message: format!("Tailor.init: config.{field} {message}") }
}

/// A site key: 1-64 of a-z, 0-9, '-' and '_', starting with a letter or digit.
pub fn valid_site(site: &str) -> bool {
    let b = site.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'_')
}

impl Config {
    /// Validates the object given to `Tailor.init`.
    pub fn from_value(v: &Value) -> Result<Config, ConfigError> {
        let Some(obj) = v.as_object() else {
            return Err(ConfigError {
                kind: ErrorClass::Type,
                message: format!(
                    "Tailor.init: config must be an object like {{ site: \"my-shop\" }}, got {}",
                    v.type_name()
                ),
            });
        };
        for key in obj.keys() {
            if !OPTIONS.split(", ").any(|k| k == key) {
                return Err(ConfigError {
                    kind: ErrorClass::Type,
                    message: format!("Tailor.init: config.{key} is not an option (options: {OPTIONS})"),
                });
            }
        }
        let string = |field: &str| -> Result<Option<&str>, ConfigError> {
            match obj.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(other) => Err(type_err(field, "a string", other)),
            }
        };
        let number = |field: &str, min: f64, max: f64, default: u32| -> Result<u32, ConfigError> {
            match obj.get(field) {
                None | Some(Value::Null) => Ok(default),
                Some(Value::Number(n)) if n.fract() == 0.0 && *n >= min && *n <= max => Ok(*n as u32),
                Some(Value::Number(_)) => {
                    let mut message = String::from("must be a whole number from ");
                    write_plain_number(min, &mut message);
                    message.push_str(" to ");
                    write_plain_number(max, &mut message);
                    Err(range_err(field, &message))
                }
                Some(other) => Err(type_err(field, "a number", other)),
            }
        };

        let site = match obj.get("site") {
            None | Some(Value::Null) => {
                return Err(ConfigError {
                    kind: ErrorClass::Type,
                    message: "Tailor.init: config.site is required (the shop's site key, e.g. \"my-shop\")".into(),
                })
            }
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(type_err("site", "a string", other)),
        };
        if !valid_site(&site) {
            return Err(range_err(
                "site",
                "must be 1-64 characters of a-z, 0-9, '-' or '_', starting with a letter or digit",
            ));
        }
        let endpoint = match string("endpoint")? {
            None => None,
            Some(e) if e.starts_with("https://") || e.starts_with("http://") || e.starts_with('/') => {
                Some(e.trim_end_matches('/').to_string())
            }
            Some(_) => return Err(range_err("endpoint", "must be an http(s) URL or a path starting with '/'")),
        };
        let consent = match string("consent")? {
            None => Consent::Pending,
            Some(s) => Consent::parse(s)
                .ok_or_else(|| range_err("consent", "must be one of \"granted\", \"denied\", \"pending\""))?,
        };
        let respect_gpc = match obj.get("respectGpc") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(type_err("respectGpc", "a boolean", other)),
        };
        let live_updates = match obj.get("liveUpdates") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(type_err("liveUpdates", "a boolean", other)),
        };
        let storage = match string("storage")? {
            None | Some("auto") => StorageKind::Auto,
            Some("indexeddb") => StorageKind::IndexedDb,
            Some("localstorage") => StorageKind::LocalStorage,
            Some("memory") => StorageKind::Memory,
            Some(_) => {
                return Err(range_err(
                    "storage",
                    "must be one of \"auto\", \"indexeddb\", \"localstorage\", \"memory\"",
                ))
            }
        };
        let flush_interval_ms = number("flushInterval", 1000.0, 600_000.0, 5000)?;
        let pending_limit = number("pendingLimit", 0.0, 1000.0, 100)?;
        let public_key = match string("publicKey")? {
            None => None,
            Some(k) if k.len() == 44 && k.ends_with('=') => Some(k.to_string()),
            Some(_) => return Err(range_err(
                "publicKey",
                "must be the base64 of a 32-byte Ed25519 public key (44 characters, as `tailor keys generate` prints)",
            )),
        };
        let ruleset = match obj.get("ruleset") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(other) => return Err(type_err("ruleset", "a ruleset object", other)),
        };
        Ok(Config {
            site,
            endpoint,
            consent,
            respect_gpc,
            storage,
            flush_interval_ms,
            public_key,
            pending_limit,
            ruleset,
            live_updates,
        })
    }
}

/// `Tailor.init`'s config, as the engine's reader found it (its message names the option).
impl From<ConfigError> for ApiError {
    fn from(e: ConfigError) -> ApiError {
        ApiError { class: e.kind, message: e.message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Config, ConfigError> {
        Config::from_value(&Value::parse(json).unwrap())
    }

    #[test]
    fn defaults_are_private() {
        let c = parse(r#"{"site":"demo"}"#).unwrap();
        assert_eq!(c.consent, Consent::Pending);
        assert!(c.respect_gpc);
        assert_eq!(c.endpoint, None);
        assert_eq!(c.flush_interval_ms, 5000);
        assert!(!c.live_updates, "no stream unless asked for");
    }

    #[test]
    fn each_bad_option_is_named() {
        let cases = [
            ("[]", ErrorClass::Type, "config must be an object"),
            ("{}", ErrorClass::Type, "config.site is required"),
            (r#"{"site":7}"#, ErrorClass::Type, "config.site must be a string, got number"),
            (r#"{"site":"My Shop"}"#, ErrorClass::Range, "config.site must be 1-64"),
            (r#"{"site":"a","consent":"yes"}"#, ErrorClass::Range, "config.consent must be one of"),
            (r#"{"site":"a","flushInterval":10}"#, ErrorClass::Range, "config.flushInterval must be a whole number"),
            (r#"{"site":"a","flushInterval":"5s"}"#, ErrorClass::Type, "config.flushInterval must be a number"),
            (r#"{"site":"a","endpoint":"ftp://x"}"#, ErrorClass::Range, "config.endpoint must be"),
            (r#"{"site":"a","sitee":"b"}"#, ErrorClass::Type, "config.sitee is not an option"),
            (r#"{"site":"a","respectGpc":"no"}"#, ErrorClass::Type, "config.respectGpc must be a boolean"),
            (r#"{"site":"a","liveUpdates":1}"#, ErrorClass::Type, "config.liveUpdates must be a boolean"),
            (r#"{"site":"a","publicKey":"abc"}"#, ErrorClass::Range, "config.publicKey must be"),
            (r#"{"site":"a","ruleset":"{}"}"#, ErrorClass::Type, "config.ruleset must be a ruleset object, got string"),
        ];
        for (json, kind, text) in cases {
            let err = parse(json).unwrap_err();
            assert_eq!(err.kind, kind, "{json}");
            assert!(err.message.contains(text), "{json}: {}", err.message);
        }
    }

    #[test]
    fn endpoint_loses_trailing_slash() {
        let c = parse(r#"{"site":"a","endpoint":"https://t.example.com/","consent":"granted"}"#).unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("https://t.example.com"));
        assert_eq!(c.consent, Consent::Granted);
        assert_eq!(parse(r#"{"site":"a","endpoint":"/"}"#).unwrap().endpoint.as_deref(), Some(""));
    }

    fn api_error(json: &str) -> ApiError {
        ApiError::from(Config::from_value(&Value::parse(json).unwrap()).unwrap_err())
    }

    #[test]
    fn config_errors_keep_the_readers_class_and_message() {
        let wrong_type = api_error(r#"{"site": 7}"#);
        assert_eq!(wrong_type.class, ErrorClass::Type);
        assert!(wrong_type.message.starts_with("Tailor.init: config.site"), "{wrong_type:?}");
        let unknown = api_error(r#"{"site": "demo", "sit": 1}"#);
        assert_eq!(unknown.class, ErrorClass::Type, "an unknown option is a TypeError: {unknown:?}");
        let range = api_error(r#"{"site": "demo", "flushInterval": -5}"#);
        assert_eq!(range.class, ErrorClass::Range, "{range:?}");
        assert!(range.message.contains("config.flushInterval"), "{range:?}");
    }
}
