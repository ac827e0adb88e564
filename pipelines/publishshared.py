"""Extension that publishes one worker's share of a crawl shared over Redis; the coordinator closes it.

It replaces :class:`~pipelines.publish.PublishCrawl` when ``REDIS_URL`` is set (the
add-on :class:`crawler.addon.SharedFrontier` swaps them). At start the coordinator
opens the crawl in Redis, refusing a crawl id that the store or Redis already holds,
and a worker joins it, refused unless it is running and not closed; from then on both
beat (:class:`storage.crawlgroup.Heartbeat`) until they have published, so that a slow
worker is told apart from a dead one.

Once its engine has stopped, a worker puts its files into the store without a manifest
and says so in Redis. The coordinator first lets no new worker join and waits, at most
``FRONTIER_PUBLISH_TIMEOUT`` seconds, until every other worker has published or is gone
(no heartbeat for ``FRONTIER_WORKER_TTL`` seconds); then it puts its own files and
closes the crawl (:mod:`storage.sharedcrawl`), and deletes the crawl's keys in Redis.

Settings: ``REDIS_URL``, ``FRONTIER_ROLE``, ``WORKER_ID``, ``FRONTIER_HEARTBEAT``,
``FRONTIER_WORKER_TTL``, ``FRONTIER_PUBLISH_TIMEOUT``, ``CRAWL_DEPTH``, ``ROBOTSTXT_OBEY``,
and those of :class:`~pipelines.publish.PublishCrawl`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redis import RedisError
from scrapy import signals

from pipelines.publish import INTERRUPTED, PublishCrawl, check_new, open_crawl_store
from storage import Store, manifest_key
from storage.crawlgroup import CLOSING, PUBLISHED, PUBLISHING, CrawlGroup, Heartbeat, connect
from storage.crawlinfo import CrawlInfo, Role
from storage.errors import CrawlExists
from storage.publish import publish_crawl, write_info
from storage.sharedcrawl import COORDINATOR
from storage.stores import store_identity

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import Settings

logger = logging.getLogger(__name__)


def crawl_fields(settings: Settings, store: Store) -> dict[str, str]:
    """What the coordinator records in Redis for the workers that join."""
    return {
        "store": store_identity(store),
        "seeds": json.dumps(settings.getlist("SEEDS")),
        "depth": str(settings.getint("CRAWL_DEPTH")),
        "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
    }


class SharedPublish(PublishCrawl):
    def __init__(
        self, *args: Any, group: CrawlGroup, worker: str, role: Role, timeout: float, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.group = group
        self.worker = worker
        self.role = role
        self.timeout = timeout
        self.heartbeat: Heartbeat | None = None
        self.outcome: dict[str, list[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        store = open_crawl_store(settings)
        crawl_id, worker = settings.get("CRAWL_ID"), settings.get("WORKER_ID")
        role, url = settings.get("FRONTIER_ROLE"), settings.get("REDIS_URL")
        interval = settings.getfloat("FRONTIER_HEARTBEAT")
        ttl = settings.getfloat("FRONTIER_WORKER_TTL")
        if not 0 < interval < ttl:
            raise ValueError(
                f"FRONTIER_HEARTBEAT ({interval}) must be above 0 "
                f"and below FRONTIER_WORKER_TTL ({ttl})"
            )
        group = CrawlGroup(connect(url), crawl_id)
        if role == COORDINATOR:
            check_new(store, crawl_id)
            if not group.open(worker, ttl, crawl_fields(settings, store)):
                raise CrawlExists(
                    f"crawl {crawl_id} is already under way on {url}: choose another --crawl-id"
                )
        elif store.exists(manifest_key(crawl_id)):
            raise CrawlExists(f"crawl {crawl_id} is closed already in store {store.uri}")
        elif not group.join(worker, ttl):
            raise CrawlExists(
                f"crawl {crawl_id} is not running on {url}: start it with scrubwatch crawl --redis"
            )
        assert crawler.stats is not None
        ext = cls(
            store,
            Path(settings.get("STAGING_DIR")),
            crawl_id,
            settings.getlist("SEEDS"),
            crawler.stats,
            group=group,
            worker=worker,
            role=role,
            timeout=settings.getfloat("FRONTIER_PUBLISH_TIMEOUT"),
        )
        ext.heartbeat = Heartbeat(lambda: group.beat(worker, ttl), interval)
        ext.heartbeat.start()
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    @property
    def lost(self) -> list[str]:
        """Workers the coordinator closed the crawl without: gone, or too slow to publish."""
        return self.outcome.get("lost", []) + self.outcome.get("waiting", [])

    def info(self) -> CrawlInfo:
        lost = self.lost if self.outcome else None
        return replace(super().info(), worker=self.worker, role=self.role, workers_lost=lost)

    def stopped_early(self) -> str | None:
        """A worker stopped (SIGTERM) hands in what it captured: the crawl goes on without it.

        A stopped coordinator leaves the crawl unfinished, and a shared crawl cannot be
        resumed: its files stay staged, and nothing is published.
        """
        if self.role != COORDINATOR and self.stats.get_value("finish_reason") == INTERRUPTED:
            return None
        error = super().stopped_early()
        if error is None:
            return None
        if self.heartbeat is not None:
            self.heartbeat.stop()
        return (
            f"crawl {self.crawl_id} shared over Redis was stopped before it finished; its "
            f"files are kept in {self.staging_root}, not published (a shared crawl cannot be "
            "resumed yet: crawl its seeds again under a new --crawl-id)"
        )

    def _wait_for_workers(self) -> None:
        self.group.set_status(CLOSING)  # no worker joins from now on
        self.outcome = self.group.wait_for(self.worker, self.timeout)
        for worker in self.outcome["lost"]:
            logger.warning(
                "worker %s stopped without publishing: its files are not in the crawl", worker
            )
        for worker in self.outcome["waiting"]:
            logger.warning(
                "worker %s has not published after %ss: closing without it", worker, self.timeout
            )
        self.stats.set_value("frontier/workers", 1 + sum(map(len, self.outcome.values())))
        self.stats.set_value("frontier/workers_lost", len(self.lost))

    def _publish(self) -> None:
        try:
            self.group.set_state(self.worker, PUBLISHING)
            if self.role == COORDINATOR:
                self._wait_for_workers()
            write_info(self.staging_root, self.crawl_id, self.info(), worker=self.worker)
            published = publish_crawl(self.store, self.staging_root, self.crawl_id)
            self.stats.set_value(
                "store/files", len(published.stored) + len(published.already_there)
            )
            if self.role == COORDINATOR:
                files = published.manifest.files if published.manifest else []
                self.stats.set_value("store/files", len(files))
                self.group.delete()
            else:
                self.group.set_state(self.worker, PUBLISHED)
        except RedisError as exc:
            self.error = f"Redis: {exc}"
            logger.error("%s", self.error)
        finally:
            if self.heartbeat is not None:
                self.heartbeat.stop()
