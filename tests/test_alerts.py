"""Alerts: the scrub message to json:// (a loopback HTTP server) and mailto:// (a loopback
SMTP sink), after scheduled runs and by hand; a failing endpoint leaves the run ok."""

from __future__ import annotations

import gzip
import json
import logging
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller

from crawler.jobs import Job, JobsError, load_jobs
from crawler.jobstate import load_state, state_path
from crawler.localweb.archive import free_port
from crawler.scheduler import run_due
from storage import open_store, write_manifest
from storage.crawlinfo import CrawlInfo
from storage.layout import crawl_log_key, info_key
from tests.fixtures.cli import run_cli
from tests.fixtures.serve import serve
from tests.fixtures.stored import Capture, stage_crawl

PAGE = "https://news.example/story/photo-of-dong"
T0 = datetime(2030, 1, 7, 0, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)


def store_run(store_uri: str, staging: Path, crawl_id: str, status: int) -> None:
    """A crawl of one cited page that answered ``status``, stored with its manifest."""
    store = open_store(store_uri)
    files = stage_crawl(staging, crawl_id, [Capture(PAGE, "news", "a.warc.gz")],
                        store_uri=store.uri, index=True)  # fmt: skip
    entry = {"url": PAGE, "role": "cited", "status": status, "outcome": "captured",
             "outlet": "news", "warc_filename": "a.warc.gz"}  # fmt: skip
    (staging / crawl_log_key(crawl_id)).write_bytes(
        gzip.compress(json.dumps(entry).encode() + b"\n", mtime=0)
    )
    for key, path in files:
        store.put(key, path)
    info = CrawlInfo.from_json((staging / info_key(crawl_id)).read_text())
    write_manifest(store, crawl_id, files, info, created=T0)


class _Hook(BaseHTTPRequestHandler):
    """json:// target: keeps what is posted; answers 500 on /broken."""

    posted: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posted.append((self.path, json.loads(body)))
        self.send_response(500 if self.path.startswith("/broken") else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[str]:
    _Hook.posted = []
    server = serve("127.0.0.1", _Hook)
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Sink, int]]:
    sink = _Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture
def two_crawls(tmp_path: Path) -> str:
    store = str(tmp_path / "archive")
    store_run(store, tmp_path / "staging", "c1", 200)
    store_run(store, tmp_path / "staging", "c2", 404)
    return store


def test_notify_posts_the_scrub_message_to_a_json_url(two_crawls: str, hook: str) -> None:
    done = run_cli("notify", "--store", two_crawls, "--from", "c1", "--to", "c2",
                   "--report", "reports/c2.html", f"json://{hook}/hook")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "sent to 1 of 1" in done.stdout
    ((path, body),) = _Hook.posted
    assert path == "/hook" and body["title"] == "scrubwatch: 1 item(s) scrubbed"
    message = body["message"]
    assert f"Between crawls c1 and c2 in {open_store(two_crawls).uri}" in message
    assert f"- page-removed: {PAGE}" in message
    assert "(http-404); archived in c1" in message
    assert "Report: reports/c2.html" in message


def test_notify_mails_it_through_smtp(two_crawls: str, smtp: tuple[_Sink, int]) -> None:
    sink, port = smtp
    url = (f"mailto://127.0.0.1:{port}?from=scrubwatch@example.org&to=desk@example.org"
           "&mode=insecure")  # fmt: skip
    done = run_cli("notify", "--store", two_crawls, "--from", "c1", "--to", "c2", url)
    assert done.returncode == 0, done.stderr
    ((sender, recipients, content),) = sink.messages
    assert sender == "scrubwatch@example.org" and recipients == ["desk@example.org"]
    mail = message_from_bytes(content)
    assert mail["Subject"] == "scrubwatch: 1 item(s) scrubbed"
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    assert PAGE in text.get_payload(decode=True).decode()


def test_nothing_scrubbed_sends_nothing_unless_always(two_crawls: str, hook: str) -> None:
    done = run_cli("notify", "--store", two_crawls, "--from", "c1", "--to", "c1",
                   f"json://{hook}/hook")  # fmt: skip
    assert done.returncode == 0 and "no message sent" in done.stdout
    assert _Hook.posted == []


def test_a_bad_url_is_named_by_position_not_shown(two_crawls: str) -> None:
    done = run_cli("notify", "--store", two_crawls, "--from", "c1", "--to", "c2",
                   "nope://s3cret@x")  # fmt: skip
    assert done.returncode == 2
    assert "notify URL 1 (nope://...)" in done.stderr and "s3cret" not in done.stderr


JOBS = """
[jobs.watch]
seeds = ["https://news.example/article"]
store = "archive"
schedule = {{ every = "1h" }}
notify = [{urls}]
notify_on = "{when}"
"""


def write_job(folder: Path, urls: list[str], when: str = "scrub") -> Job:
    text = JOBS.format(urls=", ".join(json.dumps(u) for u in urls), when=when)
    (folder / "scrubwatch.toml").write_text(text)
    (job,) = load_jobs(folder / "scrubwatch.toml")
    return job


class StoringRunner:
    """Stores a crawl answering each status in turn, as a scheduled crawl would."""

    def __init__(self, staging: Path, statuses: list[int]) -> None:
        self.staging, self.statuses = staging, statuses

    def __call__(self, job: Job, crawl_id: str) -> int:
        status = self.statuses.pop(0)
        if status < 0:
            return 1  # the crawl failed
        store_run(job.store, self.staging, crawl_id, status)
        return 0


def test_a_scheduled_run_with_scrubs_sends_one_message_and_a_failing_url_is_counted(
    tmp_path: Path, hook: str, caplog: pytest.LogCaptureFixture
) -> None:
    good = f"json://user:s3cret@{hook}/hook?token=t0ken"
    broken = f"json://{hook}/broken/t0ken"
    job = write_job(tmp_path, [good, broken])
    assert "s3cret" not in repr(job)
    runner = StoringRunner(tmp_path / "staging", [200, 404])
    caplog.set_level(logging.DEBUG)
    (first,) = run_due([job], T0, runner=runner)
    assert first.result == "ok" and _Hook.posted == []  # the baseline: nothing to compare
    (second,) = run_due([job], T0 + HOUR, runner=runner)
    assert second.result == "ok"  # the failing URL does not fail the run
    assert [path for path, _ in _Hook.posted] == ["/hook", "/broken/t0ken"]
    body = _Hook.posted[0][1]
    assert body["title"] == "scrubwatch: 1 item(s) scrubbed (job watch)"
    assert f"Between crawls {first.crawl_id} and {second.crawl_id}" in body["message"]
    state = load_state(job)
    assert state is not None and (state.notify_sent, state.notify_failed) == (1, 1)
    assert "not delivered to notify URL 2 (json://...)" in caplog.text
    for secret in ("s3cret", "t0ken"):
        assert secret not in caplog.text
        assert secret not in state_path(job).read_text()


def test_failures_are_sent_when_asked_for(tmp_path: Path, hook: str) -> None:
    url = f"json://{hook}/hook"
    quiet = write_job(tmp_path, [url], "scrub")
    run_due([quiet], T0, runner=StoringRunner(tmp_path / "staging", [-1]))
    assert _Hook.posted == []
    loud = write_job(tmp_path, [url], "failure")
    (failed,) = run_due([loud], T0 + HOUR, runner=StoringRunner(tmp_path / "staging", [-1]))
    assert failed.result == "failed"
    ((_, body),) = _Hook.posted
    assert body["title"] == "scrubwatch: job watch failed"
    assert f"Run {failed.crawl_id} of job watch" in body["message"]


def test_always_sends_after_a_run_with_nothing_scrubbed(tmp_path: Path, hook: str) -> None:
    job = write_job(tmp_path, [f"json://{hook}/hook"], "always")
    runner = StoringRunner(tmp_path / "staging", [200, 200])
    run_due([job], T0, runner=runner)
    run_due([job], T0 + HOUR, runner=runner)
    ((_, body),) = _Hook.posted
    assert body["title"] == "scrubwatch: 0 item(s) scrubbed (job watch)"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('notify = "json://x"', "notify: must be a list of apprise URLs"),
        ('notify = ["s3cret-not-a-url"]', "notify: notify URL 1 (?://...) is not a URL"),
        ('notify_on = "sometimes"', 'notify_on: must be one of "scrub", "failure", "always"'),
    ],
)
def test_the_jobs_file_checks_notify(tmp_path: Path, line: str, message: str) -> None:
    text = JOBS.format(urls="", when="scrub").replace('notify = []\nnotify_on = "scrub"', line)
    (tmp_path / "scrubwatch.toml").write_text(text)
    with pytest.raises(JobsError, match=re.escape(message)) as caught:
        load_jobs(tmp_path / "scrubwatch.toml")
    assert "s3cret" not in str(caught.value)
