//! The inspectors' queue read from their referrals (issue 18: every filter an
//! inspector combines under 50 ms at 1 000 000 cases, BENCHMARKS.md).
//!
//! An inspector's queue is the cases with an active referral to their authority,
//! filtered by the workplace's state and sector and the case's channel, status and
//! dates, in the case's priority order. Those live in three tables, so no index
//! could both narrow to the scope and a filter and give the order: the planners
//! either sorted every match of a workplace index (tens of thousands of rows) or
//! walked the queue order probing the other tables for rows that mostly failed.
//!
//! Each referral now carries copies of what the queue filters and orders by:
//! `case_priority`, `case_created_at`, `case_status`, `case_channel`,
//! `workplace_state` and `workplace_sector`. Triggers keep them equal to their
//! sources on every write, whatever path makes it (intake, corrected facts, the
//! routing backfill, status changes, manual referrals, a restore): a referral
//! inserted takes the values of its case and workplace, and a change to a case or
//! workplace is copied to its referrals in the same statement. Partial indexes over
//! the active referrals, each led by the authority, give the queue order within one
//! authority alone, or within one sector, one state or one channel of it. Other
//! filters (RRM, assignee, deferral) are checked on the case row as the index is
//! walked: none of them is rare enough to need more.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Each copy: its column on `case_referrals`, the source table and column.
const COPIES: [(&str, &str, &str); 6] = [
    ("case_priority", "cases", "priority"),
    ("case_created_at", "cases", "created_at"),
    ("case_status", "cases", "status"),
    ("case_channel", "cases", "channel"),
    ("workplace_state", "workplaces", "state"),
    ("workplace_sector", "workplaces", "sector"),
];

/// The queue's order within one authority, alone or after one more equality.
const ORDER: &str = "case_priority DESC, case_created_at, case_id";

const INDEXES: [(&str, &str); 4] = [
    ("idx_referrals_queue", ""),
    ("idx_referrals_queue_sector", "workplace_sector, "),
    ("idx_referrals_queue_state", "workplace_state, "),
    ("idx_referrals_queue_channel", "case_channel, "),
];

/// `(column, source column)` of the copies taken from `table`.
fn copies_of(table: &str) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    COPIES
        .iter()
        .filter(move |c| c.1 == table)
        .map(|c| (c.0, c.2))
}

/// `SET a = NEW.x, b = NEW.y` for the copies of `table`.
fn set_from_new(table: &str) -> String {
    copies_of(table)
        .map(|(copy, source)| format!("{copy} = NEW.{source}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `NEW.x IS DISTINCT FROM OLD.x OR ...` (PostgreSQL) for the copies of `table`.
fn changed(table: &str) -> String {
    copies_of(table)
        .map(|(_, source)| format!("NEW.{source} IS DISTINCT FROM OLD.{source}"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// `SET` list giving every copy its source's value, for the referral of `case_id`
/// (an SQL expression): the backfill and SQLite's insert trigger.
fn fill_for(case_id: &str) -> String {
    COPIES
        .iter()
        .map(|(copy, table, source)| {
            let key = if *table == "cases" { "id" } else { "case_id" };
            format!("{copy} = (SELECT s.{source} FROM {table} s WHERE s.{key} = {case_id})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn sources_of(table: &str) -> String {
    copies_of(table)
        .map(|(_, source)| source)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The statements that install the triggers on `backend`.
fn triggers(backend: DbBackend) -> Vec<String> {
    let (cases_set, work_set) = (set_from_new("cases"), set_from_new("workplaces"));
    let (cases_cols, work_cols) = (sources_of("cases"), sources_of("workplaces"));
    match backend {
        DbBackend::Postgres => {
            let into = |table: &str| {
                let (copies, sources): (Vec<_>, Vec<_>) = copies_of(table)
                    .map(|(copy, source)| (format!("NEW.{copy}"), format!("s.{source}")))
                    .unzip();
                (sources.join(", "), copies.join(", "))
            };
            let (case_src, case_dst) = into("cases");
            let (work_src, work_dst) = into("workplaces");
            vec![
                format!(
                    "CREATE FUNCTION buzon_referral_fill() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     SELECT {case_src} INTO {case_dst} FROM cases s WHERE s.id = NEW.case_id; \
                     SELECT {work_src} INTO {work_dst} FROM workplaces s WHERE s.case_id = NEW.case_id; \
                     RETURN NEW; END $$"
                ),
                "CREATE TRIGGER trg_referral_fill BEFORE INSERT ON case_referrals \
                 FOR EACH ROW EXECUTE FUNCTION buzon_referral_fill()"
                    .into(),
                format!(
                    "CREATE FUNCTION buzon_referral_case_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     UPDATE case_referrals SET {cases_set} WHERE case_id = NEW.id; RETURN NULL; END $$"
                ),
                format!(
                    "CREATE TRIGGER trg_referral_case_sync AFTER UPDATE OF {cases_cols} ON cases \
                     FOR EACH ROW WHEN ({}) EXECUTE FUNCTION buzon_referral_case_sync()",
                    changed("cases")
                ),
                format!(
                    "CREATE FUNCTION buzon_referral_workplace_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     UPDATE case_referrals SET {work_set} WHERE case_id = NEW.case_id; RETURN NULL; END $$"
                ),
                "CREATE TRIGGER trg_referral_workplace_insert AFTER INSERT ON workplaces \
                 FOR EACH ROW EXECUTE FUNCTION buzon_referral_workplace_sync()"
                    .into(),
                format!(
                    "CREATE TRIGGER trg_referral_workplace_sync AFTER UPDATE OF {work_cols} ON workplaces \
                     FOR EACH ROW WHEN ({}) EXECUTE FUNCTION buzon_referral_workplace_sync()",
                    changed("workplaces")
                ),
            ]
        }
        // SQLite: a BEFORE trigger cannot change the new row, so the inserted
        // referral is filled by an update of itself (by its primary key).
        _ => vec![
            format!(
                "CREATE TRIGGER trg_referral_fill AFTER INSERT ON case_referrals BEGIN \
                 UPDATE case_referrals SET {} WHERE case_id = NEW.case_id \
                 AND authority = NEW.authority AND function = NEW.function; END",
                fill_for("NEW.case_id")
            ),
            format!(
                "CREATE TRIGGER trg_referral_case_sync AFTER UPDATE OF {cases_cols} ON cases BEGIN \
                 UPDATE case_referrals SET {cases_set} WHERE case_id = NEW.id; END"
            ),
            format!(
                "CREATE TRIGGER trg_referral_workplace_insert AFTER INSERT ON workplaces BEGIN \
                 UPDATE case_referrals SET {work_set} WHERE case_id = NEW.case_id; END"
            ),
            format!(
                "CREATE TRIGGER trg_referral_workplace_sync AFTER UPDATE OF {work_cols} ON workplaces BEGIN \
                 UPDATE case_referrals SET {work_set} WHERE case_id = NEW.case_id; END"
            ),
        ],
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER.
        for column in [
            integer_null("case_priority"),
            timestamp_with_time_zone_null("case_created_at"),
            string_len_null("case_status", 24),
            string_len_null("case_channel", 16),
            string_len_null("workplace_state", 8),
            string_len_null("workplace_sector", 32),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("case_referrals")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        // The referrals stored before this migration.
        db.execute_unprepared(&format!(
            "UPDATE case_referrals SET {}",
            fill_for("case_referrals.case_id")
        ))
        .await?;
        for sql in triggers(db.get_database_backend()) {
            db.execute_unprepared(&sql).await?;
        }
        for (name, lead) in INDEXES {
            db.execute_unprepared(&format!(
                "CREATE INDEX {name} ON case_referrals (authority, {lead}{ORDER}) WHERE state = 'active'"
            ))
            .await?;
        }
        if db.get_database_backend() == DbBackend::Postgres {
            // The authority all but decides the state (a state's board gets that
            // state's cases) and narrows the sectors (the CFCRL gets the federal
            // ones): without statistics on them together, PostgreSQL took "this
            // board, this state" for 1/32 of the board's referrals, not all of them,
            // and sorted them instead of walking the index (BENCHMARKS.md).
            db.execute_unprepared(
                "CREATE STATISTICS st_referrals_scope (dependencies, mcv) \
                 ON authority, workplace_state, workplace_sector FROM case_referrals",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = db.get_database_backend() == DbBackend::Postgres;
        for (trigger, table) in [
            ("trg_referral_fill", "case_referrals"),
            ("trg_referral_case_sync", "cases"),
            ("trg_referral_workplace_insert", "workplaces"),
            ("trg_referral_workplace_sync", "workplaces"),
        ] {
            let on = if postgres {
                format!(" ON {table}")
            } else {
                String::new()
            };
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger}{on}"))
                .await?;
        }
        if postgres {
            db.execute_unprepared("DROP STATISTICS IF EXISTS st_referrals_scope")
                .await?;
            for function in [
                "buzon_referral_fill",
                "buzon_referral_case_sync",
                "buzon_referral_workplace_sync",
            ] {
                db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {function}()"))
                    .await?;
            }
        }
        for (name, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        for (copy, _, _) in COPIES {
            manager
                .alter_table(
                    Table::alter()
                        .table("case_referrals")
                        .drop_column(copy)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
