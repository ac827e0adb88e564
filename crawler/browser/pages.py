"""The spider's side of browser capture: which pages go to the browser, and what is
archived of a rendered one.

A page is first fetched by Scrapy like any other (archived, robots, SSRF guard). When
:func:`~crawler.browser.policy.wants_browser` says so, it is then rendered: a request
for scrapy-playwright (``meta["playwright"]``, a download slot of its own, so that the
page's own routed requests never queue behind it), whose navigation is answered from
the response the spider has (:meth:`~crawler.browser.route.BrowserRouter.hold`).

Of a rendered page the crawl keeps:

- every request the browser made, fetched by Scrapy: response (or revisit) and request
  records, a crawl-log entry each (``role: requisite``, ``browser: true``); what the crawl
  had fetched already is answered without a fetch (:mod:`crawler.browser.repeats`);
- ``urn:view:<url>``: a ``resource`` record, the screenshot (``image/png``);
- ``urn:dom:<url>``: a ``resource`` record, the rendered DOM (``text/html``), both with
  ``WARC-Concurrent-To`` the page's response record;
- the page's dataset row, extracted from the DOM (``rendered: true``; its ``warc_*``
  name the DOM's record).

A page the browser could not render (``browser-timeout``, ``browser-crash``,
``browser-error``) keeps the row of its HTML as fetched, and the failure is logged.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy.http import HtmlResponse, Response

from crawler.browser.handler import SCREENSHOT_META
from crawler.browser.policy import BrowserMode, browser_mode, wants_browser
from crawler.browser.repeats import Repeat
from crawler.browser.route import FETCHED_META, ROUTED_META, BrowserRouter
from pipelines.items import FailureItem, PageItem
from pipelines.warc import NOT_WIRE_META, Capture, WarcCapture
from storage.rendered import dom_uri, view_uri

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from selectolax.lexbor import LexborHTMLParser
    from twisted.python.failure import Failure

#: the download slot of page requests (its concurrency: BROWSER_PAGES)
PAGE_SLOT = "browser-pages"
#: render request meta: the page as the spider fetched it
PAGE_META = "browser_page"
VIEWPORT = {"width": 1280, "height": 900}
# the request meta a rendered page inherits from the page as fetched
_INHERITED = ("role", "hops", "outlet", "context", "cited_by", "redirect_urls", "search")


class BrowserPages:
    """Mixed into the cited spider: rendering pages, and what comes of it."""

    crawler: Any
    logger: Any

    def setup_browser(self) -> None:
        settings = self.crawler.settings
        self.browser_mode: BrowserMode = browser_mode(settings.get("BROWSER_MODE"))
        self.router = self.crawler.get_extension(BrowserRouter)
        if self.router is None:
            self.browser_mode = "never"  # the crawl was set up without a browser
        #: page URL -> its item as fetched, kept while the page is being rendered
        self.rendering: dict[str, PageItem] = {}

    def wants_render(
        self,
        response: Response,
        item: PageItem | FailureItem,
        tree: LexborHTMLParser | None = None,
    ) -> bool:
        """Whether the page is rendered; ``tree``: the page parsed already, if it was
        (the rule strips it of its hidden elements)."""
        if self.browser_mode == "never" or not isinstance(item, PageItem):
            return False
        if not item.is_html or item.status != 200 or item.rendered:
            return False
        outlet = self.registry.outlet_for_url(response.url)  # type: ignore[attr-defined]
        search = self.search_page(response.meta)  # type: ignore[attr-defined]
        flagged = search.browser if search is not None else bool(outlet and outlet.browser)
        return wants_browser(
            self.browser_mode,
            flagged,
            tree if tree is not None else response.body,
            item.content_type,
        )

    def render_request(self, response: Response, item: PageItem, capture: Capture) -> Any:
        """The request that renders ``response``'s page; its item waits for the result."""
        assert self.router is not None
        self.router.hold(response)
        self.rendering[response.url] = item
        meta = {key: response.meta[key] for key in _INHERITED if key in response.meta}
        meta.update(
            {
                "playwright": True,
                "playwright_context_kwargs": {
                    "service_workers": "block",
                    "accept_downloads": False,
                    "viewport": VIEWPORT,
                    "user_agent": self.crawler.settings.get("USER_AGENT"),
                },
                NOT_WIRE_META: True,
                PAGE_META: {"record_id": capture.record_id, "status": item.status},
                "download_slot": PAGE_SLOT,
                "autothrottle_dont_adjust_delay": True,
                "dont_redirect": True,
                "dont_retry": True,
                "dont_merge_cookies": True,
            }
        )
        return scrapy.Request(
            response.url,
            callback=self.parse_rendered,
            errback=self.render_failed,
            dont_filter=True,
            priority=2,  # rendered soon, while its fetched response is held
            meta=meta,
        )

    async def parse_rendered(self, response: Response) -> AsyncIterator[Any]:
        meta = response.meta
        url = response.request.url if response.request is not None else response.url
        fetched = self.rendering.pop(url, None)
        if self.router is not None:
            self.router.release(url)
        browser_urls = {e.url for e in meta.get(FETCHED_META, ()) if isinstance(e, Repeat)}
        async for item in self.browser_fetched(meta):
            browser_urls.update([item.url, *getattr(item, "redirected_from", [])])
            yield item
        page = meta[PAGE_META]
        page_id = page["record_id"]
        warc: WarcCapture = self.warc_capture  # type: ignore[attr-defined]
        shot = meta.pop(SCREENSHOT_META, None)
        if shot:
            await asyncio.wrap_future(
                warc.write_resource(view_uri(url), "image/png", shot, page_id)
            )
        dom = response.text.encode("utf-8")
        capture = await asyncio.wrap_future(
            warc.write_resource(dom_uri(url), "text/html; charset=utf-8", dom, page_id)
        )
        item = self.rendered_item(url, meta, fetched, capture, dom)
        yield item
        rendered = HtmlResponse(url=url, body=dom, encoding="utf-8", request=response.request)
        for request in self.after_page(rendered, item, browser_urls):  # type: ignore[attr-defined]
            yield request

    def rendered_item(
        self, url: str, meta: dict[str, Any], fetched: PageItem | None, capture: Capture, dom: bytes
    ) -> PageItem:
        base = fetched or PageItem(
            url=url,
            status=meta[PAGE_META]["status"],
            role=meta.get("role", "cited"),
            fetched_at=capture.warc_date,
            content_type="",
            headers={},
            body=b"",
            record_type="",
            payload_digest="",
            warc_filename="",
            warc_offset=0,
            warc_length=0,
            outlet=meta.get("outlet"),
            cited_by=meta.get("cited_by"),
            context=meta.get("context", ""),
            depth=meta.get("hops", 0),
            redirected_from=list(meta.get("redirect_urls", [])),
            search=self.search_page(meta),  # type: ignore[attr-defined]
        )
        return replace(
            base,
            content_type="text/html; charset=utf-8",
            body=dom,
            record_type=capture.record_type,
            payload_digest=capture.payload_digest,
            warc_filename=capture.ref.filename,
            warc_offset=capture.ref.offset,
            warc_length=capture.ref.length,
            truncated=None,
            rendered=True,
        )

    async def browser_fetched(self, meta: dict[str, Any]) -> AsyncIterator[Any]:
        """The crawl-log items of what the browser asked for, in order."""
        for entry in meta.pop(FETCHED_META, []):
            if isinstance(entry, Repeat):  # nothing fetched: the crawl logged it already
                continue
            if isinstance(entry, Response):
                item = await self.page_item(entry)  # type: ignore[attr-defined]
                if isinstance(item, PageItem):
                    ranged = entry.meta.get(ROUTED_META, {}).get("range")
                    item = replace(item, browser=True, requested_range=ranged)
                else:
                    item = replace(item, browser=True)
                yield item
            else:
                request, exc = entry
                yield replace(self.failure_item(request, exc), browser=True)  # type: ignore[attr-defined]

    async def render_failed(self, failure: Failure) -> AsyncIterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        if self.router is not None:
            self.router.release(request.url)
        async for item in self.browser_fetched(request.meta):
            yield item
        yield self.failure_item(request, failure)  # type: ignore[attr-defined]
        fetched = self.rendering.pop(request.url, None)
        if fetched is not None:  # its HTML as fetched, since nothing better came
            yield fetched
            page = HtmlResponse(
                url=fetched.url, body=fetched.body, headers=fetched.headers, request=request
            )
            for more in self.after_page(page, fetched, set()):  # type: ignore[attr-defined]
                yield more
