"""Tests of crawler.browser.chromium: finding Chromium, and launching it with no network.

The tests that start Chromium are marked ``browser`` and run in tests/netns.py's
namespace (``make test``), where a loopback server is the only thing to reach.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from scrapy.settings import Settings

from crawler.browser import chromium
from crawler.browser.chromium import (
    BINARY_ENV,
    DEBIAN_CHROMIUM,
    WRAPPER,
    BrowserMissing,
    check_browser,
    chromium_binary,
    launch_options,
)
from storage.errors import BadInput
from tests.fixtures.serve import serve


def crawl_settings(**values: Any) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings")
    settings.setdict(values, priority="cmdline")
    return settings


def test_debian_chromium_by_default() -> None:
    assert chromium_binary() == DEBIAN_CHROMIUM
    assert chromium_binary("") == DEBIAN_CHROMIUM


def test_browser_executable_by_path_or_name(tmp_path: Path) -> None:
    assert chromium_binary(str(DEBIAN_CHROMIUM)) == DEBIAN_CHROMIUM
    assert chromium_binary("sh").name in {"sh", "dash", "bash"}
    (tmp_path / "chrome").write_text("not executable")
    for missing in (str(tmp_path / "chrome"), str(tmp_path / "none"), "no-such-chromium"):
        with pytest.raises(
            BrowserMissing, match=rf"^BROWSER_EXECUTABLE {re.escape(missing)}: no such"
        ):
            chromium_binary(missing)


def test_missing_chromium_is_one_line_saying_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chromium, "DEBIAN_CHROMIUM", tmp_path / "chromium")
    with pytest.raises(BadInput) as raised:
        chromium_binary()
    assert str(raised.value) == (
        "browser capture needs Debian's chromium (apt-get install chromium), "
        "or BROWSER_EXECUTABLE; --browser never crawls without it"
    )
    with pytest.raises(BrowserMissing):  # the default, auto, needs it
        check_browser(crawl_settings())
    assert check_browser(crawl_settings(BROWSER_MODE="never")) == "never"


def test_check_browser() -> None:
    assert check_browser(crawl_settings()) == "auto"  # the default
    assert check_browser(crawl_settings(BROWSER_MODE="never")) == "never"
    assert check_browser(crawl_settings(BROWSER_MODE="Always")) == "always"
    with pytest.raises(BadInput, match=r"^setting BROWSER_MODE: 'maybe' is not one of"):
        check_browser(crawl_settings(BROWSER_MODE="maybe"))
    with pytest.raises(BrowserMissing, match=r"^BROWSER_EXECUTABLE /nope: no such"):
        check_browser(crawl_settings(BROWSER_MODE="auto", BROWSER_EXECUTABLE="/nope"))


def test_launch_options() -> None:
    environ = {"PATH": "/usr/bin:/bin", "HOME": "/root", "AWS_SECRET_ACCESS_KEY": "secret"}
    options = launch_options(crawl_settings(), environ)
    assert options == {
        "executable_path": str(WRAPPER),
        "headless": True,
        "args": ["--disable-quic", "--disable-gpu"],
        "env": {"PATH": "/usr/bin:/bin", "HOME": "/root", BINARY_ENV: str(DEBIAN_CHROMIUM)},
    }


def run_wrapper(binary: str | None, *args: str, path: str = "/usr/bin:/bin") -> Any:
    env = {"PATH": path} | ({BINARY_ENV: binary} if binary else {})
    return subprocess.run(
        [str(WRAPPER), *args], env=env, capture_output=True, text=True, timeout=30
    )


def test_the_wrapper_runs_the_binary_in_a_network_namespace_of_its_own() -> None:
    done = run_wrapper("/usr/bin/readlink", "/proc/self/ns/net")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() != os.readlink("/proc/self/ns/net")
    done = run_wrapper("/bin/cat", "/proc/self/net/dev")
    assert [line.split(":")[0].strip() for line in done.stdout.splitlines()[2:]] == ["lo"]


def test_the_wrapper_fails_closed(tmp_path: Path) -> None:
    """Without unshare, the browser is not started at all: never with a network."""
    marker = tmp_path / "started"
    binary = tmp_path / "fake-chromium"
    binary.write_text(f"#!/bin/sh\ntouch {marker}\n")
    binary.chmod(0o755)
    done = run_wrapper(str(binary), "--headless", path=str(tmp_path / "empty"))
    assert done.returncode == 1
    assert done.stderr.startswith("chromium-netns: Chromium not started: it would have a network")
    assert done.stderr.count("\n") == 1
    assert not marker.exists()
    done = run_wrapper(None)
    assert done.returncode == 127 and "SCRUBWATCH_CHROMIUM must name" in done.stderr


class Recorder(BaseHTTPRequestHandler):
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.paths.append(self.path)
        body = b"<!doctype html><title>served</title><p>reached</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server: its base URL and the paths it was asked for."""
    handler = type("Handler", (Recorder,), {"paths": []})
    server = serve("127.0.0.1", handler)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.paths
    finally:
        server.shutdown()
        server.server_close()


FETCH = "url => fetch(url).then(r => 'ok ' + r.status, e => 'failed ' + e)"


def visit(options: dict[str, Any], base: str) -> tuple[str, str]:
    """Open ``base``/page and ``fetch()`` ``base``/fetch from a page: what each gave."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**options)
        try:
            page = browser.new_page()
            try:
                page.goto(f"{base}/page", timeout=10_000)
                opened = page.title()
            except PlaywrightError as exc:
                opened = f"failed {exc.message.splitlines()[0]}"
                # a fresh page: the failed one goes on to its error page, which would
                # destroy the context of anything set here
                page = browser.new_page()
                page.set_content("<p>no network</p>")
            return opened, page.evaluate(FETCH, f"{base}/fetch")
        finally:
            browser.close()


@pytest.mark.browser
def test_chromium_through_the_wrapper_has_no_network(recorder: tuple[str, list[str]]) -> None:
    base, paths = recorder
    opened, fetched = visit(launch_options(crawl_settings()), base)
    assert opened.startswith("failed Page.goto: net::ERR_"), opened
    assert fetched.startswith("failed TypeError: Failed to fetch"), fetched
    assert paths == []


@pytest.mark.browser
def test_chromium_without_the_wrapper_would_reach_the_server(
    recorder: tuple[str, list[str]],
) -> None:
    """The control: the same visit with the binary itself reaches the loopback server."""
    options = launch_options(crawl_settings())
    options["executable_path"] = options["env"][BINARY_ENV]
    base, paths = recorder
    assert visit(options, base) == ("served", "ok 200")
    assert {"/page", "/fetch"} <= set(paths)
