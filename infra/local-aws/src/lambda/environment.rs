//! The environment a custom runtime gets: Lambda's defined runtime variables, then the function's own, with
//! Lambda's rules for the function's variables (names, reserved keys, 4 KB in all).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::bail;

use super::{FUNCTION_VERSION, Function, FunctionRuntime};

/// The variables Lambda sets and a function may not set itself.
pub(crate) const RESERVED: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// The most a function's variables may take, names and values together: 4 KB.
const MAX_ENVIRONMENT_BYTES: usize = 4 * 1024;

/// Refuses the function variables Lambda refuses.
pub(crate) fn validate(
    function: &str,
    environment: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    for name in environment.keys() {
        let mut chars = name.chars();
        let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        if !starts_with_letter
            || name.len() < 2
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            bail!(
                "function {function}: environment variable {name:?}: names start with a letter, have at least two \
                 characters and only letters, digits and underscores"
            );
        }
    }
    let reserved: Vec<&str> = environment
        .keys()
        .map(String::as_str)
        .filter(|name| RESERVED.contains(name))
        .collect();
    if !reserved.is_empty() {
        bail!(
            "function {function}: Lambda was unable to configure your environment variables because the environment \
             variables you have provided contains reserved keys that are currently not supported for modification. \
             Reserved keys used in this request: {}",
            reserved.join(", ")
        );
    }
    let size: usize = environment
        .iter()
        .map(|(name, value)| name.len() + value.len())
        .sum();
    if size > MAX_ENVIRONMENT_BYTES {
        bail!(
            "function {function}: the environment variables take {size} bytes; Lambda allows {MAX_ENVIRONMENT_BYTES}"
        );
    }
    Ok(())
}

/// An instance's environment: Lambda's variables for a custom runtime (`provided.al2023`), then the
/// function's own. The task root is the bootstrap's directory (on Lambda `/var/task`); a custom runtime is its
/// own runtime directory, so `LAMBDA_RUNTIME_DIR` names the same. An external runtime gets Lambda's paths.
/// There are no execution role credentials: the stand-in has no role for functions.
pub(crate) fn for_instance(function: &Function, runtime_api: &str) -> BTreeMap<String, String> {
    let settings = &function.config.settings;
    let (task_root, runtime_dir) = match &function.config.runtime {
        FunctionRuntime::Command(bootstrap) => {
            let directory = bootstrap
                .parent()
                .filter(|dir| !dir.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .display()
                .to_string();
            (directory.clone(), directory)
        }
        FunctionRuntime::External => ("/var/task".to_owned(), "/var/runtime".to_owned()),
    };
    let mut variables: BTreeMap<String, String> = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", settings.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", FUNCTION_VERSION.to_owned()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            settings.memory_size_mb.to_string(),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", settings.name),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", log_stream_name()),
        ("AWS_REGION", function.region.clone()),
        ("AWS_DEFAULT_REGION", function.region.clone()),
        ("_HANDLER", settings.handler.clone()),
        ("LAMBDA_TASK_ROOT", task_root.clone()),
        ("LAMBDA_RUNTIME_DIR", runtime_dir.clone()),
        ("TZ", ":UTC".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".to_owned()),
        (
            "LD_LIBRARY_PATH",
            format!(
                "/lib64:/usr/lib64:{runtime_dir}:{runtime_dir}/lib:{task_root}:{task_root}/lib:/opt/lib"
            ),
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    variables.extend(
        function
            .config
            .environment
            .iter()
            .map(|(name, value)| (name.clone(), value.clone())),
    );
    variables
}

/// A CloudWatch Logs stream name as Lambda makes them: `YYYY/MM/DD/[$LATEST]<32 hex digits>`.
fn log_stream_name() -> String {
    let today = time::OffsetDateTime::now_utc().date();
    format!(
        "{:04}/{:02}/{:02}/[{FUNCTION_VERSION}]{}",
        today.year(),
        u8::from(today.month()),
        today.day(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variables(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn reserved_names_are_refused_and_unreserved_ones_accepted() {
        let error = validate(
            "f",
            &variables(&[("AWS_REGION", "x"), ("DATABASE_URL", "y")]),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("Reserved keys used in this request: AWS_REGION"),
            "{error}"
        );
        validate("f", &variables(&[("TZ", "Europe/Paris"), ("PATH", "/bin")])).unwrap();
    }

    #[test]
    fn badly_named_or_oversized_variables_are_refused() {
        assert!(validate("f", &variables(&[("1X", "y")])).is_err());
        assert!(validate("f", &variables(&[("X", "y")])).is_err());
        assert!(validate("f", &variables(&[("A-B", "y")])).is_err());
        assert!(validate("f", &variables(&[("BIG", &"x".repeat(4 * 1024))])).is_err());
        validate("f", &variables(&[("OK_2", "y")])).unwrap();
    }

    #[test]
    fn log_streams_are_named_like_lambdas() {
        let name = log_stream_name();
        let (date, rest) = name.split_at(10);
        assert_eq!(date.len(), 10);
        assert_eq!(date.matches('/').count(), 2);
        let id = rest.strip_prefix("/[$LATEST]").unwrap();
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
