"""A WARC file that rolls over: open as ``<name>.open``, renamed when closed.

Knows each member's file and offset. Opens the next file once the current one
passes ``max_size``, so one record never straddles two files. Files are named
``{prefix}-{timestamp17}-{serial:05d}-{host}.warc.gz`` and each begins with a
warcinfo record.

With ``lines_dir``, each member's CDXJ line is made as it is written, from the fields
the caller gives, and a closed file's lines are kept in that folder
(:mod:`storage.cdxjlines`): the crawl's index is then made without reading the files
back. A file with a member written without its fields gets no lines, and is read.

A write that fails (a full disk: ``ENOSPC``) leaves no trace: the file is cut back
to where the exchange began and :class:`WarcWriteError` is raised. If even that
cut fails, the file is set aside (still ``.open``, its good length remembered) and
the next exchange goes into a new file; closing cuts the set-aside file again and
gives it its final name, or leaves it ``.open`` for ``storage.warctrim``.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from pipelines.warcrecords import build_warcinfo, new_record_id
from storage.cdxjlines import IndexFields, index_line, write_lines
from storage.layout import OPEN_SUFFIX, open_path
from storage.records import RecordRef

logger = logging.getLogger(__name__)


class WarcWriteError(OSError):
    """An exchange could not be written; nothing of it is left in the file."""


def default_host() -> str:
    """This machine and process, safe for a file name (workers share one store)."""
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", socket.gethostname()) or "host"
    return f"{host}-{os.getpid()}"


def open_exclusive(path: Path) -> BinaryIO:
    # Unbuffered: after a failed write no buffered bytes linger to land later.
    return path.open("xb", buffering=0)


def write_all(fh: BinaryIO, data: bytes) -> None:
    """``write`` until every byte is down (a raw file may take part of them)."""
    view = memoryview(data)
    while view:
        written = fh.write(view)
        if not written:
            raise OSError(f"wrote nothing of {len(view)} bytes")
        view = view[written:]


class RollingWarcFile:
    def __init__(
        self,
        directory: Path,
        *,
        prefix: str,
        max_size: int,
        warcinfo: dict[str, str],
        host: str | None = None,
        on_closed: Callable[[Path], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        make_id: Callable[[], str] = new_record_id,
        first_serial: int = 0,
        open_file: Callable[[Path], BinaryIO] | None = None,
        lines_dir: Path | None = None,
    ) -> None:
        if max_size <= 0:
            raise ValueError(f"WARC_MAX_SIZE must be positive, got {max_size}")
        self.directory = directory
        self.prefix = prefix
        self.max_size = max_size
        self.warcinfo = warcinfo
        self.host = host or default_host()
        self.on_closed = on_closed
        self.clock = clock
        self.make_id = make_id
        self.serial = first_serial
        self.open_file = open_file or open_exclusive
        self.lines_dir = lines_dir
        self.closed_files: list[Path] = []
        #: files set aside after a failed write that could not be cut back: name -> good length
        self.set_aside: dict[str, int] = {}
        self._fh: BinaryIO | None = None
        self._name = ""
        self._size = 0
        #: the current file's CDXJ lines; None once a member came without its fields
        self._lines: list[bytes] | None = None

    @property
    def current_name(self) -> str:
        return self._name

    def _open(self) -> BinaryIO:
        now = self.clock()
        stamp = now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            self._name = f"{self.prefix}-{stamp}-{self.serial:05d}-{self.host}.warc.gz"
            self.serial += 1
            path = open_path(self.directory / self._name)
            if not path.exists() and not (self.directory / self._name).exists():
                break
        fh = self.open_file(path)
        warcinfo = build_warcinfo(self._name, self.warcinfo, date=now, make_id=self.make_id)
        try:
            write_all(fh, warcinfo)
        except OSError:
            fh.close()
            path.unlink(missing_ok=True)  # a file without its warcinfo is no WARC file
            raise
        self._fh, self._size = fh, len(warcinfo)
        self._lines = [] if self.lines_dir is not None else None
        return fh

    def write(
        self, members: list[bytes], index: list[IndexFields | None] | None = None
    ) -> list[RecordRef]:
        """Append members (one exchange) to the current file; roll over after.

        ``index``: each member's CDXJ fields (None for one not indexed); without them
        the file is indexed by reading it. Raises :class:`WarcWriteError` with none of
        the members left in any file.
        """
        try:
            fh = self._fh or self._open()
        except OSError as exc:
            raise WarcWriteError(f"cannot open a WARC file in {self.directory}: {exc}") from exc
        start = offset = self._size
        locations: list[RecordRef] = []
        try:
            for member in members:
                write_all(fh, member)
                locations.append(RecordRef(self._name, offset, len(member)))
                offset += len(member)
        except OSError as exc:
            self._cut_back(fh, start)
            raise WarcWriteError(f"{self._name}: {exc}") from exc
        self._size = offset
        if index is None or len(index) != len(members):
            self._lines = None
        elif self._lines is not None:
            self._lines += [
                index_line(fields, ref.filename, ref.offset, ref.length)
                for fields, ref in zip(index, locations, strict=True)
                if fields is not None
            ]
        if self._size >= self.max_size:
            self.close()
        return locations

    def _cut_back(self, fh: BinaryIO, length: int) -> None:
        try:
            fh.truncate(length)
            fh.seek(length)
        except OSError as exc:
            logger.error(
                "cannot cut %s back to %d bytes after a failed write (%s): "
                "setting it aside and opening a new file",
                self._name,
                length,
                exc,
            )
            self.set_aside[self._name] = length
            self._fh, self._lines = None, None
            with suppress(OSError):  # it was failing already; what it holds is known
                fh.close()

    def close(self) -> Path | None:
        """Close the current file, if any, and give it its final name.

        Files set aside are cut back again first, then renamed too if that works.
        """
        for name, length in list(self.set_aside.items()):
            if self._finish_set_aside(name, length):
                del self.set_aside[name]
        if self._fh is None:
            return None
        fh, self._fh = self._fh, None
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        final = self._rename(self._name)
        lines, self._lines = self._lines, None
        if lines is not None and self.lines_dir is not None:
            try:
                write_lines(final, self.lines_dir, lines)
            except OSError as exc:  # the index is made by reading the file instead
                logger.warning("CDXJ lines of %s not kept: %s", final.name, exc)
        return final

    def _finish_set_aside(self, name: str, length: int) -> bool:
        path = open_path(self.directory / name)
        try:
            with path.open("r+b") as fh:
                fh.truncate(length)
                os.fsync(fh.fileno())
        except OSError as exc:
            logger.error(
                "%s stays %s: cannot cut it back to its last whole record at %d bytes (%s)",
                name,
                OPEN_SUFFIX,
                length,
                exc,
            )
            return False
        self._rename(name)
        return True

    def _rename(self, name: str) -> Path:
        final = self.directory / name
        open_path(final).rename(final)
        self.closed_files.append(final)
        if self.on_closed is not None:
            self.on_closed(final)
        return final
