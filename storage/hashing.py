"""SHA-256 of files and streams, read in chunks so that large WARC files never sit in memory."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from pathlib import Path

CHUNK_SIZE = 1024 * 1024


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of the file at ``path``."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def sha256_chunks(chunks: Iterable[bytes]) -> str:
    """Hex SHA-256 of the concatenation of ``chunks``."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def hex_to_base64(hex_digest: str) -> str:
    """A hex digest in the base64 form S3 uses for ``ChecksumSHA256``."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")
