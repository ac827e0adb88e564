"""Item pipeline that extracts the text of every captured HTML page, in worker processes.

A :class:`~pipelines.items.PageItem` served as HTML (or without a Content-Type but
starting like HTML) goes to an :class:`~pipelines.extractpool.ExtractorPool`; the
reactor thread only awaits the future. The page's dataset row is attached to the
item (``item.row``) for :mod:`pipelines.dataset` to write; every outcome is counted
(``extract/ok``, ``extract/empty``, ``extract/timeout``, ...). The item's body is
already content-decoded by Scrapy's HttpCompressionMiddleware.

A revisit (a payload identical to one captured before, in this crawl or an earlier one)
is not extracted again: its row says where it was captured, with ``extraction`` =
``unchanged`` and no text; the row of the earlier capture has the same ``payload_digest``.
A page archived truncated (``WARC-Truncated: length``, past ``DOWNLOAD_MAXSIZE``) is
extracted from what was kept, and its status is ``too_large`` with that text.

Settings: ``EXTRACT_ENABLED``, ``EXTRACT_WORKERS`` (0: one per core),
``EXTRACT_TIMEOUT``, ``EXTRACT_MAX_BYTES``, ``EXTRACT_FAST`` (trafilatura's ``fast``),
``MEMORY_TRIM_INTERVAL`` (how often a worker gives memory back), ``CRAWL_ID``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured

from pipelines.datasetfile import make_row
from pipelines.extraction import Extraction, looks_like_html, make_options
from pipelines.extractpool import ExtractorPool
from pipelines.items import PageItem

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector


logger = logging.getLogger(__name__)

UNCHANGED = Extraction("unchanged", "payload extracted before: join on payload_digest")


def wants_extraction(item: PageItem) -> bool:
    return item.is_html or (not item.content_type and looks_like_html(item.body))


class ExtractPipeline:
    def __init__(self, pool: ExtractorPool, crawl_id: str, stats: StatsCollector) -> None:
        self.pool = pool
        self.crawl_id = crawl_id
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("EXTRACT_ENABLED"):
            raise NotConfigured("EXTRACT_ENABLED is off")
        workers = settings.getint("EXTRACT_WORKERS")
        if workers < 0:
            raise ValueError(f"EXTRACT_WORKERS must be 0 (one per core) or more, got {workers}")
        pool = ExtractorPool(
            workers or None,
            timeout=settings.getfloat("EXTRACT_TIMEOUT"),
            max_bytes=settings.getint("EXTRACT_MAX_BYTES"),
            trim_interval=settings.getfloat("MEMORY_TRIM_INTERVAL"),
            options=make_options(fast=settings.getbool("EXTRACT_FAST")),
        )
        assert crawler.stats is not None
        return cls(pool, settings.get("CRAWL_ID"), crawler.stats)

    async def process_item(self, item: Any) -> Any:
        if not (isinstance(item, PageItem) and wants_extraction(item)):
            return item
        if item.record_type == "revisit":
            extraction = UNCHANGED
        else:
            future = self.pool.submit(item.body, item.url, item.content_type)
            extraction = await asyncio.wrap_future(future)
            if item.truncated and extraction.status == "ok":
                extraction = replace(
                    extraction,
                    status="too_large",
                    reason=f"archived truncated ({item.truncated}): text of its first "
                    f"{len(item.body)} bytes",
                )
        self.stats.inc_value(f"extract/{extraction.status}")
        item.row = make_row(
            extraction,
            url=item.url,
            crawl_id=self.crawl_id,
            fetched_at=item.fetched_at,
            status=item.status,
            content_type=item.content_type,
            outlet=item.outlet,
            payload_digest=item.payload_digest,
            warc_filename=item.warc_filename,
            warc_offset=item.warc_offset,
            warc_length=item.warc_length,
            rendered=item.rendered,
        )
        return item

    def close_spider(self) -> None:
        """Stop the workers (every item is done by now).

        A plain method, not a coroutine: Scrapy calls the pipelines' ``close_spider`` in
        ``ITEM_PIPELINES`` order, and this one returns before
        :class:`~pipelines.dataset.DatasetPipeline`'s is called, which makes the
        Parquet parts: so the workers' memory is given back before pyarrow's is taken.
        """
        self.pool.close()
        logger.info("extraction: workers stopped")
