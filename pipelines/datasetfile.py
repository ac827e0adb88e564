"""The text dataset's format: one row per captured HTML page, in JSONL and Parquet parts.

``part-NNNNN.jsonl.gz`` and ``part-NNNNN.parquet`` (zstd; ``part-<worker>-NNNNN`` for
each worker of a shared crawl) hold the same rows side by side. Every file is written as
``<name>.open`` and renamed when it is complete, so a publisher that skips ``.open``
files never ships half a part. Plain Python (no Scrapy): the crawl's pipeline and
re-extraction both use it.

Memory: rows are written to the JSONL part as they come, and nothing else of them is
held. The Parquet parts are made from the JSONL parts when the writer closes
(:mod:`pipelines.datasetparquet`): so pyarrow, its allocator and the row group being
built (up to ``row_group_bytes``) are not in the crawl process while it crawls, and its
extraction workers have stopped by then (bench/README.md, "5. Memory"). A JSONL part
that a killed process left without its Parquet part gets one at the next close in the
same folder (a resumed crawl).

Reading all crawls: ``pyarrow.dataset.dataset("crawls/", format="parquet",
exclude_invalid_files=True)`` (which skips the JSONL parts, the WARCs and, by its
default ``ignore_prefixes``, the ``_text-<version>`` folders of re-extractions), or in
DuckDB ``read_parquet('crawls/*/text/*.parquet')`` (a ``**`` glob would also match
those versions).
"""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.layout import OPEN_SUFFIX

if TYPE_CHECKING:
    from pipelines.extraction import Extraction

GZIP_LEVEL = 6  # level 9 costs several times the time for a few percent
# The dataset's columns: name, Arrow type (pipelines.datasetparquet.TYPES), nullable.
FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("url", "string", False),
    ("crawl_id", "string", False),
    ("fetched_at", "string", False),  # RFC 3339, UTC
    ("status", "int32", False),
    ("content_type", "string", True),
    ("outlet", "string", True),
    ("title", "string", True),
    ("author", "string", True),
    ("published", "string", True),  # ISO date
    ("language", "string", True),  # ISO 639-1
    ("text", "string", True),
    ("images", "list<string>", True),
    ("links", "list<string>", True),
    ("payload_digest", "string", True),  # sha256:<hex>
    ("warc_filename", "string", False),
    ("warc_offset", "int64", False),
    ("warc_length", "int64", False),
    ("extraction", "string", False),  # ok, empty, timeout, ...
    ("extraction_reason", "string", True),
)
COLUMNS = [name for name, _, _ in FIELDS]
REQUIRED = [name for name, _, nullable in FIELDS if not nullable and name != "crawl_id"]


def make_row(
    extraction: Extraction,
    *,
    url: str,
    crawl_id: str,
    fetched_at: str,
    status: int,
    content_type: str,
    outlet: str | None,
    payload_digest: str,
    warc_filename: str,
    warc_offset: int,
    warc_length: int,
) -> dict[str, Any]:
    """The dataset row of one page: where it was captured, and what extraction made of it."""
    return {
        "url": url,
        "crawl_id": crawl_id,
        "fetched_at": fetched_at,
        "status": status,
        "content_type": content_type,
        "outlet": outlet,
        "title": extraction.title,
        "author": extraction.author,
        "published": extraction.published,
        "language": extraction.language,
        "text": extraction.text,
        "images": list(extraction.images),
        "links": list(extraction.links),
        "payload_digest": payload_digest,
        "warc_filename": warc_filename,
        "warc_offset": warc_offset,
        "warc_length": warc_length,
        "extraction": extraction.status,
        "extraction_reason": extraction.reason,
    }


class DatasetWriter:
    """Writes rows into rolling parts in ``directory``; not thread-safe (use one thread)."""

    def __init__(
        self,
        directory: Path,
        crawl_id: str,
        *,
        rows_per_part: int = 50_000,
        row_group_rows: int = 10_000,
        row_group_bytes: int = 32 * 1024 * 1024,
        part_prefix: str = "part",
    ) -> None:
        if rows_per_part < 1 or row_group_rows < 1 or row_group_bytes < 1:
            raise ValueError(
                "rows per part, rows and bytes per row group must be 1 or more: "
                f"{rows_per_part}, {row_group_rows}, {row_group_bytes}"
            )
        self.directory = directory
        self.crawl_id = crawl_id
        self.rows_per_part = rows_per_part
        self.row_group_rows = min(row_group_rows, rows_per_part)
        self.row_group_bytes = row_group_bytes
        self.part_prefix = part_prefix
        self.closed_files: list[Path] = []
        self.rows = 0
        self._serial = 0
        self._part_rows = 0
        self._jsonl: gzip.GzipFile | None = None
        self._path: Path | None = None  # the open part, as it will be named once complete

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            stem = f"{self.part_prefix}-{self._serial:05d}"
            self._serial += 1
            names = [f"{stem}.parquet", f"{stem}.jsonl.gz"]
            if not any(
                (self.directory / n).exists() or (self.directory / (n + OPEN_SUFFIX)).exists()
                for n in names
            ):
                break
        self._path = self.directory / f"{stem}.jsonl.gz"
        # Closed in _close_part: a part outlives this call.
        self._jsonl = gzip.open(  # noqa: SIM115
            self._path.with_name(self._path.name + OPEN_SUFFIX), "xb", compresslevel=GZIP_LEVEL
        )
        self._part_rows = 0

    def write(self, row: dict[str, Any]) -> None:
        """Add one row (a dict with the :data:`COLUMNS`; ``crawl_id`` is filled in)."""
        if missing := [c for c in REQUIRED if row.get(c) is None]:
            raise ValueError(f"dataset row of {row.get('url')} lacks {', '.join(missing)}")
        if self._jsonl is None:
            self._open()
        assert self._jsonl is not None
        row = {**row, "crawl_id": self.crawl_id}
        line = json.dumps({c: row.get(c) for c in COLUMNS}, ensure_ascii=False).encode() + b"\n"
        self._jsonl.write(line)
        self.rows += 1
        self._part_rows += 1
        if self._part_rows >= self.rows_per_part:
            self._close_part()

    def _close_part(self) -> None:
        if self._jsonl is None or self._path is None:
            return
        self._jsonl.close()
        self._jsonl = None
        complete(self._path)
        self.closed_files.append(self._path)

    def unconverted(self) -> list[Path]:
        """This writer's complete JSONL parts in the folder that have no Parquet part yet."""
        part = re.compile(re.escape(self.part_prefix) + r"-\d{5,}\.jsonl\.gz")
        if not self.directory.is_dir():
            return []
        return sorted(
            p
            for p in self.directory.iterdir()
            if part.fullmatch(p.name) and not parquet_path(p).exists()
        )

    def close(self) -> list[Path]:
        """Close the current part and make the Parquet parts; returns every file written.

        Imports pyarrow (here, not while the rows come: see the module's docstring).
        """
        self._close_part()
        leftover = self.unconverted()
        if leftover:
            from pipelines.datasetparquet import write_parquet

            for jsonl in leftover:
                self.closed_files.append(
                    write_parquet(
                        jsonl,
                        row_group_rows=self.row_group_rows,
                        row_group_bytes=self.row_group_bytes,
                    )
                )
        return list(self.closed_files)


def parquet_path(jsonl: Path) -> Path:
    """``part-NNNNN.parquet`` beside ``part-NNNNN.jsonl.gz``."""
    return jsonl.with_name(jsonl.name.removesuffix(".jsonl.gz") + ".parquet")


def complete(path: Path) -> None:
    """Make the written ``<path>.open`` durable under its final name, ``path``."""
    tmp = path.with_name(path.name + OPEN_SUFFIX)
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    tmp.rename(path)
