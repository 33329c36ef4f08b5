//! `tailor studio link --site SITE [--role view|edit|publish] [--ttl 30m] [--who NAME]
//! [--base URL] [--path PATH] [--key FILE | --db URL]`: prints a Studio link (a URL carrying a Studio
//! token, see `tailor_server::studio_token`) and, on the next line, the token itself. The
//! token is signed with the server's key, read from `--key`, else from beside the database of
//! `--db` (default `sqlite:.tailor/tailor.db`), where `tailor serve` keeps it. The link opens
//! the site's results page unless `--path` names another page of the server. `--who` names
//! the person it is for, inside the signed token: the audit log shows it.

use std::path::PathBuf;

use tailor::engine::wire::is_valid_name;
use tailor_server::signing::{now_ms, Keypair};
use tailor_server::store::DbUrl;
use tailor_server::studio_token::{self, Role};

const USAGE: &str = "usage: tailor studio link --site SITE [--role view|edit|publish] [--ttl 30m] [--who NAME] \
[--base http://127.0.0.1:8080] [--path /admin/results?site=SITE] [--key FILE | --db URL]";

pub fn main(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("link") => link(&args[1..]),
        _ => Err(USAGE.to_string()),
    }
}

fn link(args: &[String]) -> Result<(), String> {
    let (mut site, mut role, mut ttl_ms) = (None, Role::View, studio_token::DEFAULT_TTL_MS);
    let (mut base, mut path, mut key, mut db) = ("http://127.0.0.1:8080".to_string(), None, None, None);
    let mut who = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--site" => site = Some(value()?),
            "--role" => role = Role::parse(&value()?).map_err(|e| format!("--role: {e}"))?,
            "--ttl" => ttl_ms = studio_token::parse_ttl(&value()?).map_err(|e| format!("--ttl: {e}"))?,
            "--who" => {
                let name = value()?;
                studio_token::check_who(&name).map_err(|e| format!("--who: {e}"))?;
                who = Some(name);
            }
            "--base" => base = value()?,
            "--path" => path = Some(value()?),
            "--key" => key = Some(PathBuf::from(value()?)),
            "--db" => db = Some(DbUrl::parse(&value()?).map_err(|e| format!("--db: {e}"))?),
            other => return Err(format!("unknown option '{other}'\n{USAGE}")),
        }
    }
    let site = site.ok_or(format!("--site is required\n{USAGE}"))?;
    if !is_valid_name(&site) {
        return Err(format!("--site '{site}': must be 1-64 of A-Z a-z 0-9 . _ -"));
    }
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(format!("--base '{base}': expected the server's address, such as http://127.0.0.1:8080"));
    }
    let path = path.unwrap_or_else(|| format!("/admin/results?site={site}"));
    if !path.starts_with('/') {
        return Err(format!("--path '{path}': expected a path that starts with /"));
    }
    let key_path = key
        .unwrap_or_else(|| db.unwrap_or_else(|| DbUrl::Sqlite(PathBuf::from(".tailor/tailor.db"))).default_key_path());
    if !key_path.exists() {
        return Err(format!(
            "no signing key at {}: start the server once (it creates its key there), or pass the server's --key FILE",
            key_path.display()
        ));
    }
    let key = Keypair::load(&key_path)?;
    let expires_at = now_ms().saturating_add(ttl_ms);
    let token = studio_token::issue_for(&key, &site, role, expires_at, who.as_deref());
    println!("{}", studio_token::link(&format!("{}{path}", base.trim_end_matches('/')), &token));
    println!("{token}");
    eprintln!(
        "Studio link for site {site}, role {}, valid until {} UTC",
        role.as_str(),
        studio_token::timestamp(expires_at)
    );
    Ok(())
}
