"""AutoThrottle that comes down on quick answers of any kind and backs off when a host asks.

Scrapy's AutoThrottle sets a host's delay (its download slot's) from the latency of its
responses, towards ``latency / AUTOTHROTTLE_TARGET_CONCURRENCY``, but only ever raises it
on a response other than 200: error pages are small and quick, and a failing server
should not be hammered faster for failing. A recrawl of a decayed site is mostly 404s,
though, and the delay then stays at its highest for the rest of the crawl. Here:

- a response from 200 to 499 (but 429) is an answer, and moves the delay the way a 200
  does, down too when it came quickly: a 404 or a redirect says the server is fine;
- a 5xx other than 503 keeps Scrapy's rule (it may raise the delay, never lower it);
- a 429 or a 503 backs the host off: to its ``Retry-After`` (seconds or an HTTP date)
  when it gives one, else to twice its delay (at least ``AUTOTHROTTLE_START_DELAY``);
  either way at most ``AUTOTHROTTLE_MAX_DELAY``. The next request to that host goes no
  sooner than that after the answer, whatever the slot's jitter; later answers bring the
  delay down again as above.

Each host slowed is kept in :attr:`PoliteThrottle.slowed` for the crawl's summary and
counted in the stats (``throttle/slowed/<why>``): each back-off, and the first time slow
answers raise its delay above the start delay. The request whose answer slowed it carries
``meta["slowed"]`` (``{"why": "retry-after" | "429" | "503" | "latency", "delay": s}``),
which the crawl log shows on that URL's line.

Settings: ``AUTOTHROTTLE_ENABLED``, ``AUTOTHROTTLE_START_DELAY``, ``AUTOTHROTTLE_MAX_DELAY``,
``AUTOTHROTTLE_TARGET_CONCURRENCY``, ``DOWNLOAD_DELAY`` (the least delay).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from time import monotonic
from typing import TYPE_CHECKING

from scrapy.extensions.throttle import AutoThrottle

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.core.downloader import Slot
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

#: statuses by which a host asks to be left alone for a while
BACK_OFF = frozenset({429, 503})
#: the request meta key of what its answer did to its host's delay
SLOWED_META = "slowed"


@dataclass
class Slowed:
    """How often a host was slowed and why, and the longest delay it was given."""

    whys: dict[str, int]
    delay: float

    def text(self) -> str:
        whys = ", ".join(why if n == 1 else f"{why} x{n}" for why, n in self.whys.items())
        return f"{whys}; up to {self.delay:.1f} s"


def retry_after(value: bytes | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header value asks to wait, or None if it says nothing."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class PoliteThrottle(AutoThrottle):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.stats = crawler.stats
        self.startdelay = crawler.settings.getfloat("AUTOTHROTTLE_START_DELAY")
        self.slowed: dict[str, Slowed] = {}

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        key, slot = self._get_slot(request, spider)
        if key is None or slot is None or request.meta.get("autothrottle_dont_adjust_delay"):
            return
        if response.status in BACK_OFF:
            self._back_off(key, slot, request, response)
            return
        before = slot.delay
        super()._response_downloaded(response, request, spider)
        if slot.delay > max(before, self.startdelay, self.mindelay):
            slowed = self.slowed.get(key)
            if slowed is None or "latency" not in slowed.whys:
                self._note(key, request, "latency", slot.delay)
            else:
                slowed.delay = max(slowed.delay, slot.delay)

    def _adjust_delay(self, slot: Slot, latency: float, response: Response) -> None:
        if response.status == 200 or not 200 <= response.status < 500:
            super()._adjust_delay(slot, latency, response)
            return
        # Scrapy's own rule, less its exception for answers other than 200
        target_delay = latency / self.target_concurrency
        new_delay = max(target_delay, (slot.delay + target_delay) / 2.0)
        slot.delay = min(max(self.mindelay, new_delay), self.maxdelay)

    def _back_off(self, key: str, slot: Slot, request: Request, response: Response) -> None:
        asked = retry_after(response.headers.get(b"Retry-After"))
        if asked is not None:
            why, wait = "retry-after", asked
        else:
            why, wait = str(response.status), max(2 * slot.delay, self.startdelay)
        wait = min(max(wait, self.mindelay), self.maxdelay)
        if wait <= 0:
            return
        slot.delay = max(slot.delay, wait)
        # The downloader sends the slot's next request once a jittered delay (at least
        # delay * (1 - jitter)) has passed since ``lastseen``: this one is ``wait`` from now.
        slot.lastseen = monotonic() + wait - slot.delay * max(0.0, 1 - slot.jitter)
        self._note(key, request, why, wait)
        logger.info("slowed %s: %s %s, next request in %.1f s", key, response.status, why, wait)

    def _note(self, key: str, request: Request, why: str, delay: float) -> None:
        request.meta[SLOWED_META] = {"why": why, "delay": round(delay, 3)}
        if self.stats is not None:
            self.stats.inc_value(f"throttle/slowed/{why}")
        slowed = self.slowed.setdefault(key, Slowed({}, delay))
        slowed.whys[why] = slowed.whys.get(why, 0) + 1
        slowed.delay = max(slowed.delay, delay)
