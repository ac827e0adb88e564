"""The result of comparing two crawls, typed: each page's change and what was scrubbed.

:class:`Diff` is what :func:`history.diff.diff_crawls` returns, what the HTML report
renders, and, through :meth:`Diff.to_dict`, the JSON that ``scrubwatch diff --json``
prints and the README documents. :meth:`Diff.from_dict` reads that JSON back (a job's
saved report), checking every field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from history.searchresult import SearchDiff

from history.jsonfields import field_of, literal_of, optional_of, strings_of
from history.soft404 import BYS, By

Change = Literal["unchanged", "changed", "removed", "unreachable", "added", "missing"]
ScrubKind = Literal[
    "page-removed",
    "page-redirected",
    "text-removed",
    "image-removed",
    "search-results-removed",
    "search-filtered",
]
#: the evidence of a scrub: the URL now answers 404, 410 or 451; it redirects to another
#: page; it is its host's "not found" (``by`` the probe or the wording); an image no longer
#: on the page; text that left an edited page; a result no longer in a search's results;
#: the engine's notice that it withholds results
Why = Literal[
    "http-404",
    "http-410",
    "http-451",
    "redirect",
    "soft-404",
    "off-page",
    "edited",
    "off-results",
    "notice",
]
CHANGES: tuple[Change, ...] = get_args(Change)
SCRUB_KINDS: tuple[ScrubKind, ...] = get_args(ScrubKind)
WHYS: tuple[Why, ...] = get_args(Why)


@dataclass
class Delta:
    """What one side of a comparison lost and gained: paragraphs, images or links."""

    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.removed or self.added)

    def to_dict(self) -> dict[str, list[str]]:
        return {"removed": self.removed, "added": self.added}

    @classmethod
    def from_dict(cls, data: object) -> Delta:
        return cls(strings_of(data, "removed"), strings_of(data, "added"))

    @classmethod
    def between(cls, before: list[str], after: list[str]) -> Delta:
        """The items of ``before`` missing from ``after``, and the other way round, in order."""
        return cls([u for u in before if u not in after], [u for u in after if u not in before])


@dataclass
class PageDiff:
    """One page across the two crawls; ``redirect`` is where the later crawl was sent.

    ``why``: for a ``removed`` page, the evidence (a :data:`Why`, and ``by`` for a soft
    404); for an ``unreachable`` one, what the later crawl met: the crawl log's failure kind
    (``timeout``, ``dns``, ...) or ``http-<status>``.
    """

    url: str
    change: Change
    status_from: int | None
    status_to: int | None
    redirect: str | None = None
    text: Delta = field(default_factory=Delta)
    images: Delta = field(default_factory=Delta)
    links: Delta = field(default_factory=Delta)
    why: str | None = None
    by: By | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "change": self.change,
            "status": {"from": self.status_from, "to": self.status_to},
            "redirect": {"to": self.redirect} if self.redirect is not None else None,
            "text": self.text.to_dict(),
            "images": self.images.to_dict(),
            "links": self.links.to_dict(),
            "why": self.why,
            "by": self.by,
        }

    @classmethod
    def from_dict(cls, data: object) -> PageDiff:
        status = field_of(data, "status", dict)
        redirect = field_of(data, "redirect", (dict, type(None)))
        return cls(
            url=field_of(data, "url", str),
            change=literal_of(data, "change", CHANGES),
            status_from=field_of(status, "from", (int, type(None))),
            status_to=field_of(status, "to", (int, type(None))),
            redirect=field_of(redirect, "to", str) if redirect is not None else None,
            text=Delta.from_dict(field_of(data, "text", dict)),
            images=Delta.from_dict(field_of(data, "images", dict)),
            links=Delta.from_dict(field_of(data, "links", dict)),
            why=optional_of(data, "why"),
            by=optional_of(data, "by", BYS),
        )


@dataclass(frozen=True)
class Scrub:
    """Something removed: ``url`` on ``page``, its bytes held by crawl ``archived_in``;
    ``why``, the evidence, and ``by``, what told a soft 404."""

    url: str
    kind: ScrubKind
    page: str
    archived_in: str | None
    why: Why | None = None  # None only in a diff saved before scrubs named their evidence
    by: By | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "kind": self.kind,
            "page": self.page,
            "archived_in": self.archived_in,
            "why": self.why,
            "by": self.by,
        }

    @classmethod
    def from_dict(cls, data: object) -> Scrub:
        return cls(
            url=field_of(data, "url", str),
            kind=literal_of(data, "kind", SCRUB_KINDS),
            page=field_of(data, "page", str),
            archived_in=field_of(data, "archived_in", (str, type(None))),
            why=optional_of(data, "why", WHYS),
            by=optional_of(data, "by", BYS),
        )


@dataclass
class Diff:
    """Two crawls compared: every page either asked for, every search either made
    (:mod:`history.searchresult`), and what was scrubbed."""

    from_id: str
    to_id: str
    pages: list[PageDiff]
    scrubbed: list[Scrub]
    searches: list[SearchDiff] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The diff as ``scrubwatch diff --json`` prints it (the README documents it)."""
        return {
            "from": self.from_id,
            "to": self.to_id,
            "pages": [page.to_dict() for page in self.pages],
            "scrubbed": [scrub.to_dict() for scrub in self.scrubbed],
            "searches": [search.to_dict() for search in self.searches],
        }

    @classmethod
    def from_dict(cls, data: object) -> Diff:
        """A diff read back from its JSON; ValueError naming the first field that is wrong.

        A diff saved before searches were compared has no ``searches``: none were.
        """
        from history.searchresult import SearchDiff

        saved_searches = isinstance(data, dict) and "searches" in data
        searches = field_of(data, "searches", list) if saved_searches else []
        return cls(
            from_id=field_of(data, "from", str),
            to_id=field_of(data, "to", str),
            pages=[PageDiff.from_dict(p) for p in field_of(data, "pages", list)],
            scrubbed=[Scrub.from_dict(s) for s in field_of(data, "scrubbed", list)],
            searches=[SearchDiff.from_dict(s) for s in searches],
        )

    def counts(self) -> dict[Change, int]:
        """How many pages had each change, for the changes that occur."""
        counts: dict[Change, int] = {}
        for page in self.pages:
            counts[page.change] = counts.get(page.change, 0) + 1
        return counts
