"""Tests of storage.manifest, storage.fixity and storage.verify: chained crawl manifests."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

import storage.fixity as fixity_module
from storage import (
    Manifest,
    Problem,
    Store,
    StoreConflict,
    StoreError,
    StoreMissing,
    build_manifest,
    load_manifest,
    manifest_key,
    open_store,
    staged_files,
    verify_store,
    warc_key,
    write_manifest,
)
from storage.crawlinfo import CrawlInfo
from storage.fixity import FileEntry, checked_entry, file_entry, stored_entry
from storage.manifest import Previous, parse_manifest
from storage.publish import publish_crawl
from storage.s3store import S3Store
from tests.fixtures.s3 import s3_client
from tests.fixtures.stored import Capture, stage_crawl

FIRST, SECOND = "20260101T000000Z", "20260102T000000Z"
BROKEN_WARCS = Path(__file__).parent / "data" / "broken-warcs"
CREATED = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "local":
        return open_store(str(tmp_path / "archive"))
    return open_store(request.getfixturevalue("s3_store_uri"))


def publish(store: Store, staging: Path, crawl_id: str) -> Manifest:
    """Stage two files for ``crawl_id``, store them and their manifest, as a crawl does."""
    for name in ("a.bin", "b.bin"):
        path = staging / warc_key(crawl_id, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"{crawl_id} {name} ".encode() * 1000)
    files = staged_files(staging, crawl_id)
    for key, path in files:
        store.put(key, path)
    info = CrawlInfo(counts={"responses": 2}, seeds=["https://example.org/"])
    return write_manifest(store, crawl_id, files, info, created=CREATED)


def tamper(store: Store, key: str, data: bytes) -> None:
    """Replace a stored object behind the store's back, as bit rot or an attacker would."""
    if store.local_root is not None:
        (store.local_root / key).write_bytes(data)
    else:
        assert isinstance(store, S3Store)
        s3_client().put_object(Bucket=store.bucket, Key=f"{store.prefix}/{key}", Body=data)


def test_manifest_contents(store: Store, tmp_path: Path) -> None:
    first = publish(store, tmp_path / "staging", FIRST)
    a_key = warc_key(FIRST, "a.bin")
    a_bytes = (tmp_path / "staging" / a_key).read_bytes()
    data = first.to_dict()
    assert data["format"] == "scrubwatch-manifest/1"
    assert data["crawl_id"] == FIRST
    assert data["created"] == "2026-01-01T00:05:00Z"
    assert data["files"] == [
        {"path": a_key, "bytes": len(a_bytes), "sha256": hashlib.sha256(a_bytes).hexdigest()},
        {
            "path": warc_key(FIRST, "b.bin"),
            "bytes": len(a_bytes),
            "sha256": store.sha256(warc_key(FIRST, "b.bin")),
        },
    ]
    assert data["counts"] == {"responses": 2}
    assert data["seeds"] == ["https://example.org/"]
    assert data["extraction"] == {}
    software = data["software"]
    assert set(software) == {"scrubwatch", "scrapy", "warcio", "trafilatura", "python"}
    assert software["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert software["warcio"] is not None
    assert data["previous"] is None

    stored = store.get(manifest_key(FIRST))
    assert stored == (json.dumps(data, sort_keys=True, indent=1) + "\n").encode()
    assert load_manifest(store, FIRST) == first

    second = publish(store, tmp_path / "staging", SECOND)
    assert second.previous == Previous(FIRST, hashlib.sha256(stored).hexdigest())
    assert second.to_dict()["previous"] == {
        "crawl_id": FIRST,
        "sha256": hashlib.sha256(stored).hexdigest(),
    }


def test_previous_skips_crawls_without_manifest(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "archive"))
    publish(store, tmp_path / "staging", FIRST)
    store.put_bytes(warc_key("20260101T120000Z", "unfinished.warc.gz"), b"x")
    manifest = build_manifest(store, SECOND, [], CrawlInfo())
    assert manifest.previous is not None and manifest.previous.crawl_id == FIRST
    assert (manifest.counts, manifest.seeds, manifest.files) == ({}, [], [])


def test_manifest_is_never_replaced(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "archive"))
    publish(store, tmp_path / "staging", FIRST)
    with pytest.raises(StoreConflict, match=manifest_key(FIRST)):
        write_manifest(store, FIRST, [], CrawlInfo(), created=CREATED)


def test_verify_passes_then_names_a_changed_file(store: Store, tmp_path: Path) -> None:
    publish(store, tmp_path / "staging", FIRST)
    publish(store, tmp_path / "staging", SECOND)
    assert verify_store(store) == []
    assert verify_store(store, FIRST) == []

    key = warc_key(FIRST, "b.bin")
    data = bytearray(store.get(key))
    data[100] ^= 0x01
    tamper(store, key, bytes(data))
    assert verify_store(store) == [Problem(key, "sha256 mismatch")]
    assert verify_store(store, SECOND) == []


def test_verify_reports_missing_and_truncated_files(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "archive"))
    publish(store, tmp_path / "staging", FIRST)
    assert store.local_root is not None
    (store.local_root / warc_key(FIRST, "a.bin")).unlink()
    (store.local_root / warc_key(FIRST, "b.bin")).write_bytes(b"short")
    assert [str(p) for p in verify_store(store)] == [
        f"{warc_key(FIRST, 'a.bin')}: missing",
        f"{warc_key(FIRST, 'b.bin')}: size mismatch: manifest says 23000 bytes, store has 5",
    ]


def test_verify_reports_broken_chain(store: Store, tmp_path: Path) -> None:
    first = publish(store, tmp_path / "staging", FIRST).to_dict()
    publish(store, tmp_path / "staging", SECOND)
    first["seeds"] = ["https://example.org/", "https://inserted.example/"]
    tamper(store, manifest_key(FIRST), json.dumps(first, sort_keys=True, indent=1).encode())
    assert verify_store(store) == [
        Problem(manifest_key(SECOND), f"chain broken: previous manifest {FIRST} hash differs")
    ]


def test_verify_reports_missing_manifests(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "archive"))
    publish(store, tmp_path / "staging", FIRST)
    publish(store, tmp_path / "staging", SECOND)
    assert store.local_root is not None
    (store.local_root / manifest_key(FIRST)).unlink()
    assert verify_store(store) == [
        Problem(manifest_key(FIRST), "missing"),
        Problem(manifest_key(SECOND), f"chain broken: previous manifest {FIRST} missing"),
    ]


def test_load_manifest_errors_name_the_manifest(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "archive"))
    with pytest.raises(StoreMissing, match=manifest_key(FIRST)):
        load_manifest(store, FIRST)
    store.put_bytes(manifest_key(FIRST), b"{not json")
    with pytest.raises(StoreError, match=f"manifest {manifest_key(FIRST)} .* is not valid JSON"):
        load_manifest(store, FIRST)
    store.put_bytes(manifest_key(SECOND), b'{"format": "something else"}')
    with pytest.raises(StoreError, match="is not a scrubwatch-manifest/1 manifest"):
        load_manifest(store, SECOND)

    store.put_bytes(manifest_key("c3"), b'{"format": "scrubwatch-manifest/1", "files": [{}]}')
    with pytest.raises(StoreError, match="manifest: path of None is not str"):
        load_manifest(store, "c3")


def test_a_manifest_reads_back_as_it_was_written_and_keeps_keys_it_does_not_know() -> None:
    entry = FileEntry("crawls/c1/warc/a.warc.gz", 10, "ab" * 32, records=3)
    manifest = Manifest("c1", "2026-01-01T00:05:00Z", [entry], {"n": 1}, ["https://e.org/"])
    data = manifest.to_dict()
    assert Manifest.from_dict(data) == manifest
    later = {**data, "signature": {"by": "a later version"}}
    read = parse_manifest(json.dumps(later).encode(), "later")
    assert read.extra == {"signature": {"by": "a later version"}}
    assert json.loads(read.to_bytes()) == later
    # a manifest with only the fields verify needs (as test stores write them) is readable
    bare = parse_manifest(b'{"format": "scrubwatch-manifest/1", "files": []}', "bare")
    assert (bare.crawl_id, bare.created, bare.counts, bare.previous) == ("", None, {}, None)


def test_one_warc_check_makes_every_entry(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "archive"))
    for name, records in (("good", 7), ("truncated-last-member", None)):
        path = BROKEN_WARCS / f"{name}.warc.gz"
        key = warc_key(FIRST, path.name)
        store.put(key, path)
        data = path.read_bytes()
        expected = FileEntry(key, len(data), hashlib.sha256(data).hexdigest(), records)
        assert file_entry(key, path) == stored_entry(store, key) == expected
        entry, problems = checked_entry(key, [data])
        assert entry == expected and bool(problems) == (records is None)


# --- WARC files checked beside the index -------------------------------------------------

AHEAD = [
    Capture("https://www.upi.com/a", "upi", "a.warc.gz"),
    Capture("https://www.upi.com/b", "upi", "b.warc.gz"),
    Capture("https://www.upi.com/c", "upi", "b.warc.gz"),
]


class CountingPool(ProcessPoolExecutor):
    """The real pool, counting the keys of what is sent to it."""

    submitted: ClassVar[list[str]] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        CountingPool.submitted.append(args[0])
        return super().submit(fn, *args, **kwargs)


def published_manifest(tmp_path: Path, name: str, *, broken: bool = False) -> Manifest:
    """The manifest of one staged crawl (the same bytes every call), published anew."""
    source = tmp_path / "staged"
    if not source.exists():
        stage_crawl(source, FIRST, AHEAD, store_uri="unused")
        if broken:  # the last member cut short: the check must say so the same way
            path = source / warc_key(FIRST, "b.warc.gz")
            path.write_bytes(path.read_bytes()[:-7])
    staging = tmp_path / name / "staging"
    shutil.copytree(source, staging)
    published = publish_crawl(open_store(str(tmp_path / name / "archive")), staging, FIRST)
    assert published.manifest is not None
    return published.manifest


@pytest.mark.parametrize("broken", [False, True])
def test_warc_files_checked_in_other_processes_make_the_same_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: bool
) -> None:
    inline = published_manifest(tmp_path, "inline", broken=broken)
    monkeypatch.setattr(fixity_module, "CHECK_AHEAD_BYTES", 0)
    monkeypatch.setattr(fixity_module.os, "cpu_count", lambda: 3)
    monkeypatch.setattr(fixity_module, "ProcessPoolExecutor", CountingPool)
    CountingPool.submitted = []
    ahead = published_manifest(tmp_path, "ahead", broken=broken)
    assert sorted(CountingPool.submitted) == [
        warc_key(FIRST, "a.warc.gz"),
        warc_key(FIRST, "b.warc.gz"),
    ]
    strip = ("created", "software")
    assert {k: v for k, v in ahead.to_dict().items() if k not in strip} == {
        k: v for k, v in inline.to_dict().items() if k not in strip
    }
    warcs = [f for f in ahead.files if f.path.endswith(".warc.gz")]
    assert len(warcs) == 2
    assert [(f.records is not None) for f in warcs] == [True, not broken]


def test_a_check_whose_process_died_is_done_again_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class DeadPool:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def __enter__(self) -> DeadPool:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
            future: Future[Any] = Future()
            future.set_exception(BrokenProcessPool("a worker died"))
            return future

    inline = published_manifest(tmp_path, "inline")
    monkeypatch.setattr(fixity_module, "CHECK_AHEAD_BYTES", 0)
    monkeypatch.setattr(fixity_module.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(fixity_module, "ProcessPoolExecutor", DeadPool)
    again = published_manifest(tmp_path, "again")
    assert again.files == inline.files


def test_small_or_single_core_checks_stay_in_this_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fixity_module, "ProcessPoolExecutor", CountingPool)
    CountingPool.submitted = []
    published_manifest(tmp_path, "small")  # a few KB, under CHECK_AHEAD_BYTES
    monkeypatch.setattr(fixity_module, "CHECK_AHEAD_BYTES", 0)
    monkeypatch.setattr(fixity_module.os, "cpu_count", lambda: 1)
    published_manifest(tmp_path, "one-core")
    assert CountingPool.submitted == []
