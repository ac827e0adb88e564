"""Tests of storage.manifest: building, storing and verifying chained crawl manifests."""

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

import storage.manifest as manifest_module
from storage import (
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
from storage.publish import publish_crawl
from storage.s3store import S3Store
from tests.fixtures.s3 import s3_client
from tests.fixtures.stored import Capture, stage_crawl

FIRST, SECOND = "20260101T000000Z", "20260102T000000Z"
CREATED = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "local":
        return open_store(str(tmp_path / "archive"))
    return open_store(request.getfixturevalue("s3_store_uri"))


def publish(store: Store, staging: Path, crawl_id: str) -> dict[str, object]:
    """Stage two files for ``crawl_id``, store them and their manifest, as a crawl does."""
    for name in ("a.bin", "b.bin"):
        path = staging / warc_key(crawl_id, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"{crawl_id} {name} ".encode() * 1000)
    files = staged_files(staging, crawl_id)
    for key, path in files:
        store.put(key, path)
    info = {"counts": {"responses": 2}, "seeds": ["https://example.org/"]}
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
    assert first["format"] == "scrubwatch-manifest/1"
    assert first["crawl_id"] == FIRST
    assert first["created"] == "2026-01-01T00:05:00Z"
    assert first["files"] == [
        {"path": a_key, "bytes": len(a_bytes), "sha256": hashlib.sha256(a_bytes).hexdigest()},
        {
            "path": warc_key(FIRST, "b.bin"),
            "bytes": len(a_bytes),
            "sha256": store.sha256(warc_key(FIRST, "b.bin")),
        },
    ]
    assert first["counts"] == {"responses": 2}
    assert first["seeds"] == ["https://example.org/"]
    software = first["software"]
    assert isinstance(software, dict)
    assert set(software) == {"scrubwatch", "scrapy", "warcio", "trafilatura", "python"}
    assert software["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert software["warcio"] is not None
    assert first["previous"] is None

    stored = store.get(manifest_key(FIRST))
    assert stored == (json.dumps(first, sort_keys=True, indent=1) + "\n").encode()
    assert load_manifest(store, FIRST) == first

    second = publish(store, tmp_path / "staging", SECOND)
    assert second["previous"] == {"crawl_id": FIRST, "sha256": hashlib.sha256(stored).hexdigest()}


def test_previous_skips_crawls_without_manifest(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "archive"))
    publish(store, tmp_path / "staging", FIRST)
    store.put_bytes(warc_key("20260101T120000Z", "unfinished.warc.gz"), b"x")
    manifest = build_manifest(store, SECOND, [], {})
    previous = manifest["previous"]
    assert previous["crawl_id"] == FIRST
    assert (manifest["counts"], manifest["seeds"], manifest["files"]) == ({}, [], [])


def test_manifest_is_never_replaced(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "archive"))
    publish(store, tmp_path / "staging", FIRST)
    with pytest.raises(StoreConflict, match=manifest_key(FIRST)):
        write_manifest(store, FIRST, [], {}, created=CREATED)


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
    first = publish(store, tmp_path / "staging", FIRST)
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


def published_manifest(tmp_path: Path, name: str, *, broken: bool = False) -> dict[str, Any]:
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
    return published.manifest


@pytest.mark.parametrize("broken", [False, True])
def test_warc_files_checked_in_other_processes_make_the_same_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: bool
) -> None:
    inline = published_manifest(tmp_path, "inline", broken=broken)
    monkeypatch.setattr(manifest_module, "CHECK_AHEAD_BYTES", 0)
    monkeypatch.setattr(manifest_module.os, "cpu_count", lambda: 3)
    monkeypatch.setattr(manifest_module, "ProcessPoolExecutor", CountingPool)
    CountingPool.submitted = []
    ahead = published_manifest(tmp_path, "ahead", broken=broken)
    assert sorted(CountingPool.submitted) == [
        warc_key(FIRST, "a.warc.gz"),
        warc_key(FIRST, "b.warc.gz"),
    ]
    strip = ("created", "software")
    assert {k: v for k, v in ahead.items() if k not in strip} == {
        k: v for k, v in inline.items() if k not in strip
    }
    warcs = [f for f in ahead["files"] if f["path"].endswith(".warc.gz")]
    assert len(warcs) == 2
    assert [("records" in f) for f in warcs] == [True, not broken]


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
    monkeypatch.setattr(manifest_module, "CHECK_AHEAD_BYTES", 0)
    monkeypatch.setattr(manifest_module.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(manifest_module, "ProcessPoolExecutor", DeadPool)
    again = published_manifest(tmp_path, "again")
    assert again["files"] == inline["files"]


def test_small_or_single_core_checks_stay_in_this_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(manifest_module, "ProcessPoolExecutor", CountingPool)
    CountingPool.submitted = []
    published_manifest(tmp_path, "small")  # a few KB, under CHECK_AHEAD_BYTES
    monkeypatch.setattr(manifest_module, "CHECK_AHEAD_BYTES", 0)
    monkeypatch.setattr(manifest_module.os, "cpu_count", lambda: 1)
    published_manifest(tmp_path, "one-core")
    assert CountingPool.submitted == []
