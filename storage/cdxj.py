"""CDXJ index of a crawl's WARC files, in pywb's format, written by cdxj-indexer.

One line per capture: ``SURT timestamp {"url", "mime", "status", "digest",
"length", "offset", "filename", ...}``, sorted bytewise. The index of a crawl sits in
``crawls/<id>/indexes/`` compressed as a ZipNum cluster, the form pywb and the
Wayback Machine read large indexes in:

- ``index.cdxj.gz``: the sorted lines in blocks of :data:`BLOCK_LINES`, one gzip member
  each (``zcat`` gives the plain CDXJ back);
- ``index.idx``: one line per block, ``<first key>\\t<part>\\t<offset>\\t<length>\\t<block
  number>``, which a lookup searches to read only the block a URL is in;
- ``index.loc``: ``<part>\\t<path>``, where the part is (beside the ``.loc``).

pywb opens it as ``zipnum+<folder>/index.idx``. Each worker of a shared crawl indexes
its own files (``index.<worker>.cdxj.gz``, ``.idx``, ``.loc``), and the crawl's index
is their merge. Crawls stored before the index was compressed have a plain
``index.cdxj``; :func:`cdxj_lines` reads both.
"""

from __future__ import annotations

import gzip
import heapq
import io
import itertools
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from storage.cdxjlines import read_lines
from storage.errors import StoreMissing
from storage.layout import INDEX_NAME, PLAIN_INDEX_NAME, copies_of, index_key

if TYPE_CHECKING:
    from storage.stores import Store

#: lines per block: cdxj-indexer's default (``CDXJIndexer.DEFAULT_NUM_LINES``)
BLOCK_LINES = 300
DATA_SUFFIX = ".cdxj.gz"
_GZIP_MAGIC = b"\x1f\x8b"


def build_cdxj(warc_paths: Iterable[Path], lines_dir: Path | None = None) -> bytes:
    """The sorted CDXJ lines of the given WARC files (``filename`` is the base name).

    A file's lines are those its writer kept in ``lines_dir`` (:mod:`storage.cdxjlines`)
    when they are for the file as it is; otherwise cdxj-indexer reads the file.
    """
    lines: list[bytes] = []
    for path in sorted(warc_paths):
        kept = read_lines(path, lines_dir) if lines_dir is not None else None
        lines.extend(kept if kept is not None else warc_lines(path))
    lines.sort()
    return b"".join(line + b"\n" for line in lines)


def warc_lines(path: Path) -> list[bytes]:
    """The CDXJ lines of one WARC file, read by cdxj-indexer (unsorted, no newlines)."""
    # Imported here: cdxj-indexer brings pyamf and pkg_resources (0.3 s), which a crawl
    # whose writer kept its lines never needs.
    from cdxj_indexer import CDXJIndexer

    out = io.StringIO()
    CDXJIndexer(output=out, inputs=[str(path)]).process_all()
    return [line.encode("utf-8") for line in out.getvalue().splitlines() if line.strip()]


def merge_cdxj(indexes: Iterable[bytes]) -> bytes:
    """One sorted index from sorted ones (a shared crawl's workers'), by merge sort."""
    parts = [[line + b"\n" for line in data.splitlines() if line.strip()] for data in indexes]
    return b"".join(heapq.merge(*parts))


def cdxj_lines(data: bytes) -> bytes:
    """The plain CDXJ of an index file: a ZipNum data file is decompressed, a plain one kept."""
    return gzip.decompress(data) if data.startswith(_GZIP_MAGIC) else data


def crawl_index(store: Store, crawl_id: str) -> str:
    """The CDXJ lines of a crawl in ``store``: its index, else the merge of its workers'."""
    for name in (INDEX_NAME, PLAIN_INDEX_NAME):
        base = index_key(crawl_id, name)
        keys = copies_of(store, base)
        parts = []
        for key in keys[:1] if keys and keys[0] == base else keys:
            try:
                parts.append(cdxj_lines(store.get(key)))
            except StoreMissing:
                continue
        if parts:
            return merge_cdxj(parts).decode("utf-8")
    return ""


def zipnum_names(data_name: str) -> tuple[str, str, str]:
    """Names of the data, secondary index and location files: ``index.cdxj.gz`` ->
    ``index.cdxj.gz``, ``index.idx``, ``index.loc``."""
    if not data_name.endswith(DATA_SUFFIX):
        raise ValueError(f"a ZipNum data file ends in {DATA_SUFFIX}: {data_name}")
    stem = data_name.removesuffix(DATA_SUFFIX)
    return data_name, f"{stem}.idx", f"{stem}.loc"


def zipnum(cdxj: bytes, data_name: str, block_lines: int = BLOCK_LINES) -> dict[str, bytes]:
    """The ZipNum files of the sorted CDXJ ``cdxj`` by name: the data file ``data_name``,
    then its secondary index and location file.

    The same lines always give the same bytes (gzip members without time or name), so
    writing an index again puts nothing new in a store.
    """
    _, idx_name, loc_name = zipnum_names(data_name)
    # One block of lines at a time (BytesIO shares the bytes it is given): a large crawl's
    # index is many megabytes of lines, which the crawl process need not hold twice.
    lines = (line if line.endswith(b"\n") else line + b"\n" for line in io.BytesIO(cdxj))
    lines = (line for line in lines if line.strip())
    data = bytearray()
    idx = bytearray()
    for number, block in enumerate(iter(lambda: list(itertools.islice(lines, block_lines)), [])):
        deflate = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        member = deflate.compress(b"".join(block)) + deflate.flush()
        key = b" ".join(block[0].split(b" ", 2)[:2])
        idx += b"\t".join(
            (key, data_name.encode(), b"%d" % len(data), b"%d" % len(member), b"%d" % number)
        )
        idx += b"\n"
        data += member
    loc = f"{data_name}\t{data_name}\n".encode()
    return {data_name: bytes(data), idx_name: bytes(idx), loc_name: loc}
