"""The spider's side of search seeds: a request for each result page, and what it carries.

Each page of each search (:mod:`crawler.searches`) is a request of role ``search`` with
``meta["search"]`` (engine, query, page), asked for before the seeds' citations (so that
a result page a seed also cites is captured as the search's), in its engine's download
slot. Its item carries the page and its engine's rules
(:class:`~pipelines.searchparse.SearchPage`) for :mod:`pipelines.searchresults`; whether
it is rendered is the engine's ``browser`` flag (:mod:`crawler.browser.pages`). A result
page's links are not followed, whatever ``CRAWL_DEPTH``: its requisites are fetched, the
engine's other pages are not.

Settings: ``SEARCHES``, ``SEARCH_PAGES``, ``OUTLETS_REGISTRY``, ``EXTRA_OUTLETS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import scrapy

from crawler.engines import EngineRegistry
from crawler.searches import (
    SEARCH_META,
    Search,
    all_searches,
    check_searches,
    engine_slot,
    pages_of,
    search_meta,
    search_page,
)

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

    from pipelines.searchparse import SearchPage


class SearchPages:
    """Mixed into the cited spider: the requests of search seeds."""

    seeds: list[str]
    parse_page: Any
    failed: Any
    outlet_of: Any

    def setup_searches(self, settings: BaseSettings, registries: list[str], worker: bool) -> None:
        self.engines = EngineRegistry.load(*(Path(p) for p in registries))
        self.search_pages = settings.getint("SEARCH_PAGES")
        self.searches: list[Search] = []
        if not worker:  # a worker takes its requests from the shared frontier
            self.searches = all_searches(self.seeds, settings.getlist("SEARCHES"))
            check_searches(self.searches, self.engines)

    def search_requests(self) -> Iterator[scrapy.Request]:
        for search in self.searches:
            engine = self.engines.get(search.engine)
            assert engine is not None  # check_searches
            for page in pages_of(engine, self.search_pages):
                url = engine.page_url(search.query, page)
                yield scrapy.Request(
                    url,
                    callback=self.parse_page,
                    errback=self.failed,
                    meta={
                        "role": "search",
                        "hops": 0,
                        "outlet": self.outlet_of(url),
                        "context": f"search {search.engine} {search.query}",
                        SEARCH_META: search_meta(search, page),
                        "download_slot": engine_slot(engine.key),
                        "autothrottle_dont_adjust_delay": True,
                    },
                )

    def search_page(self, meta: dict[str, Any]) -> SearchPage | None:
        return search_page(meta.get(SEARCH_META), self.engines)
