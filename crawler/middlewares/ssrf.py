"""Refuses requests to IP literals outside the public internet, before any connection.

Names are checked by :mod:`crawler.resolver` when they are resolved; this
middleware catches the hosts that never reach a resolver's judgement in a form a
person would recognise (``http://2130706433/``, ``http://0x7f.1/``,
``http://[::ffff:127.0.0.1]/``) and URLs with no usable host. Redirects and meta
refreshes come back through here as new requests, so they are checked too.

Settings: ``SSRF_ALLOW_PRIVATE`` (bool; when true this middleware is not enabled),
``SSRF_ALLOWED_NETWORKS`` (networks treated as public).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from crawler.addresses import Networks, blocked_reason, parse_ip_literal, parse_networks

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class BlockedRequest(IgnoreRequest):
    """A request refused by the SSRF policy; the message says why."""


class SsrfGuardMiddleware:
    def __init__(self, stats: StatsCollector, allowed: Networks = ()) -> None:
        self.stats = stats
        self.allowed = allowed

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if crawler.settings.getbool("SSRF_ALLOW_PRIVATE"):
            raise NotConfigured("SSRF_ALLOW_PRIVATE is set")
        assert crawler.stats is not None
        return cls(crawler.stats, parse_networks(crawler.settings.getlist("SSRF_ALLOWED_NETWORKS")))

    def process_request(self, request: Request) -> None:
        parsed = urlparse_cached(request)
        if parsed.scheme not in ("http", "https"):
            return
        host = parsed.hostname or ""
        reason = "no host in URL" if not host else None
        ip = parse_ip_literal(host) if host else None
        if ip is not None:
            reason = blocked_reason(ip, self.allowed)
        if reason:
            self.stats.inc_value("ssrf/blocked")
            logger.warning("SSRF guard: refused %s (%s)", request.url, reason)
            raise BlockedRequest(f"blocked: {reason}")
