"""Tests of storage.catalog and ``scrubwatch crawls``: complete and incomplete crawls."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import main
from storage import Store, manifest_key, open_store
from storage.catalog import list_crawls
from storage.layout import crawl_log_key, info_key, text_key
from tests.fixtures.stored import Capture, stage_crawl, store_crawl

DONE, FAILED, BARE = "20260101T000000Z", "20260102T000000Z", "custom-id"
CREATED = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
PART = "part-00000.parquet"
CAPTURES = [
    Capture("https://www.upi.com/a", "upi", "a.warc.gz"),
    Capture("https://www.upi.com/b", "upi", "b.warc.gz"),
]


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A complete crawl, one whose upload failed after 3 files, and one with only a WARC."""
    if request.param == "local":
        store = open_store(str(tmp_path / "archive"))
    else:
        store = open_store(request.getfixturevalue("s3_store_uri"))
    store_crawl(store, tmp_path / "staging", DONE, CAPTURES, created=CREATED)
    staged = stage_crawl(
        tmp_path / "staging", FAILED, CAPTURES, store_uri=store.uri, started="2026-01-02T00:00:01Z"
    )
    for key, path in staged:  # crawl-info.json, crawl-log.jsonl.gz, the Parquet part
        if key in (info_key(FAILED), crawl_log_key(FAILED), text_key(FAILED, PART)):
            store.put(key, path)
    store.put_bytes(f"crawls/{BARE}/warc/x.warc.gz", b"12345")
    return store


def test_list_crawls(store: Store) -> None:
    manifest = json.loads(store.get(manifest_key(DONE)))
    done, failed, bare = list_crawls(store)
    assert (done.crawl_id, done.complete, done.time) == (DONE, True, CREATED)
    assert done.seeds == ["https://seed.example/article"]
    assert done.pages == 3  # crawl/items/seed + crawl/items/cited, not warc/files
    assert done.files == len(manifest["files"]) == 9  # the index is three files (ZipNum)
    assert text_key(DONE, PART) in {f["path"] for f in manifest["files"]}
    assert done.bytes == sum(f["bytes"] for f in manifest["files"])
    assert not failed.complete and failed.files == 3
    assert failed.time == datetime(2026, 1, 2, 0, 0, 1, tzinfo=UTC)
    assert failed.pages == 3 and failed.seeds == ["https://seed.example/article"]
    assert failed.bytes == sum(
        store.size(k) for k in (info_key(FAILED), crawl_log_key(FAILED), text_key(FAILED, PART))
    )
    assert "no manifest" in failed.note
    assert (bare.crawl_id, bare.complete, bare.time, bare.files, bare.bytes) == (
        BARE,
        False,
        None,
        1,
        5,
    )


def test_cli_crawls(store: Store) -> None:
    as_json = CliRunner().invoke(main, ["crawls", "--store", store.uri, "--json"])
    assert as_json.exit_code == 0, as_json.output
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(r["crawl_id"], r["complete"]) for r in rows] == [
        (DONE, True),
        (FAILED, False),
        (BARE, False),
    ]
    assert rows[0]["time"] == "2026-01-01T00:05:00Z" and rows[0]["pages"] == 3
    table = CliRunner().invoke(main, ["crawls", "--store", store.uri])
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["CRAWL", "TIME", "STATE", "PAGES", "FILES", "BYTES", "SEEDS"]
    done = next(line for line in lines if line.startswith(DONE)).split()
    assert done[:4] == [DONE, "2026-01-01T00:05:00Z", "complete", "3"]
    assert done[-1] == "https://seed.example/article"
    assert next(line for line in lines if line.startswith(FAILED)).split()[2] == "incomplete"


def test_cli_crawls_empty_store(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = CliRunner().invoke(main, ["crawls", "--store", str(tmp_path / "empty")])
    assert done.exit_code == 0 and done.stdout == f"no crawls in store {tmp_path / 'empty'}\n"
