"""A crawl stopped by SIGTERM or killed by SIGKILL mid-crawl, then resumed.

Everything real: the local cited web on loopback, each crawl a separate ``scrubwatch``
process, slowed down (one request at a time per site, a delay between them) so that
the signal lands mid-crawl; it is sent once the staged ``.open`` WARC file holds
whole records. An uninterrupted crawl of the same site is the reference.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.localweb import LocalWeb
from crawler.resume import CrawlArgs, ResumeError, read_args, running, write_args
from storage import open_store, verify_store
from storage.layout import dataset_prefix, local_path
from storage.warctrim import members, trim_open_warc
from storage.warcverify import check_warc
from tests.fixtures.cli import FAST, crawl_local, run_cli, start_cli
from tests.fixtures.warcs import deduplicated

GOOD = Path(__file__).parent / "data" / "broken-warcs" / "good.warc.gz"
SLOW = ("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "DOWNLOAD_DELAY=1")


def captures(warc_dir: Path) -> Counter[tuple[str, str]]:
    """(file name, URL) of every response and revisit record, counted."""
    found: Counter[tuple[str, str]] = Counter()
    for path in sorted(warc_dir.glob("*.warc.gz")):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type in ("response", "revisit"):
                    found[(path.name, record.rec_headers.get_header("WARC-Target-URI"))] += 1
    return found


def urls_in(data: bytes) -> set[str]:
    """Target URIs of the response and revisit records in WARC bytes."""
    records = ArchiveIterator(io.BytesIO(data))
    return {
        r.rec_headers.get_header("WARC-Target-URI")
        for r in records
        if r.rec_type in ("response", "revisit")
    }


def urls(counted: Counter[tuple[str, str]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for (_, url), n in counted.items():
        out[url] += n
    return out


def log_urls(crawl_dir: Path) -> Counter[str]:
    """URLs of the crawl log's lines (``crawl-log.jsonl``, or gzipped), counted."""
    (path,) = crawl_dir.glob("crawl-log.jsonl*")
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return Counter(json.loads(line)["url"] for line in data.splitlines())


def dataset_urls(crawl_dir: Path) -> Counter[str]:
    """URLs of the dataset rows of the crawl whose folder is ``crawl_dir``, counted."""
    parts = local_path(crawl_dir.parents[1], dataset_prefix(crawl_dir.name)).glob("*.parquet")
    return Counter(url for part in parts for url in pq.read_table(part)["url"])


def start_slow_crawl(
    web: LocalWeb, store: Path, registry: Path, *extra: str
) -> subprocess.Popen[str]:
    return start_cli(
        "crawl", web.seed_url, "--store", str(store), "--outlets", str(registry),
        "--crawl-id", "k1", "--allow-private", *FAST, *SLOW, *extra,
    )  # fmt: skip


def wait_for_records(staging: Path, crawl: subprocess.Popen[str], at_least: int) -> Path:
    """The open WARC file once it holds ``at_least`` whole gzip members."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and crawl.poll() is None:
        for path in staging.glob("crawls/k1/warc/*.warc.gz.open"):
            if sum(1 for _ in members(path)) >= at_least:
                return path
        time.sleep(0.05)
    crawl.kill()
    raise AssertionError(f"no open WARC file with {at_least} records: {crawl.communicate()}")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The local cited web, and a reference crawl of it that nothing interrupted."""
    tmp = tmp_path_factory.mktemp("resume")
    with LocalWeb() as site:
        registry = site.write_registry(tmp / "outlets.toml")
        done = crawl_local(site.seed_url, tmp / "reference", registry, "--crawl-id", "k1")
        assert done.returncode == 0, done.stderr[-3000:]
        reference = tmp / "reference/crawls/k1"
        site.request_log.clear()
        yield {"site": site, "registry": registry, "reference": reference, "tmp": tmp}


def fetched(log: list[tuple[str, str, str, int]]) -> Counter[str]:
    """``host/path`` of each request the site answered, counted."""
    return Counter(f"{addr}{path}" for addr, _, path, _ in log)


def site_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def assert_dedup_across_runs(crawl: Path) -> None:
    """Each payload is written in full once over both runs (a tiny one every time), revisits
    refer to it, the digest index lists it once, and crawl-info counts the records of both runs."""
    full: dict[str, list[str]] = {}
    refers: list[tuple[str, str]] = []
    types: Counter[str] = Counter()
    for path in sorted((crawl / "warc").glob("*.warc.gz")):
        with path.open("rb") as fh:
            for r in ArchiveIterator(fh):
                types[r.rec_type] += 1
                digest = r.rec_headers.get_header("WARC-Payload-Digest")
                status = r.http_headers.get_statuscode() if r.http_headers else None
                made = r.rec_type == "resource"  # a screenshot, a rendered DOM
                if (r.rec_type == "response" or made) and status != "304" and deduplicated(r):
                    full.setdefault(digest, []).append(r.rec_headers.get_header("WARC-Record-ID"))
                elif r.rec_type == "revisit" and status != "304":
                    refers.append((digest, r.rec_headers.get_header("WARC-Refers-To")))
    assert {d: ids for d, ids in full.items() if len(ids) > 1} == {}
    assert all(full[digest] == [record_id] for digest, record_id in refers if digest in full)
    listed = gzip.decompress((crawl / "indexes/digests.jsonl.gz").read_bytes()).splitlines()
    assert sorted(json.loads(line)["digest"] for line in listed) == sorted(full)
    counts = json.loads((crawl / "crawl-info.json").read_text())["counts"]
    assert types["resource"] > 0  # the browser rendered the script-built pages
    for rec_type in ("response", "revisit", "request", "resource"):
        assert counts[f"warc/records/{rec_type}"] == types[rec_type], rec_type


def assert_finished_once(
    store: Path, reference: Path, before: set[str], refetched: Counter[str]
) -> Counter[tuple[str, str]]:
    """The resumed crawl holds what the reference holds, each URL once; nothing captured
    before the stop was fetched again by the resume, nor anything twice."""
    crawl = store / "crawls/k1"
    found = captures(crawl / "warc")
    assert [u for u, n in urls(found).items() if n > 1] == []
    assert set(urls(found)) == set(urls(captures(reference / "warc")))
    assert log_urls(crawl) == log_urls(reference)  # one crawl-log line per URL, as in one run
    assert dataset_urls(crawl) == dataset_urls(reference)
    assert [k for k, n in refetched.items() if n > 1] == []
    assert before and {site_key(url) for url in before} & set(refetched) == set()
    assert_dedup_across_runs(crawl)
    assert verify_store(open_store(str(store))) == []
    assert (crawl / "manifest.json").exists()
    published = [p.name for p in (store / "crawls").rglob("*") if p.is_file()]
    assert [n for n in published if n.endswith((".open", ".tail", ".damaged"))] == []
    assert not (store / ".staging/crawls/k1").exists()
    return found


@pytest.mark.slow
def test_sigterm_stops_cleanly_and_resume_finishes_in_a_new_file(web: dict[str, Any]) -> None:
    site: LocalWeb = web["site"]
    store = web["tmp"] / "term"
    crawl = start_slow_crawl(site, store, web["registry"])
    staging = store / ".staging"
    open_file = wait_for_records(staging, crawl, at_least=7)
    # the running crawl holds its lock: a resume now would be refused
    with pytest.raises(ResumeError, match="crawl k1 is still running"), running(staging, "k1"):
        pass
    assert open_file.exists() and crawl.poll() is None
    crawl.send_signal(signal.SIGTERM)
    out, err = crawl.communicate(timeout=120)
    assert crawl.returncode == 1, err[-3000:]
    assert f"scrubwatch crawl --resume k1 --store {store}" in out
    # stopped cleanly: its WARC file is closed, nothing is in the store, no manifest
    staged = store / ".staging/crawls/k1/warc"
    (before,) = sorted(staged.glob("*.warc.gz"))
    assert not list(staged.glob("*.open")) and check_warc([before.read_bytes()]).problems == []
    assert not (store / "crawls").exists()
    first_bytes = before.read_bytes()
    first = captures(staged)
    assert 3 <= sum(first.values()) < sum(captures(web["reference"] / "warc").values())
    asked = len(site.request_log)

    resumed = run_cli(
        "crawl", "--resume", "k1", "--store", str(store), *FAST, "-s", "DOWNLOAD_DELAY=0"
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resumed: {len(urls(first))} URLs captured before" in resumed.stdout
    found = assert_finished_once(
        store, web["reference"], set(urls(first)), fetched(site.request_log[asked:])
    )
    # stopped cleanly: nothing was fetched twice over both runs
    assert [k for k, n in fetched(site.request_log).items() if n > 1] == []
    # the pre-stop file is stored as it was; every record after the restart is elsewhere
    assert (store / "crawls/k1/warc" / before.name).read_bytes() == first_bytes
    assert {k for k in found if k[0] == before.name} == set(first)
    assert len({name for name, _ in found}) >= 2

    # published now: a second resume, and an unknown crawl, are one-line errors
    again = run_cli("crawl", "--resume", "k1", "--store", str(store))
    unknown = run_cli("crawl", "--resume", "nope", "--store", str(store))
    for done, says in [(again, "crawl k1 is already complete"), (unknown, "crawl nope cannot")]:
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert says in done.stderr


@pytest.mark.slow
def test_sigkill_then_the_same_command_trims_and_finishes(web: dict[str, Any]) -> None:
    site: LocalWeb = web["site"]
    site.request_log.clear()
    store = web["tmp"] / "kill"
    # with Scrapy's JOBDIR too, whose queue and seen requests a kill leaves behind
    jobdir = ("-s", f"JOBDIR={web['tmp'] / 'job'}")
    crawl = start_slow_crawl(site, store, web["registry"], *jobdir)
    open_file = wait_for_records(store / ".staging", crawl, at_least=7)
    crawl.send_signal(signal.SIGKILL)
    crawl.wait(timeout=30)
    assert not (store / "crawls").exists()  # nothing partial is uploaded
    # The kill may land between two records: cut the last member in half, as a kill
    # in the middle of a write does, so that the trimming is always exercised.
    data = open_file.read_bytes()
    whole = [m for _, m in members(open_file)]
    kept = sum(len(m) for m in whole[:-1])
    open_file.write_bytes(data[: kept + len(whole[-1]) // 2])
    assert check_warc([open_file.read_bytes()]).problems  # broken now
    asked = len(site.request_log)

    again = crawl_local(site.seed_url, store, web["registry"], "--crawl-id", "k1", *SLOW, *jobdir)
    assert again.returncode == 0, again.stderr[-3000:]
    final = open_file.name.removesuffix(".open")
    assert f"mended: {final}: trimmed by {len(whole[-1]) // 2} bytes" in again.stdout
    stored = store / "crawls/k1/warc" / final
    assert stored.read_bytes() == data[:kept]
    assert check_warc([stored.read_bytes()]).problems == []
    check = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", str(stored)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    verify = run_cli("verify", "--warc", str(stored))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    tail = store / ".staging/set-aside/k1/warc" / f"{final}.tail"
    assert tail.read_bytes() == data[kept : kept + len(whole[-1]) // 2]
    before = urls_in(data[:kept])
    assert_finished_once(store, web["reference"], before, fetched(site.request_log[asked:]))


@pytest.mark.slow
def test_sigterm_twice_stops_uncleanly_and_resume_finishes(web: dict[str, Any]) -> None:
    site: LocalWeb = web["site"]
    store = web["tmp"] / "term2"
    crawl = start_slow_crawl(site, store, web["registry"])
    wait_for_records(store / ".staging", crawl, at_least=7)
    crawl.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    crawl.send_signal(signal.SIGTERM)  # Scrapy: "forcing unclean shutdown"
    out, err = crawl.communicate(timeout=120)
    assert crawl.returncode == 1, out + err[-3000:]
    assert "scrubwatch crawl --resume k1" in out
    assert not (store / "crawls").exists()
    staged = store / ".staging/crawls/k1/warc"
    before = set().union(*(urls_in(p.read_bytes()) for p in staged.glob("*.warc.gz*")))
    asked = len(site.request_log)
    resumed = run_cli(
        "crawl", "--resume", "k1", "--store", str(store), *FAST, "-s", "DOWNLOAD_DELAY=0"
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_finished_once(store, web["reference"], before, fetched(site.request_log[asked:]))


def test_trim_keeps_whole_members_and_sets_aside_the_rest(tmp_path: Path) -> None:
    good = GOOD.read_bytes()
    sizes = [len(m) for _, m in members(GOOD)]
    assert len(sizes) == 7 and sum(sizes) == len(good)
    cases = {
        "whole": (good, len(good)),
        "cut": (good[: len(good) - sizes[-1] // 2], len(good) - sizes[-1]),
        "garbage": (good + b"\x1f\x8b\x08\x00broken", len(good)),
        "header-only": (good[:5], 0),
    }
    for name, (data, kept) in cases.items():
        path = tmp_path / "warc" / f"{name}.warc.gz.open"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        result = trim_open_warc(path, tmp_path / "aside")
        assert not path.exists()
        assert result.kept_bytes == kept and result.cut_bytes == len(data) - kept, name
        if kept:
            assert result.path == tmp_path / "warc" / f"{name}.warc.gz"
            assert result.path.read_bytes() == good[:kept]
            assert check_warc([result.path.read_bytes()]).problems == []
        else:
            assert result.damaged and result.path == tmp_path / "aside" / f"{name}.warc.gz.damaged"
            assert result.path.read_bytes() == data
        tail = tmp_path / "aside" / f"{name}.warc.gz.tail"
        assert tail.exists() == (0 < kept < len(data))


def test_resume_of_a_running_crawl_is_refused_and_touches_nothing(tmp_path: Path) -> None:
    staging = tmp_path / "a/.staging"
    args = {"seeds": ["http://127.0.0.2/"], "store": str(tmp_path / "a"), "depth": 0}
    args |= {"allow_private": True, "ignore_robots": False, "outlets": [], "overrides": {}}
    write_args(staging, "busy", CrawlArgs.from_dict(args))
    open_file = staging / "crawls/busy/warc/x.warc.gz.open"
    open_file.parent.mkdir(parents=True)
    open_file.write_bytes(GOOD.read_bytes()[:100])
    with running(staging, "busy"):  # as the crawl's own process holds it
        done = run_cli("crawl", "--resume", "busy", "--store", str(tmp_path / "a"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "crawl busy is still running in another process" in done.stderr
    assert open_file.read_bytes() == GOOD.read_bytes()[:100]
    assert not (staging / "set-aside").exists()


def test_a_crawl_staged_for_another_store_is_not_resumed_here(tmp_path: Path) -> None:
    staging = tmp_path / "shared-staging"  # as a STAGING_DIR shared by several stores
    args = {"seeds": ["http://127.0.0.2/"], "store": "s3://other/archive", "depth": 0}
    args |= {"allow_private": True, "ignore_robots": False, "outlets": [], "overrides": {}}
    write_args(staging, "c1", CrawlArgs.from_dict(args))
    store = ("--store", str(tmp_path / "a"), "-s", f"STAGING_DIR={staging}")
    done = run_cli("crawl", "--resume", "c1", *store)
    again = run_cli("crawl", "http://127.0.0.2/", "--crawl-id", "c1", *store)
    for run in (done, again):
        assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
        assert "belongs to store s3://other/archive" in run.stderr
    assert sorted(p.name for p in staging.rglob("*")) == ["c1", "crawl-args.json.open", "crawls"]


def test_resume_of_a_crawl_never_started_is_a_one_line_error(tmp_path: Path) -> None:
    done = run_cli("crawl", "--resume", "ghost", "--store", str(tmp_path / "a"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "crawl ghost cannot be resumed: nothing of it is staged" in done.stderr
    shutil.rmtree(tmp_path / "a", ignore_errors=True)


def test_crawl_args_read_back_as_written_and_a_wrong_one_is_named(tmp_path: Path) -> None:
    args = CrawlArgs(["http://127.0.0.2/"], "/srv/a", depth=1, overrides={"X": "1"})
    path = write_args(tmp_path, "c1", args)
    assert json.loads(path.read_text()) == {
        "seeds": ["http://127.0.0.2/"],
        "store": "/srv/a",
        "depth": 1,
        "allow_private": False,
        "ignore_robots": False,
        "outlets": [],
        "overrides": {"X": "1"},
    }
    assert read_args(tmp_path, "c1") == args
    later = {**args.to_dict(), "browser": True}  # a key of a later version is kept
    path.write_text(json.dumps(later))
    again = read_args(tmp_path, "c1")
    assert again is not None and again.extra == {"browser": True}
    path.write_text(json.dumps({**later, "depth": "1"}))
    with pytest.raises(ResumeError, match=r"crawl c1 cannot be resumed: .*: depth is not int"):
        read_args(tmp_path, "c1")
