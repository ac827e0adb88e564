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
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pipelines.datasetfile import COLUMNS, FIELDS, DatasetWriter, Fields, PartSizes, make_row
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


class StagedFolder(Protocol):
    """Where a dataset's Parquet parts (JSON Lines parts with ``jsonl``) are staged:
    :func:`storage.layout.staged_dataset`, :func:`storage.layout.staged_searches`."""

    def __call__(self, staging_root: Path, crawl_id: str, *, jsonl: bool = False) -> Path: ...


def staged_writer(
    settings: BaseSettings,
    root: Path,
    crawl_id: str,
    staged: StagedFolder,
    fields: Fields = FIELDS,
) -> DatasetWriter:
    """The writer of a dataset of ``crawl_id`` staged in ``root``'s ``staged`` folders, its
    parts sized by the ``DATASET_*`` settings and named after the ``WORKER_ID`` of a
    shared crawl's worker."""
    worker = settings.get("WORKER_ID")
    return DatasetWriter(
        staged(root, crawl_id),
        staged(root, crawl_id, jsonl=True),
        crawl_id,
        part_sizes(settings),
        part_prefix=f"part-{worker}" if worker else "part",
        fields=fields,
    )


class DatasetPipeline:
    def __init__(self, writer: DatasetWriter, stats: StatsCollector) -> None:
        self.writer = writer
        self.stats = stats
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dataset-writer")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        writer = staged_writer(
            settings, staging_root(settings), settings.get("CRAWL_ID"), staged_dataset
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
