//! The AWS Lambda behind `DELETE /v1/integration/{integrationId}`.
//!
//! A customer disconnects a connected platform account with their `x-api-key`. The key is checked
//! against hashes in Secrets Manager ([`api_keys`]); the integration and all its OAuth tokens are
//! removed from DynamoDB in one transaction that also writes a disconnect marker with a TTL
//! ([`store`], [`marker`]), so the schedule processors fail the integration's pending posts when
//! their time comes. [`http`] is the edge that turns events into calls and errors into the one
//! JSON envelope ([`error`]).

pub mod api_keys;
pub mod config;
pub mod error;
pub mod http;
pub mod ids;
pub mod marker;
pub mod processor;
pub mod store;

use aws_config::SdkConfig;

pub use config::Config;
pub use error::Error;
pub use http::App;
pub use ids::{AccountId, IntegrationId};
pub use marker::{DisconnectMarker, MarkerReader};

impl App {
    /// Builds the function from its configuration and one shared SDK configuration.
    pub fn from_config(config: &Config, sdk: &SdkConfig) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let secrets = aws_sdk_secretsmanager::Client::new(sdk);
        Self::new(
            api_keys::ApiKeyVerifier::new(
                secrets,
                config.api_keys_secret_id.clone(),
                config.api_keys_cache_ttl,
            ),
            store::IntegrationStore::new(dynamodb, config.table_name.clone(), config.marker_ttl),
        )
    }
}
