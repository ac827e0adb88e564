"""Reading records back: one reader, and each index of a store read once per command.

The stores here are written by the project's own writer (``WarcCapture`` with its
digest log, deduplicating against the store's earlier crawls) and indexed as a
published crawl is, without a crawler: fifty crawls take a few seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from scrapy import Request
from scrapy.http import HtmlResponse

from crawler.cli import main
from crawler.replay import ArchiveReplay, ResumeCrawl
from history.timeline import get_payload
from pipelines.warc import WarcCapture
from pipelines.warcfile import RollingWarcFile
from pipelines.warcrecords import Exchange
from pipelines.writeerrors import WriteErrors
from storage.captures import CaptureIndex
from storage.digests import DigestLog, StoreDigests, digests_key
from storage.layout import index_key, staged_crawl
from storage.localstore import LocalStore
from storage.publish import write_index
from storage.records import RecordReader
from storage.resumable import WARC_FOLDER, read_archive
from storage.stores import STORE_SCHEMES
from tests.fixtures.warcs import Stats

DATE = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
PHOTOS = {
    f"http://news.example/photo-{n}.png": b"\x89PNG\r\n\x1a\n" + bytes([n]) * 4000 for n in range(5)
}
PHOTO = next(iter(PHOTOS))


def exchange(url: str, body: bytes, date: datetime) -> Exchange:
    return Exchange(
        url=url,
        method="GET",
        request_target="/" + url.split("/", 3)[3],
        request_headers=[("Host", url.split("/")[2])],
        request_body=b"",
        protocol="HTTP/1.1",
        status=200,
        response_headers=[("Content-Type", "image/png" if url.endswith(".png") else "text/html")],
        body=body,
        date=date,
    )


def warc_capture(root: Path, crawl_id: str, store: LocalStore | None) -> WarcCapture:
    """The crawler's WARC writer for ``crawl_id``, writing into ``root`` as its staging
    folder; with ``store``, payloads the store's earlier crawls hold become revisits."""
    stats = Stats()
    return WarcCapture(
        RollingWarcFile(
            staged_crawl(root, crawl_id) / WARC_FOLDER,
            prefix="scrubwatch",
            max_size=10**9,
            warcinfo={"isPartOf": crawl_id},
            host="host",
        ),
        stats,  # type: ignore[arg-type]
        crawl_id=crawl_id,
        digest_log=DigestLog(root / digests_key(crawl_id), crawl_id),
        write_errors=WriteErrors(3, stats, root),  # type: ignore[arg-type]
        store=store,
        dedup_min_size=256,
    )


def write_crawl(root: Path, crawl_id: str, exchanges: list[Exchange]) -> list[str]:
    """A crawl of ``exchanges`` written straight into the local store ``root``, with its
    CDXJ index and digest log; the kind of record each exchange became."""
    capture = warc_capture(root, crawl_id, LocalStore(str(root)))
    kinds = [capture._capture(ex).record_type for ex in exchanges]
    capture._close()
    write_index(root, crawl_id, index_key(crawl_id))
    return kinds


def crawl_ids(count: int) -> list[str]:
    return [f"c{n:02d}" for n in range(count)]


def make_store(root: Path, count: int) -> None:
    """``count`` crawls, each of a page of its own and the same five photos: the first
    crawl holds the photos in full, every later one revisits them."""
    for n, crawl_id in enumerate(crawl_ids(count)):
        date = DATE + timedelta(days=n)
        page = exchange(f"http://news.example/{crawl_id}", f"<p>{crawl_id}</p>".encode() * 40, date)
        photos = [exchange(url, body, date) for url, body in PHOTOS.items()]
        kinds = write_crawl(root, crawl_id, [page, *photos])
        assert kinds == ["response"] + ["revisit" if n else "response"] * len(PHOTOS)


@pytest.fixture(scope="module")
def store_of_50(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fifty") / "archive"
    make_store(root, 50)
    return root


def counting_store(reads: Counter[str]) -> Callable[[str], LocalStore]:
    """A LocalStore class that counts reads by kind and key into ``reads``."""

    class CountingStore(LocalStore):
        def get(self, key: str) -> bytes:
            reads[f"get {key}"] += 1
            return super().get(key)

        def open_range(self, key: str, offset: int, length: int) -> bytes:
            reads["range"] += 1
            return super().open_range(key, offset, length)

        def download(self, key: str, dest: Path) -> None:
            reads[f"download {key}"] += 1
            super().download(key, dest)

    return CountingStore


def digest_reads(reads: Counter[str]) -> dict[str, int]:
    return {k: n for k, n in reads.items() if k.startswith("get") and "/digests." in k}


def test_get_of_a_revisit_in_a_store_of_50_crawls_reads_the_digest_index_once(
    store_of_50: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    reads: Counter[str] = Counter()
    monkeypatch.setitem(STORE_SCHEMES, "", counting_store(reads))
    out = tmp_path / "photo.png"
    done = CliRunner().invoke(main, ["get", "--store", str(store_of_50), PHOTO, "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "from crawl c49 (status 200)" in done.output  # the latest capture: a revisit
    assert out.read_bytes() == PHOTOS[PHOTO]  # the bytes of c00's response
    assert digest_reads(reads) == {f"get {digests_key(c)}": 1 for c in crawl_ids(50)}
    indexes = {k: n for k, n in reads.items() if k.startswith("get") and "/index." in k}
    assert indexes == {f"get {index_key(c)}": 1 for c in crawl_ids(50)}
    assert reads["range"] == 2  # the revisit, then its original
    assert not [k for k in reads if k.startswith("download")]


def test_payloads_read_through_one_index_read_each_index_once(store_of_50: Path) -> None:
    """As the report's thumbnails are read: five revisits, one read of each index."""
    reads: Counter[str] = Counter()
    store = counting_store(reads)(str(store_of_50))
    index = CaptureIndex(store)
    for url, body in PHOTOS.items():
        capture, payload = get_payload(store, url, index=index)
        assert (capture.crawl_id, capture.is_revisit, payload) == ("c49", True, body)
    assert digest_reads(reads) == {f"get {digests_key(c)}": 1 for c in crawl_ids(50)}
    assert max(n for k, n in reads.items() if k.startswith("get")) == 1  # each index once
    assert reads["range"] == 2 * len(PHOTOS)


def test_the_reader_finds_originals_by_digest_index_then_by_cdxj(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    make_store(root, 3)
    store = LocalStore(str(root))
    reader = RecordReader(store)
    (warc,) = (staged_crawl(root, "c02") / WARC_FOLDER).glob("*.warc.gz")
    records = list(reader.records("c02", warc.name))
    assert [r.rec_type for r in records] == ["response", "request"] + ["revisit", "request"] * 5
    revisit = records[2]
    assert revisit.url == PHOTO and revisit.payload == b"" and revisit.status == 200
    assert reader.read("c02", revisit.ref).record_id == revisit.record_id
    found = reader.original(revisit.digest)
    assert found is not None and found[0] == "c00"
    original = reader.read(*found)
    assert (original.rec_type, original.url, original.payload) == ("response", PHOTO, PHOTOS[PHOTO])
    assert original.record_id == revisit.refers_to

    # crawls at or after ``before`` are not looked in
    assert RecordReader(store, StoreDigests(store, before="c00")).original(revisit.digest) is None
    # a store whose crawls have no digest index: their CDXJ indexes, newest first
    for path in root.glob("crawls/*/indexes/digests.jsonl.gz"):
        path.unlink()
    found = RecordReader(store).original(revisit.digest)
    assert found == ("c00", original.ref)
    assert RecordReader(store).original("sha256:" + "0" * 64) is None


class Crawler:
    """What the resume's components ask of a Scrapy crawler: its extensions."""

    def __init__(self, *extensions: Any) -> None:
        self.extensions = extensions

    def get_extension(self, cls: type[Any]) -> Any:
        return next((e for e in self.extensions if isinstance(e, cls)), None)


def test_a_resumed_crawl_replays_revisits_of_earlier_crawls_reading_the_index_once(
    tmp_path: Path,
) -> None:
    root, staging = tmp_path / "archive", tmp_path / "staging"
    make_store(root, 5)
    # the stopped run of c05: a page, the photos (revisits of c00), and the page again
    date = DATE + timedelta(days=5)
    page = exchange("http://news.example/c05", b"<p>c05</p>" * 40, date)
    mirror = exchange("http://mirror.example/c05", b"<p>c05</p>" * 40, date)
    photos = [exchange(url, body, date) for url, body in PHOTOS.items()]
    capture = warc_capture(staging, "c05", LocalStore(str(root)))
    kinds = [capture._capture(ex).record_type for ex in [page, *photos, mirror]]
    capture._close()
    assert kinds == ["response"] + ["revisit"] * (len(PHOTOS) + 1)

    reads: Counter[str] = Counter()
    store = counting_store(reads)(str(root))
    stats = Stats()
    resume = ResumeCrawl(None, staging, "c05", stats)  # type: ignore[arg-type]
    resume.archive = read_archive(staging, "c05")
    writer = warc_capture(tmp_path / "resumed", "c05", store)
    replay = ArchiveReplay(Crawler(resume, writer), store, "c05")  # type: ignore[arg-type]
    replay.spider_opened()
    assert replay.stored is not None and replay.stored.digests is writer.digests
    bodies = {**PHOTOS, page.url: page.body, mirror.url: mirror.body}
    for url, body in bodies.items():
        request = Request(url)
        record = resume.archive.records[url]
        response = replay._replay(resume, request, record)
        assert (response.status, response.body, response.flags) == (200, body, ["archived"])
        replayed = replay.replayed_capture(request)
        assert replayed is not None and replayed.ref == record.ref
        assert replayed.record_type == ("response" if url == page.url else "revisit")
    assert digest_reads(reads) == {f"get {digests_key(c)}": 1 for c in crawl_ids(5)}
    assert reads["range"] == len(PHOTOS)  # the originals in c00; c05's own are staged
    writer._close()


def test_two_crawlers_in_one_process_do_not_share_capture_state(tmp_path: Path) -> None:
    url = "http://news.example/a"
    first = warc_capture(tmp_path, "one", None)
    second = warc_capture(tmp_path, "two", None)
    request = Request(url)
    first.response_downloaded(HtmlResponse(url, body=b"<p>a</p>", request=request), request)
    future = first.capture_of(request)
    assert future is not None and second.capture_of(request) is None
    capture = future.result(timeout=30)
    first._close()
    second._close()
    record = RecordReader(LocalStore(str(tmp_path))).read("one", capture.ref)
    assert (record.rec_type, record.url, record.payload) == ("response", url, b"<p>a</p>")
