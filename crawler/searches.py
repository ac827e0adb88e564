"""Search seeds: a query on a search engine of the registry, crawled like a cited page.

A search is written ``search ENGINE QUERY`` as a line of a ``.seeds`` list (the rest of
the line is the query, ``#`` included: ``search x #DongJingwei``), or ``ENGINE:QUERY``
for ``scrubwatch crawl --search`` and a jobs file's ``searches`` (setting ``SEARCHES``).
Its first ``SEARCH_PAGES`` result pages are crawled (an engine whose URL template names
no page has one), each a request of role ``search`` carrying ``meta["search"]``
(``engine``, ``query``, ``page``: plain JSON, as a crawl shared over Redis keeps its
requests), in the download slot of its engine (:func:`engine_slot`), which the
:class:`~crawler.searchaddon.SearchEngines` add-on paces at the engine's ``interval``.
This module reads no settings: the caller passes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.engines import Engine, EngineRegistry
from crawler.outlets import OutletRegistry, SeedError
from pipelines.searchparse import SearchPage

if TYPE_CHECKING:
    from crawler.seeds import Citation

#: a line of a .seeds list that is a search
SEARCH_LINE = re.compile(r"search\s+(\S+)\s+(\S.*)")
#: the request meta key of a search's page
SEARCH_META = "search"
_SLOT_PREFIX = "search-engine:"


@dataclass(frozen=True)
class Search:
    """A query on an engine of the registry."""

    engine: str
    query: str

    def __str__(self) -> str:
        return f"{self.engine}:{self.query}"


def parse_search(text: str) -> Search:
    """``ENGINE:QUERY`` (``--search``, a jobs file's ``searches``); SeedError if it is not."""
    engine, sep, query = text.partition(":")
    if not sep or not engine.strip() or not query.strip():
        raise SeedError(f"search {text!r}: write ENGINE:QUERY, e.g. baidu:董经纬")
    return Search(engine.strip(), " ".join(query.split()))


def searches_in_list(text: str) -> list[Search]:
    """The ``search ENGINE QUERY`` lines of a seed list, in order."""
    found = []
    for line in text.splitlines():
        if match := SEARCH_LINE.fullmatch(line.strip()):
            found.append(Search(match[1], " ".join(match[2].split())))
    return found


def seed_searches(seeds: Iterable[str]) -> list[Search]:
    """The searches of the ``.seeds`` lists among ``seeds`` (other seeds hold none)."""
    found = []
    for seed in seeds:
        path = Path(seed)
        if path.suffix.lower() == ".seeds" and path.is_file():
            try:
                text = path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as exc:
                raise SeedError(f"seed {seed}: cannot read ({exc})") from None
            found += searches_in_list(text)
    return found


def all_searches(seeds: Sequence[str], searches: Iterable[str]) -> list[Search]:
    """The searches of the seed lists, then those given as ``ENGINE:QUERY``, each once."""
    given = [parse_search(text) for text in searches]
    return list(dict.fromkeys([*seed_searches(seeds), *given]))


def check_searches(searches: Iterable[Search], engines: EngineRegistry) -> None:
    """SeedError for a search whose engine is not in the registry, or whose query its
    engine's charset cannot write."""
    for search in searches:
        engine = engines.get(search.engine)
        if engine is None:
            known = ", ".join(sorted(e.key for e in engines)) or "none"
            raise SeedError(
                f"search {search}: no engine {search.engine!r} in the registry (engines: {known})"
            )
        try:
            engine.page_url(search.query)
        except ValueError as exc:
            raise SeedError(f"search {search}: {exc}") from None


def pages_of(engine: Engine, pages: int) -> range:
    """The page numbers of a search asked for ``pages`` pages (1 if the engine has no pages)."""
    if pages < 1:
        raise ValueError(f"SEARCH_PAGES must be 1 or more, got {pages}")
    return range(1, (pages if engine.paged else 1) + 1)


def engine_slot(engine: str) -> str:
    """The download slot of an engine's result pages."""
    return _SLOT_PREFIX + engine


def search_meta(search: Search, page: int) -> dict[str, Any]:
    return {"engine": search.engine, "query": search.query, "page": page}


def search_page(meta: object, engines: EngineRegistry) -> SearchPage | None:
    """The search page a request's ``meta["search"]`` names, with its engine's rules."""
    if not isinstance(meta, dict):
        return None
    engine = engines.get(str(meta.get("engine")))
    if engine is None:
        return None
    page = int(meta.get("page", 1))
    return SearchPage(
        engine.key,
        str(meta.get("query")),
        page,
        engine.rank_offset(page),
        engine.rules,
        engine.browser,
    )


def search_citations(
    searches: Iterable[Search], engines: EngineRegistry, registry: OutletRegistry, pages: int
) -> list[Citation]:
    """Each search's result pages as citations (``source`` ``search``), for ``scrubwatch seeds``."""
    from crawler.seeds import Citation

    citations = []
    for search in searches:
        engine = engines.get(search.engine)
        assert engine is not None, "check_searches first"
        for page in pages_of(engine, pages):
            url = engine.page_url(search.query, page)
            outlet = registry.outlet_for_url(url)
            context = f"search {search.engine} {search.query}" + (
                f" (page {page})" if page > 1 else ""
            )
            citations.append(Citation(url, outlet.key if outlet else None, "search", context))
    return citations
