//! One instance of a function (Lambda's execution environment): its Runtime API listener, its runtime's
//! state as the Runtime API sees it, the invocation it holds, and, for a command runtime, its process.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdout, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use super::runtime_api::{self, Refusal};
use super::{
    ColdStart, ExternalInstance, Function, FunctionError, FunctionRuntime, INIT_TIMEOUT, Outcome,
    Pending, environment, lock,
};

/// How often a command runtime's process is checked for an exit.
const EXIT_POLL: Duration = Duration::from_millis(50);

/// How long a runtime that posted `init/error` may go on (flushing its output) before it is stopped.
const INIT_ERROR_GRACE: Duration = Duration::from_millis(500);

/// The runtime's state, named as the Runtime API names them in its `InvalidStateTransition` errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuntimeState {
    /// Started, initialising: it has not asked for an invocation yet.
    Started,
    /// Waiting in `next`.
    Ready,
    /// Holding an invocation.
    Running,
    /// Answered its invocation and has not asked for the next one yet.
    ResponseSent,
    /// Reported an initialisation error.
    InitError,
    /// Stopped: killed, exited, timed out or shut down.
    Stopped,
}

impl RuntimeState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            RuntimeState::Started => "Started",
            RuntimeState::Ready => "Ready",
            RuntimeState::Running => "Running",
            RuntimeState::ResponseSent => "RuntimeResponseSentState",
            RuntimeState::InitError => "InitError",
            RuntimeState::Stopped => "Stopped",
        }
    }
}

/// The invocation an instance holds, handed to its runtime or waiting for the runtime's next `next`.
pub(crate) struct Assigned {
    pending: Arc<Pending>,
    delivered: bool,
    /// The function-timeout timer, once the clock runs.
    timer: Option<AbortHandle>,
}

impl Assigned {
    pub(crate) fn new(pending: Arc<Pending>) -> Assigned {
        Assigned {
            pending,
            delivered: false,
            timer: None,
        }
    }
}

struct InstanceState {
    runtime: RuntimeState,
    assigned: Option<Assigned>,
    /// The runtime's `next` call waiting for an invocation.
    poller: Option<oneshot::Sender<Arc<Pending>>>,
    /// The request id of the invocation handed out last: the only one the runtime may still post about.
    current: Option<String>,
}

impl InstanceState {
    /// Whether the runtime may post `to` for `request_id` now: only for the invocation it holds, while it runs.
    fn may_complete(&self, request_id: &str, to: &'static str) -> Result<(), Refusal> {
        if self.runtime == RuntimeState::Stopped {
            return Err(Refusal::ContainerError);
        }
        if self.current.as_deref() != Some(request_id) {
            return Err(Refusal::InvalidRequestId);
        }
        if self.runtime != RuntimeState::Running {
            return Err(Refusal::Transition {
                from: self.runtime,
                to,
            });
        }
        Ok(())
    }
}

/// What a `next` call gets.
pub(crate) enum Poll {
    /// An invocation, at once.
    Deliver(Arc<Pending>),
    /// Nothing yet: wait on this.
    Wait(oneshot::Receiver<Arc<Pending>>),
    /// A refusal.
    Refuse(Refusal),
}

/// A function instance.
pub(crate) struct Instance {
    function: Arc<Function>,
    number: u64,
    runtime_api: String,
    environment: BTreeMap<String, String>,
    started: Instant,
    /// The Runtime API's socket until [`Instance::launch`] serves it.
    listener: Mutex<Option<TcpListener>>,
    state: Mutex<InstanceState>,
    process: Mutex<Option<Arc<Process>>>,
    tasks: Mutex<Vec<AbortHandle>>,
}

impl Instance {
    /// A new instance holding `assigned`, with its Runtime API socket bound on the loopback interface.
    pub(crate) fn new(
        function: Arc<Function>,
        number: u64,
        assigned: Assigned,
    ) -> std::io::Result<Arc<Instance>> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let runtime_api = listener.local_addr()?.to_string();
        let environment = environment::for_instance(&function, &runtime_api);
        Ok(Arc::new(Instance {
            function,
            number,
            runtime_api,
            environment,
            started: Instant::now(),
            listener: Mutex::new(Some(listener)),
            state: Mutex::new(InstanceState {
                runtime: RuntimeState::Started,
                assigned: Some(assigned),
                poller: None,
                current: None,
            }),
            process: Mutex::new(None),
            tasks: Mutex::new(Vec::new()),
        }))
    }

    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    pub(crate) fn function(&self) -> &Function {
        &self.function
    }

    fn keep_task(&self, task: AbortHandle) {
        lock(&self.tasks).push(task);
    }

    /// Serves the Runtime API and starts the runtime: the bootstrap process, or an announcement for an
    /// external runtime. Synchronous, so that an invoker that stops waiting cannot leave it half done.
    pub(crate) fn launch(self: &Arc<Self>) {
        if let Some(listener) = lock(&self.listener).take() {
            match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => {
                    let router = runtime_api::router(self.clone());
                    let server = tokio::spawn(async move {
                        if let Err(error) = axum::serve(listener, router).await {
                            tracing::error!(%error, "a Runtime API listener failed");
                        }
                    });
                    self.keep_task(server.abort_handle());
                }
                Err(error) => {
                    tracing::error!(%error, "cannot serve an instance's Runtime API");
                }
            }
        }
        let instance = self.clone();
        let init_timer = tokio::spawn(async move {
            tokio::time::sleep(INIT_TIMEOUT).await;
            instance.init_timed_out();
        });
        self.keep_task(init_timer.abort_handle());
        let name = self.function.name().to_owned();
        tracing::info!(function = %name, instance = self.number, runtime_api = %self.runtime_api,
            "starting an instance (cold start)");
        match &self.function.config.runtime {
            FunctionRuntime::Command(bootstrap) => self.start_process(bootstrap),
            FunctionRuntime::External => {
                let announcement = ExternalInstance {
                    function: name,
                    instance: self.number,
                    runtime_api: self.runtime_api.clone(),
                    environment: self.environment.clone(),
                };
                if self.function.announce.send(announcement).is_err() {
                    tracing::warn!(function = %self.function.name(), instance = self.number,
                        "no one runs this external runtime's instances: the invocation will wait for its init timeout");
                }
            }
        }
    }

    fn start_process(self: &Arc<Self>, bootstrap: &Path) {
        match Process::spawn(bootstrap, &self.environment) {
            Ok((process, stdout, stderr)) => {
                let process = Arc::new(process);
                tracing::info!(function = %self.function.name(), instance = self.number, pid = process.pid,
                    bootstrap = %bootstrap.display(), "runtime process started");
                *lock(&self.process) = Some(process.clone());
                forward_output(stdout, self.function.name(), self.number, "stdout");
                forward_output(stderr, self.function.name(), self.number, "stderr");
                let instance = self.clone();
                let watcher = tokio::spawn(async move {
                    loop {
                        match process.try_wait() {
                            Ok(Some(status)) => {
                                instance.exited(status);
                                break;
                            }
                            Ok(None) => tokio::time::sleep(EXIT_POLL).await,
                            Err(error) => {
                                tracing::error!(%error, "cannot watch a runtime process");
                                break;
                            }
                        }
                    }
                });
                self.keep_task(watcher.abort_handle());
            }
            Err(error) => {
                tracing::error!(%error, function = %self.function.name(), bootstrap = %bootstrap.display(),
                    "cannot start the runtime");
                let reason = if error.kind() == std::io::ErrorKind::NotFound {
                    format!(
                        "Couldn't find valid bootstrap(s): [{}]",
                        bootstrap.display()
                    )
                } else {
                    format!("fork/exec {}: {error}", bootstrap.display())
                };
                self.stop_with(|pending| {
                    Outcome::Error(FunctionError::lambda(
                        "Runtime.InvalidEntrypoint",
                        format!("RequestId: {} Error: {reason}", pending.request_id()),
                    ))
                });
            }
        }
    }

    /// Gives this instance `pending` if it is free: its runtime waits in `next` (it gets the invocation at
    /// once) or has just answered (it gets it on its next `next`). The function timeout starts now.
    pub(crate) fn try_assign(self: &Arc<Self>, pending: &Arc<Pending>) -> bool {
        let mut state = lock(&self.state);
        if state.assigned.is_some()
            || !matches!(
                state.runtime,
                RuntimeState::Ready | RuntimeState::ResponseSent
            )
        {
            return false;
        }
        let mut assigned = Assigned::new(pending.clone());
        assigned.timer = Some(self.start_clock(pending));
        if let Some(poller) = state.poller.take()
            && poller.send(pending.clone()).is_ok()
        {
            assigned.delivered = true;
            state.runtime = RuntimeState::Running;
            state.current = Some(pending.request_id().to_owned());
        }
        state.assigned = Some(assigned);
        tracing::debug!(function = %self.function.name(), instance = self.number,
            request_id = %pending.request_id(), "invocation on a warm instance");
        true
    }

    /// Starts the function timeout for `pending`: its deadline is set, and at the deadline the invocation
    /// fails and the instance stops.
    fn start_clock(self: &Arc<Self>, pending: &Arc<Pending>) -> AbortHandle {
        let timeout = self.function.config.settings.timeout;
        *lock(&pending.deadline) = Some(SystemTime::now() + timeout);
        let instance = self.clone();
        let request_id = pending.request_id().to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            instance.timed_out(&request_id);
        })
        .abort_handle()
    }

    /// The runtime calls `next`.
    pub(crate) fn poll(self: &Arc<Self>) -> Poll {
        let mut state = lock(&self.state);
        match state.runtime {
            RuntimeState::Stopped => return Poll::Refuse(Refusal::ContainerError),
            RuntimeState::InitError | RuntimeState::Running => {
                return Poll::Refuse(Refusal::Transition {
                    from: state.runtime,
                    to: "Ready",
                });
            }
            RuntimeState::Started => {
                let init_duration = self.started.elapsed();
                if let Some(assigned) = &state.assigned {
                    *lock(&assigned.pending.init_duration) = Some(init_duration);
                }
                self.function.record(|metrics| {
                    metrics.cold_starts.push(ColdStart {
                        instance: self.number,
                        init_duration,
                    });
                });
                tracing::info!(function = %self.function.name(), instance = self.number,
                    init_duration_ms = init_duration.as_secs_f64() * 1000.0, "instance initialised");
            }
            RuntimeState::Ready | RuntimeState::ResponseSent => {}
        }
        state.runtime = RuntimeState::Ready;
        let undelivered = state
            .assigned
            .as_ref()
            .is_some_and(|assigned| !assigned.delivered);
        if undelivered {
            let clock_running = state
                .assigned
                .as_ref()
                .is_some_and(|assigned| assigned.timer.is_some());
            let pending = state
                .assigned
                .as_ref()
                .map(|assigned| assigned.pending.clone());
            if let Some(pending) = pending {
                let timer = (!clock_running).then(|| self.start_clock(&pending));
                if let Some(assigned) = state.assigned.as_mut() {
                    assigned.delivered = true;
                    if timer.is_some() {
                        assigned.timer = timer;
                    }
                }
                state.runtime = RuntimeState::Running;
                state.current = Some(pending.request_id().to_owned());
                return Poll::Deliver(pending);
            }
        }
        let (poller, waiting) = oneshot::channel();
        state.poller = Some(poller);
        Poll::Wait(waiting)
    }

    /// Whether the runtime may post `to` (`InvocationResponse`, `InvocationErrorResponse`) for `request_id`
    /// now: only for the invocation it holds.
    pub(crate) fn check_completion(
        &self,
        request_id: &str,
        to: &'static str,
    ) -> Result<(), Refusal> {
        lock(&self.state).may_complete(request_id, to)
    }

    /// Ends the invocation `request_id` with `outcome` (the runtime posted its response or error).
    pub(crate) fn complete(
        &self,
        request_id: &str,
        to: &'static str,
        outcome: Outcome,
    ) -> Result<(), Refusal> {
        let assigned = {
            let mut state = lock(&self.state);
            // Checked again: the invocation may have timed out while its body was read.
            state.may_complete(request_id, to)?;
            state.runtime = RuntimeState::ResponseSent;
            state.assigned.take()
        };
        if let Some(assigned) = assigned {
            if let Some(timer) = assigned.timer {
                timer.abort();
            }
            assigned.pending.finish(outcome);
        }
        Ok(())
    }

    /// The runtime posts `init/error`: the invocation waiting for this instance fails with that error, and
    /// the instance stops (Lambda resets the environment).
    pub(crate) fn init_error(self: &Arc<Self>, error: FunctionError) -> Result<(), Refusal> {
        let assigned = {
            let mut state = lock(&self.state);
            match state.runtime {
                RuntimeState::Stopped => return Err(Refusal::ContainerError),
                RuntimeState::Started => {}
                other => {
                    return Err(Refusal::Transition {
                        from: other,
                        to: "InitError",
                    });
                }
            }
            state.runtime = RuntimeState::InitError;
            state.assigned.take()
        };
        tracing::warn!(function = %self.function.name(), instance = self.number,
            error_type = %error.error_type, error_message = %error.error_message, "runtime initialisation failed");
        self.function.retire(self);
        if let Some(assigned) = assigned {
            if let Some(timer) = assigned.timer {
                timer.abort();
            }
            assigned.pending.finish(Outcome::Error(error));
        }
        let instance = self.clone();
        let stop = tokio::spawn(async move {
            tokio::time::sleep(INIT_ERROR_GRACE).await;
            instance.stop_with(|_| Outcome::Stopped);
        });
        self.keep_task(stop.abort_handle());
        Ok(())
    }

    /// The function timeout of `request_id` passed.
    fn timed_out(&self, request_id: &str) {
        let holds_it = lock(&self.state)
            .assigned
            .as_ref()
            .is_some_and(|assigned| assigned.pending.request_id() == request_id);
        if !holds_it {
            return;
        }
        let timeout = self.function.config.settings.timeout;
        tracing::warn!(function = %self.function.name(), instance = self.number, %request_id,
            timeout_s = timeout.as_secs(), "invocation timed out: stopping the instance");
        self.function.record(|metrics| metrics.timeouts += 1);
        self.stop_with(|pending| timeout_error(pending, timeout));
    }

    /// The init phase took longer than Lambda allows.
    fn init_timed_out(&self) {
        if lock(&self.state).runtime != RuntimeState::Started {
            return;
        }
        tracing::warn!(function = %self.function.name(), instance = self.number,
            "the runtime did not ask for an invocation within the init timeout: stopping the instance");
        self.function.record(|metrics| metrics.timeouts += 1);
        self.stop_with(|pending| timeout_error(pending, INIT_TIMEOUT));
    }

    /// The runtime process ended on its own.
    fn exited(&self, status: ExitStatus) {
        let description = exit_description(status);
        let was_running = {
            let state = lock(&self.state);
            if state.runtime == RuntimeState::Stopped {
                return;
            }
            state.runtime != RuntimeState::InitError
        };
        if was_running {
            tracing::warn!(function = %self.function.name(), instance = self.number, %description,
                "runtime process exited");
        }
        self.stop_with(|pending| {
            Outcome::Error(FunctionError::lambda(
                "Runtime.ExitError",
                format!("RequestId: {} Error: {description}", pending.request_id()),
            ))
        });
    }

    /// Stops the instance: the invocation it holds ends with `outcome`, its runtime gets "container error"
    /// from now on, its process is killed, and it no longer counts against the reserved concurrency.
    fn stop_with(&self, outcome: impl FnOnce(&Pending) -> Outcome) {
        // The process goes first: a runtime still waiting in `next` must not read the "container error"
        // answered below (a sandbox that Lambda stops never answers its runtime at all).
        if let Some(process) = lock(&self.process).take() {
            process.kill();
        }
        let assigned = {
            let mut state = lock(&self.state);
            state.runtime = RuntimeState::Stopped;
            state.poller = None;
            state.assigned.take()
        };
        if let Some(assigned) = assigned {
            if let Some(timer) = assigned.timer {
                timer.abort();
            }
            assigned.pending.finish(outcome(&assigned.pending));
        }
        self.function.retire(self);
    }

    /// Stops the instance and everything it runs (the stand-in is shutting down).
    pub(crate) fn shut_down(&self) {
        self.stop_with(|_| Outcome::Stopped);
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
    }
}

/// Lambda's timeout error for `pending`.
fn timeout_error(pending: &Pending, timeout: Duration) -> Outcome {
    Outcome::Error(FunctionError::lambda(
        "Sandbox.Timedout",
        format!(
            "RequestId: {} Error: Task timed out after {:.2} seconds",
            pending.request_id(),
            timeout.as_secs_f64()
        ),
    ))
}

/// How Lambda words a runtime's exit: `Runtime exited with error: exit status 3`, `... signal: killed`.
fn exit_description(status: ExitStatus) -> String {
    match status.code() {
        Some(0) => "Runtime exited without providing a reason".to_owned(),
        Some(code) => format!("Runtime exited with error: exit status {code}"),
        None => format!("Runtime exited with error: signal: {}", signal_name(status)),
    }
}

#[cfg(unix)]
fn signal_name(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(1) => "hangup".to_owned(),
        Some(2) => "interrupt".to_owned(),
        Some(3) => "quit".to_owned(),
        Some(4) => "illegal instruction".to_owned(),
        Some(6) => "aborted".to_owned(),
        Some(7) => "bus error".to_owned(),
        Some(8) => "floating point exception".to_owned(),
        Some(9) => "killed".to_owned(),
        Some(11) => "segmentation fault".to_owned(),
        Some(13) => "broken pipe".to_owned(),
        Some(15) => "terminated".to_owned(),
        Some(other) => other.to_string(),
        None => "unknown".to_owned(),
    }
}

#[cfg(not(unix))]
fn signal_name(_status: ExitStatus) -> String {
    "unknown".to_owned()
}

/// A runtime process. Dropping it (or [`Process::kill`]) kills and reaps it.
pub(crate) struct Process {
    pid: u32,
    child: Mutex<Child>,
}

impl Process {
    /// Starts `bootstrap` in its own directory (the task root) with exactly `environment`, its output piped.
    fn spawn(
        bootstrap: &Path,
        environment: &BTreeMap<String, String>,
    ) -> std::io::Result<(Process, ChildStdout, ChildStderr)> {
        let mut command = std::process::Command::new(bootstrap);
        command
            .env_clear()
            .envs(environment)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(task_root) = bootstrap.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            command.current_dir(task_root);
        }
        let mut child = command.spawn()?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other("the runtime's output was not piped"));
        };
        let process = Process {
            pid: child.id(),
            child: Mutex::new(child),
        };
        Ok((process, stdout, stderr))
    }

    fn try_wait(&self) -> std::io::Result<Option<ExitStatus>> {
        lock(&self.child).try_wait()
    }

    /// Kills the process (SIGKILL) unless it already ended, and reaps it.
    fn kill(&self) {
        let mut child = lock(&self.child);
        if let Ok(None) = child.try_wait() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Forwards a runtime's output to the log line by line, prefixed with the function and the instance (Lambda
/// sends it to CloudWatch Logs). A thread per stream: it ends when the process closes the stream. It logs
/// through the dispatcher that was current when the instance started.
fn forward_output(
    stream: impl Read + Send + 'static,
    function: &str,
    instance: u64,
    which: &'static str,
) {
    let dispatch = tracing::dispatcher::get_default(|dispatch| dispatch.clone());
    let function = function.to_owned();
    let spawned = std::thread::Builder::new()
        .name(format!("{function}[{instance}] {which}"))
        .spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                let mut reader = BufReader::new(stream);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    match reader.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let text = String::from_utf8_lossy(&line);
                            let text = text.trim_end_matches(['\n', '\r']);
                            tracing::info!(target: "local_aws::lambda::runtime", function = %function,
                                instance, stream = which, "{function}[{instance}] {text}");
                        }
                    }
                }
            });
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot forward a runtime's output");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn exits_are_worded_like_lambdas() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            exit_description(ExitStatus::from_raw(3 << 8)),
            "Runtime exited with error: exit status 3"
        );
        assert_eq!(
            exit_description(ExitStatus::from_raw(0)),
            "Runtime exited without providing a reason"
        );
        assert_eq!(
            exit_description(ExitStatus::from_raw(9)),
            "Runtime exited with error: signal: killed"
        );
    }
}
