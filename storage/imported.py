"""Which crawls of a store were imported from another archive, and from which.

An imported crawl (``scrubwatch import``) names its archive in its manifest's
``imported_from``; the timeline and the report mark the evidence it holds with it.
"""

from __future__ import annotations

from storage.errors import StoreError
from storage.manifest import load_manifest
from storage.stores import Store


class ImportedCrawls:
    """Crawl id -> the archive it was imported from (None: crawled here), each manifest
    read once per command."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._seen: dict[str, str | None] = {}

    def __call__(self, crawl_id: str) -> str | None:
        if crawl_id not in self._seen:
            try:
                source = load_manifest(self.store, crawl_id).extra.get("imported_from")
            except StoreError:  # no manifest (yet): not a complete import
                source = None
            self._seen[crawl_id] = str(source) if source else None
        return self._seen[crawl_id]
