//! The Cognito pre-token-generation trigger (event version 2) as an AWS Lambda function on the
//! `provided.al2023` runtime: `cargo xtask build-lambda` builds it as the static executable `bootstrap`.
//!
//! It serves the Lambda Runtime API at `AWS_LAMBDA_RUNTIME_API` (on AWS, or under the local Lambda stand-in)
//! and calls the same [`backend::trigger::pre_token_generation`] the tests exercise. Settings come from the
//! environment (see [`backend::trigger::lambda::LambdaSettings`]); logs go to stderr, which Lambda sends to
//! CloudWatch Logs, filtered by `RUST_LOG` (default `info`).

use backend::trigger::event::PreTokenGenerationEvent;
use backend::trigger::lambda::{LambdaSettings, TriggerFunction};
use lambda_runtime::{LambdaEvent, service_fn};
use tracing_subscriber::EnvFilter;

#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // CloudWatch adds its own timestamps and shows no colours.
        .without_time()
        .with_ansi(false)
        .init();

    // A configuration error ends the process during init: Lambda reports it as the invocation's error and
    // the log says which variable is wrong.
    let settings = LambdaSettings::from_env().inspect_err(|error| {
        tracing::error!(%error, "the trigger's configuration is invalid");
    })?;
    let function = TriggerFunction::new(settings).await.inspect_err(|error| {
        tracing::error!(%error, "DATABASE_URL is not a valid Postgres URL");
    })?;
    let function = &function;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<PreTokenGenerationEvent>| async move {
            function.handle(event.payload).await
        },
    ))
    .await
}
