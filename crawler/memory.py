"""Fewer glibc malloc arenas for the process, so that freed memory is reused, not kept.

glibc gives each thread that allocates its own arena (up to 8 per core), and an
arena keeps the memory freed in it for its own thread. A crawl has several such
threads (the WARC and dataset writers, the extraction pool's threads, Scrapy's
thread pool), each freeing page-sized buffers: with two arenas the same crawl peaks
about 100 MB lower (bench/README.md, "5. Memory"). The limit only binds arenas made
after it is set, so the CLI sets it first thing, before any thread starts.

A ``MALLOC_ARENA_MAX`` in the environment (glibc's own variable) wins; other C
libraries (musl, macOS) have no ``mallopt`` and are left alone.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from collections.abc import Mapping

logger = logging.getLogger(__name__)

MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


def limit_malloc_arenas(environ: Mapping[str, str], arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas at ``arenas``; True if set here, False if left as it was."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in environ:
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    done = bool(mallopt(_M_ARENA_MAX, arenas))
    logger.debug("malloc arenas limited to %d: %s", arenas, done)
    return done
