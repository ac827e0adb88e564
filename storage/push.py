"""Publishes what earlier runs left staged: ``scrubwatch push``.

After a failed upload a crawl's files stay in its staging folder (see
``storage.publish``); ``push`` runs ``publish_crawl`` on them again, which stores
what is missing and then the manifest. A staged crawl is ready once its
``crawl-info.json`` is there, which the crawler writes when it stops; until then it
may still be running. Each S3 store has a staging folder of its own
(``~/.cache/scrubwatch/staging/<store>``), but ``STAGING_DIR`` may be shared, so
without named crawls only those whose crawl-info.json names the store are pushed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from storage.crawlinfo import CrawlInfo
from storage.errors import StoreError, one_line
from storage.layout import (
    CRAWLS,
    INFO_NAME,
    local_path,
    manifest_key,
    staged_crawl,
    validate_crawl_id,
)
from storage.publish import Published, PublishError, publish_crawl, read_info
from storage.stores import Store, open_store


@dataclass
class PushResult:
    """The crawls ``push`` published, and the error of each one it could not."""

    published: list[Published] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def _same_store(recorded: object, store: Store) -> bool:
    """Whether the store URI ``recorded`` in a crawl-info.json names ``store``."""
    if not isinstance(recorded, str) or not recorded:
        return False
    if recorded == store.uri:
        return True
    if store.local_root is None:
        return False
    try:
        root = open_store(recorded).local_root
    except (StoreError, ValueError):
        return False
    # A relative folder is taken relative to the current folder, as when it was given.
    return root is not None and root.resolve() == store.local_root.resolve()


def staged_crawl_ids(staging_root: Path, store: Store | None = None) -> list[str]:
    """Crawls staged under ``staging_root`` that have finished (their crawl-info.json is there).

    With ``store``, only those whose crawl-info.json names that store.
    """
    ids = []
    crawls = local_path(staging_root, CRAWLS)
    for crawl_dir in sorted(crawls.iterdir() if crawls.is_dir() else []):
        try:
            # a crawl-info.<worker>.json: one worker's share of a shared crawl
            info = read_info(crawl_dir)
        except PublishError:
            info = CrawlInfo()  # unreadable: pushed only when named
        if info is None:
            continue
        if store is None or _same_store(info.store, store):
            ids.append(crawl_dir.name)
    return ids


def _check_pushable(store: Store, staging_root: Path, crawl_id: str) -> None:
    crawl_dir = staged_crawl(staging_root, validate_crawl_id(crawl_id))
    if not crawl_dir.is_dir():
        if not store.exists(manifest_key(crawl_id)):
            raise PublishError(
                f"crawl {crawl_id} has nothing staged in {staging_root} "
                f"and is not in store {store.uri}"
            )
    elif read_info(crawl_dir) is None:
        raise PublishError(
            f"crawl {crawl_id} in {staging_root} has not finished (no {INFO_NAME}): "
            "it is still running, or was killed"
        )


def push(store: Store, staging_root: Path, crawl_ids: list[str] | None = None) -> PushResult:
    """Publish the given staged crawls, or every finished crawl staged for ``store``.

    A named crawl that is neither staged nor stored, or has not finished (no
    crawl-info.json: still running, or killed), raises PublishError before anything is
    put. Then each crawl's failure is recorded and the others still go.
    """
    if crawl_ids is None:
        crawl_ids = staged_crawl_ids(staging_root, store)
    else:
        for crawl_id in crawl_ids:
            _check_pushable(store, staging_root, crawl_id)
    result = PushResult()
    for crawl_id in crawl_ids:
        try:
            result.published.append(publish_crawl(store, staging_root, crawl_id))
        except StoreError as exc:
            result.failed[crawl_id] = one_line(exc)
    return result
