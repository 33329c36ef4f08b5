//! Storage: one schema and one set of queries over SQLite (embedded, the default) or
//! PostgreSQL (shared by several stateless servers).
//!
//! Queries are written once with `$1` placeholders and run on either backend through
//! [`Store::query`] / [`Store::exec`]; only the hot path, inserting a batch of events, has
//! a backend-specific form.

mod event;
mod postgres;
mod rollup;
mod sqlite;
mod studio;

pub use event::NewEvent;
pub use rollup::{DaySums, ExperimentData, MetricData, MetricSums, Rebuilding, DAY_MS};
pub use studio::{AuditEntry, Draft, Version};

use std::path::PathBuf;

use tailor::engine::json::{Map, Value};
use tailor::engine::wire::ServerProfile;

/// The tables. Statements are separated by `;` and idempotent, so every server runs them at
/// start. `identities` holds the links proven by an identity token (`crate::identity`);
/// `identity_claims` those an identify without a valid token asked for, kept apart so that
/// nothing reads a user's data through them. Event ids stay as long as their events (there is no expiry): the dedupe window is
/// unbounded, so at least the 7 days the API promises. `studio_*` hold the Studio's drafts,
/// who published each version, and its append-only audit log (`studio.rs`).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
  site TEXT NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  anonymous_id TEXT NOT NULL,
  user_id TEXT,
  session_id TEXT,
  client_ts BIGINT NOT NULL,
  ts BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  flags TEXT,
  exp_key TEXT,
  exp_variation TEXT,
  body TEXT NOT NULL,
  PRIMARY KEY (site, id)
);
CREATE INDEX IF NOT EXISTS events_by_anonymous_id ON events (site, anonymous_id);
CREATE INDEX IF NOT EXISTS events_by_user_id ON events (site, user_id);
CREATE TABLE IF NOT EXISTS identities (
  site TEXT NOT NULL,
  anonymous_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  linked_at BIGINT NOT NULL,
  PRIMARY KEY (site, anonymous_id)
);
CREATE INDEX IF NOT EXISTS identities_by_user_id ON identities (site, user_id);
CREATE TABLE IF NOT EXISTS identity_claims (
  site TEXT NOT NULL,
  anonymous_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  claimed_at BIGINT NOT NULL,
  PRIMARY KEY (site, anonymous_id)
);
CREATE INDEX IF NOT EXISTS identity_claims_by_user_id ON identity_claims (site, user_id);
CREATE TABLE IF NOT EXISTS users (
  site TEXT NOT NULL,
  user_id TEXT NOT NULL,
  traits TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (site, user_id)
);
DROP TABLE IF EXISTS rollup_rows;
CREATE TABLE IF NOT EXISTS rollup_shoppers (
  site TEXT NOT NULL,
  exp_key TEXT NOT NULL,
  metric TEXT NOT NULL,
  shopper TEXT NOT NULL,
  variation TEXT NOT NULL,
  day BIGINT NOT NULL,
  exposures BIGINT NOT NULL,
  y_n DOUBLE PRECISION NOT NULL,
  y DOUBLE PRECISION NOT NULL,
  x DOUBLE PRECISION NOT NULL,
  d DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (site, exp_key, metric, shopper, variation)
);
CREATE INDEX IF NOT EXISTS rollup_shoppers_by_shopper ON rollup_shoppers (site, shopper);
CREATE TABLE IF NOT EXISTS rollup_totals (
  site TEXT NOT NULL,
  exp_key TEXT NOT NULL,
  metric TEXT NOT NULL,
  variation TEXT NOT NULL,
  n BIGINT NOT NULL,
  exposures BIGINT NOT NULL,
  converted BIGINT NOT NULL,
  events DOUBLE PRECISION NOT NULL,
  sum_y DOUBLE PRECISION NOT NULL,
  sum_y_sq DOUBLE PRECISION NOT NULL,
  sum_x DOUBLE PRECISION NOT NULL,
  sum_x_sq DOUBLE PRECISION NOT NULL,
  sum_xy DOUBLE PRECISION NOT NULL,
  sum_d DOUBLE PRECISION NOT NULL,
  sum_d_sq DOUBLE PRECISION NOT NULL,
  sum_yd DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (site, exp_key, metric, variation)
);
CREATE TABLE IF NOT EXISTS rollup_days (
  site TEXT NOT NULL,
  exp_key TEXT NOT NULL,
  metric TEXT NOT NULL,
  variation TEXT NOT NULL,
  day BIGINT NOT NULL,
  n BIGINT NOT NULL,
  exposures BIGINT NOT NULL,
  converted BIGINT NOT NULL,
  events DOUBLE PRECISION NOT NULL,
  sum_y DOUBLE PRECISION NOT NULL,
  sum_y_sq DOUBLE PRECISION NOT NULL,
  sum_x DOUBLE PRECISION NOT NULL,
  sum_x_sq DOUBLE PRECISION NOT NULL,
  sum_xy DOUBLE PRECISION NOT NULL,
  sum_d DOUBLE PRECISION NOT NULL,
  sum_d_sq DOUBLE PRECISION NOT NULL,
  sum_yd DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (site, exp_key, metric, variation, day)
);
CREATE TABLE IF NOT EXISTS rollup_state (
  site TEXT NOT NULL PRIMARY KEY,
  metrics TEXT NOT NULL,
  built_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS rulesets (
  site TEXT NOT NULL,
  version BIGINT NOT NULL,
  envelope TEXT NOT NULL,
  published_at BIGINT NOT NULL,
  PRIMARY KEY (site, version)
);
CREATE TABLE IF NOT EXISTS studio_drafts (
  site TEXT NOT NULL,
  name TEXT NOT NULL,
  ruleset TEXT NOT NULL,
  errors TEXT NOT NULL,
  saved_at BIGINT NOT NULL,
  saved_by TEXT NOT NULL,
  PRIMARY KEY (site, name)
);
CREATE TABLE IF NOT EXISTS studio_versions (
  site TEXT NOT NULL,
  version BIGINT NOT NULL,
  who TEXT NOT NULL,
  role TEXT NOT NULL,
  summary TEXT NOT NULL,
  PRIMARY KEY (site, version)
);
CREATE TABLE IF NOT EXISTS studio_audit (
  site TEXT NOT NULL,
  seq BIGINT NOT NULL,
  at BIGINT NOT NULL,
  who TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL,
  PRIMARY KEY (site, seq)
)";

/// A query parameter.
#[derive(Clone, Debug)]
pub enum Param {
    Text(String),
    Int(i64),
    NullText,
}

impl From<&str> for Param {
    fn from(s: &str) -> Param {
        Param::Text(s.to_string())
    }
}
impl From<String> for Param {
    fn from(s: String) -> Param {
        Param::Text(s)
    }
}
impl From<i64> for Param {
    fn from(n: i64) -> Param {
        Param::Int(n)
    }
}
impl From<Option<String>> for Param {
    fn from(s: Option<String>) -> Param {
        s.map_or(Param::NullText, Param::Text)
    }
}

/// A result cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

impl Cell {
    pub fn int(&self) -> i64 {
        match self {
            Cell::Int(n) => *n,
            Cell::Float(f) => *f as i64,
            Cell::Text(s) => s.parse().unwrap_or(0),
            Cell::Null => 0,
        }
    }
    pub fn float(&self) -> f64 {
        match self {
            Cell::Int(n) => *n as f64,
            Cell::Float(f) => *f,
            Cell::Text(s) => s.parse().unwrap_or(0.0),
            Cell::Null => 0.0,
        }
    }
    pub fn text(&self) -> Option<&str> {
        match self {
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Where the data lives, from `--db`.
#[derive(Clone, Debug, PartialEq)]
pub enum DbUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DbUrl {
    pub fn parse(text: &str) -> std::result::Result<DbUrl, String> {
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.trim_start_matches("//");
            if path.is_empty() {
                return Err("--db sqlite: needs a file path, as sqlite:.tailor/tailor.db".into());
            }
            Ok(DbUrl::Sqlite(PathBuf::from(path)))
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(DbUrl::Postgres(text.to_string()))
        } else {
            Err(format!("--db: '{text}' is neither sqlite:PATH nor postgres://..."))
        }
    }

    /// Where the signing key goes when `--key` is not given: beside the SQLite file, or in
    /// `.tailor/` of the working directory for PostgreSQL.
    pub fn default_key_path(&self) -> PathBuf {
        match self {
            DbUrl::Sqlite(path) => {
                path.parent().map(|d| d.join("signing.key")).unwrap_or_else(|| PathBuf::from("signing.key"))
            }
            DbUrl::Postgres(_) => PathBuf::from(".tailor/signing.key"),
        }
    }

    /// The URL with any password hidden, for logs.
    pub fn display(&self) -> String {
        match self {
            DbUrl::Sqlite(path) => format!("sqlite:{}", path.display()),
            DbUrl::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(s), Some(at)) if url[s + 3..at].contains(':') => {
                    let user_end = s + 3 + url[s + 3..at].find(':').unwrap_or(0);
                    format!("{}:***{}", &url[..user_end], &url[at..])
                }
                _ => url.clone(),
            },
        }
    }
}

enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// The database, shared by all requests.
pub struct Store {
    backend: Backend,
}

/// One row of experiment results.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VariantResult {
    pub experiment_key: String,
    pub variation: String,
    /// Exposure events.
    pub exposures: i64,
    /// Distinct shoppers exposed.
    pub shoppers: i64,
    /// Shoppers exposed who sent a `purchase` at or after their first exposure.
    pub conversions: i64,
    /// Purchases at or after the shopper's first exposure, their revenue, and the sum over
    /// shoppers of the square of each shopper's revenue (for its variance).
    pub orders: i64,
    pub revenue: f64,
    pub revenue_sq: f64,
}

/// What `DELETE /v1/profiles/{id}` erases: `id` taken as an anonymous id or as a user id.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Erase {
    Anonymous,
    User,
}

/// What `DELETE /v1/profiles/{id}` erased.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Deleted {
    pub events: u64,
    pub identities: u64,
    pub users: u64,
}

/// The most events of a shopper returned by identify.
pub const PROFILE_EVENTS: i64 = 200;

impl Store {
    /// Opens (creating if needed) the database and its tables.
    pub async fn open(url: &DbUrl) -> Result<Store> {
        let backend = match url {
            DbUrl::Sqlite(path) => Backend::Sqlite(sqlite::Sqlite::open(path).await?),
            DbUrl::Postgres(url) => Backend::Postgres(postgres::Postgres::open(url).await?),
        };
        Ok(Store { backend })
    }

    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Whether the database answers a trivial query (for `/healthz`).
    pub async fn ping(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(db) => db.query("SELECT 1", Vec::new()).await.map(|_| ()),
            Backend::Postgres(db) => db.ping().await,
        }
    }

    pub async fn query(&self, sql: &str, params: Vec<Param>) -> Result<Vec<Vec<Cell>>> {
        match &self.backend {
            Backend::Sqlite(db) => db.query(sql, params).await,
            Backend::Postgres(db) => db.query(sql, params).await,
        }
    }

    pub async fn exec(&self, sql: &str, params: Vec<Param>) -> Result<u64> {
        match &self.backend {
            Backend::Sqlite(db) => db.exec(sql, params).await,
            Backend::Postgres(db) => db.exec(sql, params).await,
        }
    }

    /// Stores events of `site`; `true` where the event is new, `false` where its id was
    /// already stored. Ids must be distinct within one call.
    pub async fn insert_events(&self, site: &str, events: Vec<NewEvent>) -> Result<Vec<bool>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (mut anonymous_ids, mut exposed): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        for e in &events {
            if !anonymous_ids.contains(&e.anonymous_id) {
                anonymous_ids.push(e.anonymous_id.clone());
            }
            if e.exp_key.is_some() && !exposed.contains(&e.anonymous_id) {
                exposed.push(e.anonymous_id.clone());
            }
        }
        let inserted = match &self.backend {
            Backend::Sqlite(db) => db.insert_events(site, events).await,
            Backend::Postgres(db) => db.insert_events(site, events).await,
        }?;
        // The events are stored (acknowledged); the rollups follow. Should this fail, the
        // shopper's next change (or a rebuild) recomputes them from the events.
        if inserted.iter().any(|new| *new) {
            let ids: Vec<&str> = anonymous_ids.iter().map(String::as_str).collect();
            let exposed: Vec<&str> = exposed.iter().map(String::as_str).collect();
            if let Err(e) = self.refresh_after_batch(site, &ids, &exposed).await {
                crate::log::error(&format!("updating the rollups of site {site}: {e}"));
            }
        }
        Ok(inserted)
    }

    /// The newest published envelope of `site`: its version and JSON text.
    pub async fn latest_ruleset(&self, site: &str) -> Result<Option<(u64, String)>> {
        let rows = self
            .query(
                "SELECT version, envelope FROM rulesets WHERE site = $1 ORDER BY version DESC LIMIT 1",
                vec![site.into()],
            )
            .await?;
        Ok(rows.into_iter().next().map(|r| (r[0].int() as u64, r[1].text().unwrap_or_default().to_string())))
    }

    /// Stores a new version; `false` when another server published that version first.
    pub async fn insert_ruleset(&self, site: &str, version: u64, envelope: &str, now: i64) -> Result<bool> {
        let n = self
            .exec(
                "INSERT INTO rulesets (site, version, envelope, published_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (site, version) DO NOTHING",
                vec![site.into(), (version as i64).into(), envelope.into(), now.into()],
            )
            .await?;
        Ok(n == 1)
    }

    /// Replaces the envelope of an existing version (re-signed with a later expiry).
    pub async fn replace_ruleset(&self, site: &str, version: u64, envelope: &str) -> Result<()> {
        self.exec(
            "UPDATE rulesets SET envelope = $3 WHERE site = $1 AND version = $2",
            vec![site.into(), (version as i64).into(), envelope.into()],
        )
        .await?;
        Ok(())
    }

    /// Records that `anonymous_id` claimed to be `user_id` without proof: kept (for the
    /// shop's own analysis, and erased with either id), never read into a user's profile.
    pub async fn claim_identity(&self, site: &str, anonymous_id: &str, user_id: &str, now: i64) -> Result<()> {
        self.exec(
            "INSERT INTO identity_claims (site, anonymous_id, user_id, claimed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (site, anonymous_id) DO UPDATE SET user_id = excluded.user_id, claimed_at = excluded.claimed_at",
            vec![site.into(), anonymous_id.into(), user_id.into(), now.into()],
        )
        .await?;
        Ok(())
    }

    /// Links `anonymous_id` to `user_id` as proven (re-linking it if it was someone else's)
    /// and merges `traits` into the user's (a shallow merge; `null` removes a trait).
    pub async fn identify(&self, site: &str, anonymous_id: &str, user_id: &str, traits: &Map, now: i64) -> Result<()> {
        // The shoppers whose rollups the link moves: the anonymous id, its previous user, the user.
        let mut moved = self.shoppers_of(site, &[anonymous_id]).await?;
        moved.extend([anonymous_id.to_string(), user_id.to_string()]);
        self.exec(
            "INSERT INTO identities (site, anonymous_id, user_id, linked_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (site, anonymous_id) DO UPDATE SET user_id = excluded.user_id, linked_at = excluded.linked_at",
            vec![site.into(), anonymous_id.into(), user_id.into(), now.into()],
        )
        .await?;
        self.exec(
            "DELETE FROM identity_claims WHERE site = $1 AND anonymous_id = $2",
            vec![site.into(), anonymous_id.into()],
        )
        .await?;
        let mut merged = self.traits(site, user_id).await?;
        for (k, v) in traits.iter() {
            if v.is_null() {
                merged.remove(k);
            } else {
                merged.insert(k, v.clone());
            }
        }
        self.exec(
            "INSERT INTO users (site, user_id, traits, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (site, user_id) DO UPDATE SET traits = excluded.traits, updated_at = excluded.updated_at",
            vec![site.into(), user_id.into(), Value::Object(merged).to_json().into(), now.into()],
        )
        .await?;
        self.refresh_rollups(site, &moved).await
    }

    async fn traits(&self, site: &str, user_id: &str) -> Result<Map> {
        let rows = self
            .query("SELECT traits FROM users WHERE site = $1 AND user_id = $2", vec![site.into(), user_id.into()])
            .await?;
        Ok(rows
            .first()
            .and_then(|r| r[0].text())
            .and_then(|t| Value::parse(t).ok())
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default())
    }

    /// Everything stored about `user_id`: the events of the anonymous ids linked to it with
    /// proof. An event's own `userId` proves nothing (any caller can write one), so events
    /// sent under a `userId` by an anonymous id that is not linked count for that anonymous
    /// id only.
    pub async fn profile(&self, site: &str, user_id: &str) -> Result<ServerProfile> {
        const SHOPPER: &str = "site = $1 AND anonymous_id IN \
             (SELECT anonymous_id FROM identities WHERE site = $1 AND user_id = $2)";
        let anonymous_ids = self
            .query(
                "SELECT anonymous_id FROM identities WHERE site = $1 AND user_id = $2 ORDER BY linked_at, anonymous_id",
                vec![site.into(), user_id.into()],
            )
            .await?
            .into_iter()
            .filter_map(|r| r[0].text().map(String::from))
            .collect();
        let counts = self
            .query(
                &format!(
                    "SELECT type, COUNT(*), MIN(ts), MAX(ts) FROM events WHERE {SHOPPER} GROUP BY type ORDER BY type"
                ),
                vec![site.into(), user_id.into()],
            )
            .await?;
        let events = self
            .query(
                &format!("SELECT body FROM events WHERE {SHOPPER} ORDER BY ts DESC, id DESC LIMIT {PROFILE_EVENTS}"),
                vec![site.into(), user_id.into()],
            )
            .await?
            .into_iter()
            .filter_map(|r| r[0].text().and_then(|t| Value::parse(t).ok()))
            .collect();
        Ok(ServerProfile {
            user_id: user_id.to_string(),
            anonymous_ids,
            traits: self.traits(site, user_id).await?,
            counters: counts.iter().map(|r| (r[0].text().unwrap_or_default().to_string(), r[1].int() as u64)).collect(),
            first_seen: counts.iter().map(|r| r[2].int()).min(),
            last_seen: counts.iter().map(|r| r[3].int()).max(),
            events,
            verified: false,
        })
    }

    /// Erases in one transaction (so a retry after a failure finishes the job, and erasing
    /// twice erases nothing more). [`Erase::Anonymous`]: the events of that anonymous id and
    /// its link or claim, nothing of a user. [`Erase::User`]: the user's traits, its links
    /// and claims, the events of every anonymous id linked to it and every event sent under
    /// its user id.
    pub async fn delete_profile(&self, site: &str, id: &str, what: Erase) -> Result<Deleted> {
        const LINKED: &str = "anonymous_id IN (SELECT anonymous_id FROM identities WHERE site = $1 AND user_id = $2)";
        let statements: Vec<String> = match what {
            Erase::Anonymous => vec![
                "DELETE FROM events WHERE site = $1 AND anonymous_id = $2".into(),
                "DELETE FROM identities WHERE site = $1 AND anonymous_id = $2".into(),
                "DELETE FROM identity_claims WHERE site = $1 AND anonymous_id = $2".into(),
            ],
            Erase::User => vec![
                format!("DELETE FROM events WHERE site = $1 AND (user_id = $2 OR {LINKED})"),
                "DELETE FROM identities WHERE site = $1 AND user_id = $2".into(),
                "DELETE FROM identity_claims WHERE site = $1 AND user_id = $2".into(),
                "DELETE FROM users WHERE site = $1 AND user_id = $2".into(),
            ],
        };
        // The shoppers whose rollups lose events: the id itself and the user it belongs to.
        let mut moved = self.shoppers_of(site, &[id]).await?;
        moved.push(id.to_string());
        let params = vec![Param::from(site), Param::from(id)];
        let n = match &self.backend {
            Backend::Sqlite(db) => db.exec_all(statements, params).await?,
            Backend::Postgres(db) => db.exec_all(statements, params).await?,
        };
        self.refresh_rollups(site, &moved).await?;
        Ok(Deleted { events: n[0], identities: n[1] + n[2], users: n.get(3).copied().unwrap_or(0) })
    }
}

/// `$1` placeholders as SQLite's `?1`; a `$` not followed by a digit (a JSON path such as
/// `'$.props'`) stays.
fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_urls() {
        assert_eq!(DbUrl::parse("sqlite:a/b.db").unwrap(), DbUrl::Sqlite(PathBuf::from("a/b.db")));
        assert!(matches!(DbUrl::parse("postgres://u@h/d").unwrap(), DbUrl::Postgres(_)));
        assert!(DbUrl::parse("mysql://x").is_err());
        assert!(DbUrl::parse("sqlite:").is_err());
        assert_eq!(DbUrl::parse("sqlite:a/b.db").unwrap().default_key_path(), PathBuf::from("a/signing.key"));
        assert_eq!(DbUrl::parse("postgres://u:secret@h:5/d").unwrap().display(), "postgres://u:***@h:5/d");
    }

    #[test]
    fn placeholders_leave_json_paths_alone() {
        assert_eq!(
            sqlite_placeholders("SELECT json_extract(b, '$.props.x') WHERE a = $1 AND c = $12"),
            "SELECT json_extract(b, '$.props.x') WHERE a = ?1 AND c = ?12"
        );
    }
}
