"""scrapy-redis's queue and dupefilter, adapted to Scrapy 2.19 for :mod:`crawler.frontier`.

``SharedQueue`` keeps scrapy-redis's sorted set (popped highest priority first) but
stores requests as JSON (:class:`RequestCodec`: bytes tagged) rather than pickles, and
takes a request and marks its worker busy in one step (:meth:`CrawlGroup.take`).
``SharedDupeFilter`` keeps scrapy-redis's set of fingerprints but makes them with
Scrapy's ``REQUEST_FINGERPRINTER``, is built with ``from_crawler``, counts
``dupefilter/filtered``, and keeps the fingerprints when one process closes.

Settings: ``REDIS_URL``, ``CRAWL_ID``, ``DUPEFILTER_DEBUG``.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from scrapy import Request, Spider
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue

from storage.crawlgroup import CrawlGroup, connect, group_key

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler


def _tag(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _tag(v) for k, v in value.items()}
        return {"$d": [[_tag(k), _tag(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [_tag(v) for v in value]
    if value is None or isinstance(value, str | int | float):
        return value
    raise TypeError(f"a {type(value).__name__} cannot go into the shared frontier")


def _untag(obj: dict[str, Any]) -> Any:
    if obj.keys() == {"$b"}:
        return base64.b64decode(obj["$b"])
    if obj.keys() == {"$d"}:
        return {k: v for k, v in obj["$d"]}
    return obj


class RequestCodec:
    """JSON for ``Request.to_dict()``: bytes as ``{"$b": base64}``, other keys as ``{"$d": pairs}``."""

    @staticmethod
    def dumps(obj: dict[str, Any]) -> str:
        return json.dumps(_tag(obj), separators=(",", ":"))

    @staticmethod
    def loads(data: str | bytes) -> dict[str, Any]:
        return dict(json.loads(data, object_hook=_untag))


class SharedQueue(PriorityQueue):
    """scrapy-redis's priority queue, JSON-coded, whose pop marks this worker busy."""

    def __init__(self, group: CrawlGroup, worker: str, spider: Spider) -> None:
        super().__init__(group.client, spider, group.key("requests"), serializer=RequestCodec)
        self.group = group
        self.worker = worker

    def push(self, request: Request) -> None:
        try:
            super().push(request)
        except TypeError as exc:
            raise ValueError(f"request {request.url} cannot be shared: {exc}") from exc

    def pop(self, timeout: int = 0) -> Request | None:
        data = self.group.take(self.worker)
        return self._decode_request(data) if data is not None else None


class SharedDupeFilter(RFPDupeFilter):
    """scrapy-redis's dupefilter with Scrapy's request fingerprints; it keeps them on close."""

    def __init__(self, server: Any, key: str, *, crawler: Crawler, debug: bool = False) -> None:
        super().__init__(server, key, debug)
        self.fingerprinter = crawler.request_fingerprinter
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        key = group_key(settings.get("CRAWL_ID"), "dupefilter")
        client = connect(settings.get("REDIS_URL"))
        return cls(client, key, crawler=crawler, debug=settings.getbool("DUPEFILTER_DEBUG"))

    def request_fingerprint(self, request: Request) -> str:
        return self.fingerprinter.fingerprint(request).hex()

    def close(self, reason: str = "") -> None:
        """Keep the fingerprints: they are the whole crawl's, not this process's."""

    def log(self, request: Request, spider: Spider) -> None:
        super().log(request, spider)
        if self.stats is not None:
            self.stats.inc_value("dupefilter/filtered")
