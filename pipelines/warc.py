"""Extension that captures every downloaded exchange into WARC 1.1 files.

It listens to ``response_downloaded``, which fires before any downloader
middleware touches the response: bodies are still content-encoded, redirects,
errors and requisites are all seen. Records are built and written by one writer
thread, in arrival order, off the reactor thread; :func:`capture_of` gives the future that resolves to a
downloaded request's :class:`Capture`. The future is kept beside the request, not
in its meta, so that requests stay serialisable (a shared Redis frontier serialises
them, redirects copy meta).
A payload already archived, in any earlier crawl of the store (the store's digest
index, :mod:`storage.digests`) or in this one (a :class:`~pipelines.digestindex.DigestIndex`,
shared by every worker of a crawl on Redis), becomes a revisit record.

Settings: ``WARC_PREFIX``, ``WARC_MAX_SIZE``, ``WARC_OPERATOR``, ``CRAWL_ID``,
``STAGING_DIR``, ``STORE_URI``, ``SEEDS``, ``ROBOTSTXT_OBEY``, ``USER_AGENT``,
``REDIS_URL``, ``WORKER_ID``.
"""

from __future__ import annotations

import logging
import platform
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.utils.asyncio import run_in_thread
from scrapy.utils.httpobj import urlparse_cached

from crawler import __version__
from crawler.addon import crawl_staging
from crawler.crawlgroup import connect, group_key
from pipelines.digestindex import DigestIndex, MemoryDigestIndex, RedisDigestIndex
from pipelines.warcfile import RollingWarcFile
from pipelines.warcrecords import (
    Exchange,
    Original,
    build_exchange,
    new_record_id,
    sha256_digest,
    warc_date,
)
from storage import Store, open_store
from storage.digests import ArchivedPayload, DigestLog, digests_key, load_digest_index

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.http import Headers, Response
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

#: downloaded request -> its capture; entries go when the request is garbage.
_CAPTURES: weakref.WeakKeyDictionary[Request, Future[Capture]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Capture:
    """Where one response landed, for the dataset and the crawl log."""

    record_type: str
    payload_digest: str
    warc_filename: str
    warc_offset: int
    warc_length: int
    warc_date: str


def _header_pairs(headers: Headers) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        for value in values
    ]


def exchange_from(request: Request, response: Response, now: datetime) -> Exchange:
    parsed = urlparse_cached(request)
    target = parsed.path or "/"
    if parsed.params:
        target += ";" + parsed.params
    if parsed.query:
        target += "?" + parsed.query
    host = parsed.netloc.rpartition("@")[2]
    return Exchange(
        url=response.url,
        method=request.method,
        request_target=target,
        request_headers=[("Host", host), *_header_pairs(request.headers)],
        request_body=request.body,
        protocol=response.protocol or "HTTP/1.1",
        status=response.status,
        response_headers=_header_pairs(response.headers),
        body=response.body,
        date=now,
        ip_address=str(response.ip_address) if response.ip_address else None,
        truncated="length" if "truncated" in response.flags else None,
    )


def warcinfo_fields(settings: Any) -> dict[str, str]:
    return {
        "software": f"scrubwatch/{__version__} (Scrapy {version('scrapy')}, "
        f"warcio {version('warcio')}, Python {platform.python_version()})",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "isPartOf": settings.get("CRAWL_ID"),
        "operator": settings.get("WARC_OPERATOR"),
        "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
        "http-header-user-agent": settings.get("USER_AGENT"),
        "seeds": " ".join(settings.getlist("SEEDS")),
        "hostname": platform.node(),
    }


class WarcCapture:
    def __init__(
        self,
        writer: RollingWarcFile,
        stats: StatsCollector,
        *,
        crawl_id: str,
        digest_log: DigestLog,
        store: Store | None = None,
        index: DigestIndex | None = None,
    ) -> None:
        self.writer = writer
        self.stats = stats
        self.crawl_id = crawl_id
        self.store = store
        self.digest_log = digest_log
        #: payloads of the store's earlier crawls, looked up first
        self.digests: dict[str, ArchivedPayload] = {}
        self.index = index or MemoryDigestIndex()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warc-writer")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        staging = crawl_staging(settings)
        directory = staging / "warc"
        crawl_id = settings.get("CRAWL_ID")
        worker = settings.get("WORKER_ID") or None
        writer = RollingWarcFile(
            directory,
            prefix=settings.get("WARC_PREFIX"),
            max_size=settings.getint("WARC_MAX_SIZE"),
            warcinfo=warcinfo_fields(settings),
            host=worker,
        )
        index: DigestIndex = MemoryDigestIndex()
        if redis_url := settings.get("REDIS_URL"):
            index = RedisDigestIndex(connect(redis_url), group_key(crawl_id, "digests"))
        assert crawler.stats is not None
        ext = cls(
            writer,
            crawler.stats,
            crawl_id=crawl_id,
            digest_log=DigestLog(
                Path(settings.get("STAGING_DIR")) / digests_key(crawl_id, worker), crawl_id
            ),
            store=open_store(settings.get("STORE_URI")),
            index=index,
        )
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    async def spider_opened(self) -> None:
        if self.store is not None:
            self.digests = await run_in_thread(load_digest_index, self.store, before=self.crawl_id)
            self.stats.set_value("warc/known_digests", len(self.digests))

    def response_downloaded(self, response: Response, request: Request) -> None:
        exchange = exchange_from(request, response, datetime.now(UTC))
        _CAPTURES[request] = self.executor.submit(self._capture, exchange)

    def _capture(self, exchange: Exchange) -> Capture:
        digest = sha256_digest(exchange.body)
        # Empty bodies and 304s carry no payload worth deduplicating.
        dedup = bool(exchange.body) and exchange.status != 304
        # The response's id and date are decided before the claim, so that the record
        # other workers' revisits refer to is exactly the one written here.
        record_id = new_record_id()
        original = None
        if dedup and (known := self.digests.get(digest)):
            original = Original(known.uri, known.date, known.record_id)
        elif dedup:
            mine = Original(exchange.url, warc_date(exchange.date), record_id)
            original = self.index.claim(digest, mine)
        ids = iter([record_id])
        records = build_exchange(
            exchange,
            original=original,
            payload_digest=digest,
            make_id=lambda: next(ids, None) or new_record_id(),
        )
        locations = self.writer.write(records.members)
        if dedup and records.record_type == "response":
            payload = ArchivedPayload(
                digest=digest,
                uri=exchange.url,
                date=records.warc_date,
                record_id=records.record_id,
                crawl_id=self.crawl_id,
                filename=locations[0].filename,
                offset=locations[0].offset,
            )
            self.digest_log.add(payload)
        self.stats.inc_value(f"warc/records/{records.record_type}")
        self.stats.inc_value("warc/records/request")
        self.stats.inc_value("warc/bytes", sum(loc.length for loc in locations))
        self.stats.inc_value("warc/payload_bytes", len(exchange.body))
        first = locations[0]
        return Capture(
            record_type=records.record_type,
            payload_digest=records.payload_digest,
            warc_filename=first.filename,
            warc_offset=first.offset,
            warc_length=first.length,
            warc_date=records.warc_date,
        )

    def _close(self) -> None:
        self.executor.shutdown(wait=True)
        closed = self.writer.close()
        self.digest_log.close()
        if closed is not None:
            logger.info("closed %s", closed.name)
        self.stats.set_value("warc/files", len(self.writer.closed_files))

    async def spider_closed(self) -> None:
        await run_in_thread(self._close)


def capture_of(request: Request) -> Future[Capture] | None:
    return _CAPTURES.get(request)
