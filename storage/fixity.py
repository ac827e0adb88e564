"""What a manifest records of each file: its size and SHA-256, and a WARC file's records.

A WARC file (``*.warc.gz``) is read whole through :func:`storage.warcverify.check_warc`,
which hashes it and counts its records; the count goes into the entry only when the
check found nothing wrong, for a count read from a broken file would mean nothing.
:func:`checked_entry` is that one measurement, whether the bytes come from a staged
file (:func:`file_entry`), from the store (:func:`stored_entry`) or are verified
against a manifest (:mod:`storage.verify`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.hashing import CHUNK_SIZE, sha256_chunks, sha256_file
from storage.stores import Store
from storage.warcverify import check_warc

WARC_SUFFIX = ".warc.gz"
#: WARC bytes from which :func:`entries_ahead` checks them in other processes
CHECK_AHEAD_BYTES = 16 * 1024**2


def _field(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{name} of {data.get('path')!r} is not {kind.__name__}: {value!r}")
    return value


@dataclass(frozen=True)
class FileEntry:
    """One file of a manifest: its key, size and SHA-256 (hex); a WARC file's record count."""

    path: str
    bytes: int
    sha256: str
    records: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "bytes": self.bytes, "sha256": self.sha256}
        if self.records is not None:
            data["records"] = self.records
        return data

    @classmethod
    def from_dict(cls, data: object) -> FileEntry:
        """The entry in ``data``; ValueError naming a field that is missing or of the wrong type."""
        if not isinstance(data, dict):
            raise ValueError(f"a file entry is not a JSON object: {data!r}")
        records = _field(data, "records", int) if data.get("records") is not None else None
        return cls(
            _field(data, "path", str),
            _field(data, "bytes", int),
            _field(data, "sha256", str),
            records,
        )


Entry = Callable[[str, Path], FileEntry]


def is_warc(key: str) -> bool:
    return key.endswith(WARC_SUFFIX)


def checked_entry(key: str, chunks: Iterable[bytes]) -> tuple[FileEntry, list[str]]:
    """The entry of the WARC file ``key`` read as ``chunks``, and the problems its check found."""
    check = check_warc(chunks)
    records = None if check.problems else check.records
    return FileEntry(key, check.bytes, check.sha256, records), check.problems


def file_entry(key: str, path: Path) -> FileEntry:
    """The entry of the staged file ``path``, to be stored as ``key``."""
    if not is_warc(key):
        return FileEntry(key, path.stat().st_size, sha256_file(path))
    with path.open("rb") as fh:
        return checked_entry(key, iter(lambda: fh.read(CHUNK_SIZE), b""))[0]


def stored_entry(store: Store, key: str) -> FileEntry:
    """The entry of a file already in ``store`` (one that another worker put there).

    A WARC file is read back to count its records; another file's SHA-256 comes from
    the store when it knows it cheaply (S3 metadata), else from reading it back.
    """
    if not is_warc(key):
        sha256 = store.sha256(key) or sha256_chunks(store.read_chunks(key))
        return FileEntry(key, store.size(key), sha256)
    return checked_entry(key, store.read_chunks(key))[0]


@contextmanager
def entries_ahead(files: list[tuple[str, Path]]) -> Iterator[Entry]:
    """:func:`file_entry`, with the checks of the WARC files among ``files`` started now.

    Checking a WARC file reads all of it: publishing a crawl does it in other processes,
    one a core but one, while its own thread builds the index. Below
    :data:`CHECK_AHEAD_BYTES` of WARC files, or on one core, the checks run in the
    caller's thread when asked for. A check whose process died is done again in the
    caller's thread; any other error is raised there, as ``file_entry`` would raise it.
    """
    warcs = [(key, path) for key, path in files if is_warc(key)]
    workers = min(len(warcs), (os.cpu_count() or 1) - 1)
    if workers < 1 or sum(path.stat().st_size for _, path in warcs) < CHECK_AHEAD_BYTES:
        yield file_entry
        return
    # The fork server (the extraction workers' if the crawl has them): the caller is a
    # thread of a process with others, which a plain fork would copy in any state.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending: dict[tuple[str, Path], Future[FileEntry]] = {
            (key, path): pool.submit(file_entry, key, path) for key, path in warcs
        }

        def entry(key: str, path: Path) -> FileEntry:
            future = pending.pop((key, path), None)
            if future is None:
                return file_entry(key, path)
            try:
                return future.result()
            except BrokenProcessPool:
                return file_entry(key, path)

        try:
            yield entry
        finally:
            for future in pending.values():
                future.cancel()
