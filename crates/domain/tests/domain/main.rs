//! Domain tests against real SQL: a temporary SQLite file with the migrations

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! applied, a fixed clock, and the same operations the transports call.

mod accounts;
mod audit;
mod concurrency;
mod keys;
mod personal_tokens;
mod secrets;
mod service_accounts;
mod support;
mod usage;
mod verification;
