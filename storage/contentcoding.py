"""Undoes HTTP content encodings (gzip, deflate, br, zstd), bounded in size.

Archives keep payloads as they came off the wire; readers want the bytes a
browser would see. Decompression is streamed with a cap, so a decompression bomb
costs at most ``max_bytes`` of memory and fails with :class:`TooLarge`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import brotli
import zstandard

CHUNK = 64 * 1024
DEFAULT_MAX = 256 * 1024 * 1024


class TooLarge(ValueError):
    """The decoded payload would exceed the cap."""


class BadEncoding(ValueError):
    """The payload is not valid for its declared content encoding."""


def _zlib(data: bytes, wbits: int, max_bytes: int) -> bytes:
    decoder = zlib.decompressobj(wbits)
    out = bytearray()
    pending = data
    while pending:
        out += decoder.decompress(pending, max_bytes + 1 - len(out))
        if len(out) > max_bytes:
            raise TooLarge(f"decoded payload exceeds {max_bytes} bytes")
        pending = decoder.unconsumed_tail
        if decoder.eof and decoder.unused_data:
            # concatenated gzip members
            pending, decoder = decoder.unused_data, zlib.decompressobj(wbits)
        elif not pending:
            break
    return bytes(out)


def _gzip(data: bytes, max_bytes: int) -> bytes:
    return _zlib(data, 16 + zlib.MAX_WBITS, max_bytes)


def _deflate(data: bytes, max_bytes: int) -> bytes:
    try:
        return _zlib(data, zlib.MAX_WBITS, max_bytes)  # zlib wrapper, as the RFC says
    except zlib.error:
        return _zlib(data, -zlib.MAX_WBITS, max_bytes)  # raw deflate, as some servers send


def _brotli(data: bytes, max_bytes: int) -> bytes:
    decoder = brotli.Decompressor()
    out = bytearray()
    for start in range(0, len(data), CHUNK):
        out += decoder.process(data[start : start + CHUNK])
        if len(out) > max_bytes:
            raise TooLarge(f"decoded payload exceeds {max_bytes} bytes")
    return bytes(out)


def _zstd(data: bytes, max_bytes: int) -> bytes:
    out = bytearray()
    reader = zstandard.ZstdDecompressor().stream_reader(data)
    while chunk := reader.read(CHUNK):
        out += chunk
        if len(out) > max_bytes:
            raise TooLarge(f"decoded payload exceeds {max_bytes} bytes")
    return bytes(out)


DECODERS: dict[str, Callable[[bytes, int], bytes]] = {
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": _deflate,
    "br": _brotli,
    "zstd": _zstd,
}


def decode_content(
    body: bytes, content_encoding: str | None, max_bytes: int = DEFAULT_MAX
) -> bytes:
    """``body`` with every listed content coding undone, last applied first."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):
        if coding == "identity":
            continue
        decoder = DECODERS.get(coding)
        if decoder is None:
            raise BadEncoding(f"unknown content encoding {coding!r}")
        try:
            body = decoder(body, max_bytes)
        except TooLarge:
            raise
        except (zlib.error, brotli.error, zstandard.ZstdError, OSError) as exc:
            raise BadEncoding(f"payload is not valid {coding}: {exc}") from exc
    return body
