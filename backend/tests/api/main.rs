//! The backend's integration tests: one binary, real Postgres and real local stand-ins, started by `testkit`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod administration;
mod attacks;
mod bearer;
mod console;
mod files;
mod health;
mod helpers;
mod idp_sync;
mod lambda;
mod logs;
mod matrix;
mod member_sessions;
mod operators;
mod outages;
mod query_plans;
mod reports;
mod revocation;
mod rls;
mod sessions;
mod shutdown;
mod sign_in_start;
mod signin;
mod sso;
mod tenant_lifecycle;
mod trigger;
