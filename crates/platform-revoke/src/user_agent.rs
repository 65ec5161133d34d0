//! The `User-Agent` of each call: the form a platform asks for where it asks for one, else the
//! client's own `platform-revoke/<version>`.
//!
//! - **Reddit.** API rules (<https://github.com/reddit-archive/reddit/wiki/API>, read
//!   2026-12-07): "Change your client's User-Agent string to something unique and descriptive,
//!   including the target platform, a unique application identifier, a version string, and your
//!   username as contact information, in the following format: `<platform>:<app ID>:<version
//!   string> (by /u/<reddit username>)`", for example `android:com.example.myredditapp:v1.2.3
//!   (by /u/kemitche)`; "Many default User-Agents (like "Python/urllib" or "Java") are
//!   drastically limited"; "NEVER lie about your user-agent". So: the target platform is the
//!   operating system the binary was built for (`linux` on Lambda), the app ID the secret's
//!   `reddit.userAgentAppId` or else the app's `clientId` (Reddit's own identifier of the app),
//!   the version `v` and this crate's version, and the contact the secret's
//!   `reddit.userAgentUsername`. Without a username the `(by /u/...)` part is left out rather
//!   than invented: the rest of the form stays, and docs/revocation.md asks operators to set it.
//! - **Discord.** API reference, "User Agent"
//!   (<https://discord.com/developers/docs/reference#user-agent>, read 2026-12-07 from the docs'
//!   source, discord/discord-api-docs `developers/reference.mdx` c98d64b): "Clients using the
//!   HTTP API must provide a valid User Agent which specifies information about the client
//!   library and version in the following format: `User-Agent: DiscordBot ($url,
//!   $versionNumber)`"; "Client requests that do not have a valid User Agent specified may be
//!   blocked and return a Cloudflare error". So: `DiscordBot (<url>, <this crate's version>)`,
//!   the URL being the secret's `discord.userAgentUrl`, or else the app's own authorization URL
//!   at Discord (`https://discord.com/oauth2/authorize?client_id=<clientId>`; the client id is
//!   public in every authorization URL).
//! - **The others** (Google, TikTok, Meta, LinkedIn, X, Mastodon): no page read for this crate
//!   asks for a form; they get the client's default, `platform-revoke/<version>`.
//!
//! The parts are checked when the secret is read (`Credentials::from_json`); a part that would
//! not fit the form (set some other way) is replaced by its default, never sent.

use crate::ClientCredentials;
use crate::credentials::{valid_app_id, valid_url, valid_username};

/// Every call's `User-Agent` unless its platform asks for another.
pub(crate) const DEFAULT: &str = concat!("platform-revoke/", env!("CARGO_PKG_VERSION"));

/// `<platform>:<app ID>:v<version> (by /u/<username>)`.
pub(crate) fn reddit(client: &ClientCredentials) -> String {
    let parts = client.user_agent();
    let app_id = parts
        .app_id
        .as_deref()
        .filter(|id| valid_app_id(id))
        .unwrap_or_else(|| client.client_id());
    // The client id fills the app ID only where it fits the form.
    let app_id = if valid_app_id(app_id) {
        app_id
    } else {
        "platform-revoke"
    };
    let mut agent = format!(
        "{}:{app_id}:v{}",
        std::env::consts::OS,
        env!("CARGO_PKG_VERSION")
    );
    if let Some(username) = parts.username.as_deref().filter(|u| valid_username(u)) {
        agent.push_str(&format!(" (by /u/{username})"));
    }
    agent
}

/// `DiscordBot (<url>, <version>)`.
pub(crate) fn discord(client: &ClientCredentials) -> String {
    let url = match client.user_agent().url.as_deref().filter(|u| valid_url(u)) {
        Some(url) => url.to_owned(),
        None => reqwest::Url::parse_with_params(
            "https://discord.com/oauth2/authorize",
            [("client_id", client.client_id())],
        )
        .expect("a constant base URL parses")
        .to_string(),
    };
    format!("DiscordBot ({url}, {})", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::UserAgentParts;

    fn client(id: &str, parts: UserAgentParts) -> ClientCredentials {
        let mut client = ClientCredentials::new(id, "secret");
        *client.user_agent_mut() = parts;
        client
    }

    const VERSION: &str = env!("CARGO_PKG_VERSION");

    #[test]
    fn reddit_gets_its_documented_form_with_the_parts_from_the_secret() {
        let parts = UserAgentParts {
            app_id: Some("com.example.revoker".into()),
            username: Some("example_dev".into()),
            url: None,
        };
        assert_eq!(
            reddit(&client("r-id", parts)),
            format!(
                "{}:com.example.revoker:v{VERSION} (by /u/example_dev)",
                std::env::consts::OS
            )
        );
    }

    #[test]
    fn reddit_without_parts_names_the_app_by_its_client_id_and_invents_no_username() {
        assert_eq!(
            reddit(&client("Ab-12_cd", UserAgentParts::default())),
            format!("{}:Ab-12_cd:v{VERSION}", std::env::consts::OS)
        );
        // A part that would break the form is never sent.
        let parts = UserAgentParts {
            app_id: Some("two words".into()),
            username: Some("/u/someone".into()),
            url: None,
        };
        assert_eq!(
            reddit(&client("id:with:colons", parts)),
            format!("{}:platform-revoke:v{VERSION}", std::env::consts::OS)
        );
    }

    #[test]
    fn discord_gets_its_documented_form_with_the_url_from_the_secret_or_the_apps_own() {
        let parts = UserAgentParts {
            url: Some("https://example.com/revoker".into()),
            ..UserAgentParts::default()
        };
        assert_eq!(
            discord(&client("123", parts)),
            format!("DiscordBot (https://example.com/revoker, {VERSION})")
        );
        assert_eq!(
            discord(&client("332269999912132097", UserAgentParts::default())),
            format!(
                "DiscordBot (https://discord.com/oauth2/authorize?client_id=332269999912132097, \
                 {VERSION})"
            )
        );
        // An id that would end the parenthesis early is encoded.
        let agent = discord(&client("a, b)", UserAgentParts::default()));
        assert_eq!(
            agent,
            format!(
                "DiscordBot (https://discord.com/oauth2/authorize?client_id=a%2C+b%29, {VERSION})"
            )
        );
        assert!(reqwest::header::HeaderValue::from_str(&agent).is_ok());
    }

    #[test]
    fn the_others_keep_the_clients_own_agent() {
        assert_eq!(DEFAULT, format!("platform-revoke/{VERSION}"));
    }
}
