"""A WARC file that rolls over: open as ``<name>.open``, renamed when closed.

Knows each member's file and offset. Opens the next file once the current one
passes ``max_size``, so one record never straddles two files. Files are named
``{prefix}-{timestamp17}-{serial:05d}-{host}.warc.gz`` and each begins with a
warcinfo record.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from pipelines.warcrecords import build_warcinfo, new_record_id

OPEN_SUFFIX = ".open"


@dataclass(frozen=True)
class Location:
    """Where one gzip member sits."""

    filename: str
    offset: int
    length: int


def default_host() -> str:
    """This machine and process, safe for a file name (workers share one store)."""
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", socket.gethostname()) or "host"
    return f"{host}-{os.getpid()}"


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
        self.closed_files: list[Path] = []
        self._fh: BinaryIO | None = None
        self._name = ""

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
            path = self.directory / (self._name + OPEN_SUFFIX)
            if not path.exists() and not (self.directory / self._name).exists():
                break
        fh = path.open("xb")
        fh.write(build_warcinfo(self._name, self.warcinfo, date=now, make_id=self.make_id))
        self._fh = fh
        return fh

    def write(self, members: list[bytes]) -> list[Location]:
        """Append members (one exchange) to the current file; roll over after."""
        fh = self._fh or self._open()
        locations = []
        for member in members:
            offset = fh.tell()
            fh.write(member)
            locations.append(Location(self._name, offset, len(member)))
        fh.flush()
        if fh.tell() >= self.max_size:
            self.close()
        return locations

    def close(self) -> Path | None:
        """Close the current file, if any, and give it its final name."""
        if self._fh is None:
            return None
        fh, self._fh = self._fh, None
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        final = self.directory / self._name
        (self.directory / (self._name + OPEN_SUFFIX)).rename(final)
        self.closed_files.append(final)
        if self.on_closed is not None:
            self.on_closed(final)
        return final
