//! `tailor hash`: GrowthBook's bucketing hash for JSON Lines `{"seed", "value", "version"}`
//! on stdin; prints one number in [0, 1) per line (`null` for an unknown version), or
//! `error: <reason>` for a line that cannot be read.

use tailor::engine::hash::gb_hash;
use tailor::engine::js;
use tailor::engine::json::Value;

pub fn main(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("tailor hash takes no arguments (got '{a}'); it reads JSON Lines on stdin"));
    }
    super::each_line(|line| match hash_line(line) {
        Ok(Some(n)) => Value::Number(n).to_json(),
        Ok(None) => "null".to_string(),
        Err(e) => format!("error: {e}"),
    })
}

fn hash_line(line: &str) -> Result<Option<f64>, String> {
    let input = Value::parse(line).map_err(|e| e.to_string())?;
    let Value::Object(m) = &input else {
        return Err("expected an object {seed, value, version}".into());
    };
    // GrowthBook concatenates seed and value as strings, so any JSON value is accepted.
    let empty = Value::from("");
    let seed = js::to_string(m.get("seed").unwrap_or(&empty));
    let value = js::to_string(m.get("value").unwrap_or(&empty));
    Ok(match m.get("version") {
        Some(Value::Number(v)) if *v == 1.0 || *v == 2.0 => gb_hash(&seed, &value, *v as u32),
        _ => None,
    })
}
