//! SQLite: one connection in WAL mode behind a mutex, used from blocking threads.
//!
//! `synchronous = FULL`: every commit is fsynced before it returns, so a batch the server
//! acknowledged survives a power loss, not only a crash of the process (with `NORMAL`, WAL
//! mode loses the last commits on power loss). The cost is measured by `benches/ingest.rs`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::Connection;

use super::{sqlite_placeholders, Cell, NewEvent, Param, Result, StoreError, SCHEMA};

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("sqlite: {e}"))
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Param::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Param::Int(n) => ToSqlOutput::Borrowed(ValueRef::Integer(*n)),
            Param::NullText => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
}

impl Sqlite {
    pub async fn open(path: &Path) -> Result<Sqlite> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(err)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;").map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Sqlite { conn: Arc::new(Mutex::new(conn)) })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(err)?
        .map_err(err)
    }

    pub async fn query(&self, sql: &str, params: Vec<Param>) -> Result<Vec<Vec<Cell>>> {
        let sql = sqlite_placeholders(sql);
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let columns = stmt.column_count();
            let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let mut cells = Vec::with_capacity(columns);
                for i in 0..columns {
                    cells.push(match row.get_ref(i)? {
                        ValueRef::Null => Cell::Null,
                        ValueRef::Integer(n) => Cell::Int(n),
                        ValueRef::Real(f) => Cell::Float(f),
                        ValueRef::Text(t) | ValueRef::Blob(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                    });
                }
                out.push(cells);
            }
            Ok(out)
        })
        .await
    }

    pub async fn exec(&self, sql: &str, params: Vec<Param>) -> Result<u64> {
        let sql = sqlite_placeholders(sql);
        self.with(move |conn| {
            let n = conn.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(params.iter()))?;
            Ok(n as u64)
        })
        .await
    }

    /// Runs `statements`, all with `params`, in one transaction; the rows each changed.
    pub async fn exec_all(&self, statements: Vec<String>, params: Vec<Param>) -> Result<Vec<u64>> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let mut changed = Vec::with_capacity(statements.len());
            for sql in &statements {
                let n =
                    tx.prepare_cached(&sqlite_placeholders(sql))?.execute(rusqlite::params_from_iter(params.iter()))?;
                changed.push(n as u64);
            }
            tx.commit()?;
            Ok(changed)
        })
        .await
    }

    /// Runs each statement with its own parameters, all in one transaction.
    pub async fn exec_each(&self, statements: Vec<(String, Vec<Param>)>) -> Result<()> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            for (sql, params) in &statements {
                tx.prepare_cached(&sqlite_placeholders(sql))?.execute(rusqlite::params_from_iter(params.iter()))?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// One transaction per batch, one prepared insert per event.
    pub async fn insert_events(&self, site: &str, events: Vec<NewEvent>) -> Result<Vec<bool>> {
        let site = site.to_string();
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let mut inserted = Vec::with_capacity(events.len());
            {
                let mut stmt = tx.prepare_cached(INSERT)?;
                for e in &events {
                    let n = stmt.execute(rusqlite::params![
                        site,
                        e.id,
                        e.event_type,
                        e.anonymous_id,
                        e.user_id,
                        e.session_id,
                        e.client_ts,
                        e.ts,
                        e.received_at,
                        e.flags,
                        e.exp_key,
                        e.exp_variation,
                        e.body
                    ])?;
                    inserted.push(n == 1);
                }
            }
            tx.commit()?;
            Ok(inserted)
        })
        .await
    }
}

const INSERT: &str = "INSERT INTO events (site, id, type, anonymous_id, user_id, session_id, client_ts, ts, \
     received_at, flags, exp_key, exp_variation, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
     ON CONFLICT (site, id) DO NOTHING";
