"""The HTML pages of a crawl's WARC files, with each revisit resolved to its payload.

A revisit record holds no payload: it is found in the same crawl by ``WARC-Refers-To``
or payload digest, else in an earlier crawl (:meth:`storage.records.RecordReader.original`)
and read with a range request. Payloads stay as archived (content-encoded); redirects
are skipped, as the crawl followed them. A page a browser rendered is its DOM's record
(``urn:dom:<url>``, :mod:`storage.rendered`), not the HTML as fetched; an unchanged DOM
is a revisit, resolved like any other. Plain Python, no Scrapy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pipelines.extractpool import Page
from pipelines.payload import is_html_type, looks_like_html
from storage.contentcoding import decode_content
from storage.digests import StoreDigests
from storage.layout import warc_prefix
from storage.records import Record, RecordReader, RecordRef
from storage.rendered import DOM_PREFIX, rendered_page
from storage.stores import Store


def _is_page(content_type: str, payload: bytes, content_encoding: str, max_bytes: int) -> bool:
    if content_type:
        return is_html_type(content_type)
    try:
        return looks_like_html(decode_content(payload, content_encoding, max_bytes))
    except ValueError:
        return False


class Pages:
    """The HTML pages of a crawl's WARC files, in file order, as (record, page) pairs.

    A page's record is its response, or its revisit (whose payload is its original's).
    Revisits whose original comes later (or from an earlier crawl) come at the end;
    those whose original is nowhere are left in ``missing``.
    """

    def __init__(self, store: Store, crawl_id: str, workdir: Path, max_bytes: int) -> None:
        self.crawl_id = crawl_id
        self.files = [
            k.rsplit("/", 1)[-1]
            for k in store.list(warc_prefix(crawl_id))
            if k.endswith((".warc.gz", ".warc"))
        ]
        self.workdir = workdir
        self.max_bytes = max_bytes
        self.reader = RecordReader(store, StoreDigests(store, before=crawl_id))
        #: this crawl's pages: record id or payload digest -> the record holding the payload
        self.here: dict[str, RecordRef] = {}
        self.missing: list[Record] = []
        #: pages of the crawl rendered by a browser: their DOMs stand for them
        self.rendered = {
            url
            for line in self.reader.index_lines(crawl_id)
            # the key of a urn: record is the URN itself: parse only those lines
            if line.startswith(DOM_PREFIX)
            and (url := rendered_page(json.loads(line.split(" ", 2)[2]).get("url", "")))
        }

    def __iter__(self) -> Iterator[tuple[Record, Page]]:
        deferred: list[Record] = []
        for filename in self.files:
            for record in self.reader.records(self.crawl_id, filename, self.workdir):
                dom = rendered_page(record.url) is not None
                if record.holds_resource and not dom:
                    continue  # a screenshot
                if record.rec_type not in ("response", "revisit", "resource"):
                    continue
                if record.url in self.rendered:  # its DOM stands for the page as fetched
                    if not record.is_revisit:
                        self._remember(record)  # what a revisit of another page may stand for
                    continue
                if 300 <= record.status < 400 and record.http_header("Location"):
                    continue  # a redirect: the crawl followed it, as a browser would
                if not record.is_revisit:
                    if page := self._page(record, record):
                        self._remember(record)
                        yield page
                elif dom or not record.content_type or is_html_type(record.content_type):
                    ref = self.here.get(record.refers_to) or self.here.get(record.digest)
                    if ref is None:
                        deferred.append(record)
                    elif page := self._page(record, self.reader.read(self.crawl_id, ref)):
                        yield page
        for record in deferred:
            ref = self.here.get(record.refers_to) or self.here.get(record.digest)
            original = (
                self.reader.read(self.crawl_id, ref)
                if ref is not None
                else self.reader.original_record(record.digest)
            )
            if original is not None:
                if page := self._page(record, original):
                    yield page
            elif record.content_type:
                self.missing.append(record)

    def _remember(self, record: Record) -> None:
        """A record that holds a page's payload, which this crawl's revisits may refer to."""
        self.here[record.record_id] = record.ref
        self.here.setdefault(record.digest, record.ref)

    def _page(self, record: Record, original: Record) -> tuple[Record, Page] | None:
        """``record``'s page, its payload ``original``'s (the record itself but for a revisit).

        A rendered DOM (``urn:dom:<url>``) is the page at ``<url>``, decoded HTML.
        """
        if (url := rendered_page(record.url)) is not None:
            return record, (original.payload, url, "text/html; charset=utf-8", "")
        content_type = record.content_type or original.content_type
        payload, encoding = original.payload, original.content_encoding
        if not _is_page(content_type, payload, encoding, self.max_bytes):
            return None
        return record, (payload, record.url, content_type, encoding)
