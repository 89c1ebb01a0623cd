//! The IAM policy evaluator against its decision table (`tests/iam/cases.json`), the upload role's policy files,
//! and — when it is installed — the same table through npm `@cloud-copilot/iam-simulate`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use local_aws::iam::upload_role::{self, PERMISSIONS_FILE, TRUST_FILE};
use local_aws::iam::{
    ContextValue, LoadError, Outcome, Policy, PolicyKind, PolicyParameters, PolicySet, Principal,
    Request, UploadRole,
};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Table {
    parameters: Parameters,
    cases: Vec<Case>,
    malformed: Vec<Malformed>,
}

#[derive(Deserialize)]
struct Parameters {
    bucket: String,
    identity_pool_id: String,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    #[serde(default)]
    kind: Kind,
    policies: Vec<Value>,
    request: CaseRequest,
    /// `Allowed`, `ExplicitDeny` or `ImplicitDeny`, as [`Outcome`] displays them.
    expected: String,
    /// `[policy index, statement index]` of the statement that must decide.
    statement: Option<(usize, usize)>,
    simulator: Option<SimulatorNote>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Kind {
    #[default]
    Identity,
    Trust,
}

impl From<Kind> for PolicyKind {
    fn from(kind: Kind) -> PolicyKind {
        match kind {
            Kind::Identity => PolicyKind::Identity,
            Kind::Trust => PolicyKind::Trust,
        }
    }
}

#[derive(Deserialize)]
struct CaseRequest {
    action: String,
    resource: String,
    principal: Option<BTreeMap<String, String>>,
    #[serde(default)]
    context: BTreeMap<String, Value>,
}

/// A case where iam-simulate disagrees with the AWS documentation: what it decides, and why the table does not
/// follow it.
#[derive(Deserialize)]
struct SimulatorNote {
    decides: String,
    because: String,
}

#[derive(Deserialize)]
struct Malformed {
    name: String,
    #[serde(default)]
    kind: Kind,
    /// The document: a JSON value, or a string holding text that no JSON value can express (duplicate keys,
    /// broken syntax).
    policy: Value,
    /// A piece of the error message that tells the author what is wrong.
    error: String,
}

fn infra() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn iam_tests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("iam")
}

fn table() -> Table {
    let text = std::fs::read_to_string(iam_tests().join("cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn parameters(table: &Table) -> PolicyParameters {
    PolicyParameters {
        bucket: table.parameters.bucket.clone(),
        files_bucket: "saas-files-test".to_owned(),
        identity_pool_id: table.parameters.identity_pool_id.clone(),
    }
}

/// The policies of a case as one set, named `policy0`, `policy1`, ... in table order.
fn policy_set(case: &Case, role: &UploadRole) -> Result<PolicySet, String> {
    let mut set = PolicySet::new();
    for (index, policy) in case.policies.iter().enumerate() {
        let policy = match policy.get("file").and_then(Value::as_str) {
            Some(PERMISSIONS_FILE) => only_policy(&role.permissions),
            Some(TRUST_FILE) => only_policy(&role.trust),
            Some(other) => return Err(format!("unknown policy file {other}")),
            None => Policy::parse(&policy.to_string(), case.kind.into())
                .map_err(|error| error.to_string())?,
        };
        set = set.with(format!("policy{index}"), policy);
    }
    Ok(set)
}

fn only_policy(set: &PolicySet) -> Policy {
    let mut policies = set.policies();
    let (_, policy) = policies.next().unwrap();
    assert!(policies.next().is_none());
    policy.clone()
}

fn request(case: &Case) -> Request {
    let mut request = Request::new(&case.request.action, &case.request.resource);
    for (key, value) in &case.request.context {
        let value = match value {
            Value::String(single) => ContextValue::Single(single.clone()),
            Value::Array(values) => ContextValue::Multi(
                values
                    .iter()
                    .map(|value| value.as_str().unwrap().to_owned())
                    .collect(),
            ),
            other => panic!(
                "{}: context values are strings or arrays, not {other}",
                case.name
            ),
        };
        request.context.insert(key, value);
    }
    if let Some(principal) = &case.request.principal {
        let (kind, id) = principal.iter().next().unwrap();
        request.principal = Some(match kind.as_str() {
            "AWS" => Principal::Aws(id.clone()),
            "Federated" => Principal::Federated(id.clone()),
            "Service" => Principal::Service(id.clone()),
            "CanonicalUser" => Principal::CanonicalUser(id.clone()),
            other => panic!("{}: unknown principal type {other}", case.name),
        });
    }
    request
}

#[test]
fn every_case_of_the_decision_table_gets_the_documented_decision() {
    let table = table();
    let role = UploadRole::load(&infra(), &parameters(&table)).unwrap();
    let mut failures = Vec::new();
    for case in &table.cases {
        let set = match policy_set(case, &role) {
            Ok(set) => set,
            Err(error) => {
                failures.push(format!("{}: the policy does not load: {error}", case.name));
                continue;
            }
        };
        let decision = set.evaluate(&request(case));
        if decision.outcome.to_string() != case.expected {
            failures.push(format!(
                "{}: expected {}, got {decision}",
                case.name, case.expected
            ));
            continue;
        }
        if let Some((policy, index)) = case.statement {
            let decided = decision
                .statement
                .as_ref()
                .map(|statement| (statement.policy.clone(), statement.index));
            if decided != Some((format!("policy{policy}"), index)) {
                failures.push(format!(
                    "{}: expected policy{policy} Statement[{index}] to decide, got {decision}",
                    case.name
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        table.cases.len(),
        failures.join("\n")
    );
}

#[test]
fn implicit_denies_name_no_statement_and_other_decisions_name_theirs() {
    let table = table();
    let role = UploadRole::load(&infra(), &parameters(&table)).unwrap();
    for case in &table.cases {
        let decision = policy_set(case, &role).unwrap().evaluate(&request(case));
        assert_eq!(
            decision.statement.is_none(),
            decision.outcome == Outcome::ImplicitDeny,
            "{}: {decision}",
            case.name
        );
    }
}

#[test]
fn malformed_policies_are_refused_with_a_message_naming_the_problem() {
    let table = table();
    let mut failures = Vec::new();
    for case in &table.malformed {
        let text = match &case.policy {
            Value::String(text) => text.clone(),
            document => document.to_string(),
        };
        match Policy::parse(&text, case.kind.into()) {
            Ok(_) => failures.push(format!("{}: accepted", case.name)),
            Err(error) if !error.to_string().contains(&case.error) => failures.push(format!(
                "{}: the message {:?} does not say {:?}",
                case.name,
                error.to_string(),
                case.error
            )),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_upload_role_files_are_rendered_with_the_bucket_and_the_identity_pool() {
    let table = table();
    let parameters = parameters(&table);
    let permissions =
        upload_role::render_policy_file(&infra(), PERMISSIONS_FILE, &parameters).unwrap();
    assert!(permissions.contains(
        "arn:aws:s3:::saas-uploads-test/${aws:PrincipalTag/tenant_id}/${aws:PrincipalTag/user_id}/uploads/*"
    ));
    assert!(!permissions.contains("@@"));
    let trust = upload_role::render_policy_file(&infra(), TRUST_FILE, &parameters).unwrap();
    let trust: Value = serde_json::from_str(&trust).unwrap();
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"]["cognito-identity.amazonaws.com:aud"],
        table.parameters.identity_pool_id.as_str()
    );
}

#[test]
fn a_bucket_name_that_would_widen_the_policy_is_refused() {
    let table = table();
    for bucket in ["*", "uploads/*", "up?oads", "Uploads", "${aws:username}"] {
        let parameters = PolicyParameters {
            bucket: bucket.to_owned(),
            ..parameters(&table)
        };
        let error = UploadRole::load(&infra(), &parameters).unwrap_err();
        assert!(
            matches!(error, LoadError::Parameter(_)),
            "{bucket}: {error}"
        );
    }
    let parameters = PolicyParameters {
        identity_pool_id: "*".to_owned(),
        ..parameters(&table)
    };
    assert!(matches!(
        UploadRole::load(&infra(), &parameters),
        Err(LoadError::Parameter(_))
    ));
}

#[test]
fn a_placeholder_the_loader_does_not_know_is_refused() {
    let infra = std::env::temp_dir().join(format!("iam-placeholder-{}", std::process::id()));
    let policies = infra.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    for file in [PERMISSIONS_FILE, TRUST_FILE] {
        let text = std::fs::read_to_string(self::infra().join("policies").join(file))
            .unwrap()
            .replace("@@BUCKET_NAME@@", "@@BUCKET@@");
        std::fs::write(policies.join(file), text).unwrap();
    }
    let result = UploadRole::load(&infra, &parameters(&table()));
    std::fs::remove_dir_all(&infra).unwrap();
    match result {
        Err(LoadError::UnknownPlaceholder { placeholder, .. }) => {
            assert_eq!(placeholder, "@@BUCKET@@")
        }
        other => panic!("expected an unknown placeholder, got {other:?}"),
    }
}

/// Where `xtask` installs the simulator: `$SAAS_REFERENCE_CACHE/tools/iam-simulate`, by default under
/// `~/.cache/saas-reference`.
fn simulator_dir() -> Option<PathBuf> {
    let cache = match std::env::var_os("SAAS_REFERENCE_CACHE") {
        Some(cache) => PathBuf::from(cache),
        None => PathBuf::from(std::env::var_os("HOME")?)
            .join(".cache")
            .join("saas-reference"),
    };
    Some(cache.join("tools").join("iam-simulate"))
}

#[derive(Deserialize)]
struct SimulatorOutput {
    results: Vec<SimulatorResult>,
}

#[derive(Deserialize)]
struct SimulatorResult {
    name: String,
    decision: Option<String>,
    error: Option<String>,
    #[serde(default, rename = "ignoredContextKeys")]
    ignored_context_keys: Vec<String>,
}

#[test]
fn decisions_agree_with_iam_simulate_except_where_it_departs_from_the_aws_documentation() {
    let installed = simulator_dir()
        .map(|dir| {
            (
                dir.join("node_modules/@cloud-copilot/iam-simulate/package.json"),
                dir,
            )
        })
        .filter(|(manifest, _)| manifest.is_file());
    let Some((manifest, dir)) = installed else {
        // The simulator is a development tool outside the repository; `cargo xtask test` installs it and sets
        // IAM_SIMULATE_REQUIRED so that a missing install fails there instead of skipping.
        assert!(
            std::env::var_os("IAM_SIMULATE_REQUIRED").is_none(),
            "iam-simulate is not installed under $SAAS_REFERENCE_CACHE/tools/iam-simulate"
        );
        eprintln!("iam-simulate is not installed; the cross-check was skipped");
        return;
    };

    let pinned: Value =
        serde_json::from_str(&std::fs::read_to_string(iam_tests().join("package.json")).unwrap())
            .unwrap();
    let installed: Value =
        serde_json::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    assert_eq!(
        installed["version"], pinned["dependencies"]["@cloud-copilot/iam-simulate"],
        "the installed iam-simulate is not the pinned version; reinstall it from tests/iam/package-lock.json"
    );

    let output = Command::new("node")
        .arg(iam_tests().join("simulate.mjs"))
        .arg(iam_tests().join("cases.json"))
        .arg(&dir)
        .output()
        .expect("running node");
    assert!(
        output.status.success(),
        "simulate.mjs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output: SimulatorOutput = serde_json::from_slice(&output.stdout).unwrap();
    let simulated: BTreeMap<&str, &SimulatorResult> = output
        .results
        .iter()
        .map(|result| (result.name.as_str(), result))
        .collect();

    let table = table();
    let mut failures = Vec::new();
    for case in &table.cases {
        let Some(result) = simulated.get(case.name.as_str()) else {
            failures.push(format!("{}: the simulator gave no result", case.name));
            continue;
        };
        if let Some(error) = &result.error {
            failures.push(format!(
                "{}: the simulator refused the case: {error}",
                case.name
            ));
            continue;
        }
        let expected = case.simulator.as_ref().map_or(&case.expected, |note| {
            assert!(!note.because.is_empty(), "{}: say why", case.name);
            &note.decides
        });
        let decision = result.decision.as_deref().unwrap_or_default();
        if decision != expected {
            let marked = if case.simulator.is_some() {
                " (a recorded disagreement changed: check the AWS documentation again)"
            } else {
                ""
            };
            failures.push(format!(
                "{}: the simulator decides {decision}, the table expects {}{marked}; context keys it ignored: {:?}",
                case.name, expected, result.ignored_context_keys
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from iam-simulate:\n{}",
        failures.len(),
        table.cases.len(),
        failures.join("\n")
    );
}
