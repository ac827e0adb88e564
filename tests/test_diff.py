"""Two crawls across the local web's version switch: the diff names exactly what changed."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crawler.localweb import LocalWeb
from history.diff import diff_crawls
from history.diffresult import Diff
from storage import open_store
from storage.captures import CaptureIndex
from tests.fixtures.cli import crawl_local, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("story")
    with LocalWeb() as web:
        registry = web.write_registry(tmp / "outlets.toml")
        store = tmp / "archive"
        truth = web.expected()
        for crawl_id, version in (("v1", 1), ("v2", 2)):
            web.set_version(version)
            done = crawl_local(web.seed_url, store, registry, "--crawl-id", crawl_id)
            assert done.returncode == 0, done.stderr[-3000:]
        yield {"store": store, "truth": truth, "web": web}


def test_diff_json_names_exactly_what_changed(story: dict[str, Any]) -> None:
    truth = story["truth"]
    result = run_cli("diff", "--store", str(story["store"]), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["from"], report["to"]) == ("v1", "v2")
    # the JSON is the typed result's, and reads back into it
    typed = diff_crawls(open_store(str(story["store"])), "v1", "v2")
    assert result.stdout == json.dumps(typed.to_dict(), ensure_ascii=False, indent=1) + "\n"
    assert Diff.from_dict(report) == typed
    pages = {p["url"]: p for p in report["pages"]}
    # the crawls render the script-built pages (--browser auto, the default): what
    # version 2 drops from them is seen too
    changes = {**truth["changes"], **truth["browser"]["changes"]}
    page_changes = {u: c for u, c in changes.items() if u in pages}
    for url, page in pages.items():
        expected = page_changes.get(url)
        if expected is None:
            assert page["change"] == "unchanged", page
        elif expected["kind"] == "edited":
            assert page["change"] == "changed"
            removed, added = page["text"]["removed"], page["text"]["added"]
            for paragraph in expected["removed"]:
                assert paragraph in removed
            for paragraph in expected["added"]:
                assert paragraph in added
            for old, new in expected["changed"]:
                assert any(piece in old for piece in removed if piece not in expected["removed"])
                assert any(piece in new for piece in added if piece not in expected["added"])
        elif expected["kind"] == "removed":
            assert page["change"] == "removed" and page["status"] == {"from": 200, "to": 404}
        elif expected["kind"] == "redirected":
            assert page["change"] == "removed"
            assert page["redirect"] == {"to": expected["location"]}
        elif expected["kind"] == "image-removed":
            assert page["change"] == "changed"
            assert page["images"]["removed"] == [expected["image"]]
            # the photo's caption left the results with it
            assert page["text"]["removed"]
    scrubbed = {(s["url"], s["kind"]) for s in report["scrubbed"]}
    expected_scrubs = {(c["image"], "image-removed") for c in changes.values() if "image" in c}
    assert len(expected_scrubs) == 2  # the plain results' photo, and the scripted one
    for url, change in changes.items():
        if url not in pages:
            continue
        kind = {
            "removed": "page-removed",
            "redirected": "page-redirected",
            "edited": "text-removed",
            "image-removed": "text-removed",
        }
        if change["kind"] in kind:
            expected_scrubs.add((url, kind[change["kind"]]))
    assert scrubbed == expected_scrubs
    assert all(s["archived_in"] == "v1" for s in report["scrubbed"])


def test_scrubbed_photo_comes_back_byte_identical(story: dict[str, Any], tmp_path: Path) -> None:
    image = next(c for c in story["truth"]["changes"].values() if c["kind"] == "image-removed")
    out = tmp_path / "photo.png"
    result = run_cli("get", "--store", str(story["store"]), image["image"], "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert hashlib.sha256(out.read_bytes()).hexdigest() == image["sha256"]
    timeline = run_cli("timeline", "--store", str(story["store"]), image["image"], "--json")
    entries = [json.loads(line) for line in timeline.stdout.splitlines()]
    assert [(e["crawl_id"], e["status"], e["changed"]) for e in entries] == [
        ("v1", 200, None),
        ("v2", 404, True),
    ]


def test_unchanged_pages_are_revisits(story: dict[str, Any]) -> None:
    store = open_store(str(story["store"]))
    diff = diff_crawls(store, "v1", "v2")
    second = {c.url: c for c in CaptureIndex(store).in_crawl("v2")}
    unchanged = [p.url for p in diff.pages if p.change == "unchanged" and p.status_to == 200]
    # the local web's version 2 leaves most cited pages as they were
    truth = story["truth"]["changes"]
    assert len(unchanged) >= 3 and not set(unchanged) & set(truth)
    assert [url for url in unchanged if not second[url].is_revisit] == []


def test_warc_check_passes_on_every_file(story: dict[str, Any]) -> None:
    for warc in story["store"].glob("crawls/*/warc/*.warc.gz"):
        check = subprocess.run(
            [Path(sys.executable).with_name("warcio"), "check", str(warc)],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout


def test_html_report_renders_in_chromium(story: dict[str, Any], tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    result = run_cli("diff", "--store", str(story["store"]), "--html", str(report))
    assert result.returncode == 0, result.stderr
    html = report.read_text()
    # self-contained: every image is inlined, nothing is fetched to show the report
    sources = re.findall(r"""\bsrc\s*=\s*["']?([^"'\s>]*)""", html)
    assert sources and all(s.startswith("data:image/") for s in sources), sources
    assert 'src="data:image/png;base64,' in html  # the removed photo, from the archive
    assert "<script" not in html and "<link" not in html and "url(" not in html
    shot = tmp_path / "report.png"
    chromium = subprocess.run(
        [
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,2000", f"--screenshot={shot}", report.as_uri(),
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shot.exists(), chromium.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as picture:
        assert picture.size == (1200, 2000)
        colours = picture.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50  # text and a photo, not a blank page
    reds = sum(n for n, (r, g, b) in colours if r > 200 and g < 80 and b < 80)
    assert reds > 100  # the red frame around the removed photo's thumbnail


def test_diff_and_its_report_read_each_index_once(
    story: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from collections import Counter

    from click.testing import CliRunner

    from crawler.cli import main
    from storage.stores import STORE_SCHEMES
    from tests.test_records import counting_store

    reads: Counter[str] = Counter()
    monkeypatch.setitem(STORE_SCHEMES, "", counting_store(reads))
    report = tmp_path / "report.html"
    args = ["diff", "--store", str(story["store"]), "--html", str(report), "--json"]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["scrubbed"]  # the thumbnails were read from the archive
    gets = {k: n for k, n in reads.items() if k.startswith("get ")}
    assert {k for k in gets if "/index." in k} == {
        "get crawls/v1/indexes/index.cdxj.gz",
        "get crawls/v2/indexes/index.cdxj.gz",
    }
    assert max(gets.values()) == 1, gets  # each index, manifest and log read once
