"""Multipart upload of one large file to S3, with SHA-256 checksums, never left half-done.

Every part carries its SHA-256, which S3 verifies on arrival; the object then has a
checksum of the part checksums, so the hex SHA-256 of the whole file is also kept as
metadata ``sha256``. Completion is conditional (``If-None-Match: *``): it fails with
412 if the key appeared meanwhile. Any failure aborts the upload, so no orphaned parts
are left in the bucket (and billed). Object Lock retention, when the store has one,
is given at creation (``extra``), so the object is locked from the moment it exists.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from storage.errors import StoreError
from storage.hashing import hex_to_base64

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB  # S3's minimum for every part but the last
MAX_PARTS = 10_000


def part_size_for(size: int, wanted: int) -> int:
    """``wanted`` bytes, or more if a file of ``size`` bytes would need over MAX_PARTS parts."""
    return max(wanted, MIN_PART_SIZE, -(-size // MAX_PARTS))


def upload_multipart(
    client: Any,
    bucket: str,
    key: str,
    path: Path,
    *,
    part_size: int,
    sha256: str,
    extra: dict[str, Any] | None = None,
) -> None:
    """Upload ``path`` (whose hex SHA-256 is ``sha256``) to ``key``; boto errors propagate.

    ``extra`` holds more CreateMultipartUpload parameters (Object Lock retention).
    """
    upload = client.create_multipart_upload(
        Bucket=bucket,
        Key=key,
        ChecksumAlgorithm="SHA256",
        Metadata={"sha256": sha256},
        **(extra or {}),
    )["UploadId"]
    try:
        parts, uploaded_sha256 = _upload_parts(client, bucket, key, upload, path, part_size)
        if uploaded_sha256 != sha256:
            raise StoreError(f"{path} changed while it was uploaded to s3://{bucket}/{key}")
        client.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload,
            MultipartUpload={"Parts": parts},
            IfNoneMatch="*",
        )
    except BaseException:
        _abort(client, bucket, key, upload)
        raise


def _upload_parts(
    client: Any, bucket: str, key: str, upload: str, path: Path, part_size: int
) -> tuple[list[dict[str, Any]], str]:
    """The parts list for completion, and the hex SHA-256 of all the bytes read."""
    parts: list[dict[str, Any]] = []
    whole = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(part_size):
            whole.update(chunk)
            checksum = hex_to_base64(hashlib.sha256(chunk).hexdigest())
            number = len(parts) + 1
            response = client.upload_part(
                Bucket=bucket,
                Key=key,
                UploadId=upload,
                PartNumber=number,
                Body=chunk,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
            )
            parts.append(
                {"PartNumber": number, "ETag": response["ETag"], "ChecksumSHA256": checksum}
            )
    return parts, whole.hexdigest()


def _abort(client: Any, bucket: str, key: str, upload: str) -> None:
    try:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
    except (BotoCoreError, ClientError) as exc:
        logger.warning(
            "could not abort upload %s of s3://%s/%s, left to the bucket's lifecycle rules: %s",
            upload,
            bucket,
            key,
            exc,
        )
