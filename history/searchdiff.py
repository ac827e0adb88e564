"""Searches compared across two crawls: results removed and added, the count, the notices.

Each crawl's searches come from its ``search_results`` dataset: a row per result, or one
for a result page without results or not captured (robots.txt, a DNS failure...), so the
crawl log is not read again. Two crawls' lists are compared on
the result pages both asked for, results matched by target (:attr:`SearchResult.key`),
rank changes left out unless asked for. Scrubs:

- ``search-results-removed``: a result the earlier list had and the later one lacks, with
  ``archived_in`` the crawl that holds the page it led to, if the store holds one;
- ``search-filtered``: the later page shows the engine's notice that results were withheld
  and the earlier did not.

A side without a comparable list (a CAPTCHA, a login wall, an error status, a page not
captured or that nothing could parse) makes the search ``unreachable``, never a scrub.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from history.diffresult import Scrub
from history.searchresult import (
    Moved,
    SearchChange,
    SearchDiff,
    SearchPageState,
    SearchResult,
    SearchSide,
)
from storage.errors import StoreError, one_line
from storage.layout import search_part_keys
from storage.stores import Store

SearchKey = tuple[str, str]  # engine, query


@dataclass
class _Page:
    state: SearchPageState
    count: int | None = None
    count_text: str | None = None
    notices: list[str] = field(default_factory=list)
    notice_texts: list[str] = field(default_factory=list)
    results: list[SearchResult] = field(default_factory=list)


def _rows(store: Store, crawl_id: str) -> list[dict[str, object]]:
    import pyarrow.parquet as pq  # here: a crawl imports history, and needs no pyarrow

    rows: list[dict[str, object]] = []
    for key in search_part_keys(store, crawl_id):
        try:  # ParquetFile in this thread: see history.snapshots
            table = pq.ParquetFile(io.BytesIO(store.get(key))).read(use_threads=False)
        except (ValueError, OSError) as exc:
            raise StoreError(f"search results part {key} is unreadable: {one_line(exc)}") from exc
        rows += table.to_pylist()
    return rows


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _texts(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def load_searches(store: Store, crawl_id: str) -> dict[SearchKey, SearchSide]:
    """What crawl ``crawl_id`` saw of each of its searches."""
    pages: dict[SearchKey, dict[int, _Page]] = {}
    for row in _rows(store, crawl_id):
        key = (str(row["engine"]), str(row["query"]))
        number = _int(row["page"]) or 1
        page = pages.setdefault(key, {}).get(number)
        if page is None:
            state = SearchPageState(
                number,
                str(row["page_url"]),
                str(row["outcome"]),
                _int(row.get("status")),
                bool(row.get("rendered")),
                _text(row.get("reason")),
            )
            page = pages[key][number] = _Page(
                state,
                _int(row.get("result_count")),
                _text(row.get("count_text")),
                _texts(row.get("notices")),
                _texts(row.get("notice_texts")),
            )
        rank = _int(row.get("rank"))
        if rank is not None and row.get("url") is not None:
            page.results.append(
                SearchResult(
                    rank,
                    str(row["url"]),
                    number,
                    _text(row.get("target")),
                    _text(row.get("title")),
                    _text(row.get("snippet")),
                    _text(row.get("thumbnail")),
                )
            )
    return {key: _side(by_number) for key, by_number in pages.items()}


def _side(by_number: dict[int, _Page]) -> SearchSide:
    ordered = [by_number[n] for n in sorted(by_number)]
    side = SearchSide([p.state for p in ordered])
    side.count = next((p.count for p in ordered if p.count is not None), None)
    side.count_text = next((p.count_text for p in ordered if p.count_text), None)
    for page in ordered:
        for kind, text in zip(page.notices, page.notice_texts, strict=False):
            if (kind, text) not in zip(side.notices, side.notice_texts, strict=True):
                side.notices.append(kind)
                side.notice_texts.append(text)
        side.results += page.results
    return side


def _on_pages(side: SearchSide, numbers: set[int]) -> SearchSide:
    """``side`` cut down to the result pages ``numbers``: those both crawls asked for."""
    return replace(
        side,
        pages=[p for p in side.pages if p.page in numbers],
        results=[r for r in side.results if r.page in numbers],
    )


def _unreachable(crawl_id: str, side: SearchSide) -> str | None:
    """Why ``side`` has no list to compare, or None."""
    for page in side.pages:
        if not page.comparable:
            what = "not captured" if page.outcome == "failed" else page.outcome
            status = f", HTTP {page.status}" if page.status is not None else ""
            detail = f" ({page.reason})" if page.reason else ""
            return f"crawl {crawl_id}: page {page.page} {what}{status}{detail}: {page.url}"
    return None


def diff_searches(
    store: Store,
    from_id: str,
    to_id: str,
    *,
    archived_in: Callable[[str], str | None],
    ranks: bool = False,
) -> tuple[list[SearchDiff], list[Scrub]]:
    """Every search either crawl made, compared; and the scrubs they show.

    ``archived_in``: the crawl holding the last good capture of a URL before ``to_id``;
    ``ranks``: list the results whose rank changed too.
    """
    old, new = load_searches(store, from_id), load_searches(store, to_id)
    diffs: list[SearchDiff] = []
    scrubs: list[Scrub] = []
    for key in dict.fromkeys([*old, *new]):
        engine, query = key
        before, after = old.get(key), new.get(key)
        if before is None or after is None:
            change: SearchChange = "added" if before is None else "missing"
            diffs.append(SearchDiff(engine, query, change, before, after))
            continue
        entry = SearchDiff(engine, query, "unchanged", before, after)
        diffs.append(entry)
        entry.why = _unreachable(from_id, before) or _unreachable(to_id, after)
        if entry.why is not None:
            entry.change = "unreachable"
            continue
        common = {p.page for p in before.pages} & {p.page for p in after.pages}
        was, now = _on_pages(before, common), _on_pages(after, common)
        ranked_was = {r.key: r.rank for r in reversed(was.results)}  # first rank of each
        ranked_now = {r.key: r.rank for r in reversed(now.results)}
        entry.removed = [
            k for k in dict.fromkeys(r.key for r in was.results) if k not in ranked_now
        ]
        entry.added = [k for k in dict.fromkeys(r.key for r in now.results) if k not in ranked_was]
        if ranks:
            entry.moved = [
                Moved(k, ranked_was[k], ranked_now[k])
                for k in dict.fromkeys(r.key for r in was.results)
                if k in ranked_now and ranked_was[k] != ranked_now[k]
            ]
        page = was.pages[0].url
        for removed in entry.removed:
            scrubs.append(
                Scrub(removed, "search-results-removed", page, archived_in(removed), "off-results")
            )
        if "filtered" in now.notices and "filtered" not in was.notices:
            shown = next(p.url for p in now.pages)
            scrubs.append(Scrub(shown, "search-filtered", page, to_id, "notice"))
        if (
            entry.removed
            or entry.added
            or entry.moved
            or was.count != now.count
            or set(was.notices) != set(now.notices)
        ):
            entry.change = "changed"
    return diffs, scrubs


def search_page_urls(diff: SearchDiff) -> list[str]:
    """The result pages of a search, in either crawl, each once."""
    sides = [s for s in (diff.before, diff.after) if s is not None]
    return list(dict.fromkeys(p.url for side in sides for p in side.pages))
