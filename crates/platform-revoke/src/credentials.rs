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
    user_agent: UserAgentParts,
}

/// The parts of the `User-Agent` a platform asks its clients for (see `user_agent`), from the
/// optional fields of the platform's entry in the credentials secret: Reddit's
/// `userAgentAppId` and `userAgentUsername`, Discord's `userAgentUrl`. None is a secret.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct UserAgentParts {
    /// Reddit's `<app ID>`.
    pub app_id: Option<String>,
    /// Reddit's `<reddit username>`, without `/u/`.
    pub username: Option<String>,
    /// Discord's `$url`.
    pub url: Option<String>,
}

impl ClientCredentials {
    /// A confidential client: an id and its secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        ClientCredentials {
            client_id: client_id.into(),
            client_secret: Some(client_secret.into()),
            user_agent: UserAgentParts::default(),
        }
    }

    /// A public client: an id and no secret (X's public clients; every other platform needs the
    /// secret).
    pub fn public(client_id: impl Into<String>) -> Self {
        ClientCredentials {
            client_id: client_id.into(),
            client_secret: None,
            user_agent: UserAgentParts::default(),
        }
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The secret, for the request only.
    pub(crate) fn client_secret(&self) -> Option<&str> {
        self.client_secret.as_deref()
    }

    /// The parts of the `User-Agent` the platform asks for, as the secret gave them.
    pub(crate) fn user_agent(&self) -> &UserAgentParts {
        &self.user_agent
    }

    #[cfg(test)]
    pub(crate) fn user_agent_mut(&mut self) -> &mut UserAgentParts {
        &mut self.user_agent
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = if self.client_secret.is_some() {
            "<redacted>"
        } else {
            "<none>"
        };
        let mut debug = f.debug_struct("ClientCredentials");
        debug
            .field("client_id", &self.client_id)
            .field("client_secret", &format_args!("{secret}"));
        if self.user_agent != UserAgentParts::default() {
            debug.field("user_agent", &self.user_agent);
        }
        debug.finish()
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
///
/// Optional, for the `User-Agent` the platform asks for (see `user_agent`; none is a secret):
/// `reddit` may hold `userAgentAppId` (Reddit's `<app ID>`: 1 to 64 letters, digits, `.`, `_`
/// or `-`; default the `clientId`) and `userAgentUsername` (the Reddit account to contact,
/// without `/u/`: 3 to 20 letters, digits, `_` or `-`); `discord` may hold `userAgentUrl`
/// (Discord's `$url`: an `https` or `http` URL of at most 200 characters, without `,`, `(` or
/// `)`). Other platforms' entries ignore them, like any other field.
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
            let mut client = client(fields, platform)?;
            client.user_agent = user_agent_parts(fields, platform)?;
            credentials = credentials.with(platform, client);
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

/// The optional `User-Agent` fields of `platform`'s entry: Reddit's and Discord's only.
fn user_agent_parts(
    fields: &Map<String, Value>,
    platform: Platform,
) -> Result<UserAgentParts, CredentialsError> {
    let checked = |name: &'static str, valid: fn(&str) -> bool, expected: &'static str| match field(
        fields, platform, name,
    )? {
        Some(text) if !valid(&text) => Err(CredentialsError::Invalid {
            platform: platform.as_str(),
            field: name,
            expected,
        }),
        other => Ok(other),
    };
    Ok(match platform {
        Platform::Reddit => UserAgentParts {
            app_id: checked("userAgentAppId", valid_app_id, APP_ID)?,
            username: checked("userAgentUsername", valid_username, USERNAME)?,
            url: None,
        },
        Platform::Discord => UserAgentParts {
            url: checked("userAgentUrl", valid_url, URL)?,
            ..UserAgentParts::default()
        },
        _ => UserAgentParts::default(),
    })
}

const APP_ID: &str = "1 to 64 letters, digits, '.', '_' or '-'";
const USERNAME: &str = "3 to 20 letters, digits, '_' or '-' (without /u/)";
const URL: &str = "an https or http URL of at most 200 characters, without ',', '(' or ')'";

/// Reddit's `<app ID>`: nothing that would end it (`:`) or the header.
pub(crate) fn valid_app_id(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A Reddit username: 3 to 20 letters, digits, `_` or `-`.
pub(crate) fn valid_username(text: &str) -> bool {
    (3..=20).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// Discord's `$url`: an absolute `https` or `http` URL, written as it is sent, that cannot end
/// the parenthesised part of the header early.
pub(crate) fn valid_url(text: &str) -> bool {
    text.len() <= 200
        && text
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b',' | b'(' | b')' | b'\\'))
        && url::Url::parse(text)
            .is_ok_and(|url| matches!(url.scheme(), "https" | "http") && url.host().is_some())
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
    #[error("the credentials secret's \"{platform}\".\"{field}\" is not {expected}")]
    Invalid {
        platform: &'static str,
        field: &'static str,
        expected: &'static str,
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
    fn reddit_and_discord_take_the_parts_of_their_user_agent_from_their_entries() {
        let credentials = Credentials::from_json(
            r#"{
                "reddit": {"clientId": "r-id", "clientSecret": "r-secret",
                           "userAgentAppId": "com.example.revoker",
                           "userAgentUsername": "example_dev"},
                "discord": {"clientId": "d-id", "clientSecret": "d-secret",
                            "userAgentUrl": "https://example.com/revoker"},
                "x": {"clientId": "x-id", "userAgentUrl": "ignored here"}
            }"#,
        )
        .expect("parses");
        assert_eq!(
            credentials.get(Platform::Reddit).unwrap().user_agent(),
            &UserAgentParts {
                app_id: Some("com.example.revoker".into()),
                username: Some("example_dev".into()),
                url: None,
            }
        );
        assert_eq!(
            credentials.get(Platform::Discord).unwrap().user_agent(),
            &UserAgentParts {
                url: Some("https://example.com/revoker".into()),
                ..UserAgentParts::default()
            }
        );
        assert_eq!(
            credentials.get(Platform::X).unwrap().user_agent(),
            &UserAgentParts::default()
        );
        // Optional: an entry without them parses as before.
        let plain =
            Credentials::from_json(r#"{"reddit": {"clientId": "r-id", "clientSecret": "s"}}"#)
                .unwrap();
        assert_eq!(
            plain.get(Platform::Reddit).unwrap().user_agent(),
            &UserAgentParts::default()
        );
        let debug = format!("{credentials:?}");
        assert!(debug.contains("example_dev"), "{debug}");
        assert!(!debug.contains("r-secret"), "{debug}");
    }

    #[test]
    fn a_user_agent_part_that_would_break_its_form_is_refused_without_quoting_it() {
        let cases = [
            (
                "reddit",
                "userAgentAppId",
                "com.example:v2",
                "1 to 64 letters",
            ),
            ("reddit", "userAgentAppId", "two words", "1 to 64 letters"),
            (
                "reddit",
                "userAgentUsername",
                "/u/someone",
                "3 to 20 letters",
            ),
            ("reddit", "userAgentUsername", "ab", "3 to 20 letters"),
            (
                "reddit",
                "userAgentUsername",
                "name\\nInjected: 1",
                "3 to 20 letters",
            ),
            (
                "discord",
                "userAgentUrl",
                "example.com",
                "an https or http URL",
            ),
            (
                "discord",
                "userAgentUrl",
                "ftp://example.com",
                "an https or http URL",
            ),
            (
                "discord",
                "userAgentUrl",
                "https://example.com/a,b",
                "an https or http URL",
            ),
            (
                "discord",
                "userAgentUrl",
                "https://example.com/(x)",
                "an https or http URL",
            ),
            (
                "discord",
                "userAgentUrl",
                "https://example.com/a b",
                "an https or http URL",
            ),
        ];
        for (platform, field, value, expected) in cases {
            let text = format!(
                r#"{{"{platform}": {{"clientId": "id", "clientSecret": "s", "{field}": "{value}"}}}}"#
            );
            let error = Credentials::from_json(&text).expect_err(value);
            assert!(
                matches!(error, CredentialsError::Invalid { platform: p, field: f, .. }
                    if p == platform && f == field),
                "{value}: {error:?}"
            );
            let shown = error.to_string();
            assert!(shown.contains(expected), "{shown}");
            assert!(!shown.contains(value), "quotes a value: {shown}");
        }
        assert_eq!(
            Credentials::from_json(
                r#"{"reddit": {"clientId": "id", "clientSecret": "s", "userAgentUsername": 7}}"#
            )
            .err(),
            Some(CredentialsError::NotAString {
                platform: "reddit",
                field: "userAgentUsername"
            })
        );
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
