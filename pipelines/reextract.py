"""Re-extraction of a stored crawl: a new version of its text dataset, made from its WARCs.

Reads ``crawls/<id>/warc/*`` from the store (downloaded first unless the store is a
local folder), resolves each revisit record to the payload it stands for (in the same
crawl by ``WARC-Refers-To`` or digest, else by digest in an
earlier crawl, see :mod:`pipelines.warcpages`), extracts every HTML page in an :class:`~pipelines.extractpool.ExtractorPool`
and puts the version's parts into its own roots, ``datasets/text@<version>/crawl_id=<id>/``
and ``datasets/text-jsonl@<version>/crawl_id=<id>/`` (:mod:`storage.layout`: reading
``datasets/text`` never meets them), then its manifest,
``crawls/<id>/text@<version>.manifest.json``. WARC files are only read; an existing
version is never overwritten. Plain Python, no Scrapy; the values of ``EXTRACT_*`` and
``DATASET_*`` are passed in.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from pipelines.datasetfile import PARQUET_SUFFIX, DatasetWriter, PartSizes, make_row
from pipelines.extraction import Extraction, make_options
from pipelines.extractpool import ExtractorPool
from pipelines.warcpages import Pages
from storage import new_crawl_id
from storage.crawllog import read_crawl_log
from storage.errors import BadInput
from storage.hashing import sha256_file
from storage.layout import (
    dataset_prefix,
    legacy_version_prefix,
    text_jsonl_key,
    text_key,
    version_manifest_key,
)
from storage.manifest import serialize_manifest
from storage.records import Record
from storage.rendered import rendered_page
from storage.stores import Store

logger = logging.getLogger(__name__)

FORMAT = "scrubwatch-text/1"


@dataclass
class ReextractResult:
    crawl_id: str
    version: str
    prefix: str  # of its Parquet parts: datasets/text@<version>/crawl_id=<id>/
    rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # extraction status -> rows
    keys: list[str] = field(default_factory=list)  # stored, manifest last
    seconds: float = 0.0


def _check_new(store: Store, crawl_id: str, version: str) -> None:
    """Refuse a version the crawl has already, wherever this or an earlier version put it."""
    prefixes = [
        dataset_prefix(crawl_id, version=version),
        dataset_prefix(crawl_id, jsonl=True, version=version),
        legacy_version_prefix(crawl_id, version),
    ]
    taken = store.exists(version_manifest_key(crawl_id, version)) or any(
        next(iter(store.list(prefix)), None) is not None for prefix in prefixes
    )
    if taken:
        raise BadInput(
            f"version {version} of crawl {crawl_id} already exists in store {store.uri}: "
            "nothing is overwritten; choose another version"
        )


def _key(crawl_id: str, version: str, path: Path) -> str:
    """The key of a part the writer made: by its format, in the version's roots."""
    if path.name.endswith(PARQUET_SUFFIX):
        return text_key(crawl_id, path.name, version=version)
    return text_jsonl_key(crawl_id, path.name, version=version)


def _outlets(store: Store, crawl_id: str) -> dict[str, str]:
    entries = read_crawl_log(store, crawl_id)  # every worker's, if shared
    return {e["url"]: e["outlet"] for e in entries if e.get("outlet")}


def _manifest(result: ReextractResult, files: list[tuple[str, Path]], fast: bool) -> bytes:
    return serialize_manifest(
        {
            "format": FORMAT,
            "crawl_id": result.crawl_id,
            "version": result.version,
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "files": [
                {"path": key, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
                for key, path in files
            ],
            "counts": {
                "rows": result.rows,
                **{f"extract/{k}": v for k, v in result.counts.items()},
            },
            "extraction": {"enabled": True, "fast": fast},
            "software": {
                name: package_version(name) for name in ("scrubwatch", "trafilatura", "pyarrow")
            },
        }
    )


def _row(
    record: Record, extraction: Extraction, crawl_id: str, outlet: str | None
) -> dict[str, Any]:
    page = rendered_page(record.url)
    if page is not None:  # a browser's DOM: only pages that answered 200 are rendered
        url, status, content_type = page, 200, "text/html; charset=utf-8"
    else:
        url, status, content_type = record.url, record.status, record.content_type
    return make_row(
        extraction,
        url=url,
        crawl_id=crawl_id,
        fetched_at=record.date,
        status=status,
        content_type=content_type,
        outlet=outlet,
        payload_digest=record.digest,
        warc_filename=record.ref.filename,
        warc_offset=record.ref.offset,
        warc_length=record.ref.length,
        rendered=page is not None,
    )


def _store(store: Store, result: ReextractResult, paths: list[Path], fast: bool) -> None:
    """Put the version's files, then its manifest, so a manifest never names a missing file."""
    files = sorted((_key(result.crawl_id, result.version, path), path) for path in paths)
    for key, path in files:
        store.put(key, path)
        result.keys.append(key)
    manifest = version_manifest_key(result.crawl_id, result.version)
    store.put_bytes(manifest, _manifest(result, files, fast))
    result.keys.append(manifest)


def reextract(
    store: Store,
    crawl_id: str,
    *,
    sizes: PartSizes,
    workers: int | None = None,
    version: str | None = None,
    timeout: float,
    max_bytes: int,
    trim_interval: float,
    fast: bool = False,
    workdir: Path | None = None,
) -> ReextractResult:
    """Extract the crawl's pages again into a new dataset version; returns what was stored.

    ``sizes``: of parts and row groups, as ``DATASET_*``; ``timeout``, ``max_bytes`` and
    ``trim_interval`` are the crawl's ``EXTRACT_TIMEOUT``, ``EXTRACT_MAX_BYTES`` and
    ``MEMORY_TRIM_INTERVAL`` (see :class:`~pipelines.extractpool.ExtractorPool`); ``fast``:
    trafilatura's fast mode (no fallback extractors), as ``EXTRACT_FAST``.
    """
    started = time.monotonic()
    version = version or new_crawl_id(datetime.now(UTC))
    result = ReextractResult(crawl_id, version, dataset_prefix(crawl_id, version=version))
    _check_new(store, crawl_id, version)
    counts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(dir=workdir, prefix="scrubwatch-reextract-") as tmp:
        pages = Pages(store, crawl_id, Path(tmp), max_bytes)
        if not pages.files:
            raise BadInput(f"crawl {crawl_id} has no WARC files in store {store.uri}")
        outlets = _outlets(store, crawl_id)
        writer = DatasetWriter(Path(tmp) / "parquet", Path(tmp) / "jsonl", crawl_id, sizes)

        def write(record: Record, extraction: Extraction) -> None:
            counts[extraction.status] += 1
            url = rendered_page(record.url) or record.url
            writer.write(_row(record, extraction, crawl_id, outlets.get(url)))

        with ExtractorPool(
            workers,
            timeout=timeout,
            max_bytes=max_bytes,
            trim_interval=trim_interval,
            options=make_options(fast=fast),
        ) as pool:
            for record, extraction in pool.map_ordered(pages):
                write(record, extraction)
        for record in pages.missing:
            write(record, Extraction("error", "revisit: the original payload is in no crawl"))
        paths = writer.close()
        result.rows, result.counts = writer.rows, dict(counts)
        _store(store, result, paths, fast)
    result.seconds = time.monotonic() - started
    logger.info(
        "crawl %s: %d rows in %s (%.1fs)", crawl_id, result.rows, result.prefix, result.seconds
    )
    return result
