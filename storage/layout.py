"""Where everything lives in a store: the one module that knows keys and paths.

A store holds one folder per crawl::

    crawls/<crawl id>/manifest.json
    crawls/<crawl id>/crawl-log.jsonl
    crawls/<crawl id>/warc/<file>.warc.gz
    crawls/<crawl id>/indexes/index.cdxj
    crawls/<crawl id>/text/<file>

A staging folder mirrors that layout while a crawl runs; files still being written
end in ``.open`` and are not published.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.stores import Store

CRAWLS = "crawls"
# Default staging folder inside a local store; LocalStore.list() never shows it.
STAGING_DIRNAME = ".staging"
OPEN_SUFFIX = ".open"

_CRAWL_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def validate_crawl_id(crawl_id: str) -> str:
    """Return ``crawl_id`` if it is 1-64 of ``[A-Za-z0-9._-]`` not starting with '.'."""
    if not _CRAWL_ID.fullmatch(crawl_id) or crawl_id.startswith("."):
        raise ValueError(
            f"invalid crawl id {crawl_id!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "not starting with '.'"
        )
    return crawl_id


def new_crawl_id(now: datetime) -> str:
    """The crawl id for a crawl started at ``now`` (timezone-aware): ``YYYYMMDDTHHMMSSZ``."""
    if now.tzinfo is None:
        raise ValueError("new_crawl_id needs a timezone-aware datetime")
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def check_key(key: str) -> str:
    """Return ``key`` if it is a relative '/'-separated store key without '.' or '..' parts."""
    parts = key.split("/")
    if not key or "\\" in key or "\0" in key or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid store key {key!r}: use relative '/'-separated names")
    return key


def _check_filename(filename: str) -> str:
    if "/" in filename:
        raise ValueError(f"invalid file name {filename!r}: it must not contain '/'")
    return check_key(filename)


def crawl_prefix(crawl_id: str) -> str:
    """Prefix of every key of one crawl, ending in '/'."""
    return f"{CRAWLS}/{validate_crawl_id(crawl_id)}/"


def warc_key(crawl_id: str, filename: str) -> str:
    return f"{crawl_prefix(crawl_id)}warc/{_check_filename(filename)}"


def crawl_log_key(crawl_id: str) -> str:
    return f"{crawl_prefix(crawl_id)}crawl-log.jsonl"


def manifest_key(crawl_id: str) -> str:
    return f"{crawl_prefix(crawl_id)}manifest.json"


def index_key(crawl_id: str, name: str = "index.cdxj") -> str:
    return f"{crawl_prefix(crawl_id)}indexes/{_check_filename(name)}"


def text_key(crawl_id: str, filename: str) -> str:
    return f"{crawl_prefix(crawl_id)}text/{_check_filename(filename)}"


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


def staged_files(staging_root: Path, crawl_id: str) -> list[tuple[str, Path]]:
    """(key, path) of every closed file staged for ``crawl_id``, sorted by key."""
    crawl_dir = staging_root / crawl_prefix(crawl_id)
    if not crawl_dir.is_dir():
        return []
    files = [
        (path.relative_to(staging_root).as_posix(), path)
        for path in crawl_dir.rglob("*")
        if path.is_file() and not path.name.endswith(OPEN_SUFFIX)
    ]
    return sorted(files)
