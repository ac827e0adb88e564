"""Crawl manifests: what a crawl stored, with sizes and SHA-256, chained to the crawl before.

``crawls/<id>/manifest.json`` lists every file a crawl published (:mod:`storage.fixity`),
the software that made it, its seeds and counts, the extraction options (``fast``), and
the SHA-256 of the previous crawl's manifest (the latest earlier crawl id that has one).
Editing or deleting an earlier manifest therefore breaks the chain, which
:mod:`storage.verify` reports along with every file whose size or content no longer
matches. This module has the type, and builds, stores, loads and parses manifests.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from storage.crawlinfo import CrawlInfo
from storage.errors import StoreError, StoreMissing
from storage.fixity import Entry, FileEntry, file_entry
from storage.layout import list_crawl_ids, manifest_key, validate_crawl_id
from storage.stores import Store

FORMAT = "scrubwatch-manifest/1"
SOFTWARE = ("scrubwatch", "scrapy", "warcio", "trafilatura")


@dataclass(frozen=True)
class Previous:
    """The manifest a manifest is chained to: its crawl and the SHA-256 of its bytes."""

    crawl_id: str
    sha256: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"crawl_id": self.crawl_id, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Previous:
        """Whatever ``data`` holds: a link with a field missing is a broken chain, for verify."""
        crawl_id, sha256 = data.get("crawl_id"), data.get("sha256")
        return cls(str(crawl_id or ""), sha256 if isinstance(sha256, str) else None)


def _typed(data: Mapping[str, Any], name: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = data.get(name, default)
    if not isinstance(value, kind):
        raise ValueError(f"{name} has the wrong type: {value!r}")
    return value


@dataclass
class Manifest:
    """One ``manifest.json``: ``created`` in RFC 3339 (``2026-01-31T12:00:00Z``).

    ``extra`` keeps keys this version does not know, so that they are written back.
    """

    crawl_id: str
    created: str | None
    files: list[FileEntry]
    counts: dict[str, int] = field(default_factory=dict)
    seeds: list[str] = field(default_factory=list)
    extraction: dict[str, bool] = field(default_factory=dict)
    software: dict[str, str | None] = field(default_factory=dict)
    previous: Previous | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.extra,
            "format": FORMAT,
            "crawl_id": self.crawl_id,
            "created": self.created,
            "files": [entry.to_dict() for entry in self.files],
            "counts": self.counts,
            "software": self.software,
            "seeds": self.seeds,
            "extraction": self.extraction,
            "previous": self.previous.to_dict() if self.previous is not None else None,
        }

    def to_bytes(self) -> bytes:
        """The stored form: indented, keys sorted, one line feed at the end."""
        return serialize_manifest(self.to_dict())

    @classmethod
    def from_dict(cls, data: object) -> Manifest:
        """The manifest in ``data``; ValueError saying which field is wrong."""
        if not isinstance(data, dict):
            raise ValueError(f"not a JSON object: {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise ValueError(f"format is {data.get('format')!r}")
        previous = _typed(data, "previous", (dict, type(None)), None)
        known = {f.name for f in fields(cls)} | {"format"}
        return cls(
            crawl_id=_typed(data, "crawl_id", str, ""),
            created=_typed(data, "created", (str, type(None)), None),
            files=[FileEntry.from_dict(entry) for entry in _typed(data, "files", list, None)],
            counts=dict(_typed(data, "counts", dict, {})),
            seeds=[str(seed) for seed in _typed(data, "seeds", list, [])],
            extraction=dict(_typed(data, "extraction", dict, {})),
            software=dict(_typed(data, "software", dict, {})),
            previous=Previous.from_dict(previous) if previous is not None else None,
            extra={k: v for k, v in data.items() if k not in known},
        )


def serialize_manifest(manifest: Mapping[str, Any]) -> bytes:
    """A manifest's JSON as stored; a re-extraction's manifest is written the same way."""
    return (json.dumps(manifest, sort_keys=True, indent=1) + "\n").encode()


def parse_manifest(data: bytes, name: str) -> Manifest:
    """The manifest in ``data``; StoreError starting with ``name`` if it is not a valid one."""
    try:
        parsed = json.loads(data)
    except ValueError as exc:
        raise StoreError(f"{name} is not valid JSON: {exc}") from exc
    try:
        return Manifest.from_dict(parsed)
    except ValueError as exc:
        raise StoreError(f"{name} is not a {FORMAT} manifest: {exc}") from exc


def load_manifest(store: Store, crawl_id: str) -> Manifest:
    """The stored manifest of ``crawl_id``; StoreError if it is missing or unreadable."""
    key = manifest_key(crawl_id)
    return parse_manifest(store.get(key), f"manifest {key} in store {store.uri}")


def store_manifest(store: Store, manifest: Manifest) -> Manifest:
    """Store a manifest made by ``build_manifest`` or ``manifest_of``; return it.

    A different manifest already stored for the crawl is a StoreConflict.
    """
    store.put_bytes(manifest_key(manifest.crawl_id), manifest.to_bytes())
    return manifest


def _version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _previous(store: Store, crawl_id: str) -> Previous | None:
    for earlier in reversed([c for c in list_crawl_ids(store) if c < crawl_id]):
        try:
            data = store.get(manifest_key(earlier))
        except StoreMissing:
            continue
        return Previous(earlier, hashlib.sha256(data).hexdigest())
    return None


#: crawl-info keys a manifest carries: ``imported_from``, the archive an imported crawl's
#: captures came from (crawler/importing.py)
CARRIED = ("imported_from",)


def manifest_of(
    store: Store,
    crawl_id: str,
    entries: list[FileEntry],
    info: CrawlInfo,
    *,
    created: datetime | None = None,
) -> Manifest:
    """The manifest of ``crawl_id`` for files given by their entries, ``info``'s counts,
    seeds and extraction options, chained to the previous manifest in ``store``."""
    keys = [entry.path for entry in entries]
    if len(set(keys)) != len(keys):
        raise ValueError(f"manifest of crawl {crawl_id} lists a key twice")
    software: dict[str, str | None] = {name: _version(name) for name in SOFTWARE}
    software["python"] = platform.python_version()
    return Manifest(
        crawl_id=validate_crawl_id(crawl_id),
        created=(created or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        files=sorted(entries, key=lambda entry: entry.path),
        counts=dict(info.counts),
        software=software,
        seeds=list(info.seeds),
        extraction=dict(info.extraction),
        previous=_previous(store, crawl_id),
        extra={k: info.extra[k] for k in CARRIED if k in info.extra},
    )


def build_manifest(
    store: Store,
    crawl_id: str,
    files: list[tuple[str, Path]],
    info: CrawlInfo,
    *,
    created: datetime | None = None,
    entry: Entry = file_entry,
) -> Manifest:
    """The manifest of ``crawl_id`` for ``files`` ((key, local path) pairs) about to be stored.

    ``entry`` makes each file's entry: an :func:`storage.fixity.entries_ahead` one has
    the WARC files checked already.
    """
    entries = [entry(key, path) for key, path in sorted(files)]
    return manifest_of(store, crawl_id, entries, info, created=created)


def write_manifest(
    store: Store,
    crawl_id: str,
    files: list[tuple[str, Path]],
    info: CrawlInfo,
    *,
    created: datetime | None = None,
    entry: Entry = file_entry,
) -> Manifest:
    """Build the manifest of ``crawl_id`` and store it; a different one there is a StoreConflict."""
    manifest = build_manifest(store, crawl_id, files, info, created=created, entry=entry)
    return store_manifest(store, manifest)
