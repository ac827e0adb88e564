"""Fails the requests to a host this crawl found gone at once, without waiting its turn.

The rule of what is gone is :mod:`crawler.deadhosts`'. This middleware sees every failure
and every answer of the downloader, and keeps the count:

- ``process_exception`` counts a failure before RetryMiddleware (550) decides on a retry,
  so each attempt counts, and a retry of a request to a host that is dead by then fails
  in ``process_request`` without being sent: Scrapy's retries go on for transient errors
  (resets, 5xx), not for hosts that are gone. A timeout counts only when nothing came
  back for the request, not even its headers (``headers_received``): a host that answers
  slowly is there.
- ``process_request`` fails a request to a dead host with :class:`DeadHostError` (an
  ``IgnoreRequest``: no retry, and RobotsTxtMiddleware treats a robots.txt that was not
  sent as absent, without an error line). Scrapy applies a slot's download delay after
  the middlewares' ``process_request``, when the request enters its slot's queue, so a
  request failed here never waits for politeness. It runs after RobotsTxtMiddleware (100):
  requests that waited there for a robots.txt of a host that turned out dead fail here.
- The requests of that host already in its slot's queue when it becomes dead (they have
  passed ``process_request``) are taken out of the queue and failed the same way.
- ``process_response`` clears the host's count: it answered.

Placed at 955: after ArchiveReplay (950), which answers a resumed crawl's captured URLs
without a download, and before TruncateOversize (960).

Settings: ``DEAD_HOST_FAILURES`` (failures in a row after which a host is dead; 0: off).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from weakref import WeakSet

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from crawler.deadhosts import DeadHost, DeadHostError, DeadHosts
from crawler.failures import classify

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}


def address(request: Request) -> tuple[str, int] | None:
    """(host name, port) of an HTTP(S) request; None for other schemes."""
    parsed = urlparse_cached(request)
    if parsed.scheme not in DEFAULT_PORTS or not parsed.hostname:
        return None
    try:
        port = parsed.port or DEFAULT_PORTS[parsed.scheme]
    except ValueError:  # a port out of range: the download fails on its own
        return None
    return parsed.hostname, port


class DeadHostMiddleware:
    def __init__(self, crawler: Crawler, stats: StatsCollector, threshold: int) -> None:
        self.crawler = crawler
        self.stats = stats
        self.hosts = DeadHosts(threshold)
        # requests whose headers came: a timeout of theirs is a slow host, not a gone one
        self.answered: WeakSet[Request] = WeakSet()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        threshold = crawler.settings.getint("DEAD_HOST_FAILURES")
        if threshold <= 0:
            raise NotConfigured("DEAD_HOST_FAILURES is 0")
        assert crawler.stats is not None
        middleware = cls(crawler, crawler.stats, threshold)
        crawler.signals.connect(middleware.headers_received, signal=signals.headers_received)
        return middleware

    def headers_received(self, request: Request) -> None:
        self.answered.add(request)

    def process_request(self, request: Request) -> None:
        where = address(request)
        dead = self.hosts.find(*where) if where else None
        if dead is not None:
            self._skip(dead)
            raise DeadHostError(dead)

    def process_response(self, request: Request, response: Response) -> Response:
        where = address(request)
        if where:
            self.hosts.answered(*where)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        where = address(request)
        if where is None or isinstance(exception, DeadHostError):
            return
        kind, message = classify(exception, request.url)
        if kind == "timeout" and request in self.answered:
            return
        dead = self.hosts.failed(*where, kind, message)
        if dead is not None:
            self.stats.inc_value("deadhost/hosts")
            logger.info(
                "dead host: %s (%s, %d failures in a row): its requests fail at once",
                dead.host,
                dead.kind,
                dead.failures,
            )
            self._fail_queued(request.meta.get("download_slot"), dead)

    def _skip(self, dead: DeadHost) -> None:
        dead.skipped += 1
        self.stats.inc_value("deadhost/skipped")

    def _fail_queued(self, slot_key: Any, dead: DeadHost) -> None:
        """Fail the requests to ``dead`` waiting in the downloader slot ``slot_key``."""
        engine = self.crawler.engine
        slot = engine.downloader.slots.get(slot_key) if engine and slot_key is not None else None
        if slot is None or not slot.queue:
            return
        queued = list(slot.queue)
        slot.queue.clear()
        doomed = []
        for request, deferred in queued:
            where = address(request)
            if where and self.hosts.find(*where) is dead:
                doomed.append(deferred)
            else:
                slot.queue.append((request, deferred))
        for deferred in doomed:
            self._skip(dead)
            deferred.errback(DeadHostError(dead))
