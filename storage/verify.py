"""Verification of stored crawls against their manifests, and of the chain of manifests.

Every file a manifest lists is measured again from the store, as it was measured for
the manifest (:func:`storage.fixity.checked_entry` for a WARC file, which also checks
it record by record): a file missing, of another size, with another SHA-256, or a
WARC file that fails its check or holds another number of records is a
:class:`Problem`. A manifest whose ``previous`` no longer matches the bytes of the
manifest before it breaks the chain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from storage.errors import InvalidName, StoreError, StoreMissing
from storage.fixity import FileEntry, checked_entry, is_warc
from storage.hashing import sha256_chunks
from storage.layout import crawl_exists, list_crawl_ids, manifest_key, validate_crawl_id
from storage.manifest import Previous, load_manifest
from storage.stores import Store


@dataclass(frozen=True)
class Problem:
    """Something ``verify_crawls`` found wrong with the object at ``key``."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


@dataclass
class Verification:
    """What ``verify_crawls`` checked (crawls, files listed in their manifests) and found."""

    crawls: int
    files: int
    problems: list[Problem]


def _verify_content(store: Store, entry: FileEntry) -> str | None:
    """What is wrong with the content of ``entry``'s file, of the right size, or None."""
    if not is_warc(entry.path):
        if sha256_chunks(store.read_chunks(entry.path)) != entry.sha256:
            return "sha256 mismatch"
        return None
    found, problems = checked_entry(entry.path, store.read_chunks(entry.path))
    if found.sha256 != entry.sha256:
        return "sha256 mismatch"
    if problems:
        return "; ".join(problems[:3])
    if entry.records is not None and entry.records != found.records:
        return f"record count: manifest says {entry.records}, file has {found.records}"
    return None


def _verify_file(store: Store, entry: FileEntry) -> Problem | None:
    key = entry.path
    try:
        size = store.size(key)
    except StoreMissing:
        return Problem(key, "missing")
    except InvalidName:
        return Problem(key, "not a valid store key")
    if size != entry.bytes:
        return Problem(key, f"size mismatch: manifest says {entry.bytes} bytes, store has {size}")
    message = _verify_content(store, entry)
    return Problem(key, message) if message is not None else None


def _verify_chain(store: Store, crawl_id: str, previous: Previous | None) -> Problem | None:
    if previous is None:
        return None
    earlier = previous.crawl_id
    try:
        data = store.get(manifest_key(earlier))
    except (StoreMissing, InvalidName):
        return Problem(manifest_key(crawl_id), f"chain broken: previous manifest {earlier} missing")
    if hashlib.sha256(data).hexdigest() != previous.sha256:
        return Problem(
            manifest_key(crawl_id), f"chain broken: previous manifest {earlier} hash differs"
        )
    return None


def _verify_crawl(store: Store, crawl_id: str) -> tuple[int, list[Problem]]:
    """How many files the manifest of ``crawl_id`` lists, and the problems found."""
    try:
        manifest = load_manifest(store, crawl_id)
    except StoreMissing:
        return 0, [Problem(manifest_key(crawl_id), "missing")]
    except StoreError as exc:
        return 0, [Problem(manifest_key(crawl_id), str(exc))]
    problems = []
    if manifest.crawl_id != crawl_id:
        problems.append(Problem(manifest_key(crawl_id), f"names crawl {manifest.crawl_id}"))
    problems += [p for entry in manifest.files if (p := _verify_file(store, entry))]
    if problem := _verify_chain(store, crawl_id, manifest.previous):
        problems.append(problem)
    return len(manifest.files), problems


def verify_crawls(store: Store, crawl_id: str | None = None) -> Verification:
    """Re-hash every file the manifests list and check the chain, of one crawl or all.

    A named crawl that the store does not hold at all is a StoreMissing.
    """
    if crawl_id is not None and not crawl_exists(store, validate_crawl_id(crawl_id)):
        raise StoreMissing(f"crawl {crawl_id} is not in store {store.uri}")
    crawl_ids = [crawl_id] if crawl_id is not None else list_crawl_ids(store)
    result = Verification(len(crawl_ids), 0, [])
    for cid in crawl_ids:
        files, problems = _verify_crawl(store, cid)
        result.files += files
        result.problems += problems
    return result


def verify_store(store: Store, crawl_id: str | None = None) -> list[Problem]:
    """The problems ``verify_crawls`` finds: an empty list when everything checks out."""
    return verify_crawls(store, crawl_id).problems
