"""The process pool that runs :func:`~pipelines.extraction.extract_page` on pages.

Each page runs under a hard time limit and each worker under a memory limit: a page that
hangs or kills its worker comes back as ``timeout`` or ``error``, and the pool goes on.
Plain Python: it reads no settings; :mod:`pipelines.extract` and
:mod:`pipelines.reextract` pass ``EXTRACT_TIMEOUT``, ``EXTRACT_MAX_BYTES`` and
``MEMORY_TRIM_INTERVAL``.
"""

from __future__ import annotations

import logging
import os
import resource
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, TimeoutError
from typing import TypeVar

import py3langid
from pebble import ProcessExpired, ProcessPool
from trafilatura.settings import Extractor

from pipelines import forkserver
from pipelines.extraction import OPTIONS, Extraction, extract_page
from pipelines.malloc import trim_malloc
from storage.contentcoding import (
    DEFAULT_MAX_BYTES,
    ContentDecodingError,
    ContentTooLarge,
    decode_content,
)

MEMORY_LIMIT = 1024**3
# A worker is replaced after this many pages: lxml and trafilatura's caches grow a
# worker's own memory over a long crawl, and a new one, forked, starts in milliseconds.
MAX_TASKS = 500
_last_trim = float("-inf")
_worker_options: Extractor = OPTIONS
_worker_max_bytes = DEFAULT_MAX_BYTES
_worker_trim_interval = 0.0


def _init_worker(
    options: Extractor, max_bytes: int, memory_limit: int, trim_interval: float
) -> None:
    """Runs once in each worker: limits, options, and the language model loaded."""
    global _worker_options, _worker_max_bytes, _worker_trim_interval
    if memory_limit:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    _worker_options, _worker_max_bytes = options, max_bytes
    _worker_trim_interval = trim_interval
    # Outcomes are counted as statuses; trafilatura's "discarding data" lines are noise.
    for name in ("trafilatura", "htmldate", "courlan", "charset_normalizer"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    py3langid.classify("warm up")


def extract_payload(body: bytes, url: str, content_type: str, content_encoding: str) -> Extraction:
    """The task a worker runs: undo the content coding, then :func:`extract_page`.

    Then the worker gives malloc's free pages back, at most every ``trim_interval``
    seconds of the pool (``MEMORY_TRIM_INTERVAL``; 0: never): each page's trees and
    copies, which glibc would otherwise keep, cost less CPU to give back now and then
    than after every page (bench/README.md).
    """
    global _last_trim
    try:
        return _extract_payload(body, url, content_type, content_encoding)
    finally:
        now = time.monotonic()
        if _worker_trim_interval and now - _last_trim >= _worker_trim_interval:
            trim_malloc()
            _last_trim = now


def _extract_payload(body: bytes, url: str, content_type: str, content_encoding: str) -> Extraction:
    try:
        body = decode_content(body, content_encoding, _worker_max_bytes)
        return extract_page(
            body, url, content_type, options=_worker_options, max_bytes=_worker_max_bytes
        )
    except ContentTooLarge as exc:
        return Extraction("too_large", str(exc))
    except ContentDecodingError as exc:
        return Extraction("decode_error", str(exc))
    except MemoryError:
        return Extraction("error", "out of memory")
    except Exception as exc:
        return Extraction("error", f"{type(exc).__name__}: {exc}"[:500])


Page = tuple[bytes, str, str, str]  # body, url, content type, content encoding
T = TypeVar("T")


class ExtractorPool:
    """Worker processes (one per core by default) extracting pages under a time limit.

    A worker that passes ``timeout`` on a page is killed and replaced, and the page's
    future gives status ``timeout``; a worker that dies gives ``error``. Workers are
    forked from multiprocessing's fork server (forking the crawler's process, which has
    threads, would be unsafe), which imports :mod:`pipelines.extractpreload` once: a
    worker starts at once, its imports done. ``timeout``, ``max_bytes`` and
    ``trim_interval`` are ``EXTRACT_TIMEOUT``, ``EXTRACT_MAX_BYTES`` and
    ``MEMORY_TRIM_INTERVAL``; ``func`` is the task (tests inject one that hangs or crashes).
    """

    def __init__(
        self,
        workers: int | None,
        *,
        timeout: float,
        max_bytes: int,
        trim_interval: float,
        options: Extractor = OPTIONS,
        memory_limit: int = MEMORY_LIMIT,
        func: Callable[[bytes, str, str, str], Extraction] = extract_payload,
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be 1 or more, got {workers}")
        if timeout <= 0 or max_bytes <= 0:
            raise ValueError(f"timeout and max_bytes must be positive: {timeout}, {max_bytes}")
        if trim_interval < 0:
            raise ValueError(f"trim_interval must be 0 (never) or more, got {trim_interval}")
        self.workers = workers or os.cpu_count() or 1
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.trim_interval = trim_interval
        self.func = func
        self._pool = ProcessPool(
            max_workers=self.workers,
            max_tasks=MAX_TASKS,
            initializer=_init_worker,
            initargs=(options, max_bytes, memory_limit, trim_interval),
            context=forkserver.fork_server(),
        )
        # The fork server imports trafilatura and loads py3langid's model (about a
        # second): started now if the CLI has not started it already, it does that while
        # the crawl starts. The first page's submit, where pebble forks the workers,
        # still waits for what is left of it.
        forkserver.start()

    def submit(
        self, body: bytes, url: str, content_type: str, content_encoding: str = ""
    ) -> Future[Extraction]:
        """A future of the page's :class:`Extraction`; it never raises."""
        result: Future[Extraction] = Future()
        if len(body) > self.max_bytes:  # not worth a trip to a worker
            result.set_result(Extraction("too_large", f"{len(body)} bytes, over {self.max_bytes}"))
            return result
        task = self._pool.schedule(
            self.func, args=(body, url, content_type, content_encoding), timeout=self.timeout
        )
        task.add_done_callback(lambda done: result.set_result(self._settle(done)))
        return result

    def _settle(self, done: Future[Extraction]) -> Extraction:
        try:
            return done.result()
        except TimeoutError:
            return Extraction("timeout", f"took more than {self.timeout:g}s")
        except ProcessExpired as exc:
            return Extraction("error", f"worker died (exit code {exc.exitcode})")
        except Exception as exc:
            return Extraction("error", f"{type(exc).__name__}: {exc}"[:500])

    def map_ordered(
        self, pages: Iterable[tuple[T, Page]], window: int | None = None
    ) -> Iterator[tuple[T, Extraction]]:
        """(tag, extraction) of each (tag, page), in order.

        At most ``window`` pages are in flight (their bodies in memory); a slow page
        holds back the results after it, not the workers, which go on with the next pages.
        """
        slots = threading.BoundedSemaphore(window or 4 * self.workers)
        pending: deque[tuple[T, Future[Extraction]]] = deque()
        for tag, page in pages:
            while pending and pending[0][1].done():
                done_tag, future = pending.popleft()
                yield done_tag, future.result()
            slots.acquire()
            future = self.submit(*page)
            future.add_done_callback(lambda _: slots.release())
            pending.append((tag, future))
        while pending:
            done_tag, future = pending.popleft()
            yield done_tag, future.result()

    def close(self, *, wait: bool = True) -> None:
        """Stop the workers once the queued pages are done (``wait``), or at once."""
        if wait:
            self._pool.close()
        else:
            self._pool.stop()
        self._pool.join()

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self.close(wait=exc_type is None)  # after an error nobody waits for queued pages
