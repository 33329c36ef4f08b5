//! `tailor ruleset sign|verify|publish`.
//!
//! - `sign --key FILE --site NAME [--version N] [--ttl SECONDS] [--issued-at MS] RULESET`
//!   prints the signed envelope (the same JSON `GET /v1/rulesets/{site}` serves).
//! - `verify (--public-key BASE64 | --key FILE) [--now MS | --ignore-expiry] ENVELOPE`
//!   checks the signature and the validity window; exits non-zero when either fails.
//! - `publish --server URL [--site NAME] [--token TOKEN] [--ca FILE] RULESET` sends the
//!   ruleset to a running server's admin API (token also from `TAILOR_ADMIN_TOKEN`), which
//!   validates, signs and bumps the version; prints the new envelope. `https://` URLs are
//!   verified against the Mozilla roots, plus the PEM certificates of `--ca` (a private CA).
//!
//! `-` as a file reads stdin.

use std::io::Read as _;
use std::path::PathBuf;

use tailor::engine::json::Value;
use tailor::engine::wire::{is_valid_name, RulesetEnvelope};
use tailor_server::signing::{self, now_ms, Keypair, DEFAULT_TTL_MS};

const USAGE: &str = "usage:
  tailor ruleset sign --key FILE --site NAME [--version N] [--ttl SECONDS] [--issued-at MS] RULESET
  tailor ruleset verify (--public-key BASE64 | --key FILE) [--now MS | --ignore-expiry] ENVELOPE
  tailor ruleset publish --server URL [--site NAME] [--token TOKEN] [--ca FILE] RULESET";

#[derive(Default)]
struct Options {
    key: Option<PathBuf>,
    public_key: Option<String>,
    site: Option<String>,
    version: Option<u64>,
    ttl_ms: Option<i64>,
    issued_at: Option<i64>,
    now: Option<i64>,
    ignore_expiry: bool,
    server: Option<String>,
    token: Option<String>,
    ca: Option<PathBuf>,
    file: Option<String>,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value"));
        let number =
            |name: &str, v: String| v.parse::<i64>().map_err(|_| format!("{name}: '{v}' is not a whole number"));
        match arg.as_str() {
            "--key" => o.key = Some(value("--key")?.into()),
            "--public-key" => o.public_key = Some(value("--public-key")?),
            "--site" => o.site = Some(value("--site")?),
            "--version" => o.version = Some(number("--version", value("--version")?)?.max(0) as u64),
            "--ttl" => o.ttl_ms = Some(number("--ttl", value("--ttl")?)?.saturating_mul(1000)),
            "--issued-at" => o.issued_at = Some(number("--issued-at", value("--issued-at")?)?),
            "--now" => o.now = Some(number("--now", value("--now")?)?),
            "--ignore-expiry" => o.ignore_expiry = true,
            "--server" => o.server = Some(value("--server")?),
            "--token" => o.token = Some(value("--token")?),
            "--ca" => o.ca = Some(value("--ca")?.into()),
            flag if flag.starts_with("--") => return Err(format!("unknown option '{flag}'\n{USAGE}")),
            file if o.file.is_none() => o.file = Some(file.to_string()),
            extra => return Err(format!("unexpected argument '{extra}'\n{USAGE}")),
        }
    }
    Ok(o)
}

fn read_input(file: Option<&str>) -> Result<String, String> {
    match file {
        None => Err(format!("which file?\n{USAGE}")),
        Some("-") => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map_err(|e| format!("stdin: {e}"))?;
            Ok(s)
        }
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}")),
    }
}

fn read_ruleset(file: Option<&str>) -> Result<Value, String> {
    let text = read_input(file)?;
    let mut ruleset = Value::parse(&text).map_err(|e| format!("{}: {e}", file.unwrap_or("-")))?;
    // Signed as the server publishes it: HTML in page changes sanitised.
    for path in tailor_server::sanitise::sanitise_ruleset(&mut ruleset) {
        eprintln!("sanitised: {path}");
    }
    signing::validate_ruleset(&ruleset).map_err(|errors| format!("invalid ruleset: {}", errors.join("; ")))?;
    Ok(ruleset)
}

pub fn main(args: &[String]) -> Result<(), String> {
    let (command, rest) = args.split_first().ok_or(USAGE)?;
    let o = options(rest)?;
    match command.as_str() {
        "sign" => sign(o),
        "verify" => verify(o),
        "publish" => publish(o),
        _ => Err(USAGE.into()),
    }
}

fn sign(o: Options) -> Result<(), String> {
    let key = Keypair::load(&o.key.clone().ok_or("sign needs --key FILE (see tailor keys generate)")?)?;
    let site = o.site.clone().ok_or("sign needs --site NAME")?;
    if !is_valid_name(&site) {
        return Err(format!("--site: '{site}' must be 1-64 of A-Z a-z 0-9 . _ -"));
    }
    let ruleset = read_ruleset(o.file.as_deref())?;
    let envelope = key.sign(
        &site,
        o.version.unwrap_or(1),
        o.issued_at.unwrap_or_else(now_ms),
        o.ttl_ms.unwrap_or(DEFAULT_TTL_MS),
        ruleset,
    );
    println!("{}", envelope.to_value().to_json());
    Ok(())
}

fn verify(o: Options) -> Result<(), String> {
    let key = match (&o.public_key, &o.key) {
        (Some(public), _) => signing::parse_public_key(public)?,
        (None, Some(path)) => Keypair::load(path)?.verifying_key(),
        (None, None) => return Err("verify needs --public-key BASE64 or --key FILE".into()),
    };
    let envelope =
        RulesetEnvelope::parse(&read_input(o.file.as_deref())?).map_err(|e| format!("not an envelope: {e}"))?;
    let now = if o.ignore_expiry { None } else { Some(o.now.unwrap_or_else(now_ms)) };
    signing::verify(&envelope, &key, now).map_err(|e| format!("verification failed: {e}"))?;
    println!(
        "{}",
        serde_json::json!({
            "ok": true, "site": envelope.site, "version": envelope.version, "keyId": envelope.key_id,
            "issuedAt": envelope.issued_at, "expiresAt": envelope.expires_at,
        })
    );
    Ok(())
}

fn publish(o: Options) -> Result<(), String> {
    let server = o.server.clone().ok_or("publish needs --server URL (e.g. http://127.0.0.1:8080)")?;
    let site = o.site.clone().unwrap_or_else(|| "default".into());
    let token = o
        .token
        .clone()
        .or_else(|| std::env::var("TAILOR_ADMIN_TOKEN").ok())
        .ok_or("publish needs --token TOKEN or TAILOR_ADMIN_TOKEN")?;
    let ruleset = read_ruleset(o.file.as_deref())?;
    let url = format!("{}/v1/admin/rulesets/{site}", server.trim_end_matches('/'));
    let mut client = reqwest::blocking::Client::builder().https_only(url.starts_with("https://"));
    if let Some(path) = &o.ca {
        let pem = std::fs::read(path).map_err(|e| format!("--ca {}: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| format!("--ca {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("--ca {}: no PEM certificate in it", path.display()));
        }
        for cert in certs {
            client = client.add_root_certificate(cert);
        }
    }
    let client = client.build().map_err(|e| format!("HTTP client: {e}"))?;
    let response = client
        .post(&url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(ruleset.to_json())
        .send()
        .map_err(|e| format!("{url}: {}", error_chain(&e)))?;
    let status = response.status();
    let body = response.text().unwrap_or_default();
    if !status.is_success() {
        return Err(format!("{url}: {status}: {body}"));
    }
    println!("{body}");
    Ok(())
}

/// An error with its causes (reqwest's own message hides why a TLS handshake failed).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
