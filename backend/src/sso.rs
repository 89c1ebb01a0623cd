//! Self-serve SSO set-up: what a tenant's IT admin enters for their own identity provider, checked at once.
//!
//! [`discovery`] turns what the admin typed into the issuer it implies and checks that provider's OpenID
//! Connect discovery document and signing keys, saying precisely what is wrong; [`egress`] keeps those
//! requests to customer-supplied URLs away from the backend's own network.
//!
//! The customer's IT admin works from a one-time set-up link ([`links`]) through the wizard's API
//! ([`wizard`]); the organisation's email domains are claimed and proven by a DNS TXT record ([`domains`],
//! [`claims`]), and only proven domains route sign-ins.

pub mod claims;
pub mod discovery;
pub mod domains;
pub mod egress;
pub mod links;
pub mod provider;
pub mod test_sign_in;
pub mod wizard;
