//! `tailor identity-token --site SITE --user USER_ID [--ttl SECONDS]`: prints the identity
//! token a shop's backend hands the browser at login (`identify(userId, { token })`). The
//! secret comes from `TAILOR_IDENTITY_SECRET` (kept out of the process list), else
//! `--secret`. For scripts and tests; a shop's backend computes the same HMAC itself
//! (docs/api.md shows how).

use tailor_server::identity;

const USAGE: &str =
    "usage: TAILOR_IDENTITY_SECRET=... tailor identity-token --site SITE --user USER_ID [--ttl SECONDS]";

pub fn main(args: &[String]) -> Result<(), String> {
    let (mut site, mut user, mut ttl) = (None, None, 3600u64);
    let mut secret = std::env::var("TAILOR_IDENTITY_SECRET").ok().filter(|s| !s.is_empty());
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--site" => site = Some(value()?),
            "--user" => user = Some(value()?),
            "--secret" => secret = Some(value()?),
            "--ttl" => {
                let v = value()?;
                ttl = v
                    .parse()
                    .ok()
                    .filter(|t| *t > 0)
                    .ok_or(format!("--ttl '{v}': expected a positive number of seconds"))?;
            }
            other => return Err(format!("unknown option '{other}'\n{USAGE}")),
        }
    }
    let (Some(site), Some(user)) = (site, user) else { return Err(USAGE.to_string()) };
    if site == "*" {
        return Err("--site: a token is for one site, not '*'".to_string());
    }
    let secret = secret.ok_or(format!("no secret: set TAILOR_IDENTITY_SECRET\n{USAGE}"))?;
    let parsed = identity::parse_secrets(&format!("{site}={secret}"))?;
    let (site, secret) = &parsed[0];
    let now_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    println!("{}", identity::token(secret, site, &user, now_s + ttl));
    Ok(())
}
