//! Sign-in failures and locks, per e-mail address, in one table for real and unknown
//! addresses alike (issue 30, findings 3 and 7).
//!
//! Before, a real account counted its failures on `staff` and an unknown address in
//! a rate limiter that gave a try back every three minutes, so the two recovered
//! differently and told who has an account; and the count was read before the
//! password check and written after it, so a burst got past it. Now every address
//! has at most one row here, keyed by the blind index of the normalised e-mail (the
//! same HMAC as `staff.email_bidx`, so no address is stored), and a try is taken from
//! it by one conditional UPDATE before any password is checked.
//!
//! `staff.failed_logins` and `staff.locked_until` are no longer read or written;
//! locks in force are carried over.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("signin_locks")
                    .if_not_exists()
                    .col(blob("email_bidx").primary_key())
                    // Tries taken since the last sign-in (reserved before the password
                    // check, kept when it fails).
                    .col(integer("failures"))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    // The last try taken: rows quiet for long are forgotten.
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_signin_locks_updated_at")
                    .table("signin_locks")
                    .col("updated_at")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // Failures and locks already counted on `staff` carry over.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO signin_locks (email_bidx, failures, locked_until, updated_at) \
                 SELECT email_bidx, \
                        CASE WHEN locked_until IS NOT NULL THEN 5 ELSE failed_logins END, \
                        locked_until, updated_at \
                 FROM staff WHERE failed_logins > 0 OR locked_until IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("signin_locks").to_owned())
            .await
    }
}
