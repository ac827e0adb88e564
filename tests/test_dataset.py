"""The text dataset: its schema, rolling parts, readers, and the crawl pipelines that write it."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.localweb import LocalWeb
from pipelines.dataset import DatasetWriter, make_row
from pipelines.datasetparquet import schema
from pipelines.extraction import Extraction
from tests.fixtures.cli import crawl_local

DOCUMENTED = [
    ("url", pa.string()),
    ("crawl_id", pa.string()),
    ("fetched_at", pa.string()),
    ("status", pa.int32()),
    ("content_type", pa.string()),
    ("outlet", pa.string()),
    ("title", pa.string()),
    ("author", pa.string()),
    ("published", pa.string()),
    ("language", pa.string()),
    ("text", pa.string()),
    ("images", pa.list_(pa.string())),
    ("links", pa.list_(pa.string())),
    ("payload_digest", pa.string()),
    ("warc_filename", pa.string()),
    ("warc_offset", pa.int64()),
    ("warc_length", pa.int64()),
    ("extraction", pa.string()),
    ("extraction_reason", pa.string()),
]


def row(n: int) -> dict[str, Any]:
    extraction = Extraction(
        "ok" if n % 3 else "empty",
        "" if n % 3 else "no main text",
        f"Text of page {n}, with “quotes” and 中文." if n % 3 else "",
        title=f"Page {n}",
        language="en",
        links=[f"https://example.org/{n}/a", f"https://example.org/{n}/b"],
        images=[] if n % 2 else [f"https://img.example.org/{n}.jpg"],
    )
    return make_row(
        extraction,
        url=f"https://example.org/{n}",
        crawl_id="ignored: the writer's crawl id wins",
        fetched_at="2026-11-25T08:30:15.123456Z",
        status=200,
        content_type="text/html; charset=utf-8",
        outlet="example" if n % 2 else None,
        payload_digest=f"sha256:{n:064x}",
        warc_filename="scrubwatch-20261125083015123-00000-host-1.warc.gz",
        warc_offset=1000 * n,
        warc_length=900 + n,
    )


def write(folder: Path, count: int, **sizes: int) -> DatasetWriter:
    writer = DatasetWriter(folder, "c1", **sizes)
    for n in range(count):
        writer.write(row(n))
    writer.close()
    return writer


def test_schema_is_exactly_the_documented_one() -> None:
    assert [(f.name, f.type) for f in schema()] == DOCUMENTED


def test_parts_roll_over_and_row_groups_are_bounded(tmp_path: Path) -> None:
    writer = write(tmp_path, 12, rows_per_part=5, row_group_rows=2)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"part-{i:05d}.{ext}" for i in range(3) for ext in ("jsonl.gz", "parquet")]
    assert sorted(writer.closed_files) == sorted(tmp_path.iterdir())
    groups = [
        [
            pq.ParquetFile(tmp_path / f"part-{i:05d}.parquet").metadata.row_group(g).num_rows
            for g in range(pq.ParquetFile(tmp_path / f"part-{i:05d}.parquet").num_row_groups)
        ]
        for i in range(3)
    ]
    assert groups == [[2, 2, 1], [2, 2, 1], [2]]
    meta = pq.ParquetFile(tmp_path / "part-00000.parquet").metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_row_groups_are_bounded_by_bytes_whatever_the_size_of_pages(tmp_path: Path) -> None:
    big = 200_000  # characters of text a row: a long page
    writer = DatasetWriter(tmp_path, "c1", row_group_bytes=1_000_000)
    before = pa.total_allocated_bytes()
    for n in range(12):
        writer.write({**row(n), "text": f"{n:02d}" + "x" * big})
        assert pa.total_allocated_bytes() == before  # rows go to the JSONL part, not Arrow
    writer.close()
    parquet = pq.ParquetFile(tmp_path / "part-00000.parquet")
    groups = [parquet.metadata.row_group(g).num_rows for g in range(parquet.num_row_groups)]
    assert groups == [5, 5, 2]  # 5 x 200 KB reach 1 MB: far below the 10,000 rows
    texts = parquet.read(columns=["text"]).column("text").to_pylist()
    assert [t[:2] for t in texts] == [f"{n:02d}" for n in range(12)]
    with pytest.raises(ValueError, match="must be 1 or more"):
        DatasetWriter(tmp_path, "c1", row_group_bytes=0)


def test_files_are_open_until_the_part_is_complete(tmp_path: Path) -> None:
    writer = DatasetWriter(tmp_path, "c1", rows_per_part=3, row_group_rows=2)
    for n in range(4):
        writer.write(row(n))
    names = sorted(p.name for p in tmp_path.iterdir())
    # the Parquet parts are made when the writer closes, from the complete JSONL parts
    assert names == ["part-00000.jsonl.gz", "part-00001.jsonl.gz.open"]
    files = writer.close()
    assert sorted(p.name for p in files) == [
        "part-00000.jsonl.gz",
        "part-00000.parquet",
        "part-00001.jsonl.gz",
        "part-00001.parquet",
    ]
    assert sorted(tmp_path.iterdir()) == sorted(files)
    assert [pq.ParquetFile(p).metadata.num_rows for p in sorted(tmp_path.glob("*.parquet"))] == [
        3,
        1,
    ]


def test_a_killed_writers_parts_get_their_parquet_at_the_next_close(tmp_path: Path) -> None:
    killed = DatasetWriter(tmp_path, "c1", rows_per_part=2, part_prefix="part-w1")
    for n in range(3):  # part 0 complete, part 1 still open when the process dies
        killed.write(row(n))
    (tmp_path / "part-w1-00000.parquet.open").write_bytes(b"half a Parquet file")
    other = write(tmp_path, 1, part_prefix="part-w2")  # another worker's: not touched
    assert (tmp_path / "part-w2-00000.parquet").exists()
    resumed = write(tmp_path, 2, rows_per_part=2, part_prefix="part-w1")
    names = sorted(p.name for p in resumed.closed_files)
    assert names == ["part-w1-00000.parquet", "part-w1-00002.jsonl.gz", "part-w1-00002.parquet"]
    assert pq.read_table(tmp_path / "part-w1-00000.parquet").column("url").to_pylist() == [
        row(0)["url"],
        row(1)["url"],
    ]
    assert (tmp_path / "part-w1-00001.jsonl.gz.open").exists()  # never complete: left as is
    assert not (tmp_path / "part-w1-00000.parquet.open").exists()
    assert other.closed_files[0].exists()


def test_every_reader_sees_the_same_rows(tmp_path: Path) -> None:
    write(tmp_path, 7, rows_per_part=4, row_group_rows=3)
    expected = [{**row(n), "crawl_id": "c1"} for n in range(7)]
    table = pq.read_table(tmp_path / "part-00000.parquet")
    assert table.schema.equals(schema())
    assert table.to_pylist() == expected[:4]
    # the JSONL parts sit beside the Parquet ones: discovery must skip them
    dataset = ds.dataset(tmp_path, format="parquet", exclude_invalid_files=True)
    assert sorted(dataset.to_table().to_pylist(), key=lambda r: r["warc_offset"]) == expected
    con = duckdb.connect()
    got = con.execute(
        f"SELECT url, len(links), images, warc_offset FROM read_parquet('{tmp_path}/*.parquet') "
        "ORDER BY warc_offset"
    ).fetchall()
    assert got == [(r["url"], 2, r["images"], r["warc_offset"]) for r in expected]
    lines = []
    for path in sorted(tmp_path.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            lines += [json.loads(line) for line in fh]
    assert lines == expected
    jsonl = con.execute(
        f"SELECT count(*), sum(warc_offset) FROM read_json('{tmp_path}/*.jsonl.gz')"
    ).fetchone()
    assert jsonl == (7, sum(r["warc_offset"] for r in expected))


def test_any_text_comes_back_as_written(tmp_path: Path) -> None:
    odd = 'tab\t nul\x00 line\u2028sep \\ "q" 😀 é \u00a0 \ufeff' + "long " * 300_000
    rows = [{**row(0), "text": odd, "title": None, "images": []}, {**row(1), "links": []}]
    writer = DatasetWriter(tmp_path, "c1")
    for r in rows:
        writer.write(r)
    writer.close()
    expected = [{**r, "crawl_id": "c1"} for r in rows]
    assert pq.read_table(tmp_path / "part-00000.parquet").to_pylist() == expected
    with gzip.open(tmp_path / "part-00000.jsonl.gz", "rt", encoding="utf-8") as fh:
        assert [json.loads(line) for line in fh] == expected


def test_rows_are_written_without_pyarrow_and_converted_without_pandas(
    tmp_path: Path,
) -> None:
    # While a crawl writes its rows, pyarrow (40 MB, and its allocator) stays out of the
    # process; the Parquet parts are made at close, a bounded row group at a time, and
    # without pandas (which pa.array over Python objects imports to ask if it was given one)
    script = (
        "import sys\n"
        "from pipelines.datasetfile import DatasetWriter, make_row\n"
        "from pipelines.extraction import Extraction\n"
        f"writer = DatasetWriter(__import__('pathlib').Path({str(tmp_path)!r}), 'c1',"
        " row_group_bytes=1_000_000)\n"
        "for n in range(40):\n"
        "    writer.write(make_row(Extraction('ok', '', 'x' * 200_000, links=['https://a.example/']),"
        " url=f'https://a.example/{n}', crawl_id='c1', fetched_at='2026-12-03T10:00:00Z',"
        " status=200, content_type='text/html', outlet=None, payload_digest='sha256:0',"
        " warc_filename='a.warc.gz', warc_offset=n, warc_length=1))\n"
        "print('pyarrow' in sys.modules)\n"
        "writer.close()\n"
        "import pyarrow\n"
        "print('pandas' in sys.modules, pyarrow.default_memory_pool().max_memory())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    before_close, after_close = done.stdout.strip().split("\n")
    assert before_close == "False"
    pandas, peak = after_close.split()
    assert pandas == "False"
    assert int(peak) < 4_000_000  # of the 8 MB of text: about one row group at a time
    parquet = pq.ParquetFile(tmp_path / "part-00000.parquet")
    assert parquet.metadata.num_rows == 40
    assert parquet.num_row_groups == 8


def test_pandas_reads_the_jsonl_parts(tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    write(tmp_path, 3)
    frame = pandas.read_json(tmp_path / "part-00000.jsonl.gz", lines=True, compression="gzip")
    assert list(frame.columns) == [name for name, _ in DOCUMENTED]
    assert len(frame) == 3


def test_nothing_written_is_overwritten_and_bad_rows_are_refused(tmp_path: Path) -> None:
    write(tmp_path, 2)
    before = (tmp_path / "part-00000.parquet").read_bytes()
    write(tmp_path, 2)
    assert (tmp_path / "part-00000.parquet").read_bytes() == before
    assert (tmp_path / "part-00001.parquet").exists()
    writer = DatasetWriter(tmp_path / "other", "c1")
    with pytest.raises(ValueError, match="lacks warc_offset"):
        writer.write({**row(0), "warc_offset": None})
    with pytest.raises(ValueError):
        DatasetWriter(tmp_path, "c1", rows_per_part=0)


def test_empty_writer_leaves_no_files(tmp_path: Path) -> None:
    assert write(tmp_path / "text", 0).closed_files == []
    assert not (tmp_path / "text").exists()


# --- the crawl writes it ----------------------------------------------------------------


def html_records(store: Path) -> dict[tuple[str, int], tuple[str, str]]:
    """(file, offset) -> (url, record type) of every HTML response and revisit."""
    found = {}
    for path in sorted(store.glob("crawls/*/warc/*.warc.gz")):
        with path.open("rb") as fh:
            records = ArchiveIterator(fh)
            for record in records:
                headers = record.http_headers
                if record.rec_type not in ("response", "revisit") or headers is None:
                    continue
                content_type = headers.get_header("Content-Type") or ""
                status = int(headers.get_statuscode())
                record.raw_stream.read()
                if content_type.startswith("text/html") and not 300 <= status < 400:
                    url = record.rec_headers.get_header("WARC-Target-URI")
                    found[(path.name, records.get_record_offset())] = (url, record.rec_type)
    return found


@pytest.mark.slow
def test_crawl_writes_one_row_per_html_page(
    localweb: LocalWeb, localweb_registry: Path, tmp_path: Path
) -> None:
    store = tmp_path / "archive"
    done = crawl_local(
        localweb.seed_url, store, localweb_registry, "--crawl-id", "c1", "--log-level", "INFO"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # the Parquet parts are made (then logged) once the workers are gone: their memory
    # and pyarrow's are not taken at once
    stopped = done.stderr.index("extraction: workers stopped")
    assert done.stderr.index("dataset: ") > stopped
    text = store / "crawls" / "c1" / "text"
    assert sorted(p.name for p in text.iterdir()) == ["part-00000.jsonl.gz", "part-00000.parquet"]
    rows = pq.read_table(text / "part-00000.parquet").to_pylist()
    assert {(r["warc_filename"], r["warc_offset"]) for r in rows} == set(html_records(store))
    assert len(rows) == len({(r["warc_filename"], r["warc_offset"]) for r in rows})
    manifest = json.loads((store / "crawls" / "c1" / "manifest.json").read_text())
    assert {"crawls/c1/text/part-00000.parquet", "crawls/c1/text/part-00000.jsonl.gz"} <= {
        f["path"] for f in manifest["files"]
    }
    seed = next(r for r in rows if r["url"] == localweb.seed_url)
    assert seed["extraction"] == "ok" and seed["title"] and len(seed["text"]) > 200
    assert all(link.startswith("http") for r in rows for link in r["links"])
    assert {r["crawl_id"] for r in rows} == {"c1"}
    assert any(r["outlet"] for r in rows)
