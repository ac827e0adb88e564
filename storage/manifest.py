"""Crawl manifests: what a crawl stored, with sizes and SHA-256, chained to the crawl before.

``crawls/<id>/manifest.json`` lists every file a crawl published, the software that
made it, its seeds and counts, the extraction options (``fast``), and the SHA-256 of the previous crawl's manifest
(the latest earlier crawl id that has one). Editing or deleting an earlier manifest
therefore breaks the chain, which ``verify_store`` reports along with every file whose
size or content no longer matches.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import platform
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from storage.errors import StoreError, StoreMissing
from storage.hashing import CHUNK_SIZE, sha256_chunks, sha256_file
from storage.layout import crawl_exists, list_crawl_ids, manifest_key, validate_crawl_id
from storage.stores import Store
from storage.warcverify import check_warc

FORMAT = "scrubwatch-manifest/1"
SOFTWARE = ("scrubwatch", "scrapy", "warcio", "trafilatura")
#: WARC bytes from which :func:`entries_ahead` checks them in other processes
CHECK_AHEAD_BYTES = 16 * 1024**2

Entry = Callable[[str, Path], dict[str, Any]]


@dataclass(frozen=True)
class Problem:
    """Something ``verify_store`` found wrong with the object at ``key``."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


def _version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _previous(store: Store, crawl_id: str) -> dict[str, str] | None:
    for earlier in reversed([c for c in list_crawl_ids(store) if c < crawl_id]):
        try:
            data = store.get(manifest_key(earlier))
        except StoreMissing:
            continue
        return {"crawl_id": earlier, "sha256": hashlib.sha256(data).hexdigest()}
    return None


def file_entry(key: str, path: Path) -> dict[str, Any]:
    """Bytes and SHA-256 of a file; for a WARC file also how many records it holds."""
    if not key.endswith(".warc.gz"):
        return {"path": key, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
    with path.open("rb") as fh:
        check = check_warc(iter(lambda: fh.read(CHUNK_SIZE), b""))
    entry: dict[str, Any] = {"path": key, "bytes": check.bytes, "sha256": check.sha256}
    if not check.problems:  # a count read from a broken file would mean nothing
        entry["records"] = check.records
    return entry


@contextmanager
def entries_ahead(files: list[tuple[str, Path]]) -> Iterator[Entry]:
    """:func:`file_entry`, with the checks of the WARC files among ``files`` started now.

    Checking a WARC file reads all of it (half a second for 100 MB): publishing a crawl
    does it in other processes, one a core but one, while its own thread builds the
    index. Below :data:`CHECK_AHEAD_BYTES` of WARC files, or on one core, the checks run
    in the caller's thread when asked for, as they would without this. A check whose
    process died is done again in the caller's thread; any other error is raised there,
    as ``file_entry`` would raise it.
    """
    warcs = [(key, path) for key, path in files if key.endswith(".warc.gz")]
    workers = min(len(warcs), (os.cpu_count() or 1) - 1)
    if workers < 1 or sum(path.stat().st_size for _, path in warcs) < CHECK_AHEAD_BYTES:
        yield file_entry
        return
    # The fork server (the extraction workers' if the crawl has them): the caller is a
    # thread of a process with others, which a plain fork would copy in any state.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending: dict[tuple[str, Path], Future[dict[str, Any]]] = {
            (key, path): pool.submit(file_entry, key, path) for key, path in warcs
        }

        def entry(key: str, path: Path) -> dict[str, Any]:
            future = pending.pop((key, path), None)
            if future is None:
                return file_entry(key, path)
            try:
                return future.result()
            except BrokenProcessPool:
                return file_entry(key, path)

        try:
            yield entry
        finally:
            for future in pending.values():
                future.cancel()


def build_manifest(
    store: Store,
    crawl_id: str,
    files: list[tuple[str, Path]],
    info: dict[str, Any],
    *,
    created: datetime | None = None,
    entry: Entry = file_entry,
) -> dict[str, Any]:
    """The manifest of ``crawl_id`` for ``files`` ((key, local path) pairs) about to be stored.

    ``info`` gives ``counts`` (a dict of named numbers) and ``seeds`` (a list); the
    previous manifest is looked up in ``store``. ``entry`` makes each file's entry: an
    :func:`entries_ahead` one has the WARC files checked already.
    """
    entries = [entry(key, path) for key, path in sorted(files)]
    return manifest_of(store, crawl_id, entries, info, created=created)


def stored_entry(store: Store, key: str) -> dict[str, Any]:
    """``file_entry`` of a file already in ``store`` (one that another worker put there).

    A WARC file is read back to count its records; another file's SHA-256 comes from
    the store when it knows it cheaply (S3 metadata), else from reading it back.
    """
    if not key.endswith(".warc.gz"):
        sha256 = store.sha256(key) or sha256_chunks(store.read_chunks(key))
        return {"path": key, "bytes": store.size(key), "sha256": sha256}
    check = check_warc(store.read_chunks(key))
    entry: dict[str, Any] = {"path": key, "bytes": check.bytes, "sha256": check.sha256}
    if not check.problems:
        entry["records"] = check.records
    return entry


def manifest_of(
    store: Store,
    crawl_id: str,
    entries: list[dict[str, Any]],
    info: dict[str, Any],
    *,
    created: datetime | None = None,
) -> dict[str, Any]:
    """``build_manifest`` for files given by their entries (``path``, ``bytes``, ``sha256``)."""
    keys = [entry["path"] for entry in entries]
    if len(set(keys)) != len(keys):
        raise ValueError(f"manifest of crawl {crawl_id} lists a key twice")
    software: dict[str, str | None] = {name: _version(name) for name in SOFTWARE}
    software["python"] = platform.python_version()
    return {
        "format": FORMAT,
        "crawl_id": validate_crawl_id(crawl_id),
        "created": (created or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": sorted(entries, key=lambda entry: str(entry["path"])),
        "counts": dict(info.get("counts", {})),
        "software": software,
        "seeds": list(info.get("seeds", [])),
        "extraction": dict(info.get("extraction", {})),
        "previous": _previous(store, crawl_id),
    }


def serialize_manifest(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, sort_keys=True, indent=1) + "\n").encode()


def write_manifest(
    store: Store,
    crawl_id: str,
    files: list[tuple[str, Path]],
    info: dict[str, Any],
    *,
    created: datetime | None = None,
    entry: Entry = file_entry,
) -> dict[str, Any]:
    """Build the manifest of ``crawl_id`` and store it; a different one there is a StoreConflict."""
    manifest = build_manifest(store, crawl_id, files, info, created=created, entry=entry)
    return store_manifest(store, manifest)


def store_manifest(store: Store, manifest: dict[str, Any]) -> dict[str, Any]:
    """Store a manifest made by ``build_manifest`` or ``manifest_of``; return it."""
    store.put_bytes(manifest_key(manifest["crawl_id"]), serialize_manifest(manifest))
    return manifest


def load_manifest(store: Store, crawl_id: str) -> dict[str, Any]:
    """The stored manifest of ``crawl_id``; StoreError if it is missing or unreadable."""
    key = manifest_key(crawl_id)
    return parse_manifest(store.get(key), f"manifest {key} in store {store.uri}")


def parse_manifest(data: bytes, name: str) -> dict[str, Any]:
    """The manifest in ``data``; StoreError starting with ``name`` if it is not a valid one."""
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise StoreError(f"{name} is not valid JSON: {exc}") from exc
    if not (
        isinstance(manifest, dict)
        and manifest.get("format") == FORMAT
        and isinstance(manifest.get("files"), list)
        and all(
            isinstance(f, dict)
            and {"path", "bytes", "sha256"} <= f.keys()
            and isinstance(f["path"], str)
            and isinstance(f["bytes"], int)
            and isinstance(f["sha256"], str)
            for f in manifest["files"]
        )
        and (manifest.get("previous") is None or isinstance(manifest["previous"], dict))
    ):
        raise StoreError(f"{name} is not a {FORMAT} manifest")
    return manifest


def _verify_file(store: Store, entry: dict[str, Any]) -> Problem | None:
    key = entry["path"]
    try:
        size = store.size(key)
    except StoreMissing:
        return Problem(key, "missing")
    except ValueError:
        return Problem(str(key), "not a valid store key")
    if size != entry["bytes"]:
        return Problem(
            key, f"size mismatch: manifest says {entry['bytes']} bytes, store has {size}"
        )
    if key.endswith(".warc.gz"):
        check = check_warc(store.read_chunks(key))
        if check.sha256 != entry["sha256"]:
            return Problem(key, "sha256 mismatch")
        if check.problems:
            return Problem(key, "; ".join(check.problems[:3]))
        if "records" in entry and entry["records"] != check.records:
            return Problem(
                key, f"record count: manifest says {entry['records']}, file has {check.records}"
            )
        return None
    if sha256_chunks(store.read_chunks(key)) != entry["sha256"]:
        return Problem(key, "sha256 mismatch")
    return None


def _verify_chain(store: Store, crawl_id: str, previous: dict[str, Any] | None) -> Problem | None:
    if previous is None:
        return None
    earlier = previous.get("crawl_id", "")
    try:
        data = store.get(manifest_key(earlier))
    except (StoreMissing, ValueError):
        return Problem(manifest_key(crawl_id), f"chain broken: previous manifest {earlier} missing")
    if hashlib.sha256(data).hexdigest() != previous.get("sha256"):
        return Problem(
            manifest_key(crawl_id), f"chain broken: previous manifest {earlier} hash differs"
        )
    return None


@dataclass
class Verification:
    """What ``verify_crawls`` checked (crawls, files listed in their manifests) and found."""

    crawls: int
    files: int
    problems: list[Problem]


def verify_crawls(store: Store, crawl_id: str | None = None) -> Verification:
    """Re-hash every file the manifests list and check the chain, of one crawl or all.

    A named crawl that the store does not hold at all is a StoreMissing.
    """
    if crawl_id is not None and not crawl_exists(store, validate_crawl_id(crawl_id)):
        raise StoreMissing(f"crawl {crawl_id} is not in store {store.uri}")
    crawl_ids = [crawl_id] if crawl_id is not None else list_crawl_ids(store)
    problems: list[Problem] = []
    files = 0
    for cid in crawl_ids:
        try:
            manifest = load_manifest(store, cid)
        except StoreMissing:
            problems.append(Problem(manifest_key(cid), "missing"))
            continue
        except StoreError as exc:
            problems.append(Problem(manifest_key(cid), str(exc)))
            continue
        if manifest.get("crawl_id") != cid:
            problems.append(Problem(manifest_key(cid), f"names crawl {manifest.get('crawl_id')}"))
        for entry in manifest["files"]:
            files += 1
            if problem := _verify_file(store, entry):
                problems.append(problem)
        if problem := _verify_chain(store, cid, manifest.get("previous")):
            problems.append(problem)
    return Verification(len(crawl_ids), files, problems)


def verify_store(store: Store, crawl_id: str | None = None) -> list[Problem]:
    """The problems ``verify_crawls`` finds: an empty list when everything checks out."""
    return verify_crawls(store, crawl_id).problems
