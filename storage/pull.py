"""Copies complete crawls from a store into a local folder, checked against their manifests.

``DEST`` mirrors the store (``DEST/crawls/<id>/...``, ``DEST/datasets/...``, see
:mod:`storage.layout`), so a pulled dataset opens as the store's does. Only crawls with a manifest are pulled,
and each crawl's ``manifest.json`` always comes along. Every file is streamed to a
temporary name, checked against the manifest's size and SHA-256, and only then
given its name: a mismatch leaves nothing behind and is reported naming the file.
A file already in DEST that matches the manifest is skipped, so a pull resumes.

What is pulled (``what``): ``text`` the dataset parts (the crawl's partitions of
``datasets/text`` and ``datasets/text-jsonl``, or ``crawls/<id>/text/`` in crawls
stored by earlier versions), ``warc`` the WARC files and indexes, ``all`` every file of
the manifest. The crawl log, crawl-info.json and other top-level files always come along. ``outlet`` keeps the WARC files holding a capture of that
outlet (or the original payload of one of its revisits), and a crawl's text parts and
indexes only if it captured something of that outlet. This is decided from the crawl
log (``url``, ``outlet``, ``warc_filename`` per capture), not by opening the parts: a
part may then hold rows of other outlets too, which a reader filters on ``outlet``.
"""

from __future__ import annotations

import hashlib
import os
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

from storage.catalog import parse_time
from storage.crawllog import is_crawl_log_key, parse_crawl_log
from storage.errors import BadInput, StoreError, StoreMissing, one_line
from storage.fixity import FileEntry
from storage.hashing import sha256_file
from storage.layout import (
    INDEX_FOLDER,
    SEARCH_DATASET,
    TEXT_DATASET,
    WARC_FOLDER,
    crawl_exists,
    crawl_folder,
    list_crawl_ids,
    local_path,
    manifest_key,
    validate_crawl_id,
)
from storage.manifest import Manifest, parse_manifest
from storage.stores import Store
from storage.verify import Problem

# the parts of a crawl (storage.layout.crawl_folder) each choice pulls; None: every part
WHAT = {"text": {TEXT_DATASET, SEARCH_DATASET}, "warc": {WARC_FOLDER, INDEX_FOLDER}, "all": None}


class Progress(Protocol):
    """Where ``pull`` reports bytes: a ``tqdm`` bar fits."""

    def reset(self, total: float | None = None) -> None: ...

    def update(self, n: float = 1) -> bool | None: ...


@dataclass
class PullResult:
    """Keys downloaded, keys already in DEST, problems, and the crawls pulled or left out."""

    downloaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[Problem] = field(default_factory=list)
    crawls: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)


def parse_since(text: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an RFC 3339 time, as a timezone-aware datetime."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise BadInput(
            f"--since {text!r}: use YYYY-MM-DD or an RFC 3339 time like 2026-01-31T12:00:00Z"
        )
    return parsed


def _fetch(store: Store, entry: FileEntry, dest: Path, progress: Progress | None) -> bool:
    """Bring one manifest entry into ``dest``: True if downloaded, False if already there."""
    key, size, sha256 = entry.path, entry.bytes, entry.sha256
    path = local_path(dest, key)
    if path.is_file() and path.stat().st_size == size and sha256_file(path) == sha256:
        if progress is not None:
            progress.update(size)
        return False
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    digest, received = hashlib.sha256(), 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("xb") as out:
            for chunk in store.read_chunks(key):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if progress is not None:
                    progress.update(len(chunk))
        if received != size:
            raise StoreError(f"size mismatch: manifest says {size} bytes, store gave {received}")
        if digest.hexdigest() != sha256:
            raise StoreError("sha256 mismatch: the store's copy differs from its manifest")
        os.replace(tmp, path)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {one_line(exc)}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _outlet_warcs(logs: list[Path], outlet: str) -> set[str]:
    """WARC files holding a capture of ``outlet`` or the payload one of them revisits.

    ``logs`` are the crawl's logs: one, or one per worker of a shared crawl.
    """
    captures = []
    for log in logs:
        try:
            entries = parse_crawl_log(log.read_bytes())
        except (ValueError, zlib.error) as exc:
            raise StoreError(f"crawl log {log} is unreadable: {exc}") from exc
        captures += [e for e in entries if isinstance(e, dict) and e.get("outcome") == "captured"]
    mine = [e for e in captures if str(e.get("outlet") or "").casefold() == outlet.casefold()]
    digests = {e.get("payload_digest") for e in mine if e.get("record_type") == "revisit"}
    originals = [
        e
        for e in captures
        if e.get("record_type") == "response" and e.get("payload_digest") in digests
    ]
    return {str(e.get("warc_filename")) for e in mine + originals}


def _keep_for_outlet(crawl_id: str, key: str, warcs: set[str]) -> bool:
    folder = crawl_folder(crawl_id, key)
    if folder == "":
        return True
    if folder == WARC_FOLDER:
        return key.rsplit("/", 1)[1] in warcs
    return bool(warcs)  # text parts, indexes: when the crawl captured the outlet at all


class _Pull:
    """One pull: the state shared by the steps of ``pull``."""

    def __init__(self, store: Store, dest: Path) -> None:
        self.store, self.dest = store, dest
        self.result = PullResult()
        self.tried: set[str] = set()

    def fetch(self, entry: FileEntry, progress: Progress | None = None) -> bool:
        """``_fetch`` one entry once, recording the outcome; False if it failed."""
        if entry.path in self.tried:
            if progress is not None:
                progress.update(entry.bytes)
            return entry.path not in {p.key for p in self.result.failed}
        self.tried.add(entry.path)
        try:
            done = _fetch(self.store, entry, self.dest, progress)
        except (StoreError, ValueError) as exc:  # ValueError: a key that is not a store key
            self.result.failed.append(Problem(entry.path, one_line(exc)))
            return False
        (self.result.downloaded if done else self.result.skipped).append(entry.path)
        return True

    def manifest(self, crawl_id: str, named: bool) -> tuple[Manifest, FileEntry] | None:
        """The crawl's manifest and an entry to pull it by; None if it has none."""
        key = manifest_key(crawl_id)
        try:
            data = self.store.get(key)
        except StoreMissing:
            if named:
                raise StoreError(
                    f"crawl {crawl_id} in store {self.store.uri} is incomplete (no manifest): "
                    "finish it with scrubwatch push"
                ) from None
            self.result.incomplete.append(crawl_id)
            return None
        try:
            manifest = parse_manifest(data, "the manifest")
        except StoreError as exc:
            self.result.failed.append(Problem(key, one_line(exc)))
            return None
        return manifest, FileEntry(key, len(data), hashlib.sha256(data).hexdigest())

    def select(
        self, crawl_id: str, manifest: Manifest, what: str, outlet: str | None
    ) -> list[FileEntry]:
        """The manifest entries of ``crawl_id`` to pull (the crawl log is pulled now for ``outlet``)."""
        folders = WHAT[what]
        chosen = []
        for entry in manifest.files:
            folder = crawl_folder(crawl_id, entry.path)
            if folder is None:
                self.result.failed.append(Problem(entry.path, f"not a file of crawl {crawl_id}"))
                continue
            if folder == "" or folders is None or folder in folders:
                chosen.append(entry)
        if outlet is None:
            return chosen
        logs = [e for e in chosen if is_crawl_log_key(crawl_id, e.path)]
        fetched = [local_path(self.dest, e.path) for e in logs if self.fetch(e)]
        warcs = _outlet_warcs(fetched, outlet) if fetched else set()
        return [e for e in chosen if _keep_for_outlet(crawl_id, e.path, warcs)]


def pull(
    store: Store,
    dest: Path,
    *,
    crawls: list[str] | None = None,
    outlet: str | None = None,
    since: datetime | None = None,
    what: str = "text",
    progress: Progress | None = None,
) -> PullResult:
    """Copy the chosen complete crawls (default: all) from ``store`` into ``dest``.

    ``since`` keeps crawls whose manifest was created at or after it. A named crawl
    that is missing or incomplete is a StoreError before anything is downloaded.
    """
    if what not in WHAT:
        raise BadInput(f"unknown --what {what!r}: use {', '.join(WHAT)}")
    for crawl_id in crawls or []:
        if not crawl_exists(store, validate_crawl_id(crawl_id)):
            raise StoreMissing(f"crawl {crawl_id} is not in store {store.uri}")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot write {dest}: {one_line(exc)}") from exc
    run = _Pull(store, dest)
    entries = []
    for crawl_id in crawls if crawls is not None else list_crawl_ids(store):
        found = run.manifest(crawl_id, named=crawls is not None)
        if found is None:
            continue
        manifest, manifest_entry = found
        created = parse_time(manifest.created)
        if since is not None and (created is None or created < since):
            continue
        local = local_path(dest, manifest_entry.path)
        if local.is_file() and sha256_file(local) != manifest_entry.sha256:
            run.result.failed.append(
                Problem(manifest_entry.path, f"{local} differs from the store's manifest")
            )
            continue
        if run.fetch(manifest_entry):
            run.result.crawls.append(crawl_id)
            entries += run.select(crawl_id, manifest, what, outlet)
    if progress is not None:
        progress.reset(total=sum(e.bytes for e in entries))
    for entry in entries:
        run.fetch(entry, progress)
    return run.result
