"""Secrets a crawl holds never reach what it archives or says: proxy credentials and AWS keys.

The local cited web is crawled into moto's S3 through a forwarding HTTP proxy on
127.0.0.1 that demands ``Proxy-Authorization``; the proxy's URL (with its user and
password) comes from ``http_proxy`` and the AWS keys from the standard variables, each
a sentinel. Every object in the bucket, every staged file and the crawl's output are
searched for them. (``Authorization`` and ``Cookie`` sentinels: ``tests/test_hostile.py``.)
"""

from __future__ import annotations

import base64
import http.client
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

import pytest

from crawler.localweb import LocalWeb
from storage import open_store
from storage.layout import default_staging_dir
from tests.fixtures.cli import crawl_local
from tests.fixtures.s3 import s3_client
from tests.fixtures.serve import serve

PROXY_USER, PROXY_PASSWORD = "archivist", "SENTINEL-PROXY-5b1e"
AWS_KEY_ID, AWS_SECRET = "AKIASENTINEL7D2C", "SENTINEL-AWS-SECRET-9c4d"
PROXY_TOKEN = base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode()
SECRETS = (PROXY_PASSWORD, PROXY_TOKEN, AWS_KEY_ID, AWS_SECRET)


class Proxy(BaseHTTPRequestHandler):
    """Forwards absolute-URI GETs; refuses those without the expected credentials."""

    expected = f"Basic {PROXY_TOKEN}"
    forwarded: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        if self.headers.get("Proxy-Authorization") != self.expected:
            self.send_response(407)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        target = urlsplit(self.path)
        upstream = http.client.HTTPConnection(target.hostname or "", target.port, timeout=10)
        path = target.path + (f"?{target.query}" if target.query else "")
        headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-authorization"}
        upstream.request("GET", path, headers=headers)
        answer = upstream.getresponse()
        body = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.forwarded.append(self.path)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[str]:
    server = serve("127.0.0.1", Proxy)
    yield f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{server.server_port}"
    server.shutdown()


def _plain(name: str, data: bytes) -> bytes:
    """The bytes of a file, and of its gzip members decompressed one by one."""
    if not name.endswith(".gz"):
        return data
    out = [data]
    while data:
        decoder = zlib.decompressobj(31)
        out.append(decoder.decompress(data))
        data = decoder.unused_data
    return b"".join(out)


@pytest.mark.slow
def test_proxy_credentials_and_aws_keys_appear_nowhere(
    localweb: LocalWeb,
    localweb_registry: Path,
    s3_store_uri: str,
    proxy: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("http_proxy", proxy)
    for name in ("NO_PROXY", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")  # moto's server; the local web is on .2-.10
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    Proxy.forwarded.clear()
    done = crawl_local(
        localweb.seed_url,
        s3_store_uri,
        localweb_registry,
        "--crawl-id",
        "p",
        "--log-level",
        "DEBUG",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert localweb.seed_url in Proxy.forwarded  # the crawl went through the proxy

    bucket, prefix = s3_store_uri.removeprefix("s3://").split("/", 1)
    s3 = s3_client()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert f"{prefix}/crawls/p/manifest.json" in keys
    assert any(k.endswith(".warc.gz") for k in keys)
    files = {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}
    staging = default_staging_dir(open_store(s3_store_uri))
    files |= {str(p): p.read_bytes() for p in staging.rglob("*") if p.is_file()}
    warc = b"".join(_plain(k, v) for k, v in files.items() if k.endswith(".warc.gz"))
    assert b"WARC-Type: request" in warc
    assert b"Proxy-Authorization: [redacted]" in warc  # the header was sent, and is redacted
    for name, data in files.items():
        plain = _plain(name, data)
        for secret in SECRETS:
            assert secret.encode() not in plain, (secret, name)
    for secret in SECRETS:
        assert secret not in done.stdout + done.stderr, secret
