"""The text dataset's format: one row per captured HTML page, in Parquet and JSONL parts.

``part-NNNNN.parquet`` (zstd, written a row group at a time) and ``part-NNNNN.jsonl.gz``
(``part-<worker>-NNNNN`` for each worker of a shared crawl) hold the same rows side by
side; a part is written as ``<name>.open`` and renamed when it is complete, so a
publisher that skips ``.open`` files never ships half a part. Plain Python (no Scrapy):
the crawl's pipeline and re-extraction both use it.

Memory: a row is held as the JSON line written to the JSONL part until
:data:`BATCH_ROWS` rows or :data:`BATCH_BYTES` bytes of them are parsed into one Arrow
record batch by pyarrow's JSON reader, and a row group is written when it reaches
``row_group_rows`` rows or ``row_group_bytes`` bytes, whichever comes first; so what a
crawl holds is bounded by bytes, whatever the size of its pages. (The JSON reader is
also what keeps pandas out of the crawl process: ``pa.array`` and
``RecordBatch.from_pylist`` over Python objects import pandas, 50 MB, to ask whether
they were given a pandas object.)

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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.json as pajson
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from pipelines.extraction import Extraction

OPEN_SUFFIX = ".open"
GZIP_LEVEL = 6  # level 9 costs several times the time for a few percent
# Rows wait as their JSON lines only until this many of them, or this many bytes, are
# turned into one Arrow record batch.
BATCH_ROWS = 64
BATCH_BYTES = 1024 * 1024

SCHEMA = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),
        pa.field("crawl_id", pa.string(), nullable=False),
        pa.field("fetched_at", pa.string(), nullable=False),  # RFC 3339, UTC
        pa.field("status", pa.int32(), nullable=False),
        pa.field("content_type", pa.string()),
        pa.field("outlet", pa.string()),
        pa.field("title", pa.string()),
        pa.field("author", pa.string()),
        pa.field("published", pa.string()),  # ISO date
        pa.field("language", pa.string()),  # ISO 639-1
        pa.field("text", pa.string()),
        pa.field("images", pa.list_(pa.string())),
        pa.field("links", pa.list_(pa.string())),
        pa.field("payload_digest", pa.string()),  # sha256:<hex>
        pa.field("warc_filename", pa.string(), nullable=False),
        pa.field("warc_offset", pa.int64(), nullable=False),
        pa.field("warc_length", pa.int64(), nullable=False),
        pa.field("extraction", pa.string(), nullable=False),  # ok, empty, timeout, ...
        pa.field("extraction_reason", pa.string()),
    ]
)
COLUMNS = SCHEMA.names
# The reader makes every column nullable; the batch is cast to SCHEMA, which checks them.
_JSON_PARSE = pajson.ParseOptions(explicit_schema=SCHEMA, unexpected_field_behavior="error")
REQUIRED = [f.name for f in SCHEMA if not f.nullable and f.name != "crawl_id"]


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
        self._pending: list[bytes] = []  # JSON lines of the rows not yet in a batch
        self._pending_bytes = 0
        self._batches: list[pa.RecordBatch] = []  # the row group being built
        self._group_rows = 0
        self._group_bytes = 0
        self._parquet: pq.ParquetWriter | None = None
        self._jsonl: gzip.GzipFile | None = None
        self._names: list[str] = []

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            stem = f"{self.part_prefix}-{self._serial:05d}"
            self._serial += 1
            self._names = [f"{stem}.parquet", f"{stem}.jsonl.gz"]
            if not any(
                (self.directory / n).exists() or (self.directory / (n + OPEN_SUFFIX)).exists()
                for n in self._names
            ):
                break
        parquet, jsonl = (self.directory / (n + OPEN_SUFFIX) for n in self._names)
        self._parquet = pq.ParquetWriter(str(parquet), SCHEMA, compression="zstd")
        # Closed in _close_part: a part outlives this call.
        self._jsonl = gzip.open(jsonl, "xb", compresslevel=GZIP_LEVEL)  # noqa: SIM115
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
        self._pending.append(line)
        self._pending_bytes += len(line)
        self._group_rows += 1
        self.rows += 1
        self._part_rows += 1
        if len(self._pending) >= BATCH_ROWS or self._pending_bytes >= BATCH_BYTES:
            self._batch()
        if (
            self._group_rows >= self.row_group_rows
            or self._group_bytes + self._pending_bytes >= self.row_group_bytes
        ):
            self._flush()
        if self._part_rows >= self.rows_per_part:
            self._close_part()

    def _batch(self) -> None:
        if self._pending:
            lines = b"".join(self._pending)
            read = pajson.ReadOptions(use_threads=False, block_size=len(lines))
            table = pajson.read_json(pa.BufferReader(lines), read, _JSON_PARSE).cast(SCHEMA)
            self._batches.extend(table.to_batches())
            self._group_bytes += table.nbytes
            self._pending = []
            self._pending_bytes = 0

    def _flush(self) -> None:
        """Write the rows held as one row group."""
        self._batch()
        if self._batches and self._parquet is not None:
            table = pa.Table.from_batches(self._batches, schema=SCHEMA)
            self._batches = []
            self._parquet.write_table(table, row_group_size=self._group_rows)
            self._group_rows = self._group_bytes = 0

    def _close_part(self) -> None:
        if self._parquet is None or self._jsonl is None:
            return
        self._flush()
        self._parquet.close()
        self._jsonl.close()
        self._parquet = self._jsonl = None
        for name in self._names:
            path = self.directory / (name + OPEN_SUFFIX)
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
            path.rename(self.directory / name)
            self.closed_files.append(self.directory / name)

    def close(self) -> list[Path]:
        """Close the current part; returns every file written, by their final names."""
        self._close_part()
        return list(self.closed_files)
