"""Search seeds end to end: three loopback engines crawled across a version switch.

Version 2 of the image search (rendered: its results come by script) drops two photos,
lowers its count and shows the filtered-results notice; the HTML endpoint drops two
results, one leading to an article the crawl archives; the guarded engine answers a
CAPTCHA. The dataset holds every result page, the diff names exactly what was removed,
the CAPTCHA makes its search ``unreachable`` (no scrub), and the report shows it all.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from history.diff import diff_crawls
from history.diffresult import Diff
from pipelines.searchrows import COLUMNS
from storage import open_store
from tests.fixtures.cli import FAST, run_cli
from tests.fixtures.engines import (
    FILTERED,
    HTML_DROPPED,
    PHOTOS,
    PHOTOS_DROPPED,
    QUERY,
    loopback_engines,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]
INTERVAL = 2.0


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("searches")
    store = tmp / "archive"
    with loopback_engines() as engines:
        registry = engines.registry(tmp / "engines.toml", html_interval=INTERVAL)
        seeds = tmp / "watch.seeds"
        seeds.write_text(
            f"{engines.url('news', '/dong-jingwei')}  # the article one result leads to\n"
            f"search images {QUERY}\n"
            f"search html {QUERY}\n",
            encoding="utf-8",
        )
        done = {}
        for version in (1, 2):
            engines.version = version
            done[version] = run_cli(
                "crawl", str(seeds), "--search", f"guarded:{QUERY}", "--search", f"blocked:{QUERY}",
                "--search-pages", "2",
                "--store", str(store), "--crawl-id", f"v{version}", "--outlets", str(registry),
                "--allow-private", *FAST,
                timeout=300,
            )  # fmt: skip
            assert done[version].returncode == 0, done[version].stderr[-3000:]
        yield {"store": store, "engines": engines, "tmp": tmp, "done": done}


def rows(store: Path, crawl_id: str) -> list[dict[str, Any]]:
    folder = store / "datasets" / "search_results" / f"crawl_id={crawl_id}"
    table = pq.read_table(sorted(folder.glob("*.parquet")))
    return table.to_pylist()


def of(found: list[dict[str, Any]], engine: str, page: int = 1) -> list[dict[str, Any]]:
    return [r for r in found if r["engine"] == engine and r["page"] == page]


def test_every_result_page_is_in_the_dataset(story: dict[str, Any]) -> None:
    engines, store = story["engines"], story["store"]
    v1 = rows(store, "v1")
    assert set(COLUMNS) - {"crawl_id"} == set(pq.read_schema(next(
        (store / "datasets" / "search_results" / "crawl_id=v1").glob("*.parquet")
    )).names)  # fmt: skip
    images = of(v1, "images")
    assert [r["url"] for r in images] == [engines.url("images", p) for p in PHOTOS]
    assert [r["rank"] for r in images] == [1, 2, 3, 4, 5]
    assert {(r["outcome"], r["parser"], r["rendered"], r["query"]) for r in images} == {
        ("results", "rules", True, QUERY)
    }
    assert {(r["result_count"], r["count_text"]) for r in images} == {(5, "找到相关图片约5张")}
    html = of(v1, "html")
    assert [r["target"] for r in html] == [
        engines.url("news", p)
        for p in ("/dong-jingwei", "/ministry", "/elsewhere/a", "/elsewhere/b")
    ]
    assert all(r["url"].startswith(engines.url("html", "/l/?uddg=")) for r in html)
    assert {r["rendered"] for r in html} == {False}
    [empty] = of(v1, "html", page=2)
    assert (empty["rank"], empty["outcome"], empty["url"]) == (None, "no-results", None)
    assert [r["rank"] for r in of(v1, "guarded")] == [1, 2]
    [blocked] = of(v1, "blocked")
    assert (blocked["outcome"], blocked["status"], blocked["warc_filename"]) == (
        "failed",
        None,
        None,
    )
    assert blocked["reason"].startswith("robots: ")
    assert of(v1, "images", page=2) == [] and of(v1, "guarded", page=2) == []


def test_version_two_as_the_engines_show_it(story: dict[str, Any]) -> None:
    engines, store = story["engines"], story["store"]
    v2 = rows(store, "v2")
    images = of(v2, "images")
    remaining = [p for p in PHOTOS if p not in PHOTOS_DROPPED]
    assert [r["url"] for r in images] == [engines.url("images", p) for p in remaining]
    assert {r["result_count"] for r in images} == {3}
    assert {tuple(r["notices"]) for r in images} == {("filtered",)}
    assert {tuple(r["notice_texts"]) for r in images} == {(FILTERED.rstrip("。"),)}
    [captcha] = of(v2, "guarded")
    assert (captcha["outcome"], captcha["rank"], captcha["notices"]) == (
        "captcha",
        None,
        ["captcha"],
    )


def test_searches_are_paced_per_engine(story: dict[str, Any]) -> None:
    pages = [t for name, path, t in story["engines"].hits if name == "html" and "/html/" in path]
    assert len(pages) == 4  # two pages, two crawls
    assert pages[1] - pages[0] >= INTERVAL * 0.95 and pages[3] - pages[2] >= INTERVAL * 0.95


def test_the_crawl_log_names_each_search_page(story: dict[str, Any]) -> None:
    path = story["store"] / "crawls" / "v1" / "crawl-log.jsonl.gz"
    entries = [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]
    searched = [e for e in entries if e["role"] == "search"]
    assert sorted((e["search"]["engine"], e["search"]["page"]) for e in searched) == [
        ("blocked", 1),
        ("guarded", 1),
        ("html", 1),
        ("html", 2),
        ("images", 1),
    ]
    assert all(e["search"]["query"] == QUERY for e in searched)
    assert not any("search" in e for e in entries if e["role"] != "search")


def test_the_diff_names_exactly_what_the_searches_lost(story: dict[str, Any]) -> None:
    engines, store = story["engines"], story["store"]
    done = run_cli("diff", "--store", str(store), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert Diff.from_dict(report) == diff_crawls(open_store(str(store)), "v1", "v2")
    searches = {s["engine"]: s for s in report["searches"]}
    images, html, guarded = searches["images"], searches["html"], searches["guarded"]
    assert images["change"] == "changed" and images["why"] is None
    assert images["results"]["removed"] == [engines.url("images", p) for p in PHOTOS_DROPPED]
    assert images["results"]["added"] == [] and images["results"]["moved"] == []
    assert (images["from"]["count"], images["to"]["count"]) == (5, 3)
    assert (images["from"]["notices"], images["to"]["notices"]) == ([], ["filtered"])
    assert html["change"] == "changed"
    assert html["results"]["removed"] == [engines.url("news", p) for p in HTML_DROPPED]
    assert html["results"]["added"] == []
    assert guarded["change"] == "unreachable"
    assert "crawl v2: page 1 captcha" in guarded["why"]
    assert searches["blocked"]["change"] == "unreachable"
    assert searches["blocked"]["why"].startswith("crawl v1: page 1 not captured (robots: ")
    images_page = engines.url("images", "/search/index?tn=baiduimage&ipn=r&word=")
    search_scrubs = {
        (s["url"], s["kind"], s["archived_in"])
        for s in report["scrubbed"]
        if s["kind"].startswith("search-")
    }
    assert search_scrubs == {
        (engines.url("images", PHOTOS_DROPPED[0]), "search-results-removed", "v1"),
        (engines.url("images", PHOTOS_DROPPED[1]), "search-results-removed", "v1"),
        (engines.url("news", "/dong-jingwei"), "search-results-removed", "v1"),  # the seed's
        (engines.url("news", "/elsewhere/a"), "search-results-removed", None),  # never archived
        (images["to"]["pages"][0]["url"], "search-filtered", "v2"),
    }
    assert images["to"]["pages"][0]["url"].startswith(images_page)
    # result pages are searches, not cited pages: not compared as pages, never page-removed
    assert not [p for p in report["pages"] if p["url"].startswith(engines.url("guarded", "/"))]
    assert {s["kind"] for s in report["scrubbed"]} <= {"search-results-removed", "search-filtered"}


def test_diff_text_and_ranks(story: dict[str, Any]) -> None:
    done = run_cli("diff", "--store", str(story["store"]), "--ranks")
    assert done.returncode == 0, done.stderr
    assert f"search images '{QUERY}': changed, count 5 -> 3, 2 removed, 0 added" in done.stdout
    assert f"search html '{QUERY}': changed, 2 removed, 0 added, 2 moved\n" in done.stdout
    assert "notice filtered" in done.stdout
    assert f"search guarded '{QUERY}': unreachable: crawl v2: page 1 captcha" in done.stdout
    # photo 4 and 5 moved up two places in the image results
    typed = diff_crawls(open_store(str(story["store"])), "v1", "v2", ranks=True)
    images = next(s for s in typed.searches if s.engine == "images")
    assert [(m.rank_from, m.rank_to) for m in images.moved] == [(4, 2), (5, 3)]


def test_the_report_shows_both_lists_and_screenshots(story: dict[str, Any]) -> None:
    engines, tmp = story["engines"], story["tmp"]
    page = tmp / "report.html"
    done = run_cli("diff", "--store", str(story["store"]), "--html", str(page))
    assert done.returncode == 0, done.stderr
    html = page.read_text(encoding="utf-8")
    assert f"Search images: “{QUERY}”" in html and f"Search guarded: “{QUERY}”" in html
    for photo in PHOTOS_DROPPED:
        assert f'class="removed"><a href="{engines.url("images", photo)}"' in html
    assert html.count('class="removed"') == 4
    get = "archived in crawl v1: <code>scrubwatch get " + engines.url("news", "/dong-jingwei")
    assert get in html
    assert "the page it led to is not in the store" in html
    assert FILTERED.rstrip("。") in html
    assert "unreachable: crawl v2: page 1 captcha" in html
    sections = {s.split("</h2>")[0]: s for s in html.split("<section")[1:]}
    images = next(s for title, s in sections.items() if "Search images" in title)
    assert images.count('alt="screenshot in') == 2  # the result page's, from both crawls
    assert images.count('alt="thumbnail in v1"') == 2  # the removed photos, from the archive
    assert images.count("data:image/png;base64,") == 4
    guarded = next(s for title, s in sections.items() if "Search guarded" in title)
    assert "data:image/png;base64," not in guarded  # not rendered
