//! Command-line tools over the engine and the server's keys.
//!
//! Each tool reads JSON Lines on stdin where it takes input and writes one line per input
//! line, so it composes with shell pipelines and test harnesses.

mod decide;
mod eval;
mod hash;
mod identity_token;
mod import;
mod keys;
mod signing;
mod studio;
mod validate;

/// Runs `command` if it is one of the CLI tools; `None` when it is not.
pub fn dispatch(command: &str, args: &[String]) -> Option<Result<(), String>> {
    Some(match command {
        "eval" => eval::main(args),
        "hash" => hash::main(args),
        "decide" => decide::main(args),
        "keys" => keys::main(args),
        "identity-token" => identity_token::main(args),
        "studio" => studio::main(args),
        "ruleset" => match args.first().map(String::as_str) {
            Some("validate") => validate::main(&args[1..]),
            Some("import") => import::main(&args[1..]),
            Some("sign" | "verify" | "publish") => signing::main(args),
            _ => Err("usage: tailor ruleset validate|sign|verify|publish ...".to_string()),
        },
        _ => return None,
    })
}

/// The JSON Lines loop the tools share: `answer` turns each non-blank stdin line into the
/// line to print, flushed at once so the tools work in pipelines.
fn each_line(mut answer: impl FnMut(&str) -> String) -> Result<(), String> {
    use std::io::{BufRead, Write};
    let stdin = std::io::stdin().lock();
    let mut out = std::io::stdout().lock();
    for line in stdin.lines() {
        let line = line.map_err(|e| format!("reading stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        writeln!(out, "{}", answer(&line)).and_then(|_| out.flush()).map_err(|e| format!("writing stdout: {e}"))?;
    }
    Ok(())
}
