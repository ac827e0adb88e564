"""The store's digest index: which payloads are archived already, and where first.

Each crawl writes ``crawls/<id>/indexes/digests.jsonl.gz`` (each worker of a shared
crawl its own ``digests.<worker>.jsonl.gz``): one line per payload it archived in full
(``{"digest", "uri", "date", "record_id", "filename", "offset"}``).
The union over the store's crawls is the digest index: a later crawl that meets
one of these payloads again writes a revisit record that refers to the original,
so the store grows by headers, not by copies.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from storage.errors import StoreError, StoreMissing
from storage.layout import copies_of, digests_key, list_crawl_ids, open_path
from storage.stores import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArchivedPayload:
    """Where a payload was first archived in full."""

    digest: str
    uri: str
    date: str
    record_id: str
    crawl_id: str
    filename: str
    offset: int


def parse_lines(data: bytes, crawl_id: str) -> Iterator[ArchivedPayload]:
    for line in gzip.decompress(data).splitlines():
        if line.strip():
            entry = json.loads(line)
            entry["crawl_id"] = crawl_id
            yield ArchivedPayload(**entry)


def load_digest_index(store: Store, *, before: str | None = None) -> dict[str, ArchivedPayload]:
    """Digest -> first archived payload, over the store's crawls (those before ``before``)."""
    index: dict[str, ArchivedPayload] = {}
    for crawl_id in list_crawl_ids(store):
        if before is not None and crawl_id >= before:
            continue
        for key in copies_of(store, digests_key(crawl_id)):
            try:
                data = store.get(key)
            except StoreMissing:
                continue
            try:
                for payload in parse_lines(data, crawl_id):
                    index.setdefault(payload.digest, payload)
            except (OSError, ValueError, TypeError) as exc:
                raise StoreError(f"digest index {key} is unreadable: {exc}") from exc
    return index


class StoreDigests:
    """The digest index of a store's crawls (those before ``before``), read on first use.

    One object serves one command, or one crawl: every revisit it resolves looks the
    payload up in the index read once, not in the store again. Safe to share between
    threads.
    """

    def __init__(self, store: Store, *, before: str | None = None) -> None:
        self.store = store
        self.before = before
        self._index: dict[str, ArchivedPayload] | None = None
        self._lock = threading.Lock()

    def load(self) -> dict[str, ArchivedPayload]:
        with self._lock:
            if self._index is None:
                self._index = load_digest_index(self.store, before=self.before)
            return self._index

    def get(self, digest: str) -> ArchivedPayload | None:
        return self.load().get(digest)

    def __len__(self) -> int:
        return len(self.load())


class DigestLog:
    """Appends this crawl's full payloads to its digests file (gzip, line by line)."""

    def __init__(self, path: Path, crawl_id: str) -> None:
        self.path = path
        self.crawl_id = crawl_id
        self._fh: gzip.GzipFile | None = None

    def add(self, payload: ArchivedPayload) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = gzip.GzipFile(open_path(self.path), "wb")
        entry = asdict(payload)
        entry.pop("crawl_id")
        self._fh.write(json.dumps(entry, separators=(",", ":")).encode() + b"\n")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            open_path(self.path).rename(self.path)
