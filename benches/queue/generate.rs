//! The generated cases: a deterministic spread of states, sectors, facilities,
//! referrals, priorities and dates, inserted in batches, then checked.

use super::*;

/// Creation times spread over two years from here (2024-12-01T00:00:00Z).
pub(super) const BASE_EPOCH: i64 = 1_733_011_200;

pub(super) const SPAN_SECONDS: i64 = 730 * 86_400;

/// Odd multipliers for Knuth's multiplicative hash: each column that should not
/// follow the state's cycle draws from its own.
pub(super) const M_ID_A: u64 = 2_654_435_761;

pub(super) const M_ID_B: u64 = 2_246_822_519;

pub(super) const M_ID_C: u64 = 3_266_489_917;

pub(super) const M_TIME: u64 = 668_265_263;

pub(super) const M_PRIO: u64 = 374_761_393;

pub(super) const M_BAND: u64 = 1_103_515_245;

pub(super) const M_TENS: u64 = 2_870_177_451;

pub(super) const M_CHANNEL: u64 = 3_812_015_801;

pub(super) const M_RRM: u64 = 1_597_334_677;

pub(super) const M_ASSIGN: u64 = 2_097_152_023;

/// The staff member the bench's "assigned to me" rows are for: the first of the
/// four inspectors each state's assigned cases go to (see [`Gen::assigned_to`]).
pub(super) fn inspector(state: StateCode) -> uuid::Uuid {
    let k = StateCode::ALL.iter().position(|s| *s == state).unwrap();
    uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | (k as u128 * 4 + 1))
}

/// The cases also referred to the CFCRL: one in each run of seven, not every 7th
/// (that would tie them to one sector, which also cycles by 7).
pub(super) const CFCRL: &str = "(i + i / 7) % 7 = 0";

fn is_cfcrl(i: u64) -> bool {
    (i + i / 7).is_multiple_of(7)
}

/// Channels as they arrive: most by WhatsApp, then the web form, few by e-mail
/// or a partner's API (per mille).
const CHANNELS: [(&str, u64); 4] = [("whatsapp", 550), ("web", 300), ("email", 100), ("api", 50)];

/// Each case's first violation, per mille: wages and dismissals dominate, as in
/// the complaints the partner organizations see; child and forced labor are rare.
const VIOLATIONS: [(&str, u64); 20] = [
    ("unpaid_wages", 200),
    ("unjust_dismissal", 170),
    ("excessive_hours", 100),
    ("social_security", 80),
    ("safety_health", 70),
    ("harassment_discrimination", 60),
    ("profit_sharing", 50),
    ("minimum_wage", 50),
    ("union_retaliation", 40),
    ("union_interference", 30),
    ("union_coercion", 25),
    ("protection_contract", 25),
    ("training", 20),
    ("union_access_denied", 15),
    ("refusal_to_bargain", 15),
    ("vote_irregularity", 10),
    ("contrato_ley_not_applied", 10),
    ("forced_labor", 8),
    ("child_labor", 2),
    ("other", 20),
];

/// `codes` drawn with their weights (per mille) by multiplier `m`.
pub(super) fn weighted(m: u64, codes: &[(&str, u64)]) -> String {
    assert_eq!(codes.iter().map(|c| c.1).sum::<u64>(), 1000);
    let x = draw(m, 1000);
    let mut sql = String::from("(CASE");
    let mut upto = 0;
    for (code, w) in codes {
        upto += w;
        sql.push_str(&format!(" WHEN {x} < {upto} THEN '{code}'"));
    }
    sql.push_str(" END)");
    sql
}

/// A 32-bit hash of the row number `i`.
pub(super) fn mix(m: u64) -> String {
    format!("((i * {m}) % 4294967296)")
}

/// A hashed index in `0..k`.
pub(super) fn draw(m: u64, k: u64) -> String {
    format!("({} * {k} / 4294967296)", mix(m))
}

/// `codes[expr]`, NULL past the end.
pub(super) fn pick(expr: &str, codes: &[&str]) -> String {
    let mut sql = format!("(CASE {expr}");
    for (n, code) in codes.iter().enumerate() {
        sql.push_str(&format!(" WHEN {n} THEN '{code}'"));
    }
    sql.push_str(" END)");
    sql
}

/// The expressions of one generated case, in terms of the row number `i`.
pub(super) struct Gen {
    backend: DatabaseBackend,
}

impl Gen {
    fn id(&self) -> String {
        match self.backend {
            DatabaseBackend::Postgres => "md5(i::text)::uuid".into(),
            // sqlx stores a Uuid on SQLite as its 16 bytes; the last 4 are `i`, so
            // the ids are unique, the first 12 hashed, so they are not in `i` order.
            _ => format!(
                "unhex(printf('%08x%08x%08x%08x', {}, {}, {}, i))",
                mix(M_ID_A),
                mix(M_ID_B),
                mix(M_ID_C)
            ),
        }
    }

    /// Whole seconds: `DateTime<Utc>` as sqlx writes it on SQLite (RFC 3339,
    /// `+00:00`, no fraction when there is none), `timestamptz` on PostgreSQL.
    fn created_at(&self) -> String {
        let secs = format!(
            "({BASE_EPOCH} + {} * {SPAN_SECONDS} / 4294967296)",
            mix(M_TIME)
        );
        match self.backend {
            DatabaseBackend::Postgres => format!("to_timestamp({secs})"),
            _ => format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', {secs}, 'unixepoch')"),
        }
    }

    fn bytes(&self, n: usize, salt: &str) -> String {
        match self.backend {
            DatabaseBackend::Postgres => format!(
                "decode(repeat(md5('{salt}' || i::text), {}), 'hex')",
                n / 16
            ),
            _ => format!("randomblob({n})"),
        }
    }

    /// 32 bytes, equal for cases of the same facility (every 5 000th case).
    fn employer_bidx(&self) -> String {
        match self.backend {
            DatabaseBackend::Postgres => "decode(lpad(to_hex(i % 5000), 64, '0'), 'hex')".into(),
            _ => "unhex(printf('%064x', i % 5000))".into(),
        }
    }

    fn state(&self) -> String {
        let codes: Vec<&str> = StateCode::ALL.iter().map(|s| s.code()).collect();
        pick(&format!("(i % {})", codes.len()), &codes)
    }

    fn sector(&self) -> String {
        let codes: Vec<&str> = SECTORS.iter().map(|s| s.code()).collect();
        pick(&format!("(i % {})", codes.len()), &codes)
    }

    fn status(&self) -> String {
        let codes: Vec<&str> = CaseStatus::ALL.iter().map(|s| s.code()).collect();
        pick(&format!("(i % {})", codes.len()), &codes)
    }

    fn channel(&self) -> String {
        weighted(M_CHANNEL, &CHANNELS)
    }

    /// The first violation of a case ([`VIOLATIONS`]); every third case names a
    /// second one, unpaid wages (or excessive hours when that was the first).
    fn violation(&self) -> String {
        weighted(M_ID_C, &VIOLATIONS)
    }

    fn second_violation(&self) -> String {
        format!(
            "CASE WHEN {} = 'unpaid_wages' THEN 'excessive_hours' ELSE 'unpaid_wages' END",
            self.violation()
        )
    }

    /// Cases past `received` are assigned, each to one of four inspectors of its
    /// state (ids `00000000-0000-4000-8000-0000000000nn`, see [`inspector`]).
    fn assigned_to(&self) -> String {
        let n = format!("((i % 32) * 4 + {} + 1)", draw(M_ASSIGN, 4));
        let id = match self.backend {
            DatabaseBackend::Postgres => {
                format!("('00000000-0000-4000-8000-' || lpad(to_hex({n}), 12, '0'))::uuid")
            }
            _ => format!("unhex(printf('000000000000400080000000%08x', {n}))"),
        };
        format!("CASE WHEN i % 5 <> 0 THEN {id} END")
    }

    /// likely, possible, unlikely or not screened.
    fn rrm(&self) -> String {
        pick(&draw(M_RRM, 4), &["likely", "possible", "unlikely"])
    }

    /// ~87 % 0–5 (workers band), ~10 % 10–15, ~3 % 100–125.
    fn priority(&self) -> String {
        let pct = draw(M_PRIO, 100);
        let band = draw(M_BAND, 6);
        let tens = draw(M_TENS, 3);
        format!(
            "(CASE WHEN {pct} < 3 THEN 100 + {tens} * 10 + {band} \
             WHEN {pct} < 13 THEN 10 + {band} ELSE {band} END)"
        )
    }

    /// `INSERT ... SELECT ... FROM` rows `lo..=hi`.
    fn insert(&self, lo: u64, hi: u64, insert: &str, select: &str, filter: &str) -> String {
        let filter = if filter.is_empty() {
            String::new()
        } else {
            format!(" WHERE {filter}")
        };
        match self.backend {
            DatabaseBackend::Postgres => format!(
                "{insert} SELECT {select} FROM generate_series({lo}::bigint, {hi}::bigint) AS s(i){filter}"
            ),
            _ => format!(
                "WITH RECURSIVE s(i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM s WHERE i < {hi}) \
                 {insert} SELECT {select} FROM s{filter}"
            ),
        }
    }

    fn statements(&self, lo: u64, hi: u64) -> Vec<String> {
        let (id, created, state) = (self.id(), self.created_at(), self.state());
        vec![
            self.insert(
                lo,
                hi,
                "INSERT INTO cases (id, case_ref, receipt_lookup, receipt_hash, channel, status, \
                 language, anonymous, narrative_ct, created_at, updated_at, priority, rrm_status, \
                 first_action_at, closed_at, outcome, reached, assigned_to)",
                &format!(
                    "{id}, 'BZ-' || i, 'L' || i, '$argon2id$bench', {}, {}, 'es', false, {}, \
                     {created}, {created}, {}, {}, \
                     CASE WHEN i % 5 <> 0 THEN {created} END, CASE WHEN i % 5 = 4 THEN {created} END, \
                     CASE WHEN i % 5 = 4 THEN {} END, CASE WHEN i % 5 = 4 THEN 17 ELSE 1 END, {}",
                    self.channel(),
                    self.status(),
                    self.bytes(192, "n"),
                    self.priority(),
                    self.rrm(),
                    pick(&draw(M_TENS, 7), &["remedied", "conciliated", "referred_elsewhere", "unfounded", "withdrawn", "no_response", "other"]),
                    self.assigned_to()
                ),
                "",
            ),
            self.insert(
                lo,
                hi,
                "INSERT INTO workplaces (case_id, employer_ct, employer_bidx, state, sector, trade_with_us)",
                &format!(
                    "{id}, {}, {}, {state}, {}, 'unknown'",
                    self.bytes(48, "e"),
                    self.employer_bidx(),
                    self.sector()
                ),
                "",
            ),
            self.insert(
                lo,
                hi,
                "INSERT INTO case_referrals (case_id, authority, function, source, state, created_at)",
                &format!("{id}, 'state_ccl:' || {state}, 'conciliation', 'rules', 'active', {created}"),
                "",
            ),
            self.insert(
                lo,
                hi,
                "INSERT INTO case_referrals (case_id, authority, function, source, state, created_at)",
                &format!("{id}, 'cfcrl', 'registration', 'rules', 'active', {created}"),
                CFCRL,
            ),
            self.insert(
                lo,
                hi,
                "INSERT INTO case_violations (case_id, violation)",
                &format!("{id}, {}", self.violation()),
                "",
            ),
            self.insert(
                lo,
                hi,
                "INSERT INTO case_violations (case_id, violation)",
                &format!("{id}, {}", self.second_violation()),
                "i % 3 = 0",
            ),
        ]
    }
}

/// Fills the database; returns how long it took (ANALYZE included).
pub(super) async fn generate(db: &DatabaseConnection, n: u64) -> Duration {
    let backend = db.get_database_backend();
    let g = Gen { backend };
    let start = Instant::now();
    let mut lo = 1;
    while lo <= n {
        let hi = (lo + BATCH - 1).min(n);
        let txn = db.begin().await.unwrap();
        if backend == DatabaseBackend::Sqlite {
            // A larger page cache for the random-order index inserts, on this
            // connection only and only while generating.
            txn.execute_unprepared("PRAGMA cache_size = -262144")
                .await
                .unwrap();
        }
        for sql in g.statements(lo, hi) {
            txn.execute_unprepared(&sql).await.unwrap();
        }
        if backend == DatabaseBackend::Sqlite {
            txn.execute_unprepared("PRAGMA cache_size = -2000")
                .await
                .unwrap();
        }
        txn.commit().await.unwrap();
        eprint!(
            "\r  {hi} / {n} cases ({:.0} s)",
            start.elapsed().as_secs_f64()
        );
        lo = hi + 1;
    }
    eprintln!();
    match backend {
        DatabaseBackend::Postgres => {
            // VACUUM sets the visibility map (index-only scans), as autovacuum
            // would on a database that size; ANALYZE as asked.
            db.execute_unprepared("VACUUM (ANALYZE)").await.unwrap();
        }
        _ => {
            db.execute_unprepared("ANALYZE").await.unwrap();
            db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await
                .unwrap();
        }
    }
    start.elapsed()
}

/// Checks the generated rows: counts, and that the entity reads a generated case.
pub(super) async fn check_generated(db: &DatabaseConnection, n: u64) {
    let count = |sql: &'static str| async move {
        let row = buzon::db::row(db, sql, vec![]).await.unwrap().unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    };
    let cases = count("SELECT COUNT(*) FROM cases").await;
    let workplaces = count("SELECT COUNT(*) FROM workplaces").await;
    let referrals = count("SELECT COUNT(*) FROM case_referrals").await;
    let expected_referrals = n + (1..=n).filter(|i| is_cfcrl(*i)).count() as u64;
    assert_eq!(u64::try_from(cases).unwrap(), n);
    assert_eq!(u64::try_from(workplaces).unwrap(), n);
    assert_eq!(u64::try_from(referrals).unwrap(), expected_referrals);
    let one = entity::case::Entity::find().one(db).await.unwrap().unwrap();
    eprintln!(
        "  {cases} cases, {workplaces} workplaces, {referrals} referrals; e.g. {} {} {} priority {:?}",
        one.case_ref, one.id, one.created_at, one.priority
    );
}
