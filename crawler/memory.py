"""Extension: give the crawl process's free malloc pages back to the system now and then.

glibc keeps freed chunks inside the heap in the process (it only gives back the top of
it on its own); :class:`ReleaseFreeMemory` hands every free page back
(:func:`pipelines.malloc.trim_malloc`) every ``MEMORY_TRIM_INTERVAL`` seconds of a crawl.
The extraction workers do the same after a page (:mod:`pipelines.extractpool`).

Settings: ``MEMORY_TRIM_INTERVAL`` (0: never).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet.task import LoopingCall

from pipelines.malloc import malloc_trim_available, trim_malloc

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler


class ReleaseFreeMemory:
    """Extension: :func:`trim_malloc` every ``MEMORY_TRIM_INTERVAL`` seconds (0: never)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._loop = LoopingCall(trim_malloc)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReleaseFreeMemory:
        interval = crawler.settings.getfloat("MEMORY_TRIM_INTERVAL")
        if interval <= 0 or not malloc_trim_available():
            raise NotConfigured("MEMORY_TRIM_INTERVAL is 0, or no glibc")
        extension = cls(interval)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        self._loop.start(self.interval, now=False)

    def spider_closed(self, spider: Spider) -> None:
        if self._loop.running:
            self._loop.stop()
