//! The multi-tenant API, the backend-for-frontend sign-in, the operators' console and the Cognito
//! pre-token-generation trigger.

pub mod api;
pub mod app;
pub mod auth;
pub mod aws;
pub mod client_ip;
pub mod config;
pub mod console;
pub mod csp;
pub mod db;
pub mod error;
pub mod idp_sync;
pub mod operators;
pub mod seed;
pub mod sso;
pub mod state;
pub mod storage;
pub mod trigger;
pub mod verifier;

#[cfg(test)]
mod test_support;
