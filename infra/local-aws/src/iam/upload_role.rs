//! The upload role's policies, read from `infra/policies/` — the same files the AWS deployment uses — with the
//! deployment's bucket name and identity pool id put in place of their placeholders.
//!
//! Placeholders are `@@NAME@@`, never `${...}`, which is IAM's own policy-variable syntax (and that of
//! CloudFormation's `Fn::Sub` and Terraform templates). `@` is not allowed in bucket names, ARNs or identity
//! pool ids, so a placeholder left in a document could never match anything; it is refused all the same.

use std::path::{Path, PathBuf};

use crate::iam::evaluate::PolicySet;
use crate::iam::policy::{Policy, PolicyError, PolicyKind};

/// Replaced by the S3 bucket the browser uploads into.
pub const BUCKET_PLACEHOLDER: &str = "@@BUCKET_NAME@@";
/// Replaced by the bucket of recorded files, which only the backend writes.
pub const FILES_BUCKET_PLACEHOLDER: &str = "@@FILES_BUCKET_NAME@@";
/// Replaced by the identity pool id (`<region>:<uuid>`) whose authenticated identities may assume the role.
pub const IDENTITY_POOL_PLACEHOLDER: &str = "@@IDENTITY_POOL_ID@@";
/// The role's permission policy, under `infra/policies/`.
pub const PERMISSIONS_FILE: &str = "upload-role-permissions.json";
/// The role's trust policy, under `infra/policies/`.
pub const TRUST_FILE: &str = "upload-role-trust.json";
/// The backend's own permission policy on the bucket, under `infra/policies/`.
pub const BACKEND_PERMISSIONS_FILE: &str = "backend-storage-permissions.json";

/// The deployment-specific values the policy files leave open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyParameters {
    /// The upload bucket's name.
    pub bucket: String,
    /// The name of the bucket recorded files are copied into (only the backend's policy names it).
    pub files_bucket: String,
    /// The identity pool id, `<region>:<uuid>`.
    pub identity_pool_id: String,
}

/// The upload role: what its sessions may do, and who may assume it.
#[derive(Debug, Clone)]
pub struct UploadRole {
    /// The permission policy, as the one-policy set `upload-role-permissions`.
    pub permissions: PolicySet,
    /// The trust policy, as the one-policy set `upload-role-trust`.
    pub trust: PolicySet,
}

/// Why the role's policies could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A parameter is not a valid bucket name or identity pool id.
    #[error("{0}")]
    Parameter(String),
    /// A policy file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A policy file has a placeholder this code does not fill.
    #[error("{path} has the unknown placeholder {placeholder}")]
    UnknownPlaceholder {
        /// The file.
        path: PathBuf,
        /// The placeholder as written.
        placeholder: String,
    },
    /// A policy file, once filled in, is not a valid policy.
    #[error("{path}: {source}")]
    Policy {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: PolicyError,
    },
}

impl UploadRole {
    /// Reads both policies from `<infra>/policies/` with `parameters` substituted.
    pub fn load(infra: &Path, parameters: &PolicyParameters) -> Result<UploadRole, LoadError> {
        let permissions = load_policy(infra, PERMISSIONS_FILE, PolicyKind::Identity, parameters)?;
        let trust = load_policy(infra, TRUST_FILE, PolicyKind::Trust, parameters)?;
        Ok(UploadRole {
            permissions: PolicySet::new().with("upload-role-permissions", permissions),
            trust: PolicySet::new().with("upload-role-trust", trust),
        })
    }
}

/// The backend's own permission policy (`backend-storage-permissions.json`), as the one-policy set
/// `backend-storage-permissions`.
pub fn load_backend_permissions(
    infra: &Path,
    parameters: &PolicyParameters,
) -> Result<PolicySet, LoadError> {
    let policy = load_policy(
        infra,
        BACKEND_PERMISSIONS_FILE,
        PolicyKind::Identity,
        parameters,
    )?;
    Ok(PolicySet::new().with("backend-storage-permissions", policy))
}

/// Reads one policy file from `<infra>/policies/` and returns its text with `parameters` substituted, as a
/// deployment would upload it.
pub fn render_policy_file(
    infra: &Path,
    file: &str,
    parameters: &PolicyParameters,
) -> Result<String, LoadError> {
    check_bucket(&parameters.bucket)?;
    check_bucket(&parameters.files_bucket)?;
    if parameters.files_bucket == parameters.bucket {
        return Err(LoadError::Parameter(format!(
            "the files bucket must not be the upload bucket {:?}: browsers may write there",
            parameters.bucket
        )));
    }
    check_identity_pool_id(&parameters.identity_pool_id)?;
    let path = infra.join("policies").join(file);
    let template = std::fs::read_to_string(&path).map_err(|source| LoadError::Read {
        path: path.clone(),
        source,
    })?;
    let rendered = template
        .replace(BUCKET_PLACEHOLDER, &parameters.bucket)
        .replace(FILES_BUCKET_PLACEHOLDER, &parameters.files_bucket)
        .replace(IDENTITY_POOL_PLACEHOLDER, &parameters.identity_pool_id);
    if let Some(start) = rendered.find("@@") {
        let rest = &rendered[start..];
        let placeholder = match rest[2..].find("@@") {
            Some(end) => &rest[..end + 4],
            None => rest.split_whitespace().next().unwrap_or(rest),
        };
        return Err(LoadError::UnknownPlaceholder {
            path,
            placeholder: placeholder.to_owned(),
        });
    }
    Ok(rendered)
}

fn load_policy(
    infra: &Path,
    file: &str,
    kind: PolicyKind,
    parameters: &PolicyParameters,
) -> Result<Policy, LoadError> {
    let json = render_policy_file(infra, file, parameters)?;
    Policy::parse(&json, kind).map_err(|source| LoadError::Policy {
        path: infra.join("policies").join(file),
        source,
    })
}

/// S3's rules for bucket names: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with
/// a letter or digit, no two dots in a row. Anything else could change the meaning of the ARN it lands in.
fn check_bucket(bucket: &str) -> Result<(), LoadError> {
    let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| alphanumeric(c) || c == '.' || c == '-')
        && bucket.starts_with(alphanumeric)
        && bucket.ends_with(alphanumeric)
        && !bucket.contains("..");
    if valid {
        Ok(())
    } else {
        Err(LoadError::Parameter(format!(
            "{bucket:?} is not a valid S3 bucket name"
        )))
    }
}

/// Identity pool ids are `<region>:<uuid>`, e.g. `eu-west-1:0b6c4c0e-3f6a-4c5d-9a11-a11ce0000001`.
fn check_identity_pool_id(id: &str) -> Result<(), LoadError> {
    let valid = id.split_once(':').is_some_and(|(region, uuid)| {
        !region.is_empty()
            && region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && uuid.len() == 36
            && uuid::Uuid::try_parse(uuid).is_ok()
    });
    if valid {
        Ok(())
    } else {
        Err(LoadError::Parameter(format!(
            "{id:?} is not an identity pool id (<region>:<uuid>)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_the_s3_rules() {
        for bucket in ["saas-uploads", "a.b-c", "abc"] {
            assert!(check_bucket(bucket).is_ok(), "{bucket}");
        }
        for bucket in [
            "ab",
            "Uploads",
            "-uploads",
            "uploads-",
            "a..b",
            "a/b",
            "a*",
            "@@BUCKET_NAME@@",
        ] {
            assert!(check_bucket(bucket).is_err(), "{bucket}");
        }
    }

    #[test]
    fn identity_pool_ids_are_a_region_and_a_uuid() {
        assert!(check_identity_pool_id("eu-west-1:0b6c4c0e-3f6a-4c5d-9a11-a11ce0000001").is_ok());
        for id in [
            "0b6c4c0e-3f6a-4c5d-9a11-a11ce0000001",
            "eu-west-1:not-a-uuid",
            ":0b6c4c0e-3f6a-4c5d-9a11-a11ce0000001",
            "eu-west-1:0b6c4c0e3f6a4c5d9a11a11ce0000001",
        ] {
            assert!(check_identity_pool_id(id).is_err(), "{id}");
        }
    }
}
