"""scrapy-playwright's download handler, made to archive what a browser sees.

- **Started when needed.** Playwright and the browser start with the first page to
  render, not with the crawl.
- **One browser a crawler.** Scrapy builds a download handler per scheme, eagerly, and
  each of scrapy-playwright's launches its own browser: ``http`` and ``https`` would
  start two. :meth:`BrowserHandler.from_crawler` gives every scheme the same instance.
- **Every request through Scrapy.** Before the page navigates, one route takes all its
  requests (:class:`~crawler.browser.route.BrowserRouter`); it is added after
  scrapy-playwright's own, so it is the one Playwright calls. If it cannot be added the
  page fails: it is never rendered with a network of its own (which, launched through
  :mod:`crawler.browser.chromium`, it does not have anyway).
- **What a reader saw.** Once the page has loaded: wait for the network to go idle
  (bounded), scroll down a screen at a time to load lazy images (bounded), wait again,
  and take a screenshot (``meta[SCREENSHOT_META]``, PNG, its height capped) before
  scrapy-playwright takes the DOM.
- **Bounded.** A page that takes longer than ``BROWSER_PAGE_TIMEOUT`` in all fails with
  :class:`BrowserTimeout`; a renderer that crashes fails its page with
  :class:`BrowserCrash`, and a browser that dies is started again for the next page
  (scrapy-playwright's ``PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER``).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from crawler.browser.errors import BrowserCrash, BrowserFailure, BrowserTimeout
from crawler.browser.route import BrowserRouter

if TYPE_CHECKING:
    from typing import Self

    from playwright.async_api import Page
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

#: page request meta: the PNG screenshot of the page as rendered
SCREENSHOT_META = "browser_screenshot"
#: what is hidden from screenshots because it moves by itself
_STILL = "video::-webkit-media-controls { display: none !important; }"
#: screenshots are cut at this height (CSS pixels): an endless feed would be endless
MAX_SCREENSHOT_HEIGHT = 8000

_SCROLL = """async (steps) => {
    // a page no taller than the window has nothing below to load: no 100 ms wait
    if (document.documentElement.scrollHeight <= window.innerHeight) return;
    for (let i = 0; i < steps; i++) {
        const before = window.scrollY;
        window.scrollBy(0, window.innerHeight);
        await new Promise((done) => setTimeout(done, 100));
        if (window.scrollY === before) break;
    }
    window.scrollTo(0, 0);
}"""
#: resolves once every image has loaded or failed, and the fonts are in: a screenshot
#: taken before would depend on how fast the machine was
_SETTLED = """async () => {
    // a lazy image never scrolled near has no currentSrc: it is not waited for
    const loading = [...document.images].filter((image) => !image.complete && image.currentSrc);
    await Promise.all(loading.map((image) => new Promise((done) => {
        image.addEventListener("load", done, { once: true });
        image.addEventListener("error", done, { once: true });
    })));
    const loaded = [...document.images].filter((image) => image.complete && image.naturalWidth);
    await Promise.all(loaded.map((image) => image.decode().catch(() => null)));
    await document.fonts.ready;
}"""
_HEIGHT = """() => Math.max(
    document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0
)"""


_HANDLERS: weakref.WeakKeyDictionary[Crawler, BrowserHandler] = weakref.WeakKeyDictionary()


class BrowserHandler(ScrapyPlaywrightDownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.page_timeout = settings.getfloat("BROWSER_PAGE_TIMEOUT")
        self.scroll_steps = settings.getint("BROWSER_SCROLL_STEPS")
        router = crawler.get_extension(BrowserRouter)
        if router is None:
            raise RuntimeError("BrowserHandler needs the BrowserRouter extension")
        self.router = router
        self._closed = False
        self._started = False
        self._start_lock = asyncio.Lock()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        handler = _HANDLERS.get(crawler)
        if handler is None:
            handler = _HANDLERS[crawler] = cls(crawler)
        return handler

    async def close(self) -> None:
        if not self._closed:  # once, though it serves every scheme
            self._closed = True
            await super().close()

    async def _launch(self) -> None:
        """Nothing at engine start: a crawl that renders no page starts no Playwright."""

    async def _create_page(self, request: Request, spider: Spider) -> Page:
        async with self._start_lock:
            if not self._started:
                await super()._launch()
                self._started = True
        return await super()._create_page(request, spider)

    async def _download_request_with_page(
        self, request: Request, page: Page, spider: Spider
    ) -> Response:
        async def route(route: Any, pw_request: Any) -> None:
            await self.router.route(route, pw_request, request)

        await page.route("**/*", route)
        try:
            return await self._unless_gone(
                page,
                asyncio.wait_for(
                    super()._download_request_with_page(request, page, spider), self.page_timeout
                ),
            )
        except TimeoutError as exc:
            raise BrowserTimeout(
                f"not rendered within BROWSER_PAGE_TIMEOUT ({self.page_timeout:g} s)"
            ) from exc
        except PlaywrightTimeoutError as exc:
            raise BrowserTimeout(str(exc).splitlines()[0]) from exc
        except PlaywrightError as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if "crash" in message.lower() or "closed" in message.lower():
                raise BrowserCrash(message) from exc
            raise BrowserFailure(message) from exc

    @staticmethod
    async def _unless_gone(page: Page, rendering: Coroutine[Any, Any, Response]) -> Response:
        """``rendering``'s response, unless the page's renderer or the browser dies first
        (BrowserCrash): a call already waiting on the dead browser (a navigation still
        loading) may not be told, and would end as a timeout."""
        gone: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def died(why: str) -> Callable[..., None]:
            def tell(*_: Any) -> None:
                if not gone.done():
                    gone.set_result(why)

            return tell

        crashed, disconnected = died("the page's renderer crashed"), died("the browser died")
        browser = page.context.browser
        page.on("crash", crashed)
        if browser is not None:
            browser.on("disconnected", disconnected)
        work = asyncio.ensure_future(rendering)
        try:
            either: list[asyncio.Future[Any]] = [work, gone]
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if not work.done():
                raise BrowserCrash(gone.result())
            return work.result()
        finally:
            if not work.done():
                work.cancel()
                with suppress(BaseException):
                    await work
            page.remove_listener("crash", crashed)
            if browser is not None:
                browser.remove_listener("disconnected", disconnected)

    async def _apply_page_methods(self, page: Page, request: Request, spider: Spider) -> None:
        await super()._apply_page_methods(page, request, spider)
        # About half the page's time for each wait: what has not come by then is left.
        idle_ms = self.page_timeout * 1000 / 4
        await self._idle(page, idle_ms)
        if self.scroll_steps > 0:
            await page.evaluate(_SCROLL, self.scroll_steps)
            await self._idle(page, idle_ms)
        with suppress(TimeoutError):
            await asyncio.wait_for(page.evaluate(_SETTLED), idle_ms / 1000)
        height = min(int(await page.evaluate(_HEIGHT) or 0), MAX_SCREENSHOT_HEIGHT)
        viewport = page.viewport_size or {"width": 1280, "height": 900}
        request.meta[SCREENSHOT_META] = await self._steady_screenshot(
            page, viewport, max(height, 1)
        )

    @staticmethod
    async def _steady_screenshot(page: Page, viewport: Any, height: int) -> bytes:
        """The page as drawn twice running, the same (at most 3 captures): on a busy
        machine Chromium at times draws a stale tile into a capture (the page again,
        below itself), and an unchanged page must give the same PNG to be a revisit."""
        options: dict[str, Any] = {
            "type": "png",
            # a page that fits the window is taken as the window shows it, without the
            # resize a full-page capture makes first
            "full_page": height > viewport["height"],
            "clip": {"x": 0, "y": 0, "width": viewport["width"], "height": height},
            # a video's controls draw a loading spinner whose frame depends on the moment
            "style": _STILL,
        }
        shot = await page.screenshot(**options)
        for _ in range(2):
            again = await page.screenshot(**options)
            if again == shot:
                break
            shot = again
        return shot

    @staticmethod
    async def _idle(page: Page, timeout_ms: float) -> None:
        # a page that polls or streams is never idle: render what it has by then
        with suppress(PlaywrightTimeoutError):
            await page.wait_for_load_state("networkidle", timeout=timeout_ms)
