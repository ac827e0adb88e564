"""S3 faults injected for real: a flaky TCP proxy in front of moto, and error answers.

moto's server neither fails nor verifies checksums, so faults are injected on the way:
a proxy on 127.0.0.1 that resets connections, and a botocore ``before-send`` hook that
answers 503 SlowDown / 500 before the request leaves. What must hold: retries complete
the work, nothing is stored twice or half, and a final failure keeps the local files.
Retries are as many as in use; their waits are a hundredth (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from storage import StoreError, open_store, warc_key
from storage.publish import PublishError, publish_crawl
from storage.s3store import S3Store
from tests.fixtures.s3 import s3_client


class FlakyProxy:
    """Forwards TCP to moto; resets every ``every``-th connection at its first bytes."""

    def __init__(self, target: tuple[str, int], every: int) -> None:
        self.target = target
        self.every = every
        self.connections = 0
        self.resets = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            if self.connections % self.every == 0:
                self.resets += 1
                client.recv(1024)
                client.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                client.close()  # RST: the client sees "connection reset by peer"
                continue
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for end in (src, dst):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def flaky(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlakyProxy]:
    host, port = moto_server.removeprefix("http://").split(":")
    proxy = FlakyProxy((host, int(port)), every=3)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{proxy.port}")
    yield proxy
    proxy.close()


def _stage(tmp_path: Path, crawl_id: str, sizes: list[int]) -> Path:
    staging = tmp_path / "staging"
    for n, size in enumerate(sizes):
        path = staging / warc_key(crawl_id, f"f{n}.bin")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
    return staging


def test_connection_resets_are_retried_and_complete(
    s3_store_uri: str, flaky: FlakyProxy, tmp_path: Path
) -> None:
    staging = _stage(tmp_path, "c1", [1000, 50_000, 7 * 1024 * 1024])
    originals = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in staging.rglob("*.bin")}
    store = S3Store(s3_store_uri, multipart_threshold=5 * 1024 * 1024)
    published = publish_crawl(store, staging, "c1")
    assert flaky.resets >= 2  # the faults really happened
    assert len(published.stored) == 3
    for name, digest in originals.items():
        assert hashlib.sha256(store.get(warc_key("c1", name))).hexdigest() == digest
    assert store.exists("crawls/c1/manifest.json")
    bucket = s3_store_uri.removeprefix("s3://").split("/")[0]
    assert s3_client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def _answer(status: int, code: str) -> Any:
    def hook(request: Any, **_: Any) -> AWSResponse | None:
        hook.calls += 1  # type: ignore[attr-defined]
        if hook.calls <= hook.failures:  # type: ignore[attr-defined]
            body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
            raw = type("Raw", (), {"stream": lambda self, **kw: iter([body])})()
            return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, raw)
        return None

    hook.calls = 0  # type: ignore[attr-defined]
    hook.failures = 0  # type: ignore[attr-defined]
    return hook


@pytest.mark.parametrize(("status", "code"), [(503, "SlowDown"), (500, "InternalError")])
def test_throttling_and_server_errors_are_retried(
    s3_store_uri: str, tmp_path: Path, status: int, code: str
) -> None:
    store = S3Store(s3_store_uri)
    hook = _answer(status, code)
    hook.failures = 2
    store.client.meta.events.register("before-send.s3.PutObject", hook)
    source = tmp_path / "a.bin"
    source.write_bytes(b"evidence" * 1000)
    assert store.put(warc_key("c1", "a.bin"), source) is True
    assert hook.calls == 3
    assert store.get(warc_key("c1", "a.bin")) == source.read_bytes()


def test_a_final_failure_keeps_the_local_files_and_writes_no_manifest(
    s3_store_uri: str, tmp_path: Path
) -> None:
    staging = _stage(tmp_path, "c2", [1000, 2000])
    store = S3Store(s3_store_uri)
    hook = _answer(503, "SlowDown")
    hook.failures = 10_000  # beyond every retry
    store.client.meta.events.register("before-send.s3.PutObject", hook)
    with pytest.raises(PublishError, match="scrubwatch push"):
        publish_crawl(store, staging, "c2")
    assert hook.calls == 2 * 6  # each file: its first attempt and five retries
    assert not store.exists("crawls/c2/manifest.json")
    assert sorted(p.name for p in staging.rglob("*.bin")) == ["f0.bin", "f1.bin"]
    # and the resumed push completes without duplicates
    again = publish_crawl(open_store(s3_store_uri), staging, "c2")  # a fresh client, no faults
    assert len(again.stored) + len(again.already_there) == 2
    keys = list(open_store(s3_store_uri).list("crawls/c2/"))
    assert sorted(keys) == sorted(set(keys))
    assert "crawls/c2/manifest.json" in keys


def test_different_content_at_an_existing_key_is_a_hard_error(
    s3_store_uri: str, tmp_path: Path
) -> None:
    store = open_store(s3_store_uri)
    key = warc_key("c3", "a.bin")
    store.put_bytes(key, b"first")
    assert store.put_bytes(key, b"first") is False  # a retried PUT that had landed
    with pytest.raises(StoreError, match="different content"):
        store.put_bytes(key, b"second")
    assert store.get(key) == b"first"
