//! `AdminCreateUser`, `AdminGetUser`, `ListUsers`, `AdminDisableUser`, `AdminEnableUser` and
//! `AdminDeleteUser`: the pool's own users, as an administrator (the backend's `operators` command) manages
//! them.
//!
//! What Cognito does and the stand-in reproduces: a created user is `FORCE_CHANGE_PASSWORD` with a temporary
//! password (given, and then checked against the pool's policy, or generated) valid for the policy's
//! `TemporaryPasswordValidityDays`, and is sent an invitation built from the pool's template unless
//! `MessageAction` is `SUPPRESS`; `RESEND` gives an existing `FORCE_CHANGE_PASSWORD` user a new temporary
//! password and invitation. In a pool whose users sign in with their email address (`UsernameAttributes`),
//! `Username` must be an email address, the user's name is a generated id (their `sub`), and an address
//! already in use is refused. Every operation accepts a user's name, `sub` or such an address. Disabling a
//! user ends their sign-ins (refresh tokens revoked) and stops new ones; deleting removes them. Dates are
//! epoch seconds.
//!
//! The stand-in delivers email only (to its outbox, see `crate::mail`): `DesiredDeliveryMediums` must name
//! `EMAIL`, where Cognito's default is `SMS`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::error::ServiceError;
use super::validation::{Input, StringShape, Violations, page_after, page_size, page_token};
use crate::user_pool::Pool;
use crate::user_pool::accounts::{
    Account, UserStatus, generate_temporary_password, policy_violation,
};
use crate::user_pool::state::COGNITO;
use crate::user_pool::users::PoolUser;

/// `UsernameType`.
const USERNAME: StringShape = StringShape::pattern(
    1,
    Some(128),
    r"[\p{L}\p{M}\p{S}\p{N}\p{P}]+",
    r"[\p{L}\p{M}\p{S}\p{N}\p{P}]+",
);
/// `PasswordType`.
const PASSWORD: StringShape = StringShape::pattern(0, Some(256), r"[\S]+", r"[^ \t\n\x0B\x0C\r]+");
/// `AttributeNameType`.
const ATTRIBUTE_NAME: StringShape = StringShape::pattern(
    1,
    Some(32),
    r"[\p{L}\p{M}\p{S}\p{N}\p{P}]+",
    r"[\p{L}\p{M}\p{S}\p{N}\p{P}]+",
);
/// `SearchPaginationTokenType`.
const PAGINATION_TOKEN: StringShape =
    StringShape::pattern(1, None, r"[\S]+", r"[^ \t\n\x0B\x0C\r]+");
/// `QueryLimitType`'s upper bound.
const MAX_PAGE: i64 = 60;
/// `UserFilterType`'s length.
const FILTER: StringShape = StringShape::length(0, 256);
/// Attributes `ListUsers` can filter on.
const SEARCHABLE: &[&str] = &[
    "username",
    "email",
    "phone_number",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "cognito:user_status",
    "status",
    "sub",
];

/// `AdminCreateUser`.
pub(crate) fn create(pool: &Pool, input: Input<'_>) -> Result<Value, ServiceError> {
    let username = input.string("Username")?;
    let temporary = input.string("TemporaryPassword")?;
    let action = input.string("MessageAction")?;
    let mediums = input.string_list("DesiredDeliveryMediums")?;
    let attributes = attribute_list(&input, "UserAttributes")?;
    let mut violations = Violations::new();
    violations.string("Username", username, USERNAME);
    let username = violations.require("Username", username);
    violations.string("TemporaryPassword", temporary, PASSWORD);
    violations.one_of("MessageAction", action, &["RESEND", "SUPPRESS"]);
    violations.finish()?;
    let username = username.unwrap_or_default();
    let email_delivery = match mediums.as_deref() {
        _ if action == Some("SUPPRESS") => false,
        Some(mediums) if mediums.iter().all(|m| m == "EMAIL") && !mediums.is_empty() => true,
        _ => {
            return Err(ServiceError::invalid_parameter(
                "The local user pool delivers email only: DesiredDeliveryMediums must be [\"EMAIL\"] (Cognito's \
                 default is SMS).",
            ));
        }
    };
    let native = &pool.settings.native_users;
    let policy = &native.password_policy;
    if let Some(temporary) = temporary
        && let Some(reason) = policy_violation(policy, temporary)
    {
        return Err(ServiceError::invalid_password(format!(
            "Password does not conform to policy: {reason}"
        )));
    }
    let temporary = temporary.map_or_else(|| generate_temporary_password(policy), str::to_owned);
    let validity = Duration::from_secs(policy.temporary_password_validity_days * 86_400);
    let now = SystemTime::now();

    if action == Some("RESEND") {
        let user = find(pool, username)?;
        let resent = pool.accounts.update(&user.username, |account| {
            if account.status != UserStatus::ForceChangePassword {
                return Err(ServiceError::unsupported_user_state(
                    "Resend not possible. User status is not FORCE_CHANGE_PASSWORD.",
                ));
            }
            account
                .reset_temporary_password(&temporary, validity, now)
                .map_err(|_| ServiceError::internal())?;
            Ok(account.clone())
        });
        let account = resent.ok_or_else(user_not_found)??;
        if email_delivery {
            invite(pool, &user, &temporary)?;
        }
        return Ok(json!({ "User": user_type(&user, Some(&account)) }));
    }

    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in attributes {
        if name == "sub" || !pool.settings.declares_attribute(&name) {
            return Err(ServiceError::invalid_parameter(format!(
                "user.{name}: Attribute does not exist in the schema."
            )));
        }
        values.insert(name, value);
    }
    let case_sensitive = pool.settings.sign_in_case_sensitive;
    let sub = uuid::Uuid::new_v4().to_string();
    let username = if native.email_is_username() {
        if !looks_like_email(username) {
            return Err(ServiceError::invalid_parameter(
                "Username should be an email.",
            ));
        }
        if pool.users.find(username, case_sensitive, true).is_some() {
            return Err(ServiceError::username_exists(
                "An account with the given email already exists.",
            ));
        }
        values.insert("email".to_owned(), username.to_owned());
        sub.clone()
    } else {
        let name = if case_sensitive {
            username.to_owned()
        } else {
            username.to_lowercase()
        };
        if pool.users.find(&name, case_sensitive, false).is_some() {
            return Err(ServiceError::username_exists("User account already exists"));
        }
        name
    };
    if values.get("email_verified").is_some_and(|v| v == "true") && !values.contains_key("email") {
        return Err(ServiceError::invalid_parameter(
            "Cannot verify email without an email attribute.",
        ));
    }
    if email_delivery && !values.contains_key("email") {
        return Err(ServiceError::invalid_parameter(
            "User has no attribute matching desired delivery mediums",
        ));
    }
    values.insert("sub".to_owned(), sub.clone());
    let user = PoolUser {
        username: username.clone(),
        sub,
        provider: COGNITO.to_owned(),
        attributes: values,
        groups: Vec::new(),
        created: now,
        enabled: true,
    };
    let account = Account::created_with_temporary_password(&temporary, validity, now)
        .map_err(|_| ServiceError::internal())?;
    if !pool.users.insert_native(user.clone()) {
        return Err(ServiceError::username_exists("User account already exists"));
    }
    pool.accounts.insert(&username, account.clone());
    if email_delivery {
        invite(pool, &user, &temporary)?;
    }
    Ok(json!({ "User": user_type(&user, Some(&account)) }))
}

/// `AdminGetUser`.
pub(crate) fn get(pool: &Pool, input: Input<'_>) -> Result<Value, ServiceError> {
    let user = find(pool, username_of(&input)?)?;
    let account = pool.accounts.get(&user.username);
    let described = user_type(&user, account.as_ref());
    let mut output = json!({
        "Username": described["Username"],
        "UserAttributes": described["Attributes"],
        "UserCreateDate": described["UserCreateDate"],
        "UserLastModifiedDate": described["UserLastModifiedDate"],
        "Enabled": described["Enabled"],
        "UserStatus": described["UserStatus"],
    });
    if account.as_ref().is_some_and(Account::has_authenticator) {
        output["UserMFASettingList"] = json!(["SOFTWARE_TOKEN_MFA"]);
        output["PreferredMfaSetting"] = json!("SOFTWARE_TOKEN_MFA");
    }
    Ok(output)
}

/// `ListUsers`, sorted by user name, a page at a time; `Filter` as Cognito parses it.
pub(crate) fn list(pool: &Pool, input: Input<'_>) -> Result<Value, ServiceError> {
    let limit = input.integer("Limit")?;
    let token = input.string("PaginationToken")?;
    let filter = input.string("Filter")?;
    let mut violations = Violations::new();
    violations.range("Limit", limit, 0, MAX_PAGE);
    violations.string("PaginationToken", token, PAGINATION_TOKEN);
    violations.string("Filter", filter, FILTER);
    violations.finish()?;
    let filter = filter
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(parse_filter)
        .transpose()?;
    let page_size = page_size(limit, MAX_PAGE);
    let after = page_after(token, "Invalid pagination token.")?;

    let mut users = pool.users.all();
    users.sort_by(|a, b| a.username.cmp(&b.username));
    let mut matching = users
        .into_iter()
        .filter(|user| after.as_ref().is_none_or(|after| user.username > *after))
        .map(|user| {
            let account = pool.accounts.get(&user.username);
            let described = user_type(&user, account.as_ref());
            (user, described)
        })
        .filter(|(user, described)| {
            filter
                .as_ref()
                .is_none_or(|filter| filter.matches(user, described))
        });
    let page: Vec<(PoolUser, Value)> = matching.by_ref().take(page_size).collect();
    let more = matching.next().is_some();
    let mut output = json!({
        "Users": page.iter().map(|(_, described)| described.clone()).collect::<Vec<_>>()
    });
    if more && let Some((last, _)) = page.last() {
        output["PaginationToken"] = json!(page_token(&last.username));
    }
    Ok(output)
}

/// `AdminDisableUser`: no new sign-in, and the user's refresh tokens and access tokens stop working.
pub(crate) fn disable(pool: &Pool, input: Input<'_>) -> Result<Value, ServiceError> {
    let user = find(pool, username_of(&input)?)?;
    let now = SystemTime::now();
    pool.users.set_enabled(&user.username, false);
    pool.accounts
        .update(&user.username, |account| account.modified = now);
    pool.revoke_sign_ins_of(&user.username);
    Ok(json!({}))
}

/// `AdminEnableUser`.
pub(crate) fn enable(pool: &Pool, input: Input<'_>) -> Result<Value, ServiceError> {
    let user = find(pool, username_of(&input)?)?;
    let now = SystemTime::now();
    pool.users.set_enabled(&user.username, true);
    pool.accounts
        .update(&user.username, |account| account.modified = now);
    Ok(json!({}))
}

/// `AdminDeleteUser`.
pub(crate) fn delete(pool: &Pool, input: Input<'_>) -> Result<Value, ServiceError> {
    let user = find(pool, username_of(&input)?)?;
    pool.revoke_sign_ins_of(&user.username);
    pool.users.remove(&user.username);
    pool.accounts.remove(&user.username);
    Ok(json!({}))
}

/// The `Username` of the operations on one user.
fn username_of<'a>(input: &Input<'a>) -> Result<&'a str, ServiceError> {
    let username = input.string("Username")?;
    let mut violations = Violations::new();
    violations.string("Username", username, USERNAME);
    let username = violations.require("Username", username);
    violations.finish()?;
    Ok(username.unwrap_or_default())
}

/// The user a request names: by user name, `sub`, or email address where that is how users sign in.
fn find(pool: &Pool, name: &str) -> Result<PoolUser, ServiceError> {
    pool.users
        .find(
            name,
            pool.settings.sign_in_case_sensitive,
            pool.settings.native_users.email_is_username(),
        )
        .ok_or_else(user_not_found)
}

fn user_not_found() -> ServiceError {
    ServiceError::user_not_found("User does not exist.")
}

/// Emails the invitation with the user's temporary password.
fn invite(pool: &Pool, user: &PoolUser, temporary: &str) -> Result<(), ServiceError> {
    let Some(to) = user.attribute("email") else {
        return Err(ServiceError::invalid_parameter(
            "User has no attribute matching desired delivery mediums",
        ));
    };
    let template = &pool.settings.native_users.invitation;
    // The name the user signs in with: their address in a pool of email sign-in.
    let sign_in_name = if pool.settings.native_users.email_is_username() {
        to
    } else {
        &user.username
    };
    let body = template
        .email_message
        .replace("{username}", sign_in_name)
        .replace("{####}", temporary);
    pool.outbox
        .send(&pool.settings.pool_name, to, &template.email_subject, &body);
    Ok(())
}

/// `UserType`: a native user with their account, a federated one as `EXTERNAL_PROVIDER`.
fn user_type(user: &PoolUser, account: Option<&Account>) -> Value {
    let attributes: Vec<Value> = user
        .attributes
        .iter()
        .map(|(name, value)| json!({"Name": name, "Value": value}))
        .collect();
    let (status, created, modified) = match account {
        Some(account) => (account.status.as_str(), account.created, account.modified),
        None => ("EXTERNAL_PROVIDER", user.created, user.created),
    };
    let enabled = user.enabled;
    json!({
        "Username": user.username,
        "Attributes": attributes,
        "UserCreateDate": epoch_seconds(created),
        "UserLastModifiedDate": epoch_seconds(modified),
        "Enabled": enabled,
        "UserStatus": status,
    })
}

fn epoch_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

/// `UserAttributes`: a list of `{Name, Value}`.
fn attribute_list(input: &Input<'_>, member: &str) -> Result<Vec<(String, String)>, ServiceError> {
    let Some(items) = input.structure_list(member)? else {
        return Ok(Vec::new());
    };
    let mut attributes = Vec::new();
    for item in items {
        let name = item.string("Name")?;
        let value = item.string("Value")?;
        let mut violations = Violations::new();
        violations.string("Name", name, ATTRIBUTE_NAME);
        let name = violations.require("Name", name);
        violations.string("Value", value, StringShape::length(0, 2048));
        violations.finish()?;
        attributes.push((
            name.unwrap_or_default().to_owned(),
            value.unwrap_or_default().to_owned(),
        ));
    }
    Ok(attributes)
}

/// An address with one `@`, something before it and a dotted domain after it: enough to refuse a name that
/// is plainly no email address, as Cognito does.
fn looks_like_email(text: &str) -> bool {
    text.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    })
}

/// A `ListUsers` filter: `<attribute> = "<value>"` (exact) or `<attribute> ^= "<value>"` (prefix).
#[derive(Debug, PartialEq, Eq)]
struct Filter {
    attribute: String,
    prefix: bool,
    value: String,
}

impl Filter {
    fn matches(&self, user: &PoolUser, described: &Value) -> bool {
        let actual: Option<String> = match self.attribute.as_str() {
            "username" => Some(user.username.clone()),
            "cognito:user_status" => described["UserStatus"].as_str().map(str::to_owned),
            "status" => Some(
                if described["Enabled"] == json!(true) {
                    "Enabled"
                } else {
                    "Disabled"
                }
                .to_owned(),
            ),
            other => user.attribute(other).map(str::to_owned),
        };
        // `cognito:user_status` is compared without regard to case; the others with it.
        let (actual, wanted) = if self.attribute == "cognito:user_status" {
            (actual.map(|a| a.to_lowercase()), self.value.to_lowercase())
        } else {
            (actual, self.value.clone())
        };
        actual.is_some_and(|actual| {
            if self.prefix {
                actual.starts_with(&wanted)
            } else {
                actual == wanted
            }
        })
    }
}

fn parse_filter(text: &str) -> Result<Filter, ServiceError> {
    let invalid = || ServiceError::invalid_parameter("Error while parsing filter.");
    let (attribute, rest, prefix) = if let Some((attribute, rest)) = text.split_once("^=") {
        (attribute, rest, true)
    } else if let Some((attribute, rest)) = text.split_once('=') {
        (attribute, rest, false)
    } else {
        return Err(invalid());
    };
    let attribute = attribute.trim();
    let quoted = rest.trim();
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .ok_or_else(invalid)?;
    let value = inner.replace("\\\"", "\"");
    if !SEARCHABLE.contains(&attribute) {
        return Err(ServiceError::invalid_parameter(format!(
            "Invalid search attribute: {attribute}"
        )));
    }
    Ok(Filter {
        attribute: attribute.to_owned(),
        prefix,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_parsed_as_cognito_writes_them() {
        assert_eq!(
            parse_filter(r#"email = "ops@example.com""#).unwrap(),
            Filter {
                attribute: "email".into(),
                prefix: false,
                value: "ops@example.com".into()
            }
        );
        assert!(parse_filter(r#"email ^= "ops""#).unwrap().prefix);
        assert_eq!(
            parse_filter(r#"custom:team = "x""#).unwrap_err().message,
            "Invalid search attribute: custom:team"
        );
        assert!(parse_filter("email ops").is_err());
        assert!(parse_filter(r#"email = ops"#).is_err());
    }

    #[test]
    fn an_email_address_needs_a_local_part_and_a_dotted_domain() {
        for good in ["ops@example.com", "a.b+c@sub.example.org"] {
            assert!(looks_like_email(good), "{good}");
        }
        for bad in [
            "ops",
            "@example.com",
            "ops@example",
            "ops@@example.com",
            "ops@.example.com",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }
}
