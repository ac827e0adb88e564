"""A store in an S3 bucket under a prefix: ``s3://bucket/prefix``.

boto3 finds the endpoint (``AWS_ENDPOINT_URL``), region and credentials the standard
way. Every object is written with a conditional ``If-None-Match: *`` so an existing
key is never replaced, with a SHA-256 checksum that S3 verifies on arrival, and with
the hex SHA-256 of the whole file as metadata ``sha256``. Files above
``multipart_threshold`` go up in parts (``storage.s3multipart``).

moto 5.2.5, used by the tests, honours ``If-None-Match: *`` on PutObject and
CompleteMultipartUpload and stores the checksums sent, but does not check a
checksum against the bytes received: that verification is only exercised on real S3.

With a ``Retention`` (``storage.retention``) every object is put under S3 Object Lock,
and ``check_writable`` refuses a bucket that does not have Object Lock enabled.
moto applies Object Lock given to PutObject but ignores it on CreateMultipartUpload,
so the tests check that request's parameters instead.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from storage.errors import StoreConflict, StoreError, StoreMissing, one_line
from storage.hashing import CHUNK_SIZE, hex_to_base64, sha256_chunks, sha256_file
from storage.layout import check_key
from storage.retention import Retention
from storage.s3multipart import MIB, MIN_PART_SIZE, part_size_for, upload_multipart

# At DEBUG, botocore and urllib3 log every request's headers, the signed Authorization
# (with the access key id) among them: a crawl's log must never hold credentials, so
# they stay at INFO whatever Scrapy's LOG_LEVEL (tests/test_secrets.py).
for _name in ("botocore", "boto3", "s3transfer", "urllib3"):
    logging.getLogger(_name).setLevel(logging.INFO)

PROBE_PREFIX = ".scrubwatch-probe/"
_MISSING_CODES = {"NoSuchKey", "NotFound", "404"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _precondition_failed(exc: ClientError) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return _code(exc) == "PreconditionFailed" or status == 412


class S3Store:
    """A store under ``s3://bucket/prefix``."""

    def __init__(
        self, uri: str, *, multipart_threshold: int = 64 * MIB, retention: Retention | None = None
    ) -> None:
        parts = urlsplit(uri)
        if parts.scheme.lower() != "s3" or not parts.netloc:
            raise StoreError(f"store URI {uri} is not of the form s3://bucket/prefix")
        if multipart_threshold < MIN_PART_SIZE:
            raise ValueError(f"multipart_threshold must be at least {MIN_PART_SIZE} bytes")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.uri = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        self.local_root: Path | None = None
        self.multipart_threshold = multipart_threshold
        self.retention = retention
        self._session = boto3.session.Session()
        # Public so that tests can register botocore event hooks on it.
        self.client = self._client(Config(retries={"mode": "standard", "max_attempts": 5}))

    def _client(self, config: Config) -> Any:
        try:
            return self._session.client("s3", config=config)
        except (BotoCoreError, ValueError) as exc:
            raise StoreError(f"store {self.uri}: cannot set up S3: {one_line(exc)}") from exc

    def _full(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _error(self, action: str, key: str, exc: Exception) -> StoreError:
        if isinstance(exc, ClientError) and _code(exc) in _MISSING_CODES:
            return StoreMissing(f"{key} is not in store {self.uri}")
        return StoreError(f"store {self.uri}: cannot {action} {key}: {one_line(exc)}")

    def _call(self, action: str, key: str, operation: str, **params: Any) -> Any:
        try:
            return getattr(self.client, operation)(
                Bucket=self.bucket, Key=self._full(check_key(key)), **params
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._error(action, key, exc) from exc

    def check_writable(self) -> None:
        # Fail fast at crawl start rather than retrying for a minute.
        probe_client = self._client(
            Config(
                connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 2}
            )
        )
        try:
            probe_client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            reason = f"bucket {self.bucket} does not exist" if _code(exc) in _MISSING_CODES else ""
            raise StoreError(
                f"store {self.uri} is not reachable: {reason or one_line(exc)}"
            ) from exc
        except BotoCoreError as exc:
            raise StoreError(f"store {self.uri} is not reachable: {one_line(exc)}") from exc
        if self.retention is not None:
            self._check_object_lock(probe_client)
        probe = self._full(f"{PROBE_PREFIX}{uuid.uuid4().hex}")
        try:
            probe_client.put_object(Bucket=self.bucket, Key=probe, Body=b"probe")
            probe_client.delete_object(Bucket=self.bucket, Key=probe)
        except (BotoCoreError, ClientError) as exc:
            raise StoreError(f"store {self.uri} is not writable: {one_line(exc)}") from exc

    def _check_object_lock(self, client: Any) -> None:
        try:
            config = client.get_object_lock_configuration(Bucket=self.bucket)
            enabled = config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
        except ClientError as exc:
            if _code(exc) != "ObjectLockConfigurationNotFoundError":
                raise StoreError(
                    f"store {self.uri}: cannot read the bucket's Object Lock set-up: {one_line(exc)}"
                ) from exc
            enabled = None
        except BotoCoreError as exc:
            raise StoreError(f"store {self.uri} is not reachable: {one_line(exc)}") from exc
        if enabled != "Enabled":
            raise StoreError(
                f"store {self.uri}: bucket {self.bucket} does not have S3 Object Lock enabled, "
                "so retention cannot be applied: use a bucket created with Object Lock, "
                "or leave out --retain-days"
            )

    def _lock_params(self) -> dict[str, Any]:
        return self.retention.object_params() if self.retention is not None else {}

    def put(self, key: str, path: Path) -> bool:
        try:
            size = path.stat().st_size
            digest = sha256_file(path)
            if size > self.multipart_threshold:
                return self._put_multipart(key, path, size, digest)
            with path.open("rb") as body:
                return self._put_object(key, body, digest)
        except OSError as exc:
            raise StoreError(
                f"store {self.uri}: cannot put {key} from {path}: {one_line(exc)}"
            ) from exc

    def put_bytes(self, key: str, data: bytes) -> bool:
        return self._put_object(key, data, hashlib.sha256(data).hexdigest())

    def _put_object(self, key: str, body: BinaryIO | bytes, digest: str) -> bool:
        try:
            self._call(
                "put",
                key,
                "put_object",
                Body=body,
                IfNoneMatch="*",
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=hex_to_base64(digest),
                Metadata={"sha256": digest},
                **self._lock_params(),
            )
        except StoreError as exc:
            # A retried PUT whose first attempt landed also ends here, and returns False.
            if isinstance(exc.__cause__, ClientError) and _precondition_failed(exc.__cause__):
                return self._compare_existing(key, digest)
            raise
        return True

    def _put_multipart(self, key: str, path: Path, size: int, digest: str) -> bool:
        if self.exists(key):  # spare re-uploading a large file that is already stored
            return self._compare_existing(key, digest)
        part_size = part_size_for(size, self.multipart_threshold)
        try:
            upload_multipart(
                self.client,
                self.bucket,
                self._full(key),
                path,
                part_size=part_size,
                sha256=digest,
                extra=self._lock_params(),
            )
        except ClientError as exc:
            if _precondition_failed(exc):  # the key appeared while the parts went up
                return self._compare_existing(key, digest)
            raise self._error("put", key, exc) from exc
        except BotoCoreError as exc:
            raise self._error("put", key, exc) from exc
        return True

    def _compare_existing(self, key: str, digest: str) -> bool:
        existing = self.sha256(key) or sha256_chunks(self.read_chunks(key))
        if existing == digest:
            return False
        raise StoreConflict(f"{key} already exists in store {self.uri} with different content")

    def get(self, key: str) -> bytes:
        with closing(self._call("read", key, "get_object")["Body"]) as body:
            try:
                return bytes(body.read())
            except (BotoCoreError, OSError) as exc:
                raise self._error("read", key, exc) from exc

    def download(self, key: str, dest: Path) -> None:
        response = self._call("download", key, "get_object")
        expected = response.get("Metadata", {}).get("sha256")
        tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.part"
        digest = hashlib.sha256()
        try:
            with closing(response["Body"]) as body, tmp.open("xb") as out:
                for chunk in body.iter_chunks(CHUNK_SIZE):
                    digest.update(chunk)
                    out.write(chunk)
            if expected and digest.hexdigest() != expected:
                raise StoreError(f"store {self.uri}: {key} does not match its sha256 metadata")
            os.replace(tmp, dest)
        except (BotoCoreError, OSError) as exc:
            raise StoreError(
                f"store {self.uri}: cannot download {key} to {dest}: {one_line(exc)}"
            ) from exc
        finally:
            tmp.unlink(missing_ok=True)

    def open_range(self, key: str, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError(f"invalid range: offset {offset}, length {length}")
        if length == 0:
            return b""
        try:
            response = self._call(
                "read", key, "get_object", Range=f"bytes={offset}-{offset + length - 1}"
            )
        except StoreError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and _code(cause) == "InvalidRange":
                return b""  # offset at or past the end, as a local read would give
            raise
        with closing(response["Body"]) as body:
            return bytes(body.read())

    def read_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        with closing(self._call("read", key, "get_object")["Body"]) as body:
            try:
                yield from body.iter_chunks(chunk_size)
            except (BotoCoreError, OSError) as exc:
                raise self._error("read", key, exc) from exc

    def exists(self, key: str) -> bool:
        try:
            self._call("look up", key, "head_object")
        except StoreMissing:
            return False
        return True

    def list(self, prefix: str = "") -> Iterator[str]:
        base = self._full("")
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base + prefix):
                for item in page.get("Contents", []):
                    key = item["Key"][len(base) :]
                    if not key.startswith(PROBE_PREFIX):
                        yield key
        except (BotoCoreError, ClientError) as exc:
            raise StoreError(f"store {self.uri}: cannot list {prefix!r}: {one_line(exc)}") from exc

    def size(self, key: str) -> int:
        return int(self._call("look up", key, "head_object")["ContentLength"])

    def sha256(self, key: str) -> str | None:
        metadata = self._call("look up", key, "head_object").get("Metadata", {})
        return metadata.get("sha256")
