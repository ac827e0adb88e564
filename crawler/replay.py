"""Scrapy components of a resumed crawl: what the archive holds is answered from it.

:class:`ResumeCrawl` (an extension) reads the crawl's staged WARC files when the spider
opens (:func:`storage.resumable.read_archive`), gives the WARC writer's dedup index and
digest log the payloads already archived in full (so a payload met again becomes a
revisit, as it would have in one run), and at the end adds the earlier runs' records
to the crawl's stats. :class:`ArchiveReplay` (a downloader middleware) answers a request
for a URL already captured with the archived response: it is neither fetched nor
archived again, and the spider parses it as usual, which rebuilds the frontier.
:meth:`ArchiveReplay.replayed_capture` says where such a response's record is.

A revisit is answered with its original's payload: a record of this crawl, else one of
an earlier crawl of the store, found through the digest index the WARC writer has read.

``crawler.crawl`` enables both for a resumed crawl only.
Settings: ``CRAWL_ID``, ``STAGING_DIR``, ``STORE_URI``.
"""

from __future__ import annotations

import logging
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from scrapy.utils.asyncio import run_in_thread

from pipelines.staging import staging_root
from pipelines.warc import Capture, WarcCapture
from storage import StoreError, open_store
from storage.digests import ArchivedPayload, StoreDigests
from storage.records import RecordReader
from storage.resumable import ArchivedCrawl, StagedRecord, read_archive, staged_reader

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from storage import Store

logger = logging.getLogger(__name__)


class ResumeCrawl:
    def __init__(
        self, crawler: Crawler, staging_root: Path, crawl_id: str, stats: StatsCollector
    ) -> None:
        self.crawler = crawler
        self.staging_root = staging_root
        self.crawl_id = crawl_id
        self.stats = stats
        self.archive = ArchivedCrawl()
        #: reads the crawl's staged records
        self.staged = staged_reader(staging_root)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        settings = crawler.settings
        ext = cls(crawler, staging_root(settings), settings.get("CRAWL_ID"), crawler.stats)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    async def spider_opened(self) -> None:
        self.archive = await run_in_thread(read_archive, self.staging_root, self.crawl_id)
        self.stats.set_value("resume/captured", len(self.archive.records))
        capture = self.crawler.get_extension(WarcCapture)
        if capture is not None:
            await run_in_thread(self._known_payloads, capture)

    def _known_payloads(self, capture: WarcCapture) -> None:
        for digest, record in self.archive.full.items():
            capture.adopt(
                ArchivedPayload(
                    digest=digest,
                    uri=record.url,
                    date=record.date,
                    record_id=record.record_id,
                    crawl_id=capture.crawl_id,
                    filename=record.ref.filename,
                    offset=record.ref.offset,
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
        #: reads the records of the store's earlier crawls that revisits refer to
        self.stored: RecordReader | None = None
        #: replayed request -> where its record is; entries go when the request is garbage
        self.replayed: weakref.WeakKeyDictionary[Request, Capture] = weakref.WeakKeyDictionary()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        mw = cls(crawler, open_store(settings.get("STORE_URI")), settings.get("CRAWL_ID"))
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self) -> None:
        # Extensions are built after downloader middlewares: look for them now.
        self.resume = self.crawler.get_extension(ResumeCrawl)
        if self.resume is None:
            raise NotConfigured("ArchiveReplay needs the ResumeCrawl extension")
        # The digest index the WARC writer reads serves the replayed revisits too.
        capture = self.crawler.get_extension(WarcCapture)
        digests = capture.digests if capture is not None else None
        if digests is None:
            digests = StoreDigests(self.store, before=self.crawl_id)
        self.stored = RecordReader(self.store, digests)

    def replayed_capture(self, request: Request) -> Capture | None:
        """Where the archived record answering ``request`` is, if the archive answered it."""
        return self.replayed.get(request)

    async def process_request(self, request: Request) -> Response | None:
        resume = self.resume
        record = resume.archive.records.get(request.url) if resume is not None else None
        if resume is None or record is None or request.method != "GET":
            return None
        if request.meta.get("playwright"):
            # a page to render: the browser's navigation is answered from its replayed
            # response through the route, and what it loads next is replayed there too
            return None
        response = await run_in_thread(self._replay, resume, request, record)
        resume.stats.inc_value("resume/replayed")
        return response

    def _replay(self, resume: ResumeCrawl, request: Request, record: StagedRecord) -> Response:
        archived = resume.staged.read(resume.crawl_id, record.ref)
        body = archived.payload
        if record.rec_type == "revisit" and record.status != 304:
            body = self._payload(resume, record)
        headers = Headers()
        for name, value in archived.http_headers.headers:
            headers.appendlist(name, value)
        cls = responsetypes.from_args(headers=headers, url=request.url, body=body)
        self.replayed[request] = Capture(
            ref=record.ref,
            record_type=record.rec_type,
            payload_digest=record.digest,
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
            protocol=archived.http_headers.protocol,
        )

    def _payload(self, resume: ResumeCrawl, record: StagedRecord) -> bytes:
        """The payload a revisit refers to: in this crawl, or in an earlier one of the store."""
        full = resume.archive.full.get(record.digest)
        if full is not None:
            return resume.staged.read(resume.crawl_id, full.ref).payload
        assert self.stored is not None  # set with self.resume
        try:
            original = self.stored.original_record(record.digest)
        except StoreError as exc:
            logger.warning("replaying %s without its payload: %s", record.url, exc)
            return b""
        if original is None:
            logger.warning(
                "replaying %s without its payload: no crawl of %s holds payload %s",
                record.url,
                self.store.uri,
                record.digest,
            )
            return b""
        return original.payload
