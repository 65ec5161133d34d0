//! The API-keys secret's format: parsing a `SecretString` into a [`KeySet`], looking a presented
//! key up in constant time, and what a lookup allows. Pure: no client, no clock, no cache.
//!
//! The secret's `SecretString`:
//!
//! ```json
//! {"keys": [{"sha256": "<lowercase hex>", "accountId": "acct_1", "name": "CI",
//!            "disabled": false, "scopes": ["integrations:delete"]}]}
//! ```
//!
//! `disabled` (default `false`) refuses a key with 401; `scopes`, when present, must include
//! [`SCOPE_DELETE`] or the key gets 403 `insufficient_scope` (an entry without `scopes` keeps
//! full access). Plaintext keys exist only in the request being served: they are hashed at once,
//! never stored, logged or echoed. A lookup costs the same whatever the number of keys: the
//! presented hash's first 8 bytes pick the entries that share them (almost always none or one),
//! and its whole 32 bytes are compared with each of those in constant time.
//!
//! One bad entry does not take the others down: an entry that is malformed, or a hash listed
//! with different accounts or settings, is left out, with an error log naming its index. Only a
//! secret that is not a JSON object with a `keys` array fails every request (500).

use std::collections::{BTreeMap, HashMap};

use integrations_table::AccountId;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::Error;

/// The scope a key needs to disconnect integrations.
pub const SCOPE_DELETE: &str = "integrations:delete";

/// The largest secret value Secrets Manager stores, in bytes ("Secret value size", not
/// adjustable: https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html,
/// read 2026-12-07). The local stand-in refuses more, as AWS does
/// (`scripts/local/secrets-manager.py`).
pub const SECRET_VALUE_LIMIT_BYTES: usize = 65_536;

/// A secret at or above this size is near the limit: the function warns and counts it, so that
/// keys are moved out before a write is refused (80% of [`SECRET_VALUE_LIMIT_BYTES`]).
pub const NEAR_LIMIT_BYTES: usize = (SECRET_VALUE_LIMIT_BYTES * 4).div_ceil(5);

/// The API keys of one secret version, ready to check presented keys against.
#[derive(Clone, Default)]
pub struct KeySet {
    /// The entries by the first 8 bytes of their digest. The map's own comparisons can only tell,
    /// by their timing, whether an entry's digest starts like the presented key's: finding a key
    /// whose SHA-256 shares 8 bytes with a listed one is a 64-bit preimage search. The whole
    /// digest is compared in constant time ([`KeySet::lookup`]).
    by_prefix: HashMap<u64, Vec<KeyEntry>>,
    len: usize,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The map's keys are the first bytes of the digests: keep them out of debug output too.
        f.debug_struct("KeySet")
            .field("len", &self.len)
            .field(
                "entries",
                &self.by_prefix.values().flatten().collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The first 8 bytes of a digest: its place in [`KeySet::by_prefix`].
fn prefix(digest: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

#[derive(Clone, PartialEq, Eq)]
struct KeyEntry {
    digest: [u8; 32],
    account_id: AccountId,
    disabled: bool,
    /// `None`: every scope.
    scopes: Option<Vec<String>>,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Even a hash is key material: keep it out of any debug output.
        f.debug_struct("KeyEntry")
            .field("account_id", &self.account_id)
            .field("disabled", &self.disabled)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Why the whole secret could not be used. Says where the problem is, never what the values are.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MalformedSecret {
    #[error("the secret has no SecretString")]
    NoSecretString,
    #[error(
        "the secret is not a JSON object with a \"keys\" array ({category} error at line {line}, column {column})"
    )]
    Json {
        category: &'static str,
        line: usize,
        column: usize,
    },
    #[error("the secret is a JSON object without a \"keys\" array")]
    NoKeysArray,
}

/// Why one entry was left out. Says which entry and what is wrong, never its values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkippedEntry {
    #[error(
        "keys[{index}] is not an object of sha256 (string), accountId (string), name, disabled (boolean) and scopes (array of strings)"
    )]
    Shape { index: usize },
    #[error("keys[{index}].sha256 is not 64 lowercase hexadecimal characters")]
    BadHash { index: usize },
    #[error("keys[{index}].accountId is empty")]
    EmptyAccount { index: usize },
    #[error(
        "keys{indices:?} list one hash with different accounts or settings; all of them are refused"
    )]
    Ambiguous { indices: Vec<usize> },
}

/// A parsed secret: the usable keys, and the entries left out.
#[derive(Debug)]
pub struct Parsed {
    pub keys: KeySet,
    pub skipped: Vec<SkippedEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretEntry {
    sha256: String,
    account_id: String,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default, rename = "name")]
    _name: Option<serde_json::Value>,
}

/// What a presented key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    Unknown,
    Disabled,
    Found {
        account: &'a AccountId,
        scopes: Option<&'a [String]>,
    },
}

impl KeySet {
    /// Parses the secret's JSON. Errors name positions or entry indexes only, since
    /// `serde_json`'s own messages can quote the offending value.
    pub fn parse(secret_string: &str) -> Result<Parsed, MalformedSecret> {
        // A map first: serde would also read a struct from a JSON array.
        let mut document: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(secret_string).map_err(|e| MalformedSecret::Json {
                category: match e.classify() {
                    serde_json::error::Category::Io => "io",
                    serde_json::error::Category::Syntax => "syntax",
                    serde_json::error::Category::Data => "shape",
                    serde_json::error::Category::Eof => "unexpected end",
                },
                line: e.line(),
                column: e.column(),
            })?;
        let Some(serde_json::Value::Array(listed)) = document.remove("keys") else {
            return Err(MalformedSecret::NoKeysArray);
        };
        let mut skipped = Vec::new();
        let mut by_digest: BTreeMap<[u8; 32], Vec<(usize, KeyEntry)>> = BTreeMap::new();
        for (index, value) in listed.into_iter().enumerate() {
            match parse_entry(index, value) {
                Ok(entry) => by_digest
                    .entry(entry.digest)
                    .or_default()
                    .push((index, entry)),
                Err(problem) => skipped.push(problem),
            }
        }
        let mut keys = Self::default();
        for (_, mut listed) in by_digest {
            let (_, first) = &listed[0];
            if listed.iter().all(|(_, entry)| entry == first) {
                let entry = listed.swap_remove(0).1;
                keys.by_prefix
                    .entry(prefix(&entry.digest))
                    .or_default()
                    .push(entry);
                keys.len += 1;
            } else {
                skipped.push(SkippedEntry::Ambiguous {
                    indices: listed.iter().map(|(index, _)| *index).collect(),
                });
            }
        }
        skipped.sort_by_key(|s| match s {
            SkippedEntry::Shape { index }
            | SkippedEntry::BadHash { index }
            | SkippedEntry::EmptyAccount { index } => *index,
            SkippedEntry::Ambiguous { indices } => indices[0],
        });
        Ok(Parsed { keys, skipped })
    }

    /// What `presented_key` is: the entries whose digest starts like its hash are compared
    /// with the whole hash in constant time, each of them whatever matches.
    pub fn lookup(&self, presented_key: &str) -> Lookup<'_> {
        self.lookup_digest(&digest(presented_key))
    }

    /// [`KeySet::lookup`] of a key already hashed ([`digest`]).
    pub fn lookup_digest(&self, digest: &[u8; 32]) -> Lookup<'_> {
        match self.find(digest) {
            None => Lookup::Unknown,
            Some(entry) if entry.disabled => Lookup::Disabled,
            Some(entry) => Lookup::Found {
                account: &entry.account_id,
                scopes: entry.scopes.as_deref(),
            },
        }
    }

    /// The entry whose digest is `digest`. Each entry sharing its first 8 bytes is compared in
    /// constant time, whichever matches.
    fn find(&self, digest: &[u8; 32]) -> Option<&KeyEntry> {
        let mut found = None;
        for entry in self.by_prefix.get(&prefix(digest)).into_iter().flatten() {
            if bool::from(entry.digest.ct_eq(digest)) {
                found = Some(entry);
            }
        }
        found
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

fn parse_entry(index: usize, value: serde_json::Value) -> Result<KeyEntry, SkippedEntry> {
    let entry: SecretEntry =
        serde_json::from_value(value).map_err(|_| SkippedEntry::Shape { index })?;
    let is_lower_hex = entry
        .sha256
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let mut digest = [0u8; 32];
    if !is_lower_hex || hex::decode_to_slice(&entry.sha256, &mut digest).is_err() {
        return Err(SkippedEntry::BadHash { index });
    }
    let account_id =
        AccountId::new(entry.account_id).ok_or(SkippedEntry::EmptyAccount { index })?;
    Ok(KeyEntry {
        digest,
        account_id,
        disabled: entry.disabled,
        scopes: entry.scopes,
    })
}

/// The SHA-256 of a presented key.
pub fn digest(presented_key: &str) -> [u8; 32] {
    Sha256::digest(presented_key.as_bytes()).into()
}

/// Lowercase hex SHA-256 of a key: the form the secret stores.
pub fn hash_key(plaintext: &str) -> String {
    hex::encode(Sha256::digest(plaintext.as_bytes()))
}

/// The outcome of a lookup, for a request that needs `scope`.
pub fn authorize(lookup: Lookup<'_>, scope: &str) -> Result<AccountId, Error> {
    match lookup {
        Lookup::Unknown => Err(Error::UnknownApiKey),
        Lookup::Disabled => Err(Error::DisabledApiKey),
        Lookup::Found {
            scopes: Some(scopes),
            ..
        } if !scopes.iter().any(|s| s == scope) => Err(Error::InsufficientScope),
        Lookup::Found { account, .. } => Ok(account.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use test_support::local::secret_json as secret;

    fn account(lookup: Lookup<'_>) -> Option<&str> {
        match lookup {
            Lookup::Found { account, .. } => Some(account.as_str()),
            _ => None,
        }
    }

    #[test]
    fn hash_key_is_lowercase_hex_sha256() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_known_key_maps_to_its_account_and_others_to_unknown() {
        let keys = KeySet::parse(&secret(&[("k1", "acct_1"), ("k2", "acct_2")]))
            .unwrap()
            .keys;
        assert_eq!(account(keys.lookup("k2")), Some("acct_2"));
        assert_eq!(account(keys.lookup("k1")), Some("acct_1"));
        assert_eq!(keys.lookup("k3"), Lookup::Unknown);
        assert_eq!(keys.lookup(""), Lookup::Unknown);
    }

    /// The lookup goes through the entries that share the presented hash's first 8 bytes, not
    /// every entry; each of those is still compared whole.
    #[test]
    fn entries_that_share_the_first_eight_bytes_are_told_apart_by_the_whole_hash() {
        let digests = [
            format!("{}{}", "ab".repeat(8), "01".repeat(24)),
            format!("{}{}", "ab".repeat(8), "02".repeat(24)),
            format!("{}{}", "cd".repeat(8), "01".repeat(24)),
        ];
        let listed: Vec<_> = digests
            .iter()
            .enumerate()
            .map(|(i, d)| json!({"sha256": d, "accountId": format!("acct_{i}")}))
            .collect();
        let keys = KeySet::parse(&json!({ "keys": listed }).to_string())
            .unwrap()
            .keys;
        assert_eq!(keys.len(), 3);
        let digest =
            |hex_digest: &str| -> [u8; 32] { hex::decode(hex_digest).unwrap().try_into().unwrap() };
        for (i, d) in digests.iter().enumerate() {
            let entry = keys.find(&digest(d)).expect("listed");
            assert_eq!(entry.account_id.as_str(), format!("acct_{i}"));
        }
        let same_start_other_end = format!("{}{}", "ab".repeat(8), "03".repeat(24));
        assert!(keys.find(&digest(&same_start_other_end)).is_none());
        let other_start_same_end = format!("{}{}", "ef".repeat(8), "01".repeat(24));
        assert!(keys.find(&digest(&other_start_same_end)).is_none());
    }

    #[test]
    fn each_of_a_hundred_thousand_keys_is_found_and_an_unknown_one_is_not() {
        let listed: Vec<_> = (0..100_000)
            .map(|i| json!({"sha256": hash_key(&format!("key-{i}")), "accountId": format!("acct_{}", i % 997)}))
            .collect();
        let keys = KeySet::parse(&json!({ "keys": listed }).to_string())
            .unwrap()
            .keys;
        assert_eq!(keys.len(), 100_000);
        for i in (0..100_000).step_by(7_919) {
            let expected = format!("acct_{}", i % 997);
            assert_eq!(
                account(keys.lookup(&format!("key-{i}"))),
                Some(expected.as_str())
            );
        }
        assert_eq!(keys.lookup("key-100000"), Lookup::Unknown);
    }

    #[test]
    fn a_key_set_counts_its_usable_entries() {
        let two = KeySet::parse(&secret(&[("k1", "acct_1"), ("k2", "acct_2")]))
            .unwrap()
            .keys;
        assert_eq!((two.len(), two.is_empty()), (2, false));
        let none = KeySet::parse(&secret(&[])).unwrap().keys;
        assert_eq!((none.len(), none.is_empty()), (0, true));
    }

    /// Even the hash of a key is key material: debug output shows the account, never the hash.
    #[test]
    fn a_key_entry_debugs_without_its_hash() {
        let keys = KeySet::parse(&secret(&[("k1", "acct_1")])).unwrap().keys;
        let shown = format!("{keys:?}");
        assert!(shown.contains("KeyEntry"), "{shown}");
        assert!(shown.contains("acct_1"), "{shown}");
        let hash = hash_key("k1");
        assert!(!shown.contains(&hash), "{shown}");
        assert!(!shown.contains("digest"), "{shown}");
        let bytes: Vec<String> = hex::decode(&hash).unwrap()[..4]
            .iter()
            .map(u8::to_string)
            .collect();
        assert!(
            !shown.contains(&bytes.join(", ")),
            "no digest bytes: {shown}"
        );
        let first_eight = u64::from_be_bytes(hex::decode(&hash).unwrap()[..8].try_into().unwrap());
        assert!(
            !shown.contains(&first_eight.to_string()),
            "no digest prefix: {shown}"
        );
    }

    #[test]
    fn a_secret_that_is_not_an_object_with_keys_is_malformed_without_quoting_values() {
        let json = |category, line, column| MalformedSecret::Json {
            category,
            line,
            column,
        };
        let cases = [
            ("not json", "sk_live_plaintext", json("syntax", 1, 1)),
            (
                "cut short",
                r#"{"keys": [{"sha256": "sk_live"#,
                json("unexpected end", 1, 29),
            ),
            (
                "an array",
                r#"[["sk_live_plaintext"]]"#,
                json("shape", 1, 0),
            ),
            (
                "keys is a string",
                r#"{"keys": "sk_live_plaintext"}"#,
                MalformedSecret::NoKeysArray,
            ),
            (
                "no keys",
                r#"{"apiKeys": []}"#,
                MalformedSecret::NoKeysArray,
            ),
        ];
        for (name, text, expected) in cases {
            let err = KeySet::parse(text).unwrap_err();
            assert_eq!(err, expected, "case {name}");
            assert!(!err.to_string().contains("sk_live"), "case {name}: {err}");
        }
    }

    #[test]
    fn a_malformed_entry_is_left_out_and_named_and_the_others_keep_working() {
        let good = hash_key("good");
        let text = json!({"keys": [
            {"sha256": hash_key("upper").to_uppercase(), "accountId": "a"},
            {"sha256": "sk_live_plaintext", "accountId": "a"},
            {"sha256": good, "accountId": "acct_good"},
            {"sha256": hash_key("blank"), "accountId": " "},
            {"sha256": hash_key("typed"), "accountId": "a", "disabled": "sk_live_yes"},
            "sk_live_a_string",
            {"sha256": hash_key("scoped"), "accountId": "a", "scopes": "integrations:delete"},
        ]})
        .to_string();
        let parsed = KeySet::parse(&text).unwrap();
        assert_eq!(
            parsed.skipped,
            [
                SkippedEntry::BadHash { index: 0 },
                SkippedEntry::BadHash { index: 1 },
                SkippedEntry::EmptyAccount { index: 3 },
                SkippedEntry::Shape { index: 4 },
                SkippedEntry::Shape { index: 5 },
                SkippedEntry::Shape { index: 6 },
            ]
        );
        assert_eq!(parsed.keys.len(), 1);
        assert_eq!(account(parsed.keys.lookup("good")), Some("acct_good"));
        for problem in &parsed.skipped {
            assert!(!problem.to_string().contains("sk_live"), "{problem}");
        }
    }

    #[test]
    fn a_hash_listed_for_two_accounts_is_refused_for_both() {
        let text = json!({"keys": [
            {"sha256": hash_key("shared"), "accountId": "acct_1"},
            {"sha256": hash_key("other"), "accountId": "acct_3"},
            {"sha256": hash_key("shared"), "accountId": "acct_2"},
            {"sha256": hash_key("twice"), "accountId": "acct_4", "name": "a"},
            {"sha256": hash_key("twice"), "accountId": "acct_4", "name": "b"},
        ]})
        .to_string();
        let parsed = KeySet::parse(&text).unwrap();
        assert_eq!(
            parsed.skipped,
            [SkippedEntry::Ambiguous {
                indices: vec![0, 2]
            }]
        );
        assert_eq!(parsed.keys.lookup("shared"), Lookup::Unknown);
        assert_eq!(account(parsed.keys.lookup("other")), Some("acct_3"));
        assert_eq!(
            account(parsed.keys.lookup("twice")),
            Some("acct_4"),
            "the same entry twice is not ambiguous"
        );
    }

    #[test]
    fn disabled_keys_and_scopes_decide_what_a_key_may_do() {
        let text = json!({"keys": [
            {"sha256": hash_key("off"), "accountId": "a", "disabled": true},
            {"sha256": hash_key("on"), "accountId": "a", "disabled": false},
            {"sha256": hash_key("all"), "accountId": "a"},
            {"sha256": hash_key("delete"), "accountId": "a", "scopes": ["integrations:read", SCOPE_DELETE]},
            {"sha256": hash_key("read"), "accountId": "a", "scopes": ["integrations:read"]},
            {"sha256": hash_key("none"), "accountId": "a", "scopes": []},
        ]})
        .to_string();
        let keys = KeySet::parse(&text).unwrap().keys;
        let verdict = |key: &str| match authorize(keys.lookup(key), SCOPE_DELETE) {
            Ok(_) => "ok",
            Err(Error::DisabledApiKey) => "disabled",
            Err(Error::InsufficientScope) => "scope",
            Err(other) => panic!("{other:?}"),
        };
        let verdicts: Vec<_> = ["off", "on", "all", "delete", "read", "none"]
            .into_iter()
            .map(verdict)
            .collect();
        assert_eq!(verdicts, ["disabled", "ok", "ok", "ok", "scope", "scope"]);
    }

    #[test]
    fn debug_output_never_shows_hashes() {
        let keys = KeySet::parse(&secret(&[("k1", "acct_1")])).unwrap().keys;
        let debug = format!("{keys:?}");
        assert!(!debug.contains(&hash_key("k1")[..16]), "{debug}");
    }
}
