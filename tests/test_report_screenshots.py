"""What a browser rendered, read back: screenshots and DOMs by ``urn:view:``/``urn:dom:``,
``get`` of a screenshot, and the report's before/after screenshots side by side.

The two crawls are written without a browser (:mod:`tests.fixtures.rendered`): an image
search page rendered in both, whose script-inserted photo is gone from the second; a
post rendered only in the first; a story rendered in both, the second time after a
redirect (its screenshot is under the final URL); a plain page never rendered.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import main
from history import report
from history.diff import diff_crawls
from history.diffresult import Diff
from history.report import render_report
from storage.captures import CaptureIndex
from storage.localstore import LocalStore
from storage.records import RecordReader
from storage.rendered import dom_uri, view_uri
from tests.fixtures.rendered import Page, Requisite, png, write_rendered_crawl

SEARCH = "https://images.example/search?q=dong"
POST = "https://social.example/post/1"
STORY = "https://news.example/story"
MOVED = "https://news.example/story-2"
PLAIN = "https://news.example/plain"
PHOTO = "https://img.example/photo-1.png"
OTHER = "https://img.example/photo-2.png"
CAPTION = "董经纬 国家安全部副部长"
SHELL = "<html><body><div id=results></div><script src=/app.js></script></body></html>"
SHOTS = {
    ("v1", SEARCH): png(64, 40, (20, 120, 200)),
    ("v2", SEARCH): png(64, 30, (20, 200, 120)),
    ("v1", POST): png(32, 32, (240, 200, 0)),
    ("v1", STORY): png(48, 24, (90, 90, 90)),
    ("v2", MOVED): png(48, 24, (0, 0, 90)),
}
STORY_TEXT = "The minister spoke. He said much.\n\nThe second paragraph is long enough."


def search_page(crawl_id: str, photos: list[str], text: str) -> Page:
    imgs = "".join(f'<img src="{u}">' for u in photos)
    return Page(
        SEARCH,
        SHELL,
        text,
        images=photos,
        dom=f"<html><body><div id=results>{imgs}<p>{text}</p></div></body></html>",
        screenshot=SHOTS[(crawl_id, SEARCH)],
    )


def crawls() -> dict[str, tuple[list[Page], list[Requisite]]]:
    photo = png(8, 8, (255, 0, 0))
    other = png(8, 8, (0, 255, 0))
    first = [
        search_page("v1", [PHOTO, OTHER], f"Results for dong.\n\n{CAPTION}\n\nAnother result."),
        Page(POST, SHELL, "The post as posted.", dom="<p>The post as posted.</p>",
             screenshot=SHOTS[("v1", POST)]),
        Page(STORY, "<p>story</p>", STORY_TEXT, dom="<p>story</p>", screenshot=SHOTS[("v1", STORY)]),
        Page(PLAIN, "<p>plain</p>", "A plain page.\n\nIts first version."),
    ]  # fmt: skip
    second = [
        search_page("v2", [OTHER], "Results for dong.\n\nAnother result."),
        Page(POST, SHELL, "The post as posted, and edited."),
        Page(MOVED, "<p>story</p>", STORY_TEXT, redirected_from=STORY, dom="<p>story</p>",
             screenshot=SHOTS[("v2", MOVED)]),
        Page(PLAIN, "<p>plain</p>", "A plain page.\n\nIts second version."),
    ]  # fmt: skip
    return {
        "v1": (first, [Requisite(PHOTO, 200, photo, SEARCH), Requisite(OTHER, 200, other, SEARCH)]),
        "v2": (second, [Requisite(PHOTO, 404, b"gone", SEARCH), Requisite(OTHER, 200, other, SEARCH)]),
    }  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rendered") / "archive"
    for day, (crawl_id, (pages, requisites)) in enumerate(crawls().items()):
        date = datetime(2026, 11, 1 + 7 * day, 8, 30, tzinfo=UTC)
        write_rendered_crawl(root, crawl_id, pages, requisites, date=date)
    return root


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def section(html: str, url: str) -> str:
    found = re.search(rf'<section id="{report._anchor(url)}">(.*?)</section>', html)
    assert found, f"no section for {url}"
    return found.group(1)


def shots_block(html: str, url: str) -> str:
    found = re.search(r'<div class="shots">(.*?</figure>)</div>$', section(html, url))
    assert found, f"no screenshots for {url}"
    return found.group(1)


def figures(block: str) -> list[str]:
    return re.findall(r"<figure>(.*?)</figure>", block)


def the_report(root: Path) -> str:
    opened = LocalStore(str(root))
    index = CaptureIndex(opened)
    return render_report(opened, diff_crawls(opened, "v1", "v2", index=index), index)


def test_screenshot_and_dom_are_captures_of_their_urns(store: Path) -> None:
    index = CaptureIndex(LocalStore(str(store)))
    shots = index.captures(view_uri(SEARCH))
    assert [(c.crawl_id, c.url, c.status, c.mime) for c in shots] == [
        ("v1", view_uri(SEARCH), None, "image/png"),
        ("v2", view_uri(SEARCH), None, "image/png"),
    ]
    for capture in shots:
        archived = index.read(capture)
        assert archived.status is None and archived.headers.headers == []
        assert archived.raw_body == SHOTS[(capture.crawl_id, SEARCH)]
    (dom,) = index.captures(dom_uri(SEARCH), ["v2"])
    assert dom.mime == "text/html" and dom.status is None
    assert f'<img src="{OTHER}">' in index.read(dom).raw_body.decode("utf-8")
    # the page's own capture is still the one response, with its status
    assert [(c.crawl_id, c.status) for c in index.captures(SEARCH)] == [("v1", 200), ("v2", 200)]


def test_reader_yields_resource_records_with_their_references(store: Path) -> None:
    reader = RecordReader(LocalStore(str(store)))
    (warc,) = (store / "crawls" / "v1" / "warc").glob("*.warc.gz")
    records = list(reader.records("v1", warc.name))
    responses = {r.url: r for r in records if r.rec_type == "response"}
    resources = {r.url: r for r in records if r.is_resource}
    assert set(resources) == {view_uri(u) for u in (SEARCH, POST, STORY)} | {
        dom_uri(u) for u in (SEARCH, POST, STORY)
    }
    shot = resources[view_uri(SEARCH)]
    assert (shot.status, shot.content_type, shot.payload) == (
        0,
        "image/png",
        SHOTS[("v1", SEARCH)],
    )
    assert shot.warc_header("WARC-Concurrent-To") == responses[SEARCH].record_id
    assert shot.refers_to == ""  # WARC 1.1: not on a resource record
    assert resources[dom_uri(SEARCH)].content_type == "text/html; charset=utf-8"
    # one record, read at its reference as the index gives it
    read = reader.read("v1", shot.ref)
    assert (read.record_id, read.content_type, read.payload) == (
        shot.record_id,
        "image/png",
        shot.payload,
    )


def test_warc_check_passes_on_resource_records(store: Path) -> None:
    for warc in store.glob("crawls/*/warc/*.warc.gz"):
        check = subprocess.run(
            [Path(sys.executable).with_name("warcio"), "check", "-v", str(warc)],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout
        assert "resource" in check.stdout


def test_get_writes_the_screenshot_png(store: Path, tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "shot.png"
    args = ["get", view_uri(SEARCH), "--store", str(store), "--crawl", "v1", "-o", str(out)]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert out.read_bytes() == SHOTS[("v1", SEARCH)]
    assert f"of {view_uri(SEARCH)} from crawl v1 (image/png) written to" in done.stderr
    with Image.open(out) as picture:
        assert picture.size == (64, 40)
        assert picture.convert("RGB").getpixel((5, 5)) == (20, 120, 200)
    # without --crawl: the latest screenshot
    latest = CliRunner().invoke(main, ["get", view_uri(SEARCH), "--store", str(store)])
    assert latest.exit_code == 0 and latest.stdout_bytes == SHOTS[("v2", SEARCH)]
    dom = CliRunner().invoke(main, ["get", dom_uri(POST), "--store", str(store)])
    assert dom.exit_code == 0 and dom.stdout == "<p>The post as posted.</p>"
    missing = CliRunner().invoke(
        main, ["get", view_uri(POST), "--store", str(store), "--crawl", "v2"]
    )
    assert (
        missing.exit_code == 2 and f"no capture of {view_uri(POST)} in crawl v2" in missing.output
    )


def test_report_shows_before_and_after_screenshots_side_by_side(store: Path) -> None:
    html = the_report(store)
    before, after = figures(shots_block(html, SEARCH))
    assert before.startswith("<b>v1</b>") and after.startswith("<b>v2</b>")
    assert f'<img src="{data_uri(SHOTS[("v1", SEARCH)])}" alt="screenshot in v1">' in before
    assert f'<img src="{data_uri(SHOTS[("v2", SEARCH)])}" alt="screenshot in v2">' in after
    # the removed photo is still shown as before, with its red frame
    assert data_uri(png(8, 8, (255, 0, 0))) in section(html, SEARCH)
    # a redirected page: its later screenshot is that of the URL it redirected to
    story_before, story_after = figures(shots_block(html, STORY))
    assert data_uri(SHOTS[("v1", STORY)]) in story_before
    assert data_uri(SHOTS[("v2", MOVED)]) in story_after
    # self-contained: every picture inlined, nothing fetched
    sources = re.findall(r"""\bsrc\s*=\s*["']?([^"'\s>]*)""", html)
    assert sources and all(s.startswith("data:image/") for s in sources)
    assert "<script" not in html and "<link" not in html and "url(" not in html


def test_page_rendered_in_one_crawl_shows_its_one_screenshot(store: Path) -> None:
    html = the_report(store)
    before, after = figures(shots_block(html, POST))
    assert data_uri(SHOTS[("v1", POST)]) in before
    assert after == "<b>v2</b><p>no screenshot in this crawl</p>"
    assert 'class="shots"' not in section(html, PLAIN)  # never rendered: as before


def test_screenshots_over_the_caps_are_named_not_inlined(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "MAX_THUMBNAIL_BYTES", len(SHOTS[("v1", SEARCH)]) - 1)
    html = the_report(store)
    before, after = figures(shots_block(html, SEARCH))
    size = len(SHOTS[("v1", SEARCH)])
    assert "<img" not in before
    assert f"screenshot of {size:,} bytes not inlined: " in before
    assert f"<code>scrubwatch get {view_uri(SEARCH)} --crawl v1</code>" in before
    assert data_uri(SHOTS[("v2", SEARCH)]) in after  # smaller: under the cap

    monkeypatch.undo()
    first = data_uri(SHOTS[("v1", SEARCH)])
    monkeypatch.setattr(report, "MAX_SCREENSHOTS_BYTES", len(first))
    html = the_report(store)
    assert html.count('<img src="data:image/png;base64,') == 2  # one screenshot, one photo
    before, after = figures(shots_block(html, SEARCH))
    assert first in before and "not inlined" in after
    assert "<img" not in shots_block(html, STORY)


def test_diff_json_is_unchanged_in_shape(store: Path) -> None:
    done = CliRunner().invoke(main, ["diff", "--store", str(store), "--json"])
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert list(result) == ["from", "to", "pages", "scrubbed", "searches"]
    assert result["searches"] == []  # the crawls made none
    page_keys = ["url", "change", "status", "redirect", "text", "images", "links", "why", "by"]
    assert all(list(p) == page_keys for p in result["pages"])
    scrub_keys = ["url", "kind", "page", "archived_in", "why", "by"]
    assert all(list(s) == scrub_keys for s in result["scrubbed"])
    opened = LocalStore(str(store))
    assert Diff.from_dict(result) == diff_crawls(opened, "v1", "v2")
    pages = {p["url"]: p for p in result["pages"]}
    assert set(pages) == {SEARCH, POST, STORY, PLAIN}  # no urn: is a page
    assert pages[SEARCH]["images"] == {"removed": [PHOTO], "added": []}
    assert CAPTION in pages[SEARCH]["text"]["removed"]
    assert pages[STORY]["redirect"] == {"to": MOVED}
    photo = {"url": PHOTO, "kind": "image-removed", "page": SEARCH, "archived_in": "v1"}
    assert {**photo, "why": "off-page", "by": None} in result["scrubbed"]


def test_report_reads_each_index_once(
    store: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from collections import Counter

    from storage.stores import STORE_SCHEMES
    from tests.test_records import counting_store

    reads: Counter[str] = Counter()
    monkeypatch.setitem(STORE_SCHEMES, "", counting_store(reads))
    html = tmp_path / "report.html"
    done = CliRunner().invoke(main, ["diff", "--store", str(store), "--html", str(html)])
    assert done.exit_code == 0, done.output
    assert html.read_text().count('alt="screenshot in ') == 5
    gets = {k: n for k, n in reads.items() if k.startswith("get ")}
    assert {k for k in gets if "/index." in k} == {
        "get crawls/v1/indexes/index.cdxj.gz",
        "get crawls/v2/indexes/index.cdxj.gz",
    }
    assert max(gets.values()) == 1, gets
