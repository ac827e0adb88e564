"""Extension that puts the finished crawl into the store once the engine has stopped.

``engine_stopped`` comes after every ``spider_closed`` handler (the WARC writer
closing its last file, the crawl log closing), so all files are final by then.
The work runs in a thread (boto3 blocks). A crawl stopped before it finished
(``finish_reason`` ``shutdown``: the first SIGTERM or Ctrl-C; ``disk_full``: see
:mod:`pipelines.writeerrors`) is not published: its
error says how to resume it (:mod:`crawler.resume`). At start it refuses a crawl id that the
store already holds and a store it cannot write to, before anything is fetched.

Settings: ``STORE_URI``, ``CRAWL_ID``, ``STAGING_DIR``, ``SEEDS``, ``STORE_RETAIN_DAYS``,
``STORE_LOCK_MODE``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.utils.asyncio import run_in_thread

from pipelines.writeerrors import WRITE_STOP_REASONS
from storage import Store, StoreError, crawl_exists, open_store
from storage.publish import publish_crawl, write_info
from storage.resumable import resume_command

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

#: Scrapy's finish_reason for a crawl stopped by the first SIGTERM or Ctrl-C
INTERRUPTED = "shutdown"


class CrawlExists(ValueError):
    """The store already holds a crawl of that id; the message says what to do."""


def open_crawl_store(settings: Any) -> Store:
    """The store of ``STORE_URI``, with the retention asked for, checked writable."""
    store = open_store(
        settings.get("STORE_URI"),
        retain_days=settings.getint("STORE_RETAIN_DAYS"),
        lock_mode=settings.get("STORE_LOCK_MODE"),
    )
    store.check_writable()
    return store


def check_new(store: Store, crawl_id: str) -> None:
    """Refuse a crawl id that the store already holds: nothing is overwritten."""
    if crawl_exists(store, crawl_id):
        raise CrawlExists(
            f"crawl {crawl_id} already exists in store {store.uri}: "
            "nothing is overwritten; choose another --crawl-id"
        )


class PublishCrawl:
    def __init__(
        self,
        store: Store,
        staging_root: Path,
        crawl_id: str,
        seeds: list[str],
        stats: StatsCollector,
        extraction: dict[str, bool] | None = None,
    ) -> None:
        self.store = store
        self.staging_root = staging_root
        self.crawl_id = crawl_id
        self.seeds = seeds
        self.stats = stats
        self.extraction = extraction or {}
        self.error: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        store = open_crawl_store(settings)
        crawl_id = settings.get("CRAWL_ID")
        check_new(store, crawl_id)
        assert crawler.stats is not None
        ext = cls(
            store,
            Path(settings.get("STAGING_DIR")),
            crawl_id,
            settings.getlist("SEEDS"),
            crawler.stats,
            {
                "enabled": settings.getbool("EXTRACT_ENABLED"),
                "fast": settings.getbool("EXTRACT_FAST"),
            },
        )
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def info(self) -> dict[str, Any]:
        stats = self.stats.get_stats()
        return {
            "crawl_id": self.crawl_id,
            "store": self.store.uri,
            "seeds": self.seeds,
            "extraction": self.extraction,
            "started": stats.get("start_time"),
            "finished": stats.get("finish_time"),
            "finish_reason": stats.get("finish_reason"),
            "counts": {
                k: v for k, v in stats.items() if isinstance(v, int) and not isinstance(v, bool)
            },
        }

    def _publish(self) -> None:
        write_info(self.staging_root, self.crawl_id, self.info())
        published = publish_crawl(self.store, self.staging_root, self.crawl_id)
        self.stats.set_value("store/files", len(published.stored) + len(published.already_there))

    def stopped_early(self) -> str | None:
        """Why this crawl must not be published now, or None.

        Stopped before it finished (SIGTERM, Ctrl-C, write errors): a crawl with a
        manifest is complete, so nothing goes into the store until a resume finishes it.
        """
        if self.stats.get_value("finish_reason") not in (INTERRUPTED, *WRITE_STOP_REASONS):
            return None
        return (
            f"crawl {self.crawl_id} was stopped before it finished; its files are kept "
            f"in {self.staging_root}: run `{resume_command(self.store.uri, self.crawl_id)}` "
            "to finish it"
        )

    async def engine_stopped(self) -> None:
        self.error = self.stopped_early()
        if self.error:
            logger.warning("%s", self.error)
            return
        try:
            await run_in_thread(self._publish)
        except StoreError as exc:  # a PublishError, or the store failing before any put
            self.error = str(exc)
            logger.error("%s", exc)
