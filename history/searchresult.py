"""A search compared across two crawls, typed: both result lists, and what changed.

:class:`SearchDiff` is one entry of :attr:`history.diffresult.Diff.searches`; its
:meth:`~SearchDiff.to_dict` is what ``scrubwatch diff --json`` prints under
``"searches"`` (the README documents it) and :meth:`~SearchDiff.from_dict` reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from history.jsonfields import NUMBER, TEXT, field_of, literal_of, strings_of

SearchChange = Literal["unchanged", "changed", "unreachable", "added", "missing"]
SEARCH_CHANGES: tuple[SearchChange, ...] = get_args(SearchChange)
#: outcomes of a result page a comparison can use; any other makes it ``unreachable``
COMPARABLE = ("results", "no-results")


@dataclass(frozen=True)
class SearchResult:
    """One result as a crawl saw it; ``key`` is what two crawls' results are matched by."""

    rank: int
    url: str
    page: int = 1
    target: str | None = None
    title: str | None = None
    snippet: str | None = None
    thumbnail: str | None = None

    @property
    def key(self) -> str:
        """The result's target where the page shows it, else its link."""
        return self.target or self.url

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "url": self.url,
            "page": self.page,
            "target": self.target,
            "title": self.title,
            "snippet": self.snippet,
            "thumbnail": self.thumbnail,
        }

    @classmethod
    def from_dict(cls, data: object) -> SearchResult:
        return cls(
            rank=field_of(data, "rank", int),
            url=field_of(data, "url", str),
            page=field_of(data, "page", int),
            target=field_of(data, "target", TEXT),
            title=field_of(data, "title", TEXT),
            snippet=field_of(data, "snippet", TEXT),
            thumbnail=field_of(data, "thumbnail", TEXT),
        )


@dataclass(frozen=True)
class SearchPageState:
    """One result page of a search in one crawl: how it came out, and why."""

    page: int
    url: str
    outcome: str  # as in the search_results dataset: results, no-results, ..., failed
    status: int | None = None
    rendered: bool = False
    reason: str | None = None

    @property
    def comparable(self) -> bool:
        return self.outcome in COMPARABLE

    def to_dict(self) -> dict[str, Any]:
        return {
            "page": self.page,
            "url": self.url,
            "outcome": self.outcome,
            "status": self.status,
            "rendered": self.rendered,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: object) -> SearchPageState:
        return cls(
            page=field_of(data, "page", int),
            url=field_of(data, "url", str),
            outcome=field_of(data, "outcome", str),
            status=field_of(data, "status", NUMBER),
            rendered=field_of(data, "rendered", bool),
            reason=field_of(data, "reason", TEXT),
        )


@dataclass
class SearchSide:
    """What one crawl saw of a search: its pages, count, notices and results in order.

    ``notices`` and ``notice_texts`` go in pairs: a notice's kind and its text as shown.
    """

    pages: list[SearchPageState]
    count: int | None = None
    count_text: str | None = None
    notices: list[str] = field(default_factory=list)
    notice_texts: list[str] = field(default_factory=list)
    results: list[SearchResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pages": [page.to_dict() for page in self.pages],
            "count": self.count,
            "count_text": self.count_text,
            "notices": self.notices,
            "notice_texts": self.notice_texts,
            "results": [result.to_dict() for result in self.results],
        }

    @classmethod
    def from_dict(cls, data: object) -> SearchSide:
        return cls(
            pages=[SearchPageState.from_dict(p) for p in field_of(data, "pages", list)],
            count=field_of(data, "count", NUMBER),
            count_text=field_of(data, "count_text", TEXT),
            notices=strings_of(data, "notices"),
            notice_texts=strings_of(data, "notice_texts"),
            results=[SearchResult.from_dict(r) for r in field_of(data, "results", list)],
        )


@dataclass(frozen=True)
class Moved:
    """A result both crawls list, at another rank."""

    key: str
    rank_from: int
    rank_to: int

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.key, "from": self.rank_from, "to": self.rank_to}

    @classmethod
    def from_dict(cls, data: object) -> Moved:
        return cls(
            field_of(data, "url", str), field_of(data, "from", int), field_of(data, "to", int)
        )


@dataclass
class SearchDiff:
    """One search (engine and query) across the two crawls.

    ``removed`` and ``added`` are result keys (:attr:`SearchResult.key`), ranks aside;
    ``moved`` lists rank changes only when the diff was asked for them. ``unreachable``:
    a crawl has no comparable list (a CAPTCHA, a login wall, an error status, a page not
    captured or that nothing could parse), which ``why`` names; it is never a scrub.
    """

    engine: str
    query: str
    change: SearchChange
    before: SearchSide | None
    after: SearchSide | None
    why: str | None = None
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    moved: list[Moved] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "query": self.query,
            "change": self.change,
            "why": self.why,
            "from": self.before.to_dict() if self.before is not None else None,
            "to": self.after.to_dict() if self.after is not None else None,
            "results": {
                "removed": self.removed,
                "added": self.added,
                "moved": [m.to_dict() for m in self.moved],
            },
        }

    @classmethod
    def from_dict(cls, data: object) -> SearchDiff:
        change = literal_of(data, "change", SEARCH_CHANGES)
        before, after = (
            field_of(data, "from", (dict, type(None))),
            field_of(data, "to", (dict, type(None))),
        )
        results = field_of(data, "results", dict)
        return cls(
            engine=field_of(data, "engine", str),
            query=field_of(data, "query", str),
            change=change,
            before=SearchSide.from_dict(before) if before is not None else None,
            after=SearchSide.from_dict(after) if after is not None else None,
            why=field_of(data, "why", TEXT),
            removed=strings_of(results, "removed"),
            added=strings_of(results, "added"),
            moved=[Moved.from_dict(m) for m in field_of(results, "moved", list)],
        )


def search_summary(search: SearchDiff) -> str:
    """One line: the change, and what changed (``scrubwatch diff`` prints it)."""
    if search.why is not None:
        return f"{search.change}: {search.why}"
    if search.before is None or search.after is None:
        return search.change
    parts: list[str] = [search.change]
    if search.before.count != search.after.count:
        parts.append(f"count {search.before.count} -> {search.after.count}")
    parts += [f"{len(search.removed)} removed", f"{len(search.added)} added"]
    if search.moved:
        parts.append(f"{len(search.moved)} moved")
    new = [n for n in search.after.notices if n not in search.before.notices]
    if new:
        parts.append(f"notice {', '.join(new)}")
    return ", ".join(parts)
