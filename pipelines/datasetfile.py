"""The text dataset's format: one row per captured HTML page, in JSONL and Parquet parts.

``part-NNNNN.jsonl.gz`` and ``part-NNNNN.parquet`` (zstd; ``part-<worker>-NNNNN`` for
each worker of a shared crawl) hold the same rows, each format in a folder of its own
(the crawl's partitions of ``datasets/text-jsonl`` and ``datasets/text``, see
:mod:`storage.layout`). The Parquet parts leave out ``crawl_id``: their folder's name,
``crawl_id=<id>``, gives it to every reader of the dataset, which would otherwise see
the column twice; the JSONL parts keep it. Every file is written as ``<name>.open``
and renamed when it is complete, so a publisher that skips ``.open`` files never ships
half a part. Plain Python (no Scrapy): the crawl's pipeline and re-extraction both use
it, each passing the sizes of parts and row groups (:class:`PartSizes`) it was given.

Memory: rows are written to the JSONL part as they come, and nothing else of them is
held. The Parquet parts are made from the JSONL parts when the writer closes
(:mod:`pipelines.datasetparquet`): so pyarrow, its allocator and the row group being
built (up to ``row_group_bytes``) are not in the crawl process while it crawls, and its
extraction workers have stopped by then (bench/README.md, "5. Memory"). A JSONL part
that a killed process left without its Parquet part gets one at the next close into
the same folders (a resumed crawl).
"""

from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.layout import PARTITION, open_path

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
    ("rendered", "bool", True),  # text, images and links from a browser's DOM, not the HTML
    ("soft_404", "string", True),  # "probe" or "wording": the page is its host's "not found"
)
Fields = tuple[tuple[str, str, bool], ...]
COLUMNS = [name for name, _, _ in FIELDS]
JSONL_SUFFIX = ".jsonl.gz"
PARQUET_SUFFIX = ".parquet"


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
    rendered: bool = False,
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
        "rendered": rendered,
        "soft_404": None,  # set by the crawl's probe (crawler/probe.py), after extraction
    }


@dataclass(frozen=True)
class PartSizes:
    """How the dataset is cut: rows a part, and rows and bytes (Arrow, uncompressed) a
    Parquet row group at most (settings ``DATASET_ROWS_PER_PART``,
    ``DATASET_ROW_GROUP_ROWS``, ``DATASET_ROW_GROUP_BYTES``)."""

    rows_per_part: int
    row_group_rows: int
    row_group_bytes: int

    def __post_init__(self) -> None:
        if self.rows_per_part < 1 or self.row_group_rows < 1 or self.row_group_bytes < 1:
            raise ValueError(
                "rows per part, rows and bytes per row group must be 1 or more: "
                f"{self.rows_per_part}, {self.row_group_rows}, {self.row_group_bytes}"
            )


class DatasetWriter:
    """Writes rows into rolling parts: JSONL in ``jsonl_dir``, then Parquet in
    ``parquet_dir``; not thread-safe (use one thread). ``fields``: the dataset's columns
    (:data:`FIELDS`, the text dataset's, unless another dataset's are given)."""

    def __init__(
        self,
        parquet_dir: Path,
        jsonl_dir: Path,
        crawl_id: str,
        sizes: PartSizes,
        *,
        part_prefix: str = "part",
        fields: Fields = FIELDS,
    ) -> None:
        self.fields = fields
        self.columns = [name for name, _, _ in fields]
        self.required = [name for name, _, nullable in fields if not nullable and name != PARTITION]
        self.parquet_dir = parquet_dir
        self.jsonl_dir = jsonl_dir
        self.crawl_id = crawl_id
        self.rows_per_part = sizes.rows_per_part
        self.row_group_rows = min(sizes.row_group_rows, sizes.rows_per_part)
        self.row_group_bytes = sizes.row_group_bytes
        self.part_prefix = part_prefix
        self.closed_files: list[Path] = []
        self.rows = 0
        self._serial = 0
        self._part_rows = 0
        self._jsonl: gzip.GzipFile | None = None
        self._path: Path | None = None  # the open part, as it will be named once complete

    def _taken(self, stem: str) -> bool:
        """Whether a part named ``stem`` is in either folder, complete or not."""
        paths = [self.jsonl_dir / (stem + JSONL_SUFFIX), self.parquet_dir / (stem + PARQUET_SUFFIX)]
        return any(p.exists() or open_path(p).exists() for p in paths)

    def _open(self) -> None:
        self.jsonl_dir.mkdir(parents=True, exist_ok=True)
        while True:
            stem = f"{self.part_prefix}-{self._serial:05d}"
            self._serial += 1
            if not self._taken(stem):
                break
        self._path = self.jsonl_dir / (stem + JSONL_SUFFIX)
        # Closed in _close_part: a part outlives this call.
        self._jsonl = gzip.open(open_path(self._path), "xb", compresslevel=GZIP_LEVEL)  # noqa: SIM115
        self._part_rows = 0

    def write(self, row: dict[str, Any]) -> None:
        """Add one row (a dict with the writer's columns; ``crawl_id`` is filled in)."""
        if missing := [c for c in self.required if row.get(c) is None]:
            raise ValueError(f"dataset row of {row.get('url')} lacks {', '.join(missing)}")
        if self._jsonl is None:
            self._open()
        assert self._jsonl is not None
        row = {**row, PARTITION: self.crawl_id}
        line = json.dumps({c: row.get(c) for c in self.columns}, ensure_ascii=False).encode()
        line += b"\n"
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

    def parquet_path(self, jsonl: Path) -> Path:
        """The Parquet part of the JSONL part ``jsonl``: the same name, in ``parquet_dir``."""
        return self.parquet_dir / (jsonl.name.removesuffix(JSONL_SUFFIX) + PARQUET_SUFFIX)

    def unconverted(self) -> list[Path]:
        """This writer's complete JSONL parts that have no Parquet part yet."""
        part = re.compile(re.escape(self.part_prefix) + r"-\d{5,}" + re.escape(JSONL_SUFFIX))
        if not self.jsonl_dir.is_dir():
            return []
        return sorted(
            p
            for p in self.jsonl_dir.iterdir()
            if part.fullmatch(p.name) and not self.parquet_path(p).exists()
        )

    def close(self) -> list[Path]:
        """Close the current part and make the Parquet parts; returns every file written.

        Imports pyarrow (here, not while the rows come: see the module's docstring).
        """
        self._close_part()
        leftover = self.unconverted()
        if leftover:
            from pipelines.datasetparquet import write_parquet

            self.parquet_dir.mkdir(parents=True, exist_ok=True)
            for jsonl in leftover:
                self.closed_files.append(
                    write_parquet(
                        jsonl,
                        self.parquet_path(jsonl),
                        row_group_rows=self.row_group_rows,
                        row_group_bytes=self.row_group_bytes,
                        fields=self.fields,
                    )
                )
        return list(self.closed_files)


def complete(path: Path) -> None:
    """Make the written ``<path>.open`` durable under its final name, ``path``."""
    tmp = open_path(path)
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    tmp.rename(path)
