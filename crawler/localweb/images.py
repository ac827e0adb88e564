"""Small, valid, distinct images for the local cited web, generated with zlib and struct.

Each image is a flat colour with deterministic noise, so it compresses to a few KB and
two images never share bytes; the same arguments always give the same bytes, which keeps
payload digests stable across versions and runs.
"""

from __future__ import annotations

import struct
import zlib

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png(width: int, height: int, rgb: tuple[int, int, int], seed: int) -> bytes:
    """An 8-bit RGB PNG of ``rgb`` with up to 31 levels of noise drawn from ``seed``."""
    state = seed & 0x7FFFFFFF
    rows = bytearray()
    for _ in range(height):
        rows.append(0)  # filter type "None" for every scanline
        for _ in range(width):
            for channel in rgb:
                state = (state * 1103515245 + 12345) & 0x7FFFFFFF
                rows.append(min(255, channel + (state >> 26)))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        (
            _PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(bytes(rows), 9)),
            _chunk(b"IEND", b""),
        )
    )


def ico(size: int, rgb: tuple[int, int, int], seed: int) -> bytes:
    """A one-image .ico file holding a ``size`` x ``size`` PNG (allowed since Windows Vista)."""
    image = png(size, size, rgb, seed)
    directory = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 24, len(image), 6 + 16)
    return directory + entry + image
