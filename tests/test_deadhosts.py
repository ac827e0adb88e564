"""Dead hosts fail fast: the tracker, the middleware, and crawls whose images and seeds are gone.

The crawls run in tests/netns.py's namespace (mark ``netns``), where names under
``.invalid`` fail at once and nothing leaves loopback.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Request
from scrapy.core.downloader import Slot
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
)
from scrapy.utils.test import get_crawler
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from crawler.deadhosts import DeadHost, DeadHostError, DeadHosts
from crawler.failures import classify, is_dead_host, is_retryable
from crawler.fetcherrors import ROBOTS_LOGGER, FetchFailuresAtInfo
from crawler.jobs import load_jobs
from crawler.jobstate import load_state
from crawler.middlewares.deadhost import DeadHostMiddleware
from crawler.scheduler import run_due
from storage.crawllog import parse_crawl_log
from tests.fixtures.cli import run_cli
from tests.fixtures.decayweb import ImageSite, Silent, closed_port

PAGES = 40
TIMEOUT = 3
REFUSED_AT = "127.0.0.3"
SILENT_AT = "127.0.0.4"
# the loopback addresses of these tests, opened to the crawler with the SSRF guard on
# (--allow-private would switch it off, with a warning on stderr)
OPEN = ("-s", f"SSRF_ALLOWED_NETWORKS=127.0.0.1,{REFUSED_AT},{SILENT_AT}")


# --- the tracker ----------------------------------------------------------------------------


def test_a_host_is_dead_after_its_threshold_of_gone_failures_in_a_row() -> None:
    hosts = DeadHosts(2)
    assert hosts.failed("cdn.gone.invalid", 80, "dns", "no address") is None
    assert hosts.find("cdn.gone.invalid", 80) is None
    dead = hosts.failed("cdn.gone.invalid", 80, "dns", "no address")
    assert dead == DeadHost("cdn.gone.invalid", "dns", "no address", 2)
    # a name that does not resolve is gone on every port
    assert hosts.find("cdn.gone.invalid", 443) is dead
    assert hosts.failed("cdn.gone.invalid", 80, "dns", "again") is None  # dead once


def test_refused_and_silent_addresses_are_dead_on_their_own_port_only() -> None:
    hosts = DeadHosts(2)
    hosts.failed("127.0.0.3", 81, "refused", "connection refused")
    dead = hosts.failed("127.0.0.3", 81, "timeout", "took longer than 3 seconds")
    assert dead is not None and (dead.host, dead.kind, dead.failures) == (
        "127.0.0.3:81",
        "timeout",
        2,
    )
    assert hosts.find("127.0.0.3", 81) is dead
    assert hosts.find("127.0.0.3", 80) is None


def test_transient_failures_do_not_count() -> None:
    hosts = DeadHosts(1)
    for kind in ("connection", "data-loss", "too-large", "blocked", "robots", "error"):
        assert hosts.failed("flaky.example", 80, kind, "reset") is None
    assert hosts.find("flaky.example", 80) is None and hosts.counts == {}


def test_a_host_that_answers_again_is_cleared() -> None:
    hosts = DeadHosts(2)
    hosts.failed("slow.example", 80, "timeout", "no answer")
    hosts.answered("slow.example", 80)
    assert hosts.failed("slow.example", 80, "timeout", "no answer") is None  # counts from 0
    assert hosts.failed("slow.example", 80, "timeout", "no answer") is not None
    hosts.answered("slow.example", 80)  # a request in flight got through after all
    assert hosts.find("slow.example", 80) is None and hosts.counts == {}


def test_the_threshold_is_one_or_more() -> None:
    with pytest.raises(ValueError, match="not 0"):
        DeadHosts(0)


# --- the middleware -------------------------------------------------------------------------


def _middleware(threshold: int = 2) -> tuple[DeadHostMiddleware, dict[str, Slot], Any]:
    crawler = get_crawler(settings_dict={"DEAD_HOST_FAILURES": threshold})
    middleware = DeadHostMiddleware.from_crawler(crawler)
    slots: dict[str, Slot] = {}
    crawler.engine = SimpleNamespace(downloader=SimpleNamespace(slots=slots))  # type: ignore[assignment]
    return middleware, slots, crawler.stats


def _request(url: str) -> Request:
    return Request(url, meta={"download_slot": url.split("/")[2].split(":")[0]})


def test_requests_to_a_dead_host_fail_unsent_and_its_slot_queue_is_emptied() -> None:
    middleware, slots, stats = _middleware()
    slot = slots["127.0.0.3"] = Slot(4, 0.5, 0.5)
    queued = [_request(f"http://127.0.0.3:81/{n}.jpg") for n in range(3)]
    other_port = _request("http://127.0.0.3:82/x.jpg")
    outcomes: dict[str, Any] = {}
    for request in [*queued, other_port]:
        deferred: Deferred[Any] = Deferred()
        deferred.addBoth(lambda result, url=request.url: outcomes.__setitem__(url, result))
        slot.queue.append((request, deferred))
    refused = DownloadConnectionRefusedError("Connection was refused by other side")
    middleware.process_exception(_request("http://127.0.0.3:81/a.jpg"), refused)
    assert len(slot.queue) == 4 and not outcomes  # one failure: alive
    middleware.process_exception(_request("http://127.0.0.3:81/b.jpg"), refused)
    assert [request.url for request, _ in slot.queue] == [other_port.url]
    assert sorted(outcomes) == sorted(r.url for r in queued)
    for result in outcomes.values():
        assert isinstance(result, Failure) and isinstance(result.value, DeadHostError)
        result.trap(DeadHostError)
    with pytest.raises(DeadHostError) as raised:
        middleware.process_request(_request("http://127.0.0.3:81/later.jpg"))
    assert raised.value.kind == "refused" and raised.value.host == "127.0.0.3:81"
    assert str(raised.value) == (
        "not sent: 127.0.0.3:81 failed 2 times in a row (refused: Connection was refused "
        "by other side)"
    )
    assert middleware.process_request(_request("http://127.0.0.3:82/y.jpg")) is None
    assert stats.get_value("deadhost/hosts") == 1
    assert stats.get_value("deadhost/skipped") == 4


def test_a_timeout_after_the_headers_came_is_a_slow_host_not_a_gone_one() -> None:
    middleware, _, _ = _middleware()
    timeout = DownloadTimeoutError("Getting it took longer than 3.0 seconds.")
    for n in range(3):
        request = _request(f"http://slow.example/{n}")
        middleware.headers_received(request)
        middleware.process_exception(request, timeout)
    assert middleware.process_request(_request("http://slow.example/next")) is None
    for n in range(2):
        middleware.process_exception(_request(f"http://slow.example/silent{n}"), timeout)
    with pytest.raises(DeadHostError):
        middleware.process_request(_request("http://slow.example/next"))


def test_an_answer_clears_the_count_and_resets_are_not_counted() -> None:
    middleware, _, _ = _middleware()
    gone = CannotResolveHostError("DNS lookup failed: no results for hostname lookup")
    middleware.process_exception(_request("http://flaky.example/1"), gone)
    middleware.process_exception(_request("http://flaky.example/2"), DownloadFailedError("reset"))
    middleware.process_response(_request("http://flaky.example/3"), object())  # type: ignore[arg-type]
    middleware.process_exception(_request("http://flaky.example/4"), gone)
    assert middleware.process_request(_request("http://flaky.example/5")) is None


def test_a_dead_hosts_failure_is_its_kind_retryable_and_dead_host() -> None:
    dead = DeadHost("cdn.gone.invalid", "dns", "DNS lookup failed", 2)
    failure = Failure(DeadHostError(dead))
    kind, message = classify(failure, "http://cdn.gone.invalid/a.jpg")
    assert kind == "dns" and message.startswith("not sent: cdn.gone.invalid failed 2 times")
    assert is_dead_host(failure) and is_retryable(kind, failure)
    plain = Failure(CannotResolveHostError("DNS lookup failed"))
    assert not is_dead_host(plain) and not is_retryable("dns", plain)


def test_a_robots_txt_that_could_not_be_fetched_is_no_error_line() -> None:
    """RobotsTxtMiddleware logs such a failure at ERROR with its traceback; it goes on as
    if there were no robots.txt, and the pages' own failures are in the crawl log."""
    quiet = FetchFailuresAtInfo()

    def record(exc: BaseException) -> logging.LogRecord:
        try:
            raise exc
        except BaseException:
            info = sys.exc_info()
        return logging.LogRecord(ROBOTS_LOGGER, logging.ERROR, "", 0, "Error downloading", (), info)

    gone = record(CannotResolveHostError("DNS lookup failed"))
    assert quiet.filter(gone) and (gone.levelname, gone.exc_info) == ("INFO", None)
    reset = record(DownloadFailedError("Connection lost"))
    assert quiet.filter(reset) and reset.levelno == logging.INFO
    bug = record(ValueError("a bug"))
    assert quiet.filter(bug) and bug.levelno == logging.ERROR and bug.exc_info is not None


# --- crawls -----------------------------------------------------------------------------------


def _crawl(seeds: Path, store: Path, crawl_id: str, *extra: str) -> tuple[float, Any]:
    started = time.monotonic()
    done = run_cli(
        "crawl",
        str(seeds),
        "--store",
        str(store),
        "--crawl-id",
        crawl_id,
        *OPEN,
        "-s",
        f"DOWNLOAD_TIMEOUT={TIMEOUT}",
        "-s",
        "EXTRACT_ENABLED=false",
        *extra,
        timeout=600,
    )
    return time.monotonic() - started, done


def _said(stderr: str) -> list[str]:
    """What a crawl said on stderr, less Scrapy's notes of the components switched off."""
    return [
        line for line in stderr.splitlines() if "[scrapy.middleware] WARNING: Disabled" not in line
    ]


def _log(store: Path, crawl_id: str) -> list[dict[str, Any]]:
    return parse_crawl_log((store / "crawls" / crawl_id / "crawl-log.jsonl.gz").read_bytes())


@pytest.mark.slow
@pytest.mark.netns
def test_pages_with_dead_images_cost_at_most_two_timeouts_more(tmp_path: Path) -> None:
    """40 pages, each with 3 live images and 6 dead ones (2 on names that do not resolve,
    2 where nothing listens, 2 on a socket that never answers), against the same pages
    without the dead ones; AutoThrottle on, as a new user crawls."""
    silent = Silent(SILENT_AT)
    refused = closed_port(REFUSED_AT)
    site = ImageSite({})
    try:
        base = site.serve("127.0.0.1")
        dead: dict[int, list[str]] = {}
        for page in range(PAGES):
            site.images[page] = [f"{base}/img/{page}-{k}.gif" for k in range(3)]
            dead[page] = [
                *(f"http://cdn{k}.gone.invalid/{page}.jpg" for k in range(2)),
                *(f"http://{REFUSED_AT}:{refused}/{page}-{k}.jpg" for k in range(2)),
                *(f"http://{SILENT_AT}:{silent.port}/{page}-{k}.jpg" for k in range(2)),
            ]
            site.images[100 + page] = site.images[page] + dead[page]
        plain, decayed = tmp_path / "plain.seeds", tmp_path / "decayed.seeds"
        plain.write_text("".join(f"{base}/p/{page}.html\n" for page in range(PAGES)))
        decayed.write_text("".join(f"{base}/p/{100 + page}.html\n" for page in range(PAGES)))
        took_plain, done_plain = _crawl(plain, tmp_path / "a", "plain")
        took_decayed, done_decayed = _crawl(decayed, tmp_path / "b", "decayed")
        connections = len(silent.accepted)
    finally:
        site.close()
        silent.close()
    assert done_plain.returncode == 0, done_plain.stderr[-3000:]
    assert done_decayed.returncode == 0, done_decayed.stderr[-3000:]
    assert took_decayed <= took_plain + 2 * TIMEOUT + 20, (took_plain, took_decayed)
    # nothing at WARNING or above: the failures are the crawl log's and the summary's
    assert _said(done_decayed.stderr) == []
    log = {entry["url"]: entry for entry in _log(tmp_path / "b", "decayed")}
    kinds = {"gone.invalid": "dns", REFUSED_AT: "refused", SILENT_AT: "timeout"}
    for url in (url for urls in dead.values() for url in urls):
        entry = log[url]
        assert entry["outcome"] == "failed" and entry["retryable"] is True, entry
        assert entry["kind"] == next(k for where, k in kinds.items() if where in url), entry
    not_sent = [entry for entry in log.values() if entry.get("dead_host")]
    assert len(not_sent) >= 6 * PAGES - 2 * 4  # at most each dead host's first two failures
    live = [u for page in range(PAGES) for u in site.images[page]]
    assert all(log[url]["outcome"] == "captured" for url in live)
    # the silent host had its robots.txt asked for twice (a try, a retry), then nothing
    assert connections == 2
    summary = done_decayed.stdout
    assert "  dead hosts: 4, " in summary, summary
    assert f"{SILENT_AT}:{silent.port} (timeout, " in summary


@pytest.mark.netns
def test_a_crawl_whose_every_seed_failed_exits_1_with_one_line(tmp_path: Path) -> None:
    refused = closed_port(REFUSED_AT)
    gone, nobody = "http://gone.invalid/story", f"http://{REFUSED_AT}:{refused}/story"
    listed = tmp_path / "cited.seeds"
    listed.write_text("http://cdn.gone.invalid/a\nhttp://cdn.gone.invalid/b\n")
    done = run_cli("crawl", gone, nobody, str(listed), "--store", str(tmp_path / "a"), *OPEN)
    assert done.returncode == 1
    assert done.stderr == (
        f"no seed captured: {gone} (dns: name does not resolve), {nobody} (refused: "
        f"connection refused), {listed} (2 cited pages failed: dns: 2)\n"
    )
    assert "ERROR" not in done.stdout and "Traceback" not in done.stdout
    assert "failures: dns: 3, refused: 1 (see crawls/" in done.stdout
    assert "  stored: " in done.stdout  # the crawl log is evidence: kept
    (crawl_dir,) = (tmp_path / "a" / "crawls").iterdir()
    log = _log(tmp_path / "a", crawl_dir.name)
    assert {(e["url"], e["outcome"], e["kind"]) for e in log} >= {
        (gone, "failed", "dns"),
        (nobody, "failed", "refused"),
    }


@pytest.mark.netns
def test_one_seed_captured_is_a_crawl_that_succeeded(tmp_path: Path) -> None:
    site = ImageSite({1: []})
    try:
        base = site.serve("127.0.0.1")
        done = run_cli(
            "crawl",
            "http://gone.invalid/story",
            f"{base}/p/1.html",
            "--store",
            str(tmp_path / "a"),
            *OPEN,
            "-s",
            "EXTRACT_ENABLED=false",
        )
    finally:
        site.close()
    assert done.returncode == 0, done.stderr
    assert _said(done.stderr) == []


@pytest.mark.netns
def test_a_scheduled_run_whose_seeds_all_failed_is_recorded_failed(tmp_path: Path) -> None:
    jobs_file = tmp_path / "scrubwatch.toml"
    jobs_file.write_text(
        '[jobs.gone]\nseeds = ["http://gone.invalid/story"]\nstore = "archive"\n'
        'schedule = { every = "1d" }\n'
    )
    jobs = load_jobs(jobs_file)
    (run,) = run_due(jobs, datetime.now(UTC))
    assert (run.result, run.exit_code) == ("failed", 1)
    state = load_state(jobs[0])
    assert state is not None and state.result == "failed" and state.last_ok_crawl_id is None
