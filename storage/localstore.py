"""A store in a local folder: keys are paths below it, files are written once and never replaced.

A new file is written to a temporary name in its destination folder, synced, then
hard-linked to its final name: ``os.link`` fails if the name exists, so a file
appears complete or not at all and nothing stored is ever overwritten.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit
from urllib.request import url2pathname

from storage.errors import StoreConflict, StoreError, StoreMissing, one_line
from storage.hashing import CHUNK_SIZE, sha256_file
from storage.layout import STAGING_DIRNAME, check_key
from storage.retention import Retention

# Names of files being written; list() skips them.
TEMP_PREFIX = ".scrubwatch-tmp-"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStore:
    """A store in the folder named by a path or a ``file://`` URI."""

    def __init__(self, uri: str) -> None:
        parts = urlsplit(uri)
        if parts.scheme.lower() == "file":
            if parts.netloc not in ("", "localhost"):
                raise StoreError(f"store URI {uri} names a host: use file:///absolute/path")
            root = Path(url2pathname(parts.path))
        else:
            root = Path(uri).expanduser()
        self.uri = uri
        self.local_root = root
        # A folder has no retention; open_store refuses to ask one for it.
        self.retention: Retention | None = None

    def _path(self, key: str) -> Path:
        return self.local_root.joinpath(*check_key(key).split("/"))

    def _error(self, action: str, key: str, exc: OSError) -> StoreError:
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError)):
            return StoreMissing(f"{key} is not in store {self.uri}")
        return StoreError(f"store {self.uri}: cannot {action} {key}: {one_line(exc)}")

    def check_writable(self) -> None:
        probe = self.local_root / f"{TEMP_PREFIX}probe-{uuid.uuid4().hex}"
        try:
            self.local_root.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"probe")
            probe.unlink()
        except OSError as exc:
            raise StoreError(f"store {self.uri} is not writable: {one_line(exc)}") from exc

    def put(self, key: str, path: Path) -> bool:
        try:
            with path.open("rb") as source:
                return self._write_once(
                    key, lambda out: shutil.copyfileobj(source, out, CHUNK_SIZE), path
                )
        except OSError as exc:
            raise StoreError(
                f"store {self.uri}: cannot put {key} from {path}: {one_line(exc)}"
            ) from exc

    def put_bytes(self, key: str, data: bytes) -> bool:
        try:
            return self._write_once(key, lambda out: out.write(data), data)
        except OSError as exc:
            raise StoreError(f"store {self.uri}: cannot put {key}: {one_line(exc)}") from exc

    def _write_once(self, key: str, write: Callable[[BinaryIO], object], src: Path | bytes) -> bool:
        dest = self._path(key)
        if dest.exists():
            return self._compare_existing(key, dest, src)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.parent / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        try:
            with tmp.open("xb") as out:
                write(out)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(tmp, dest)
            except FileExistsError:  # another writer won the race
                return self._compare_existing(key, dest, src)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(dest.parent)
        return True

    def _compare_existing(self, key: str, dest: Path, src: Path | bytes) -> bool:
        new = sha256_file(src) if isinstance(src, Path) else hashlib.sha256(src).hexdigest()
        if sha256_file(dest) == new:
            return False
        raise StoreConflict(f"{key} already exists in store {self.uri} with different content")

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except OSError as exc:
            raise self._error("read", key, exc) from exc

    def download(self, key: str, dest: Path) -> None:
        try:
            source = self._path(key).open("rb")
        except OSError as exc:
            raise self._error("read", key, exc) from exc
        tmp = dest.parent / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        try:
            with source, tmp.open("xb") as out:
                shutil.copyfileobj(source, out, CHUNK_SIZE)
            os.replace(tmp, dest)
        except OSError as exc:
            raise StoreError(
                f"store {self.uri}: cannot download {key} to {dest}: {one_line(exc)}"
            ) from exc
        finally:
            tmp.unlink(missing_ok=True)

    def open_range(self, key: str, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError(f"invalid range: offset {offset}, length {length}")
        try:
            with self._path(key).open("rb") as f:
                f.seek(offset)
                return f.read(length)
        except OSError as exc:
            raise self._error("read", key, exc) from exc

    def read_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        try:
            with self._path(key).open("rb") as f:
                while chunk := f.read(chunk_size):
                    yield chunk
        except OSError as exc:
            raise self._error("read", key, exc) from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> Iterator[str]:
        folder = prefix.rpartition("/")[0]
        top = self._path(folder) if folder else self.local_root
        keys: list[str] = []
        for dirpath, dirnames, filenames in os.walk(top):
            rel = Path(dirpath).relative_to(self.local_root).as_posix()
            base = "" if rel == "." else f"{rel}/"
            if not base:
                dirnames[:] = [d for d in dirnames if d != STAGING_DIRNAME]
            keys += [
                base + name
                for name in filenames
                if not name.startswith(TEMP_PREFIX) and (base + name).startswith(prefix)
            ]
        return iter(sorted(keys))

    def size(self, key: str) -> int:
        path = self._path(key)
        try:
            if not path.is_file():
                raise FileNotFoundError(path)
            return path.stat().st_size
        except OSError as exc:
            raise self._error("stat", key, exc) from exc

    def sha256(self, key: str) -> str | None:
        path = self._path(key)
        try:
            if not path.is_file():
                raise FileNotFoundError(path)
            return sha256_file(path)
        except OSError as exc:
            raise self._error("read", key, exc) from exc
