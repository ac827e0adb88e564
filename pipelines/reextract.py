"""Re-extraction of a stored crawl: a new version of its text dataset, made from its WARCs.

Reads ``crawls/<id>/warc/*`` from the store (downloaded first unless the store is a
local folder), resolves each revisit record to the payload it stands for (in the same
crawl by ``WARC-Refers-To`` or digest, else by digest through the CDXJ index of an
earlier crawl), extracts every HTML page in an :class:`~pipelines.extractpool.ExtractorPool`
and puts ``crawls/<id>/_text-<version>/part-*`` then that version's ``manifest.json``.
The underscore keeps versions out of pyarrow's and DuckDB's default discovery of
``crawls/``. WARC files are only read; an existing version is never overwritten.
Plain Python, no Scrapy; the values of ``EXTRACT_*`` are passed in.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path

from pipelines.datasetfile import DatasetWriter, make_row
from pipelines.extraction import Extraction, make_options
from pipelines.extractpool import ExtractorPool
from pipelines.warcpages import Capture, Pages
from storage import crawl_prefix, new_crawl_id
from storage.crawllog import read_crawl_log
from storage.hashing import sha256_file
from storage.manifest import serialize_manifest
from storage.stores import Store

logger = logging.getLogger(__name__)

FORMAT = "scrubwatch-text/1"
_VERSION = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass
class ReextractResult:
    crawl_id: str
    version: str
    prefix: str  # crawls/<id>/_text-<version>/
    rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # extraction status -> rows
    keys: list[str] = field(default_factory=list)  # stored, manifest last
    seconds: float = 0.0


def version_prefix(crawl_id: str, version: str) -> str:
    if not _VERSION.fullmatch(version) or version.startswith("."):
        raise ValueError(f"invalid version {version!r}: use 1-64 of [A-Za-z0-9._-]")
    return f"{crawl_prefix(crawl_id)}_text-{version}/"


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


def reextract(
    store: Store,
    crawl_id: str,
    *,
    workers: int | None = None,
    version: str | None = None,
    timeout: float,
    max_bytes: int,
    trim_interval: float,
    fast: bool = False,
    workdir: Path | None = None,
) -> ReextractResult:
    """Extract the crawl's pages again into a new dataset version; returns what was stored.

    ``timeout``, ``max_bytes`` and ``trim_interval`` are the crawl's ``EXTRACT_TIMEOUT``,
    ``EXTRACT_MAX_BYTES`` and ``MEMORY_TRIM_INTERVAL`` (see
    :class:`~pipelines.extractpool.ExtractorPool`); ``fast``: trafilatura's fast mode (no
    fallback extractors), as ``EXTRACT_FAST``.
    """
    started = time.monotonic()
    version = version or new_crawl_id(datetime.now(UTC))
    result = ReextractResult(crawl_id, version, version_prefix(crawl_id, version))
    if next(iter(store.list(result.prefix)), None) is not None:
        raise ValueError(
            f"{result.prefix} already exists in store {store.uri}: nothing is overwritten; "
            "choose another version"
        )
    counts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(dir=workdir, prefix="scrubwatch-reextract-") as tmp:
        pages = Pages(store, crawl_id, Path(tmp), max_bytes)
        if not pages.keys:
            raise ValueError(f"crawl {crawl_id} has no WARC files in store {store.uri}")
        outlets = _outlets(store, crawl_id)
        writer = DatasetWriter(Path(tmp) / "text", crawl_id)

        def write(capture: Capture, extraction: Extraction) -> None:
            counts[extraction.status] += 1
            writer.write(
                make_row(
                    extraction,
                    crawl_id=crawl_id,
                    outlet=outlets.get(capture.url),
                    **asdict(capture),
                )
            )

        with ExtractorPool(
            workers,
            timeout=timeout,
            max_bytes=max_bytes,
            trim_interval=trim_interval,
            options=make_options(fast=fast),
        ) as pool:
            for capture, extraction in pool.map_ordered(pages):
                write(capture, extraction)
        for capture in pages.missing:
            write(capture, Extraction("error", "revisit: the original payload is in no crawl"))
        files = [(result.prefix + path.name, path) for path in writer.close()]
        result.rows, result.counts = writer.rows, dict(counts)
        for key, path in files:
            store.put(key, path)
            result.keys.append(key)
        store.put_bytes(result.prefix + "manifest.json", _manifest(result, files, fast))
        result.keys.append(result.prefix + "manifest.json")
    result.seconds = time.monotonic() - started
    logger.info(
        "crawl %s: %d rows in %s (%.1fs)", crawl_id, result.rows, result.prefix, result.seconds
    )
    return result
