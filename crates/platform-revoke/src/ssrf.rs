//! The guard for hosts that come from data (a Mastodon account's `server`): a request with a
//! token and a client secret must never reach an address inside the network.
//!
//! A server is accepted when it is a DNS name (no IP literal, no user info, no path, no port but
//! 443), reached over `https`, and every address it resolves to is a public unicast address.
//! The same check runs again when the client connects ([`GuardedResolver`]), so a name that
//! resolves somewhere else the second time (DNS rebinding) still cannot reach inside.
//!
//! Loopback (`localhost`, over `http` or `https`, on any port) is accepted only under the
//! explicit local-development switch `REVOKE_ALLOW_LOOPBACK=true` (`make dev`, the tests); an
//! IP literal never is.
//!
//! Hand-written: std's `IpAddr::is_global` is unstable, and no well-kept crate classifies
//! addresses for this purpose; the ranges are IANA's special-purpose registries (RFC 6890 and
//! its updates).

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::http::Failure;

/// Resolves a name to its addresses (the system's resolver; tests give their own).
pub(crate) type Lookup = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>
        + Send
        + Sync,
>;

/// The system's resolver.
pub(crate) fn system_lookup() -> Lookup {
    Arc::new(|name: String| {
        Box::pin(async move {
            let addresses = tokio::net::lookup_host((name.as_str(), 0)).await?;
            Ok(addresses.map(|a| a.ip()).collect())
        })
    })
}

/// The guard's settings.
#[derive(Clone)]
pub(crate) struct Guard {
    pub allow_loopback: bool,
    pub lookup: Lookup,
}

impl Guard {
    /// The base URL of `server` (`mastodon.social`, or `https://mastodon.social`), refused unless
    /// it is a DNS name whose every address is public.
    pub async fn base_url(&self, server: &str) -> Result<Url, Failure> {
        let url = self.parse(server)?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let addresses = (self.lookup)(host)
            .await
            .map_err(|_| Failure::transient("the server's name did not resolve"))?;
        self.check(&addresses)?;
        Ok(url)
    }

    /// The syntactic checks: scheme, host kind, and nothing but a host (and a port, locally).
    pub fn parse(&self, server: &str) -> Result<Url, Failure> {
        let refuse = |why: &str| Failure::Permanent(format!("the server is refused: {why}"));
        let server = server.trim();
        let text = if server.contains("://") {
            server.to_owned()
        } else {
            format!("https://{server}")
        };
        let url = Url::parse(&text).map_err(|_| refuse("not a host name"))?;
        let loopback_name = url
            .host_str()
            .is_some_and(|h| h.eq_ignore_ascii_case("localhost"));
        let local = self.allow_loopback && loopback_name;
        match url.scheme() {
            "https" => {}
            "http" if local => {}
            _ => return Err(refuse("not https")),
        }
        match url.host() {
            Some(url::Host::Domain(name)) if name.contains('.') || local => {}
            Some(url::Host::Domain(_)) => return Err(refuse("not a public DNS name")),
            Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => {
                return Err(refuse("an IP address, not a DNS name"));
            }
            None => return Err(refuse("no host")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("user information"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(refuse("a path, a query or a fragment"));
        }
        if url.port().is_some() && !local {
            return Err(refuse("a port other than 443"));
        }
        Ok(url)
    }

    /// Every address must be public unicast (loopback too, under the local switch).
    pub fn check(&self, addresses: &[IpAddr]) -> Result<(), Failure> {
        if addresses.is_empty() {
            return Err(Failure::transient("the server's name has no address"));
        }
        for address in addresses {
            let allowed = is_public(*address) || (self.allow_loopback && address.is_loopback());
            if !allowed {
                return Err(Failure::Permanent(format!(
                    "the server is refused: it resolves to a {} address",
                    kind(*address)
                )));
            }
        }
        Ok(())
    }
}

/// The same check at connection time, inside the HTTP client.
pub(crate) struct GuardedResolver(pub Guard);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.0.clone();
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = (guard.lookup)(name).await?;
            guard
                .check(&addresses)
                .map_err(|_| std::io::Error::other("refused by the address guard"))?;
            let addrs: Addrs = Box::new(
                addresses
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, 0))
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
            Ok(addrs)
        })
    }
}

/// Whether `address` is a public unicast address: none of IANA's special-purpose ranges.
pub(crate) fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(a: Ipv4Addr) -> bool {
    let [b0, b1, b2, _] = a.octets();
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_broadcast()
        || a.is_multicast()
        || a.is_documentation()
        || b0 == 0 // "this network"
        || (b0 == 100 && (64..128).contains(&b1)) // shared address space (CGNAT)
        || (b0 == 192 && b1 == 0 && b2 == 0) // IETF protocol assignments
        || (b0 == 192 && b1 == 88 && b2 == 99) // 6to4 relay anycast
        || (b0 == 198 && (b1 == 18 || b1 == 19)) // benchmarking
        || b0 >= 240) // reserved
}

fn is_public_v6(a: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(a) {
        return is_public_v4(v4);
    }
    let s = a.segments();
    // Only global unicast (2000::/3) is public: loopback, unique local, link-local, multicast
    // and the unassigned space lie outside it. Inside it: documentation and IETF assignments
    // (Teredo included).
    let global_unicast = (s[0] & 0xe000) == 0x2000;
    global_unicast && !(s[0] == 0x2001 && (s[1] == 0x0db8 || s[1] < 0x0200))
}

/// The IPv4 address inside a v4-mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or 6to4
/// (`2002:ab:cd::`) IPv6 address: it decides.
fn embedded_v4(a: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = a.segments();
    let o = a.octets();
    if let Some(v4) = a.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

/// The kind of a refused address, for the reason.
fn kind(address: IpAddr) -> &'static str {
    if address.is_loopback() {
        "loopback"
    } else if address.is_multicast() {
        "multicast"
    } else {
        match address {
            IpAddr::V4(a) if a.is_private() => "private",
            IpAddr::V4(a) if a.is_link_local() => "link-local",
            IpAddr::V6(a) if (a.segments()[0] & 0xffc0) == 0xfe80 => "link-local",
            IpAddr::V6(a) if (a.segments()[0] & 0xfe00) == 0xfc00 => "private",
            _ => "special-purpose",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(allow_loopback: bool, answer: Vec<IpAddr>) -> Guard {
        Guard {
            allow_loopback,
            lookup: Arc::new(move |_| {
                let answer = answer.clone();
                Box::pin(async move { Ok(answer) })
            }),
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn refused(result: Result<Url, Failure>) -> String {
        match result {
            Err(Failure::Permanent(reason)) => reason,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn special_purpose_addresses_are_not_public() {
        for text in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:a00:1::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
            "100::1",
            "1::1",
            "4000::1",
            "64:1::808:808",
            "fe00::1",
        ] {
            assert!(!is_public(ip(text)), "{text}");
        }
        for text in [
            "1.1.1.1",
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "193.0.0.1",
            "2606:4700::1111",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::",
            // Neighbours of the special ranges: only the ranges themselves are refused.
            "8.0.0.1",
            "100.63.0.1",
            "192.0.1.1",
            "192.1.0.1",
            "192.88.1.1",
            "192.88.98.1",
            "198.17.0.1",
            "198.20.0.1",
            "223.255.255.254",
            "2001:200::1",
            "2001:dc8::1",
            "2000::1",
            "3fff:ffff::1",
            // Not the NAT64 prefix: no embedded address decides.
            "2400:ff9b::a9fe:a9fe",
        ] {
            assert!(is_public(ip(text)), "{text}");
        }
    }

    #[tokio::test]
    async fn a_public_dns_name_over_https_is_accepted() {
        let guard = guard(false, vec![ip("203.0.114.10"), ip("2606:4700::6810:84e5")]);
        for server in [
            "mastodon.social",
            "https://mastodon.social",
            "https://Mastodon.Social/",
        ] {
            let url = guard.base_url(server).await.unwrap();
            assert_eq!(url.as_str(), "https://mastodon.social/", "{server}");
        }
    }

    #[tokio::test]
    async fn each_refusal_names_its_reason_and_sends_nothing() {
        let public = guard(false, vec![ip("8.8.8.8")]);
        let cases = [
            ("http://mastodon.social", "not https"),
            ("ftp://mastodon.social", "not https"),
            ("10.0.0.1", "an IP address"),
            ("[::1]", "an IP address"),
            ("0x7f.1", "an IP address"),
            ("2130706433", "an IP address"),
            ("intranet", "not a public DNS name"),
            ("user:pw@mastodon.social", "user information"),
            ("user@mastodon.social", "user information"),
            ("mastodon.social/oauth", "a path"),
            ("mastodon.social?x=1", "a path"),
            ("mastodon.social:8443", "a port"),
            ("localhost", "not a public DNS name"),
            ("", "not a host name"),
        ];
        for (server, why) in cases {
            let reason = refused(public.base_url(server).await);
            assert!(reason.contains(why), "{server:?}: {reason}");
        }
        for (address, why) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("192.168.0.10", "private"),
            ("169.254.169.254", "link-local"),
            ("fe80::1", "link-local"),
            ("fd00::1", "private"),
            ("2001:db8::1", "special-purpose"),
            ("100.64.1.1", "special-purpose"),
            ("ff02::1", "multicast"),
        ] {
            // One bad address among good ones is enough to refuse.
            let guard = guard(false, vec![ip("8.8.8.8"), ip(address)]);
            let reason = refused(guard.base_url("rebinding.example").await);
            assert!(reason.contains(why), "{address}: {reason}");
        }
    }

    #[tokio::test]
    async fn loopback_only_under_the_local_switch_and_never_as_an_ip_literal() {
        let local = guard(true, vec![ip("127.0.0.1")]);
        for server in [
            "localhost",
            "http://localhost:9767",
            "https://localhost:8443",
        ] {
            assert!(local.base_url(server).await.is_ok(), "{server}");
        }
        assert!(refused(local.base_url("127.0.0.1").await).contains("an IP address"));
        assert!(refused(local.base_url("http://mastodon.social").await).contains("not https"));
        let private = guard(true, vec![ip("10.0.0.1")]);
        assert!(refused(private.base_url("localhost").await).contains("private"));
        let remote = guard(false, vec![ip("127.0.0.1")]);
        assert!(refused(remote.base_url("http://localhost:9767").await).contains("not https"));
    }

    #[tokio::test]
    async fn the_resolver_refuses_at_connection_time_too() {
        let resolver = GuardedResolver(guard(false, vec![ip("169.254.169.254")]));
        let name: Name = "metadata.example".parse().unwrap();
        assert!(resolver.resolve(name).await.is_err());
        let resolver = GuardedResolver(guard(false, vec![ip("8.8.8.8")]));
        let name: Name = "dns.example".parse().unwrap();
        let addrs: Vec<SocketAddr> = resolver.resolve(name).await.unwrap().collect();
        assert_eq!(addrs, vec!["8.8.8.8:0".parse().unwrap()]);
    }
}
