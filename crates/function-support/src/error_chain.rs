//! An error and its causes on one line, for the log: `a: b: c`.

use std::fmt;

/// Displays an error and all its sources: `a: b: c`.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(err) = source {
            write!(f, ": {err}")?;
            source = err.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("the API-keys secret is malformed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_chain_shows_every_cause() {
        let err = Outer(std::io::Error::other(
            "keys[2].sha256 is not 64 lowercase hexadecimal characters",
        ));
        assert_eq!(
            ErrorChain(&err).to_string(),
            "the API-keys secret is malformed: keys[2].sha256 is not 64 lowercase hexadecimal characters"
        );
        let alone = std::io::Error::other("alone");
        assert_eq!(ErrorChain(&alone).to_string(), "alone");
    }
}
