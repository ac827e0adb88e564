"""Puts a finished crawl from its staging folder into the store.

Order matters for evidence: the CDXJ index is built from the closed WARC files,
every file is put (checksummed, never overwriting), and the manifest goes last,
so a crawl with a manifest is complete. Staged copies are removed only once
everything is stored; after a failure they stay and ``scrubwatch push`` resumes.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.cdxj import build_cdxj
from storage.errors import StoreError, one_line
from storage.layout import OPEN_SUFFIX, crawl_prefix, index_key, manifest_key, staged_files
from storage.manifest import write_manifest
from storage.stores import Store

logger = logging.getLogger(__name__)

INFO_NAME = "crawl-info.json"


class PublishError(StoreError):
    """Some files of a crawl could not be stored; they are kept in staging."""


@dataclass
class Published:
    crawl_id: str
    stored: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)


def write_info(staging_root: Path, crawl_id: str, info: dict[str, Any]) -> Path:
    """Keep the crawl's seeds and counts beside its files, for the manifest and for resume."""
    path = staging_root / crawl_prefix(crawl_id) / INFO_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info, indent=1, sort_keys=True, default=str) + "\n")
    return path


def _index(staging_root: Path, crawl_id: str) -> None:
    crawl_dir = staging_root / crawl_prefix(crawl_id)
    warcs = [p for p in (crawl_dir / "warc").glob("*.warc.gz")]
    if not warcs:
        return
    index = staging_root / index_key(crawl_id)
    index.parent.mkdir(parents=True, exist_ok=True)
    tmp = index.with_name(index.name + OPEN_SUFFIX)
    tmp.write_bytes(build_cdxj(warcs))
    tmp.replace(index)


def publish_crawl(store: Store, staging_root: Path, crawl_id: str) -> Published:
    """Index, store and manifest the staged crawl; raise PublishError naming what failed."""
    crawl_dir = staging_root / crawl_prefix(crawl_id)
    info_path = crawl_dir / INFO_NAME
    info: dict[str, Any] = json.loads(info_path.read_text()) if info_path.exists() else {}
    if store.exists(manifest_key(crawl_id)):
        raise PublishError(f"crawl {crawl_id} is already complete in store {store.uri}")
    if not (staging_root / index_key(crawl_id)).exists():
        _index(staging_root, crawl_id)
    result = Published(crawl_id)
    failed: list[str] = []
    files = [(k, p) for k, p in staged_files(staging_root, crawl_id) if k != manifest_key(crawl_id)]
    for key, path in files:
        try:
            (result.stored if store.put(key, path) else result.already_there).append(key)
        except StoreError as exc:
            logger.error("could not store %s: %s", key, one_line(exc))
            failed.append(key)
    if failed:
        raise PublishError(
            f"{len(failed)} file(s) of crawl {crawl_id} were not stored in {store.uri} "
            f"(first: {failed[0]}); they are kept in {crawl_dir}: run "
            f"`scrubwatch push --store {store.uri} --crawl {crawl_id}` to finish"
        )
    result.manifest = write_manifest(store, crawl_id, files, info)
    if (
        store.local_root is None
        or crawl_dir.resolve() != (store.local_root / crawl_prefix(crawl_id)).resolve()
    ):
        shutil.rmtree(crawl_dir, ignore_errors=True)
    return result
