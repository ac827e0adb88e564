"""Finds the captures of a URL across a store's crawls and reads their archived bytes.

The lookup uses each crawl's CDXJ index (``crawls/<id>/indexes/index.cdxj.gz``, a plain
``index.cdxj`` in crawls stored before it was compressed, or the merge of its workers'
indexes while a shared crawl is not closed), never the WARC files; reading a capture
fetches only its gzip member (a range read on S3). A revisit is followed to the record
that holds the payload, in the same crawl or an earlier one
(:meth:`storage.records.RecordReader.original`).

What a browser rendered is archived as ``resource`` records named after the page's
final URL: its screenshot at ``urn:view:<url>`` (:func:`view_url`, ``image/png``) and its
rendered DOM at ``urn:dom:<url>`` (:func:`dom_url`). cdxj-indexer keys them by the URN
itself, only normalised by ``surt`` (lowercased, query sorted, fragment dropped), with
a ``mime`` and no ``status``: their captures have ``status`` None, and so has what
:meth:`CaptureIndex.read` returns for them, with no HTTP headers and the payload as the
record holds it. An unchanged one is a revisit (``mime`` ``warc/revisit``, no
``status`` either), read as the payload of the record it refers to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

import surt
from warcio.statusandheaders import StatusAndHeaders

from storage.errors import StoreError
from storage.layout import list_crawl_ids
from storage.records import REVISIT_MIME, RecordReader, RecordRef
from storage.stores import Store


@dataclass(frozen=True)
class CaptureRef:
    """One line of a crawl's CDXJ index."""

    crawl_id: str
    url: str
    timestamp: str  # 14 digits, UTC
    status: int | None
    mime: str
    digest: str
    ref: RecordRef

    @property
    def is_revisit(self) -> bool:
        return self.mime == REVISIT_MIME


@dataclass
class ArchivedResponse:
    """What a capture holds: status, headers and the payload as archived; a resource
    (a screenshot, a rendered DOM) has no status and no headers."""

    capture: CaptureRef
    status: int | None
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
        ref=RecordRef(fields["filename"], int(fields["offset"]), int(fields["length"])),
    )


class CaptureIndex:
    """The CDXJ indexes of a store, read once per crawl by its reader."""

    def __init__(self, store: Store, reader: RecordReader | None = None) -> None:
        self.store = store
        self.reader = reader if reader is not None else RecordReader(store)

    @cached_property
    def crawl_ids(self) -> list[str]:
        return list_crawl_ids(self.store)

    def lines(self, crawl_id: str) -> list[str]:
        return self.reader.index_lines(crawl_id)

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
        return sorted(found, key=lambda c: (c.timestamp, c.crawl_id, c.ref.offset))

    def read(self, capture: CaptureRef) -> ArchivedResponse:
        """The capture's status, headers and payload, following a revisit to its original;
        a resource's status is None, and so is that of a revisit standing for one."""
        record = self.reader.read(capture.crawl_id, capture.ref)
        payload = record.payload
        if record.is_resource:
            return ArchivedResponse(capture, None, record.http_headers, payload)
        if record.is_revisit:
            if record.status == 304:
                raise StoreError(f"{capture.url} at {capture.timestamp} was a 304: no payload")
            original = self.reader.original_record(capture.digest)
            if original is None:
                raise StoreError(
                    f"revisit of {capture.url} in crawl {capture.crawl_id} refers to payload "
                    f"{capture.digest}, which no crawl of {self.store.uri} holds"
                )
            payload = original.payload
        status = None if record.is_resource_revisit else record.status
        return ArchivedResponse(capture, status, record.http_headers, payload)
