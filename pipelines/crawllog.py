"""Item pipeline that writes the crawl log: one JSON object per URL, captured or not.

``crawls/<id>/crawl-log.jsonl.gz`` in the staging folder (``crawl-log.<worker>.jsonl.gz``
for one worker of a shared crawl; the format is :mod:`storage.crawllog`'s), put into the
store with the rest of the crawl. Nothing that was tried is silently dropped: failures
(DNS, refused, timeout, too large, blocked, robots) are lines here too.

The failures of seeds and of the pages files cite are kept too (the first
:data:`START_FAILURES_KEPT`), so that a crawl that captured no page can say why in a line.

Settings: ``CRAWL_ID``, ``STAGING_DIR``, ``WORKER_ID``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals

from pipelines.items import FailureItem, PageItem
from pipelines.staging import staged_file
from storage.crawllog import CrawlLogWriter
from storage.layout import crawl_log_key

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

START_ROLES = ("seed", "cited")
START_FAILURES_KEPT = 1000


class CrawlLogPipeline:
    def __init__(self, path: Path, stats: StatsCollector) -> None:
        self.log = CrawlLogWriter(path)
        self.stats = stats
        self.start_failures: list[FailureItem] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        settings = crawler.settings
        key = crawl_log_key(settings.get("CRAWL_ID"), settings.get("WORKER_ID"))
        pipeline = cls(staged_file(settings, key), crawler.stats)
        crawler.signals.connect(pipeline.request_dropped, signal=signals.request_dropped)
        return pipeline

    def request_dropped(self, request: Request) -> None:
        """A redirect whose target was fetched already (a loop, or a page seen by another
        path) ends the chain with no response for the spider: say so, not nothing."""
        chain = request.meta.get("redirect_urls")
        if not chain:
            return  # an ordinary duplicate: that URL has its own line
        self.stats.inc_value("crawl/failed/redirect")
        self.process_item(
            FailureItem(
                url=chain[0],
                role=request.meta.get("role", "cited"),
                kind="redirect",
                error=f"redirects to {request.url}, which this crawl already fetched "
                f"(chain: {' -> '.join([*chain, request.url])})",
                time=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                cited_by=request.meta.get("cited_by"),
                outlet=request.meta.get("outlet"),
            )
        )

    def open_spider(self) -> None:
        self.log.open()

    def close_spider(self) -> None:
        self.log.close()

    def process_item(self, item: Any) -> Any:
        if isinstance(item, PageItem):
            self.stats.inc_value(f"crawl/items/{item.role}")
        elif (
            isinstance(item, FailureItem)
            and item.role in START_ROLES
            and len(self.start_failures) < START_FAILURES_KEPT
        ):
            self.start_failures.append(item)
        if isinstance(item, PageItem | FailureItem) and self.log.is_open:
            self.log.write(item.log_entry())
        return item
