//! Where each platform's revoke call goes.

use reqwest::Url;

use crate::Platform;

/// The base URL of each platform's revoke call: scheme, host and optionally a path prefix. The
/// adapter appends the documented path ([`Endpoints::revoke_path`]), so an override points a
/// platform at a test server or a local stub without changing what is asked of it.
///
/// | platform | default | override |
/// |---|---|---|
/// | Google | `https://oauth2.googleapis.com` | `REVOKE_ENDPOINT_GOOGLE` |
/// | TikTok | `https://open.tiktokapis.com` | `REVOKE_ENDPOINT_TIKTOK` |
/// | Meta | `https://graph.facebook.com` | `REVOKE_ENDPOINT_META` |
/// | LinkedIn | `https://www.linkedin.com` | `REVOKE_ENDPOINT_LINKEDIN` |
/// | X | `https://api.x.com` | `REVOKE_ENDPOINT_X` |
/// | Reddit | `https://www.reddit.com` | `REVOKE_ENDPOINT_REDDIT` |
/// | Discord | `https://discord.com` | `REVOKE_ENDPOINT_DISCORD` |
/// | Mastodon | the account's own server (the token item's `server`) | none |
///
/// An override must be an `https` URL; `http` is accepted only for a loopback host (`localhost`,
/// `127.0.0.1`, `[::1]`: local stubs and tests). Anything else is refused when the
/// configuration is read, naming the variable: one wrong variable must not send tokens and
/// client secrets in clear text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    bases: [Option<String>; 8],
}

/// An override that is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("{variable} is not a URL")]
    NotAUrl { variable: &'static str },
    #[error("{variable} must be an https URL (http only for a loopback host)")]
    NotHttps { variable: &'static str },
}

impl Endpoints {
    /// The platforms' own hosts.
    pub fn defaults() -> Self {
        Endpoints {
            bases: Platform::ALL.map(|platform| Self::default_base(platform).map(str::to_owned)),
        }
    }

    /// The defaults, each replaced by the value `lookup` gives for its variable (an absent or
    /// empty value keeps the default). `Endpoints::from_lookup(|name| std::env::var(name).ok())`
    /// reads the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, EndpointError> {
        let mut endpoints = Self::defaults();
        for platform in Platform::ALL {
            let Some(variable) = Self::variable(platform) else {
                continue;
            };
            if let Some(base) = lookup(variable) {
                let base = base.trim();
                if !base.is_empty() {
                    check(variable, base)?;
                    endpoints.bases[platform.index()] = Some(base.to_owned());
                }
            }
        }
        Ok(endpoints)
    }

    /// These endpoints with `platform`'s base set to `base`, checked as an override is.
    pub fn with_base(
        mut self,
        platform: Platform,
        base: impl Into<String>,
    ) -> Result<Self, EndpointError> {
        let base = base.into();
        let variable = Self::variable(platform).unwrap_or("the endpoint");
        check(variable, &base)?;
        self.bases[platform.index()] = Some(base);
        Ok(self)
    }

    /// `platform`'s base URL; `None` for Mastodon, whose host comes from data.
    pub fn base(&self, platform: Platform) -> Option<&str> {
        self.bases[platform.index()].as_deref()
    }

    /// The variable that overrides `platform`'s base: `REVOKE_ENDPOINT_GOOGLE`, ...
    pub fn variable(platform: Platform) -> Option<&'static str> {
        Some(match platform {
            Platform::Google => "REVOKE_ENDPOINT_GOOGLE",
            Platform::TikTok => "REVOKE_ENDPOINT_TIKTOK",
            Platform::Meta => "REVOKE_ENDPOINT_META",
            Platform::LinkedIn => "REVOKE_ENDPOINT_LINKEDIN",
            Platform::X => "REVOKE_ENDPOINT_X",
            Platform::Reddit => "REVOKE_ENDPOINT_REDDIT",
            Platform::Discord => "REVOKE_ENDPOINT_DISCORD",
            Platform::Mastodon => return None,
        })
    }

    /// The path of `platform`'s revoke call, after its base URL: the one list of the revoke
    /// paths, read by the adapters and the tests; a check in `crates/stack-checks` holds the
    /// local stub's routes (`scripts/local/platform-stub.py`) to it. Each adapter's module
    /// cites the page that gives its path; Meta's batch goes to the root.
    pub const fn revoke_path(platform: Platform) -> &'static str {
        match platform {
            Platform::Google => "/revoke",
            Platform::TikTok => "/v2/oauth/revoke/",
            Platform::Meta => "/",
            Platform::LinkedIn => "/oauth/v2/revoke",
            Platform::X => "/2/oauth2/revoke",
            Platform::Reddit => "/api/v1/revoke_token",
            Platform::Discord => "/api/oauth2/token/revoke",
            Platform::Mastodon => "/oauth/revoke",
        }
    }

    /// The path of TikTok's refresh call, which comes before a refresh token's revocation (see
    /// `tiktok`).
    pub const TIKTOK_REFRESH_PATH: &str = "/v2/oauth/token/";

    /// Every path an adapter posts to, with its platform: each revoke path, then TikTok's
    /// refresh.
    pub fn paths() -> impl Iterator<Item = (Platform, &'static str)> {
        Platform::ALL
            .into_iter()
            .map(|platform| (platform, Self::revoke_path(platform)))
            .chain([(Platform::TikTok, Self::TIKTOK_REFRESH_PATH)])
    }

    /// `platform`'s own host.
    pub fn default_base(platform: Platform) -> Option<&'static str> {
        Some(match platform {
            Platform::Google => "https://oauth2.googleapis.com",
            Platform::TikTok => "https://open.tiktokapis.com",
            Platform::Meta => "https://graph.facebook.com",
            Platform::LinkedIn => "https://www.linkedin.com",
            Platform::X => "https://api.x.com",
            Platform::Reddit => "https://www.reddit.com",
            Platform::Discord => "https://discord.com",
            Platform::Mastodon => return None,
        })
    }
}

impl Default for Endpoints {
    fn default() -> Self {
        Self::defaults()
    }
}

/// `https`, or `http` to a loopback host.
fn check(variable: &'static str, base: &str) -> Result<(), EndpointError> {
    let url = Url::parse(base).map_err(|_| EndpointError::NotAUrl { variable })?;
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(EndpointError::NotAUrl { variable }),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(EndpointError::NotHttps { variable }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_platforms_own_https_hosts() {
        let endpoints = Endpoints::defaults();
        assert_eq!(
            Platform::ALL.map(|p| endpoints.base(p)),
            [
                Some("https://oauth2.googleapis.com"),
                Some("https://open.tiktokapis.com"),
                Some("https://graph.facebook.com"),
                Some("https://www.linkedin.com"),
                Some("https://api.x.com"),
                Some("https://www.reddit.com"),
                Some("https://discord.com"),
                None,
            ]
        );
    }

    #[test]
    fn each_variable_overrides_its_platform_and_empty_values_keep_the_default() {
        let endpoints = Endpoints::from_lookup(|name| match name {
            "REVOKE_ENDPOINT_GOOGLE" => Some("http://127.0.0.1:9001".to_owned()),
            "REVOKE_ENDPOINT_TIKTOK" => Some(" http://127.0.0.1:9002/tiktok ".to_owned()),
            "REVOKE_ENDPOINT_META" => Some(String::new()),
            "REVOKE_ENDPOINT_X" => Some("http://localhost:9005".to_owned()),
            "REVOKE_ENDPOINT_REDDIT" => Some("https://reddit.stub.example".to_owned()),
            "REVOKE_ENDPOINT_DISCORD" => Some("http://[::1]:9007".to_owned()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            endpoints.base(Platform::Google),
            Some("http://127.0.0.1:9001")
        );
        assert_eq!(
            endpoints.base(Platform::TikTok),
            Some("http://127.0.0.1:9002/tiktok")
        );
        assert_eq!(
            endpoints.base(Platform::Meta),
            Some("https://graph.facebook.com")
        );
        assert_eq!(
            endpoints.base(Platform::LinkedIn),
            Some("https://www.linkedin.com")
        );
        assert_eq!(endpoints.base(Platform::X), Some("http://localhost:9005"));
        assert_eq!(
            endpoints.base(Platform::Reddit),
            Some("https://reddit.stub.example")
        );
        assert_eq!(endpoints.base(Platform::Discord), Some("http://[::1]:9007"));
        assert_eq!(
            Endpoints::from_lookup(|_| None).unwrap(),
            Endpoints::defaults()
        );
    }

    /// The local stub and the tests' stub servers tell the platforms apart by path alone.
    #[test]
    fn every_path_is_its_own_and_starts_at_the_root() {
        let paths: Vec<_> = Endpoints::paths().collect();
        for (i, (platform, path)) in paths.iter().enumerate() {
            assert!(path.starts_with('/'), "{platform}: {path}");
            assert!(
                paths[..i].iter().all(|(_, earlier)| earlier != path),
                "{platform}: {path} twice"
            );
        }
        let revoke: Vec<_> = Platform::ALL
            .map(|platform| (platform, Endpoints::revoke_path(platform)))
            .into();
        assert_eq!(paths[..Platform::ALL.len()], revoke, "every revoke path");
        assert_eq!(
            paths[Platform::ALL.len()..],
            [(Platform::TikTok, Endpoints::TIKTOK_REFRESH_PATH)]
        );
    }

    #[test]
    fn an_override_in_clear_text_to_another_host_is_refused_naming_the_variable() {
        let cases = [
            (
                "REVOKE_ENDPOINT_GOOGLE",
                "http://oauth2.googleapis.com",
                "must be an https URL",
            ),
            (
                "REVOKE_ENDPOINT_X",
                "http://10.0.0.5:8080",
                "must be an https URL",
            ),
            (
                "REVOKE_ENDPOINT_REDDIT",
                "http://localhost.evil.example",
                "must be an https URL",
            ),
            (
                "REVOKE_ENDPOINT_DISCORD",
                "ftp://discord.com",
                "must be an https URL",
            ),
            ("REVOKE_ENDPOINT_TIKTOK", "not a url", "is not a URL"),
            ("REVOKE_ENDPOINT_META", "unix:/run/socket", "is not a URL"),
        ];
        for (variable, value, message) in cases {
            let error = Endpoints::from_lookup(|name| (name == variable).then(|| value.to_owned()))
                .expect_err(value);
            let shown = error.to_string();
            assert!(shown.starts_with(variable), "{shown}");
            assert!(shown.contains(message), "{shown}");
        }
        assert!(
            Endpoints::defaults()
                .with_base(Platform::Google, "http://example.com")
                .is_err()
        );
    }
}
