//! What the Studio keeps (`crate::api::studio`): drafts, who published each version and why,
//! and the append-only audit log. The published versions themselves are the `rulesets`
//! table, which keeps every version.

use super::{Param, Result, Store, StoreError};

/// One saved draft: a whole ruleset and what the validator said of it when saved.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub name: String,
    /// The ruleset as JSON text (page-change HTML already sanitised).
    pub ruleset: String,
    /// The validator's errors as a JSON array of `{"path", "message"}`; `[]` when valid.
    pub errors: String,
    pub saved_at: i64,
    pub saved_by: String,
}

/// One published version, as the history lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct Version {
    pub version: u64,
    pub published_at: i64,
    /// Who published it and with which role; `None` for a version published with the admin
    /// API (`POST /v1/admin/rulesets`, `tailor serve --ruleset`), which records neither.
    pub who: Option<(String, String)>,
    pub summary: Option<String>,
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: i64,
    pub who: String,
    pub role: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

impl Store {
    pub async fn save_draft(&self, site: &str, draft: &Draft) -> Result<()> {
        self.exec(
            "INSERT INTO studio_drafts (site, name, ruleset, errors, saved_at, saved_by) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (site, name) DO UPDATE SET ruleset = excluded.ruleset, errors = excluded.errors, \
             saved_at = excluded.saved_at, saved_by = excluded.saved_by",
            vec![
                site.into(),
                draft.name.as_str().into(),
                draft.ruleset.as_str().into(),
                draft.errors.as_str().into(),
                draft.saved_at.into(),
                draft.saved_by.as_str().into(),
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn draft(&self, site: &str, name: &str) -> Result<Option<Draft>> {
        Ok(self.drafts_where(site, Some(name)).await?.pop())
    }

    /// Every draft of `site`, by name, without its ruleset (`ruleset` is empty: a list of
    /// up to 100 drafts of up to 4 MiB each is not read whole).
    pub async fn drafts(&self, site: &str) -> Result<Vec<Draft>> {
        self.drafts_where(site, None).await
    }

    async fn drafts_where(&self, site: &str, name: Option<&str>) -> Result<Vec<Draft>> {
        let (filter, mut params) = match name {
            Some(n) => (" AND name = $2", vec![Param::from(n)]),
            None => ("", Vec::new()),
        };
        params.insert(0, site.into());
        let ruleset = if name.is_some() { "ruleset" } else { "''" };
        let rows = self
            .query(
                &format!(
                    "SELECT name, {ruleset}, errors, saved_at, saved_by FROM studio_drafts WHERE site = $1{filter} \
                     ORDER BY name"
                ),
                params,
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Draft {
                name: r[0].text().unwrap_or_default().to_string(),
                ruleset: r[1].text().unwrap_or_default().to_string(),
                errors: r[2].text().unwrap_or("[]").to_string(),
                saved_at: r[3].int(),
                saved_by: r[4].text().unwrap_or_default().to_string(),
            })
            .collect())
    }

    /// Deletes a draft; whether there was one.
    pub async fn delete_draft(&self, site: &str, name: &str) -> Result<bool> {
        let n = self
            .exec("DELETE FROM studio_drafts WHERE site = $1 AND name = $2", vec![site.into(), name.into()])
            .await?;
        Ok(n > 0)
    }

    /// Records who published `version` and a summary of why.
    pub async fn record_version(&self, site: &str, version: u64, who: &str, role: &str, summary: &str) -> Result<()> {
        self.exec(
            "INSERT INTO studio_versions (site, version, who, role, summary) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (site, version) DO NOTHING",
            vec![site.into(), (version as i64).into(), who.into(), role.into(), summary.into()],
        )
        .await?;
        Ok(())
    }

    /// Every published version of `site`, newest first.
    pub async fn versions(&self, site: &str) -> Result<Vec<Version>> {
        let rows = self
            .query(
                "SELECT r.version, r.published_at, v.who, v.role, v.summary FROM rulesets r \
                 LEFT JOIN studio_versions v ON v.site = r.site AND v.version = r.version \
                 WHERE r.site = $1 ORDER BY r.version DESC",
                vec![site.into()],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Version {
                version: r[0].int() as u64,
                published_at: r[1].int(),
                who: r[2].text().map(|w| (w.to_string(), r[3].text().unwrap_or_default().to_string())),
                summary: r[4].text().map(String::from),
            })
            .collect())
    }

    /// The envelope of one version of `site`, as JSON text.
    pub async fn ruleset_version(&self, site: &str, version: u64) -> Result<Option<String>> {
        let rows = self
            .query(
                "SELECT envelope FROM rulesets WHERE site = $1 AND version = $2",
                vec![site.into(), (version as i64).into()],
            )
            .await?;
        Ok(rows.into_iter().next().and_then(|r| r[0].text().map(String::from)))
    }

    /// Appends to the audit log of `site` (the next number; retried when another server took
    /// it at the same moment). Entries are never changed or deleted.
    pub async fn audit(
        &self,
        site: &str,
        at: i64,
        who: (&str, &str),
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<()> {
        for _ in 0..10 {
            let next = self
                .query("SELECT COALESCE(MAX(seq), 0) FROM studio_audit WHERE site = $1", vec![site.into()])
                .await?
                .first()
                .map_or(0, |r| r[0].int())
                + 1;
            let n = self
                .exec(
                    "INSERT INTO studio_audit (site, seq, at, who, role, action, target, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (site, seq) DO NOTHING",
                    vec![
                        site.into(),
                        next.into(),
                        at.into(),
                        who.0.into(),
                        who.1.into(),
                        action.into(),
                        target.into(),
                        detail.into(),
                    ],
                )
                .await?;
            if n == 1 {
                return Ok(());
            }
        }
        Err(StoreError("could not append to the audit log after 10 tries".into()))
    }

    /// The audit log of `site`, oldest first, from entry `after + 1`, at most `limit`.
    pub async fn audit_log(&self, site: &str, after: u64, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = self
            .query(
                &format!(
                    "SELECT seq, at, who, role, action, target, detail FROM studio_audit WHERE site = $1 AND seq > $2 \
                     ORDER BY seq LIMIT {limit}"
                ),
                vec![site.into(), (after as i64).into()],
            )
            .await?;
        let text = |c: &super::Cell| c.text().unwrap_or_default().to_string();
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                seq: r[0].int() as u64,
                at: r[1].int(),
                who: text(&r[2]),
                role: text(&r[3]),
                action: text(&r[4]),
                target: text(&r[5]),
                detail: text(&r[6]),
            })
            .collect())
    }
}
