//! Database migrations for Buzón, in order. They run on `buzon serve` and `buzon migrate`.
//!
//! Old migrations never import the `entity` crate, so they keep meaning what they
//! meant when they shipped even as the entities move on.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_create_intake;
mod m20261128_000002_create_authorities;
mod m20261128_000003_create_whatsapp;
mod m20261128_000004_create_email;
mod m20261128_000005_create_triage;
mod m20261128_000006_create_advocates;
mod m20261128_000007_add_retention;
mod m20261203_000008_add_indicators;
mod m20261203_000009_queue_filters;
mod m20261203_000010_referral_queue;
mod m20261207_000011_open_claims;
mod m20261207_000012_signin_lock;
mod m20261207_000013_attachment_meta;
mod m20261208_000014_whatsapp_window;
mod m20261208_000015_whatsapp_replies;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_create_intake::Migration),
            Box::new(m20261128_000002_create_authorities::Migration),
            Box::new(m20261128_000003_create_whatsapp::Migration),
            Box::new(m20261128_000004_create_email::Migration),
            Box::new(m20261128_000005_create_triage::Migration),
            Box::new(m20261128_000006_create_advocates::Migration),
            Box::new(m20261128_000007_add_retention::Migration),
            Box::new(m20261203_000008_add_indicators::Migration),
            Box::new(m20261203_000009_queue_filters::Migration),
            Box::new(m20261203_000010_referral_queue::Migration),
            Box::new(m20261207_000011_open_claims::Migration),
            Box::new(m20261207_000012_signin_lock::Migration),
            Box::new(m20261207_000013_attachment_meta::Migration),
            Box::new(m20261208_000014_whatsapp_window::Migration),
            Box::new(m20261208_000015_whatsapp_replies::Migration),
        ]
    }
}
