"""Tests of ``scrubwatch push`` and storage.publish resuming, and of Object Lock retention."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from click.testing import CliRunner

from crawler.cli import main
from crawler.localweb import LocalWeb
from storage import StoreError, manifest_key, open_store, staged_files, verify_store
from storage.layout import staged_dirs, text_key
from storage.publish import PublishError, publish_crawl
from storage.push import push
from storage.retention import Retention
from storage.s3store import MIB, S3Store
from tests.fixtures.cli import crawl_local, run_cli
from tests.fixtures.s3 import s3_client
from tests.fixtures.stored import Capture, stage_crawl

CRAWL = "20260101T000000Z"
CAPTURES = [
    Capture("https://www.upi.com/a", "upi", "a.warc.gz"),
    Capture("https://www.upi.com/b", "upi", "b.warc.gz"),
]


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.data


def versioned_bucket(**create: Any) -> str:
    """A fresh bucket that keeps every version, so an overwrite would show."""
    bucket = f"test-{uuid.uuid4().hex[:20]}"
    s3_client().create_bucket(Bucket=bucket, **create)
    if not create.get("ObjectLockEnabledForBucket"):
        s3_client().put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
        )
    return bucket


def versions(bucket: str) -> Counter[str]:
    """How many versions each object key has (probe objects left out)."""
    listing = s3_client().list_object_versions(Bucket=bucket)
    return Counter(
        v["Key"] for v in listing.get("Versions", []) if ".scrubwatch-probe/" not in v["Key"]
    )


def push_cli(*args: str) -> Any:
    return CliRunner().invoke(main, ["push", *args])


def test_interrupted_publish_is_finished_by_push(moto_server: str, tmp_path: Path) -> None:
    bucket = versioned_bucket()
    uri = f"s3://{bucket}/archive"
    staging = tmp_path / "staging"
    staged = stage_crawl(staging, CRAWL, CAPTURES, store_uri=uri)
    before = {key: path.read_bytes() for key, path in staged}
    store = S3Store(uri)
    second = f"archive/{staged[1][0]}"
    attempts = []

    def fail_second_put(request: Any, **kwargs: Any) -> AWSResponse | None:
        if request.url.split("?")[0].endswith(second):
            attempts.append(request.url)
            error = b"<Error><Code>InternalError</Code><Message>down</Message></Error>"
            return AWSResponse(request.url, 500, {}, _Body(error))
        return None

    store.client.meta.events.register("before-send.s3.PutObject", fail_second_put)
    with pytest.raises(PublishError) as failure:
        publish_crawl(store, staging, CRAWL)
    assert len(attempts) == 6  # the first try and the 5 retries of the budget
    message = str(failure.value)
    assert "\n" not in message and staged[1][0] in message
    assert f"scrubwatch push --store {uri} --staging {staging} --crawl {CRAWL}" in message
    kept = {key: path.read_bytes() for key, path in staged_files(staging, CRAWL)}
    assert {key: kept.get(key) for key in before} == before
    assert not store.exists(manifest_key(CRAWL)) and not store.exists(staged[1][0])

    done = push_cli("--store", uri, "--staging", str(staging))
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith(f"crawl {CRAWL}: ") and "already there, complete" in done.stdout
    assert not any(folder.exists() for folder in staged_dirs(staging, CRAWL))
    assert store.exists(text_key(CRAWL, "part-00000.parquet"))
    verified = CliRunner().invoke(main, ["verify", "--store", uri])
    assert verified.exit_code == 0 and verified.stdout == "ok: 1 crawls, 9 files verified\n"
    counts = versions(bucket)
    assert set(counts) == {f"archive/{k}" for k in before} | {
        *(f"archive/crawls/{CRAWL}/indexes/index.{ext}" for ext in ("cdxj.gz", "idx", "loc")),
        f"archive/{manifest_key(CRAWL)}",
    }
    assert set(counts.values()) == {1}
    assert s3_client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []

    again = push_cli("--store", uri, "--staging", str(staging))
    assert again.exit_code == 0 and again.stdout.startswith("nothing staged")
    named = push_cli("--store", uri, "--staging", str(staging), "--crawl", CRAWL)
    assert named.exit_code == 0 and "0 files stored, 0 already there, complete" in named.stdout
    assert set(versions(bucket).values()) == {1}


def test_push_after_the_manifest_went_up_only_cleans_staging(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "archive"))
    staging = tmp_path / "staging"
    staged = stage_crawl(staging, CRAWL, CAPTURES, store_uri=store.uri)
    shutil.copytree(staging, tmp_path / "copy")
    first = publish_crawl(store, staging, CRAWL)
    assert not (staging / "crawls" / CRAWL).exists()
    shutil.copytree(
        tmp_path / "copy", staging, dirs_exist_ok=True
    )  # as if the clean-up had been cut short
    again = publish_crawl(store, staging, CRAWL)
    assert again.stored == [] and set(again.already_there) == {k for k, _ in staged}
    assert again.manifest == first.manifest
    assert not (staging / "crawls" / CRAWL).exists()
    shutil.copytree(tmp_path / "copy", staging, dirs_exist_ok=True)
    (staging / staged[-1][0]).write_bytes(b"not what was stored")
    with pytest.raises(PublishError, match="is not in that manifest: the staged copy is kept"):
        publish_crawl(store, staging, CRAWL)
    assert (staging / staged[-1][0]).exists()


def test_push_picks_finished_crawls_staged_for_this_store(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "archive"))
    staging = tmp_path / "staging"
    stage_crawl(staging, "mine", CAPTURES, store_uri=str(tmp_path / "archive"))
    stage_crawl(staging, "other", CAPTURES, store_uri="s3://elsewhere/archive")
    stage_crawl(staging, "running", CAPTURES, store_uri=store.uri)
    (staging / "crawls" / "running" / "crawl-info.json").unlink()
    result = push(store, staging)
    assert [p.crawl_id for p in result.published] == ["mine"] and result.failed == {}
    assert (staging / "crawls" / "other").exists() and (staging / "crawls" / "running").exists()
    with pytest.raises(PublishError, match=r"crawl running in .* has not finished"):
        push(store, staging, ["running"])
    with pytest.raises(PublishError, match=r"crawl nope has nothing staged in .* and is not in"):
        push(store, staging, ["nope"])
    refused = push_cli("--store", store.uri, "--staging", str(staging), "--crawl", "running")
    assert refused.exit_code == 2 and len(refused.stderr.splitlines()) == 1


# --- Object Lock retention ---------------------------------------------------------------


def test_retention_on_put_and_multipart(moto_server: str, tmp_path: Path) -> None:
    bucket = versioned_bucket(ObjectLockEnabledForBucket=True)
    uri = f"s3://{bucket}/archive"
    store = open_store(uri, retain_days=7)
    assert isinstance(store, S3Store) and store.retention == Retention(7, "GOVERNANCE")
    store.check_writable()
    store.put_bytes("small", b"evidence")
    head = s3_client().head_object(Bucket=bucket, Key="archive/small")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    until = head["ObjectLockRetainUntilDate"]
    assert abs(until - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=5)

    big = S3Store(uri, multipart_threshold=5 * MIB, retention=Retention(3, "COMPLIANCE"))
    sent: list[dict[str, Any]] = []
    big.client.meta.events.register(
        "provide-client-params.s3.CreateMultipartUpload", lambda params, **kw: sent.append(params)
    )
    path = tmp_path / "big.warc.gz"
    path.write_bytes(os.urandom(6 * MIB))
    assert big.put("big", path) is True
    # moto ignores Object Lock on CreateMultipartUpload (see storage.s3store): check the request
    assert sent[0]["ObjectLockMode"] == "COMPLIANCE"
    until = sent[0]["ObjectLockRetainUntilDate"]
    assert abs(until - (datetime.now(UTC) + timedelta(days=3))) < timedelta(minutes=5)


def test_push_with_retention(moto_server: str, tmp_path: Path) -> None:
    bucket = versioned_bucket(ObjectLockEnabledForBucket=True)
    uri = f"s3://{bucket}/archive"
    stage_crawl(tmp_path / "staging", CRAWL, CAPTURES, store_uri=uri)
    done = push_cli("--store", uri, "--staging", str(tmp_path / "staging"), "--retain-days", "30")
    assert done.exit_code == 0, done.output
    client = s3_client()
    for key in versions(bucket):
        assert client.head_object(Bucket=bucket, Key=key)["ObjectLockMode"] == "GOVERNANCE"
    assert verify_store(open_store(uri)) == []


def test_retention_refused_without_object_lock(s3_store_uri: str, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not have S3 Object Lock enabled") as error:
        open_store(s3_store_uri, retain_days=7).check_writable()
    assert "\n" not in str(error.value)
    with pytest.raises(StoreError, match="retention needs an s3:// store"):
        open_store(str(tmp_path), retain_days=7)
    with pytest.raises(ValueError, match="0 \\(none\\) or more"):
        open_store(s3_store_uri, retain_days=-1)
    with pytest.raises(ValueError, match="unknown Object Lock mode"):
        open_store(s3_store_uri, retain_days=1, lock_mode="forever")
    assert open_store(s3_store_uri, retain_days=0).retention is None
    refused = push_cli("--store", s3_store_uri, "--staging", str(tmp_path), "--retain-days", "7")
    assert refused.exit_code == 2
    assert refused.stderr.count("\n") == 1 and "Object Lock" in refused.stderr


def test_crawl_refuses_retention_on_a_plain_bucket(s3_store_uri: str) -> None:
    done = run_cli("crawl", "https://example.org/", "--store", s3_store_uri, "--retain-days", "7")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "does not have S3 Object Lock enabled" in done.stderr


@pytest.mark.slow
def test_crawl_with_retention(
    localweb: LocalWeb, localweb_registry: Path, moto_server: str
) -> None:
    bucket = versioned_bucket(ObjectLockEnabledForBucket=True)
    uri = f"s3://{bucket}/archive"
    done = crawl_local(
        localweb.seed_url, uri, localweb_registry, "--crawl-id", "locked", "--retain-days", "2"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    head = s3_client().head_object(Bucket=bucket, Key="archive/crawls/locked/manifest.json")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    info = json.loads(open_store(uri).get("crawls/locked/crawl-info.json"))
    assert info["store"] == uri
