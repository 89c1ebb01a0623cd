//! What every AWS SDK client of the backend shares: its credentials and its timeouts.
//!
//! The same code talks to the local stand-ins or to AWS; configuration chooses the endpoints and whether a
//! static key ([`Config::aws_credentials`]) or the default credential chain (environment, ECS task role,
//! instance role) signs the requests.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{Credentials, Region, SharedCredentialsProvider};

use crate::config::Config;

/// How long one SDK call may take, retries included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The timeouts of every SDK client: a dependency that is down makes a quick error, not a hung request.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_timeout(OPERATION_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
}

/// The credentials the backend signs its own AWS calls with (S3, the user-pool API).
pub async fn credentials(config: &Config, region: &Region) -> SharedCredentialsProvider {
    match &config.aws_credentials {
        Some(key) => SharedCredentialsProvider::new(Credentials::new(
            key.access_key_id.clone(),
            key.secret_access_key.expose().to_owned(),
            key.session_token.as_ref().map(|t| t.expose().to_owned()),
            None,
            "backend-configuration",
        )),
        None => SharedCredentialsProvider::new(
            aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                .region(region.clone())
                .build()
                .await,
        ),
    }
}
