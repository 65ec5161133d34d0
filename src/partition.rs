//! What one read of an integration's partition found: the data the store produces and the
//! disconnect rule consumes, so that neither module imports the other's logic.

use integrations_table::DisconnectMarker;

/// The integration item, as far as a disconnect needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationHead {
    pub account_id: String,
    pub integration_type: Option<String>,
    /// The `version` attribute (a DynamoDB number, as written), bumped by every token write;
    /// `None` while no token was written by the protocol of `integrations_table::tokens`.
    pub version: Option<String>,
    /// The `grantId` attribute: the platform grant behind the tokens, copied onto the marker.
    pub grant_id: Option<String>,
}

/// What one strongly consistent read of an integration's partition found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Partition {
    pub integration: Option<IntegrationHead>,
    /// Sort keys of the tokens (`TOKEN#...`), in the order read.
    pub token_sort_keys: Vec<String>,
    pub marker: Option<DisconnectMarker>,
}
