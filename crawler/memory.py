"""glibc's malloc, told to give memory back: fewer arenas, and free pages returned.

glibc gives each thread that allocates its own arena (up to 8 per core), and an
arena keeps the memory freed in it for its own thread. A crawl has several such
threads (the WARC and dataset writers, the extraction pool's threads, Scrapy's
thread pool), each freeing page-sized buffers: with two arenas the same crawl peaks
about 100 MB lower (bench/README.md, "5. Memory"). The limit only binds arenas made
after it is set, so the CLI sets it first thing, before any thread starts.

Even so, freed chunks inside the heap stay in the process (glibc only gives back the
top of it on its own): :func:`trim_malloc` hands every free page back to the system.
:class:`ReleaseFreeMemory` does that every ``MEMORY_TRIM_INTERVAL`` seconds of a crawl
(every 0.5 s, the crawl process peaks 30 MB lower on the benchmark's site than every
2 s), and each extraction worker after a page, at most every 0.5 s
(:mod:`pipelines.extractpool`).

A ``MALLOC_ARENA_MAX`` in the environment (glibc's own variable) wins; other C
libraries (musl, macOS) have no ``mallopt`` or ``malloc_trim`` and are left alone.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # at run time only in the extension: the extraction workers import
    from scrapy import Spider  # trim_malloc, and they have no use for Scrapy
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


@functools.cache
def _libc_function(name: str, *argtypes: Any) -> Any:
    """``name`` from the process's C library, its argument types set; None if not glibc."""
    if not sys.platform.startswith("linux"):
        return None
    function = getattr(ctypes.CDLL(None), name, None)
    if function is not None:
        function.argtypes = list(argtypes)
    return function


def _malloc_trim() -> Any:
    return _libc_function("malloc_trim", ctypes.c_size_t)


def limit_malloc_arenas(environ: Mapping[str, str], arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas at ``arenas``; True if set here, False if left as it was."""
    mallopt = _libc_function("mallopt", ctypes.c_int, ctypes.c_int)
    if mallopt is None or "MALLOC_ARENA_MAX" in environ:
        return False
    done = bool(mallopt(_M_ARENA_MAX, arenas))
    logger.debug("malloc arenas limited to %d: %s", arenas, done)
    return done


def trim_malloc() -> bool:
    """Give the system back the free pages of every malloc arena; True if any went back."""
    malloc_trim = _malloc_trim()
    return malloc_trim is not None and bool(malloc_trim(0))


class ReleaseFreeMemory:
    """Extension: :func:`trim_malloc` every ``MEMORY_TRIM_INTERVAL`` seconds (0: never)."""

    def __init__(self, interval: float) -> None:
        from twisted.internet.task import LoopingCall

        self.interval = interval
        self._loop = LoopingCall(trim_malloc)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReleaseFreeMemory:
        from scrapy import signals
        from scrapy.exceptions import NotConfigured

        interval = crawler.settings.getfloat("MEMORY_TRIM_INTERVAL")
        if interval <= 0 or _malloc_trim() is None:
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
