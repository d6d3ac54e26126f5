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
/// `allow_private` — not a `localhost` name nor a literal address that
/// [`is_internal`] refuses (loopback, private, link-local, reserved,
/// multicast, IPv4 carried in IPv6 ...).
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

/// Whether an address is one a callback must not reach: anything but a
/// public unicast address. The URL check (literal addresses) and the delivery
/// resolver (what names resolve to) both ask this one function.
///
/// IPv4: "this network" 0/8, private 10/8, 172.16/12, 192.168/16, CGNAT
/// 100.64/10, loopback 127/8, link-local 169.254/16, IETF protocol
/// assignments 192.0.0/24, documentation 192.0.2/24, 198.51.100/24,
/// 203.0.113/24, benchmarking 198.18/15, multicast 224/4, reserved 240/4
/// (which holds the broadcast 255.255.255.255).
///
/// IPv6: unspecified, loopback, unique-local fc00::/7, link-local fe80::/10,
/// site-local fec0::/10, multicast ff00::/8, discard-only 100::/64,
/// documentation 2001:db8::/32, local-use NAT64 64:ff9b:1::/48; and an IPv4
/// address carried inside IPv6 is judged as that IPv4 address: IPv4-mapped
/// `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`,
/// 6to4 `2002:aabb:ccdd::/48` and the Teredo client address in 2001::/32.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_internal_v4(v4),
            None => is_internal_v6(v6),
        },
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    match a {
        0 | 10 | 127 => true,
        100 => (64..128).contains(&b),
        169 => b == 254,
        172 => (16..32).contains(&b),
        192 => (b == 0 && matches!(c, 0 | 2)) || b == 168,
        198 => b == 18 || b == 19 || (b == 51 && c == 100),
        203 => b == 0 && c == 113,
        // 224/4 multicast and 240/4 reserved, broadcast included.
        224.. => true,
        _ => false,
    }
}

/// The IPv4 address an IPv6 address stands for, when it embeds one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible); `::` and `::1`
        // are the IPv6 unspecified and loopback addresses, judged as such.
        [0, 0, 0, 0, 0, 0xffff, ..] => Some(low),
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0, ..] => Some(low),
        // NAT64 well-known prefix 64:ff9b::/96.
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => Some(low),
        // 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        // Teredo 2001:0::/32: the client's IPv4 address, bits inverted.
        [0x2001, 0, ..] => Some(Ipv4Addr::from(!u32::from(low))),
        _ => None,
    }
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let unique_local = s[0] & 0xfe00 == 0xfc00;
    // fe80::/10 link-local and the deprecated fec0::/10 site-local.
    let link_or_site_local = s[0] & 0xff80 == 0xfe80 || s[0] & 0xffc0 == 0xfec0;
    let multicast = s[0] & 0xff00 == 0xff00;
    let discard = s[..4] == [0x100, 0, 0, 0];
    let documentation = s[0] == 0x2001 && s[1] == 0xdb8;
    let local_nat64 = s[..3] == [0x64, 0xff9b, 1];
    ip.is_loopback()
        || ip.is_unspecified()
        || unique_local
        || link_or_site_local
        || multicast
        || discard
        || documentation
        || local_nat64
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

    /// Every range `is_internal` refuses, and public neighbours it must not.
    #[test]
    fn is_internal_table() {
        let table: &[(&str, bool)] = &[
            // IPv4 special ranges.
            ("0.1.2.3", true),
            ("10.0.0.1", true),
            ("100.64.0.1", true),
            ("100.127.255.255", true),
            ("100.128.0.1", false),
            ("127.0.0.1", true),
            ("169.254.169.254", true),
            ("172.16.0.1", true),
            ("172.32.0.1", false),
            ("192.0.0.8", true),
            ("192.0.2.1", true),
            ("192.168.0.1", true),
            ("198.17.255.255", false),
            ("198.18.0.1", true),
            ("198.19.255.255", true),
            ("198.20.0.1", false),
            ("198.51.100.7", true),
            ("203.0.113.9", true),
            ("224.0.0.1", true),
            ("239.255.255.250", true),
            ("240.0.0.1", true),
            ("255.255.255.255", true),
            ("93.184.216.34", false),
            ("8.8.8.8", false),
            ("223.255.255.1", false),
            // IPv6 special ranges.
            ("::", true),
            ("::1", true),
            ("fc00::1", true),
            ("fdff::1", true),
            ("fe80::1", true),
            ("febf::1", true),
            ("fec0::1", true),
            ("feff::1", true),
            ("ff02::1", true),
            ("ff0e::1", true),
            ("100::1", true),
            ("2001:db8::1", true),
            ("64:ff9b:1::1", true),
            ("2606:2800:220:1:248:1893:25c8:1946", false),
            ("2a00:1450:4007:80f::200e", false),
            // IPv4 inside IPv6: judged as the IPv4 address.
            ("::ffff:127.0.0.1", true),
            ("::ffff:10.0.0.1", true),
            ("::ffff:8.8.8.8", false),
            ("::127.0.0.1", true),
            ("::10.1.2.3", true),
            ("::169.254.169.254", true),
            ("::8.8.8.8", false),
            ("64:ff9b::127.0.0.1", true),
            ("64:ff9b::a9fe:a9fe", true),
            ("64:ff9b::192.168.1.1", true),
            ("64:ff9b::8.8.8.8", false),
            ("2002:7f00:1::", true),
            ("2002:a00:1::1", true),
            ("2002:a9fe:a9fe::1", true),
            ("2002:808:808::1", false),
            // Teredo: client 127.0.0.1 is stored inverted as 80ff:fffe.
            ("2001:0:4136:e378:8000:63bf:80ff:fffe", true),
            ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", false),
        ];
        for (addr, internal) in table {
            let ip: IpAddr = addr.parse().unwrap();
            assert_eq!(is_internal(ip), *internal, "{addr}");
            let host = match ip {
                IpAddr::V4(_) => addr.to_string(),
                IpAddr::V6(_) => format!("[{addr}]"),
            };
            let url = format!("http://{host}/cb");
            let expected = internal.then_some("private_address");
            assert_eq!(code(&url, false), expected, "{url}");
        }
    }

    #[test]
    fn odd_spellings_of_loopback_are_caught() {
        assert_eq!(code("http://2130706433/", false), Some("private_address"));
        assert_eq!(code("http://0x7f.1/", false), Some("private_address"));
        assert_eq!(code("http://0177.0.0.1/", false), Some("private_address"));
    }
}
