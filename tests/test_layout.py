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
from storage.layout import (
    copies_of,
    crawl_folder,
    crawl_keys,
    dataset_part_keys,
    dataset_prefix,
    dataset_root,
    digests_key,
    info_key,
    legacy_text_prefix,
    legacy_version_prefix,
    local_path,
    open_path,
    plain_crawl_log_key,
    report_key,
    search_prefix,
    set_aside_dir,
    staged_args,
    staged_dataset,
    staged_dirs,
    staged_lock,
    staged_warcs,
    text_jsonl_key,
    version_manifest_key,
    warc_prefix,
    worker_file,
    worker_of,
    worker_staging,
)

CRAWL = "20260101T000000Z"


def test_keys() -> None:
    assert crawl_prefix(CRAWL) == "crawls/20260101T000000Z/"
    assert warc_key(CRAWL, "a.warc.gz") == "crawls/20260101T000000Z/warc/a.warc.gz"
    assert crawl_log_key(CRAWL) == "crawls/20260101T000000Z/crawl-log.jsonl.gz"
    assert manifest_key(CRAWL) == "crawls/20260101T000000Z/manifest.json"
    assert index_key(CRAWL) == "crawls/20260101T000000Z/indexes/index.cdxj.gz"
    assert index_key(CRAWL, "urls.cdxj") == "crawls/20260101T000000Z/indexes/urls.cdxj"
    assert digests_key(CRAWL, "w-1") == f"crawls/{CRAWL}/indexes/digests.w-1.jsonl.gz"
    assert plain_crawl_log_key(CRAWL) == f"crawls/{CRAWL}/crawl-log.jsonl"
    assert warc_prefix(CRAWL) == f"crawls/{CRAWL}/warc/"
    assert report_key("a", "b") == "reports/a--b.html"


def test_the_dataset_has_roots_of_its_own_partitioned_by_crawl() -> None:
    assert dataset_root() == "datasets/text"
    assert dataset_root(jsonl=True) == "datasets/text-jsonl"
    assert text_key(CRAWL, "part-0.parquet") == f"datasets/text/crawl_id={CRAWL}/part-0.parquet"
    assert (
        text_jsonl_key(CRAWL, "part-0.jsonl.gz")
        == f"datasets/text-jsonl/crawl_id={CRAWL}/part-0.jsonl.gz"
    )
    # a re-extracted version: roots of its own, beside (not under) the crawl's dataset
    assert dataset_root(version="v2") == "datasets/text@v2"
    assert dataset_prefix(CRAWL, jsonl=True, version="v2") == (
        f"datasets/text-jsonl@v2/crawl_id={CRAWL}/"
    )
    assert (
        text_key(CRAWL, "p.parquet", version="v2") == f"datasets/text@v2/crawl_id={CRAWL}/p.parquet"
    )
    assert version_manifest_key(CRAWL, "v2") == f"crawls/{CRAWL}/text@v2.manifest.json"
    assert legacy_text_prefix(CRAWL) == f"crawls/{CRAWL}/text/"
    assert legacy_version_prefix(CRAWL, "v2") == f"crawls/{CRAWL}/_text-v2/"
    for bad in ("", "../x", ".hidden", "a/b", "x" * 65):
        with pytest.raises(ValueError, match="invalid version"):
            dataset_root(version=bad)
    with pytest.raises(ValueError, match="invalid crawl id"):
        text_key("../x", "part-0.parquet")


def test_which_part_of_a_crawl_a_key_is() -> None:
    assert crawl_folder(CRAWL, manifest_key(CRAWL)) == ""
    assert crawl_folder(CRAWL, warc_key(CRAWL, "a.warc.gz")) == "warc"
    assert crawl_folder(CRAWL, index_key(CRAWL)) == "indexes"
    assert crawl_folder(CRAWL, text_key(CRAWL, "p.parquet")) == "text"
    assert crawl_folder(CRAWL, text_jsonl_key(CRAWL, "p.jsonl.gz")) == "text"
    assert crawl_folder(CRAWL, legacy_text_prefix(CRAWL) + "p.parquet") == "text"
    assert crawl_folder(CRAWL, search_prefix(CRAWL) + "p.parquet") == "search_results"
    assert crawl_folder(CRAWL, search_prefix(CRAWL, jsonl=True) + "p.jsonl.gz") == "search_results"
    assert crawl_folder(CRAWL, search_prefix("other") + "p.parquet") is None
    assert crawl_folder(CRAWL, legacy_version_prefix(CRAWL, "2") + "p.parquet") == "_text-2"
    assert crawl_folder(CRAWL, text_key("other", "p.parquet")) is None
    assert crawl_folder(CRAWL, text_key(CRAWL, "p.parquet", version="2")) is None
    assert crawl_folder(CRAWL, manifest_key("20260101T000000Z-b")) is None


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
    other = "20260102T000000Z"
    for key in [
        warc_key(CRAWL, "a-00000.warc.gz"),
        warc_key(CRAWL, "a-00001.warc.gz.open"),
        crawl_log_key(CRAWL),
        text_key(CRAWL, "part-00000.parquet"),
        text_jsonl_key(CRAWL, "part-00000.jsonl.gz"),
        text_jsonl_key(CRAWL, "part-00001.jsonl.gz.open"),
        warc_key(other, "other.warc.gz"),
        text_key(other, "part-00000.parquet"),
    ]:
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(b"x")
    keys = [
        crawl_log_key(CRAWL),
        warc_key(CRAWL, "a-00000.warc.gz"),
        text_jsonl_key(CRAWL, "part-00000.jsonl.gz"),
        text_key(CRAWL, "part-00000.parquet"),
    ]
    assert staged_files(tmp_path, CRAWL) == [(key, tmp_path / key) for key in keys]
    assert staged_dirs(tmp_path, CRAWL) == [
        tmp_path / "crawls" / CRAWL,
        tmp_path / "datasets" / "text" / f"crawl_id={CRAWL}",
        tmp_path / "datasets" / "text-jsonl" / f"crawl_id={CRAWL}",
        tmp_path / "datasets" / "search_results" / f"crawl_id={CRAWL}",
        tmp_path / "datasets" / "search_results-jsonl" / f"crawl_id={CRAWL}",
    ]
    assert staged_warcs(tmp_path, CRAWL) == tmp_path / "crawls" / CRAWL / "warc"
    assert staged_dataset(tmp_path, CRAWL, jsonl=True) == staged_dirs(tmp_path, CRAWL)[2]
    assert local_path(tmp_path, crawl_log_key(CRAWL)) == tmp_path / crawl_log_key(CRAWL)
    with pytest.raises(ValueError, match="invalid store key"):
        local_path(tmp_path, "crawls/../../etc/passwd")


def test_what_a_running_crawl_stages_and_never_publishes(tmp_path: Path) -> None:
    folder = tmp_path / "crawls" / CRAWL
    assert staged_args(tmp_path, CRAWL) == folder / "crawl-args.json.open"
    assert staged_lock(tmp_path, CRAWL) == folder / "crawl.lock.open"
    assert open_path(folder / "a.warc.gz") == folder / "a.warc.gz.open"
    assert set_aside_dir(tmp_path, CRAWL) == tmp_path / "set-aside" / CRAWL
    assert worker_staging(tmp_path, "host-1") == tmp_path / "host-1"
    with pytest.raises(ValueError, match="invalid worker id"):
        worker_staging(tmp_path, "../x")
    for path in (staged_args(tmp_path, CRAWL), staged_lock(tmp_path, CRAWL)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    assert staged_files(tmp_path, CRAWL) == []


def test_a_crawls_keys_and_its_dataset_parts_new_and_old(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    new, old = "20260101T000000Z", "20250101T000000Z"
    for key in [
        manifest_key(new),
        text_key(new, "part-00000.parquet"),
        text_key(new, "part-w1-00000.parquet"),
        text_jsonl_key(new, "part-00000.jsonl.gz"),
        text_key(new, "part-00000.parquet", version="v2"),
        manifest_key(old),
        legacy_text_prefix(old) + "part-00000.parquet",
        legacy_text_prefix(old) + "part-00000.jsonl.gz",
        legacy_version_prefix(old, "v2") + "part-00000.parquet",
    ]:
        store.put_bytes(key, b"x")
    assert crawl_keys(store, new) == [
        manifest_key(new),
        text_jsonl_key(new, "part-00000.jsonl.gz"),
        text_key(new, "part-00000.parquet"),
        text_key(new, "part-w1-00000.parquet"),
    ]
    assert dataset_part_keys(store, new) == [
        text_key(new, "part-00000.parquet"),
        text_key(new, "part-w1-00000.parquet"),
    ]
    assert dataset_part_keys(store, old) == [legacy_text_prefix(old) + "part-00000.parquet"]
    assert dataset_part_keys(store, "20270101T000000Z") == []


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
