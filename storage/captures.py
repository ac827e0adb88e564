"""Finds the captures of a URL across a store's crawls and reads their archived bytes.

The lookup uses each crawl's CDXJ index (``crawls/<id>/indexes/index.cdxj.gz``, a plain
``index.cdxj`` in crawls stored before it was compressed, or the merge of its workers'
indexes while a shared crawl is not closed), never the WARC files; reading a capture
fetches only its gzip member (a range read on
S3). A revisit is followed to the record that holds the payload, in the same crawl
or an earlier one (the store's digest index).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import cached_property

import surt
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders

from storage.cdxj import cdxj_lines, merge_cdxj
from storage.digests import load_digest_index
from storage.errors import StoreError, StoreMissing
from storage.layout import (
    INDEX_NAME,
    PLAIN_INDEX_NAME,
    copies_of,
    index_key,
    list_crawl_ids,
    warc_key,
)
from storage.stores import Store

REVISIT_MIME = "warc/revisit"


@dataclass(frozen=True)
class CaptureRef:
    """One line of a crawl's CDXJ index."""

    crawl_id: str
    url: str
    timestamp: str  # 14 digits, UTC
    status: int | None
    mime: str
    digest: str
    filename: str
    offset: int
    length: int

    @property
    def is_revisit(self) -> bool:
        return self.mime == REVISIT_MIME

    @property
    def warc_key(self) -> str:
        return warc_key(self.crawl_id, self.filename)


@dataclass
class ArchivedResponse:
    """What a capture holds: status, headers and the payload as archived."""

    capture: CaptureRef
    status: int
    headers: StatusAndHeaders
    raw_body: bytes  # as it came off the wire (still content-encoded)


def url_key(url: str) -> str:
    """The CDXJ sort key of a URL (SURT), as cdxj-indexer and pywb compute it."""
    return str(surt.surt(url))


def _parse(crawl_id: str, line: str) -> CaptureRef:
    _key, timestamp, data = line.split(" ", 2)
    fields = json.loads(data)
    status = fields.get("status")
    return CaptureRef(
        crawl_id=crawl_id,
        url=fields["url"],
        timestamp=timestamp,
        status=int(status) if status and status.isdigit() else None,
        mime=fields.get("mime", ""),
        digest=fields.get("digest", ""),
        filename=fields["filename"],
        offset=int(fields["offset"]),
        length=int(fields["length"]),
    )


def crawl_index(store: Store, crawl_id: str) -> str:
    """The CDXJ index of a crawl: its own, else the merge of its workers' copies."""
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


class CaptureIndex:
    """The CDXJ indexes of a store, read once per crawl."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lines: dict[str, list[str]] = {}

    @cached_property
    def crawl_ids(self) -> list[str]:
        return list_crawl_ids(self.store)

    def lines(self, crawl_id: str) -> list[str]:
        if crawl_id not in self._lines:
            data = crawl_index(self.store, crawl_id)
            self._lines[crawl_id] = [line for line in data.splitlines() if line.strip()]
        return self._lines[crawl_id]

    def in_crawl(self, crawl_id: str) -> list[CaptureRef]:
        return [_parse(crawl_id, line) for line in self.lines(crawl_id)]

    def captures(self, url: str, crawl_ids: list[str] | None = None) -> list[CaptureRef]:
        """Every capture of ``url``, oldest first."""
        prefix = url_key(url) + " "
        found: list[CaptureRef] = []
        for crawl_id in crawl_ids if crawl_ids is not None else self.crawl_ids:
            found.extend(
                _parse(crawl_id, line) for line in self.lines(crawl_id) if line.startswith(prefix)
            )
        return sorted(found, key=lambda c: (c.timestamp, c.crawl_id, c.offset))

    def read(self, capture: CaptureRef) -> ArchivedResponse:
        """The capture's status, headers and payload, following a revisit to its original."""
        record = _read_record(self.store, capture.warc_key, capture.offset, capture.length)
        headers = record.http_headers
        status = int(headers.get_statuscode() or 0)
        if record.rec_type == "revisit":
            if status == 304:
                raise StoreError(f"{capture.url} at {capture.timestamp} was a 304: no payload")
            payload = self._original(capture, record)
        else:
            payload = record.content_stream_raw
        return ArchivedResponse(capture, status, headers, payload)

    def _original(self, capture: CaptureRef, record: object) -> bytes:
        known = load_digest_index(self.store).get(capture.digest)
        if known is None:
            raise StoreError(
                f"revisit of {capture.url} in crawl {capture.crawl_id} refers to payload "
                f"{capture.digest}, which no crawl of {self.store.uri} holds"
            )
        original = next(
            (
                c
                for c in self.in_crawl(known.crawl_id)
                if c.filename == known.filename and c.offset == known.offset
            ),
            None,
        )
        if original is None:
            raise StoreError(f"payload {capture.digest} is not in crawl {known.crawl_id}'s index")
        return _read_record(
            self.store, original.warc_key, original.offset, original.length
        ).content_stream_raw


class _Record:
    def __init__(self, rec_type: str, http_headers: StatusAndHeaders, raw: bytes) -> None:
        self.rec_type = rec_type
        self.http_headers = http_headers
        self.content_stream_raw = raw


def _read_record(store: Store, key: str, offset: int, length: int) -> _Record:
    data = store.open_range(key, offset, length)
    try:
        record = next(iter(ArchiveIterator(io.BytesIO(data))))
        raw = record.raw_stream.read()
    except (StopIteration, ValueError, OSError, EOFError) as exc:
        raise StoreError(f"{key} at offset {offset}: not a readable WARC record ({exc})") from exc
    if record.http_headers is None:
        raise StoreError(f"{key} at offset {offset}: record has no HTTP headers")
    return _Record(record.rec_type, record.http_headers, raw)
