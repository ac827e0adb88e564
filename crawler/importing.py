"""``scrubwatch import``: earlier captures from a public web archive, as a crawl of the store.

For each seed (a URL seed is looked up in the archive too, and its citations read from
its archived copy, as ``crawl`` reads them from the live page) and each URL it cites,
with the requisites of every archived page, the archive's captures
(:class:`storage.archives.ArchiveClient`) are brought in as an *imported crawl*: the
original bytes as WARC response records dated by the memento's datetime and naming it
(``WARC-Source-URI``), written by the crawl's WARC writer
(:class:`~pipelines.warcfile.RollingWarcFile`); a payload the store already holds is a
revisit of it. The crawl log, the dataset rows (extracted in the crawl's
:class:`~pipelines.extractpool.ExtractorPool`), the CDXJ index and the manifest are made
and published as a crawl's are (:func:`storage.publish.publish_crawl`); warcinfo and
manifest say ``imported_from``.

Settings: ``ARCHIVE_*``, ``WARC_PREFIX``, ``WARC_MAX_SIZE``, ``WARC_DEDUP_MIN_SIZE``,
``EXTRACT_*``, ``DATASET_*``, ``MEMORY_TRIM_INTERVAL``, ``STAGING_DIR``, ``USER_AGENT``.
"""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy.http import HtmlResponse
from scrapy.settings import Settings

from crawler.crawl import early_setting, project_settings, use_outlets
from crawler.outlets import OutletRegistry
from crawler.requisites import page_requisites
from crawler.seeds import citations_from_html, load_seed
from crawler.spiders.cited import is_url
from crawler.summary import CrawlError
from pipelines.dataset import staged_writer
from pipelines.datasetfile import make_row
from pipelines.extraction import make_options
from pipelines.extractpool import ExtractorPool
from pipelines.items import FailureItem, PageItem
from pipelines.publish import check_new
from pipelines.warcexchange import warcinfo_fields
from pipelines.warcfile import RollingWarcFile
from pipelines.warcrecords import Exchange, Original, build_exchange, sha256_digest
from storage import new_crawl_id, open_store, validate_crawl_id
from storage.archives import ArchiveClient, ArchiveError, Memento, RawCapture, timestamp14
from storage.contentcoding import ContentDecodingError, ContentTooLarge, decode_content
from storage.crawlinfo import CrawlInfo
from storage.crawllog import CrawlLogWriter
from storage.digests import ArchivedPayload, DigestLog, StoreDigests
from storage.errors import BadInput, StoreError, one_line
from storage.layout import (
    crawl_log_key,
    default_staging_dir,
    digests_key,
    local_path,
    staged_dataset,
    staged_dirs,
    staged_indexes,
    staged_warcs,
)
from storage.publish import publish_crawl, write_info
from storage.stores import Store

logger = logging.getLogger(__name__)

#: ``--from`` names of the archives the settings point at
SOURCES = ("wayback", "memento")
MAX_REDIRECTS = 5
_HTML = ("text/html", "application/xhtml+xml")


def replay_for(cdx_url: str, default: str) -> str:
    """Where a CDX server's mementos replay: pywb's ``/<coll>/cdx`` under ``/<coll>/``, the
    Wayback Machine's ``/cdx/search/cdx`` under ``/web/``, any other under ``default``."""
    base = cdx_url.split("?", 1)[0]
    if base.endswith("/cdx/search/cdx"):
        return base.removesuffix("cdx/search/cdx") + "web/"
    if base.endswith("/cdx"):
        return base.removesuffix("cdx")
    return default


def archive_client(source: str | None, settings: Settings) -> ArchiveClient:
    """The client of ``--from``: ``wayback`` (default, ``ARCHIVE_CDX_URL``), ``memento``
    (``ARCHIVE_TIMEMAP_URL``), or an endpoint's URL (a TimeMap's if it has ``/timemap/``)."""
    polite: dict[str, Any] = {
        "delay": early_setting(settings, "ARCHIVE_DELAY", "float"),
        "retries": early_setting(settings, "ARCHIVE_RETRIES", "int"),
        "max_wait": early_setting(settings, "ARCHIVE_MAX_WAIT", "float"),
        "timeout": early_setting(settings, "ARCHIVE_TIMEOUT", "float"),
        "user_agent": settings.get("USER_AGENT"),
    }
    source = source or "wayback"
    if source == "memento":
        return ArchiveClient(timemap_url=settings.get("ARCHIVE_TIMEMAP_URL"), **polite)
    if source == "wayback":
        cdx = settings.get("ARCHIVE_CDX_URL")
    elif is_url(source):
        if "/timemap/" in source:
            return ArchiveClient(timemap_url=source, **polite)
        cdx = source
    else:
        raise BadInput(f"--from {source!r}: use wayback, memento, or a CDX or TimeMap URL")
    replay = replay_for(cdx, settings.get("ARCHIVE_REPLAY_URL"))
    return ArchiveClient(cdx_url=cdx, replay_url=replay, **polite)


@dataclass
class ImportSummary:
    crawl_id: str
    store: str
    archive: str
    counts: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        c = self.counts
        return [
            f"imported crawl {self.crawl_id} into {self.store} from {self.archive}",
            f"  urls looked up: {c['import/urls']}, not archived: {c['import/not_archived']}",
            f"  captures: {c['import/captures']} ({c['warc/records/response']} responses, "
            f"{c['warc/records/revisit']} revisits), failed: {c['import/failed']}",
            f"  dataset rows: {c['dataset/rows']}, archive requests: {c['import/requests']}",
        ]


@dataclass
class _Page:
    """One imported HTML capture, for extraction after the WARC files are closed."""

    item: PageItem
    body: bytes  # as archived (still content-encoded)
    encoding: str  # its Content-Encoding


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _header(headers: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in headers if k.lower() == name), "")


class Importer:
    """Brings captures into one staged crawl; :meth:`close` closes its files."""

    def __init__(
        self,
        client: ArchiveClient,
        store: Store,
        staging_root: Path,
        crawl_id: str,
        settings: Settings,
        registry: OutletRegistry,
        *,
        since: str | None = None,
        until: str | None = None,
    ) -> None:
        self.client = client
        self.crawl_id = crawl_id
        self.registry = registry
        self.since, self.until = since, until
        self.counts: Counter[str] = Counter()
        fields = warcinfo_fields(settings)
        fields["imported-from"] = client.name
        self.writer = RollingWarcFile(
            staged_warcs(staging_root, crawl_id),
            prefix=settings.get("WARC_PREFIX"),
            max_size=settings.getint("WARC_MAX_SIZE"),
            warcinfo=fields,
            lines_dir=staged_indexes(staging_root, crawl_id),
        )
        self.dedup_min_size = max(1, settings.getint("WARC_DEDUP_MIN_SIZE"))
        self.digests = StoreDigests(store, before=crawl_id)
        self.mine: dict[str, Original] = {}
        self.digest_log = DigestLog(local_path(staging_root, digests_key(crawl_id)), crawl_id)
        self.log = CrawlLogWriter(local_path(staging_root, crawl_log_key(crawl_id)))
        self.log.path.parent.mkdir(parents=True, exist_ok=True)
        self.log.open()
        self.pages: list[_Page] = []
        self.done: set[str] = set()
        self.first_error: str | None = None

    def import_seed(self, seed: str) -> None:
        if not is_url(seed):
            citations = load_seed(seed, self.registry)
        else:
            page = self.import_url(seed, "seed")
            citations = []
            if page is not None:
                citations = citations_from_html(page.body, page.url, self.registry)
        for citation in citations:
            self.import_url(
                citation.url,
                "cited",
                cited_by=seed,
                outlet=citation.outlet,
                context=citation.context,
            )

    def import_url(
        self,
        url: str,
        role: str,
        *,
        cited_by: str | None = None,
        outlet: str | None = None,
        context: str = "",
    ) -> HtmlResponse | None:
        """Import every capture of ``url``, and the requisites of each; the latest HTML
        page imported (its body decoded), or None."""
        if url in self.done:
            return None
        self.done.add(url)
        self.counts["import/urls"] += 1
        try:
            mementos = self.client.captures(url, self.since, self.until)
        except ArchiveError as exc:
            self._failed(url, role, "archive", one_line(exc), cited_by, outlet)
            return None
        if not mementos:
            self.counts["import/not_archived"] += 1
            self._failed(
                url, role, "not-archived", f"{self.client.name} has no capture", cited_by, outlet
            )
            return None
        pages = [
            page
            for memento in mementos
            if (page := self._import_memento(memento, role, cited_by, outlet, context))
        ]
        if role != "requisite":
            # every capture's: an image an earlier capture showed is what a scrub removes
            requisites: dict[str, str] = {}  # requisite -> the page (final URL) citing it
            for page in pages:
                for requisite in page_requisites(page):
                    requisites.setdefault(requisite, page.url)
            for requisite, page_url in requisites.items():
                self.import_url(requisite, "requisite", cited_by=page_url, outlet=outlet)
        return pages[-1] if pages else None

    def _import_memento(
        self, memento: Memento, role: str, cited_by: str | None, outlet: str | None, context: str
    ) -> HtmlResponse | None:
        """Write the capture (and the redirects on its way); the page it is, decoded, if
        it is an HTML page that answered 2xx."""
        chain: list[str] = []
        try:
            raw = self.client.fetch(memento)
            while 300 <= raw.status < 400 and len(chain) < MAX_REDIRECTS:
                location = _header(raw.headers, "location")
                target = (
                    self._closest(urljoin(memento.url, location), memento.timestamp)
                    if location
                    else None
                )
                if target is None:
                    break  # the redirect is the capture
                self._write(raw)
                chain.append(memento.url)
                memento, raw = target, self.client.fetch(target)
        except ArchiveError as exc:
            self._failed(memento.url, role, "archive", one_line(exc), cited_by, outlet)
            return None
        item = self._write(raw)
        item.role, item.cited_by, item.outlet, item.context = role, cited_by, outlet, context
        item.redirected_from = chain
        entry = item.log_entry()
        entry["imported_from"] = memento.memento_url
        self.log.write(entry)
        self.counts[f"crawl/items/{role}"] += 1
        if not (item.is_html and 200 <= item.status < 300):
            return None
        encoding = _header(raw.headers, "content-encoding")
        self.pages.append(_Page(item, raw.body, encoding))
        try:
            decoded = decode_content(raw.body, encoding)
        except (ContentDecodingError, ContentTooLarge):
            return None
        return HtmlResponse(item.url, body=decoded, headers={"Content-Type": item.content_type})

    def _closest(self, url: str, timestamp: str) -> Memento | None:
        """The capture of a redirect's target nearest in time to the redirect's."""
        self.done.add(url)
        try:
            found = self.client.captures(url)
        except ArchiveError:
            return None
        return min(found, key=lambda m: abs(int(m.timestamp) - int(timestamp)), default=None)

    def _write(self, raw: RawCapture) -> PageItem:
        memento = raw.memento
        parts = urlsplit(memento.url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        exchange = Exchange(
            url=memento.url,
            method="GET",
            request_target=target,
            request_headers=[("Host", parts.netloc)],
            request_body=b"",
            protocol="HTTP/1.1",
            status=raw.status,
            response_headers=raw.headers,
            body=raw.body,
            date=raw.date,
            source_uri=memento.memento_url,
        )
        digest = sha256_digest(raw.body)
        original = None
        if len(raw.body) >= self.dedup_min_size:
            known = self.digests.get(digest)
            original = (
                Original(known.uri, known.date, known.record_id) if known else self.mine.get(digest)
            )
        records = build_exchange(exchange, original=original, payload_digest=digest)
        # an imported capture has no request we made: only its response (or revisit) is kept
        (ref,) = self.writer.write(records.members[:1], records.index[:1])
        if original is None and raw.status != 304 and len(raw.body) >= self.dedup_min_size:
            self.mine[digest] = Original(memento.url, records.warc_date, records.record_id)
            self.digest_log.add(
                ArchivedPayload(digest, memento.url, records.warc_date, records.record_id,
                                self.crawl_id, ref.filename, ref.offset)
            )  # fmt: skip
        self.counts["import/captures"] += 1
        self.counts[f"warc/records/{records.record_type}"] += 1
        return PageItem(
            url=memento.url,
            status=raw.status,
            role="requisite",
            fetched_at=records.warc_date,
            content_type=_header(raw.headers, "content-type"),
            headers={},
            body=b"",
            record_type=records.record_type,
            payload_digest=digest,
            warc_filename=ref.filename,
            warc_offset=ref.offset,
            warc_length=ref.length,
        )

    def _failed(
        self, url: str, role: str, kind: str, error: str, cited_by: str | None, outlet: str | None
    ) -> None:
        missing = kind == "not-archived"
        self.counts["import/failed"] += not missing
        if not missing and self.first_error is None:
            self.first_error = error
        (logger.info if missing else logger.warning)("import of %s: %s", url, error)
        entry = FailureItem(url, role, kind, error, _now(), cited_by=cited_by, outlet=outlet)
        self.log.write(entry.log_entry())

    def close(self) -> None:
        self.writer.close()
        self.digest_log.close()
        self.log.close()
        self.counts["import/requests"] = self.client.requests


def extract_rows(importer: Importer, staging_root: Path, settings: Settings) -> int:
    """The dataset rows of the imported HTML pages, extracted as a crawl's are."""
    crawl_id = importer.crawl_id
    writer = staged_writer(settings, staging_root, crawl_id, staged_dataset)
    if importer.pages and settings.getbool("EXTRACT_ENABLED"):
        # The latest capture of a URL first: its row is the one readers take for the URL
        # (history.snapshots), as its crawl-log line, written last, is.
        latest_first = sorted(importer.pages, key=lambda page: page.item.fetched_at, reverse=True)
        pages = (
            (page.item, (page.body, page.item.url, page.item.content_type, page.encoding))
            for page in latest_first
        )
        with ExtractorPool(
            settings.getint("EXTRACT_WORKERS") or None,
            timeout=settings.getfloat("EXTRACT_TIMEOUT"),
            max_bytes=settings.getint("EXTRACT_MAX_BYTES"),
            trim_interval=settings.getfloat("MEMORY_TRIM_INTERVAL"),
            options=make_options(fast=settings.getbool("EXTRACT_FAST")),
        ) as pool:
            for item, extraction in pool.map_ordered(pages):
                importer.counts[f"extract/{extraction.status}"] += 1
                writer.write(
                    make_row(
                        extraction,
                        url=item.url,
                        crawl_id=crawl_id,
                        fetched_at=item.fetched_at,
                        status=item.status,
                        content_type=item.content_type,
                        outlet=item.outlet,
                        payload_digest=item.payload_digest,
                        warc_filename=item.warc_filename,
                        warc_offset=item.warc_offset,
                        warc_length=item.warc_length,
                    )
                )
    writer.close()
    return writer.rows


def run_import(
    seeds: list[str],
    store_uri: str,
    *,
    crawl_id: str | None = None,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    outlets: list[str] | None = None,
    overrides: dict[str, Any] | None = None,
    client: ArchiveClient | None = None,
) -> ImportSummary:
    """Import the archive's captures of what ``seeds`` cite into a new crawl of the store."""
    if not seeds:
        raise CrawlError("no seeds given: name a seed article (URL, .html, .txt) or a .seeds list")
    settings = project_settings(overrides)
    use_outlets(settings, outlets)
    try:
        since, until = (timestamp14(v) if v else None for v in (since, until))
    except ValueError as exc:
        raise BadInput(f"--since/--until: {exc}") from exc
    client = client or archive_client(source, settings)
    store = open_store(store_uri)
    store.check_writable()
    crawl_id = validate_crawl_id(crawl_id or new_crawl_id(datetime.now(UTC)))
    check_new(store, crawl_id)
    staging_root = Path(settings.get("STAGING_DIR") or default_staging_dir(store))
    settings.set("CRAWL_ID", crawl_id, priority="cmdline")
    settings.set("SEEDS", seeds, priority="cmdline")
    registry = OutletRegistry.load(
        settings.get("OUTLETS_REGISTRY"), *settings.getlist("EXTRA_OUTLETS")
    )
    for seed in seeds:
        if not is_url(seed):
            load_seed(seed, registry)  # a bad file seed fails before the archive is asked
    started = datetime.now(UTC)
    importer = Importer(
        client, store, staging_root, crawl_id, settings, registry, since=since, until=until
    )
    try:
        for seed in seeds:
            importer.import_seed(seed)
    finally:
        importer.close()
    if not importer.counts["import/captures"] and importer.first_error is not None:
        for folder in staged_dirs(staging_root, crawl_id):
            shutil.rmtree(folder, ignore_errors=True)
        raise CrawlError(f"nothing imported into crawl {crawl_id}: {importer.first_error}")
    importer.counts["dataset/rows"] = extract_rows(importer, staging_root, settings)
    info = CrawlInfo(
        crawl_id=crawl_id,
        store=store.uri,
        seeds=list(seeds),
        extraction={
            "enabled": settings.getbool("EXTRACT_ENABLED"),
            "fast": settings.getbool("EXTRACT_FAST"),
        },
        started=str(started),
        finished=str(datetime.now(UTC)),
        finish_reason="finished",
        counts=dict(importer.counts),
        extra={"imported_from": client.name},
    )
    write_info(staging_root, crawl_id, info)
    try:
        publish_crawl(store, staging_root, crawl_id)
    except StoreError as exc:
        raise CrawlError(str(exc)) from exc
    return ImportSummary(crawl_id, store.uri, client.name, importer.counts)
