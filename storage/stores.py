"""The ``Store`` protocol and ``open_store``, which picks a backend by URI scheme.

A store is a flat namespace of '/'-separated keys (see ``storage.layout``) that never
overwrites: ``put`` of a key that exists succeeds only when the content is identical.
A plain path or ``file://`` URI is a local folder (``storage.localstore``);
``s3://bucket/prefix`` is S3 (``storage.s3store``). Only S3 can hold objects under
retention (``storage.retention``): a local folder is refused when retention is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from storage.errors import StoreError, StoreMissing
from storage.hashing import CHUNK_SIZE
from storage.localstore import LocalStore
from storage.retention import DEFAULT_LOCK_MODE, Retention


class Store(Protocol):
    """What the crawler, the CLI and the readers of a corpus need from a store."""

    @property
    def uri(self) -> str: ...

    @property
    def local_root(self) -> Path | None:
        """The folder of a local store, ``None`` for a remote one."""

    @property
    def retention(self) -> Retention | None:
        """The Object Lock retention every put applies, ``None`` for none."""

    def check_writable(self) -> None:
        """Raise ``StoreError`` unless the store can be reached and written to."""

    def put(self, key: str, path: Path) -> bool:
        """Store a file at ``key``: True if written, False if identical content was there.

        Raises ``StoreConflict`` if ``key`` holds different content.
        """

    def put_bytes(self, key: str, data: bytes) -> bool:
        """Like ``put``, for content held in memory."""

    def get(self, key: str) -> bytes: ...

    def download(self, key: str, dest: Path) -> None:
        """Copy ``key`` to ``dest``, which appears complete or not at all."""

    def open_range(self, key: str, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes of ``key`` from ``offset`` (fewer at the end)."""

    def read_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The content of ``key`` streamed in chunks."""

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with ``prefix``, sorted."""

    def size(self, key: str) -> int: ...

    def sha256(self, key: str) -> str | None:
        """Hex SHA-256 of ``key`` if the store knows it cheaply, else ``None``."""


def _s3_store(uri: str, retention: Retention | None = None) -> Store:
    # boto3 is imported here, on first use: a local store, and the extraction workers,
    # do without its import time and memory.
    from storage.s3store import S3Store

    return S3Store(uri, retention=retention)


STORE_SCHEMES: dict[str, Callable[[str], Store]] = {
    "": LocalStore,
    "file": LocalStore,
    "s3": _s3_store,
}


def open_store(
    uri: str, *, retain_days: int | None = None, lock_mode: str = DEFAULT_LOCK_MODE
) -> Store:
    """The store for ``uri``: a folder path, ``file:///path`` or ``s3://bucket/prefix``.

    With ``retain_days`` (None or 0: none) every object is put under S3 Object Lock in
    ``lock_mode`` (GOVERNANCE or COMPLIANCE) until that many days after it is put.
    """
    retention = Retention.for_days(retain_days, lock_mode)
    if not uri:
        raise StoreError("empty store URI: give a folder path or s3://bucket/prefix")
    scheme = urlsplit(uri).scheme.lower()
    try:
        backend = STORE_SCHEMES[scheme]
    except KeyError:
        raise StoreError(
            f"store URI {uri} has an unknown scheme {scheme!r}: "
            f"use a folder path, file:// or s3://bucket/prefix"
        ) from None
    if retention is None:
        return backend(uri)
    if backend is not _s3_store:
        raise StoreError(
            f"store {uri}: retention needs an s3:// store whose bucket has Object Lock enabled"
        )
    return _s3_store(uri, retention=retention)


def open_existing_store(uri: str) -> Store:
    """``open_store`` for reading: a local folder that does not exist is a StoreMissing.

    (A missing S3 bucket shows itself at the first listing.)
    """
    store = open_store(uri)
    if store.local_root is not None and not store.local_root.is_dir():
        raise StoreMissing(f"store {uri} does not exist: there is no folder {store.local_root}")
    return store


def store_identity(store: Store) -> str:
    """The store as a crawl records it, to be compared later (a resume, a joining worker):
    a local store by its folder's absolute path, others by URI."""
    return str(store.local_root.resolve()) if store.local_root is not None else store.uri
