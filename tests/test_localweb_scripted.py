"""The local cited web's script-built pages: shells, the JSON behind them, ranges, Chromium.

The tests marked ``browser`` start Chromium and must run in a network namespace with only
loopback: ``unshare -n sh -c 'ip link set lo up && exec .venv/bin/pytest -q -m browser'``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import struct
import tomllib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, sync_playwright

from crawler.localweb import LocalWeb
from crawler.outlets import OutletRegistry
from pipelines.extraction import extract_page

CHROMIUM = "/usr/lib/chromium/chromium"
SHIPPED = Path(__file__).resolve().parents[1] / "seeds" / "outlets.toml"

Fetched = tuple[int, dict[str, str], bytes]


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Fetched:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request(method, target, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def without_date(fetched: Fetched) -> Fetched:
    status, headers, body = fetched
    return status, {k: v for k, v in headers.items() if k != "Date"}, body


def path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def pages_of(truth: dict[str, Any], kind: str) -> str:
    [url] = [url for url, page in truth["browser"]["pages"].items() if page["kind"] == kind]
    return url


class VisibleText(HTMLParser):
    """The text a reader would see without script: no script, style or noscript."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.scripts = 0
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        self._hidden += tag in ("script", "style", "title", "noscript")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("script", "style", "title", "noscript")

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.text.append(data.strip())


# --- served as declared ---------------------------------------------------------------


def test_outlets_of_scripted_pages_are_flagged_browser(
    localweb: LocalWeb, localweb_registry: Path
) -> None:
    tables = tomllib.loads(localweb_registry.read_text(encoding="utf-8"))["outlets"]
    flagged = {key for key, table in tables.items() if table.get("browser") is True}
    assert flagged == {"localweb-baidu", "localweb-rumble", "localweb-twitter"}
    registry = OutletRegistry.load(SHIPPED, localweb_registry)
    truth = localweb.expected()
    for url, page in truth["browser"]["pages"].items():
        outlet = registry.outlet_for_url(url)
        assert outlet is not None and outlet.key == f"localweb-{page['outlet']}"
        assert outlet.browser, url
    telegraph = registry.outlet_for_url(truth["depth1"]["page"])
    assert telegraph is not None and not telegraph.browser


def test_the_seed_cites_every_scripted_page(localweb: LocalWeb) -> None:
    truth = localweb.expected()
    cited = {c["url"]: c for c in truth["cited"]}
    assert [page["kind"] for page in truth["browser"]["pages"].values()] == [
        "image-search",
        "post",
        "video",
    ]
    for url, page in truth["browser"]["pages"].items():
        assert (cited[url]["final_url"], cited[url]["status"]) == (url, 200)
        base = truth["outlets"][page["outlet"]]
        # a crawler without a browser finds the stylesheet and favicon, nothing more
        requisites = truth["pages"][url]["requisites"]
        assert len(requisites) == 2 and requisites[1] == base + "/favicon.ico"
        assert set(requisites) < set(page["resources"])
        assert url in truth["resources"]


def test_shells_hold_no_text_and_no_inserted_image(localweb: LocalWeb) -> None:
    truth = localweb.expected()
    browser = truth["browser"]
    html = {url: fetch(url)[2] for url in truth["pages"]}
    inserted = {image for page in browser["pages"].values() for image in page["images"]}
    for url, body in html.items():
        for image in inserted:
            assert path(image).encode() not in body, (url, image)
    for kind in ("image-search", "post"):
        url = pages_of(truth, kind)
        visible = VisibleText()
        visible.feed(html[url].decode())
        assert visible.scripts == 1 and len(" ".join(visible.text)) < 20, visible.text
        assert browser["pages"][url]["title"] not in ("", None)
    post = browser["pages"][pages_of(truth, "post")]
    assert (
        len(post["text"]) > 200 and post["text"][:40].encode() not in html[pages_of(truth, "post")]
    )
    # what only a browser loads is no page's requisite nor link, and not in resources
    for page in truth["pages"].values():
        assert not set(browser["resources"]) & {*page["requisites"], *page["links"]}
    assert not set(browser["resources"]) & set(truth["resources"])


def test_browser_resources_answer_with_the_bytes_the_truth_names(localweb: LocalWeb) -> None:
    browser = localweb.expected()["browser"]
    types = {}
    for url in browser["resources"]:
        status, headers, body = fetch(url)
        assert status == 200, url
        assert hashlib.sha256(body).hexdigest() == browser["sha256"][url]
        types[url] = headers["Content-Type"]
    for page in browser["pages"].values():
        for image in page["images"]:
            assert types[image] == "image/png"
            assert fetch(image)[2].startswith(b"\x89PNG\r\n\x1a\n")
    video = browser["pages"][pages_of(localweb.expected(), "video")]["video"]
    body = fetch(video)[2]
    assert types[video] == "video/webm"
    assert body.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in body[:64]  # EBML, DocType
    assert 5_000 < len(body) < 200_000
    for url in browser["resources"]:
        assert urlsplit(url).hostname in {urlsplit(b).hostname for b in localweb.outlets.values()}


def test_version_two_drops_the_photo_from_the_results_json_only(localweb: LocalWeb) -> None:
    truth = localweb.expected()
    browser = truth["browser"]
    [(search, change)] = browser["changes"].items()
    assert change["kind"] == "image-removed"
    [results] = [u for u in browser["pages"][search]["resources"] if "/search/acjson?" in u]
    everything = [*truth["resources"], *browser["resources"]]
    v1 = {url: fetch(url) for url in everything}
    localweb.set_version(2)
    v2 = {url: fetch(url) for url in everything}
    changed = {url for url in v1 if without_date(v1[url]) != without_date(v2[url])}
    assert changed == set(truth["changes"]) | {results}

    def thumbs(fetched: Fetched) -> list[str]:
        data = json.loads(fetched[2])["data"]
        assert data[-1] == {}  # as Baidu's acjson ends its list
        return [item["thumbURL"] for item in data[:-1]]

    assert thumbs(v1[results]) == browser["pages"][search]["images"]
    assert thumbs(v2[results]) == [i for i in thumbs(v1[results]) if i != change["image"]]
    assert change["image"] in thumbs(v1[results])
    # the photo itself stays on the image servers, byte for byte
    assert v2[change["image"]][0] == 200
    assert hashlib.sha256(v2[change["image"]][2]).hexdigest() == change["sha256"]
    assert v1[results][1]["Cache-Control"] == "no-cache"


def test_video_answers_byte_ranges(localweb: LocalWeb) -> None:
    truth = localweb.expected()
    url = truth["browser"]["pages"][pages_of(truth, "video")]["video"]
    status, headers, whole = fetch(url)
    size = len(whole)
    assert (status, headers["Accept-Ranges"], headers["Content-Length"]) == (
        200,
        "bytes",
        str(size),
    )
    etag = headers["ETag"]

    def ranged(value: str, **extra: str) -> Fetched:
        return fetch(url, headers={"Range": value, **extra})

    cases = {
        "bytes=0-": (0, size - 1),  # what Chromium asks for first
        "bytes=100-199": (100, 199),
        f"bytes=100-{size + 500}": (100, size - 1),
        "bytes=-50": (size - 50, size - 1),
        f"bytes=-{size + 9}": (0, size - 1),
    }
    for value, (first, last) in cases.items():
        status, headers, body = ranged(value)
        assert status == 206, value
        assert headers["Content-Range"] == f"bytes {first}-{last}/{size}"
        assert body == whole[first : last + 1] and headers["Content-Length"] == str(len(body))
        assert headers["Content-Type"] == "video/webm" and headers["ETag"] == etag
    for value in (f"bytes={size}-", "bytes=-0"):
        status, headers, body = ranged(value)
        assert (status, headers["Content-Range"], body) == (416, f"bytes */{size}", b"")
    for value in ("bytes=0-1,5-6", "bytes=9-3", "items=0-5", "bytes=-", "bytes=x-"):
        assert ranged(value)[0::2] == (200, whole), value
    assert ranged("bytes=0-9", **{"If-Range": etag})[0] == 206
    assert ranged("bytes=0-9", **{"If-Range": '"stale"'})[0::2] == (200, whole)
    status, headers, body = fetch(url, "HEAD", {"Range": "bytes=0-9"})
    assert (status, headers["Content-Length"], body) == (206, "10", b"")
    # the local web's other responses take no ranges: the header is ignored
    image = truth["browser"]["pages"][pages_of(truth, "post")]["images"][0]
    assert fetch(image, headers={"Range": "bytes=0-9"})[0] == 200
    assert [entry[3] for entry in localweb.request_log if entry[2] == path(url)][:2] == [200, 206]


# --- rendered in Chromium ----------------------------------------------------------------


def _loopback_only() -> bool:
    lines = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    return [line.split(":")[0].strip() for line in lines] == ["lo"]


def _descendants(pid: int) -> list[tuple[int, str]]:
    """Processes below ``pid``: (pid, command name)."""
    parents: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        parents.setdefault(parent, []).append((int(entry.name), name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not _loopback_only():
        pytest.fail(
            "Chromium tests run in a network namespace with only loopback: "
            "unshare -n sh -c 'ip link set lo up && exec .venv/bin/pytest -q -m browser'"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()
    assert [p for p in _descendants(os.getpid()) if "chrom" in p[1]] == []


def render(browser: Browser, web: LocalWeb, url: str) -> tuple[dict[str, Any], set[str]]:
    """Load ``url`` in a fresh context; what the page shows and the paths it requested."""
    host = urlsplit(url).hostname
    start = len(web.request_log)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url, wait_until="networkidle")
        shown = page.evaluate(
            """() => ({
                title: document.title,
                text: document.body.innerText,
                images: Array.from(document.images, i => [i.src, i.complete, i.naturalWidth]),
                html: document.documentElement.outerHTML,
            })"""
        )
    finally:
        context.close()
    requested = {path for address, _, path, _ in web.request_log[start:] if address == host}
    return shown, requested


def _expected_paths(page: dict[str, Any]) -> set[str]:
    return {path(url) for url in page["resources"]}


@pytest.mark.browser
def test_chromium_renders_the_results_and_version_two_drops_the_photo(
    chromium: Browser, localweb: LocalWeb
) -> None:
    truth = localweb.expected()
    url = pages_of(truth, "image-search")
    page = truth["browser"]["pages"][url]
    photo = truth["browser"]["changes"][url]["image"]
    shown, requested = render(chromium, localweb, url)
    assert [src for src, _, _ in shown["images"]] == page["images"]
    assert all(complete and width > 0 for _, complete, width in shown["images"])
    assert photo in page["images"]
    assert "董经纬 国家安全部副部长" in shown["text"]
    assert shown["title"] == page["title"]
    assert requested == _expected_paths(page)

    localweb.set_version(2)
    shown, requested = render(chromium, localweb, url)
    assert [src for src, _, _ in shown["images"]] == [i for i in page["images"] if i != photo]
    assert all(complete and width > 0 for _, complete, width in shown["images"])
    assert path(photo) not in shown["html"] and "董经纬 国家安全部副部长" not in shown["text"]
    assert requested == _expected_paths(page) - {path(photo)}


@pytest.mark.browser
def test_chromium_renders_the_post_text_that_trafilatura_extracts(
    chromium: Browser, localweb: LocalWeb
) -> None:
    truth = localweb.expected()
    url = pages_of(truth, "post")
    page = truth["browser"]["pages"][url]
    shown, requested = render(chromium, localweb, url)
    assert page["text"] in shown["text"]
    assert shown["title"] == page["title"]
    assert [src for src, _, _ in shown["images"]] == page["images"]
    assert all(complete and width > 0 for _, complete, width in shown["images"])
    assert requested == _expected_paths(page)
    extracted = extract_page(shown["html"].encode(), url, "text/html; charset=utf-8")
    assert extracted.status == "ok" and page["text"] in extracted.text
    shell = extract_page(fetch(url)[2], url, "text/html; charset=utf-8")
    assert page["text"] not in shell.text


@pytest.mark.browser
def test_chromium_plays_the_video_from_a_range_request(
    chromium: Browser, localweb: LocalWeb
) -> None:
    truth = localweb.expected()
    url = pages_of(truth, "video")
    page = truth["browser"]["pages"][url]
    start = len(localweb.request_log)
    context = chromium.new_context()
    try:
        tab = context.new_page()
        tab.goto(url, wait_until="networkidle")
        tab.wait_for_function("document.querySelector('video').readyState >= 2", timeout=10_000)
        width, duration = tab.evaluate(
            "() => [document.querySelector('video').videoWidth,"
            " document.querySelector('video').duration]"
        )
    finally:
        context.close()
    assert width == 160 and 1.5 < duration < 2.5
    log = localweb.request_log[start:]
    assert {p for _, _, p, _ in log} == _expected_paths(page)
    assert [status for _, _, p, status in log if p == path(page["video"])] == [206]


def test_png_sizes_of_the_results_match_the_json(localweb: LocalWeb) -> None:
    truth = localweb.expected()
    [results] = [u for u in truth["browser"]["resources"] if "/search/acjson?" in u]
    for item in json.loads(fetch(results)[2])["data"][:-1]:
        width, height = struct.unpack(">II", fetch(item["thumbURL"])[2][16:24])
        assert (width, height) == (item["width"], item["height"])
