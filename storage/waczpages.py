"""The pages of a WACZ package, from the crawls' datasets, and its main page, from their seeds.

Each dataset row of a crawl is a page (an HTML page the crawl extracted text from): it
becomes a :class:`~storage.wacz.Page` with the row's ``url``, ``fetched_at`` as ``ts``,
``title`` and ``text``. A row of a revisit (``extraction`` ``unchanged``) has no text of
its own: it takes the title and text of the row of the same payload digest, in the
crawl or an earlier one, the latest first. Parquet parts are read a row batch at a time,
only the columns needed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

from storage.crawlinfo import CrawlInfo
from storage.errors import StoreError, StoreMissing, one_line
from storage.layout import dataset_part_keys, info_key, list_crawl_ids
from storage.stores import Store
from storage.wacz import Page

_COLUMNS = ("url", "fetched_at", "title", "text", "payload_digest", "extraction")
_BATCH_ROWS = 2048


def _rows(store: Store, crawl_id: str) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq  # here: what imports storage needs no pyarrow

    for key in dataset_part_keys(store, crawl_id):
        try:
            part = pq.ParquetFile(io.BytesIO(store.get(key)))
            columns = [c for c in _COLUMNS if c in part.schema_arrow.names]
            for batch in part.iter_batches(_BATCH_ROWS, columns=columns, use_threads=False):
                yield from batch.to_pylist()
        except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid, ArrowIOError
            raise StoreError(f"dataset part {key} is unreadable: {one_line(exc)}") from exc


def dataset_pages(store: Store, crawl_ids: list[str]) -> list[Page]:
    """The pages of ``crawl_ids``' datasets, crawl by crawl, each in the dataset's order."""
    pages: list[Page] = []
    texts: dict[str, tuple[str | None, str | None]] = {}  # digest -> title, text
    for crawl_id in crawl_ids:
        rows = list(_rows(store, crawl_id))
        missing = {r.get("payload_digest") for r in rows if r.get("extraction") == "unchanged"}
        _remember(texts, rows)
        missing -= texts.keys()
        earlier = [c for c in list_crawl_ids(store) if c < crawl_id]
        for other in reversed(earlier):
            if not missing:
                break
            found = [r for r in _rows(store, other) if r.get("payload_digest") in missing]
            _remember(texts, found)
            missing -= texts.keys()
        for row in rows:
            if not row.get("fetched_at"):
                continue  # no time to replay it at
            title, text = row.get("title"), row.get("text")
            if row.get("extraction") == "unchanged":
                title, text = texts.get(str(row.get("payload_digest")), (title, text))
            pages.append(Page(str(row["url"]), _utc(str(row["fetched_at"])), title, text))
    return pages


def _remember(texts: dict[str, tuple[str | None, str | None]], rows: list[dict[str, Any]]) -> None:
    for row in rows:
        digest = row.get("payload_digest")
        if digest and row.get("extraction") != "unchanged":
            texts.setdefault(str(digest), (row.get("title"), row.get("text")))


def _utc(fetched_at: str) -> str:
    """``fetched_at`` (RFC 3339, UTC) to the second, with a ``Z``, as pages.jsonl's ``ts``."""
    return fetched_at.replace("+00:00", "Z").split(".")[0].removesuffix("Z") + "Z"


def main_page(store: Store, crawl_ids: list[str], pages: list[Page]) -> Page | None:
    """The first crawl's first seed, as that crawl captured it; None if it has no page."""
    for crawl_id in crawl_ids:
        try:
            info = CrawlInfo.from_dict(json.loads(store.get(info_key(crawl_id))))
        except (StoreMissing, ValueError):
            continue
        for seed in info.seeds:
            for page in pages:
                if page.url == seed:
                    return page
    return pages[0] if pages else None
