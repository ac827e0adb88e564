"""Item pipeline that writes the crawl's text dataset: the rows :mod:`pipelines.extract` made.

Rows go to ``crawls/<id>/text/part-NNNNN.parquet`` and ``.jsonl.gz`` (``part-<worker>-NNNNN``
for one worker of a shared crawl) in the staging folder (see :mod:`pipelines.datasetfile`
for the format), through one writer thread so that no file I/O runs on the reactor
thread; the last part is closed, and the Parquet parts are made, when the spider closes
(after :class:`~pipelines.extract.ExtractPipeline` has stopped its workers), before the
publisher puts the crawl into the store.

Settings: ``DATASET_ROWS_PER_PART``, ``DATASET_ROW_GROUP_ROWS``, ``DATASET_ROW_GROUP_BYTES``,
``CRAWL_ID``, ``STAGING_DIR``, ``WORKER_ID``.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pipelines.datasetfile import COLUMNS, DatasetWriter, make_row
from pipelines.staging import crawl_staging

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

__all__ = ["COLUMNS", "DatasetPipeline", "DatasetWriter", "make_row"]

logger = logging.getLogger(__name__)

TEXT_FOLDER = "text"


class DatasetPipeline:
    def __init__(self, writer: DatasetWriter, stats: StatsCollector) -> None:
        self.writer = writer
        self.stats = stats
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dataset-writer")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        writer = DatasetWriter(
            crawl_staging(settings) / TEXT_FOLDER,
            settings.get("CRAWL_ID"),
            rows_per_part=settings.getint("DATASET_ROWS_PER_PART"),
            row_group_rows=settings.getint("DATASET_ROW_GROUP_ROWS"),
            row_group_bytes=settings.getint("DATASET_ROW_GROUP_BYTES"),
            part_prefix=f"part-{worker}" if (worker := settings.get("WORKER_ID")) else "part",
        )
        assert crawler.stats is not None
        return cls(writer, crawler.stats)

    async def process_item(self, item: Any) -> Any:
        row = getattr(item, "row", None)
        if row is not None:
            await asyncio.wrap_future(self.executor.submit(self.writer.write, row))
            self.stats.inc_value("dataset/rows")
        return item

    async def close_spider(self) -> None:
        files = await asyncio.wrap_future(self.executor.submit(self.writer.close))
        self.executor.shutdown(wait=True)
        self.stats.set_value("dataset/files", len(files))
        logger.info("dataset: %d rows in %d files", self.writer.rows, len(files))
