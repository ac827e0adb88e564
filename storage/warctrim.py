"""Mends a WARC file that a killed crawl left half-written (``<name>.warc.gz.open``).

A crawl killed mid-write leaves its current WARC file with a last gzip member cut
short, or a member whose record is incomplete. :func:`trim_open_warc` keeps the file
up to the end of its last gzip member that holds one whole, valid record (checked by
:func:`storage.warcverify.check_warc`), gives it its final name, and keeps the bytes
cut off beside it as ``<name>.tail`` in a set-aside folder. A file with no valid
member at all (not even its warcinfo record) is moved there whole, as
``<name>.damaged``. Nothing is deleted: what is set aside is evidence too, but it is
never published, since it lies outside the crawl's staged folder.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from storage.layout import OPEN_SUFFIX
from storage.warcverify import check_warc

CHUNK = 1 << 20


@dataclass(frozen=True)
class Trimmed:
    """What became of one ``.open`` WARC file: its final path, or where it was set aside."""

    path: Path  # the final WARC file, or the set-aside ``.damaged`` file
    kept_bytes: int  # bytes of whole members kept (0: set aside)
    cut_bytes: int  # bytes cut off the end (kept in ``<name>.tail``)
    records: int

    @property
    def damaged(self) -> bool:
        return self.kept_bytes == 0


def members(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(offset, compressed bytes)`` of each complete gzip member of ``path``, in order.

    Stops at the first member that is cut short or corrupt.
    """
    offset = 0
    member = bytearray()
    decoder = None
    data = b""
    with path.open("rb") as fh:
        while True:
            if not data and not (data := fh.read(CHUNK)):
                return  # end of file: a member begun and not ended is dropped
            decoder = decoder or zlib.decompressobj(zlib.MAX_WBITS | 16)
            try:
                decoder.decompress(data)
            except zlib.error:
                return  # not gzip, or corrupt
            if not decoder.eof:
                member += data
                data = b""
                continue
            rest = decoder.unused_data
            member += data[: len(data) - len(rest)]
            yield offset, bytes(member)
            offset += len(member)
            member, decoder, data = bytearray(), None, rest


def valid_prefix(path: Path) -> tuple[int, int]:
    """Bytes of ``path`` up to the end of its last whole, valid member, and its records."""
    kept = records = 0
    for offset, member in members(path):
        if offset != kept or check_warc([member]).problems:
            break
        kept += len(member)
        records += 1
    return kept, records


def trim_open_warc(path: Path, set_aside: Path) -> Trimmed:
    """Trim ``<name>.warc.gz.open`` to its valid members and rename it ``<name>.warc.gz``.

    The cut-off bytes go to ``set_aside/<name>.tail``; a file without any valid
    member goes to ``set_aside/<name>.damaged`` whole.
    """
    if not path.name.endswith(OPEN_SUFFIX):
        raise ValueError(f"{path} is not an open WARC file (no {OPEN_SUFFIX} suffix)")
    name = path.name.removesuffix(OPEN_SUFFIX)
    size = path.stat().st_size
    kept, records = valid_prefix(path)
    set_aside.mkdir(parents=True, exist_ok=True)
    if kept == 0:
        damaged = set_aside / f"{name}.damaged"
        os.replace(path, damaged)
        return Trimmed(damaged, 0, size, 0)
    if kept < size:
        with path.open("rb") as fh:
            fh.seek(kept)
            (set_aside / f"{name}.tail").write_bytes(fh.read())
        with path.open("r+b") as fh:
            fh.truncate(kept)
            fh.flush()
            os.fsync(fh.fileno())
    final = path.with_name(name)
    if final.exists():
        raise FileExistsError(f"cannot mend {path}: {final} exists already")
    path.rename(final)
    return Trimmed(final, kept, size - kept, records)
