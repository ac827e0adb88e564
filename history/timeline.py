"""A URL's history in a store: every capture across crawls, and its archived bytes.

``timeline`` reads only the CDXJ indexes. ``get_payload`` returns a capture's payload
as a browser would have received it (content-encoding undone), following a revisit
to the crawl that holds the bytes: also for pages that are gone from the web. Given
one :class:`~storage.captures.CaptureIndex`, any number of them read each index of the
store once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from storage.captures import ArchivedResponse, CaptureIndex, CaptureRef
from storage.contentcoding import decode_content
from storage.errors import BadInput, StoreError
from storage.imported import ImportedCrawls
from storage.stores import Store


@dataclass(frozen=True)
class TimelineEntry:
    crawl_id: str
    time: str  # RFC 3339, UTC
    url: str
    status: int | None
    digest: str
    revisit: bool
    changed: bool | None  # against the capture before; None for the first
    imported_from: str | None = None  # the archive of a crawl `scrubwatch import` made

    def to_dict(self) -> dict[str, object]:
        data = dict(self.__dict__)
        if self.imported_from is None:
            del data["imported_from"]
        return data


def rfc3339(timestamp: str) -> str:
    moment = datetime.strptime(timestamp[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _captures(index: CaptureIndex, url: str) -> list[CaptureRef]:
    found = index.captures(url)
    exact = [c for c in found if c.url == url]
    return exact or found  # the SURT key also matches http/https and www. variants


def timeline(store: Store, url: str) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    imported = ImportedCrawls(store)
    previous: CaptureRef | None = None
    for capture in _captures(CaptureIndex(store), url):
        changed = None
        if previous is not None:
            changed = (capture.digest, capture.status) != (previous.digest, previous.status)
        entries.append(
            TimelineEntry(
                crawl_id=capture.crawl_id,
                time=rfc3339(capture.timestamp),
                url=capture.url,
                status=capture.status,
                digest=capture.digest,
                revisit=capture.is_revisit,
                changed=changed,
                imported_from=imported(capture.crawl_id),
            )
        )
        previous = capture
    return entries


def _parse_time(value: str) -> str:
    """``2026-11-25``, ``2026-11-25T10:00:00Z`` or 14 digits -> a 14-digit timestamp."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) < 8:
        raise BadInput(f"--at {value!r}: use YYYY-MM-DD[THH:MM:SSZ]")
    return (digits + "235959")[:14] if len(digits) == 8 else digits[:14].ljust(14, "0")


def find_capture(
    index: CaptureIndex, url: str, *, crawl_id: str | None = None, at: str | None = None
) -> CaptureRef:
    store = index.store
    captures = [c for c in _captures(index, url) if c.status != 304]
    if crawl_id is not None:
        captures = [c for c in captures if c.crawl_id == crawl_id]
    if at is not None:
        limit = _parse_time(at)
        captures = [c for c in captures if c.timestamp <= limit]
    if not captures:
        where = f" in crawl {crawl_id}" if crawl_id else ""
        when = f" at or before {at}" if at else ""
        raise StoreError(f"no capture of {url}{where}{when} in store {store.uri}")
    if crawl_id is None:
        # Asked for "the archived page", a reader wants its content, not the later 404.
        good = [c for c in captures if c.status is not None and 200 <= c.status < 300]
        captures = good or captures
    return captures[-1]


def get_response(
    index: CaptureIndex, url: str, *, crawl_id: str | None = None, at: str | None = None
) -> ArchivedResponse:
    return index.read(find_capture(index, url, crawl_id=crawl_id, at=at))


def get_payload(
    store: Store,
    url: str,
    *,
    crawl_id: str | None = None,
    at: str | None = None,
    index: CaptureIndex | None = None,
) -> tuple[CaptureRef, bytes]:
    """The capture chosen and its bytes: the one in ``crawl_id``, else the latest good
    (2xx) capture at or before ``at`` (or ever), else the latest of any status.

    ``index``: the store's index to look in and read through (default: a new one).
    """
    index = index if index is not None else CaptureIndex(store)
    response = get_response(index, url, crawl_id=crawl_id, at=at)
    encoding = response.headers.get_header("Content-Encoding")
    return response.capture, decode_content(response.raw_body, encoding)
