"""Scrapy components of a resumed crawl: what the archive holds is answered from it.

:class:`ResumeCrawl` (an extension) reads the crawl's staged WARC files when the spider
opens (:func:`storage.resumable.read_archive`), gives the WARC writer's dedup index and
digest log the payloads already archived in full (so a payload met again becomes a
revisit, as it would have in one run), and at the end adds the earlier runs' records
to the crawl's stats. :class:`ArchiveReplay` (a downloader middleware) answers a request
for a URL already captured with the archived response: it is neither fetched nor
archived again, and the spider parses it as usual, which rebuilds the frontier.
:func:`replayed_capture` says where such a response's record is.

``crawler.crawl`` enables both for a resumed crawl only.
Settings: ``CRAWL_ID``, ``STAGING_DIR``, ``STORE_URI``.
"""

from __future__ import annotations

import io
import logging
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from scrapy.utils.asyncio import run_in_thread
from warcio.archiveiterator import ArchiveIterator

from pipelines.staging import warc_staging
from pipelines.warc import Capture, WarcCapture
from storage import StoreError, open_store
from storage.captures import CaptureIndex
from storage.digests import ArchivedPayload, load_digest_index
from storage.resumable import ArchivedCrawl, ArchivedRecord, read_archive

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector
    from warcio.statusandheaders import StatusAndHeaders

    from storage import Store

logger = logging.getLogger(__name__)

_REPLAYED: weakref.WeakKeyDictionary[Request, Capture] = weakref.WeakKeyDictionary()


def replayed_capture(request: Request) -> Capture | None:
    """Where the archived record answering ``request`` is, if the archive answered it."""
    return _REPLAYED.get(request)


def read_record(path: Path, offset: int, length: int) -> tuple[StatusAndHeaders, bytes]:
    """HTTP headers and raw (still content-encoded) payload of the record at ``offset``."""
    with path.open("rb") as fh:
        fh.seek(offset)
        data = fh.read(length)
    record = next(iter(ArchiveIterator(io.BytesIO(data))))
    return record.http_headers, record.raw_stream.read()


class ResumeCrawl:
    def __init__(self, crawler: Crawler, warc_dir: Path, stats: StatsCollector) -> None:
        self.crawler = crawler
        self.warc_dir = warc_dir
        self.stats = stats
        self.archive = ArchivedCrawl()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        ext = cls(crawler, warc_staging(crawler.settings), crawler.stats)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    async def spider_opened(self) -> None:
        self.archive = await run_in_thread(read_archive, self.warc_dir)
        self.stats.set_value("resume/captured", len(self.archive.records))
        assert self.crawler.extensions is not None
        for ext in self.crawler.extensions.middlewares:
            if isinstance(ext, WarcCapture):
                await run_in_thread(self._known_payloads, ext)

    def _known_payloads(self, capture: WarcCapture) -> None:
        for digest, record in self.archive.full.items():
            capture.adopt(
                ArchivedPayload(
                    digest=digest,
                    uri=record.url,
                    date=record.date,
                    record_id=record.record_id,
                    crawl_id=capture.crawl_id,
                    filename=record.filename,
                    offset=record.offset,
                ),
                record.size,
            )

    def engine_stopped(self) -> None:
        # Connected before the publisher's handler: crawl-info.json has the whole crawl.
        for key, count in self.archive.counts.items():
            self.stats.inc_value(key, count)


class ArchiveReplay:
    def __init__(self, crawler: Crawler, store: Store, crawl_id: str) -> None:
        self.crawler = crawler
        self.store = store
        self.crawl_id = crawl_id
        self.resume: ResumeCrawl | None = None
        self._stored: CaptureIndex | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        mw = cls(crawler, open_store(settings.get("STORE_URI")), settings.get("CRAWL_ID"))
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self) -> None:
        # Extensions are built after downloader middlewares: look for it now.
        assert self.crawler.extensions is not None
        self.resume = next(
            (e for e in self.crawler.extensions.middlewares if isinstance(e, ResumeCrawl)), None
        )
        if self.resume is None:
            raise NotConfigured("ArchiveReplay needs the ResumeCrawl extension")

    async def process_request(self, request: Request) -> Response | None:
        resume = self.resume
        record = resume.archive.records.get(request.url) if resume is not None else None
        if resume is None or record is None or request.method != "GET":
            return None
        response = await run_in_thread(self._replay, resume, request, record)
        resume.stats.inc_value("resume/replayed")
        return response

    def _replay(self, resume: ResumeCrawl, request: Request, record: ArchivedRecord) -> Response:
        http, body = read_record(resume.warc_dir / record.filename, record.offset, record.length)
        if record.rec_type == "revisit" and record.status != 304:
            body = self._payload(resume, record)
        headers = Headers()
        for name, value in http.headers:
            headers.appendlist(name, value)
        cls = responsetypes.from_args(headers=headers, url=request.url, body=body)
        _REPLAYED[request] = Capture(
            record_type=record.rec_type,
            payload_digest=record.digest,
            warc_filename=record.filename,
            warc_offset=record.offset,
            warc_length=record.length,
            warc_date=record.date,
            truncated=record.truncated,
        )
        return cls(
            url=request.url,
            status=record.status,
            headers=headers,
            body=body,
            flags=["archived"],
            request=request,
            protocol=http.protocol,
        )

    def _payload(self, resume: ResumeCrawl, record: ArchivedRecord) -> bytes:
        """The payload a revisit refers to: in this crawl, or in an earlier one of the store."""
        full = resume.archive.full.get(record.digest)
        if full is not None:
            return read_record(resume.warc_dir / full.filename, full.offset, full.length)[1]
        try:
            return self._stored_payload(record.digest)
        except StoreError as exc:
            logger.warning("replaying %s without its payload: %s", record.url, exc)
            return b""

    def _stored_payload(self, digest: str) -> bytes:
        known: Any = load_digest_index(self.store, before=self.crawl_id).get(digest)
        if known is None:
            raise StoreError(f"no crawl of {self.store.uri} holds payload {digest}")
        self._stored = self._stored or CaptureIndex(self.store)
        ref = next(
            (
                c
                for c in self._stored.in_crawl(known.crawl_id)
                if c.filename == known.filename and c.offset == known.offset
            ),
            None,
        )
        if ref is None:
            raise StoreError(f"payload {digest} is not in crawl {known.crawl_id}'s index")
        return self._stored.read(ref).raw_body
