"""The searches of the scrub report: each search's two result lists side by side.

Removed results are struck out on the left (with the crawl that holds the page they led
to, when the store holds one, and how to ``get`` it), added ones marked on the right;
the count and the notices of each crawl above them; ``unreachable`` says why; for result
pages a browser rendered, the two screenshots below (through the report's screenshots,
which share its budget of inlined bytes).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Protocol

from history.diffresult import Diff, PageDiff, Scrub
from history.searchdiff import search_page_urls
from history.searchresult import SearchDiff, SearchResult, SearchSide

SEARCH_STYLE = """
.search-results-removed{background:#f8d7da}.search-filtered{background:#ffe5b4}
.results{margin:.3em 0;padding-left:2.2em}.results li{margin:.35em 0}
.results .removed{background:#f8d7da}.results .removed a{text-decoration:line-through}
.results .added{background:#d4edda}.results small{display:block;color:#555}
.notice{background:#ffe5b4;padding:.1em .3em}
"""


class Screenshots(Protocol):
    def block(self, page: PageDiff) -> str: ...


def _result(result: SearchResult, mark: str, note: str = "") -> str:
    title = escape(result.title or result.key)
    target = f"<small>{escape(result.key)}</small>" if result.key != result.title else ""
    snippet = f"<small>{escape(result.snippet)}</small>" if result.snippet else ""
    marked = f' class="{mark}"' if mark else ""
    return (
        f'<li value="{result.rank}"{marked}><a href="{escape(result.url)}">{title}</a>'
        f"{target}{snippet}{note}</li>"
    )


def _archived(scrub: Scrub | None) -> str:
    if scrub is None or scrub.archived_in is None:
        return "<small>the page it led to is not in the store</small>"
    get = f"scrubwatch get {scrub.url} --crawl {scrub.archived_in}"
    return (
        f"<small>archived in crawl {escape(scrub.archived_in)}: <code>{escape(get)}</code></small>"
    )


def _side(
    crawl_id: str, side: SearchSide | None, marked: list[str], mark: str, scrubs: dict[str, Scrub]
) -> str:
    head = f"<b>{escape(crawl_id)}</b>"
    if side is None:
        return f'<div class="side">{head}<p>not searched in this crawl</p></div>'
    count = (
        f"<p>count: {side.count:,} ({escape(side.count_text or '')})</p>"
        if side.count is not None
        else ""
    )
    notices = "".join(
        f'<p class="notice">{escape(kind)}: {escape(text)}</p>'
        for kind, text in zip(side.notices, side.notice_texts, strict=False)
    )
    items = []
    for result in side.results:
        hit = result.key in marked
        note = _archived(scrubs.get(result.key)) if hit and mark == "removed" else ""
        items.append(_result(result, mark if hit else "", note))
    listed = f'<ol class="results">{"".join(items)}</ol>' if items else "<p>no results</p>"
    return f'<div class="side">{head}{count}{notices}{listed}</div>'


def _section(
    diff: Diff, search: SearchDiff, screenshots: Screenshots, anchor: Callable[[str], str]
) -> str:
    urls = search_page_urls(search)
    scrubs = {
        s.url: s for s in diff.scrubbed if s.kind == "search-results-removed" and s.page in urls
    }
    what = escape(search.change)
    if search.why:
        what += f": {escape(search.why)}"
    elif search.change == "changed":
        what += f": {len(search.removed)} removed, {len(search.added)} added"
    sides = _side(diff.from_id, search.before, search.removed, "removed", scrubs) + _side(
        diff.to_id, search.after, search.added, "added", scrubs
    )
    page = PageDiff(urls[0], "unchanged", None, None, urls[1] if len(urls) > 1 else None)
    return (
        f'<section id="{anchor(urls[0])}"><h2>Search {escape(search.engine)}: '
        f"“{escape(search.query)}”</h2>"
        f'<p class="change">{what}</p><p class="change">{escape(urls[0])}</p>'
        f'<div class="sides">{sides}</div>{screenshots.block(page)}</section>'
    )


def search_sections(diff: Diff, screenshots: Screenshots, anchor: Callable[[str], str]) -> str:
    """Every search of the diff, in order; empty when the crawls made none. ``anchor``: the
    report's id of a page, which its summary links a scrub's ``page`` to."""
    return "".join(_section(diff, search, screenshots, anchor) for search in diff.searches)
