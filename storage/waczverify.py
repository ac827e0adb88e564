"""Strict checks of a WACZ package: ``scrubwatch verify --wacz``.

:func:`verify_wacz` checks that

- ``datapackage.json`` is there, a WACZ data package, and lists every other file of the
  ZIP (but the digest file) with the SHA-256 and size the file has, re-hashed in full;
- ``datapackage-digest.json`` names ``datapackage.json`` with its hash, and its
  ``signedData``, when present, is a valid anonymous signature of that hash
  (:mod:`storage.waczsign`);
- the index is well formed (a compressed index's blocks are where the ``.idx`` says,
  with its hashes, and decompress whole), sorted, and every record it names is a whole
  gzip member of a WARC file of the package at that offset and length, holding a record
  of that URL (and payload digest);
- ``pages/pages.jsonl`` starts with its header line, and every page has a ``url`` that
  the index holds and an RFC 3339 ``ts``.

Every problem found is reported, not only the first; WARC data is read a record or a
chunk at a time.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator

from storage.errors import BadInput, one_line
from storage.hashing import CHUNK_SIZE
from storage.wacz import (
    ARCHIVE,
    DATAPACKAGE,
    DIGEST_FILE,
    INDEX_FORMAT,
    PAGES_FORMAT,
    PAGES_PATH,
)
from storage.waczsign import check_signed_data

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")


@dataclass
class WaczCheck:
    """What :func:`verify_wacz` found."""

    path: Path
    problems: list[str] = field(default_factory=list)
    files: int = 0
    records: int = 0
    pages: int = 0
    signed: bool = False


def _sha256(zf: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with zf.open(name) as fh:
        for chunk in iter(lambda: fh.read(CHUNK_SIZE), b""):
            digest.update(chunk)
            size += len(chunk)
    return f"sha256:{digest.hexdigest()}", size


def _json(zf: zipfile.ZipFile, name: str, check: WaczCheck) -> Any:
    try:
        return json.loads(zf.read(name))
    except KeyError:
        check.problems.append(f"{name}: missing")
    except (ValueError, zipfile.BadZipFile, zlib.error) as exc:
        check.problems.append(f"{name}: not JSON ({one_line(exc)})")
    return None


def verify_wacz(path: Path) -> WaczCheck:
    """Every problem of the package at ``path``; BadInput if it is no ZIP file at all."""
    check = WaczCheck(path)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BadInput(f"{path}: not a readable ZIP file: {one_line(exc)}") from exc
    with zf, path.open("rb") as raw:
        meta = _json(zf, DATAPACKAGE, check)
        if isinstance(meta, dict):
            _check_resources(zf, meta, check)
        _check_digest(zf, check)
        urls = _check_index(zf, raw, check)
        _check_pages(zf, urls, check)
    return check


def _check_resources(zf: zipfile.ZipFile, meta: dict[str, Any], check: WaczCheck) -> None:
    if meta.get("profile") != "data-package":
        check.problems.append(f"{DATAPACKAGE}: profile is not data-package")
    if not isinstance(meta.get("wacz_version"), str):
        check.problems.append(f"{DATAPACKAGE}: no wacz_version")
    resources = meta.get("resources")
    if not isinstance(resources, list):
        check.problems.append(f"{DATAPACKAGE}: no resources list")
        return
    names = set(zf.namelist())
    listed = set()
    for resource in resources:
        where = resource.get("path") if isinstance(resource, dict) else None
        if not isinstance(where, str):
            check.problems.append(f"{DATAPACKAGE}: a resource without a path: {resource!r}")
            continue
        listed.add(where)
        if where not in names:
            check.problems.append(f"{where}: listed in {DATAPACKAGE} but not in the package")
            continue
        digest, size = _sha256(zf, where)
        check.files += 1
        if resource.get("hash") != digest:
            check.problems.append(
                f"{where}: hash {digest}, {DATAPACKAGE} says {resource.get('hash')}"
            )
        if resource.get("bytes") != size:
            check.problems.append(
                f"{where}: {size} bytes, {DATAPACKAGE} says {resource.get('bytes')}"
            )
    for name in sorted(names - listed - {DATAPACKAGE, DIGEST_FILE}):
        if not name.endswith("/"):
            check.problems.append(f"{name}: in the package but not listed in {DATAPACKAGE}")


def _check_digest(zf: zipfile.ZipFile, check: WaczCheck) -> None:
    digest = _json(zf, DIGEST_FILE, check)
    if digest is None:
        return
    if not isinstance(digest, dict) or digest.get("path") != DATAPACKAGE:
        check.problems.append(f"{DIGEST_FILE}: path is not {DATAPACKAGE}")
        return
    try:
        actual, _ = _sha256(zf, DATAPACKAGE)
    except KeyError:
        return
    if digest.get("hash") != actual:
        check.problems.append(
            f"{DIGEST_FILE}: hash {digest.get('hash')}, {DATAPACKAGE} has {actual}"
        )
    if "signedData" in digest:
        check.signed = True
        for problem in check_signed_data(digest["signedData"], actual):
            check.problems.append(f"{DIGEST_FILE}: {problem}")


def _index_lines(zf: zipfile.ZipFile, check: WaczCheck) -> Iterator[tuple[str, str]]:
    """(index file, line) of every index of the package."""
    names = zf.namelist()
    for name in sorted(n for n in names if n.startswith("indexes/")):
        if name.endswith((".cdxj", ".cdx")):
            for line in zf.read(name).decode("utf-8").splitlines():
                if line.strip():
                    yield name, line
        elif name.endswith(".idx"):
            yield from _zipnum_lines(zf, name, check)
        elif not name.endswith(".gz"):
            check.problems.append(f"{name}: not an index this check reads")


def _zipnum_lines(
    zf: zipfile.ZipFile, idx_name: str, check: WaczCheck
) -> Iterator[tuple[str, str]]:
    lines = zf.read(idx_name).decode("utf-8").splitlines()
    if not lines or not lines[0].startswith("!meta"):
        check.problems.append(f"{idx_name}: no !meta header line")
        return
    meta = json.loads(lines[0][lines[0].index("{") :])
    if meta.get("format") != INDEX_FORMAT:
        check.problems.append(f"{idx_name}: format {meta.get('format')!r}, not {INDEX_FORMAT}")
    data_name = "indexes/" + str(meta.get("filename"))
    try:
        data = zf.read(data_name)
    except KeyError:
        check.problems.append(f"{idx_name}: its data file {data_name} is missing")
        return
    expected = 0
    for number, line in enumerate(lines[1:], start=2):
        key, block = line.split(" {", 1)[0], json.loads(line[line.index(" {") + 1 :])
        offset, length = int(block["offset"]), int(block["length"])
        member = data[offset : offset + length]
        where = f"{idx_name} line {number}"
        if offset != expected:
            check.problems.append(
                f"{where}: block at {offset}, the previous one ends at {expected}"
            )
        expected = offset + length
        if "digest" in block and block["digest"] != f"sha256:{hashlib.sha256(member).hexdigest()}":
            check.problems.append(f"{where}: block hash differs from the .idx's")
        try:
            text = gzip.decompress(member).decode("utf-8")
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            check.problems.append(f"{where}: block does not decompress ({one_line(exc)})")
            continue
        block_lines = [x for x in text.splitlines() if x.strip()]
        if block_lines and not block_lines[0].startswith(key):
            check.problems.append(f"{where}: block starts at {block_lines[0][:60]!r}, not {key!r}")
        for x in block_lines:
            yield data_name, x
    if expected != len(data):
        check.problems.append(
            f"{idx_name}: blocks cover {expected} of {len(data)} bytes of {data_name}"
        )


def _data_offset(raw: IO[bytes], info: zipfile.ZipInfo) -> int:
    raw.seek(info.header_offset)
    header = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
    return info.header_offset + _LOCAL_HEADER.size + header[9] + header[10]


def _check_index(zf: zipfile.ZipFile, raw: IO[bytes], check: WaczCheck) -> set[str]:
    """Check each index line against its record; the URLs the index holds."""
    urls: set[str] = set()
    previous: dict[str, bytes] = {}
    warcs: dict[str, tuple[int, int]] = {}  # name -> offset of its data in the ZIP, size
    for info in zf.infolist():
        if info.filename.startswith(ARCHIVE):
            if info.compress_type != zipfile.ZIP_STORED:
                check.problems.append(f"{info.filename}: compressed in the ZIP, not STORE mode")
            else:
                warcs[info.filename[len(ARCHIVE) :]] = (_data_offset(raw, info), info.file_size)
    if not any(n.startswith("indexes/") for n in zf.namelist()):
        check.problems.append("indexes/: no index")
    for name, line in _index_lines(zf, check):
        key = line.encode()
        if name in previous and key < previous[name]:
            check.problems.append(f"{name}: not sorted at {line[:80]!r}")
        previous[name] = key
        try:
            fields = json.loads(line.split(" ", 2)[2])
            filename, offset, length = (
                fields["filename"],
                int(fields["offset"]),
                int(fields["length"]),
            )
        except (IndexError, ValueError, KeyError) as exc:
            check.problems.append(f"{name}: unreadable line {line[:80]!r} ({one_line(exc)})")
            continue
        urls.add(fields.get("url", ""))
        check.records += 1
        where = f"{name}: {fields.get('url')} at {filename}:{offset}"
        if filename not in warcs:
            check.problems.append(f"{where}: no such WARC file in {ARCHIVE}")
            continue
        start, size = warcs[filename]
        if offset + length > size:
            check.problems.append(f"{where}+{length}: beyond the file's {size} bytes")
            continue
        raw.seek(start + offset)
        problem = _check_member(raw.read(length), fields)
        if problem:
            check.problems.append(f"{where}: {problem}")
    return urls


def _check_member(member: bytes, fields: dict[str, Any]) -> str | None:
    """What is wrong with the gzip member an index line names; None if nothing."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        inflate.decompress(member)
    except zlib.error as exc:
        return f"not a gzip member ({one_line(exc)})"
    if not inflate.eof or inflate.unused_data:
        return "not one whole gzip member of that length"
    try:
        record = next(iter(ArchiveIterator(io.BytesIO(member))))
    except (StopIteration, ValueError, OSError) as exc:
        return f"not a WARC record ({one_line(exc)})"
    uri = record.rec_headers.get_header("WARC-Target-URI")
    if uri != fields.get("url"):
        return f"holds a record of {uri}"
    digest = record.rec_headers.get_header("WARC-Payload-Digest")
    if fields.get("digest") and digest and fields["digest"] != digest:
        return f"payload digest {digest}, the index says {fields['digest']}"
    return None


def _check_pages(zf: zipfile.ZipFile, urls: set[str], check: WaczCheck) -> None:
    try:
        lines = zf.read(PAGES_PATH).decode("utf-8").splitlines()
    except KeyError:
        check.problems.append(f"{PAGES_PATH}: missing")
        return
    except UnicodeDecodeError as exc:
        check.problems.append(f"{PAGES_PATH}: not UTF-8 ({one_line(exc)})")
        return
    for number, line in enumerate(lines, start=1):
        where = f"{PAGES_PATH} line {number}"
        try:
            entry = json.loads(line)
        except ValueError as exc:
            check.problems.append(f"{where}: not JSON ({one_line(exc)})")
            continue
        if not isinstance(entry, dict):
            check.problems.append(f"{where}: not a JSON object")
            continue
        if number == 1:
            if entry.get("format") != PAGES_FORMAT:
                check.problems.append(f"{where}: header's format is not {PAGES_FORMAT}")
            continue
        check.pages += 1
        url, ts = entry.get("url"), entry.get("ts")
        if not isinstance(url, str) or not url:
            check.problems.append(f"{where}: no url")
        elif url not in urls:
            check.problems.append(f"{where}: {url} is not in the index")
        if not isinstance(ts, str) or not _is_rfc3339(ts):
            check.problems.append(f"{where}: ts {ts!r} is not an RFC 3339 time")
        for name in ("title", "text", "id"):
            if name in entry and not isinstance(entry[name], str):
                check.problems.append(f"{where}: {name} is not a string")


def _is_rfc3339(value: str) -> bool:
    if len(value) < 20 or "T" not in value or not (value.endswith("Z") or value[-6] in "+-"):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True
