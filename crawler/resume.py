"""Resuming a crawl that was stopped (SIGTERM) or killed (SIGKILL) before it finished.

The staged WARC files are the truth of what a crawl has done, not Scrapy's JOBDIR
(whose queue is lost on an unclean stop). Before the crawl runs again its staged
files are mended and read back (:mod:`storage.resumable`). The resumed run starts
again from the seeds; :mod:`crawler.replay` answers every
captured URL from the staged WARC files instead of fetching it, so the frontier is
rebuilt by parsing the captured pages, and only what was not captured is fetched,
into new WARC files. How the crawl was asked for is kept from its start in
``crawls/<id>/crawl-args.json.open`` in the staging folder (``.open``: never published;
``storage.layout.staged_args``).
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from storage import Store, crawl_exists
from storage.errors import BadInput, ScrubwatchError, one_line
from storage.layout import manifest_key, open_path, staged_args, staged_crawl, staged_lock
from storage.publish import read_info
from storage.stores import store_identity

#: settings of one run, not of the crawl: not asked for again by a resume
RUN_ONLY = {"LOG_LEVEL", "STATS_DUMP"}
#: what a resumed run adds to EXTENSIONS and DOWNLOADER_MIDDLEWARES (after the
#: WARC writer, before the publisher; after every other middleware's process_request)
RESUME_COMPONENTS = {
    "EXTENSIONS": {"crawler.replay.ResumeCrawl": 150},
    "DOWNLOADER_MIDDLEWARES": {"crawler.replay.ArchiveReplay": 950},
}


class ResumeError(ScrubwatchError):
    """A crawl that cannot be resumed; the message names it and says why."""


def _typed(data: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = data[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{name} is not {getattr(kind, '__name__', kind)}: {value!r}")
    return value


def _strings(data: dict[str, Any], name: str) -> list[str]:
    values = _typed(data, name, list)
    if not all(isinstance(v, str) for v in values):
        raise ValueError(f"{name} is not a list of strings: {values!r}")
    return list(values)


@dataclass
class CrawlArgs:
    """How a crawl was asked for (``crawl-args.json.open``): what a resume asks for again.

    ``seeds`` are URLs and absolute paths, ``store`` the store's identity
    (:func:`store_identity`), ``overrides`` the ``-s`` settings but those of one run.
    ``extra`` keeps keys this version does not know, so that they are written back.
    """

    seeds: list[str]
    store: str
    depth: int = 0
    allow_private: bool = False
    ignore_robots: bool = False
    outlets: list[str] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.extra,
            "seeds": self.seeds,
            "store": self.store,
            "depth": self.depth,
            "allow_private": self.allow_private,
            "ignore_robots": self.ignore_robots,
            "outlets": self.outlets,
            "overrides": self.overrides,
        }

    @classmethod
    def from_dict(cls, data: object) -> CrawlArgs:
        """The arguments in ``data``; ValueError naming what is missing or of the wrong type."""
        known = [f.name for f in fields(cls) if f.name != "extra"]
        if not isinstance(data, dict) or not data.keys() >= set(known):
            raise ValueError(f"lacks {sorted(known)}")
        return cls(
            seeds=_strings(data, "seeds"),
            store=_typed(data, "store", str),
            depth=_typed(data, "depth", int),
            allow_private=_typed(data, "allow_private", bool),
            ignore_robots=_typed(data, "ignore_robots", bool),
            outlets=_strings(data, "outlets"),
            overrides=dict(_typed(data, "overrides", dict)),
            extra={k: v for k, v in data.items() if k not in known},
        )


def write_args(staging_root: Path, crawl_id: str, args: CrawlArgs) -> Path:
    """Keep how the crawl was asked for, so that ``--resume`` can ask for it again."""
    path = staged_args(staging_root, crawl_id)
    tmp = open_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(args.to_dict(), indent=1, sort_keys=True) + "\n")
        tmp.replace(path)
    except OSError as exc:
        raise BadInput(
            f"staging folder {staging_root}: cannot write {path}: {one_line(exc)}"
        ) from exc
    return path


def read_args(staging_root: Path, crawl_id: str) -> CrawlArgs | None:
    """How the staged crawl was asked for; None if no crawl of that id is staged."""
    path = staged_args(staging_root, crawl_id)
    try:
        return CrawlArgs.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ResumeError(f"crawl {crawl_id} cannot be resumed: {path}: {exc}") from exc


def seed_paths(seeds: list[str]) -> list[str]:
    """The seeds as a resumed run finds them: URLs, and files by absolute path."""
    return [s if s.startswith(("http://", "https://")) else str(Path(s).resolve()) for s in seeds]


def resumable(store: Store, staging_root: Path, crawl_id: str, seeds: list[str]) -> CrawlArgs:
    """How the stopped crawl ``crawl_id`` was asked for; ResumeError if it cannot be resumed.

    ``seeds``, when given, must be the crawl's: the same command again resumes it.
    """
    if store.exists(manifest_key(crawl_id)):
        raise ResumeError(
            f"crawl {crawl_id} is already complete in store {store.uri}: nothing to resume"
        )
    args = read_args(staging_root, crawl_id)
    if args is None:
        raise ResumeError(
            f"crawl {crawl_id} cannot be resumed: nothing of it is staged in {staging_root}"
        )
    if args.store != store_identity(store):  # one staging folder serves every S3 store
        raise ResumeError(
            f"crawl {crawl_id} staged in {staging_root} belongs to store {args.store}: "
            "resume it there, or choose another --crawl-id"
        )
    if seeds and sorted(seed_paths(seeds)) != sorted(args.seeds):
        raise ResumeError(
            f"crawl {crawl_id} was started with other seeds: resume it with --resume "
            f"{crawl_id} (no seeds), or choose another --crawl-id"
        )
    if crawl_exists(store, crawl_id) and not finished(staging_root, crawl_id):
        raise ResumeError(
            f"crawl {crawl_id} is partly in store {store.uri} but did not finish: "
            "it cannot be resumed; choose another --crawl-id"
        )
    return args


def finished(staging_root: Path, crawl_id: str) -> bool:
    """Whether the staged crawl finished (its crawl-info.json is written): only its
    publishing is left to do."""
    return read_info(staged_crawl(staging_root, crawl_id)) is not None


@contextmanager
def running(staging_root: Path, crawl_id: str) -> Iterator[None]:
    """Hold the staged crawl's lock while it runs, so that it is never resumed (its open
    WARC file trimmed) under a process still writing it. The kernel lets go of an
    ``flock`` when its process ends, however it ends."""
    path = staged_lock(staging_root, crawl_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = path.open("a")
    except OSError as exc:
        raise BadInput(
            f"staging folder {staging_root}: cannot write {path}: {one_line(exc)}"
        ) from exc
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ResumeError(
                f"crawl {crawl_id} is still running in another process: stop it first "
                "(SIGTERM), or let it finish"
            ) from None
        yield
