//! Touchpoints: the standard e-commerce events, their validation and their wire form.
//!
//! An [`Event`] is always valid: it can only be made by [`Event::new`] (in the browser, from
//! what the shop's page passes to `track()`) or [`Event::from_value`] (on the server, from
//! each event of an uploaded batch), and both check the same rules. The wire form is the
//! JSON object
//!
//! ```json
//! {"id": "<uuidv7>", "type": "product_view", "ts": 1700000000000, "props": {"sku": "A1"},
//!  "anonymousId": "a-1", "userId": "u-1", "sessionId": "<uuid>", "context": {"path": "/"}}
//! ```
//!
//! `id` and `ts` are set once, when the event is made, and never change: retries send the
//! same id and the server deduplicates by it. The property rules of every event type are
//! documented in `docs/events.md`; an [`EventError`] names the field that broke them.

use crate::engine::json::{Map, Value};
use crate::engine::uuid::{ms_to_u64, Uuid, MAX_UNIX_MS};

/// The largest serialised event (compact JSON, UTF-8 bytes).
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Identifiers (sku, orderId, offerId, anonymousId...) are 1 to this many characters.
pub const MAX_ID_CHARS: usize = 128;
/// Free text (product names, search queries, URLs) is at most this many characters.
pub const MAX_TEXT_CHARS: usize = 2048;
/// Custom event names are 1 to this many characters (see [`is_valid_custom_name`]).
pub const MAX_NAME_CHARS: usize = 64;
/// A purchase or checkout has at most this many items.
pub const MAX_ITEMS: usize = 200;

/// The standard event types. The names on the wire are exactly those of [`EventType::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    PageView,
    CategoryView,
    ProductView,
    Search,
    AddToCart,
    RemoveFromCart,
    CheckoutStart,
    Purchase,
    OfferImpression,
    OfferClick,
    ExperimentExposure,
    Custom,
}

impl EventType {
    /// Every type, in a fixed order (the order of counters in the profile).
    pub const ALL: [EventType; 12] = [
        EventType::PageView,
        EventType::CategoryView,
        EventType::ProductView,
        EventType::Search,
        EventType::AddToCart,
        EventType::RemoveFromCart,
        EventType::CheckoutStart,
        EventType::Purchase,
        EventType::OfferImpression,
        EventType::OfferClick,
        EventType::ExperimentExposure,
        EventType::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PageView => "page_view",
            EventType::CategoryView => "category_view",
            EventType::ProductView => "product_view",
            EventType::Search => "search",
            EventType::AddToCart => "add_to_cart",
            EventType::RemoveFromCart => "remove_from_cart",
            EventType::CheckoutStart => "checkout_start",
            EventType::Purchase => "purchase",
            EventType::OfferImpression => "offer_impression",
            EventType::OfferClick => "offer_click",
            EventType::ExperimentExposure => "experiment_exposure",
            EventType::Custom => "custom",
        }
    }

    /// The type named `name`, if it is one of the standard names (case-sensitive).
    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The position of this type in [`EventType::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What kind of rule an event broke; the web layer maps it to a JS error class
/// (`Missing`/`WrongType` → `TypeError`, `Invalid`/`TooLarge` → `RangeError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventErrorKind {
    /// A required field is absent.
    Missing,
    /// A field has the wrong JSON type.
    WrongType,
    /// A field has the right type but a value outside its rules (range, format, name).
    Invalid,
    /// The serialised event is larger than [`MAX_EVENT_BYTES`].
    TooLarge,
}

/// Why an event was rejected: the field (a path such as `props.items[2].sku`) and why.
/// Displays as `"<field>: <reason>"`, e.g. `props.price: expected a number >= 0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventError {
    pub kind: EventErrorKind,
    pub field: String,
    pub reason: String,
}

impl EventError {
    fn new(kind: EventErrorKind, field: &str, reason: impl Into<String>) -> EventError {
        EventError { kind, field: field.to_string(), reason: reason.into() }
    }
    fn missing(field: &str) -> EventError {
        EventError::new(EventErrorKind::Missing, field, "is required")
    }
}

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.field)?;
        f.write_str(": ")?;
        f.write_str(&self.reason)
    }
}

impl std::error::Error for EventError {}

/// Who and when, for [`Event::new`]: everything that is not the page's own payload.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventMeta {
    /// Unix time in milliseconds (`Date.now()`); becomes `ts` and the id's timestamp.
    pub now_ms: f64,
    /// 10 random bytes (`crypto.getRandomValues`) for the id.
    pub random: [u8; 10],
    pub anonymous_id: String,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    /// The captured context (see `engine::context`), only where the shopper consented.
    pub context: Option<Value>,
}

/// A validated touchpoint. Fields are read through accessors so that it stays valid.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    id: String,
    event_type: EventType,
    ts: f64,
    props: Map,
    anonymous_id: String,
    user_id: Option<String>,
    session_id: Option<String>,
    /// Shared by the events of one burst (the page context is read once per burst).
    context: Option<std::sync::Arc<Map>>,
}

type R<T> = Result<T, EventError>;

impl Event {
    /// Makes a new event: a fresh UUIDv7 id and `ts` from `meta.now_ms` and `meta.random`,
    /// then validates the type, the properties, the ids and the size. `props` may be `null`
    /// (no properties) or an object.
    pub fn new(event_type: &str, props: Value, meta: EventMeta) -> Result<Event, EventError> {
        let event_type = parse_type(event_type)?;
        let props = match props {
            Value::Null => Map::new(),
            Value::Object(m) => m,
            _ => return Err(EventError::new(EventErrorKind::WrongType, "props", "expected an object")),
        };
        if !(meta.now_ms.is_finite() && meta.now_ms >= 0.0 && meta.now_ms <= MAX_UNIX_MS as f64) {
            return Err(EventError::new(
                EventErrorKind::Invalid,
                "ts",
                "expected a time in ms since 1970 (Date.now())",
            ));
        }
        let ms = ms_to_u64(meta.now_ms);
        let context = match meta.context {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(std::sync::Arc::new(m)),
            Some(_) => return Err(EventError::new(EventErrorKind::WrongType, "context", "expected an object")),
        };
        let event = Event {
            id: Uuid::v7(ms, meta.random).to_hyphenated(),
            event_type,
            ts: ms as f64,
            props,
            anonymous_id: meta.anonymous_id,
            user_id: meta.user_id,
            session_id: meta.session_id,
            context,
        };
        event.validate()?;
        Ok(event)
    }

    /// Reads and validates one event in wire form (the server calls this on each event of
    /// a batch). Checks everything [`Event::new`] checks plus `id` (a canonical UUIDv7) and
    /// `ts` (whole ms, 0 to 2^48 - 1). Optional fields may be absent or `null`; unknown
    /// top-level fields are ignored and not kept.
    pub fn from_value(value: &Value) -> Result<Event, EventError> {
        let obj = value
            .as_object()
            .ok_or_else(|| EventError::new(EventErrorKind::WrongType, "event", "expected an object"))?;
        let id = match obj.get("id") {
            None | Some(Value::Null) => return Err(EventError::missing("id")),
            Some(Value::String(s)) => s,
            Some(_) => return Err(EventError::new(EventErrorKind::WrongType, "id", "expected a string")),
        };
        if let Err(e) = Uuid::parse_v7(id) {
            return Err(EventError::new(EventErrorKind::Invalid, "id", e.reason()));
        }
        let event_type = match obj.get("type") {
            None | Some(Value::Null) => return Err(EventError::missing("type")),
            Some(Value::String(s)) => parse_type(s)?,
            Some(_) => return Err(EventError::new(EventErrorKind::WrongType, "type", "expected a string")),
        };
        let ts = match obj.get("ts") {
            None | Some(Value::Null) => return Err(EventError::missing("ts")),
            Some(Value::Number(n)) if is_whole(*n) && *n <= MAX_UNIX_MS as f64 => *n,
            Some(_) => {
                return Err(EventError::new(
                    EventErrorKind::WrongType,
                    "ts",
                    "expected whole milliseconds since 1970 (0 to 2^48 - 1)",
                ))
            }
        };
        let props = match obj.get("props") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(EventError::new(EventErrorKind::WrongType, "props", "expected an object")),
        };
        let anonymous_id = match obj.get("anonymousId") {
            None | Some(Value::Null) => return Err(EventError::missing("anonymousId")),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(EventError::new(EventErrorKind::WrongType, "anonymousId", "expected a string")),
        };
        let user_id = optional_string(obj, "userId")?;
        let session_id = optional_string(obj, "sessionId")?;
        let context = match obj.get("context") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(std::sync::Arc::new(m.clone())),
            Some(_) => return Err(EventError::new(EventErrorKind::WrongType, "context", "expected an object")),
        };
        let event = Event { id: id.clone(), event_type, ts, props, anonymous_id, user_id, session_id, context };
        event.validate()?;
        Ok(event)
    }

    /// Parses JSON text and validates it as [`Event::from_value`] does.
    pub fn from_json(text: &str) -> Result<Event, EventError> {
        if text.len() > MAX_EVENT_BYTES * 2 {
            return Err(too_large(text.len()));
        }
        let value =
            Value::parse(text).map_err(|e| EventError::new(EventErrorKind::WrongType, "event", e.to_string()))?;
        Event::from_value(&value)
    }

    /// The wire form as a JSON value (keys in the documented order; absent optional fields
    /// are left out).
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("id", Value::String(self.id.clone()));
        m.insert("type", Value::String(self.event_type.as_str().to_string()));
        m.insert("ts", Value::Number(self.ts));
        m.insert("props", Value::Object(self.props.clone()));
        m.insert("anonymousId", Value::String(self.anonymous_id.clone()));
        if let Some(u) = &self.user_id {
            m.insert("userId", Value::String(u.clone()));
        }
        if let Some(s) = &self.session_id {
            m.insert("sessionId", Value::String(s.clone()));
        }
        if let Some(c) = &self.context {
            m.insert("context", Value::Object(Map::clone(c)));
        }
        Value::Object(m)
    }

    /// The wire form as compact JSON text (at most [`MAX_EVENT_BYTES`] bytes).
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256);
        self.write_json(&mut out);
        out
    }

    /// Appends the wire form to `out` without building a [`Value`].
    pub fn write_json(&self, out: &mut String) {
        use crate::engine::json::{write_number, write_string};
        out.push_str("{\"id\":");
        write_string(&self.id, out);
        out.push_str(",\"type\":\"");
        out.push_str(self.event_type.as_str());
        out.push_str("\",\"ts\":");
        write_number(self.ts, out);
        out.push_str(",\"props\":");
        write_map(&self.props, out);
        out.push_str(",\"anonymousId\":");
        write_string(&self.anonymous_id, out);
        if let Some(u) = &self.user_id {
            out.push_str(",\"userId\":");
            write_string(u, out);
        }
        if let Some(s) = &self.session_id {
            out.push_str(",\"sessionId\":");
            write_string(s, out);
        }
        if let Some(c) = &self.context {
            out.push_str(",\"context\":");
            write_map(c, out);
        }
        out.push('}');
    }

    /// The UUIDv7 id (canonical lowercase form).
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn event_type(&self) -> EventType {
        self.event_type
    }
    /// Client time of the event, whole Unix milliseconds.
    pub fn ts(&self) -> f64 {
        self.ts
    }
    pub fn props(&self) -> &Map {
        &self.props
    }
    /// A property by name.
    pub fn prop(&self, key: &str) -> Option<&Value> {
        self.props.get(key)
    }
    /// A string property, if present and a string.
    pub fn prop_str(&self, key: &str) -> Option<&str> {
        self.props.get(key).and_then(Value::as_str)
    }
    /// A number property, if present and a number.
    pub fn prop_f64(&self, key: &str) -> Option<f64> {
        self.props.get(key).and_then(Value::as_f64)
    }
    /// The custom event's `props.name` (None for standard events).
    pub fn custom_name(&self) -> Option<&str> {
        match self.event_type {
            EventType::Custom => self.prop_str("name"),
            _ => None,
        }
    }
    pub fn anonymous_id(&self) -> &str {
        &self.anonymous_id
    }
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }
    pub fn context(&self) -> Option<&Map> {
        self.context.as_deref()
    }

    /// The event with `context`, shared with the other events of a burst instead of copied
    /// into each; checked against [`MAX_EVENT_BYTES`] with it, as [`Event::new`] checks.
    pub fn with_context(mut self, context: std::sync::Arc<Map>) -> Result<Event, EventError> {
        self.context = Some(context);
        self.check_size()?;
        Ok(self)
    }

    fn validate(&self) -> R<()> {
        check_id("anonymousId", &self.anonymous_id)?;
        if let Some(u) = &self.user_id {
            check_id("userId", u)?;
        }
        if let Some(s) = &self.session_id {
            check_id("sessionId", s)?;
        }
        validate_props(self.event_type, &self.props)?;
        self.check_size()
    }

    fn check_size(&self) -> R<()> {
        // Most events are far below the limit: an upper bound, without writing, settles it.
        if self.max_json_len() <= MAX_EVENT_BYTES {
            return Ok(());
        }
        let mut out = String::with_capacity(MAX_EVENT_BYTES);
        self.write_json(&mut out);
        if out.len() > MAX_EVENT_BYTES {
            return Err(too_large(out.len()));
        }
        Ok(())
    }

    /// An upper bound of the serialised length (every string character escaped as `\uXXXX`,
    /// every number at its longest).
    fn max_json_len(&self) -> usize {
        let ids = self.id.len()
            + self.anonymous_id.len()
            + self.user_id.as_ref().map_or(0, String::len)
            + self.session_id.as_ref().map_or(0, String::len);
        let mut n = 120 + 6 * ids + map_max_len(&self.props);
        if let Some(c) = &self.context {
            n += map_max_len(c);
        }
        n
    }
}

/// Upper bound of a value's JSON length: a UTF-8 byte becomes at most 6 bytes (`\u001f`),
/// a number at most 32 (the longest is 25: `-0.0000012345678901234567`).
fn max_len(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 32,
        Value::String(s) => 2 + 6 * s.len(),
        Value::Array(a) => 2 + a.iter().map(|x| max_len(x) + 1).sum::<usize>(),
        Value::Object(m) => map_max_len(m),
    }
}

fn map_max_len(m: &Map) -> usize {
    2 + m.iter().map(|(k, v)| 4 + 6 * k.len() + max_len(v)).sum::<usize>()
}

fn write_map(m: &Map, out: &mut String) {
    // `Value::write_json` takes a Value; a Map is written the same way.
    out.push('{');
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        crate::engine::json::write_string(k, out);
        out.push(':');
        v.write_json(out);
    }
    out.push('}');
}

fn too_large(bytes: usize) -> EventError {
    EventError::new(
        EventErrorKind::TooLarge,
        "event",
        format!("is {bytes} bytes serialised; the limit is {MAX_EVENT_BYTES}"),
    )
}

fn parse_type(name: &str) -> R<EventType> {
    EventType::parse(name).ok_or_else(|| {
        let shown: String = name.chars().take(MAX_NAME_CHARS).collect();
        EventError::new(
            EventErrorKind::Invalid,
            "type",
            format!("unknown event type \"{shown}\" (use \"custom\" with props.name)"),
        )
    })
}

fn optional_string(obj: &Map, key: &str) -> R<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(EventError::new(EventErrorKind::WrongType, key, "expected a string")),
    }
}

fn is_whole(n: f64) -> bool {
    n.is_finite() && n >= 0.0 && n == n.trunc()
}

/// True if `name` is a valid custom event name: 1 to 64 characters, an ASCII letter first,
/// then ASCII letters, digits, `_` or `-`. (No dots or spaces, so that the name can be a
/// key in a condition's dotted path: `profile.custom.newsletter_signup.count`.)
pub fn is_valid_custom_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME_CHARS
        && b[0].is_ascii_alphabetic()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
}

fn is_valid_id(s: &str) -> bool {
    let n = s.chars().count();
    (1..=MAX_ID_CHARS).contains(&n) && !s.chars().any(char::is_control) && s.trim() == s
}

fn check_id(field: &str, s: &str) -> R<()> {
    if is_valid_id(s) {
        Ok(())
    } else {
        Err(EventError::new(EventErrorKind::Invalid, field, ID_RULE))
    }
}

const ID_RULE: &str = "expected 1 to 128 characters, no control characters or surrounding spaces";

// --- Properties --------------------------------------------------------------------------

/// What a property must be.
#[derive(Clone, Copy)]
enum Rule {
    /// Identifier: non-empty string, at most 128 characters, no control characters.
    Id,
    /// Free text: string, at most 2048 characters.
    Text,
    /// A number >= 0.
    NonNegative,
    /// A whole number >= 0.
    Count,
    /// A whole number >= 1.
    Quantity,
    /// ISO 4217: three uppercase ASCII letters.
    Currency,
    /// A category path: a non-empty string, or a non-empty array of them (root first).
    Category,
    /// A custom event name (see [`is_valid_custom_name`]).
    Name,
    /// An array of line items (see [`ITEM_RULES`]).
    Items,
}

impl Rule {
    fn expected(self) -> &'static str {
        match self {
            Rule::Id => "expected a string of 1 to 128 characters without control characters",
            Rule::Text => "expected a string of at most 2048 characters",
            Rule::NonNegative => "expected a number >= 0",
            Rule::Count => "expected a whole number >= 0",
            Rule::Quantity => "expected a whole number >= 1",
            Rule::Currency => "expected an ISO 4217 currency code (3 uppercase letters)",
            Rule::Category => "expected a category (a string or an array of 1 to 8 strings, root first)",
            Rule::Name => "expected a name of 1 to 64 characters: a letter, then letters, digits, _ or -",
            Rule::Items => "expected an array of at most 200 items",
        }
    }
    fn type_ok(self, v: &Value) -> bool {
        match self {
            Rule::Id | Rule::Text | Rule::Currency | Rule::Name => matches!(v, Value::String(_)),
            Rule::NonNegative | Rule::Count | Rule::Quantity => matches!(v, Value::Number(_)),
            Rule::Category => matches!(v, Value::String(_) | Value::Array(_)),
            Rule::Items => matches!(v, Value::Array(_)),
        }
    }
    fn value_ok(self, v: &Value) -> bool {
        match (self, v) {
            (Rule::Id, Value::String(s)) => is_valid_id(s),
            (Rule::Text, Value::String(s)) => s.len() <= MAX_TEXT_CHARS || s.chars().count() <= MAX_TEXT_CHARS,
            (Rule::NonNegative, Value::Number(n)) => n.is_finite() && *n >= 0.0,
            (Rule::Count, Value::Number(n)) => is_whole(*n),
            (Rule::Quantity, Value::Number(n)) => is_whole(*n) && *n >= 1.0,
            (Rule::Currency, Value::String(s)) => s.len() == 3 && s.bytes().all(|c| c.is_ascii_uppercase()),
            (Rule::Category, Value::String(s)) => is_valid_id(s),
            (Rule::Category, Value::Array(a)) => {
                (1..=8).contains(&a.len()) && a.iter().all(|c| c.as_str().is_some_and(is_valid_id))
            }
            (Rule::Name, Value::String(s)) => is_valid_custom_name(s),
            (Rule::Items, Value::Array(a)) => a.len() <= MAX_ITEMS,
            _ => false,
        }
    }
}

/// (property, required, rule) for each event type. Properties not listed are free-form
/// JSON (any value), kept as sent, within the size limit.
fn rules(t: EventType) -> &'static [(&'static str, bool, Rule)] {
    use Rule::*;
    match t {
        EventType::PageView => {
            &[("url", false, Text), ("path", false, Text), ("title", false, Text), ("referrer", false, Text)]
        }
        EventType::CategoryView => &[("category", true, Category)],
        EventType::ProductView => &[
            ("sku", true, Id),
            ("name", false, Text),
            ("category", false, Category),
            ("brand", false, Id),
            ("price", false, NonNegative),
            ("currency", false, Currency),
        ],
        EventType::Search => &[("query", true, Text), ("results", false, Count)],
        EventType::AddToCart | EventType::RemoveFromCart => &[
            ("sku", true, Id),
            ("quantity", true, Quantity),
            ("price", false, NonNegative),
            ("currency", false, Currency),
            ("name", false, Text),
            ("category", false, Category),
            ("brand", false, Id),
        ],
        EventType::CheckoutStart => {
            &[("value", false, NonNegative), ("currency", false, Currency), ("items", false, Items)]
        }
        EventType::Purchase => &[
            ("orderId", true, Id),
            ("revenue", true, NonNegative),
            ("currency", true, Currency),
            ("items", true, Items),
        ],
        EventType::OfferImpression | EventType::OfferClick => {
            &[("offerId", true, Id), ("placement", false, Id), ("variant", false, Id)]
        }
        EventType::ExperimentExposure => {
            &[("experimentKey", true, Id), ("variation", true, Count), ("bucketVersion", false, Count)]
        }
        EventType::Custom => &[("name", true, Name)],
    }
}

/// The properties the engine checks for `t`, as (name, required): what `types.d.ts`'s
/// `EventProps` declares (`tests/typescript_types.rs` compares them).
pub fn checked_props(t: EventType) -> impl Iterator<Item = (&'static str, bool)> {
    rules(t).iter().map(|&(name, required, _)| (name, required))
}

/// The properties checked on each element of `items`, as (name, required): `types.d.ts`'s
/// `Item`.
pub fn checked_item_props() -> impl Iterator<Item = (&'static str, bool)> {
    ITEM_RULES.iter().map(|&(name, required, _)| (name, required))
}

/// Rules for each element of `items` (purchase, checkout_start).
const ITEM_RULES: &[(&str, bool, Rule)] = &[
    ("sku", true, Rule::Id),
    ("quantity", false, Rule::Quantity),
    ("price", false, Rule::NonNegative),
    ("name", false, Rule::Text),
    ("category", false, Rule::Category),
    ("brand", false, Rule::Id),
];

fn validate_props(t: EventType, props: &Map) -> R<()> {
    check_fields("props", props, rules(t))
}

fn check_fields(prefix: &str, obj: &Map, rules: &[(&str, bool, Rule)]) -> R<()> {
    for &(key, required, rule) in rules {
        match obj.get(key) {
            // An optional property may be null, as JavaScript callers often pass it.
            None | Some(Value::Null) if !required => {}
            None | Some(Value::Null) => return Err(EventError::missing(&join(prefix, key))),
            Some(v) => {
                if !rule.type_ok(v) {
                    return Err(EventError::new(EventErrorKind::WrongType, &join(prefix, key), rule.expected()));
                }
                if !rule.value_ok(v) {
                    return Err(EventError::new(EventErrorKind::Invalid, &join(prefix, key), rule.expected()));
                }
                if let (Rule::Items, Value::Array(items)) = (rule, v) {
                    for (i, item) in items.iter().enumerate() {
                        let path = format!("{prefix}.{key}[{i}]");
                        let obj = item
                            .as_object()
                            .ok_or_else(|| EventError::new(EventErrorKind::WrongType, &path, "expected an object"))?;
                        check_fields(&path, obj, ITEM_RULES)?;
                    }
                }
            }
        }
    }
    Ok(())
}

fn join(prefix: &str, key: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + key.len() + 1);
    s.push_str(prefix);
    s.push('.');
    s.push_str(key);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> EventMeta {
        EventMeta {
            now_ms: 1_700_000_000_123.7,
            random: [7; 10],
            anonymous_id: "anon-1".into(),
            ..EventMeta::default()
        }
    }

    fn props(json: &str) -> Value {
        Value::parse(json).unwrap()
    }

    #[test]
    fn new_sets_id_and_ts_once_and_round_trips() {
        let e = Event::new("product_view", props(r#"{"sku":"A1","price":9.5}"#), meta()).unwrap();
        assert_eq!(e.ts(), 1_700_000_000_123.0);
        assert_eq!(Uuid::parse_v7(e.id()).unwrap().timestamp_ms(), 1_700_000_000_123);
        let again = Event::from_json(&e.to_json()).unwrap();
        assert_eq!(again, e);
        assert_eq!(Value::parse(&e.to_json()).unwrap(), e.to_value());
    }

    #[test]
    fn errors_name_the_field() {
        let err = Event::new("product_view", props(r#"{"sku":"A1","price":-1}"#), meta()).unwrap_err();
        assert_eq!(err.to_string(), "props.price: expected a number >= 0");
        assert_eq!(err.kind, EventErrorKind::Invalid);
        let err = Event::new("product_view", props(r#"{"sku":"A1","price":"9"}"#), meta()).unwrap_err();
        assert_eq!(err.kind, EventErrorKind::WrongType);
        let err = Event::new(
            "purchase",
            props(r#"{"orderId":"o","revenue":1,"currency":"EUR","items":[{"sku":"a"},{"quantity":1}]}"#),
            meta(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "props.items[1].sku: is required");
        let err = Event::new("Page_View", Value::Null, meta()).unwrap_err();
        assert_eq!(err.field, "type");
    }

    #[test]
    fn custom_names() {
        assert!(is_valid_custom_name("newsletter_signup"));
        assert!(is_valid_custom_name("a-1"));
        assert!(!is_valid_custom_name("1abc"));
        assert!(!is_valid_custom_name("has space"));
        assert!(!is_valid_custom_name("dot.ted"));
        assert!(!is_valid_custom_name(&"a".repeat(65)));
        assert!(!is_valid_custom_name(""));
    }

    #[test]
    fn size_limit_is_on_the_serialised_event() {
        let big = "x".repeat(MAX_EVENT_BYTES);
        let mut m = Map::new();
        m.insert("name", Value::from("big"));
        m.insert("blob", Value::from(big));
        let err = Event::new("custom", Value::Object(m), meta()).unwrap_err();
        assert_eq!(err.kind, EventErrorKind::TooLarge);
        assert_eq!(err.field, "event");
        // Escapes count: 5,500 control characters are 33,000 bytes of JSON.
        for (n, fits) in [(5_300, true), (5_500, false)] {
            let mut m = Map::new();
            m.insert("name", Value::from("ctl"));
            m.insert("blob", Value::from("\u{1}".repeat(n)));
            let result = Event::new("custom", Value::Object(m), meta());
            assert_eq!(result.is_ok(), fits, "{n}");
            if let Ok(e) = result {
                assert!(e.to_json().len() <= MAX_EVENT_BYTES);
            }
        }
    }
}
