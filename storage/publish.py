"""Puts a finished crawl from its staging folder into the store.

Order matters for evidence: the CDXJ index is built from the closed WARC files,
every file is put (checksummed, never overwriting), and the manifest goes last,
so a crawl with a manifest is complete. Staged copies are removed only once
everything is stored; after a failure they stay and ``scrubwatch push`` resumes.

Publishing is idempotent: a file already stored with the same content is skipped
(``put`` returns False), and a crawl whose manifest is already stored is done once
its staged files are checked against that manifest. ``storage.push`` publishes what
an earlier run left staged.

One worker of a shared crawl (its staged ``crawl-info.<worker>.json`` says so) puts
its files and no manifest; the coordinator's share then closes the crawl
(:mod:`storage.sharedcrawl`), after its workers have published.
"""

from __future__ import annotations

import logging
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from storage.cdxj import build_cdxj, zipnum
from storage.cdxjlines import lines_path
from storage.crawlinfo import CrawlInfo
from storage.errors import StoreError, one_line
from storage.fixity import entries_ahead
from storage.hashing import sha256_file
from storage.layout import (
    INDEX_NAME,
    INFO_NAME,
    index_key,
    info_key,
    local_path,
    manifest_key,
    open_path,
    staged_crawl,
    staged_dirs,
    staged_files,
    staged_indexes,
    staged_warcs,
    validate_crawl_id,
    worker_file,
    worker_of,
)
from storage.manifest import Manifest, load_manifest, write_manifest
from storage.sharedcrawl import COORDINATOR, close_shared_crawl
from storage.stores import Store

logger = logging.getLogger(__name__)


class PublishError(StoreError):
    """Some files of a crawl could not be stored; they are kept in staging."""


@dataclass
class Published:
    """What publishing one crawl did: keys written, keys found already stored, the manifest."""

    crawl_id: str
    stored: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    manifest: Manifest | None = None  # None for one worker's share of a shared crawl


def push_command(store: Store, staging_root: Path, crawl_id: str) -> str:
    """The ``scrubwatch push`` command line that finishes publishing ``crawl_id``."""
    words = ["scrubwatch", "push", "--store", store.uri, "--staging", str(staging_root)]
    words += ["--crawl", crawl_id]
    if store.retention is not None:
        words += ["--retain-days", str(store.retention.days), "--lock-mode", store.retention.mode]
    return shlex.join(words)


def write_info(
    staging_root: Path, crawl_id: str, info: CrawlInfo, worker: str | None = None
) -> Path:
    """Keep the crawl's seeds and counts beside its files, for the manifest and for resume.

    ``worker``: one worker's share of a shared crawl (``crawl-info.<worker>.json``).
    """
    path = local_path(staging_root, info_key(crawl_id, worker))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(info.to_json())
    return path


def write_index(staging_root: Path, crawl_id: str, key: str) -> None:
    """The CDXJ index of the crawl's staged WARC files, as ZipNum files named after ``key``."""
    warcs = list(staged_warcs(staging_root, crawl_id).glob("*.warc.gz"))
    if not warcs:
        return
    index = local_path(staging_root, key)
    index.parent.mkdir(parents=True, exist_ok=True)
    kept = staged_indexes(staging_root, crawl_id)  # the lines the WARC writer kept
    # The data file last: publish_crawl takes its presence for a complete index.
    for name, data in reversed(zipnum(build_cdxj(warcs, kept), index.name).items()):
        tmp = open_path(index.with_name(name))
        tmp.write_bytes(data)
        tmp.replace(index.with_name(name))
    for warc in warcs:  # in the index now
        lines_path(warc, kept).unlink(missing_ok=True)


def staged_info(crawl_dir: Path) -> tuple[str | None, CrawlInfo] | None:
    """The staged crawl-info of ``crawl_dir`` and whose it is; None if there is none yet.

    ``(None, info)`` for a crawl run by one process, ``(worker, info)`` for one
    worker's share of a shared crawl.
    """
    shares = sorted(
        path
        for path in (crawl_dir.iterdir() if crawl_dir.is_dir() else [])
        if worker_of(path.name, INFO_NAME) is not None
    )
    for path in [crawl_dir / INFO_NAME, *shares]:
        worker = worker_of(path.name, INFO_NAME)
        try:
            info = CrawlInfo.from_json(path.read_text())
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            raise PublishError(f"cannot read {path}: {one_line(exc)}") from exc
        return worker, info
    return None


def read_info(crawl_dir: Path) -> CrawlInfo | None:
    """The staged crawl-info of ``crawl_dir`` (a worker's, for a shared crawl), None if none yet."""
    found = staged_info(crawl_dir)
    return found[1] if found is not None else None


def _remove_staged(store: Store, staging_root: Path, crawl_id: str) -> None:
    """Remove the crawl's staged folders, once everything in them is stored."""
    stored = [] if store.local_root is None else staged_dirs(store.local_root, crawl_id)
    for folder in staged_dirs(staging_root, crawl_id):
        # A staging folder that is the store's own folder is the stored copy.
        if not any(folder.resolve() == mine.resolve() for mine in stored):
            shutil.rmtree(folder, ignore_errors=True)


def _already_complete(store: Store, staging_root: Path, crawl_id: str) -> Published:
    """Check what is still staged against the stored manifest, then drop the staged copy."""
    try:
        manifest = load_manifest(store, crawl_id)
    except StoreError as exc:
        raise PublishError(one_line(exc)) from exc
    listed = {entry.path: entry.sha256 for entry in manifest.files}
    crawl_dir = staged_crawl(staging_root, crawl_id)
    files = [(k, p) for k, p in staged_files(staging_root, crawl_id) if k != manifest_key(crawl_id)]
    for key, path in files:
        if listed.get(key) != sha256_file(path):
            raise PublishError(
                f"crawl {crawl_id} is already complete in store {store.uri}, but its staged "
                f"{key} is not in that manifest: the staged copy is kept in {crawl_dir}"
            )
    _remove_staged(store, staging_root, crawl_id)
    return Published(crawl_id, already_there=[k for k, _ in files], manifest=manifest)


def publish_crawl(store: Store, staging_root: Path, crawl_id: str) -> Published:
    """Index, store and manifest the staged crawl; raise PublishError naming what failed.

    Safe to run again after any failure: nothing stored is written twice or replaced.
    """
    crawl_dir = staged_crawl(staging_root, validate_crawl_id(crawl_id))
    if store.exists(manifest_key(crawl_id)):
        return _already_complete(store, staging_root, crawl_id)
    if not crawl_dir.is_dir():
        raise PublishError(f"crawl {crawl_id} has nothing staged in {staging_root}")
    worker, info = staged_info(crawl_dir) or (None, CrawlInfo())
    index = index_key(crawl_id, worker_file(INDEX_NAME, worker))
    result = Published(crawl_id)
    failed: list[str] = []
    # The WARC files are checked for the manifest (which a worker's share has none of)
    # beside the index, which reads them too.
    ahead = staged_files(staging_root, crawl_id) if worker is None else []
    with entries_ahead(ahead) as entry:
        if not local_path(staging_root, index).exists():
            write_index(staging_root, crawl_id, index)
        files = [
            (k, p) for k, p in staged_files(staging_root, crawl_id) if k != manifest_key(crawl_id)
        ]
        for key, path in files:
            try:
                (result.stored if store.put(key, path) else result.already_there).append(key)
            except StoreError as exc:
                logger.error("could not store %s: %s", key, one_line(exc))
                failed.append(key)
        if not failed:
            try:
                if worker is None:
                    result.manifest = write_manifest(store, crawl_id, files, info, entry=entry)
                elif info.role == COORDINATOR:
                    result.manifest = close_shared_crawl(store, crawl_id, info)
            except StoreError as exc:
                logger.error("could not store %s: %s", manifest_key(crawl_id), one_line(exc))
                failed.append(manifest_key(crawl_id))
    if failed:
        raise PublishError(
            f"{len(failed)} file(s) of crawl {crawl_id} were not stored in {store.uri} "
            f"(first: {failed[0]}); they are kept in {crawl_dir}: run "
            f"`{push_command(store, staging_root, crawl_id)}` to finish"
        )
    _remove_staged(store, staging_root, crawl_id)
    return result
