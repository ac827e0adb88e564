"""A recrawl of pages that decayed: soft 404s told by the probe or the wording, edits kept
as changes, failures that may pass kept as unreachable; probes archived, one a level."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest

from history.soft404 import probe_level
from storage import open_store
from storage.captures import CaptureIndex
from storage.crawllog import read_crawl_log
from storage.layout import dataset_part_keys
from tests.fixtures.cli import run_cli
from tests.fixtures.softweb import EXPECTED, PAGES, SoftWeb, probe_requests, soft_web

pytestmark = pytest.mark.slow

SETTINGS = (
    "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "DOWNLOAD_TIMEOUT=2", "-s", "RETRY_TIMES=0",
)  # fmt: skip


@pytest.fixture(scope="module")
def decayed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("decay")
    store = tmp / "archive"
    with soft_web() as web:
        seeds = web.write_seeds(tmp / "cited.seeds")
        requests: dict[str, list[tuple[str, str]]] = {}
        for crawl_id, version in (("v1", 1), ("v2", 2)):
            web.set_version(version)
            web.requests.clear()
            done = run_cli(
                "crawl", str(seeds), "--store", str(store), "--crawl-id", crawl_id,
                "--allow-private", "--browser", "never", *SETTINGS,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr[-3000:]
            requests[crawl_id] = list(web.requests)
        diff = run_cli("diff", "--store", str(store), "--json")
        assert diff.returncode == 0, diff.stderr
        yield {
            "store": store,
            "web": web,
            "urls": {key: web.url(key) for key in PAGES},
            "requests": requests,
            "diff": json.loads(diff.stdout),
        }


def _rows(store: Path, crawl_id: str) -> list[dict[str, Any]]:
    opened = open_store(str(store))
    rows = []
    for key in dataset_part_keys(opened, crawl_id):
        rows += pq.ParquetFile(io.BytesIO(opened.get(key))).read().to_pylist()
    return rows


def test_each_page_is_what_it_became(decayed: dict[str, Any]) -> None:
    pages = {p["url"]: p for p in decayed["diff"]["pages"]}
    found = {
        key: (pages[url]["change"], pages[url]["why"], pages[url]["by"])
        for key, url in decayed["urls"].items()
    }
    assert found == EXPECTED


def test_scrubs_are_claimed_on_evidence_only(decayed: dict[str, Any]) -> None:
    urls = decayed["urls"]
    scrubbed = {s["url"]: s for s in decayed["diff"]["scrubbed"] if s["kind"] == "page-removed"}
    removed = {key for key, (change, _, _) in EXPECTED.items() if change == "removed"}
    assert set(scrubbed) == {urls[key] for key in removed}
    for key in removed:
        scrub = scrubbed[urls[key]]
        assert (scrub["why"], scrub["by"]) == EXPECTED[key][1:]
        assert scrub["archived_in"] == "v1"
    # the edits are text removed, nothing more; what could not be reached is no scrub
    others = {(s["url"], s["kind"], s["why"]) for s in decayed["diff"]["scrubbed"]}
    others -= {(url, "page-removed", "soft-404") for url in scrubbed}
    assert others == {
        (urls["news-edited"], "text-removed", "edited"),
        (urls["news-shortened"], "text-removed", "edited"),
    }


def test_the_verdict_is_on_the_page_row(decayed: dict[str, Any]) -> None:
    rows = _rows(decayed["store"], "v2")
    verdicts = {row["url"]: row["soft_404"] for row in rows}
    urls = decayed["urls"]
    assert verdicts[urls["x-post"]] == "probe"
    assert verdicts[urls["weibo-post"]] == "wording"
    assert verdicts[urls["news-shortened"]] is None
    assert verdicts[urls["news-edited"]] is None
    assert all(row["soft_404"] is None for row in _rows(decayed["store"], "v1"))


def test_probes_are_archived_logged_and_no_rows(decayed: dict[str, Any]) -> None:
    store = open_store(str(decayed["store"]))
    log = read_crawl_log(store, "v2")
    probes = [e for e in log if e["role"] == "probe"]
    assert probes and all(e["outcome"] == "captured" for e in probes)
    asked = [(e.get("redirected_from") or [e["url"]])[0] for e in probes]
    # one probe a host and path level, for the pages that changed a lot and answer 200
    levels = Counter(probe_level(url) for url in asked)
    assert max(levels.values()) == 1
    urls = decayed["urls"]
    candidates = [k for k, (c, _, _) in EXPECTED.items() if c == "removed"] + ["news-shortened"]
    assert set(levels) == {probe_level(urls[key]) for key in candidates}
    # each named by the page that asked for it
    assert {e["cited_by"] for e in probes} <= {urls[key] for key in candidates}
    # the probe is a random URL beside the page
    for url in asked:
        token = urlsplit(url).path.rstrip("/").rsplit("/", 1)[1].removesuffix(".shtml")
        assert len(token) == 24 and token.isalnum()
    # archived: in the crawl's index, with the status the host gave it
    captured = {c.url for c in CaptureIndex(store).in_crawl("v2")}
    assert {e["url"] for e in probes} <= captured and set(asked) <= captured
    # not rows of the text dataset
    assert not {e["url"] for e in probes} & {row["url"] for row in _rows(decayed["store"], "v2")}
    # and the hosts were asked once each
    web: SoftWeb = decayed["web"]
    assert len(probe_requests_of(decayed["requests"]["v2"], web)) == len(asked)


def probe_requests_of(requests: list[tuple[str, str]], web: SoftWeb) -> list[tuple[str, str]]:
    web.requests[:] = requests
    return probe_requests(web)


def test_a_first_crawl_sends_no_probe(decayed: dict[str, Any]) -> None:
    log = read_crawl_log(open_store(str(decayed["store"])), "v1")
    assert not [e for e in log if e["role"] == "probe"]
    assert probe_requests_of(decayed["requests"]["v1"], decayed["web"]) == []


def test_the_report_says_why(decayed: dict[str, Any], tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    done = run_cli("diff", "--store", str(decayed["store"]), "--html", str(report))
    assert done.returncode == 0, done.stderr
    html = report.read_text()
    assert "soft-404 (by probe)" in html and "soft-404 (by wording)" in html
    assert "unreachable: status 200 → 503" in html
    assert "2 page(s) could not be reached by the later crawl" in html
    assert "(soft-404 by wording; archived in v1)" in done.stdout


def test_an_unreadable_previous_crawl_only_stops_the_probes(tmp_path: Path) -> None:
    store = tmp_path / "archive"
    with soft_web() as web:
        seeds = web.write_seeds(tmp_path / "cited.seeds")
        for crawl_id, version in (("v1", 1), ("v2", 2)):
            web.set_version(version)
            done = run_cli(
                "crawl", str(seeds), "--store", str(store), "--crawl-id", crawl_id,
                "--allow-private", "--browser", "never", *SETTINGS,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr[-3000:]
            for part in store.glob("datasets/text/crawl_id=v1/*.parquet"):
                part.write_bytes(part.read_bytes()[:100])
    assert "soft 404s: no probes, the previous crawl is unreadable" in done.stderr
    log = read_crawl_log(open_store(str(store)), "v2")
    assert not [e for e in log if e["role"] == "probe"]
    assert len([e for e in log if e["role"] == "cited"]) == len(PAGES)
