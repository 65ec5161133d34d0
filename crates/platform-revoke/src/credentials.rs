//! The apps' client credentials, from the JSON of a Secrets Manager secret.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::Platform;

/// One app's client credentials at one platform. `Debug` shows the client id (an identifier,
/// public in every authorize URL) and never the secret.
#[derive(Clone)]
pub struct ClientCredentials {
    client_id: String,
    client_secret: Option<String>,
}

impl ClientCredentials {
    /// A confidential client: an id and its secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        ClientCredentials {
            client_id: client_id.into(),
            client_secret: Some(client_secret.into()),
        }
    }

    /// A public client: an id and no secret (X's public clients; every other platform needs the
    /// secret).
    pub fn public(client_id: impl Into<String>) -> Self {
        ClientCredentials {
            client_id: client_id.into(),
            client_secret: None,
        }
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The secret, for the request only.
    pub(crate) fn client_secret(&self) -> Option<&str> {
        self.client_secret.as_deref()
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = if self.client_secret.is_some() {
            "<redacted>"
        } else {
            "<none>"
        };
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &format_args!("{secret}"))
            .finish()
    }
}

/// The client credentials of every platform that has them, parsed from a secret like
///
/// ```json
/// {"tiktok": {"clientId": "...", "clientSecret": "..."}, "linkedin": {...}, "x": {...},
///  "google": {...}, "meta": {...}, "reddit": {...}, "discord": {...},
///  "mastodon": {"mastodon.social": {"clientId": "...", "clientSecret": "..."}, ...}}
/// ```
///
/// Keys are [`Platform::as_str`]; other keys are ignored (the secret may serve other readers).
/// A platform may be missing: Google needs no credentials, Meta uses them only for
/// `appsecret_proof`, and the others then fail permanently with a reason that says so.
/// `clientId` and `clientSecret` are non-empty strings; X alone may omit `clientSecret` (a
/// public client). Mastodon apps are registered per server, so `mastodon` maps each server's
/// host (lower case) to that server's credentials.
#[derive(Clone, Default)]
pub struct Credentials {
    by_platform: [Option<ClientCredentials>; 8],
    mastodon: BTreeMap<String, ClientCredentials>,
}

impl Credentials {
    /// Parses the secret's JSON. Errors name keys and positions, never values.
    pub fn from_json(text: &str) -> Result<Self, CredentialsError> {
        let value: Value =
            serde_json::from_str(text).map_err(|error| CredentialsError::NotJson {
                line: error.line(),
                column: error.column(),
            })?;
        let Value::Object(object) = value else {
            return Err(CredentialsError::NotAnObject);
        };
        let mut credentials = Credentials::default();
        for platform in Platform::ALL {
            let Some(entry) = object.get(platform.as_str()) else {
                continue;
            };
            let Value::Object(fields) = entry else {
                return Err(CredentialsError::PlatformNotAnObject {
                    platform: platform.as_str(),
                });
            };
            if platform == Platform::Mastodon {
                for (server, entry) in fields {
                    let Value::Object(fields) = entry else {
                        return Err(CredentialsError::PlatformNotAnObject {
                            platform: platform.as_str(),
                        });
                    };
                    let client = client(fields, platform)?;
                    credentials = credentials.with_mastodon_server(server, client);
                }
                continue;
            }
            credentials = credentials.with(platform, client(fields, platform)?);
        }
        Ok(credentials)
    }

    /// These credentials with the Mastodon server `host`'s set to `client`.
    pub fn with_mastodon_server(mut self, host: &str, client: ClientCredentials) -> Self {
        self.mastodon.insert(host.to_ascii_lowercase(), client);
        self
    }

    /// The credentials of the Mastodon server `host` (ASCII case ignored).
    pub fn mastodon_server(&self, host: &str) -> Option<&ClientCredentials> {
        self.mastodon.get(&host.to_ascii_lowercase())
    }

    /// These credentials with `platform`'s set to `client`.
    pub fn with(mut self, platform: Platform, client: ClientCredentials) -> Self {
        self.by_platform[platform.index()] = Some(client);
        self
    }

    pub fn get(&self, platform: Platform) -> Option<&ClientCredentials> {
        self.by_platform[platform.index()].as_ref()
    }

    /// Every client secret, to scrub error reasons with.
    pub(crate) fn secrets(&self) -> impl Iterator<Item = &str> {
        self.by_platform
            .iter()
            .flatten()
            .chain(self.mastodon.values())
            .filter_map(ClientCredentials::client_secret)
    }
}

/// One client's `clientId` and `clientSecret`.
fn client(
    fields: &Map<String, Value>,
    platform: Platform,
) -> Result<ClientCredentials, CredentialsError> {
    let client_id = field(fields, platform, "clientId")?.ok_or(CredentialsError::Missing {
        platform: platform.as_str(),
        field: "clientId",
    })?;
    match field(fields, platform, "clientSecret")? {
        Some(secret) => Ok(ClientCredentials::new(client_id, secret)),
        None if platform == Platform::X => Ok(ClientCredentials::public(client_id)),
        None => Err(CredentialsError::Missing {
            platform: platform.as_str(),
            field: "clientSecret",
        }),
    }
}

/// The string at `name`: `None` when absent or null, an error when another type or empty.
fn field(
    fields: &Map<String, Value>,
    platform: Platform,
    name: &'static str,
) -> Result<Option<String>, CredentialsError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Err(CredentialsError::Empty {
            platform: platform.as_str(),
            field: name,
        }),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(CredentialsError::NotAString {
            platform: platform.as_str(),
            field: name,
        }),
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for platform in Platform::ALL {
            if let Some(client) = self.get(platform) {
                map.entry(&platform.as_str(), client);
            }
        }
        for (server, client) in &self.mastodon {
            map.entry(&format_args!("mastodon:{server}"), client);
        }
        map.finish()
    }
}

/// Why the credentials secret did not parse. Names keys and positions, never a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("the credentials secret is not valid JSON (line {line}, column {column})")]
    NotJson { line: usize, column: usize },
    #[error("the credentials secret is not a JSON object")]
    NotAnObject,
    #[error("the credentials secret's \"{platform}\" is not an object")]
    PlatformNotAnObject { platform: &'static str },
    #[error("the credentials secret's \"{platform}\" has no \"{field}\"")]
    Missing {
        platform: &'static str,
        field: &'static str,
    },
    #[error("the credentials secret's \"{platform}\".\"{field}\" is not a string")]
    NotAString {
        platform: &'static str,
        field: &'static str,
    },
    #[error("the credentials secret's \"{platform}\".\"{field}\" is empty")]
    Empty {
        platform: &'static str,
        field: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_secret_parses_every_platform() {
        let credentials = Credentials::from_json(
            r#"{
                "google": {"clientId": "g-id", "clientSecret": "g-secret"},
                "tiktok": {"clientId": "t-key", "clientSecret": "t-secret"},
                "meta": {"clientId": "m-app", "clientSecret": "m-secret"},
                "linkedin": {"clientId": "l-id", "clientSecret": "l-secret"},
                "x": {"clientId": "x-id", "clientSecret": "x-secret"},
                "reddit": {"clientId": "r-id", "clientSecret": "r-secret"},
                "discord": {"clientId": "d-id", "clientSecret": "d-secret"},
                "mastodon": {"Mastodon.Social": {"clientId": "ms-id", "clientSecret": "ms-secret"}},
                "pinterest": {"anything": 1}
            }"#,
        )
        .expect("parses");
        for (platform, id, secret) in [
            (Platform::Google, "g-id", "g-secret"),
            (Platform::TikTok, "t-key", "t-secret"),
            (Platform::Meta, "m-app", "m-secret"),
            (Platform::LinkedIn, "l-id", "l-secret"),
            (Platform::X, "x-id", "x-secret"),
            (Platform::Reddit, "r-id", "r-secret"),
            (Platform::Discord, "d-id", "d-secret"),
        ] {
            let client = credentials.get(platform).expect("present");
            assert_eq!(client.client_id(), id);
            assert_eq!(client.client_secret(), Some(secret));
        }
        let server = credentials
            .mastodon_server("mastodon.social")
            .expect("present");
        assert_eq!(server.client_secret(), Some("ms-secret"));
        assert!(credentials.get(Platform::Mastodon).is_none());
        assert!(credentials.mastodon_server("fosstodon.org").is_none());
        assert_eq!(credentials.secrets().count(), 8);
    }

    #[test]
    fn a_mastodon_server_needs_both_fields() {
        assert_eq!(
            Credentials::from_json(r#"{"mastodon": {"a.example": {"clientId": "id"}}}"#).err(),
            Some(CredentialsError::Missing {
                platform: "mastodon",
                field: "clientSecret"
            })
        );
        assert_eq!(
            Credentials::from_json(r#"{"mastodon": {"a.example": "id"}}"#).err(),
            Some(CredentialsError::PlatformNotAnObject {
                platform: "mastodon"
            })
        );
    }

    #[test]
    fn missing_platforms_are_allowed_and_x_alone_may_be_a_public_client() {
        let credentials = Credentials::from_json(r#"{"x": {"clientId": "x-id"}}"#).expect("parses");
        assert_eq!(credentials.get(Platform::X).unwrap().client_secret(), None);
        for platform in [
            Platform::Google,
            Platform::TikTok,
            Platform::Meta,
            Platform::LinkedIn,
        ] {
            assert!(credentials.get(platform).is_none());
        }
        assert!(Credentials::from_json("{}").is_ok());
        assert_eq!(
            Credentials::from_json(r#"{"linkedin": {"clientId": "l-id"}}"#).err(),
            Some(CredentialsError::Missing {
                platform: "linkedin",
                field: "clientSecret"
            })
        );
    }

    #[test]
    fn credentials_errors_never_quote_a_value_from_the_secret() {
        let value = "sEcReT-VaLuE-42";
        let cases: Vec<(String, CredentialsError)> = vec![
            (
                format!(r#"{{"tiktok": {{"clientId": "{value}", "clientSecret": {value}}}}}"#),
                CredentialsError::NotJson {
                    line: 1,
                    column: 60,
                },
            ),
            (format!(r#""{value}""#), CredentialsError::NotAnObject),
            (format!("[\"{value}\"]"), CredentialsError::NotAnObject),
            (
                format!(r#"{{"tiktok": "{value}"}}"#),
                CredentialsError::PlatformNotAnObject { platform: "tiktok" },
            ),
            (
                format!(r#"{{"linkedin": {{"clientSecret": "{value}"}}}}"#),
                CredentialsError::Missing {
                    platform: "linkedin",
                    field: "clientId",
                },
            ),
            (
                format!(r#"{{"x": {{"clientId": "id", "clientSecret": ["{value}"]}}}}"#),
                CredentialsError::NotAString {
                    platform: "x",
                    field: "clientSecret",
                },
            ),
            (
                format!(r#"{{"meta": {{"clientId": "", "clientSecret": "{value}"}}}}"#),
                CredentialsError::Empty {
                    platform: "meta",
                    field: "clientId",
                },
            ),
            (
                format!(r#"{{"google": {{"clientId": 42, "clientSecret": "{value}"}}}}"#),
                CredentialsError::NotAString {
                    platform: "google",
                    field: "clientId",
                },
            ),
            (
                format!(r#"{{"x": {{"clientId": "{value}""#),
                CredentialsError::NotJson {
                    line: 1,
                    column: 36,
                },
            ),
        ];
        for (text, expected) in cases {
            let error = Credentials::from_json(&text).expect_err(&expected.to_string());
            assert_eq!(error, expected, "{}", error);
            for shown in [error.to_string(), format!("{error:?}")] {
                assert!(!shown.contains(value), "quotes a value: {shown}");
                assert!(!shown.contains("42"), "quotes a value: {shown}");
            }
        }
    }

    #[test]
    fn client_credentials_debug_shows_the_id_and_redacts_the_secret() {
        let confidential = ClientCredentials::new("the-id", "the-secret");
        assert_eq!(
            format!("{confidential:?}"),
            r#"ClientCredentials { client_id: "the-id", client_secret: <redacted> }"#
        );
        let public = ClientCredentials::public("the-id");
        assert_eq!(
            format!("{public:?}"),
            r#"ClientCredentials { client_id: "the-id", client_secret: <none> }"#
        );
        let credentials = Credentials::default().with(Platform::LinkedIn, confidential);
        let debug = format!("{credentials:?}");
        assert!(!debug.contains("the-secret"), "{debug}");
        assert!(debug.contains("linkedin"), "{debug}");
    }
}
