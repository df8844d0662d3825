//! End-to-end tests: start the real `keywarden` binary and talk to it over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod cli;
mod console;
mod crash;
mod errors;
mod gateway;
mod hostile;
mod hygiene;
mod leaks;
mod leases;
mod lifecycle;
mod limits;
mod lumar;
mod matrix;
mod over_http;
mod permissions;
mod races;
mod ranges;
mod rules;
mod scale;
mod secrets;
mod slow;
mod support;
mod tenants;
mod upgrade;
mod verify;
