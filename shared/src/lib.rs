//! Types shared by the backend and the web app: scopes, roles, error codes and API bodies.
//!
//! This crate builds for `wasm32-unknown-unknown` and must never depend on a server crate
//! (axum, sqlx, tokio, aws-sdk): the web app links it.

#![warn(missing_docs)]

pub mod api;
pub mod error;
pub mod scope;

pub use error::{ErrorBody, ErrorCode};
pub use scope::{MemberStatus, Plan, Role, Scope, TenantStatus};
