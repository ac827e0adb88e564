"""``export_crawls``: the WACZ package of a store's crawls, pages and main page included.

The one call ``scrubwatch export``, ``scrubwatch replay`` and the demo make: it picks the
crawls (default: the latest), reads their pages from the datasets
(:mod:`storage.waczpages`) and writes the package (:mod:`storage.wacz`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from storage.errors import StoreError
from storage.layout import list_crawl_ids
from storage.wacz import Export, write_wacz
from storage.waczpages import dataset_pages, main_page

if TYPE_CHECKING:
    from storage.stores import Store
    from storage.waczsign import Signer


def export_crawls(
    store: Store,
    crawl_ids: list[str] | tuple[str, ...],
    out: Path,
    *,
    software: str,
    urls: tuple[str, ...] = (),
    signer: Signer | None = None,
    title: str | None = None,
) -> Export:
    """Write the WACZ of ``crawl_ids`` (none: the latest crawl) to ``out``."""
    chosen = list(crawl_ids) or list_crawl_ids(store)[-1:]
    if not chosen:
        raise StoreError(f"no crawls in store {store.uri}")
    pages = dataset_pages(store, chosen)
    return write_wacz(
        store,
        chosen,
        out,
        pages=pages,
        created=datetime.now(UTC),
        software=software,
        title=title or f"scrubwatch crawls {', '.join(chosen)}",
        main_page=main_page(store, chosen, pages),
        urls=frozenset(urls) if urls else None,
        signer=signer,
    )
