"""The searches of the scrub report: each search's two result lists side by side.

Removed results are struck out on the left, with their thumbnail as the earlier crawl
archived it and the crawl that holds the page they led to (and how to ``get`` it), when
the store holds one; added ones are marked on the right; each crawl's count and notices
above its list; an ``unreachable`` search says why. For result pages a browser rendered,
the two screenshots follow (the report's own, which share its budget of inlined bytes).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Protocol

from history.diffresult import Diff, PageDiff, Scrub
from history.searchdiff import search_page_urls
from history.searchresult import SearchDiff, SearchResult, SearchSide, search_summary

SEARCH_STYLE = """
.search-results-removed{background:#f8d7da}.search-filtered{background:#ffe5b4}
.results{margin:.3em 0;padding-left:2.2em}.results li{margin:.35em 0}
.results .removed{background:#f8d7da}.results .removed>a{text-decoration:line-through}
.results .added{background:#d4edda}.results small{display:block;color:#555}
.results img{display:block;max-width:120px;max-height:90px;border:2px solid #c00}
.notice{background:#ffe5b4;padding:.1em .3em}
"""


class Screenshots(Protocol):
    def block(self, page: PageDiff) -> str: ...


class SearchSections:
    """Renders the searches of ``diff``.

    ``anchor``: the report's id of a page, which its summary links a scrub's ``page`` to;
    ``picture``: an archived image of the earlier crawl as a ``data:`` URI, or None.
    """

    def __init__(
        self,
        diff: Diff,
        screenshots: Screenshots,
        anchor: Callable[[str], str],
        picture: Callable[[str], str | None],
    ) -> None:
        self.diff = diff
        self.screenshots = screenshots
        self.anchor = anchor
        self.picture = picture

    def render(self) -> str:
        """Every search of the diff, in order; empty when the crawls made none."""
        return "".join(self.section(search) for search in self.diff.searches)

    def section(self, search: SearchDiff) -> str:
        urls = search_page_urls(search)
        scrubs = {
            s.url: s
            for s in self.diff.scrubbed
            if s.kind == "search-results-removed" and s.page in urls
        }
        sides = self.side(self.diff.from_id, search.before, search.removed, "removed", scrubs)
        sides += self.side(self.diff.to_id, search.after, search.added, "added", scrubs)
        page = PageDiff(urls[0], "unchanged", None, None, urls[1] if len(urls) > 1 else None)
        return (
            f'<section id="{self.anchor(urls[0])}"><h2>Search {escape(search.engine)}: '
            f"“{escape(search.query)}”</h2>"
            f'<p class="change">{escape(search_summary(search))}</p>'
            f'<p class="change">{escape(urls[0])}</p>'
            f'<div class="sides">{sides}</div>{self.screenshots.block(page)}</section>'
        )

    def side(
        self,
        crawl_id: str,
        side: SearchSide | None,
        marked: list[str],
        mark: str,
        scrubs: dict[str, Scrub],
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
            note = self.removed(result, scrubs.get(result.key)) if hit and mark == "removed" else ""
            items.append(_result(result, mark if hit else "", note))
        listed = f'<ol class="results">{"".join(items)}</ol>' if items else "<p>no results</p>"
        return f'<div class="side">{head}{count}{notices}{listed}</div>'

    def removed(self, result: SearchResult, scrub: Scrub | None) -> str:
        """A removed result's thumbnail from the archive, and where the page it led to is."""
        uri = self.picture(result.thumbnail) if result.thumbnail else None
        picture = f'<img src="{uri}" alt="thumbnail in {escape(self.diff.from_id)}">' if uri else ""
        if scrub is None or scrub.archived_in is None:
            return f"{picture}<small>the page it led to is not in the store</small>"
        get = f"scrubwatch get {scrub.url} --crawl {scrub.archived_in}"
        return (
            f"{picture}<small>archived in crawl {escape(scrub.archived_in)}: "
            f"<code>{escape(get)}</code></small>"
        )


def _result(result: SearchResult, mark: str, note: str = "") -> str:
    title = escape(result.title or result.key)
    target = f"<small>{escape(result.key)}</small>" if result.key != result.title else ""
    snippet = f"<small>{escape(result.snippet)}</small>" if result.snippet else ""
    marked = f' class="{mark}"' if mark else ""
    return (
        f'<li value="{result.rank}"{marked}><a href="{escape(result.url)}">{title}</a>'
        f"{target}{snippet}{note}</li>"
    )
