"""CDXJ lines made as records are written, kept beside their WARC file until it is indexed.

Reading a crawl's WARC files back with cdxj-indexer at its end costs half a second for
1,000 pages (and grows with the crawl), all of it after the last page is fetched. The
writer knows every field of a record's line when it writes the record, so it makes the
line then (:func:`index_line`) and, when it closes the file, puts the file's lines in a
sidecar, ``<name>.warc.gz.cdxj.open`` (``.open``: staged, never published), whose first
line gives the size of the WARC file they describe. :func:`storage.cdxj.build_cdxj`
takes a sidecar's lines when that size is the file's, and reads the file otherwise (one
mended after a crash, or written without lines).

A line is what cdxj-indexer writes by default, byte for byte (tests compare the two):
``<SURT> <14-digit timestamp> {"url", "mime", "status", "digest", "length", "offset",
"filename"}``, a field left out when the record has no value for it; response, revisit
and resource records are indexed, requests, warcinfo and ``application/warc-fields``
resources are not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import surt
from warcio.timeutils import iso_date_to_timestamp

from storage.layout import OPEN_SUFFIX, open_path

LINES_SUFFIX = ".cdxj" + OPEN_SUFFIX
_SIZE_MARK = b"!warc-size "
_MIME_END = re.compile(r"[;\s]")  # cdxj-indexer's RE_SPACE
INDEXED = ("response", "revisit", "resource")


@dataclass(frozen=True)
class IndexFields:
    """What a record's CDXJ line says, but for where the record lies."""

    key: str  # the URL's SURT
    timestamp: str  # 14 digits
    url: str
    mime: str | None
    status: str | None
    digest: str | None


def index_fields(
    rec_type: str,
    url: str,
    date: str,
    *,
    content_type: str | None,
    status: str | None,
    digest: str | None,
) -> IndexFields | None:
    """The fields of a record's line, or None for a record cdxj-indexer leaves out.

    ``content_type``: the HTTP Content-Type of a response, the record's own of a
    resource; ``status``: the HTTP status code of a response or revisit that has HTTP
    headers; ``date``: its WARC-Date.
    """
    if rec_type not in INDEXED:
        return None
    if rec_type == "resource" and content_type == "application/warc-fields":
        return None
    # as warcio's reader gives the URL back: without the brackets WARC 1.0 put around
    # it, and spaces (which no WARC-Target-URI may hold) percent-encoded
    if url.startswith("<") and url.endswith(">"):
        url = url[1:-1]
    url = url.replace(" ", "%20")
    mime = content_type
    if rec_type == "revisit":
        mime = "warc/revisit"
    elif mime:
        mime = _MIME_END.split(mime, 1)[0].strip()
    try:
        key = str(surt.surt(url))
    except Exception:  # cdxj-indexer keys the line by the URL itself then
        key = url
    return IndexFields(key, iso_date_to_timestamp(date), url, mime, status, digest)


def index_line(fields: IndexFields, filename: str, offset: int, length: int) -> bytes:
    """The CDXJ line (with its newline) of a record written at ``offset`` of ``filename``."""
    found = {
        "url": fields.url,
        "mime": fields.mime,
        "status": fields.status,
        "digest": fields.digest,
        "length": str(length),
        "offset": str(offset),
        "filename": filename,
    }
    data = json.dumps({k: v for k, v in found.items() if v is not None})
    return f"{fields.key} {fields.timestamp} {data}\n".encode()


def lines_path(warc: Path, folder: Path) -> Path:
    """Where the lines of the WARC file ``warc`` (its final name) are kept in ``folder``."""
    return folder / (warc.name + LINES_SUFFIX)


def write_lines(warc: Path, folder: Path, lines: Iterable[bytes]) -> Path:
    """Keep ``lines`` of the closed WARC file ``warc`` in ``folder``, marked with its size."""
    folder.mkdir(parents=True, exist_ok=True)
    path = lines_path(warc, folder)
    tmp = open_path(path)
    with tmp.open("wb") as out:
        out.write(_SIZE_MARK + b"%d\n" % warc.stat().st_size)
        out.writelines(lines)
    tmp.replace(path)
    return path


def read_lines(warc: Path, folder: Path) -> list[bytes] | None:
    """The lines of ``warc`` kept in ``folder``, or None: none kept, or kept for a file of
    another size (one cut back after a crash, say), which must be read to be indexed."""
    try:
        with lines_path(warc, folder).open("rb") as fh:
            mark = fh.readline()
            if mark != _SIZE_MARK + b"%d\n" % warc.stat().st_size:
                return None
            return fh.read().splitlines()
    except OSError:
        return None
