"""Over-size pages: cut at the size limit and archived truncated, with ``WARC-Truncated: length``.

A loopback site on 127.0.0.71 serves pages past a small ``DOWNLOAD_MAXSIZE`` (100 kB),
one with a ``Content-Length`` that says so (Scrapy alone refuses it before its body),
one delimited by the connection's close, one gzip-encoded, and a gzip bomb small on
the wire. The big pages are archived with the bytes received, the bomb is archived
whole and not decompressed past the limit.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest
from warcio.archiveiterator import ArchiveIterator

from pipelines.warcrecords import Exchange, Original, build_exchange
from storage.layout import dataset_prefix, local_path
from storage.warcverify import check_warc
from tests.fixtures.cli import run_cli
from tests.fixtures.serve import serve
from tests.fixtures.warcs import index_lines

pytestmark = pytest.mark.slow
HOST = "127.0.0.71"
LIMIT = 100_000
BIG = 300_000


def _html(size: int, where: bytes) -> bytes:
    # where: pages that differ, so that no cut payload is a revisit of another
    paragraph = b"<p>" + (b"Dong Jingwei was seen in " + where + b". ") * 20 + b"</p>\n"
    body = b"<html><head><title>big</title></head><body><article>\n"
    body += paragraph * (size // len(paragraph) + 1)
    return body[:size]


class Site(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    pages: ClassVar[dict[str, tuple[list[tuple[str, str]], bytes, bool]]] = {}

    def do_GET(self) -> None:
        headers, body, declared = self.pages.get(self.path, ([], b"not here", True))
        self.send_response(200 if self.path in self.pages else 404)
        for name, value in headers:
            self.send_header(name, value)
        if declared:
            self.send_header("Content-Length", str(len(body)))
        else:  # the body ends when the connection does
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        for start in range(0, len(body), 16_384):
            try:
                self.wfile.write(body[start : start + 16_384])
            except OSError:  # the crawler hung up: that is the point
                return

    def log_message(self, *args: object) -> None:
        pass


def _site() -> dict[str, tuple[list[tuple[str, str]], bytes, bool]]:
    html = [("Content-Type", "text/html; charset=utf-8")]
    noise = os.urandom(BIG)  # gzip cannot shrink it: past the limit on the wire too
    zeros = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = zeros.compress(b"\0" * (64 * 1024 * 1024)) + zeros.flush()
    return {
        "/robots.txt": ([("Content-Type", "text/plain")], b"User-agent: *\nAllow: /\n", True),
        "/declared": (html, _html(BIG, b"Beijing"), True),
        "/undeclared": (html, _html(BIG, b"Washington"), False),
        "/gzipped": ([*html, ("Content-Encoding", "gzip")], gzip.compress(noise), True),
        "/small": (html, _html(LIMIT // 2, b"Hong Kong"), True),
        "/bomb": ([*html, ("Content-Encoding", "gzip")], bomb, True),
    }


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    Site.pages = _site()
    server = serve(HOST, Site)
    base = f"http://{HOST}:{server.server_port}"
    tmp = tmp_path_factory.mktemp("truncated")
    seeds = tmp / "big.seeds"
    seeds.write_text("".join(f"{base}{p}\n" for p in Site.pages if p != "/robots.txt"))
    store = tmp / "archive"
    done = run_cli(
        "crawl", str(seeds), "--store", str(store), "--crawl-id", "t",
        "-s", f"SSRF_ALLOWED_NETWORKS={HOST}", "-s", "AUTOTHROTTLE_ENABLED=false",
        "-s", f"DOWNLOAD_MAXSIZE={LIMIT}", "-s", "DOWNLOAD_WARNSIZE=0",
    )  # fmt: skip
    yield {"store": store, "base": base, "done": done, "crawl": store / "crawls/t"}
    server.shutdown()


def _warcs(crawled: dict[str, Any]) -> list[Path]:
    return sorted((crawled["crawl"] / "warc").glob("*.warc.gz"))


def _responses(crawled: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for path in _warcs(crawled):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type != "response":
                    continue
                name = record.rec_headers.get_header("WARC-Target-URI").rsplit("/", 1)[1]
                found.setdefault(name, []).append(
                    {
                        "warc": record.rec_headers,
                        "http": record.http_headers,
                        "payload": record.raw_stream.read(),  # as stored, still encoded
                        "block_length": record.length,
                    }
                )
    return found


def _log(crawled: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [path] = crawled["crawl"].glob("crawl-log*.jsonl*")
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    entries = [json.loads(line) for line in data.decode().splitlines()]
    return {entry["url"].rsplit("/", 1)[1]: entry for entry in entries}


def test_crawl_finishes(crawled: dict[str, Any]) -> None:
    assert crawled["done"].returncode == 0, crawled["done"].stderr[-3000:]
    assert (crawled["crawl"] / "manifest.json").exists()


@pytest.mark.parametrize("name", ["declared", "undeclared", "gzipped"])
def test_big_page_is_one_truncated_record_of_the_bytes_received(
    crawled: dict[str, Any], name: str
) -> None:
    [record] = _responses(crawled)[name]
    sent = Site.pages["/" + name][1]
    payload = record["payload"]
    assert record["warc"].get_header("WARC-Truncated") == "length"
    assert LIMIT < len(payload) < len(sent)  # cut after the read that passed the limit
    assert sent.startswith(payload)  # as received: still content-encoded
    digest = "sha256:" + hashlib.sha256(payload).hexdigest()
    assert record["warc"].get_header("WARC-Payload-Digest") == digest
    http_head = record["http"].to_bytes()
    assert int(record["warc"].get_header("Content-Length")) == len(http_head) + len(payload)
    if name != "undeclared":  # the header says what the server meant to send
        assert record["http"].get_header("Content-Length") == str(len(sent))


def test_pages_within_the_limit_are_whole(crawled: dict[str, Any]) -> None:
    responses = _responses(crawled)
    [small] = responses["small"]
    assert small["warc"].get_header("WARC-Truncated") is None
    assert small["payload"] == Site.pages["/small"][1]
    [bomb] = responses["bomb"]  # small on the wire: archived whole, as sent
    assert bomb["warc"].get_header("WARC-Truncated") is None
    assert bomb["payload"] == Site.pages["/bomb"][1]


def test_crawl_log_says_truncated_not_failed(crawled: dict[str, Any]) -> None:
    log = _log(crawled)
    for name in ("declared", "undeclared", "gzipped"):
        assert log[name]["outcome"] == "captured", log[name]
        assert log[name]["truncated"] == "length"
    assert log["small"]["outcome"] == "captured" and log["small"]["truncated"] is None
    # the bomb is not decompressed past the limit: the spider never gets it
    assert log["bomb"]["outcome"] == "failed", log["bomb"]


def test_warc_files_validate(crawled: dict[str, Any]) -> None:
    for path in _warcs(crawled):
        check = check_warc([path.read_bytes()])
        assert not check.problems, check.problems
        done = subprocess.run(
            [sys.executable, "-m", "warcio.cli", "check", str(path)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_cdxj_index_points_at_the_truncated_records(crawled: dict[str, Any]) -> None:
    lines = index_lines(crawled["crawl"] / "indexes")
    for name in ("declared", "undeclared", "gzipped"):
        [line] = [ln for ln in lines if f'"{crawled["base"]}/{name}"' in ln]
        entry = json.loads(line.split(" ", 2)[2])
        path = crawled["crawl"] / "warc" / entry["filename"]
        with path.open("rb") as fh:
            fh.seek(int(entry["offset"]))
            member = fh.read(int(entry["length"]))
        record = gzip.decompress(member)
        assert record.startswith(b"WARC/1.1\r\n")
        assert b"WARC-Type: response\r\n" in record
        assert b"WARC-Truncated: length\r\n" in record


def test_only_a_response_record_says_truncated() -> None:
    cut = Exchange(
        url="http://example.org/big", method="GET", request_target="/big",
        request_headers=[("Host", "example.org")], request_body=b"", protocol="HTTP/1.1",
        status=200, response_headers=[("Content-Length", "300000")], body=b"x" * 1000,
        date=datetime(2026, 11, 25, tzinfo=UTC), truncated="length",
    )  # fmt: skip
    response, request = (gzip.decompress(m) for m in build_exchange(cut).members)
    assert b"WARC-Truncated: length\r\n" in response
    assert b"WARC-Truncated" not in request
    earlier = Original("http://example.org/big", "2026-11-24T00:00:00Z", "<urn:uuid:1>")
    revisit = gzip.decompress(build_exchange(cut, original=earlier).members[0])
    assert b"WARC-Type: revisit\r\n" in revisit
    assert b"WARC-Truncated" not in revisit  # its block, the headers, is whole


def test_dataset_row_of_a_truncated_page_is_too_large_with_its_text(
    crawled: dict[str, Any],
) -> None:
    import pyarrow.parquet as pq

    crawl = crawled["crawl"]
    [part] = local_path(crawl.parents[1], dataset_prefix(crawl.name)).glob("part-*.parquet")
    rows = {r["url"].rsplit("/", 1)[1]: r for r in pq.read_table(part).to_pylist()}
    for name, where in (("declared", "Beijing"), ("undeclared", "Washington")):
        assert rows[name]["extraction"] == "too_large", rows[name]["extraction_reason"]
        assert "archived truncated (length)" in rows[name]["extraction_reason"]
        assert f"Dong Jingwei was seen in {where}." in rows[name]["text"]
    assert rows["small"]["extraction"] == "ok"
