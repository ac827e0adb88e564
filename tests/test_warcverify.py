"""The WARC validator behind `scrubwatch verify`: broken fixtures, manifests, and a fuzz run."""

from __future__ import annotations

import gzip
import json
import shutil
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import open_store, warc_key
from storage.crawlinfo import CrawlInfo
from storage.manifest import write_manifest
from storage.verify import verify_store
from storage.warcverify import check_warc
from tests.fixtures.cli import run_cli

FIXTURES = Path(__file__).parent / "data" / "broken-warcs"
GOOD = (FIXTURES / "good.warc.gz").read_bytes()


def chunks(data: bytes, size: int = 1000) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_the_good_file_passes_with_its_record_count() -> None:
    result = check_warc(chunks(GOOD))
    assert result.problems == [] and result.records == 7  # warcinfo + 3 x (response, request)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("truncated-last-member", "truncated gzip member at end of file"),
        ("member-cut-in-middle", "corrupt gzip member"),
        ("flipped-byte", "corrupt gzip member"),
        ("wrong-content-length", "Content-Length"),
    ],
)
def test_each_broken_file_is_named(name: str, says: str) -> None:
    result = check_warc(chunks((FIXTURES / f"{name}.warc.gz").read_bytes()))
    assert any(says in problem for problem in result.problems), result.problems


def _store_with(tmp_path: Path, data: bytes, *, records: int | None = None) -> Path:
    staging = tmp_path / "staging"
    key = warc_key("c1", "x.warc.gz")
    path = staging / key
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    store = open_store(str(tmp_path / "archive"))
    store.put(key, path)
    manifest = write_manifest(store, "c1", [(key, path)], CrawlInfo())
    if records is not None:  # a manifest that disagrees with the file, as after tampering
        tampered = manifest.to_dict()
        tampered["files"][0]["records"] = records
        raw = tmp_path / "archive" / "crawls/c1/manifest.json"
        raw.write_text(json.dumps(tampered))
    return tmp_path / "archive"


def test_manifest_counts_records_and_verify_compares(tmp_path: Path) -> None:
    root = _store_with(tmp_path, GOOD)
    manifest = json.loads((root / "crawls/c1/manifest.json").read_text())
    assert manifest["files"][0]["records"] == 7
    assert verify_store(open_store(str(root))) == []


def test_verify_names_a_record_count_that_disagrees(tmp_path: Path) -> None:
    root = _store_with(tmp_path, GOOD, records=9)
    problems = verify_store(open_store(str(root)), "c1")
    assert [p.key for p in problems] == ["crawls/c1/warc/x.warc.gz"]
    assert "record count: manifest says 9, file has 7" in problems[0].message


def test_verify_command_names_a_file_archived_broken(tmp_path: Path) -> None:
    broken = (FIXTURES / "truncated-last-member.warc.gz").read_bytes()
    root = _store_with(tmp_path, broken)  # sha256 matches: it was broken when archived
    result = run_cli("verify", "--store", str(root))
    assert result.returncode == 1
    assert "crawls/c1/warc/x.warc.gz: offset" in result.stdout
    assert "truncated gzip member" in result.stdout


def test_verify_warc_files_directly(tmp_path: Path) -> None:
    for name in ("good", "flipped-byte"):
        shutil.copy(FIXTURES / f"{name}.warc.gz", tmp_path)
    result = run_cli("verify", "--warc", str(tmp_path / "good.warc.gz"))
    assert result.returncode == 0 and "7 records" in result.stdout
    result = run_cli(
        "verify", "--warc", str(tmp_path / "good.warc.gz"), "--warc",
        str(tmp_path / "flipped-byte.warc.gz"),
    )  # fmt: skip
    assert result.returncode == 1 and "flipped-byte.warc.gz: offset" in result.stdout


def _members(data: bytes) -> list[bytes]:
    out = []
    while data:
        decoder = zlib.decompressobj(31)
        out.append(decoder.decompress(data))
        data = decoder.unused_data
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(1, 255)), min_size=1, max_size=4)
)
def test_fuzz_mutations_are_caught_or_harmless(flips: list[tuple[int, int]]) -> None:
    data = bytearray(GOOD)
    for position, mask in flips:
        data[position] ^= mask
    result = check_warc(chunks(bytes(data), 333))  # never raises
    if not result.problems:
        # only bytes that carry no content (gzip header fields such as mtime) changed
        assert _members(bytes(data)) == _members(GOOD)


@given(st.integers(1, len(GOOD) - 1))
def test_fuzz_any_truncation_is_caught(cut: int) -> None:
    result = check_warc(chunks(GOOD[:cut], 500))
    whole_members = sum(1 for _ in _members(GOOD))
    assert result.problems or result.records < whole_members
    assert gzip.decompress(GOOD)  # the fixture itself stays good
