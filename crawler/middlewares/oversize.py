"""Cuts a download short at the size limit, so that an over-size page is archived truncated.

Scrapy cancels a body past ``DOWNLOAD_MAXSIZE`` (or refuses it outright when its
``Content-Length`` says so) and the bytes are lost: the page would only be a
crawl-log failure. Here the limit is enforced on ``bytes_received`` instead: once a
body passes it, :class:`~scrapy.exceptions.StopDownload` ends the download and the
response arrives with what was received and ``download_stopped`` in its flags. The
WARC capture then writes it with ``WARC-Truncated: length``: the cut is marked in the
request's meta (:data:`pipelines.warcexchange.TRUNCATED_META`), which the capture reads on
``response_downloaded`` and this middleware takes off again before the response goes on,
so that a redirect does not carry it to the next request.

For this, the download handler's own cut is switched off while a request is in
flight (``download_maxsize`` meta 0) and the request's limit is put back before any
other middleware sees the response: HttpCompressionMiddleware still refuses to
decompress past the limit, so compression bombs stay bounded. A truncated body that
is content-encoded is decoded here, to its first ``limit`` bytes at most: the spider
gets the start of the page, not a failure.

Settings: ``DOWNLOAD_MAXSIZE`` (a request's ``download_maxsize`` meta wins; 0: no limit).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import StopDownload
from scrapy.http import TextResponse
from scrapy.responsetypes import responsetypes

from pipelines.warcexchange import TRUNCATED_META
from storage.contentcoding import ContentDecodingError, decode_content

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

META_KEY = "download_maxsize"
_UNSET = object()


@dataclass
class _InFlight:
    limit: int
    own: object  # the request's own meta value, or _UNSET
    received: int = 0


class TruncateOversize:
    def __init__(self, maxsize: int, stats: StatsCollector) -> None:
        if maxsize < 0:
            raise ValueError(f"DOWNLOAD_MAXSIZE must be 0 (no limit) or more, got {maxsize}")
        self.maxsize = maxsize
        self.stats = stats
        self._flight: weakref.WeakKeyDictionary[Request, _InFlight] = weakref.WeakKeyDictionary()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        mw = cls(crawler.settings.getint("DOWNLOAD_MAXSIZE"), crawler.stats)
        crawler.signals.connect(mw.bytes_received, signal=signals.bytes_received)
        return mw

    def process_request(self, request: Request) -> None:
        own = request.meta.get(META_KEY, _UNSET)
        limit = self.maxsize if own is _UNSET else own
        if not isinstance(limit, int) or limit <= 0:
            return
        self._flight[request] = _InFlight(limit, own)
        request.meta[META_KEY] = 0  # the handler must not cancel: this middleware stops it

    def bytes_received(self, data: bytes, request: Request) -> None:
        flight = self._flight.get(request)
        if flight is None:
            return
        flight.received += len(data)
        if flight.received > flight.limit:
            request.meta[TRUNCATED_META] = "length"
            self.stats.inc_value("download/truncated")
            raise StopDownload(fail=False)

    def _restore(self, request: Request) -> _InFlight | None:
        flight = self._flight.pop(request, None)
        if flight is None:
            return None
        if flight.own is _UNSET:
            request.meta.pop(META_KEY, None)
        else:
            request.meta[META_KEY] = flight.own
        return flight

    def process_response(self, request: Request, response: Response) -> Response:
        flight = self._restore(request)
        cut = request.meta.pop(TRUNCATED_META, None)
        if flight is None or cut is None:
            return response
        return decoded_start(response, flight.limit)

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._restore(request)
        request.meta.pop(TRUNCATED_META, None)


def decoded_start(response: Response, limit: int) -> Response:
    """A truncated response with its Content-Encoding undone, to ``limit`` bytes at most."""
    coding = response.headers.get("Content-Encoding")
    if not coding:
        return response
    try:
        body = decode_content(response.body, coding.decode("latin-1"), limit, cut=True)
    except ContentDecodingError:  # unknown or corrupt: HttpCompressionMiddleware decides
        return response
    headers = response.headers.copy()
    del headers["Content-Encoding"]
    cls = responsetypes.from_args(headers=headers, url=response.url, body=body)
    kwargs: dict[str, Any] = {"cls": cls, "body": body, "headers": headers}
    if issubclass(cls, TextResponse):
        kwargs["encoding"] = None  # found again from the decoded body, as Scrapy does
    return response.replace(**kwargs)
