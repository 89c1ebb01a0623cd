//! A stand-in for AWS Lambda: functions defined by configuration, run by their own runtime (a `bootstrap`
//! executable, or a runtime someone else runs) through the Runtime API, and invoked like Lambda's `Invoke`.
//!
//! Lambda's execution model, as far as a caller or a runtime can observe it:
//!
//! - Every instance (Lambda's execution environment) has its own Runtime API, version `2018-06-01`, on a
//!   loopback port of its own (`AWS_LAMBDA_RUNTIME_API`), as every Lambda sandbox has one at `127.0.0.1:9001`.
//!   That is how the stand-in knows which instance a call comes from, with the documented paths unchanged.
//! - An instance handles one invocation at a time. An invocation goes to an instance that is free (warm);
//!   when none is, a new one starts (cold start: init, then the invocation) unless the function already has
//!   its maximum of instances (its reserved concurrency), in which case `Invoke` is throttled
//!   (`TooManyRequestsException`). An instance that finished an invocation takes the next one as soon as its
//!   runtime asks for it.
//! - The function timeout runs from the moment the invocation is handed to a warm instance (or, on a cold
//!   start, to the runtime's first `next`). An invocation still running at its deadline fails with Lambda's
//!   `Sandbox.Timedout` error and its instance is stopped (the process is killed), as Lambda resets the
//!   sandbox; the next invocation starts a fresh one.
//! - A runtime that exits fails the invocation it holds with `Runtime.ExitError`; one that posts
//!   `init/error` fails the invocation waiting for it with the error it posted and is stopped. The init phase
//!   may take at most [`INIT_TIMEOUT`].
//! - The time from an instance's start to its runtime's first `next` is its cold start, reported with the
//!   invocation ([`InvokeOutput::init_duration`]), in the log (`init_duration_ms`) and in [`Lambda::metrics`].
//!
//! Two kinds of runtime ([`FunctionRuntime`]): an executable the stand-in starts per instance with the
//! environment Lambda gives a custom runtime (cleared, then Lambda's variables, then the function's own), its
//! output forwarded to the log; or an external runtime, for which the stand-in starts nothing and announces
//! each new instance ([`Lambda::external_instances`]) so that whoever runs runtimes can start one against it.
//!
//! Deliberate simplifications: one version (`$LATEST`), synchronous invocations only (`RequestResponse`,
//! plus `DryRun`), no execution role credentials in the environment, no extensions, no response streaming,
//! and no SigV4 on `Invoke` (the listener is meant for loopback).

mod environment;
mod instance;
mod invoke_api;
mod runtime_api;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use self::instance::{Assigned, Instance};

/// The largest payload `Invoke` accepts for a synchronous invocation: 6 MB.
pub const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;

/// The largest response (or error) a runtime may post for an invocation: 6 MB plus 100 bytes, the figure the
/// Runtime API reports in its `RequestEntityTooLarge` error.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024 + 100;

/// How long Lambda lets an execution environment initialise before its first invocation: 10 seconds.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest function timeout Lambda allows: 900 seconds.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(900);

/// The function version every invocation runs (the stand-in has no published versions).
pub const FUNCTION_VERSION: &str = "$LATEST";

/// A function's Lambda settings, without the code that runs it: what `local.json` says about a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSettings {
    /// The function name (letters, digits, `-` and `_`, at most 64 characters).
    pub name: String,
    /// The function timeout, whole seconds from 1 to 900.
    pub timeout: Duration,
    /// The memory size in MB (128 to 10240), reported to the runtime in `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    /// The stand-in does not limit the process's memory.
    pub memory_size_mb: u32,
    /// The most instances the function runs at once, and so the most invocations in flight: Lambda's
    /// reserved concurrency. An invocation beyond it is throttled.
    pub reserved_concurrency: u32,
    /// The handler setting, given to the runtime as `_HANDLER` (custom runtimes may ignore it).
    pub handler: String,
}

impl FunctionSettings {
    /// A function with Lambda's defaults (3 seconds, 128 MB, handler `bootstrap`) and at most ten instances.
    pub fn new(name: impl Into<String>) -> FunctionSettings {
        FunctionSettings {
            name: name.into(),
            timeout: Duration::from_secs(3),
            memory_size_mb: 128,
            reserved_concurrency: 10,
            handler: "bootstrap".to_owned(),
        }
    }

    /// The function these settings describe, run by `runtime` with the function's own environment variables.
    pub fn with_runtime(
        self,
        runtime: FunctionRuntime,
        environment: BTreeMap<String, String>,
    ) -> FunctionConfig {
        FunctionConfig {
            settings: self,
            runtime,
            environment,
        }
    }

    /// Refuses what Lambda's `CreateFunction` would refuse: a bad name, timeout or memory size, and a
    /// reserved concurrency of zero.
    pub fn validate(&self) -> anyhow::Result<()> {
        let name = &self.name;
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!(
                "function name {name:?}: Lambda names have 1 to 64 letters, digits, hyphens or underscores"
            );
        }
        if self.timeout < Duration::from_secs(1)
            || self.timeout > MAX_TIMEOUT
            || self.timeout.subsec_nanos() != 0
        {
            bail!(
                "function {name}: the timeout must be whole seconds from 1 to 900, not {:?}",
                self.timeout
            );
        }
        if !(128..=10240).contains(&self.memory_size_mb) {
            bail!(
                "function {name}: the memory size must be from 128 to 10240 MB, not {}",
                self.memory_size_mb
            );
        }
        if self.reserved_concurrency == 0 {
            bail!("function {name}: a reserved concurrency of 0 would throttle every invocation");
        }
        Ok(())
    }
}

/// How a function's instances get a runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionRuntime {
    /// The stand-in starts this executable (a custom runtime's `bootstrap`) for every instance, in its own
    /// directory, with Lambda's environment, and kills it when the instance stops.
    Command(PathBuf),
    /// Nothing is started: every new instance is announced on [`Lambda::external_instances`], and a runtime
    /// run by someone else (a test) polls that instance's Runtime API.
    External,
}

/// A function: its settings, its runtime and its environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConfig {
    /// Name, timeout, memory, concurrency, handler.
    pub settings: FunctionSettings,
    /// What runs the function's code.
    pub runtime: FunctionRuntime,
    /// The function's environment variables, given to the runtime after Lambda's own. Lambda's reserved
    /// names are refused; `LANG`, `PATH`, `LD_LIBRARY_PATH` and `TZ` may be overridden.
    pub environment: BTreeMap<String, String>,
}

impl FunctionConfig {
    /// A function with [`FunctionSettings::new`]'s defaults and an external runtime (tests).
    pub fn external(name: impl Into<String>) -> FunctionConfig {
        FunctionSettings::new(name).with_runtime(FunctionRuntime::External, BTreeMap::new())
    }

    /// Refuses what Lambda's `CreateFunction` would refuse: bad settings ([`FunctionSettings::validate`]),
    /// and environment variables with bad or reserved names or over 4 KB in all.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.settings.validate()?;
        environment::validate(&self.settings.name, &self.environment)
    }
}

/// One invocation: the payload and, as Lambda's `Invoke` takes them, the mobile SDK's client context and
/// Cognito identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// The event, a JSON document.
    pub payload: Bytes,
    /// The client context (JSON), handed to the runtime in `Lambda-Runtime-Client-Context`.
    pub client_context: Option<String>,
    /// The caller's Cognito identity, handed to the runtime in `Lambda-Runtime-Cognito-Identity`.
    pub cognito_identity: Option<CognitoIdentity>,
}

impl Invocation {
    /// An invocation with this payload and nothing else.
    pub fn new(payload: impl Into<Bytes>) -> Invocation {
        Invocation {
            payload: payload.into(),
            ..Invocation::default()
        }
    }
}

/// The Cognito identity an invocation was made with (the mobile SDK's identity pool credentials).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CognitoIdentity {
    /// The identity id, `<region>:<uuid>`.
    pub cognito_identity_id: String,
    /// The identity pool id, `<region>:<uuid>`.
    pub cognito_identity_pool_id: String,
}

/// What `Invoke` returns for an invocation that ran (or tried to): the function's answer or its error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeOutput {
    /// The invocation's request id (`Lambda-Runtime-Aws-Request-Id`, `x-amzn-RequestId`).
    pub request_id: String,
    /// The answer.
    pub result: InvokeResult,
    /// How long the instance took to initialise, when this invocation started it (a cold start).
    pub init_duration: Option<Duration>,
}

impl InvokeOutput {
    /// The response body, or `None` for a function error.
    pub fn response(&self) -> Option<&Bytes> {
        match &self.result {
            InvokeResult::Response(body) => Some(body),
            InvokeResult::FunctionError(_) => None,
        }
    }

    /// The function error, or `None` for a response.
    pub fn function_error(&self) -> Option<&FunctionError> {
        match &self.result {
            InvokeResult::Response(_) => None,
            InvokeResult::FunctionError(error) => Some(error),
        }
    }
}

/// The function's response, or its error (`Invoke` answers `X-Amz-Function-Error: Unhandled` with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeResult {
    /// The body the runtime posted to `invocation/<id>/response`.
    Response(Bytes),
    /// An error: posted by the runtime, or Lambda's own (timeout, exit, oversized response, ...).
    FunctionError(FunctionError),
}

/// A function error as `Invoke` returns it: the payload, and its `errorType` and `errorMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// `errorType` from the payload (`Sandbox.Timedout`, `Runtime.ExitError`, the function's own type...).
    pub error_type: String,
    /// `errorMessage` from the payload.
    pub error_message: String,
    /// The payload itself, as `Invoke` returns it.
    pub payload: Bytes,
}

impl FunctionError {
    fn from_payload(payload: Bytes) -> FunctionError {
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase")]
        struct Fields {
            #[serde(default)]
            error_type: Option<String>,
            #[serde(default)]
            error_message: Option<String>,
        }
        let fields: Fields = serde_json::from_slice(&payload).unwrap_or_default();
        FunctionError {
            error_type: fields.error_type.unwrap_or_default(),
            error_message: fields.error_message.unwrap_or_default(),
            payload,
        }
    }

    /// An error Lambda itself reports: `{"errorType", "errorMessage"}`.
    fn lambda(error_type: &str, error_message: String) -> FunctionError {
        let payload = serde_json::json!({ "errorType": error_type, "errorMessage": error_message });
        FunctionError {
            error_type: error_type.to_owned(),
            error_message,
            payload: Bytes::from(payload.to_string()),
        }
    }
}

/// Why `Invoke` refused an invocation (Lambda's invocation errors: the function never ran).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// `ResourceNotFoundException` (404): no function by that name.
    #[error("Function not found: {arn}")]
    FunctionNotFound {
        /// The ARN the name would have.
        arn: String,
    },
    /// `RequestTooLargeException` (413): the payload is over [`MAX_REQUEST_BYTES`].
    #[error(
        "Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction operation"
    )]
    RequestTooLarge,
    /// `InvalidRequestContentException` (400): the payload is not JSON.
    #[error("Could not parse request body into json: {reason}")]
    InvalidRequestContent {
        /// What the JSON parser said.
        reason: String,
    },
    /// `TooManyRequestsException` (429): the function already runs its reserved concurrency.
    #[error("Rate Exceeded.")]
    TooManyRequests,
    /// `ServiceException` (500): the stand-in is shutting down, or could not start an instance.
    #[error("{message}")]
    Service {
        /// What went wrong.
        message: String,
    },
}

impl InvokeError {
    fn stopped() -> InvokeError {
        InvokeError::Service {
            message: "The Lambda stand-in is shutting down".to_owned(),
        }
    }
}

/// A new instance of a function with an external runtime: where its Runtime API is and the environment a
/// runtime for it would get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalInstance {
    /// The function's name.
    pub function: String,
    /// The instance's number within the function (1, 2, ...).
    pub instance: u64,
    /// `host:port` of the instance's Runtime API, as in `AWS_LAMBDA_RUNTIME_API`.
    pub runtime_api: String,
    /// The environment Lambda would give the runtime (`AWS_LAMBDA_RUNTIME_API` included).
    pub environment: BTreeMap<String, String>,
}

/// What happened to one function since the stand-in started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionMetrics {
    /// Invocations that ran or tried to (throttled ones excluded).
    pub invocations: u64,
    /// Invocations refused with `TooManyRequestsException`.
    pub throttles: u64,
    /// Invocations that ended in a function error (timeouts included).
    pub function_errors: u64,
    /// Invocations that ran past the function timeout.
    pub timeouts: u64,
    /// Every cold start, in order.
    pub cold_starts: Vec<ColdStart>,
}

/// One cold start: an instance and the time from its start to its runtime's first `next`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColdStart {
    /// The instance's number within the function.
    pub instance: u64,
    /// Init duration.
    pub init_duration: Duration,
}

/// Where the stand-in runs: the region and account the function ARNs name, and the functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaSettings {
    /// The region (`AWS_REGION`, ARNs).
    pub region: String,
    /// The account id (ARNs).
    pub account_id: String,
    /// The functions.
    pub functions: Vec<FunctionConfig>,
}

/// The running Lambda stand-in. Dropping it stops every instance at once (their processes are killed and
/// reaped before `drop` returns) and fails the invocations in flight with `ServiceException`.
pub struct Lambda {
    service: Arc<Service>,
    endpoint: Option<String>,
    server: Option<JoinHandle<()>>,
}

impl Lambda {
    /// The stand-in for `settings`, without a listener of its own: serve [`Lambda::router`] somewhere to
    /// offer `Invoke` over HTTP.
    pub fn new(settings: LambdaSettings) -> anyhow::Result<Lambda> {
        let mut functions = BTreeMap::new();
        for config in settings.functions {
            config.validate()?;
            let name = config.settings.name.clone();
            let function = Function::new(config, &settings.region, &settings.account_id);
            if functions.insert(name.clone(), Arc::new(function)).is_some() {
                bail!("two functions are named {name}");
            }
        }
        Ok(Lambda {
            service: Arc::new(Service {
                region: settings.region,
                account_id: settings.account_id,
                functions,
                instances: Mutex::new(Vec::new()),
                stopped: AtomicBool::new(false),
            }),
            endpoint: None,
            server: None,
        })
    }

    /// The stand-in for `settings`, serving `Invoke` on `bind:port` (`0`: a free port) until dropped.
    pub async fn start(
        settings: LambdaSettings,
        bind: IpAddr,
        port: u16,
    ) -> anyhow::Result<Lambda> {
        let mut lambda = Lambda::new(settings)?;
        let listener = tokio::net::TcpListener::bind((bind, port))
            .await
            .with_context(|| format!("binding the Lambda listener on {bind}:{port}"))?;
        let address = listener
            .local_addr()
            .context("reading the Lambda listener's address")?;
        let router = lambda.router();
        lambda.endpoint = Some(format!("http://{address}"));
        lambda.server = Some(tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "Lambda listener failed");
            }
        }));
        Ok(lambda)
    }

    /// The `Invoke` API (`POST /2015-03-31/functions/<name>/invocations`), for the listener of
    /// `lambda.<region>.amazonaws.com`.
    pub fn router(&self) -> Router {
        invoke_api::router(self.service.clone())
    }

    /// The `Invoke` endpoint's base URL, when [`Lambda::start`] bound it.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The function's ARN, `arn:aws:lambda:<region>:<account>:function:<name>`, if it exists.
    pub fn function_arn(&self, function: &str) -> Option<String> {
        self.service
            .functions
            .get(function)
            .map(|function| function.arn.clone())
    }

    /// Invokes `function` synchronously with `payload` (JSON), as `Invoke` with `RequestResponse` does.
    pub async fn invoke(
        &self,
        function: &str,
        payload: impl Into<Bytes>,
    ) -> Result<InvokeOutput, InvokeError> {
        self.service
            .invoke(function, Invocation::new(payload))
            .await
    }

    /// Invokes `function` synchronously with a client context or Cognito identity.
    pub async fn invoke_with(
        &self,
        function: &str,
        invocation: Invocation,
    ) -> Result<InvokeOutput, InvokeError> {
        self.service.invoke(function, invocation).await
    }

    /// The announcements of `function`'s new instances, for a function with an external runtime. The
    /// receiver can be taken once; later calls (and functions that start their own runtime) get `None`.
    pub fn external_instances(
        &self,
        function: &str,
    ) -> Option<mpsc::UnboundedReceiver<ExternalInstance>> {
        let function = self.service.functions.get(function)?;
        if function.config.runtime != FunctionRuntime::External {
            return None;
        }
        lock(&function.announcements).take()
    }

    /// What happened to `function` so far, or `None` for an unknown function.
    pub fn metrics(&self, function: &str) -> Option<FunctionMetrics> {
        let function = self.service.functions.get(function)?;
        Some(lock(&function.metrics).clone())
    }

    /// The functions' names.
    pub fn functions(&self) -> Vec<String> {
        self.service.functions.keys().cloned().collect()
    }
}

impl Drop for Lambda {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.abort();
        }
        self.service.stop_everything();
    }
}

impl std::fmt::Debug for Lambda {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lambda")
            .field("endpoint", &self.endpoint)
            .field("functions", &self.functions())
            .finish_non_exhaustive()
    }
}

/// Locks a mutex, going on with the data if a panicking thread poisoned it: every critical section here
/// leaves the state consistent before anything that could panic.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The state shared by the `Invoke` API, the instances and their Runtime APIs.
pub(crate) struct Service {
    region: String,
    account_id: String,
    functions: BTreeMap<String, Arc<Function>>,
    /// Every instance ever started, stopped ones included: their Runtime APIs keep answering (with
    /// "container error") until the stand-in stops, and shutdown stops them all.
    instances: Mutex<Vec<Arc<Instance>>>,
    stopped: AtomicBool,
}

/// A function and its instances.
pub(crate) struct Function {
    config: FunctionConfig,
    arn: String,
    region: String,
    state: Mutex<FunctionState>,
    announce: mpsc::UnboundedSender<ExternalInstance>,
    announcements: Mutex<Option<mpsc::UnboundedReceiver<ExternalInstance>>>,
    metrics: Mutex<FunctionMetrics>,
}

#[derive(Default)]
struct FunctionState {
    /// The instances that have not stopped, the only ones that count against the reserved concurrency.
    live: Vec<Arc<Instance>>,
    /// The number the next instance gets.
    next_number: u64,
}

impl Function {
    fn new(config: FunctionConfig, region: &str, account_id: &str) -> Function {
        let arn = function_arn(region, account_id, &config.settings.name);
        let (announce, announcements) = mpsc::unbounded_channel();
        Function {
            config,
            arn,
            region: region.to_owned(),
            state: Mutex::new(FunctionState {
                live: Vec::new(),
                next_number: 1,
            }),
            announce,
            announcements: Mutex::new(Some(announcements)),
            metrics: Mutex::new(FunctionMetrics::default()),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.config.settings.name
    }

    /// Takes `instance` out of the live instances (it stopped).
    fn retire(&self, instance: &Instance) {
        lock(&self.state)
            .live
            .retain(|live| live.number() != instance.number());
    }

    fn record(&self, change: impl FnOnce(&mut FunctionMetrics)) {
        change(&mut lock(&self.metrics));
    }
}

/// `arn:aws:lambda:<region>:<account>:function:<name>`.
fn function_arn(region: &str, account_id: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{account_id}:function:{name}")
}

/// An invocation on its way through an instance.
pub(crate) struct Pending {
    request_id: String,
    invocation: Invocation,
    trace_id: String,
    /// When the function times out (set when the clock starts).
    deadline: Mutex<Option<SystemTime>>,
    /// The cold start this invocation waited for.
    init_duration: Mutex<Option<Duration>>,
    reply: Mutex<Option<oneshot::Sender<Outcome>>>,
}

/// How an invocation ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    Response(Bytes),
    Error(FunctionError),
    Stopped,
}

impl Pending {
    fn new(invocation: Invocation) -> (Arc<Pending>, oneshot::Receiver<Outcome>) {
        let (reply, receiver) = oneshot::channel();
        let pending = Pending {
            request_id: uuid::Uuid::new_v4().to_string(),
            invocation,
            trace_id: trace_id(),
            deadline: Mutex::new(None),
            init_duration: Mutex::new(None),
            reply: Mutex::new(Some(reply)),
        };
        (Arc::new(pending), receiver)
    }

    pub(crate) fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Ends the invocation with `outcome`, once: later calls change nothing. A caller that stopped waiting
    /// (Cognito gave up after its own timeout) does not matter: the instance is free all the same.
    fn finish(&self, outcome: Outcome) {
        if let Some(reply) = lock(&self.reply).take() {
            let _ = reply.send(outcome);
        }
    }
}

/// A fresh X-Ray trace header, `Root=1-<epoch hex>-<96 random bits>;Parent=<64 bits>;Sampled=0`.
fn trace_id() -> String {
    use rand::Rng;
    let seconds = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let mut rng = rand::thread_rng();
    format!(
        "Root=1-{seconds:08x}-{:024x};Parent={:016x};Sampled=0",
        rng.r#gen::<u128>() & ((1u128 << 96) - 1),
        rng.r#gen::<u64>()
    )
}

/// Where an invocation goes.
enum Placement {
    Warm,
    Cold(Arc<Instance>),
    Throttled,
}

impl Service {
    async fn invoke(
        self: &Arc<Self>,
        name: &str,
        invocation: Invocation,
    ) -> Result<InvokeOutput, InvokeError> {
        let Some(function) = self.functions.get(name).cloned() else {
            return Err(InvokeError::FunctionNotFound {
                arn: function_arn(&self.region, &self.account_id, name),
            });
        };
        if invocation.payload.len() > MAX_REQUEST_BYTES {
            return Err(InvokeError::RequestTooLarge);
        }
        if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&invocation.payload) {
            return Err(InvokeError::InvalidRequestContent {
                reason: error.to_string(),
            });
        }
        if self.stopped.load(Ordering::SeqCst) {
            return Err(InvokeError::stopped());
        }
        let (pending, outcome) = Pending::new(invocation);
        let placement = self.place(&function, &pending)?;
        match placement {
            Placement::Throttled => {
                function.record(|metrics| metrics.throttles += 1);
                tracing::info!(function = %function.name(), "invocation throttled: the function runs its reserved concurrency");
                return Err(InvokeError::TooManyRequests);
            }
            Placement::Warm => {}
            Placement::Cold(instance) => instance.launch(),
        }
        function.record(|metrics| metrics.invocations += 1);
        let outcome = outcome.await.unwrap_or(Outcome::Stopped);
        let init_duration = *lock(&pending.init_duration);
        let result = match outcome {
            Outcome::Response(body) => InvokeResult::Response(body),
            Outcome::Error(error) => {
                function.record(|metrics| metrics.function_errors += 1);
                InvokeResult::FunctionError(error)
            }
            Outcome::Stopped => return Err(InvokeError::stopped()),
        };
        Ok(InvokeOutput {
            request_id: pending.request_id.clone(),
            result,
            init_duration,
        })
    }

    /// Picks a free instance, or reserves a new one, or throttles: in one critical section, so that two
    /// invocations never take the same instance nor exceed the reserved concurrency together.
    fn place(
        self: &Arc<Self>,
        function: &Arc<Function>,
        pending: &Arc<Pending>,
    ) -> Result<Placement, InvokeError> {
        let mut state = lock(&function.state);
        for instance in &state.live {
            if instance.try_assign(pending) {
                return Ok(Placement::Warm);
            }
        }
        if state.live.len() >= function.config.settings.reserved_concurrency as usize {
            return Ok(Placement::Throttled);
        }
        let number = state.next_number;
        state.next_number += 1;
        let instance = Instance::new(function.clone(), number, Assigned::new(pending.clone()))
            .map_err(|error| {
                tracing::error!(%error, function = %function.name(), "cannot open an instance's Runtime API");
                InvokeError::Service {
                    message: format!("cannot open an instance's Runtime API: {error}"),
                }
            })?;
        // Checked under the lock that shutdown takes, so that no instance starts after shutdown looked.
        let mut every_instance = lock(&self.instances);
        if self.stopped.load(Ordering::SeqCst) {
            return Err(InvokeError::stopped());
        }
        every_instance.push(instance.clone());
        state.live.push(instance.clone());
        Ok(Placement::Cold(instance))
    }

    /// Stops every instance now: processes killed and reaped, invocations in flight failed.
    fn stop_everything(&self) {
        let instances = {
            let mut every_instance = lock(&self.instances);
            self.stopped.store(true, Ordering::SeqCst);
            std::mem::take(&mut *every_instance)
        };
        for instance in instances {
            instance.shut_down();
        }
        for function in self.functions.values() {
            lock(&function.state).live.clear();
        }
    }
}
