"""A full disk under the WARC writer: ENOSPC on the Nth write, with half the bytes down.

The failed exchange leaves nothing in the file (it is cut back, or set aside when even
that fails), its URL is a retryable ``write-error`` in the crawl log, the other URLs are
captured, and every WARC file validates. Write errors in a row stop the crawl with
reason ``disk_full`` and nothing published.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.localweb import LocalWeb
from pipelines.digestindex import DigestIndex, MemoryDigestIndex, RedisDigestIndex
from pipelines.warcfile import RollingWarcFile, WarcWriteError, open_exclusive
from pipelines.warcrecords import Exchange, Original, build_exchange
from pipelines.writeerrors import DISK_FULL, WRITE_FAILED, WriteErrors, stop_reason
from storage.crawlgroup import connect
from storage.warcverify import check_warc
from tests.fixtures.cli import FAST
from tests.fixtures.warcs import Stats

DATE = datetime(2026, 11, 25, 8, 30, 15, tzinfo=UTC)
NO_SPACE = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def exchange(n: int) -> Exchange:
    return Exchange(
        url=f"http://example.org/page/{n}",
        method="GET",
        request_target=f"/page/{n}",
        request_headers=[("Host", "example.org")],
        request_body=b"",
        protocol="HTTP/1.1",
        status=200,
        response_headers=[("Content-Type", "text/html")],
        body=os.urandom(3000),  # does not compress: half a member is a real cut
        date=DATE,
    )


class FullDisk:
    """A real file whose writes numbered in ``fail`` put down half their bytes, then ENOSPC."""

    def __init__(self, fh: BinaryIO, fail: set[int], truncate_fails: bool = False) -> None:
        self.fh, self.fail, self.truncate_fails = fh, fail, truncate_fails
        self.writes = 0

    def write(self, data: bytes) -> int:
        self.writes += 1
        if self.writes in self.fail:
            self.fh.write(bytes(data)[: len(data) // 2])
            raise NO_SPACE
        return self.fh.write(data)

    def truncate(self, size: int) -> int:
        if self.truncate_fails:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return self.fh.truncate(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fh, name)


def records(path: Path) -> list[tuple[str, str | None]]:
    with path.open("rb") as fh:
        return [
            (r.rec_type, r.rec_headers.get_header("WARC-Target-URI")) for r in ArchiveIterator(fh)
        ]


def assert_valid(path: Path) -> None:
    check = check_warc([path.read_bytes()])
    assert not check.problems, (path.name, check.problems)
    done = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def writer(tmp_path: Path, files: list[FullDisk], **faults: Any) -> RollingWarcFile:
    def opener(path: Path) -> BinaryIO:
        # only the first file is on the failing disk
        fh = open_exclusive(path)
        if files:
            return fh
        files.append(FullDisk(fh, **faults))
        return files[-1]  # type: ignore[return-value]

    return RollingWarcFile(
        tmp_path, prefix="t", max_size=10**9, warcinfo={"software": "test"}, host="h",
        clock=lambda: DATE, open_file=opener,
    )  # fmt: skip


def test_failed_write_is_cut_back_and_the_next_exchange_follows(tmp_path: Path) -> None:
    files: list[FullDisk] = []
    # writes: 1 warcinfo, 2-3 page 0, 4-5 page 1 (5: its request record, half written)
    warc = writer(tmp_path, files, fail={5})
    warc.write(build_exchange(exchange(0)).members)
    with pytest.raises(WarcWriteError, match="No space left on device"):
        warc.write(build_exchange(exchange(1)).members)
    after = warc.write(build_exchange(exchange(2)).members)
    warc.close()
    [path] = warc.closed_files
    assert_valid(path)
    assert records(path) == [
        ("warcinfo", None),
        ("response", "http://example.org/page/0"),
        ("request", "http://example.org/page/0"),
        ("response", "http://example.org/page/2"),
        ("request", "http://example.org/page/2"),
    ]
    with path.open("rb") as fh:  # the location given is where the record is
        fh.seek(after[0].offset)
        assert next(iter(ArchiveIterator(fh))).rec_headers.get_header("WARC-Target-URI") == (
            "http://example.org/page/2"
        )


def test_file_that_cannot_be_cut_back_is_set_aside_and_mended_at_close(tmp_path: Path) -> None:
    files: list[FullDisk] = []
    warc = writer(tmp_path, files, fail={4}, truncate_fails=True)
    warc.write(build_exchange(exchange(0)).members)
    first = warc.current_name
    good = (tmp_path / (first + ".open")).stat().st_size
    with pytest.raises(WarcWriteError):
        warc.write(build_exchange(exchange(1)).members)
    assert (tmp_path / (first + ".open")).stat().st_size > good  # half a member is stuck there
    assert warc.set_aside == {first: good}
    warc.write(build_exchange(exchange(2)).members)
    assert warc.current_name != first  # the next exchange went into a new file
    warc.close()
    assert not warc.set_aside
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in warc.closed_files)
    found = {}
    for path in warc.closed_files:
        assert_valid(path)
        found[path.name] = records(path)
    assert found[first] == [
        ("warcinfo", None),
        ("response", "http://example.org/page/0"),
        ("request", "http://example.org/page/0"),
    ]
    uris = [str(uri) for held in found.values() for kind, uri in held if kind == "response"]
    assert sorted(uris) == [
        "http://example.org/page/0",
        "http://example.org/page/2",
    ]


def test_only_write_errors_in_a_row_stop_the_crawl(tmp_path: Path) -> None:
    stops: list[str] = []
    stats = Stats()
    errors = WriteErrors(3, stats, tmp_path, stop=stops.append)  # type: ignore[arg-type]
    full = WarcWriteError("x.warc.gz: no space")
    full.__cause__ = NO_SPACE
    for failed in [True, True, False, True, True]:
        if failed:
            errors.failed("http://example.org/", full)
        else:
            errors.succeeded()
    assert stops == [] and errors.error is None
    errors.failed("http://example.org/", full)
    errors.failed("http://example.org/", full)  # already stopping: not asked twice
    assert stops == [DISK_FULL]
    assert errors.error is not None and str(tmp_path) in errors.error
    assert stats.values["warc/write_errors"] == 6
    broken = WarcWriteError("x.warc.gz: I/O error")
    broken.__cause__ = OSError(errno.EIO, os.strerror(errno.EIO))
    assert stop_reason(broken) == WRITE_FAILED


@pytest.mark.parametrize("shared", [False, True])
def test_a_claim_whose_record_was_not_written_is_released(
    shared: bool, request: pytest.FixtureRequest
) -> None:
    index: DigestIndex = MemoryDigestIndex()
    if shared:  # a crawl shared over Redis: the claim is in the crawl's hash
        index = RedisDigestIndex(connect(request.getfixturevalue("redis_url")), "c1:digests")
    mine = Original("http://example.org/a", "2026-11-25T08:30:15Z", "<urn:uuid:1>")
    other = Original("http://example.org/b", "2026-11-25T08:30:16Z", "<urn:uuid:2>")
    assert index.claim("sha256:x", mine) is None
    index.release("sha256:x", other)  # not its claim: kept
    assert index.claim("sha256:x", other) == mine
    index.release("sha256:x", mine)
    assert index.claim("sha256:x", other) is None  # written in full by the next one


# --- a real crawl of the local cited web, its writes failing ----------------------------

HARNESS = """
import errno, os, sys, zlib
from pipelines import warcfile

spec = sys.argv.pop(1)
kind, _, arg = spec.partition(":")
real_open = warcfile.open_exclusive
state = {"writes": 0, "failed": 0}


def should_fail(data):
    state["writes"] += 1
    if kind == "from":
        return state["writes"] >= int(arg)
    head = zlib.decompressobj(31).decompress(data, 4096)
    hit = b"WARC-Type: response" in head and b"WARC-Target-URI: " + arg.encode() + b"\\r" in head
    return hit and not state["failed"]


class FullDisk:
    def __init__(self, fh):
        self.fh = fh

    def write(self, data):
        data = bytes(data)
        if should_fail(data):
            state["failed"] += 1
            self.fh.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.fh.write(data)

    def __getattr__(self, name):
        return getattr(self.fh, name)


warcfile.open_exclusive = lambda path: FullDisk(real_open(path))
from crawler.cli import main
main()
"""


def crawl_on_full_disk(spec: str, web: LocalWeb, tmp_path: Path, *extra: str) -> dict[str, Any]:
    store = tmp_path / "archive"
    registry = web.write_registry(tmp_path / "outlets.toml")
    args = ["crawl", web.seed_url, "--store", str(store), "--outlets", str(registry)]
    args += [*FAST, "--allow-private", "--crawl-id", "c1", *extra]
    done = subprocess.run(
        [sys.executable, "-c", HARNESS, spec, *args], capture_output=True, text=True, timeout=300
    )
    return {"done": done, "store": store, "staging": store / ".staging/crawls/c1"}


def crawl_log(folder: Path) -> list[dict[str, Any]]:
    [path] = folder.glob("crawl-log*.jsonl*")
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = zlib.decompressobj(31).decompress(data)
    return [json.loads(line) for line in data.decode().splitlines()]


def responses(warc_dir: Path) -> dict[str, Path]:
    found = {}
    for path in sorted(warc_dir.glob("*.warc.gz")):
        assert_valid(path)
        for kind, uri in records(path):
            if kind in ("response", "revisit") and uri:
                found[uri] = path
    return found


@pytest.mark.slow
def test_one_failed_write_costs_one_url_and_the_crawl_goes_on(
    localweb: LocalWeb, tmp_path: Path
) -> None:
    expected = localweb.expected()
    target = next(c["final_url"] for c in expected["cited"] if "/news/dong-jingwei" in c["url"])
    run = crawl_on_full_disk(f"url:{target}", localweb, tmp_path)
    assert run["done"].returncode == 0, run["done"].stderr[-3000:]
    crawl = run["store"] / "crawls/c1"
    assert (crawl / "manifest.json").exists()  # one lost URL does not stop the crawl
    failed = [e for e in crawl_log(crawl) if e["outcome"] == "failed" and e["url"] == target]
    assert [(e["kind"], e["retryable"]) for e in failed] == [("write-error", True)]
    assert "No space left on device" in failed[0]["error"]
    captured = responses(crawl / "warc")
    assert target not in captured
    for cited in expected["cited"]:
        if cited["final_url"] != target and not cited["robots_disallowed"]:
            assert cited["final_url"] in captured, cited


@pytest.mark.slow
def test_a_full_disk_stops_the_crawl_and_publishes_nothing(
    localweb: LocalWeb, tmp_path: Path
) -> None:
    run = crawl_on_full_disk("from:12", localweb, tmp_path, "--log-level", "INFO")
    done, staging = run["done"], run["staging"]
    assert done.returncode == 1, done.stderr[-3000:]
    out = done.stdout + done.stderr
    assert "stopped after 3 WARC write errors in a row" in out
    assert f"kept in {staging}" in out
    assert "Closing spider (disk_full)" in done.stderr
    assert not (run["store"] / "crawls/c1/manifest.json").exists()
    # what was written before the disk filled is all there, closed and valid
    warcs = list((staging / "warc").iterdir())
    assert warcs and all(p.name.endswith(".warc.gz") for p in warcs)
    captured = responses(staging / "warc")
    assert len(captured) >= 3  # writes 2-11: five whole exchanges
    log = crawl_log(staging)
    errors = [e for e in log if e["outcome"] == "failed" and e["kind"] == "write-error"]
    assert errors and all(e["retryable"] for e in errors)
    assert not {e["url"] for e in errors} & set(captured)
    assert all(e["url"] in captured for e in log if e["outcome"] == "captured")
