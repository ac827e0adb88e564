"""The Parquet parts of the text dataset, made from its complete JSON Lines parts.

``part-NNNNN.parquet`` (zstd) holds the rows of ``part-NNNNN.jsonl.gz`` in the same
order, under :func:`parquet_schema`: every column but ``crawl_id``, which the part's
folder (``crawl_id=<id>``) gives. It is made once the JSONL part is complete (see
:class:`~pipelines.datasetfile.DatasetWriter`), as ``part-NNNNN.parquet.open`` renamed
when written, a row group at a time: whichever of ``row_group_rows`` rows or
``row_group_bytes`` bytes (Arrow, uncompressed) comes first bounds what is held, whatever
the size of the pages.

Rows are parsed by pyarrow's JSON reader, :data:`BATCH_ROWS` lines or
:data:`BATCH_BYTES` bytes at a time (one block, so a row of any length parses): not
``pa.array`` or ``RecordBatch.from_pylist``, which import pandas (a large import) to ask whether
they were given a pandas object.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pajson
import pyarrow.parquet as pq

from pipelines.datasetfile import FIELDS, Fields, complete
from storage.layout import PARTITION, open_path

BATCH_ROWS = 64
BATCH_BYTES = 1024 * 1024
TYPES = {
    "string": pa.string(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "bool": pa.bool_(),
    "list<string>": pa.list_(pa.string()),
}


@cache
def schema(fields: Fields = FIELDS) -> pa.Schema:
    """A dataset's Arrow schema (the text dataset's, :data:`pipelines.datasetfile.FIELDS`,
    by default): the rows of the JSONL parts, and of a Parquet part read with its folder's
    ``crawl_id``."""
    return pa.schema([pa.field(name, TYPES[kind], nullable) for name, kind, nullable in fields])


@cache
def parquet_schema(fields: Fields = FIELDS) -> pa.Schema:
    """The schema of a Parquet part: :func:`schema` less the partition column."""
    return schema(fields).remove(schema(fields).get_field_index(PARTITION))


class _RowGroups:
    """Parses JSON lines into record batches and writes them as bounded row groups."""

    def __init__(self, writer: pq.ParquetWriter, rows: int, size: int, fields: Fields) -> None:
        self.writer = writer
        self.schema, self.parquet_schema = schema(fields), parquet_schema(fields)
        self.max_rows, self.max_bytes = rows, size
        # The reader makes every column nullable; each batch is cast to the schema,
        # which checks them.
        self.parse = pajson.ParseOptions(
            explicit_schema=self.schema, unexpected_field_behavior="error"
        )
        self.pending: list[bytes] = []  # lines not yet parsed
        self.pending_bytes = 0
        self.batches: list[pa.RecordBatch] = []  # the row group being built
        self.group_rows = self.group_bytes = 0

    def add(self, line: bytes) -> None:
        self.pending.append(line)
        self.pending_bytes += len(line)
        self.group_rows += 1
        if len(self.pending) >= BATCH_ROWS or self.pending_bytes >= BATCH_BYTES:
            self._parse()
        if (
            self.group_rows >= self.max_rows
            or self.group_bytes + self.pending_bytes >= self.max_bytes
        ):
            self.flush()

    def _parse(self) -> None:
        if self.pending:
            lines = b"".join(self.pending)
            read = pajson.ReadOptions(use_threads=False, block_size=len(lines))
            table = pajson.read_json(pa.BufferReader(lines), read, self.parse).cast(self.schema)
            table = table.drop_columns([PARTITION])
            self.batches.extend(table.to_batches())
            self.group_bytes += table.nbytes
            self.pending, self.pending_bytes = [], 0

    def flush(self) -> None:
        self._parse()
        if self.batches:
            table = pa.Table.from_batches(self.batches, schema=self.parquet_schema)
            self.batches = []
            self.writer.write_table(table, row_group_size=self.group_rows)
            self.group_rows = self.group_bytes = 0


def write_parquet(
    jsonl: Path,
    target: Path,
    *,
    row_group_rows: int,
    row_group_bytes: int,
    fields: Fields = FIELDS,
) -> Path:
    """Write ``target``, the Parquet part of the complete JSONL part ``jsonl`` (of a dataset
    with ``fields``); returns it.

    A ``.parquet.open`` left by a process killed while writing it is written anew: an
    ``.open`` file is never published.
    """
    if target.exists():
        raise FileExistsError(f"{target} already exists: nothing is overwritten")
    tmp = open_path(target)
    with (
        gzip.open(jsonl, "rb") as lines,
        pq.ParquetWriter(str(tmp), parquet_schema(fields), compression="zstd") as writer,
    ):
        groups = _RowGroups(writer, row_group_rows, row_group_bytes, fields)
        for line in lines:
            groups.add(line)
        groups.flush()
    complete(target)
    return target
