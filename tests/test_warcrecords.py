"""Golden WARC records: pinned ids and dates, compared byte for byte, then read back."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
from datetime import UTC, datetime
from io import BytesIO
from itertools import count
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from pipelines.warc import WarcCapture
from pipelines.warcfile import RollingWarcFile
from pipelines.warcrecords import Exchange, Original, build_exchange, build_warcinfo
from pipelines.writeerrors import WriteErrors
from storage.digests import DigestLog
from tests.fixtures.warcs import Stats

DATE = datetime(2026, 11, 25, 8, 30, 15, 123456, tzinfo=UTC)
BODY = b"<html><body>Dong Jingwei</body></html>"


def ids() -> object:
    numbers = count(1)
    return lambda: f"<urn:uuid:00000000-0000-0000-0000-{next(numbers):012d}>"


def exchange(**changes: object) -> Exchange:
    values: dict[str, object] = {
        "url": "http://example.org/news?id=1",
        "method": "GET",
        "request_target": "/news?id=1",
        "request_headers": [
            ("Host", "example.org"),
            ("User-Agent", "scrubwatch/test"),
            ("Cookie", "session=SENTINEL-COOKIE"),
            ("Authorization", "Bearer SENTINEL-TOKEN"),
        ],
        "request_body": b"",
        "protocol": "HTTP/1.1",
        "status": 200,
        "response_headers": [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Transfer-Encoding", "chunked"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ],
        "body": BODY,
        "date": DATE,
        "ip_address": "93.184.216.34",
    }
    values.update(changes)
    return Exchange(**values)  # type: ignore[arg-type]


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


HTTP_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"Set-Cookie: a=1\r\n"
    b"Set-Cookie: b=2\r\n"
    b"\r\n"
)
REQUEST_HEAD = (
    b"GET /news?id=1 HTTP/1.1\r\n"
    b"Host: example.org\r\n"
    b"User-Agent: scrubwatch/test\r\n"
    b"Cookie: [redacted]\r\n"
    b"Authorization: [redacted]\r\n"
    b"\r\n"
)


def test_response_and_request_records_byte_for_byte() -> None:
    records = build_exchange(exchange(), make_id=ids())
    response, request = (gzip.decompress(m) for m in records.members)
    block = HTTP_HEAD + BODY
    assert response == (
        b"WARC/1.1\r\n"
        b"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
        b"WARC-Date: 2026-11-25T08:30:15.123456Z\r\n"
        b"WARC-Payload-Digest: " + sha(BODY).encode() + b"\r\n"
        b"WARC-IP-Address: 93.184.216.34\r\n"
        b"WARC-Block-Digest: " + sha(block).encode() + b"\r\n"
        b"WARC-Type: response\r\n"
        b"WARC-Target-URI: http://example.org/news?id=1\r\n"
        b"Content-Type: application/http; msgtype=response\r\n"
        b"Content-Length: " + str(len(block)).encode() + b"\r\n"
        b"\r\n" + block + b"\r\n\r\n"
    )
    assert request == (
        b"WARC/1.1\r\n"
        b"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000002>\r\n"
        b"WARC-Date: 2026-11-25T08:30:15.123456Z\r\n"
        b"WARC-Concurrent-To: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
        b"WARC-Block-Digest: " + sha(REQUEST_HEAD).encode() + b"\r\n"
        b"WARC-Payload-Digest: " + sha(b"").encode() + b"\r\n"
        b"WARC-Type: request\r\n"
        b"WARC-Target-URI: http://example.org/news?id=1\r\n"
        b"Content-Type: application/http; msgtype=request\r\n"
        b"Content-Length: " + str(len(REQUEST_HEAD)).encode() + b"\r\n"
        b"\r\n" + REQUEST_HEAD + b"\r\n\r\n"
    )
    assert b"SENTINEL" not in response + request


def _stored_blocks(member: bytes) -> bool:
    """Whether a gzip member's deflate stream is one stored (uncompressed) block."""
    return member[10] & 0b110 == 0  # BTYPE 00, after the 10-byte gzip header


def test_compressed_bodies_are_stored_not_deflated_again() -> None:
    words = " ".join(f"Dong{i * 7919 % 10007}" for i in range(3000)).encode()
    text = b"<html><body>" + words + b"</body></html>"
    encoded = gzip.compress(text)
    headers = [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
    jpeg = bytes(range(256)) * 8
    cases = {
        "gzip page": (exchange(body=encoded, response_headers=headers), True),
        "jpeg": (exchange(body=jpeg, response_headers=[("Content-Type", "image/jpeg")]), True),
        "plain page": (exchange(body=text), False),
        "tiny gzip": (exchange(body=gzip.compress(b"x"), response_headers=headers), False),
    }
    for name, (exch, stored) in cases.items():
        response, request = build_exchange(exch, make_id=ids()).members
        assert _stored_blocks(response) is stored, name
        assert not _stored_blocks(request), name
        record = next(iter(ArchiveIterator(BytesIO(response))))
        assert record.raw_stream.read() == exch.body, name  # warcio reads it back
    gzip_page = build_exchange(cases["gzip page"][0], make_id=ids()).members[0]
    plain_page = build_exchange(cases["plain page"][0], make_id=ids()).members[0]
    assert len(gzip_page) < len(encoded) + 1000 and len(plain_page) < len(text) // 2


def test_identical_payload_becomes_revisit_referring_to_original() -> None:
    original = Original("http://example.org/first", "2026-11-01T00:00:00.000000Z", "<urn:uuid:x>")
    records = build_exchange(exchange(), original=original, make_id=ids())
    revisit = gzip.decompress(records.members[0])
    assert records.record_type == "revisit"
    assert b"WARC-Type: revisit\r\n" in revisit
    assert (
        b"WARC-Profile: http://netpreserve.org/warc/1.1/revisit/identical-payload-digest\r\n"
        in revisit
    )
    assert b"WARC-Refers-To-Target-URI: http://example.org/first\r\n" in revisit
    assert b"WARC-Refers-To-Date: 2026-11-01T00:00:00.000000Z\r\n" in revisit
    assert b"WARC-Refers-To: <urn:uuid:x>\r\n" in revisit
    assert BODY not in revisit  # headers only
    assert f"Content-Length: {len(HTTP_HEAD)}\r\n".encode() in revisit


def test_not_modified_is_server_not_modified_revisit() -> None:
    records = build_exchange(exchange(status=304, body=b""), make_id=ids())
    revisit = gzip.decompress(records.members[0])
    assert b"revisit/server-not-modified" in revisit
    assert b"HTTP/1.1 304 Not Modified\r\n" in revisit


def test_warcinfo_fields() -> None:
    member = build_warcinfo(
        "x.warc.gz",
        {"software": "scrubwatch/1", "robots": "obey", "operator": ""},
        date=DATE,
        make_id=ids(),
    )
    record = gzip.decompress(member)
    assert record.startswith(b"WARC/1.1\r\n")
    assert b"WARC-Type: warcinfo\r\n" in record
    assert b"WARC-Filename: x.warc.gz\r\n" in record
    assert record.endswith(b"software: scrubwatch/1\r\nrobots: obey\r\n\r\n\r\n")


def test_rolling_file_rolls_over_renames_and_reads_back(tmp_path: Path) -> None:
    closed: list[Path] = []
    writer = RollingWarcFile(
        tmp_path,
        prefix="t",
        max_size=2000,
        warcinfo={"software": "test"},
        host="h",
        on_closed=closed.append,
        clock=lambda: DATE,
    )
    locations = []
    for n in range(6):
        body = f"page {n} ".encode() * 300  # compresses small, but several per file
        locations.append(writer.write(build_exchange(exchange(body=body)).members))
    writer.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [p.name for p in sorted(closed)]
    assert all(n.startswith("t-20261125083015123-") and n.endswith("-h.warc.gz") for n in names)
    assert not any(n.endswith(".open") for n in names)
    assert len(names) >= 2
    for response_loc, _request_loc in locations:
        path = tmp_path / response_loc.filename
        with path.open("rb") as fh:
            fh.seek(response_loc.offset)
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_type == "response"
            assert record.content_stream().read().startswith(b"page ")
    for path in tmp_path.iterdir():
        with path.open("rb") as fh:
            types = [r.rec_type for r in ArchiveIterator(fh)]
        assert types[0] == "warcinfo"
        assert types[1:] == ["response", "request"] * ((len(types) - 1) // 2)
        check = subprocess.run(
            [sys.executable, "-m", "warcio.cli", "check", str(path)],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize(
    ("min_size", "kinds", "logged"),
    [
        (256, ["response", "response", "response", "revisit"], 1),  # the GIF twice in full
        (1, ["response", "revisit", "response", "revisit"], 2),
    ],
)
def test_a_payload_under_the_minimum_size_is_written_in_full_every_time(
    tmp_path: Path, min_size: int, kinds: list[str], logged: int
) -> None:
    """Two copies of a 42-byte GIF, then two of a 313-byte page: what each becomes, and
    how many payloads go to the digest log (the ones later crawls may refer to)."""
    small, large = b"GIF89a" + bytes(36), b"<html>" + b"x" * 300 + b"</html>"
    stats = Stats()
    capture = WarcCapture(
        RollingWarcFile(tmp_path, prefix="t", max_size=10**9, warcinfo={"software": "test"}),
        stats,  # type: ignore[arg-type]
        crawl_id="c1",
        digest_log=DigestLog(tmp_path / "digests.jsonl.gz", "c1"),
        write_errors=WriteErrors(3, stats, tmp_path),  # type: ignore[arg-type]
        dedup_min_size=min_size,
    )
    written = [
        capture._capture(exchange(url=f"http://example.org/{n}", body=body)).record_type
        for n, body in enumerate((small, small, large, large))
    ]
    capture._close()
    assert written == kinds
    assert len(gzip.decompress((tmp_path / "digests.jsonl.gz").read_bytes()).splitlines()) == logged
