"""What the cited spider yields: a captured page, or a URL that could not be captured."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.searchparse import SearchPage


@dataclass
class PageItem:
    """One captured response, with where its record sits in the WARC files."""

    url: str
    status: int
    role: str  # "seed", "cited", "requisite", "linked" or "search"
    fetched_at: str  # RFC 3339, UTC
    content_type: str
    headers: dict[str, list[str]]
    body: bytes  # content-decoded
    record_type: str  # "response" or "revisit"
    payload_digest: str
    warc_filename: str
    warc_offset: int
    warc_length: int
    outlet: str | None = None
    cited_by: str | None = None
    context: str = ""
    depth: int = 0
    redirected_from: list[str] = field(default_factory=list)
    truncated: str | None = None  # WARC-Truncated of its record: "length" past the size limit
    rendered: bool = False  # body is a browser's DOM, its record a resource (urn:dom:<url>)
    browser: bool = False  # fetched for a browser rendering a page
    requested_range: str | None = None  # the Range the browser asked for; fetched whole
    row: dict[str, Any] | None = None  # the text dataset's row, set by pipelines.extract
    slowed: dict[str, Any] | None = None  # what its answer did to its host's delay, if anything
    search: SearchPage | None = None  # a page of a search's results (crawler.searches)

    @property
    def is_html(self) -> bool:
        return self.content_type.split(";")[0].strip().lower() in (
            "text/html",
            "application/xhtml+xml",
        )

    def log_entry(self) -> dict[str, Any]:
        entry = asdict(self)
        for heavy in ("body", "headers", "row"):
            entry.pop(heavy)
        if entry["slowed"] is None:
            del entry["slowed"]
        if self.search is None:
            del entry["search"]
        else:
            entry["search"] = self.search.log_fields()
        entry["outcome"] = "captured"
        return entry


@dataclass
class FailureItem:
    """A URL that was not captured, and why (``kind``: dns, refused, timeout, ...)."""

    url: str
    role: str
    kind: str
    error: str
    time: str
    cited_by: str | None = None
    outlet: str | None = None
    retryable: bool = False  # a later crawl may well get it (see crawler.failures.RETRYABLE)
    browser: bool = False  # asked for by a browser rendering a page
    dead_host: bool = False  # not sent: its host failed before as gone (crawler.deadhosts)
    slowed: dict[str, Any] | None = None  # what its last answer did to its host's delay
    search: dict[str, Any] | None = None  # a search's page: engine, query, page

    def log_entry(self) -> dict[str, Any]:
        entry = asdict(self)
        if entry["slowed"] is None:
            del entry["slowed"]
        if self.search is None:
            del entry["search"]
        entry["outcome"] = "failed"
        return entry
