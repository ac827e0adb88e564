"""Spider ``cited``: the pages a seed article cites, their requisites, and ``depth`` hops more.

Seeds come from the ``seeds`` argument (comma separated) or the ``SEEDS`` setting.
A URL seed is fetched and archived, and the links in its main content are cited;
a file seed is read here (see :mod:`crawler.seeds`). Every cited page is archived
with its images, stylesheets and icons; with ``CRAWL_DEPTH`` > 0, links within
the page's registered domain are followed that many hops. Requests go by priority: a
page's requisites (1) right after it, what is cited (0), then linked pages (-hops); while
few pages are on their way, pages and requisites take turns (:mod:`crawler.fetchorder`).

A resumed crawl starts again from the seeds: what the stopped run captured is answered
from its WARC files (:mod:`crawler.replay`) and parsed again, so the frontier is rebuilt.

A recrawl also asks again for the requisites the store's previous crawl fetched for
a page, so a photo taken off a page is recorded as answering 404 (or still 200).

In a crawl shared over Redis (``REDIS_URL``) only the coordinator starts from the seeds;
a worker (``FRONTIER_ROLE = "worker"``) takes every request from the shared frontier.

Search seeds (``search ENGINE QUERY`` lines, ``SEARCHES``) are asked for first, one
request per result page (:mod:`crawler.searchpages`).

Settings: ``SEEDS``, ``SEARCHES``, ``SEARCH_PAGES``, ``CRAWL_DEPTH``, ``OUTLETS_REGISTRY``,
``EXTRA_OUTLETS``, ``STORE_URI``, ``CRAWL_ID``, ``RECHECK_REQUISITES``, ``REDIS_URL``,
``FRONTIER_ROLE``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.utils.asyncio import run_in_thread

from crawler.browser.pages import BrowserPages
from crawler.failures import classify, is_dead_host, is_retryable
from crawler.outlets import OutletRegistry
from crawler.recent import RecentSet
from crawler.replay import ArchiveReplay
from crawler.requisites import html_tree, page_links, page_requisites
from crawler.scope import same_site
from crawler.searchpages import SearchPages
from crawler.seeds import Citation, citations_from_html, load_seed
from crawler.throttle import SLOWED_META
from history.snapshots import previous_requisites
from pipelines.items import FailureItem, PageItem
from pipelines.warc import Capture, WarcCapture
from pipelines.warcfile import WarcWriteError
from storage import open_store
from storage.sharedcrawl import WORKER

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from selectolax.lexbor import LexborHTMLParser
    from twisted.python.failure import Failure

# How many requisite URLs a spider remembers having asked for (about 2 MB at most).
REQUESTED_REQUISITES = 10_000


def is_url(seed: str) -> bool:
    return seed.startswith(("http://", "https://"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class CitedSpider(BrowserPages, SearchPages, scrapy.Spider):
    name = "cited"

    def __init__(self, *args: Any, seeds: str | None = None, depth: str | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self._seeds_arg = seeds
        self._depth_arg = depth
        self.seeds: list[str] = []
        self.depth = 0
        self.registry = OutletRegistry([])
        self.recheck = False
        self.previous: dict[str, list[str]] = {}
        # requisites asked for lately, not asked for again: see requisites()
        self.requested = RecentSet(REQUESTED_REQUISITES)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        if spider._seeds_arg:
            spider.seeds = [s for s in spider._seeds_arg.split(",") if s]
        else:
            spider.seeds = settings.getlist("SEEDS")
        worker = bool(settings.get("REDIS_URL") and settings.get("FRONTIER_ROLE") == WORKER)
        if worker:
            spider.seeds = []  # a worker takes its requests from the shared frontier
        depth = spider._depth_arg
        spider.depth = int(depth) if depth is not None else settings.getint("CRAWL_DEPTH")
        if spider.depth < 0:
            raise ValueError(f"depth must be 0 or more, got {spider.depth}")
        registries = [settings.get("OUTLETS_REGISTRY"), *settings.getlist("EXTRA_OUTLETS")]
        spider.registry = OutletRegistry.load(*(Path(p) for p in registries if p))
        spider.setup_searches(settings, [p for p in registries if p], worker)
        spider.recheck = settings.getbool("RECHECK_REQUISITES")
        return spider

    def _load_previous(self) -> dict[str, list[str]]:
        settings = self.crawler.settings
        store = open_store(settings.get("STORE_URI"))
        return previous_requisites(store, before=settings.get("CRAWL_ID"))

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.setup_browser()  # now: the crawler's extensions exist
        if self.recheck:
            self.previous = await run_in_thread(self._load_previous)
        for request in self.search_requests():
            yield request
        for seed in self.seeds:
            if is_url(seed):
                yield scrapy.Request(
                    seed,
                    callback=self.parse_seed,
                    errback=self.failed,
                    meta={"role": "seed", "hops": 0},
                )
                continue
            for citation in load_seed(seed, self.registry):
                yield self.cite(citation, cited_by=seed)

    def cite(self, citation: Citation, cited_by: str) -> scrapy.Request:
        return scrapy.Request(
            citation.url,
            callback=self.parse_page,
            errback=self.failed,
            meta={
                "role": "cited",
                "hops": 0,
                "outlet": citation.outlet,
                "context": citation.context,
                "cited_by": cited_by,
            },
        )

    async def parse_seed(self, response: Response) -> AsyncIterator[Any]:
        async for output in self.parse_page(response):
            yield output

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        item = await self.page_item(response)
        page = tree = found = None
        if (
            isinstance(response, TextResponse)
            and isinstance(item, PageItem)
            and (item.is_html or item.role == "seed")
        ):
            # Parsed on a copy: a TextResponse keeps its decoded text (several times its
            # body) once read, and Scrapy keeps ``response`` until its item is through the
            # pipelines, extraction included; the copy and its text go when this callback
            # ends. The copy finds its encoding again, from the same headers and body;
            # ``replace()`` would ask ``response`` for it, which can decode and keep the
            # text there.
            page = type(response)(**{n: getattr(response, n) for n in Response.attributes})
            if page.meta.get("role") != "seed":
                # one parse for what the page names and for the browser rule, which
                # strips the tree: so what the page names is read first
                tree = html_tree(page)
                found = self.page_urls(page, tree)
        if self.wants_render(response, item, tree):
            assert isinstance(item, PageItem)
            yield self.render_request(response, item, await self.capture(response))
            return
        yield item
        if page is not None:
            for request in self.after_page(page, item, set(), found):  # type: ignore[arg-type]
                yield request

    def page_urls(
        self, page: TextResponse, tree: LexborHTMLParser | None = None
    ) -> tuple[list[str], list[str]]:
        """What a page names: its requisites and, within ``CRAWL_DEPTH``, its links."""
        tree = tree if tree is not None else html_tree(page)
        links = page_links(page, tree) if page.meta.get("hops", 0) < self.depth else []
        return page_requisites(page, tree), links

    def after_page(
        self,
        page: TextResponse,
        item: PageItem,
        fetched: set[str],
        found: tuple[list[str], list[str]] | None = None,
    ) -> Iterator[scrapy.Request]:
        """What a page leads to: a seed's citations; a page's requisites (less those a
        browser ``fetched`` for it already) and, within ``CRAWL_DEPTH``, its links;
        ``found``: :meth:`page_urls` of the page, if read already."""
        if page.meta.get("role") == "seed":
            for citation in citations_from_html(page.body, page.url, self.registry):
                yield self.cite(citation, cited_by=page.url)
            return
        requisites, links = found if found is not None else self.page_urls(page)
        for request in self.requisites(page, requisites):
            if request.url not in fetched:
                yield request
        depth = page.meta.get("hops", 0)
        # a search's result pages are read, never followed
        for url in links if page.meta.get("role") != "search" else []:
            if same_site(url, page.url):
                yield page.follow(
                    url,
                    callback=self.parse_page,
                    errback=self.failed,
                    # after what is cited, the nearer hops first (Scrapy would put a
                    # linked page before the start requests of the same priority)
                    priority=-(depth + 1),
                    meta={"role": "linked", "hops": depth + 1, "cited_by": page.url},
                )

    def requisites(
        self, response: TextResponse, urls: list[str] | None = None
    ) -> Iterator[scrapy.Request]:
        """Requests for the page's requisites, less those this spider asked for lately.

        The pages of a site share their stylesheets, icons and logos: a request for
        one already asked for would only be built, passed through the spider
        middlewares, fingerprinted and dropped by the dupefilter (a fifth of the crawl
        process's CPU on news pages). The same URL makes the same request here (GET,
        no body), so the dupefilter would drop it anyway; what is not recent is left to
        the dupefilter, which knows every request. ``urls``: the page's requisites, if
        read already.
        """
        urls = list(urls if urls is not None else page_requisites(response))
        urls += [u for u in self.previous.get(response.url, ()) if u not in urls]
        for url in urls:
            if not self.requested.add(url):
                continue
            yield scrapy.Request(
                url,
                callback=self.parse_requisite,
                errback=self.failed,
                priority=1,  # a page and its photo are captured close together in time
                meta={"role": "requisite", "cited_by": response.url},
            )

    async def parse_requisite(self, response: Response) -> AsyncIterator[PageItem | FailureItem]:
        yield await self.page_item(response)

    async def page_item(self, response: Response) -> PageItem | FailureItem:
        meta = response.meta
        try:
            capture = await self.capture(response)
        except WarcWriteError as exc:  # fetched, but not archived (a full disk)
            assert response.request is not None  # a capture was looked up for it
            return self.failure_item(response.request, exc)
        return PageItem(
            url=response.url,
            status=response.status,
            role=meta.get("role", "cited"),
            fetched_at=capture.warc_date,
            content_type=(response.headers.get("Content-Type") or b"").decode("latin-1"),
            headers={
                k.decode("latin-1"): [v.decode("latin-1") for v in vs]
                for k, vs in response.headers.items()
            },
            body=response.body,
            record_type=capture.record_type,
            payload_digest=capture.payload_digest,
            warc_filename=capture.ref.filename,
            warc_offset=capture.ref.offset,
            warc_length=capture.ref.length,
            outlet=meta.get("outlet") or self.outlet_of(response.url),
            cited_by=meta.get("cited_by"),
            context=meta.get("context", ""),
            depth=meta.get("hops", 0),
            redirected_from=list(meta.get("redirect_urls", [])),
            truncated=capture.truncated,
            slowed=meta.get(SLOWED_META),
            search=self.search_page(meta),
        )

    @cached_property
    def warc_capture(self) -> WarcCapture | None:
        return self.crawler.get_extension(WarcCapture)

    @cached_property
    def archive_replay(self) -> ArchiveReplay | None:
        """The middleware that answers a resumed crawl's requests from its archive."""
        return self.crawler.get_downloader_middleware(ArchiveReplay)

    async def capture(self, response: Response) -> Capture:
        """Where the response's record is: written now, or in the archive of a resumed crawl."""
        request = response.request
        if request is not None:
            written = self.warc_capture.capture_of(request) if self.warc_capture else None
            if written is not None:
                return await asyncio.wrap_future(written)
            replayed = (
                self.archive_replay.replayed_capture(request) if self.archive_replay else None
            )
            if replayed is not None:
                return replayed
        raise RuntimeError(f"{response.url} reached the spider without a WARC capture")

    def outlet_of(self, url: str) -> str | None:
        outlet = self.registry.outlet_for_url(url)
        return outlet.key if outlet else None

    def failed(self, failure: Failure) -> Iterator[FailureItem]:
        yield self.failure_item(failure.request, failure)  # type: ignore[attr-defined]

    def failure_item(self, request: scrapy.Request, reason: Failure | Exception) -> FailureItem:
        kind, message = classify(reason, request.url)
        self.crawler.stats.inc_value(f"crawl/failed/{kind}")
        self.logger.info("not captured (%s): %s: %s", kind, request.url, message)
        return FailureItem(
            url=request.url,
            role=request.meta.get("role", "cited"),
            kind=kind,
            error=message,
            time=_now(),
            cited_by=request.meta.get("cited_by"),
            outlet=request.meta.get("outlet"),
            retryable=is_retryable(kind, reason),
            dead_host=is_dead_host(reason),
            slowed=request.meta.get(SLOWED_META),
            search=request.meta.get("search"),
        )
