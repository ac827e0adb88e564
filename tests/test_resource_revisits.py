"""Rendered pages crawled again: an unchanged screenshot or DOM is a revisit, not a copy.

Three crawls of rendered pages go into one store through the crawler's own parts, with
no browser and no Scrapy engine: the WARC writer (:class:`~pipelines.warc.WarcCapture`,
which deduplicates against the store's earlier crawls and its own), the rendered page's
item (:meth:`crawler.browser.pages.BrowserPages.rendered_item`), the extraction, crawl
log and dataset pipelines, then :func:`~storage.publish.publish_crawl`. What the browser
"rendered" is given:

- the story: the same screenshot and DOM in every crawl (its photo shown each time);
- the image results: crawl 2 drops a photo from the DOM but its screenshot is the same
  bytes; crawl 3 puts it back (the DOM is crawl 1's again) with a new screenshot;
- two consent walls, in crawl 1 only: two URLs rendered to the same bytes.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import inspect
import io
import json
import random
import re
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from crawler.browser.pages import PAGE_META, BrowserPages
from crawler.cli import main
from crawler.settings import (
    DATASET_ROW_GROUP_BYTES,
    DATASET_ROW_GROUP_ROWS,
    DATASET_ROWS_PER_PART,
    EXTRACT_MAX_BYTES,
    MEMORY_TRIM_INTERVAL,
    WARC_DEDUP_MIN_SIZE,
)
from history import report
from history.diff import diff_crawls
from history.report import render_report
from pipelines.crawllog import CrawlLogPipeline
from pipelines.dataset import DatasetPipeline
from pipelines.datasetfile import DatasetWriter, PartSizes
from pipelines.extract import ExtractPipeline
from pipelines.extraction import make_options
from pipelines.extractpool import ExtractorPool
from pipelines.items import PageItem
from pipelines.reextract import reextract
from pipelines.warc import Capture, WarcCapture
from pipelines.warcfile import RollingWarcFile
from pipelines.warcrecords import (
    REVISIT_IDENTICAL,
    Exchange,
    Original,
    build_resource_revisit,
    sha256_digest,
)
from pipelines.writeerrors import WriteErrors
from storage.captures import CaptureIndex
from storage.digests import DigestLog, digests_key, parse_lines
from storage.layout import crawl_log_key, local_path, staged_crawl, staged_dataset
from storage.localstore import LocalStore
from storage.publish import publish_crawl
from storage.records import RecordReader, iter_records
from storage.rendered import dom_uri, view_uri
from storage.resumable import WARC_FOLDER
from tests.fixtures.warcs import Stats

ROOT = Path(__file__).resolve().parents[1]
PYWB_INDEXER = ROOT / ".venv-pywb" / "bin" / "cdx-indexer"
SITE = "https://news.example"
STORY, SEARCH = f"{SITE}/story", f"{SITE}/search?q=dong"
WALLS = (f"{SITE}/wall/1", f"{SITE}/wall/2")
FIGURE, PHOTO, OTHER = (f"https://img.example/{n}.png" for n in ("figure", "photo", "other"))
CRAWLS = ("v1", "v2", "v3")
SHELL = b"<html><body><div id=root></div><script src=/app.js></script></body></html>"
STORY_TEXT = "The minister left the country in June, the ministry said on Tuesday. " * 6
RESULTS = "Results for dong: the photo of the official, and another result below it. " * 4
WALL_TEXT = "Before you continue, accept the cookies of this site and its partners. " * 4


def noisy_png(width: int, height: int, seed: int) -> bytes:
    """A real PNG whose pixels do not compress, the size a screenshot is."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    noise = random.Random(seed)
    rows = b"".join(b"\x00" + noise.randbytes(3 * width) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def dom(text: str, images: list[str]) -> bytes:
    imgs = "".join(f'<img src="{u}">' for u in images)
    return f"<html><body><article><p>{text}</p>{imgs}</article></body></html>".encode()


STORY_SHOT, SEARCH_SHOT, SEARCH_SHOT_3, WALL_SHOT = (noisy_png(120, 90, n) for n in range(4))
STORY_DOM = dom(STORY_TEXT, [FIGURE])
SEARCH_DOM = {1: dom(RESULTS, [PHOTO, OTHER]), 2: dom(RESULTS, [OTHER])}
IMAGES = {u: noisy_png(16, 16, 10 + n) for n, u in enumerate((FIGURE, PHOTO, OTHER))}


@dataclass(frozen=True)
class Rendered:
    """A page as the browser rendered it in one crawl, and the images it showed."""

    url: str
    screenshot: bytes
    dom: bytes
    images: list[str]


def rendered_in(crawl_id: str) -> list[Rendered]:
    search = {
        "v1": Rendered(SEARCH, SEARCH_SHOT, SEARCH_DOM[1], [PHOTO, OTHER]),
        "v2": Rendered(SEARCH, SEARCH_SHOT, SEARCH_DOM[2], [OTHER]),
        "v3": Rendered(SEARCH, SEARCH_SHOT_3, SEARCH_DOM[1], [PHOTO, OTHER]),
    }[crawl_id]
    pages = [Rendered(STORY, STORY_SHOT, STORY_DOM, [FIGURE]), search]
    if crawl_id == "v1":
        pages += [Rendered(url, WALL_SHOT, dom(WALL_TEXT, []), []) for url in WALLS]
    return pages


def exchange(url: str, body: bytes, content_type: str, date: datetime) -> Exchange:
    return Exchange(
        url=url,
        method="GET",
        request_target="/" + url.split("/", 3)[3],
        request_headers=[("Host", url.split("/")[2])],
        request_body=b"",
        protocol="HTTP/1.1",
        status=200,
        response_headers=[("Content-Type", content_type)],
        body=body,
        date=date,
    )


def fetched_item(url: str, capture: Capture, body: bytes, content_type: str, role: str) -> PageItem:
    """The item the spider makes of a response (``CitedSpider.page_item``)."""
    return PageItem(
        url=url,
        status=200,
        role=role,
        fetched_at=capture.warc_date,
        content_type=content_type,
        headers={"Content-Type": [content_type]},
        body=body,
        record_type=capture.record_type,
        payload_digest=capture.payload_digest,
        warc_filename=capture.ref.filename,
        warc_offset=capture.ref.offset,
        warc_length=capture.ref.length,
        cited_by=None if role == "cited" else SITE,
    )


class Crawler:
    """One crawl written into ``staging`` and published into the store at ``store``."""

    def __init__(self, staging: Path, store: Path, crawl_id: str, pool: ExtractorPool) -> None:
        self.staging, self.store, self.crawl_id = staging, store, crawl_id
        self.stats = Stats()
        self.warc = WarcCapture(
            RollingWarcFile(
                staged_crawl(staging, crawl_id) / WARC_FOLDER,
                prefix="scrubwatch",
                max_size=10**9,
                warcinfo={"isPartOf": crawl_id},
                host="host",
            ),
            self.stats,  # type: ignore[arg-type]
            crawl_id=crawl_id,
            digest_log=DigestLog(local_path(staging, digests_key(crawl_id)), crawl_id),
            write_errors=WriteErrors(3, self.stats, staging),  # type: ignore[arg-type]
            store=LocalStore(str(store)),
            dedup_min_size=WARC_DEDUP_MIN_SIZE,
        )
        sizes = PartSizes(DATASET_ROWS_PER_PART, DATASET_ROW_GROUP_ROWS, DATASET_ROW_GROUP_BYTES)
        self.pipelines: list[Any] = [
            ExtractPipeline(pool, crawl_id, self.stats),  # type: ignore[arg-type]
            CrawlLogPipeline(local_path(staging, crawl_log_key(crawl_id)), self.stats),  # type: ignore[arg-type]
            DatasetPipeline(
                DatasetWriter(
                    staged_dataset(staging, crawl_id),
                    staged_dataset(staging, crawl_id, jsonl=True),
                    crawl_id,
                    sizes,
                ),
                self.stats,  # type: ignore[arg-type]
            ),
        ]
        #: URI -> the capture of its screenshot, DOM or page
        self.captures: dict[str, Capture] = {}

    async def item(self, item: PageItem) -> None:
        for pipeline in self.pipelines:
            item = pipeline.process_item(item)
            if inspect.isawaitable(item):
                item = await item

    def fetch(self, url: str, body: bytes, content_type: str, date: datetime) -> Capture:
        capture = self.warc._capture(exchange(url, body, content_type, date))
        self.captures[url] = capture
        return capture

    async def render(self, page: Rendered, date: datetime) -> None:
        """The page fetched, rendered, its images fetched, and its row made from the DOM."""
        fetched = self.fetch(page.url, SHELL, "text/html", date)
        page_id = fetched.record_id
        shot = self.warc.write_resource(view_uri(page.url), "image/png", page.screenshot, page_id)
        self.captures[view_uri(page.url)] = await asyncio.wrap_future(shot)
        made = self.warc.write_resource(
            dom_uri(page.url), "text/html; charset=utf-8", page.dom, page_id
        )
        capture = self.captures[dom_uri(page.url)] = await asyncio.wrap_future(made)
        for image in page.images:
            found = self.fetch(image, IMAGES[image], "image/png", date)
            await self.item(fetched_item(image, found, IMAGES[image], "image/png", "requisite"))
        as_fetched = fetched_item(page.url, fetched, SHELL, "text/html", "cited")
        meta = {PAGE_META: {"record_id": fetched.record_id, "status": 200}}
        rendered = BrowserPages().rendered_item(page.url, meta, as_fetched, capture, page.dom)
        await self.item(rendered)

    async def run(self, pages: list[Rendered], date: datetime) -> None:
        self.pipelines[1].open_spider()
        for page in pages:
            await self.render(page, date)
        self.pipelines[1].close_spider()
        await self.pipelines[2].close_spider()
        self.warc._close()
        publish_crawl(LocalStore(str(self.store)), self.staging, self.crawl_id)


@dataclass
class Story:
    store: Path
    captures: dict[str, dict[str, Capture]]  # crawl id -> URI -> capture
    stats: dict[str, dict[str, int]]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    root = tmp_path_factory.mktemp("revisits")
    store, staging = root / "archive", root / "staging"
    done = Story(store, {}, {})
    options = make_options()
    with ExtractorPool(
        1,
        timeout=30,
        max_bytes=EXTRACT_MAX_BYTES,
        trim_interval=MEMORY_TRIM_INTERVAL,
        options=options,
    ) as pool:
        for day, crawl_id in enumerate(CRAWLS):
            crawler = Crawler(staging, store, crawl_id, pool)
            date = datetime(2026, 11, 1, 8, 30, tzinfo=UTC) + timedelta(days=7 * day)
            asyncio.run(crawler.run(rendered_in(crawl_id), date))
            done.captures[crawl_id] = crawler.captures
            done.stats[crawl_id] = crawler.stats.values
    yield done


def rows(store: Path, crawl_id: str, version: str | None = None) -> dict[str, dict[str, Any]]:
    root = "text" if version is None else f"text@{version}"
    folder = store / "datasets" / root / f"crawl_id={crawl_id}"
    return {r["url"]: r for r in pq.read_table(sorted(folder.glob("*.parquet"))).to_pylist()}


def record_of(store: Path, crawl_id: str, capture: Capture) -> Any:
    return RecordReader(LocalStore(str(store))).read(crawl_id, capture.ref)


def test_unchanged_screenshot_and_dom_are_revisits_of_the_first_crawl(story: Story) -> None:
    first, second = story.captures["v1"], story.captures["v2"]
    for uri in (view_uri(STORY), dom_uri(STORY), view_uri(SEARCH)):
        assert first[uri].record_type == "resource", uri
        assert second[uri].record_type == "revisit", uri
        assert second[uri].payload_digest == first[uri].payload_digest
    shot = second[view_uri(STORY)]
    assert shot.ref.length * 50 < first[view_uri(STORY)].ref.length  # headers, not a copy
    record = record_of(story.store, "v2", shot)
    assert record.rec_type == "revisit" and record.payload == b""
    assert record.is_resource_revisit and record.holds_resource
    assert (record.status, record.content_type) == (0, "image/png")
    headers = {name: value for name, value in record.rec_headers.headers}
    assert headers["WARC-Profile"] == REVISIT_IDENTICAL
    assert headers["WARC-Target-URI"] == view_uri(STORY)
    assert headers["WARC-Refers-To"] == first[view_uri(STORY)].record_id
    assert headers["WARC-Refers-To-Target-URI"] == view_uri(STORY)
    assert headers["WARC-Refers-To-Date"] == first[view_uri(STORY)].warc_date
    assert headers["WARC-Payload-Digest"] == first[view_uri(STORY)].payload_digest
    # the page's response in this crawl, which the resource referred to
    assert headers["WARC-Concurrent-To"] == second[STORY].record_id
    assert headers["WARC-Identified-Payload-Type"] == "image/png"
    assert headers["Content-Length"] == "0" and "Content-Type" not in headers
    assert story.stats["v2"]["warc/records/revisit"] >= 3


def test_a_changed_screenshot_or_dom_is_written_in_full(story: Story) -> None:
    second, third = story.captures["v2"], story.captures["v3"]
    assert second[dom_uri(SEARCH)].record_type == "resource"  # the photo dropped
    assert third[view_uri(SEARCH)].record_type == "resource"  # a new screenshot
    # crawl 3's DOM is crawl 1's again: a revisit of the record two crawls back
    revisit = record_of(story.store, "v3", third[dom_uri(SEARCH)])
    assert revisit.refers_to == story.captures["v1"][dom_uri(SEARCH)].record_id
    assert revisit.content_type == "text/html; charset=utf-8"


def test_the_same_bytes_twice_in_one_crawl_are_a_revisit_of_the_first(story: Story) -> None:
    first = story.captures["v1"]
    for uri in (view_uri, dom_uri):
        original, again = first[uri(WALLS[0])], first[uri(WALLS[1])]
        assert (original.record_type, again.record_type) == ("resource", "revisit")
        made = record_of(story.store, "v1", original)
        # WARC 1.1 §5.11: a resource names its page by WARC-Concurrent-To, never Refers-To
        assert made.warc_header("WARC-Concurrent-To") == first[WALLS[0]].record_id
        assert made.refers_to == ""
        record = record_of(story.store, "v1", again)
        assert record.refers_to == original.record_id
        assert record.warc_header("WARC-Refers-To-Target-URI") == uri(WALLS[0])
        assert record.warc_header("WARC-Concurrent-To") == first[WALLS[1]].record_id


def test_resources_written_in_full_are_in_the_digest_log(story: Story) -> None:
    """Later crawls find them there; revisits are not logged."""
    logged = {
        p.uri
        for crawl_id in CRAWLS
        for p in parse_lines((story.store / digests_key(crawl_id)).read_bytes(), crawl_id)
    }
    assert {view_uri(STORY), dom_uri(STORY), view_uri(WALLS[0]), dom_uri(WALLS[0])} <= logged
    assert view_uri(WALLS[1]) not in logged and dom_uri(WALLS[1]) not in logged


def test_get_returns_the_screenshot_of_a_revisit_byte_for_byte(
    story: Story, tmp_path: Path
) -> None:
    for crawl_id in CRAWLS:
        out = tmp_path / f"{crawl_id}.png"
        args = ["get", view_uri(STORY), "--store", str(story.store), "--crawl", crawl_id]
        done = CliRunner().invoke(main, [*args, "-o", str(out)])
        assert done.exit_code == 0, done.output
        assert out.read_bytes() == STORY_SHOT
    dom_again = CliRunner().invoke(
        main, ["get", dom_uri(STORY), "--store", str(story.store), "--crawl", "v3"]
    )
    assert dom_again.exit_code == 0 and dom_again.stdout_bytes == STORY_DOM
    index = CaptureIndex(LocalStore(str(story.store)))
    (capture,) = index.captures(view_uri(STORY), ["v2"])
    assert (capture.mime, capture.status, capture.is_revisit) == ("warc/revisit", None, True)
    archived = index.read(capture)
    assert (archived.status, archived.raw_body) == (None, STORY_SHOT)


def test_rows_of_unchanged_rendered_pages_are_unchanged_rows(story: Story) -> None:
    first, second = rows(story.store, "v1"), rows(story.store, "v2")
    assert first[STORY]["extraction"] == "ok" and first[STORY]["rendered"] is True
    assert second[STORY]["extraction"] == "unchanged" and second[STORY]["rendered"] is True
    assert second[STORY]["payload_digest"] == first[STORY]["payload_digest"]
    assert second[STORY]["warc_offset"] == story.captures["v2"][dom_uri(STORY)].ref.offset
    assert rows(story.store, "v3")[SEARCH]["extraction"] == "unchanged"
    assert rows(story.store, "v1")[WALLS[1]]["extraction"] == "unchanged"
    log = gzip.decompress((story.store / crawl_log_key("v2")).read_bytes()).splitlines()
    (entry,) = [e for e in map(json.loads, log) if e["url"] == STORY and e.get("rendered")]
    assert entry["record_type"] == "revisit"


def test_diff_sees_the_images_of_a_revisited_dom(story: Story) -> None:
    opened = LocalStore(str(story.store))
    index = CaptureIndex(opened)
    two = diff_crawls(opened, "v1", "v2", index=index)
    pages = {p.url: p for p in two.pages}
    assert pages[STORY].change == "unchanged"  # its DOM a revisit: images, text the same
    assert not pages[STORY].images and not pages[STORY].text
    assert [(s.kind, s.url, s.archived_in) for s in two.scrubbed] == [
        ("image-removed", PHOTO, "v1")
    ]
    three = {p.url: p for p in diff_crawls(opened, "v2", "v3", index=index).pages}
    assert three[SEARCH].images.added == [PHOTO]  # crawl 3's DOM: crawl 1's row's images
    assert three[STORY].change == "unchanged"


def screenshots_of(html: str, url: str) -> list[str]:
    """The screenshots the report shows for ``url``'s page, as data: URIs, in crawl order."""
    found = re.search(rf'<section id="{report._anchor(url)}">(.*?)</section>', html)
    assert found, f"no section for {url}"
    shots = found.group(1).split('<div class="shots">', 1)[1]
    return re.findall(r'<img src="(data:[^"]+)"', shots)


def test_the_report_shows_a_revisited_screenshot_for_both_crawls(story: Story) -> None:
    opened = LocalStore(str(story.store))
    index = CaptureIndex(opened)
    html = render_report(opened, diff_crawls(opened, "v1", "v2", index=index), index)
    picture = "data:image/png;base64," + base64.b64encode(SEARCH_SHOT).decode()
    assert screenshots_of(html, SEARCH) == [picture, picture]  # v2's is a revisit
    wall = "data:image/png;base64," + base64.b64encode(WALL_SHOT).decode()
    assert screenshots_of(html, WALLS[1]) == [wall]  # a revisit within crawl 1
    assert "unreadable" not in html


def test_reextraction_reads_a_revisited_dom_as_its_page(story: Story) -> None:
    opened = LocalStore(str(story.store))
    sizes = PartSizes(DATASET_ROWS_PER_PART, DATASET_ROW_GROUP_ROWS, DATASET_ROW_GROUP_BYTES)
    pool = {"timeout": 30.0, "max_bytes": EXTRACT_MAX_BYTES, "trim_interval": 0.0}
    for crawl_id in ("v1", "v2"):
        reextract(opened, crawl_id, sizes=sizes, workers=1, version="again", **pool)
    first, second = rows(story.store, "v1", "again"), rows(story.store, "v2", "again")
    live = rows(story.store, "v1")
    # a revisit row is extracted from its original's payload, as a plain page's revisit is
    for row, original in ((second[STORY], live[STORY]), (first[WALLS[1]], live[WALLS[0]])):
        assert (row["extraction"], row["rendered"], row["status"]) == ("ok", True, 200)
        assert row["text"] == original["text"] and row["images"] == original["images"]
        assert row["text"] and row["payload_digest"] == original["payload_digest"]
    assert second[STORY]["warc_offset"] == story.captures["v2"][dom_uri(STORY)].ref.offset
    assert FIGURE in second[STORY]["images"]
    # the page as fetched (the shell), screenshots and images make no rows
    assert set(second) == {STORY, SEARCH}


def test_warcio_check_verify_and_pywb_agree(story: Story) -> None:
    warcs = sorted(story.store.glob("crawls/*/warc/*.warc.gz"))
    warcio = Path(sys.executable).with_name("warcio")
    check = subprocess.run(
        [str(warcio), "check", "-v", *map(str, warcs)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    verify = CliRunner().invoke(main, ["verify", "--store", str(story.store)])
    assert verify.exit_code == 0, verify.output
    assert PYWB_INDEXER.exists(), f"{PYWB_INDEXER} missing: `make pywb` makes it"
    ours = CaptureIndex(LocalStore(str(story.store))).lines("v2")
    (warc,) = (story.store / "crawls" / "v2" / "warc").glob("*.warc.gz")
    pywb = subprocess.run(
        [str(PYWB_INDEXER), "-j", warc.name], cwd=warc.parent, capture_output=True, text=True
    )
    assert pywb.returncode == 0, pywb.stderr
    # pywb's indexer gives an HTTP revisit no status, cdxj-indexer its own: resources only
    urns = sorted(line for line in ours if line.startswith("urn:"))
    assert sorted(line for line in pywb.stdout.splitlines() if line.startswith("urn:")) == urns
    revisits = [json.loads(line.split(" ", 2)[2]) for line in urns]
    assert {(r["url"], r["mime"]) for r in revisits} >= {
        (view_uri(STORY), "warc/revisit"),
        (dom_uri(STORY), "warc/revisit"),
    }
    assert all("status" not in r for r in revisits)


def test_a_resource_revisit_record_byte_for_byte() -> None:
    original = Original(
        view_uri(STORY),
        "2026-11-01T08:30:00.000000Z",
        "<urn:uuid:00000000-0000-0000-0000-000000000001>",
    )
    member = build_resource_revisit(
        view_uri(STORY),
        "image/png",
        record_id="<urn:uuid:00000000-0000-0000-0000-000000000003>",
        date="2026-11-08T08:30:00.000000Z",
        payload_digest=sha256_digest(STORY_SHOT),
        original=original,
        concurrent_to="<urn:uuid:00000000-0000-0000-0000-000000000002>",
    ).data
    assert gzip.decompress(member) == (
        b"WARC/1.1\r\n"
        b"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000003>\r\n"
        b"WARC-Date: 2026-11-08T08:30:00.000000Z\r\n"
        + f"WARC-Payload-Digest: {sha256_digest(STORY_SHOT)}\r\n".encode()
        + f"WARC-Block-Digest: {sha256_digest(b'')}\r\n".encode()
        + b"WARC-Identified-Payload-Type: image/png\r\n"
        b"WARC-Type: revisit\r\n"
        b"WARC-Target-URI: urn:view:https://news.example/story\r\n"
        b"WARC-Profile: http://netpreserve.org/warc/1.1/revisit/identical-payload-digest\r\n"
        b"WARC-Refers-To-Target-URI: urn:view:https://news.example/story\r\n"
        b"WARC-Refers-To-Date: 2026-11-01T08:30:00.000000Z\r\n"
        b"WARC-Refers-To: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
        b"WARC-Concurrent-To: <urn:uuid:00000000-0000-0000-0000-000000000002>\r\n"
        b"Content-Length: 0\r\n"
        b"\r\n"
        b"\r\n\r\n"
    )
    (record,) = iter_records(io.BytesIO(member), "one.warc.gz")
    assert (record.rec_type, record.url, record.payload) == ("revisit", view_uri(STORY), b"")
    assert (record.status, record.content_type, record.refers_to) == (
        0,
        "image/png",
        original.record_id,
    )


def test_small_resources_are_written_in_full_every_time(tmp_path: Path) -> None:
    """As small HTTP payloads are: a revisit's headers would weigh more (WARC_DEDUP_MIN_SIZE)."""
    stats = Stats()
    capture = WarcCapture(
        RollingWarcFile(tmp_path, prefix="t", max_size=10**9, warcinfo={"software": "test"}),
        stats,  # type: ignore[arg-type]
        crawl_id="c1",
        digest_log=DigestLog(tmp_path / "digests.jsonl.gz", "c1"),
        write_errors=WriteErrors(3, stats, tmp_path),  # type: ignore[arg-type]
        dedup_min_size=WARC_DEDUP_MIN_SIZE,
    )
    small, large = b"<p>consent</p>", STORY_DOM
    assert len(small) < WARC_DEDUP_MIN_SIZE <= len(large)
    kinds = [
        capture._write_resource(dom_uri(f"{SITE}/{n}"), "text/html", body, None).record_type
        for n, body in enumerate((small, small, large, large))
    ]
    capture._close()
    assert kinds == ["resource", "resource", "resource", "revisit"]
    assert stats.values["warc/records/resource"] == 3 and stats.values["warc/records/revisit"] == 1
    with capture.writer.closed_files[0].open("rb") as fh:
        (revisit,) = [r for r in iter_records(fh, "t") if r.is_revisit]
    assert revisit.warc_header("WARC-Concurrent-To") == ""  # made from no record
