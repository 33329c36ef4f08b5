//! Experiment results from rollups that ingestion keeps up to date (docs/results.md, "Scale").
//!
//! - `rollup_shoppers`: per experiment, metric, shopper and variation, the day of the
//!   shopper's first exposure (UTC), the shopper's value of the metric (`y`, and `y_n`
//!   matching events), the same before the first exposure (`x`, for CUPED) and a ratio's
//!   denominator (`d`), with the shopper's exposures.
//! - `rollup_totals`: the sums over those rows per variation, so that a report reads a few
//!   rows whatever the traffic; `rollup_days`: the same per variation and day of first
//!   exposure, for the timeline.
//! - `rollup_state`: the metric definitions the rollups of a site were built for.
//!
//! Every change recomputes the shoppers it touches from their own events, with the same SQL
//! as a full scan, and moves both totals by the difference in the same transaction: a batch
//! of events, an identify that links an anonymous id, an erasure. A published ruleset whose
//! metrics differ rebuilds the site's rollups; until that is done, reports scan the events
//! (and say `"source": "scan"`).

use std::collections::HashSet;
use std::sync::Mutex;

use super::{Backend, Param, Result, Store, VariantResult};
use crate::metrics::{Events, Metric, MetricKind, Role};

/// One variation's sums for one metric: over its exposed shoppers, the metric's value `y` per
/// shopper, the same measured before the first exposure `x` (the covariate of CUPED), and a
/// ratio's denominator `d`; `converted` counts shoppers with at least one matching event and
/// `events` the matching events.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricSums {
    pub variation: String,
    pub n: i64,
    pub exposures: i64,
    pub converted: i64,
    pub events: f64,
    pub sum_y: f64,
    pub sum_y_sq: f64,
    pub sum_x: f64,
    pub sum_x_sq: f64,
    pub sum_xy: f64,
    pub sum_d: f64,
    pub sum_d_sq: f64,
    pub sum_yd: f64,
}

impl MetricSums {
    /// Adds the sums of `other` (shoppers disjoint from these) to these.
    pub fn add(&mut self, other: &MetricSums) {
        self.n += other.n;
        self.exposures += other.exposures;
        self.converted += other.converted;
        self.events += other.events;
        self.sum_y += other.sum_y;
        self.sum_y_sq += other.sum_y_sq;
        self.sum_x += other.sum_x;
        self.sum_x_sq += other.sum_x_sq;
        self.sum_xy += other.sum_xy;
        self.sum_d += other.sum_d;
        self.sum_d_sq += other.sum_d_sq;
        self.sum_yd += other.sum_yd;
    }
}

/// The sums of the shoppers first exposed on one day (UTC, in days since the Unix epoch).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DaySums {
    pub day: i64,
    pub sums: MetricSums,
}

/// One metric of an experiment with its sums per variation, and the same per day of first
/// exposure (in day order, then variation order), which add up to them.
pub struct MetricData {
    pub metric: Metric,
    pub sums: Vec<MetricSums>,
    pub days: Vec<DaySums>,
}

/// Milliseconds in a day: a shopper's day is `first exposure / DAY_MS` (UTC).
pub const DAY_MS: i64 = 86_400_000;

/// What a report needs of one experiment.
pub struct ExperimentData {
    pub key: String,
    /// Exposures, shoppers and their purchases per variation.
    pub base: Vec<VariantResult>,
    pub metrics: Vec<MetricData>,
}

/// Bumped when the rollups' meaning changes: every site is then rebuilt.
const FORMAT: &str = "rollups-2";

/// The purchases behind each variation's own figures (conversions, orders, revenue).
fn purchases() -> Metric {
    Metric {
        key: "_purchases".into(),
        kind: MetricKind::Mean,
        role: Role::Guardrail,
        events: Events {
            event: tailor::engine::event::EventType::Purchase,
            filters: Vec::new(),
            property: Some("revenue".into()),
        },
        denominator: None,
        window_ms: None,
    }
}

/// Every metric the rollups of `experiment` hold: its own (or the defaults) and the purchases.
fn rolled_up(ruleset: Option<&serde_json::Value>, experiment: &str) -> Vec<Metric> {
    let mut list = crate::metrics::for_experiment(ruleset, experiment);
    list.push(purchases());
    list
}

/// The metric definitions of a site's ruleset, as the state its rollups are built for.
fn state_key(ruleset: Option<&serde_json::Value>) -> String {
    let mut defined: Vec<String> = ruleset
        .and_then(|r| r["experiments"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|e| Some(format!("{}={}", e["key"].as_str()?, e.get("metrics")?)))
        .collect();
    defined.sort();
    format!("{FORMAT};{}", defined.join(";"))
}

/// The columns of `rollup_totals` in the order of [`SUMS`].
const TOTALS: [&str; 12] = [
    "n",
    "exposures",
    "converted",
    "events",
    "sum_y",
    "sum_y_sq",
    "sum_x",
    "sum_x_sq",
    "sum_xy",
    "sum_d",
    "sum_d_sq",
    "sum_yd",
];

fn sums_from(r: &[super::Cell]) -> MetricSums {
    MetricSums {
        variation: r[0].text().unwrap_or_default().to_string(),
        n: r[1].int(),
        exposures: r[2].int(),
        converted: r[3].int(),
        events: r[4].float(),
        sum_y: r[5].float(),
        sum_y_sq: r[6].float(),
        sum_x: r[7].float(),
        sum_x_sq: r[8].float(),
        sum_xy: r[9].float(),
        sum_d: r[10].float(),
        sum_d_sq: r[11].float(),
        sum_yd: r[12].float(),
    }
}

/// A row of [`sums_from`]'s columns followed by the day.
fn day_sums_from(r: &[super::Cell]) -> DaySums {
    DaySums { day: r[13].int(), sums: sums_from(r) }
}

/// The sums per variation of sums per day and variation.
fn add_up(days: &[DaySums]) -> Vec<MetricSums> {
    let mut out: Vec<MetricSums> = Vec::new();
    for d in days {
        match out.iter_mut().find(|s| s.variation == d.sums.variation) {
            Some(s) => s.add(&d.sums),
            None => out.push(d.sums.clone()),
        }
    }
    out.sort_by(|a, b| a.variation.cmp(&b.variation));
    out
}

/// The two tables of totals that follow `rollup_shoppers`.
#[derive(Clone, Copy)]
enum Totals {
    Variation,
    Day,
}

/// Sites whose rollups are being rebuilt (one rebuild at a time per site).
static REBUILDING: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// A rebuild of one site's rollups under way; dropping it lets the next one start.
pub struct Rebuilding(String);

impl Rebuilding {
    /// `None` while a rebuild of `site` is already under way.
    pub fn start(site: &str) -> Option<Rebuilding> {
        let mut running = REBUILDING.lock().unwrap_or_else(|e| e.into_inner());
        running.get_or_insert_with(HashSet::new).insert(site.to_string()).then(|| Rebuilding(site.to_string()))
    }
}

impl Drop for Rebuilding {
    fn drop(&mut self) {
        if let Some(running) = REBUILDING.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            running.remove(&self.0);
        }
    }
}

impl Store {
    fn pg(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    pub async fn exec_each(&self, statements: Vec<(String, Vec<Param>)>) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(db) => db.exec_each(statements).await,
            Backend::Postgres(db) => db.exec_each(statements).await,
        }
    }

    /// The per-shopper values of `metric` for the experiment `$2` of site `$1` (only of the
    /// shopper `$3`, whose anonymous ids are `one_shopper`), as a `WITH` list ending in
    /// `vals(exp_variation, shopper, day, exposures, y_n, y, x, d)` (`day`: of the first exposure, in
    /// days since the Unix epoch, UTC). `params` must hold those
    /// parameters; the metric's own are appended.
    fn metric_values(&self, metric: &Metric, one_shopper: Option<&[String]>, params: &mut Vec<Param>) -> String {
        let pg = self.pg();
        let mut param = |p: Param| {
            params.push(p);
            format!("${}", params.len())
        };
        // `props.<name>` of the event: as text to compare, as a number (else NULL) to sum.
        let mut side = |e: &Events| -> (String, String) {
            let mut cond = format!("m.type = {}", param(e.event.as_str().into()));
            for (k, v) in &e.filters {
                let text = if pg {
                    format!("(m.body::jsonb -> 'props' ->> CAST({} AS TEXT))", param(k.as_str().into()))
                } else {
                    format!("json_extract(m.body, {})", param(format!("$.props.{k}").into()))
                };
                cond.push_str(&format!(" AND {text} = {}", param(v.as_str().into())));
            }
            let value = match &e.property {
                None => "1.0".to_string(),
                Some(k) if pg => {
                    let k = param(k.as_str().into());
                    format!(
                        "CASE WHEN jsonb_typeof(m.body::jsonb -> 'props' -> CAST({k} AS TEXT)) = 'number' \
                         THEN CAST(m.body::jsonb -> 'props' ->> CAST({k} AS TEXT) AS DOUBLE PRECISION) END"
                    )
                }
                Some(k) => {
                    let path = param(format!("$.props.{k}").into());
                    format!(
                        "CASE WHEN json_type(m.body, {path}) IN ('integer', 'real') THEN json_extract(m.body, {path}) END"
                    )
                }
            };
            (cond, value)
        };
        let (num_cond, num_value) = side(&metric.events);
        let (den_cond, den_value) =
            metric.denominator.as_ref().map_or(("1 = 0".to_string(), "0".to_string()), &mut side);
        // SQLite reads only the events of the metric's types (PostgreSQL filters as it joins).
        let types = if pg {
            String::new()
        } else {
            format!(
                "{}, {}",
                param(metric.events.event.as_str().into()),
                param(metric.denominator.as_ref().unwrap_or(&metric.events).event.as_str().into())
            )
        };
        let window = param(metric.window_ms.unwrap_or(i64::MAX / 4).into());
        let (y, x, d) = match metric.kind {
            MetricKind::Conversion => {
                ("CASE WHEN num_n > 0 THEN 1 ELSE 0 END", "CASE WHEN pre_n > 0 THEN 1 ELSE 0 END", "0")
            }
            MetricKind::Mean => ("num_v", "pre_v", "0"),
            MetricKind::Ratio => ("num_v", "0", "den_v"),
        };
        // One shopper: the exposures of its anonymous ids only (the index on anonymous_id).
        let shopper = match one_shopper {
            Some(ids) => {
                let list: Vec<String> = ids.iter().map(|id| param(id.as_str().into())).collect();
                format!("AND e.anonymous_id IN ({}) AND COALESCE(l.user_id, e.anonymous_id) = $3", list.join(", "))
            }
            None => String::new(),
        };
        let post = format!("m.ts >= x.first_ts AND m.ts < x.first_ts + {window}");
        let pre = "m.ts < x.first_ts";
        // One shopper's exposures through its anonymous ids (SQLite would rather read the site).
        let by_id = if one_shopper.is_some() && !pg { "INDEXED BY events_by_anonymous_id" } else { "" };
        if pg {
            // PostgreSQL hash-joins the shoppers' events with their first exposures.
            let shopper = shopper.replace("l.user_id", "i.user_id");
            return format!(
                "WITH shopper_events AS (
                   SELECT COALESCE(i.user_id, e.anonymous_id) AS shopper, e.type, e.ts, e.exp_key, e.exp_variation, e.body
                   FROM events e LEFT JOIN identities i ON i.site = e.site AND i.anonymous_id = e.anonymous_id
                   WHERE e.site = $1 {shopper}),
                 exposed AS (
                   SELECT exp_variation, shopper, MIN(ts) AS first_ts, COUNT(*) AS exposures FROM shopper_events
                   WHERE type = 'experiment_exposure' AND exp_key = $2
                   GROUP BY exp_variation, shopper),
                 matched AS (
                   SELECT m.shopper, m.ts,
                          CASE WHEN {num_cond} THEN 1 ELSE 0 END AS is_num,
                          CASE WHEN {num_cond} THEN {num_value} END AS num_value,
                          CASE WHEN {den_cond} THEN {den_value} END AS den_value
                   FROM shopper_events m WHERE m.type <> 'experiment_exposure'),
                 per_shopper AS (
                   SELECT x.exp_variation, x.shopper, x.first_ts, x.exposures,
                     COALESCE(SUM(CASE WHEN {post} THEN m.is_num END), 0) AS num_n,
                     COALESCE(SUM(CASE WHEN {post} THEN m.num_value END), 0) AS num_v,
                     COALESCE(SUM(CASE WHEN {pre} THEN m.is_num END), 0) AS pre_n,
                     COALESCE(SUM(CASE WHEN {pre} THEN m.num_value END), 0) AS pre_v,
                     COALESCE(SUM(CASE WHEN {post} THEN m.den_value END), 0) AS den_v
                   FROM exposed x LEFT JOIN matched m ON m.shopper = x.shopper
                   GROUP BY x.exp_variation, x.shopper, x.first_ts, x.exposures),
                 vals AS (
                   SELECT exp_variation, shopper, CAST(first_ts / {DAY_MS} AS BIGINT) AS day, exposures,
                          CAST(num_n AS DOUBLE PRECISION) AS y_n,
                          CAST({y} AS DOUBLE PRECISION) AS y, CAST({x} AS DOUBLE PRECISION) AS x,
                          CAST({d} AS DOUBLE PRECISION) AS d
                   FROM per_shopper)"
            );
        }
        // SQLite joins nested loops: the exposed shoppers first, then each one's anonymous
        // ids, then their events through the index on (site, anonymous_id), so the work grows
        // with the shoppers' events (joining the two sides as above took minutes at 20,000
        // shoppers).
        format!(
            "WITH exposed AS MATERIALIZED (
               SELECT e.exp_variation, COALESCE(l.user_id, e.anonymous_id) AS shopper, MIN(e.ts) AS first_ts,
                      COUNT(*) AS exposures
               FROM events e {by_id} LEFT JOIN identities l ON l.site = $1 AND l.anonymous_id = e.anonymous_id
               WHERE e.site = $1 AND e.type = 'experiment_exposure' AND e.exp_key = $2 {shopper}
               GROUP BY e.exp_variation, COALESCE(l.user_id, e.anonymous_id)),
             owned AS MATERIALIZED (
               SELECT DISTINCT x.shopper, x.shopper AS anonymous_id FROM exposed x
               WHERE NOT EXISTS (SELECT 1 FROM identities l
                                 WHERE l.site = $1 AND l.anonymous_id = x.shopper AND l.user_id <> x.shopper)
               UNION
               SELECT DISTINCT x.shopper, l.anonymous_id FROM exposed x
               JOIN identities l ON l.site = $1 AND l.user_id = x.shopper),
             per_shopper AS (
               SELECT x.exp_variation, x.shopper, x.first_ts, x.exposures,
                 COALESCE(SUM(CASE WHEN {num_cond} AND {post} THEN 1 END), 0) AS num_n,
                 COALESCE(SUM(CASE WHEN {num_cond} AND {post} THEN {num_value} END), 0) AS num_v,
                 COALESCE(SUM(CASE WHEN {num_cond} AND {pre} THEN 1 END), 0) AS pre_n,
                 COALESCE(SUM(CASE WHEN {num_cond} AND {pre} THEN {num_value} END), 0) AS pre_v,
                 COALESCE(SUM(CASE WHEN {den_cond} AND {post} THEN {den_value} END), 0) AS den_v
               FROM exposed x
               LEFT JOIN owned o ON o.shopper = x.shopper
               LEFT JOIN events m ON m.site = $1 AND m.anonymous_id = o.anonymous_id AND m.type IN ({types})
               GROUP BY x.exp_variation, x.shopper, x.first_ts, x.exposures),
             vals AS (
               SELECT exp_variation, shopper, CAST(first_ts / {DAY_MS} AS BIGINT) AS day, exposures,
                          CAST(num_n AS DOUBLE PRECISION) AS y_n,
                      CAST({y} AS DOUBLE PRECISION) AS y, CAST({x} AS DOUBLE PRECISION) AS x,
                      CAST({d} AS DOUBLE PRECISION) AS d
               FROM per_shopper)"
        )
    }

    /// The sums of `metric` per day of first exposure and variation of `experiment`, from
    /// the events themselves.
    pub async fn metric_day_sums(&self, site: &str, experiment: &str, metric: &Metric) -> Result<Vec<DaySums>> {
        let mut params: Vec<Param> = vec![site.into(), experiment.into()];
        let with = self.metric_values(metric, None, &mut params);
        let sums = SUMS.join(", ");
        let sql = format!(
            "{with} SELECT exp_variation, {sums}, day FROM vals GROUP BY day, exp_variation ORDER BY day, exp_variation"
        );
        Ok(self.query(&sql, params).await?.iter().map(|r| day_sums_from(r)).collect())
    }

    /// The experiments with exposures on `site` (or only `experiment`), in key order.
    async fn experiment_keys(&self, site: &str, experiment: Option<&str>, from_rollups: bool) -> Result<Vec<String>> {
        let (sql, mut params) = if from_rollups {
            ("SELECT DISTINCT exp_key FROM rollup_totals WHERE site = $1 AND n > 0", vec![Param::from(site)])
        } else {
            (
                "SELECT DISTINCT exp_key FROM events WHERE site = $1 AND type = 'experiment_exposure' \
                 AND exp_key IS NOT NULL",
                vec![Param::from(site)],
            )
        };
        let mut sql = sql.to_string();
        if let Some(e) = experiment {
            sql.push_str(" AND exp_key = $2");
            params.push(e.into());
        }
        sql.push_str(" ORDER BY exp_key");
        Ok(self.query(&sql, params).await?.iter().filter_map(|r| r[0].text().map(str::to_string)).collect())
    }

    async fn rollup_state(&self, site: &str) -> Result<Option<String>> {
        let rows = self.query("SELECT metrics FROM rollup_state WHERE site = $1", vec![site.into()]).await?;
        Ok(rows.first().and_then(|r| r[0].text().map(str::to_string)))
    }

    /// Whether the rollups of `site` are built for the metrics of `ruleset`.
    pub async fn rollups_current(&self, site: &str, ruleset: Option<&serde_json::Value>) -> Result<bool> {
        Ok(self.rollup_state(site).await?.as_deref() == Some(state_key(ruleset).as_str()))
    }

    async fn totals(&self, site: &str, experiment: &str, metric: &str) -> Result<Vec<MetricSums>> {
        let sql = format!(
            "SELECT variation, {} FROM rollup_totals WHERE site = $1 AND exp_key = $2 AND metric = $3 AND n > 0 \
             ORDER BY variation",
            TOTALS.join(", ")
        );
        Ok(self
            .query(&sql, vec![site.into(), experiment.into(), metric.into()])
            .await?
            .iter()
            .map(|r| sums_from(r))
            .collect())
    }

    async fn day_totals(&self, site: &str, experiment: &str, metric: &str) -> Result<Vec<DaySums>> {
        let sql = format!(
            "SELECT variation, {}, day FROM rollup_days WHERE site = $1 AND exp_key = $2 AND metric = $3 AND n > 0 \
             ORDER BY day, variation",
            TOTALS.join(", ")
        );
        Ok(self
            .query(&sql, vec![site.into(), experiment.into(), metric.into()])
            .await?
            .iter()
            .map(|r| day_sums_from(r))
            .collect())
    }

    /// Everything the report of `site` (or only `experiment`) needs, and where it came from:
    /// `"rollups"`, or `"scan"` while the rollups are not built for the ruleset's metrics
    /// (a rebuild is then started) or when `scan` is asked for.
    pub async fn results_data(
        &self,
        site: &str,
        experiment: Option<&str>,
        ruleset: Option<&serde_json::Value>,
        scan: bool,
    ) -> Result<(Vec<ExperimentData>, &'static str)> {
        let current = !scan && self.rollups_current(site, ruleset).await?;
        let mut out = Vec::new();
        for key in self.experiment_keys(site, experiment, current).await? {
            let mut metrics = Vec::new();
            for metric in rolled_up(ruleset, &key) {
                let (sums, days) = if current {
                    (self.totals(site, &key, &metric.key).await?, self.day_totals(site, &key, &metric.key).await?)
                } else {
                    let days = self.metric_day_sums(site, &key, &metric).await?;
                    (add_up(&days), days)
                };
                metrics.push(MetricData { metric, sums, days });
            }
            let purchases = metrics.pop().expect("the purchases are rolled up");
            let base = purchases
                .sums
                .iter()
                .map(|s| VariantResult {
                    experiment_key: key.clone(),
                    variation: s.variation.clone(),
                    exposures: s.exposures,
                    shoppers: s.n,
                    conversions: s.converted,
                    orders: s.events as i64,
                    revenue: s.sum_y,
                    revenue_sq: s.sum_y_sq,
                })
                .collect();
            out.push(ExperimentData { key, base, metrics });
        }
        Ok((out, if current { "rollups" } else { "scan" }))
    }

    /// Rebuilds the rollups of `site` from its events for the metrics of `ruleset`, in one
    /// transaction; returns the number of rollup rows.
    pub async fn rebuild_rollups(&self, site: &str, ruleset: Option<&serde_json::Value>) -> Result<i64> {
        // First, in a transaction of its own, a state that no ruleset matches: from now on
        // every batch refreshes its shoppers (after this rebuild, under the same lock on
        // PostgreSQL), and the events of batches before it are in what the rebuild reads.
        // Without it, a batch stored while the rebuild runs, after it read the site, would
        // find no rollups to refresh and be missing from them.
        self.exec_each(vec![(
            "INSERT INTO rollup_state (site, metrics, built_at) VALUES ($1, $2, $3) \
             ON CONFLICT (site) DO UPDATE SET metrics = excluded.metrics, built_at = excluded.built_at"
                .into(),
            vec![site.into(), format!("{FORMAT};building").into(), crate::signing::now_ms().into()],
        )])
        .await?;
        let mut statements = self.lock(site);
        if self.pg() {
            // Background work over every event of the site: longer than a request may take.
            statements.push(("SET LOCAL statement_timeout = 0".into(), Vec::new()));
        }
        statements.push(("DELETE FROM rollup_shoppers WHERE site = $1".into(), vec![site.into()]));
        statements.push(("DELETE FROM rollup_totals WHERE site = $1".into(), vec![site.into()]));
        statements.push(("DELETE FROM rollup_days WHERE site = $1".into(), vec![site.into()]));
        for key in self.experiment_keys(site, None, false).await? {
            for metric in rolled_up(ruleset, &key) {
                let mut params: Vec<Param> = vec![site.into(), key.as_str().into()];
                let with = self.metric_values(&metric, None, &mut params);
                params.push(metric.key.as_str().into());
                let m = params.len();
                statements.push((
                    format!(
                        "{with} INSERT INTO rollup_shoppers (site, exp_key, metric, shopper, variation, day, exposures, y_n, y, x, d) \
                         SELECT $1, $2, ${m}, shopper, exp_variation, day, exposures, y_n, y, x, d FROM vals"
                    ),
                    params,
                ));
            }
        }
        statements.push((
            format!(
                "INSERT INTO rollup_totals (site, exp_key, metric, variation, {}) \
                 SELECT site, exp_key, metric, variation, {} FROM rollup_shoppers WHERE site = $1 \
                 GROUP BY site, exp_key, metric, variation",
                TOTALS.join(", "),
                SUMS.join(", ")
            ),
            vec![site.into()],
        ));
        statements.push((
            format!(
                "INSERT INTO rollup_days (site, exp_key, metric, variation, day, {}) \
                 SELECT site, exp_key, metric, variation, day, {} FROM rollup_shoppers WHERE site = $1 \
                 GROUP BY site, exp_key, metric, variation, day",
                TOTALS.join(", "),
                SUMS.join(", ")
            ),
            vec![site.into()],
        ));
        statements.push((
            "INSERT INTO rollup_state (site, metrics, built_at) VALUES ($1, $2, $3) \
             ON CONFLICT (site) DO UPDATE SET metrics = excluded.metrics, built_at = excluded.built_at"
                .into(),
            vec![site.into(), state_key(ruleset).into(), crate::signing::now_ms().into()],
        ));
        self.exec_each(statements).await?;
        let rows = self.query("SELECT COUNT(*) FROM rollup_shoppers WHERE site = $1", vec![site.into()]).await?;
        Ok(rows.first().map_or(0, |r| r[0].int()))
    }

    /// On PostgreSQL, the statements of a site's rollups hold a lock on the site for their
    /// transaction (SQLite has one writer anyway), so that totals move by one difference at
    /// a time.
    fn lock(&self, site: &str) -> Vec<(String, Vec<Param>)> {
        if self.pg() {
            vec![("SELECT pg_advisory_xact_lock(hashtext('tailor-rollups:' || $1))".into(), vec![site.into()])]
        } else {
            Vec::new()
        }
    }

    /// The shoppers of these anonymous ids: the user each is linked to, else itself.
    pub async fn shoppers_of(&self, site: &str, anonymous_ids: &[&str]) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for chunk in anonymous_ids.chunks(500) {
            let mut params = vec![Param::from(site)];
            let list: Vec<String> = chunk
                .iter()
                .map(|id| {
                    params.push((*id).into());
                    format!("${}", params.len())
                })
                .collect();
            let sql = format!(
                "SELECT anonymous_id, user_id FROM identities WHERE site = $1 AND anonymous_id IN ({})",
                list.join(", ")
            );
            let linked = self.query(&sql, params).await?;
            for id in chunk {
                let user = linked.iter().find(|r| r[0].text() == Some(id)).and_then(|r| r[1].text());
                let shopper = user.unwrap_or(id).to_string();
                if !out.contains(&shopper) {
                    out.push(shopper);
                }
            }
        }
        Ok(out)
    }

    /// After a batch: recomputes the shoppers it can have changed, if the site has rollups:
    /// those with rollup rows already, and those it exposed.
    pub async fn refresh_after_batch(&self, site: &str, anonymous_ids: &[&str], exposed: &[&str]) -> Result<()> {
        if self.rollup_state(site).await?.is_none() {
            return Ok(());
        }
        let shoppers = self.shoppers_of(site, anonymous_ids).await?;
        let mut affected = self.shoppers_of(site, exposed).await?;
        for chunk in shoppers.chunks(500) {
            let mut params = vec![Param::from(site)];
            let list: Vec<String> = chunk
                .iter()
                .map(|s| {
                    params.push(s.as_str().into());
                    format!("${}", params.len())
                })
                .collect();
            let sql = format!(
                "SELECT DISTINCT shopper FROM rollup_shoppers WHERE site = $1 AND shopper IN ({})",
                list.join(", ")
            );
            for r in self.query(&sql, params).await? {
                if let Some(s) = r[0].text().filter(|s| !affected.iter().any(|a| a == s)) {
                    affected.push(s.to_string());
                }
            }
        }
        self.refresh_rollups(site, &affected).await
    }

    /// Recomputes the rollups of these shoppers of `site` from their events, if the site
    /// has rollups: the totals move by the difference, all in one transaction.
    pub async fn refresh_rollups(&self, site: &str, shoppers: &[String]) -> Result<()> {
        if shoppers.is_empty() || self.rollup_state(site).await?.is_none() {
            return Ok(());
        }
        // The metrics the rollups were built for stand in the ruleset of that state; the
        // latest ruleset is the one to use (a newer one rebuilds everything anyway).
        let ruleset = self.latest_ruleset(site).await?.and_then(|(_, envelope)| {
            serde_json::from_str::<serde_json::Value>(&envelope).ok().map(|mut v| v["ruleset"].take())
        });
        // All of them in one transaction: one commit (and fsync) per batch.
        let mut statements = self.lock(site);
        for shopper in shoppers {
            // Its anonymous ids: itself and those linked to it.
            let mut ids = vec![shopper.clone()];
            for r in self
                .query(
                    "SELECT anonymous_id FROM identities WHERE site = $1 AND user_id = $2",
                    vec![Param::from(site), Param::from(shopper.as_str())],
                )
                .await?
            {
                ids.extend(r[0].text().map(str::to_string));
            }
            let mut params = vec![Param::from(site), Param::from(shopper.as_str())];
            let list: Vec<String> = ids
                .iter()
                .map(|id| {
                    params.push(id.as_str().into());
                    format!("${}", params.len())
                })
                .collect();
            let keys = self
                .query(
                    &format!(
                        "SELECT DISTINCT e.exp_key FROM events e \
                         LEFT JOIN identities i ON i.site = e.site AND i.anonymous_id = e.anonymous_id \
                         WHERE e.site = $1 AND e.anonymous_id IN ({}) AND e.type = 'experiment_exposure' \
                         AND e.exp_key IS NOT NULL AND COALESCE(i.user_id, e.anonymous_id) = $2",
                        list.join(", ")
                    ),
                    params,
                )
                .await?;
            let shopper_params = || vec![Param::from(site), Param::from(shopper.as_str())];
            statements.push((self.move_totals("-", Totals::Variation), shopper_params()));
            statements.push((self.move_totals("-", Totals::Day), shopper_params()));
            statements.push(("DELETE FROM rollup_shoppers WHERE site = $1 AND shopper = $2".into(), shopper_params()));
            for key in keys.iter().filter_map(|r| r[0].text()) {
                for metric in rolled_up(ruleset.as_ref(), key) {
                    let mut params: Vec<Param> = vec![site.into(), key.into(), shopper.as_str().into()];
                    let with = self.metric_values(&metric, Some(&ids), &mut params);
                    params.push(metric.key.as_str().into());
                    let m = params.len();
                    statements.push((
                        format!(
                            "{with} INSERT INTO rollup_shoppers (site, exp_key, metric, shopper, variation, day, exposures, y_n, y, x, d) \
                             SELECT $1, $2, ${m}, shopper, exp_variation, day, exposures, y_n, y, x, d FROM vals"
                        ),
                        params,
                    ));
                }
            }
            statements.push((
                format!(
                    "INSERT INTO rollup_totals (site, exp_key, metric, variation, {}) \
                     SELECT DISTINCT site, exp_key, metric, variation, {} FROM rollup_shoppers {by_shopper} \
                     WHERE site = $1 AND shopper = $2 ON CONFLICT (site, exp_key, metric, variation) DO NOTHING",
                    TOTALS.join(", "),
                    ["0"; 12].join(", "),
                    by_shopper = self.by_shopper()
                ),
                shopper_params(),
            ));
            statements.push((
                format!(
                    "INSERT INTO rollup_days (site, exp_key, metric, variation, day, {}) \
                     SELECT DISTINCT site, exp_key, metric, variation, day, {} FROM rollup_shoppers {by_shopper} \
                     WHERE site = $1 AND shopper = $2 ON CONFLICT (site, exp_key, metric, variation, day) DO NOTHING",
                    TOTALS.join(", "),
                    ["0"; 12].join(", "),
                    by_shopper = self.by_shopper()
                ),
                shopper_params(),
            ));
            statements.push((self.move_totals("+", Totals::Variation), shopper_params()));
            statements.push((self.move_totals("+", Totals::Day), shopper_params()));
        }
        self.exec_each(statements).await
    }

    /// Moves the totals (per variation, or per variation and day) by the sums of the rollup
    /// rows of shopper `$2` of site `$1`, with `op` (`-` before they are replaced, `+` after).
    fn move_totals(&self, op: &str, totals: Totals) -> String {
        let (table, key) = match totals {
            Totals::Variation => ("rollup_totals", "exp_key, metric, variation"),
            Totals::Day => ("rollup_days", "exp_key, metric, variation, day"),
        };
        let set: Vec<String> = TOTALS.iter().map(|c| format!("{c} = {table}.{c} {op} o.{c}")).collect();
        let sums: Vec<String> = SUMS.iter().zip(TOTALS).map(|(s, c)| format!("{s} AS {c}")).collect();
        let matched: Vec<String> = key.split(", ").map(|c| format!("{table}.{c} = o.{c}")).collect();
        format!(
            "UPDATE {table} SET {} FROM (SELECT {key}, {} FROM rollup_shoppers {by_shopper} \
             WHERE site = $1 AND shopper = $2 GROUP BY {key}) AS o \
             WHERE {table}.site = $1 AND {}",
            set.join(", "),
            sums.join(", "),
            matched.join(" AND "),
            by_shopper = self.by_shopper()
        )
    }

    /// SQLite picks the primary key (by site) over the index by shopper without it.
    fn by_shopper(&self) -> &'static str {
        if self.pg() {
            ""
        } else {
            "INDEXED BY rollup_shoppers_by_shopper"
        }
    }
}

/// The sums of a relation with columns `exposures, y_n, y, x, d` (one row per shopper), in
/// the order of [`TOTALS`].
const SUMS: [&str; 12] = [
    "COUNT(*)",
    "CAST(SUM(exposures) AS BIGINT)",
    "CAST(SUM(CASE WHEN y_n > 0 THEN 1 ELSE 0 END) AS BIGINT)",
    "SUM(y_n)",
    "SUM(y)",
    "SUM(y * y)",
    "SUM(x)",
    "SUM(x * x)",
    "SUM(x * y)",
    "SUM(d)",
    "SUM(d * d)",
    "SUM(y * d)",
];
