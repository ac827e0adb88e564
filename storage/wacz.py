"""WACZ 1.1.1 packages of a store's crawls: what ``scrubwatch export`` writes.

A package is a ZIP file (:func:`write_wacz`) holding

- ``archive/<crawl id>-<file>``: each crawl's WARC files, as stored, in the ZIP's STORE
  mode (so a reader finds a record at its offset with one range read), streamed from
  the store a chunk at a time;
- ``archive/originals.warc.gz``: the records the crawls' revisits refer to that are
  archived in other crawls, copied whole (gzip member by gzip member), so that the
  package replays without the store; ``datapackage.json`` says how many and from where;
- ``indexes/index.cdxj``: the crawls' CDXJ lines with ``filename`` naming the package's
  WARC files, sorted; an index of more than :data:`PLAIN_INDEX_LINES` lines is written
  as ``indexes/index.cdx.gz`` (gzip blocks, STORE mode) with ``indexes/index.idx``
  (``!meta 0 {"format": "cdxj-gzip-1.0", ...}``, then the first key of each block with
  its offset, length and SHA-256), the compressed form the WACZ spec shows;
- ``pages/pages.jsonl``: a header line, then one :class:`Page` a line;
- ``datapackage.json``: every file above with its ``sha256:`` hash and size, and
  ``created``, ``software``, ``title``, ``mainPageUrl``/``mainPageDate``;
- ``datapackage-digest.json``: the hash of ``datapackage.json``, and its signature when
  a key is given (:mod:`storage.waczsign`).

Nothing of a WARC file is held in memory: each is copied in chunks of
:data:`storage.hashing.CHUNK_SIZE`, and an original in one range read of its record.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from storage.errors import BadInput, StoreError, one_line
from storage.layout import list_crawl_ids, warc_key, warc_prefix
from storage.records import REVISIT_MIME, RecordReader, RecordRef

if TYPE_CHECKING:
    from storage.stores import Store
    from storage.waczsign import Signer

WACZ_VERSION = "1.1.1"
PAGES_FORMAT = "json-pages-1.0"
INDEX_FORMAT = "cdxj-gzip-1.0"
ARCHIVE = "archive/"
ORIGINALS_NAME = "originals.warc.gz"
PLAIN_INDEX = "indexes/index.cdxj"
GZIP_INDEX = "indexes/index.cdx.gz"
INDEX_IDX = "indexes/index.idx"
PAGES_PATH = "pages/pages.jsonl"
DATAPACKAGE = "datapackage.json"
DIGEST_FILE = "datapackage-digest.json"
#: an index of more lines than this is written compressed, in blocks, with an ``.idx``
PLAIN_INDEX_LINES = 3000
#: lines per compressed block: cdxj-indexer's and py-wacz's
BLOCK_LINES = 300


@dataclass(frozen=True)
class Page:
    """One line of ``pages.jsonl``: a page the package holds, as the dataset saw it."""

    url: str
    ts: str  # RFC 3339, UTC
    title: str | None = None
    text: str | None = None

    @property
    def id(self) -> str:
        return hashlib.sha256(f"{self.ts} {self.url}".encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        line: dict[str, Any] = {"id": self.id, "url": self.url, "ts": self.ts}
        if self.title:
            line["title"] = self.title
        if self.text:
            line["text"] = self.text
        return line


@dataclass(frozen=True)
class Resource:
    """A file of the package as ``datapackage.json`` lists it."""

    path: str
    hash: str  # sha256:<hex>
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": resource_name(self.path),
            "path": self.path,
            "hash": self.hash,
            "bytes": self.bytes,
        }


@dataclass
class Export:
    """What :func:`write_wacz` wrote."""

    path: Path
    crawls: list[str]
    resources: list[Resource] = field(default_factory=list)
    captures: int = 0
    pages: int = 0
    originals: int = 0  # records copied in from crawls outside the package
    original_crawls: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # revisit digests with no original
    signed: bool = False

    @property
    def bytes(self) -> int:
        return self.path.stat().st_size


def resource_name(path: str) -> str:
    """A resource's ``name``: its file name in the characters Frictionless allows
    (lower case, digits, ``-._/``; crawl ids have capitals)."""
    return re.sub(r"[^-a-z0-9._/]", "-", path.rsplit("/", 1)[-1].lower())


def package_warc_name(crawl_id: str, filename: str) -> str:
    """The name a crawl's WARC file takes in ``archive/`` (crawls' names may repeat)."""
    return f"{crawl_id}-{filename}"


class _Hashing:
    """Writes through to a ZIP entry, hashing and counting what passes."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.sha256.update(data)
        self.size += len(data)


class _Package:
    def __init__(self, zf: zipfile.ZipFile, created: datetime) -> None:
        self.zf = zf
        self.created = created
        self.resources: list[Resource] = []

    def _info(self, path: str, stored: bool, size: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(path, date_time=self.created.timetuple()[:6])
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        info.file_size = size  # zipfile writes ZIP64 headers only when this needs them
        return info

    def write_chunks(
        self,
        path: str,
        chunks: Iterable[bytes],
        *,
        stored: bool,
        size: int = 0,
        listed: bool = True,
    ) -> Resource:
        with self.zf.open(self._info(path, stored, size), "w") as out:
            sink = _Hashing(out)
            for chunk in chunks:
                sink.write(chunk)
        resource = Resource(path, f"sha256:{sink.sha256.hexdigest()}", sink.size)
        if listed:
            self.resources.append(resource)
        return resource

    def write_bytes(
        self, path: str, data: bytes, *, stored: bool = False, listed: bool = True
    ) -> Resource:
        return self.write_chunks(path, [data], stored=stored, size=len(data), listed=listed)


def _index_line(line: str, filename: str, offset: int | None = None) -> tuple[str, dict[str, Any]]:
    key, timestamp, data = line.split(" ", 2)
    fields = json.loads(data)
    fields["filename"] = filename
    if offset is not None:
        fields["offset"] = str(offset)
    return f"{key} {timestamp} {json.dumps(fields)}", fields


def _members(store: Store, crawl_id: str, refs: Iterable[RecordRef]) -> Iterator[bytes]:
    for ref in refs:
        yield store.open_range(warc_key(crawl_id, ref.filename), ref.offset, ref.length)


def _blocks(lines: list[str]) -> Iterator[tuple[str, bytes]]:
    """The lines in gzip members of :data:`BLOCK_LINES`, each with its first key."""
    for start in range(0, len(lines), BLOCK_LINES):
        block = lines[start : start + BLOCK_LINES]
        deflate = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        data = deflate.compress("".join(line + "\n" for line in block).encode()) + deflate.flush()
        yield " ".join(block[0].split(" ", 2)[:2]), data


def _write_index(package: _Package, lines: list[str], plain_lines: int) -> None:
    lines.sort(key=lambda line: line.encode())
    if len(lines) <= plain_lines:
        package.write_bytes(PLAIN_INDEX, "".join(line + "\n" for line in lines).encode())
        return
    data = bytearray()
    idx = [f'!meta 0 {{"format": "{INDEX_FORMAT}", "filename": "{GZIP_INDEX.rsplit("/", 1)[-1]}"}}']
    for first, member in _blocks(lines):
        digest = hashlib.sha256(member).hexdigest()
        block = {"offset": len(data), "length": len(member), "digest": f"sha256:{digest}"}
        idx.append(f"{first} {json.dumps(block)}")
        data += member
    package.write_bytes(GZIP_INDEX, bytes(data), stored=True)
    package.write_bytes(INDEX_IDX, "".join(line + "\n" for line in idx).encode())


def _pages_lines(pages: Iterable[Page]) -> Iterator[bytes]:
    header = {"format": PAGES_FORMAT, "id": "pages", "title": "All Pages"}
    yield json.dumps(header).encode() + b"\n"
    for page in pages:
        yield json.dumps(page.to_dict(), ensure_ascii=False).encode() + b"\n"


def _check_crawls(store: Store, crawl_ids: list[str]) -> None:
    if not crawl_ids:
        raise BadInput("nothing to export: give at least one --crawl")
    known = set(list_crawl_ids(store))
    for crawl_id in crawl_ids:
        if crawl_id not in known:
            raise StoreError(f"no crawl {crawl_id} in store {store.uri}")


def write_wacz(
    store: Store,
    crawl_ids: list[str],
    out: Path,
    *,
    pages: Iterable[Page],
    created: datetime,
    software: str,
    title: str,
    main_page: Page | None = None,
    urls: frozenset[str] | None = None,
    signer: Signer | None = None,
    plain_index_lines: int = PLAIN_INDEX_LINES,
) -> Export:
    """Write the package of ``crawl_ids`` to ``out`` (replaced only once it is whole).

    With ``urls``, only the captures of those URLs (and the browser's ``urn:view:`` and
    ``urn:dom:`` records of them) go in, copied record by record into one WARC file per
    crawl; without, every WARC file of the crawls goes in whole.
    """
    _check_crawls(store, crawl_ids)
    reader = RecordReader(store)
    result = Export(out, list(crawl_ids))
    partial = out.with_name(out.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", allowZip64=True) as zf:
            package = _Package(zf, created)
            lines = _write_archive(package, store, reader, crawl_ids, urls, result)
            result.captures = len(lines)
            _write_index(package, lines, plain_index_lines)
            page_list = [p for p in pages if urls is None or p.url in urls]
            result.pages = len(page_list)
            package.write_chunks(PAGES_PATH, _pages_lines(page_list), stored=False)
            meta = _datapackage(package.resources, result, created, software, title, main_page)
            manifest = (json.dumps(meta, indent=2, ensure_ascii=False) + "\n").encode()
            written = package.write_bytes(DATAPACKAGE, manifest, listed=False)
            digest: dict[str, Any] = {"path": DATAPACKAGE, "hash": written.hash}
            if signer is not None:
                digest["signedData"] = signer.sign(written.hash, created)
                result.signed = True
            digest_json = (json.dumps(digest, indent=2) + "\n").encode()
            package.write_bytes(DIGEST_FILE, digest_json, listed=False)
            result.resources = list(package.resources)
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BadInput(f"cannot write {out}: {one_line(exc)}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return result


def _selected(url: str, urls: frozenset[str]) -> bool:
    for scheme in ("urn:view:", "urn:dom:"):
        if url.startswith(scheme):
            return url.removeprefix(scheme) in urls
    return url in urls


def _write_archive(
    package: _Package,
    store: Store,
    reader: RecordReader,
    crawl_ids: list[str],
    urls: frozenset[str] | None,
    result: Export,
) -> list[str]:
    """Copy the crawls' records and the originals their revisits need; their index lines."""
    lines: list[str] = []
    held: set[tuple[str, str, int]] = set()  # (crawl, file, offset) of records in the package
    revisits: list[str] = []
    for crawl_id in crawl_ids:
        entries = [_split(line) for line in reader.index_lines(crawl_id)]
        if urls is None:
            for key in store.list(warc_prefix(crawl_id)):
                filename = key.rsplit("/", 1)[-1]
                name = package_warc_name(crawl_id, filename)
                package.write_chunks(
                    ARCHIVE + name, store.read_chunks(key), stored=True, size=store.size(key)
                )
            for line, fields in entries:
                lines.append(_index_line(line, package_warc_name(crawl_id, fields["filename"]))[0])
                held.add((crawl_id, fields["filename"], int(fields["offset"])))
                if fields.get("mime") == REVISIT_MIME:
                    revisits.append(fields.get("digest", ""))
            continue
        chosen = [(line, fields) for line, fields in entries if _selected(fields["url"], urls)]
        if not chosen:
            continue
        name = package_warc_name(crawl_id, "selected.warc.gz")
        offset = 0
        refs = []
        for line, fields in chosen:
            ref = _ref(fields)
            refs.append(ref)
            lines.append(_index_line(line, name, offset)[0])
            offset += ref.length
            held.add((crawl_id, ref.filename, ref.offset))
            if fields.get("mime") == REVISIT_MIME:
                revisits.append(fields.get("digest", ""))
        package.write_chunks(ARCHIVE + name, _members(store, crawl_id, refs), stored=True)
    lines.extend(_write_originals(package, store, reader, revisits, held, result))
    return lines


def _split(line: str) -> tuple[str, dict[str, Any]]:
    return line, json.loads(line.split(" ", 2)[2])


def _ref(fields: dict[str, Any]) -> RecordRef:
    return RecordRef(fields["filename"], int(fields["offset"]), int(fields["length"]))


def _write_originals(
    package: _Package,
    store: Store,
    reader: RecordReader,
    digests: list[str],
    held: set[tuple[str, str, int]],
    result: Export,
) -> list[str]:
    """Copy in the originals of revisits that the package does not hold yet."""
    wanted: dict[tuple[str, str, int], tuple[str, RecordRef]] = {}
    for digest in dict.fromkeys(digests):
        found = reader.original(digest) if digest else None
        if found is None:
            result.unresolved.append(digest)
            continue
        crawl_id, ref = found
        where = (crawl_id, ref.filename, ref.offset)
        if where not in held:
            wanted.setdefault(where, found)
    if not wanted:
        return []
    lines: list[str] = []
    offset = 0
    by_place = {
        crawl_id: {
            (fields["filename"], int(fields["offset"])): line
            for line, fields in map(_split, reader.index_lines(crawl_id))
        }
        for crawl_id in {c for c, _ in wanted.values()}
    }
    order = sorted(
        wanted.values(), key=lambda found: (found[0], found[1].filename, found[1].offset)
    )
    for crawl_id, ref in order:
        line = by_place[crawl_id][(ref.filename, ref.offset)]
        lines.append(_index_line(line, ORIGINALS_NAME, offset)[0])
        offset += ref.length

    def chunks() -> Iterator[bytes]:
        for crawl_id, ref in order:
            yield from _members(store, crawl_id, [ref])

    package.write_chunks(ARCHIVE + ORIGINALS_NAME, chunks(), stored=True)
    result.originals = len(order)
    result.original_crawls = sorted({crawl_id for crawl_id, _ in order})
    return lines


def _datapackage(
    resources: list[Resource],
    result: Export,
    created: datetime,
    software: str,
    title: str,
    main_page: Page | None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": title,
        "created": rfc3339(created),
        "software": software,
    }
    if main_page is not None:
        meta["mainPageUrl"] = main_page.url
        meta["mainPageDate"] = main_page.ts
    meta["resources"] = [r.to_dict() for r in resources]
    meta["scrubwatch"] = {
        "crawls": result.crawls,
        "standalone": {
            "originals": ARCHIVE + ORIGINALS_NAME if result.originals else None,
            "records": result.originals,
            "from_crawls": result.original_crawls,
            "unresolved_revisits": len(result.unresolved),
        },
    }
    return meta


def rfc3339(when: datetime) -> str:
    """``when`` as RFC 3339 in UTC with a ``Z``, to the second."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
