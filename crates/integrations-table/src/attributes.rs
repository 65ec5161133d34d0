//! Every attribute name of the table, written once. Both functions, the processors, the tests
//! and the scripts take them from here (the scripts through `scripts/lib/table.py`, which
//! `crates/stack-checks` compares with this list).

/// The partition key: `INTEGRATION#<id>` for an integration and all that belongs to it.
pub const PK: &str = "PK";
/// The sort key: `INTEGRATION`, `TOKEN#<name>`, `DISCONNECTED` (see [`crate::keys`]).
pub const SK: &str = "SK";

/// The integration's id (on the integration item and the marker).
pub const ID: &str = "id";
/// The account that owns the integration.
pub const ACCOUNT_ID: &str = "accountId";
/// The platform (`youtube`, `tiktok`, ...: [`crate::IntegrationType`]).
pub const TYPE: &str = "type";
/// The platform grant behind the tokens (optional), the key of [`GRANT_INDEX`].
pub const GRANT_ID: &str = "grantId";
/// Bumped by every token write ([`crate::tokens`]); a disconnect's transaction is conditioned on it.
pub const VERSION: &str = "version";
/// The table's TTL attribute (epoch seconds).
pub const EXPIRES_AT: &str = "expiresAt";

/// A token item's value: read by the revoker from the stream, never by the DELETE function.
pub const TOKEN: &str = "token";
/// A token item's kind: `access_token`, `refresh_token`.
pub const TOKEN_TYPE: &str = "tokenType";
/// A Meta token item's login flow (`facebook_login`, `instagram_login`): which revoke call.
pub const LOGIN_FLOW: &str = "loginFlow";
/// A Mastodon token item's server (its host): where to revoke.
pub const SERVER: &str = "server";

/// The marker: when the disconnect happened (RFC 3339, UTC).
pub const DISCONNECTED_AT: &str = "disconnectedAt";
/// The marker: why (`integration_disconnected`).
pub const REASON: &str = "reason";
/// The marker: the revoker's list of outcomes, one per token.
pub const REVOCATION: &str = "revocation";
/// The marker: the string set of the stream records already recorded.
pub const REVOCATION_EVENTS: &str = "revocationEvents";
/// The marker: the string set of failed deliveries, `<eventID>#<Lambda request id>`.
pub const REVOCATION_RETRIES: &str = "revocationRetries";
/// The marker: the string set of the records whose TikTok refresh token a refresh was sent for.
pub const REVOCATION_REFRESHES: &str = "revocationRefreshes";

/// The table's global secondary index on [`GRANT_ID`] (keys only).
pub const GRANT_INDEX: &str = "GrantIndex";

/// The marker's own attributes, as the disconnect writes them ([`crate::DisconnectMarker`]),
/// keys aside; `grantId` only when the integration had one.
pub const MARKER: [&str; 7] = [
    ID,
    ACCOUNT_ID,
    TYPE,
    DISCONNECTED_AT,
    REASON,
    EXPIRES_AT,
    GRANT_ID,
];

/// The fields of one entry of the marker's [`REVOCATION`] list (a map), as the revoker writes
/// them (docs/revocation.md, "What is recorded").
pub mod entry {
    /// The stream record's `eventID`.
    pub const EVENT_ID: &str = "eventId";
    /// The token's sort key, `TOKEN#<name>`.
    pub const TOKEN_KEY: &str = "tokenKey";
    /// The token's [`super::TOKEN_TYPE`].
    pub const TOKEN_TYPE: &str = super::TOKEN_TYPE;
    /// `revoked`, `failed`, `skipped`, `unsupported`.
    pub const OUTCOME: &str = "outcome";
    /// When it was recorded (RFC 3339).
    pub const AT: &str = "at";
    pub const PLATFORM: &str = "platform";
    pub const REASON: &str = super::REASON;
    /// The token whose revocation covered this one.
    pub const VIA: &str = "via";
}

/// Every name above, for the comparison with the scripts' copy.
pub const ALL: [(&str, &str); 25] = [
    ("PK", PK),
    ("SK", SK),
    ("ID", ID),
    ("ACCOUNT_ID", ACCOUNT_ID),
    ("TYPE", TYPE),
    ("GRANT_ID", GRANT_ID),
    ("VERSION", VERSION),
    ("EXPIRES_AT", EXPIRES_AT),
    ("TOKEN", TOKEN),
    ("TOKEN_TYPE", TOKEN_TYPE),
    ("LOGIN_FLOW", LOGIN_FLOW),
    ("SERVER", SERVER),
    ("DISCONNECTED_AT", DISCONNECTED_AT),
    ("REASON", REASON),
    ("REVOCATION", REVOCATION),
    ("REVOCATION_EVENTS", REVOCATION_EVENTS),
    ("REVOCATION_RETRIES", REVOCATION_RETRIES),
    ("REVOCATION_REFRESHES", REVOCATION_REFRESHES),
    ("GRANT_INDEX", GRANT_INDEX),
    ("ENTRY_EVENT_ID", entry::EVENT_ID),
    ("ENTRY_TOKEN_KEY", entry::TOKEN_KEY),
    ("ENTRY_OUTCOME", entry::OUTCOME),
    ("ENTRY_AT", entry::AT),
    ("ENTRY_PLATFORM", entry::PLATFORM),
    ("ENTRY_VIA", entry::VIA),
];
