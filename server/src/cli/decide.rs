//! `tailor decide --ruleset FILE [--now MS]`: one JSON decision per JSON Lines input.
//!
//! Each input line is the attributes object: `{"profile": {...}, "context": {...}}`, plus
//! `user`, `id`, `anonymousId` or any other attribute. Three optional keys are options, not
//! attributes: `now` (ms since the epoch; default `--now` or the system clock), `force`
//! (the `tailor_force` parameter, `expKey:variation,...`) and `placements` (ids to fill;
//! default all). A line that cannot be read prints `{"error": "<reason>"}`.

use tailor::engine::decision::DecideOptions;
use tailor::engine::experiment::ForcedVariations;
use tailor::engine::json::{Map, Value};
use tailor::engine::regex::NativeRegex;
use tailor::engine::ruleset::Ruleset;

pub fn main(args: &[String]) -> Result<(), String> {
    let mut file = None;
    let mut now = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--ruleset" => file = it.next(),
            "--now" => now = Some(it.next().and_then(|n| n.parse::<f64>().ok()).ok_or("--now expects milliseconds")?),
            other => return Err(format!("unknown option '{other}'\nusage: tailor decide --ruleset FILE [--now MS]")),
        }
    }
    let file = file.ok_or("usage: tailor decide --ruleset FILE [--now MS]")?;
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let rs = Ruleset::parse(&text, &NativeRegex).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("error: {e}")).collect();
        format!("{file} is not a valid ruleset:\n{}", lines.join("\n"))
    })?;
    super::each_line(|line| match decide_line(&rs, line, now) {
        Ok(v) => v,
        Err(e) => {
            let mut m = Map::new();
            m.insert("error", Value::from(e));
            Value::Object(m).to_json()
        }
    })
}

fn decide_line(rs: &Ruleset, line: &str, now: Option<f64>) -> Result<String, String> {
    let mut input = Value::parse(line).map_err(|e| e.to_string())?;
    let m = input.as_object_mut().ok_or("expected an object {profile, context, ...}")?;
    let mut options = DecideOptions { now: now.unwrap_or_else(clock), ..DecideOptions::default() };
    match m.remove("now") {
        Some(Value::Number(n)) => options.now = n,
        Some(_) => return Err("\"now\" must be milliseconds since the epoch".into()),
        None => {}
    }
    match m.remove("force") {
        Some(Value::String(s)) => options.forced = ForcedVariations::parse(&s),
        Some(_) => return Err("\"force\" must be a string such as \"expKey:1\"".into()),
        None => {}
    }
    match m.remove("placements") {
        Some(Value::Array(a)) => {
            options.placements = Some(a.iter().filter_map(|p| p.as_str().map(str::to_string)).collect())
        }
        Some(_) => return Err("\"placements\" must be an array of placement ids".into()),
        None => {}
    }
    Ok(rs.decide(&input, &options).to_value().to_json())
}

fn clock() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_millis() as f64)
}
