"""The crawls a store holds: when, from which seeds, how big, and whether complete.

A crawl is complete when its manifest is stored (it goes last, see
``storage.publish``); its numbers then come from the manifest: ``created``, the
seeds, the pages (the ``crawl/items/*`` counts) and the files with their bytes.
A crawl with files but no readable manifest (an upload that failed part-way) is
incomplete: its files are listed and sized one by one, and its time, seeds and
pages come from its ``crawl-info.json`` if that was stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.crawlinfo import CrawlInfo
from storage.errors import StoreError, StoreMissing, one_line
from storage.layout import copies_of, crawl_keys, info_key, list_crawl_ids
from storage.manifest import Manifest, load_manifest
from storage.stores import Store

PAGE_COUNTS = "crawl/items/"


@dataclass
class CrawlEntry:
    """One crawl of a store, as ``scrubwatch crawls`` shows it."""

    crawl_id: str
    complete: bool
    time: datetime | None = None
    seeds: list[str] = field(default_factory=list)
    pages: int = 0
    bytes: int = 0
    files: int = 0
    note: str = ""
    imported_from: str | None = None  # the archive an imported crawl came from

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready values (time in RFC 3339)."""
        return {
            "crawl_id": self.crawl_id,
            "complete": self.complete,
            "time": self.time.isoformat().replace("+00:00", "Z") if self.time else None,
            "seeds": self.seeds,
            "pages": self.pages,
            "bytes": self.bytes,
            "files": self.files,
            "note": self.note,
            **({"imported_from": self.imported_from} if self.imported_from else {}),
        }


def parse_time(value: object) -> datetime | None:
    """A timezone-aware datetime from an ISO 8601 string, or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _pages(counts: dict[str, int]) -> int:
    return sum(v for k, v in counts.items() if k.startswith(PAGE_COUNTS) and isinstance(v, int))


def _complete(crawl_id: str, manifest: Manifest) -> CrawlEntry:
    return CrawlEntry(
        crawl_id,
        complete=True,
        time=parse_time(manifest.created),
        seeds=list(manifest.seeds),
        pages=_pages(manifest.counts),
        bytes=sum(f.bytes for f in manifest.files),
        files=len(manifest.files),
        imported_from=manifest.extra.get("imported_from"),
    )


def _incomplete(store: Store, crawl_id: str, note: str) -> CrawlEntry:
    keys = crawl_keys(store, crawl_id)
    entry = CrawlEntry(
        crawl_id, complete=False, bytes=sum(store.size(k) for k in keys), files=len(keys), note=note
    )
    infos = copies_of(store, info_key(crawl_id))  # a shared crawl's: one per worker
    try:
        info = CrawlInfo.from_json(store.get(infos[0])) if infos else None
    except (StoreMissing, ValueError):
        return entry
    if info is not None:
        entry.time = parse_time(info.started)
        entry.seeds = list(info.seeds)
        entry.pages = _pages(info.counts)
    return entry


def list_crawls(store: Store) -> list[CrawlEntry]:
    """Every crawl in ``store``, sorted by crawl id."""
    entries = []
    for crawl_id in list_crawl_ids(store):
        try:
            entries.append(_complete(crawl_id, load_manifest(store, crawl_id)))
        except StoreMissing:
            entries.append(
                _incomplete(store, crawl_id, "no manifest: unfinished upload, see scrubwatch push")
            )
        except StoreError as exc:
            entries.append(_incomplete(store, crawl_id, f"manifest unreadable: {one_line(exc)}"))
    return entries
