"""A crawl shared over Redis: a coordinator and a worker process, one frontier, one dedup index.

Everything real: ``redis-server`` on 127.0.0.1, the local cited web on loopback, each
crawler a separate ``scrubwatch`` process.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from scrapy import Request
from scrapy.utils.request import request_from_dict

from crawler.localweb import LocalWeb
from crawler.sharedqueue import RequestCodec
from history.snapshots import load_snapshot
from pipelines.digestindex import RedisDigestIndex
from pipelines.warcrecords import Original
from storage import open_store, verify_store
from storage.cdxj import BLOCK_LINES
from storage.crawlgroup import CrawlGroup, connect
from storage.layout import INDEX_NAME, crawl_keys, dataset_prefix
from tests.fixtures.cli import FAST, crawl_local, run_cli, start_cli
from tests.fixtures.warcs import deduplicated, index_lines, records

# Short heartbeats so that a killed worker is given up in seconds, not a minute.
SHARED = (
    *FAST,
    *("-s", "FRONTIER_HEARTBEAT=0.3", "-s", "FRONTIER_WORKER_TTL=3"),
    *("-s", "FRONTIER_POLL_INTERVAL=0.2", "--allow-private"),
)


def index_urls(indexes: Path, name: str = INDEX_NAME) -> set[str]:
    return {json.loads(line.split(" ", 2)[2])["url"] for line in index_lines(indexes, name)}


def worker_of(warc: Path) -> str:
    """``<host>-<pid>`` from ``{prefix}-{timestamp}-{serial}-{host}-{pid}.warc.gz``."""
    return warc.name.removesuffix(".warc.gz").split("-", 3)[3]


@pytest.fixture(scope="module")
def shared(redis_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One crawl by one process, then the same crawl by a coordinator and a worker."""
    url = f"{redis_server}/1"
    redis.Redis.from_url(url).flushdb()
    tmp = tmp_path_factory.mktemp("shared")
    with LocalWeb() as web:
        registry = web.write_registry(tmp / "outlets.toml")
        single = crawl_local(web.seed_url, tmp / "single", registry, "--crawl-id", "r1")
        assert single.returncode == 0, single.stderr[-3000:]
        before = len(web.request_log)
        store = tmp / "archive"
        common = ("--store", str(store), "--crawl-id", "r1", "--outlets", str(registry), *SHARED)
        # The worker starts first and waits for the crawl; the coordinator fetches one
        # request at a time, slowly, so that the worker has its share.
        worker = start_cli("worker", "--redis", url, *common)
        coordinator = start_cli(
            "crawl", web.seed_url, "--redis", url, *common,
            "-s", "CONCURRENT_REQUESTS=1", "-s", "DOWNLOAD_DELAY=0.3",
        )  # fmt: skip
        worker_out, worker_err = worker.communicate(timeout=240)
        out, err = coordinator.communicate(timeout=240)
        assert coordinator.returncode == 0, err[-3000:]
        assert worker.returncode == 0, worker_err[-3000:]
        yield {
            "store": store,
            "single": tmp / "single",
            "out": out,
            "worker_out": worker_out,
            "requests": web.request_log[before:],
            "redis": url,
        }


@pytest.mark.slow
def test_both_workers_capture_and_nothing_is_fetched_twice(shared: dict[str, Any]) -> None:
    warcs = sorted(shared["store"].glob("crawls/r1/warc/*.warc.gz"))
    captured = {
        worker_of(w)
        for w in warcs
        if any(r.rec_type in ("response", "revisit") for r in records(w))
    }
    assert len(captured) == 2, [w.name for w in warcs]
    counts = Counter((addr, method, path) for addr, method, path, _ in shared["requests"])
    # robots.txt is read by each worker for itself (Scrapy's RobotsTxtMiddleware)
    assert [k for k, n in counts.items() if n > 1 and k[2] != "/robots.txt"] == []
    assert max(n for k, n in counts.items() if k[2] == "/robots.txt") <= 2
    assert "workers: 2, lost: 0" in shared["out"]


@pytest.mark.slow
def test_union_of_captures_equals_a_single_process_crawl(shared: dict[str, Any]) -> None:
    indexes = shared["store"] / "crawls/r1/indexes"
    assert index_urls(indexes) == index_urls(shared["single"] / "crawls/r1/indexes")
    parts = sorted(p.name for p in indexes.glob("index.*.cdxj.gz"))
    assert len(parts) == 2
    lines = index_lines(indexes)
    assert lines == sorted(line for p in parts for line in index_lines(indexes, p))
    # the merged index comes with its ZipNum secondary index and location file
    assert (indexes / "index.idx").read_text().count("\tindex.cdxj.gz\t") == math.ceil(
        len(lines) / BLOCK_LINES
    )
    assert (indexes / "index.loc").read_text() == "index.cdxj.gz\tindex.cdxj.gz\n"
    # the readers see every worker's crawl log and dataset
    store, single = open_store(str(shared["store"])), open_store(str(shared["single"]))
    assert load_snapshot(store, "r1").pages.keys() == load_snapshot(single, "r1").pages.keys()


@pytest.mark.slow
def test_manifest_lists_every_workers_files_and_verifies(shared: dict[str, Any]) -> None:
    store = shared["store"]
    manifest = json.loads((store / "crawls/r1/manifest.json").read_text())
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {
        p.relative_to(store).as_posix()
        for p in [*store.glob("crawls/r1/**/*"), *store.glob("datasets/*/crawl_id=r1/*")]
        if p.is_file() and p.name != "manifest.json"
    }
    assert (
        listed
        == on_disk
        == set(crawl_keys(open_store(str(store)), "r1")) - {"crawls/r1/manifest.json"}
    )
    # each worker's Parquet parts, side by side in the crawl's partition
    parts = [k for k in listed if k.startswith(dataset_prefix("r1"))]
    assert len({k.rsplit("-", 1)[0] for k in parts}) == 2, parts
    assert len([k for k in listed if "/crawl-log." in k]) == 2
    assert "crawls/r1/crawl-info.json" in listed
    info = json.loads((store / "crawls/r1/crawl-info.json").read_text())
    assert len(info["workers"]) == 2 and info["workers_lost"] == []
    assert info["counts"]["warc/records/request"] == manifest["counts"]["warc/records/request"]
    assert verify_store(open_store(str(store))) == []
    assert not list((store / ".staging").glob("*/crawls/r1"))
    assert redis.Redis.from_url(shared["redis"]).keys("scrubwatch:r1:*") == []


@pytest.mark.slow
def test_every_warc_file_passes_warcio_check(shared: dict[str, Any]) -> None:
    for warc in shared["store"].glob("crawls/r1/warc/*.warc.gz"):
        check = subprocess.run(
            [sys.executable, "-m", "warcio.cli", "check", str(warc)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout


@pytest.mark.slow
def test_identical_payloads_are_written_in_full_once(shared: dict[str, Any]) -> None:
    full: dict[str, list[str]] = defaultdict(list)
    revisits = []
    for warc in shared["store"].glob("crawls/r1/warc/*.warc.gz"):
        for record in records(warc):
            digest = record.rec_headers.get_header("WARC-Payload-Digest")
            if record.rec_type == "response" and deduplicated(record):
                full[digest].append(record.rec_headers.get_header("WARC-Record-ID"))
            elif record.rec_type == "revisit" and record.http_headers.get_statuscode() != "304":
                revisits.append((digest, record.rec_headers.get_header("WARC-Refers-To")))
    assert full and {d: ids for d, ids in full.items() if len(ids) > 1} == {}
    assert revisits
    for digest, refers_to in revisits:
        assert full[digest] == [refers_to]


def test_requests_travel_as_json_and_come_back_whole() -> None:
    class Spider:
        def parse_page(self, response: Any) -> None: ...

    spider = Spider()
    request = Request(
        "http://127.0.0.2/a?b=1",
        method="POST",
        body=b"\x00\xffbody",
        headers={"X-Bytes": b"\xe9"},
        callback=spider.parse_page,  # type: ignore[arg-type]
        meta={"role": "cited", "redirect_urls": ["http://x/"], "raw": b"\x01", "$odd": 1},
        priority=3,
    )
    data = RequestCodec.dumps(request.to_dict(spider=spider))  # type: ignore[arg-type]
    again = request_from_dict(RequestCodec.loads(data), spider=spider)  # type: ignore[arg-type]
    assert (again.url, again.method, again.body, again.priority) == (
        request.url,
        "POST",
        b"\x00\xffbody",
        3,
    )
    assert again.headers.getlist("X-Bytes") == [b"\xe9"] and again.meta == request.meta
    assert again.callback == spider.parse_page
    with pytest.raises(TypeError):
        RequestCodec.dumps({"meta": {"x": object()}})


def test_a_busy_worker_keeps_the_others_open_until_its_heartbeat_expires(redis_url: str) -> None:
    group = CrawlGroup(connect(redis_url), "g1")
    assert group.open("coord", 30, {"store": "/s"})
    assert not group.open("other", 30, {"store": "/s"})
    assert group.join("w1", 0.5)
    assert group.settle("w1")  # the coordinator opened the crawl busy
    assert not group.settle("coord")  # w1 is idle and nothing waits
    group.client.zadd(group.key("requests"), {'{"url": "x"}': 0})
    assert group.settle("coord")  # a request waits
    assert group.take("w1") == '{"url": "x"}' and group.states()["w1"] == "busy"
    assert group.settle("coord")  # w1 is busy and alive
    time.sleep(0.7)  # w1 stops beating: gone
    assert not group.settle("coord")
    assert group.wait_for("coord", timeout=0)["lost"] == ["w1"]
    group.set_status("closing")
    assert not group.join("w2", 30)


def test_digest_claims_are_first_come_first_served(redis_url: str) -> None:
    client = connect(redis_url)
    first, second = RedisDigestIndex(client, "d"), RedisDigestIndex(client, "d")
    a = Original("http://a/", "2026-01-01T00:00:00.000000Z", "<urn:uuid:a>")
    b = Original("http://b/", "2026-01-01T00:00:01.000000Z", "<urn:uuid:b>")
    assert first.claim("sha256:x", a) is None
    assert second.claim("sha256:x", b) == a
    assert second.claim("sha256:y", b) is None


def test_bad_redis_and_unknown_crawls_are_one_line_errors(redis_url: str, tmp_path: Path) -> None:
    store = str(tmp_path / "a")
    unreachable = run_cli("crawl", "x.txt", "--store", store, "--redis", "redis://127.0.0.1:1/0")
    missing = run_cli(
        "worker", "--redis", redis_url, "--store", store, "--crawl-id", "nope",
        "-s", "FRONTIER_JOIN_TIMEOUT=0",
    )  # fmt: skip
    CrawlGroup(connect(redis_url), "busy").open("c", 30, {"store": store})
    seeds = tmp_path / "one.seeds"
    seeds.write_text("http://127.0.0.2/\n")
    taken = run_cli(
        "crawl", str(seeds), "--store", store, "--crawl-id", "busy", "--redis", redis_url
    )
    for done, message in [
        (unreachable, "cannot reach Redis at redis://127.0.0.1:1/0"),
        (missing, "crawl nope is not running on"),
        (taken, "crawl busy is already under way on"),
    ]:
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


def _busy_shared_crawl(
    seed: str, registry: Path, redis_url: str, store: Path, crawl_id: str
) -> tuple[subprocess.Popen[str], subprocess.Popen[str], list[str]]:
    """A coordinator and a slow worker; returns once Redis marks the worker busy."""
    common = ("--store", str(store), "--crawl-id", crawl_id, "--outlets", str(registry))
    # A slow worker, so that it is stopped holding requests.
    worker = start_cli("worker", "--redis", redis_url, *common, *SHARED, "-s", "DOWNLOAD_DELAY=3")
    coordinator = start_cli(
        "crawl", seed, "--redis", redis_url, *common, *SHARED, "-s", "CONCURRENT_REQUESTS=1"
    )
    group = CrawlGroup(connect(redis_url), crawl_id)
    deadline = time.monotonic() + 60
    busy: list[str] = []
    while not busy and time.monotonic() < deadline and coordinator.poll() is None:
        coordinator_id = group.fields().get("coordinator")
        busy = [w for w, s in group.states().items() if s == "busy" and w != coordinator_id]
        time.sleep(0.05)
    return worker, coordinator, busy


@pytest.mark.slow
def test_a_killed_worker_does_not_keep_the_crawl_open(
    localweb: LocalWeb, localweb_registry: Path, redis_url: str, tmp_path: Path
) -> None:
    store = tmp_path / "archive"
    worker, coordinator, busy = _busy_shared_crawl(
        localweb.seed_url, localweb_registry, redis_url, store, "k1"
    )
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert busy, "the worker never took a request"
    started = time.monotonic()
    out, err = coordinator.communicate(timeout=180)
    assert coordinator.returncode == 0, err[-3000:]
    assert time.monotonic() - started < 120
    assert "lost: 1" in out
    info = json.loads((store / "crawls/k1/crawl-info.json").read_text())
    assert info["workers_lost"] == busy
    assert verify_store(open_store(str(store))) == []


@pytest.mark.slow
def test_a_stopped_worker_hands_in_what_it_captured(
    localweb: LocalWeb, localweb_registry: Path, redis_url: str, tmp_path: Path
) -> None:
    store = tmp_path / "archive"
    worker, coordinator, busy = _busy_shared_crawl(
        localweb.seed_url, localweb_registry, redis_url, store, "t1"
    )
    worker.send_signal(signal.SIGTERM)  # once: Scrapy finishes what it holds, then stops
    w_out, w_err = worker.communicate(timeout=120)
    assert busy, "the worker never took a request"
    assert worker.returncode == 0, w_err[-3000:]
    assert "not stored" not in w_out
    out, err = coordinator.communicate(timeout=180)
    assert coordinator.returncode == 0, err[-3000:]
    assert "lost: 0" in out
    info = json.loads((store / "crawls/t1/crawl-info.json").read_text())
    assert info["workers_lost"] == []
    manifest = json.loads((store / "crawls/t1/manifest.json").read_text())
    names = [str(f["path"]) for f in manifest["files"]]
    assert any(f"crawl-log.{busy[0]}" in name for name in names), names
    assert verify_store(open_store(str(store))) == []
