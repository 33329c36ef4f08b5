//! `tailor serve`'s options: the command line (and two environment variables) read into a
//! [`Config`], which the server and its API handlers share.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::signing::DEFAULT_TTL_MS;
use crate::store::DbUrl;

/// Default `--stream-limit`: open live ruleset streams per site in this process.
pub const DEFAULT_SITE_STREAMS: u32 = 10_000;

/// Default `--client-stream-limit`: open streams per client address (one per visible tab;
/// shoppers behind one NAT share an address).
pub const DEFAULT_CLIENT_STREAMS: u32 = 16;

pub const USAGE: &str = "usage: tailor serve [options]
  --addr HOST:PORT       listen address (default 127.0.0.1:8080)
  --port PORT            listen port (0 picks a free one)
  --www DIR              demo storefront served at / (default www)
  --pkg DIR              npm package served at /pkg/ (default pkg)
  --db URL               sqlite:PATH (default sqlite:.tailor/tailor.db) or postgres://...
  --site NAME            default site for requests that name none (default 'default')
  --ruleset FILE         publish FILE for the default site at start (unless unchanged)
  --key FILE             Ed25519 signing key (created if absent; default beside the DB)
  --admin-token TOKEN    enables the admin API, at least 16 characters (or env TAILOR_ADMIN_TOKEN)
  --identity-secret SITE=SECRET
                         verify identity tokens of SITE with SECRET, at least 16 characters
                         (repeatable; SITE '*' = every site without its own; or env
                         TAILOR_IDENTITY_SECRETS=site1=secret1,site2=secret2); without one,
                         identify links nothing and hands out nothing of a user
  --cors-origin ORIGIN   allow this browser origin (repeatable; '*' for any)
  --rate-limit N         events per second per site in this process (default 1000; 0 = no
                         event limit at all, per site or per client)
  --client-rate-limit N  events per second per client of a site, counted per address and per
                         anonymous id (default a tenth of --rate-limit, at least 100 or the
                         site's rate; 0 = off); each address also has a byte budget
  --trust-proxy          take the client's address from the last X-Forwarded-For entry (only
                         behind a proxy that sets it)
  --sites LIST           serve only these sites (comma-separated, repeatable), the --site
                         default, sites with their own --identity-secret and sites with a
                         published ruleset; events of others get 404 (default: every site)
  --stream-limit N       live ruleset streams per site in this process (default 10000)
  --client-stream-limit N
                         live ruleset streams per client address (default 16)
  --request-timeout S    seconds before a request is answered 503 (default 10)
  --ruleset-ttl S        seconds a signed ruleset stays valid (default 2592000 = 30 days)
  --fail-rate F          TESTING ONLY: answer 503 to this fraction (0 to 1) of POST /v1/events
                         before storing anything (default 0), to exercise client retries
";

/// The shortest admin token accepted, from the flag or the environment.
const MIN_ADMIN_TOKEN: usize = 16;

/// What the server needs to know, from the command line.
#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    /// The demo storefront, served at `/`.
    pub www: PathBuf,
    /// The built npm package, served at `/pkg/`.
    pub pkg: PathBuf,
    pub db: DbUrl,
    pub site: String,
    pub ruleset: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub admin_token: Option<String>,
    /// Per-site secrets that verify identity tokens (`crate::identity`).
    pub identity_secrets: Vec<(String, String)>,
    pub cors_origins: Vec<String>,
    pub rate_limit: u32,
    /// Events per second per client of a site; `None` = derived from `rate_limit`.
    pub client_rate_limit: Option<u32>,
    /// Whether the client's address comes from `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// `--sites`: the sites served besides the default one; `None` = every site.
    pub sites: Option<Vec<String>>,
    pub request_timeout: Duration,
    /// Open `GET /v1/rulesets/{site}/stream` per site, and per client address.
    pub stream_limit: u32,
    pub client_stream_limit: u32,
    pub ruleset_ttl_ms: i64,
    /// Testing only (`--fail-rate`): the fraction of event batches answered 503 unstored.
    pub fail_rate: f64,
}

impl Config {
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let mut config = Config {
            addr: "127.0.0.1:8080".parse().expect("literal address"),
            www: PathBuf::from("www"),
            pkg: PathBuf::from("pkg"),
            db: DbUrl::Sqlite(PathBuf::from(".tailor/tailor.db")),
            site: "default".to_string(),
            ruleset: None,
            key: None,
            admin_token: match std::env::var("TAILOR_ADMIN_TOKEN").ok().filter(|t| !t.is_empty()) {
                Some(t) if t.len() < MIN_ADMIN_TOKEN => {
                    return Err(format!("TAILOR_ADMIN_TOKEN: use at least {MIN_ADMIN_TOKEN} characters"))
                }
                token => token,
            },
            identity_secrets: crate::identity::parse_secrets(
                &std::env::var("TAILOR_IDENTITY_SECRETS").unwrap_or_default(),
            )
            .map_err(|e| format!("TAILOR_IDENTITY_SECRETS: {e}"))?,
            cors_origins: Vec::new(),
            rate_limit: 1000,
            client_rate_limit: None,
            trust_proxy: false,
            sites: None,
            request_timeout: Duration::from_secs(10),
            stream_limit: DEFAULT_SITE_STREAMS,
            client_stream_limit: DEFAULT_CLIENT_STREAMS,
            ruleset_ttl_ms: DEFAULT_TTL_MS,
            fail_rate: 0.0,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value"));
            match flag.as_str() {
                "--addr" => {
                    let v = value("--addr")?;
                    config.addr =
                        v.parse().map_err(|_| format!("--addr: '{v}' is not an address like 127.0.0.1:8080"))?;
                }
                "--port" => {
                    let v = value("--port")?;
                    let port = v.parse().map_err(|_| format!("--port: '{v}' is not a port number"))?;
                    config.addr.set_port(port);
                }
                "--www" => config.www = value("--www")?.into(),
                "--pkg" => config.pkg = value("--pkg")?.into(),
                "--db" => config.db = DbUrl::parse(&value("--db")?)?,
                "--site" => {
                    let v = value("--site")?;
                    if !tailor::engine::wire::is_valid_name(&v) {
                        return Err(format!("--site: '{v}' must be 1-64 of A-Z a-z 0-9 . _ -"));
                    }
                    config.site = v;
                }
                "--ruleset" => config.ruleset = Some(value("--ruleset")?.into()),
                "--key" => config.key = Some(value("--key")?.into()),
                "--admin-token" => {
                    let v = value("--admin-token")?;
                    if v.len() < MIN_ADMIN_TOKEN {
                        return Err(format!("--admin-token: use at least {MIN_ADMIN_TOKEN} characters"));
                    }
                    config.admin_token = Some(v);
                }
                "--identity-secret" => {
                    let v = value("--identity-secret")?;
                    let mut parsed =
                        crate::identity::parse_secrets(&v).map_err(|e| format!("--identity-secret: {e}"))?;
                    config.identity_secrets.append(&mut parsed);
                }
                "--cors-origin" => config.cors_origins.push(value("--cors-origin")?.trim_end_matches('/').to_string()),
                "--rate-limit" => {
                    let v = value("--rate-limit")?;
                    config.rate_limit =
                        v.parse().map_err(|_| format!("--rate-limit: '{v}' is not a number of events per second"))?;
                }
                "--client-rate-limit" => {
                    let v = value("--client-rate-limit")?;
                    config.client_rate_limit = Some(
                        v.parse()
                            .map_err(|_| format!("--client-rate-limit: '{v}' is not a number of events per second"))?,
                    );
                }
                "--trust-proxy" => config.trust_proxy = true,
                "--sites" => {
                    let v = value("--sites")?;
                    let sites = config.sites.get_or_insert_with(Vec::new);
                    for site in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        if !tailor::engine::wire::is_valid_name(site) {
                            return Err(format!("--sites: '{site}' must be 1-64 of A-Z a-z 0-9 . _ -"));
                        }
                        sites.push(site.to_string());
                    }
                }
                "--stream-limit" | "--client-stream-limit" => {
                    let v = value(flag)?;
                    let n = v.parse().map_err(|_| format!("{flag}: '{v}' is not a number of streams"))?;
                    if flag == "--stream-limit" {
                        config.stream_limit = n;
                    } else {
                        config.client_stream_limit = n;
                    }
                }
                "--request-timeout" => {
                    let v = value("--request-timeout")?;
                    let s: f64 = v
                        .parse()
                        .ok()
                        .filter(|s: &f64| *s > 0.0 && s.is_finite())
                        .ok_or_else(|| format!("--request-timeout: '{v}' is not a number of seconds"))?;
                    config.request_timeout = Duration::from_secs_f64(s);
                }
                "--ruleset-ttl" => {
                    let v = value("--ruleset-ttl")?;
                    let s: i64 = v
                        .parse()
                        .ok()
                        .filter(|s| *s > 0)
                        .ok_or_else(|| format!("--ruleset-ttl: '{v}' is not a number of seconds"))?;
                    config.ruleset_ttl_ms = s.saturating_mul(1000);
                }
                "--fail-rate" => {
                    let v = value("--fail-rate")?;
                    config.fail_rate = v
                        .parse()
                        .ok()
                        .filter(|f: &f64| (0.0..=1.0).contains(f))
                        .ok_or_else(|| format!("--fail-rate: '{v}' is not a fraction from 0 to 1"))?;
                }
                "--help" | "-h" => return Err(USAGE.to_string()),
                other => return Err(format!("serve: unknown option '{other}'\n\n{USAGE}")),
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(Config::from_args(&args("--port 9000")).unwrap().addr.port(), 9000);
        let err = Config::from_args(&args("--addr nowhere")).unwrap_err();
        assert!(err.contains("--addr"), "{err}");
        assert!(Config::from_args(&args("--bogus")).unwrap_err().contains("--bogus"));
    }
}
