"""Tests of storage.layout: keys, crawl ids, the staging folder and workers' own copies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from storage import (
    crawl_exists,
    crawl_log_key,
    crawl_prefix,
    index_key,
    list_crawl_ids,
    manifest_key,
    new_crawl_id,
    open_store,
    staged_files,
    text_key,
    validate_crawl_id,
    warc_key,
)
from storage.cdxj import merge_cdxj
from storage.layout import copies_of, info_key, worker_file, worker_of

CRAWL = "20260101T000000Z"


def test_keys() -> None:
    assert crawl_prefix(CRAWL) == "crawls/20260101T000000Z/"
    assert warc_key(CRAWL, "a.warc.gz") == "crawls/20260101T000000Z/warc/a.warc.gz"
    assert crawl_log_key(CRAWL) == "crawls/20260101T000000Z/crawl-log.jsonl.gz"
    assert manifest_key(CRAWL) == "crawls/20260101T000000Z/manifest.json"
    assert index_key(CRAWL) == "crawls/20260101T000000Z/indexes/index.cdxj.gz"
    assert index_key(CRAWL, "urls.cdxj") == "crawls/20260101T000000Z/indexes/urls.cdxj"
    assert text_key(CRAWL, "part-0.parquet") == "crawls/20260101T000000Z/text/part-0.parquet"


@pytest.mark.parametrize("filename", ["", "..", "a/b", "."])
def test_file_names_stay_in_their_folder(filename: str) -> None:
    with pytest.raises(ValueError):
        warc_key(CRAWL, filename)


@pytest.mark.parametrize("crawl_id", [CRAWL, "a", "my-crawl_2.1", "x" * 64])
def test_valid_crawl_ids(crawl_id: str) -> None:
    assert validate_crawl_id(crawl_id) == crawl_id


@pytest.mark.parametrize("crawl_id", ["", ".hidden", "..", "a/b", "a b", "x" * 65, "é"])
def test_invalid_crawl_ids(crawl_id: str) -> None:
    with pytest.raises(ValueError, match="invalid crawl id"):
        validate_crawl_id(crawl_id)
    with pytest.raises(ValueError, match="invalid crawl id"):
        crawl_prefix(crawl_id)


def test_new_crawl_id_is_utc() -> None:
    paris = timezone(timedelta(hours=1))
    assert new_crawl_id(datetime(2026, 1, 1, 1, 2, 3, tzinfo=paris)) == "20260101T000203Z"
    assert new_crawl_id(datetime(2026, 12, 31, 23, 59, 59, 999, tzinfo=UTC)) == "20261231T235959Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        new_crawl_id(datetime(2026, 1, 1))


def test_crawl_ids_in_a_store(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    assert list_crawl_ids(store) == []
    for key in [
        warc_key("20260102T000000Z", "a.warc.gz"),
        manifest_key("20260101T000000Z"),
        crawl_log_key("20260101T000000Z"),
        "crawls/stray-file",
        "other/20260103T000000Z/x",
    ]:
        store.put_bytes(key, b"x")
    assert list_crawl_ids(store) == ["20260101T000000Z", "20260102T000000Z"]
    assert crawl_exists(store, "20260102T000000Z")
    assert not crawl_exists(store, "20260103T000000Z")
    assert not crawl_exists(store, "2026010")


def test_staged_files_mirror_the_store_layout(tmp_path: Path) -> None:
    assert staged_files(tmp_path, CRAWL) == []
    for key in [
        warc_key(CRAWL, "a-00000.warc.gz"),
        warc_key(CRAWL, "a-00001.warc.gz.open"),
        crawl_log_key(CRAWL),
        text_key(CRAWL, "part-0.jsonl"),
        warc_key("20260102T000000Z", "other.warc.gz"),
    ]:
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(b"x")
    assert staged_files(tmp_path, CRAWL) == [
        (crawl_log_key(CRAWL), tmp_path / crawl_log_key(CRAWL)),
        (text_key(CRAWL, "part-0.jsonl"), tmp_path / text_key(CRAWL, "part-0.jsonl")),
        (warc_key(CRAWL, "a-00000.warc.gz"), tmp_path / warc_key(CRAWL, "a-00000.warc.gz")),
    ]


def test_each_worker_of_a_shared_crawl_has_its_own_copies(tmp_path: Path) -> None:
    worker = "host.example.org-4242"
    log = crawl_log_key(CRAWL)
    assert crawl_log_key(CRAWL, worker) == f"crawls/{CRAWL}/crawl-log.{worker}.jsonl.gz"
    assert worker_file("digests.jsonl.gz", worker) == f"digests.{worker}.jsonl.gz"
    assert worker_file("index.cdxj", None) == "index.cdxj"
    assert worker_of(crawl_log_key(CRAWL, worker), log) == worker
    assert worker_of(log, log) is None
    assert worker_of(f"crawls/{CRAWL}/crawl-log.jsonl.gz.open", log) is None
    assert worker_of(f"crawls/{CRAWL}/warc/crawl-log.x.jsonl.gz", log) is None
    with pytest.raises(ValueError, match="invalid worker id"):
        worker_file("index.cdxj", "../x")
    store = open_store(str(tmp_path))
    for key in (log, crawl_log_key(CRAWL, "b-2"), crawl_log_key(CRAWL, "a-1"), info_key(CRAWL)):
        store.put_bytes(key, b"{}\n")
    assert copies_of(store, log) == [log, crawl_log_key(CRAWL, "a-1"), crawl_log_key(CRAWL, "b-2")]
    assert copies_of(store, index_key(CRAWL)) == []


def test_worker_indexes_merge_into_one_sorted_index() -> None:
    first = b"a 1 {}\nc 3 {}\n"
    second = b"b 2 {}\nd 4 {}\n\n"
    assert merge_cdxj([first, second]) == b"a 1 {}\nb 2 {}\nc 3 {}\nd 4 {}\n"
