//! `tailor ruleset validate FILE`: exit 0 with a summary, or exit 1 with every error and
//! its JSON path.

use tailor::engine::json::Value;
use tailor::engine::regex::NativeRegex;
use tailor::engine::ruleset::Ruleset;

pub fn main(args: &[String]) -> Result<(), String> {
    let [file] = args else {
        return Err("usage: tailor ruleset validate FILE".into());
    };
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    // What publishing does first: sanitise the HTML of page changes. The problems reported
    // are those of the sanitised ruleset, and the values sanitising changes are listed.
    let mut sanitised = Vec::new();
    let text = match Value::parse(&text) {
        Ok(mut doc) => {
            sanitised = tailor_server::sanitise::sanitise_ruleset(&mut doc);
            if sanitised.is_empty() {
                text
            } else {
                doc.to_json()
            }
        }
        Err(_) => text,
    };
    for path in &sanitised {
        println!("sanitised: {path}: HTML would be sanitised when published");
    }
    // The experiments' metrics are the server's part (the engine only lets them through).
    let metric_errors = serde_json::from_str::<serde_json::Value>(&text)
        .map(|doc| tailor_server::metrics::validate_ruleset(&doc))
        .unwrap_or_default();
    let parsed =
        Ruleset::parse(&text, &NativeRegex).and_then(
            |rs| {
                if metric_errors.is_empty() {
                    Ok(rs)
                } else {
                    Err(Vec::new())
                }
            },
        );
    match parsed {
        Ok(rs) => {
            println!(
                "{file}: valid ruleset{}: {}",
                rs.id.as_deref().map(|id| format!(" \"{id}\"")).unwrap_or_default(),
                rs.summary()
            );
            for w in &rs.warnings {
                println!("warning: {w}");
            }
            Ok(())
        }
        Err(errors) => {
            let errors: Vec<String> = errors.iter().map(ToString::to_string).chain(metric_errors).collect();
            for e in &errors {
                println!("error: {e}");
            }
            Err(format!("{file}: {} error{} in the ruleset", errors.len(), if errors.len() == 1 { "" } else { "s" }))
        }
    }
}
