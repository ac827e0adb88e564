"""The text dataset: its schema, rolling parts, readers, and the crawl pipelines that write it."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.localweb import LocalWeb
from crawler.settings import (
    DATASET_ROW_GROUP_BYTES,
    DATASET_ROW_GROUP_ROWS,
    DATASET_ROWS_PER_PART,
)
from pipelines.dataset import DatasetWriter, PartSizes, make_row
from pipelines.datasetparquet import parquet_schema, schema
from pipelines.extraction import Extraction
from storage.layout import dataset_prefix, dataset_root, staged_dataset, text_jsonl_key, text_key
from storage.rendered import DOM_PREFIX, dom_uri
from tests.fixtures.cli import crawl_local, run_cli

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
    ("rendered", pa.bool_()),
    ("soft_404", pa.string()),
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


SIZES = PartSizes(DATASET_ROWS_PER_PART, DATASET_ROW_GROUP_ROWS, DATASET_ROW_GROUP_BYTES)


def writer_in(
    root: Path, crawl_id: str = "c1", *, prefix: str = "part", **sizes: int
) -> DatasetWriter:
    """A writer into ``root``'s partitions of ``crawl_id``, as the crawl stages them."""
    return DatasetWriter(
        staged_dataset(root, crawl_id),
        staged_dataset(root, crawl_id, jsonl=True),
        crawl_id,
        replace(SIZES, **sizes),
        part_prefix=prefix,
    )


def write(root: Path, count: int, crawl_id: str = "c1", **sizes: Any) -> DatasetWriter:
    writer = writer_in(root, crawl_id, **sizes)
    for n in range(count):
        writer.write(row(n))
    writer.close()
    return writer


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_schema_is_exactly_the_documented_one() -> None:
    assert [(f.name, f.type) for f in schema()] == DOCUMENTED
    # a Parquet part leaves out crawl_id, which its folder gives (crawl_id=<id>)
    assert [(f.name, f.type) for f in parquet_schema()] == [
        (name, kind) for name, kind in DOCUMENTED if name != "crawl_id"
    ]


def test_parts_roll_over_and_row_groups_are_bounded(tmp_path: Path) -> None:
    writer = write(tmp_path, 12, rows_per_part=5, row_group_rows=2)
    parquet, jsonl = staged_dataset(tmp_path, "c1"), staged_dataset(tmp_path, "c1", jsonl=True)
    assert names(parquet) == [f"part-{i:05d}.parquet" for i in range(3)]
    assert names(jsonl) == [f"part-{i:05d}.jsonl.gz" for i in range(3)]
    assert sorted(writer.closed_files) == sorted([*parquet.iterdir(), *jsonl.iterdir()])
    groups = [
        [
            pq.ParquetFile(parquet / f"part-{i:05d}.parquet").metadata.row_group(g).num_rows
            for g in range(pq.ParquetFile(parquet / f"part-{i:05d}.parquet").num_row_groups)
        ]
        for i in range(3)
    ]
    assert groups == [[2, 2, 1], [2, 2, 1], [2]]
    meta = pq.ParquetFile(parquet / "part-00000.parquet").metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_row_groups_are_bounded_by_bytes_whatever_the_size_of_pages(tmp_path: Path) -> None:
    big = 200_000  # characters of text a row: a long page
    writer = writer_in(tmp_path, row_group_bytes=1_000_000)
    before = pa.total_allocated_bytes()
    for n in range(12):
        writer.write({**row(n), "text": f"{n:02d}" + "x" * big})
        assert pa.total_allocated_bytes() == before  # rows go to the JSONL part, not Arrow
    writer.close()
    parquet = pq.ParquetFile(staged_dataset(tmp_path, "c1") / "part-00000.parquet")
    groups = [parquet.metadata.row_group(g).num_rows for g in range(parquet.num_row_groups)]
    assert groups == [5, 5, 2]  # 5 x 200 KB reach 1 MB: far below the 10,000 rows
    texts = parquet.read(columns=["text"]).column("text").to_pylist()
    assert [t[:2] for t in texts] == [f"{n:02d}" for n in range(12)]
    with pytest.raises(ValueError, match="must be 1 or more"):
        replace(SIZES, row_group_bytes=0)


def test_files_are_open_until_the_part_is_complete(tmp_path: Path) -> None:
    writer = writer_in(tmp_path, rows_per_part=3, row_group_rows=2)
    parquet, jsonl = staged_dataset(tmp_path, "c1"), staged_dataset(tmp_path, "c1", jsonl=True)
    for n in range(4):
        writer.write(row(n))
    # the Parquet parts are made when the writer closes, from the complete JSONL parts
    assert names(jsonl) == ["part-00000.jsonl.gz", "part-00001.jsonl.gz.open"]
    assert not parquet.exists()
    files = writer.close()
    assert sorted(files) == sorted(
        [jsonl / f"part-0000{i}.jsonl.gz" for i in (0, 1)]
        + [parquet / f"part-0000{i}.parquet" for i in (0, 1)]
    )
    assert sorted([*parquet.iterdir(), *jsonl.iterdir()]) == sorted(files)
    assert [pq.ParquetFile(p).metadata.num_rows for p in sorted(parquet.glob("*.parquet"))] == [
        3,
        1,
    ]


def test_a_killed_writers_parts_get_their_parquet_at_the_next_close(tmp_path: Path) -> None:
    parquet, jsonl = staged_dataset(tmp_path, "c1"), staged_dataset(tmp_path, "c1", jsonl=True)
    killed = writer_in(tmp_path, rows_per_part=2, prefix="part-w1")
    for n in range(3):  # part 0 complete, part 1 still open when the process dies
        killed.write(row(n))
    parquet.mkdir(parents=True)
    (parquet / "part-w1-00000.parquet.open").write_bytes(b"half a Parquet file")
    other = writer_in(tmp_path, prefix="part-w2")  # another worker's: not touched
    other.write(row(9))
    other.close()
    assert (parquet / "part-w2-00000.parquet").exists()
    resumed = writer_in(tmp_path, rows_per_part=2, prefix="part-w1")
    for n in range(2):
        resumed.write(row(n))
    resumed.close()
    got = sorted(p.relative_to(tmp_path).as_posix() for p in resumed.closed_files)
    assert got == sorted(
        [
            text_key("c1", "part-w1-00000.parquet"),
            text_key("c1", "part-w1-00002.parquet"),
            text_jsonl_key("c1", "part-w1-00002.jsonl.gz"),
        ]
    )
    assert pq.read_table(parquet / "part-w1-00000.parquet").column("url").to_pylist() == [
        row(0)["url"],
        row(1)["url"],
    ]
    assert (jsonl / "part-w1-00001.jsonl.gz.open").exists()  # never complete: left as is
    assert not (parquet / "part-w1-00000.parquet.open").exists()
    assert other.closed_files[0].exists()


def test_every_reader_sees_the_same_rows(tmp_path: Path) -> None:
    write(tmp_path, 7, rows_per_part=4, row_group_rows=3)
    expected = [{**row(n), "crawl_id": "c1"} for n in range(7)]
    without_crawl = [{k: v for k, v in r.items() if k != "crawl_id"} for r in expected]
    parquet, jsonl = staged_dataset(tmp_path, "c1"), staged_dataset(tmp_path, "c1", jsonl=True)
    table = pq.read_table(parquet / "part-00000.parquet")
    assert table.schema.equals(parquet_schema())
    assert table.to_pylist() == without_crawl[:4]
    # the crawl's partition, read through its root, gives every row its crawl_id
    dataset = ds.dataset(tmp_path / dataset_root(), partitioning="hive")
    got = sorted(dataset.to_table().to_pylist(), key=lambda r: r["warc_offset"])
    assert got == [{**r, "crawl_id": "c1"} for r in without_crawl]
    con = duckdb.connect()
    got = con.execute(
        f"SELECT url, len(links), images, warc_offset, crawl_id FROM "
        f"read_parquet('{tmp_path / dataset_root()}/*/*.parquet') ORDER BY warc_offset"
    ).fetchall()
    assert got == [(r["url"], 2, r["images"], r["warc_offset"], "c1") for r in expected]
    lines = []
    for path in sorted(jsonl.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            lines += [json.loads(line) for line in fh]
    assert lines == expected
    jsonl_rows = con.execute(
        f"SELECT count(*), sum(warc_offset) FROM read_json('{jsonl}/*.jsonl.gz')"
    ).fetchone()
    assert jsonl_rows == (7, sum(r["warc_offset"] for r in expected))


def test_one_call_opens_every_crawl_with_one_crawl_id_column(tmp_path: Path) -> None:
    crawls = {"20261125T100414Z-v1": 3, "20261126T100414Z-v2": 2, "c-3": 4}
    for crawl_id, count in crawls.items():
        write(tmp_path, count, crawl_id, rows_per_part=2)
    # a worker's parts of a shared crawl sit in the same partition
    worker = writer_in(tmp_path, "c-3", prefix="part-w1")
    worker.write(row(50))
    worker.close()
    crawls["c-3"] += 1
    # a re-extracted version: roots of its own, which reading datasets/text never meets
    version = DatasetWriter(
        tmp_path / dataset_prefix("c-3", version="v2"),
        tmp_path / dataset_prefix("c-3", jsonl=True, version="v2"),
        "c-3",
        SIZES,
    )
    version.write(row(60))
    version.close()
    root = tmp_path / dataset_root()

    def counts(values: list[Any]) -> dict[str, int]:
        return {str(k): values.count(k) for k in set(values)}

    frame = pd.read_parquet(root)
    assert list(frame.columns).count("crawl_id") == 1
    assert counts(frame["crawl_id"].astype(str).tolist()) == crawls
    table = ds.dataset(str(root), partitioning="hive").to_table()
    assert table.column_names.count("crawl_id") == 1
    assert counts(table.column("crawl_id").to_pylist()) == crawls
    duck = duckdb.sql(f"SELECT * FROM read_parquet('{root}/*/*.parquet', hive_partitioning=true)")
    assert duck.columns.count("crawl_id") == 1
    assert counts([r[0] for r in duck.select("crawl_id").fetchall()]) == crawls
    polar = pl.read_parquet(root)
    assert polar.columns.count("crawl_id") == 1
    assert counts(polar["crawl_id"].to_list()) == crawls
    again = pd.read_parquet(tmp_path / dataset_root(version="v2"))
    assert again["crawl_id"].astype(str).tolist() == ["c-3"] and again["url"][0] == row(60)["url"]
    jsonl = pd.concat(
        pd.read_json(p, lines=True) for p in (tmp_path / dataset_root(jsonl=True)).rglob("*.gz")
    )
    assert counts(jsonl["crawl_id"].tolist()) == crawls


def test_any_text_comes_back_as_written(tmp_path: Path) -> None:
    odd = 'tab\t nul\x00 line\u2028sep \\ "q" 😀 é \u00a0 \ufeff' + "long " * 300_000
    rows = [{**row(0), "text": odd, "title": None, "images": []}, {**row(1), "links": []}]
    writer = writer_in(tmp_path)
    for r in rows:
        writer.write(r)
    writer.close()
    expected = [{**r, "crawl_id": "c1"} for r in rows]
    parquet = pq.read_table(staged_dataset(tmp_path, "c1") / "part-00000.parquet").to_pylist()
    assert parquet == [{k: v for k, v in r.items() if k != "crawl_id"} for r in expected]
    jsonl = staged_dataset(tmp_path, "c1", jsonl=True) / "part-00000.jsonl.gz"
    with gzip.open(jsonl, "rt", encoding="utf-8") as fh:
        assert [json.loads(line) for line in fh] == expected


def test_rows_are_written_without_pyarrow_and_converted_without_pandas(
    tmp_path: Path,
) -> None:
    # While a crawl writes its rows, pyarrow (40 MB, and its allocator) stays out of the
    # process; the Parquet parts are made at close, a bounded row group at a time, and
    # without pandas (which pa.array over Python objects imports to ask if it was given one)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from pipelines.datasetfile import DatasetWriter, PartSizes, make_row\n"
        "from pipelines.extraction import Extraction\n"
        f"root = Path({str(tmp_path)!r})\n"
        "writer = DatasetWriter(root / 'parquet', root / 'jsonl', 'c1',"
        " PartSizes(50_000, 10_000, 1_000_000))\n"
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
    parquet = pq.ParquetFile(tmp_path / "parquet" / "part-00000.parquet")
    assert parquet.metadata.num_rows == 40
    assert parquet.num_row_groups == 8


def test_pandas_reads_the_jsonl_parts(tmp_path: Path) -> None:
    write(tmp_path, 3)
    jsonl = staged_dataset(tmp_path, "c1", jsonl=True) / "part-00000.jsonl.gz"
    frame = pd.read_json(jsonl, lines=True, compression="gzip")
    assert list(frame.columns) == [name for name, _ in DOCUMENTED]
    assert len(frame) == 3


def test_nothing_written_is_overwritten_and_bad_rows_are_refused(tmp_path: Path) -> None:
    parquet = staged_dataset(tmp_path, "c1")
    write(tmp_path, 2)
    before = (parquet / "part-00000.parquet").read_bytes()
    write(tmp_path, 2)
    assert (parquet / "part-00000.parquet").read_bytes() == before
    assert (parquet / "part-00001.parquet").exists()
    writer = writer_in(tmp_path / "other")
    with pytest.raises(ValueError, match="lacks warc_offset"):
        writer.write({**row(0), "warc_offset": None})
    with pytest.raises(ValueError):
        PartSizes(0, 1, 1)


def test_empty_writer_leaves_no_files(tmp_path: Path) -> None:
    assert write(tmp_path, 0).closed_files == []
    assert not (tmp_path / "datasets").exists()


# --- the crawl writes it ----------------------------------------------------------------


def html_records(store: Path) -> dict[tuple[str, int], tuple[str, str]]:
    """(file, offset) -> (url, record type) of every HTML response and revisit, and of
    every rendered DOM (``urn:dom:<url>``) in place of its page's response."""
    found = {}
    for path in sorted(store.glob("crawls/*/warc/*.warc.gz")):
        with path.open("rb") as fh:
            records = ArchiveIterator(fh)
            for record in records:
                headers = record.http_headers
                uri = record.rec_headers.get_header("WARC-Target-URI") or ""
                if uri.startswith(DOM_PREFIX):
                    record.raw_stream.read()
                    found[(path.name, records.get_record_offset())] = (uri, record.rec_type)
                    continue
                if record.rec_type not in ("response", "revisit") or headers is None:
                    continue
                content_type = headers.get_header("Content-Type") or ""
                status = int(headers.get_statuscode())
                record.raw_stream.read()
                if content_type.startswith("text/html") and not 300 <= status < 400:
                    url = record.rec_headers.get_header("WARC-Target-URI")
                    found[(path.name, records.get_record_offset())] = (url, record.rec_type)
    rendered = {
        url.removeprefix(DOM_PREFIX)
        for url, _ in found.values()
        if url != url.removeprefix(DOM_PREFIX)
    }
    return {at: (url, kind) for at, (url, kind) in found.items() if url not in rendered}


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
    assert names(staged_dataset(store, "c1")) == ["part-00000.parquet"]
    assert names(staged_dataset(store, "c1", jsonl=True)) == ["part-00000.jsonl.gz"]
    assert not (store / "crawls" / "c1" / "text").exists()
    rows = pd.read_parquet(store / dataset_root()).to_dict("records")
    assert {(r["warc_filename"], r["warc_offset"]) for r in rows} == set(html_records(store))
    assert len(rows) == len({(r["warc_filename"], r["warc_offset"]) for r in rows})
    # the script-built pages' rows are made from what the browser rendered
    where = html_records(store)
    doms = {r["url"] for r in rows if where[(r["warc_filename"], r["warc_offset"])][0] != r["url"]}
    assert doms and doms == {r["url"] for r in rows if r["rendered"]}
    assert all(
        where[(r["warc_filename"], r["warc_offset"])][0] == dom_uri(r["url"])
        for r in rows
        if r["url"] in doms
    )
    manifest = json.loads((store / "crawls" / "c1" / "manifest.json").read_text())
    assert {text_key("c1", "part-00000.parquet"), text_jsonl_key("c1", "part-00000.jsonl.gz")} <= {
        f["path"] for f in manifest["files"]
    }
    seed = next(r for r in rows if r["url"] == localweb.seed_url)
    assert seed["extraction"] == "ok" and seed["title"] and len(seed["text"]) > 200
    assert all(link.startswith("http") for r in rows for link in list(r["links"]))
    assert {r["crawl_id"] for r in rows} == {"c1"}
    assert any(r["outlet"] for r in rows)


@pytest.mark.slow
def test_after_the_demo_one_call_reads_every_crawl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make demo`` then ``pd.read_parquet("archive/datasets/text")``: what the README says."""
    monkeypatch.chdir(tmp_path)
    done = run_cli("demo", "--store", "archive", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    crawls = sorted(p.name for p in (tmp_path / "archive" / "crawls").iterdir())
    assert len(crawls) == 2 and crawls[0].endswith("-v1") and crawls[1].endswith("-v2")
    frame = pd.read_parquet("archive/datasets/text")
    assert list(frame.columns).count("crawl_id") == 1
    got = frame.groupby("crawl_id", observed=True).size().to_dict()
    expected = {}
    for crawl_id in crawls:
        info = json.loads(
            (tmp_path / "archive" / "crawls" / crawl_id / "crawl-info.json").read_text()
        )
        expected[crawl_id] = info["counts"]["dataset/rows"]
    assert got == expected and all(n > 5 for n in got.values())
    seed = frame[frame["url"].str.contains("senior-chinese-counterintelligence")]
    assert sorted(seed["crawl_id"].astype(str)) == crawls
