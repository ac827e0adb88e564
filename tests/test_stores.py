"""Tests of storage.stores, storage.localstore and storage.s3store against a folder and moto."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from storage import Store, StoreConflict, StoreError, StoreMissing, open_store
from storage.localstore import LocalStore
from storage.s3store import MIB, S3Store
from tests.fixtures.s3 import s3_client

KEY = "crawls/20260101T000000Z/warc/a.warc.gz"


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "local":
        return open_store(str(tmp_path / "archive"))
    return open_store(request.getfixturevalue("s3_store_uri"))


def _file(tmp_path: Path, data: bytes, name: str = "source.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _b64sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --- both backends -------------------------------------------------------------


def test_put_then_read_back(store: Store, tmp_path: Path) -> None:
    data = bytes(range(256)) * 100
    assert store.put(KEY, _file(tmp_path, data)) is True
    assert store.exists(KEY)
    assert store.get(KEY) == data
    assert store.size(KEY) == len(data)
    assert store.sha256(KEY) == hashlib.sha256(data).hexdigest()
    assert store.open_range(KEY, 1000, 10) == data[1000:1010]
    assert store.open_range(KEY, len(data) - 4, 10) == data[-4:]
    assert store.open_range(KEY, len(data), 10) == b""
    assert b"".join(store.read_chunks(KEY, chunk_size=1000)) == data
    dest = tmp_path / "out" / "copy.warc.gz"
    dest.parent.mkdir()
    store.download(KEY, dest)
    assert dest.read_bytes() == data
    assert sorted(p.name for p in dest.parent.iterdir()) == ["copy.warc.gz"]


def test_list_is_sorted_and_filtered_by_prefix(store: Store) -> None:
    for key in ["crawls/b/x", "crawls/a/y", "crawls/a/b/z", "crawls/ab/w", "other"]:
        store.put_bytes(key, key.encode())
    assert list(store.list()) == [
        "crawls/a/b/z",
        "crawls/a/y",
        "crawls/ab/w",
        "crawls/b/x",
        "other",
    ]
    assert list(store.list("crawls/a/")) == ["crawls/a/b/z", "crawls/a/y"]
    assert list(store.list("crawls/a")) == ["crawls/a/b/z", "crawls/a/y", "crawls/ab/w"]
    assert list(store.list("nothing/")) == []


def test_put_never_overwrites(store: Store, tmp_path: Path) -> None:
    assert store.put(KEY, _file(tmp_path, b"original")) is True
    assert store.put(KEY, _file(tmp_path, b"original", "again.bin")) is False
    with pytest.raises(StoreConflict, match=KEY):
        store.put(KEY, _file(tmp_path, b"tampered", "other.bin"))
    assert store.put_bytes(KEY, b"original") is False
    with pytest.raises(StoreConflict, match=KEY):
        store.put_bytes(KEY, b"different")
    assert store.get(KEY) == b"original"


def test_missing_key(store: Store, tmp_path: Path) -> None:
    assert not store.exists(KEY)
    for read in (store.get, store.size, store.sha256, lambda k: store.open_range(k, 0, 5)):
        with pytest.raises(StoreMissing, match=KEY):
            read(KEY)
    with pytest.raises(StoreMissing, match=KEY):
        list(store.read_chunks(KEY))
    with pytest.raises(StoreMissing, match=KEY):
        store.download(KEY, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "./a", "a/"])
def test_invalid_keys_are_refused(store: Store, key: str) -> None:
    with pytest.raises(ValueError, match="invalid store key"):
        store.put_bytes(key, b"x")


def test_check_writable(store: Store) -> None:
    store.check_writable()
    assert list(store.list()) == []


# --- open_store ------------------------------------------------------------------


def test_open_store_picks_backend_by_scheme(tmp_path: Path, s3_store_uri: str) -> None:
    local = open_store(str(tmp_path))
    assert isinstance(local, LocalStore) and local.local_root == tmp_path
    file_uri = open_store(tmp_path.as_uri())
    assert isinstance(file_uri, LocalStore) and file_uri.local_root == tmp_path
    s3 = open_store(s3_store_uri)
    assert isinstance(s3, S3Store) and s3.local_root is None and s3.uri == s3_store_uri


@pytest.mark.parametrize("uri", ["ftp://host/archive", "gs://bucket/x", "s3:///no-bucket"])
def test_open_store_refuses_bad_uri(uri: str) -> None:
    with pytest.raises(StoreError, match=uri):
        open_store(uri)


# --- local -----------------------------------------------------------------------


def test_local_put_leaves_no_temp_files_and_list_skips_staging(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "archive"))
    store.put(KEY, _file(tmp_path, b"data"))
    staging = tmp_path / "archive" / ".staging" / "crawls" / "x"
    staging.mkdir(parents=True)
    (staging / "a.warc.gz.open").write_bytes(b"partial")
    (tmp_path / "archive" / "crawls" / ".scrubwatch-tmp-leftover").write_bytes(b"partial")
    assert list(store.list()) == [KEY]
    warc_dir = tmp_path / "archive" / "crawls" / "20260101T000000Z" / "warc"
    assert [p.name for p in warc_dir.iterdir()] == ["a.warc.gz"]


def test_local_check_writable_creates_the_folder(tmp_path: Path) -> None:
    open_store(str(tmp_path / "new" / "archive")).check_writable()
    assert (tmp_path / "new" / "archive").is_dir()
    assert list((tmp_path / "new" / "archive").iterdir()) == []


def test_local_check_writable_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    uri = str(tmp_path / "file" / "archive")
    with pytest.raises(StoreError, match=f"store {uri} is not writable") as error:
        open_store(uri).check_writable()
    assert "\n" not in str(error.value)


# --- S3 --------------------------------------------------------------------------


def test_s3_objects_carry_sha256_checksum_and_metadata(s3_store_uri: str) -> None:
    store = S3Store(s3_store_uri)
    data = b"a small object"
    store.put_bytes(KEY, data)
    head = s3_client().head_object(
        Bucket=store.bucket, Key=f"archive/{KEY}", ChecksumMode="ENABLED"
    )
    assert head["ChecksumSHA256"] == _b64sha256(data)
    assert head["Metadata"] == {"sha256": hashlib.sha256(data).hexdigest()}


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    return _file(tmp_path, os.urandom(12 * MIB), "big.warc.gz")


def _uploads_in_progress(store: S3Store) -> list[Any]:
    uploads: list[Any] = s3_client().list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
    return uploads


def test_s3_multipart_upload(s3_store_uri: str, big_file: Path) -> None:
    store = S3Store(s3_store_uri, multipart_threshold=5 * MIB)
    data = big_file.read_bytes()
    assert store.put(KEY, big_file) is True
    assert store.get(KEY) == data
    assert store.sha256(KEY) == hashlib.sha256(data).hexdigest()
    head = s3_client().head_object(
        Bucket=store.bucket, Key=f"archive/{KEY}", ChecksumMode="ENABLED"
    )
    parts = [data[i : i + 5 * MIB] for i in range(0, len(data), 5 * MIB)]
    part_digests = b"".join(hashlib.sha256(p).digest() for p in parts)
    # S3 gives a checksum of the part checksums, "<base64>-<parts>"; moto's HeadObject
    # leaves out the "-3".
    assert head["ChecksumSHA256"].removesuffix("-3") == _b64sha256(part_digests)
    assert _uploads_in_progress(store) == []
    assert store.put(KEY, big_file) is False
    big_file.write_bytes(data[:-1] + b"!")
    with pytest.raises(StoreConflict, match=KEY):
        store.put(KEY, big_file)
    assert store.get(KEY) == data
    assert _uploads_in_progress(store) == []


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.data


def test_s3_failed_part_aborts_the_upload(s3_store_uri: str, big_file: Path) -> None:
    store = S3Store(s3_store_uri, multipart_threshold=5 * MIB)
    error = b"<Error><Code>BadDigest</Code><Message>checksum mismatch</Message></Error>"

    def fail_second_part(request: Any, **kwargs: Any) -> AWSResponse | None:
        if "partNumber=2" in request.url:
            return AWSResponse(request.url, 400, {}, _Body(error))
        return None

    store.client.meta.events.register("before-send.s3.UploadPart", fail_second_part)
    with pytest.raises(StoreError, match=f"store {s3_store_uri}: cannot put {KEY}: .*BadDigest"):
        store.put(KEY, big_file)
    assert _uploads_in_progress(store) == []
    assert not store.exists(KEY)


@pytest.mark.parametrize("same", [True, False])
def test_s3_multipart_loses_race_at_completion(
    s3_store_uri: str, big_file: Path, same: bool
) -> None:
    store = S3Store(s3_store_uri, multipart_threshold=5 * MIB)
    winner = big_file.read_bytes() if same else b"another writer"

    def other_writer_first(**kwargs: Any) -> None:
        S3Store(s3_store_uri).put_bytes(KEY, winner)

    store.client.meta.events.register("before-call.s3.CompleteMultipartUpload", other_writer_first)
    if same:
        assert store.put(KEY, big_file) is False
    else:
        with pytest.raises(StoreConflict, match=KEY):
            store.put(KEY, big_file)
    assert store.get(KEY) == winner
    assert _uploads_in_progress(store) == []


def test_s3_download_checks_sha256_metadata(s3_store_uri: str, tmp_path: Path) -> None:
    store = S3Store(s3_store_uri)
    s3_client().put_object(
        Bucket=store.bucket,
        Key=f"archive/{KEY}",
        Body=b"bit rot",
        Metadata={"sha256": hashlib.sha256(b"original").hexdigest()},
    )
    with pytest.raises(StoreError, match="does not match its sha256"):
        store.download(KEY, tmp_path / "dest")
    assert list(tmp_path.iterdir()) == []


def test_s3_list_hides_probe_keys(s3_store_uri: str) -> None:
    store = S3Store(s3_store_uri)
    s3_client().put_object(Bucket=store.bucket, Key="archive/.scrubwatch-probe/x", Body=b"")
    store.put_bytes("a", b"a")
    assert list(store.list()) == ["a"]


def test_s3_missing_bucket(moto_server: str) -> None:
    uri = "s3://no-such-bucket-here/archive"
    with pytest.raises(StoreError, match=f"store {uri} is not reachable: bucket .* does not exist"):
        open_store(uri).check_writable()


def test_s3_unreachable_endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_closed_port()}")
    uri = "s3://bucket/archive"
    started = time.monotonic()
    with pytest.raises(StoreError, match=f"^store {uri} is not reachable: ") as error:
        open_store(uri).check_writable()
    assert time.monotonic() - started < 10
    assert "\n" not in str(error.value)
