"""The crawl's CDXJ index as a ZipNum cluster: its files, and pywb reading them."""

from __future__ import annotations

import gzip
import json
import subprocess
import zlib
from pathlib import Path

import pytest

from storage.cdxj import build_cdxj, cdxj_lines, zipnum, zipnum_names
from storage.layout import warc_key
from tests.fixtures.stored import Capture, stage_crawl

ROOT = Path(__file__).resolve().parents[1]
PYWB = ROOT / ".venv-pywb" / "bin" / "python"


def sorted_cdxj(count: int) -> bytes:
    lines = [f'com,example)/p/{i:04d} 2026010100{i:04d} {{"url": "https://example.com/p/{i:04d}"}}'
             for i in range(count)]  # fmt: skip
    return "".join(line + "\n" for line in sorted(lines)).encode()


def test_blocks_hold_the_lines_and_the_secondary_index_finds_each_block() -> None:
    cdxj = sorted_cdxj(650)
    files = zipnum(cdxj, "index.cdxj.gz", block_lines=300)
    assert list(files) == ["index.cdxj.gz", "index.idx", "index.loc"]
    data = files["index.cdxj.gz"]
    assert gzip.decompress(data) == cdxj_lines(data) == cdxj  # zcat gives the CDXJ back
    idx = [line.split("\t") for line in files["index.idx"].decode().splitlines()]
    assert [(part, number) for _, part, _, _, number in idx] == [
        ("index.cdxj.gz", "0"), ("index.cdxj.gz", "1"), ("index.cdxj.gz", "2")
    ]  # fmt: skip
    lines = cdxj.splitlines(keepends=True)
    for (key, _, offset, length, number), start in zip(idx, range(0, 650, 300), strict=True):
        member = data[int(offset) : int(offset) + int(length)]
        block = zlib.decompress(member, 16 + zlib.MAX_WBITS)
        assert block == b"".join(lines[start : start + 300]), number
        assert block.startswith(key.encode() + b" {")
    assert sum(int(length) for *_, length, _ in idx) == len(data)
    assert files["index.loc"] == b"index.cdxj.gz\tindex.cdxj.gz\n"


def test_the_same_lines_give_the_same_bytes_and_names_follow_the_data_file() -> None:
    assert zipnum(sorted_cdxj(10), "index.cdxj.gz") == zipnum(sorted_cdxj(10), "index.cdxj.gz")
    assert zipnum_names("index.w1.cdxj.gz") == ("index.w1.cdxj.gz", "index.w1.idx", "index.w1.loc")
    with pytest.raises(ValueError, match=r"ends in \.cdxj\.gz: index\.cdxj$"):
        zipnum_names("index.cdxj")
    assert zipnum(b"", "index.cdxj.gz")["index.idx"] == b""
    assert cdxj_lines(b"a 1 {}\n") == b"a 1 {}\n"  # a plain index, as earlier versions wrote


def test_pywb_finds_every_capture_through_the_secondary_index(tmp_path: Path) -> None:
    assert PYWB.exists(), f"{PYWB} missing: `make test` makes it (tests/pywb/requirements.txt)"
    urls = [f"https://news.example/story/{i}" for i in range(7)]
    captures = [Capture(url, "news", f"{'ab'[i % 2]}.warc.gz") for i, url in enumerate(urls)]
    stage_crawl(tmp_path, "c1", captures, store_uri=str(tmp_path), index=True)
    warcs = (tmp_path / warc_key("c1", "a.warc.gz")).parent
    indexes = tmp_path / "crawls/c1/indexes"
    # blocks of 2 lines: pywb has to search the secondary index to find the right one
    for name, data in zipnum(build_cdxj(warcs.glob("*.warc.gz")), "small.cdxj.gz", 2).items():
        (indexes / name).write_bytes(data)
    for idx in ("index.idx", "small.idx"):
        done = subprocess.run(
            [str(PYWB), str(ROOT / "tests/pywb/lookup.py"), str(indexes / idx), str(warcs),
             *urls, "https://news.example/gone"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        found = {r["url"]: r["found"] for r in map(json.loads, done.stdout.splitlines())}
        assert found.pop("https://news.example/gone") == []
        for capture in captures:
            (hit,) = found[capture.url]
            assert (hit["uri"], hit["filename"], hit["status"]) == (
                capture.url,
                capture.warc,
                "200",
            )
