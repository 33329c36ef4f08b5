//! The one error the SDK's methods give the page. Every refusal the browser layer reports is
//! an [`ApiError`]; its [`ErrorClass`] says which JavaScript error it becomes (`TypeError`
//! for a value of the wrong type or an unknown option, `RangeError` for a value of the right
//! type that is not allowed) and its message names the method and the field. The web layer
//! has one conversion (`src/web/error.rs`), so a new refusal cannot pick a class by accident.
//! The config reader's errors become one through `From` (in `config.rs`).

use crate::engine::event::{EventError, EventErrorKind};
use crate::engine::profile::ProfileError;

/// Which JavaScript error an [`ApiError`] becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// The value has the wrong JavaScript type, or is an unknown option: `TypeError`.
    Type,
    /// The value has the right type but is not allowed: `RangeError`.
    Range,
}

/// A refusal of one of the SDK's methods: its class and the message the page sees, which
/// names the method and the field. Built where the refusal is found, by one constructor per
/// kind of refusal; kept this small (a class and a string) because every fallible method of
/// the browser layer returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub class: ErrorClass,
    pub message: String,
}

impl ApiError {
    /// A value of the wrong type: `message` names the method and the argument.
    pub fn type_error(message: impl Into<String>) -> ApiError {
        ApiError { class: ErrorClass::Type, message: message.into() }
    }

    /// A value that is not allowed: `message` names the method and the argument.
    pub fn range_error(message: impl Into<String>) -> ApiError {
        ApiError { class: ErrorClass::Range, message: message.into() }
    }

    /// An event given to `method` (`track`, ...): a missing field or one of the wrong type
    /// is a `TypeError`, a value outside its rules or an event too large a `RangeError`.
    pub fn event(method: &str, error: EventError) -> ApiError {
        let class = match error.kind {
            EventErrorKind::Missing | EventErrorKind::WrongType => ErrorClass::Type,
            EventErrorKind::Invalid | EventErrorKind::TooLarge => ErrorClass::Range,
        };
        ApiError { class, message: String::from("Tailor.") + method + ": " + &error.to_string() }
    }

    /// A ruleset given inline (`at`: "Tailor.init: config.ruleset", "Tailor.setRuleset") that
    /// the loader refused; `problems` lists them.
    pub fn ruleset(at: &str, problems: String) -> ApiError {
        ApiError { class: ErrorClass::Range, message: String::from(at) + ": " + &problems }
    }

    /// A user id or traits given to `method` that the profile refused.
    pub fn profile(method: &str, error: ProfileError) -> ApiError {
        ApiError { class: ErrorClass::Range, message: String::from("Tailor.") + method + ": " + &error.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::json::Value;
    use crate::engine::profile::Profile;

    #[test]
    fn event_errors_name_the_method_and_the_field() {
        for (kind, class) in [
            (EventErrorKind::Missing, ErrorClass::Type),
            (EventErrorKind::WrongType, ErrorClass::Type),
            (EventErrorKind::Invalid, ErrorClass::Range),
            (EventErrorKind::TooLarge, ErrorClass::Range),
        ] {
            let e = ApiError::event("track", EventError { kind, field: "props.price".into(), reason: "why".into() });
            assert_eq!(e, ApiError { class, message: "Tailor.track: props.price: why".into() });
        }
    }

    #[test]
    fn profile_ruleset_and_other_errors() {
        let mut p = Profile::new("a", 0.0);
        let e = ApiError::profile("identify", p.identify(" padded ", Value::Null, 0.0).unwrap_err());
        assert_eq!(e.class, ErrorClass::Range);
        assert!(e.message.starts_with("Tailor.identify: userId: "), "{e:?}");
        let r = ApiError::ruleset("Tailor.setRuleset", "invalid ruleset: offers[0].id: is required".into());
        assert_eq!(r, ApiError::range_error("Tailor.setRuleset: invalid ruleset: offers[0].id: is required"));
        assert_eq!(ApiError::type_error("Tailor.x: y").class, ErrorClass::Type);
    }
}
