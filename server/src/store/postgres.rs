//! PostgreSQL: a few pipelined connections used in turn; no explicit transactions, so any
//! connection can serve any request and several server processes can share the database.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};

use super::{Cell, NewEvent, Param, Result, StoreError, SCHEMA};

/// Connections per server process.
const CONNECTIONS: usize = 4;

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("postgres: {e}"))
}

/// Makes concurrent first starts safe: `CREATE ... IF NOT EXISTS` can race in PostgreSQL.
const SCHEMA_LOCK: i64 = 0x7461_696c_6f72;

pub struct Postgres {
    clients: Vec<Client>,
    next: AtomicUsize,
}

impl Postgres {
    pub async fn open(url: &str) -> Result<Postgres> {
        let mut clients = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(err)?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    eprintln!("{}", serde_json::json!({"level": "error", "msg": format!("postgres connection: {e}")}));
                }
            });
            clients.push(client);
        }
        let schema = format!("BEGIN; SELECT pg_advisory_xact_lock({SCHEMA_LOCK}); {SCHEMA}; COMMIT;");
        clients[0].batch_execute(&schema).await.map_err(err)?;
        Ok(Postgres { clients, next: AtomicUsize::new(0) })
    }

    fn client(&self) -> &Client {
        &self.clients[self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len()]
    }

    pub async fn query(&self, sql: &str, params: Vec<Param>) -> Result<Vec<Vec<Cell>>> {
        let refs = refs(&params);
        let rows = self.client().query(sql, &refs).await.map_err(err)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut cells = Vec::with_capacity(row.len());
            for (i, column) in row.columns().iter().enumerate() {
                let cell = match *column.type_() {
                    Type::INT8 => row.try_get::<_, Option<i64>>(i).map(|v| v.map(Cell::Int)),
                    Type::INT4 => row.try_get::<_, Option<i32>>(i).map(|v| v.map(|n| Cell::Int(n as i64))),
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
        self.client().execute(sql, &refs).await.map_err(err)
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
        let rows = self
            .client()
            .query(
                INSERT,
                &[
                    &site, &ids, &types, &anon, &users, &sessions, &client_ts, &ts, &received, &flags, &exp_key,
                    &exp_var, &bodies,
                ],
            )
            .await
            .map_err(err)?;
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
