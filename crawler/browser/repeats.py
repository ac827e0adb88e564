"""What a browser page asks for that the crawl has fetched already: answered, not fetched again.

Pages of one site share their stylesheets, scripts and logos, and a browser asks for each
on every page (Playwright's routing turns Chromium's HTTP cache off). A crawl fetches a
URL once: the spider's requests pass its dupefilter, and so must the browser's.

- A requisite the crawl has downloaded (by the spider or for an earlier page) is kept
  here, decoded, within ``BROWSER_REPEAT_BYTES`` (the least recently asked for go first;
  none larger than an eighth of it), and a page that asks for it again is answered from
  it: no request, no record, no crawl-log line, since nothing was fetched.
- A GET the browser makes is marked in the crawl's dupefilter, so that the spider does
  not ask for it again as a requisite of the rendered page or of a later page; a page
  that asks for it while it is being fetched for another page waits for that fetch.
- What the dupefilter has seen but is not kept here (queued by the spider and not yet
  downloaded, too large, asked for by another worker of a shared crawl) is fetched
  again: the page needs the bytes now, and the capture of a known payload is a revisit.

Only subresources are answered here: a navigation (a frame) may be a redirect, which
the router turns into a page of its own.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.http import Response

if TYPE_CHECKING:
    import scrapy
    from scrapy.crawler import Crawler


@dataclass(frozen=True)
class Repeat:
    """A routed request answered from what the crawl had: the URL the page asked for."""

    url: str


def _repeatable(request: scrapy.Request) -> bool:
    return request.method == "GET" and not request.body


class Repeats:
    """Responses the crawl's browser pages may ask for again, and the crawl's dupefilter."""

    def __init__(self, crawler: Crawler, max_bytes: int) -> None:
        self.crawler = crawler
        self.fingerprint = crawler.request_fingerprinter.fingerprint
        self.max_bytes = max_bytes
        self.max_item = max_bytes // 8
        self.kept: OrderedDict[bytes, Response] = OrderedDict()
        self.size = 0
        #: routed fetches under way: pages that ask for the same URL meanwhile wait for it
        self.fetches: dict[bytes, asyncio.Future[Response | None]] = {}
        crawler.signals.connect(self.response_received, signals.response_received)

    def response_received(self, response: Response, request: scrapy.Request) -> None:
        """Keep a requisite's final response (decoded, redirects followed) under the URL
        asked for and every hop's."""
        if request.meta.get("role") != "requisite" or not _repeatable(request):
            return
        if 300 <= response.status < 400 or len(response.body) > self.max_item:
            return
        # a plain Response: a TextResponse would keep its decoded text too, once read
        kept = Response(
            url=response.url, status=response.status, headers=response.headers, body=response.body
        )
        urls = [*request.meta.get("redirect_urls", ()), request.url]
        for url in dict.fromkeys(urls):
            self._keep(self.fingerprint(request.replace(url=url)), kept)

    def _keep(self, key: bytes, response: Response) -> None:
        old = self.kept.pop(key, None)
        if old is not None:
            self.size -= len(old.body)
        self.kept[key] = response
        self.size += len(response.body)
        while self.size > self.max_bytes:
            _, dropped = self.kept.popitem(last=False)
            self.size -= len(dropped.body)

    async def recall(self, request: scrapy.Request) -> Response | None:
        """The crawl's response to ``request``: kept, or fetched for another page now."""
        if not _repeatable(request):
            return None
        key = self.fingerprint(request)
        if (response := self.kept.get(key)) is not None:
            self.kept.move_to_end(key)
            return response
        if (under_way := self.fetches.get(key)) is not None:
            return await asyncio.shield(under_way)
        return None

    @contextmanager
    def fetching(
        self, request: scrapy.Request, navigation: bool
    ) -> Iterator[Callable[[Response], None]]:
        """While ``request`` is fetched for a page: marked in the crawl's dupefilter, and
        awaited by pages that ask for it meanwhile; call the callback with the response."""
        if navigation or not _repeatable(request):
            yield lambda response: None
            return
        if self._seen(request):
            self.count("browser/fetched_again")
        key = self.fingerprint(request)
        future: asyncio.Future[Response | None] = asyncio.get_running_loop().create_future()
        self.fetches[key] = future
        try:
            yield future.set_result
        finally:
            if not future.done():
                future.set_result(None)  # failed: those waiting fetch it themselves
            self.fetches.pop(key, None)

    def _seen(self, request: scrapy.Request) -> bool:
        engine = self.crawler.engine
        scheduler: Any = engine.scheduler if engine is not None else None
        dupefilter = getattr(scheduler, "df", None)
        return dupefilter is not None and bool(dupefilter.request_seen(request))

    def count(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)
