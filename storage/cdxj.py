"""CDXJ index of a crawl's WARC files, in pywb's format, written by cdxj-indexer.

One line per capture: ``SURT timestamp {"url", "mime", "status", "digest",
"length", "offset", "filename", ...}``, sorted bytewise, so pywb and any tool of
the field can use it. The index of a crawl sits in ``crawls/<id>/indexes/``; each
worker of a shared crawl indexes its own files, and the crawl's index is their merge.
"""

from __future__ import annotations

import heapq
import io
from collections.abc import Iterable
from pathlib import Path


def build_cdxj(warc_paths: Iterable[Path]) -> bytes:
    """The sorted CDXJ lines of the given WARC files (``filename`` is the base name)."""
    # Imported here: cdxj-indexer brings pyamf and pkg_resources (11 MB), which a crawl
    # process needs only once its crawl is over.
    from cdxj_indexer import CDXJIndexer

    lines: list[bytes] = []
    for path in sorted(warc_paths):
        out = io.StringIO()
        CDXJIndexer(output=out, inputs=[str(path)]).process_all()
        lines.extend(line.encode("utf-8") for line in out.getvalue().splitlines() if line.strip())
    lines.sort()
    return b"".join(line + b"\n" for line in lines)


def merge_cdxj(indexes: Iterable[bytes]) -> bytes:
    """One sorted index from sorted ones (a shared crawl's workers'), by merge sort."""
    parts = [[line + b"\n" for line in data.splitlines() if line.strip()] for data in indexes]
    return b"".join(heapq.merge(*parts))
