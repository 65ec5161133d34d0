//! The one list of integration types: the values of an integration item's `type` attribute
//! that the workspace knows by name. The metrics take their `IntegrationType` dimension from it
//! (any other type is counted as `other`), and the revoker maps each of them to a platform's
//! revoke call or to `unsupported`, with an exhaustive `match`: a type added here must be
//! decided there before the workspace compiles.

use std::fmt;

/// A known integration type. `type` is written in lower case; [`IntegrationType::parse`]
/// ignores ASCII case and nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IntegrationType {
    Youtube,
    Google,
    GoogleBusiness,
    Tiktok,
    Instagram,
    Facebook,
    Threads,
    Linkedin,
    X,
    Twitter,
    Pinterest,
    Bluesky,
    Reddit,
    Discord,
    Mastodon,
    Snapchat,
    Telegram,
}

impl IntegrationType {
    /// Every known type, in a fixed order.
    pub const ALL: [IntegrationType; 17] = [
        Self::Youtube,
        Self::Google,
        Self::GoogleBusiness,
        Self::Tiktok,
        Self::Instagram,
        Self::Facebook,
        Self::Threads,
        Self::Linkedin,
        Self::X,
        Self::Twitter,
        Self::Pinterest,
        Self::Bluesky,
        Self::Reddit,
        Self::Discord,
        Self::Mastodon,
        Self::Snapchat,
        Self::Telegram,
    ];

    /// The value of `type`, lower case.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Youtube => "youtube",
            Self::Google => "google",
            Self::GoogleBusiness => "google_business",
            Self::Tiktok => "tiktok",
            Self::Instagram => "instagram",
            Self::Facebook => "facebook",
            Self::Threads => "threads",
            Self::Linkedin => "linkedin",
            Self::X => "x",
            Self::Twitter => "twitter",
            Self::Pinterest => "pinterest",
            Self::Bluesky => "bluesky",
            Self::Reddit => "reddit",
            Self::Discord => "discord",
            Self::Mastodon => "mastodon",
            Self::Snapchat => "snapchat",
            Self::Telegram => "telegram",
        }
    }

    /// The known type `text` names, ASCII case ignored (`YouTube` is `youtube`); nothing else is
    /// forgiven (no trimming, no separators).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for IntegrationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_parses_back_from_its_name_in_any_ascii_case() {
        for t in IntegrationType::ALL {
            assert_eq!(IntegrationType::parse(t.as_str()), Some(t));
            assert_eq!(
                IntegrationType::parse(&t.as_str().to_ascii_uppercase()),
                Some(t)
            );
            assert_eq!(t.to_string(), t.as_str());
        }
    }

    #[test]
    fn names_are_distinct_lower_case_and_nothing_else_parses() {
        let mut names: Vec<&str> = IntegrationType::ALL.iter().map(|t| t.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), IntegrationType::ALL.len());
        for name in names {
            assert_eq!(name, name.to_ascii_lowercase());
        }
        for other in [
            "",
            " youtube",
            "youtube ",
            "google-business",
            "meta",
            "ｙoutube",
            "other",
        ] {
            assert_eq!(IntegrationType::parse(other), None, "{other:?}");
        }
    }
}
