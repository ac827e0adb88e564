"""DNS resolver that enforces the SSRF policy where the connection is made.

Installed through ``TWISTED_DNS_RESOLVER``. Checking here, not only before the
request, means a name cannot resolve to a public address when checked and to a
private one when connected (DNS rebinding): the addresses the socket will use
are the ones checked. A refused name yields no address, so the download fails
with ``DNSLookupError``; the reason is kept in ``blocked_hosts`` for the crawl log.

A name that yields no address (it does not resolve, or it is refused) is remembered for
the resolver's life, which is the crawl's (a negative cache, as big as the positive one):
its next lookups fail at once instead of asking again, which for a name whose servers do
not answer means waiting for the system resolver's timeouts every time. A name that fails
once for a passing reason stays failed for the crawl; the crawl log marks its URLs
``dns``, which a later crawl tries again.

Settings: ``SSRF_ALLOW_PRIVATE``, ``SSRF_ALLOWED_NETWORKS``, ``DNSCACHE_ENABLED``, ``DNSCACHE_SIZE``.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING, Any

from scrapy.resolver import CachingHostnameResolver, HostResolution
from scrapy.utils.datatypes import LocalCache
from twisted.internet.interfaces import IResolutionReceiver
from zope.interface import provider

from crawler.addresses import Networks, blocked_reason, parse_networks

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector
    from twisted.internet.interfaces import IAddress, IHostResolution

logger = logging.getLogger(__name__)

#: host name -> why it was refused; read by the spider to label DNS failures.
blocked_hosts: LocalCache[str, str] = LocalCache(10_000)


@provider(IResolutionReceiver)
class _GuardedReceiver:
    """Holds the addresses back until all are known, then passes all or none."""

    def __init__(
        self, receiver: Any, host: str, stats: StatsCollector | None, allowed: Networks
    ) -> None:
        self.receiver = receiver
        self.allowed = allowed
        self.host = host
        self.stats = stats
        self.addresses: list[IAddress] = []

    def resolutionBegan(self, resolution: IHostResolution) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        for address in self.addresses:
            host = getattr(address, "host", "")
            try:
                reason = blocked_reason(ipaddress.ip_address(host.split("%", 1)[0]), self.allowed)
            except ValueError:
                reason = f"unparseable address {host!r}"
            if reason:
                blocked_hosts[self.host] = f"{self.host} resolves to {reason}"
                logger.warning("SSRF guard: refused %s (resolves to %s)", self.host, reason)
                if self.stats is not None:
                    self.stats.inc_value("ssrf/blocked")
                self.receiver.resolutionComplete()
                return
        for address in self.addresses:
            self.receiver.addressResolved(address)
        self.receiver.resolutionComplete()


@provider(IResolutionReceiver)
class _RememberUnresolved:
    """Passes a resolution on; a name that yields no address goes into ``unresolved``."""

    def __init__(self, receiver: Any, host: str, unresolved: LocalCache[str, bool]) -> None:
        self.receiver = receiver
        self.host = host
        self.unresolved = unresolved
        self.resolved = False

    def resolutionBegan(self, resolution: IHostResolution) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:
        self.resolved = True
        self.receiver.addressResolved(address)

    def resolutionComplete(self) -> None:
        if not self.resolved:
            self.unresolved[self.host] = True
        self.receiver.resolutionComplete()


class GuardedResolver(CachingHostnameResolver):
    """IPv4 and IPv6 caching resolver that refuses non-public addresses and remembers
    the names that yield none."""

    def __init__(
        self,
        reactor: Any,
        cache_size: int,
        *,
        allow_private: bool,
        allowed: Networks = (),
        stats: Any = None,
    ) -> None:
        super().__init__(reactor, cache_size)
        self.allow_private = allow_private
        self.allowed = allowed
        self.stats = stats
        self.unresolved: LocalCache[str, bool] | None = (
            LocalCache(cache_size) if cache_size else None
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> Self:
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(
            reactor,
            cache_size,
            allow_private=settings.getbool("SSRF_ALLOW_PRIVATE"),
            allowed=parse_networks(settings.getlist("SSRF_ALLOWED_NETWORKS")),
            # Built for the process, not one crawler: there may be no stats here.
            stats=getattr(crawler, "stats", None),
        )

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        receiver: Any = resolutionReceiver
        if self.unresolved is not None:
            if hostName in self.unresolved:
                if self.stats is not None:
                    self.stats.inc_value("dns/unresolved_cached")
                resolution: Any = HostResolution(hostName)
                receiver.resolutionBegan(resolution)
                receiver.resolutionComplete()
                return resolution
            receiver = _RememberUnresolved(receiver, hostName, self.unresolved)
        if not self.allow_private:
            receiver = _GuardedReceiver(receiver, hostName, self.stats, self.allowed)
        return super().resolveHostName(
            receiver, hostName, portNumber, addressTypes, transportSemantics
        )
