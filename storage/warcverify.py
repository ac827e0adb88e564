"""A WARC validator stronger than ``warcio check``, streaming, one gzip member at a time.

For every member: the gzip stream must end (a truncated last member is caught, which
``warcio check`` misses) with a good CRC (a flipped byte is caught); the member must
hold exactly one WARC record whose ``Content-Length`` matches its block, followed by
``\\r\\n\\r\\n``; ``WARC-Block-Digest`` and, for responses, ``WARC-Payload-Digest`` must
match when they are SHA-256. The record count is returned, so a manifest can say how
many records each file holds and ``verify`` can compare.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class WarcCheck:
    records: int = 0
    problems: list[str] = field(default_factory=list)
    sha256: str = ""
    bytes: int = 0


def _digest_ok(value: str, data: bytes) -> bool | None:
    """True/False for a sha256 or sha1 digest header, None for an algorithm not checked."""
    algorithm, _, expected = value.partition(":")
    algorithm = algorithm.lower()
    if algorithm not in ("sha256", "sha1"):
        return None
    digest = hashlib.new(algorithm, data).digest()
    return expected.lower() in (digest.hex(), base64.b32encode(digest).decode().lower())


def _check_record(record: bytes, offset: int) -> list[str]:
    head, sep, rest = record.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"WARC/"):
        return [f"offset {offset}: member does not start with a WARC record header"]
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("utf-8", "replace").partition(":")
        headers[name.strip().lower()] = value.strip()
    try:
        length = int(headers.get("content-length", ""))
    except ValueError:
        return [f"offset {offset}: no valid Content-Length"]
    if len(rest) != length + 4 or not rest.endswith(b"\r\n\r\n"):
        return [
            f"offset {offset}: Content-Length {length} disagrees with the record "
            f"({len(rest) - 4} bytes before the end of the member)"
        ]
    block = rest[:length]
    problems = []
    if "warc-block-digest" in headers and _digest_ok(headers["warc-block-digest"], block) is False:
        problems.append(f"offset {offset}: WARC-Block-Digest does not match the block")
    if headers.get("warc-type") == "response" and "warc-payload-digest" in headers:
        payload = block.partition(b"\r\n\r\n")[2]
        if _digest_ok(headers["warc-payload-digest"], payload) is False:
            problems.append(f"offset {offset}: WARC-Payload-Digest does not match the payload")
    return problems


def check_warc(chunks: Iterable[bytes]) -> WarcCheck:
    """Check a gzipped WARC file given as a stream of chunks."""
    result = WarcCheck()
    whole = hashlib.sha256()
    stream = iter(chunks)
    decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
    member = bytearray()
    member_offset = 0
    consumed = 0  # compressed bytes before the current member
    pending = b""
    started = False
    for chunk in stream:
        whole.update(chunk)
        result.bytes += len(chunk)
        pending += chunk
        while pending:
            if not started:
                if len(pending) < 2:
                    break
                if pending[:2] != GZIP_MAGIC:
                    result.problems.append(f"offset {consumed}: not a gzip member")
                    return _finish(result, stream, whole)
                started, member_offset = True, consumed
            before = len(pending)
            try:
                member += decoder.decompress(pending)
            except zlib.error as exc:
                result.problems.append(f"offset {member_offset}: corrupt gzip member ({exc})")
                return _finish(result, stream, whole)
            if not decoder.eof:
                consumed += before
                pending = b""
                break
            pending = decoder.unused_data
            consumed += before - len(pending)
            result.problems.extend(_check_record(bytes(member), member_offset))
            result.records += 1
            member.clear()
            decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
            started = False
    if started or pending:
        result.problems.append(f"offset {member_offset}: truncated gzip member at end of file")
    result.sha256 = whole.hexdigest()
    return result


def _finish(result: WarcCheck, chunks: Iterator[bytes], whole: Any) -> WarcCheck:
    """After a fatal problem, still hash the rest so the caller gets the file's sha256."""
    for chunk in chunks:
        whole.update(chunk)
        result.bytes += len(chunk)
    result.sha256 = whole.hexdigest()
    return result
