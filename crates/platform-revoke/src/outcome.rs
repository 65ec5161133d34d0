//! What became of a revocation: an [`Outcome`] that the platform's documentation backs, or a
//! [`RevokeError`].

use std::fmt;
use std::time::Duration;

use crate::Platform;

/// A revocation whose answer the platform's documentation explains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The platform answered what its documentation gives as the success of its revoke call:
    /// the token no longer works.
    Revoked,
    /// The platform answered a success its documentation does not give for the call: a success
    /// of a call no page describes (LinkedIn), or a success status or shape the call's page does
    /// not give (Reddit's 200, Meta's `{"success": true}`, TikTok's envelope with code `ok`).
    /// Probably revoked, never claimed as such, and it covers no other token.
    Unconfirmed,
    /// No documented call revokes this token; the reason code says why.
    Unsupported(&'static str),
}

impl Outcome {
    /// `revoked`, `unconfirmed` or `unsupported`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Revoked => "revoked",
            Outcome::Unconfirmed => "unconfirmed",
            Outcome::Unsupported(_) => "unsupported",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A revocation that did not work. `reason` never holds a token or a client secret: at most the
/// HTTP status and the platform's sanitised error code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RevokeError {
    /// Retrying later may work: no answer, HTTP 408, 429 or 5xx, the platform's own code for a
    /// temporary failure or throttling, or an answer lost after a call that may have taken
    /// effect. `retry_after` is the wait the platform asked for, when it said.
    #[error("transient failure revoking a {platform} token: {reason}")]
    Transient {
        platform: Platform,
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Retrying will not work, or the answer is one the documentation does not explain: the
    /// outcome is `failed`, with this reason.
    #[error("failed revoking a {platform} token: {reason}")]
    Permanent { platform: Platform, reason: String },
}

impl RevokeError {
    pub fn platform(&self) -> Platform {
        match self {
            RevokeError::Transient { platform, .. } | RevokeError::Permanent { platform, .. } => {
                *platform
            }
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            RevokeError::Transient { reason, .. } | RevokeError::Permanent { reason, .. } => reason,
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, RevokeError::Transient { .. })
    }

    /// The wait the platform asked for (`Retry-After`, `x-rate-limit-reset`, ...).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            RevokeError::Transient { retry_after, .. } => *retry_after,
            RevokeError::Permanent { .. } => None,
        }
    }
}
