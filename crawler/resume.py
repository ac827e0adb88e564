"""Resuming a crawl that was stopped (SIGTERM) or killed (SIGKILL) before it finished.

The staged WARC files are the truth of what a crawl has done, not Scrapy's JOBDIR
(whose queue is lost on an unclean stop). Before the crawl runs again its staged
files are mended and read back (:mod:`storage.resumable`). The resumed run starts
again from the seeds; :mod:`crawler.replay` answers every
captured URL from the staged WARC files instead of fetching it, so the frontier is
rebuilt by parsing the captured pages, and only what was not captured is fetched,
into new WARC files. How the crawl was asked for is kept from its start in
``crawls/<id>/crawl-args.json.open`` in the staging folder (``.open``: never published).
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from storage import Store, crawl_exists
from storage.layout import OPEN_SUFFIX, manifest_key, staged_crawl
from storage.publish import read_info
from storage.stores import store_identity

ARGS_NAME = "crawl-args.json" + OPEN_SUFFIX
LOCK_NAME = "crawl.lock" + OPEN_SUFFIX
ARG_KEYS = {"seeds", "store", "depth", "allow_private", "ignore_robots", "outlets", "overrides"}
#: settings of one run, not of the crawl: not asked for again by a resume
RUN_ONLY = {"LOG_LEVEL", "STATS_DUMP"}
#: what a resumed run adds to EXTENSIONS and DOWNLOADER_MIDDLEWARES (after the
#: WARC writer, before the publisher; after every other middleware's process_request)
RESUME_COMPONENTS = {
    "EXTENSIONS": {"crawler.replay.ResumeCrawl": 150},
    "DOWNLOADER_MIDDLEWARES": {"crawler.replay.ArchiveReplay": 950},
}


def write_args(staging_root: Path, crawl_id: str, args: dict[str, Any]) -> Path:
    """Keep how the crawl was asked for, so that ``--resume`` can ask for it again."""
    path = staged_crawl(staging_root, crawl_id) / ARGS_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("crawl-args.tmp" + OPEN_SUFFIX)
    tmp.write_text(json.dumps(args, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def read_args(staging_root: Path, crawl_id: str) -> dict[str, Any] | None:
    """How the staged crawl was asked for; None if no crawl of that id is staged."""
    path = staged_crawl(staging_root, crawl_id) / ARGS_NAME
    try:
        args = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ResumeError(f"crawl {crawl_id} cannot be resumed: {path}: {exc}") from exc
    if not isinstance(args, dict) or not args.keys() >= ARG_KEYS:
        raise ResumeError(f"crawl {crawl_id} cannot be resumed: {path} lacks {sorted(ARG_KEYS)}")
    return args


class ResumeError(ValueError):
    """A crawl that cannot be resumed; the message names it and says why."""


def seed_paths(seeds: list[str]) -> list[str]:
    """The seeds as a resumed run finds them: URLs, and files by absolute path."""
    return [s if s.startswith(("http://", "https://")) else str(Path(s).resolve()) for s in seeds]


def resumable(store: Store, staging_root: Path, crawl_id: str, seeds: list[str]) -> dict[str, Any]:
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
    if args["store"] != store_identity(store):  # one staging folder serves every S3 store
        raise ResumeError(
            f"crawl {crawl_id} staged in {staging_root} belongs to store {args['store']}: "
            "resume it there, or choose another --crawl-id"
        )
    if seeds and sorted(seed_paths(seeds)) != sorted(args["seeds"]):
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
    path = staged_crawl(staging_root, crawl_id) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ResumeError(
                f"crawl {crawl_id} is still running in another process: stop it first "
                "(SIGTERM), or let it finish"
            ) from None
        yield
