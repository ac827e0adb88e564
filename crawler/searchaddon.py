"""Add-on: each search engine's result pages in a download slot of their own, paced.

One slot per engine of the registry (:func:`crawler.searches.engine_slot`), one request
at a time, ``interval`` seconds apart (the engine's field, default one query a minute),
with no jitter; AutoThrottle leaves the slot's delay as it is
(``autothrottle_dont_adjust_delay`` on every search request). The pace is this
process's: the workers of a crawl shared over Redis each keep their own, and so do crawls
run at the same time.

Settings: ``OUTLETS_REGISTRY``, ``EXTRA_OUTLETS``, ``DOWNLOAD_SLOTS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crawler.addon import resolve_setting
from crawler.engines import EngineRegistry
from crawler.searches import engine_slot

if TYPE_CHECKING:
    from scrapy.settings import Settings


class SearchEngines:
    def update_settings(self, settings: Settings) -> None:
        registries = [settings.get("OUTLETS_REGISTRY"), *settings.getlist("EXTRA_OUTLETS")]
        engines = EngineRegistry.load(*(p for p in registries if p))
        slots = dict(settings.getdict("DOWNLOAD_SLOTS"))
        for engine in engines:
            slots.setdefault(
                engine_slot(engine.key), {"concurrency": 1, "delay": engine.interval, "jitter": 0}
            )
        resolve_setting(settings, "DOWNLOAD_SLOTS", slots)
