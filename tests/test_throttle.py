"""Politeness that neither stalls nor hammers: crawler/throttle.py's AutoThrottle.

Unit tests drive :class:`PoliteThrottle` with a real downloader ``Slot`` and responses made
here; the crawls run against loopback servers: a host that asks for a pause with 429 and
``Retry-After``, and a recrawl whose every image now answers 404.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest
from scrapy import Request
from scrapy.core.downloader import Slot
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler.throttle import PoliteThrottle, retry_after
from storage.crawllog import parse_crawl_log
from tests.fixtures.cli import run_cli
from tests.fixtures.decayweb import ImageSite
from tests.fixtures.serve import serve

HOST = "host.example"
SETTINGS = {
    "AUTOTHROTTLE_ENABLED": True,
    "AUTOTHROTTLE_START_DELAY": 0.5,
    "AUTOTHROTTLE_MAX_DELAY": 30.0,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 2.0,
    "DOWNLOAD_DELAY": 0.0,
}


def _throttle(cls: type[AutoThrottle] = PoliteThrottle) -> tuple[Any, Slot]:
    crawler = get_crawler(settings_dict=SETTINGS)
    throttle = cls.from_crawler(crawler)
    throttle.mindelay, throttle.maxdelay = 0.0, 30.0  # what spider_opened sets
    slot = Slot(4, 0.5, 0.5)  # a new slot's delay is the start delay; Scrapy's jitter
    throttle._get_slot = lambda request, spider: (HOST, slot)
    return throttle, slot


def _answer(
    throttle: Any, status: int, latency: float = 0.01, headers: dict[str, str] | None = None
) -> Request:
    request = Request(f"http://{HOST}/x", meta={"download_latency": latency})
    response = Response(request.url, status=status, headers=headers, request=request)
    throttle._response_downloaded(response, request, None)
    return request


def _next_send_at_earliest(slot: Slot) -> float:
    """When the downloader sends the slot's next request, at the shortest jittered delay."""
    return slot.lastseen + slot.delay * (1 - slot.jitter)


@pytest.mark.parametrize("status", [404, 410, 403, 301])
def test_quick_answers_other_than_200_bring_the_delay_down(status: int) -> None:
    throttle, slot = _throttle()
    for _ in range(8):
        _answer(throttle, status)
    assert slot.delay < 0.01
    scrapy_throttle, scrapy_slot = _throttle(AutoThrottle)
    for _ in range(8):
        _answer(scrapy_throttle, status)
    assert scrapy_slot.delay == 0.5  # Scrapy's: never lowered by an answer other than 200


def test_quick_server_errors_do_not_bring_the_delay_down_and_slow_answers_raise_it() -> None:
    throttle, slot = _throttle()
    for _ in range(8):
        _answer(throttle, 500)
    assert slot.delay == 0.5
    request = _answer(throttle, 404, latency=4.0)
    assert slot.delay == 2.0  # latency / AUTOTHROTTLE_TARGET_CONCURRENCY
    assert request.meta["slowed"] == {"why": "latency", "delay": 2.0}
    assert throttle.slowed[HOST].text() == "latency; up to 2.0 s"
    # the first time only: later raises keep the peak, without a crawl-log note
    assert "slowed" not in _answer(throttle, 200, latency=8.0).meta
    assert throttle.slowed[HOST].text() == "latency; up to 4.0 s"


def test_retry_after_holds_the_host_back_whatever_the_jitter() -> None:
    throttle, slot = _throttle()
    before = time.monotonic()
    request = _answer(throttle, 429, headers={"Retry-After": "5"})
    assert slot.delay == 5.0
    assert _next_send_at_earliest(slot) >= before + 5.0
    assert request.meta["slowed"] == {"why": "retry-after", "delay": 5.0}
    assert throttle.stats.get_value("throttle/slowed/retry-after") == 1
    # then quick answers bring it down again
    for _ in range(12):
        _answer(throttle, 200)
    assert slot.delay < 0.01
    assert throttle.slowed[HOST].text() == "retry-after; up to 5.0 s"


def test_retry_after_is_bounded_by_the_max_delay_and_read_as_a_date_too() -> None:
    throttle, slot = _throttle()
    _answer(throttle, 503, headers={"Retry-After": "3600"})
    assert slot.delay == 30.0
    throttle, slot = _throttle()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=12), usegmt=True)
    _answer(throttle, 429, headers={"Retry-After": when})
    assert 10.0 <= slot.delay <= 12.0


def test_429_and_503_without_retry_after_double_the_delay() -> None:
    throttle, slot = _throttle()
    _answer(throttle, 429)
    assert slot.delay == 1.0
    _answer(throttle, 503)
    _answer(throttle, 503)
    assert slot.delay == 4.0
    assert throttle.slowed[HOST].text() == "429, 503 x2; up to 4.0 s"


def test_retry_after_values() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert retry_after(b"120", now) == 120.0
    assert retry_after(b"Tue, 01 Jan 2030 00:00:30 GMT", now) == 30.0
    assert retry_after(b"Mon, 31 Dec 2029 23:00:00 GMT", now) == 0.0  # past
    assert retry_after(b"soon", now) is None
    assert retry_after(b"-5", now) is None
    assert retry_after(None, now) is None


# --- crawls -----------------------------------------------------------------------------------


class AskForAPause(BaseHTTPRequestHandler):
    """Answers the first request for /story with 429 and Retry-After: 2, then the story."""

    protocol_version = "HTTP/1.1"
    log: ClassVar[list[tuple[float, str, int]]] = []
    lock = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            status = 404
            if self.path == "/story":
                status = 200 if any(path == "/story" for _, path, _ in self.log) else 429
            self.log.append((time.monotonic(), self.path, status))
        body = b"<html><body><p>The story.</p></body></html>" if status == 200 else b"wait"
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "2")
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_crawl_waits_as_long_as_retry_after_asks(tmp_path: Path) -> None:
    server = serve("127.0.0.5", AskForAPause)
    try:
        url = f"http://127.0.0.5:{server.server_port}/story"
        done = run_cli(
            "crawl",
            url,
            "--store",
            str(tmp_path / "a"),
            "--crawl-id",
            "c1",
            "-s",
            "SSRF_ALLOWED_NETWORKS=127.0.0.5",
            "-s",
            "EXTRACT_ENABLED=false",
        )
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr[-3000:]
    asked = [(at, status) for at, path, status in AskForAPause.log if path == "/story"]
    assert [status for _, status in asked] == [429, 200]
    assert asked[1][0] - asked[0][0] >= 2.0
    log = parse_crawl_log((tmp_path / "a/crawls/c1/crawl-log.jsonl.gz").read_bytes())
    (story,) = [entry for entry in log if entry["url"] == url]
    assert story["outcome"] == "captured" and story["status"] == 200
    assert story["slowed"] == {"why": "retry-after", "delay": 2.0}
    assert "  slowed hosts: 1: 127.0.0.5 (retry-after; up to 2.0 s)" in done.stdout


@pytest.mark.slow
def test_a_recrawl_whose_images_all_answer_404_runs_at_the_first_crawls_speed(
    tmp_path: Path,
) -> None:
    """60 pages on one host, their 180 images on another; AutoThrottle on, as by default."""
    site = ImageSite({})
    try:
        pages = site.serve("127.0.0.1")
        images = site.serve("127.0.0.2")
        for page in range(60):
            site.images[page] = [f"{images}/img/{page}-{k}.gif" for k in range(3)]
        seeds = tmp_path / "pages.seeds"
        seeds.write_text("".join(f"{pages}/p/{page}.html\n" for page in range(60)))
        took = {}
        for crawl_id in ("first", "recrawl"):
            site.images_gone = crawl_id == "recrawl"
            started = time.monotonic()
            done = run_cli(
                "crawl",
                str(seeds),
                "--store",
                str(tmp_path / "a"),
                "--crawl-id",
                crawl_id,
                "-s",
                "SSRF_ALLOWED_NETWORKS=127.0.0.1,127.0.0.2",
                "-s",
                "EXTRACT_ENABLED=false",
                timeout=600,
            )
            took[crawl_id] = time.monotonic() - started
            assert done.returncode == 0, done.stderr[-3000:]
    finally:
        site.close()
    log = parse_crawl_log((tmp_path / "a/crawls/recrawl/crawl-log.jsonl.gz").read_bytes())
    statuses = {e["url"]: e.get("status") for e in log if e["role"] == "requisite"}
    assert len(statuses) == 180 and set(statuses.values()) == {404}
    assert took["recrawl"] <= 1.5 * took["first"], took
