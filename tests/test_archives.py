"""The archive client: CDX answers (the Wayback Machine's, recorded, paged with
showResumeKey), TimeMaps, raw captures, and politeness (one at a time, Retry-After)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from storage.archives import (
    ArchiveClient,
    ArchiveError,
    original_headers,
    parse_cdx_json,
    parse_timemap,
    raw_url,
    redact_url,
    timestamp14,
)
from tests.fixtures.serve import serve

RECORDED = Path(__file__).parent / "fixtures" / "wayback"
PHOTO = "https://www.rfa.org/mandarin/photo/dong-jingwei.jpg"


def test_a_recorded_wayback_answer_parses_with_its_header_row_and_resume_key() -> None:
    rows, resume = parse_cdx_json((RECORDED / "cdx-page1.json").read_text())
    assert resume == "com%2Crfa%29%2Fmandarin%2Fphoto%2Fdong-jingwei.jpg+20210619020301"
    assert [r["timestamp"] for r in rows] == ["20210618093012", "20210618171544", "20210619020301"]
    assert rows[2]["statuscode"] == "301" and rows[2]["original"].startswith("http://rfa.org/")
    rows, resume = parse_cdx_json((RECORDED / "cdx-page2.json").read_text())
    assert resume is None and [r["mimetype"] for r in rows] == ["text/html", "warc/revisit"]
    assert parse_cdx_json("[]") == ([], None) and parse_cdx_json("") == ([], None)


def test_pywb_json_lines_parse_too() -> None:
    line = {"urlkey": "x)/", "timestamp": "20260101000000", "url": "http://x/", "status": "200"}
    rows, resume = parse_cdx_json(json.dumps(line) + "\n" + json.dumps(line) + "\n")
    assert resume is None and rows == [line, line]
    with pytest.raises(ArchiveError, match="not JSON"):
        parse_cdx_json("<html>oops</html>")


def test_timemap_mementos_oldest_first_other_links_ignored() -> None:
    text = (
        '<http://a/coll/timemap/link/http://x/>; rel="self"; type="application/link-format",\n'
        '<http://a/coll/http://x/>; rel="timegate",\n<http://x/>; rel="original",\n'
        '<http://a/coll/20210702110000/http://x/>; rel="last memento"; '
        'datetime="Fri, 02 Jul 2021 11:00:00 GMT",\n'
        '<http://a/coll/20210618093012/http://x/>; rel="first memento"; '
        'datetime="Fri, 18 Jun 2021 09:30:12 GMT"; collection="coll"\n'
    )
    found = parse_timemap(text)
    assert [(u, d.strftime("%Y%m%d%H%M%S")) for u, d in found] == [
        ("http://a/coll/20210618093012/http://x/", "20210618093012"),
        ("http://a/coll/20210702110000/http://x/", "20210702110000"),
    ]


def test_raw_urls_redaction_dates_and_headers() -> None:
    assert raw_url("http://a/web/20210618093012/https://x/p?q=1") == (
        "http://a/web/20210618093012id_/https://x/p?q=1"
    )
    assert raw_url("http://a/web/20210618093012im_/https://x/") == (
        "http://a/web/20210618093012id_/https://x/"
    )
    assert redact_url("https://user:secret@a.org:8443/cdx?key=tok123&url=x") == (
        "https://a.org:8443/cdx?key=...&url=..."
    )
    assert timestamp14("2021-06-18") == "20210618000000"
    assert timestamp14("2021-06-18T09:30:12Z") == "20210618093012"
    with pytest.raises(ValueError):
        timestamp14("June")
    assert original_headers(
        [("Content-Type", "image/jpeg"), ("Memento-Datetime", "x"), ("Link", "<a>"),
         ("X-Archive-Orig-Server", "nginx"), ("X-Archive-Src", "f.warc.gz")]
    ) == [("Content-Type", "image/jpeg"), ("Server", "nginx")]  # fmt: skip


class _Archive(BaseHTTPRequestHandler):
    """The recorded Wayback answers, a raw capture, and a 429 first when asked to."""

    asked: ClassVar[list[tuple[float, str]]] = []
    busy = 0
    in_flight = most_in_flight = 0
    lock = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            type(self).in_flight += 1
            type(self).most_in_flight = max(type(self).most_in_flight, type(self).in_flight)
        time.sleep(0.02)
        try:
            self._answer()
        finally:
            with self.lock:
                type(self).in_flight -= 1

    def _answer(self) -> None:
        with self.lock:
            type(self).asked.append((time.monotonic(), self.path))
            busy = type(self).busy
            type(self).busy = max(0, busy - 1)
        if busy:
            self._send(429, b"slow down", [("Retry-After", "1")])
            return
        parts = urlsplit(self.path)
        if parts.path == "/cdx/search/cdx":
            query = parse_qs(parts.query)
            assert query["output"] == ["json"] and query["showResumeKey"] == ["true"]
            page = "cdx-page2.json" if "resumeKey" in query else "cdx-page1.json"
            self._send(200, (RECORDED / page).read_bytes(), [("Content-Type", "text/plain")])
        elif parts.path.startswith("/web/20210618093012id_/"):
            self._send(
                200,
                b"\xff\xd8\xffJPEG",
                [("Content-Type", "image/jpeg"),
                 ("Memento-Datetime", "Fri, 18 Jun 2021 09:30:12 GMT")],
            )  # fmt: skip
        else:
            self._send(404, b"", [])

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def archive() -> Iterator[str]:
    _Archive.asked, _Archive.busy, _Archive.most_in_flight = [], 0, 0
    server = serve("127.0.0.1", _Archive)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def client(base: str, **kw: Any) -> ArchiveClient:
    return ArchiveClient(
        cdx_url=f"{base}/cdx/search/cdx", replay_url=f"{base}/web/", delay=0.0, **kw
    )


def test_cdx_pages_are_followed_by_resume_key_and_runs_of_a_digest_collapsed(
    archive: str,
) -> None:
    found = client(archive).captures(PHOTO)
    paths = [path for _, path in _Archive.asked]
    assert len(paths) == 2 and "resumeKey=com%252Crfa" in paths[1]
    # 5 rows: the second is the first's payload again, the revisit the 404's
    assert [(m.timestamp, m.status) for m in found] == [
        ("20210618093012", 200), ("20210619020301", 301), ("20210702110000", 404),
    ]  # fmt: skip
    assert found[0].memento_url == f"{archive}/web/20210618093012/{PHOTO}"
    assert found[1].url == "http://rfa.org/mandarin/photo/dong-jingwei.jpg"


def test_since_and_until_are_asked_for_and_applied(archive: str) -> None:
    found = client(archive).captures(PHOTO, since="20210619000000", until="20210701000000")
    assert [m.timestamp for m in found] == ["20210619020301"]
    query = parse_qs(urlsplit(_Archive.asked[0][1]).query)
    assert (query["from"], query["to"]) == (["20210619000000"], ["20210701000000"])


def test_a_raw_capture_has_the_original_status_headers_bytes_and_date(archive: str) -> None:
    memento = client(archive).captures(PHOTO)[0]
    raw = client(archive).fetch(memento)
    assert (raw.status, raw.body) == (200, b"\xff\xd8\xffJPEG")
    assert ("Content-Type", "image/jpeg") in raw.headers
    assert "Memento-Datetime" not in dict(raw.headers)
    assert raw.date.strftime("%Y%m%d%H%M%S") == "20210618093012"
    missing = memento.__class__(PHOTO, "20200101000000", f"{archive}/web/20200101000000/{PHOTO}")
    with pytest.raises(ArchiveError, match="no such memento"):
        client(archive).fetch(missing)


def test_retry_after_is_waited_and_requests_are_spaced(archive: str) -> None:
    _Archive.busy = 1
    polite = ArchiveClient(
        cdx_url=f"{archive}/cdx/search/cdx", replay_url=f"{archive}/web/", delay=0.3
    )
    assert len(polite.captures(PHOTO)) == 3
    times = [t for t, _ in _Archive.asked]
    assert len(times) == 3  # the 429, then the two pages
    assert times[1] - times[0] >= 1.0  # Retry-After: 1
    assert times[2] - times[1] >= 0.3  # ARCHIVE_DELAY
    assert polite.requests == 3


def test_an_archive_that_stays_busy_is_an_error_naming_it_without_secrets(archive: str) -> None:
    _Archive.busy = 5
    stubborn = ArchiveClient(
        cdx_url=f"{archive}/cdx/search/cdx?key=s3cret",
        replay_url=f"{archive}/web/",
        delay=0.0,
        retries=1,
        max_wait=0.1,
    )
    with pytest.raises(ArchiveError, match="answered 429") as caught:
        stubborn.captures(PHOTO)
    assert "s3cret" not in str(caught.value)
    assert len(_Archive.asked) == 2


def test_one_request_at_a_time_from_many_threads(archive: str) -> None:
    shared = client(archive)
    threads = [threading.Thread(target=shared.captures, args=(PHOTO,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert shared.requests == 8
    assert _Archive.most_in_flight == 1
