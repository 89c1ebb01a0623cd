//! Integration tests of the local AWS stand-ins: real HTTP against in-process listeners on port 0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attributes;
mod authorize;
mod binding;
mod discovery;
mod dns;
mod federation;
mod fidelity;
mod helpers;
mod iam;
mod identity_pool;
mod idp_claims;
mod keys;
mod lambda;
mod logout;
mod native_users;
mod okta_orgs;
mod operator_sign_in;
mod pools;
mod s3;
mod s3_lifecycle;
mod token;
mod trigger;
mod user_info;
mod user_pool_api;
