"""Closes a crawl that several workers shared: one index, one crawl-info.json, the manifest.

Each worker of a shared crawl (see ``crawler.frontier``) puts its own files into the
store and no manifest: its WARC files, ``crawl-log.<worker>.jsonl.gz``,
``indexes/index.<worker>.cdxj.gz``, ``indexes/digests.<worker>.jsonl.gz``, its dataset
parts and ``crawl-info.<worker>.json``. The coordinator, once every worker has
published or is gone, closes the crawl: it merge-sorts the workers' CDXJ indexes into
``indexes/index.cdxj.gz`` (with its ``.idx`` and ``.loc``), sums their counts into
``crawl-info.json``, and writes the manifest over every file of the crawl
(``storage.layout.crawl_keys``: its folder and its dataset partitions), other workers' files included
(their sizes and digests read from the store, see ``storage.fixity.stored_entry``).
The manifest goes last, as for a crawl run by one process.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from storage.cdxj import cdxj_lines, merge_cdxj, zipnum
from storage.crawlinfo import CrawlInfo, Role
from storage.errors import StoreError
from storage.fixity import stored_entry
from storage.layout import (
    INDEX_NAME,
    crawl_keys,
    index_key,
    info_key,
    manifest_key,
    worker_copies,
)
from storage.manifest import Manifest, manifest_of, store_manifest
from storage.stores import Store

COORDINATOR: Role = "coordinator"
WORKER: Role = "worker"


def merged_info(own: CrawlInfo, shares: list[CrawlInfo]) -> CrawlInfo:
    """The crawl-info of a shared crawl: the coordinator's, with every worker's counts summed."""
    counts: Counter[str] = Counter()
    for share in shares:
        counts.update(share.counts)
    started = [s.started for s in shares if s.started]
    finished = [s.finished for s in shares if s.finished]
    return replace(
        own,
        worker=None,
        role=None,
        counts=dict(sorted(counts.items())),
        started=min(started, default=own.started),
        finished=max(finished, default=own.finished),
        workers=sorted(str(s.worker) for s in shares),
    )


def _share(store: Store, key: str) -> CrawlInfo:
    try:
        return CrawlInfo.from_json(store.get(key))
    except ValueError as exc:
        raise StoreError(f"{key} in store {store.uri} is not a crawl-info: {exc}") from exc


def close_shared_crawl(store: Store, crawl_id: str, own: CrawlInfo) -> Manifest:
    """Write the merged index, the merged crawl-info.json and the manifest; return the manifest.

    ``own`` is the coordinator's crawl-info. Safe to run again: what it writes is the
    same as long as the workers' files are.
    """
    keys = [k for k in crawl_keys(store, crawl_id) if k != manifest_key(crawl_id)]
    written = []
    parts = worker_copies(keys, index_key(crawl_id))
    if parts:
        merged = merge_cdxj(cdxj_lines(store.get(k)) for k in parts)
        for name, content in reversed(zipnum(merged, INDEX_NAME).items()):
            store.put_bytes(index_key(crawl_id, name), content)
            written.append(index_key(crawl_id, name))
    shares = [_share(store, k) for k in worker_copies(keys, info_key(crawl_id))]
    info = merged_info(own, shares)
    store.put_bytes(info_key(crawl_id), info.to_json().encode())
    written.append(info_key(crawl_id))
    entries = [stored_entry(store, key) for key in sorted(set(keys) | set(written))]
    return store_manifest(store, manifest_of(store, crawl_id, entries, info))
