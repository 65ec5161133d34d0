//! The `SdkConfig` both functions build their AWS clients from: credentials and region from
//! the variables Lambda sets, this crate's HTTPS client ([`crate::tls`]), and timeouts that keep
//! one AWS call, its retries included, within a caller's deadline.

use std::time::Duration;

use aws_config::environment::{
    EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
};
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Connect timeout of every AWS call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Timeout of one attempt of an AWS call.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);

/// The `SdkConfig` from the environment (credentials, region, endpoint overrides), trusting the
/// PEM certificates `extra_ca_pem` besides the Amazon roots (`AWS_CA_BUNDLE`), with the SDK's
/// standard retries; one AWS call, retries included, never outlasts `call_deadline`.
pub async fn sdk_config(extra_ca_pem: Option<&[u8]>, call_deadline: Duration) -> SdkConfig {
    // Lambda hands the function its credentials and region as environment variables: read
    // only those, not the default chains (profiles, SSO, web identity through STS, IMDS).
    aws_config::defaults(BehaviorVersion::latest())
        .credentials_provider(EnvironmentVariableCredentialsProvider::new())
        .region(EnvironmentVariableRegionProvider::new())
        .http_client(crate::tls::https_client(extra_ca_pem))
        // The deadline and the attempt timeout already bound a stalled answer; the SDK's own
        // throughput watch costs timers on every call.
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT.min(call_deadline))
                .operation_attempt_timeout(ATTEMPT_TIMEOUT.min(call_deadline))
                .operation_timeout(call_deadline)
                .build(),
        )
        .load()
        .await
}
