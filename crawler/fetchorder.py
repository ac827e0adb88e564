"""The scheduler's priority queue: requisites first, while enough pages are on their way.

Scrapy's priority queue hands out the highest priority first, and a page's requisites
come before the other pages (priority 1): a page and its photo are captured close
together. But the first pages of a site bring in its shared stylesheets, icons and
photos by the hundred, and while they are fetched nothing else is: the extraction
workers, which only pages keep busy, would have nothing to do (bench/README.md).

:class:`PagesAhead` keeps requisites and the other requests in two Scrapy priority
queues. While fewer than ``PAGES_AHEAD`` pages are on their way, it pops pages and
requisites in turn (requisites alone would starve the workers, and pages alone left
the requisites to the end of a small crawl, fetched while the workers had nothing to
do); otherwise it pops by priority, as Scrapy would (requisites first). A page is on its way
from the time it is popped until Scrapy lets go of its request: downloading, in the
callback, in the item pipelines (extraction included) all hold it; a redirected page
lets go of it when the redirect's new request is made. A weak set counts them, so
nothing has to be told when a page is done.

Settings: ``PAGES_AHEAD`` (0: Scrapy's order). Used as ``SCHEDULER_PRIORITY_QUEUE``.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from scrapy.pqueues import ScrapyPriorityQueue

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.pqueues import QueueProtocol

_PARTS = ("pages", "requisites")


def is_requisite(request: Request) -> bool:
    return bool(request.meta.get("role") == "requisite")


class PagesAhead:
    """Two of Scrapy's priority queues, pages and requisites; see the module's docstring."""

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """As Scrapy's scheduler builds its priority queues, with ``PAGES_AHEAD``."""
        return cls(crawler, *args, pages_ahead=crawler.settings.getint("PAGES_AHEAD"), **kwargs)

    def __init__(
        self,
        crawler: Crawler,
        downstream_queue_cls: type[QueueProtocol],
        key: str,
        startprios: Any = (),
        *,
        start_queue_cls: type[QueueProtocol] | None = None,
        pages_ahead: int = 0,
    ) -> None:
        if pages_ahead < 0:
            raise ValueError(f"PAGES_AHEAD must be 0 or more, got {pages_ahead}")
        self.pages_ahead = pages_ahead
        # a disk queue's state, saved by close(): a dict of each part's priorities
        saved: dict[str, Iterable[int]] = startprios if isinstance(startprios, dict) else {}
        self.pages, self.requisites = (
            ScrapyPriorityQueue(
                crawler,
                downstream_queue_cls,
                f"{key}/{part}" if key else "",
                saved.get(part, ()),
                start_queue_cls=start_queue_cls,
            )
            for part in _PARTS
        )
        self.on_their_way: weakref.WeakSet[Request] = weakref.WeakSet()
        self._page_last = False

    def push(self, request: Request) -> None:
        (self.requisites if is_requisite(request) else self.pages).push(request)

    def pop(self) -> Request | None:
        if len(self.requisites) and (
            not len(self.pages) or self._page_last or len(self.on_their_way) >= self.pages_ahead
        ):
            self._page_last = False
            return self.requisites.pop()
        request = self.pages.pop()
        if request is not None:
            self._page_last = True
            self.on_their_way.add(request)
        return request

    def close(self) -> dict[str, list[int]]:
        return {"pages": self.pages.close(), "requisites": self.requisites.close()}

    def __len__(self) -> int:
        return len(self.pages) + len(self.requisites)
