//! Who the client is: the bearer token it sends ([`bearer`]), and which address is its
//! own: the socket's peer, or, when the peer is one of `[server] trusted_proxies`, the
//! address that proxy (and any trusted one before it)
//! says it received the request from, in `Forwarded` (RFC 7239 `for=`) or
//! `X-Forwarded-For`.
//!
//! Per-address limits are only as good as this address: behind a proxy every request
//! comes from the proxy, and a header is whatever the client wrote unless a trusted proxy
//! wrote it. So the headers are read only from a trusted peer, and then from the right:
//! each proxy appends the address it saw, so the rightmost hop that is not itself a
//! trusted proxy is the client as far as anyone we trust can tell. The leftmost value,
//! which the client chose, is never believed for that reason alone. A hop that is not an
//! address (`unknown`, an obfuscated `_hidden`, garbage) ends the walk at the last
//! address known good (the peer, if it is the first).
//!
//! A proxy writes one of the two headers and passes the other on as the client sent it;
//! sihai cannot know which. When both are present and name different clients, one of
//! them is the client's invention, so neither is believed and the peer (the trusted
//! proxy) is the client.
//!
//! Separate from `handle.rs` so that it stays a pure function with a table of cases, and
//! so that only the routes that need an address (the API's) pay for reading headers.

use std::net::{IpAddr, SocketAddr};

use hyper::header::{HeaderMap, HeaderName, FORWARDED};
use ipnet::IpNet;

/// The de facto header most proxies (nginx, HAProxy, Envoy, Caddy, Traefik) append to.
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The client's address for a request from `peer` carrying `headers`, given the proxies
/// whose forwarding headers are believed (`trusted`; empty: none, the peer is the client).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let forwarded = headers.contains_key(FORWARDED).then(|| walk(peer, &forwarded_hops(headers), trusted));
    let x_forwarded = headers.contains_key(&X_FORWARDED_FOR).then(|| walk(peer, &x_forwarded_hops(headers), trusted));
    match (forwarded, x_forwarded) {
        (Some(a), Some(b)) if a != b => peer,
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => peer,
    }
}

/// Whether `addr` is one of the trusted proxies.
fn is_trusted(addr: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&addr))
}

/// Walks `hops` (as the headers list them: the first sender leftmost, `None` where a hop
/// is not an address) from the right: the first hop that is not a trusted proxy is the
/// client; a hop that is not an address stops the walk at the last good address.
fn walk(peer: IpAddr, hops: &[Option<IpAddr>], trusted: &[IpNet]) -> IpAddr {
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(addr) = *hop else { return client };
        client = addr;
        if !is_trusted(addr, trusted) {
            return client;
        }
    }
    client
}

/// The hops of every `X-Forwarded-For` line, in order: `1.2.3.4, 10.0.0.1`, addresses
/// with a port (`1.2.3.4:5678`, `[::1]:80`) accepted.
fn x_forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    for line in headers.get_all(&X_FORWARDED_FOR) {
        match line.to_str() {
            Ok(text) => hops.extend(text.split(',').map(node)),
            Err(_) => hops.push(None),
        }
    }
    hops
}

/// The `for=` of every element of every `Forwarded` line, in order
/// (`for=192.0.2.60;proto=http, for="[2001:db8::17]:4711"`). An element without `for=`
/// is a hop that did not say: `None`, like an obfuscated or unknown one.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    for line in headers.get_all(FORWARDED) {
        let Ok(text) = line.to_str() else {
            hops.push(None);
            continue;
        };
        for element in split_unquoted(text, ',') {
            let node_value = split_unquoted(element, ';').into_iter().find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim().eq_ignore_ascii_case("for").then(|| unquote(value.trim()))
            });
            hops.push(node_value.as_deref().and_then(node));
        }
    }
    hops
}

/// `text` split at `sep` where it is not inside a quoted string.
fn split_unquoted(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A `Forwarded` value without its quotes and escapes (RFC 7230 quoted-string).
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else { return value.to_string() };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
    }
    out
}

/// One hop as an address: `192.0.2.60`, `192.0.2.60:4711`, `2001:db8::17`, `[2001:db8::17]`,
/// `[2001:db8::17]:4711`. `None` for `unknown`, `_hidden` and anything else.
fn node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let addr = text
        .parse::<IpAddr>()
        .or_else(|_| text.parse::<SocketAddr>().map(|s| s.ip()))
        .or_else(|_| text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or("").parse::<IpAddr>())
        .ok()?;
    Some(addr.to_canonical())
}

/// The bearer token a request carries (`Authorization: Bearer TOKEN`), if any: what the
/// client says it is, beside the address it comes from.
pub fn bearer(headers: &hyper::HeaderMap) -> Option<&str> {
    let value = headers.get(hyper::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse::<IpNet>().unwrap_or_else(|_| IpNet::from(n.parse::<IpAddr>().unwrap()))).collect()
    }

    fn headers(lines: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in lines {
            h.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        h
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop_and_only_a_trusted_peer_is_believed() {
        let proxies = nets(&["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"]);
        let xff = "x-forwarded-for";
        let fwd = "forwarded";
        // (peer, header lines, trusted proxies, the client)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [IpNet], &'a str);
        let cases: &[Case] = &[
            // No proxy trusted (the default): headers change nothing.
            ("192.0.2.1", &[(xff, "10.9.9.9")], &[], "192.0.2.1"),
            ("127.0.0.1", &[(xff, "10.9.9.9")], &[], "127.0.0.1"),
            // A spoofed header from an untrusted peer is ignored.
            ("192.0.2.1", &[(xff, "203.0.113.9")], &proxies, "192.0.2.1"),
            ("192.0.2.1", &[(fwd, "for=203.0.113.9")], &proxies, "192.0.2.1"),
            // A trusted peer without a header is the client itself.
            ("127.0.0.1", &[], &proxies, "127.0.0.1"),
            ("127.0.0.1", &[(xff, "203.0.113.9")], &proxies, "203.0.113.9"),
            // The rightmost untrusted hop, never the client-chosen leftmost one.
            ("127.0.0.1", &[(xff, "1.1.1.1, 203.0.113.9")], &proxies, "203.0.113.9"),
            ("127.0.0.1", &[(xff, "1.1.1.1, 203.0.113.9, 10.1.2.3")], &proxies, "203.0.113.9"),
            // Every hop trusted: the first (leftmost) of them.
            ("127.0.0.1", &[(xff, "10.1.1.1, 10.2.2.2")], &proxies, "10.1.1.1"),
            // Several header lines are one list, in order.
            ("127.0.0.1", &[(xff, "1.1.1.1"), (xff, "203.0.113.9, 10.0.0.7")], &proxies, "203.0.113.9"),
            ("127.0.0.1", &[(fwd, "for=1.1.1.1"), (fwd, "for=203.0.113.9")], &proxies, "203.0.113.9"),
            // Addresses with ports, IPv6 with and without brackets.
            ("127.0.0.1", &[(xff, "203.0.113.9:5678")], &proxies, "203.0.113.9"),
            ("127.0.0.1", &[(xff, "2001:db8::5")], &proxies, "2001:db8::5"),
            ("127.0.0.1", &[(xff, "[2001:db8::5]:443")], &proxies, "2001:db8::5"),
            ("::1", &[(xff, "203.0.113.9")], &proxies, "203.0.113.9"),
            ("::1", &[(xff, "2001:db8::5, fd00::1")], &proxies, "2001:db8::5"),
            // An IPv4-mapped peer (a dual-stack listener) is the IPv4 address.
            ("::ffff:127.0.0.1", &[(xff, "203.0.113.9")], &proxies, "203.0.113.9"),
            ("::ffff:192.0.2.1", &[(xff, "203.0.113.9")], &proxies, "192.0.2.1"),
            // RFC 7239: quoted values, ports, parameters, case, several elements.
            ("127.0.0.1", &[(fwd, "for=\"[::1]:1234\"")], &proxies, "::1"),
            ("127.0.0.1", &[(fwd, "for=\"[2001:db8:cafe::17]:4711\"")], &proxies, "2001:db8:cafe::17"),
            ("127.0.0.1", &[(fwd, "For=\"203.0.113.9:80\";proto=https;by=10.0.0.1")], &proxies, "203.0.113.9"),
            ("127.0.0.1", &[(fwd, "for=1.1.1.1, for=203.0.113.9;proto=http, for=10.0.0.2")], &proxies, "203.0.113.9"),
            ("127.0.0.1", &[(fwd, "proto=https;for=203.0.113.9")], &proxies, "203.0.113.9"),
            ("127.0.0.1", &[(fwd, "for=\"a,b;c\", for=203.0.113.9")], &proxies, "203.0.113.9"),
            // Obfuscated, unknown or garbage hops stop the walk at the last good address.
            ("127.0.0.1", &[(fwd, "for=_hidden")], &proxies, "127.0.0.1"),
            ("127.0.0.1", &[(fwd, "for=203.0.113.9, for=_hidden")], &proxies, "127.0.0.1"),
            ("127.0.0.1", &[(fwd, "for=_hidden, for=10.0.0.3")], &proxies, "10.0.0.3"),
            ("127.0.0.1", &[(fwd, "for=unknown")], &proxies, "127.0.0.1"),
            ("127.0.0.1", &[(fwd, "proto=https")], &proxies, "127.0.0.1"),
            ("127.0.0.1", &[(fwd, "for=")], &proxies, "127.0.0.1"),
            ("127.0.0.1", &[(xff, "203.0.113.9, garbage, 10.0.0.3")], &proxies, "10.0.0.3"),
            ("127.0.0.1", &[(xff, "203.0.113.9,,")], &proxies, "127.0.0.1"),
            ("127.0.0.1", &[(xff, "")], &proxies, "127.0.0.1"),
            ("127.0.0.1", &[(xff, "999.1.1.1")], &proxies, "127.0.0.1"),
            // Both headers: believed when they agree; when they differ, one was the client's.
            ("127.0.0.1", &[(xff, "203.0.113.9"), (fwd, "for=203.0.113.9")], &proxies, "203.0.113.9"),
            ("127.0.0.1", &[(xff, "203.0.113.9"), (fwd, "for=198.51.100.1")], &proxies, "127.0.0.1"),
        ];
        for (peer, lines, trusted, want) in cases {
            let got = client_address(peer.parse().unwrap(), &headers(lines), trusted);
            assert_eq!(got, want.parse::<IpAddr>().unwrap(), "peer {peer}, {lines:?}, trusted {trusted:?}");
        }
    }

    #[test]
    fn header_values_that_are_not_text_stop_the_walk() {
        let mut h = HeaderMap::new();
        h.append(&X_FORWARDED_FOR, HeaderValue::from_static("203.0.113.9"));
        h.append(&X_FORWARDED_FOR, HeaderValue::from_bytes(b"\xff10.0.0.1").unwrap());
        let proxies = nets(&["127.0.0.1"]);
        assert_eq!(client_address("127.0.0.1".parse().unwrap(), &h, &proxies), "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(unquote("\"a\\\"b\\\""), "a\"b\\");
        assert_eq!(split_unquoted("a,\"b,c\",d", ','), ["a", "\"b,c\"", "d"]);
    }
}
