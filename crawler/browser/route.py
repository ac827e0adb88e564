"""Every request a browser page makes, fetched by Scrapy and handed back to the page.

A page rendered by :class:`~crawler.browser.handler.BrowserHandler` has one route for
all its requests (``page.route("**/*")``): each becomes a Scrapy request downloaded
through ``engine.download_async``, so robots.txt, politeness, the SSRF guard (on every
redirect hop), ``DOWNLOAD_MAXSIZE`` and the WARC capture apply to it as to any other,
and the browser gets the response through ``route.fulfill``. Chromium itself has no
network (:mod:`crawler.browser.chromium`): what bypasses the route fails.

- Chromium is never handed a 3xx: it would follow the hop itself, past the route. A
  navigation is fetched without following redirects, and a 3xx becomes a 200 page with
  a meta refresh to the target (its ``Set-Cookie`` kept), so the next hop comes through
  the route; a subresource's redirects are followed by Scrapy, which checks every hop.
- The body handed over is the decoded one, without ``Content-Encoding``,
  ``Content-Length`` and ``Transfer-Encoding`` (Chromium does not decode a fulfilled
  body); the WARC keeps the encoded bytes as they came off the wire.
- A ``Range`` request (media) is fetched in full and answered 200, as Browsertrix
  does: one complete capture instead of pieces; the crawl log's entry says ``range``.
- Cookies are the browser's (``dont_merge_cookies``): its jar sent them, it keeps them.
- The page's own document, fetched already by the spider, is answered from that
  response (:meth:`BrowserRouter.hold`), not fetched again; so is a subresource the
  crawl has fetched already (:mod:`crawler.browser.repeats`).

What each routed request gave (a response, a :class:`~crawler.browser.repeats.Repeat`,
or the request and why it failed) is added to the page request's ``meta[FETCHED_META]``
for the spider to log and index.
"""

from __future__ import annotations

import logging
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import scrapy
from scrapy.exceptions import IgnoreRequest

from crawler.browser.repeats import Repeat, Repeats

if TYPE_CHECKING:
    from typing import Self

    from playwright.async_api import Request as PlaywrightRequest
    from playwright.async_api import Route
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

#: page request meta: what the page's routed requests gave, in order
FETCHED_META = "browser_fetched"
#: routed request meta: the page it was made for, and its kind in the browser
ROUTED_META = "browser_routed"

# Chromium's own; Scrapy sets what it can decode, the connection's, and its length.
_DROP_REQUEST = frozenset(
    {"accept-encoding", "host", "connection", "content-length", "range", "if-range"}
)
# The body handed to Chromium is decoded and whole.
_DROP_RESPONSE = frozenset(
    {"content-encoding", "content-length", "transfer-encoding", "connection", "content-range"}
)


def fulfil_headers(response: Response) -> dict[str, str]:
    """Headers for ``route.fulfill``: one value a name, ``Set-Cookie`` joined by newlines
    (Playwright's convention), the encoding and length headers left out."""
    out: dict[str, str] = {}
    for key, values in response.headers.items():
        name = key.decode("latin-1").lower()
        if name in _DROP_RESPONSE:
            continue
        joiner = "\n" if name == "set-cookie" else ", "
        out[name] = joiner.join(v.decode("latin-1") for v in values)
    return out


def refresh_page(response: Response) -> tuple[dict[str, str], bytes] | None:
    """A navigation's 3xx as a 200 page that refreshes to its target (``None``: no target)."""
    location = response.headers.get("Location")
    if not location:
        return None
    target = urljoin(response.url, location.decode("latin-1"))
    headers = {"content-type": "text/html; charset=utf-8"}
    cookies = response.headers.getlist("Set-Cookie")
    if cookies:
        headers["set-cookie"] = "\n".join(c.decode("latin-1") for c in cookies)
    body = f'<!doctype html><meta http-equiv="refresh" content="0; url={escape(target)}">'
    return headers, body.encode()


class BrowserRouter:
    """Fetches a browser page's requests through Scrapy; one per crawler (an extension)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        #: page URL -> the spider's response for it, to answer the page's navigation
        self.held: dict[str, Response] = {}
        self.repeats = Repeats(crawler, crawler.settings.getint("BROWSER_REPEAT_BYTES"))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def hold(self, response: Response) -> None:
        """Answer the browser's navigation to ``response.url`` with ``response``."""
        self.held[response.url] = response

    def release(self, url: str) -> Response | None:
        return self.held.pop(url, None)

    async def route(
        self, route: Route, pw_request: PlaywrightRequest, page_request: scrapy.Request
    ) -> None:
        url = pw_request.url
        fetched: list[Any] = page_request.meta.setdefault(FETCHED_META, [])
        if not url.startswith(("http://", "https://")):
            await route.abort("blockedbyclient")
            return
        navigation = pw_request.is_navigation_request()
        if navigation and (held := self.release(url)) is not None:
            await self._fulfil(route, held, navigation)
            return
        request = await self._request(pw_request, page_request, navigation)
        if not navigation and (kept := await self.repeats.recall(request)) is not None:
            fetched.append(Repeat(url))
            self.repeats.count("browser/repeats")
            await self._fulfil(route, kept, navigation)
            return
        with self.repeats.fetching(request, navigation) as done:
            try:
                assert self.crawler.engine is not None
                response = await self.crawler.engine.download_async(request)
            except IgnoreRequest as exc:
                fetched.append((request, exc))
                await route.abort("blockedbyclient")
                return
            except Exception as exc:  # a failed fetch fails this request of the page only
                fetched.append((request, exc))
                await route.abort("failed")
                return
            done(response)
        fetched.append(response)
        await self._fulfil(route, response, navigation)

    async def _request(
        self, pw_request: PlaywrightRequest, page_request: scrapy.Request, navigation: bool
    ) -> scrapy.Request:
        sent = await pw_request.all_headers()  # names in lower case
        headers = {
            name: value
            for name, value in sent.items()
            if name not in _DROP_REQUEST and not name.startswith(":")
        }
        ranged = sent.get("range") or None
        return scrapy.Request(
            pw_request.url,
            method=pw_request.method,
            headers=headers,
            body=pw_request.post_data_buffer or b"",
            dont_filter=True,
            meta={
                ROUTED_META: {
                    "page": page_request.url,
                    "resource_type": pw_request.resource_type,
                    "range": ranged,
                },
                "role": "requisite",
                "cited_by": page_request.url,
                "dont_merge_cookies": True,
                "dont_redirect": navigation,
                "allow_offsite": True,
            },
        )

    async def _fulfil(self, route: Route, response: Response, navigation: bool) -> None:
        if navigation and 300 <= response.status < 400:
            refresh = refresh_page(response)
            if refresh is not None:
                headers, body = refresh
                await route.fulfill(status=200, headers=headers, body=body)
                return
        await route.fulfill(
            status=response.status, headers=fulfil_headers(response), body=response.body
        )
