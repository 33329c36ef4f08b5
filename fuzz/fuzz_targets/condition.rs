//! Condition compilation and evaluation: the input is split at the first newline into a
//! condition and the attributes it is evaluated against.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tailor::engine::condition::Condition;
use tailor::engine::json::Value;
use tailor::engine::regex::NativeRegex;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (cond, attrs) = text.split_once('\n').unwrap_or((text, "{}"));
    let (Ok(cond), Ok(attrs)) = (Value::parse(cond), Value::parse(attrs)) else { return };
    let groups = attrs.get("savedGroups").cloned().unwrap_or_default();
    let c = Condition::compile(&cond, &groups, &NativeRegex);
    let _ = c.eval(&attrs);
});
