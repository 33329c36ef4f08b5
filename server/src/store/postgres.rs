//! PostgreSQL: a pool of connections (deadpool) that replaces connections closed by a
//! database restart or a network failure; any connection can serve any request and several
//! server processes can share the database. Only an erasure holds one connection for a
//! transaction of several statements.
//!
//! TLS follows the URL's `sslmode` (`disable`, `prefer`, the default, or `require`) with
//! rustls; the server's certificate is always verified, against the Mozilla roots or the
//! PEM file named by `sslrootcert=PATH` in the URL.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::{ToSql, Type};

use super::{Cell, NewEvent, Param, Result, StoreError, SCHEMA};

/// Connections per server process, at most.
const CONNECTIONS: usize = 16;
/// How long a request waits for a free connection, or for a new one to be made.
const WAIT: Duration = Duration::from_secs(5);
/// What a statement may take before PostgreSQL cancels it.
pub const STATEMENT_TIMEOUT_MS: u64 = 10_000;

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("postgres: {e}"))
}

/// A driver error with the database's own message ("db error" alone says nothing).
fn db_err(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError(format!("postgres: {}: {}", db.code().code(), db.message())),
        None => err(e),
    }
}

/// A pool error with its cause (deadpool's own text hides it).
fn pool_err(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => err(e),
        deadpool_postgres::PoolError::Timeout(_) => err("no database connection within 5 s"),
        e => err(e),
    }
}

/// Makes concurrent first starts safe: `CREATE ... IF NOT EXISTS` can race in PostgreSQL.
const SCHEMA_LOCK: i64 = 0x7461_696c_6f72;

/// Runs the body on a pooled connection; once more on a fresh connection when the first one
/// turns out to be closed (the database restarted since it was last used: the pool drops
/// closed connections when they come back). Every statement of the store is safe to repeat.
macro_rules! retry {
    ($self:ident, |$c:ident| $body:expr) => {{
        let mut attempt = 0;
        loop {
            let $c = $self.pool.get().await.map_err(pool_err)?;
            match $body {
                Err(e) if attempt == 0 && (e.is_closed() || $c.is_closed()) => attempt += 1,
                other => break other.map_err(err),
            }
        }
    }};
}

pub struct Postgres {
    pool: Pool,
}

/// Removes `sslrootcert=PATH` from the URL's query (the driver does not know it) and
/// returns the URL left and the path.
fn split_root_cert(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else { return (url.to_string(), None) };
    let mut path = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.strip_prefix("sslrootcert=") {
            Some(p) => {
                path = Some(p.to_string());
                false
            }
            None => true,
        })
        .collect();
    if rest.is_empty() {
        (base.to_string(), path)
    } else {
        (format!("{base}?{}", rest.join("&")), path)
    }
}

fn tls(root_cert: Option<&str>) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = root_cert {
        use rustls::pki_types::pem::PemObject;
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| err(format!("sslrootcert {path}: {e}")))?;
        for cert in certs {
            let cert = cert.map_err(|e| err(format!("sslrootcert {path}: {e}")))?;
            roots.add(cert).map_err(|e| err(format!("sslrootcert {path}: {e}")))?;
        }
    }
    let config =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(err)?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

impl Postgres {
    pub async fn open(url: &str) -> Result<Postgres> {
        let (url, root_cert) = split_root_cert(url);
        let mut config: tokio_postgres::Config = url.parse().map_err(err)?;
        let options = config.get_options().unwrap_or_default().to_string();
        config.options(format!("{options} -c statement_timeout={STATEMENT_TIMEOUT_MS}").trim());
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(WAIT);
        }
        let manager = Manager::from_config(
            config,
            tls(root_cert.as_deref())?,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(CONNECTIONS)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT))
            .create_timeout(Some(WAIT))
            .recycle_timeout(Some(WAIT))
            .build()
            .map_err(err)?;
        let schema = format!("BEGIN; SELECT pg_advisory_xact_lock({SCHEMA_LOCK}); {SCHEMA}; COMMIT;");
        pool.get().await.map_err(pool_err)?.batch_execute(&schema).await.map_err(err)?;
        Ok(Postgres { pool })
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        retry!(self, |c| c.simple_query("SELECT 1").await.map(|_| ()))
    }

    pub async fn query(&self, sql: &str, params: Vec<Param>) -> Result<Vec<Vec<Cell>>> {
        let refs = refs(&params);
        let rows = retry!(self, |c| c.query(sql, &refs).await)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut cells = Vec::with_capacity(row.len());
            for (i, column) in row.columns().iter().enumerate() {
                let cell = match *column.type_() {
                    Type::INT8 => row.try_get::<_, Option<i64>>(i).map(|v| v.map(Cell::Int)),
                    Type::INT4 => row.try_get::<_, Option<i32>>(i).map(|v| v.map(|n| Cell::Int(n as i64))),
                    Type::FLOAT8 => row.try_get::<_, Option<f64>>(i).map(|v| v.map(Cell::Float)),
                    _ => row.try_get::<_, Option<String>>(i).map(|v| v.map(Cell::Text)),
                }
                .map_err(err)?;
                cells.push(cell.unwrap_or(Cell::Null));
            }
            out.push(cells);
        }
        Ok(out)
    }

    pub async fn exec(&self, sql: &str, params: Vec<Param>) -> Result<u64> {
        let refs = refs(&params);
        retry!(self, |c| c.execute(sql, &refs).await)
    }

    /// Runs `statements`, all with `params`, in one transaction; the rows each changed.
    /// Retried once on a connection found closed, like every statement (nothing of a
    /// transaction that did not commit stays).
    pub async fn exec_all(&self, statements: Vec<String>, params: Vec<Param>) -> Result<Vec<u64>> {
        let refs = refs(&params);
        let mut attempt = 0;
        loop {
            let mut client = self.pool.get().await.map_err(pool_err)?;
            let result = async {
                let tx = client.transaction().await?;
                let mut changed = Vec::with_capacity(statements.len());
                for sql in &statements {
                    changed.push(tx.execute(sql.as_str(), &refs).await?);
                }
                tx.commit().await?;
                Ok::<_, tokio_postgres::Error>(changed)
            }
            .await;
            match result {
                Err(e) if attempt == 0 && (e.is_closed() || client.is_closed()) => attempt += 1,
                other => return other.map_err(err),
            }
        }
    }

    /// Runs each statement with its own parameters, all in one transaction; retried once
    /// on a connection found closed, like [`Postgres::exec_all`].
    pub async fn exec_each(&self, statements: Vec<(String, Vec<Param>)>) -> Result<()> {
        let mut attempt = 0;
        loop {
            let mut client = self.pool.get().await.map_err(pool_err)?;
            let result = async {
                let tx = client.transaction().await?;
                for (sql, params) in &statements {
                    tx.execute(sql.as_str(), &refs(params)).await?;
                }
                tx.commit().await
            }
            .await;
            match result {
                Err(e) if attempt == 0 && (e.is_closed() || client.is_closed()) => attempt += 1,
                other => return other.map_err(db_err),
            }
        }
    }

    /// One statement per batch: the columns as arrays, unnested, inserted, conflicts
    /// skipped; the ids that were inserted come back.
    pub async fn insert_events(&self, site: &str, events: Vec<NewEvent>) -> Result<Vec<bool>> {
        let col = |f: fn(&NewEvent) -> Option<String>| events.iter().map(f).collect::<Vec<_>>();
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        let types = col(|e| Some(e.event_type.clone()));
        let anon = col(|e| Some(e.anonymous_id.clone()));
        let users = col(|e| e.user_id.clone());
        let sessions = col(|e| e.session_id.clone());
        let client_ts: Vec<i64> = events.iter().map(|e| e.client_ts).collect();
        let ts: Vec<i64> = events.iter().map(|e| e.ts).collect();
        let received: Vec<i64> = events.iter().map(|e| e.received_at).collect();
        let flags = col(|e| e.flags.clone());
        let exp_key = col(|e| e.exp_key.clone());
        let exp_var = col(|e| e.exp_variation.clone());
        let bodies = col(|e| Some(e.body.clone()));
        let site = site.to_string();
        let params: [&(dyn ToSql + Sync); 13] = [
            &site, &ids, &types, &anon, &users, &sessions, &client_ts, &ts, &received, &flags, &exp_key, &exp_var,
            &bodies,
        ];
        let rows = retry!(self, |c| c.query(INSERT, &params).await)?;
        let new: std::collections::HashSet<String> = rows.iter().filter_map(|r| r.try_get(0).ok()).collect();
        Ok(ids.iter().map(|id| new.contains(id)).collect())
    }
}

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    static NULL: Option<String> = None;
    params
        .iter()
        .map(|p| match p {
            Param::Text(s) => s as &(dyn ToSql + Sync),
            Param::Int(n) => n as &(dyn ToSql + Sync),
            Param::NullText => &NULL as &(dyn ToSql + Sync),
        })
        .collect()
}

const INSERT: &str = "INSERT INTO events (site, id, type, anonymous_id, user_id, session_id, client_ts, ts, \
     received_at, flags, exp_key, exp_variation, body) \
     SELECT $1::text, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], \
     $8::int8[], $9::int8[], $10::text[], $11::text[], $12::text[], $13::text[]) \
     ON CONFLICT (site, id) DO NOTHING RETURNING id";

#[cfg(test)]
mod tests {
    use super::split_root_cert;

    #[test]
    fn sslrootcert_is_taken_out_of_the_url() {
        assert_eq!(split_root_cert("postgres://u@h/d"), ("postgres://u@h/d".into(), None));
        assert_eq!(
            split_root_cert("postgres://u@h/d?sslrootcert=/etc/ca.pem"),
            ("postgres://u@h/d".into(), Some("/etc/ca.pem".into()))
        );
        assert_eq!(
            split_root_cert("postgres://u@h/d?sslmode=require&sslrootcert=ca.pem&application_name=t"),
            ("postgres://u@h/d?sslmode=require&application_name=t".into(), Some("ca.pem".into()))
        );
    }
}
