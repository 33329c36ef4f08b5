//! Wire types shared by the browser and the server: the signed ruleset envelope and its
//! canonical signing payload, the events batch request and its per-event response, and the
//! server-side profile returned by identify.
//!
//! Everything here is plain data over [`Value`]: the browser builds and reads these with the
//! same code the server uses, so both sides agree byte for byte on what is signed.

use super::json::{Map, Value};

/// Prefix of the signed payload; bump it to change the payload format.
pub const SIGNATURE_CONTEXT: &str = "tailor-ruleset-v1";

/// The largest events batch the server accepts, in bytes of request body.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// The most events one batch may carry.
pub const MAX_BATCH_EVENTS: usize = 1000;

/// Why a wire value could not be read.
#[derive(Clone, Debug, PartialEq)]
pub struct WireError {
    /// The field at fault, as a dotted path (`"events"`, `"signature"`), or empty.
    pub field: String,
    pub reason: String,
}

impl WireError {
    fn new(field: &str, reason: impl Into<String>) -> WireError {
        WireError { field: field.to_string(), reason: reason.into() }
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.field, self.reason)
        }
    }
}

impl std::error::Error for WireError {}

/// Site names and key ids: 1 to 64 of `A-Z a-z 0-9 . _ -`. They appear in URLs and in the
/// line-separated signing payload, so they can hold neither `/` nor a newline.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A millisecond timestamp read from JSON: a finite number within ±2^53, truncated.
fn millis(v: &Value) -> Option<i64> {
    let n = v.as_f64()?;
    (n.is_finite() && n.abs() <= 9_007_199_254_740_991.0).then_some(n.trunc() as i64)
}

fn required<'a>(m: &'a Map, key: &str) -> Result<&'a Value, WireError> {
    m.get(key).ok_or_else(|| WireError::new(key, "missing"))
}

fn required_str<'a>(m: &'a Map, key: &str) -> Result<&'a str, WireError> {
    required(m, key)?.as_str().ok_or_else(|| WireError::new(key, "must be a string"))
}

fn required_millis(m: &Map, key: &str) -> Result<i64, WireError> {
    millis(required(m, key)?).ok_or_else(|| WireError::new(key, "must be a number of milliseconds"))
}

// ---------------------------------------------------------------------------------------
// Signed rulesets
// ---------------------------------------------------------------------------------------

/// What `GET /v1/rulesets/{site}` returns: a ruleset with its version, validity window and an
/// Ed25519 signature over [`RulesetEnvelope::signing_payload`].
///
/// JSON: `{"site", "version", "issuedAt", "expiresAt", "keyId", "ruleset": {...},
/// "signature": "<base64 of the 64-byte signature>"}`.
#[derive(Clone, Debug, PartialEq)]
pub struct RulesetEnvelope {
    pub site: String,
    /// Published revision for the site: 1, 2, 3, ... bumped by every publish.
    pub version: u64,
    /// Milliseconds since the Unix epoch.
    pub issued_at: i64,
    /// Milliseconds since the Unix epoch; a verifier refuses the envelope after this.
    pub expires_at: i64,
    /// Names the signing key (see `GET /v1/keys`).
    pub key_id: String,
    pub ruleset: Value,
    /// Standard base64 (with padding) of the 64-byte Ed25519 signature.
    pub signature: String,
}

impl RulesetEnvelope {
    /// The exact bytes that are signed: UTF-8 text of seven lines joined by `\n` (no trailing
    /// newline after the last):
    ///
    /// ```text
    /// tailor-ruleset-v1
    /// <site>
    /// <version, decimal>
    /// <issuedAt, decimal milliseconds>
    /// <expiresAt, decimal milliseconds>
    /// <keyId>
    /// <ruleset as compact JSON>
    /// ```
    ///
    /// The ruleset is written by [`Value::to_json`]: no whitespace, object keys in the order
    /// they appear in the envelope, strings escaped as `JSON.stringify` does and numbers
    /// written as JavaScript writes them. A verifier parses the envelope, re-serialises its
    /// `ruleset` the same way and checks the signature over these bytes.
    pub fn signing_payload(&self) -> String {
        signing_payload(&self.site, self.version, self.issued_at, self.expires_at, &self.key_id, &self.ruleset)
    }

    /// Whether the envelope is inside its validity window at `now_ms`.
    pub fn is_current(&self, now_ms: i64) -> bool {
        self.issued_at <= now_ms.saturating_add(5 * 60 * 1000) && now_ms < self.expires_at
    }

    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("site", Value::from(self.site.as_str()));
        m.insert("version", Value::Number(self.version as f64));
        m.insert("issuedAt", Value::Number(self.issued_at as f64));
        m.insert("expiresAt", Value::Number(self.expires_at as f64));
        m.insert("keyId", Value::from(self.key_id.as_str()));
        m.insert("ruleset", self.ruleset.clone());
        m.insert("signature", Value::from(self.signature.as_str()));
        Value::Object(m)
    }

    pub fn from_value(v: &Value) -> Result<RulesetEnvelope, WireError> {
        let m = v.as_object().ok_or_else(|| WireError::new("", "the envelope must be a JSON object"))?;
        let site = required_str(m, "site")?;
        if !is_valid_name(site) {
            return Err(WireError::new("site", "must be 1-64 of A-Z a-z 0-9 . _ -"));
        }
        let version = match required(m, "version")?.as_f64() {
            Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 => n as u64,
            _ => return Err(WireError::new("version", "must be a non-negative integer")),
        };
        let key_id = required_str(m, "keyId")?;
        if !is_valid_name(key_id) {
            return Err(WireError::new("keyId", "must be 1-64 of A-Z a-z 0-9 . _ -"));
        }
        let ruleset = required(m, "ruleset")?;
        if ruleset.as_object().is_none() {
            return Err(WireError::new("ruleset", "must be a JSON object"));
        }
        Ok(RulesetEnvelope {
            site: site.to_string(),
            version,
            issued_at: required_millis(m, "issuedAt")?,
            expires_at: required_millis(m, "expiresAt")?,
            key_id: key_id.to_string(),
            ruleset: ruleset.clone(),
            signature: required_str(m, "signature")?.to_string(),
        })
    }

    pub fn parse(text: &str) -> Result<RulesetEnvelope, WireError> {
        let v = Value::parse(text).map_err(|e| WireError::new("", e.to_string()))?;
        RulesetEnvelope::from_value(&v)
    }
}

/// The signed bytes for an envelope with these fields (see [`RulesetEnvelope::signing_payload`]).
pub fn signing_payload(
    site: &str,
    version: u64,
    issued_at: i64,
    expires_at: i64,
    key_id: &str,
    ruleset: &Value,
) -> String {
    let mut out = String::with_capacity(128);
    out.push_str(SIGNATURE_CONTEXT);
    for line in
        [site.to_string(), version.to_string(), issued_at.to_string(), expires_at.to_string(), key_id.to_string()]
    {
        out.push('\n');
        out.push_str(&line);
    }
    out.push('\n');
    ruleset.write_json(&mut out);
    out
}

// ---------------------------------------------------------------------------------------
// Events batches
// ---------------------------------------------------------------------------------------

/// The body of `POST /v1/events`:
/// `{"site"?: "...", "sentAt": <client ms when sent>, "events": [<wire event>, ...]}`.
///
/// Events are kept as values here: each is validated on its own, so one bad event is
/// rejected without failing the batch.
#[derive(Clone, Debug, PartialEq)]
pub struct EventBatch {
    /// The shop; the server's default site when absent.
    pub site: Option<String>,
    /// The client's clock when the batch was sent, for skew correction. Set it on every send
    /// (including retries), not when the batch was first built.
    pub sent_at: Option<i64>,
    pub events: Vec<Value>,
}

impl EventBatch {
    pub fn from_value(v: &Value) -> Result<EventBatch, WireError> {
        let m = v.as_object().ok_or_else(|| WireError::new("", "the batch must be a JSON object"))?;
        let site = match m.get("site") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if is_valid_name(s) => Some(s.clone()),
            Some(_) => return Err(WireError::new("site", "must be 1-64 of A-Z a-z 0-9 . _ -")),
        };
        let sent_at = match m.get("sentAt") {
            None | Some(Value::Null) => None,
            Some(v) => Some(millis(v).ok_or_else(|| WireError::new("sentAt", "must be a number of milliseconds"))?),
        };
        let events = required(m, "events")?.as_array().ok_or_else(|| WireError::new("events", "must be an array"))?;
        if events.len() > MAX_BATCH_EVENTS {
            return Err(WireError::new(
                "events",
                format!("{} events, more than the {MAX_BATCH_EVENTS} a batch may carry", events.len()),
            ));
        }
        Ok(EventBatch { site, sent_at, events: events.clone() })
    }

    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        if let Some(site) = &self.site {
            m.insert("site", Value::from(site.as_str()));
        }
        if let Some(sent_at) = self.sent_at {
            m.insert("sentAt", Value::Number(sent_at as f64));
        }
        m.insert("events", Value::Array(self.events.clone()));
        Value::Object(m)
    }
}

/// What happened to one event of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventStatus {
    /// Stored now.
    Accepted,
    /// Already stored (same id): the client can drop it from its outbox.
    Duplicate,
    /// Invalid; retrying will not help. `reason` says why.
    Rejected,
}

impl EventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Accepted => "accepted",
            EventStatus::Duplicate => "duplicate",
            EventStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<EventStatus> {
        Some(match s {
            "accepted" => EventStatus::Accepted,
            "duplicate" => EventStatus::Duplicate,
            "rejected" => EventStatus::Rejected,
            _ => return None,
        })
    }
}

/// Flag set on an event whose timestamp was more than 23 hours in the future.
pub const FLAG_CLAMPED_FUTURE: &str = "clamped_future";

/// One entry of a batch response; results are in the order of the request's events.
#[derive(Clone, Debug, PartialEq)]
pub struct EventResult {
    /// The event's id when it had a string one.
    pub id: Option<String>,
    pub status: EventStatus,
    pub reason: Option<String>,
    /// The server's timestamp for the event (skew-corrected, clamped), for stored events.
    pub ts: Option<i64>,
    /// E.g. [`FLAG_CLAMPED_FUTURE`].
    pub flags: Vec<String>,
}

impl EventResult {
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("id", self.id.as_deref().map_or(Value::Null, Value::from));
        m.insert("status", Value::from(self.status.as_str()));
        if let Some(reason) = &self.reason {
            m.insert("reason", Value::from(reason.as_str()));
        }
        if let Some(ts) = self.ts {
            m.insert("ts", Value::Number(ts as f64));
        }
        if !self.flags.is_empty() {
            m.insert("flags", Value::Array(self.flags.iter().map(|f| Value::from(f.as_str())).collect()));
        }
        Value::Object(m)
    }

    pub fn from_value(v: &Value) -> Result<EventResult, WireError> {
        let m = v.as_object().ok_or_else(|| WireError::new("results", "each result must be an object"))?;
        let status = EventStatus::parse(required_str(m, "status")?)
            .ok_or_else(|| WireError::new("status", "must be accepted, duplicate or rejected"))?;
        Ok(EventResult {
            id: m.get("id").and_then(Value::as_str).map(String::from),
            status,
            reason: m.get("reason").and_then(Value::as_str).map(String::from),
            ts: m.get("ts").and_then(millis),
            flags: m
                .get("flags")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
                .unwrap_or_default(),
        })
    }
}

/// The body of a 200 answer to `POST /v1/events`:
/// `{"receivedAt": ms, "accepted": n, "duplicates": n, "rejected": n, "results": [...]}`.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchResponse {
    pub received_at: i64,
    pub results: Vec<EventResult>,
}

impl BatchResponse {
    pub fn count(&self, status: EventStatus) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }

    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("receivedAt", Value::Number(self.received_at as f64));
        m.insert("accepted", Value::Number(self.count(EventStatus::Accepted) as f64));
        m.insert("duplicates", Value::Number(self.count(EventStatus::Duplicate) as f64));
        m.insert("rejected", Value::Number(self.count(EventStatus::Rejected) as f64));
        m.insert("results", Value::Array(self.results.iter().map(EventResult::to_value).collect()));
        Value::Object(m)
    }

    pub fn from_value(v: &Value) -> Result<BatchResponse, WireError> {
        let m = v.as_object().ok_or_else(|| WireError::new("", "the response must be a JSON object"))?;
        let results = required(m, "results")?
            .as_array()
            .ok_or_else(|| WireError::new("results", "must be an array"))?
            .iter()
            .map(EventResult::from_value)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BatchResponse { received_at: required_millis(m, "receivedAt")?, results })
    }
}

// ---------------------------------------------------------------------------------------
// Identify
// ---------------------------------------------------------------------------------------

/// The server's view of a shopper, returned by `POST /v1/identify` for the browser to merge:
/// `{"userId", "anonymousIds": [...], "traits": {...}, "counters": {"<type>": n},
/// "firstSeen"?: ms, "lastSeen"?: ms, "events": [<wire event>, newest first]}`.
///
/// `events` holds the most recent stored events of every linked anonymous id (at most 200,
/// `ts` being the server's corrected time); the browser replays those it does not have
/// (by id) into its profile.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ServerProfile {
    pub user_id: String,
    pub anonymous_ids: Vec<String>,
    pub traits: Map,
    pub counters: Vec<(String, u64)>,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub events: Vec<Value>,
    /// Whether the identify was proven by an identity token: only then does the answer
    /// carry anything of the user, and only then may the browser merge it.
    pub verified: bool,
}

impl ServerProfile {
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("userId", Value::from(self.user_id.as_str()));
        m.insert("anonymousIds", Value::Array(self.anonymous_ids.iter().map(|s| Value::from(s.as_str())).collect()));
        m.insert("traits", Value::Object(self.traits.clone()));
        m.insert(
            "counters",
            Value::Object(self.counters.iter().map(|(k, n)| (k.clone(), Value::Number(*n as f64))).collect()),
        );
        if let Some(t) = self.first_seen {
            m.insert("firstSeen", Value::Number(t as f64));
        }
        if let Some(t) = self.last_seen {
            m.insert("lastSeen", Value::Number(t as f64));
        }
        m.insert("events", Value::Array(self.events.clone()));
        m.insert("verified", Value::Bool(self.verified));
        Value::Object(m)
    }

    pub fn from_value(v: &Value) -> Result<ServerProfile, WireError> {
        let m = v.as_object().ok_or_else(|| WireError::new("", "the profile must be a JSON object"))?;
        let strings = |key: &str| -> Vec<String> {
            m.get(key)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
                .unwrap_or_default()
        };
        Ok(ServerProfile {
            user_id: required_str(m, "userId")?.to_string(),
            anonymous_ids: strings("anonymousIds"),
            traits: m.get("traits").and_then(Value::as_object).cloned().unwrap_or_default(),
            counters: m
                .get("counters")
                .and_then(Value::as_object)
                .map(|c| c.iter().filter_map(|(k, v)| Some((k.to_string(), v.as_f64()? as u64))).collect())
                .unwrap_or_default(),
            first_seen: m.get("firstSeen").and_then(millis),
            last_seen: m.get("lastSeen").and_then(millis),
            events: m.get("events").and_then(Value::as_array).cloned().unwrap_or_default(),
            verified: matches!(m.get("verified"), Some(Value::Bool(true))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> RulesetEnvelope {
        RulesetEnvelope {
            site: "shop-1".into(),
            version: 3,
            issued_at: 1_700_000_000_000,
            expires_at: 1_702_592_000_000,
            key_id: "k1".into(),
            ruleset: Value::parse(r#"{"version": 1, "b": [1.5, "é\n"], "a": {"x": 1e21}}"#).unwrap(),
            signature: "c2ln".into(),
        }
    }

    #[test]
    fn signing_payload_is_seven_lines_with_compact_ruleset() {
        assert_eq!(
            envelope().signing_payload(),
            "tailor-ruleset-v1\nshop-1\n3\n1700000000000\n1702592000000\nk1\n\
             {\"version\":1,\"b\":[1.5,\"é\\n\"],\"a\":{\"x\":1e+21}}"
        );
    }

    #[test]
    fn envelope_round_trips_and_payload_survives_reserialisation() {
        let e = envelope();
        let text = e.to_value().to_json();
        let back = RulesetEnvelope::parse(&text).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.signing_payload(), e.signing_payload());
    }

    #[test]
    fn envelope_fields_are_checked() {
        let mut v = envelope().to_value();
        v.as_object_mut().unwrap().insert("site", Value::from("a/b"));
        assert_eq!(RulesetEnvelope::from_value(&v).unwrap_err().field, "site");
        let mut v = envelope().to_value();
        v.as_object_mut().unwrap().remove("signature");
        assert_eq!(RulesetEnvelope::from_value(&v).unwrap_err().field, "signature");
        let mut v = envelope().to_value();
        v.as_object_mut().unwrap().insert("version", Value::Number(1.5));
        assert_eq!(RulesetEnvelope::from_value(&v).unwrap_err().field, "version");
    }

    #[test]
    fn validity_window() {
        let e = envelope();
        assert!(e.is_current(e.issued_at));
        assert!(!e.is_current(e.expires_at));
        assert!(!e.is_current(e.issued_at - 3_600_000));
    }

    #[test]
    fn batch_reads_site_sent_at_and_events() {
        let v = Value::parse(r#"{"site":"s","sentAt":12.7,"events":[{},1]}"#).unwrap();
        let b = EventBatch::from_value(&v).unwrap();
        assert_eq!((b.site.as_deref(), b.sent_at, b.events.len()), (Some("s"), Some(12), 2));
        assert_eq!(EventBatch::from_value(&b.to_value()).unwrap(), b);
        for (text, field) in [
            (r#"{"events":{}}"#, "events"),
            (r#"{"sentAt":"x","events":[]}"#, "sentAt"),
            (r#"{"site":"a b","events":[]}"#, "site"),
            (r#"{}"#, "events"),
            (r#"[]"#, ""),
        ] {
            let err = EventBatch::from_value(&Value::parse(text).unwrap()).unwrap_err();
            assert_eq!(err.field, field, "{text}");
        }
    }

    #[test]
    fn batch_response_round_trips() {
        let r = BatchResponse {
            received_at: 5,
            results: vec![
                EventResult {
                    id: Some("a".into()),
                    status: EventStatus::Accepted,
                    reason: None,
                    ts: Some(4),
                    flags: vec![FLAG_CLAMPED_FUTURE.into()],
                },
                EventResult {
                    id: None,
                    status: EventStatus::Rejected,
                    reason: Some("id: missing".into()),
                    ts: None,
                    flags: vec![],
                },
            ],
        };
        let v = r.to_value();
        assert_eq!(v.get("accepted"), Some(&Value::Number(1.0)));
        assert_eq!(v.get("rejected"), Some(&Value::Number(1.0)));
        assert_eq!(BatchResponse::from_value(&v).unwrap(), r);
    }

    #[test]
    fn server_profile_round_trips() {
        let p = ServerProfile {
            user_id: "u1".into(),
            anonymous_ids: vec!["a1".into()],
            traits: [("plan".to_string(), Value::from("gold"))].into_iter().collect(),
            counters: vec![("page_view".into(), 3)],
            first_seen: Some(1),
            last_seen: Some(2),
            events: vec![Value::parse(r#"{"id":"e"}"#).unwrap()],
            verified: true,
        };
        assert_eq!(ServerProfile::from_value(&p.to_value()).unwrap(), p);
    }
}
