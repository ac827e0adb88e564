"""The SSRF check inside the DNS resolver, with a fake upstream resolver.

A name that resolves to a private address must yield no address at all, so that the
connection is never made, whatever the name looked like when the request was made.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address, IPv6Address

from crawler.addresses import parse_networks
from crawler.resolver import GuardedResolver, blocked_hosts
from storage.captures import url_key


class FakeUpstream:
    """Resolves names from a table, as a rebinding DNS server would answer."""

    def __init__(self, table: dict[str, list[Any]]) -> None:
        self.table = table

    def resolveHostName(self, receiver: Any, name: str, port: int = 0, *args: Any) -> Any:
        receiver.resolutionBegan(object())
        for address in self.table.get(name, []):
            receiver.addressResolved(address)
        receiver.resolutionComplete()
        return receiver


class FakeReactor:
    def __init__(self, upstream: FakeUpstream) -> None:
        self.nameResolver = upstream


class Collect:
    def __init__(self) -> None:
        self.addresses: list[Any] = []
        self.done = False

    def resolutionBegan(self, resolution: Any) -> None:
        pass

    def addressResolved(self, address: Any) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        self.done = True


TABLE = {
    "internal.example": [IPv4Address("TCP", "10.1.2.3", 0)],
    "metadata.example": [IPv4Address("TCP", "169.254.169.254", 0)],
    "mixed.example": [IPv4Address("TCP", "93.184.216.34", 0), IPv4Address("TCP", "192.168.0.9", 0)],
    "mapped.example": [IPv6Address("TCP", "::ffff:127.0.0.1", 0)],
    "public.example": [IPv4Address("TCP", "93.184.216.34", 0)],
}


def _resolve(name: str, **kw: Any) -> Collect:
    resolver = GuardedResolver(FakeReactor(FakeUpstream(TABLE)), 0, **kw)
    receiver = Collect()
    resolver.resolveHostName(receiver, name, 80)
    assert receiver.done
    return receiver


def test_names_resolving_to_private_addresses_yield_nothing() -> None:
    for name in ("internal.example", "metadata.example", "mixed.example", "mapped.example"):
        assert _resolve(name, allow_private=False).addresses == [], name
        assert name in blocked_hosts and "resolves to" in blocked_hosts[name]


def test_public_names_pass_and_allow_private_opens_everything() -> None:
    assert [a.host for a in _resolve("public.example", allow_private=False).addresses] == [
        "93.184.216.34"
    ]
    assert [a.host for a in _resolve("internal.example", allow_private=True).addresses] == [
        "10.1.2.3"
    ]
    allowed = parse_networks(["10.1.2.3"])
    assert _resolve("internal.example", allow_private=False, allowed=allowed).addresses != []


hosts = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){1,3}", fullmatch=True)
paths = st.lists(st.from_regex(r"[A-Za-z0-9._~-]{1,12}", fullmatch=True), max_size=4)


@given(hosts, paths, st.booleans())
def test_cdxj_keys_match_cdxj_indexer_and_ignore_scheme_and_www(
    host: str, parts: list[str], secure: bool
) -> None:
    from cdxj_indexer.main import CDXJIndexer

    url = f"{'https' if secure else 'http'}://{host}/{'/'.join(parts)}"
    key = url_key(url)
    assert key == CDXJIndexer(output=None, inputs=[]).get_url_key(url)
    assert key == url_key(url.replace("://", "://www.", 1))
    assert key == url_key(url.replace("https://", "http://"))
    assert " " not in key and key == key.lower()


class CountingUpstream(FakeUpstream):
    def __init__(self, table: dict[str, list[Any]]) -> None:
        super().__init__(table)
        self.asked: list[str] = []

    def resolveHostName(self, receiver: Any, name: str, port: int = 0, *args: Any) -> Any:
        self.asked.append(name)
        return super().resolveHostName(receiver, name, port, *args)


def test_a_name_that_yields_no_address_is_not_asked_for_again() -> None:
    # names of their own: Scrapy's positive cache is the process's
    upstream = CountingUpstream(
        {
            "lan-only.example": [IPv4Address("TCP", "10.9.8.7", 0)],
            "out-there.example": [IPv4Address("TCP", "93.184.216.35", 0)],
        }
    )
    resolver = GuardedResolver(FakeReactor(upstream), 100, allow_private=True)
    for _ in range(3):
        assert _resolve_with(resolver, "gone.invalid").addresses == []
    assert upstream.asked == ["gone.invalid"]
    # a refused name is remembered too; a name that resolves is not
    guarded = GuardedResolver(FakeReactor(upstream), 100, allow_private=False)
    for _ in range(2):
        assert _resolve_with(guarded, "lan-only.example").addresses == []
        assert len(_resolve_with(guarded, "out-there.example").addresses) == 1
    assert upstream.asked.count("lan-only.example") == 1
    assert guarded.unresolved is not None and "out-there.example" not in guarded.unresolved


def test_no_negative_cache_without_a_dns_cache() -> None:
    upstream = CountingUpstream(TABLE)
    resolver = GuardedResolver(FakeReactor(upstream), 0, allow_private=True)
    for _ in range(2):
        _resolve_with(resolver, "gone.invalid")
    assert upstream.asked == ["gone.invalid", "gone.invalid"]


def _resolve_with(resolver: GuardedResolver, name: str) -> Collect:
    receiver = Collect()
    resolver.resolveHostName(receiver, name, 80)
    assert receiver.done
    return receiver
