"""Which network addresses the crawler may connect to (the SSRF policy).

A host is refused when it is, or resolves to, a private, loopback, link-local
(169.254.0.0/16: cloud metadata), multicast, reserved, unspecified or otherwise
non-global address, IPv4 or IPv6, including IPv4-mapped, 6to4 and Teredo forms.
IP literals are read the way a C resolver reads them, so ``2130706433`` and
``0x7f.1`` are 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host string denotes by itself, or None for a name."""
    host = host.strip().strip("[]").rstrip(".")
    if not host:
        return None
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    # inet_aton accepts the legacy forms (decimal, hex, octal, 1-3 parts) that
    # browsers and libc resolvers turn into addresses.
    if all(c in "0123456789abcdefABCDEFxX." for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def parse_networks(values: list[str]) -> Networks:
    """``SSRF_ALLOWED_NETWORKS`` entries (``127.0.0.3``, ``10.0.0.0/8``) as networks."""
    try:
        return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())
    except ValueError as exc:
        raise ValueError(f"SSRF_ALLOWED_NETWORKS: {exc}") from exc


def blocked_reason(ip: IPAddress, allowed: Networks = ()) -> str | None:
    """Why a connection to ``ip`` is refused, or None when it is a public address.

    ``allowed`` networks are opened explicitly (tests open single loopback addresses).
    """
    if any(ip in network for network in allowed):
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = blocked_reason(inner, allowed)
            return f"{reason} (embedded in {ip})" if reason else None
    for attribute, label in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(ip, attribute):
            return f"{label} address {ip}"
    if not ip.is_global:
        return f"non-global address {ip}"
    return None
