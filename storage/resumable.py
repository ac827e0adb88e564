"""What a stopped crawl left staged, mended and read back so that it can be resumed.

A crawl stopped (SIGTERM) or killed (SIGKILL) before it finished leaves its files in
the staging folder. :func:`prepare` mends them for a resume: each WARC file left
``.open`` is trimmed to its last whole, valid gzip member and given its final name,
or set aside whole as ``.damaged`` (:mod:`storage.warctrim`); the derived files of
the earlier run (crawl log, dataset parts, indexes, digest log) are moved aside, as
the resumed run writes them again for the whole crawl. What is set aside goes to
``<staging>/set-aside/<crawl id>/`` (``storage.layout.set_aside_dir``), outside what is
published: kept, never published.
:func:`read_archive` reads the staged WARC files (through a
:class:`~storage.records.RecordReader` of the staging folder): which URLs are captured
and where, which payloads are archived in full, and how many records there are. The
WARC files, not Scrapy's JOBDIR (whose queue is lost on an unclean stop), say what is done.
"""

from __future__ import annotations

import hashlib
import shlex
import shutil
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from storage.layout import OPEN_SUFFIX, WARC_FOLDER, set_aside_dir, staged_dirs, staged_warcs
from storage.localstore import LocalStore
from storage.records import RecordReader, RecordRef
from storage.warctrim import Trimmed, trim_open_warc

EMPTY = "sha256:" + hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class StagedRecord:
    """What a resume keeps of a response, resource or revisit record of the crawl's
    staged WARC files."""

    url: str
    rec_type: str
    status: int
    digest: str
    date: str
    record_id: str
    ref: RecordRef
    truncated: str | None = None  # WARC-Truncated, e.g. "length"
    size: int = 0  # of the payload as it came off the wire (a revisit's: 0)


@dataclass
class ArchivedCrawl:
    """What the staged WARC files of a crawl hold."""

    records: dict[str, StagedRecord] = field(default_factory=dict)  # by URL, first
    full: dict[str, StagedRecord] = field(default_factory=dict)  # payloads, by digest
    counts: Counter[str] = field(default_factory=Counter)


def prepare(staging_root: Path, crawl_id: str, keep: Collection[str] = ()) -> list[Trimmed]:
    """Mend the open WARC files of a stopped crawl and move its derived files aside.

    Files named in ``keep`` (at the top of the crawl's folder) stay where they are.
    """
    folder, *datasets = staged_dirs(staging_root, crawl_id)
    warcs = staged_warcs(staging_root, crawl_id)
    aside = set_aside_dir(staging_root, crawl_id)
    mended = [
        trim_open_warc(path, aside / WARC_FOLDER)
        for path in sorted(warcs.glob("*.warc.gz" + OPEN_SUFFIX))
    ]
    kept = {folder / name for name in keep} | {m.path for m in mended}
    kept |= set(warcs.glob("*.warc.gz"))
    derived = aside / f"derived-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"
    for path in sorted(p for d in (folder, *datasets) for p in d.rglob("*")):
        if path.is_file() and path not in kept:
            target = derived / path.relative_to(staging_root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)
    return mended


def staged_reader(staging_root: Path) -> RecordReader:
    """A reader of the crawls staged in ``staging_root``, which mirrors a store's layout."""
    return RecordReader(LocalStore(str(staging_root)))


def read_archive(staging_root: Path, crawl_id: str) -> ArchivedCrawl:
    """Every response, resource and revisit record of the crawl's closed, staged WARC
    files; resources (screenshots, rendered DOMs) only as payloads later copies revisit."""
    archived = ArchivedCrawl()
    reader = staged_reader(staging_root)
    for path in sorted(staged_warcs(staging_root, crawl_id).glob("*.warc.gz")):
        archived.counts["warc/files"] += 1
        archived.counts["warc/bytes"] += path.stat().st_size
        for record in reader.records(crawl_id, path.name):
            if record.rec_type in ("response", "revisit", "request", "resource"):
                archived.counts[f"warc/records/{record.rec_type}"] += 1
            if record.rec_type not in ("response", "revisit", "resource") or not record.url:
                continue
            found = StagedRecord(
                url=record.url,
                rec_type=record.rec_type,
                status=record.status,
                digest=record.digest,
                date=record.date,
                record_id=record.record_id,
                ref=record.ref,
                truncated=record.truncated,
                size=len(record.payload),
            )
            if record.rec_type != "resource":
                archived.records.setdefault(record.url, found)
            if record.rec_type != "revisit" and found.status != 304 and found.digest != EMPTY:
                archived.full.setdefault(found.digest, found)
    return archived


def resume_command(store_uri: str, crawl_id: str) -> str:
    """The command line that finishes a stopped crawl."""
    return shlex.join(["scrubwatch", "crawl", "--resume", crawl_id, "--store", store_uri])
