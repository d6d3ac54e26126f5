//! Which URLs a client may ask callbacks to be sent to.
//!
//! The gateway POSTs delivery reports and replies to URLs its clients choose, so
//! an unchecked URL would let a client make the gateway reach its own network
//! (SSRF): the database admin port on 127.0.0.1, a cloud metadata service on
//! 169.254.169.254, an office router on 192.168.1.1. [`check_callback_url`]
//! refuses such literal addresses unless the operator allows private callbacks
//! (a gateway and its clients on one private network).
//!
//! DNS names other than `localhost` are accepted here: what a name resolves to
//! can change between now and delivery, so that check belongs to delivery.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reqwest::Url;

/// Why a callback URL is refused. [`CallbackUrlError::code`] is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackUrlError {
    #[error("not a valid URL: {0}")]
    Invalid(String),
    #[error("unsupported scheme {0:?}: only http and https are allowed")]
    Scheme(String),
    #[error("the URL has no host")]
    NoHost,
    #[error("{0} is a loopback, private, link-local or otherwise internal address")]
    PrivateHost(String),
}

impl CallbackUrlError {
    /// A stable identifier for APIs and logs.
    pub fn code(&self) -> &'static str {
        match self {
            CallbackUrlError::Invalid(_) => "invalid_url",
            CallbackUrlError::Scheme(_) => "unsupported_scheme",
            CallbackUrlError::NoHost => "missing_host",
            CallbackUrlError::PrivateHost(_) => "private_address",
        }
    }
}

/// Checks a callback URL: `http` or `https`, with a host, and — unless
/// `allow_private` — not a `localhost` name nor a literal loopback, private
/// (10/8, 172.16/12, 192.168/16), link-local, unspecified (0/8, `::`), CGNAT
/// (100.64/10) or unique-local IPv6 (fc00::/7) address, IPv4-mapped IPv6
/// addresses included.
///
/// Literal addresses are read as the URL parser reads them, so the spellings
/// browsers and HTTP clients accept (`http://2130706433/`, `http://0x7f.1/`)
/// are caught as 127.0.0.1.
pub fn check_callback_url(url: &str, allow_private: bool) -> Result<(), CallbackUrlError> {
    let parsed = Url::parse(url.trim()).map_err(|e| CallbackUrlError::Invalid(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(CallbackUrlError::Scheme(parsed.scheme().to_owned()));
    }
    let host = parsed.host_str().ok_or(CallbackUrlError::NoHost)?;
    if allow_private {
        return Ok(());
    }
    // The parser writes IPv6 literals in brackets and every IPv4 spelling as a
    // dotted quad, so a host that parses as an address is a literal address.
    let internal = match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) => is_internal(ip),
        Err(_) => is_localhost_name(host),
    };
    if internal {
        return Err(CallbackUrlError::PrivateHost(host.to_owned()));
    }
    Ok(())
}

/// `localhost` and its subdomains resolve to loopback by convention (RFC 6761).
fn is_localhost_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Loopback, private, link-local, CGNAT, unique-local and unspecified addresses.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_internal_v4(v4),
            None => is_internal_v6(v6),
        },
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let cgnat = a == 100 && (64..128).contains(&b);
    // 0.0.0.0/8 is "this network": 0.0.0.0 itself reaches the local host.
    let this_network = a == 0;
    ip.is_loopback() || ip.is_private() || ip.is_link_local() || this_network || cgnat
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00;
    let link_local = first & 0xffc0 == 0xfe80;
    ip.is_loopback() || ip.is_unspecified() || unique_local || link_local
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(url: &str, allow_private: bool) -> Option<&'static str> {
        check_callback_url(url, allow_private)
            .err()
            .map(|e| e.code())
    }

    #[test]
    fn public_urls_and_names_pass() {
        for url in [
            "https://example.com/hook",
            "http://example.com:8080/dlr?x=1",
            "https://93.184.216.34/cb",
            "https://[2606:2800:220:1:248:1893:25c8:1946]/cb",
            "https://100.128.0.1/",
            "https://172.32.0.1/",
            "https://localhost.example.com/",
        ] {
            assert_eq!(code(url, false), None, "{url}");
        }
    }

    #[test]
    fn only_http_and_https_with_a_host() {
        assert_eq!(
            code("ftp://example.com/", false),
            Some("unsupported_scheme")
        );
        assert_eq!(code("file:///etc/passwd", true), Some("unsupported_scheme"));
        assert_eq!(
            code("javascript:alert(1)", true),
            Some("unsupported_scheme")
        );
        assert_eq!(code("not a url", false), Some("invalid_url"));
        assert_eq!(code("/relative/path", false), Some("invalid_url"));
        assert_eq!(code("http://", false), Some("invalid_url"));
    }

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1/",
            "http://127.8.9.10:9000/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://172.31.255.255/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0/",
            "http://100.64.0.1/",
            "http://100.127.255.255/",
            "http://[::1]/",
            "http://[::]/",
            "http://[fd00::1]/",
            "http://[fc12:3456::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://localhost/",
            "http://LocalHost:8080/",
            "http://localhost./",
            "http://api.localhost/",
        ] {
            assert_eq!(code(url, false), Some("private_address"), "{url}");
            assert_eq!(code(url, true), None, "{url} with private allowed");
        }
    }

    #[test]
    fn odd_spellings_of_loopback_are_caught() {
        assert_eq!(code("http://2130706433/", false), Some("private_address"));
        assert_eq!(code("http://0x7f.1/", false), Some("private_address"));
        assert_eq!(code("http://0177.0.0.1/", false), Some("private_address"));
    }
}
