"""CDXJ lines made as records are written: byte for byte what cdxj-indexer reads back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.warcfile import RollingWarcFile
from pipelines.warcrecords import (
    Exchange,
    Original,
    build_exchange,
    build_resource,
    build_resource_revisit,
    sha256_digest,
)
from storage.cdxj import build_cdxj, cdxj_lines, warc_lines
from storage.cdxjlines import lines_path, read_lines
from storage.layout import INDEX_NAME, index_key, staged_crawl, staged_indexes, staged_warcs
from storage.publish import write_index
from tests.fixtures.rendered import exchange as fetched

DATE = datetime(2026, 12, 6, 5, 30, 1, 250000, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def exchange(url: str, status: int, headers: list[tuple[str, str]], body: bytes) -> Exchange:
    return fetched(url, status, headers, body, DATE)


HTML = [("Content-Type", "text/html; charset=utf-8")]
EXCHANGES = [
    exchange("https://News.Example/story?b=2&a=1#top", 200, HTML, b"<p>story</p>" * 60),
    exchange("https://news.example/no-type", 200, [], b"plain bytes"),
    exchange("https://news.example/empty-type", 200, [("Content-Type", "")], b"x"),
    exchange("https://news.example/gone", 404, HTML, b"<p>not here</p>"),
    exchange("https://news.example/moved", 301, [("Location", "/story")], b""),
    exchange("https://news.example/odd", 599, [("Content-Type", "text/plain ;x=y")], b"odd"),
    exchange("https://news.example/304", 304, [("ETag", '"v1"')], b""),
    exchange("http://[::1]:8080/ipv6 page", 200, [("Content-Type", "TEXT/HTML")], b"<p>6</p>"),
    exchange(
        "https://news.example/gzip",
        200,
        [*HTML, ("Content-Encoding", "gzip")],
        bytes(range(256)) * 8,  # stored, not deflated again
    ),
]


def write_everything(writer: RollingWarcFile) -> None:
    original = Original("https://news.example/first", "2026-11-01T00:00:00.000000Z", "<urn:x:1>")
    for one in EXCHANGES:
        records = build_exchange(one)
        writer.write(records.members, records.index)
    again = build_exchange(EXCHANGES[0], original=original)  # identical-payload revisit
    writer.write(again.members, again.index)
    date = "2026-12-06T05:30:02.000000Z"
    made = [
        build_resource("urn:view:https://news.example/story", "image/png", PNG,
                       record_id="<urn:x:2>", date=date, concurrent_to="<urn:x:3>"),
        build_resource("urn:dom:https://news.example/story", "text/html; charset=utf-8",
                       b"<html>dom</html>", record_id="<urn:x:4>", date=date),
        build_resource("urn:fields", "application/warc-fields", b"a: b\r\n",
                       record_id="<urn:x:5>", date=date),
        build_resource_revisit("urn:view:https://news.example/story", "image/png",
                               record_id="<urn:x:6>", date=date,
                               payload_digest=sha256_digest(PNG), original=original),
    ]  # fmt: skip
    for member in made:
        writer.write([member.data], [member.index])


def rolling(folder: Path, max_size: int = 10**9) -> RollingWarcFile:
    return RollingWarcFile(
        folder / "warc",
        prefix="t",
        max_size=max_size,
        warcinfo={"software": "t"},
        lines_dir=folder / "indexes",
    )


@pytest.mark.parametrize("max_size", [10**9, 1500])  # one file; a file every few records
def test_kept_lines_are_what_cdxj_indexer_reads_back(tmp_path: Path, max_size: int) -> None:
    writer = rolling(tmp_path, max_size)
    write_everything(writer)
    writer.close()
    warcs = sorted((tmp_path / "warc").glob("*.warc.gz"))
    assert sorted((tmp_path / "warc").iterdir()) == warcs  # WARC files only
    assert len(warcs) == (1 if max_size > 10**6 else len(writer.closed_files)) >= 1
    read_back = []
    for warc in warcs:
        kept = read_lines(warc, tmp_path / "indexes")
        assert kept is not None, warc.name
        assert kept == warc_lines(warc), warc.name
        read_back += kept
    # every response, revisit and resource but the application/warc-fields one
    assert len(read_back) == len(EXCHANGES) + 1 + 3
    assert any(b'"mime": "warc/revisit"' in line for line in read_back)
    expected = b"".join(sorted(line + b"\n" for line in read_back))
    assert build_cdxj(warcs, tmp_path / "indexes") == expected
    assert build_cdxj(warcs) == expected  # read with cdxj-indexer: the same index


def test_a_file_with_a_member_written_without_its_fields_keeps_no_lines(tmp_path: Path) -> None:
    writer = rolling(tmp_path)
    records = build_exchange(EXCHANGES[0])
    writer.write(records.members, records.index)
    writer.write(build_exchange(EXCHANGES[3]).members)  # as a caller that knows no fields
    (warc,) = [writer.close()]
    assert warc is not None and not lines_path(warc, tmp_path / "indexes").exists()
    assert build_cdxj([warc], tmp_path / "indexes").count(b"\n") == 2  # read from the file


def test_lines_of_a_file_of_another_size_are_not_taken(tmp_path: Path) -> None:
    writer = rolling(tmp_path)
    write_everything(writer)
    warc = writer.close()
    assert warc is not None
    whole = warc_lines(warc)
    with warc.open("ab") as fh:  # a record the lines do not know of
        records = build_exchange(EXCHANGES[1])
        fh.write(records.members[0])
    kept = tmp_path / "indexes"
    assert read_lines(warc, kept) is None
    assert build_cdxj([warc], kept).count(b"\n") == len(whole) + 1
    lines_path(warc, kept).write_bytes(b"not a mark\n")
    assert read_lines(warc, kept) is None


def test_the_crawl_index_is_made_from_the_kept_lines_which_then_go(tmp_path: Path) -> None:
    writer = rolling(staged_crawl(tmp_path, "c1"))
    write_everything(writer)
    warc = writer.close()
    folder = staged_indexes(tmp_path, "c1")
    assert warc is not None and warc.parent == staged_warcs(tmp_path, "c1")
    kept = read_lines(warc, folder)
    key = index_key("c1", INDEX_NAME)
    write_index(tmp_path, "c1", key)
    index = (tmp_path / key).read_bytes()
    assert cdxj_lines(index) == b"".join(sorted(line + b"\n" for line in kept or []))
    assert not lines_path(warc, folder).exists()  # never published, and not left behind
