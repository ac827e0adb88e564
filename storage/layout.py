"""Where everything lives in a store: the one module that knows keys and paths.

A store holds one folder per crawl::

    crawls/<crawl id>/manifest.json
    crawls/<crawl id>/crawl-log.jsonl.gz
    crawls/<crawl id>/warc/<file>.warc.gz
    crawls/<crawl id>/indexes/index.cdxj.gz, index.idx, index.loc  (ZipNum CDXJ)
    crawls/<crawl id>/text/<file>

A staging folder mirrors that layout while a crawl runs; files still being written
end in ``.open`` and are not published. In a crawl shared by several workers (see
``crawler.frontier``) each worker names its own copy of a file the crawl would
otherwise hold once: ``crawl-log.<worker>.jsonl.gz``, ``indexes/index.<worker>.cdxj.gz``;
readers take the file and every worker's copy (:func:`copies_of`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from storage.errors import InvalidName

if TYPE_CHECKING:
    from collections.abc import Iterable

    from storage.stores import Store

CRAWLS = "crawls"
# Default staging folder inside a local store; LocalStore.list() never shows it.
STAGING_DIRNAME = ".staging"
OPEN_SUFFIX = ".open"
INFO_NAME = "crawl-info.json"
LOG_NAME = "crawl-log.jsonl.gz"  # read and written by storage.crawllog
PLAIN_LOG_NAME = "crawl-log.jsonl"  # the crawl log of crawls stored before it was compressed

_CRAWL_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_WORKER = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,99}")


def validate_crawl_id(crawl_id: str) -> str:
    """Return ``crawl_id`` if it is 1-64 of ``[A-Za-z0-9._-]`` not starting with '.'."""
    if not _CRAWL_ID.fullmatch(crawl_id) or crawl_id.startswith("."):
        raise InvalidName(
            f"invalid crawl id {crawl_id!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "not starting with '.'"
        )
    return crawl_id


def validate_worker(worker: str) -> str:
    """Return ``worker`` if it is 1-100 of ``[A-Za-z0-9.-]`` starting with a letter or digit."""
    if not _WORKER.fullmatch(worker):
        raise InvalidName(
            f"invalid worker id {worker!r}: use 1-100 letters, digits, '.' or '-', "
            "starting with a letter or a digit"
        )
    return worker


def new_crawl_id(now: datetime) -> str:
    """The crawl id for a crawl started at ``now`` (timezone-aware): ``YYYYMMDDTHHMMSSZ``."""
    if now.tzinfo is None:
        raise ValueError("new_crawl_id needs a timezone-aware datetime")
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def check_key(key: str) -> str:
    """Return ``key`` if it is a relative '/'-separated store key without '.' or '..' parts."""
    parts = key.split("/")
    if not key or "\\" in key or "\0" in key or any(p in ("", ".", "..") for p in parts):
        raise InvalidName(f"invalid store key {key!r}: use relative '/'-separated names")
    return key


def _check_filename(filename: str) -> str:
    if "/" in filename:
        raise InvalidName(f"invalid file name {filename!r}: it must not contain '/'")
    return check_key(filename)


def crawl_prefix(crawl_id: str) -> str:
    """Prefix of every key of one crawl, ending in '/'."""
    return f"{CRAWLS}/{validate_crawl_id(crawl_id)}/"


def warc_key(crawl_id: str, filename: str) -> str:
    return f"{crawl_prefix(crawl_id)}warc/{_check_filename(filename)}"


def crawl_log_key(crawl_id: str, worker: str | None = None) -> str:
    return f"{crawl_prefix(crawl_id)}{worker_file(LOG_NAME, worker)}"


def info_key(crawl_id: str, worker: str | None = None) -> str:
    return f"{crawl_prefix(crawl_id)}{worker_file(INFO_NAME, worker)}"


def manifest_key(crawl_id: str) -> str:
    return f"{crawl_prefix(crawl_id)}manifest.json"


#: the crawl's CDXJ index (a ZipNum data file, see storage.cdxj), and the plain CDXJ
#: index of crawls stored by earlier versions
INDEX_NAME = "index.cdxj.gz"
PLAIN_INDEX_NAME = "index.cdxj"


def index_key(crawl_id: str, name: str = INDEX_NAME) -> str:
    return f"{crawl_prefix(crawl_id)}indexes/{_check_filename(name)}"


def text_key(crawl_id: str, filename: str) -> str:
    return f"{crawl_prefix(crawl_id)}text/{_check_filename(filename)}"


def worker_file(name: str, worker: str | None) -> str:
    """A worker's own copy of ``name`` in a shared crawl: ``a.jsonl.gz`` -> ``a.<worker>.jsonl.gz``.

    Without a worker (a crawl run by one process) the name is unchanged.
    """
    if not worker:
        return name
    stem, _, ext = name.partition(".")
    return f"{stem}.{validate_worker(worker)}.{ext}"


def worker_of(key: str, base: str) -> str | None:
    """The worker whose copy of the key ``base`` ``key`` is, None if it is no worker's copy."""
    folder, _, name = base.rpartition("/")
    stem, _, ext = name.partition(".")
    head = f"{folder}/{stem}." if folder else f"{stem}."
    if not (key.startswith(head) and key.endswith(f".{ext}")):
        return None
    worker = key[len(head) : -len(ext) - 1]
    return worker if _WORKER.fullmatch(worker) else None


def worker_copies(keys: Iterable[str], base: str) -> list[str]:
    """The keys among ``keys`` that are some worker's copy of ``base``, sorted."""
    return sorted(k for k in keys if worker_of(k, base) is not None)


def copies_of(store: Store, base: str) -> list[str]:
    """``base`` if ``store`` holds it, then every worker's copy of it that ``store`` holds."""
    folder, _, name = base.rpartition("/")
    keys = list(store.list(f"{folder}/{name.partition('.')[0]}."))
    return [k for k in keys if k == base] + worker_copies(keys, base)


def list_crawl_ids(store: Store) -> list[str]:
    """Ids of the crawls in ``store``, sorted (ids made by new_crawl_id sort by time)."""
    ids = set()
    for key in store.list(f"{CRAWLS}/"):
        parts = key.split("/")
        if len(parts) >= 3 and _CRAWL_ID.fullmatch(parts[1]) and not parts[1].startswith("."):
            ids.add(parts[1])
    return sorted(ids)


def crawl_exists(store: Store, crawl_id: str) -> bool:
    """Whether ``store`` holds any key of ``crawl_id``."""
    return next(iter(store.list(crawl_prefix(crawl_id))), None) is not None


def staged_crawl(staging_root: Path, crawl_id: str) -> Path:
    """The staged copy of a crawl's folder: it mirrors the store's layout."""
    return staging_root / crawl_prefix(crawl_id)


def staged_files(staging_root: Path, crawl_id: str) -> list[tuple[str, Path]]:
    """(key, path) of every closed file staged for ``crawl_id``, sorted by key."""
    crawl_dir = staged_crawl(staging_root, crawl_id)
    if not crawl_dir.is_dir():
        return []
    files = [
        (path.relative_to(staging_root).as_posix(), path)
        for path in crawl_dir.rglob("*")
        if path.is_file() and not path.name.endswith(OPEN_SUFFIX)
    ]
    return sorted(files)
