//! The address policy: which hosts and addresses this node may connect to when a caller's
//! input names them (status lists, did:web documents, a counterparty's callback address).
//!
//! By default only public addresses are reached: loopback, private (RFC 1918), shared
//! (CGNAT, `100.64.0.0/10`), link-local and unique-local (`fc00::/7`) addresses are refused
//! unless the policy allows private addresses (a demo or test on one machine needs that), and
//! unspecified, multicast, broadcast and reserved addresses are refused always. IPv4 addresses
//! carried in IPv6 ones (mapped, compatible, NAT64, 6to4) are judged by the IPv4 address.
//!
//! URLs are parsed with the `url` crate, never matched by prefix; a URL with user information
//! (`http://127.0.0.1@127.0.0.2/…`) is refused, and plain `http` only reaches a loopback
//! host. Host names are resolved by [`PolicyResolver`], which checks every address a name
//! resolves to and hands the HTTP client only checked addresses, so the connection goes to an
//! address that was checked: a name that resolves differently the next time (DNS rebinding)
//! is checked again.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use url::{Host, Url};

use crate::error::quote;

/// Which addresses may be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddressPolicy {
    allow_private: bool,
}

impl AddressPolicy {
    /// Public addresses only (the default).
    pub const PUBLIC_ONLY: AddressPolicy = AddressPolicy {
        allow_private: false,
    };
    /// Public addresses, and loopback, private, shared, link-local and unique-local ones too
    /// (a demo or test on one machine, or a command run by the operator).
    pub const ALLOW_PRIVATE: AddressPolicy = AddressPolicy {
        allow_private: true,
    };

    /// [`AddressPolicy::ALLOW_PRIVATE`] when `allow_private`, else
    /// [`AddressPolicy::PUBLIC_ONLY`].
    pub const fn new(allow_private: bool) -> Self {
        AddressPolicy { allow_private }
    }

    /// Whether private (and loopback) addresses may be reached.
    pub const fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Checks one address.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), AddressError> {
        let class = AddressClass::of(ip);
        if class.is_allowed(*self) {
            Ok(())
        } else {
            Err(AddressError::Refused { ip, class })
        }
    }

    /// Parses `text` as an `https` URL (plain `http` only on a loopback host) without user
    /// information, and checks its host: an address literal against the policy, the name
    /// `localhost` as loopback. Other names are checked when they are resolved (see
    /// [`AddressPolicy::client_builder`]).
    pub fn check_url(&self, text: &str) -> Result<Url, AddressError> {
        let url = Url::parse(text).map_err(|source| AddressError::InvalidUrl {
            url: quote(text),
            source,
        })?;
        let scheme_ok = matches!(url.scheme(), "https" | "http");
        if !scheme_ok {
            return Err(AddressError::Scheme(quote(text)));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(AddressError::UserInfo(quote(text)));
        }
        let loopback = match url.host() {
            None => return Err(AddressError::NoHost(quote(text))),
            Some(Host::Ipv4(ip)) => {
                self.check_ip(IpAddr::V4(ip))?;
                ip.is_loopback()
            }
            Some(Host::Ipv6(ip)) => {
                self.check_ip(IpAddr::V6(ip))?;
                AddressClass::of(IpAddr::V6(ip)) == AddressClass::Loopback
            }
            Some(Host::Domain(name)) => {
                let loopback = is_localhost(name);
                if loopback && !self.allow_private {
                    return Err(AddressError::RefusedName {
                        host: quote(name),
                        class: AddressClass::Loopback,
                    });
                }
                loopback
            }
        };
        if url.scheme() == "http" && !loopback {
            return Err(AddressError::PlainHttp(quote(text)));
        }
        Ok(url)
    }

    /// An HTTP client builder that connects only to addresses this policy allows: host names
    /// are resolved by a [`PolicyResolver`], redirects are not followed, and no proxy is used
    /// (a proxy would resolve names where this policy cannot check them). Address literals do
    /// not go through the resolver: check every URL with [`AddressPolicy::check_url`] first.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .pool_idle_timeout(super::IDLE_CONNECTION_REUSE)
            .dns_resolver(PolicyResolver::new(*self))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
    }

    /// A client from [`AddressPolicy::client_builder`] whose requests time out after
    /// `timeout`.
    pub fn client(&self, timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
        self.client_builder().timeout(timeout).build()
    }
}

/// Whether `name` is `localhost` or a name under it (RFC 6761: they are loopback).
fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// What kind of address an IP address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressClass {
    /// A public address.
    Public,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918 (`10/8`, `172.16/12`, `192.168/16`), `192.0.0.0/24`, `198.18.0.0/15` and the
    /// deprecated IPv6 site-local `fec0::/10`.
    Private,
    /// Shared address space (carrier-grade NAT), `100.64.0.0/10`.
    Shared,
    /// `169.254.0.0/16`, `fe80::/10`.
    LinkLocal,
    /// Unique local IPv6, `fc00::/7`.
    UniqueLocal,
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `240.0.0.0/4`.
    Reserved,
}

impl AddressClass {
    /// The class of `ip`; an IPv4 address carried in an IPv6 one is judged by the IPv4
    /// address.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(ip) => Self::of_v4(ip),
            IpAddr::V6(ip) => Self::of_v6(ip),
        }
    }

    fn of_v4(ip: Ipv4Addr) -> Self {
        let [a, b, c, _] = ip.octets();
        match (a, b, c) {
            (0, _, _) => AddressClass::Unspecified,
            (127, _, _) => AddressClass::Loopback,
            (10, _, _) | (192, 168, _) | (192, 0, 0) => AddressClass::Private,
            (172, 16..=31, _) | (198, 18..=19, _) => AddressClass::Private,
            (100, 64..=127, _) => AddressClass::Shared,
            (169, 254, _) => AddressClass::LinkLocal,
            _ if ip.is_broadcast() => AddressClass::Broadcast,
            (224..=239, _, _) => AddressClass::Multicast,
            (240..=255, _, _) => AddressClass::Reserved,
            _ => AddressClass::Public,
        }
    }

    fn of_v6(ip: Ipv6Addr) -> Self {
        if ip.is_unspecified() {
            return AddressClass::Unspecified;
        }
        if ip.is_loopback() {
            return AddressClass::Loopback;
        }
        let segments = ip.segments();
        let octets = ip.octets();
        let embedded =
            |at: usize| Ipv4Addr::new(octets[at], octets[at + 1], octets[at + 2], octets[at + 3]);
        match segments {
            // IPv4-mapped `::ffff:a.b.c.d` and IPv4-compatible `::a.b.c.d`.
            [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0, 0, _, _] => Self::of_v4(embedded(12)),
            // NAT64 `64:ff9b::a.b.c.d`.
            [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Self::of_v4(embedded(12)),
            // 6to4 `2002:aabb:ccdd::/48`.
            [0x2002, ..] => Self::of_v4(embedded(2)),
            [first, ..] if first & 0xfe00 == 0xfc00 => AddressClass::UniqueLocal,
            [first, ..] if first & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
            [first, ..] if first & 0xffc0 == 0xfec0 => AddressClass::Private,
            [first, ..] if first & 0xff00 == 0xff00 => AddressClass::Multicast,
            _ => AddressClass::Public,
        }
    }

    /// Whether `policy` lets this class be reached.
    pub fn is_allowed(self, policy: AddressPolicy) -> bool {
        match self {
            AddressClass::Public => true,
            AddressClass::Loopback
            | AddressClass::Private
            | AddressClass::Shared
            | AddressClass::LinkLocal
            | AddressClass::UniqueLocal => policy.allow_private,
            AddressClass::Unspecified
            | AddressClass::Multicast
            | AddressClass::Broadcast
            | AddressClass::Reserved => false,
        }
    }

    /// The class in words.
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "public",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private",
            AddressClass::Shared => "shared (carrier-grade NAT)",
            AddressClass::LinkLocal => "link-local",
            AddressClass::UniqueLocal => "unique-local",
            AddressClass::Unspecified => "unspecified",
            AddressClass::Multicast => "multicast",
            AddressClass::Broadcast => "broadcast",
            AddressClass::Reserved => "reserved",
        }
    }

    /// Why the class is refused, for an error message.
    fn remedy(self) -> &'static str {
        match self {
            AddressClass::Loopback
            | AddressClass::Private
            | AddressClass::Shared
            | AddressClass::LinkLocal
            | AddressClass::UniqueLocal => {
                "refused by the address policy (allowed only with --allow-private-callbacks)"
            }
            _ => "never reachable",
        }
    }
}

/// Why a URL or an address is refused.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// The text is not a URL.
    #[error("`{url}` is not a URL: {source}")]
    InvalidUrl {
        /// The text (truncated).
        url: String,
        /// The parse error.
        #[source]
        source: url::ParseError,
    },
    /// The scheme is neither `https` nor `http`.
    #[error("`{0}` must be an https URL")]
    Scheme(String),
    /// Plain `http` to a host that is not loopback.
    #[error("`{0}` must use https (plain http only on a loopback host)")]
    PlainHttp(String),
    /// The URL carries user information (`user@host`).
    #[error("`{0}` must not carry user information (`…@host`)")]
    UserInfo(String),
    /// The URL names no host.
    #[error("`{0}` names no host")]
    NoHost(String),
    /// The address is of a class the policy refuses.
    #[error("address {ip} is {}: {}", .class.describe(), .class.remedy())]
    Refused {
        /// The address.
        ip: IpAddr,
        /// Its class.
        class: AddressClass,
    },
    /// A host name that is an address of a class the policy refuses (`localhost`).
    #[error("host `{host}` is {}: {}", .class.describe(), .class.remedy())]
    RefusedName {
        /// The host (truncated).
        host: String,
        /// Its class.
        class: AddressClass,
    },
    /// A host name resolves to an address of a class the policy refuses.
    #[error("host `{host}` resolves to {ip}, which is {}: {}", .class.describe(), .class.remedy())]
    RefusedResolved {
        /// The host (truncated).
        host: String,
        /// The address.
        ip: IpAddr,
        /// Its class.
        class: AddressClass,
    },
    /// The host name does not resolve.
    #[error("host `{host}` does not resolve: {source}")]
    Unresolved {
        /// The host (truncated).
        host: String,
        /// Why.
        #[source]
        source: Arc<std::io::Error>,
    },
}

impl AddressError {
    /// The address-policy refusal somewhere in `error`'s chain of sources, if any (an HTTP
    /// client reports a refusal of [`PolicyResolver`] as the source of its own error).
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a AddressError> {
        let mut current = Some(error);
        while let Some(error) = current {
            if let Some(found) = error.downcast_ref::<AddressError>() {
                return Some(found);
            }
            current = error.source();
        }
        None
    }
}

/// A boxed future of resolved addresses.
type LookupFuture = Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>;

/// How names are looked up (the system resolver, or a stand-in in tests).
type Lookup = Arc<dyn Fn(String) -> LookupFuture + Send + Sync>;

/// A DNS resolver for the HTTP client that resolves a name, checks every address it resolves
/// to against the policy (refusing the name if any is refused), and hands the client only the
/// checked addresses, so that the client connects to an address that was checked.
#[derive(Clone)]
pub struct PolicyResolver {
    policy: AddressPolicy,
    lookup: Lookup,
}

impl std::fmt::Debug for PolicyResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyResolver")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl PolicyResolver {
    /// A resolver using the system's name resolution (off the async runtime's threads).
    pub fn new(policy: AddressPolicy) -> Self {
        PolicyResolver {
            policy,
            lookup: Arc::new(|host: String| {
                Box::pin(
                    async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) },
                )
            }),
        }
    }

    /// Resolves `host` and checks every address.
    pub async fn resolve_checked(&self, host: &str) -> Result<Vec<SocketAddr>, AddressError> {
        let unresolved = |source: std::io::Error| AddressError::Unresolved {
            host: quote(host),
            source: Arc::new(source),
        };
        let addresses = (self.lookup)(host.to_owned()).await.map_err(unresolved)?;
        if addresses.is_empty() {
            return Err(unresolved(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no address",
            )));
        }
        for address in &addresses {
            let ip = address.ip();
            let class = AddressClass::of(ip);
            if !class.is_allowed(self.policy) {
                return Err(AddressError::RefusedResolved {
                    host: quote(host),
                    ip,
                    class,
                });
            }
        }
        Ok(addresses)
    }

    #[cfg(test)]
    fn with_lookup(
        policy: AddressPolicy,
        lookup: impl Fn(String) -> std::io::Result<Vec<SocketAddr>> + Send + Sync + 'static,
    ) -> Self {
        let lookup = Arc::new(lookup);
        PolicyResolver {
            policy,
            lookup: Arc::new(move |host| {
                let answer = lookup(host);
                Box::pin(std::future::ready(answer))
            }),
        }
    }
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = resolver.resolve_checked(&host).await?;
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests;
