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
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
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

/// Runs the table at `cases` (the format of `tests/iam/cases.json`) through iam-simulate and returns its
/// results by case name; `None` when the simulator is not installed and not required.
fn simulate(cases: &Path) -> Option<SimulatorOutput> {
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
        return None;
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
        .arg(cases)
        .arg(&dir)
        .output()
        .expect("running node");
    assert!(
        output.status.success(),
        "simulate.mjs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

#[test]
fn decisions_agree_with_iam_simulate_except_where_it_departs_from_the_aws_documentation() {
    let Some(output) = simulate(&iam_tests().join("cases.json")) else {
        return;
    };
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

/// The S3 actions generated requests make, each with the resource it acts on (`object` or `bucket`).
const ACTIONS: [(&str, bool); 4] = [
    ("s3:GetObject", true),
    ("s3:PutObject", true),
    ("s3:DeleteObject", true),
    ("s3:ListBucket", false),
];

/// One of `choices`, uniformly.
fn pick<'a, T: ?Sized>(rng: &mut StdRng, choices: &[&'a T]) -> &'a T {
    choices[rng.gen_range(0..choices.len())]
}

/// A statement of an identity policy built from the constructs both evaluators are documented to share:
/// Allow or Deny; actions with `*` and `?` in any case; resources with globs and principal-tag variables;
/// at most one condition with the string operators (negated ones only against literals, where the
/// simulator's reading of an unresolved variable departs from the documentation), their `IfExists` forms, or
/// `Null`, on principal tags and `s3:prefix`.
fn statement(rng: &mut StdRng) -> Value {
    let effect = if rng.gen_bool(0.7) { "Allow" } else { "Deny" };
    let action_choices = [
        "s3:*",
        "s3:Get*",
        "s3:GetObject",
        "s3:getobject",
        "s3:PutObject",
        "s3:Put*",
        "s3:List*",
        "s3:ListBucket",
        "s3:Delete?bject",
        "s3:DeleteObject",
        "*",
    ];
    let actions: Vec<&str> = (0..rng.gen_range(1..=2))
        .map(|_| pick(rng, &action_choices))
        .collect();
    let resource_choices = [
        "arn:aws:s3:::b/*",
        "arn:aws:s3:::b",
        "arn:aws:s3:::b*",
        "arn:aws:s3:::b/${aws:PrincipalTag/tenant_id}/*",
        "arn:aws:s3:::b/${aws:PrincipalTag/tenant_id}/${aws:PrincipalTag/user_id}/uploads/*",
        "arn:aws:s3:::b/acme/*",
        "arn:aws:s3:::b/acme?/*",
        "arn:aws:s3:::b/*/u1/*",
        "arn:aws:s3:::B/*",
        "arn:aws:s3:::*",
        "*",
    ];
    let resource = pick(rng, &resource_choices);
    let mut statement = serde_json::json!({
        "Effect": effect,
        "Action": if actions.len() == 1 { Value::from(actions[0]) } else { Value::from(actions) },
        "Resource": resource,
    });
    if rng.gen_bool(0.5) {
        let key = pick(
            rng,
            &[
                "aws:PrincipalTag/tenant_id",
                "aws:PrincipalTag/user_id",
                "s3:prefix",
            ],
        );
        let literal = ["acme", "ACME", "globex", "u1", "acme/u1/uploads/", "acme2/"];
        let pattern = [
            "ac*",
            "acme?",
            "*",
            "acme/u1/uploads/*",
            "${aws:PrincipalTag/tenant_id}/*",
            "${aws:PrincipalTag/tenant_id}/${aws:PrincipalTag/user_id}/uploads/*",
        ];
        let (operator, value): (&str, &str) = match rng.gen_range(0..8) {
            0 => ("StringEquals", pick(rng, &literal)),
            1 => ("StringEqualsIfExists", pick(rng, &literal)),
            2 => ("StringEqualsIgnoreCase", pick(rng, &literal)),
            3 => ("StringNotEquals", pick(rng, &literal)),
            4 => ("StringLike", pick(rng, &pattern)),
            5 => ("StringLikeIfExists", pick(rng, &pattern)),
            6 => ("StringNotLike", pick(rng, &["ac*", "acme?", "globex"])),
            _ => ("Null", pick(rng, &["true", "false"])),
        };
        statement["Condition"] = serde_json::json!({ operator: { key: value } });
    }
    statement
}

/// A request of one of [`ACTIONS`] on bucket `b`, by a session whose principal tags may be missing, with
/// `s3:prefix` on a listing when it has one (a request carries only the keys that apply to its action).
fn generated_request(rng: &mut StdRng) -> Value {
    let (action, object) = ACTIONS[rng.gen_range(0..ACTIONS.len())];
    let mut context = serde_json::Map::new();
    if rng.gen_bool(0.85) {
        context.insert(
            "aws:PrincipalTag/tenant_id".into(),
            pick(rng, &["acme", "globex", "acme2"]).into(),
        );
    }
    if rng.gen_bool(0.85) {
        context.insert(
            "aws:PrincipalTag/user_id".into(),
            pick(rng, &["u1", "u2"]).into(),
        );
    }
    let resource = if object {
        let segments = ["acme", "acme2", "globex", "u1", "u2", "uploads", "f.txt"];
        let depth = rng.gen_range(1..=4);
        let key: Vec<&str> = (0..depth).map(|_| pick(rng, &segments)).collect();
        format!("arn:aws:s3:::b/{}", key.join("/"))
    } else {
        if rng.gen_bool(0.8) {
            context.insert(
                "s3:prefix".into(),
                pick(
                    rng,
                    &[
                        "acme/u1/uploads/",
                        "acme/u2/uploads/",
                        "acme2/",
                        "globex/u1/uploads/x",
                        "",
                    ],
                )
                .into(),
            );
        }
        "arn:aws:s3:::b".to_owned()
    };
    serde_json::json!({ "action": action, "resource": resource, "context": context })
}

/// How many generated cases the cross-check runs; `IAM_GENERATED_CASES` raises it for a longer run.
fn generated_cases() -> usize {
    std::env::var("IAM_GENERATED_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(500)
}

#[test]
fn generated_policies_and_requests_get_the_simulators_decision() {
    // A fixed seed: a failure names its case, and the same cases come back on every run.
    let mut rng = StdRng::seed_from_u64(0x1a3_5eed);
    let table = table();
    let cases: Vec<Value> = (0..generated_cases())
        .map(|number| {
            let policies: Vec<Value> = (0..rng.gen_range(1..=2))
                .map(|_| {
                    let statements: Vec<Value> = (0..rng.gen_range(1..=3))
                        .map(|_| statement(&mut rng))
                        .collect();
                    serde_json::json!({ "Version": "2012-10-17", "Statement": statements })
                })
                .collect();
            serde_json::json!({
                "name": format!("generated {number}"),
                "policies": policies,
                "request": generated_request(&mut rng),
            })
        })
        .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        serde_json::to_vec(&serde_json::json!({
            "account": "123456789012",
            "caller": "arn:aws:sts::123456789012:assumed-role/upload/alice",
            "parameters": {
                "bucket": table.parameters.bucket,
                "identity_pool_id": table.parameters.identity_pool_id,
            },
            "cases": cases,
        }))
        .unwrap(),
    )
    .unwrap();
    let Some(output) = simulate(file.path()) else {
        return;
    };

    let role = UploadRole::load(&infra(), &parameters(&table)).unwrap();
    let mut failures = Vec::new();
    let mut decisions = BTreeMap::<String, usize>::new();
    assert_eq!(output.results.len(), cases.len());
    for (case, result) in cases.iter().zip(&output.results) {
        let parsed: Case = serde_json::from_value(serde_json::json!({
            "name": case["name"],
            "policies": case["policies"],
            "request": case["request"],
            "expected": "",
        }))
        .unwrap();
        let set =
            policy_set(&parsed, &role).unwrap_or_else(|error| panic!("{}: {error}", parsed.name));
        let ours = set.evaluate(&request(&parsed)).outcome.to_string();
        *decisions.entry(ours.clone()).or_default() += 1;
        let theirs = result
            .decision
            .clone()
            .unwrap_or_else(|| format!("error {:?}", result.error));
        if ours != theirs {
            failures.push(format!(
                "{}: ours {ours}, the simulator's {theirs}:\n{}",
                parsed.name,
                serde_json::to_string_pretty(case).unwrap()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} generated cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("{} generated cases agree: {decisions:?}", cases.len());
    // The generator reaches every outcome, so agreement is not agreement on one answer.
    for outcome in ["Allowed", "ExplicitDeny", "ImplicitDeny"] {
        assert!(
            decisions.get(outcome).copied().unwrap_or(0) >= cases.len() / 20,
            "too few {outcome} among the generated cases: {decisions:?}"
        );
    }
}
