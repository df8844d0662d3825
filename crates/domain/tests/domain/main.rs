//! Domain tests against real SQL: a temporary SQLite file with the migrations
//! applied, a fixed clock, and the same operations the transports call.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod accounts;
mod audit;
mod cache;
mod coherence;
mod concurrency;
mod idle;
mod invitations;
mod keys;
mod leaks;
mod migrations;
mod names;
mod patterns;
mod personal_tokens;
mod protocol;
mod ranges;
mod rules;
mod secrets;
mod service_accounts;
mod support;
mod unused;
mod usage;
mod verification;
