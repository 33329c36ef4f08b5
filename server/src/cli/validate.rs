//! `tailor ruleset validate FILE`: exit 0 with a summary, or exit 1 with every error and
//! its JSON path.

use tailor::engine::regex::NativeRegex;
use tailor::engine::ruleset::Ruleset;

pub fn main(args: &[String]) -> Result<(), String> {
    let [file] = args else {
        return Err("usage: tailor ruleset validate FILE".into());
    };
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    match Ruleset::parse(&text, &NativeRegex) {
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
            for e in &errors {
                println!("error: {e}");
            }
            Err(format!("{file}: {} error{} in the ruleset", errors.len(), if errors.len() == 1 { "" } else { "s" }))
        }
    }
}
