"""The crawl log's file: one JSON object per URL the crawl tried, gzip-compressed.

``crawls/<id>/crawl-log.jsonl.gz`` (``crawl-log.<worker>.jsonl.gz`` for each worker of a
shared crawl, see :mod:`storage.layout`). Gzip takes it to a tenth of its size (its
lines repeat the same keys, hosts and WARC file names), which matters because a
recrawl writes a line for every URL again, changed or not. Any gzip-aware JSON Lines
reader reads it (``zcat``, ``pandas.read_json(..., lines=True)``, DuckDB's
``read_json``); in this project :class:`CrawlLogWriter` is the one writer and
:func:`read_crawl_log` the one reader.

A line is in the file (a gzip sync flush) at most :data:`FLUSH_SECONDS` after the
next one is written, and every line is when the log is closed: a crawl killed
mid-way leaves a stream cut short, which :func:`parse_crawl_log` reads up to its last
whole line. Crawls stored before the log was compressed have a plain
``crawl-log.jsonl``; the readers take it when there is no ``.gz``.
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from storage.errors import StoreError, StoreMissing
from storage.layout import copies_of, crawl_log_key, plain_crawl_log_key, worker_of

if TYPE_CHECKING:
    from pathlib import Path

    from storage.stores import Store

GZIP_LEVEL = 6
FLUSH_SECONDS = 1.0
_GZIP_MAGIC = b"\x1f\x8b"


class CrawlLogWriter:
    """Appends crawl log lines to ``path`` (a new gzip member if it exists already)."""

    def __init__(
        self,
        path: Path,
        *,
        flush_seconds: float = FLUSH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.flush_seconds = flush_seconds
        self.clock = clock
        self._fh: gzip.GzipFile | None = None
        self._flushed = 0.0

    @property
    def is_open(self) -> bool:
        return self._fh is not None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = gzip.GzipFile(self.path, "ab", compresslevel=GZIP_LEVEL)
        self._flushed = self.clock()

    def write(self, entry: dict[str, Any]) -> None:
        if self._fh is None:
            raise ValueError(f"crawl log {self.path} is not open")
        self._fh.write(json.dumps(entry, ensure_ascii=False).encode("utf-8") + b"\n")
        now = self.clock()
        # A sync flush per line would cost a third more bytes; one a second, nothing.
        if now - self._flushed >= self.flush_seconds:
            self._fh.flush()
            self._flushed = now

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def parse_crawl_log(data: bytes) -> list[dict[str, Any]]:
    """The entries of a crawl log's bytes: gzip (one member or more, maybe cut short) or plain."""
    if data.startswith(_GZIP_MAGIC):
        data = _gunzip_what_is_there(data)
    lines = data.split(b"\n")
    if lines and lines[-1].strip():
        lines.pop()  # cut short mid-line
    return [json.loads(line) for line in lines if line.strip()]


def _gunzip_what_is_there(data: bytes) -> bytes:
    out = []
    while data:
        member = zlib.decompressobj(wbits=31)
        out.append(member.decompress(data))
        if not member.eof:
            break  # the stream stops here: keep what it held
        data = member.unused_data.lstrip(b"\0")
    return b"".join(out)


def crawl_log_keys(store: Store, crawl_id: str) -> list[str]:
    """Keys of the crawl's log: its own, then every worker's (plain ones for older crawls)."""
    return copies_of(store, crawl_log_key(crawl_id)) or copies_of(
        store, plain_crawl_log_key(crawl_id)
    )


def is_crawl_log_key(crawl_id: str, key: str) -> bool:
    """Whether ``key`` is the crawl's log or a worker's copy of it, compressed or plain."""
    bases = [crawl_log_key(crawl_id), plain_crawl_log_key(crawl_id)]
    return any(key == base or worker_of(key, base) is not None for base in bases)


def read_crawl_log(store: Store, crawl_id: str) -> list[dict[str, Any]]:
    """Every entry of the crawl's log; those of every worker, for a shared crawl."""
    entries = []
    for key in crawl_log_keys(store, crawl_id):
        try:
            entries += parse_crawl_log(store.get(key))
        except StoreMissing:
            continue
        except (ValueError, zlib.error) as exc:
            raise StoreError(f"crawl log {key} is unreadable: {exc}") from exc
    return entries
