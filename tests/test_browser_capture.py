"""Pages that script builds, captured through Chromium with every request through Scrapy.

Two crawls of a loopback site across a version switch, with ``--browser always``: what
the browser loaded is in the WARC files byte for byte, the rows come from the rendered
DOM, screenshots are archived, nothing reaches the trap host the SSRF policy refuses, a
page that hangs fails alone, and the diff names the photo the image results dropped.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from storage import open_store
from storage.captures import CaptureIndex
from storage.rendered import dom_uri, view_uri
from tests.fixtures.cli import FAST, run_cli
from tests.fixtures.scripted import OTHER, PHOTO, POST_TEXT, scripted_site

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def chromium_with_tag(tag: str) -> list[int]:
    """Processes whose environment carries ``tag``: the crawl's and its browser's."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if tag.encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Any:
    store = tmp_path_factory.mktemp("browser") / "archive"
    tag = f"SCRUBWATCH_TEST_TAG={uuid.uuid4()}"
    key, value = tag.split("=")
    os.environ[key] = value
    try:
        with scripted_site() as site:
            done = {}
            for version in (1, 2):
                site.version = version
                done[version] = run_cli(
                    "crawl", f"{site.base}/", "--store", str(store), "--crawl-id", f"v{version}",
                    *FAST, "-s", "BROWSER_MODE=always", "-s", "BROWSER_PAGE_TIMEOUT=8",
                    "-s", "SSRF_ALLOWED_NETWORKS=127.0.0.1/32",
                    timeout=300,
                )  # fmt: skip
                assert done[version].returncode == 0, done[version].stderr[-3000:]
            yield {"store": store, "site": site, "done": done, "tag": tag}
    finally:
        del os.environ[key]


def crawl_log(store: Path, crawl_id: str) -> list[dict[str, Any]]:
    path = store / "crawls" / crawl_id / "crawl-log.jsonl.gz"
    return [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]


def rows(store: Path, crawl_id: str) -> dict[str, dict[str, Any]]:
    folder = store / "datasets" / "text" / f"crawl_id={crawl_id}"
    table = pq.read_table(sorted(folder.glob("*.parquet")))
    return {row["url"]: row for row in table.to_pylist()}


def test_every_request_the_browser_made_is_archived(story: dict[str, Any]) -> None:
    site, store = story["site"], story["store"]
    index = CaptureIndex(open_store(str(store)))
    captured = {c.url: c for c in index.in_crawl("v1")}
    for path in ("/api/post.json", "/img/old.png", "/img/photo.png", "/s/results.json?q=name"):
        assert site.base + path in captured, path
    assert captured[site.base + "/img/old.png"].status == 302  # the hop, as sent
    photo = index.read(index.captures(site.base + "/img/photo.png", ["v1"])[0])
    assert photo.raw_body == PHOTO
    # the site saw nothing that Scrapy did not fetch: every path it served is archived
    served = {path for host, path in site.hits if host == "site"}
    archived = {url.removeprefix(site.base) for url in captured if url.startswith(site.base)}
    assert served <= archived | {"/hang"}, served - archived
    entries = [e for e in crawl_log(store, "v1") if e.get("browser")]
    assert {e["url"] for e in entries} >= {
        site.base + "/api/post.json",
        site.base + "/img/photo.png",
    }


def test_rows_of_rendered_pages_come_from_the_dom(story: dict[str, Any]) -> None:
    site, store = story["site"], story["store"]
    v1, v2 = rows(store, "v1"), rows(store, "v2")
    post = v1[site.base + "/post/1"]
    assert post["rendered"] is True
    assert POST_TEXT.split(".")[0] in post["text"]
    assert site.base + "/img/old.png" in post["images"]
    assert site.base + "/img/photo.png" in v1[site.base + "/search?q=name"]["images"]
    assert site.base + "/img/photo.png" not in v2[site.base + "/search?q=name"]["images"]
    assert site.base + "/img/other.png" in v2[site.base + "/search?q=name"]["images"]


def test_screenshots_and_doms_are_resource_records(story: dict[str, Any]) -> None:
    site, store = story["site"], story["store"]
    index = CaptureIndex(open_store(str(store)))
    for path in ("/", "/post/1", "/search?q=name"):
        (shot,) = index.captures(view_uri(site.base + path), ["v1"])
        assert shot.mime == "image/png"
        (dom,) = index.captures(dom_uri(site.base + path), ["v1"])
        assert dom.mime == "text/html"
    text = index.read(index.captures(dom_uri(site.base + "/post/1"), ["v1"])[0]).raw_body
    assert POST_TEXT.split(".")[0].encode() in text
    shot = index.read(index.captures(view_uri(site.base + "/post/1"), ["v1"])[0]).raw_body
    assert shot.startswith(b"\x89PNG\r\n\x1a\n") and len(shot) > 1000


def test_nothing_reaches_what_the_ssrf_policy_refuses(story: dict[str, Any]) -> None:
    site, store = story["site"], story["store"]
    assert site.trap_hits() == []
    failed = {e["url"]: e["kind"] for e in crawl_log(store, "v1") if e["outcome"] == "failed"}
    assert failed[site.trap + "/trap.json"] == "blocked"
    assert failed[site.trap + "/trap.png"] == "blocked"
    assert failed["http://169.254.169.254/latest/meta-data/"] == "blocked"
    assert failed[site.base + "/go-trap"] == "blocked"  # its redirect's hop was refused


def test_a_page_that_hangs_fails_alone(story: dict[str, Any]) -> None:
    site, store = story["site"], story["store"]
    log = crawl_log(store, "v1")
    hang = [e for e in log if e["url"] == site.base + "/hang"]
    assert {e["outcome"] for e in hang} == {"captured", "failed"}
    assert [e["kind"] for e in hang if e["outcome"] == "failed"] == ["browser-timeout"]
    assert rows(store, "v1")[site.base + "/hang"]["rendered"] is False  # its HTML as fetched


def test_warc_files_check_and_the_store_verifies(story: dict[str, Any]) -> None:
    store = story["store"]
    warcs = sorted(store.glob("crawls/*/warc/*.warc.gz"))
    assert warcs
    warcio = Path(sys.executable).with_name("warcio")
    check = subprocess.run([str(warcio), "check", *map(str, warcs)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    verify = run_cli("verify", "--store", str(store))
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_the_diff_names_the_photo_the_results_dropped(
    story: dict[str, Any], tmp_path: Path
) -> None:
    site, store = story["site"], story["store"]
    done = run_cli("diff", "--store", str(store), "--json")
    assert done.returncode == 0, done.stderr
    scrubbed = {(s["kind"], s["url"]): s for s in json.loads(done.stdout)["scrubbed"]}
    removed = scrubbed[("image-removed", site.base + "/img/photo.png")]
    assert removed["archived_in"] == "v1"
    out = tmp_path / "photo.png"
    got = run_cli("get", "--store", str(store), site.base + "/img/photo.png", "-o", str(out))
    assert got.returncode == 0, got.stderr
    assert out.read_bytes() == PHOTO
    assert ("image-removed", site.base + "/img/other.png") not in scrubbed
    assert OTHER != PHOTO


def test_no_browser_outlives_its_crawl(story: dict[str, Any]) -> None:
    assert chromium_with_tag(story["tag"]) == []
