"""A URL that could not be fetched is the crawl log's business, not an error of the crawl.

Every URL the spider asks for has an errback, which writes its failure into the crawl log
and counts it for the summary; RetryMiddleware's "Gave up retrying" line is at INFO
(``RETRY_GIVE_UP_LOG_LEVEL``). What is left is RobotsTxtMiddleware: a robots.txt that could
not be fetched (the host does not resolve, refuses, does not answer) is logged at ERROR
with its traceback, although Scrapy then goes on as if there were none, and the page's
own failure, if any, is in the crawl log. :class:`QuietFetchErrors` puts such records at
INFO without the traceback, so the default log level (WARNING) does not show them and
``--log-level INFO`` does; an exception that is no failure to fetch (a bug) keeps its
ERROR and its traceback.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import signals

from crawler.failures import classify

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

ROBOTS_LOGGER = "scrapy.downloadermiddlewares.robotstxt"


class FetchFailuresAtInfo(logging.Filter):
    """Lowers ERROR records whose exception is a failure to fetch to INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if record.levelno == logging.ERROR and exc is not None:
            kind, _ = classify(exc, "")
            if kind != "error":
                record.levelno, record.levelname = logging.INFO, "INFO"
                record.exc_info, record.exc_text = None, None
        return True


class QuietFetchErrors:
    """Puts :class:`FetchFailuresAtInfo` on RobotsTxtMiddleware's logger for the crawl."""

    def __init__(self) -> None:
        self.filter = FetchFailuresAtInfo()
        logging.getLogger(ROBOTS_LOGGER).addFilter(self.filter)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        extension = cls()
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def engine_stopped(self) -> None:
        logging.getLogger(ROBOTS_LOGGER).removeFilter(self.filter)
