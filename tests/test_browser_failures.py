"""A browser that dies mid-page, and a crawl stopped while a page renders.

``/spin-story`` cites ``/spin``, whose script spins once loaded, and ``/hang``, whose
script never yields; ``/spin`` links to ``/post/1`` (followed with ``--depth 1``, so
after ``/spin``). While one of them renders, the test kills the browser, or stops the
crawl with SIGTERM.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.cli import FAST, start_cli
from tests.fixtures.scripted import scripted_site

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def parents() -> dict[int, int]:
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit():
                stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                found[int(proc.name)] = int(stat[1])
        except OSError:
            continue
    return found


def tagged(tag: str) -> list[int]:
    """Processes whose environment carries ``tag``, and their descendants (Chromium's
    zygote starts renderers with an environment of its own)."""
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and tag.encode() in (proc / "environ").read_bytes():
                found.add(int(proc.name))
        except OSError:
            continue
    tree = parents()
    grew = True
    while grew:
        more = {pid for pid, ppid in tree.items() if ppid in found} - found
        found |= more
        grew = bool(more)
    return sorted(found)


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_spinning_renderer(tag: str, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in tagged(tag):
            if "--type=renderer" in " ".join(cmdline(pid)) and cpu_seconds(pid) > 1.0:
                return pid
        time.sleep(0.2)
    raise AssertionError("no renderer spun up")


def browser_process(tag: str) -> int:
    (pid,) = [
        p
        for p in tagged(tag)
        if (line := cmdline(p)) and line[0].endswith("chromium") and "--type=" not in " ".join(line)
    ]
    return pid


def crawl_log(store: Path) -> list[dict[str, Any]]:
    (path,) = store.glob("crawls/*/crawl-log.jsonl.gz")
    return [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]


def start(site_base: str, store: Path, tag: str, *extra: str) -> Any:
    key, value = tag.split("=")
    os.environ[key] = value
    try:
        return start_cli(
            "crawl", f"{site_base}/spin-story", "--store", str(store), "--depth", "1",
            *FAST, "--log-level", "INFO", "-s", "BROWSER_MODE=always", "-s", "BROWSER_PAGES=1",
            "-s", "SSRF_ALLOWED_NETWORKS=127.0.0.1/32", *extra,
        )  # fmt: skip
    finally:
        del os.environ[key]


def test_a_browser_that_dies_fails_its_page_and_the_next_page_gets_a_new_one(
    tmp_path: Path,
) -> None:
    tag = f"SCRUBWATCH_TEST_TAG={uuid.uuid4()}"
    store = tmp_path / "archive"
    with scripted_site() as site:
        crawl = start(site.base, store, tag, "-s", "BROWSER_PAGE_TIMEOUT=20")
        wait_for_spinning_renderer(tag)
        os.kill(browser_process(tag), signal.SIGKILL)
        _, err = crawl.communicate(timeout=180)
    assert crawl.returncode == 0, err[-3000:]
    assert err.count("Launching browser") == 2  # the dead one, and its successor
    log = crawl_log(store)
    # /spin and /hang both spin, one page at a time: the one rendering when the browser
    # died is a crash, told at once; the other spins in the new browser until its timeout
    spinners = {site.base + "/spin", site.base + "/hang"}
    failed = {e["url"]: e["kind"] for e in log if e["url"] in spinners and "kind" in e}
    assert sorted(failed.values()) == ["browser-crash", "browser-timeout"], failed
    post = [e for e in log if e["url"] == site.base + "/post/1" and e["role"] == "linked"]
    assert [e["record_type"] for e in post] == ["resource"]  # rendered, by the new browser
    assert tagged(tag) == []


def test_sigterm_while_a_page_renders_closes_the_browser(tmp_path: Path) -> None:
    tag = f"SCRUBWATCH_TEST_TAG={uuid.uuid4()}"
    store = tmp_path / "archive"
    with scripted_site() as site:
        crawl = start(site.base, store, tag, "-s", "BROWSER_PAGE_TIMEOUT=10")
        wait_for_spinning_renderer(tag)
        crawl.send_signal(signal.SIGTERM)
        _, err = crawl.communicate(timeout=120)
    assert "browser" in err.lower()
    assert tagged(tag) == []  # no browser, renderer or Playwright driver left behind
