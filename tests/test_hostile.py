"""Hostile pages and hostile URLs: bombs, binary, bad encodings, loops, secrets, paths.

A hostile site runs on 127.0.0.70, opened to the crawler by SSRF_ALLOWED_NETWORKS so
the SSRF guard stays on for every other address. Each case must end with an explicit
status (a dataset row's ``extraction``, or a crawl-log failure), never a crash or
garbled text, with memory bounded and nothing written outside the store.
"""

from __future__ import annotations

import gzip
import os
import resource
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import brotli
import pyarrow.parquet as pq
import pytest
import zstandard

from storage.crawllog import parse_crawl_log
from storage.layout import crawl_prefixes, dataset_prefix, local_path
from tests.fixtures.cli import run_cli
from tests.fixtures.serve import serve
from tests.fixtures.warcs import index_lines

pytestmark = pytest.mark.slow
HOST = "127.0.0.70"
BOMB_BYTES = 256 * 1024 * 1024  # decoded size of each bomb
SECRET = "SENTINEL-7f3a"


def _zeros(compress: Any, flush: Any) -> bytes:
    chunk, out = b"\0" * (1 << 20), []
    for _ in range(BOMB_BYTES >> 20):
        out.append(compress(chunk))
    out.append(flush())
    return b"".join(out)


def _bombs() -> dict[str, tuple[str, bytes]]:
    gz = zlib.compressobj(9, zlib.DEFLATED, 31)
    df = zlib.compressobj(9, zlib.DEFLATED, 15)
    br = brotli.Compressor(quality=1)
    zs = zstandard.ZstdCompressor().compressobj()
    return {
        "/bomb-gzip": ("gzip", _zeros(gz.compress, gz.flush)),
        "/bomb-deflate": ("deflate", _zeros(df.compress, df.flush)),
        "/bomb-br": ("br", _zeros(br.process, br.finish)),
        "/bomb-zstd": ("zstd", _zeros(zs.compress, zs.flush)),
    }


PARAGRAPHS = "".join(
    f"<p>Paragraph {n} of a long article about the defection rumours.</p>" for n in range(8)
)


XXE = (
    b'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>feed</title></head><body>'
    b"<article><h1>Feed</h1><p>Leak: &xxe;</p>" + PARAGRAPHS.encode() + b"</article></body></html>"
)
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'.encode()
        for n in range(1, 10)
    )
    + b']><html xmlns="http://www.w3.org/1999/xhtml"><body><article><p>&lol9;</p>'
    + PARAGRAPHS.encode()
    + b"</article></body></html>"
)


class Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    pages: ClassVar[dict[str, tuple[int, list[tuple[str, str]], bytes]]] = {}
    seen_headers: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).seen_headers.append(str(self.headers))
        status, headers, body = self.pages.get(self.path, (404, [], b"not here"))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _site() -> dict[str, tuple[int, list[tuple[str, str]], bytes]]:
    html = [("Content-Type", "text/html")]
    cp1252 = f"<html><head><title>Caf\xe9</title></head><body><article><h1>Caf\xe9 na\xefve \u201cquoted\u201d</h1>{PARAGRAPHS}<p>Le caf\xe9 est na\xeff.</p></article></body></html>"
    broken = f"<html><head><meta charset='utf-8'><title>x</title></head><body><article><h1>Broken</h1>{PARAGRAPHS}<p>Caf\u00e9 ok</p></article></body></html>".encode()
    broken = broken.replace(b"ok", b"\xff\xfe ok")
    big_body = (
        "<html><body><article>"
        + ("<p>" + "news " * 400 + "</p>") * 10_500
        + "</article></body></html>"
    ).encode()
    pages: dict[str, tuple[int, list[tuple[str, str]], bytes]] = {
        "/robots.txt": (200, [("Content-Type", "text/plain")], b"User-agent: *\nAllow: /\n"),
        "/binary": (200, html, os.urandom(50_000)),
        "/empty": (200, html, b""),
        "/loop-a": (302, [("Location", "/loop-b")], b""),
        "/loop-b": (302, [("Location", "/loop-a")], b""),
        "/cp1252": (200, html, cp1252.encode("cp1252")),
        "/broken-utf8": (200, [("Content-Type", "text/html; charset=utf-8")], broken),
        "/big": (200, html, big_body),
        "/xxe": (200, [("Content-Type", "application/xhtml+xml")], XXE),
        "/laughs": (200, [("Content-Type", "application/xhtml+xml")], LAUGHS),
    }
    for path, (coding, body) in _bombs().items():
        pages[path] = (200, [*html, ("Content-Encoding", coding)], body)
    return pages


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    Hostile.pages = _site()
    server = serve(HOST, Hostile)
    base = f"http://{HOST}:{server.server_port}"
    tmp = tmp_path_factory.mktemp("hostile")
    odd_paths = [
        "/../../../etc/passwd", "/%2e%2e%2f%2e%2e%2fescape", "/nul%00byte",
        "/" + "x" * 300, "/CON", "/aux.html", "/..%5c..%5cwin",
    ]  # fmt: skip
    seeds = tmp / "hostile.seeds"
    seeds.write_text("\n".join(base + p for p in [*Hostile.pages, *odd_paths]) + "\n")
    store = tmp / "archive"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = run_cli(
        "crawl", str(seeds), "--store", str(store), "--crawl-id", "h",
        "-s", f"SSRF_ALLOWED_NETWORKS={HOST}", "-s", "AUTOTHROTTLE_ENABLED=false",
        "-s", "DOWNLOAD_MAXSIZE=33554432",
        "-s", f'DEFAULT_REQUEST_HEADERS={{"Authorization": "Bearer {SECRET}", "Cookie": "s={SECRET}"}}',
        timeout=600,
    )  # fmt: skip
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    yield {"store": store, "base": base, "done": done, "peak_kb": max(peak_kb, before), "tmp": tmp}
    server.shutdown()


def _rows(store: Path) -> dict[str, dict[str, Any]]:
    rows = {}
    for part in local_path(store, dataset_prefix("h")).glob("*.parquet"):
        for row in pq.read_table(part).to_pylist():
            rows[row["url"].rsplit("/", 1)[1]] = row
    return rows


def _log(store: Path) -> dict[str, dict[str, Any]]:
    entries = parse_crawl_log((store / "crawls/h/crawl-log.jsonl.gz").read_bytes())
    return {entry["url"].rsplit("/", 1)[1]: entry for entry in entries}


def test_crawl_survives_and_memory_stays_bounded(hostile: dict[str, Any]) -> None:
    assert hostile["done"].returncode == 0, hostile["done"].stderr[-3000:]
    assert hostile["peak_kb"] < 1_000_000, f"peak RSS of a crawl process {hostile['peak_kb']} KB"


def test_every_hostile_page_gets_an_explicit_status(hostile: dict[str, Any]) -> None:
    rows, log = _rows(hostile["store"]), _log(hostile["store"])
    assert rows["binary"]["extraction"] in ("not_html", "decode_error")
    assert rows["empty"]["extraction"] == "empty"
    assert rows["big"]["extraction"] == "too_large"
    cp1252 = rows["cp1252"]
    assert cp1252["extraction"] == "ok" and "Le café est naïf." in cp1252["text"]
    broken = rows["broken-utf8"]
    assert broken["extraction"] in ("ok", "decode_error")
    if broken["extraction"] == "ok":
        assert "Paragraph 3" in broken["text"] and "Ã" not in broken["text"]
    for name in ("bomb-gzip", "bomb-deflate", "bomb-br", "bomb-zstd"):
        entry = log[name]
        assert entry["outcome"] == "failed" or rows[name]["extraction"] == "too_large", entry
    assert log["loop-a"]["outcome"] == "failed" or log["loop-b"]["outcome"] == "failed"


def test_xml_entities_leak_nothing(hostile: dict[str, Any]) -> None:
    rows = _rows(hostile["store"])
    for name in ("xxe", "laughs"):
        row = rows[name]
        assert row["extraction"] in ("ok", "empty", "decode_error", "not_html"), row
        assert "root:" not in (row["text"] or "")
        assert (row["text"] or "").count("lol") < 1000  # entities never expanded


def test_bombs_are_archived_as_sent(hostile: dict[str, Any]) -> None:
    index = "\n".join(index_lines(hostile["store"] / "crawls/h/indexes"))
    for name in ("bomb-gzip", "bomb-deflate", "bomb-br", "bomb-zstd"):
        assert f'{hostile["base"]}/{name}"' in index


def test_secrets_appear_nowhere(hostile: dict[str, Any]) -> None:
    assert any(SECRET in h for h in Hostile.seen_headers)  # they were sent, as configured
    for path in hostile["store"].rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.name.endswith(".gz"):
                data = (
                    gzip.decompress(data)
                    if not path.name.endswith(".warc.gz")
                    else b"".join(_members(data))
                )
            assert SECRET.encode() not in data, path
    assert SECRET not in hostile["done"].stdout + hostile["done"].stderr


def _members(data: bytes) -> Iterator[bytes]:
    while data:
        decoder = zlib.decompressobj(31)
        yield decoder.decompress(data)
        data = decoder.unused_data


def test_hostile_urls_never_write_outside_the_store(hostile: dict[str, Any]) -> None:
    tmp: Path = hostile["tmp"]
    outside = {p.relative_to(tmp).parts[0] for p in tmp.rglob("*")}
    assert outside == {"archive", "hostile.seeds"}
    names = {
        p.relative_to(hostile["store"]).as_posix()
        for p in hostile["store"].rglob("*")
        if p.is_file()
    }
    for name in names:
        assert name.startswith(tuple(crawl_prefixes("h"))), name
        assert ".." not in name and "\0" not in name and len(Path(name).name) < 120
