"""Tests of storage.pull and ``scrubwatch pull``: choosing, checking and resuming downloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import main
from storage import Store, StoreError, StoreMissing, manifest_key, open_store, warc_key
from storage.pull import parse_since, pull
from storage.s3store import S3Store
from tests.fixtures.s3 import s3_client
from tests.fixtures.stored import Capture, stage_crawl, store_crawl

C1, C2, C3 = "20260101T000000Z", "20260201T000000Z", "20260301T000000Z"
JAN, FEB = datetime(2026, 1, 1, 0, 5, tzinfo=UTC), datetime(2026, 2, 1, 0, 5, tzinfo=UTC)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A store with two complete crawls (C1, C2) and an incomplete one (C3)."""
    if request.param == "local":
        store = open_store(str(tmp_path / "archive"))
    else:
        store = open_store(request.getfixturevalue("s3_store_uri"))
    staging = tmp_path / "staging"
    c1 = [
        Capture("https://www.telegraph.co.uk/news/a", "telegraph", "a.warc.gz"),
        Capture("https://www.upi.com/b", "upi", "b.warc.gz"),
    ]
    store_crawl(store, staging, C1, c1, created=JAN)
    store_crawl(
        store, staging, C2, [Capture("https://www.upi.com/c", "upi", "a.warc.gz")], created=FEB
    )
    for key, path in stage_crawl(staging, C3, c1, store_uri=store.uri)[:2]:
        store.put(key, path)
    return store


def pulled(dest: Path) -> set[str]:
    return {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}


def meta(crawl_id: str) -> set[str]:
    prefix = f"crawls/{crawl_id}/"
    return {prefix + n for n in ("manifest.json", "crawl-log.jsonl.gz", "crawl-info.json")}


def text(crawl_id: str) -> set[str]:
    return {
        f"datasets/text/crawl_id={crawl_id}/part-00000.parquet",
        f"datasets/text-jsonl/crawl_id={crawl_id}/part-00000.jsonl.gz",
    }


def test_pull_text_of_complete_crawls_then_resume(store: Store, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    result = pull(store, dest)
    assert result.crawls == [C1, C2] and result.incomplete == [C3]
    assert pulled(dest) == meta(C1) | text(C1) | meta(C2) | text(C2)
    assert set(result.downloaded) == pulled(dest) and result.skipped == result.failed == []
    for key in pulled(dest):
        assert (dest / key).read_bytes() == store.get(key)
    again = pull(store, dest)
    assert again.downloaded == [] and set(again.skipped) == pulled(dest)


def test_what_warc_and_all(store: Store, tmp_path: Path) -> None:
    warcs = pull(store, tmp_path / "w", what="warc", crawls=[C1])
    assert pulled(tmp_path / "w") == meta(C1) | {
        warc_key(C1, "a.warc.gz"),
        warc_key(C1, "b.warc.gz"),
        *(f"crawls/{C1}/indexes/index.{ext}" for ext in ("cdxj.gz", "idx", "loc")),
    }
    assert warcs.crawls == [C1]
    pull(store, tmp_path / "all", what="all", crawls=[C2])
    assert text(C2) | {warc_key(C2, "a.warc.gz")} <= pulled(tmp_path / "all")
    assert pulled(tmp_path / "all") == {
        f["path"] for f in json.loads(store.get(manifest_key(C2)))["files"]
    } | {manifest_key(C2)}


def test_outlet_keeps_files_holding_its_captures(store: Store, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    pull(store, dest, outlet="telegraph", what="all")
    got = pulled(dest)
    assert warc_key(C1, "a.warc.gz") in got and warc_key(C1, "b.warc.gz") not in got
    assert text(C1) <= got
    # C2 captured nothing of the outlet: only its manifest, log and info come along
    assert {k for k in got if C2 in k} == meta(C2)


def test_since_uses_the_manifest_time(store: Store, tmp_path: Path) -> None:
    assert pull(store, tmp_path / "a", since=parse_since("2026-01-15")).crawls == [C2]
    assert pull(store, tmp_path / "b", since=parse_since("2026-01-01T00:05:00Z")).crawls == [C1, C2]
    assert pull(store, tmp_path / "c", since=parse_since("2026-03-01")).crawls == []


def test_parse_since() -> None:
    assert parse_since("2026-01-15") == datetime(2026, 1, 15, tzinfo=UTC)
    assert parse_since("2026-01-15T10:00:00+02:00") == datetime(2026, 1, 15, 8, tzinfo=UTC)
    for bad in ("yesterday", "2026-01-15T10:00:00", "2026-13-01"):
        with pytest.raises(ValueError, match="--since"):
            parse_since(bad)


def test_a_mismatch_leaves_nothing_and_names_the_file(store: Store, tmp_path: Path) -> None:
    key = warc_key(C1, "b.warc.gz")
    bad = b"bit rot" + store.get(key)[7:]
    if store.local_root is not None:
        (store.local_root / key).write_bytes(bad)
    else:
        assert isinstance(store, S3Store)
        s3_client().put_object(Bucket=store.bucket, Key=f"{store.prefix}/{key}", Body=bad)
    dest = tmp_path / "dest"
    result = pull(store, dest, what="warc")
    assert [(p.key, p.message) for p in result.failed] == [
        (key, "sha256 mismatch: the store's copy differs from its manifest")
    ]
    assert key not in pulled(dest) and warc_key(C1, "a.warc.gz") in pulled(dest)
    assert not [p for p in dest.rglob("*") if p.name.endswith(".part")]


def test_named_crawls_must_be_complete(store: Store, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=f"crawl {C3} .* is incomplete"):
        pull(store, tmp_path / "dest", crawls=[C3])
    with pytest.raises(StoreMissing, match="crawl nope is not in store"):
        pull(store, tmp_path / "dest", crawls=["nope"])
    with pytest.raises(ValueError, match="--what"):
        pull(store, tmp_path / "dest", what="pdf")


def test_a_different_local_manifest_is_not_replaced(store: Store, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    (dest / manifest_key(C1)).parent.mkdir(parents=True)
    (dest / manifest_key(C1)).write_text("{}")
    result = pull(store, dest)
    assert [p.key for p in result.failed] == [manifest_key(C1)]
    assert result.crawls == [C2]
    assert (dest / manifest_key(C1)).read_text() == "{}"


class Bar:
    def __init__(self) -> None:
        self.total: float | None = None
        self.done = 0.0

    def reset(self, total: float | None = None) -> None:
        self.total = total

    def update(self, n: float = 1) -> None:
        self.done += n


def test_progress_reaches_the_total(store: Store, tmp_path: Path) -> None:
    bar = Bar()
    pull(store, tmp_path / "dest", what="all", outlet="upi", progress=bar)
    assert bar.total and bar.done == bar.total


def test_cli_pull(store: Store, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    done = CliRunner().invoke(main, ["pull", "--store", store.uri, str(dest), "--crawl", C2])
    assert done.exit_code == 0, done.output
    assert done.stdout == f"pulled 1 crawls into {dest}: 5 files downloaded, 0 already there\n"
    again = CliRunner().invoke(
        main, ["pull", "--store", store.uri, str(dest), "--since", "2026-01-02"]
    )
    assert again.exit_code == 0 and "0 files downloaded, 5 already there" in again.stdout
    assert f"left out crawl {C3}: incomplete" in again.stderr
