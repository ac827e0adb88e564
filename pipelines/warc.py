"""Extension that captures every downloaded exchange into WARC 1.1 files.

It listens to ``response_downloaded``, which fires before any downloader
middleware touches the response: bodies are still content-encoded, redirects,
errors and requisites are all seen. Records are built and written by one writer
thread, in arrival order, off the reactor thread; :meth:`WarcCapture.capture_of` gives
the future that resolves to a downloaded request's :class:`Capture`. The future is kept
by the extension beside the request, not in its meta, so that requests stay
serialisable (a shared Redis frontier serialises them) and a redirect, which copies
meta, does not take it along.
A payload already archived, in any earlier crawl of the store (the store's digest
index, :mod:`storage.digests`) or in this one (a :class:`~pipelines.digestindex.DigestIndex`,
shared by every worker of a crawl on Redis), becomes a revisit record, unless it is
smaller than ``WARC_DEDUP_MIN_SIZE`` bytes: a revisit's headers (its profile, the
original's URI, date and record id) take more room than such a payload, so it is
written in full each time, as warcprox's ``--dedup-min-*-size`` do. What the crawl
makes itself (a rendered page's screenshot and DOM, :meth:`WarcCapture.write_resource`)
is deduplicated the same way, against the same indexes: an unchanged one is a revisit
with an empty block (:func:`~pipelines.warcrecords.build_resource_revisit`).

An exchange that cannot be written (a full disk) leaves nothing in the file; its
future raises :class:`~pipelines.warcfile.WarcWriteError` and the spider logs the URL
as a retryable ``write-error``. After ``WARC_MAX_WRITE_ERRORS`` such exchanges in a
row the crawl stops, with close reason ``disk_full`` (``warc_write_failed`` for an
error other than no space); what was written stays staged, and nothing is published.

Settings: ``WARC_PREFIX``, ``WARC_MAX_SIZE``, ``WARC_MAX_WRITE_ERRORS``, ``WARC_OPERATOR``,
``WARC_DEDUP_MIN_SIZE``,
``CRAWL_ID``, ``STAGING_DIR``, ``STORE_URI``, ``SEEDS``, ``ROBOTSTXT_OBEY``, ``USER_AGENT``,
``REDIS_URL``, ``WORKER_ID``.
"""

from __future__ import annotations

import logging
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scrapy import Request, signals
from scrapy.utils.asyncio import run_in_thread

from pipelines.digestindex import DigestIndex, MemoryDigestIndex, RedisDigestIndex
from pipelines.staging import crawl_staging, index_staging, staged_file, warc_staging
from pipelines.warcexchange import exchange_from, warcinfo_fields
from pipelines.warcfile import RollingWarcFile, WarcWriteError
from pipelines.warcrecords import (
    Exchange,
    Original,
    build_exchange,
    build_resource,
    build_resource_revisit,
    new_record_id,
    sha256_digest,
)
from pipelines.warcrecords import warc_date as format_date
from pipelines.writeerrors import WriteErrors, closer
from storage import Store, open_store
from storage.crawlgroup import connect, group_key
from storage.digests import ArchivedPayload, DigestLog, StoreDigests, digests_key
from storage.records import RecordRef

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

#: request.meta key of a request whose response is not what a server sent (a browser's
#: rendered DOM): it is not archived as a response (its network traffic was, request by
#: request, and the DOM goes in as a resource record: :meth:`WarcCapture.write_resource`)
NOT_WIRE_META = "not_wire_response"


@dataclass(frozen=True)
class Capture:
    """Where one response landed and as what, for the dataset and the crawl log."""

    ref: RecordRef  # the response or revisit record
    record_type: str
    payload_digest: str
    warc_date: str
    truncated: str | None = None  # WARC-Truncated, e.g. "length"
    record_id: str = ""


class WarcCapture:
    def __init__(
        self,
        writer: RollingWarcFile,
        stats: StatsCollector,
        *,
        crawl_id: str,
        digest_log: DigestLog,
        write_errors: WriteErrors,
        store: Store | None = None,
        index: DigestIndex | None = None,
        dedup_min_size: int = 1,
    ) -> None:
        self.writer = writer
        self.stats = stats
        self.crawl_id = crawl_id
        self.store = store
        self.digest_log = digest_log
        #: payloads of the store's earlier crawls, looked up first
        self.digests = StoreDigests(store, before=crawl_id) if store is not None else None
        self.index = index or MemoryDigestIndex()
        self.write_errors = write_errors
        #: payloads smaller than this are written in full, never as revisits
        self.dedup_min_size = max(1, dedup_min_size)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warc-writer")
        #: downloaded request -> its capture; entries go when the request is garbage
        self.captures: weakref.WeakKeyDictionary[Request, Future[Capture]] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def error(self) -> str | None:
        """Why the crawl stopped early, for its summary (None: it did not)."""
        return self.write_errors.error

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        staging = crawl_staging(settings)
        directory = warc_staging(settings)
        crawl_id = settings.get("CRAWL_ID")
        worker = settings.get("WORKER_ID") or None
        writer = RollingWarcFile(
            directory,
            prefix=settings.get("WARC_PREFIX"),
            max_size=settings.getint("WARC_MAX_SIZE"),
            warcinfo=warcinfo_fields(settings),
            host=worker,
            lines_dir=index_staging(settings),
        )
        index: DigestIndex = MemoryDigestIndex()
        if redis_url := settings.get("REDIS_URL"):
            index = RedisDigestIndex(connect(redis_url), group_key(crawl_id, "digests"))
        assert crawler.stats is not None
        ext = cls(
            writer,
            crawler.stats,
            crawl_id=crawl_id,
            digest_log=DigestLog(staged_file(settings, digests_key(crawl_id, worker)), crawl_id),
            store=open_store(settings.get("STORE_URI")),
            index=index,
            dedup_min_size=settings.getint("WARC_DEDUP_MIN_SIZE"),
            write_errors=WriteErrors(
                settings.getint("WARC_MAX_WRITE_ERRORS"),
                crawler.stats,
                staging,
                stop=closer(crawler),
            ),
        )
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    async def spider_opened(self) -> None:
        if self.digests is not None:
            await run_in_thread(self.digests.load)  # now, off the reactor thread
            self.stats.set_value("warc/known_digests", len(self.digests))

    def response_downloaded(self, response: Response, request: Request) -> None:
        if request.meta.get(NOT_WIRE_META):
            return
        exchange = exchange_from(request, response, datetime.now(UTC))
        self.captures[request] = self.executor.submit(self._capture, exchange)

    def capture_of(self, request: Request) -> Future[Capture] | None:
        """The capture of a request this extension saw downloaded, once written."""
        return self.captures.get(request)

    def _capture(self, exchange: Exchange) -> Capture:
        digest = sha256_digest(exchange.body)
        # The response's id and date are decided before the claim, so that the record
        # other workers' revisits refer to is exactly the one written here.
        record_id = new_record_id()
        original = claimed = None
        # A 304 carries no payload: it is a server-not-modified revisit of its own.
        if exchange.status != 304:
            mine = Original(exchange.url, format_date(exchange.date), record_id)
            original, claimed = self._dedup(digest, len(exchange.body), mine)
        ids = iter([record_id])
        records = build_exchange(
            exchange,
            original=original,
            payload_digest=digest,
            make_id=lambda: next(ids, None) or new_record_id(),
        )
        try:
            locations = self.writer.write(records.members, records.index)
        except WarcWriteError as exc:
            if claimed is not None and original is None:
                self.index.release(digest, claimed)  # no revisit may refer to it
            self.write_errors.failed(exchange.url, exc)
            raise
        self.write_errors.succeeded()
        if claimed is not None and original is None:
            self._log_digest(
                ArchivedPayload(
                    digest=digest,
                    uri=exchange.url,
                    date=records.warc_date,
                    record_id=records.record_id,
                    crawl_id=self.crawl_id,
                    filename=locations[0].filename,
                    offset=locations[0].offset,
                )
            )
        self.stats.inc_value(f"warc/records/{records.record_type}")
        self.stats.inc_value("warc/records/request")
        self.stats.inc_value("warc/bytes", sum(loc.length for loc in locations))
        self.stats.inc_value("warc/payload_bytes", len(exchange.body))
        if exchange.truncated:
            self.stats.inc_value("warc/records/truncated")
        return Capture(
            ref=locations[0],
            record_type=records.record_type,
            payload_digest=records.payload_digest,
            warc_date=records.warc_date,
            truncated=exchange.truncated,
            record_id=records.record_id,
        )

    def write_resource(
        self,
        uri: str,
        content_type: str,
        payload: bytes,
        concurrent_to: str | None = None,
    ) -> Future[Capture]:
        """Write a resource record the crawl made (a screenshot, a rendered DOM), in turn
        with the exchanges, or a revisit of the record that holds the same payload already;
        ``concurrent_to``: the record id of the response it was made from."""
        return self.executor.submit(self._write_resource, uri, content_type, payload, concurrent_to)

    def _write_resource(
        self, uri: str, content_type: str, payload: bytes, concurrent_to: str | None
    ) -> Capture:
        record_id, date = new_record_id(), format_date(datetime.now(UTC))
        digest = sha256_digest(payload)
        original, claimed = self._dedup(digest, len(payload), Original(uri, date, record_id))
        if original is not None:
            record_type = "revisit"
            member = build_resource_revisit(
                uri,
                content_type,
                record_id=record_id,
                date=date,
                payload_digest=digest,
                original=original,
                concurrent_to=concurrent_to,
            )
        else:
            record_type = "resource"
            member = build_resource(
                uri,
                content_type,
                payload,
                record_id=record_id,
                date=date,
                concurrent_to=concurrent_to,
            )
        try:
            (location,) = self.writer.write([member.data], [member.index])
        except WarcWriteError as exc:
            if claimed is not None and original is None:
                self.index.release(digest, claimed)  # no revisit may refer to it
            self.write_errors.failed(uri, exc)
            raise
        self.write_errors.succeeded()
        if claimed is not None and original is None:
            self._log_digest(
                ArchivedPayload(
                    digest=digest,
                    uri=uri,
                    date=date,
                    record_id=record_id,
                    crawl_id=self.crawl_id,
                    filename=location.filename,
                    offset=location.offset,
                )
            )
        self.stats.inc_value(f"warc/records/{record_type}")
        self.stats.inc_value("warc/bytes", location.length)
        return Capture(location, record_type, digest, date, record_id=record_id)

    def _dedup(
        self, digest: str, size: int, mine: Original
    ) -> tuple[Original | None, Original | None]:
        """Whether a payload is written in full or as a revisit, and of what: (the record
        a revisit refers to, or None; this crawl's claim on the payload, ``mine``, or None).

        The store's earlier crawls are looked in first, then this crawl's index, which
        takes ``mine`` as the payload's first record unless another got there before: a
        claim that comes back with no original must be released if ``mine`` is not
        written, or revisits would refer to a record that does not exist.
        """
        if not self.deduplicates(size):
            return None, None
        if self.digests is not None and (known := self.digests.get(digest)):
            return Original(known.uri, known.date, known.record_id), None
        return self.index.claim(digest, mine), mine

    def deduplicates(self, size: int) -> bool:
        """Whether copies of a payload of ``size`` bytes become revisits of the first one
        (an empty one, or one under ``dedup_min_size``, is written in full every time)."""
        return size >= self.dedup_min_size

    def adopt(self, payload: ArchivedPayload, size: int) -> None:
        """A payload of ``size`` bytes an earlier run of this crawl wrote in full: later
        copies are revisits, if :meth:`deduplicates` says so."""
        if not self.deduplicates(size):
            return
        self.index.claim(payload.digest, Original(payload.uri, payload.date, payload.record_id))
        self._log_digest(payload)

    def _log_digest(self, payload: ArchivedPayload) -> None:
        try:
            self.digest_log.add(payload)
        except OSError as exc:  # the record is written; only later dedup misses it
            self.stats.inc_value("warc/digest_log_errors")
            logger.warning("digest of %s not logged: %s", payload.uri, exc)

    def _close(self) -> None:
        self.executor.shutdown(wait=True)
        try:
            closed = self.writer.close()
        except OSError as exc:
            closed = None
            logger.error("%s stays open: %s", self.writer.current_name, exc)
        try:
            self.digest_log.close()
        except OSError as exc:
            logger.error("digest log not closed: %s", exc)
        if closed is not None:
            logger.info("closed %s", closed.name)
        self.stats.set_value("warc/files", len(self.writer.closed_files))

    async def spider_closed(self) -> None:
        await run_in_thread(self._close)
