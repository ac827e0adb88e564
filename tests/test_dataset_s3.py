"""Researchers open the dataset straight from S3 (pyarrow) and from a pulled copy (DuckDB, pandas)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pytest

from crawler.localweb import LocalWeb
from crawler.settings import (
    DATASET_ROW_GROUP_BYTES,
    DATASET_ROW_GROUP_ROWS,
    DATASET_ROWS_PER_PART,
)
from pipelines.datasetfile import PartSizes
from pipelines.reextract import reextract
from storage import open_store
from storage.layout import dataset_root
from tests.fixtures.cli import crawl_local, run_cli
from tests.test_reextract import POOL

pytestmark = pytest.mark.slow


def test_all_crawls_open_at_once_from_s3_and_from_a_pull(
    localweb: LocalWeb, localweb_registry: Path, s3_store_uri: str, moto_server: str, tmp_path: Path
) -> None:
    for crawl_id, version in (("a", 1), ("b", 2)):
        localweb.set_version(version)
        done = crawl_local(
            localweb.seed_url, s3_store_uri, localweb_registry, "--crawl-id", crawl_id
        )
        assert done.returncode == 0, done.stderr[-2000:]
    # one call, the store's URI and the root's name: the endpoint comes from AWS_ENDPOINT_URL
    dataset = ds.dataset(f"{s3_store_uri}/{dataset_root()}", partitioning="hive")
    assert dataset.schema.names.count("crawl_id") == 1
    table = dataset.to_table(
        columns=["crawl_id", "url", "status", "text", "images", "extraction", "payload_digest"]
    )
    by_crawl = table.group_by("crawl_id").aggregate([("url", "count")]).to_pydict()
    counts = dict(zip(by_crawl["crawl_id"], by_crawl["url_count"], strict=True))
    assert set(counts) == {"a", "b"} and counts["a"] >= 8
    seed_rows = table.filter(ds.field("url") == localweb.seed_url).sort_by("crawl_id").to_pylist()
    assert [r["crawl_id"] for r in seed_rows] == ["a", "b"] and "Dong" in seed_rows[0]["text"]
    # the seed did not change: crawl b's row points at crawl a's by payload digest
    assert seed_rows[1]["extraction"] == "unchanged" and not seed_rows[1]["text"]
    assert seed_rows[1]["payload_digest"] == seed_rows[0]["payload_digest"]

    # a re-extracted version opens the same way, from a root of its own
    sizes = PartSizes(DATASET_ROWS_PER_PART, DATASET_ROW_GROUP_ROWS, DATASET_ROW_GROUP_BYTES)
    redone = reextract(open_store(s3_store_uri), "a", sizes=sizes, workers=1, version="v2", **POOL)
    version = ds.dataset(f"{s3_store_uri}/{dataset_root(version='v2')}", partitioning="hive")
    assert version.count_rows() == redone.rows == counts["a"]
    assert set(version.to_table(columns=["crawl_id"]).column("crawl_id").to_pylist()) == {"a"}
    assert ds.dataset(f"{s3_store_uri}/{dataset_root()}", partitioning="hive").count_rows() == sum(
        counts.values()
    )

    dest = tmp_path / "pulled"
    pulled = run_cli("pull", "--store", s3_store_uri, str(dest))
    assert pulled.returncode == 0, pulled.stderr
    rows = duckdb.execute(
        f"select crawl_id, count(*) from read_parquet('{dest}/datasets/text/*/*.parquet', "
        "hive_partitioning=true) group by crawl_id order by crawl_id"
    ).fetchall()
    assert dict(rows) == counts
    frame = pd.read_parquet(dest / dataset_root())
    assert frame.groupby("crawl_id", observed=True).size().to_dict() == counts
    frames = [pd.read_json(p, lines=True) for p in dest.glob("datasets/text-jsonl/*/*.jsonl.gz")]
    assert sum(len(f) for f in frames) == sum(counts.values())
    again = run_cli("pull", "--store", s3_store_uri, str(dest))
    assert again.returncode == 0, again.stderr
    assert ": 0 files downloaded" in again.stdout  # resumed: everything verified and kept
