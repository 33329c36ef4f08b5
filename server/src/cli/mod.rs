//! Command-line tools over the engine: eval, hash, decide, ruleset.

/// Runs `command` if it is one of the CLI tools; `None` when it is not.
pub fn dispatch(command: &str, args: &[String]) -> Option<Result<(), String>> {
    let _ = args;
    match command {
        _ => None,
    }
}
