"""glibc's malloc, told to give memory back: fewer arenas, and free pages returned.

glibc gives each thread that allocates its own arena (up to 8 per core), and an
arena keeps the memory freed in it for its own thread. A crawl has several such
threads (the WARC and dataset writers, the extraction pool's threads, Scrapy's
thread pool), each freeing page-sized buffers; with two arenas the memory one thread
frees is reused by the others (bench/README.md, "5. Memory"). The limit only binds
arenas made after it is set, so the CLI sets it first thing, before any thread starts.

Freed chunks inside the heap stay in the process even so: :func:`trim_malloc` hands
every free page back to the system. Plain Python (no Scrapy): the extraction workers
call it too.

A ``MALLOC_ARENA_MAX`` in the environment (glibc's own variable) wins; other C
libraries (musl, macOS) have no ``mallopt`` or ``malloc_trim`` and are left alone.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import sys
from collections.abc import Mapping
from typing import Any

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


def malloc_trim_available() -> bool:
    """Whether this C library has ``malloc_trim`` (glibc)."""
    return _malloc_trim() is not None
