//! Where the keys are: one secret, or N secrets (the *units*) that a key's hash picks from.
//! Pure: no client, no clock.
//!
//! The operators' tooling (`scripts/api-keys.py`) computes the same unit and secret id; the
//! vectors in this file's tests and in `scripts/tests/test_api_keys_tool.py` are the same.

/// The most units a layout may have: 10,000 hold 3,900,000 keys at 80% of the size limit.
pub const MAX_UNITS: usize = 10_000;

/// The secrets the keys are in: `secret_id` itself when there is one unit, else
/// `secret_id/0000`, `secret_id/0001`, ... (one IAM resource, `secret_id/????-??????`, covers
/// them and nothing else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    secret_id: String,
    units: usize,
}

/// Why a secret id and a number of units are not a layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("the number of units must be 1 to {MAX_UNITS}")]
    Units,
    /// The units' secret ids are `<secret id>/<unit>`: an ARN, whose name ends in Secrets
    /// Manager's random suffix, cannot start them.
    #[error(
        "with more than one unit, the secret id must be the name the units start with, not an ARN"
    )]
    UnitsNeedAName,
}

impl Layout {
    /// The keys in the one secret `secret_id` (a name or an ARN).
    pub fn one(secret_id: impl Into<String>) -> Self {
        Self {
            secret_id: secret_id.into(),
            units: 1,
        }
    }

    /// The keys spread over `units` secrets named after `secret_id`.
    pub fn new(secret_id: impl Into<String>, units: usize) -> Result<Self, LayoutError> {
        let secret_id = secret_id.into();
        if !(1..=MAX_UNITS).contains(&units) {
            return Err(LayoutError::Units);
        }
        if units > 1 && secret_id.starts_with("arn:") {
            return Err(LayoutError::UnitsNeedAName);
        }
        Ok(Self { secret_id, units })
    }

    pub fn units(&self) -> usize {
        self.units
    }

    /// The unit that holds the key with this digest.
    pub fn unit_of(&self, digest: &[u8; 32]) -> usize {
        unit_of(digest, self.units)
    }

    /// The secret id of `unit`.
    pub fn unit_secret_id(&self, unit: usize) -> String {
        unit_secret_id(&self.secret_id, unit, self.units)
    }
}

/// The unit, of `units`, that holds the key with this digest: its first 32 bits scaled to
/// `units`, so that hashes spread evenly over the units.
pub fn unit_of(digest: &[u8; 32], units: usize) -> usize {
    let first = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    ((u64::from(first) * units.max(1) as u64) >> 32) as usize
}

/// The secret of `unit` when the keys are spread over `units`: `secret_id` itself for one unit,
/// else `secret_id/0000`, `secret_id/0001`, ...
pub fn unit_secret_id(secret_id: &str, unit: usize, units: usize) -> String {
    if units <= 1 {
        secret_id.to_owned()
    } else {
        format!("{secret_id}/{unit:04}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_keys::format::digest;

    /// The same vectors as the tooling's test (`scripts/tests/test_api_keys_tool.py`): both
    /// sides must put a key in the same unit, or an added key is never found.
    #[test]
    fn a_key_lands_in_the_unit_the_tooling_computes() {
        for (key, units, unit) in [
            ("demo-key-0123456789", 320, 100),
            ("another-test-key-abcdef", 320, 269),
            ("kkkkkkkkkkkkkkkkkkkk", 2, 1),
            ("zzzzzzzzzzzzzzzzzz", 10_000, 6835),
            ("demo-key-0123456789", 1, 0),
        ] {
            assert_eq!(unit_of(&digest(key), units), unit, "{key} over {units}");
        }
    }

    #[test]
    fn keys_spread_evenly_over_the_units_and_one_unit_is_the_secret_itself() {
        let units = 16;
        let mut per_unit = vec![0usize; units];
        for n in 0..16_000 {
            per_unit[unit_of(&digest(&format!("key-{n}")), units)] += 1;
        }
        // 1,000 expected per unit; 5 standard deviations is about 160.
        assert!(
            per_unit.iter().all(|c| (840..=1160).contains(c)),
            "{per_unit:?}"
        );
        assert_eq!(unit_of(&[0xff; 32], units), units - 1);
        assert_eq!(unit_of(&[0; 32], units), 0);
        assert_eq!(unit_of(&[0xff; 32], 1), 0);
        assert_eq!(unit_secret_id("prod/api-keys", 0, 1), "prod/api-keys");
        assert_eq!(
            unit_secret_id("prod/api-keys", 7, 320),
            "prod/api-keys/0007"
        );
        assert_eq!(
            Layout::new("prod/api-keys", 10_000)
                .unwrap()
                .unit_secret_id(9_999),
            "prod/api-keys/9999"
        );
    }

    #[test]
    fn a_layout_of_units_needs_a_name_and_a_bounded_count() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:keys-AbCdEf";
        assert_eq!(Layout::new(arn, 1).unwrap(), Layout::one(arn));
        assert_eq!(Layout::new(arn, 2), Err(LayoutError::UnitsNeedAName));
        for units in [0, MAX_UNITS + 1] {
            assert_eq!(Layout::new("keys", units), Err(LayoutError::Units));
        }
        assert_eq!(Layout::new("keys", MAX_UNITS).unwrap().units(), MAX_UNITS);
    }
}
