"""Item pipeline that writes the crawl's text dataset: the rows :mod:`pipelines.extract` made.

Rows go to ``datasets/text-jsonl/crawl_id=<id>/part-NNNNN.jsonl.gz`` and
``datasets/text/crawl_id=<id>/part-NNNNN.parquet`` (``part-<worker>-NNNNN`` for one
worker of a shared crawl) in the staging folder (see :mod:`pipelines.datasetfile` for
the format), through one writer thread so that no file I/O runs on the reactor
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

from pipelines.datasetfile import COLUMNS, DatasetWriter, PartSizes, make_row
from pipelines.staging import staging_root
from storage.layout import staged_dataset

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.statscollectors import StatsCollector

__all__ = ["COLUMNS", "DatasetPipeline", "DatasetWriter", "PartSizes", "make_row"]

logger = logging.getLogger(__name__)


def part_sizes(settings: BaseSettings) -> PartSizes:
    """The sizes of the dataset's parts and row groups the ``DATASET_*`` settings ask for."""
    return PartSizes(
        rows_per_part=settings.getint("DATASET_ROWS_PER_PART"),
        row_group_rows=settings.getint("DATASET_ROW_GROUP_ROWS"),
        row_group_bytes=settings.getint("DATASET_ROW_GROUP_BYTES"),
    )


class DatasetPipeline:
    def __init__(self, writer: DatasetWriter, stats: StatsCollector) -> None:
        self.writer = writer
        self.stats = stats
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dataset-writer")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        root, crawl_id = staging_root(settings), settings.get("CRAWL_ID")
        writer = DatasetWriter(
            staged_dataset(root, crawl_id),
            staged_dataset(root, crawl_id, jsonl=True),
            crawl_id,
            part_sizes(settings),
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
