"""Undoes HTTP content encodings (gzip, deflate, br, zstd), bounded in size.

Archives keep payloads as they came off the wire; readers want the bytes a browser
would see. Output is bounded: past ``max_bytes`` decoding stops with
:class:`ContentTooLarge`, so a decompression bomb costs ``max_bytes`` at most. A
truncated stream (a capture cut short) gives what it holds; with ``cut``, a payload
decoding past ``max_bytes`` gives its first ``max_bytes`` (for a capture truncated anyway).
"""

from __future__ import annotations

import zlib

import brotli
import zstandard

from storage.errors import BadInput

DEFAULT_MAX_BYTES = 16 * 1024 * 1024


class ContentTooLarge(BadInput):
    """The decoded payload would pass ``max_bytes``."""


class ContentDecodingError(BadInput):
    """The Content-Encoding is unknown or its stream is corrupt."""


def _too_large(out: bytes | bytearray, limit: int, cut: bool) -> bytes:
    if cut:
        return bytes(out[:limit])
    raise ContentTooLarge(f"decodes to more than {limit} bytes")


def _inflate(data: bytes, wbits: int, limit: int, cut: bool = False) -> bytes:
    out = bytearray()
    inflater = zlib.decompressobj(wbits)
    while True:
        out += inflater.decompress(data, limit + 1 - len(out))
        if len(out) > limit:
            return _too_large(out, limit, cut)
        data = inflater.unconsumed_tail
        if inflater.eof and wbits > zlib.MAX_WBITS and inflater.unused_data.strip(b"\0"):
            data, inflater = inflater.unused_data, zlib.decompressobj(wbits)  # next gzip member
        elif inflater.eof or not data:  # done, or a truncated stream: keep what came out
            return bytes(out)


def _unbrotli(data: bytes, limit: int, cut: bool = False) -> bytes:
    decompressor = brotli.Decompressor()
    out = decompressor.process(data, output_buffer_limit=limit + 1)
    while len(out) <= limit and not decompressor.can_accept_more_data():
        out += decompressor.process(b"", output_buffer_limit=limit + 1 - len(out))
    if len(out) > limit:
        return _too_large(out, limit, cut)
    return out


def _unzstd(data: bytes, limit: int, cut: bool = False) -> bytes:
    reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True)
    out = bytearray()
    while len(out) <= limit and (chunk := reader.read(min(limit + 1 - len(out), 1 << 20))):
        out += chunk
    if len(out) > limit:
        return _too_large(out, limit, cut)
    return bytes(out)


def decode_content(
    body: bytes,
    content_encoding: str | None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    *,
    cut: bool = False,
) -> bytes:
    """Undo ``Content-Encoding`` (gzip, deflate as zlib or raw, br, zstd; several in order).

    Output is bounded: past ``max_bytes`` it raises :class:`ContentTooLarge` without
    inflating the rest, so a decompression bomb costs ``max_bytes`` at most; with
    ``cut`` it returns the first ``max_bytes`` instead.
    """
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    try:
        for coding in reversed(codings):
            if coding in ("gzip", "x-gzip"):
                body = _inflate(body, 16 + zlib.MAX_WBITS, max_bytes, cut)
            elif coding == "deflate":
                try:
                    body = _inflate(body, zlib.MAX_WBITS, max_bytes, cut)
                except zlib.error:
                    body = _inflate(body, -zlib.MAX_WBITS, max_bytes, cut)
            elif coding == "br":
                body = _unbrotli(body, max_bytes, cut)
            elif coding == "zstd":
                body = _unzstd(body, max_bytes, cut)
            elif coding != "identity":
                raise ContentDecodingError(f"unsupported content-encoding {coding!r}")
    except (zlib.error, brotli.error, zstandard.ZstdError) as exc:
        raise ContentDecodingError(f"corrupt {content_encoding} stream: {exc}") from exc
    return body
