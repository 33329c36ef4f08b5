//! The server's log: one JSON line per message on stderr (`ts` in Unix milliseconds,
//! `level`, `msg`), the same shape as the access log of `serve.rs`.

/// One JSON line on stderr.
pub fn line(value: serde_json::Value) {
    eprintln!("{value}");
}

pub fn info(message: &str) {
    line(serde_json::json!({ "ts": crate::signing::now_ms(), "level": "info", "msg": message }));
}

pub fn error(message: &str) {
    line(serde_json::json!({ "ts": crate::signing::now_ms(), "level": "error", "msg": message }));
}
