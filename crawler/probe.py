"""Item pipeline that tells soft 404s by probing: the page's row says ``soft_404``.

A page (seed, cited, linked) that the store's previous crawl captured with a 2xx answer
and that now answers 200 with another payload whose text changed a lot or got short
(:func:`history.soft404.changed_a_lot`, against what :func:`history.previous.previous_pages`
kept of it) is compared with its host's answer to a URL that certainly does not exist:
the page's URL with its last path segment replaced by a random token
(:func:`history.soft404.probe_url`). If the page is that answer
(:func:`history.soft404.same_answer`) its dataset row gets ``soft_404 = "probe"``; if not,
but its text reads like a "not found" and its earlier text did not, ``"wording"``.

The probe is one request per host and path level per crawl (this process's), shared by
every page of that level: fetched through Scrapy's downloader (``engine.download_async``,
so the downloader middlewares, robots.txt and the host's politeness apply, and the WARC
capture archives it like any response), outside the scheduler, so that pages waiting for it
never hold back the download they wait for. Its item (``role: "probe"``, ``cited_by``: the
page that asked for it) goes through the item pipelines: the crawl log has it, captured or
failed, and extraction gives its text; it is no row of the text dataset. A payload captured
as a revisit has no text of its own in the pipeline: the probe's, and a changed page's,
are extracted here by the extraction pipeline's workers.

Stats: ``soft404/candidates``, ``soft404/probes``, ``soft404/probe``, ``soft404/wording``.

Settings: ``SOFT404_PROBE``, ``EXTRACT_ENABLED``, ``STORE_URI``, ``CRAWL_ID``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import scrapy
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import run_in_thread

from history.previous import PreviousPage, previous_pages
from history.snapshots import PAGE_ROLES
from history.soft404 import (
    Answer,
    By,
    Fingerprint,
    changed_a_lot,
    probe_level,
    probe_url,
    random_token,
    reads_not_found,
    same_answer,
)
from pipelines.extract import ExtractPipeline
from pipelines.items import FailureItem, PageItem
from storage import open_store
from storage.errors import StoreError

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

PROBE_ROLE = "probe"


@runtime_checkable
class ItemMaker(Protocol):
    """The spider's side: the item of a response, or of a request that failed."""

    async def page_item(self, response: Response) -> PageItem | FailureItem: ...

    def failure_item(self, request: scrapy.Request, reason: Failure | Exception) -> FailureItem: ...


def _asked_for(item: PageItem) -> str:
    return item.redirected_from[0] if item.redirected_from else item.url


class SoftNotFound:
    def __init__(self, crawler: Crawler, store_uri: str, crawl_id: str) -> None:
        self.crawler = crawler
        self.store_uri = store_uri
        self.crawl_id = crawl_id
        self.previous: dict[str, PreviousPage] = {}
        #: path level -> its probe's answer (None: the probe failed), fetched once
        self.probes: dict[str, asyncio.Task[Answer | None]] = {}
        #: probe URL -> its answer, handed from the probe's item to the task that sent it
        self.answers: dict[str, Answer] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("SOFT404_PROBE"):
            raise NotConfigured("SOFT404_PROBE is off")
        if not settings.getbool("EXTRACT_ENABLED"):
            raise NotConfigured("no text to compare: EXTRACT_ENABLED is off")
        return cls(crawler, settings.get("STORE_URI"), settings.get("CRAWL_ID"))

    async def open_spider(self) -> None:
        try:
            self.previous = await run_in_thread(self._load_previous)
        except StoreError as exc:  # the crawl goes on; what it captures is what matters
            logger.warning("soft 404s: no probes, the previous crawl is unreadable: %s", exc)
            return
        logger.info("soft 404s: %d pages of the previous crawl to compare", len(self.previous))

    def _load_previous(self) -> dict[str, PreviousPage]:
        return previous_pages(open_store(self.store_uri), before=self.crawl_id)

    def _inc(self, key: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"soft404/{key}")

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem) or item.row is None:
            return item
        if item.role == PROBE_ROLE:
            self.answers[_asked_for(item)] = await self._answer(item)
            item.row = None  # a probe is no page of the dataset
            return item
        verdict = await self._verdict(item)
        if verdict is not None:
            item.row["soft_404"] = verdict
            self._inc(verdict)
        return item

    async def _verdict(self, item: PageItem) -> By | None:
        if item.role not in PAGE_ROLES or item.status != 200 or item.browser:
            return None
        before = self.previous.get(_asked_for(item))
        if before is None or before.digest == item.payload_digest:
            return None  # new to the store, or the very payload it had
        page = await self._answer(item)
        text, earlier = page.text, before.fingerprint
        now = Fingerprint.of(text) if text is not None else None
        if earlier is not None and now is not None and not changed_a_lot(earlier, now):
            return None
        self._inc("candidates")
        probe = await self._probe(page.url)
        if probe is not None and same_answer(page, probe):
            return "probe"
        if text is not None and not before.read_not_found and reads_not_found(page.title, text):
            return "wording"
        return None

    async def _answer(self, item: PageItem) -> Answer:
        """What the host answered to ``item``'s request, its text extracted."""
        row = item.row or {}
        title, text = row.get("title"), row.get("text")
        if row.get("extraction") == "unchanged":  # a revisit: its payload was extracted before
            title, text = await self._extract(item)
        return Answer(_asked_for(item), item.url, item.status, item.payload_digest, title, text)

    async def _extract(self, item: PageItem) -> tuple[str | None, str | None]:
        extract = self.crawler.get_item_pipeline(ExtractPipeline)
        if extract is None:
            return None, None
        future = extract.pool.submit(item.body, item.url, item.content_type)
        extraction = await asyncio.wrap_future(future)
        return extraction.title, extraction.text

    async def _probe(self, page_url: str) -> Answer | None:
        """The answer to the probe of ``page_url``'s path level: sent by its first page."""
        level = probe_level(page_url)
        task = self.probes.get(level)
        if task is None:
            task = asyncio.ensure_future(
                self._send_probe(probe_url(page_url, random_token()), page_url)
            )
            self.probes[level] = task
        return await asyncio.shield(task)

    async def _send_probe(self, url: str, page_url: str) -> Answer | None:
        spider, engine = self.crawler.spider, self.crawler.engine
        if not isinstance(spider, ItemMaker) or engine is None:
            return None
        self._inc("probes")
        request = scrapy.Request(
            url, dont_filter=True, meta={"role": PROBE_ROLE, "cited_by": page_url}
        )
        item: PageItem | FailureItem
        response: Response | None = None
        try:
            response = await engine.download_async(request)
        except Exception as exc:  # any reason a request fails, as for a page
            item = spider.failure_item(request, exc)
        else:
            item = await spider.page_item(response)
        await engine.scraper.start_itemproc_async(item, response=response)
        if isinstance(item, FailureItem):
            return None
        logger.debug("soft 404s: probe %s answered %s at %s", url, item.status, item.url)
        return self.answers.pop(url, None) or Answer(
            url, item.url, item.status, item.payload_digest, None, None
        )
