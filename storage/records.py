"""WARC records read back: where a record is, what it holds, where a revisit's payload is.

A :class:`RecordRef` says where one record is: its WARC file within its crawl, and the
offset and length of its gzip member (the crawler writes each record as a member of
its own). The CDXJ index, the crawl log and the dataset hold one for each capture.

A :class:`RecordReader` reads the records of a store's crawls: one at a reference (a
range read on S3), or a whole file in order. Those are the records of an HTTP exchange
(request, response, revisit) and the ``resource`` records of what a browser rendered (a
page's screenshot, ``urn:view:<url>``, and its rendered DOM, ``urn:dom:<url>``), which
hold a payload and no HTTP headers, and the revisits that stand for an unchanged one
(no HTTP headers either, and an empty block). It also says where the payload of a
revisit is archived in full: at the record the store's digest index names
(:mod:`storage.digests`), or, in stores whose crawls have no digest index, at the
newest record of that payload in the crawls' CDXJ indexes. Each index is read once per
reader, on first use: one reader serves one command. A staging folder mirrors a
store's layout, so a reader of it (opened as a :class:`~storage.localstore.LocalStore`)
reads a crawl that is not stored yet.
"""

from __future__ import annotations

import io
import json
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders

from storage.cdxj import crawl_index
from storage.digests import StoreDigests
from storage.errors import StoreError
from storage.layout import list_crawl_ids, warc_key
from storage.stores import Store

#: the CDXJ ``mime`` of a revisit record
REVISIT_MIME = "warc/revisit"
RESOURCE = "resource"
_HTTP_SCHEMES = ("http:", "https:")


@dataclass(frozen=True)
class RecordRef:
    """Where one record is: its WARC file (named within its crawl) and its gzip member."""

    filename: str
    offset: int
    length: int


@dataclass(frozen=True)
class Record:
    """A request, response, revisit or resource record: its headers and its payload as
    archived (as it came off the wire, still content-encoded; a revisit has none).

    A resource record has no HTTP headers: ``http_headers`` is empty, ``status`` is 0 and
    ``content_type`` is the record's own (WARC) ``Content-Type``. Nor has a revisit that
    stands for a resource (:attr:`is_resource_revisit`), whose ``content_type`` is its
    ``WARC-Identified-Payload-Type``.
    """

    ref: RecordRef
    rec_type: str
    rec_headers: StatusAndHeaders
    http_headers: StatusAndHeaders
    payload: bytes

    def warc_header(self, name: str) -> str:
        return str(self.rec_headers.get_header(name) or "")

    def http_header(self, name: str) -> str:
        return str(self.http_headers.get_header(name) or "")

    @property
    def url(self) -> str:
        return self.warc_header("WARC-Target-URI")

    @property
    def date(self) -> str:
        return self.warc_header("WARC-Date")

    @property
    def record_id(self) -> str:
        return self.warc_header("WARC-Record-ID")

    @property
    def digest(self) -> str:
        """The payload's digest (``sha256:<hex>``)."""
        return self.warc_header("WARC-Payload-Digest")

    @property
    def refers_to(self) -> str:
        """A revisit's original's record id."""
        return self.warc_header("WARC-Refers-To")

    @property
    def truncated(self) -> str | None:
        """Why the payload was cut short (``WARC-Truncated``), None when it is whole."""
        return self.rec_headers.get_header("WARC-Truncated")

    @property
    def status(self) -> int:
        """A response's or revisit's HTTP status (0 for a request or a resource)."""
        code = self.http_headers.get_statuscode()
        return int(code) if code and code.isdigit() else 0

    @property
    def content_type(self) -> str:
        if self.is_resource:
            return self.warc_header("Content-Type")
        if self.is_resource_revisit:
            return self.warc_header("WARC-Identified-Payload-Type")
        return self.http_header("Content-Type")

    @property
    def content_encoding(self) -> str:
        return self.http_header("Content-Encoding")

    @property
    def is_revisit(self) -> bool:
        return self.rec_type == "revisit"

    @property
    def is_resource(self) -> bool:
        return self.rec_type == RESOURCE

    @property
    def is_resource_revisit(self) -> bool:
        """A revisit standing for a resource record: it has no HTTP headers."""
        return self.is_revisit and not self.http_headers.statusline

    @property
    def holds_resource(self) -> bool:
        """A resource record, or a revisit standing for one."""
        return self.is_resource or self.is_resource_revisit


def _readable(archived: Any) -> bool:
    """Whether a record is one a :class:`Record` holds (not warcinfo, metadata, ...): one
    with HTTP headers, a resource, or a revisit of a resource (warcio reads HTTP headers
    of http(s) records only; an http(s) revisit without them is no record of ours)."""
    if archived.http_headers is not None or archived.rec_type == RESOURCE:
        return True
    uri = archived.rec_headers.get_header("WARC-Target-URI") or ""
    return bool(archived.rec_type == "revisit" and not uri.startswith(_HTTP_SCHEMES))


def _record(archived: Any, ref: RecordRef, payload: bytes) -> Record:
    http = archived.http_headers if archived.http_headers is not None else StatusAndHeaders("", [])
    return Record(ref, archived.rec_type, archived.rec_headers, http, payload)


def read_member(data: bytes, ref: RecordRef, where: str) -> Record:
    """The record in ``data``, the gzip member at ``ref`` of the file ``where`` names."""
    try:
        archived = next(iter(ArchiveIterator(io.BytesIO(data))))
        payload = archived.raw_stream.read()
        record = _record(archived, ref, payload) if _readable(archived) else None
    except (StopIteration, ValueError, OSError, EOFError) as exc:
        raise StoreError(
            f"{where} at offset {ref.offset}: not a readable WARC record ({exc})"
        ) from exc
    if record is None:
        raise StoreError(
            f"{where} at offset {ref.offset}: record has no HTTP headers and is no resource "
            "nor a revisit of one"
        )
    return record


def iter_records(fh: IO[bytes], filename: str) -> Iterator[Record]:
    """The requests, responses, revisits and resources of a WARC file, in order."""
    archive = ArchiveIterator(fh)
    for archived in archive:
        if not _readable(archived):
            continue
        payload = archived.raw_stream.read()  # before the offset: finding it reads on
        ref = RecordRef(filename, archive.get_record_offset(), archive.get_record_length())
        yield _record(archived, ref, payload)


class RecordReader:
    """Reads a store's records, and finds the record that holds a revisit's payload.

    Safe to share between threads (a resumed crawl replays from several).
    """

    def __init__(self, store: Store, digests: StoreDigests | None = None) -> None:
        self.store = store
        #: the store's digest index; crawls at or after its ``before`` are not looked in
        self.digests = digests if digests is not None else StoreDigests(store)
        self._lines: dict[str, list[str]] = {}
        self._refs: dict[str, dict[tuple[str, int], RecordRef]] = {}
        self._by_digest: dict[str, tuple[str, RecordRef]] = {}
        self._unsearched: list[str] | None = None
        self._lock = threading.RLock()

    def index_lines(self, crawl_id: str) -> list[str]:
        """The CDXJ lines of a crawl, read from the store once."""
        with self._lock:
            if crawl_id not in self._lines:
                data = crawl_index(self.store, crawl_id)
                self._lines[crawl_id] = [line for line in data.splitlines() if line.strip()]
            return self._lines[crawl_id]

    def read(self, crawl_id: str, ref: RecordRef) -> Record:
        """The record at ``ref`` in crawl ``crawl_id``: one range read."""
        key = warc_key(crawl_id, ref.filename)
        return read_member(self.store.open_range(key, ref.offset, ref.length), ref, key)

    def records(
        self, crawl_id: str, filename: str, workdir: Path | None = None
    ) -> Iterator[Record]:
        """The records of one WARC file of a crawl, in order; a remote store's file is
        downloaded into ``workdir`` (default: a temporary folder) first, and removed after."""
        key = warc_key(crawl_id, filename)
        local = self.store.local_root
        if local is not None:
            with local.joinpath(*key.split("/")).open("rb") as fh:
                yield from iter_records(fh, filename)
            return
        with tempfile.TemporaryDirectory(dir=workdir, prefix="scrubwatch-warc-") as tmp:
            path = Path(tmp) / filename
            self.store.download(key, path)
            with path.open("rb") as fh:
                yield from iter_records(fh, filename)

    def original(self, digest: str) -> tuple[str, RecordRef] | None:
        """Where the payload ``digest`` is archived in full, as (crawl id, record); None
        when no crawl looked in holds it."""
        known = self.digests.get(digest)
        with self._lock:
            if known is not None:
                ref = self._refs_of(known.crawl_id).get((known.filename, known.offset))
                if ref is not None:
                    return known.crawl_id, ref
            return self._indexed(digest)

    def original_record(self, digest: str) -> Record | None:
        """The record :meth:`original` names, read."""
        found = self.original(digest)
        return None if found is None else self.read(*found)

    def _entries(self, crawl_id: str) -> Iterator[tuple[dict[str, Any], RecordRef]]:
        for line in self.index_lines(crawl_id):
            fields = json.loads(line.split(" ", 2)[2])
            ref = RecordRef(fields["filename"], int(fields["offset"]), int(fields["length"]))
            yield fields, ref

    def _refs_of(self, crawl_id: str) -> dict[tuple[str, int], RecordRef]:
        if crawl_id not in self._refs:
            self._refs[crawl_id] = {(r.filename, r.offset): r for _, r in self._entries(crawl_id)}
        return self._refs[crawl_id]

    def _indexed(self, digest: str) -> tuple[str, RecordRef] | None:
        """A payload the digest index does not place, in the CDXJ indexes of the crawls
        looked in, newest first; each index is searched once for every digest it holds."""
        if self._unsearched is None:
            before = self.digests.before
            crawls = list_crawl_ids(self.store)
            self._unsearched = [c for c in reversed(crawls) if before is None or c < before]
        while digest not in self._by_digest and self._unsearched:
            crawl_id = self._unsearched.pop(0)
            for fields, ref in self._entries(crawl_id):
                if fields.get("mime") != REVISIT_MIME and fields.get("digest"):
                    self._by_digest.setdefault(fields["digest"], (crawl_id, ref))
        return self._by_digest.get(digest)
