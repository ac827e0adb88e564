"""Item pipeline that reads every captured search page into the ``search_results`` dataset.

A :class:`~pipelines.items.PageItem` with ``search`` set (a page of a search seed's
results, :mod:`crawler.searches`) is parsed by its engine's rules
(:func:`~pipelines.searchparse.parse_search_page`): from the DOM a browser rendered when
the page was rendered (``item.rendered``: its body is that DOM), else from the response.
Its rows (:mod:`pipelines.searchrows`) are written, as the text dataset's are, to JSON
Lines parts while the crawl runs and to Parquet parts when it closes, in
``datasets/search_results[-jsonl]/crawl_id=<id>/``; parsing and writing run in one thread
of their own, off the reactor. Counted: ``search/pages``, ``search/results`` and
``search/<outcome>`` (``search/unparsed``, ``search/captcha``...). A result page that could
not be captured (a :class:`~pipelines.items.FailureItem` with ``search``) is a row of
outcome ``failed``; a page the browser failed to render is not one: its HTML as fetched
comes next and is read instead.

Settings: ``CRAWL_ID``, ``STAGING_DIR``, ``WORKER_ID``, ``DATASET_*`` (as the text dataset).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pipelines.dataset import staged_writer
from pipelines.datasetfile import DatasetWriter
from pipelines.items import FailureItem, PageItem
from pipelines.searchparse import ParsedPage, SearchPage, parse_search_page
from pipelines.searchrows import FIELDS, failed_row, search_rows
from pipelines.staging import staging_root
from storage.layout import staged_searches

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class SearchResultsPipeline:
    def __init__(self, writer: DatasetWriter, stats: StatsCollector) -> None:
        self.writer = writer
        self.stats = stats
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search-results")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        root, crawl_id = staging_root(settings), settings.get("CRAWL_ID")
        writer = staged_writer(settings, root, crawl_id, staged_searches, fields=FIELDS)
        assert crawler.stats is not None
        return cls(writer, crawler.stats)

    def _write(self, item: PageItem) -> ParsedPage:
        assert item.search is not None
        parsed = parse_search_page(
            item.body,
            url=item.url,
            content_type=item.content_type,
            status=item.status,
            rules=item.search.rules,
        )
        for row in search_rows(item, item.search, parsed, self.writer.crawl_id):
            self.writer.write(row)
        return parsed

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, FailureItem) and item.search and not item.kind.startswith("browser-"):
            search = SearchPage(
                str(item.search["engine"]), str(item.search["query"]), item.search["page"], 0
            )
            row = failed_row(item, search, self.writer.crawl_id)
            await asyncio.wrap_future(self.executor.submit(self.writer.write, row))
            self.stats.inc_value("search/pages")
            self.stats.inc_value("search/failed")
            return item
        if not (isinstance(item, PageItem) and item.search is not None):
            return item
        parsed = await asyncio.wrap_future(self.executor.submit(self._write, item))
        self.stats.inc_value("search/pages")
        self.stats.inc_value(f"search/{parsed.outcome}")
        self.stats.inc_value("search/results", len(parsed.results))
        if parsed.outcome == "unparsed":
            logger.warning(
                "search %s %r page %d: %s (%s)",
                item.search.engine,
                item.search.query,
                item.search.page,
                parsed.reason,
                item.url,
            )
        return item

    async def close_spider(self) -> None:
        files = await asyncio.wrap_future(self.executor.submit(self.writer.close))
        self.executor.shutdown(wait=True)
        self.stats.set_value("search/files", len(files))
