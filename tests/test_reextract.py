"""Re-extraction over stored WARCs: revisits resolved, a new dataset version, nothing overwritten."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import brotli
import pandas as pd
import pyarrow.parquet as pq
import pytest

from crawler import settings as project
from crawler.settings import (
    DATASET_ROW_GROUP_BYTES,
    DATASET_ROW_GROUP_ROWS,
    DATASET_ROWS_PER_PART,
)
from pipelines.datasetfile import PartSizes
from pipelines.extraction import extract_page, make_options
from pipelines.reextract import reextract
from pipelines.warcfile import RollingWarcFile
from pipelines.warcrecords import Exchange, Original, build_exchange
from storage import crawl_log_key, open_store
from storage.cdxj import build_cdxj
from storage.layout import (
    DATASETS,
    dataset_prefix,
    dataset_root,
    local_path,
    text_jsonl_key,
    text_key,
    version_manifest_key,
)
from tests.fixtures.cli import run_cli
from tests.fixtures.sample import FALLBACK_PAGE, sample_page

DATE = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
NEWS = "The ministry confirmed on Tuesday that the official had left the country in June. " * 4
OLD = "An article first archived by an earlier crawl, unchanged since then, word for word. " * 4
GONE = "A payload whose original record is in no crawl of this store at all, anywhere. " * 4
SIZES = PartSizes(DATASET_ROWS_PER_PART, DATASET_ROW_GROUP_ROWS, DATASET_ROW_GROUP_BYTES)


def html(text: str, title: str) -> bytes:
    return (
        f"<html><head><title>{title}</title></head><body><article><p>{text}</p>"
        f'<p><a href="more.html">More</a> about it.</p></article></body></html>'
    ).encode()


def exchange(url: str, body: bytes, *headers: tuple[str, str], status: int = 200) -> Exchange:
    return Exchange(
        url=url,
        method="GET",
        request_target="/" + url.split("/", 3)[3],
        request_headers=[("Host", url.split("/")[2])],
        request_body=b"",
        protocol="HTTP/1.1",
        status=status,
        response_headers=list(headers),
        body=body,
        date=DATE,
    )


class Crawl:
    """Writes one crawl's WARC files into a local store layout, one exchange per file."""

    def __init__(self, root: Path, crawl_id: str) -> None:
        self.root, self.crawl_id = root, crawl_id
        numbers = count(1)
        self.writer = RollingWarcFile(
            root / "crawls" / crawl_id / "warc",
            prefix="scrubwatch",
            max_size=1,
            warcinfo={"isPartOf": crawl_id},
            host="host",
            clock=lambda: DATE + timedelta(seconds=next(numbers)),
        )
        self.locations: dict[str, tuple[str, int, int]] = {}

    def add(self, ex: Exchange, original: Original | None = None) -> Original:
        records = build_exchange(ex, original=original)
        first = self.writer.write(records.members)[0]
        self.locations[ex.url] = (first.filename, first.offset, first.length)
        return Original(ex.url, records.warc_date, records.record_id)

    def close(self) -> None:
        self.writer.close()


HTML = ("Content-Type", "text/html; charset=utf-8")
# what `scrubwatch extract` gives reextract, from crawler/settings.py
POOL = {
    "timeout": project.EXTRACT_TIMEOUT,
    "max_bytes": project.EXTRACT_MAX_BYTES,
    "trim_interval": project.MEMORY_TRIM_INTERVAL,
}


@pytest.fixture
def archive(tmp_path: Path) -> tuple[Path, dict[str, tuple[str, int, int]]]:
    root = tmp_path / "archive"
    earlier = Crawl(root, "c0")
    old = earlier.add(exchange("http://old.example/story", html(OLD, "Old"), HTML))
    earlier.close()
    # the plain index of a crawl stored before indexes were compressed: still read
    index = root / "crawls" / "c0" / "indexes" / "index.cdxj"
    index.parent.mkdir(parents=True)
    index.write_bytes(build_cdxj(earlier.writer.closed_files))

    crawl = Crawl(root, "c1")
    first = crawl.add(exchange("http://news.example/a/story", html(NEWS, "Story"), HTML))
    crawl.add(
        exchange(
            "http://news.example/b/gzipped",
            gzip.compress(html("Gzipped text of a second article, long enough. " * 4, "Gz")),
            HTML,
            ("Content-Encoding", "gzip"),
        )
    )
    crawl.add(
        exchange(
            "http://news.example/c/brotli",
            brotli.compress(html("Brotli text of a third article, long enough too. " * 4, "Br")),
            ("Content-Type", "text/html"),
            ("Content-Encoding", "br"),
        )
    )
    crawl.add(
        exchange(
            "http://news.example/logo.png", b"\x89PNG\r\n\x1a\n", ("Content-Type", "image/png")
        )
    )
    crawl.add(
        exchange(
            "http://news.example/moved",
            b"<html><body>Moved</body></html>",
            HTML,
            ("Location", "/a/story"),
            status=301,
        )
    )
    crawl.add(exchange("http://mirror.example/story", html(NEWS, "Story"), HTML), original=first)
    crawl.add(exchange("http://old.example/story", html(OLD, "Old"), HTML), original=old)
    crawl.add(
        exchange("http://gone.example/x", html(GONE, "Gone"), HTML),
        original=Original("http://gone.example/x", "2020-01-01T00:00:00Z", "<urn:uuid:gone>"),
    )
    crawl.close()
    log = [{"url": "http://news.example/a/story", "outlet": "news", "outcome": "captured"}]
    lines = "".join(json.dumps(entry) + "\n" for entry in log).encode()
    (root / crawl_log_key("c1")).write_bytes(gzip.compress(lines))
    return root, crawl.locations


def digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.glob("crawls/*/warc/*"))
    }


@pytest.mark.slow
def test_reextract_resolves_revisits_and_writes_a_new_version(
    archive: tuple[Path, dict[str, tuple[str, int, int]]],
) -> None:
    root, locations = archive
    before = digests(root)
    store = open_store(str(root))
    # the DATASET_* sizes, as the crawl's pipeline takes them
    sizes = PartSizes(rows_per_part=4, row_group_rows=3, row_group_bytes=DATASET_ROW_GROUP_BYTES)
    result = reextract(store, "c1", sizes=sizes, workers=2, version="v1", **POOL)
    assert digests(root) == before  # WARCs only read
    assert result.prefix == "datasets/text@v1/crawl_id=c1/"
    assert result.counts == {"ok": 5, "error": 1}
    parts = [f"part-0000{i}" for i in (0, 1)]
    stored = [text_jsonl_key("c1", f"{p}.jsonl.gz", version="v1") for p in parts]
    stored += [text_key("c1", f"{p}.parquet", version="v1") for p in parts]
    assert result.keys == [*stored, version_manifest_key("c1", "v1")]
    assert sorted(p.relative_to(root).as_posix() for p in (root / DATASETS).rglob("*")) == [
        "datasets/text-jsonl@v1",
        "datasets/text-jsonl@v1/crawl_id=c1",
        *stored[:2],
        "datasets/text@v1",
        "datasets/text@v1/crawl_id=c1",
        *stored[2:],
    ]
    manifest = json.loads((root / version_manifest_key("c1", "v1")).read_text())
    assert manifest["version"] == "v1" and manifest["counts"]["rows"] == 6
    assert [entry["path"] for entry in manifest["files"]] == stored
    for entry in manifest["files"]:
        data = (root / entry["path"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["bytes"], entry["sha256"])
    text = local_path(root, dataset_prefix("c1", version="v1"))
    groups = [
        [
            pq.ParquetFile(p).metadata.row_group(g).num_rows
            for g in range(pq.ParquetFile(p).num_row_groups)
        ]
        for p in sorted(text.iterdir())
    ]
    assert groups == [[3, 1], [2]]

    frame = pd.read_parquet(root / dataset_root(version="v1"))
    assert frame["crawl_id"].astype(str).tolist() == ["c1"] * 6
    rows = {r["url"]: r for r in pq.read_table(text).to_pylist()}
    assert list(rows) == [
        "http://news.example/a/story",
        "http://news.example/b/gzipped",
        "http://news.example/c/brotli",
        "http://mirror.example/story",  # revisit of a/story, same crawl
        "http://old.example/story",  # revisit of crawl c0, through its index
        "http://gone.example/x",  # revisit of nothing the store holds
    ]
    for url, row in rows.items():
        assert (row["warc_filename"], row["warc_offset"], row["warc_length"]) == locations[url]
        assert row["fetched_at"].startswith("2026-11-25T08:30")
    story = rows["http://news.example/a/story"]
    assert (story["extraction"], story["title"], story["outlet"]) == ("ok", "Story", "news")
    assert story["text"].startswith(NEWS.strip())
    assert story["links"] == ["http://news.example/a/more.html"]
    assert story["payload_digest"].startswith("sha256:")
    assert rows["http://news.example/b/gzipped"]["text"].startswith("Gzipped text")
    assert rows["http://news.example/c/brotli"]["text"].startswith("Brotli text")
    mirror = rows["http://mirror.example/story"]
    assert (mirror["text"], mirror["payload_digest"]) == (story["text"], story["payload_digest"])
    assert mirror["links"] == ["http://mirror.example/more.html"]  # its own URL, not the original's
    assert rows["http://old.example/story"]["text"].startswith(OLD.strip())
    gone = rows["http://gone.example/x"]
    assert (gone["extraction"], gone["text"]) == ("error", "")
    assert "original" in gone["extraction_reason"]
    lines = []
    for key in stored[:2]:
        with gzip.open(root / key, "rt") as fh:
            lines += [json.loads(line) for line in fh]
    assert [line["url"] for line in lines] == list(rows)
    assert {line["crawl_id"] for line in lines} == {"c1"}
    # the version stays out of the crawl's own dataset
    assert not (root / dataset_root()).exists() and not (root / dataset_root(jsonl=True)).exists()

    with pytest.raises(ValueError, match="already exists"):
        reextract(store, "c1", sizes=SIZES, version="v1", **POOL)
    assert json.loads((root / version_manifest_key("c1", "v1")).read_text()) == manifest


@pytest.mark.slow
def test_reextract_from_s3(
    archive: tuple[Path, dict[str, tuple[str, int, int]]], s3_store_uri: str
) -> None:
    root, _ = archive
    store = open_store(s3_store_uri)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        store.put(path.relative_to(root).as_posix(), path)
    result = reextract(store, "c1", sizes=SIZES, workers=1, **POOL)
    assert result.version.endswith("Z") and result.counts == {"ok": 5, "error": 1}
    assert list(store.list(result.prefix)) == [
        text_key("c1", "part-00000.parquet", version=result.version)
    ]
    assert result.keys == [
        text_jsonl_key("c1", "part-00000.jsonl.gz", version=result.version),
        text_key("c1", "part-00000.parquet", version=result.version),
        version_manifest_key("c1", result.version),
    ]
    assert all(store.exists(key) for key in result.keys)


def test_bad_version_and_missing_crawl(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    with pytest.raises(ValueError, match="invalid version"):
        reextract(store, "c1", sizes=SIZES, version="../x", **POOL)
    with pytest.raises(ValueError, match="no WARC files"):
        reextract(store, "c1", sizes=SIZES, version="v1", **POOL)
    # a version that an earlier scrubwatch stored in the crawl's folder is taken too
    store.put_bytes("crawls/c1/_text-v1/manifest.json", b"{}")
    with pytest.raises(ValueError, match="version v1 of crawl c1 already exists"):
        reextract(store, "c1", sizes=SIZES, version="v1", **POOL)


@pytest.mark.slow
def test_extract_fast_is_a_version_of_its_own_and_says_so(tmp_path: Path) -> None:
    root, url = tmp_path / "archive", "http://news.example/fallback"
    crawl = Crawl(root, "c1")
    crawl.add(exchange(url, sample_page(FALLBACK_PAGE), ("Content-Type", "text/html")))
    crawl.close()
    texts, manifests = {}, {}
    for version, flags in (("full", ()), ("fast", ("--fast",))):
        done = run_cli(
            "extract", "--store", str(root), "--crawl", "c1", "--version", version, *flags
        )
        assert done.returncode == 0, done.stderr
        manifests[version] = json.loads((root / version_manifest_key("c1", version)).read_text())
        (row,) = pd.read_parquet(root / dataset_root(version=version)).to_dict("records")
        texts[version] = row["text"]
    assert manifests["full"]["extraction"] == {"enabled": True, "fast": False}
    assert manifests["fast"]["extraction"] == {"enabled": True, "fast": True}
    for version, fast in (("full", False), ("fast", True)):
        expected = extract_page(
            sample_page(FALLBACK_PAGE), url, "text/html", options=make_options(fast=fast)
        )
        assert texts[version] == expected.text
    assert len(texts["fast"]) < len(texts["full"]) / 2
