"""Every attribute name of the integrations table, for the scripts: a copy of
crates/integrations-table/src/attributes.rs, which crates/stack-checks compares with this file
(both ways), so the two cannot drift. A script puts scripts/lib on `sys.path` and imports
`from table import A`."""


class A:
    """The names, as constants: A.PK, A.ACCOUNT_ID, ..."""

    PK = "PK"
    SK = "SK"
    ID = "id"
    ACCOUNT_ID = "accountId"
    TYPE = "type"
    GRANT_ID = "grantId"
    VERSION = "version"
    EXPIRES_AT = "expiresAt"
    TOKEN = "token"
    TOKEN_TYPE = "tokenType"
    LOGIN_FLOW = "loginFlow"
    SERVER = "server"
    DISCONNECTED_AT = "disconnectedAt"
    REASON = "reason"
    REVOCATION = "revocation"
    REVOCATION_EVENTS = "revocationEvents"
    REVOCATION_RETRIES = "revocationRetries"
    REVOCATION_REFRESHES = "revocationRefreshes"
    GRANT_INDEX = "GrantIndex"
    ENTRY_EVENT_ID = "eventId"
    ENTRY_TOKEN_KEY = "tokenKey"
    ENTRY_OUTCOME = "outcome"
    ENTRY_AT = "at"
    ENTRY_PLATFORM = "platform"
    ENTRY_VIA = "via"
