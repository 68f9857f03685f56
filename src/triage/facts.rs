//! Facts triage confirms or corrects: the case is routed again from them.

use crate::audit::{self, Event};
use crate::cases::*;
use crate::crypto::KeyRing;
use crate::domain::{Sector, StateCode};
use crate::intake::referrals::{SOURCE_RULES, insert_referral};
use crate::routing::Decision;
use crate::routing::priority::{self};
use anyhow::Context;
use chrono::{NaiveDate, Utc};
use sea_orm::{DatabaseConnection, TransactionTrait};
use uuid::Uuid;

/// Facts triage confirms (an e-mail arrives as free text) or corrects: the case is
/// routed again by the rules from them.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FactsIn {
    /// ISO 3166-2:MX code.
    pub state: Option<String>,
    pub sector: Option<String>,
    /// `yes`, `no` or `unknown`.
    pub trade_with_us: Option<String>,
    /// Workers at the facility, 1 to 1 000 000; absent when unknown.
    pub workers: Option<i64>,
    /// Violation codes, at least one.
    pub violations: Option<Vec<String>>,
}

impl FactsIn {
    fn parse(&self, occurred_on: Option<NaiveDate>) -> Result<crate::routing::CaseFacts, Refused> {
        use crate::domain::{TradeNexus, Violation};
        let state = StateCode::parse(self.state.as_deref().map(str::trim).unwrap_or(""))
            .ok_or(Refused::Invalid("state"))?;
        let sector = Sector::parse(self.sector.as_deref().map(str::trim).unwrap_or("unknown"))
            .ok_or(Refused::Invalid("sector"))?;
        let trade_with_us = TradeNexus::parse(
            self.trade_with_us
                .as_deref()
                .map(str::trim)
                .unwrap_or("unknown"),
        )
        .ok_or(Refused::Invalid("trade_with_us"))?;
        let workers = match self.workers {
            None => None,
            Some(n) if (1..=1_000_000).contains(&n) => u32::try_from(n).ok(),
            Some(_) => return Err(Refused::Invalid("workers")),
        };
        let codes = self.violations.as_deref().unwrap_or_default();
        if codes.len() > Violation::ALL.len() {
            return Err(Refused::Invalid("violations"));
        }
        let violations = codes
            .iter()
            .map(|c| Violation::parse(c.trim()).ok_or(Refused::Invalid("violations")))
            .collect::<Result<std::collections::BTreeSet<_>, _>>()?;
        if violations.is_empty() {
            return Err(Refused::Missing("violations"));
        }
        Ok(crate::routing::CaseFacts {
            state,
            sector,
            trade_with_us,
            workers,
            violations,
            occurred_on,
        })
    }
}

/// Confirms or corrects the facts routing uses and routes the case again: its
/// routing decision, queue priority and rule-made referrals are replaced (referrals
/// an inspector made by hand stay). The case may leave the caller's jurisdiction.
pub async fn confirm_facts(
    db: &DatabaseConnection,
    keys: &KeyRing,
    rules: &crate::routing::Rules,
    actor: Uuid,
    case: &entity::case::Model,
    input: &FactsIn,
) -> Result<Decision, Refused> {
    let facts = input.parse(case.occurred_on)?;
    let decision = crate::routing::route(rules, &facts);
    let violations: Vec<crate::domain::Violation> = facts.violations.iter().copied().collect();
    let score = priority::score(&priority::Facts {
        violations: &violations,
        rrm: Some(decision.rrm.status),
        workers: facts.workers,
    });
    let routing = serde_json::to_value(&decision).context("cannot serialize routing")?;
    let now = Utc::now();
    let txn = db.begin().await?;
    crate::db::exec(
        &txn,
        "UPDATE workplaces SET state = $2, sector = $3, trade_with_us = $4, workers = $5 WHERE case_id = $1",
        vec![
            case.id.into(),
            facts.state.code().into(),
            facts.sector.code().into(),
            facts.trade_with_us.code().into(),
            facts.workers.and_then(|w| i32::try_from(w).ok()).into(),
        ],
    )
    .await?;
    crate::db::exec(
        &txn,
        "DELETE FROM case_violations WHERE case_id = $1",
        vec![case.id.into()],
    )
    .await?;
    for v in &violations {
        crate::db::exec(
            &txn,
            "INSERT INTO case_violations (case_id, violation) VALUES ($1, $2)",
            vec![case.id.into(), v.code().into()],
        )
        .await?;
    }
    crate::db::exec(
        &txn,
        "UPDATE cases SET routing = $2, rule_version = $3, priority = $4, rrm_status = $5, updated_at = $6 WHERE id = $1",
        vec![
            case.id.into(),
            routing.into(),
            decision.rule_version.as_str().into(),
            score.into(),
            decision.rrm.status.code().into(),
            now.into(),
        ],
    )
    .await?;
    crate::db::exec(
        &txn,
        "DELETE FROM case_referrals WHERE case_id = $1 AND source = $2",
        vec![case.id.into(), SOURCE_RULES.into()],
    )
    .await?;
    for r in &decision.referrals {
        let kept = crate::db::exec(
            &txn,
            "UPDATE case_referrals SET state = 'active' WHERE case_id = $1 AND authority = $2 AND function = $3",
            vec![case.id.into(), r.authority.as_str().into(), r.function.code().into()],
        )
        .await?;
        if kept == 0 {
            insert_referral(
                &txn,
                case.id,
                &r.authority,
                r.function.code(),
                SOURCE_RULES,
                now,
            )
            .await?;
        }
    }
    let detail = format!(
        "state={} sector={} trade_with_us={} workers={} violations={} rules={}",
        facts.state.code(),
        facts.sector.code(),
        facts.trade_with_us.code(),
        facts
            .workers
            .map_or_else(|| "unknown".to_owned(), |w| w.to_string()),
        violations
            .iter()
            .map(|v| v.code())
            .collect::<Vec<_>>()
            .join(","),
        decision.rule_version
    );
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor), "facts")
            .case(case.id)
            .detail(&detail),
    )
    .await?;
    touch(&txn, case.id).await?;
    txn.commit().await?;
    Ok(decision)
}
