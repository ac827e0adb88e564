"""The HTML pages of a crawl's WARC files, with each revisit resolved to its payload.

A revisit record holds no payload: it is found in the same crawl by ``WARC-Refers-To``
or payload digest, else by digest in the CDXJ index (``crawls/<id>/indexes/index.cdxj.gz``)
of an earlier crawl, newest first, and read with a range request. Payloads stay as
archived (content-encoded); redirects are skipped, as the crawl followed them.
Plain Python, no Scrapy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from pipelines.extractpool import Page
from pipelines.payload import is_html_type, looks_like_html
from storage import list_crawl_ids, warc_key
from storage.captures import crawl_index
from storage.contentcoding import decode_content
from storage.layout import warc_prefix
from storage.stores import Store

_HTML_MIMES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class Capture:
    """One response or revisit record: the row's columns that come from the WARC."""

    url: str
    fetched_at: str
    status: int
    content_type: str
    payload_digest: str
    warc_filename: str
    warc_offset: int
    warc_length: int


Location = tuple[str, int, int]  # store key, offset, length of a response record


def _read_response(store: Store, location: Location) -> tuple[bytes, str, str]:
    """(payload, Content-Encoding, Content-Type) of the response record at ``location``."""
    for record in ArchiveIterator(BytesIO(store.open_range(*location))):
        headers = record.http_headers
        return (
            record.raw_stream.read(),
            _header(headers, "Content-Encoding"),
            _header(headers, "Content-Type"),
        )
    raise ValueError(f"no record at {location}")


def _header(headers: Any, name: str) -> str:
    return (headers.get_header(name) or "") if headers is not None else ""


class Originals:
    """Where the payload of a revisit lives: this crawl's responses, then earlier crawls'."""

    def __init__(self, store: Store, crawl_id: str) -> None:
        self.store = store
        self.here: dict[str, Location] = {}  # record id or payload digest -> location
        self._earlier = [c for c in reversed(list_crawl_ids(store)) if c < crawl_id]
        self._indexed: dict[str, Location] = {}

    def add(self, record_id: str, digest: str, location: Location) -> None:
        self.here[record_id] = location
        self.here.setdefault(digest, location)

    def find(self, refers_to: str, digest: str, *, earlier: bool) -> Location | None:
        """The original of a revisit; ``earlier``: also look in earlier crawls' indexes."""
        found = self.here.get(refers_to) or self.here.get(digest)
        if found is None and earlier:
            found = self._indexed.get(digest)
            while found is None and self._earlier:
                self._load_index(self._earlier.pop(0))
                found = self._indexed.get(digest)
        return found

    def _load_index(self, crawl_id: str) -> None:
        for line in crawl_index(self.store, crawl_id).splitlines():
            entry = json.loads(line.split(" ", 2)[2])
            if entry.get("mime") in _HTML_MIMES and entry.get("digest"):
                location = (
                    warc_key(crawl_id, entry["filename"]),
                    int(entry["offset"]),
                    int(entry["length"]),
                )
                self._indexed.setdefault(entry["digest"], location)


def _is_page(content_type: str, payload: bytes, content_encoding: str, max_bytes: int) -> bool:
    if content_type:
        return is_html_type(content_type)
    try:
        return looks_like_html(decode_content(payload, content_encoding, max_bytes))
    except ValueError:
        return False


class Pages:
    """The HTML pages of a crawl's WARC files, in file order, as (capture, page) pairs.

    Revisits whose original comes later (or from an earlier crawl) come at the end;
    those whose original is nowhere are left in ``missing``.
    """

    def __init__(self, store: Store, crawl_id: str, workdir: Path, max_bytes: int) -> None:
        self.store = store
        self.keys = [
            k for k in store.list(warc_prefix(crawl_id)) if k.endswith((".warc.gz", ".warc"))
        ]
        self.workdir = workdir
        self.max_bytes = max_bytes
        self.originals = Originals(store, crawl_id)
        self.missing: list[Capture] = []

    def __iter__(self) -> Iterator[tuple[Capture, Page]]:
        deferred: list[tuple[Capture, str, str]] = []
        for key in self.keys:
            for record, payload, offset, length in self._records(key):
                headers, warc = record.http_headers, record.rec_headers
                status = int(headers.get_statuscode() or 0)
                if 300 <= status < 400 and headers.get_header("Location"):
                    continue  # a redirect: the crawl followed it, as a browser would
                digest = warc.get_header("WARC-Payload-Digest") or ""
                capture = Capture(
                    warc.get_header("WARC-Target-URI"),
                    warc.get_header("WARC-Date"),
                    status,
                    _header(headers, "Content-Type"),
                    digest,
                    key.rsplit("/", 1)[-1],
                    offset,
                    length,
                )
                if record.rec_type == "response":
                    encoding = _header(headers, "Content-Encoding")
                    if _is_page(capture.content_type, payload, encoding, self.max_bytes):
                        self.originals.add(
                            warc.get_header("WARC-Record-ID"), digest, (key, offset, length)
                        )
                        yield capture, (payload, capture.url, capture.content_type, encoding)
                elif not capture.content_type or is_html_type(capture.content_type):
                    refers_to = warc.get_header("WARC-Refers-To") or ""
                    location = self.originals.find(refers_to, digest, earlier=False)
                    if location is None:
                        deferred.append((capture, refers_to, digest))
                    elif page := self._revisit(capture, location):
                        yield page
        for capture, refers_to, digest in deferred:
            location = self.originals.find(refers_to, digest, earlier=True)
            if location is not None:
                if page := self._revisit(capture, location):
                    yield page
            elif capture.content_type:
                self.missing.append(capture)

    def _revisit(self, capture: Capture, location: Location) -> tuple[Capture, Page] | None:
        payload, encoding, original_type = _read_response(self.store, location)
        content_type = capture.content_type or original_type
        if not _is_page(content_type, payload, encoding, self.max_bytes):
            return None
        return capture, (payload, capture.url, content_type, encoding)

    def _records(self, key: str) -> Iterator[tuple[Any, bytes, int, int]]:
        local = self.store.local_root
        path = local.joinpath(*key.split("/")) if local else self.workdir / key.rsplit("/", 1)[-1]
        if local is None:
            self.store.download(key, path)
        try:
            with path.open("rb") as fh:
                records = ArchiveIterator(fh)
                for record in records:
                    if (
                        record.rec_type in ("response", "revisit")
                        and record.http_headers is not None
                    ):
                        payload = record.raw_stream.read()
                        yield (
                            record,
                            payload,
                            records.get_record_offset(),
                            records.get_record_length(),
                        )
        finally:
            if local is None:
                path.unlink(missing_ok=True)
