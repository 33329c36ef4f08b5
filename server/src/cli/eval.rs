//! `tailor eval`: evaluates conditions read as JSON Lines on stdin.
//!
//! Each line is `{"condition": {...}, "attributes": {...}, "savedGroups": {...}}`
//! (`attributes` and `savedGroups` optional); the answer is one line, `true` or `false`, in
//! order. A line that cannot be read prints `error: <reason>` and processing continues.
//! Blank lines are ignored.

use tailor::engine::condition::Condition;
use tailor::engine::json::Value;
use tailor::engine::regex::NativeRegex;

pub fn main(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("tailor eval takes no arguments (got '{a}'); it reads JSON Lines on stdin"));
    }
    super::each_line(|line| match eval_line(line) {
        Ok(true) => "true".to_string(),
        Ok(false) => "false".to_string(),
        Err(e) => format!("error: {e}"),
    })
}

fn eval_line(line: &str) -> Result<bool, String> {
    let input = Value::parse(line).map_err(|e| e.to_string())?;
    let Value::Object(m) = &input else {
        return Err("expected an object {condition, attributes, savedGroups?}".into());
    };
    let condition = m.get("condition").ok_or("missing \"condition\"")?;
    let attributes = m.get("attributes").unwrap_or(&Value::Null);
    let groups = m.get("savedGroups").unwrap_or(&Value::Null);
    Ok(Condition::compile(condition, groups, &NativeRegex).eval(attributes))
}
