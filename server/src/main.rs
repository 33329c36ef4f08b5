//! `tailor`: the reference server and command-line tool.

use std::process::ExitCode;

mod cli;
use tailor_server::serve;

const USAGE: &str = "usage: tailor <command> [options]

commands:
  serve [--addr 127.0.0.1:8080] [--root DIR]   serve the demo storefront, the SDK and the API
  eval                                         evaluate conditions (JSON Lines on stdin)
  hash                                         compute bucketing hashes (JSON Lines on stdin)
  decide --ruleset FILE                        decide for profiles/contexts (JSON Lines on stdin)
  ruleset validate FILE                        check a ruleset and report every error
  identity-token --site SITE --user ID         print an identity token (secret: env TAILOR_IDENTITY_SECRET)
  studio link --site SITE [--role R] [--ttl T]  print a Studio link (role view|edit|publish, ttl e.g. 30m)
  version                                      print the version
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or(&[]);
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve::main(rest),
        Some("version" | "--version" | "-V") => {
            println!("tailor {}", tailor::VERSION);
            Ok(())
        }
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => match cli::dispatch(other, rest) {
            Some(result) => result,
            None => Err(format!("unknown command '{other}'\n\n{USAGE}")),
        },
        None => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tailor: {}", message.trim_end());
            ExitCode::FAILURE
        }
    }
}
