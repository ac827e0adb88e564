"""``scrubwatch replay``: the loopback server (Range requests, the viewer's pages), fetching
the viewer, and ReplayWeb.page in headless Chromium replaying the story's exported package.

The browser tests need ReplayWeb.page in its cache: ``make services`` (tests/services.sh)
fetches it with npm before the suite runs in its namespace without a network.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler import replaywebpage
from crawler.cli import main
from crawler.replayserver import ReplayServer, byte_range, timestamp14
from crawler.replaywebpage import cached, default_cache
from crawler.settings import REPLAYWEBPAGE_VERSION
from storage.errors import BadInput
from tests.fixtures.story import FIRST, SECOND, Story

CHROMIUM = "/usr/lib/chromium/chromium"


def _package(tmp_path: Path) -> Path:
    import json
    import zipfile

    path = tmp_path / "p.wacz"
    meta = {"mainPageUrl": "https://news.example/a?b=1&c=2", "mainPageDate": "2026-03-01T12:00:00Z"}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("datapackage.json", json.dumps(meta))
        zf.writestr("archive/x.warc.gz", bytes(range(256)) * 40)
    return path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ReplayServer]:
    viewer = tmp_path / "viewer"
    viewer.mkdir()
    (viewer / "ui.js").write_text("// ui")
    (viewer / "sw.js").write_text("// sw")
    server = ReplayServer(_package(tmp_path), viewer)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fetch(url: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_byte_ranges() -> None:
    assert byte_range(None, 100) is None
    assert byte_range("bytes=0-9", 100) == (0, 9)
    assert byte_range("bytes=90-", 100) == (90, 99)
    assert byte_range("bytes=-10", 100) == (90, 99)
    assert byte_range("bytes=95-200", 100) == (95, 99)
    assert byte_range("bytes=0-1,5-6", 100) is None  # several: the whole file
    for unsatisfiable in ("bytes=100-", "bytes=5-4", "bytes=-"):
        with pytest.raises(ValueError):
            byte_range(unsatisfiable, 100)
    assert timestamp14("2026-03-01T12:00:00Z") == "20260301120000"


def test_the_package_is_served_whole_and_by_range(served: ReplayServer) -> None:
    whole = served.package.read_bytes()
    url = served.url + "p.wacz"
    status, headers, body = fetch(url)
    assert (status, body, headers["Accept-Ranges"]) == (200, whole, "bytes")
    assert headers["Content-Length"] == str(len(whole))
    status, headers, body = fetch(url, Range="bytes=10-19")
    assert (status, body) == (206, whole[10:20])
    assert headers["Content-Range"] == f"bytes 10-19/{len(whole)}"
    status, headers, body = fetch(url, Range="bytes=-22")
    assert (status, body) == (206, whole[-22:])  # ZIP readers start at the end of the file
    status, headers, _ = fetch(url, Range=f"bytes={len(whole)}-")
    assert (status, headers["Content-Range"]) == (416, f"bytes */{len(whole)}")
    status, headers, body = fetch(url, method="HEAD")
    assert (status, body, headers["Content-Length"]) == (200, b"", str(len(whole)))
    assert fetch(served.url + "other.wacz")[0] == 404


def test_the_page_opens_the_viewer_at_a_capture_or_at_the_main_page(served: ReplayServer) -> None:
    _, _, page = fetch(served.url)
    text = page.decode()
    assert '<script src="/replay/ui.js"></script>' in text
    assert f'source="{served.url}p.wacz"' in text and 'replayBase="/replay/"' in text
    assert 'url="https://news.example/a?b=1&amp;c=2" ts="20260301120000"' in text
    _, _, page = fetch(served.page_url("https://news.example/x?<y>", "20260101000000"))
    assert 'url="https://news.example/x?&lt;y&gt;" ts="20260101000000"' in page.decode()
    status, headers, body = fetch(served.url + "replay/sw.js")
    assert (status, body, headers["Content-Type"]) == (200, b"// sw", "application/javascript")
    assert "<replay-app-main>" in fetch(served.url + "replay/")[2].decode()


def test_a_viewer_that_cannot_be_fetched_is_one_line_saying_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replaywebpage.shutil, "which", lambda name: None)
    with pytest.raises(BadInput, match=r"npm is not installed: run `npm pack replaywebpage@9.9.9`"):
        replaywebpage.viewer_dir(tmp_path, "9.9.9")
    fake_npm = tmp_path / "npm"
    fake_npm.write_text("#!/bin/sh\necho 'npm error network request failed' >&2\nexit 1\n")
    fake_npm.chmod(0o755)
    monkeypatch.setattr(replaywebpage.shutil, "which", lambda name: str(fake_npm))
    with pytest.raises(BadInput, match=r"cannot fetch ReplayWeb.page 9.9.9 from npm \(npm error"):
        replaywebpage.viewer_dir(tmp_path, "9.9.9")
    assert not (tmp_path / "9.9.9").exists()


def _mean_colour(png: bytes) -> tuple[float, ...]:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = list(image.get_flattened_data())
    return tuple(sum(p[i] for p in pixels) / len(pixels) for i in range(3))


def _near(screenshot: bytes, colour: tuple[float, ...], within: float = 30) -> int:
    """Pixels of ``screenshot`` within ``within`` of ``colour`` in every channel."""
    from PIL import Image

    image = Image.open(io.BytesIO(screenshot)).convert("RGB")
    return sum(
        all(abs(p[i] - colour[i]) <= within for i in range(3)) for p in image.get_flattened_data()
    )


def _replay(server: ReplayServer, url: str, ts: str, wanted: str) -> tuple[dict[str, bytes], bytes]:
    """Open ``url`` at ``ts`` in ReplayWeb.page; what its service worker answered for URLs
    containing ``wanted`` (the archived URL -> body), and a screenshot."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import Response, sync_playwright

    answered: dict[str, bytes] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})

            def keep(response: Response) -> None:
                if wanted in response.url and response.status == 200:
                    with contextlib.suppress(PlaywrightError):  # its frame gone before the body
                        answered[response.url] = response.body()

            page.context.on("response", keep)
            page.goto(server.page_url(url, ts))
            deadline = time.monotonic() + 60
            while not answered and time.monotonic() < deadline:
                page.wait_for_timeout(250)
            page.wait_for_timeout(1500)  # the images of the page drawn
            return answered, page.screenshot()
        finally:
            browser.close()


@pytest.mark.slow
@pytest.mark.browser
def test_replaywebpage_shows_the_removed_photo_from_an_exported_package(
    story: Story, tmp_path: Path
) -> None:
    viewer = cached(default_cache(), REPLAYWEBPAGE_VERSION)
    assert viewer is not None, "ReplayWeb.page not cached: run `make services` first"
    out = tmp_path / "story.wacz"
    args = ["export", "--store", str(story.store), "--crawl", FIRST, "--crawl", SECOND]
    assert CliRunner().invoke(main, [*args, "-o", str(out)]).exit_code == 0
    from storage.captures import CaptureIndex
    from storage.localstore import LocalStore

    index = CaptureIndex(LocalStore(str(story.store)))
    photo = story.removed_photo
    search = next(u for u, c in story.expected["changes"].items() if c is photo)
    first, second = (c.timestamp for c in index.captures(search))
    colour = _mean_colour(index.read(index.captures(photo["image"])[0]).raw_body)
    edited_url, edit = story.edited
    server = ReplayServer(out, viewer)
    server.start()
    try:
        before, shot_before = _replay(server, search, first, "im_/" + photo["image"])
        after, shot_after = _replay(server, search, second, "mp_/" + search)
        article, _ = _replay(server, edited_url, first, "mp_/" + edited_url)
    finally:
        server.stop()
    (tmp_path / "before.png").write_bytes(shot_before)
    assert [hashlib.sha256(body).hexdigest() for body in before.values()] == [photo["sha256"]]
    drawn = _near(shot_before, colour)
    assert drawn > 1000  # the photo is on screen: a few thousand pixels of its colour
    assert after and _near(shot_after, colour) < drawn / 5  # and gone from it a crawl later
    assert any(edit["removed"][0] in body.decode("utf-8", "replace") for body in article.values())
