"""What the store's previous crawl saw of each page, kept small: for a recrawl to tell soft 404s.

:func:`previous_pages` reads the latest crawl before a given one: its crawl log (which
pages it captured with a 2xx answer, and by which URL they were asked for) and its
dataset (their text), and keeps of each page only its payload digest, a
:class:`~history.soft404.Fingerprint` of its text and whether that text already read like
a "not found": a few hundred bytes a page, not its text. A page captured as a revisit
(``extraction: unchanged``) takes its text from the row of the same payload, in that
crawl or an earlier one, as :mod:`history.snapshots` does. Parquet parts are read a row
batch at a time, only the columns needed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

from history.snapshots import PAGE_ROLES
from history.soft404 import Fingerprint, reads_not_found
from storage.crawllog import read_crawl_log
from storage.errors import StoreError, one_line
from storage.layout import dataset_part_keys, list_crawl_ids
from storage.stores import Store

_COLUMNS = ("url", "title", "text", "payload_digest", "extraction")
_BATCH_ROWS = 2048


@dataclass(frozen=True)
class PreviousPage:
    """A page as the previous crawl captured it (with a 2xx answer)."""

    digest: str | None
    fingerprint: Fingerprint | None  # None: its text was not found
    read_not_found: bool = False


@dataclass(frozen=True)
class _Row:
    url: str
    title: str | None
    text: str
    digest: str | None
    unchanged: bool


def _rows(store: Store, crawl_id: str) -> Iterator[_Row]:
    import pyarrow.parquet as pq  # here: a crawl that never recrawls needs no pyarrow

    for key in dataset_part_keys(store, crawl_id):
        try:
            part = pq.ParquetFile(io.BytesIO(store.get(key)))
            columns = [c for c in _COLUMNS if c in part.schema_arrow.names]
            for batch in part.iter_batches(_BATCH_ROWS, columns=columns, use_threads=False):
                for row in batch.to_pylist():
                    yield _Row(
                        str(row["url"]),
                        row.get("title"),
                        str(row.get("text") or ""),
                        row.get("payload_digest"),
                        row.get("extraction") == "unchanged",
                    )
        except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid, ArrowIOError
            raise StoreError(f"dataset part {key} is unreadable: {one_line(exc)}") from exc


def _asked_for(store: Store, crawl_id: str) -> dict[str, list[str]]:
    """Final URL -> the URLs a crawl asked for that ended there with a 2xx answer."""
    asked: dict[str, list[str]] = {}
    for entry in read_crawl_log(store, crawl_id):
        if entry.get("role") not in PAGE_ROLES or entry.get("outcome") != "captured":
            continue
        status = entry.get("status")
        if not isinstance(status, int) or not 200 <= status < 300:
            continue
        chain = [str(u) for u in entry.get("redirected_from") or []]
        final = str(entry["url"])
        asked.setdefault(final, []).append(chain[0] if chain else final)
    return asked


def previous_pages(store: Store, before: str) -> dict[str, PreviousPage]:
    """URL asked for -> the page the latest crawl before ``before`` captured there."""
    earlier = [c for c in list_crawl_ids(store) if c < before]
    if not earlier:
        return {}
    crawl_id = earlier[-1]
    asked = _asked_for(store, crawl_id)
    pages: dict[str, PreviousPage] = {}
    by_digest: dict[str, PreviousPage] = {}  # this crawl's own extractions
    unchanged: dict[str, list[str]] = {}  # payload digest -> final URLs of its revisits
    for row in _rows(store, crawl_id):
        if row.unchanged:
            if row.url in asked and row.digest is not None:
                unchanged.setdefault(row.digest, []).append(row.url)
            continue
        page = _page(row)
        if row.digest is not None:
            by_digest.setdefault(row.digest, page)
        for url in asked.get(row.url, ()):
            pages.setdefault(url, page)
    for digest in [d for d in unchanged if d in by_digest]:
        _resolve(pages, asked, unchanged.pop(digest), by_digest[digest])
    for other in reversed(earlier[:-1]):
        if not unchanged:
            break
        for row in _rows(store, other):
            if not row.unchanged and row.digest in unchanged:
                _resolve(pages, asked, unchanged.pop(row.digest), _page(row))
    for digest, finals in unchanged.items():  # their text is nowhere: only the digest is known
        _resolve(pages, asked, finals, PreviousPage(digest, None))
    return pages


def _resolve(
    pages: dict[str, PreviousPage],
    asked: dict[str, list[str]],
    finals: list[str],
    page: PreviousPage,
) -> None:
    for final in finals:
        for url in asked[final]:
            pages.setdefault(url, page)


def _page(row: _Row) -> PreviousPage:
    return PreviousPage(row.digest, Fingerprint.of(row.text), reads_not_found(row.title, row.text))
