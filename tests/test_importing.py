"""The importer over an archive holding two captures of a page: every capture and every
capture's requisites come in, and readers take the latest capture's row and status."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

from crawler.importing import run_import
from history.snapshots import load_snapshot
from storage import open_store
from storage.archives import Memento, RawCapture
from storage.layout import crawl_log_key

PAGE = "http://news.example/story"
PHOTO = "http://news.example/photo.png"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PARAGRAPHS = "".join(
    f"<p>Paragraph {i} of the story of the official who was said to have defected, "
    "as the outlet told it in June, with more words so that it reads as an article.</p>"
    for i in range(6)
)


def html(extra: str) -> bytes:
    return (
        f"<html><head><title>The story</title></head><body><article><h1>The story</h1>"
        f"{PARAGRAPHS}{extra}</article></body></html>"
    ).encode()


class FakeArchive:
    """Two captures of the page (the photo on the first only) and one of the photo."""

    name = "https://archive.example/cdx"

    def __init__(self) -> None:
        self.requests = 0
        self.captured = {
            PAGE: [("20210618093012", html('<img src="/photo.png"><p>Seen on Baidu.</p>')),
                   ("20210702110000", html("<p>Updated: the photo is gone.</p>"))],
            PHOTO: [("20210618093013", PNG)],
        }  # fmt: skip

    def captures(
        self, url: str, since: str | None = None, until: str | None = None
    ) -> list[Memento]:
        self.requests += 1
        return [
            Memento(url, stamp, f"https://archive.example/web/{stamp}/{url}")
            for stamp, _ in self.captured.get(url, [])
        ]

    def fetch(self, memento: Memento) -> RawCapture:
        self.requests += 1
        body = dict(self.captured[memento.url])[memento.timestamp]
        kind = "image/png" if body.startswith(b"\x89PNG") else "text/html; charset=utf-8"
        return RawCapture(memento, 200, [("Content-Type", kind)], body, memento.datetime)


def test_every_capture_and_each_ones_requisites_the_latest_read_first(tmp_path: Path) -> None:
    seeds = tmp_path / "story.seeds"
    seeds.write_text(f"{PAGE}  # the story\n")
    store = tmp_path / "archive"
    summary = run_import(
        [str(seeds)], str(store), crawl_id="imported", client=FakeArchive(),  # type: ignore[arg-type]
        overrides={"EXTRACT_WORKERS": 1},
    )  # fmt: skip
    assert summary.counts["import/captures"] == 3 and summary.counts["dataset/rows"] == 2
    log = [
        json.loads(line)
        for line in gzip.decompress((store / crawl_log_key("imported")).read_bytes()).splitlines()
    ]
    assert [(e["url"], e["role"], e["fetched_at"][:10]) for e in log] == [
        (PAGE, "cited", "2021-06-18"),
        (PAGE, "cited", "2021-07-02"),
        (PHOTO, "requisite", "2021-06-18"),  # from the first capture only
    ]
    assert log[2]["cited_by"] == PAGE
    assert log[0]["imported_from"] == f"https://archive.example/web/20210618093012/{PAGE}"
    page = load_snapshot(open_store(str(store)), "imported").pages[PAGE]
    assert page.final_status == 200
    assert "the photo is gone" in page.text and "Seen on Baidu" not in page.text
    assert datetime.strptime(log[1]["fetched_at"][:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=UTC
    ) == datetime(2021, 7, 2, 11, 0, tzinfo=UTC)
