//! The demo world's users (`infra/local-aws/directories.json`, `infra/tenants/demo.json`), as the tests sign
//! them in.

use shared::Role;

/// Every demo user's password at the mock identity providers.
pub const PASSWORD: &str = "Passw0rd!";

/// A user of the demo world.
#[derive(Debug, Clone, Copy)]
pub struct DemoUser {
    /// The email the user types and the IdP asserts.
    pub email: &'static str,
    /// The display name the IdP asserts.
    pub name: &'static str,
    /// The slug of the tenant the user belongs to.
    pub tenant: &'static str,
    /// The user pool provider name of the user's identity provider.
    pub provider: &'static str,
    /// The role the user's groups map to.
    pub role: Role,
}

/// Acme admin (Entra group SaaS-Admins).
pub const ALICE: DemoUser = DemoUser {
    email: "alice@acme.example",
    name: "Alice Anderson",
    tenant: "acme",
    provider: "acme-entra",
    role: Role::Admin,
};
/// Acme member (Entra group SaaS-Users).
pub const BOB: DemoUser = DemoUser {
    email: "bob@acme.example",
    name: "Bob Brown",
    tenant: "acme",
    provider: "acme-entra",
    role: Role::Member,
};
/// Acme viewer (no group).
pub const ERIN: DemoUser = DemoUser {
    email: "erin@acme.example",
    name: "Erin Evans",
    tenant: "acme",
    provider: "acme-entra",
    role: Role::Viewer,
};
/// Globex admin (Okta group saas-admin).
pub const CAROL: DemoUser = DemoUser {
    email: "carol@globex.example",
    name: "Carol Chen",
    tenant: "globex",
    provider: "globex-okta",
    role: Role::Admin,
};
/// Globex viewer (Okta group saas-viewer).
pub const DAVE: DemoUser = DemoUser {
    email: "dave@globex.example",
    name: "Dave Diaz",
    tenant: "globex",
    provider: "globex-okta",
    role: Role::Viewer,
};
/// A Globex Okta user whose email claims an Acme address: must land in Globex, never in Acme.
pub const MALLORY: DemoUser = DemoUser {
    email: "mallory@acme.example",
    name: "Mallory Moss",
    tenant: "globex",
    provider: "globex-okta",
    role: Role::Admin,
};

/// Initech admin (Okta group saas-admins in the `initech` org). Initech is the unlinked customer: no tenant
/// of the demo world uses its directories until its sign-in is set up through the self-serve wizard, under
/// this provider name.
pub const PETER: DemoUser = DemoUser {
    email: "peter@initech.example",
    name: "Peter Gibbons",
    tenant: "initech",
    provider: "initech-okta",
    role: Role::Admin,
};
/// Initech member (Okta group saas-users).
pub const SAMIR: DemoUser = DemoUser {
    email: "samir@initech.example",
    name: "Samir Nagheenanajar",
    tenant: "initech",
    provider: "initech-okta",
    role: Role::Member,
};
