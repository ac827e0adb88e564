"""Resuming a crawl that was stopped (SIGTERM) or killed (SIGKILL) before it finished.

The staged WARC files are the truth of what a crawl has done, not Scrapy's JOBDIR
(whose queue is lost on an unclean stop). Before the crawl runs again:

- each WARC file left ``.open`` is trimmed to its last whole, valid gzip member and
  given its final name, or set aside whole as ``.damaged`` (:mod:`storage.warctrim`);
- the derived files of the earlier run (crawl log, dataset parts, indexes, digest
  log) are moved aside, since the resumed run writes them again for the whole crawl;
- :func:`read_archive` reads every staged WARC file: which URLs are captured and
  where, which payloads are archived in full, and the records counted so far.

The resumed run starts again from the seeds; :mod:`crawler.replay` answers every
captured URL from the staged WARC files instead of fetching it, so the frontier is
rebuilt by parsing the captured pages, and only what was not captured is fetched,
into new WARC files. How the crawl was asked for is kept from its start in
``crawls/<id>/crawl-args.json.open`` in the staging folder (``.open``: never published).
"""

from __future__ import annotations

import json
import shlex
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from pipelines.warcrecords import sha256_digest
from storage.layout import OPEN_SUFFIX, crawl_prefix
from storage.warctrim import Trimmed, trim_open_warc

ARGS_NAME = "crawl-args.json" + OPEN_SUFFIX
SET_ASIDE = "set-aside"
WARC_FOLDER = "warc"
EMPTY = sha256_digest(b"")
#: settings of one run, not of the crawl: not asked for again by a resume
RUN_ONLY = {"LOG_LEVEL", "STATS_DUMP"}
#: what a resumed run adds to EXTENSIONS and DOWNLOADER_MIDDLEWARES (after the
#: WARC writer, before the publisher; after every other middleware's process_request)
RESUME_COMPONENTS = {
    "EXTENSIONS": {"crawler.replay.ResumeCrawl": 150},
    "DOWNLOADER_MIDDLEWARES": {"crawler.replay.ArchiveReplay": 950},
}
#: Scrapy's finish_reason for a crawl stopped by the first SIGTERM or Ctrl-C
INTERRUPTED = "shutdown"


def resume_command(store_uri: str, crawl_id: str) -> str:
    """The command line that finishes a stopped crawl."""
    return shlex.join(["scrubwatch", "crawl", "--resume", crawl_id, "--store", store_uri])


@dataclass(frozen=True)
class ArchivedRecord:
    """A response or revisit record of the crawl's staged WARC files."""

    url: str
    rec_type: str
    status: int
    digest: str
    date: str
    record_id: str
    filename: str
    offset: int
    length: int


@dataclass
class ArchivedCrawl:
    """What the staged WARC files of a crawl hold."""

    records: dict[str, ArchivedRecord] = field(default_factory=dict)  # by URL, first
    full: dict[str, ArchivedRecord] = field(default_factory=dict)  # payloads, by digest
    counts: Counter[str] = field(default_factory=Counter)


def crawl_dir(staging_root: Path, crawl_id: str) -> Path:
    return staging_root / crawl_prefix(crawl_id)


def set_aside_dir(staging_root: Path, crawl_id: str) -> Path:
    """Where what a resume keeps but must not publish goes, outside ``crawls/``."""
    return staging_root / SET_ASIDE / crawl_id


def write_args(staging_root: Path, crawl_id: str, args: dict[str, Any]) -> Path:
    """Keep how the crawl was asked for, so that ``--resume`` can ask for it again."""
    path = crawl_dir(staging_root, crawl_id) / ARGS_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(args, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def read_args(staging_root: Path, crawl_id: str) -> dict[str, Any] | None:
    """How the staged crawl was asked for; None if no crawl of that id is staged."""
    try:
        args = json.loads((crawl_dir(staging_root, crawl_id) / ARGS_NAME).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return args if isinstance(args, dict) else None


def prepare(staging_root: Path, crawl_id: str) -> list[Trimmed]:
    """Mend the open WARC files of a stopped crawl and move its derived files aside."""
    folder = crawl_dir(staging_root, crawl_id)
    aside = set_aside_dir(staging_root, crawl_id)
    mended = [
        trim_open_warc(path, aside / WARC_FOLDER)
        for path in sorted((folder / WARC_FOLDER).glob("*.warc.gz" + OPEN_SUFFIX))
    ]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name == ARGS_NAME or path in [m.path for m in mended]:
            continue
        if path.parent == folder / WARC_FOLDER and path.name.endswith(".warc.gz"):
            continue
        target = aside / f"derived-{stamp}" / path.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    return mended


def read_archive(warc_dir: Path) -> ArchivedCrawl:
    """Every response and revisit record of the closed WARC files in ``warc_dir``."""
    archived = ArchivedCrawl()
    for path in sorted(warc_dir.glob("*.warc.gz")):
        archived.counts["warc/files"] += 1
        archived.counts["warc/bytes"] += path.stat().st_size
        with path.open("rb") as fh:
            records = ArchiveIterator(fh)
            for record in records:
                rec_type = record.rec_type
                headers = record.rec_headers
                url = headers.get_header("WARC-Target-URI")
                status = record.http_headers.get_statuscode() if record.http_headers else None
                record.raw_stream.read()
                if rec_type in ("response", "revisit", "request"):
                    archived.counts[f"warc/records/{rec_type}"] += 1
                if rec_type not in ("response", "revisit") or not url:
                    continue
                found = ArchivedRecord(
                    url=url,
                    rec_type=rec_type,
                    status=int(status or 0),
                    digest=headers.get_header("WARC-Payload-Digest") or "",
                    date=headers.get_header("WARC-Date") or "",
                    record_id=headers.get_header("WARC-Record-ID") or "",
                    filename=path.name,
                    offset=records.get_record_offset(),
                    length=records.get_record_length(),
                )
                archived.records.setdefault(url, found)
                if rec_type == "response" and found.status != 304 and found.digest != EMPTY:
                    archived.full.setdefault(found.digest, found)
    return archived
