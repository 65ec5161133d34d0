//! Where each platform's revoke call goes.

use crate::Platform;

/// The base URL of each platform's revoke call: scheme, host and optionally a path prefix. The
/// adapter appends the documented path (`/revoke`, `/v2/oauth/revoke/`, ...), so an override
/// points a platform at a test server or a local stub without changing what is asked of it.
///
/// | platform | default | override |
/// |---|---|---|
/// | Google | `https://oauth2.googleapis.com` | `REVOKE_ENDPOINT_GOOGLE` |
/// | TikTok | `https://open.tiktokapis.com` | `REVOKE_ENDPOINT_TIKTOK` |
/// | Meta | `https://graph.facebook.com` | `REVOKE_ENDPOINT_META` |
/// | LinkedIn | `https://www.linkedin.com` | `REVOKE_ENDPOINT_LINKEDIN` |
/// | X | `https://api.x.com` | `REVOKE_ENDPOINT_X` |
///
/// An override is taken as given (`http://` too, for loopback stubs); one that is not a URL
/// makes that platform's revocations fail permanently, naming the variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    bases: [String; 5],
}

impl Endpoints {
    /// The platforms' own hosts.
    pub fn defaults() -> Self {
        Endpoints {
            bases: Platform::ALL.map(|platform| Self::default_base(platform).to_owned()),
        }
    }

    /// The defaults, each replaced by the value `lookup` gives for its variable (an absent or
    /// empty value keeps the default). `Endpoints::from_lookup(|name| std::env::var(name).ok())`
    /// reads the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut endpoints = Self::defaults();
        for platform in Platform::ALL {
            if let Some(base) = lookup(Self::variable(platform)) {
                let base = base.trim();
                if !base.is_empty() {
                    endpoints = endpoints.with_base(platform, base);
                }
            }
        }
        endpoints
    }

    /// These endpoints with `platform`'s base set to `base`.
    pub fn with_base(mut self, platform: Platform, base: impl Into<String>) -> Self {
        self.bases[platform.index()] = base.into();
        self
    }

    /// `platform`'s base URL.
    pub fn base(&self, platform: Platform) -> &str {
        &self.bases[platform.index()]
    }

    /// The variable that overrides `platform`'s base: `REVOKE_ENDPOINT_GOOGLE`, ...
    pub fn variable(platform: Platform) -> &'static str {
        match platform {
            Platform::Google => "REVOKE_ENDPOINT_GOOGLE",
            Platform::TikTok => "REVOKE_ENDPOINT_TIKTOK",
            Platform::Meta => "REVOKE_ENDPOINT_META",
            Platform::LinkedIn => "REVOKE_ENDPOINT_LINKEDIN",
            Platform::X => "REVOKE_ENDPOINT_X",
        }
    }

    /// `platform`'s own host.
    pub fn default_base(platform: Platform) -> &'static str {
        match platform {
            Platform::Google => "https://oauth2.googleapis.com",
            Platform::TikTok => "https://open.tiktokapis.com",
            Platform::Meta => "https://graph.facebook.com",
            Platform::LinkedIn => "https://www.linkedin.com",
            Platform::X => "https://api.x.com",
        }
    }
}

impl Default for Endpoints {
    fn default() -> Self {
        Self::defaults()
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
                "https://oauth2.googleapis.com",
                "https://open.tiktokapis.com",
                "https://graph.facebook.com",
                "https://www.linkedin.com",
                "https://api.x.com",
            ]
        );
    }

    #[test]
    fn each_variable_overrides_its_platform_and_empty_values_keep_the_default() {
        let endpoints = Endpoints::from_lookup(|name| match name {
            "REVOKE_ENDPOINT_GOOGLE" => Some("http://127.0.0.1:9001".to_owned()),
            "REVOKE_ENDPOINT_TIKTOK" => Some(" http://127.0.0.1:9002/tiktok ".to_owned()),
            "REVOKE_ENDPOINT_META" => Some(String::new()),
            "REVOKE_ENDPOINT_LINKEDIN" => None,
            "REVOKE_ENDPOINT_X" => Some("http://localhost:9005".to_owned()),
            other => panic!("unexpected variable {other}"),
        });
        assert_eq!(endpoints.base(Platform::Google), "http://127.0.0.1:9001");
        assert_eq!(
            endpoints.base(Platform::TikTok),
            "http://127.0.0.1:9002/tiktok"
        );
        assert_eq!(endpoints.base(Platform::Meta), "https://graph.facebook.com");
        assert_eq!(
            endpoints.base(Platform::LinkedIn),
            "https://www.linkedin.com"
        );
        assert_eq!(endpoints.base(Platform::X), "http://localhost:9005");
        assert_eq!(Endpoints::from_lookup(|_| None), Endpoints::defaults());
    }
}
