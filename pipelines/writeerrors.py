"""Counts exchanges the WARC writer could not write, and stops the crawl after too many in a row.

One failed write (a full disk for a moment, a quota) costs one URL, logged as a
retryable ``write-error`` by the spider; the crawl goes on. ``limit`` failures in a
row mean the disk is not coming back: the crawl is closed with reason ``disk_full``
(``warc_write_failed`` for an error other than no space) and a one-line message
naming the staging folder, where everything written so far stays. A crawl closed so
is not published (:class:`pipelines.publish.PublishCrawl`): no manifest calls it complete.

Settings: ``WARC_MAX_WRITE_ERRORS`` (read by :mod:`pipelines.warc`).
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.utils.defer import deferred_from_coro

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

DISK_FULL = "disk_full"
WRITE_FAILED = "warc_write_failed"
#: close reasons of a crawl stopped by write errors: its files stay staged, unpublished
WRITE_STOP_REASONS = frozenset({DISK_FULL, WRITE_FAILED})
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def stop_reason(exc: OSError) -> str:
    cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
    return DISK_FULL if cause.errno in _NO_SPACE else WRITE_FAILED


def closer(crawler: Crawler) -> Callable[[str], None]:
    """Closes ``crawler``'s spider with a reason; callable from any thread."""

    def close(reason: str) -> None:
        assert crawler.engine is not None
        deferred_from_coro(crawler.engine.close_spider_async(reason=reason))

    def close_from_any_thread(reason: str) -> None:
        # Imported here: importing the reactor installs one, and Scrapy picks which.
        from twisted.internet import reactor

        reactor.callFromThread(close, reason)

    return close_from_any_thread


class WriteErrors:
    def __init__(
        self,
        limit: int,
        stats: StatsCollector,
        staging: Path,
        stop: Callable[[str], None] | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError(f"WARC_MAX_WRITE_ERRORS must be 1 or more, got {limit}")
        self.limit = limit
        self.stats = stats
        self.staging = staging
        self.stop = stop
        self.in_a_row = 0
        #: why the crawl stopped early, for its summary (None: it did not)
        self.error: str | None = None

    def succeeded(self) -> None:
        self.in_a_row = 0

    def failed(self, url: str, exc: OSError) -> None:
        self.stats.inc_value("warc/write_errors")
        self.in_a_row += 1
        logger.error("not archived (write error): %s: %s", url, exc)
        if self.in_a_row != self.limit:
            return
        self.error = (
            f"stopped after {self.in_a_row} WARC write errors in a row ({exc}); nothing is "
            f"published: the files written so far are kept in {self.staging}; free space, "
            "then resume the crawl (scrubwatch crawl --resume)"
        )
        logger.error("%s", self.error)
        if self.stop is not None:
            self.stop(stop_reason(exc))
