"""A search compared across two crawls, typed: both result lists, and what changed.

:class:`SearchDiff` is one entry of :attr:`history.diffresult.Diff.searches`; its
:meth:`~SearchDiff.to_dict` is what ``scrubwatch diff --json`` prints under
``"searches"`` (the README documents it) and :meth:`~SearchDiff.from_dict` reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

SearchChange = Literal["unchanged", "changed", "unreachable", "added", "missing"]
SEARCH_CHANGES: tuple[SearchChange, ...] = get_args(SearchChange)
#: outcomes of a result page a comparison can use; any other makes it ``unreachable``
COMPARABLE = ("results", "no-results")


def _get(data: object, name: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(data, dict) or name not in data:
        raise ValueError(f"no {name!r} in {data!r}")
    value = data[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
        raise ValueError(f"{name!r} has the wrong type: {value!r}")
    return value


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _strings(data: object, name: str) -> list[str]:
    values = _get(data, name, list)
    if not all(isinstance(v, str) for v in values):
        raise ValueError(f"{name!r} is not a list of strings: {values!r}")
    return list(values)


_TEXT = (str, type(None))
_NUMBER = (int, type(None))


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
            rank=_get(data, "rank", int),
            url=_get(data, "url", str),
            page=_get(data, "page", int),
            target=_get(data, "target", _TEXT),
            title=_get(data, "title", _TEXT),
            snippet=_get(data, "snippet", _TEXT),
            thumbnail=_get(data, "thumbnail", _TEXT),
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
            page=_get(data, "page", int),
            url=_get(data, "url", str),
            outcome=_get(data, "outcome", str),
            status=_get(data, "status", _NUMBER),
            rendered=_get(data, "rendered", bool),
            reason=_get(data, "reason", _TEXT),
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
            pages=[SearchPageState.from_dict(p) for p in _get(data, "pages", list)],
            count=_get(data, "count", _NUMBER),
            count_text=_get(data, "count_text", _TEXT),
            notices=_strings(data, "notices"),
            notice_texts=_strings(data, "notice_texts"),
            results=[SearchResult.from_dict(r) for r in _get(data, "results", list)],
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
        return cls(_get(data, "url", str), _get(data, "from", int), _get(data, "to", int))


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
        change = _get(data, "change", str)
        if change not in SEARCH_CHANGES:
            raise ValueError(f"'change' is {change!r}, not one of {', '.join(SEARCH_CHANGES)}")
        before, after = _get(data, "from", (dict, type(None))), _get(data, "to", (dict, type(None)))
        results = _get(data, "results", dict)
        return cls(
            engine=_get(data, "engine", str),
            query=_get(data, "query", str),
            change=change,
            before=SearchSide.from_dict(before) if before is not None else None,
            after=SearchSide.from_dict(after) if after is not None else None,
            why=_get(data, "why", _TEXT),
            removed=_strings(results, "removed"),
            added=_strings(results, "added"),
            moved=[Moved.from_dict(m) for m in _get(results, "moved", list)],
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
