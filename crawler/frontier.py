"""Scrapy components of a crawl shared over Redis: one frontier and one dupefilter for many workers.

The add-on :class:`crawler.addon.SharedFrontier` switches them on when ``REDIS_URL`` is set
(``scrubwatch crawl --redis``, ``scrubwatch worker``). They build on scrapy-redis 0.9.1
(its sorted-set queue, its set of fingerprints), which predates Scrapy 2.19; rather than
pin an old Scrapy, the subclasses here and in :mod:`crawler.sharedqueue` adapt it:

- fingerprints come from Scrapy's ``REQUEST_FINGERPRINTER``, not scrapy-redis's own
  SHA-1 of the canonical URL, so the shared dupefilter agrees with Scrapy;
- components are built with ``from_crawler`` (not ``from_settings``/``from_spider``) and
  count stats without the deprecated ``spider`` argument;
- one process closing never flushes the queue or the fingerprints, which the other
  workers still use; the coordinator deletes them when it closes the crawl;
- requests travel as JSON, bytes tagged, not pickled: whoever can write to the Redis
  cannot make a worker run code;
- taking a request marks its worker busy in the same step (:mod:`storage.crawlgroup`),
  and :class:`FrontierIdle` keeps a worker open while any other is busy.

Scrapy's scheduler interface is synchronous, so the scheduler talks to Redis in the
reactor thread, as scrapy-redis does: one short round trip per call, bounded by the
client's socket timeout.

Settings: ``REDIS_URL``, ``CRAWL_ID``, ``WORKER_ID``, ``FRONTIER_ROLE``, ``STAGING_DIR``,
``FRONTIER_POLL_INTERVAL``, ``DUPEFILTER_CLASS``.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from redis import RedisError
from scrapy import Request, Spider, signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.utils.misc import build_from_crawler, load_object
from scrapy_redis.scheduler import Scheduler
from twisted.internet.task import LoopingCall

from crawler.sharedqueue import RequestCodec, SharedQueue
from storage.crawlgroup import CrawlGroup, connect

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class SharedScheduler(Scheduler):
    """scrapy-redis's scheduler over the crawl group's frontier, for Scrapy 2.19."""

    def __init__(
        self, group: CrawlGroup, worker: str, dupefilter: Any, stats: StatsCollector
    ) -> None:
        super().__init__(
            group.client,
            persist=True,
            queue_key=group.key("requests"),
            dupefilter=dupefilter,
            dupefilter_key=group.key("dupefilter"),
            serializer=RequestCodec,
        )
        self.group = group
        self.worker = worker
        self.stats = stats
        self._ready: deque[Request] = deque()
        self._returning: Request | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        group = CrawlGroup(connect(settings.get("REDIS_URL")), settings.get("CRAWL_ID"))
        dupefilter = build_from_crawler(load_object(settings["DUPEFILTER_CLASS"]), crawler)
        assert crawler.stats is not None
        return cls(group, settings.get("WORKER_ID"), dupefilter, crawler.stats)

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.queue = SharedQueue(self.group, self.worker, spider)
        if waiting := len(self.queue):
            logger.info(
                "shared frontier of crawl %s: %d requests waiting", self.group.crawl_id, waiting
            )

    def close(self, reason: str) -> None:
        """Keep the shared frontier: other workers may still be using it."""

    def enqueue_request(self, request: Request) -> bool:
        if request is self._returning:  # taken by wake(), back through the engine
            self._ready.append(request)
            return True
        if request.meta.get("playwright"):
            # a page to render: the browser's navigation is answered from the response
            # this worker holds (crawler.browser.route); another worker would fetch it again
            self._ready.append(request)
            self.stats.inc_value("scheduler/enqueued/local")
            return True
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        self.queue.push(request)
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        request = self._ready.popleft() if self._ready else self.queue.pop()
        if request is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return bool(self._ready) or len(self.queue) > 0

    def wake(self, crawl: Any) -> bool:
        """Take a shared request and hand it to ``crawl`` (``engine.crawl``); False if none.

        An idle engine looks at its scheduler again only every few seconds;
        ``engine.crawl`` is the public way to make it look now.
        """
        request = self.queue.pop()
        if request is None:
            return False
        self._returning = request
        try:
            crawl(request)
        finally:
            self._returning = None
        return True


class FrontierIdle:
    """Keeps a worker open while the shared crawl has work left, and wakes it when work appears.

    ``spider_idle``: this worker is idle; it stays open (``DontCloseSpider``) while
    requests wait or another live worker is busy, since that worker may yet add some.
    Every ``FRONTIER_POLL_INTERVAL`` seconds an engine with room takes waiting work.
    """

    def __init__(self, crawler: Crawler, group: CrawlGroup, worker: str, poll: float) -> None:
        self.crawler = crawler
        self.group = group
        self.worker = worker
        self.loop = LoopingCall(self.wake)
        self.poll = poll

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.get("REDIS_URL"):
            raise NotConfigured("REDIS_URL is not set")
        poll = settings.getfloat("FRONTIER_POLL_INTERVAL")
        if poll <= 0:
            raise ValueError(f"FRONTIER_POLL_INTERVAL must be positive, got {poll}")
        group = CrawlGroup(connect(settings.get("REDIS_URL")), settings.get("CRAWL_ID"))
        ext = cls(crawler, group, settings.get("WORKER_ID"), poll)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self) -> None:
        self.loop.start(self.poll, now=False)

    def spider_closed(self) -> None:
        if self.loop.running:
            self.loop.stop()

    def wake(self) -> None:
        engine = self.crawler.engine
        scheduler = engine.scheduler if engine is not None else None
        if engine is None or not isinstance(scheduler, SharedScheduler) or engine.needs_backout():
            return
        try:
            if self.group.pending():
                scheduler.wake(engine.crawl)
        except RedisError as exc:  # a blip; the next poll tries again
            logger.warning("cannot read the shared frontier: %s", exc)

    def spider_idle(self) -> None:
        try:
            work_left = self.group.settle(self.worker)
        except RedisError as exc:
            logger.error("cannot tell whether the shared crawl has work left (%s): closing", exc)
            return
        if work_left:
            raise DontCloseSpider
