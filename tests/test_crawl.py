"""End-to-end crawls of the local cited web into a local store and into moto's S3 server."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.localweb import LocalWeb
from storage import open_store, verify_store
from storage.crawllog import parse_crawl_log
from storage.layout import staged_dirs
from tests.fixtures.cli import crawl_local
from tests.fixtures.warcs import index_lines

pytestmark = pytest.mark.slow


def by_url(store_root: Path, rec_type: str = "response") -> dict[str, Any]:
    found = {}
    for path in sorted(store_root.glob("crawls/*/warc/*.warc.gz")):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh, no_record_parse=False):
                if record.rec_type == rec_type:
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    found[uri] = (record.rec_headers, record.http_headers, record.raw_stream.read())
    return found


def crawl_ids(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "crawls").iterdir())


@pytest.fixture
def crawled(localweb: LocalWeb, localweb_registry: Path, tmp_path: Path) -> dict[str, Any]:
    store = tmp_path / "archive"
    done = crawl_local(localweb.seed_url, store, localweb_registry, "--crawl-id", "c1")
    assert done.returncode == 0, done.stderr[-3000:]
    return {"store": store, "web": localweb, "out": done.stdout, "expected": localweb.expected()}


def test_every_cited_page_and_requisite_is_archived(crawled: dict[str, Any]) -> None:
    store, expected = crawled["store"], crawled["expected"]
    responses = by_url(store)
    revisits = by_url(store, "revisit")
    captured = set(responses) | set(revisits)
    assert expected["seed_url"] in captured
    for cited in expected["cited"]:
        if cited["robots_disallowed"]:
            assert cited["url"] not in captured
        else:
            assert cited["final_url"] in captured, cited
    telegraph = next(u for u in expected["pages"] if "/news/dong-jingwei-defection" in u)
    for requisite in expected["pages"][telegraph]["requisites"]:
        assert requisite in captured, requisite
    # the 301 itself is archived too, with its Location
    for url, hops in expected["redirects"].items():
        headers = responses[url][1]
        assert headers.get_statuscode() == str(hops[0][0])


def test_robots_disallowed_page_is_never_requested(crawled: dict[str, Any]) -> None:
    web: LocalWeb = crawled["web"]
    paths = {path for _, _, path, _ in web.request_log}
    for url in crawled["expected"]["robots_disallowed"]:
        assert url.split(":", 2)[2].split("/", 1)[1] not in paths
        assert not any(p.startswith("/private/") for p in paths)
    log = parse_crawl_log((crawled["store"] / "crawls/c1/crawl-log.jsonl.gz").read_bytes())
    failures = [entry for entry in log if entry["outcome"] == "failed"]
    assert {(f["url"], f["kind"]) for f in failures} >= {
        (u, "robots") for u in crawled["expected"]["robots_disallowed"]
    }


def test_nothing_fetched_twice(crawled: dict[str, Any]) -> None:
    web: LocalWeb = crawled["web"]
    counts = Counter((addr, method, path) for addr, method, path, _ in web.request_log)
    assert [k for k, n in counts.items() if n > 1] == []


def test_records_keep_raw_bytes_and_real_headers(crawled: dict[str, Any]) -> None:
    store, expected = crawled["store"], crawled["expected"]
    responses = by_url(store)
    pages = expected["pages"]
    gzipped = next(u for u, p in pages.items() if p["transfer"] == "gzip" and u in responses)
    rec_headers, http, body = responses[gzipped]
    assert http.get_header("Content-Encoding") == "gzip"
    assert gzip.decompress(body).lower().startswith((b"<!doctype", b"<html"))
    chunked = next(u for u, p in pages.items() if p["transfer"] == "chunked" and u in responses)
    rec_headers, http, body = responses[chunked]
    assert http.get_header("Transfer-Encoding") is None
    assert http.protocol == "HTTP/1.1" and http.get_statuscode() == "200"
    assert rec_headers.get_header("WARC-IP-Address", "").startswith("127.0.0.")
    for url, headers in expected["repeated_headers"].items():
        if url not in responses:
            continue
        for name, values in headers.items():
            got = [v for k, v in responses[url][1].headers if k.lower() == name.lower()]
            assert got == values
    big5 = next(u for u, p in pages.items() if p["charset"] == "big5" and u in responses)
    title = pages[big5]["title"]
    assert title.encode("big5") in responses[big5][2]


def test_warc_files_pass_warcio_check_and_cdxj_matches_indexer(crawled: dict[str, Any]) -> None:
    store = crawled["store"]
    warcs = sorted(store.glob("crawls/c1/warc/*.warc.gz"))
    assert warcs and not list(store.glob("**/*.open"))
    for warc in warcs:
        check = subprocess.run(
            [sys.executable, "-m", "warcio.cli", "check", str(warc)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout
        with warc.open("rb") as fh:
            first = next(iter(ArchiveIterator(fh)))
        assert first.rec_type == "warcinfo"
        info = first.content_stream().read().decode()
        assert "robots: obey" in info and "isPartOf: c1" in info
    index = index_lines(store / "crawls/c1/indexes")
    indexer = subprocess.run(
        [sys.executable, "-m", "cdxj_indexer.main", *map(str, warcs)],
        capture_output=True,
        text=True,
        cwd=warcs[0].parent,
    )
    theirs = sorted(line for line in indexer.stdout.splitlines() if line.strip())
    # made as the records were written (storage.cdxjlines), and byte for byte the same
    assert index == theirs


def test_manifest_lists_every_file_and_verifies(crawled: dict[str, Any]) -> None:
    store = crawled["store"]
    manifest = json.loads((store / "crawls/c1/manifest.json").read_text())
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {
        p.relative_to(store).as_posix()
        for folder in staged_dirs(store, "c1")  # the crawl's folder and its dataset's
        for p in folder.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert listed == on_disk
    assert {k.split("/", 2)[1] for k in listed if k.startswith("datasets/")} == {
        "text",
        "text-jsonl",
    }
    assert manifest["extraction"] == {"enabled": True, "fast": False}
    assert verify_store(open_store(str(store))) == []
    assert not any(folder.exists() for folder in staged_dirs(store / ".staging", "c1"))


def test_summary_and_existing_crawl_id_refused(
    crawled: dict[str, Any], localweb_registry: Path
) -> None:
    assert "crawl c1 into" in crawled["out"]
    assert "robots: 1" in crawled["out"]
    before = sorted(p.stat().st_mtime_ns for p in crawled["store"].rglob("*") if p.is_file())
    again = crawl_local(
        crawled["web"].seed_url, crawled["store"], localweb_registry, "--crawl-id", "c1"
    )
    assert again.returncode == 2
    assert "crawl c1 already exists" in again.stderr and "Traceback" not in again.stderr
    after = sorted(p.stat().st_mtime_ns for p in crawled["store"].rglob("*") if p.is_file())
    assert before == after


def test_depth_one_follows_same_site_links_only(
    localweb: LocalWeb, localweb_registry: Path, tmp_path: Path
) -> None:
    truth = localweb.expected()["depth1"]
    seeds = tmp_path / "one.seeds"
    seeds.write_text(truth["page"] + "\n")
    done = crawl_local(str(seeds), tmp_path / "a", localweb_registry, "--depth", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    captured = set(by_url(tmp_path / "a")) | set(by_url(tmp_path / "a", "revisit"))
    assert set(truth["articles"]) <= captured
    assert not set(truth["other_outlet"]) & captured


def test_what_is_cited_is_fetched_before_what_is_linked(
    localweb: LocalWeb, localweb_registry: Path, tmp_path: Path
) -> None:
    # three cited articles of one outlet, the first linking the other two and the home page
    truth = localweb.expected()["depth1"]
    seeds = tmp_path / "one-outlet.seeds"
    seeds.write_text("\n".join([truth["page"], *truth["articles"]]) + "\n")
    store = tmp_path / "a"
    one_at_a_time = ("-s", "CONCURRENT_REQUESTS=1", "--crawl-id", "c1")
    done = crawl_local(str(seeds), store, localweb_registry, "--depth", "1", *one_at_a_time)
    assert done.returncode == 0, done.stderr[-2000:]
    log = parse_crawl_log((store / "crawls/c1/crawl-log.jsonl.gz").read_bytes())
    pages = [e for e in log if e["role"] in ("cited", "linked")]
    order = [e["role"] for e in sorted(pages, key=lambda e: e["fetched_at"])]
    # Scrapy would fetch a linked page before the start requests of the same priority
    assert order == ["cited", "cited", "cited", "linked"], order


def test_crawl_into_s3(localweb: LocalWeb, localweb_registry: Path, s3_store_uri: str) -> None:
    done = crawl_local(localweb.seed_url, s3_store_uri, localweb_registry, "--crawl-id", "s3c")
    assert done.returncode == 0, done.stderr[-3000:]
    store = open_store(s3_store_uri)
    keys = list(store.list("crawls/s3c/"))
    assert "crawls/s3c/manifest.json" in keys
    assert any(k.startswith("crawls/s3c/warc/") and k.endswith(".warc.gz") for k in keys)
    assert verify_store(store, "s3c") == []


def test_bad_seed_and_unreachable_store_fail_before_fetching(
    localweb: LocalWeb, localweb_registry: Path, tmp_path: Path
) -> None:
    missing = crawl_local(str(tmp_path / "nope.txt"), tmp_path / "a", localweb_registry)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines()[-1].endswith("nope.txt: file not found")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    unwritable = crawl_local(localweb.seed_url, blocker / "store", localweb_registry)
    assert unwritable.returncode == 2 and "not writable" in unwritable.stderr
    assert localweb.request_log == []


def test_scrapy_crawl_cited_shares_the_code_path(
    localweb: LocalWeb, localweb_registry: Path, tmp_path: Path
) -> None:
    store = tmp_path / "viascrapy"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "cited",
            "-a",
            f"seeds={localweb.seed_url}",
            "-s",
            f"STORE_URI={store}",
            "-s",
            "CRAWL_ID=sc",
            "-s",
            "SSRF_ALLOW_PRIVATE=1",
            "-s",
            f"OUTLETS_REGISTRY={localweb_registry}",
            "-s",
            "AUTOTHROTTLE_ENABLED=0",
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (store / "crawls/sc/manifest.json").exists()
    assert localweb.seed_url in by_url(store)
