//! Black-box tests: the real `buzon` binary on a random port, against SQLite and
//! PostgreSQL. One test binary with modules keeps link time down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod graph_stub;

mod helpers;
mod smtp_sink;

mod advocates;
mod api;
mod backup;
mod bad_input;
mod browser;
mod connections;
mod corpus_feed;
mod crash;
mod deferred;
mod email;
mod flood;
mod hardening;
mod indicators;
mod keys;
mod layering;
mod metrics;
mod outage;
mod privacy;
mod receipts;
mod redis_limits;
mod retention;
mod rights;
mod routing;
mod scaleout;
mod signin_lock;
mod startup;
mod triage;
mod triage_login;
mod web;
mod whatsapp;
