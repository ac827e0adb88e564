"""What a crawl saw of each page: status, redirect, extracted text, images, links.

Built from the crawl's log (roles, redirects, failures), its CDXJ index (the status
of every URL it fetched) and its dataset (text, images, links per page; a revisit's
row takes them from the row of the same payload digest), wherever the version of
scrubwatch that stored the crawl put it (``storage.layout.dataset_part_keys``). Pages are
keyed by the URL the crawl asked for, so a cited URL that later redirects is still
the same page.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from history.soft404 import BYS, By
from storage.captures import CaptureIndex
from storage.crawllog import read_crawl_log
from storage.errors import StoreError, one_line
from storage.layout import dataset_part_keys, list_crawl_ids
from storage.stores import Store

PAGE_ROLES = ("seed", "cited", "linked")


@dataclass
class PageSnapshot:
    url: str
    crawl_id: str
    status: int | None  # of the URL itself (a 301 for a redirect)
    final_url: str
    final_status: int | None
    text: str = ""
    images: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    failed: str | None = None  # the crawl log's failure kind, when not captured
    retryable: bool = False  # a failure the crawl log says may not happen again
    title: str | None = None
    soft_404: By | None = None  # the crawl's verdict (crawler/probe.py)

    @property
    def redirected(self) -> bool:
        return self.final_url != self.url


@dataclass
class CrawlSnapshot:
    crawl_id: str
    pages: dict[str, PageSnapshot]
    statuses: dict[str, int | None]  # every URL the crawl fetched -> its status


def _dataset_rows(store: Store, crawl_id: str) -> dict[str, dict[str, object]]:
    import pyarrow.parquet as pq  # here: a crawl imports this module, and needs no pyarrow

    rows: dict[str, dict[str, object]] = {}
    for key in dataset_part_keys(store, crawl_id):
        # ParquetFile, in this thread: pq.read_table's dataset scanner leaves threads
        # that can abort the process as it exits ("terminate called without an
        # active exception", apache/arrow#34314)
        try:
            table = pq.ParquetFile(io.BytesIO(store.get(key))).read(use_threads=False)
        except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid, ArrowIOError
            raise StoreError(f"dataset part {key} is unreadable: {one_line(exc)}") from exc
        for row in table.to_pylist():
            rows.setdefault(str(row["url"]), row)
    return rows


class DatasetRows:
    """The dataset rows of a store's crawls, each crawl's parts read once per command
    (a diff reads the earlier crawl's rows for itself and for the later crawl's revisits)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._rows: dict[str, dict[str, dict[str, object]]] = {}

    def __call__(self, crawl_id: str) -> dict[str, dict[str, object]]:
        if crawl_id not in self._rows:
            self._rows[crawl_id] = _dataset_rows(self.store, crawl_id)
        return dict(self._rows[crawl_id])  # a copy: a snapshot fills its own in


def _fill_unchanged(
    store: Store, crawl_id: str, rows: dict[str, dict[str, object]], datasets: DatasetRows
) -> None:
    """Give rows of revisits (``extraction`` = ``unchanged``, no text) their text back.

    A revisit is not extracted again: its payload's row, with the same
    ``payload_digest``, is in this crawl or an earlier one, the latest first.
    """
    wanted = {r["payload_digest"] for r in rows.values() if r.get("extraction") == "unchanged"}
    found: dict[object, dict[str, object]] = {}
    earlier = [c for c in list_crawl_ids(store) if c < crawl_id]
    for other in [crawl_id, *reversed(earlier)]:
        if not wanted - found.keys():
            break
        source = rows if other == crawl_id else datasets(other)
        for row in source.values():
            digest = row.get("payload_digest")
            if digest in wanted and row.get("extraction") != "unchanged":
                found.setdefault(digest, row)
    for url, row in rows.items():
        if row.get("extraction") == "unchanged" and row.get("payload_digest") in found:
            earlier_row = found[row["payload_digest"]]
            fill = ("title", "text", "images", "links")
            rows[url] = {**row, **{k: earlier_row.get(k) for k in fill}}


def _verdict(value: object) -> By | None:
    """A row's ``soft_404``, None for a value this version does not know."""
    return next((by for by in BYS if by == value), None)


def load_snapshot(
    store: Store,
    crawl_id: str,
    index: CaptureIndex | None = None,
    datasets: DatasetRows | None = None,
) -> CrawlSnapshot:
    index = index or CaptureIndex(store)
    datasets = datasets or DatasetRows(store)
    statuses: dict[str, int | None] = {c.url: c.status for c in index.in_crawl(crawl_id)}
    rows = datasets(crawl_id)
    _fill_unchanged(store, crawl_id, rows, datasets)
    pages: dict[str, PageSnapshot] = {}
    for entry in read_crawl_log(store, crawl_id):
        url = str(entry["url"])
        if entry.get("role") not in PAGE_ROLES:
            continue
        if entry.get("outcome") == "failed":
            failed = str(entry.get("kind"))
            retryable = bool(entry.get("retryable") or entry.get("dead_host"))
            pages.setdefault(
                url,
                PageSnapshot(url, crawl_id, None, url, None, failed=failed, retryable=retryable),
            )
            continue
        row = rows.get(url, {})
        chain = [str(u) for u in entry.get("redirected_from") or []]
        first = chain[0] if chain else url
        pages[first] = PageSnapshot(
            url=first,
            crawl_id=crawl_id,
            status=statuses.get(first),
            final_url=url,
            final_status=int(entry["status"]) if entry.get("status") is not None else None,
            text=str(row.get("text") or ""),
            images=list(row.get("images") or []),  # type: ignore[call-overload]
            links=list(row.get("links") or []),  # type: ignore[call-overload]
            title=str(row["title"]) if row.get("title") is not None else None,
            soft_404=_verdict(row.get("soft_404")),
        )
    return CrawlSnapshot(crawl_id, pages, statuses)


def previous_requisites(store: Store, before: str) -> dict[str, list[str]]:
    """Page URL -> the requisites the latest earlier crawl fetched for it.

    A recrawl asks for these again even when the page no longer shows them, so that
    a photo taken off a page is also recorded as answering 404 (or still 200).
    """
    earlier = [c for c in list_crawl_ids(store) if c < before]
    if not earlier:
        return {}
    found: dict[str, list[str]] = {}
    for entry in read_crawl_log(store, earlier[-1]):
        if entry.get("role") == "requisite" and entry.get("cited_by"):
            found.setdefault(str(entry["cited_by"]), []).append(str(entry["url"]))
    return found
